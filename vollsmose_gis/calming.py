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

import logging
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.indicators import Indicator
from vollsmose_gis.network import StreetGraph, drive_graph
from vollsmose_gis.standards import categories, highway_defaults, load

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

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Limits = Literal["posted", "class_default"]
THEME = "safety and security"

_GAP_M = 1.0e4  # gap between continuous streets in the global coordinate (see _envelope)
_BEARING_M = 10.0  # length of road used for the direction of a street end at a node


class CalmingWarning(UserWarning):
    """Something in the input was ignored or an indicator is undefined (see message)."""


def _params() -> dict[str, Any]:
    params: dict[str, Any] = load("calming")
    return params


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


def _ms(kmh: Any) -> Any:
    return np.asarray(kmh, dtype=float) / 3.6


# --------------------------------------------------------------------------- formulas


def free_speed_kmh(streets: gpd.GeoDataFrame, *, limits: Limits = "posted") -> pd.Series:
    """Return the free speed (V85 on a long straight stretch) of each street, km/h.

    Parameters
    ----------
    streets
        A streets layer (``highway``, and where known ``maxspeed_kmh``, ``lanes``,
        ``width_m``, ``oneway``); missing values take the class defaults of
        ``highways.yaml``.
    limits
        ``"posted"``: the street's ``maxspeed_kmh`` (class default where missing);
        ``"class_default"``: the default limit of the street's class, whatever is
        posted (the baseline of :func:`safety_effect`).

    Returns
    -------
    Series
        ``free_speed_kmh`` on the index of ``streets``.

    Notes
    -----
    ``v_free = clip(limit · r + g_w · (width / lanes − w_ref) + g_l · (lanes per
    direction − 1) − p_1 · [one lane, two-way], v_min, r_max · limit)`` with the ratio
    ``r`` of the class and the other terms from ``free_speed`` in
    ``standards/calming.yaml`` (an unconfirmed engineering model: a 6 m, two-lane
    residential street at 50 km/h gets 50 km/h; a 4 m one-lane service road at 30 km/h
    gets 27 km/h).
    """
    if limits not in ("posted", "class_default"):
        raise InputError(f"limits must be 'posted' or 'class_default', got {limits!r}")
    p = _params()["free_speed"]
    highway = streets["highway"].astype(str)
    class_value = _class_values(highway)
    limit = _limit_kmh(streets, limits)
    lanes = _numeric(streets, "lanes").fillna(class_value("lanes")).fillna(2.0).clip(lower=1.0)
    width = _numeric(streets, "width_m").fillna(class_value("width_m")).fillna(6.0)
    oneway = _bool_column(streets, "oneway")
    per_direction = np.where(oneway, lanes, np.maximum(lanes / 2.0, 1.0))
    ratios = p["limit_ratio"]
    ratio = highway.map(lambda h: float(ratios.get(h, ratios["default"]))).astype(float)
    cap = float(p["max_width_effect_kmh"])
    width_term = np.clip(
        float(p["width_gain_kmh_per_m"]) * (width / lanes - float(p["reference_lane_width_m"])),
        -cap,
        cap,
    )
    single = (lanes.to_numpy() == 1) & ~oneway
    speed = (
        limit * ratio
        + width_term
        + float(p["lane_gain_kmh"]) * (per_direction - 1.0)
        - float(p["single_lane_two_way_penalty_kmh"]) * single
    )
    speed = np.minimum(np.maximum(speed, float(p["min_kmh"])), float(p["max_ratio"]) * limit)
    return pd.Series(np.asarray(speed, dtype=float), index=streets.index, name="free_speed_kmh")


def _class_values(highway: pd.Series) -> Callable[[str], pd.Series]:
    known = set(categories("highway_classes"))
    defaults = {h: (highway_defaults(h) if h in known else {}) for h in highway.unique()}

    def class_value(key: str) -> pd.Series:
        values = highway.map(lambda h: defaults[h].get(key))
        return pd.to_numeric(values, errors="coerce").astype(float)

    return class_value


def _limit_kmh(streets: pd.DataFrame, limits: Limits) -> pd.Series:
    """The speed limit a street is modelled with, km/h (see :func:`free_speed_kmh`)."""
    class_limit = _class_values(streets["highway"].astype(str))("maxspeed_kmh")
    posted = _numeric(streets, "maxspeed_kmh")
    limit = posted.fillna(class_limit) if limits == "posted" else class_limit.fillna(posted)
    return limit.fillna(float(_params()["free_speed"]["fallback_limit_kmh"]))


def max_device_spacing_m(target_kmh: float, kind: str = "hump") -> float:
    """Return the largest spacing of identical devices that keeps V85 ≤ target, metres.

    Between two devices of crossing speed ``v_d`` a distance ``D`` apart the speed
    peaks at ``sqrt(v_d² + 2·D·a·b / (a + b))`` (acceleration ``a`` after the first,
    braking ``b`` before the second), so ``D_max = (T² − v_d²)·(a + b) / (2·a·b)``.

    Parameters
    ----------
    target_kmh
        Target V85, km/h (> 0).
    kind
        Device kind (a key of ``crossing_speed_kmh``).

    Returns
    -------
    float
        Metres; 0 when the device's crossing speed is not below the target.
    """
    _check_target(target_kmh)
    params = _params()
    speeds = params["crossing_speed_kmh"]
    if kind not in speeds:
        raise InputError(f"unknown device kind {kind!r}; known kinds: {sorted(speeds)}")
    a, b = float(params["acceleration_mps2"]), float(params["braking_mps2"])
    excess = float(_ms(target_kmh)) ** 2 - float(_ms(speeds[kind])) ** 2
    return max(0.0, excess * (a + b) / (2.0 * a * b))


def crash_ratio(
    speed_after_kmh: Any, speed_before_kmh: Any, *, severity: str = "injury_crashes"
) -> np.ndarray:
    """Return the power-model ratio of crashes after / before a change of speed.

    ``(v_after / v_before) ** k`` with the urban exponent ``k`` of ``severity``
    (``power_model.exponents`` in ``standards/calming.yaml``: Elvik 2009, urban and
    residential roads: fatal crashes 2.6, serious-injury crashes 1.5, injury crashes
    1.2).  Nilsson's power model assumes the same traffic and a proportional shift of
    the speed distribution.

    Parameters
    ----------
    speed_after_kmh, speed_before_kmh
        Speeds (scalars or arrays), km/h, > 0.
    severity
        ``"injury_crashes"``, ``"serious_injury_crashes"`` or ``"fatal_crashes"``.

    Returns
    -------
    ndarray
        Ratio (1 = no change); NaN where a speed is missing or not positive.
    """
    exponents = _params()["power_model"]["exponents"]
    if severity not in exponents:
        raise InputError(f"unknown severity {severity!r}; known: {sorted(exponents)}")
    after = np.asarray(speed_after_kmh, dtype=float)
    before = np.asarray(speed_before_kmh, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((after > 0) & (before > 0), after / before, np.nan)
    return np.asarray(ratio ** float(exponents[severity]))


def pedestrian_fatality_risk(speed_kmh: Any) -> np.ndarray:
    """Return the probability that a pedestrian hit at ``speed_kmh`` dies.

    Logistic curve of Rosén & Sander (2009), "Pedestrian fatality risk as a function
    of car impact speed", Accident Analysis and Prevention 41(3):536–542:
    ``P = 1 / (1 + exp(6.9 − 0.090 · v))`` (1.5 % at 30, 8.3 % at 50 km/h).  Applied
    to modelled travel speeds it is an upper bound: drivers brake before an impact.

    Parameters
    ----------
    speed_kmh
        Impact speed(s), km/h.

    Returns
    -------
    ndarray
        Probability 0–1.
    """
    p = _params()["pedestrian_fatality"]
    v = np.asarray(speed_kmh, dtype=float)
    return np.asarray(1.0 / (1.0 + np.exp(float(p["intercept"]) - float(p["slope_per_kmh"]) * v)))


def device_costs(devices: gpd.GeoDataFrame | pd.DataFrame) -> pd.Series:
    """Return the cost of each device in DKK (``unit_cost_dkk`` by ``kind``).

    Parameters
    ----------
    devices
        Rows with a ``kind`` column (a calming layer or :attr:`CalmingPlan.devices`).

    Returns
    -------
    Series
        ``cost_dkk`` on the index of ``devices``.

    Raises
    ------
    InputError
        A kind has no unit cost.
    """
    costs = _params()["unit_cost_dkk"]
    kinds = devices["kind"].astype(str) if len(devices) else pd.Series([], dtype=str)
    unknown = sorted(set(kinds) - set(costs))
    if unknown:
        raise InputError(
            f"no unit cost for device kind(s) {unknown}; known kinds: {sorted(costs)} "
            "(standards/calming.yaml unit_cost_dkk)"
        )
    return pd.Series(
        kinds.map(lambda k: float(costs[k])).to_numpy(dtype=float),
        index=devices.index,
        name="cost_dkk",
    )


# --------------------------------------------------------------------------- helpers


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _bool_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool))


