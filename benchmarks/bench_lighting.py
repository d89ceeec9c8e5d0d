"""Benchmark: illuminance raster, windowed per lamp vs brute force over all lamps × cells.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_lighting.py [--repeat 3] [--sub 250]

Scene: a 2 km × 2 km district at 1 m (4,000,000 cells) with 1,000 lamps placed at
random (seeded): 300 road luminaires from the real EULUMDAT file
(../shared/data/photometry/road_luminaire.ldt; 8-12 m, 16,600-33,200 lm, random
rotation, tilt 0/5/10°), 500 generic street lanterns (4-6 m), 150 post tops and 50
bollards.

Baselines, measured in the same run: (1) a brute-force numpy sum over all 1,000 lamps
and all cells, written independently of the module (luminaire frame from scipy
rotations, textbook E = MF · I(C, γ) · cos³γ / H², intensities from the public
``Photometry.intensity``); (2) the module's own vectorised kernel applied to every lamp
and every cell (cutoff 0), which isolates what the per-lamp windows gain.  Over the
full 4 M cells they would take minutes, so they run on sub-windows of ``--sub`` m and
``--sub``/2 m (all 1,000 lamps each; the two show the cost is linear in cells),
and their times are extrapolated to the full raster with the per-cell slope between
the two window sizes (fixed per-call costs are counted once, not scaled).
The values of both methods are compared cell by cell on the large sub-window, against
the documented bound: cutoff_lx × (number of lamps farther than their cutoff radius).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from shapely.geometry import Point, box

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vollsmose_gis import District, Provenance  # noqa: E402
from vollsmose_gis import lighting as lt  # noqa: E402
from vollsmose_gis.lighting import model as lt_model  # noqa: E402
from vollsmose_gis.photometry import generic_photometry, read_photometry  # noqa: E402

SHARED = Path(os.environ.get("VOLLSMOSE_GIS_SHARED", REPO.parent / "shared"))
LDT = SHARED / "data" / "photometry" / "road_luminaire.ldt"
X0, Y0, SIDE = 590_000.0, 6_140_000.0, 2_000.0


def scene(seed: int = 7) -> District:
    """1,000 lamps over 2 km × 2 km (see the module docstring)."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    kinds = ["file"] * 300 + ["street_lantern"] * 500 + ["post_top"] * 150 + ["bollard"] * 50
    rows = []
    for k, kind in enumerate(kinds):
        x, y = X0 + rng.uniform(0, SIDE), Y0 + rng.uniform(0, SIDE)
        if kind == "file":
            row = dict(lumens=float(rng.choice([16_600.0, 24_900.0, 33_200.0])),
                       height_m=float(rng.uniform(8, 12)), distribution="photometry_file",
                       photometry_file=str(LDT), rotation_deg=float(rng.uniform(0, 360)),
                       tilt_deg=float(rng.choice([0.0, 5.0, 10.0])), watts=None)  # fmt: skip
        else:
            height = {"street_lantern": (4, 6), "post_top": (3.5, 4.5), "bollard": (0.9, 1.1)}
            lumens = {"street_lantern": (2000, 4000), "post_top": (1500, 3000),
                      "bollard": (600, 1000)}  # fmt: skip
            row = dict(lumens=float(rng.uniform(*lumens[kind])),
                       height_m=float(rng.uniform(*height[kind])), distribution=kind,
                       photometry_file=None, rotation_deg=0.0, tilt_deg=0.0,
                       watts=None)  # fmt: skip
        rows.append(dict(light_id=f"L{k:04d}", maintenance_factor=0.8, xy=(x, y), **row))
    lights = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "xy"} for r in rows],
        geometry=[Point(r["xy"]) for r in rows], crs="EPSG:25832",
    )  # fmt: skip
    return District.create(
        "benchmark", box(X0, Y0, X0 + SIDE, Y0 + SIDE), crs="EPSG:25832",
        provenance=Provenance(source="benchmarks/bench_lighting.py", licence="CC0",
                              kind="schematic"),
        lights=lights,
    )  # fmt: skip


def _frames(d: District) -> list[tuple[object, float, float, float, np.ndarray, np.ndarray,
                                        np.ndarray, float, float]]:  # fmt: skip
    """Per lamp: photometry, x, y, H, C0 / C90' / axis unit vectors, lumens, MF.

    The luminaire frame is built with scipy rotations: tilt turns the lamp about its
    C0-C180 axis, taking the downward axis towards C90.
    """
    cache: dict[str, object] = {}
    out = []
    for row, geom in zip(d.lights.itertuples(), d.lights.geometry, strict=True):
        key = row.photometry_file if row.distribution == "photometry_file" else row.distribution
        if key not in cache:
            cache[key] = (read_photometry(key) if row.distribution == "photometry_file"
                          else generic_photometry(key))  # fmt: skip
        b = math.radians(row.rotation_deg)
        c0 = np.array([math.sin(b), math.cos(b), 0.0])  # C0 on the map (bearing b)
        c90 = np.array([-math.cos(b), math.sin(b), 0.0])  # 90° counter-clockwise of C0
        turn = Rotation.from_rotvec(math.radians(row.tilt_deg) * c0)
        axis, side = turn.apply([0.0, 0.0, -1.0]), turn.apply(c90)
        out.append((cache[key], geom.x, geom.y, row.height_m, c0, side, axis, row.lumens,
                    row.maintenance_factor))  # fmt: skip
    return out


