"""Benchmark of the safety analyses (issue 19): natural surveillance and network KDE.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_safety.py [--repeats 3] [--pairs 3000] [--kde-sample 200]

1. **Natural surveillance** on the embedded Vollsmose district at 1 m
   (:func:`vollsmose_gis.safety.surveillance.natural_surveillance`, goal ≤ 10 s),
   against a brute force on the same observer-target pairs: for each pair (an
   observer at its window height, a face at 1.7 m on a path sample, within the
   recognition distance and in front of the facade) a shapely sight line is
   intersected with the building footprints (STRtree), and a building blocks it when
   it rises above the sight line where the line crosses it.  The brute force is timed
   on a random sample of pairs and scaled to all pairs (it is far too slow to run on
   all); the agreement of the two on the sampled pairs is reported (the engine works
   on 1 m cells, the brute force on exact footprints).
2. **Network KDE** of 10,000 incidents on a 50 × 50 street grid (4,900 segments of
   60 m, 10 m lixels, bandwidth 150 m; goal ≤ 5 s) with
   :func:`vollsmose_gis.safety.hotspots.network_kde_values`, against the textbook
   brute force: one full Dijkstra from each incident's two edge ends (no cut-off),
   then the kernel at every lixel of the network.  The brute force is timed on a
   sample of incidents and scaled; the densities of the sample are compared with
   the engine's for the same incidents (they must agree to 1e-9).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np
import shapely
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import box

from vollsmose_gis import District, default_district
from vollsmose_gis.cctv.setup import building_heights
from vollsmose_gis.network import walk_graph
from vollsmose_gis.safety import surveillance as sv
from vollsmose_gis.safety.hotspots import _lixels, network_kde_values, quartic_1d

X0, Y0 = 590_000.0, 6_140_000.0
FACE_Z = 1.7


def _timed(func, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


# ----------------------------------------------------------------- surveillance


def surveillance_pairs(district: District) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """The observer-target pairs the engine tests: reach and facade angle, as ``_seen``."""
    p = sv._params(None)
    facing = sv.facades(district, p)
    obs = sv.observers(facing, p)
    samples = sv.path_samples(district, float(p["path_step_m"]))
    targets = shapely.get_coordinates(samples.geometry.to_numpy())
    distance = float(p["recognition_distance_day_m"])
    ox, oy, oz = (obs[c].to_numpy(dtype=float) for c in ("x", "y", "z"))
    nx_, ny_ = obs["nx"].to_numpy(dtype=float), obs["ny"].to_numpy(dtype=float)
    reach = np.sqrt(np.maximum(distance**2 - (oz - FACE_Z) ** 2, 0.0))
    lists = cKDTree(targets).query_ball_point(np.column_stack([ox, oy]), r=reach)
    owner = np.repeat(np.arange(len(obs)), [len(v) for v in lists])
    target = np.fromiter((t for v in lists for t in v), dtype=np.int64)
    dx, dy = targets[target, 0] - ox[owner], targets[target, 1] - oy[owner]
    cos_limit = math.cos(math.radians(float(p["view_half_angle_deg"])))
    front = (dx * nx_[owner] + dy * ny_[owner]) >= cos_limit * np.hypot(dx, dy)
    return np.column_stack([ox, oy, oz]), targets, np.column_stack([owner, target])[front], p


def brute_force_seen(
    district: District, obs: np.ndarray, targets: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """Per pair: no building rises above the sight line where it crosses (exact polygons)."""
    polys = district.buildings.geometry.to_numpy()
    heights = building_heights(district.buildings).to_numpy(dtype=float)
    tree = shapely.STRtree(polys)
    seen = np.ones(len(pairs), dtype=bool)
    for k, (o, t) in enumerate(pairs):
        (x0, y0, z0), (x1, y1) = obs[o], targets[t]
        line = shapely.LineString([(x0, y0), (x1, y1)])
        length = line.length
        for b in tree.query(line, predicate="intersects"):
            cut = line.intersection(polys[b])
            # the sight line's height is linear along it: its lowest point over the
            # crossing is at one end of the crossing
            along = [line.project(shapely.Point(c)) for c in shapely.get_coordinates(cut)]
            z = [z0 + (FACE_Z - z0) * (a / length if length else 0.0) for a in along]
            if along and heights[b] > min(z):
                seen[k] = False
                break
    return seen


def bench_surveillance(repeats: int, seed: int) -> None:
    district = default_district()
    engine_s, result = _timed(lambda: sv.natural_surveillance(district), repeats)
    obs, targets, pairs, p = surveillance_pairs(district)
    facing = sv.facades(district, p)
    observers = sv.observers(facing, p)
    distance = float(p["recognition_distance_day_m"])
    los_s, seen_engine = _timed(
        lambda: sv._seen(
            observers,
            targets,
            district,
            distance_m=distance,
            half_angle_deg=float(p["view_half_angle_deg"]),
            resolution_m=1.0,
        ),
        repeats,
    )
    brute_s, brute = _timed(lambda: brute_force_seen(district, obs, targets, pairs), 1)
    seen_brute = np.zeros(len(targets), dtype=bool)
    seen_brute[pairs[np.asarray(brute, dtype=bool), 1]] = True
    agree = float(np.mean(seen_brute == np.asarray(seen_engine, dtype=bool)))
    print("natural surveillance, embedded Vollsmose district, 1 m")
    print(f"  path samples {len(targets):,}, observers {len(obs):,}, pairs tested {len(pairs):,}")
    print(f"  whole analysis (median of {repeats}): {engine_s:.2f} s   (goal <= 10 s)")
    print(f"  line of sight only, raster engine (median of {repeats}): {los_s:.2f} s")
    print(f"  line of sight, shapely brute force on exact footprints: {brute_s:.2f} s")
    print(f"  ratio brute force / engine (line of sight): {brute_s / los_s:.2f}")
    print(f"  path samples with the same verdict (seen by any observer): {agree:.2%}")
    print(f"  overlooked share: day {result.share_day:.3f}, night {result.share_night:.3f}")
    del seed


# ------------------------------------------------------------------ network KDE


def grid_district(n: int = 50, block_m: float = 60.0) -> District:
    """An n x n street grid of block_m blocks: 2 n (n - 1) segments."""
    import geopandas as gpd

    rows = []
    for i in range(n):
        for j in range(n - 1):
            for sid, a, b in (
                (
                    f"h{i}_{j}",
                    (X0 + j * block_m, Y0 + i * block_m),
                    (X0 + (j + 1) * block_m, Y0 + i * block_m),
                ),
                (
                    f"v{i}_{j}",
                    (X0 + i * block_m, Y0 + j * block_m),
                    (X0 + i * block_m, Y0 + (j + 1) * block_m),
                ),
            ):
                rows.append(
                    {
                        "street_id": sid,
                        "highway": "residential",
                        "geometry": shapely.LineString([a, b]),
                    }
                )
    streets = gpd.GeoDataFrame(rows, crs="EPSG:25832")
    side = (n - 1) * block_m
    return District.create(
        "grid", box(X0 - 10, Y0 - 10, X0 + side + 10, Y0 + side + 10), streets=streets
    )


def brute_force_kde(graph, edge, along, weight, lix_edge, lix_along, h) -> np.ndarray:
    """Σ_i w_i K(d_i(lixel)/h)/h with full Dijkstra from both ends of each incident's edge."""
    u, v, length = graph.edge_u, graph.edge_v, graph.edge_length_m
    out = np.zeros(len(lix_edge))
    for i in range(len(edge)):
        e, a = int(edge[i]), float(along[i])
        dist = csgraph.dijkstra(graph.csr, directed=True, indices=[int(u[e]), int(v[e])])
        via_u = dist[0] + a
        via_v = dist[1] + (length[e] - a)
        node = np.minimum(via_u, via_v)
        d = np.minimum(
            node[u[lix_edge]] + lix_along, node[v[lix_edge]] + (length[lix_edge] - lix_along)
        )
        own = lix_edge == e
        d[own] = np.minimum(d[own], np.abs(lix_along[own] - a))
        out += weight[i] * quartic_1d(d / h) / h
    return out


