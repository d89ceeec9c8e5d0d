"""Traffic speed model and calming plan."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import calming
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
        self.add_sink(self.SPEEDS, "Operating speeds now (V85)", QgsProcessing.TypeVectorLine)
        self.add_sink(self.DEVICES, "New calming devices", QgsProcessing.TypeVectorPoint)
        self.add_sink(
            self.SPEEDS_AFTER, "Operating speeds with the plan", QgsProcessing.TypeVectorLine
        )
        self.add_sink(self.INDICATORS, "Traffic-speed indicators (table)", QgsProcessing.TypeVector)
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
        with library_call(feedback):
            speeds = calming.operating_speeds(district, target_kmh=target)
            check_cancelled(feedback)
            plan = calming.plan_calming(
                district,
                target_kmh=target,
                kinds=kinds,
                progress=progress_callback(feedback, 10, 85),
            )
            check_cancelled(feedback)
            indicators = calming.indicators(plan.district, target_kmh=target)
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
            self.COST_DKK: cost,
            self.UNMET: ", ".join(plan.unmet_streets),
            self.PROVENANCE: self._provenance,
        }
