"""Operating speeds per street segment, a traffic-calming planner and the safety effect.

All parameters live in ``standards/calming.yaml``; values marked there as
"(unconfirmed)" are documented defaults, not sourced figures.

The speed model
---------------
Each segment (an edge of the drive graph, :func:`vollsmose_gis.network.drive_graph`)
has a **free speed** ``v_free``: the V85 a long straight stretch of it would carry, from
its class, posted limit, width and lanes (:func:`free_speed_kmh`).  **Slowing points**
hold speed down near them, each with its own speed ``v_p``:

- calming devices, at their crossing V85: the device's design speed (column
  ``design_speed_kmh``; default ``default_design_speed_kmh`` of its kind, at most its
  street's limit) plus ``crossing_excess_kmh`` of its kind;
- intersections (three or more street ends), at ``intersection_kmh`` of the class of
  each street end that has to yield or turn; the two ends of a priority road passing
  straight through do not slow (see *continuous streets*);
- dead ends (culs-de-sac), at ``dead_end_kmh``; an end lying on the edge of the data
  (a street cut by the extract) is not a slowing point;
- bends: the heading change ``Δ`` over ``bend_window_m`` ``W`` of road around each
  vertex gives a radius ``R = W / Δ`` and a curve speed ``sqrt(a_lat · R)``.

Along a street, the speed of a driver is (docs/domain.md, a documented modelling
assumption)::

    v(x) = min( v_free,  min over slowing points p behind:  sqrt(v_p² + 2·a·|x - p|),
                         min over slowing points p ahead:   sqrt(v_p² + 2·b·|x - p|) )

with acceleration ``a`` after a slowing point and braking ``b`` before it (both
0.85 m/s² by default).  The two
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
:func:`plan_calming` places devices so that each continuous target street meets the
criterion — peak V85 ≤ target + ``planner.tolerance_kmh`` (5 km/h) or mean V85 ≤
target — with the fewest devices (a shortest path over candidate positions, equal to
brute-force enumeration in the tests and benchmark); it chooses the devices' design
speed (target − ``planner.design_margin_kmh``).  :func:`safety_effect` applies the
power model (Nilsson; urban exponents of Elvik 2009, and the lower low-speed
exponents as the other end of a range) to the change of speed against a baseline,
and the pedestrian fatality risk curve of Rosén & Sander (2009) to the modelled
speed.  :func:`device_costs` prices devices with the unit costs in DKK.

Measured speeds
---------------
:func:`read_speed_counts`, :func:`compare_speed_counts` and :func:`calibrate_speeds`
(:mod:`vollsmose_gis.calming.calibration`) check the model against municipal speed
counts and fit ``a``, ``b``, the devices' crossing speeds and the free-speed factor;
the calibrated calming.yaml-style file is used through the ``params`` argument of
every function here and of the analysis spec.

Modules: :mod:`~vollsmose_gis.calming.speeds` (the speed model),
:mod:`~vollsmose_gis.calming.planner`, :mod:`~vollsmose_gis.calming.safety`,
:mod:`~vollsmose_gis.calming.calibration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import pandas as pd

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.calming._base import (
    THEME,
    CalmingWarning,
    ParamsLike,
    _params,
    crash_ratio,
    crossing_speed_kmh,
    device_costs,
    device_unit_costs,
    load_params,
    pedestrian_fatality_risk,
    using_params,
)
from vollsmose_gis.calming._model import (
    _model,
    free_speed_kmh,
)
from vollsmose_gis.calming.calibration import (
    FIT_PARAMETERS,
    SpeedCalibration,
    calibrate_speeds,
    check_speed_counts,
    compare_speed_counts,
    read_speed_counts,
)
from vollsmose_gis.calming.planner import (
    Baseline as Baseline,
)
from vollsmose_gis.calming.planner import (
    CalmingPlan,
    Criterion,
    meets_criterion,
    plan_calming,
)
from vollsmose_gis.calming.safety import indicators, safety_effect
from vollsmose_gis.calming.speeds import (
    max_device_spacing_m,
    operating_speeds,
    speed_profile,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "FIT_PARAMETERS",
    "SPEC",
    "CalmingPlan",
    "CalmingWarning",
    "Criterion",
    "ParamsLike",
    "SpeedCalibration",
    "calibrate_speeds",
    "check_speed_counts",
    "compare_speed_counts",
    "crash_ratio",
    "crossing_speed_kmh",
    "device_costs",
    "device_unit_costs",
    "free_speed_kmh",
    "indicators",
    "load_params",
    "max_device_spacing_m",
    "meets_criterion",
    "operating_speeds",
    "pedestrian_fatality_risk",
    "plan_calming",
    "read_speed_counts",
    "safety_effect",
    "speed_profile",
    "using_params",
]

# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    target_kmh: float = 30.0,
    params: ParamsLike = None,
    counts: Any = None,
    criterion: Criterion | None = None,
    tolerance_kmh: float | None = None,
) -> ModuleResult:
    """The module's pipeline: modelled speeds per street, indicators, counts check.

    ``calming_speeds`` gets ``meets_target`` (the planner's criterion on each
    continuous target street); with ``counts`` (a speed-count file or table) the
    layer ``speed_counts`` holds the model-vs-measured table and
    ``extras["speed_counts_rmse_kmh"]`` its RMSE.
    """
    with using_params(params) as p:
        planner = p["planner"]
        rule = str(planner["criterion"] if criterion is None else criterion)
        tolerance = float(planner["tolerance_kmh"] if tolerance_kmh is None else tolerance_kmh)
        speeds = operating_speeds(district, target_kmh=target_kmh)
        speeds["meets_target"] = meets_criterion(
            speeds,
            _model(district).chain,
            target_kmh,
            criterion=cast(Criterion, rule),
            tolerance_kmh=tolerance,
        )
        values = indicators(district, target_kmh=target_kmh)
        layers: dict[str, gpd.GeoDataFrame] = {"calming_speeds": speeds}
        extras: dict[str, Any] = {"criterion": rule, "tolerance_kmh": tolerance}
        if counts is not None:
            table = counts if isinstance(counts, pd.DataFrame) else read_speed_counts(counts)
            compared = compare_speed_counts(district, table)
            layers["speed_counts"] = compared
            extras["speed_counts_rmse_kmh"] = compared.attrs["rmse_kmh"]
    return ModuleResult(values, layers, extras=extras)


SPEC = AnalysisSpec(
    name="calming",
    themes=(THEME,),
    reads=("streets", "calming", "pois"),
    compute=_compute,
    parameters={
        "target_kmh": 30.0,
        "params": None,
        "counts": None,
        "criterion": None,
        "tolerance_kmh": None,
    },
    poi_kinds=tuple(_params()["planner"]["school_poi_kinds"]),
    settings=(),  # the speed model reads no district setting (its scope is the boundary)
    summary="Modelled V85 per street, share within the target speed, injury-crash index "
    "(as a range), model vs measured speeds.",
)
"""The traffic-calming analysis (see :mod:`vollsmose_gis.analysis`).

Parameters: ``target_kmh`` (target V85, km/h), ``params`` (a calibrated
calming.yaml-style file or mapping; None: the packaged one), ``counts`` (a speed-count
file, :func:`read_speed_counts`, or a table; None: no comparison), ``criterion``
(``"peak"``/``"mean"``, None: ``planner.criterion``) and ``tolerance_kmh`` (None:
``planner.tolerance_kmh``) for the ``meets_target`` column.
"""
