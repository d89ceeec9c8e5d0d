"""Traffic speed model and calming plan."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import analysis, calming
from vollsmose_gis.standards import categories

from .._compat import QgsProcessingException
from ..feedback import check_cancelled, library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame

__all__ = ["CalmingAlgorithm"]

PLANNER_KINDS = ("hump", "table", "cushion")


class CalmingAlgorithm(VollsmoseAlgorithm):
    """Modelled operating speeds (V85) per segment and a device plan to meet a target."""

    NAME = "calming"
    DISPLAY_NAME = "Traffic speed model and calming plan"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "calming.svg"
    HELP = (
        "How fast do cars really drive, and where would humps, tables or cushions bring "
        "speeds down to the target? Models the operating speed (V85, km/h: the speed 85 "
        "% of drivers keep below) along every street open to cars, from its class, "
        "speed limit, width and lanes, slowed by junctions, dead ends, bends and the "
        "existing calming devices.\n\n"
        "Then places new devices on the target streets (residential streets inside the "
        "study area) so the modelled V85 stays within the target: a raised table at "
        "each crossing near a school or day care, cushions on bus routes, humps "
        "elsewhere, respecting spacing and distance from junctions.\n\n"
        "Outputs: speeds now (per segment), the new devices with cost (DKK), speeds "
        "with the plan and the change in injury crashes (power model), the target "
        "streets still too fast, and the traffic-speed indicators."
    )
    INPUTS = (
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id", "highway", "maxspeed_kmh"),
            help="The street network; car access, speed limit, width, lanes, one-way "
            "and bus routes from the columns or the road-class defaults.",
        ),
        LayerInput(
            "calming",
            fields=("device_id", "kind"),
            help="Existing calming devices (hump, cushion, table, chicane, narrowing, "
            "mini_roundabout).",
        ),
        LayerInput(
            "pois",
            fields=("poi_id", "kind"),
            help="Schools and day-care institutions (kind school/daycare) set school zones.",
        ),
    )
    TARGET_KMH = "TARGET_KMH"
    KINDS = "KINDS"
    SPEEDS = "SPEEDS"
    DEVICES = "DEVICES"
    SPEEDS_AFTER = "SPEEDS_AFTER"
    INDICATORS = "INDICATORS"
    COST_DKK = "COST_DKK"
    UNMET = "UNMET"
    COUNTS = "COUNTS"
    CALIBRATE = "CALIBRATE"
    CALIBRATED = "CALIBRATED"
    SPEED_COUNTS = "SPEED_COUNTS"
    RMSE = "RMSE"

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.add_district_inputs()
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TARGET_KMH,
                self.tr("Target operating speed V85 (km/h)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=30.0,
                minValue=5.0,
                maxValue=130.0,
            )
        )
        kinds = list(categories("calming_kinds"))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.KINDS,
                self.tr("Device kinds the plan may use"),
                options=kinds,
                allowMultiple=True,
                defaultValue=[kinds.index(k) for k in PLANNER_KINDS],
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.COUNTS,
                self.tr("Measured speeds (CSV with x,y or street_id and v85_kmh, or GeoPackage)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.CALIBRATE, self.tr("Calibrate the speed model to the counts"), False
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.CALIBRATED,
                self.tr("Calibrated parameters (YAML)"),
                fileFilter="YAML (*.yaml)",
                optional=True,
                createByDefault=False,
            )
        )
        self.add_sink(self.SPEEDS, "Operating speeds now (V85)", QgsProcessing.TypeVectorLine)
        self.add_sink(self.DEVICES, "New calming devices", QgsProcessing.TypeVectorPoint)
        self.add_sink(
            self.SPEEDS_AFTER, "Operating speeds with the plan", QgsProcessing.TypeVectorLine
        )
        self.add_sink(self.INDICATORS, "Traffic-speed indicators (table)", QgsProcessing.TypeVector)
        self.add_sink(
            self.SPEED_COUNTS, "Measured vs modelled V85", QgsProcessing.TypeVectorPoint,
            optional=True,
        )  # fmt: skip
        self.addOutput(QgsProcessingOutputNumber(self.RMSE, self.tr("RMSE model vs counts (km/h)")))
        self.addOutput(QgsProcessingOutputNumber(self.COST_DKK, self.tr("Cost of the plan (DKK)")))
        self.addOutput(
            QgsProcessingOutputString(self.UNMET, self.tr("Target streets still too fast"))
        )
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        all_kinds = list(categories("calming_kinds"))
        kinds = [all_kinds[i] for i in self.parameterAsEnums(parameters, self.KINDS, context)]
        if not kinds:
            raise QgsProcessingException("Device kinds: choose at least one.")
        target = self.parameterAsDouble(parameters, self.TARGET_KMH, context)
        district = self.read_district(parameters, context, feedback).district
        counts_path = self.parameterAsFile(parameters, self.COUNTS, context)
        calibrate = self.parameterAsBoolean(parameters, self.CALIBRATE, context)
        fitted_path = self.parameterAsFileOutput(parameters, self.CALIBRATED, context)
        if calibrate and not counts_path:
            raise QgsProcessingException("Calibrate: give the measured speeds (counts) file.")
        if calibrate and not fitted_path:
            raise QgsProcessingException("Calibrate: give a file for the calibrated parameters.")
        with library_call(feedback):
            counts = (
                calming.read_speed_counts(counts_path, crs=district.crs) if counts_path else None
            )
            params = None
            if calibrate and counts is not None:
                fit = calming.calibrate_speeds(district, counts)
                params = str(fit.write(fitted_path, overwrite=True))
                feedback.pushInfo(
                    f"calibrated on {fit.n_sites} sites: RMSE {fit.rmse_initial_kmh:.2f} -> "
                    f"{fit.rmse_kmh:.2f} km/h; parameters written to {params}"
                )
            now = analysis.run("calming", district, target_kmh=target, counts=counts, params=params)
            speeds = now.layers["calming_speeds"]
            check_cancelled(feedback)
            plan = calming.plan_calming(
                district,
                target_kmh=target,
                kinds=kinds,
                params=params,
                progress=progress_callback(feedback, 10, 85),
            )
            check_cancelled(feedback)
            indicators = analysis.run(
                "calming", plan.district, target_kmh=target, params=params
            ).indicators
        for message in now.warnings:
            feedback.pushWarning(message)
        cost = float(plan.cost_dkk)
        feedback.pushInfo(f"{len(plan.devices)} new device(s), cost {cost:,.0f} DKK")
        if plan.unmet_streets:
            feedback.pushWarning(
                f"{len(plan.unmet_streets)} target street(s) still above {target:g} km/h: "
                + ", ".join(plan.unmet_streets)
            )
        crs = district.crs
        return {
            self.SPEEDS: self.write_frame(
                speeds,
                parameters,
                self.SPEEDS,
                context,
                crs=crs,
                style="speeds",
                default_geometry="LineString",
            ),
            self.DEVICES: self.write_frame(
                plan.devices, parameters, self.DEVICES, context, crs=crs, style="calming"
            ),
            self.SPEEDS_AFTER: self.write_frame(
                plan.speeds,
                parameters,
                self.SPEEDS_AFTER,
                context,
                crs=crs,
                style="speeds",
                default_geometry="LineString",
            ),
            self.INDICATORS: self.write_frame(
                indicators_frame(indicators), parameters, self.INDICATORS, context, crs=None
            ),
            self.SPEED_COUNTS: self.write_frame(
                now.layers["speed_counts"], parameters, self.SPEED_COUNTS, context, crs=crs
            )
            if "speed_counts" in now.layers
            else None,
            self.RMSE: float(now.extras.get("speed_counts_rmse_kmh", float("nan"))),
            self.COST_DKK: cost,
            self.UNMET: ", ".join(plan.unmet_streets),
            self.PROVENANCE: self._provenance,
        }
