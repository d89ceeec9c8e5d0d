"""Camera placement: where new cameras cover the most walkable public space."""

from __future__ import annotations

import math
from typing import Any, Literal

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import cctv
from vollsmose_gis.safety import priority
from vollsmose_gis.standards import load

from .. import conversion
from .._compat import QgsProcessingException
from ..feedback import check_cancelled, library_call, progress_callback
from . import evidence
from .base import LayerInput, VollsmoseAlgorithm
from .cctv_coverage import CAMERA_INPUT, dori_level_names, level_options

__all__ = ["CameraPlacementAlgorithm"]

METHODS: tuple[Literal["greedy"], Literal["exhaustive"]] = ("greedy", "exhaustive")


class CameraPlacementAlgorithm(VollsmoseAlgorithm):
    """Choose up to k new camera positions (maximum coverage at a DORI level)."""

    NAME = "cameraplacement"
    DISPLAY_NAME = "Camera placement"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "camera_placement.svg"
    HELP = (
        "Where would new cameras see the most? Tries candidate positions — on building "
        "facades every 15 m and on lamp posts, each facing several directions, or your "
        "own candidate points — and picks up to the chosen number of cameras that "
        "together cover the largest area of walkable public space (paths, squares, "
        "green, sport and parking areas inside the study area) at the chosen DORI "
        "level, counting what existing cameras already see as covered.\n\n"
        "Greedy choice (default) is guaranteed to reach at least 63 % of the best "
        "possible coverage and is usually much closer; 'exhaustive' tries every "
        "combination (small problems only).\n\n"
        "Output: the new cameras in order of choice with their marginal and cumulative "
        "gain (m²), the covered share and the cost (DKK).\n\n"
        "Aimed at the evidence: give safety-walk marks and/or incidents (each with a "
        "weight; spread over the priority bandwidth onto the paths beside them), or a "
        "priority raster (weight per m²), and the cameras see the most weight instead of "
        "the most area (columns marginal_weight, priority_share). The log and the "
        "outputs then give the weighted share of the marked places seen at the chosen "
        "DORI level before and after."
    )
    INPUTS = (
        CAMERA_INPUT,
        LayerInput(
            "buildings",
            fields=("building_id", "height_m"),
            help="Occluders and facades for candidate positions.",
        ),
        LayerInput("streets", fields=("street_id",), help="Walkable streets and paths to cover."),
        LayerInput(
            "landuse",
            fields=("use",),
            help="Squares, green, sport and parking areas to cover; 'private' is excluded.",
        ),
        LayerInput(
            "lights",
            fields=("light_id", "height_m"),
            help="Lamp posts: candidate positions at their mounting height.",
        ),
        evidence.MARKS_INPUT,
        evidence.INCIDENTS_INPUT,
    )
    NUMBER = "NUMBER"
    LEVEL = "LEVEL"
    METHOD = "METHOD"
    INCLUDE_EXISTING = "INCLUDE_EXISTING"
    HFOV_DEG = "HFOV_DEG"
    RESOLUTION_PX = "RESOLUTION_PX"
    CANDIDATES = "CANDIDATES"
    PRIORITY_BANDWIDTH_M = "PRIORITY_BANDWIDTH_M"
    NEW_CAMERAS = "NEW_CAMERAS"
    COVERED_SHARE = "COVERED_SHARE"

    def initAlgorithm(self, configuration: Any = None) -> None:
        camera = load("dori")["default_camera"]
        self.add_district_inputs()
        self.addParameter(
            QgsProcessingParameterNumber(
                self.NUMBER,
                self.tr("Number of new cameras"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=5,
                minValue=1,
                maxValue=int(load("dori")["placement"]["max_new_cameras"]),
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.LEVEL,
                self.tr("DORI level the new cameras must deliver"),
                options=level_options(),
                defaultValue=dori_level_names().index("recognition"),
            )
        )
        self.add_resolution_input()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.INCLUDE_EXISTING,
                self.tr("Count what existing cameras already see as covered"),
                defaultValue=True,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.HFOV_DEG,
                self.tr("New cameras: horizontal field of view (degrees)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(camera["hfov_deg"]),
                minValue=1.0,
                maxValue=360.0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.RESOLUTION_PX,
                self.tr("New cameras: horizontal resolution (pixels)"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=int(camera["resolution_px"]),
                minValue=1,
            )
        )
        self.advanced(
            QgsProcessingParameterEnum(
                self.METHOD,
                self.tr("Search"),
                options=[
                    self.tr("greedy (fast, at least 63 % of the optimum)"),
                    self.tr("exhaustive (exact, small problems only)"),
                ],
                defaultValue=0,
            )
        )
        candidates = QgsProcessingParameterFeatureSource(
            self.CANDIDATES,
            self.tr("Candidate positions instead of facades and lamp posts [points]"),
            [QgsProcessing.TypeVectorPoint],
            optional=True,
        )
        candidates.setHelp(
            self.tr(
                "Fields heading_deg, height_m, hfov_deg, resolution_px, tilt_deg are used "
                "when present; a point without heading is tried facing 4 directions."
            )
        )
        self.advanced(candidates)
        evidence.add_aim_parameters(self)
        self.advanced(
            QgsProcessingParameterNumber(
                self.PRIORITY_BANDWIDTH_M,
                self.tr("Evidence: radius each mark or incident weighs around it (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=15.0,
                minValue=0.1,
            )
        )
        self.add_sink(self.NEW_CAMERAS, "New cameras", QgsProcessing.TypeVectorPoint)
        self.addOutput(
            QgsProcessingOutputNumber(
                self.COVERED_SHARE, self.tr("Share of public space covered afterwards")
            )
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
        candidates = None
        if parameters.get(self.CANDIDATES) not in (None, ""):
            source = self.parameterAsSource(parameters, self.CANDIDATES, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, self.CANDIDATES))
            candidates = conversion.source_to_frame(source, what="Candidate positions")
            if candidates.crs is None:
                raise QgsProcessingException("Candidate positions: the layer has no CRS.")
            candidates = candidates.to_crs(district.crs)
        level = dori_level_names()[self.parameterAsEnum(parameters, self.LEVEL, context)]
        resolution_m = self.parameterAsDouble(parameters, self.RESOLUTION_M, context)
        before = after = math.nan
        with library_call(feedback):
            aim = evidence.read_aim(self, parameters, context, district)
            surface = None
            if aim is not None:
                # marks and incidents spread onto the paths beside them, as
                # safety.plan_cameras_for_evidence does; a given raster is used as it is
                surface = (
                    aim.raster
                    if aim.raster is not None
                    else priority.priority_surface(
                        district,
                        aim.places,
                        resolution_m=resolution_m,
                        bandwidth_m=self.parameterAsDouble(
                            parameters, self.PRIORITY_BANDWIDTH_M, context
                        ),
                    )
                )
            chosen = cctv.plan_cameras(
                district,
                level=level,
                candidates=candidates,
                k=self.parameterAsInt(parameters, self.NUMBER, context),
                method=METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
                resolution_m=resolution_m,
                include_existing=self.parameterAsBool(parameters, self.INCLUDE_EXISTING, context),
                camera={
                    "hfov_deg": self.parameterAsDouble(parameters, self.HFOV_DEG, context),
                    "resolution_px": self.parameterAsInt(parameters, self.RESOLUTION_PX, context),
                },
                priority=surface,
                progress=progress_callback(feedback, 5, 90),
            )
            check_cancelled(feedback)
            if aim is not None and len(aim.places):
                before, after = (
                    priority.treated_share(d, aim.places, by="cameras", level=level)
                    for d in (district, chosen.district)
                )
        if aim is not None:
            evidence.report_shares(feedback, f"seen at {level}", before, after, len(aim.places))
            if len(chosen.added) and "priority_share" in chosen.added:
                summary = chosen.summary
                seen = summary["existing_priority_covered"] / summary["priority_weight"]
                feedback.pushInfo(
                    f"Priority weight on public space seen: {seen:.0%} before, "
                    f"{float(chosen.added['priority_share'].iloc[-1]):.0%} after."
                )
        added = chosen.added
        share = float(added["covered_share"].iloc[-1]) if len(added) else float("nan")
        feedback.pushInfo(
            f"{len(added)} new camera(s); public space covered afterwards: {share:.1%} of "
            f"{chosen.summary.get('target_area_m2', float('nan')):,.0f} m²"
        )
        for line in chosen.unmet:  # why fewer cameras than asked for
            feedback.pushWarning(line)
        return {
            self.NEW_CAMERAS: self.write_frame(
                added,
                parameters,
                self.NEW_CAMERAS,
                context,
                crs=district.crs,
                style="new_cameras",
            ),
            self.COVERED_SHARE: share,
            evidence.TREATED_SHARE_BEFORE: before,
            evidence.TREATED_SHARE_AFTER: after,
            self.PROVENANCE: self._provenance,
        }
