"""Connectivity indicators and centralities of the street network."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterPoint,
    QgsProcessingParameterString,
)

from vollsmose_gis import analysis

from .. import conversion
from .._compat import QgsProcessingException
from ..feedback import check_cancelled, library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm, indicators_frame

__all__ = ["ConnectivityAlgorithm", "city_centre", "parse_radii"]

MODES = ("walk", "drive")


def parse_radii(text: str) -> list[float]:
    """Parse "400, 800, 1600" (metres) into numbers; empty text gives no local radii."""
    radii = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise QgsProcessingException(
                f"Local radii: {part!r} is not a number of metres; write e.g. 400, 800, 1600."
            ) from None
        if not value > 0:
            raise QgsProcessingException(f"Local radii: {part!r} m must be more than 0 m.")
        radii.append(value)
    return radii


def city_centre(
    algorithm: VollsmoseAlgorithm,
    parameters: dict[str, Any],
    name: str,
    context: QgsProcessingContext,
    crs: str,
) -> tuple[float, float] | None:
    """The optional city-centre point parameter in the district CRS (None when empty)."""
    if parameters.get(name) in (None, ""):
        return None
    point = algorithm.parameterAsPoint(parameters, name, context, conversion.qgs_crs(crs))
    return (point.x(), point.y())


def centre_parameter(name: str, tr: Any) -> QgsProcessingParameterPoint:
    parameter = QgsProcessingParameterPoint(
        name,
        tr("City centre, for route directness and distance to the centre"),
        optional=True,
    )
    parameter.setHelp(
        tr(
            "Click the city centre on the map. Empty: the district's own centre (its "
            "settings: the embedded Vollsmose has Odense Rådhus, an OSM import the place "
            "node it found), else no centre (the centre columns stay empty, with a warning)."
        )
    )
    return parameter


class ConnectivityAlgorithm(VollsmoseAlgorithm):
    """Centralities of every street segment and junction, home access, indicators."""

    NAME = "connectivity"
    DISPLAY_NAME = "Connectivity indicators and centralities"
    GROUP = "Connectivity"
    GROUP_ID = "connectivity"
    ICON = "connectivity.svg"
    HELP = (
        "How well is the district knit into its city? Builds the walking (or driving) "
        "network from the streets and paths and measures:\n"
        "• per street segment and junction: betweenness (how many shortest routes pass "
        "through; 0–1) and harmonic closeness (1/m; higher = more central), over the "
        "whole network and within each local radius;\n"
        "• per home (building with dwellings, inside the study area): route directness "
        "(network ÷ straight-line distance to places 400–800 m outside the district "
        "and to the city centre; 1 = perfectly direct), walking distance to the centre "
        "and metres of street within an 800 m walk;\n"
        "• the indicators of the 'connected district' theme: intersection density, "
        "dead-end share, link-node ratio, meshedness, boundary crossings, and the "
        "dwelling-weighted home access figures.\n\n"
        "Shortest routes are by length. Streets that cross without a junction (bridges, "
        "tunnels) are not connected."
    )
    INPUTS = (
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id", "highway"),
            help="The network: every street and path; walk/car access from the columns "
            "walk/car or else from the road class.",
        ),
        LayerInput(
            "buildings",
            fields=("building_id", "dwellings"),
            help="Homes: buildings with dwellings > 0 inside the study area (for home access).",
        ),
    )
    MODE = "MODE"
    RADII = "RADII"
    CENTRE = "CENTRE"
    SEGMENTS = "SEGMENTS"
    JUNCTIONS = "JUNCTIONS"
    HOMES = "HOMES"
    ANGULAR = "ANGULAR"
    INDICATORS = "INDICATORS"

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.add_district_inputs()
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MODE,
                self.tr("Network for the centralities"),
                options=[
                    self.tr("walking (paths and streets open to pedestrians)"),
                    self.tr("driving (streets open to cars, one-way respected)"),
                ],
                defaultValue=0,
            )
        )
        radii = QgsProcessingParameterString(
            self.RADII,
            self.tr("Local radii for the centralities (m, comma-separated)"),
            defaultValue="400, 800, 1600",
            optional=True,
        )
        radii.setHelp(
            self.tr(
                "For each radius r, betweenness_r and harmonic_closeness_r count only "
                "routes up to r metres (400 m ≈ 5 minutes' walk). Empty: whole network only."
            )
        )
        self.addParameter(radii)
        self.addParameter(centre_parameter(self.CENTRE, self.tr))
        self.add_sink(
            self.SEGMENTS, "Street segments with centralities", QgsProcessing.TypeVectorLine
        )
        self.add_sink(self.JUNCTIONS, "Junctions with centralities", QgsProcessing.TypeVectorPoint)
        self.add_sink(
            self.HOMES, "Homes with route directness and reach", QgsProcessing.TypeVectorPoint
        )
        self.add_sink(
            self.ANGULAR,
            "Segment map with angular integration and choice (NAIN, NACH)",
            QgsProcessing.TypeVectorLine,
            optional=True,
        )
        self.add_sink(self.INDICATORS, "Connectivity indicators (table)", QgsProcessing.TypeVector)
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        radii = parse_radii(self.parameterAsString(parameters, self.RADII, context))
        mode = MODES[self.parameterAsEnum(parameters, self.MODE, context)]
        district = self.read_district(parameters, context, feedback).district
        centre = city_centre(self, parameters, self.CENTRE, context, district.crs)
        with library_call(feedback):
            # the module's one pipeline (indicators, centralities, home access)
            result = analysis.run(
                "connectivity",
                district,
                centre=centre,
                radii=tuple(radii),
                mode=mode,
                progress=progress_callback(feedback, 5, 95),
            )
            check_cancelled(feedback)
        nodes = result.layers["connectivity_nodes"]
        edges = result.layers["connectivity_edges"]
        homes = result.layers["connectivity_homes"]
        indicators = result.indicators
        for message in result.warnings:
            feedback.pushWarning(message)
        crs = district.crs
        outputs: dict[str, Any] = {self.PROVENANCE: self._provenance}
        outputs[self.SEGMENTS] = self.write_frame(
            edges,
            parameters,
            self.SEGMENTS,
            context,
            crs=crs,
            style="centrality_lines",
            default_geometry="LineString",
        )
        outputs[self.JUNCTIONS] = self.write_frame(
            nodes, parameters, self.JUNCTIONS, context, crs=crs, style="centrality_points"
        )
        if "connectivity_segments" in result.layers:
            outputs[self.ANGULAR] = self.write_frame(
                result.layers["connectivity_segments"],
                parameters,
                self.ANGULAR,
                context,
                crs=crs,
                default_geometry="LineString",
            )
        outputs[self.HOMES] = self.write_frame(
            homes, parameters, self.HOMES, context, crs=crs, style="home_access"
        )
        outputs[self.INDICATORS] = self.write_frame(
            indicators_frame(indicators), parameters, self.INDICATORS, context, crs=None
        )
        for key, item in indicators.items():
            feedback.pushInfo(f"{item.label}: {item.value:.4g} {item.unit} ({key})")
        return outputs
