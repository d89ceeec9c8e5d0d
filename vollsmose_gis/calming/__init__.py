"""Operating speeds per street segment, a traffic-calming planner and the safety effect.

All parameters live in ``standards/calming.yaml``; values marked there as
"(unconfirmed)" are documented defaults, not sourced figures.

The speed model
---------------
Each segment (an edge of the drive graph, :func:`vollsmose_gis.network.drive_graph`)
has a **free speed** ``v_free``: the V85 a long straight stretch of it would carry, from
its class, posted limit, width and lanes (:func:`free_speed_kmh`).  **Slowing points**
hold speed down near them, each with its own speed ``v_p``:

- calming devices, at their V85 crossing speed per kind (``crossing_speed_kmh``);
- intersections (three or more street ends), at ``intersection_kmh`` of the class of
  each street end that has to yield or turn; the two ends of a priority road passing
  straight through do not slow (see *continuous streets*);
- dead ends (culs-de-sac), at ``dead_end_kmh``; an end lying on the edge of the data
  (a street cut by the extract) is not a slowing point;
- bends: the heading change ``Δ`` over ``bend_window_m`` ``W`` of road around each
  vertex gives a radius ``R = W / Δ`` and a curve speed ``sqrt(a_lat · R)``.

Along a street, the speed of a driver is (DOMAIN.md, a documented modelling
assumption)::

    v(x) = min( v_free,  min over slowing points p behind:  sqrt(v_p² + 2·a·|x - p|),
                         min over slowing points p ahead:   sqrt(v_p² + 2·b·|x - p|) )

with acceleration ``a`` after a slowing point and braking ``b`` before it.  The two
directions of travel differ (``a`` and ``b`` swap); the **V85 at a point is the faster
of the directions open to traffic** (one-way streets: the one direction), a
conservative choice for safety and target checks.  A change of free speed between
segments acts the same way (a driver leaving a slow service road accelerates).

The envelope is evaluated exactly: ``v²`` is a minimum of linear functions of ``x``, so
a running minimum over samples gives it at every sample, and the peak between two
samples is solved in closed form.  Segment maxima (``v85_max_kmh``) are therefore
exact; means (``v85_mean_kmh``, length-weighted) use the trapezoid rule on a grid of
``profile_step_m``.

Continuous streets
------------------
A street in the streets layer may be cut into several segments at junctions, and a
hump's influence does not stop at a segment end.  Profiles are modelled along
*continuous streets* ("chains"): segments joined where exactly two street ends meet,
and, at an intersection, the two ends of the highest-ranked street when no other end
has its rank and they deflect by at most ``through_max_deflection_deg`` (a priority
road; drivers on it neither slow for the junction nor feel a hump on the side street).
A closed loop is cut at one node.  (:mod:`vollsmose_gis.network` has no notion of
continuous streets; they are built here from its graph.)

Planner, safety and cost
------------------------
:func:`plan_calming` places devices so that the modelled V85 stays within a target on
chosen streets (fewest devices: a shortest path over candidate positions, equal to
brute-force enumeration in the tests and benchmark).  :func:`safety_effect` applies
the power model (Nilsson; urban exponents of Elvik 2009) to the change of speed against
a baseline, and the pedestrian fatality risk curve of Rosén & Sander (2009) to the
modelled speed.  :func:`device_costs` prices
devices with the unit costs in DKK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.calming._base import (
    THEME,
    CalmingWarning,
    _params,
    crash_ratio,
    device_costs,
    pedestrian_fatality_risk,
)
from vollsmose_gis.calming.planner import (
    Baseline as Baseline,
)
from vollsmose_gis.calming.planner import (
    CalmingPlan,
    plan_calming,
)
from vollsmose_gis.calming.safety import indicators, safety_effect
from vollsmose_gis.calming.speeds import (
    free_speed_kmh,
    max_device_spacing_m,
    operating_speeds,
    speed_profile,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "CalmingPlan",
    "CalmingWarning",
    "crash_ratio",
    "device_costs",
    "free_speed_kmh",
    "indicators",
    "max_device_spacing_m",
    "operating_speeds",
    "pedestrian_fatality_risk",
    "plan_calming",
    "safety_effect",
    "speed_profile",
]

# --------------------------------------------------------------------------- the spec


def _compute(district: District, *, target_kmh: float = 30.0) -> ModuleResult:
    """The module's pipeline: modelled speeds per street and the speed indicators."""
    speeds = operating_speeds(district)
    return ModuleResult(indicators(district, target_kmh=target_kmh), {"calming_speeds": speeds})


SPEC = AnalysisSpec(
    name="calming",
    themes=(THEME,),
    reads=("streets", "calming", "pois"),
    compute=_compute,
    parameters={"target_kmh": 30.0},
    poi_kinds=tuple(_params()["planner"]["school_poi_kinds"]),
    summary="Modelled V85 per street, share within the target speed, injury-crash index.",
)
"""The traffic-calming analysis (see :mod:`vollsmose_gis.analysis`)."""
