"""Aiming a planner at the evidence (issue 19 §4): the inputs the lamp planner and the
camera placement share, and the treated share they report.

The evidence is the District's ``safety_walk`` marks and ``incidents`` (weighted) and/or
a raster of priority weight per m².  With none of them given, a planner runs exactly as
before.  The planning itself is the library's (``lighting.plan_lights`` /
``cctv.plan_cameras`` with ``priority=``, :mod:`vollsmose_gis.safety.priority`); this
module only reads the parameters and reports the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.safety.priority import priority_places

from .. import conversion
from .._compat import QgsProcessingException
from .base import LayerInput, VollsmoseAlgorithm

__all__ = [
    "INCIDENTS_INPUT",
    "MARKS_INPUT",
    "Aim",
    "add_aim_parameters",
    "add_share_outputs",
    "read_aim",
    "report_shares",
]

MARKS_INPUT = LayerInput(
    "safety_walk",
    fields=("mark_id", "reason"),
    help="Places residents marked as unsafe on a safety walk. Given (or incidents, or a "
    "priority raster), the plan is aimed at them: it treats the most marked places, "
    "not the most path length or area.",
)
INCIDENTS_INPUT = LayerInput(
    "incidents",
    fields=("incident_id", "kind", "weight", "count"),
    help="Recorded incidents; each weighs its weight × count × the incident weight "
    "below. Given, the plan is aimed at them (with the safety-walk marks).",
)

MARK_WEIGHT = "MARK_WEIGHT"
INCIDENT_WEIGHT = "INCIDENT_WEIGHT"
PRIORITY = "PRIORITY"
TREATED_SHARE_BEFORE = "TREATED_SHARE_BEFORE"
TREATED_SHARE_AFTER = "TREATED_SHARE_AFTER"


@dataclass(frozen=True)
class Aim:
    """What a planner is aimed at.

    Attributes
    ----------
    places
        :func:`vollsmose_gis.safety.priority_places` of the marks and incidents with
        the chosen weights (empty when neither layer has features).
    raster
        The priority raster (weight per m²) when one was given; it is then the
        planner's priority and ``places`` only measure the treated share.
    """

    places: gpd.GeoDataFrame
    raster: Raster | None


def add_aim_parameters(alg: VollsmoseAlgorithm) -> None:
    """Add the weights of marks and incidents and the optional priority raster."""
    for name, label, help_text in (
        (
            MARK_WEIGHT,
            "Evidence: weight of one safety-walk mark",
            "How much one marked place counts when the plan is aimed at the evidence.",
        ),
        (
            INCIDENT_WEIGHT,
            "Evidence: weight of one incident (× its weight × count)",
            "How much one incident counts against one safety-walk mark (0: incidents "
            "do not steer the plan).",
        ),
    ):
        parameter = QgsProcessingParameterNumber(
            name,
            alg.tr(label),
            QgsProcessingParameterNumber.Double,
            defaultValue=1.0,
            minValue=0.0,
        )
        parameter.setHelp(alg.tr(help_text))
        alg.addParameter(parameter)
    raster = QgsProcessingParameterRasterLayer(
        PRIORITY,
        alg.tr("Evidence: priority raster (weight per m², e.g. an incident density)"),
        optional=True,
    )
    raster.setHelp(
        alg.tr(
            "A single-band raster in the district's CRS whose cells weigh where the plan "
            "matters most (weight per m²; no-data counts as 0, negative values are "
            "refused). Given, it steers the plan instead of the marks and incidents, "
            "which then only measure the treated share."
        )
    )
    alg.addParameter(raster)


def add_share_outputs(alg: VollsmoseAlgorithm) -> None:
    """The treated share of the marked places before and after the plan (0–1)."""
    alg.addOutput(
        QgsProcessingOutputNumber(
            TREATED_SHARE_BEFORE,
            alg.tr("Share of marked places treated before the plan (weighted, 0–1)"),
        )
    )
    alg.addOutput(
        QgsProcessingOutputNumber(
            TREATED_SHARE_AFTER,
            alg.tr("Share of marked places treated after the plan (weighted, 0–1)"),
        )
    )


def read_aim(
    alg: VollsmoseAlgorithm,
    parameters: dict[str, Any],
    context: QgsProcessingContext,
    district: District,
) -> Aim | None:
    """The evidence the planner is aimed at; None when none was given (today's plan)."""
    given_layers = any(
        parameters.get(spec.parameter) not in (None, "") for spec in (MARKS_INPUT, INCIDENTS_INPUT)
    )
    raster = None
    if parameters.get(PRIORITY) not in (None, ""):
        layer = alg.parameterAsRasterLayer(parameters, PRIORITY, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(alg.invalidRasterError(parameters, PRIORITY))
        raster = conversion.raster_layer_to_raster(layer, what="priority raster")
    if not given_layers and raster is None:
        return None
    mark_weight = alg.parameterAsDouble(parameters, MARK_WEIGHT, context)
    incident_weight = alg.parameterAsDouble(parameters, INCIDENT_WEIGHT, context)
    places = priority_places(district, mark_weight=mark_weight, incident_weight=incident_weight)
    return Aim(places=places, raster=raster)


def report_shares(
    feedback: QgsProcessingFeedback, what: str, before: float, after: float, places: int
) -> None:
    """Log the treated share of the marked places before and after a plan."""
    if math.isnan(before) and math.isnan(after):
        feedback.pushInfo(
            "No safety-walk marks or incidents given: the treated share of marked places "
            "is not computed (give them to measure the plan against them)."
        )
        return
    feedback.pushInfo(
        f"Marked places {what} (weighted, {places} marks and incidents): "
        f"{before:.0%} before the plan, {after:.0%} after."
    )
