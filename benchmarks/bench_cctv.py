"""Benchmark of vollsmose_gis.cctv: viewsheds of 200 cameras over 2 km x 2 km at 1 m.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_cctv.py [--subset 12] [--seed 7]

It builds a synthetic district (2,000 rotated rectangular buildings, 3-40 m high, a
street grid, 200 cameras of mixed lenses and resolutions on facades and poles), then

1. times :func:`vollsmose_gis.cctv.viewsheds` end to end (rasterisation, line of
   sight, density, levels, combined and per-camera polygons) against the 10 s target;
2. times the line of sight of a subset of cameras against a brute force: for every
   target cell, a shapely segment from the camera to the cell centre is intersected
   with the building polygons (the footprints as rasterised, polygonised with
   ``rasterio.features.shapes``), found through an STRtree, and the building blocks
   the cell if it rises above the sight line anywhere on the intersection.  Both share
   the target selection (field of view, reach); the visibility must be identical;
3. reports how much the raster model differs from the same brute force against the
   original (unrasterised) footprint polygons: the discretisation error of 1 m cells;
4. runs the module on the embedded Vollsmose district when it exists.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from shapely.geometry import LineString, Point, box

from vollsmose_gis import District, Provenance, cctv
from vollsmose_gis.cctv.visibility import _cameras_for, _occluders, _study_grid, _views

X0, Y0 = 590_000.0, 6_140_000.0
SIZE = 2_000.0


def synthetic_district(seed: int, n_buildings: int = 2000, n_cameras: int = 200) -> District:
    """A 2 km x 2 km district: buildings, streets every 100 m, cameras in open space."""
    rng = np.random.default_rng(seed)
    footprints, heights = [], []
    while len(footprints) < n_buildings:
        x, y = rng.uniform(X0, X0 + SIZE - 40), rng.uniform(Y0, Y0 + SIZE - 40)
        if (x - X0) % 100 < 12 or (y - Y0) % 100 < 12:
            continue  # keep the streets open
        b = shapely.affinity.rotate(
            box(x, y, x + rng.uniform(10, 45), y + rng.uniform(8, 14)), rng.uniform(0, 180)
        )
        footprints.append(b)
        heights.append(float(rng.choice([4.0, 7.0, 12.0, 18.0, 30.0, 40.0])))
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"b{i}" for i in range(n_buildings)],
            "use": "residential",
            "height_m": heights,
        },
        geometry=footprints,
        crs="EPSG:25832",
    )
    lines = [LineString([(X0 + k, Y0), (X0 + k, Y0 + SIZE)]) for k in range(6, 2000, 100)]
    lines += [LineString([(X0, Y0 + k), (X0 + SIZE, Y0 + k)]) for k in range(6, 2000, 100)]
    streets = gpd.GeoDataFrame(
        {
            "street_id": [f"s{i}" for i in range(len(lines))],
            "highway": "residential",
            "walk": True,
            "tunnel": False,
            "width_m": 6.0,
        },
        geometry=lines,
        crs="EPSG:25832",
    )
    union = shapely.union_all(footprints)
    cams: list[dict[str, Any]] = []
    lenses = [(90.0, 1920), (90.0, 3840), (60.0, 2560), (110.0, 1920), (360.0, 3840)]
    while len(cams) < n_cameras:
        p = Point(rng.uniform(X0, X0 + SIZE), rng.uniform(Y0, Y0 + SIZE))
        if union.contains(p):
            continue
        hfov, px = lenses[len(cams) % len(lenses)]
        cams.append(
            {
                "camera_id": f"C{len(cams)}",
                "height_m": float(rng.uniform(3.0, 8.0)),
                "heading_deg": float(rng.uniform(0, 360)),
                "hfov_deg": hfov,
                "resolution_px": px,
                "tilt_deg": -10.0,
                "geometry": p,
            }
        )
    cameras = gpd.GeoDataFrame(cams, geometry="geometry", crs="EPSG:25832")
    return District.create(
        "bench",
        box(X0, Y0, X0 + SIZE, Y0 + SIZE),
        provenance=Provenance(source="benchmarks/bench_cctv.py", licence="CC0", kind="schematic"),
        buildings=buildings,
        streets=streets,
        cameras=cameras,
    )


def brute_force(polygons: np.ndarray, heights: np.ndarray, grid: Any) -> Any:
    """A per-cell line-of-sight check against polygons, in the signature of _views."""
    tree = shapely.STRtree(polygons)

    def line_of_sight(
        cam_x: np.ndarray,
        cam_y: np.ndarray,
        cam_z: np.ndarray,
        owner: np.ndarray,
        target_x: np.ndarray,
        target_y: np.ndarray,
        occ: Any,
        *,
        res: float,
        target_z: float,
        clearance_m: float,
    ) -> np.ndarray:
        seen = np.ones(len(target_x), dtype=bool)
        for i in range(len(target_x)):
            o = owner[i]
            cx, cy = grid.xmin + cam_x[o] * res, grid.ymax - cam_y[o] * res
            tx, ty = grid.xmin + target_x[i] * res, grid.ymax - target_y[i] * res
            length = math.hypot(tx - cx, ty - cy)
            if length <= clearance_m:
                continue
            t0 = clearance_m / length
            segment = LineString([(cx + t0 * (tx - cx), cy + t0 * (ty - cy)), (tx, ty)])
            for j in tree.query(segment, predicate="intersects"):
                xy = shapely.get_coordinates(shapely.intersection(segment, polygons[j]))
                t = ((xy[:, 0] - cx) * (tx - cx) + (xy[:, 1] - cy) * (ty - cy)) / length**2
                if heights[j] > (cam_z[o] + (target_z - cam_z[o]) * t).min():
                    seen[i] = False
                    break
        return seen

    return line_of_sight


def compare(d: District, subset: int) -> None:
    """Fast line of sight vs the brute force on ``subset`` cameras."""
    levels = np.array(list(cctv.dori_levels().values()))
    cams = _cameras_for(cctv.camera_setup(d))
    grid, cams = _study_grid(d, cams, levels[0], 1.0, 1.7)
    occ = _occluders(d.buildings, grid)
    step = max(1, len(cams) // subset)
    sample = cams[::step][:subset]
    shapes = list(
        rasterio.features.shapes(occ.height, mask=occ.height > 0, transform=grid.transform)
    )
    raster_polys = np.array([shapely.geometry.shape(g) for g, _ in shapes])
    raster_heights = np.array([v for _, v in shapes])
    kw: dict[str, Any] = dict(min_code=1, target_z=1.7, clearance_m=1.0)

    runs = 3
    start = time.perf_counter()
    for _ in range(runs):
        fast = _views(sample, grid, occ, levels, **kw)
    t_fast = (time.perf_counter() - start) / runs
    start = time.perf_counter()
    brute = _views(
        sample,
        grid,
        occ,
        levels,
        line_of_sight=brute_force(raster_polys, raster_heights, grid),
        **kw,
    )
    t_brute = time.perf_counter() - start
    cells = sum(v.candidates for v in fast)
    differ = sum(len(np.setxor1d(a.cells, b.cells)) for a, b in zip(fast, brute, strict=True))
    print(f"\nline of sight on {len(sample)} cameras, {cells} candidate cells:")
    print(f"  fast (batched numpy)           {t_fast * 1000:8.1f} ms")
    print(f"  brute force (shapely per cell) {t_brute * 1000:8.1f} ms")
    print(f"  speed-up                       {t_brute / t_fast:8.1f} x")
    print(f"  cells whose visibility differs {differ} of {cells}")

    vector = brute_force(
        d.buildings.geometry.to_numpy(), cctv.building_heights(d.buildings).to_numpy(), grid
    )
    exact = _views(sample, grid, occ, levels, line_of_sight=vector, **kw)
    differ_v = sum(len(np.setxor1d(a.cells, b.cells)) for a, b in zip(fast, exact, strict=True))
    print(
        f"  vs the unrasterised footprints: {differ_v} of {cells} cells differ "
        f"({differ_v / max(cells, 1):.2%}, 1 m discretisation)"
    )


def full_run(d: District) -> None:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = cctv.viewsheds(d)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    cctv.coverage(d, result)
    t_cov = time.perf_counter() - start
    rows, cols = result.levels.array.shape
    print(
        f"viewsheds: {len(d.cameras)} cameras, {len(d.buildings)} buildings, "
        f"{rows} x {cols} cells at 1 m: best {min(times):.2f} s, worst {max(times):.2f} s "
        f"of 3 (target <= 10 s); coverage {t_cov:.2f} s"
    )
    print(f"  polygons: {len(result.zones)} zones, {len(result.viewsheds)} camera-level rows")


def default_district_run() -> None:
    try:
        from vollsmose_gis.sources.vollsmose import default_district
    except ImportError:
        print("\nembedded Vollsmose district: not available yet")
        return
    d = default_district()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        result = cctv.viewsheds(d)
        t_view = time.perf_counter() - start
    print(f"\nVollsmose ({len(d.cameras)} cameras, {len(d.buildings)} buildings): {t_view:.2f} s")
    for w in caught:
        print(f"  warning: {w.message}")
    table = cctv.coverage(d, result)
    print(table.to_string(index=False))
    for name, ind in cctv.indicators(d, result=result).items():
        print(f"  {name} = {ind.value:.3f} {ind.unit}")
    start = time.perf_counter()
    plan = cctv.plan_cameras(d, k=5)
    print(
        f"  plan (greedy, {plan.attrs['candidates']} facade/lamp candidates, "
        f"{time.perf_counter() - start:.1f} s): gains m2 "
        f"{plan['marginal_gain_m2'].round(0).tolist()}, covered share "
        f"{plan['covered_share'].round(4).tolist()}"
    )
    # greedy vs the optimum on a small case: lamp posts and facades near the square
    centre = shapely.MultiPoint(list(d.cameras.geometry)).centroid
    cands = cctv.camera_candidates(d)
    near = cands[cands.geometry.distance(centre) < 100]
    near = near.iloc[:: max(1, len(near) // 24)].head(24)  # spread out, overlapping views
    for k in (2, 3, 4):
        greedy = cctv.plan_cameras(d, candidates=near, k=k, level="detection")
        best = cctv.plan_cameras(d, candidates=near, k=k, level="detection", method="exhaustive")
        g, o = greedy["cumulative_gain_m2"].iloc[-1], best["cumulative_gain_m2"].iloc[-1]
        print(
            f"  greedy vs optimum, {len(near)} candidates near the square, k={k}, detection: "
            f"{g:.0f} / {o:.0f} m2 = {g / o:.1%}"
        )


def real_extract_run() -> None:
    """Issue 17: camera placement on an imported extract with context beyond the boundary."""
    from pathlib import Path

    from vollsmose_gis.sources.osm import district_from_osm

    path = (
        Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "aguascalientes.osm.pbf"
    )
    if not path.exists():
        print(f"\nreal extract: {path} not found")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = district_from_osm(path, crs="auto")
    minx, _, maxx, maxy = d.buildings.total_bounds
    north = d.replace(boundary=box(minx, maxy + 8, maxx, maxy + 208))
    for k in (1, 5):
        start = time.perf_counter()
        plan = cctv.plan_cameras(north, k=k, level="detection")
        print(
            f"\naguascalientes, boundary north of the buildings, k={k}: {len(plan)} placed in "
            f"{time.perf_counter() - start:.2f} s; {plan.summary['candidates']} candidates "
            f"within reach, {plan.summary['candidates_out_of_reach']} left out "
            f"(before the fix: IndexError); unmet: {plan.unmet or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subset", type=int, default=12, help="cameras for the brute force")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    d = synthetic_district(args.seed)
    full_run(d)
    compare(d, args.subset)
    default_district_run()
    real_extract_run()


if __name__ == "__main__":
    main()