def brute_force(frames: list, window: tuple[float, float, float, float]) -> np.ndarray:  # type: ignore[type-arg]
    """Sum over every lamp and every 1 m cell of ``window`` (independent of lighting.py)."""
    minx, miny, maxx, maxy = window
    xs = minx + 0.5 + np.arange(int(maxx - minx))
    ys = maxy - 0.5 - np.arange(int(maxy - miny))
    gx, gy = np.meshgrid(xs, ys)
    total = np.zeros_like(gx)
    for photometry, x, y, h, c0, side, axis, lumens, mf in frames:
        dx, dy = gx - x, gy - y
        v = np.stack([dx, dy, np.full_like(dx, -h)], axis=-1)
        dist = np.linalg.norm(v, axis=-1)
        gamma_local = np.degrees(np.arccos(np.clip(v @ axis / dist, -1, 1)))
        c_local = np.degrees(np.arctan2(v @ side, v @ c0)) % 360
        intensity = photometry.intensity(c_local, gamma_local) * lumens / 1000
        gamma = np.arctan(np.hypot(dx, dy) / h)  # angle of incidence on the ground
        total += mf * intensity * np.cos(gamma) ** 3 / h**2
    return total


def far_lamps(d: District, window: tuple[float, float, float, float], cutoff_lx: float
              ) -> np.ndarray:  # fmt: skip
    """Per cell, the number of lamps farther than their cutoff radius (for the bound)."""
    minx, miny, maxx, maxy = window
    gx, gy = np.meshgrid(minx + 0.5 + np.arange(int(maxx - minx)),
                         maxy - 0.5 - np.arange(int(maxy - miny)))  # fmt: skip
    far = np.zeros_like(gx)
    for lamp in lt_model._lamps(d.lights, cutoff_lx=cutoff_lx, photometry_dir=None):
        far += np.hypot(gx - lamp.x, gy - lamp.y) > lamp.radius_m
    return far


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the raster")
    parser.add_argument("--sub", type=int, default=250, help="brute-force sub-window side, m")
    args = parser.parse_args()
    if not LDT.is_file():
        raise SystemExit(f"photometry file not found: {LDT}")
    d = scene()
    cutoff = lt_model._cutoff(None)

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        raster = lt.illuminance_raster(d, resolution_m=1.0)
        times.append(time.perf_counter() - t)
    windowed = statistics.median(times)
    cells = raster.array.size

    side = args.sub
    sub_x, sub_y = X0 + 900.0, Y0 + 900.0
    frames = _frames(d)
    sizes = (side // 2, side)
    brute_times = {}
    for s in sizes:
        window = (sub_x, sub_y, sub_x + s, sub_y + s)
        t = time.perf_counter()
        exact = brute_force(frames, window)
        brute_times[s] = time.perf_counter() - t
    # the strictest baseline: the module's own vectorised kernel, every lamp on every
    # cell (cutoff 0 makes each lamp's window the whole sub-window); median of 3
    kernel_times = {}
    for s in sizes:
        window = (sub_x, sub_y, sub_x + s, sub_y + s)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            kernel_all = lt.illuminance_raster(d, resolution_m=1.0, window=window, cutoff_lx=0.0)
            runs.append(time.perf_counter() - t)
        kernel_times[s] = statistics.median(runs)
    kernel_diff = np.abs(kernel_all.array.astype(float) - exact)

    def scaled(times: dict[int, float]) -> float:
        """Extrapolate to the full raster with the per-cell slope (fixed costs once)."""
        small, large = sizes
        slope = (times[large] - times[small]) / (large * large - small * small)
        return times[large] + slope * (cells - large * large)

    brute_full = scaled(brute_times)
    kernel_full = scaled(kernel_times)

    # compare on the large sub-window
    col0, row0 = int(sub_x - X0), int(Y0 + SIDE - (sub_y + side))
    ours = raster.array[row0 : row0 + side, col0 : col0 + side].astype(float)
    diff = np.abs(ours - exact)
    bound = cutoff * far_lamps(d, (sub_x, sub_y, sub_x + side, sub_y + side), cutoff)
    float32_slack = 1e-6 * np.maximum(exact, 1.0)
    within = bool(np.all(diff <= bound + float32_slack))

    lamps = lt_model._lamps(d.lights, cutoff_lx=cutoff, photometry_dir=None)
    radii = np.array([lamp.radius_m for lamp in lamps])
    pairs = sum((2 * r + 1) ** 2 for r in radii)  # upper bound of evaluated (lamp, cell) pairs
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    print(f"scene: {len(d.lights)} lamps, {cells:,} cells (2 km × 2 km at 1 m), "
          f"cutoff {cutoff:g} lx; cutoff radius median {np.median(radii):.1f} m, "
          f"max {radii.max():.1f} m; ≤ {pairs / 1e6:.0f} M lamp-cell pairs evaluated")  # fmt: skip
    print(f"windowed raster: median {windowed:.2f} s of {args.repeat} runs "
          f"({', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip
    for s in sizes:
        print(f"{s} m × {s} m ({s * s:,} cells × {len(d.lights)} lamps): independent brute "
              f"force {brute_times[s]:.2f} s, module kernel on all pairs "
              f"{kernel_times[s]:.2f} s")  # fmt: skip
    print(f"independent brute force extrapolated to {cells:,} cells: {brute_full:.0f} s; "
          f"speed-up {brute_full / windowed:.0f}×")  # fmt: skip
    print(f"module kernel on all lamps × all cells extrapolated: {kernel_full:.0f} s; "
          f"speed-up {kernel_full / windowed:.0f}×; max |diff| to the independent brute "
          f"force {kernel_diff.max():.1e} lx")  # fmt: skip
    print(f"values on the {side} m window: max |diff| {diff.max():.2e} lx, mean {diff.mean():.2e}"
          f" lx; documented bound max {bound.max():.2f} lx; within bound: {within}")  # fmt: skip
    print(f"mean illuminance {raster.array.mean():.3f} lx, max {raster.array.max():.1f} lx")


if __name__ == "__main__":
    main()
