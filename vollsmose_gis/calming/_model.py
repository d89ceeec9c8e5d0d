"""The street model of the speed profiles: free speeds, continuous streets, fixed slowing
points (ends, intersections, bends) and the calming devices attached to it.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.calming._base import (
    _BEARING_M,
    _GAP_M,
    CalmingWarning,
    Limits,
    _bool_column,
    _numeric,
    _params,
    _params_key,
    _wrap,
    crossing_speed_kmh,
    logger,
)
from vollsmose_gis.network import StreetGraph, drive_graph
from vollsmose_gis.standards import categories, highway_defaults

if TYPE_CHECKING:
    from vollsmose_gis.district import District


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
    direction − 1) − p_1 · [one lane, two-way], v_min, r_max · limit) · f`` with the
    ratio ``r`` of the class, the calibration factor ``f`` (1 unless fitted by
    :func:`~vollsmose_gis.calming.calibrate_speeds`) and the other terms from
    ``free_speed`` in
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
    speed = speed * float(p.get("calibration_factor", 1.0))
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


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class _Model:
    """The drive graph cut into continuous streets, with free speeds and fixed slowing
    points (ends, intersections, bends).  Cached per streets content and limits.
    """

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


_CACHE: OrderedDict[tuple[str, str, str, str], _Model] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _model(district: District, limits: Limits = "posted") -> _Model:
    key = (district.fingerprint("streets", boundary=False), district.crs, limits, _params_key())
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
        slows = speed < 1.5 * max_free_kmh[cid]  # 1.5: room for a calibrated free speed
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


def _device_points(district: District, model: _Model) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: C901 - waiver: one branch per device placement rule (kind, street, design speed); split with the next calming change
    """Attach the calming layer's devices to the model.

    Returns the slowing points of the devices (one per device, or one per street end
    for a device on an intersection node) and a per-device table (device_id, kind,
    edge, along_m, offset_m, node, design_speed_kmh, crossing_kmh; edge -1 for
    devices ignored with a warning).  A device's crossing V85 is its design speed
    (column ``design_speed_kmh``; default: its kind's ``default_design_speed_kmh``,
    at most its street's speed limit) plus its kind's ``crossing_excess_kmh``.
    """
    params = _params()
    calming = district.calming
    speeds = params["default_design_speed_kmh"]
    graph = model.graph
    empty = _points_frame([])
    info_columns = ["device_id", "kind", "street_id", "edge", "along_m", "offset_m", "node"]
    info_columns += ["design_speed_kmh", "crossing_kmh"]
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
    given = _numeric(calming, "design_speed_kmh").to_numpy()
    low, high = (float(v) for v in params["design_speed_range_kmh"])
    for did, value in zip(ids, given, strict=True):
        if not np.isnan(value) and not low <= value <= high:
            problems.append(
                f"device {did!r}: design_speed_kmh {value:g} is outside {low:g}–{high:g} "
                "km/h; give the speed the device is designed for, or leave it empty for "
                "its kind's default"
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
    limit = model.edges["limit_kmh"].to_numpy()[np.maximum(edge, 0)]
    default = np.array([float(speeds[k]) for k in kinds])
    design = np.where(np.isnan(given), np.minimum(default, limit), given)
    crossing = np.array(
        [crossing_speed_kmh(k, v) for k, v in zip(kinds, design, strict=True)], dtype=float
    )
    info = pd.DataFrame(
        {
            "device_id": ids,
            "kind": kinds,
            "street_id": pd.Series(edge_street[np.maximum(edge, 0)]).where(used),
            "edge": edge,
            "along_m": along,
            "offset_m": distance,
            "node": node,
            "design_speed_kmh": design,
            "crossing_kmh": crossing,
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
                    "v_kmh": crossing[on_edge],
                    "kind": kinds[on_edge],
                    "ref": ids[on_edge],
                }
            )
        )
    for i in np.flatnonzero(node >= 0):
        rows.append(_node_points(model, int(node[i]), float(crossing[i]), kinds[i], ids[i]))
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
