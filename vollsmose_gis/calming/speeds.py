"""The operating-speed model: V85 profiles along continuous streets, per segment and
per sample (see :mod:`vollsmose_gis.calming`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis.calming._base import (
    Limits,
    ParamsLike,
    _check_target,
    _ms,
    _params,
    crossing_speed_kmh,
    pedestrian_fatality_risk,
    using_params,
)
from vollsmose_gis.calming._model import (
    _device_points,
    _Model,
    _model,
    _points_frame,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District


def max_device_spacing_m(
    target_kmh: float,
    kind: str = "hump",
    *,
    design_speed_kmh: float | None = None,
    tolerance_kmh: float = 0.0,
    params: ParamsLike = None,
) -> float:
    """Return the largest spacing of identical devices that keeps V85 ≤ a peak, metres.

    Between two devices of crossing V85 ``v_d`` a distance ``D`` apart the speed peaks
    at ``sqrt(v_d² + 2·D·a·b / (a + b))`` (acceleration ``a`` after the first, braking
    ``b`` before the second; midway when ``a = b``), so with the peak
    ``T = target + tolerance``: ``D_max = (T² − v_d²)·(a + b) / (2·a·b)``.

    Parameters
    ----------
    target_kmh
        Target V85, km/h (> 0).
    kind
        Device kind (a key of ``default_design_speed_kmh``).
    design_speed_kmh
        The devices' design speed, km/h (default: the kind's default design speed);
        the crossing V85 ``v_d`` adds the kind's ``crossing_excess_kmh``.
    tolerance_kmh
        Accepted excess of the peak over the target, km/h (the planner's
        ``planner.tolerance_kmh``; 0: the peak must not exceed the target).
    params
        Model parameters (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    float
        Metres; 0 when the device's crossing speed is not below the peak.
    """
    _check_target(target_kmh)
    with using_params(params) as p:
        designs = p["default_design_speed_kmh"]
        if kind not in designs:
            raise InputError(f"unknown device kind {kind!r}; known kinds: {sorted(designs)}")
        design = float(designs[kind] if design_speed_kmh is None else design_speed_kmh)
        v_d = crossing_speed_kmh(kind, design)
        a, b = float(p["acceleration_mps2"]), float(p["braking_mps2"])
    excess = float(_ms(target_kmh + float(tolerance_kmh))) ** 2 - float(_ms(v_d)) ** 2
    return max(0.0, excess * (a + b) / (2.0 * a * b))


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
    both ends of each edge, the slowing points and ``extra`` positions (edge, pos).
    """
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


def _evaluate(
    model: _Model,
    samples: _Samples,
    cap2: np.ndarray | None = None,
    *,
    a: float | None = None,
    b: float | None = None,
) -> _Speeds:
    """Speeds at the samples; ``cap2`` may be a 2-D batch (one row per variant).

    ``a`` and ``b`` (m/s²) override the parameters' acceleration and braking.
    """
    params = _params()
    a2 = 2.0 * float(params["acceleration_mps2"] if a is None else a)
    b2 = 2.0 * float(params["braking_mps2"] if b is None else b)
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


def _school_centres(district: District) -> np.ndarray:
    """Points (``(n, 2)``, district CRS) of the school and day-care POIs."""
    pois = district.pois
    if pois.empty:
        return np.empty((0, 2))
    schools = pois[pois["kind"].astype(str).isin(_params()["planner"]["school_poi_kinds"])]
    geoms = schools.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return np.empty((0, 2))
    return np.asarray(shapely.get_coordinates(shapely.point_on_surface(geoms)))


def _school_zone(district: District, xy: np.ndarray) -> np.ndarray:
    """Boolean per point: within school_zone_radius_m of a school or day-care POI."""
    centres = _school_centres(district)
    if not len(centres) or not len(xy):
        return np.zeros(len(xy), dtype=bool)
    dist, _ = cKDTree(centres).query(xy)
    return np.asarray(dist <= float(_params()["planner"]["school_zone_radius_m"]))


def _school_zone_at(
    district: District, model: _Model, edge: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """:func:`_school_zone` of the chain positions ``pos`` on ``edge``.

    The same values, but the coordinates are interpolated only on the edges that come
    within the radius (+ 1 m) of a school: a point on an edge farther away is farther
    too (interpolation is exact to far below a metre), and interpolating every sample
    of the district was most of the cost of :func:`operating_speeds`.
    """
    centres = _school_centres(district)
    zone = np.zeros(len(edge), dtype=bool)
    if not len(centres) or not len(edge):
        return zone
    radius = float(_params()["planner"]["school_zone_radius_m"])
    geoms = model.graph.edges.geometry.to_numpy()
    near_edge = shapely.dwithin(geoms, shapely.multipoints(centres), radius + 1.0)
    near = np.asarray(near_edge, dtype=bool)[edge]
    if near.any():
        dist, _ = cKDTree(centres).query(model.xy(edge[near], pos[near]))
        zone[near] = dist <= radius
    return zone


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
        zone = _school_zone_at(district, model, samples.edge, samples.pos)
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
    params: ParamsLike = None,
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

    params
        Model parameters: ``None`` (``standards/calming.yaml``), a calibrated
        calming.yaml-style file or a mapping (see :func:`~vollsmose_gis.calming.load_params`).

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
    with using_params(params):
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
    params: ParamsLike = None,
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

    params
        Model parameters: ``None`` (``standards/calming.yaml``), a calibrated
        calming.yaml-style file or a mapping (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    GeoDataFrame
        Points (district CRS), one row per sample: ``chain`` (continuous street),
        ``chain_m`` (position along it), ``edge``, ``street_id``, ``along_m`` (from the
        segment's start ``u``), ``forward_kmh`` (travelling from ``u`` to ``v``; NaN if
        not allowed), ``backward_kmh``, ``v85_kmh`` (the faster), and ``slowing`` (the
        kind of slowing point at the sample, empty otherwise).
    """
    with using_params(params):
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