def _check_target(target_kmh: float) -> float:
    try:
        value = float(target_kmh)
    except (TypeError, ValueError):
        raise InputError(f"target_kmh must be a number of km/h > 0, got {target_kmh!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"target_kmh must be a finite speed > 0 km/h, got {target_kmh!r}")
    return value


def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.asarray((angle + np.pi) % (2.0 * np.pi) - np.pi)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class _Model:
    """The drive graph cut into continuous streets, with free speeds and fixed slowing
    points (ends, intersections, bends).  Cached per streets content and limits."""

    graph: StreetGraph
    edges: pd.DataFrame  # per edge: street attributes, free speed, rank
    chain: np.ndarray  # continuous street of each edge
    offset: np.ndarray  # chain position (m) of the end where the chain enters the edge
    forward: np.ndarray  # True: the chain runs along the edge from u to v
    order: np.ndarray  # rank of the edge within its chain
    chain_length: np.ndarray
    chain_start: np.ndarray  # global coordinate of position 0 of each chain
    points: pd.DataFrame  # fixed slowing points: chain, edge, pos, v_kmh, kind, ref
    junctions: np.ndarray  # node ids where 3+ street ends meet
    partner: np.ndarray  # paired street end (see _pair_ends), -1 if none

    @property
    def length(self) -> np.ndarray:
        return self.graph.edge_length_m

    @property
    def ok_forward(self) -> np.ndarray:
        """Per edge: traffic may travel in the chain's direction."""
        return np.asarray(self.forward | self.graph.edge_twoway)

    @property
    def ok_backward(self) -> np.ndarray:
        """Per edge: traffic may travel against the chain's direction."""
        return np.asarray(~self.forward | self.graph.edge_twoway)

    def chain_pos(self, edge: np.ndarray, along_m: np.ndarray) -> np.ndarray:
        """Chain position of points ``along_m`` metres from ``u`` on ``edge``."""
        edge = np.asarray(edge, dtype=np.int64)
        along = np.asarray(along_m, dtype=float)
        length = self.length[edge]
        local = np.where(self.forward[edge], along, length - along)
        return np.asarray(self.offset[edge] + local)

    def along(self, edge: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Distance from ``u`` of chain positions ``pos`` on ``edge``."""
        edge = np.asarray(edge, dtype=np.int64)
        local = np.asarray(pos, dtype=float) - self.offset[edge]
        length = self.length[edge]
        return np.asarray(np.clip(np.where(self.forward[edge], local, length - local), 0, length))

    def xy(self, edge: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Coordinates (district CRS) of chain positions on edges, ``(n, 2)``."""
        edge = np.asarray(edge, dtype=np.int64)
        if not len(edge):
            return np.empty((0, 2))
        geoms = self.graph.edges.geometry.to_numpy()[edge]
        scale = shapely.length(geoms) / np.maximum(self.length[edge], 1e-12)
        points = shapely.line_interpolate_point(geoms, self.along(edge, pos) * scale)
        return np.asarray(shapely.get_coordinates(points))


_CACHE: OrderedDict[tuple[str, str, str], _Model] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _model(district: District, limits: Limits = "posted") -> _Model:
    key = (district.fingerprint("streets", boundary=False), district.crs, limits)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    model = _build_model(district, limits)
    with _CACHE_LOCK:
        _CACHE[key] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def _edge_attributes(graph: StreetGraph, streets: gpd.GeoDataFrame, limits: Limits) -> pd.DataFrame:
    params = _params()
    table = pd.DataFrame(streets.drop(columns=streets.geometry.name))
    table["street_id"] = table["street_id"].astype(str)
    table["free_speed_kmh"] = free_speed_kmh(streets, limits=limits).to_numpy()
    table["limit_kmh"] = _limit_kmh(streets, limits).to_numpy()
    table["bus_route"] = _bool_column(table, "bus_route")
    table["maxspeed_kmh"] = _numeric(table, "maxspeed_kmh")
    if "name" not in table.columns:
        table["name"] = pd.NA
    table = table.drop_duplicates("street_id").set_index("street_id")
    sid = graph.edges["street_id"].astype(str)
    attrs = table.reindex(sid.to_numpy())
    ranks = params["class_rank"]
    out = pd.DataFrame(
        {
            "street_id": sid.to_numpy(),
            "name": attrs["name"].to_numpy(),
            "highway": graph.edges["highway"].astype(str).to_numpy(),
            "maxspeed_kmh": attrs["maxspeed_kmh"].to_numpy(dtype=float),
            "bus_route": attrs["bus_route"].fillna(False).to_numpy(dtype=bool),
            "oneway": graph.edges["oneway"].to_numpy(dtype=bool),
            "length_m": graph.edge_length_m,
            "free_speed_kmh": attrs["free_speed_kmh"].to_numpy(dtype=float),
            "limit_kmh": attrs["limit_kmh"].to_numpy(dtype=float),
        },
        index=graph.edges.index,
    )
    out["rank"] = out["highway"].map(lambda h: int(ranks.get(h, 0)))
    return out


def _end_bearings(graph: StreetGraph) -> np.ndarray:
    """Direction (radians) leaving the node into the edge, for every street end.

    End ``e`` is the ``u`` end of edge ``e``, end ``e + m`` its ``v`` end.
    """
    geoms = graph.edges.geometry.to_numpy()
    length = shapely.length(geoms)
    reach = np.minimum(_BEARING_M, length)
    u0 = shapely.get_coordinates(shapely.get_point(geoms, 0))
    u1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, reach))
    v0 = shapely.get_coordinates(shapely.get_point(geoms, -1))
    v1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, length - reach))
    start = np.vstack([u0, v0])
    towards = np.vstack([u1, v1])
    delta = towards - start
    return np.asarray(np.arctan2(delta[:, 1], delta[:, 0]))


