"""Lamp planner: add lamps along failing paths until they pass EN 13201."""

from __future__ import annotations

import math
from typing import Any, cast

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

from vollsmose_gis import lighting
from vollsmose_gis.safety import priority
from vollsmose_gis.standards import categories, load

from ..feedback import check_cancelled, library_call, progress_callback
from . import evidence
from .base import LayerInput, VollsmoseAlgorithm
from .lighting import (
    LAMP_INPUT,
    chosen_class,
    class_parameter,
    photometry_folder,
    photometry_parameter,
)

__all__ = ["LampPlannerAlgorithm"]


class LampPlannerAlgorithm(VollsmoseAlgorithm):
    """Place new lamps along failing segments until they pass their EN 13201 class."""

    NAME = "lampplanner"
    DISPLAY_NAME = "Lamp planner"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "lamp_planner.svg"
    HELP = (
        "Where should new street lamps go? Takes the street and path segments that fail "
        "their EN 13201 class (longest first) and adds lamps of the chosen type beside "
        "them — evenly spaced or at the darkest point, whichever passes with fewer "
        "lamps — never inside a building and never closer than the minimum spacing to "
        "another lamp. Lamps added for one segment also light the next ones.\n\n"
        "Outputs: the new lamps (a layer in the District's lamp format, ready to merge "
        "into your lamp register), the compliance of every segment after the plan, the "
        "installed cost (DKK) and the segments that cannot be made to pass.\n\n"
        "Aimed at the evidence: give safety-walk marks and/or incidents (each with a "
        "weight), or a priority raster (weight per m²), and only the failing paths that "
        "carry weight — each place counts for its nearest walkable path within the "
        "priority radius — are planned, the heaviest first, so a limited number of lamps "
        "goes where people feel unsafe. The log and the outputs then give the weighted "
        "share of the marked places lit to their path's class before and after."
    )
    INPUTS = (
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id",),
            help="Streets and paths to light to their class.",
        ),
        LAMP_INPUT,
        LayerInput(
            "buildings",
            fields=("building_id",),
            help="New lamps are never placed inside a building.",
        ),
        evidence.MARKS_INPUT,
        evidence.INCIDENTS_INPUT,
    )
    TARGET_CLASS = "TARGET_CLASS"
    MAX_NEW = "MAX_NEW"
    MIN_SPACING_M = "MIN_SPACING_M"
    ONLY_WALKABLE = "ONLY_WALKABLE"
    LAMP_LUMENS = "LAMP_LUMENS"
    LAMP_HEIGHT_M = "LAMP_HEIGHT_M"
    LAMP_DISTRIBUTION = "LAMP_DISTRIBUTION"
    LAMP_WATTS = "LAMP_WATTS"
    LAMP_COST_DKK = "LAMP_COST_DKK"
    PHOTOMETRY_DIR = "PHOTOMETRY_DIR"
    PRIORITY_RADIUS_M = "PRIORITY_RADIUS_M"
    NEW_LIGHTS = "NEW_LIGHTS"
    COMPLIANCE_AFTER = "COMPLIANCE_AFTER"
    COST_DKK = "COST_DKK"
    UNRESOLVED = "UNRESOLVED"

    def distributions(self) -> list[str]:
        return [d for d in categories("light_distributions") if d != "photometry_file"]

    def initAlgorithm(self, configuration: Any = None) -> None:
        default = lighting.LampSpec.default()
        self.add_district_inputs()
        self.addParameter(class_parameter(self.TARGET_CLASS, self.tr))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_NEW,
                self.tr("Largest number of new lamps (empty: as many as needed)"),
                QgsProcessingParameterNumber.Integer,
                optional=True,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LAMP_LUMENS,
                self.tr("New lamp: luminous flux (lm)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=default.lumens,
                minValue=1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LAMP_HEIGHT_M,
                self.tr("New lamp: mounting height (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=default.height_m,
                minValue=0.5,
            )
        )
        distributions = self.distributions()
        self.addParameter(
            QgsProcessingParameterEnum(
                self.LAMP_DISTRIBUTION,
                self.tr("New lamp: light distribution"),
                options=[
                    f"{name}: {load('categories')['light_distributions'][name]}"
                    for name in distributions
                ],
                defaultValue=distributions.index(default.distribution),
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.LAMP_WATTS,
                self.tr("New lamp: electrical power (W)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=default.watts,
                minValue=0.0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.LAMP_COST_DKK,
                self.tr("New lamp: installed cost per lamp (DKK, excl. VAT)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=default.unit_cost_dkk,
                minValue=0.0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.MIN_SPACING_M,
                self.tr("Minimum distance between any two lamps (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(load("en13201")["planner"]["min_spacing_m"]),
                minValue=float(load("en13201")["planner"]["spacing_bounds_m"][0]),
                maxValue=float(load("en13201")["planner"]["spacing_bounds_m"][1]),
            )
        )
        self.advanced(
            QgsProcessingParameterBoolean(
                self.ONLY_WALKABLE,
                self.tr("Plan only paths and streets people walk, inside the study area"),
                defaultValue=True,
            )
        )
        self.advanced(photometry_parameter(self.PHOTOMETRY_DIR, self.tr))
        evidence.add_aim_parameters(self)
        radius = QgsProcessingParameterNumber(
            self.PRIORITY_RADIUS_M,
            self.tr("Evidence: a place is treated by lighting its nearest path within (m)"),
            QgsProcessingParameterNumber.Double,
            defaultValue=15.0,
            minValue=0.1,
        )
        self.advanced(radius)
        self.add_sink(self.NEW_LIGHTS, "New lamps", QgsProcessing.TypeVectorPoint)
        self.add_sink(
            self.COMPLIANCE_AFTER,
            "Street segments: EN 13201 compliance with the new lamps",
            QgsProcessing.TypeVectorLine,
        )
        self.addOutput(QgsProcessingOutputNumber(self.COST_DKK, self.tr("Installed cost (DKK)")))
        self.addOutput(
            QgsProcessingOutputString(self.UNRESOLVED, self.tr("Segments still failing"))
        )
        evidence.add_share_outputs(self)
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        district = self.read_district(parameters, context, feedback).district
        folder = photometry_folder(self, parameters, self.PHOTOMETRY_DIR, context)
        max_new = (
            self.parameterAsInt(parameters, self.MAX_NEW, context)
            if parameters.get(self.MAX_NEW) not in (None, "")
            else None
        )
        lamp = {
            "lumens": self.parameterAsDouble(parameters, self.LAMP_LUMENS, context),
            "height_m": self.parameterAsDouble(parameters, self.LAMP_HEIGHT_M, context),
            "distribution": self.distributions()[
                self.parameterAsEnum(parameters, self.LAMP_DISTRIBUTION, context)
            ],
            "watts": self.parameterAsDouble(parameters, self.LAMP_WATTS, context),
            "unit_cost_dkk": self.parameterAsDouble(parameters, self.LAMP_COST_DKK, context),
        }
        options: dict[str, Any] = {
            "target_class": chosen_class(
                self.parameterAsEnum(parameters, self.TARGET_CLASS, context)
            ),
            "lamp": lamp,
            "max_new": max_new,
            "min_spacing_m": self.parameterAsDouble(parameters, self.MIN_SPACING_M, context),
            "only_walkable": self.parameterAsBool(parameters, self.ONLY_WALKABLE, context),
            "photometry_dir": folder,
            "progress": progress_callback(feedback, 5, 90),
        }
        radius = self.parameterAsDouble(parameters, self.PRIORITY_RADIUS_M, context)
        before = after = math.nan
        with library_call(feedback):
            aim = evidence.read_aim(self, parameters, context, district)
            if aim is None:
                plan = lighting.plan_lights(district, **options)
            elif aim.raster is None:
                # the marks and incidents steer the plan through the library's own
                # wrapper, which returns the lamp planner's LightingPlan with its
                # summary extended (the treated shares before and after)
                plan = cast(
                    lighting.LightingPlan,
                    priority.plan_lights_for_evidence(
                        district, aim.places, radius_m=radius, **options
                    ),
                )
                before = plan.summary["treated_share_before"]
                after = plan.summary["treated_share_after"]
            else:
                plan = lighting.plan_lights(
                    district, priority=aim.raster, priority_radius_m=radius, **options
                )
                check_cancelled(feedback)
                if len(aim.places):
                    before, after = (
                        priority.treated_share(d, aim.places, by="lights", radius_m=radius)
                        for d in (district, plan.district)
                    )
        if aim is not None:
            evidence.report_shares(feedback, "lit to class", before, after, len(aim.places))
            if "priority_treated_share_after" in plan.summary:
                feedback.pushInfo(
                    "Priority weight near a path lit to class: "
                    f"{plan.summary['priority_treated_share_before']:.0%} before, "
                    f"{plan.summary['priority_treated_share_after']:.0%} after; "
                    f"{plan.summary['segments_without_priority']} failing segment(s) "
                    "left out because no marked place or priority lies by them."
                )
        cost = float(plan.cost_dkk)
        summary = f"{len(plan.new_lights)} new lamp(s)"
        if math.isfinite(cost):
            summary += f", installed cost {cost:,.0f} DKK"
        feedback.pushInfo(summary)
        if plan.unresolved:
            feedback.pushWarning(
                f"{len(plan.unresolved)} segment(s) still fail: {', '.join(plan.unresolved)}"
            )
        crs = district.crs
        return {
            self.NEW_LIGHTS: self.write_frame(
                plan.new_lights, parameters, self.NEW_LIGHTS, context, crs=crs, style="new_lights"
            ),
            self.COMPLIANCE_AFTER: self.write_frame(
                plan.compliance_after,
                parameters,
                self.COMPLIANCE_AFTER,
                context,
                crs=crs,
                style="compliance",
                default_geometry="LineString",
            ),
            self.COST_DKK: cost,
            self.UNRESOLVED: ", ".join(plan.unresolved),
            evidence.TREATED_SHARE_BEFORE: before,
            evidence.TREATED_SHARE_AFTER: after,
            self.PROVENANCE: self._provenance,
        }
