"""Suggest new pedestrian links that open the district up."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import connectivity

from .. import conversion
from .._compat import QgsProcessingException
from ..feedback import library_call, progress_callback
from .base import LayerInput, VollsmoseAlgorithm
from .connectivity import centre_parameter, city_centre

__all__ = ["SuggestLinksAlgorithm"]


class SuggestLinksAlgorithm(VollsmoseAlgorithm):
    """Greedy link-opening optimiser over the walking network."""

    NAME = "suggestlinks"
    DISPLAY_NAME = "Suggest new links"
    GROUP = "Connectivity"
    GROUP_ID = "connectivity"
    ICON = "links.svg"
    HELP = (
        "Which new paths would make the homes of the district best connected? Proposes "
        "straight pedestrian links from dead ends and poorly connected junctions to "
        "nearby streets — never through a building or open water — and picks them one "
        "by one, each time the link that shortens walking routes the most, until the "
        "number of links or the length budget is used up.\n\n"
        "Objective: route directness (walking ÷ straight-line distance from the homes "
        "to places around the district and to the city centre; lower is better) or "
        "walking distance to the city centre (m).\n\n"
        "Output: the chosen links in order (rank 1 first) with their length, gain "
        "(how much the objective drops when the link is added after the ones before "
        "it) and gain_alone. Give your own proposed links (e.g. from a development "
        "plan) to rank them instead of generated ones."
    )
    INPUTS = (
        LayerInput(
            "streets",
            optional=False,
            fields=("street_id",),
            help="The walking network the links are added to.",
        ),
        LayerInput(
            "buildings",
            fields=("building_id", "dwellings"),
            help="Homes (buildings with dwellings inside the study area) whose routes are "
            "improved; links may not cross buildings.",
        ),
        LayerInput(
            "landuse",
            fields=("use",),
            help="Links may not cross land use 'water' (a 'wetland' may carry a boardwalk).",
        ),
    )
    MAX_LINKS = "MAX_LINKS"
    BUDGET_M = "BUDGET_M"
    MAX_LENGTH_M = "MAX_LENGTH_M"
    OBJECTIVE = "OBJECTIVE"
    CENTRE = "CENTRE"
    CANDIDATES = "CANDIDATES"
    LINKS = "LINKS"
    OBJECTIVE_BEFORE = "OBJECTIVE_BEFORE"

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.add_district_inputs()
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_LINKS,
                self.tr("Largest number of new links"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=10,
                minValue=1,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.BUDGET_M,
                self.tr("Total length budget of new links, m (empty: no limit)"),
                QgsProcessingParameterNumber.Double,
                optional=True,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_LENGTH_M,
                self.tr("Longest single link considered (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=150.0,
                minValue=1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.OBJECTIVE,
                self.tr("What to improve"),
                options=[
                    self.tr("route directness of the homes (walking ÷ straight distance)"),
                    self.tr("walking distance from the homes to the city centre (m)"),
                ],
                defaultValue=0,
            )
        )
        self.addParameter(centre_parameter(self.CENTRE, self.tr))
        candidates = QgsProcessingParameterFeatureSource(
            self.CANDIDATES,
            self.tr("Proposed links to rank instead of generated ones [lines]"),
            [QgsProcessing.TypeVectorLine],
            optional=True,
        )
        candidates.setHelp(
            self.tr(
                "Each line's ends are attached to the nearest walkable street; its length "
                "is the line's length (the longest-link limit does not apply)."
            )
        )
        self.advanced(candidates)
        self.add_sink(self.LINKS, "Suggested links", QgsProcessing.TypeVectorLine)
        self.addOutput(
            QgsProcessingOutputNumber(self.OBJECTIVE_BEFORE, self.tr("Objective before"))
        )
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        district = self.read_district(parameters, context, feedback).district
        centre = city_centre(self, parameters, self.CENTRE, context, district.crs)
        candidates = None
        if parameters.get(self.CANDIDATES) not in (None, ""):
            source = self.parameterAsSource(parameters, self.CANDIDATES, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, self.CANDIDATES))
            candidates = conversion.source_to_frame(source, what="Proposed links")
            if candidates.crs is None:
                raise QgsProcessingException("Proposed links: the layer has no CRS.")
            candidates = candidates.to_crs(district.crs)
        budget = (
            self.parameterAsDouble(parameters, self.BUDGET_M, context)
            if parameters.get(self.BUDGET_M) not in (None, "")
            else None
        )
        objective = connectivity.OBJECTIVES[
            self.parameterAsEnum(parameters, self.OBJECTIVE, context)
        ]
        with library_call(feedback):
            plan = connectivity.suggest_links(
                district,
                max_length_m=self.parameterAsDouble(parameters, self.MAX_LENGTH_M, context),
                budget_m=budget,
                objective=objective,
                k=self.parameterAsInt(parameters, self.MAX_LINKS, context),
                centre=centre,
                candidates=candidates,
                progress=progress_callback(feedback, 5, 95),
            )
        links = plan.added
        before = float(plan.summary.get("objective_before", float("nan")))
        for line in plan.unmet:  # why fewer links than asked for
            feedback.pushWarning(line)
        feedback.pushInfo(
            f"{len(links)} link(s), {links['length_m'].sum():.0f} m in total; {objective} "
            f"before: {before:.4g}"
            + (f", after: {links['objective_after'].iloc[-1]:.4g}" if len(links) else "")
        )
        return {
            self.LINKS: self.write_frame(
                links,
                parameters,
                self.LINKS,
                context,
                crs=district.crs,
                style="links",
                default_geometry="LineString",
            ),
            self.OBJECTIVE_BEFORE: before,
            self.PROVENANCE: self._provenance,
        }