def _pair_ends(
    graph: StreetGraph, rank: np.ndarray, max_deflection_rad: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pair the street ends that continue each other at every node.

    Returns ``partner`` (per end, the end it continues into, -1 if none) and the
    number of street ends at each node.
    """
    m = graph.n_edges
    end_node = np.concatenate([graph.edge_u, graph.edge_v])
    degree = np.bincount(end_node, minlength=graph.n_nodes)
    partner = np.full(2 * m, -1, dtype=np.int64)
    order = np.argsort(end_node, kind="stable")
    starts = np.searchsorted(end_node[order], np.arange(graph.n_nodes))
    two = np.flatnonzero(degree == 2)
    first, second = order[starts[two]], order[starts[two] + 1]
    partner[first], partner[second] = second, first
    bearings = _end_bearings(graph)
    end_rank = np.concatenate([rank, rank])
    for node in np.flatnonzero(degree >= 3):
        ends = order[starts[node] : starts[node] + degree[node]]
        ranks = end_rank[ends]
        top = ends[ranks == ranks.max()]
        if len(top) != 2:
            continue
        i, j = top
        deflection = abs(_wrap(np.asarray(bearings[j] - (bearings[i] + np.pi))))
        if deflection <= max_deflection_rad:
            partner[i], partner[j] = j, i
    return partner, degree


def _walk_chains(m: int, partner: np.ndarray) -> list[list[tuple[int, bool]]]:
    """Follow paired ends into continuous streets: lists of (edge, forward)."""
    visited = np.zeros(m, dtype=bool)
    chains: list[list[tuple[int, bool]]] = []

    def walk(edge: int, enter: int) -> list[tuple[int, bool]]:
        sequence: list[tuple[int, bool]] = []
        while True:
            visited[edge] = True
            forward = enter == edge
            sequence.append((edge, forward))
            exit_end = edge + m if forward else edge
            nxt = int(partner[exit_end])
            if nxt < 0 or visited[nxt % m]:
                return sequence
            edge, enter = nxt % m, nxt

    for end in np.flatnonzero(partner < 0).tolist():
        if not visited[end % m]:
            chains.append(walk(end % m, end))
    for edge in range(m):  # what is left are closed loops: cut at one node
        if not visited[edge]:
            chains.append(walk(edge, edge))
    return chains


def _bend_points(
    graph: StreetGraph,
    chains: list[list[tuple[int, bool]]],
    offset: np.ndarray,
    max_free_kmh: np.ndarray,
) -> pd.DataFrame:
    """Slowing points at bends: curve speed sqrt(a_lat · W / Δheading) at vertices."""
    params = _params()
    window = float(params["bend_window_m"])
    a_lat = float(params["lateral_acceleration_mps2"])
    geoms = graph.edges.geometry.to_numpy()
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(owner, minlength=graph.n_edges)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    scale = graph.edge_length_m / np.maximum(shapely.length(geoms), 1e-12)
    rows: list[pd.DataFrame] = []
    for cid, sequence in enumerate(chains):
        parts, dists, edges = [], [], []
        for k, (edge, forward) in enumerate(sequence):
            xy = coords[first[edge] : first[edge] + counts[edge]]
            if not forward:
                xy = xy[::-1]
            step = np.hypot(*np.diff(xy, axis=0).T) * scale[edge]
            local = offset[edge] + np.concatenate([[0.0], np.cumsum(step)])
            skip = 0 if k == 0 else 1
            parts.append(xy[skip:])
            dists.append(local[skip:])
            edges.append(np.full(len(xy) - skip, edge))
        xy = np.vstack(parts)
        s = np.concatenate(dists)
        vertex_edge = np.concatenate(edges)
        seg = np.diff(xy, axis=0)
        keep = np.hypot(seg[:, 0], seg[:, 1]) > 1e-9
        if keep.sum() < 2:
            continue
        heading = np.arctan2(seg[keep, 1], seg[keep, 0])
        starts = np.flatnonzero(keep)  # vertex index where each kept segment starts
        turn = _wrap(np.diff(heading))
        at = starts[1:]  # vertex where consecutive kept segments meet
        pos, turn_edge = s[at], vertex_edge[at]
        prefix = np.concatenate([[0.0], np.cumsum(turn)])
        lo = np.searchsorted(pos, pos - window / 2.0, side="left")
        hi = np.searchsorted(pos, pos + window / 2.0, side="right")
        change = np.abs(prefix[hi] - prefix[lo])
        bend = change > 1e-9
        if not bend.any():
            continue
        radius = window / change[bend]
        speed = np.sqrt(a_lat * radius) * 3.6
        slows = speed < max_free_kmh[cid]
        if not slows.any():
            continue
        rows.append(
            pd.DataFrame(
                {
                    "chain": cid,
                    "edge": turn_edge[bend][slows],
                    "pos": pos[bend][slows],
                    "v_kmh": speed[slows],
                    "kind": "bend",
                    "ref": "",
                }
            )
        )
    return _points_frame(rows)


def _points_frame(rows: list[pd.DataFrame]) -> pd.DataFrame:
    columns = {"chain": int, "edge": int, "pos": float, "v_kmh": float, "kind": str, "ref": str}
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    frame = pd.concat(rows, ignore_index=True)
    return frame.astype(columns)


def _build_model(district: District, limits: Limits) -> _Model:
    params = _params()
    graph = drive_graph(district)
    m = graph.n_edges
    edges = _edge_attributes(graph, district.streets, limits)
    rank = edges["rank"].to_numpy()
    partner, degree = _pair_ends(
        graph, rank, math.radians(float(params["through_max_deflection_deg"]))
    )
    chains = _walk_chains(m, partner)
    chain = np.empty(m, dtype=np.int64)
    offset = np.empty(m)
    forward = np.empty(m, dtype=bool)
    order = np.empty(m, dtype=np.int64)
    chain_length = np.empty(len(chains))
    length = graph.edge_length_m
    for cid, sequence in enumerate(chains):
        at = 0.0
        for k, (edge, fwd) in enumerate(sequence):
            chain[edge], offset[edge], forward[edge], order[edge] = cid, at, fwd, k
            at += length[edge]
        chain_length[cid] = at
    chain_start = np.concatenate([[0.0], np.cumsum(chain_length + _GAP_M)[:-1]])

    # Street ends that no other end continues: dead ends and yielding intersection ends.
    free = edges["free_speed_kmh"].to_numpy()
    end_node = np.concatenate([graph.edge_u, graph.edge_v])
    ends = np.flatnonzero(partner < 0)
    end_edge = ends % m
    at_u = ends < m
    entering = at_u == forward[end_edge]
    end_pos = offset[end_edge] + np.where(entering, 0.0, length[end_edge])
    node_deg = degree[end_node[ends]]
    speed = np.full(len(ends), np.nan)
    kind = np.full(len(ends), "", dtype=object)
    # dead ends, unless the node lies on the edge of the data (the street was cut there)
    xy = graph.node_xy[end_node[ends]]
    minx, miny, maxx, maxy = district.streets.total_bounds
    tol = float(params["open_end_tolerance_m"])
    on_edge = (
        (np.abs(xy[:, 0] - minx) <= tol)
        | (np.abs(xy[:, 0] - maxx) <= tol)
        | (np.abs(xy[:, 1] - miny) <= tol)
        | (np.abs(xy[:, 1] - maxy) <= tol)
    )
    dead = (node_deg == 1) & ~on_edge
    speed[dead] = float(params["dead_end_kmh"])
    kind[dead] = "dead_end"
    junction_speeds = params["intersection_kmh"]
    highway = edges["highway"].to_numpy()
    junction = node_deg >= 3
    for i in np.flatnonzero(junction):
        value = junction_speeds.get(highway[end_edge[i]], junction_speeds["default"])
        if value is not None:
            speed[i], kind[i] = float(value), "intersection"
    has = np.isfinite(speed)
    end_points = pd.DataFrame(
        {
            "chain": chain[end_edge[has]],
            "edge": end_edge[has],
            "pos": end_pos[has],
            "v_kmh": speed[has],
            "kind": kind[has],
            "ref": [f"node {n}" for n in end_node[ends[has]]],
        }
    )
    max_free = np.zeros(len(chains))
    np.maximum.at(max_free, chain, free)
    bends = _bend_points(graph, chains, offset, max_free)
    points = _points_frame([end_points, bends])
    logger.debug(
        "calming model: %d segments in %d continuous streets, %d slowing points",
        m,
        len(chains),
        len(points),
    )
    return _Model(
        graph=graph,
        edges=edges,
        chain=chain,
        offset=offset,
        forward=forward,
        order=order,
        chain_length=chain_length,
        chain_start=chain_start,
        points=points,
        junctions=np.flatnonzero(degree >= 3),
        partner=partner,
    )


# --------------------------------------------------------------------------- devices


def _device_points(district: District, model: _Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach the calming layer's devices to the model.

    Returns the slowing points of the devices (one per device, or one per street end
    for a device on an intersection node) and a per-device table (device_id, kind,
    edge, along_m, offset_m; edge -1 for devices ignored with a warning).
    """
    params = _params()
    calming = district.calming
    speeds = params["crossing_speed_kmh"]
    graph = model.graph
    empty = _points_frame([])
    info_columns = ["device_id", "kind", "street_id", "edge", "along_m", "offset_m", "node"]
    if calming.empty:
        return empty, pd.DataFrame(columns=info_columns)
    ids = (
        calming["device_id"].astype(str).to_numpy()
        if "device_id" in calming.columns
        else np.array([f"row {i}" for i in range(len(calming))])
    )
    kinds = calming["kind"].astype(str).to_numpy()
    problems: list[str] = []
    for did, kind in zip(ids, kinds, strict=True):
        if kind not in speeds:
            problems.append(
                f"device {did!r}: unknown kind {kind!r} (known kinds: {sorted(speeds)})"
            )
    geoms = calming.geometry.to_numpy()
    if calming.crs is not None and not calming.crs.equals(district.crs):
        geoms = calming.geometry.to_crs(district.crs).to_numpy()
    bad_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for did in ids[bad_geom]:
        problems.append(f"device {did!r}: missing or empty geometry")
    if problems:
        raise InputError(_device_message(problems))

    max_offset = float(params["device_max_offset_m"])
    street_ids = (
        calming["street_id"].astype("string").to_numpy(dtype=object, na_value=None)
        if "street_id" in calming.columns
        else np.full(len(calming), None, dtype=object)
    )
    known_streets = set(district.streets["street_id"].astype(str))
    edge_street = model.edges["street_id"].to_numpy()
    edge_geoms = graph.edges.geometry.to_numpy()
    n = len(calming)
    edge = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.nan)
    snapped = graph.snap(geoms)
    for i in range(n):
        sid = street_ids[i]
        if sid is not None and str(sid).strip():
            sid = str(sid)
            if sid not in known_streets:
                problems.append(
                    f"device {ids[i]!r} ({kinds[i]}): its street_id {sid!r} is not in the "
                    "streets layer; correct the street_id or leave it empty"
                )
                continue
            candidates = np.flatnonzero(edge_street == sid)
            if not len(candidates):
                warnings.warn(
                    f"calming device {ids[i]!r} ({kinds[i]}) is on street {sid!r}, which is "
                    "not open to cars: ignored by the speed model",
                    CalmingWarning,
                    stacklevel=3,
                )
                continue
            dist = shapely.distance(geoms[i], edge_geoms[candidates])
            best = int(np.argmin(dist))
            edge[i], distance[i] = candidates[best], float(dist[best])
            where = f"street {sid!r}"
        else:
            edge[i], distance[i] = int(snapped.edge[i]), float(snapped.offset_m[i])
            where = (
                f"the nearest street open to cars ({edge_street[edge[i]]!r})"
                if edge[i] >= 0
                else "any street open to cars"
            )
        if not distance[i] <= max_offset:
            problems.append(
                f"device {ids[i]!r} ({kinds[i]}) lies {distance[i]:.1f} m from {where}; "
                f"devices must lie within {max_offset:g} m of the street centreline "
                "(device_max_offset_m in standards/calming.yaml): move it onto the "
                "carriageway or correct its street_id"
            )
            edge[i] = -1
    if problems:
        raise InputError(_device_message(problems))

    used = edge >= 0
    along = np.full(n, np.nan)
    if used.any():
        lines = edge_geoms[edge[used]]
        position = shapely.line_locate_point(lines, geoms[used])
        scale = model.length[edge[used]] / np.maximum(shapely.length(lines), 1e-12)
        along[used] = np.clip(position * scale, 0.0, model.length[edge[used]])
    node = np.full(n, -1, dtype=np.int64)
    node_tol = float(params["device_node_tolerance_m"])
    junction = np.zeros(graph.n_nodes, dtype=bool)
    junction[model.junctions] = True
    for i in np.flatnonzero(used):
        e = edge[i]
        for end_node, dist in (
            (graph.edge_u[e], along[i]),
            (graph.edge_v[e], model.length[e] - along[i]),
        ):
            if dist <= node_tol and junction[end_node]:
                node[i] = end_node
                break
    info = pd.DataFrame(
        {
            "device_id": ids,
            "kind": kinds,
            "street_id": pd.Series(edge_street[np.maximum(edge, 0)]).where(used),
            "edge": edge,
            "along_m": along,
            "offset_m": distance,
            "node": node,
        }
    )
    rows = []
    on_edge = used & (node < 0)
    if on_edge.any():
        e = edge[on_edge]
        rows.append(
            pd.DataFrame(
                {
                    "chain": model.chain[e],
                    "edge": e,
                    "pos": model.chain_pos(e, along[on_edge]),
                    "v_kmh": [float(speeds[k]) for k in kinds[on_edge]],
                    "kind": kinds[on_edge],
                    "ref": ids[on_edge],
                }
            )
        )
    for i in np.flatnonzero(node >= 0):
        rows.append(_node_points(model, int(node[i]), float(speeds[kinds[i]]), kinds[i], ids[i]))
    return _points_frame(rows), info


