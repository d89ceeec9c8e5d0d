"""Space-syntax angular segment analysis: integration, choice, NAIN and NACH.

The *segment map* is the street network cut at every junction: one segment per
street piece of the walk graph (:attr:`StreetGraph.edges`, already split at
intersections and at the ends of the drawn streets).  Angular analysis (Turner 2001,
2007; Hillier & Iida 2005) measures routes by how much they turn: the *angular
depth* of a route is the sum of its turn angles, and the simplest (least-angle) route
between two segments is the one of least depth.

>>> result = angular_analysis(walk_graph(district))        # doctest: +SKIP
>>> result[["nain_800", "nach_800"]].describe()            # doctest: +SKIP

Units and conventions
---------------------
- **Angular depth** is in depthmapX's unit: **90 degrees = 1** (a right-angle turn
  costs 1, a U-turn 2; ``depth = radians * 2 / pi``).  cityseer measures in degrees
  (``angular_scaling_unit=90`` turns its values into ours); depthmapX's "T1024"
  analysis quantises each turn down (``floor``) to 1/256 of 90 degrees, we round each
  turn to 2**-20 of 90 degrees (< 1e-4 degree), so sums are exact and equal routes tie.
- **Turns**: travelling from segment ``a`` into segment ``b`` at their shared junction
  costs the angle between ``a``'s heading on arrival and ``b``'s heading on departure
  (0 straight on, 1 at a right angle), plus the bends *inside* the two segments
  between their midpoints and the junction (a curved street piece turns; the bend at
  a vertex exactly at the midpoint is split half and half).  This is cityseer's
  ``angle_sum`` of the dual edge; depthmapX segments are straight, so only the turn
  counts there.  A segment is travelled in a direction: a route enters it at one end
  and leaves at the other (no "sidestep" through a third segment at one junction; both
  depthmapX and cityseer 4+ do the same).
- **Metric radius**: the distance between two segments is measured from midpoint to
  midpoint along the route (half of each end segment plus the full intermediate
  ones), as depthmapX and cityseer do.  A segment is within radius ``r`` of the
  origin when the simplest route to it (least angle; among equally simple routes
  the shortest) is at most ``r`` long.  The search stops at the largest radius and
  serves all radii at once (the rule of cityseer).  depthmapX instead keeps one tree
  per radius, so at a radius below the largest it may reach, by a more angular but
  shorter route, a few segments we leave out; the segments both count have the same
  depth.  With a single radius the two rules agree.
- **Node count** ``NC`` includes the origin segment (depthmapX; our engine's
  ``node_count`` excludes it, ``NC = node_count + 1``).
- **Total depth** ``TD``: sum of the angular depths (90 degrees = 1) of the segments
  within the radius, the origin at depth 0.  **Mean depth** ``TD / (NC - 1)``.
- **Integration** ``NC**2 / TD`` (depthmapX's "T1024 Integration"; NaN when TD = 0).
- **Choice** ``CH``: number of (origin, destination) pairs within the radius whose
  simplest route passes through the segment, counting *ordered* pairs like depthmapX
  (each pair of segments twice), the end segments excluded.  Where several routes are
  equally simple (same depth and length), each gets an equal share (Brandes);
  depthmapX follows only one of them (chosen by its queue order), cityseer shares as
  we do but counts each pair once (half our value).
- **NAIN** ``= NC**1.2 / (TD + 2)`` and **NACH** ``= log(CH + 1) / log(TD + 3)``
  (Hillier, Yang & Turner 2012, "Normalising least angle choice in Depthmap",
  *Journal of Space Syntax* 3(2): 155-193; the +2 and +3 keep both defined for an
  isolated segment, TD = 0).  Natural logarithms (any base gives the same ratio).
  The +2 of NAIN is this toolkit's convention (issue 20); where NAIN is computed as
  ``NC**1.2 / TD`` the two differ by the factor ``TD / (TD + 2)``: under 1 % once
  TD > 200, as it is for most segments at radii of 800 m and more.
- **Harmonic** (cityseer's ``cc_harmonic_ang``): ``sum 1 / (1 + depth)`` over the
  other segments within the radius.

Radii are ``400, 800, 1200, 2000`` m and ``n`` (no limit) by default.  Column names
carry the radius: ``nain_800``, ``nach_n``.

Bad input: zero-length segments are dropped (no direction); loops (a segment
returning to its own junction) are kept and entered from either end; parallel
segments are distinct segments; a radius <= 0 is an error; disconnected parts simply
do not reach each other; lengths are metres of the graph's projected CRS (the
district refuses a geographic CRS).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.centrality import (
    GraphArrays,
    _check_radii,
    _csr,
    centralities,
    check_projected,
    radius_label,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District
    from vollsmose_gis.network import StreetGraph

__all__ = [
    "ANGLE_QUANTUM",
    "DEFAULT_RADII",
    "SegmentMap",
    "angular_analysis",
    "angular_indicators",
    "segment_map",
]

ANGLE_QUANTUM = 2.0**-20
"""Angular costs are rounded to multiples of this (units of 90 degrees)."""

DEFAULT_RADII: tuple[float | None, ...] = (400.0, 800.0, 1200.0, 2000.0, None)
"""Radii of :func:`angular_analysis` (metres; ``None`` = radius n)."""

_MEASURES = (
    "node_count",
    "total_depth",
    "mean_depth",
    "integration",
    "choice",
    "nain",
    "nach",
    "harmonic",
)


@dataclass(frozen=True)
class SegmentMap:
    """Street segments and the directed search graph between them.

    Attributes
    ----------
    segments
        GeoDataFrame indexed ``0..N-1`` with ``edge`` (row of the graph's edges),
        ``u``, ``v`` (end nodes), ``length_m`` and the segment's LineString.
    arrays
        The engine's arrays (:class:`~vollsmose_gis.centrality.GraphArrays`): state
        ``2 i + e`` is segment ``i`` travelled towards its end ``e`` (0 = ``u``,
        1 = ``v``); an arc goes from a segment arriving at a junction to another
        segment leaving it, with cost = turn (90 degrees = 1, see the module notes)
        and length = midpoint-to-midpoint distance (metres).
    """

    segments: gpd.GeoDataFrame
    arrays: GraphArrays

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return len(self.segments)


def _unit(dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.hypot(dx, dy)
    return dx / norm, dy / norm


def _angle(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Angle between unit vectors a and b, in units of 90 degrees (0..2)."""
    return np.arctan2(np.abs(ax * by - ay * bx), ax * bx + ay * by) * (2.0 / math.pi)


def _segment_geometry(lines: np.ndarray) -> dict[str, np.ndarray]:
    """Per segment: length, outward unit direction at each end, bend of each half."""
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    n = len(lines)
    # drop repeated consecutive vertices (no direction)
    keep = np.ones(len(coords), dtype=bool)
    same = (owner[1:] == owner[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    keep[1:] = ~same
    coords, owner = coords[keep], owner[keep]
    counts = np.bincount(owner, minlength=n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts - 1
    step = np.hypot(*np.diff(coords, axis=0).T)
    inside = owner[1:] == owner[:-1]  # step i joins vertex i and i+1 of one segment
    step = np.where(inside, step, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(step)])
    start_cum = cum[first]
    along = cum - start_cum[owner]  # arc position of each vertex on its segment
    length = cum[last] - start_cum
    out0x, out0y = _unit(*(coords[np.minimum(first + 1, last)] - coords[first]).T)
    out1x, out1y = _unit(*(coords[np.maximum(last - 1, first)] - coords[last]).T)
    # bends at interior vertices: angle between incoming and outgoing directions
    bend0: np.ndarray = np.zeros(n)
    bend1: np.ndarray = np.zeros(n)
    interior = np.ones(len(coords), dtype=bool)
    interior[first] = False
    interior[last] = False
    idx = np.flatnonzero(interior)
    if len(idx):
        inx, iny = _unit(*(coords[idx] - coords[idx - 1]).T)
        onx, ony = _unit(*(coords[idx + 1] - coords[idx]).T)
        bend = _angle(inx, iny, onx, ony)
        seg = owner[idx]
        half = length[seg] / 2.0
        pos = along[idx]
        w0 = np.where(pos < half, 1.0, np.where(pos > half, 0.0, 0.5))
        bend0 = np.bincount(seg, weights=bend * w0, minlength=n)
        bend1 = np.bincount(seg, weights=bend * (1.0 - w0), minlength=n)
    return {
        "length": length,
        "out0": np.stack([out0x, out0y], axis=1),
        "out1": np.stack([out1x, out1y], axis=1),
        "bend0": bend0,
        "bend1": bend1,
        "counts": counts,
    }


def segment_map(graph: StreetGraph) -> SegmentMap:
    """Build the segment map of a street graph (usually the walk graph).

    Parameters
    ----------
    graph
        A :class:`~vollsmose_gis.network.StreetGraph`; its edges are the segments.
        One-way rules are ignored (a segment map is for pedestrians).

    Returns
    -------
    SegmentMap

    Raises
    ------
    InputError
        No segment of positive length, or a geographic CRS.
    """
    check_projected(graph.crs)
    edges = graph.edges
    lines = shapely.force_2d(edges.geometry.to_numpy())
    geo = _segment_geometry(lines)
    ok = (geo["length"] > 0) & (geo["counts"] >= 2)
    if not ok.any():
        raise InputError("the street graph has no segment of positive length: no segment map")
    kept = np.flatnonzero(ok)
    n = len(kept)
    u = graph.edge_u[kept]
    v = graph.edge_v[kept]
    # lengths as the graph has them (multiples of 1/1024 m: sums are exact)
    length = graph.edge_length_m[kept]
    ends = pd.DataFrame(
        {
            "node": np.concatenate([u, v]),
            "seg": np.concatenate([np.arange(n), np.arange(n)]),
            "end": np.repeat([0, 1], n),
            "ox": np.concatenate([geo["out0"][kept, 0], geo["out1"][kept, 0]]),
            "oy": np.concatenate([geo["out0"][kept, 1], geo["out1"][kept, 1]]),
            "bend": np.concatenate([geo["bend0"][kept], geo["bend1"][kept]]),
        }
    )
    pairs = ends.merge(ends, on="node", suffixes=("_a", "_b"))
    pairs = pairs[pairs["seg_a"].to_numpy() != pairs["seg_b"].to_numpy()]
    seg_a = pairs["seg_a"].to_numpy(np.int64)
    seg_b = pairs["seg_b"].to_numpy(np.int64)
    end_a = pairs["end_a"].to_numpy(np.int64)
    end_b = pairs["end_b"].to_numpy(np.int64)
    # arriving along a (heading = -out_a), leaving along b (heading = out_b)
    turn = 2.0 - _angle(
        pairs["ox_a"].to_numpy(),
        pairs["oy_a"].to_numpy(),
        pairs["ox_b"].to_numpy(),
        pairs["oy_b"].to_numpy(),
    )
    cost = turn + pairs["bend_a"].to_numpy() + pairs["bend_b"].to_numpy()
    cost = np.maximum(np.round(cost / ANGLE_QUANTUM), 0.0) * ANGLE_QUANTUM
    src = 2 * seg_a + end_a
    dst = 2 * seg_b + (1 - end_b)
    arc_length = (length[seg_a] + length[seg_b]) / 2.0
    arrays = _csr(2 * n, src, dst, cost, arc_length, None, 0, False, states_per_item=2)
    segments = gpd.GeoDataFrame(
        {"edge": kept, "u": u, "v": v, "length_m": length},
        geometry=edges.geometry.to_numpy()[kept],
        crs=edges.crs,
    )
    segments.index.name = "segment"
    return SegmentMap(segments, arrays)


def angular_measures(raw: dict[str, np.ndarray], label: str) -> dict[str, np.ndarray]:
    """depthmapX-convention measures of one radius from the engine's raw output.

    Parameters
    ----------
    raw
        Output of :func:`vollsmose_gis.centrality.centralities` with ``kind="angular"``.
    label
        Radius label (``"800"``, ``"n"``).

    Returns
    -------
    dict
        ``node_count`` (NC, origin included), ``total_depth`` (TD, 90 degrees = 1),
        ``mean_depth``, ``integration`` (NC**2 / TD), ``choice`` (ordered pairs),
        ``nain``, ``nach`` and ``harmonic``; see the module notes.
    """
    nc = raw[f"node_count_{label}"] + 1.0
    td = raw[f"farness_{label}"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_depth = np.where(nc > 1, td / (nc - 1), np.nan)
        integration = np.where(td > 0, nc**2 / td, np.nan)
    out = {
        "node_count": nc,
        "total_depth": td,
        "mean_depth": mean_depth,
        "integration": integration,
        "nain": nc**1.2 / (td + 2.0),
        "harmonic": raw[f"harmonic_{label}"],
    }
    key = f"betweenness_{label}"
    if key in raw:
        choice = 2.0 * raw[key]
        out["choice"] = choice
        out["nach"] = np.log(choice + 1.0) / np.log(td + 3.0)
    return out


def angular_analysis(
    source: StreetGraph | SegmentMap,
    radii: Sequence[float | None] = DEFAULT_RADII,
    *,
    choice: bool = True,
    threads: int | None = None,
) -> gpd.GeoDataFrame:
    """Angular integration, choice, NAIN and NACH of every segment, for every radius.

    Parameters
    ----------
    source
        A street graph (its segment map is built) or a :class:`SegmentMap`.
    radii
        Metric radii in metres, ``None`` for radius n (default 400, 800, 1200, 2000, n).
    choice
        Compute choice and NACH (the back-propagation; the rest is cheaper).
    threads
        Number of workers of the engine (default: numba's).

    Returns
    -------
    GeoDataFrame
        The segments (see :class:`SegmentMap`) with, for each radius label ``r``,
        ``node_count_r``, ``total_depth_r``, ``mean_depth_r``, ``integration_r``,
        ``choice_r``, ``nain_r``, ``nach_r`` and ``harmonic_r`` (module notes).

    Raises
    ------
    InputError
        A radius <= 0, or a graph without segments.
    """
    smap = source if isinstance(source, SegmentMap) else segment_map(source)
    rad = _check_radii(radii)
    raw = centralities(smap.arrays, list(rad), kind="angular", betweenness=choice, threads=threads)
    frame = smap.segments.copy()
    for r in rad:
        label = radius_label(float(r))
        for name, values in angular_measures(raw, label).items():
            frame[f"{name}_{label}"] = values
    return frame


def angular_indicators(
    district: District,
    *,
    radii: Sequence[float | None] = (800.0, 2000.0),
    surroundings_m: float = 1000.0,
    threads: int | None = None,
    segments: gpd.GeoDataFrame | None = None,
) -> dict[str, float]:
    """How integrated a district is with its surroundings: mean NAIN inside / outside.

    Parameters
    ----------
    district
        The district: its street network (:func:`vollsmose_gis.network.street_graph`:
        the walkable and drivable streets without sidewalks and crossings drawn as
        separate ways, which would double the street lines of a segment map) and its
        boundary.  Its streets should reach beyond the boundary (an OSM import keeps
        1 km of context by default).
    radii
        Radii of the NAIN compared (metres; ``None`` = n).
    surroundings_m
        The surroundings are the segments outside the boundary whose midpoint lies
        within this distance (metres) of it.
    threads
        Number of workers of the engine.
    segments
        The district's segment analysis at ``radii``, when the caller has it already
        (:func:`angular_analysis` of its street graph); computed here otherwise.

    Returns
    -------
    dict
        For each radius label ``r``: ``nain_inside_r`` (mean NAIN of the segments whose
        midpoint lies inside or on the boundary), ``nain_surroundings_r`` (mean NAIN of
        the surroundings), ``nain_ratio_r`` (inside / surroundings: below 1 the
        estate is less integrated than the streets around it) and ``nach_inside_r``,
        ``nach_ratio_r`` likewise; ``segments_inside`` and ``segments_surroundings``.
        Means are weighted by segment length, so cutting a street into more pieces
        does not change them.  NaN where a group has no segment.
    """
    from vollsmose_gis import network

    graph_of = getattr(network, "street_graph", network.walk_graph)
    if not (math.isfinite(surroundings_m) and surroundings_m > 0):
        raise InputError(
            f"surroundings_m must be a positive number of metres, got {surroundings_m!r}"
        )
    frame = (
        segments
        if segments is not None
        else angular_analysis(graph_of(district), radii, threads=threads)
    )
    mid = shapely.line_interpolate_point(frame.geometry.to_numpy(), 0.5, normalized=True)
    boundary = district.boundary
    inside = shapely.covers(boundary, mid)
    around = ~inside & (shapely.distance(boundary, mid) <= surroundings_m)
    weight = frame["length_m"].to_numpy()
    out: dict[str, Any] = {
        "segments_inside": int(inside.sum()),
        "segments_surroundings": int(around.sum()),
    }

    def mean(values: np.ndarray, mask: np.ndarray) -> float:
        ok = mask & np.isfinite(values)
        return float(np.average(values[ok], weights=weight[ok])) if ok.any() else math.nan

    for r in _check_radii(radii):
        label = radius_label(float(r))
        for name in ("nain", "nach"):
            values = frame[f"{name}_{label}"].to_numpy()
            a, b = mean(values, inside), mean(values, around)
            out[f"{name}_inside_{label}"] = a
            out[f"{name}_surroundings_{label}"] = b
            out[f"{name}_ratio_{label}"] = a / b if b and math.isfinite(b) else math.nan
    return out
