"""The safety review of scored plans: what each plan changes at the marked places.

For a scoring run whose base district has safety evidence, :func:`review_plans`
computes, once, what the council report's Safety section shows: today's safety
analysis, and for today and every plan the safety-walk audit
(:func:`~vollsmose_gis.safety.audit.safety_audit`), the natural surveillance and the
share of the marked places treated with light and with cameras
(:func:`~vollsmose_gis.safety.priority.treated_share`).

It is analysis, not drawing: the main job runs it with the other analyses, before the
maps and the report, and the report only renders it.  A plan's surveillance is
today's when the plan leaves the layers it reads unchanged; it is computed once per
distinct content of those layers otherwise (two plans with the same buildings,
streets, land use and lamps share it).  The hot spots are today's alone: they rest on
the incidents, which no plan changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vollsmose_gis.analysis import ModuleResult
from vollsmose_gis.district import District

__all__ = ["PlanSafety", "SafetyReview", "has_evidence", "review_plans"]

SURVEILLANCE_READS = ("streets", "buildings", "landuse", "lights")
"""The layers natural surveillance reads (facades, paths, squares, lamps for the night)."""


class ScoredPlan(Protocol):
    """What the review needs of a scored plan (a :class:`~vollsmose_gis.scoring.ScenarioResult`)."""

    district: District
    modules: dict[str, ModuleResult]


@dataclass
class PlanSafety:
    """The safety review of one plan (or of today).

    Attributes
    ----------
    audit
        :func:`~vollsmose_gis.safety.audit.safety_audit` of the plan's district (None
        without safety-walk marks).
    surveillance
        Its natural surveillance (:class:`~vollsmose_gis.safety.surveillance.SurveillanceResult`).
    treated_lights, treated_cameras
        Share of the marked places lit to their class / seen at recognition (0-1; NaN
        without marks).
    """

    audit: Any
    surveillance: Any
    treated_lights: float
    treated_cameras: float


@dataclass
class SafetyReview:
    """Today's safety analysis and the review of today and each plan, by plan name."""

    today: ModuleResult
    baseline: PlanSafety
    plans: dict[str, PlanSafety] = field(default_factory=dict)


def has_evidence(district: District) -> bool:
    """Whether a district has safety evidence (incidents or safety-walk marks)."""
    return bool(len(district.incidents) or len(district.safety_walk))


def plan_module(plan: ScoredPlan, name: str) -> ModuleResult:
    """A module result of a plan: the scorer's, else :func:`analysis.run` (cached)."""
    from vollsmose_gis import analysis

    return plan.modules.get(name) or analysis.run(name, plan.district)


def _plan_safety(plan: ScoredPlan, surveillance: Any, *, marks: int) -> PlanSafety:
    """Audit and treated shares of one plan, given its surveillance."""
    import math

    from vollsmose_gis.network import NoStreetsError
    from vollsmose_gis.safety.audit import safety_audit
    from vollsmose_gis.safety.priority import treated_share

    if not marks:
        return PlanSafety(None, surveillance, math.nan, math.nan)
    lighting = plan_module(plan, "lighting")
    cctv = plan_module(plan, "cctv").extras["cctv"]
    try:
        speeds = plan_module(plan, "calming").layers.get("calming_speeds")
    except NoStreetsError:  # no street with motor traffic: no speeds at the marks
        speeds = None
    audit = safety_audit(
        plan.district,
        illuminance=lighting.rasters["illuminance"],
        cctv=cctv,
        surveillance=surveillance,
        speeds=speeds,
    )
    lights = treated_share(
        plan.district, by="lights", segments=lighting.layers["lighting_segments"]
    )
    cameras = treated_share(plan.district, by="cameras", level="recognition", cctv=cctv)
    return PlanSafety(audit, surveillance, float(lights), float(cameras))


def review_plans(baseline: ScoredPlan, plans: Mapping[str, ScoredPlan]) -> SafetyReview | None:
    """Review today and every plan at the marked places (module notes).

    Parameters
    ----------
    baseline
        Today's scored district.
    plans
        The scored plans by name.

    Returns
    -------
    SafetyReview or None
        None when today's district has no safety evidence.
    """
    from vollsmose_gis.safety.surveillance import natural_surveillance

    base = baseline.district
    if not has_evidence(base):
        return None
    today = plan_module(baseline, "safety")
    marks = len(base.safety_walk)
    seen: dict[str, Any] = {base.fingerprint(*SURVEILLANCE_READS): today.extras["surveillance"]}
    review = SafetyReview(today, _plan_safety(baseline, today.extras["surveillance"], marks=marks))
    for name, plan in plans.items():
        key = plan.district.fingerprint(*SURVEILLANCE_READS)
        if key not in seen:
            seen[key] = natural_surveillance(
                plan.district,
                # the plans are seen as today was: at today's run's recognition distance
                recognition_distance_m=today.parameters.get("recognition_distance_m"),
                lighting_segments=plan_module(plan, "lighting").layers["lighting_segments"],
            )
        review.plans[str(name)] = _plan_safety(
            plan, seen[key], marks=len(plan.district.safety_walk)
        )
    return review