def _node_points(model: _Model, node: int, v_kmh: float, kind: str, ref: str) -> pd.DataFrame:
    """A slowing point on every street end at ``node`` (a device on an intersection)."""
    graph = model.graph
    at_u = np.flatnonzero(graph.edge_u == node)
    at_v = np.flatnonzero(graph.edge_v == node)
    edges = np.concatenate([at_u, at_v])
    along = np.concatenate([np.zeros(len(at_u)), model.length[at_v]])
    return pd.DataFrame(
        {
            "chain": model.chain[edges],
            "edge": edges,
            "pos": model.chain_pos(edges, along),
            "v_kmh": v_kmh,
            "kind": kind,
            "ref": ref,
        }
    )


def _device_message(problems: list[str]) -> str:
    head = f"{len(problems)} problem(s) in the calming layer:"
    return "\n".join([head, *[f"  - {p}" for p in problems]])


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Samples:
    """Sample positions along the continuous streets, sorted by chain and position."""

    pos: np.ndarray  # chain position, m
    X: np.ndarray  # global coordinate: chain_start + pos
    edge: np.ndarray
    cap2: np.ndarray  # squared speed cap at the sample, (m/s)²
    grid: np.ndarray  # True for regular grid samples (planner candidates)

    def __len__(self) -> int:
        return len(self.pos)


