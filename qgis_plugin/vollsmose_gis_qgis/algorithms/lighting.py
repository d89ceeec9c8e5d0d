"""Street lighting: illuminance raster, EN 13201 compliance per street, dark spots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import analysis
from vollsmose_gis.standards import categories, load

from .. import conversion
from ..feedback import check_cancelled, library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame

__all__ = ["LAMP_INPUT", "LightingAlgorithm", "class_parameter", "photometry_folder"]

LAMP_INPUT = LayerInput(
    "lights",
    fields=("light_id", "lumens", "height_m", "distribution", "maintenance_factor"),
    help="The lamps: luminous flux (lm) and mounting height (m) are required; light "
    "distribution (street_lantern, post_top, bollard, floodlight or photometry_file) and "
    "maintenance factor default to street_lantern and 0.8. Map your own field names below.",
)


def lighting_classes() -> list[str]:
    return list(categories("lighting_classes"))


def class_parameter(name: str, tr: Any) -> QgsProcessingParameterEnum:
    """The EN 13201 class parameter (empty: each segment's own class)."""
    parameter = QgsProcessingParameterEnum(
        name,
        tr("EN 13201 lighting class to assess against"),
        options=[tr("each street's own class (lighting_class, else its road class default)")]
        + [f"{c} (EN 13201-2)" for c in lighting_classes()],
        defaultValue=0,
    )
    parameter.setHelp(
        tr(
            "P1–P6: pedestrian and low-speed areas, by average and minimum illuminance "
            "(P1 strictest). C0–C5: conflict areas, by average illuminance and uniformity."
        )
    )
    return parameter


def chosen_class(index: int) -> str | None:
    return None if index == 0 else lighting_classes()[index - 1]


def photometry_parameter(name: str, tr: Any) -> QgsProcessingParameterFile:
    parameter = QgsProcessingParameterFile(
        name,
        tr("Folder of the lamps' photometry files (.ldt/.ies)"),
        behavior=QgsProcessingParameterFile.Folder,
        optional=True,
    )
    parameter.setHelp(
        tr(
            "Lamps whose distribution is photometry_file name their EULUMDAT/IES file in "
            "photometry_file; relative names are looked up here. Empty: the folder of the "
            "lamp layer's file."
        )
    )
    return parameter


def photometry_folder(
    algorithm: VollsmoseAlgorithm, parameters: dict[str, Any], name: str, context: Any
) -> str | None:
    """The photometry folder parameter, else the folder of the lamp layer's file."""
    folder = algorithm.parameterAsFile(parameters, name, context)
    if folder:
        return folder
    if parameters.get("LIGHTS") in (None, ""):
        return None
    path = conversion.layer_path(algorithm.parameterAsVectorLayer(parameters, "LIGHTS", context))
    return str(Path(path).parent) if path is not None else None


class LightingAlgorithm(VollsmoseAlgorithm):
    """Illuminance raster, EN 13201 compliance of every street, dark spots, indicators."""

    NAME = "lighting"
    DISPLAY_NAME = "Lighting illuminance raster and EN 13201 compliance"
    GROUP = "Safety and security"
    GROUP_ID = "safety"
    ICON = "lighting.svg"
    HELP = (
        "How well are streets and paths lit after dark? Computes, from every lamp's "
        "luminous flux, mounting height and light distribution (or its photometry "
        "file), the maintained horizontal illuminance on the ground (lux):\n"
        "• a raster over the study area;\n"
        "• per street segment: average and minimum illuminance and uniformity on the "
        "EN 13201-3 calculation grid, compared with the segment's EN 13201-2 class "
        "(pass, over-lit);\n"
        "• dark spots: walkable areas lit below the threshold;\n"
        "• the lighting indicators: share of path length that passes, dark-spot area, "
        "mean illuminance on paths, yearly electricity use.\n\n"
        "Point illuminance E = MF · I(C, γ) · cos³γ / H² summed over lamps (EN 13201-3)."
    )
    INPUTS = (
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id",),
            help="Streets and paths assessed; their lighting_class (P1–P6, C0–C5) or else "
            "the default class of their road class, and width_m for the grid.",
        ),
        LAMP_INPUT,
    )
    TARGET_CLASS = "TARGET_CLASS"
    DARK_THRESHOLD_LX = "DARK_THRESHOLD_LX"
    PHOTOMETRY_DIR = "PHOTOMETRY_DIR"
    ILLUMINANCE = "ILLUMINANCE"
    COMPLIANCE = "COMPLIANCE"
    DARK_SPOTS = "DARK_SPOTS"
    INDICATORS = "INDICATORS"

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.add_district_inputs()
        self.add_resolution_input()
        self.addParameter(class_parameter(self.TARGET_CLASS, self.tr))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.DARK_THRESHOLD_LX,
                self.tr("Dark below (lx)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=float(load("en13201")["dark_spot_threshold_lx"]),
                minValue=0.0,
            )
        )
        self.advanced(photometry_parameter(self.PHOTOMETRY_DIR, self.tr))
        self.add_raster(self.ILLUMINANCE, "Illuminance (lx)")
        self.add_sink(
            self.COMPLIANCE, "Street segments: EN 13201 compliance", QgsProcessing.TypeVectorLine
        )
        self.add_sink(self.DARK_SPOTS, "Dark spots on paths", QgsProcessing.TypeVectorPolygon)
        self.add_sink(self.INDICATORS, "Lighting indicators (table)", QgsProcessing.TypeVector)
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
        target = chosen_class(self.parameterAsEnum(parameters, self.TARGET_CLASS, context))
        resolution = self.parameterAsDouble(parameters, self.RESOLUTION_M, context)
        with library_call(feedback):
            # the module's one pipeline (compliance, raster, dark spots, indicators)
            result = analysis.run(
                "lighting",
                district,
                resolution_m=resolution,
                target_class=target,
                photometry_dir=folder,
                dark_threshold_lx=self.parameterAsDouble(
                    parameters, self.DARK_THRESHOLD_LX, context
                ),
                progress=progress_callback(feedback, 5, 95),
            )
            check_cancelled(feedback)
        raster = result.rasters["illuminance"]
        segments = result.layers["lighting_segments"]
        dark = result.layers["lighting_dark_spots"]
        indicators = result.indicators
        for message in result.warnings:
            feedback.pushWarning(message)
        crs = district.crs
        outputs: dict[str, Any] = {self.PROVENANCE: self._provenance}
        outputs[self.ILLUMINANCE] = self.write_raster(
            raster, parameters, self.ILLUMINANCE, context, style="illuminance"
        )
        outputs[self.COMPLIANCE] = self.write_frame(
            segments,
            parameters,
            self.COMPLIANCE,
            context,
            crs=crs,
            style="compliance",
            default_geometry="LineString",
        )
        outputs[self.DARK_SPOTS] = self.write_frame(
            dark,
            parameters,
            self.DARK_SPOTS,
            context,
            crs=crs,
            style="dark_spots",
            default_geometry="Polygon",
        )
        outputs[self.INDICATORS] = self.write_frame(
            indicators_frame(indicators), parameters, self.INDICATORS, context, crs=None
        )
        for key, item in indicators.items():
            feedback.pushInfo(f"{item.label}: {item.value:.4g} {item.unit} ({key})")
        return outputs
