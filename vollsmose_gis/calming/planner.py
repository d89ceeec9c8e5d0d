"""The traffic-calming planner: fewest devices that hold a street within its target."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import Plan, new_ids
from vollsmose_gis.calming._base import (
    ParamsLike,
    Progress,
    _bool_column,
    _check_target,
    _ms,
    _params,
    _report,
    crash_ratio,
    crossing_speed_kmh,
    device_costs,
    device_unit_costs,
    logger,
    using_params,
)
from vollsmose_gis.calming._model import (
    _device_points,
    _Model,
    _model,
    _points_frame,
)
from vollsmose_gis.calming.speeds import (
    _build_samples,
    _evaluate,
    _Samples,
    _school_zone,
    _target_edges,
    operating_speeds,
)
from vollsmose_gis.standards import categories, highway_defaults

if TYPE_CHECKING:
    from vollsmose_gis.district import District


# --------------------------------------------------------------------------- planner

Criterion = Literal["peak", "mean"]


class _Summary(dict[str, Any]):
    """A plan's summary: a dict that may also be called (``plan.summary()``, the
    spelling of the CLI and plugin before :class:`~vollsmose_gis.analysis.Plan`).
    """

    def __call__(self) -> dict[str, Any]:
        return dict(self)


@dataclass(repr=False)
class CalmingPlan(Plan):
    """Devices placed by :func:`plan_calming` and the speeds they give.

    A :class:`~vollsmose_gis.analysis.Plan`: ``district`` (the input district with the
    devices appended to its calming layer), ``added`` (the new devices), ``cost_dkk``,
    ``unmet`` (target streets still too fast), ``summary`` (a JSON-ready dict, also
    callable), ``layer`` (``"calming"``), ``extras`` (``{"speeds": ...}``).

    Attributes
    ----------
    target_kmh
        The target V85, km/h.
    kinds
        Device kinds the planner could use.
    speeds
        :func:`~vollsmose_gis.calming.safety_effect`-style segment table after the
        plan, with the speeds before it (``v85_max_before_kmh``,
        ``v85_mean_before_kmh``), the power-model ``injury_crash_change`` from before
        to after and ``meets_target`` (target streets only; NaN elsewhere).
    criterion
        ``"peak"`` (peak V85 ≤ target + tolerance) or ``"mean"`` (mean V85 ≤ target).
    tolerance_kmh
        Accepted excess of the peak over the target, km/h.
    design_speed_kmh
        Design speed of the planned devices, km/h (crossing V85 adds the kind's
        ``crossing_excess_kmh``).

    Notes
    -----
    ``devices`` (= ``added``: calming-layer rows ``device_id``, ``kind``,
    ``street_id``, ``design_speed_kmh``, Point geometry, plus ``reason``
    (``"school crossing"`` or ``"speed"``), ``chain_m`` and ``cost_dkk``) and
    ``unmet_streets`` (= ``tuple(unmet)``) keep the names of the earlier
    ``CalmingPlan``.
    """

    target_kmh: float = 30.0
    kinds: tuple[str, ...] = ()
    speeds: gpd.GeoDataFrame | None = None
    criterion: str = "peak"
    tolerance_kmh: float = 0.0
    design_speed_kmh: float = float("nan")

    @property
    def devices(self) -> gpd.GeoDataFrame:
        """The new devices (:attr:`added`)."""
        return self.added

    @property
    def unmet_streets(self) -> tuple[str, ...]:
        """``street_id`` of target streets that still miss the criterion (:attr:`unmet`)."""
        return tuple(self.unmet)

    def __repr__(self) -> str:
        return (
            f"CalmingPlan({len(self.added)} devices for {self.target_kmh:g} km/h "
            f"({self.criterion}), {self.cost_dkk:,.0f} DKK, {len(self.unmet)} streets unmet)"
        )


def _plan_summary(
    speeds: gpd.GeoDataFrame,
    devices: gpd.GeoDataFrame,
    *,
    target_kmh: float,
    criterion: str,
    tolerance_kmh: float,
    design_speed_kmh: float,
    unmet: list[str],
) -> _Summary:
    """A JSON-ready summary: devices by kind, cost, speeds before and after."""
    scope = speeds[speeds["target_street"]]
    length = float(scope["length_m"].sum())

    def weighted(column: str) -> float | None:
        if length <= 0:
            return None
        return round(float((scope[column] * scope["length_m"]).sum() / length), 2)

    by_kind = devices.groupby("kind", observed=True)["cost_dkk"].agg(["count", "sum"])
    return _Summary(
        {
            "target_kmh": target_kmh,
            "criterion": criterion,
            "tolerance_kmh": tolerance_kmh,
            "design_speed_kmh": design_speed_kmh,
            "devices": len(devices),
            "devices_by_kind": {k: int(r["count"]) for k, r in by_kind.iterrows()},
            "cost_dkk": round(float(devices["cost_dkk"].sum())),
            "cost_by_kind_dkk": {k: round(float(r["sum"])) for k, r in by_kind.iterrows()},
            "target_street_length_m": round(length, 1),
            "mean_v85_before_kmh": weighted("v85_mean_before_kmh"),
            "mean_v85_after_kmh": weighted("v85_mean_kmh"),
            "max_v85_before_kmh": round(float(scope["v85_max_before_kmh"].max()), 2)
            if length > 0
            else None,
            "max_v85_after_kmh": round(float(scope["v85_max_kmh"].max()), 2)
            if length > 0
            else None,
            "unmet_streets": list(unmet),
        }
    )


def _min_spacing(target_kmh: float) -> float:
    table = {float(k): float(v) for k, v in _params()["planner"]["min_spacing_m"].items()}
    speeds = sorted(table)
    below = [s for s in speeds if s <= target_kmh]
    return table[below[-1]] if below else table[speeds[0]]


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    params = _params()
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(str(k) for k in kinds)
    if not kinds:
        raise InputError("kinds must name at least one device kind, e.g. ('hump',)")
    known = params["default_design_speed_kmh"]
    unknown = [k for k in kinds if k not in known or k not in device_unit_costs()]
    if unknown:
        raise InputError(f"unknown device kind(s) {unknown}; known kinds: {sorted(known)}")
    fixed = [k for k in kinds if k in params["planner"]["not_placeable"]]
    if fixed:
        raise InputError(
            f"the planner places mid-block devices only; {fixed} belong at intersections "
            "(add them to the calming layer yourself)"
        )
    return kinds


def _crossings(district: District, model: _Model) -> pd.DataFrame:
    """At-grade pedestrian crossings: walk-only streets meeting a car segment.

    Returns edge and chain position of each crossing (duplicates within 1 m dropped).
    """
    streets = district.streets
    columns = {"edge": np.int64, "pos": float}
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    if streets.empty:
        return empty
    highway = streets["highway"].astype(str)
    known = set(categories("highway_classes"))

    def access(column: str) -> np.ndarray:
        defaults = highway.map(lambda h: bool(highway_defaults(h)[column]) if h in known else False)
        if column in streets.columns:
            values = streets[column].astype("boolean").fillna(defaults.astype("boolean"))
        else:
            values = defaults.astype("boolean")
        return np.asarray(values.fillna(False).to_numpy(dtype=bool))

    level = _bool_column(streets, "bridge") | _bool_column(streets, "tunnel")
    walk_only = access("walk") & ~access("car") & ~level
    lines = streets.geometry.to_numpy()[walk_only]
    lines = lines[~(shapely.is_missing(lines) | shapely.is_empty(lines))]
    if not len(lines):
        return empty
    car = model.graph.edges.geometry.to_numpy()
    tree = shapely.STRtree(car)
    li, ei = tree.query(lines, predicate="intersects")
    points, edges = [], []
    if len(li):
        inter = shapely.intersection(lines[li], car[ei])
        parts, owner = shapely.get_parts(inter, return_index=True)
        parts = shapely.point_on_surface(parts)
        points.append(parts)
        edges.append(ei[owner])
    tol = float(model.graph.snap_tolerance_m)
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    pi, pe = tree.query(ends, predicate="dwithin", distance=tol)
    if len(pi):
        points.append(ends[pi])
        edges.append(pe)
    if not points:
        return empty
    pts = np.concatenate(points)
    edge = np.concatenate(edges).astype(np.int64)
    geoms = car[edge]
    along = (
        shapely.line_locate_point(geoms, pts)
        * model.length[edge]
        / np.maximum(shapely.length(geoms), 1e-12)
    )
    frame = pd.DataFrame({"edge": edge, "pos": model.chain_pos(edge, along)})
    frame["key"] = np.round(frame["pos"]).astype(np.int64)
    return frame.drop_duplicates(["edge", "key"]).drop(columns="key").reset_index(drop=True)


def plan_calming(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    kinds: Sequence[str] = ("hump", "table", "cushion"),
    candidate_step_m: float | None = None,
    progress: Progress | None = None,
    criterion: Criterion | None = None,
    tolerance_kmh: float | None = None,
    design_speed_kmh: float | None = None,
    params: ParamsLike = None,
) -> CalmingPlan:
    """Place calming devices so the modelled V85 stays within a target.

    Parameters
    ----------
    district
        The district; existing devices are kept and count.
    target_kmh
        Target V85, km/h (> 0).
    streets
        ``street_id`` values of the streets to calm (default: ``planner.default_highways``
        classes with at least half their length inside the boundary).
    kinds
        Device kinds the planner may use.  On bus routes only ``bus_route_kinds``
        (cushions); elsewhere the first other kind in this order (``hump`` by default).
    candidate_step_m
        Spacing of candidate positions along a street, metres (default
        ``planner.candidate_step_m``).
    progress
        Optional callback ``(fraction done, message)``.
    criterion
        ``"peak"``: the largest modelled V85 of every continuous target street ≤
        target + ``tolerance_kmh``; ``"mean"``: its length-weighted mean V85 ≤ target.
        Default ``planner.criterion`` (``peak``).
    tolerance_kmh
        Accepted excess of the peak V85 over the target, km/h (default
        ``planner.tolerance_kmh``, 5 km/h; ignored by ``"mean"``).
    design_speed_kmh
        Design speed of the new devices, km/h (default: target −
        ``planner.design_margin_kmh``, at least ``planner.min_design_speed_kmh``); their
        crossing V85 adds the kind's ``crossing_excess_kmh``.
    params
        Model parameters (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    CalmingPlan

    Raises
    ------
    InputError
        Target ≤ 0, unknown or unplaceable kinds, unknown streets, bad devices in the
        calming layer (see :func:`operating_speeds`).

    Notes
    -----
    Rules (``planner`` in ``standards/calming.yaml``), checked for every new device:
    only on target streets with a posted limit ≤ ``max_posted_limit_kmh`` (Danish
    rules: devices for desired speeds ≤ 50 km/h); at least
    ``min_distance_from_intersection_m`` (straight line) from every intersection node;
    at least ``min_spacing_m`` (for the target) along the street from every other
    device, existing ones included; on bus routes only cushions, cushions only on bus
    routes; a raised table at each at-grade pedestrian crossing within
    ``school_zone_radius_m`` of a school or day-care where the modelled V85 exceeds the
    target (and the rules allow a device).

    Method, per continuous street: raised tables at school-zone crossings first, then
    a shortest path over candidate positions (every ``candidate_step_m``) that leaves
    the least length over target and, among those, uses the fewest devices (see
    ``_fewest_devices``).  The cost of a step between two consecutive devices is
    computed with just those two, which is exact for devices of one kind; on 31 random
    small streets solvable by brute-force enumeration it used exactly as many devices
    (``benchmarks/bench_calming.py``).  Where the rules leave no solution (e.g. the
    ±``min_distance_from_intersection_m`` gap at an intersection a priority road passes
    through is wider than the largest spacing that holds the target) the plan keeps the
    length over target as small as it can and the street is listed in
    :attr:`CalmingPlan.unmet_streets`.

    With ``criterion="mean"`` the same search runs with a peak limit ``L`` in place of
    target + tolerance, and ``L`` is bisected (to 0.25 km/h, up to target + 25) per
    continuous street for the largest value whose plan keeps the street's mean V85 ≤
    target; a street whose mean stays above the target even with ``L`` = target is
    unmet.  School-crossing tables go where the V85 exceeds the target (both
    criteria).
    """
    with using_params(params):
        return _plan(
            district,
            target_kmh=target_kmh,
            streets=streets,
            kinds=kinds,
            candidate_step_m=candidate_step_m,
            progress=progress,
            criterion=criterion,
            tolerance_kmh=tolerance_kmh,
            design_speed_kmh=design_speed_kmh,
        )


def _plan(
    district: District,
    *,
    target_kmh: float,
    streets: Iterable[str] | None,
    kinds: Sequence[str],
    candidate_step_m: float | None,
    progress: Progress | None,
    criterion: Criterion | None,
    tolerance_kmh: float | None,
    design_speed_kmh: float | None,
) -> CalmingPlan:
    target = _check_target(target_kmh)
    kinds = _check_kinds(kinds)
    params = _params()
    planner = params["planner"]
    step = float(planner["candidate_step_m"] if candidate_step_m is None else candidate_step_m)
    if not math.isfinite(step) or step <= 0:
        raise InputError(f"candidate_step_m must be a distance > 0 m, got {candidate_step_m!r}")
    rule = str(planner["criterion"] if criterion is None else criterion)
    if rule not in ("peak", "mean"):
        raise InputError(f"criterion must be 'peak' or 'mean', got {criterion!r}")
    tolerance = _check_speed(
        "tolerance_kmh", planner["tolerance_kmh"] if tolerance_kmh is None else tolerance_kmh, 0.0
    )
    design = _design_speed(target, design_speed_kmh)
    _report(progress, 0.0, "speed model")
    model = _model(district)
    device_points, _ = _device_points(district, model)
    scope = _target_edges(district, model, streets)
    edges = model.edges
    bus_kinds = [k for k in kinds if k in planner["bus_route_kinds"]]
    street_kinds = [k for k in kinds if k not in planner["bus_route_kinds"]]
    posted = edges["limit_kmh"].to_numpy()
    placeable = scope & (posted <= float(planner["max_posted_limit_kmh"]))
    bus = edges["bus_route"].to_numpy()
    crossing_speed = {k: crossing_speed_kmh(k, design) for k in {*kinds, "table"}}
    kind_of_edge = np.full(len(edges), "", dtype=object)
    if bus_kinds:
        kind_of_edge[placeable & bus] = bus_kinds[0]
    if street_kinds:
        kind_of_edge[placeable & ~bus] = street_kinds[0]
    placeable &= kind_of_edge != ""
    spacing = _min_spacing(target)
    min_junction = float(planner["min_distance_from_intersection_m"])
    rounding = float(planner["target_tolerance_kmh"])
    tol2 = _ms(target + (tolerance if rule == "peak" else 0.0) + rounding) ** 2
    school2 = float(_ms(target + rounding)) ** 2  # tables where V85 exceeds the target

    chains = np.unique(model.chain[scope])
    chain_edges = np.flatnonzero(np.isin(model.chain, chains))
    crossings = _crossings(district, model)
    crossings = crossings[np.isin(crossings["edge"].to_numpy(), chain_edges)]
    points = _points_frame([model.points, device_points])
    samples = _build_samples(model, points, step, edges=chain_edges, extra=crossings)
    xy = model.xy(samples.edge, samples.pos)
    if len(model.junctions) and len(xy):
        junction_dist, _ = cKDTree(model.graph.node_xy[model.junctions]).query(xy)
    else:
        junction_dist = np.full(len(xy), np.inf)
    allowed = placeable[samples.edge] & (junction_dist >= min_junction - 1e-9)
    is_crossing = np.zeros(len(samples), dtype=bool)
    if len(crossings):
        lookup = pd.MultiIndex.from_arrays(
            [crossings["edge"].to_numpy(), np.round(crossings["pos"].to_numpy(), 6)]
        )
        keys = pd.MultiIndex.from_arrays([samples.edge, np.round(samples.pos, 6)])
        is_crossing = keys.isin(lookup) & ~samples.grid
    school = is_crossing & _school_zone(district, xy) & ~bus[samples.edge]
    if "table" not in street_kinds:
        school[:] = False
    candidate = allowed & (samples.grid | is_crossing)
    in_scope = scope[samples.edge]
    sample_chain = model.chain[samples.edge]
    device_pos: dict[int, list[float]] = {}
    for row in device_points.itertuples(index=False):
        device_pos.setdefault(int(row.chain), []).append(float(row.pos))

    cap2 = samples.cap2.copy()
    placed: list[tuple[int, float, str, str]] = []  # (edge, pos, kind, reason)
    bounds = np.searchsorted(sample_chain, np.concatenate([chains, [np.iinfo(np.int64).max]]))
    for n_done, cid in enumerate(chains.tolist()):
        lo, hi = int(bounds[n_done]), int(bounds[n_done + 1])
        _report(progress, 0.05 + 0.9 * n_done / max(len(chains), 1), "placing devices")
        sub = _Samples(
            pos=samples.pos[lo:hi],
            X=samples.X[lo:hi],
            edge=samples.edge[lo:hi],
            cap2=cap2[lo:hi],
            grid=samples.grid[lo:hi],
        )
        taken = list(device_pos.get(cid, []))

        def attempt(limit2: float, lo: int = lo, hi: int = hi, taken: list[float] = taken) -> Any:
            sub = _Samples(
                pos=samples.pos[lo:hi],
                X=samples.X[lo:hi],
                edge=samples.edge[lo:hi],
                cap2=cap2[lo:hi].copy(),
                grid=samples.grid[lo:hi],
            )
            new = _plan_chain(
                model,
                sub,
                candidate=candidate[lo:hi],
                school=school[lo:hi],
                in_scope=in_scope[lo:hi],
                kind_of_edge=kind_of_edge,
                crossing_speed=crossing_speed,
                taken=list(taken),
                spacing=spacing,
                limit2=limit2,
                school_limit2=school2,
            )
            return new, sub

        new, sub = attempt(float(tol2))
        if rule == "mean":
            new, sub = _mean_plan(
                model, attempt, new, sub, in_scope[lo:hi], target=target, rounding=rounding
            )
        cap2[lo:hi] = sub.cap2
        placed.extend(new)
    _report(progress, 0.95, "speeds after the plan")
    devices = _plan_devices(district, model, placed, design)
    columns = ["device_id", "kind", "street_id", "design_speed_kmh", "geometry"]
    parts = [frame for frame in (district.calming, devices[columns]) if len(frame)]
    calming = pd.concat(parts, ignore_index=True) if parts else devices[columns]
    after_district = district.replace(
        calming=gpd.GeoDataFrame(calming, geometry="geometry", crs=district.crs)
    )
    before = operating_speeds(district, target_kmh=target, streets=streets)
    after = operating_speeds(after_district, target_kmh=target, streets=streets)
    after["v85_max_before_kmh"] = before["v85_max_kmh"].to_numpy()
    after["v85_mean_before_kmh"] = before["v85_mean_kmh"].to_numpy()
    after["injury_crash_change"] = (
        crash_ratio(after["v85_mean_kmh"].to_numpy(), before["v85_mean_kmh"].to_numpy()) - 1.0
    )
    after["meets_target"] = meets_criterion(
        after, model.chain, target, criterion=cast(Criterion, rule), tolerance_kmh=tolerance
    )
    meets = after["meets_target"]
    unmet = sorted(set(after.loc[after["target_street"] & ~meets.fillna(True), "street_id"]))
    logger.info(
        "calming plan for %s km/h (%s): %d devices, %.0f DKK, %d target streets unmet",
        target,
        rule,
        len(devices),
        float(devices["cost_dkk"].sum()),
        len(unmet),
    )
    _report(progress, 1.0, "done")
    return CalmingPlan(
        district=after_district,
        added=devices,
        cost_dkk=float(devices["cost_dkk"].sum()),
        unmet=list(unmet),
        summary=_plan_summary(
            after,
            devices,
            target_kmh=target,
            criterion=rule,
            tolerance_kmh=tolerance,
            design_speed_kmh=design,
            unmet=unmet,
        ),
        layer="calming",
        extras={"speeds": after},
        target_kmh=target,
        kinds=kinds,
        speeds=after,
        criterion=rule,
        tolerance_kmh=tolerance,
        design_speed_kmh=design,
    )


def _check_speed(name: str, value: Any, minimum: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of km/h, got {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise InputError(f"{name} must be a finite speed ≥ {minimum:g} km/h, got {value!r}")
    return number


def _design_speed(target: float, design_speed_kmh: float | None) -> float:
    """Design speed of planned devices: given, else target − margin (at least the floor)."""
    planner = _params()["planner"]
    low, high = (float(v) for v in _params()["design_speed_range_kmh"])
    if design_speed_kmh is not None:
        value = _check_speed("design_speed_kmh", design_speed_kmh, low)
        if value > high:
            raise InputError(f"design_speed_kmh must be ≤ {high:g} km/h, got {design_speed_kmh!r}")
        return value
    margin = float(planner["design_margin_kmh"])
    return max(target - margin, float(planner["min_design_speed_kmh"]))


def _chain_mean(sub: _Samples, in_scope: np.ndarray, model: _Model) -> float:
    """Length-weighted mean V85 (km/h) of the in-scope part of one continuous street."""
    speeds = _evaluate(model, sub)
    v = np.sqrt(np.maximum(speeds.v2, 0.0)) * 3.6
    d = np.diff(sub.pos)
    use = speeds.valid & in_scope[:-1] & in_scope[1:]
    length = float(np.sum(d[use]))
    if length <= 0:
        return float("nan")
    return float(np.sum(((v[:-1] + v[1:]) / 2.0 * d)[use]) / length)


def _mean_plan(
    model: _Model,
    attempt: Callable[[float], Any],
    new: list[tuple[int, float, str, str]],
    sub: _Samples,
    in_scope: np.ndarray,
    *,
    target: float,
    rounding: float,
) -> tuple[list[tuple[int, float, str, str]], _Samples]:
    """Bisect the peak limit for the fewest devices whose plan keeps mean V85 ≤ target.

    ``new, sub`` is the plan for the peak limit target (the densest one tried).
    """
    goal = target + rounding
    if not _chain_mean(sub, in_scope, model) <= goal:
        return new, sub  # even the densest plan misses the mean: unmet
    none_new, none_sub = attempt(float("inf"))  # no new device (except school tables)
    if _chain_mean(none_sub, in_scope, model) <= goal:
        return none_new, none_sub
    top = float(np.sqrt(np.max(none_sub.cap2))) * 3.6  # the street's free speed
    lo_kmh, hi_kmh = target, max(top, target) + 1.0
    best = (new, sub)
    while hi_kmh - lo_kmh > 0.1:
        mid = (lo_kmh + hi_kmh) / 2.0
        trial = attempt(float(_ms(mid + rounding)) ** 2)
        if _chain_mean(trial[1], in_scope, model) <= goal:
            lo_kmh = mid
            if len(trial[0]) <= len(best[0]):
                best = trial
        else:
            hi_kmh = mid
    return best


def meets_criterion(
    speeds: pd.DataFrame,
    chain: np.ndarray,
    target_kmh: float,
    *,
    criterion: Criterion = "peak",
    tolerance_kmh: float = 0.0,
) -> pd.Series:
    """Per segment, whether its continuous street meets the planner's criterion.

    Parameters
    ----------
    speeds
        An :func:`~vollsmose_gis.calming.operating_speeds` table (one row per drive-graph
        segment, in graph order), with ``target_street``, ``length_m``,
        ``v85_max_kmh`` and ``v85_mean_kmh``.
    chain
        Continuous street of each segment (the model's ``chain``).
    target_kmh, tolerance_kmh
        Target V85 and the accepted peak excess, km/h.
    criterion
        ``"peak"``: the segment's largest V85 ≤ target + tolerance; ``"mean"``: the
        length-weighted mean V85 of the target segments of its continuous street ≤
        target.

    Returns
    -------
    Series
        Nullable boolean (NA for segments that are not target streets).
    """
    rounding = float(_params()["planner"]["target_tolerance_kmh"])
    scope = speeds["target_street"].to_numpy(dtype=bool)
    if criterion == "peak":
        ok = speeds["v85_max_kmh"].to_numpy() <= target_kmh + tolerance_kmh + rounding
    else:
        length = np.where(scope, speeds["length_m"].to_numpy(), 0.0)
        n = int(chain.max()) + 1 if len(chain) else 0
        total = np.bincount(chain, weights=length, minlength=n)
        weighted = np.bincount(
            chain, weights=length * speeds["v85_mean_kmh"].to_numpy(), minlength=n
        )
        mean = np.divide(weighted, total, out=np.full(n, np.nan), where=total > 0)
        ok = mean[chain] <= target_kmh + rounding
    meets = pd.Series(pd.NA, index=speeds.index, dtype="boolean")
    meets[scope] = ok[scope]
    return meets


def _plan_chain(
    model: _Model,
    samples: _Samples,
    *,
    candidate: np.ndarray,
    school: np.ndarray,
    in_scope: np.ndarray,
    kind_of_edge: np.ndarray,
    crossing_speed: dict[str, float],
    taken: list[float],
    spacing: float,
    limit2: float,
    school_limit2: float,
) -> list[tuple[int, float, str, str]]:
    """Place devices along one continuous street (modifies ``samples.cap2``)."""
    pos, edge = samples.pos, samples.edge
    eps = 1e-6
    params = _params()
    a, b = float(params["acceleration_mps2"]), float(params["braking_mps2"])
    vd2 = np.array(
        [float(_ms(crossing_speed[k])) ** 2 if k else np.inf for k in kind_of_edge[edge]]
    )
    placed: list[tuple[int, float, str, str]] = []
    # A slowing point farther than this cannot change the speed anywhere (m).
    free2 = float(np.max(_ms(model.edges["free_speed_kmh"].to_numpy()[edge]) ** 2))
    horizon = free2 / (2.0 * min(a, b)) + 1.0
    scope_interval = in_scope[:-1] & in_scope[1:]
    a2, b2 = 2.0 * a, 2.0 * b  # as `_evaluate` computes them
    ok_forward, ok_backward = model.ok_forward, model.ok_backward
    free2_edge = _ms(model.edges["free_speed_kmh"].to_numpy()) ** 2

    def over_target(devices: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Length (m) over target of the intervals ending in (lo[r], hi[r]], with the
        devices of row r added (``devices``: sample indices, one row per variant,
        -1 for none).  Only samples within ``horizon`` of the ranges are evaluated.
        """
        low, top = float(np.min(lo)), float(np.max(hi))
        first = int(np.searchsorted(pos, low - horizon)) if np.isfinite(low) else 0
        last = int(np.searchsorted(pos, top + horizon, side="right")) if np.isfinite(top) else None
        part = slice(first, last)
        window_pos, window_x, window_edge = pos[part], samples.X[part], edge[part]
        right = window_pos[1:]
        valid = (window_edge[1:] == window_edge[:-1]) & (np.diff(window_x) > 0)
        counted = valid & scope_interval[part][: len(right)]
        # the compiled form of `_evaluate` on every variant (caps with its devices) and
        # of the mask "peak over the limit, inside (lo, hi], counted" times the interval
        # lengths, summed per row: same operations, same bits, no (variants x samples)
        # temporaries
        from vollsmose_gis.calming._kernel import over_length

        devices = np.asarray(devices, dtype=np.int64)
        return over_length(
            np.ascontiguousarray(window_x, dtype=float),
            np.ascontiguousarray(right, dtype=float),
            np.ascontiguousarray(samples.cap2[part], dtype=float),
            np.where(devices >= 0, devices - first, -1),
            vd2[np.maximum(devices, 0)],
            np.ascontiguousarray(ok_forward[window_edge]),
            np.ascontiguousarray(ok_backward[window_edge]),
            np.ascontiguousarray(free2_edge[window_edge[:-1]]),
            np.ascontiguousarray(counted),
            np.ascontiguousarray(lo, dtype=float),
            np.ascontiguousarray(hi, dtype=float),
            eps,
            a2,
            b2,
            float(limit2),
            np.diff(window_pos),
        )

    def add(i: int, kind: str, reason: str, speed2: float) -> None:
        samples.cap2[i] = min(samples.cap2[i], speed2)
        taken.append(float(pos[i]))
        placed.append((int(edge[i]), float(pos[i]), kind, reason))

    def spaced(i: int) -> bool:
        return all(abs(pos[i] - t) >= spacing - eps for t in taken)

    # 1. raised tables at school-zone crossings where traffic is too fast
    table2 = float(_ms(crossing_speed.get("table", 0.0))) ** 2
    speeds = _evaluate(model, samples)
    for i in np.flatnonzero(school & candidate):
        if speeds.v2[i] > school_limit2 and spaced(int(i)):
            add(int(i), "table", "school crossing", table2)
            speeds = _evaluate(model, samples)  # the speeds change only with a table
    over = speeds.valid & scope_interval & (np.nan_to_num(speeds.peak2, nan=-1.0) > limit2)
    if not over.any():
        return placed
    base = Baseline(pos[1:], np.cumsum(over * np.diff(pos)), horizon)
    useful = candidate & samples.grid & (vd2 < limit2)  # a device must be below target
    options = np.flatnonzero(useful).astype(np.int64)
    if taken:  # `spaced`, for every candidate at once
        gaps = np.abs(pos[options][:, None] - np.asarray(taken, dtype=float)[None, :])
        options = options[np.all(gaps >= spacing - eps, axis=1)]
    # 2. fewest devices (among plans that leave the least length over target)
    reach = limit2 * (1.0 / a + 1.0 / b) / 2.0 + 1.0  # > the largest useful spacing
    first_over = float(pos[np.flatnonzero(over)[0]])
    for i in _fewest_devices(options, pos, spacing, reach, first_over, base, over_target):
        add(i, str(kind_of_edge[edge[i]]), "speed", vd2[i])
    return placed


@dataclass(frozen=True)
class Baseline:
    """Length over target along a street before new devices, for the stretches a new
    device cannot reach (farther than ``horizon`` from it).
    """

    right: np.ndarray  # right end of every interval, sorted
    cumulative: np.ndarray  # length over target of the intervals up to each right end
    horizon: float

    def upto(self, x: np.ndarray) -> np.ndarray:
        """Length over target of the intervals ending at or before ``x``."""
        k = np.searchsorted(self.right, np.asarray(x) + 1e-6, side="right")
        return np.where(k > 0, self.cumulative[np.maximum(k - 1, 0)], 0.0)

    def after(self, x: np.ndarray) -> np.ndarray:
        """Length over target of the intervals ending after ``x``."""
        total = self.cumulative[-1] if len(self.cumulative) else 0.0
        return np.asarray(total - self.upto(x))


def _fewest_devices(
    options: np.ndarray,
    pos: np.ndarray,
    spacing: float,
    reach: float,
    first_over: float,
    base: Baseline,
    over_target: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> list[int]:
    """Choose devices among candidate samples: least length over target, then fewest.

    A plan is a path start -> d1 -> ... -> dk -> end.  The cost of a step p -> q is the
    length over target in (p, q] with just the devices p and q (and the fixed slowing
    points); more devices only lower speeds, so the sum bounds the plan's length over
    target from above, and a plan with cost 0 meets the target everywhere.  Steps go
    to every candidate from ``spacing`` to ``reach`` metres ahead (farther gaps can
    never be within target) and to the next few candidates beyond (to cross a stretch
    where no device may stand); the first device lies at most ``reach`` beyond the
    first place over target, or just after it.  A shortest path over this acyclic
    graph, ordered by (length over target, devices), is the plan.  It is exact when a
    device's effect does not reach past its neighbour, which holds for devices of one
    kind (the tests compare it with brute force).
    """
    n = len(options)
    if not n:
        return []
    where = pos[options]
    eps = 1e-6
    jump = 5  # candidates tried beyond the reach of a device
    chunk, span = 2048, 100.0  # rows evaluated at once, and the metres they may span
    infinite = np.iinfo(np.int64).max
    horizon = base.horizon

    def cost(over: np.ndarray, devices: int) -> np.ndarray:
        # lexicographic (millimetres over target, devices) as one integer
        return np.asarray(np.round(over * 1000.0).astype(np.int64) * (n + 1) + devices)

    def batched(
        devices: np.ndarray, lo: np.ndarray, hi: np.ndarray, extra: np.ndarray
    ) -> np.ndarray:
        # rows are sorted by position: evaluate runs of rows spanning at most `span` m
        out = np.empty(len(devices))
        k = 0
        while k < len(devices):
            stop = min(k + chunk, int(np.searchsorted(lo, lo[k] + span, side="right")))
            part = slice(k, max(stop, k + 1))
            out[part] = over_target(devices[part], lo[part], hi[part]) + extra[part]
            k = part.stop
        return out

    def upto(limit: float, lo: int) -> np.ndarray:
        hi = int(np.searchsorted(where, limit, side="right"))
        return np.arange(lo, min(max(hi, lo) + jump, n))

    # every step p -> q, with its cost (independent of the path found so far)
    # (`upto(where[p] + reach, first candidate spacing ahead)` for every p at once)
    lows = np.searchsorted(where, where + spacing - eps)
    stops = np.minimum(
        np.maximum(np.searchsorted(where, where + reach, side="right"), lows) + jump, n
    )
    counts = np.maximum(stops - lows, 0)
    step_from = np.repeat(np.arange(n, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    step_to = np.arange(len(step_from), dtype=np.int64) - np.repeat(starts - lows, counts)
    step_over = batched(
        np.column_stack([options[step_from], options[step_to]]),
        where[step_from],
        where[step_to],
        np.zeros(len(step_from)),
    )
    # first device q: everything up to q; the part beyond its reach from the baseline
    first = upto(first_over + reach, 0)
    start_over = batched(
        options[first][:, None],
        where[first] - horizon,
        where[first],
        base.upto(where[first] - horizon),
    )
    # last device p: everything after p
    end_over = batched(options[:, None], where, where + horizon, base.after(where + horizon))

    best = np.full(n, infinite, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    best[first] = cost(start_over, 1)
    bounds = np.searchsorted(step_from, np.arange(n + 1))
    step_cost = cost(step_over, 1)
    from vollsmose_gis.calming._kernel import relax_steps

    relax_steps(best, parent, np.asarray(bounds, dtype=np.int64), step_to, step_cost, int(infinite))
    reachable = np.flatnonzero(best < infinite)
    if not len(reachable):
        return []
    totals = best[reachable] + cost(end_over[reachable], 0)
    k = int(np.argmin(totals))
    if totals[k] >= cost(base.after(np.array([-np.inf])), 0)[0]:
        return []
    path = [int(reachable[k])]
    while parent[path[-1]] >= 0:
        path.append(int(parent[path[-1]]))
    return [int(options[p]) for p in reversed(path)]


def _plan_devices(
    district: District,
    model: _Model,
    placed: list[tuple[int, float, str, str]],
    design_speed_kmh: float,
) -> gpd.GeoDataFrame:
    existing = district.calming["device_id"].astype(str) if len(district.calming) else ()
    ids = new_ids("C", len(placed), existing)
    edge = np.array([p[0] for p in placed], dtype=np.int64)
    pos = np.array([p[1] for p in placed], dtype=float)
    order = np.lexsort((pos, model.chain[edge])) if len(edge) else np.array([], dtype=np.int64)
    edge, pos = edge[order], pos[order]
    kinds = [placed[i][2] for i in order]
    reasons = [placed[i][3] for i in order]
    frame = gpd.GeoDataFrame(
        {
            "device_id": ids,
            "kind": kinds,
            "street_id": model.edges["street_id"].to_numpy()[edge],
            "design_speed_kmh": np.full(len(edge), float(design_speed_kmh)),
            "reason": reasons,
            "chain_m": pos,
        },
        geometry=shapely.points(model.xy(edge, pos)) if len(edge) else [],
        crs=district.crs,
    )
    frame["cost_dkk"] = device_costs(frame).to_numpy() if len(frame) else []
    return frame