def _build_samples(
    model: _Model,
    points: pd.DataFrame,
    step_m: float,
    *,
    edges: np.ndarray | None = None,
    extra: pd.DataFrame | None = None,
) -> _Samples:
    """Grid samples every ``step_m`` of chain position on ``edges`` (default all), plus
    both ends of each edge, the slowing points and ``extra`` positions (edge, pos)."""
    m = model.graph.n_edges
    chosen = np.arange(m) if edges is None else np.asarray(edges, dtype=np.int64)
    o = model.offset[chosen]
    end = o + model.length[chosen]
    k0 = np.ceil(o / step_m - 1e-9).astype(np.int64)
    k1 = np.floor(end / step_m + 1e-9).astype(np.int64)
    counts = np.maximum(k1 - k0 + 1, 0)
    grid_edge = np.repeat(chosen, counts)
    starts = np.repeat(k0, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    grid_pos = (starts + within) * step_m
    grid_pos = np.clip(
        grid_pos, model.offset[grid_edge], model.offset[grid_edge] + model.length[grid_edge]
    )
    if len(points):
        keep = np.isin(points["edge"].to_numpy(), chosen)
        pts = points[keep]
    else:
        pts = points
    pos_parts = [grid_pos, o, end, pts["pos"].to_numpy(dtype=float)]
    edge_parts = [grid_edge, chosen, chosen, pts["edge"].to_numpy(dtype=np.int64)]
    grid_parts = [np.ones(len(grid_pos), bool), np.zeros(2 * len(chosen), bool)]
    grid_parts.append(np.zeros(len(pts), bool))
    free2 = _ms(model.edges["free_speed_kmh"].to_numpy()) ** 2
    cap_parts = [free2[grid_edge], free2[chosen], free2[chosen]]
    cap_parts.append(
        np.minimum(free2[pts["edge"].to_numpy(dtype=np.int64)], _ms(pts["v_kmh"]) ** 2)
    )
    if extra is not None and len(extra):
        extra_edge = extra["edge"].to_numpy(dtype=np.int64)
        pos_parts.append(extra["pos"].to_numpy(dtype=float))
        edge_parts.append(extra_edge)
        grid_parts.append(np.zeros(len(extra), bool))
        cap_parts.append(free2[extra_edge])
    pos = np.concatenate(pos_parts)
    edge = np.concatenate(edge_parts)
    grid = np.concatenate(grid_parts)
    cap2 = np.concatenate(cap_parts)
    chain = model.chain[edge]
    order = np.lexsort((~grid, model.order[edge], pos, chain))
    pos, edge, grid, cap2 = pos[order], edge[order], grid[order], cap2[order]
    X = model.chain_start[model.chain[edge]] + pos
    return _Samples(pos=pos, X=X, edge=edge, cap2=cap2, grid=grid)


@dataclass
class _Speeds:
    """Squared speeds at samples and peaks between them, (m/s)²."""

    forward: np.ndarray  # travelling in the chain's direction (NaN: not allowed)
    backward: np.ndarray  # against it
    v2: np.ndarray  # the faster allowed direction
    peak2: np.ndarray  # per interval i -> i+1: exact peak of the faster direction (NaN: none)
    valid: np.ndarray  # interval lies on one edge and has a length


def _envelope(X: np.ndarray, cap2: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Running minima of ``cap2[k] + rate·|X - X[k]|`` from behind and from ahead.

    Exact for a min of linear functions.  Chains lie ``_GAP_M`` apart in ``X``, so a
    point never reaches into another chain (``rate · gap`` exceeds any squared speed).
    """
    t = rate * X
    behind = np.minimum.accumulate(cap2 - t, axis=-1) + t
    ahead = np.minimum.accumulate((cap2 + t)[..., ::-1], axis=-1)[..., ::-1] - t
    return behind, ahead


def _evaluate(model: _Model, samples: _Samples, cap2: np.ndarray | None = None) -> _Speeds:
    """Speeds at the samples; ``cap2`` may be a 2-D batch (one row per variant)."""
    params = _params()
    a2 = 2.0 * float(params["acceleration_mps2"])
    b2 = 2.0 * float(params["braking_mps2"])
    cap = samples.cap2 if cap2 is None else cap2
    X, edge = samples.X, samples.edge
    acc_behind, acc_ahead = _envelope(X, cap, a2)
    brk_behind, brk_ahead = _envelope(X, cap, b2)
    ok_f = model.ok_forward[edge]
    ok_b = model.ok_backward[edge]
    forward = np.where(ok_f, np.minimum(acc_behind, brk_ahead), np.nan)
    backward = np.where(ok_b, np.minimum(brk_behind, acc_ahead), np.nan)
    v2 = np.fmax(forward, backward)
    d = np.diff(X)
    valid = (edge[1:] == edge[:-1]) & (d > 0)
    free2 = _ms(model.edges["free_speed_kmh"].to_numpy()) ** 2
    cap_free = free2[edge[:-1]]

    def peak(rise: np.ndarray, fall: np.ndarray, r1: float, r2: float) -> np.ndarray:
        t = np.clip((fall + r2 * d - rise) / (r1 + r2), 0.0, d)
        return np.asarray(np.minimum(np.minimum(rise + r1 * t, fall + r2 * (d - t)), cap_free))

    pf = peak(acc_behind[..., :-1], brk_ahead[..., 1:], a2, b2)
    pb = peak(brk_behind[..., :-1], acc_ahead[..., 1:], b2, a2)
    pf = np.where(valid & ok_f[:-1], pf, np.nan)
    pb = np.where(valid & ok_b[:-1], pb, np.nan)
    return _Speeds(forward, backward, v2, np.fmax(pf, pb), valid)


def _per_edge(
    model: _Model,
    samples: _Samples,
    speeds: _Speeds,
    *,
    target_kmh: float | None = None,
    zone: np.ndarray | None = None,
) -> pd.DataFrame:
    """Aggregate sample speeds to segments: max (exact), means, lengths within target."""
    m = model.graph.n_edges
    edge = samples.edge
    vmax2 = np.full(m, -np.inf)
    np.fmax.at(vmax2, edge, speeds.v2)
    valid = speeds.valid
    interval_edge = edge[:-1][valid]
    np.fmax.at(vmax2, interval_edge, speeds.peak2[valid])
    v = np.sqrt(np.maximum(speeds.v2, 0.0)) * 3.6
    d = np.diff(samples.X)[valid]
    left, right = v[:-1][valid], v[1:][valid]

    def integral(values_left: np.ndarray, values_right: np.ndarray) -> np.ndarray:
        return np.bincount(
            interval_edge, weights=(values_left + values_right) / 2.0 * d, minlength=m
        )

    length = model.length
    out = pd.DataFrame(
        {
            "v85_max_kmh": np.sqrt(np.maximum(vmax2, 0.0)) * 3.6,
            "v85_mean_kmh": integral(left, right) / length,
            "pedestrian_fatality_risk": integral(
                pedestrian_fatality_risk(left), pedestrian_fatality_risk(right)
            )
            / length,
        }
    )
    if target_kmh is not None:
        limit = target_kmh + float(_params()["planner"]["target_tolerance_kmh"])
        ok = (v <= limit).astype(float)
        out["within_target_m"] = integral(ok[:-1][valid], ok[1:][valid])
        if zone is not None:
            z = zone.astype(float)
            zl, zr = z[:-1][valid], z[1:][valid]
            out["school_zone_m"] = integral(zl, zr)
            out["school_zone_within_target_m"] = integral(zl * ok[:-1][valid], zr * ok[1:][valid])
    return out


# --------------------------------------------------------------------------- scope


def _target_edges(district: District, model: _Model, streets: Iterable[str] | None) -> np.ndarray:
    """Boolean per edge: the streets a target applies to (planner, indicators)."""
    edge_street = model.edges["street_id"].to_numpy()
    if streets is not None:
        wanted = [str(s) for s in ([streets] if isinstance(streets, str) else streets)]
        known = set(district.streets["street_id"].astype(str))
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise InputError(
                f"streets {unknown} are not in the streets layer; pass street_id values of "
                "the district's streets"
            )
        no_cars = sorted(set(wanted) - set(edge_street))
        if no_cars:
            raise InputError(
                f"streets {no_cars} are not open to cars (column 'car'), so no speed can be "
                "modelled or calmed on them"
            )
        return np.asarray(np.isin(edge_street, wanted))
    classes = _params()["planner"]["default_highways"]
    geoms = model.graph.edges.geometry.to_numpy()
    inside = shapely.length(shapely.intersection(geoms, district.boundary))
    share = inside / np.maximum(shapely.length(geoms), 1e-12)
    return np.asarray(model.edges["highway"].isin(classes).to_numpy() & (share >= 0.5))


def _school_zone(district: District, xy: np.ndarray) -> np.ndarray:
    """Boolean per point: within school_zone_radius_m of a school or day-care POI."""
    planner = _params()["planner"]
    pois = district.pois
    if pois.empty or not len(xy):
        return np.zeros(len(xy), dtype=bool)
    schools = pois[pois["kind"].astype(str).isin(planner["school_poi_kinds"])]
    geoms = schools.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return np.zeros(len(xy), dtype=bool)
    centres = shapely.get_coordinates(shapely.point_on_surface(geoms))
    dist, _ = cKDTree(centres).query(xy)
    return np.asarray(dist <= float(planner["school_zone_radius_m"]))


# --------------------------------------------------------------------------- public API


def _speeds_frame(
    district: District,
    model: _Model,
    *,
    target_kmh: float | None,
    streets: Iterable[str] | None,
    with_devices: bool,
    step_m: float | None = None,
) -> tuple[gpd.GeoDataFrame, _Samples, _Speeds]:
    params = _params()
    step = float(params["profile_step_m"] if step_m is None else step_m)
    if not math.isfinite(step) or step <= 0:
        raise InputError(f"step_m must be a distance > 0 m, got {step_m!r}")
    if with_devices:
        device_points, info = _device_points(district, model)
    else:
        device_points, info = _points_frame([]), pd.DataFrame(columns=["edge"])
    points = _points_frame([model.points, device_points])
    samples = _build_samples(model, points, step)
    speeds = _evaluate(model, samples)
    zone = None
    if target_kmh is not None:
        zone = _school_zone(district, model.xy(samples.edge, samples.pos))
    stats = _per_edge(model, samples, speeds, target_kmh=target_kmh, zone=zone)
    edges = model.edges
    counts = np.bincount(
        info["edge"].to_numpy(dtype=np.int64)[info["edge"].to_numpy(dtype=np.int64) >= 0],
        minlength=model.graph.n_edges,
    )
    frame = gpd.GeoDataFrame(
        {
            "street_id": edges["street_id"].to_numpy(),
            "name": edges["name"].to_numpy(),
            "highway": edges["highway"].to_numpy(),
            "maxspeed_kmh": edges["maxspeed_kmh"].to_numpy(),
            "bus_route": edges["bus_route"].to_numpy(),
            "oneway": edges["oneway"].to_numpy(),
            "length_m": edges["length_m"].to_numpy(),
            "free_speed_kmh": edges["free_speed_kmh"].to_numpy(),
            "devices": counts,
            "target_street": _target_edges(district, model, streets),
            **{c: stats[c].to_numpy() for c in stats.columns},
        },
        geometry=model.graph.edges.geometry.to_numpy(),
        crs=district.crs,
        index=model.graph.edges.index,
    )
    frame.index.name = "edge"
    return frame, samples, speeds


def operating_speeds(
    district: District,
    *,
    target_kmh: float | None = None,
    streets: Iterable[str] | None = None,
    limits: Limits = "posted",
    with_devices: bool = True,
) -> gpd.GeoDataFrame:
    """Model the V85 of every street segment open to cars.

    Parameters
    ----------
    district
        The district; its streets (drive graph), calming devices and, with a target,
        school/day-care POIs are used.
    target_kmh
        Optional target V85 (km/h): adds the lengths within it, overall and inside
        school zones.
    streets
        ``street_id`` values of the target streets (column ``target_street``); default:
        the classes of ``planner.default_highways`` with at least half their length
        inside the boundary.
    limits
        ``"posted"`` limits or each class's ``"class_default"`` limit (see
        :func:`free_speed_kmh`).
    with_devices
        Include the calming layer's devices (False: the street without them).

    Returns
    -------
    GeoDataFrame
        One row per drive-graph segment (index ``edge``), district CRS, with
        ``street_id``, ``name``, ``highway``, ``maxspeed_kmh``, ``bus_route``,
        ``oneway``, ``length_m``, ``free_speed_kmh``, ``devices`` (count on the
        segment), ``target_street``, ``v85_max_kmh`` (exact maximum along the segment,
        faster direction), ``v85_mean_kmh`` (length-weighted mean), and
        ``pedestrian_fatality_risk`` (length-weighted mean of the risk at the modelled
        speed); with a target also ``within_target_m``, ``school_zone_m`` and
        ``school_zone_within_target_m`` (metres).

    Raises
    ------
    InputError
        No street open to cars (:class:`~vollsmose_gis.network.NoStreetsError`); a
        device of unknown kind, without geometry, with an unknown street_id, or farther
        than ``device_max_offset_m`` from its street; a target ≤ 0.
    """
    if target_kmh is not None:
        target_kmh = _check_target(target_kmh)
    model = _model(district, limits)
    frame, _, _ = _speeds_frame(
        district, model, target_kmh=target_kmh, streets=streets, with_devices=with_devices
    )
    return frame


def speed_profile(
    district: District,
    *,
    streets: Iterable[str] | None = None,
    step_m: float | None = None,
    limits: Limits = "posted",
    with_devices: bool = True,
) -> gpd.GeoDataFrame:
    """Sample the modelled speed along the streets.

    Parameters
    ----------
    district
        The district.
    streets
        ``street_id`` values to return (default: every street open to cars).  The
        profile is always computed along whole continuous streets, so slowing points on
        neighbouring segments count.
    step_m
        Sample spacing along each continuous street, metres (default
        ``profile_step_m``); slowing points and segment ends are always sampled.
    limits, with_devices
        As in :func:`operating_speeds`.

    Returns
    -------
    GeoDataFrame
        Points (district CRS), one row per sample: ``chain`` (continuous street),
        ``chain_m`` (position along it), ``edge``, ``street_id``, ``along_m`` (from the
        segment's start ``u``), ``forward_kmh`` (travelling from ``u`` to ``v``; NaN if
        not allowed), ``backward_kmh``, ``v85_kmh`` (the faster), and ``slowing`` (the
        kind of slowing point at the sample, empty otherwise).
    """
    model = _model(district, limits)
    step = float(_params()["profile_step_m"] if step_m is None else step_m)
    if not math.isfinite(step) or step <= 0:
        raise InputError(f"step_m must be a distance > 0 m, got {step_m!r}")
    device_points = _device_points(district, model)[0] if with_devices else _points_frame([])
    points = _points_frame([model.points, device_points])
    chosen = None
    if streets is not None:
        mask = _target_edges(district, model, streets)
        chains = np.unique(model.chain[mask])
        chosen = np.flatnonzero(np.isin(model.chain, chains))
    samples = _build_samples(model, points, step, edges=chosen)
    speeds = _evaluate(model, samples)
    edge = samples.edge
    fwd_chain = model.forward[edge]
    along_dir = np.where(fwd_chain, speeds.forward, speeds.backward)
    against = np.where(fwd_chain, speeds.backward, speeds.forward)
    slowing = np.full(len(samples), "", dtype=object)
    if len(points):
        key = pd.Series(
            points["kind"].to_numpy(),
            index=pd.MultiIndex.from_arrays(
                [points["edge"].to_numpy(), np.round(points["pos"].to_numpy(), 6)]
            ),
        )
        key = key[~key.index.duplicated()]
        lookup = pd.MultiIndex.from_arrays([edge, np.round(samples.pos, 6)])
        found = key.reindex(lookup).to_numpy()
        slowing = np.where(pd.isna(found) | samples.grid, "", found)
    frame = gpd.GeoDataFrame(
        {
            "chain": model.chain[edge],
            "chain_m": samples.pos,
            "edge": edge,
            "street_id": model.edges["street_id"].to_numpy()[edge],
            "along_m": model.along(edge, samples.pos),
            "forward_kmh": np.sqrt(along_dir) * 3.6,
            "backward_kmh": np.sqrt(against) * 3.6,
            "v85_kmh": np.sqrt(speeds.v2) * 3.6,
            "slowing": slowing,
        },
        geometry=shapely.points(model.xy(edge, samples.pos)),
        crs=district.crs,
    )
    if streets is not None:
        wanted = {str(s) for s in ([streets] if isinstance(streets, str) else streets)}
        frame = frame[frame["street_id"].isin(wanted)].reset_index(drop=True)
    return frame


def safety_effect(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    baseline: Limits | None = None,
) -> gpd.GeoDataFrame:
    """Model speeds and their safety effect per segment against a baseline.

    Parameters
    ----------
    district
        The district.
    target_kmh
        Target V85, km/h (for the within-target lengths).
    streets
        Target streets (see :func:`operating_speeds`).
    baseline
        ``"class_default"`` (default, ``power_model.default_baseline``): the same
        streets modelled with their class's default limit and no calming devices;
        ``"posted"``: the posted limits without devices.

    Returns
    -------
    GeoDataFrame
        :func:`operating_speeds` columns plus ``baseline_v85_mean_kmh``,
        ``injury_crash_ratio``, ``serious_injury_crash_ratio`` and
        ``fatal_crash_ratio`` (power model, modelled / baseline; below 1 = fewer
        expected crashes), ``injury_crash_change`` (ratio − 1).
    """
    target_kmh = _check_target(target_kmh)
    base = _baseline(baseline)
    speeds = operating_speeds(district, target_kmh=target_kmh, streets=streets)
    reference = operating_speeds(district, limits=base, with_devices=False)
    before = reference["v85_mean_kmh"].to_numpy()
    after = speeds["v85_mean_kmh"].to_numpy()
    speeds["baseline_v85_mean_kmh"] = before
    for severity in ("injury_crashes", "serious_injury_crashes", "fatal_crashes"):
        column = severity.replace("_crashes", "_crash_ratio")
        speeds[column] = crash_ratio(after, before, severity=severity)
    speeds["injury_crash_change"] = speeds["injury_crash_ratio"] - 1.0
    return speeds


def _baseline(baseline: str | None) -> Limits:
    value = baseline or _params()["power_model"]["default_baseline"]
    if value not in ("posted", "class_default"):
        raise InputError(f"baseline must be 'class_default' or 'posted', got {baseline!r}")
    return "posted" if value == "posted" else "class_default"


# --------------------------------------------------------------------------- planner


@dataclass(frozen=True)
class CalmingPlan:
    """Devices placed by :func:`plan_calming` and the speeds they give.

    Attributes
    ----------
    target_kmh
        The target V85, km/h.
    kinds
        Device kinds the planner could use.
    devices
        The new devices as calming-layer rows (``device_id``, ``kind``, ``street_id``,
        Point geometry in the district CRS) plus ``reason`` (``"school crossing"`` or
        ``"speed"``), ``chain_m`` (position along its continuous street) and
        ``cost_dkk``.
    speeds
        :func:`safety_effect`-style segment table after the plan, with the speeds
        before it (``v85_max_before_kmh``, ``v85_mean_before_kmh``), the power-model
        ``injury_crash_change`` from before to after and ``meets_target`` (target
        streets only; NaN elsewhere).
    district
        The input district with the devices appended to its calming layer.
    unmet_streets
        ``street_id`` of target streets whose modelled V85 still exceeds the target
        (the rules left no place for a device, e.g. bus routes without cushions, posted
        limits above the planner's limit, or short stretches between intersections).
    """

    target_kmh: float
    kinds: tuple[str, ...]
    devices: gpd.GeoDataFrame
    speeds: gpd.GeoDataFrame
    district: District
    unmet_streets: tuple[str, ...]

    @property
    def cost_dkk(self) -> float:
        """Total cost of the new devices, DKK."""
        return float(self.devices["cost_dkk"].sum())

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready summary: devices by kind, cost, speeds before and after."""
        scope = self.speeds[self.speeds["target_street"]]
        length = float(scope["length_m"].sum())

        def weighted(column: str) -> float | None:
            if length <= 0:
                return None
            return round(float((scope[column] * scope["length_m"]).sum() / length), 2)

        by_kind = self.devices.groupby("kind", observed=True)["cost_dkk"].agg(["count", "sum"])
        return {
            "target_kmh": self.target_kmh,
            "devices": len(self.devices),
            "devices_by_kind": {k: int(r["count"]) for k, r in by_kind.iterrows()},
            "cost_dkk": round(self.cost_dkk),
            "cost_by_kind_dkk": {k: round(float(r["sum"])) for k, r in by_kind.iterrows()},
            "target_street_length_m": round(length, 1),
            "mean_v85_before_kmh": weighted("v85_mean_before_kmh"),
            "mean_v85_after_kmh": weighted("v85_mean_kmh"),
            "unmet_streets": list(self.unmet_streets),
        }


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
    known = params["crossing_speed_kmh"]
    unknown = [k for k in kinds if k not in known or k not in params["unit_cost_dkk"]]
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
    """
    target = _check_target(target_kmh)
    kinds = _check_kinds(kinds)
    params = _params()
    planner = params["planner"]
    step = float(planner["candidate_step_m"] if candidate_step_m is None else candidate_step_m)
    if not math.isfinite(step) or step <= 0:
        raise InputError(f"candidate_step_m must be a distance > 0 m, got {candidate_step_m!r}")
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
    crossing_speed = params["crossing_speed_kmh"]
    kind_of_edge = np.full(len(edges), "", dtype=object)
    if bus_kinds:
        kind_of_edge[placeable & bus] = bus_kinds[0]
    if street_kinds:
        kind_of_edge[placeable & ~bus] = street_kinds[0]
    placeable &= kind_of_edge != ""
    spacing = _min_spacing(target)
    min_junction = float(planner["min_distance_from_intersection_m"])
    tol2 = _ms(target + float(planner["target_tolerance_kmh"])) ** 2

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
        new = _plan_chain(
            model,
            sub,
            candidate=candidate[lo:hi],
            school=school[lo:hi],
            in_scope=in_scope[lo:hi],
            kind_of_edge=kind_of_edge,
            crossing_speed=crossing_speed,
            taken=taken,
            spacing=spacing,
            limit2=float(tol2),
        )
        cap2[lo:hi] = sub.cap2
        placed.extend(new)
    _report(progress, 0.95, "speeds after the plan")
    devices = _plan_devices(district, model, placed)
    calming = pd.concat(
        [district.calming, devices[["device_id", "kind", "street_id", "geometry"]]],
        ignore_index=True,
    )
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
    limit = target + float(planner["target_tolerance_kmh"])
    meets = pd.Series(pd.NA, index=after.index, dtype="boolean")
    meets[after["target_street"]] = after.loc[after["target_street"], "v85_max_kmh"] <= limit
    after["meets_target"] = meets
    unmet = sorted(set(after.loc[after["target_street"] & ~meets.fillna(True), "street_id"]))
    logger.info(
        "calming plan for %s km/h: %d devices, %.0f DKK, %d target streets unmet",
        target,
        len(devices),
        float(devices["cost_dkk"].sum()),
        len(unmet),
    )
    _report(progress, 1.0, "done")
    return CalmingPlan(
        target_kmh=target,
        kinds=kinds,
        devices=devices,
        speeds=after,
        district=after_district,
        unmet_streets=tuple(unmet),
    )


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

    def over_target(devices: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Length (m) over target of the intervals ending in (lo[r], hi[r]], with the
        devices of row r added (``devices``: sample indices, one row per variant,
        -1 for none).  Only samples within ``horizon`` of the ranges are evaluated."""
        low, top = float(np.min(lo)), float(np.max(hi))
        first = int(np.searchsorted(pos, low - horizon)) if np.isfinite(low) else 0
        last = int(np.searchsorted(pos, top + horizon, side="right")) if np.isfinite(top) else None
        part = slice(first, last)
        window = _Samples(
            pos[part], samples.X[part], edge[part], samples.cap2[part], samples.grid[part]
        )
        caps = np.tile(samples.cap2[part], (len(devices), 1))
        rows = np.arange(len(devices))
        for column in devices.T:
            use = column >= 0
            at = column[use] - first
            caps[rows[use], at] = np.minimum(caps[rows[use], at], vd2[column[use]])
        speeds = _evaluate(model, window, caps)
        right = window.pos[1:]
        inside = (right[None, :] > lo[:, None] + eps) & (right[None, :] <= hi[:, None] + eps)
        over = np.nan_to_num(speeds.peak2, nan=-1.0) > limit2
        counted = speeds.valid & scope_interval[part][: len(right)]
        bad = over & inside & counted[None, :]
        return np.asarray((bad * np.diff(window.pos)[None, :]).sum(axis=1))

    def add(i: int, kind: str, reason: str, speed2: float) -> None:
        samples.cap2[i] = min(samples.cap2[i], speed2)
        taken.append(float(pos[i]))
        placed.append((int(edge[i]), float(pos[i]), kind, reason))

    def spaced(i: int) -> bool:
        return all(abs(pos[i] - t) >= spacing - eps for t in taken)

    # 1. raised tables at school-zone crossings where traffic is too fast
    table2 = float(_ms(crossing_speed.get("table", 0.0))) ** 2
    for i in np.flatnonzero(school & candidate):
        speeds = _evaluate(model, samples)
        if speeds.v2[i] > limit2 and spaced(int(i)):
            add(int(i), "table", "school crossing", table2)
    speeds = _evaluate(model, samples)
    over = speeds.valid & scope_interval & (np.nan_to_num(speeds.peak2, nan=-1.0) > limit2)
    if not over.any():
        return placed
    base = Baseline(pos[1:], np.cumsum(over * np.diff(pos)), horizon)
    useful = candidate & samples.grid & (vd2 < limit2)  # a device must be below target
    options = np.asarray([i for i in np.flatnonzero(useful) if spaced(int(i))], dtype=np.int64)
    # 2. fewest devices (among plans that leave the least length over target)
    reach = limit2 * (1.0 / a + 1.0 / b) / 2.0 + 1.0  # > the largest useful spacing
    first_over = float(pos[np.flatnonzero(over)[0]])
    for i in _fewest_devices(options, pos, spacing, reach, first_over, base, over_target):
        add(i, str(kind_of_edge[edge[i]]), "speed", vd2[i])
    return placed


@dataclass(frozen=True)
class Baseline:
    """Length over target along a street before new devices, for the stretches a new
    device cannot reach (farther than ``horizon`` from it)."""

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
    froms, tos = [], []
    for p in range(n):
        qs = upto(where[p] + reach, int(np.searchsorted(where, where[p] + spacing - eps)))
        froms.append(np.full(len(qs), p))
        tos.append(qs)
    step_from, step_to = np.concatenate(froms), np.concatenate(tos)
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
    for p in range(n):
        if best[p] == infinite:
            continue
        steps = slice(bounds[p], bounds[p + 1])
        qs = step_to[steps]
        total = best[p] + step_cost[steps]
        better = total < best[qs]
        best[qs[better]] = total[better]
        parent[qs[better]] = p
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
    district: District, model: _Model, placed: list[tuple[int, float, str, str]]
) -> gpd.GeoDataFrame:
    existing = set(district.calming["device_id"].astype(str)) if len(district.calming) else set()
    ids: list[str] = []
    counter = 1
    for _ in placed:
        while f"plan-{counter:03d}" in existing:
            counter += 1
        ids.append(f"plan-{counter:03d}")
        counter += 1
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
            "reason": reasons,
            "chain_m": pos,
        },
        geometry=shapely.points(model.xy(edge, pos)) if len(edge) else [],
        crs=district.crs,
    )
    frame["cost_dkk"] = device_costs(frame).to_numpy() if len(frame) else []
    return frame


