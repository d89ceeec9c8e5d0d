"""Benchmark: the link-opening optimiser on the default (Vollsmose) district.

Run by hand (not part of the test suite)::

    .venv/bin/python benchmarks/bench_optimiser.py [--candidates 250] [--k 10]

1. ``suggest_links(d)`` with default parameters (its own candidates).
2. ``suggest_links(d, candidates=...)`` with >= 250 proposed straight links between
   walk-graph nodes in and around the district (50-400 m, not crossing buildings or
   water), greedy selection of ``k`` links: every round re-evaluates every remaining
   candidate.
3. Baseline in the same run: the naive way - add each candidate to the streets
   layer, rebuild the graph and recompute route directness - timed on a sample and
   extrapolated per candidate evaluation.

Also prints before/after indicators with the top links of run 1 added to the district.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import geopandas as gpd
import numpy as np
import shapely

from vollsmose_gis.connectivity import add_links, home_access, indicators, suggest_links
from vollsmose_gis.network import clear_graph_cache, walk_graph
from vollsmose_gis.sources.vollsmose import default_district


def proposed_links(d, count: int, seed: int) -> gpd.GeoSeries:
    """Straight links between walk-graph nodes near the district, 50-400 m long."""
    graph = walk_graph(d)
    near = shapely.covers(d.boundary.buffer(150), graph.nodes.geometry.to_numpy())
    xy = graph.node_xy[near]
    i, j = np.triu_indices(len(xy), k=1)
    length = np.hypot(*(xy[i] - xy[j]).T)
    keep = (length >= 50) & (length <= 400)
    i, j = i[keep], j[keep]
    segments = shapely.linestrings(np.stack([xy[i], xy[j]], axis=1))
    water = d.landuse.geometry.to_numpy()[(d.landuse["use"] == "water").to_numpy()]
    blocking = np.concatenate([d.buildings.geometry.to_numpy(), water])
    seg_i, block_i = shapely.STRtree(blocking).query(segments, predicate="intersects")
    blocked = np.zeros(len(segments), dtype=bool)
    blocked[seg_i[shapely.relate_pattern(segments[seg_i], blocking[block_i], "T********")]] = True
    segments = segments[~blocked]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(segments), size=min(count, len(segments)), replace=False)
    return gpd.GeoSeries(segments[np.sort(pick)], crs=d.crs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=250)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sample", type=int, default=10, help="naive baseline sample size")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {platform.platform()}")
    d = default_district()
    graph = walk_graph(d)
    print(f"{d.name}: walk graph {graph.n_nodes} nodes, {graph.n_edges} edges")

    start = time.perf_counter()
    own = suggest_links(d, k=args.k)
    t_own = time.perf_counter() - start
    print(f"suggest_links(k={args.k}), own candidates: {own.attrs['candidates_evaluated']} "
          f"candidates, {len(own)} links, {t_own:.2f} s")  # fmt: skip

    proposals = proposed_links(d, args.candidates, args.seed)
    start = time.perf_counter()
    given = suggest_links(d, k=args.k, candidates=proposals)
    t_given = time.perf_counter() - start
    n = given.attrs["candidates_evaluated"]
    print(f"suggest_links(k={args.k}), proposed candidates: {n} candidates, {len(given)} links, "
          f"{t_given:.2f} s (<= 60 s required)")  # fmt: skip

    # Naive baseline: rebuild and re-measure per candidate (first round only).
    base = float(
        np.average(home_access(d)["route_directness"], weights=home_access(d)["dwellings"])
    )
    sample = proposals.iloc[: args.sample]
    start = time.perf_counter()
    naive_gains = []
    for line in sample:
        attrs = {"street_id": ["x"], "highway": ["path"], "walk": [True], "car": [False]}
        link = gpd.GeoDataFrame(attrs, geometry=[line], crs=d.crs)
        clear_graph_cache()
        homes = home_access(add_links(d, link))
        naive_gains.append(base - np.average(homes["route_directness"], weights=homes["dwellings"]))
    t_naive = (time.perf_counter() - start) / len(sample)
    rounds = max(len(given), 1)
    evaluations = n * rounds  # upper bound: every round re-evaluates the remaining ones
    print(f"naive rebuild per candidate: {t_naive * 1000:.0f} ms -> {n} candidates x {rounds} "
          f"rounds ~ {t_naive * evaluations:.0f} s; optimiser {t_given:.2f} s "
          f"({t_naive * evaluations / t_given:.0f} x faster)")  # fmt: skip
    print(f"largest naive gain in the sample: {max(naive_gains):.5f}")

    print("\nbefore/after with the default run's links added:")
    before = indicators(d)
    after = indicators(add_links(d, own))
    for key in ("route_directness", "boundary_crossings_per_km", "dead_end_share",
                "link_node_ratio", "meshedness", "reach_800m", "distance_to_centre_m"):  # fmt: skip
        print(f"  {key:<28s} {before[key].value:12.4f} -> {after[key].value:12.4f}")
    print(own.drop(columns="geometry").to_string())


if __name__ == "__main__":
    main()
