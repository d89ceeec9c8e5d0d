"""Safety from evidence: natural surveillance, incident hot spots, safety-walk audit."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import pandas as pd
from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import analysis
from vollsmose_gis.safety import evidence as ev
from vollsmose_gis.safety import priority
from vollsmose_gis.standards import load

from ..feedback import check_cancelled, library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame

__all__ = ["SafetyAlgorithm"]

UNITS = ("grid", "segment")


class SafetyAlgorithm(VollsmoseAlgorithm):
    """Overlooked paths by day and night, hot spots of incidents, the safety-walk audit."""

    NAME = "safety"
    DISPLAY_NAME = "Safety from evidence (eyes on the street, hot spots)"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "cctv.svg"
    HELP = (
        "Where do people feel unsafe, where do incidents happen, and who can see the "
        "paths?\n"
        "• Natural surveillance: windows of dwellings (first floor and up) and active "
        "ground floors on facades facing a path look out up to 25 m (a face is "
        "recognised at about 25 m); buildings hide what is behind them. The share of "
        "path length overlooked by day, and by night where the path is also lit to its "
        "EN 13201 class; dead frontages.\n"
        "• Hot spots: kernel density of incidents along the streets and on a grid; "
        "Getis-Ord Gi* and local Moran's I on 100 m cells with false-discovery-rate "
        "control (PySAL).\n"
        "• Evidence: share of incidents in dark spots, in camera coverage, on overlooked "
        "paths; incidents per 1,000 residents by year; for each safety-walk mark the "
        "light, camera level, eyes and traffic speed there.\n\n"
        "• Plans aimed at the evidence (optional): up to N new lamps on the failing "
        "paths by the most marks and incidents, heaviest first, and K new cameras that "
        "see the most of them (recognition level; placed after the lamps, on lamp posts "
        "too); the weighted share of the marks and incidents each plan treats, before "
        "and after.\n\n"
        "Privacy: incident maps show counts per 100 m cell and hide cells with fewer "
        "than 5 incidents. With 'illustrative evidence', generated incidents and marks "
        "(ILLUSTRATIVE, not real data) stand in for missing layers."
    )
    INPUTS = (
        LayerInput("streets", optional=False, fields=("street_id",), help="Paths and streets."),
        LayerInput(
            "buildings",
            fields=("building_id", "use", "dwellings", "height_m"),
            help="Observers (dwellings, active ground floors) and occluders.",
        ),
        LayerInput("lights", fields=("light_id", "lumens", "height_m"), help="Night: lit paths."),
        LayerInput("cameras", fields=("camera_id", "heading_deg"), help="Camera coverage."),
        LayerInput("landuse", fields=("use",), help="Private land use (masked for CCTV)."),
        LayerInput(
            "incidents",
            fields=("incident_id", "kind", "date", "weight", "count"),
            help="Recorded incidents: kind (burglary, vandalism, violence, unrest, "
            "traffic_injury, other), date, optional weight and count.",
        ),
        LayerInput(
            "safety_walk",
            fields=("mark_id", "reason"),
            help="Places residents marked as unsafe: reason (dark, no_one_around, "
            "hidden_corners, traffic, groups, neglect, other).",
        ),
    )
    ILLUSTRATIVE = "ILLUSTRATIVE"
    BANDWIDTH_M = "BANDWIDTH_M"
    UNIT = "UNIT"
    RECOGNITION_M = "RECOGNITION_M"
    RESIDENTS = "RESIDENTS"
    OVERLOOKED = "OVERLOOKED"
    FACADES = "FACADES"
    NETWORK_KDE = "NETWORK_KDE"
    HOTSPOTS = "HOTSPOTS"
    AGGREGATED = "AGGREGATED"
    AUDIT = "AUDIT"
    BY_YEAR = "BY_YEAR"
    DENSITY = "DENSITY"
    INDICATORS = "INDICATORS"
    PLAN_LIGHTS = "PLAN_LIGHTS"
    PLAN_CAMERAS = "PLAN_CAMERAS"
    PLANNED_LIGHTS = "PLANNED_LIGHTS"
    PLANNED_CAMERAS = "PLANNED_CAMERAS"
    LIGHTS_TREATED_BEFORE = "LIGHTS_TREATED_BEFORE"
    LIGHTS_TREATED_AFTER = "LIGHTS_TREATED_AFTER"
    CAMERAS_TREATED_BEFORE = "CAMERAS_TREATED_BEFORE"
    CAMERAS_TREATED_AFTER = "CAMERAS_TREATED_AFTER"

    def initAlgorithm(self, configuration: Any = None) -> None:
        params = load("safety")
        self.add_district_inputs()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.ILLUSTRATIVE,
                self.tr("Use ILLUSTRATIVE generated evidence where a layer is missing"),
                defaultValue=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.BANDWIDTH_M,
                self.tr("Kernel density bandwidth (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(params["hotspots"]["bandwidth_m"]),
                minValue=1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.UNIT,
                self.tr("Hot-spot statistics on"),
                options=["100 m grid cells", "street segments"],
                defaultValue=0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.RECOGNITION_M,
                self.tr("Recognition distance from a window (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(params["surveillance"]["recognition_distance_day_m"]),
                minValue=1.0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.RESIDENTS,
                self.tr("Residents (0: dwellings × residents per dwelling)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=0.0,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.PLAN_LIGHTS,
                self.tr("Plan up to N new lamps at the marks and incidents (0: no plan)"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=0,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.PLAN_CAMERAS,
                self.tr("Place K new cameras that see the marks and incidents (0: none)"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=0,
                minValue=0,
                maxValue=int(load("dori")["placement"]["max_new_cameras"]),
            )
        )
        self.add_sink(
            self.OVERLOOKED, "Path pieces overlooked by day/night", QgsProcessing.TypeVectorPoint
        )
        self.add_sink(
            self.FACADES, "Facades facing a path (dead frontages)", QgsProcessing.TypeVectorLine
        )
        self.add_sink(
            self.NETWORK_KDE, "Incident density along the streets", QgsProcessing.TypeVectorLine
        )
        self.add_sink(
            self.HOTSPOTS, "Significant hot spots (Gi*, FDR)", QgsProcessing.TypeVectorPolygon
        )
        self.add_sink(
            self.AGGREGATED,
            "Incidents per cell (cells below 5 hidden)",
            QgsProcessing.TypeVectorPolygon,
        )
        self.add_sink(self.AUDIT, "Safety-walk audit", QgsProcessing.TypeVectorAnyGeometry)
        self.add_sink(self.BY_YEAR, "Incidents by year (table)", QgsProcessing.TypeVector)
        self.add_sink(self.INDICATORS, "Safety indicators (table)", QgsProcessing.TypeVector)
        self.add_raster(self.DENSITY, "Incident density (incidents/km²)", optional=True)
        self.add_sink(
            self.PLANNED_LIGHTS,
            "Planned lamps at the evidence",
            QgsProcessing.TypeVectorPoint,
            optional=True,
        )
        self.add_sink(
            self.PLANNED_CAMERAS,
            "Planned cameras at the evidence",
            QgsProcessing.TypeVectorPoint,
            optional=True,
        )
        for name, label in (
            (self.LIGHTS_TREATED_BEFORE, "Marks and incidents lit to class before (0–1)"),
            (self.LIGHTS_TREATED_AFTER, "Marks and incidents lit to class with the lamps (0–1)"),
            (self.CAMERAS_TREATED_BEFORE, "Marks and incidents seen by a camera before (0–1)"),
            (
                self.CAMERAS_TREATED_AFTER,
                "Marks and incidents seen by a camera with the plan (0–1)",
            ),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        district = self.read_district(parameters, context, feedback).district
        residents = self.parameterAsDouble(parameters, self.RESIDENTS, context)
        with library_call(feedback):
            if self.parameterAsBool(parameters, self.ILLUSTRATIVE, context):
                incidents, marks = ev.illustrative_evidence(district)
                changes = {}
                if not len(district.incidents):
                    changes["incidents"] = incidents
                if not len(district.safety_walk):
                    changes["safety_walk"] = marks
                if changes:
                    district = district.replace(**changes)
                    feedback.pushWarning(f"evidence layers {sorted(changes)}: {ev.ILLUSTRATIVE}")
            run_result = analysis.run(
                "safety",
                district,
                bandwidth_m=self.parameterAsDouble(parameters, self.BANDWIDTH_M, context),
                hotspot_unit=UNITS[self.parameterAsEnum(parameters, self.UNIT, context)],
                recognition_distance_m=self.parameterAsDouble(
                    parameters, self.RECOGNITION_M, context
                ),
                residents=residents if residents > 0 else None,
            )
            check_cancelled(feedback)
        for message in run_result.warnings:
            feedback.pushWarning(message)
        crs = district.crs
        layers = run_result.layers

        def frame(name: str, geometry: str) -> gpd.GeoDataFrame:
            found = layers.get(name)
            if found is not None:
                return found
            return gpd.GeoDataFrame({"note": pd.Series(dtype=str)}, geometry=[], crs=crs)

        outputs: dict[str, Any] = {self.PROVENANCE: self._provenance}
        for key, name, geometry in (
            (self.OVERLOOKED, "safety_overlooked", "Point"),
            (self.FACADES, "safety_facades", "LineString"),
            (self.NETWORK_KDE, "safety_network_kde", "LineString"),
            (self.HOTSPOTS, "safety_hotspots", "MultiPolygon"),
            (self.AGGREGATED, "safety_incidents_aggregated", "Polygon"),
            (self.AUDIT, "safety_audit", "Point"),
        ):
            outputs[key] = self.write_frame(
                frame(name, geometry), parameters, key, context, crs=crs, default_geometry=geometry
            )
        by_year = run_result.extras.get("incidents_by_year")
        outputs[self.BY_YEAR] = self.write_frame(
            by_year if by_year is not None else pd.DataFrame(columns=["year"]),
            parameters,
            self.BY_YEAR,
            context,
            crs=None,
        )
        outputs[self.INDICATORS] = self.write_frame(
            indicators_frame(run_result.indicators), parameters, self.INDICATORS, context, crs=None
        )
        if "incident_density" in run_result.rasters and parameters.get(self.DENSITY) is not None:
            outputs[self.DENSITY] = self.write_raster(
                run_result.rasters["incident_density"], parameters, self.DENSITY, context
            )
        for key, item in run_result.indicators.items():
            feedback.pushInfo(f"{item.label}: {item.value:.4g} {item.unit} ({key})")
        outputs.update(self.plan_at_evidence(district, parameters, context, feedback))
        return outputs

    def plan_at_evidence(
        self,
        district: Any,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        """Plan lamps, then cameras, aimed at the evidence.

        As ``vollsmose-gis safety --plan-lights N --plan-cameras K``: the cameras are
        placed in the district with the new lamps.
        """
        n_lights = self.parameterAsInt(parameters, self.PLAN_LIGHTS, context)
        n_cameras = self.parameterAsInt(parameters, self.PLAN_CAMERAS, context)
        shares = (
            self.LIGHTS_TREATED_BEFORE,
            self.LIGHTS_TREATED_AFTER,
            self.CAMERAS_TREATED_BEFORE,
            self.CAMERAS_TREATED_AFTER,
        )
        outputs: dict[str, Any] = dict.fromkeys(shares, math.nan)
        base_district = district
        for kind, count, sink, before, after, style in (
            (
                "lights",
                n_lights,
                self.PLANNED_LIGHTS,
                self.LIGHTS_TREATED_BEFORE,
                self.LIGHTS_TREATED_AFTER,
                "new_lights",
            ),
            (
                "cameras",
                n_cameras,
                self.PLANNED_CAMERAS,
                self.CAMERAS_TREATED_BEFORE,
                self.CAMERAS_TREATED_AFTER,
                "new_cameras",
            ),
        ):
            if count < 1:
                continue
            feedback.setProgressText(f"planning {kind} at the evidence")
            with library_call(feedback):
                if kind == "lights":
                    plan = priority.plan_lights_for_evidence(
                        base_district,
                        max_new=count,
                        progress=progress_callback(feedback, 50, 75),
                    )
                else:
                    plan = priority.plan_cameras_for_evidence(base_district, k=count)
                check_cancelled(feedback)
            outputs[before] = float(plan.summary["treated_share_before"])
            outputs[after] = float(plan.summary["treated_share_after"])
            feedback.pushInfo(
                f"{kind} plan: {len(plan.added)} added, {plan.cost_dkk:,.0f} "
                f"{district.settings.currency}; marks and incidents treated (weighted) "
                f"{outputs[before]:.0%} -> {outputs[after]:.0%}"
            )
            for line in plan.unmet:
                feedback.pushWarning(f"{kind} plan: {line}")
            outputs[sink] = self.write_frame(
                plan.added, parameters, sink, context, crs=district.crs, style=style
            )
            base_district = plan.district
        return outputs