def bench_kde(repeats: int, sample_n: int, seed: int) -> None:
    district = grid_district()
    graph = walk_graph(district)
    lix_edge, lix_along, _ = _lixels(graph, 10.0)
    rng = np.random.default_rng(seed)
    n = 10_000
    edge = rng.integers(0, graph.n_edges, n)
    along = rng.random(n) * graph.edge_length_m[edge]
    weight = np.ones(n)
    h = 150.0
    engine_s, _ = _timed(
        lambda: network_kde_values(graph, edge, along, weight, lix_edge, lix_along, h), repeats
    )
    sub = slice(0, sample_n)
    fast_sub = network_kde_values(graph, edge[sub], along[sub], weight[sub], lix_edge, lix_along, h)
    start = time.perf_counter()
    slow_sub = brute_force_kde(graph, edge[sub], along[sub], weight[sub], lix_edge, lix_along, h)
    brute_sample_s = time.perf_counter() - start
    brute_all_s = brute_sample_s * n / sample_n
    diff = float(np.max(np.abs(fast_sub - slow_sub)))
    print(f"network KDE, {n:,} incidents, {graph.n_edges:,} segments, {len(lix_edge):,} lixels")
    print(f"  bandwidth {h:.0f} m, lixels of 10 m")
    print(f"  engine (median of {repeats}): {engine_s:.2f} s   (goal <= 5 s)")
    print(
        f"  brute force: {brute_sample_s:.2f} s for {sample_n} incidents -> "
        f"{brute_all_s:,.0f} s projected for {n:,}"
    )
    print(
        f"  speed-up: {brute_all_s / engine_s:,.0f}x; "
        f"max |engine - brute force| on the sample {diff:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kde-sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    print(
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    bench_kde(args.repeats, args.kde_sample, args.seed)
    bench_surveillance(args.repeats, args.seed)


if __name__ == "__main__":
    main()
