"""Benchmark: walking catchments and nearest POIs of every home, shared multi-source
Dijkstra (vollsmose-gis) against one networkx search per home.

Run by hand (not part of the test suite)::

    .venv/bin/python benchmarks/bench_mix.py [--repeat 3] [--grid 0]

On the embedded default district (every home, context included: 1,928 buildings with
dwellings), times in the same process and on the same cached walk graph:

- :func:`vollsmose_gis.mix.home_catchments` (400 and 800 m: dwellings, tenure and
  dwelling-type diversity, land-use entropy, jobs) — one multi-source
  ``scipy.sparse.csgraph.dijkstra`` call with ``limit=800`` from the street nodes of
  all homes;
- :func:`vollsmose_gis.mix.poi_access` (nearest destination of each of 14 kinds: the
  POIs, and for green space also the edge and entrance points of green land-use
  polygons, :func:`vollsmose_gis.mix.green_space_access_points`) — one Dijkstra per
  kind from a virtual source;
- :func:`vollsmose_gis.mix.analyse_mix` (everything, as the CLI runs it);
- the baseline: for every home, ``networkx.single_source_dijkstra_path_length`` from
  both ends of its street piece (cut off at 800 m for the catchments, uncut for the
  nearest POIs), then the same vectorised numpy bookkeeping per home;

and checks that both give the same catchment sums and nearest distances.
``--grid N`` runs the same comparison on a synthetic N x N grid town instead (homes
on every block), to see how the two scale.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
from shapely.geometry import LineString, Point, box

import vollsmose_gis
from vollsmose_gis import District, Provenance
from vollsmose_gis.mix import (
    RADIUS_TOLERANCE_M,
    MixWarning,
    _access_kinds,
    analyse_mix,
    green_space_access_points,
    home_catchments,
    poi_access,
)
from vollsmose_gis.network import walk_graph


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def grid_town(side: int, spacing: float = 100.0, seed: int = 1) -> District:
    """A side x side street grid with four homes per block and random POIs."""
    rng = np.random.default_rng(seed)
    extent = (side - 1) * spacing
    streets = [
        {"street_id": f"h{i}", "highway": "residential",
         "geometry": LineString([(0, i * spacing), (extent, i * spacing)])}
        for i in range(side)
    ] + [
        {"street_id": f"v{i}", "highway": "residential",
         "geometry": LineString([(i * spacing, 0), (i * spacing, extent)])}
        for i in range(side)
    ]  # fmt: skip
    tenures = ["almen_family", "owner_occupied", "private_rental", "cooperative"]
    buildings = []
    for i in range(side - 1):
        for j in range(side - 1):
            for k, (dx, dy) in enumerate(((25, 25), (75, 25), (25, 75), (75, 75))):
                x, y = i * spacing + dx, j * spacing + dy
                use = "retail" if rng.random() < 0.05 else "residential"
                buildings.append({
                    "building_id": f"b{i}_{j}_{k}", "use": use,
                    "dwellings": 0 if use == "retail" else int(rng.integers(4, 40)),
                    "tenure": None if use == "retail" else tenures[int(rng.integers(4))],
                    "dwelling_type": None if use == "retail" else "flat",
                    "floor_area_m2": 1200.0, "jobs": 20 if use == "retail" else 0,
                    "geometry": box(x - 10, y - 10, x + 10, y + 10),
                })  # fmt: skip
    kinds, _, _ = _access_kinds()
    pois = [
        {"poi_id": f"p{n}", "kind": kinds[n % len(kinds)],
         "geometry": Point(rng.uniform(0, extent), rng.uniform(0, extent))}
        for n in range(side * side // 4)
    ]  # fmt: skip
    crs = "EPSG:25832"
    return District.create(
        f"grid town {side}x{side}",
        box(0, 0, extent, extent),
        crs=crs,
        provenance=Provenance(source="benchmarks/bench_mix.py", kind="schematic"),
        streets=gpd.GeoDataFrame(streets, crs=crs),
        buildings=gpd.GeoDataFrame(buildings, crs=crs),
        pois=gpd.GeoDataFrame(pois, crs=crs),
    )


def per_home_networkx(d: District, radii: tuple[float, ...]) -> dict[str, np.ndarray]:
    """The baseline: one networkx search (from both edge ends) per home."""
    graph = walk_graph(d)
    nxg = graph.to_networkx()
    b = d.buildings
    max_access = 250.0
    dwell = b["dwellings"].fillna(0).to_numpy(dtype=float)
    homes = graph.snap(b.geometry[dwell > 0], max_distance_m=max_access)
    targets = graph.snap(b.geometry, max_distance_m=max_access)
    t_ok = targets.valid
    t_len = graph.edge_length_m[np.where(t_ok, targets.edge, 0)]
    own = np.flatnonzero(dwell > 0)
    kinds, _, _ = _access_kinds()
    green = green_space_access_points(d)  # green polygons: destinations of kind green_space
    poi_geoms = np.concatenate([d.pois.geometry.to_numpy(), green.geometry.to_numpy()])
    poi_snap = graph.snap(poi_geoms, max_distance_m=max_access)
    poi_kind = np.concatenate(
        [d.pois["kind"].astype(str).to_numpy(), green["kind"].astype(str).to_numpy()]
    )
    out = {f"dwellings_{r:g}m": np.full(len(own), np.nan) for r in radii}
    out.update({f"dist_{k}_m": np.full(len(own), np.nan) for k in kinds})
    n = graph.n_nodes

    def node_row(i: int, cutoff: float | None) -> np.ndarray:
        row = np.full(n, np.inf)
        legs = ((homes.u[i], homes.along_m[i]),
                (homes.v[i], graph.edge_length_m[homes.edge[i]] - homes.along_m[i]))  # fmt: skip
        for node, leg in legs:
            reached = nx.single_source_dijkstra_path_length(
                nxg, int(node), cutoff=cutoff, weight="length_m"
            )
            idx = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
            val = np.fromiter(reached.values(), dtype=float, count=len(reached)) + leg
            row[idx] = np.minimum(row[idx], val)
        return row

    def to_points(i: int, row: np.ndarray, pts: Any, lengths: np.ndarray) -> np.ndarray:
        dist = np.minimum(row[pts.u] + pts.along_m, row[pts.v] + lengths - pts.along_m)
        same = pts.edge == homes.edge[i]
        dist = np.where(same, np.minimum(dist, np.abs(pts.along_m - homes.along_m[i])), dist)
        return dist + pts.offset_m + homes.offset_m[i]

    for i in np.flatnonzero(homes.valid):
        row = node_row(i, max(radii))
        dist = np.full(len(b), np.inf)
        dist[t_ok] = to_points(i, row, _sub(targets, t_ok), t_len[t_ok])
        dist[own[i]] = 0.0
        for r in radii:
            out[f"dwellings_{r:g}m"][i] = dwell[dist <= r + RADIUS_TOLERANCE_M].sum()
        full = node_row(i, None)
        for kind in kinds:
            mask = (poi_kind == kind) & poi_snap.valid
            if mask.any():
                sub = _sub(poi_snap, mask)
                best = to_points(i, full, sub, graph.edge_length_m[sub.edge]).min()
                out[f"dist_{kind}_m"][i] = best if np.isfinite(best) else np.nan
    return out


def _sub(points: Any, mask: np.ndarray) -> Any:
    fields = points.__dataclass_fields__
    return type(points)(*(getattr(points, name)[mask] for name in fields))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grid", type=int, default=0, help="synthetic N x N grid town")
    args = parser.parse_args()
    warnings.simplefilter("ignore", MixWarning)
    d = grid_town(args.grid) if args.grid else vollsmose_gis.default_district()
    graph = walk_graph(d)  # shared and cached: built once, outside every timing
    homes = int((d.buildings["dwellings"].fillna(0) > 0).sum())
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    print(
        f"district: {d.name}; {homes} homes, {len(d.buildings)} buildings, {len(d.pois)} POIs; "
        f"walk graph {graph.n_nodes} nodes, {graph.n_edges} edges"
    )
    radii = (400.0, 800.0)
    t_catch, catch = timed(lambda: home_catchments(d, radii_m=radii), args.repeat)
    t_access, access = timed(lambda: poi_access(d), args.repeat)
    t_all, _ = timed(lambda: analyse_mix(d), args.repeat)
    start = time.perf_counter()
    base = per_home_networkx(d, radii)
    t_base = time.perf_counter() - start
    worst = 0.0
    for name, expected in base.items():
        got = (catch if name.startswith("dwellings") else access)[name].to_numpy(dtype=float)
        both = np.isfinite(got) & np.isfinite(expected)
        assert np.array_equal(np.isfinite(got), np.isfinite(expected)), name
        if both.any():
            diff = np.abs(got[both] - expected[both]) / np.maximum(np.abs(expected[both]), 1)
            worst = max(worst, float(diff.max()))
    ours = t_catch + t_access
    print(f"home_catchments (400+800 m, all homes):  {t_catch:8.3f} s  (median of {args.repeat})")
    print(f"poi_access (nearest of {len(_access_kinds()[0])} kinds):        {t_access:8.3f} s")
    print(f"analyse_mix (everything):                {t_all:8.3f} s")
    print(f"baseline: networkx search per home:      {t_base:8.3f} s  (one run)")
    print(f"speed-up catchments + access vs baseline: {t_base / ours:7.1f} x")
    print(f"results identical: max relative difference {worst:.2e}")


if __name__ == "__main__":
    main()
