"""CCTV coverage: occluded viewsheds, DORI levels and pixel density, coverage shares."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
)

from vollsmose_gis import analysis, cctv

from ..feedback import check_cancelled, library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame

__all__ = ["CAMERA_INPUT", "CctvCoverageAlgorithm", "dori_level_names"]

CAMERA_INPUT = LayerInput(
    "cameras",
    fields=("camera_id", "heading_deg", "hfov_deg", "resolution_px", "height_m"),
    help="The cameras: heading (degrees from north, clockwise) is required; horizontal "
    "field of view (°), horizontal resolution (px) and mounting height (m) default to "
    "90°, 1920 px and 4 m. Map your own field names below.",
)


def dori_level_names() -> list[str]:
    """The DORI level names of the default level set, for the level parameter."""
    return list(cctv.dori_levels())


def level_options() -> list[str]:
    return [f"{name} (≥ {ppm:g} px/m)" for name, ppm in cctv.dori_levels().items()]


class CctvCoverageAlgorithm(VollsmoseAlgorithm):
    """DORI raster and coverage of paths and public spaces by the cameras."""

    NAME = "cctvcoverage"
    DISPLAY_NAME = "CCTV coverage (DORI raster)"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "cctv.svg"
    HELP = (
        "What do the cameras actually see, and how well? For every camera, computes the "
        "ground it sees past the buildings (occlusion by building heights) and the "
        "pixel density of a face there, and classifies it by the IEC 62676-4 DORI "
        "levels: detection (25 px/m), observation (62.5), recognition (125), "
        "identification (250).\n\n"
        "Outputs: a raster of the best DORI level per cell (0 = not seen; building "
        "interiors and private gardens masked), a raster of pixel density (px/m), the "
        "DORI zones as polygons, each camera with its status and reach, the share of "
        "paths, squares and other public spaces seen at each level, and the CCTV "
        "indicators.\n\n"
        "Pixel density at slant distance D: R / (2 · D · tan(HFOV/2))."
    )
    INPUTS = (
        CAMERA_INPUT,
        LayerInput(
            "buildings",
            fields=("building_id", "height_m"),
            help="Occluders: a building hides what is behind it (height_m, else floors × "
            "storey height, else a default).",
        ),
        LayerInput(
            "streets",
            fields=("street_id",),
            help="Walkable streets and paths whose coverage is reported.",
        ),
        LayerInput(
            "landuse",
            fields=("use",),
            help="Squares, green, sport and parking areas whose coverage is reported; "
            "use 'private' is masked (gardens, balconies).",
        ),
    )
    MIN_LEVEL = "MIN_LEVEL"
    MASK_PRIVATE = "MASK_PRIVATE"
    DORI = "DORI"
    DENSITY = "DENSITY"
    ZONES = "ZONES"
    CAMERAS_OUT = "CAMERAS_OUT"
    COVERAGE = "COVERAGE"
    INDICATORS = "INDICATORS"

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.add_district_inputs()
        self.add_resolution_input()
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MIN_LEVEL,
                self.tr("Lowest DORI level mapped (sets each camera's reach)"),
                options=level_options(),
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.MASK_PRIVATE,
                self.tr("Leave private outdoor space (land use 'private') out of the maps"),
                defaultValue=True,
            )
        )
        self.add_raster(self.DORI, "Best DORI level per cell (0 = not seen)")
        self.add_raster(self.DENSITY, "Pixel density (px/m)")
        self.add_sink(self.ZONES, "DORI zones", QgsProcessing.TypeVectorPolygon)
        self.add_sink(
            self.CAMERAS_OUT, "Cameras with status and reach", QgsProcessing.TypeVectorPoint
        )
        self.add_sink(
            self.COVERAGE, "Coverage of paths and public spaces (table)", QgsProcessing.TypeVector
        )
        self.add_sink(self.INDICATORS, "CCTV indicators (table)", QgsProcessing.TypeVector)
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        district = self.read_district(parameters, context, feedback).district
        with library_call(feedback):
            # the module's one pipeline (viewsheds, DORI levels, coverage indicators)
            run_result = analysis.run(
                "cctv",
                district,
                resolution_m=self.parameterAsDouble(parameters, self.RESOLUTION_M, context),
                min_level=dori_level_names()[
                    self.parameterAsEnum(parameters, self.MIN_LEVEL, context)
                ],
                mask_private=self.parameterAsBool(parameters, self.MASK_PRIVATE, context),
                progress=progress_callback(feedback, 5, 80),
            )
            check_cancelled(feedback)
            result = run_result.extras["cctv"]
            table = cctv.coverage(district, result)
            indicators = run_result.indicators
        for message in run_result.warnings:
            feedback.pushWarning(message)
        crs = district.crs
        outputs: dict[str, Any] = {self.PROVENANCE: self._provenance}
        outputs[self.DORI] = self.write_raster(
            result.levels, parameters, self.DORI, context, style="dori"
        )
        outputs[self.DENSITY] = self.write_raster(
            result.density, parameters, self.DENSITY, context, style="pixel_density"
        )
        outputs[self.ZONES] = self.write_frame(
            result.zones,
            parameters,
            self.ZONES,
            context,
            crs=crs,
            style="dori_zones",
            default_geometry="MultiPolygon",
        )
        outputs[self.CAMERAS_OUT] = self.write_frame(
            gpd.GeoDataFrame(result.cameras),
            parameters,
            self.CAMERAS_OUT,
            context,
            crs=crs,
            style="cameras",
        )
        outputs[self.COVERAGE] = self.write_frame(
            table, parameters, self.COVERAGE, context, crs=None
        )
        outputs[self.INDICATORS] = self.write_frame(
            indicators_frame(indicators), parameters, self.INDICATORS, context, crs=None
        )
        for key, item in indicators.items():
            feedback.pushInfo(f"{item.label}: {item.value:.4g} {item.unit} ({key})")
        return outputs