# --------------------------------------------------------------------------- indicators


def indicators(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    baseline: Limits | None = None,
) -> dict[str, Indicator]:
    """Return the traffic-speed indicators of a district (theme "safety and security").

    Parameters
    ----------
    district
        The district (devices of its calming layer included).
    target_kmh
        Target V85, km/h.
    streets
        Target streets (default: residential/living streets inside the boundary; see
        :func:`operating_speeds`).  All indicators are length-weighted over them.
    baseline
        Baseline of ``injury_crash_index`` (see :func:`safety_effect`).

    Returns
    -------
    dict
        ``share_length_within_target`` (share of target-street length with modelled
        V85 ≤ target), ``mean_v85_kmh`` (length-weighted mean V85),
        ``injury_crash_index`` (100 × length-weighted mean of the power-model injury
        crash ratio against the baseline; 100 = the streets at their class's default
        limit without calming, lower is safer), ``school_zone_share_within_target``
        (the same share within ``school_zone_radius_m`` of schools and day-care; NaN if
        no target street is near one) and ``mean_pedestrian_fatality_risk``
        (length-weighted risk for a pedestrian hit at the modelled speed).  NaN with a
        :class:`CalmingWarning` when there is no target street.
    """
    speeds = safety_effect(district, target_kmh=target_kmh, streets=streets, baseline=baseline)
    scope = speeds[speeds["target_street"]]
    length = float(scope["length_m"].sum())
    nan = float("nan")
    if length <= 0:
        warnings.warn(
            "no target street (residential streets inside the boundary, or the streets "
            "given): the calming indicators are NaN",
            CalmingWarning,
            stacklevel=2,
        )
    weights = scope["length_m"].to_numpy()

    def mean(column: str) -> float:
        return float(np.sum(scope[column].to_numpy() * weights) / length) if length > 0 else nan

    zone = float(scope["school_zone_m"].sum())
    school_share = float(scope["school_zone_within_target_m"].sum()) / zone if zone > 0 else nan
    share = float(scope["within_target_m"].sum()) / length if length > 0 else nan
    return {
        "share_length_within_target": Indicator(
            share, "share", True, THEME, f"Street length with modelled V85 ≤ {target_kmh:g} km/h"
        ),
        "mean_v85_kmh": Indicator(
            mean("v85_mean_kmh"), "km/h", False, THEME, "Mean modelled V85 on local streets"
        ),
        "injury_crash_index": Indicator(
            100.0 * mean("injury_crash_ratio"),
            "index",
            False,
            THEME,
            "Expected injury crashes (power model; 100 = uncalmed streets at default limits)",
        ),
        "school_zone_share_within_target": Indicator(
            school_share,
            "share",
            True,
            THEME,
            f"Street length near schools and day-care with V85 ≤ {target_kmh:g} km/h",
        ),
        "mean_pedestrian_fatality_risk": Indicator(
            mean("pedestrian_fatality_risk"),
            "probability",
            False,
            THEME,
            "Fatality risk of a pedestrian hit at the modelled speed",
        ),
    }


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
