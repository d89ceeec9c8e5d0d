"""Benchmark of many areas on Dask: areas/minute with 1 and 2 workers, memory per worker.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_batch.py [--copies 4] [--areas 8] [--context-m 300]

Data: the real extract ``../shared/data/osm/aguascalientes.osm.pbf`` (3,083 nodes, about
1.7 × 1.4 km) written ``copies × copies`` times side by side into one "region" PBF (ids
and coordinates shifted, as in ``bench_osm_import.py``).  One area per copy: the
copy's central half (about 0.85 × 0.7 km, a housing estate's size), so the areas are
alike and disjoint and each is imported with ``--context-m`` of context.

Measured in one run, on the same areas and outputs:

1. the extraction alone (:func:`vollsmose_gis.batch.extract_areas`, one streaming read
   for all areas);
2. :func:`vollsmose_gis.batch.run_batch` with every scored module on a ``LocalCluster``
   of 1 worker process, then of 2 (cluster start-up outside the timing, a fresh output
   folder each: nothing cached), best of ``--repeat`` runs each;
3. the sequential reference (``workers=0``, in this process) for the same areas.

Reported: wall time, areas/minute, the speed-up of 2 workers over 1 (the ratio of the
two runs), the mean task time per area, and the peak resident memory of each worker
process (``ru_maxrss`` after its last area).  With ``--scaling`` the 1-worker run is
repeated on half the areas, to show that the peak per worker follows the largest area,
not the number of areas.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import geopandas as gpd
import osmium
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_osm_import import tiled_copies  # noqa: E402

from vollsmose_gis.batch import extract_areas, run_batch  # noqa: E402
from vollsmose_gis.batch.areas import EXTRACT_SLACK_M  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "osm" / "aguascalientes.osm.pbf"


def copy_areas(copies: int, count: int) -> gpd.GeoDataFrame:
    """The central half of each of the first ``count`` copies, in UTM 13N."""
    header = osmium.FileProcessor(str(SOURCE)).header.box()
    west, south = header.bottom_left.lon, header.bottom_left.lat
    width = header.top_right.lon - west
    height = header.top_right.lat - south
    cells = [(i, j) for i in range(copies) for j in range(copies)][:count]
    geoms = [
        box(west + (i + 0.25) * width, south + (j + 0.25) * height,
            west + (i + 0.75) * width, south + (j + 0.75) * height)
        for i, j in cells
    ]  # fmt: skip
    ids = [f"c{i}{j}" for i, j in cells]
    frame = gpd.GeoDataFrame(
        {"id": ids, "name": [f"Copy {i}-{j}" for i, j in cells]}, geometry=geoms, crs="EPSG:4326"
    )
    return frame.to_crs("EPSG:32613")


def on_cluster(
    areas: gpd.GeoDataFrame, pbf: Path, out: Path, workers: int, context_m: float,
    repeat: int = 1,
) -> tuple[float, object]:  # fmt: skip
    """Best of ``repeat`` runs on fresh LocalClusters of ``workers`` processes (start-up
    excluded), each into a fresh output folder.
    """
    runs = [_on_cluster(areas, pbf, out / f"run{k}", workers, context_m) for k in range(repeat)]
    return min(runs, key=lambda run: run[0])


def _on_cluster(
    areas: gpd.GeoDataFrame, pbf: Path, out: Path, workers: int, context_m: float
) -> tuple[float, object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, memory_limit="2GiB",
            dashboard_address=":0", silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):  # fmt: skip
        client.wait_for_workers(workers)
        start = time.perf_counter()
        result = run_batch(areas, pbf, out=out, client=client, context_m=context_m)
        return time.perf_counter() - start, result


def report(label: str, seconds: float, result) -> None:
    outcomes = result.outcomes
    ok = [o for o in outcomes if o.status == "ok"]
    peak: dict[str, float] = {}
    for o in ok:
        peak[o.worker or "this process"] = max(peak.get(o.worker or "this process", 0.0),
                                               o.peak_rss_mb)  # fmt: skip
    task = sum(o.seconds for o in ok) / max(len(ok), 1)
    peaks = ", ".join(f"{v:,.0f}" for v in sorted(peak.values()))
    print(
        f"| {label} | {len(ok)}/{len(outcomes)} | {seconds:.1f} s | "
        f"{60 * len(ok) / seconds:.1f} | {task:.2f} s | {peaks} MiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies per side of the region")
    parser.add_argument("--areas", type=int, default=8, help="areas (one per copy)")
    parser.add_argument("--context-m", type=float, default=300.0, help="context per area (m)")
    parser.add_argument("--scaling", action="store_true", help="also 1 worker on half the areas")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per engine")
    args = parser.parse_args()
    if args.areas > args.copies**2:
        parser.error("--areas must be at most copies²")
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    print(
        f"{platform.system()} {platform.release()} {platform.machine()}, Python "
        f"{platform.python_version()}, dask {version('dask')}, distributed "
        f"{version('distributed')}, pyosmium {version('osmium')}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pbf, _xml, nodes = tiled_copies(SOURCE, args.copies, folder)
        areas = copy_areas(args.copies, args.areas)
        print(f"region: {nodes:,} nodes ({pbf.stat().st_size / 1e6:.1f} MB PBF); "
              f"{len(areas)} areas, context {args.context_m:g} m")  # fmt: skip
        work = folder / "extract"
        work.mkdir()
        start = time.perf_counter()
        files = extract_areas(pbf, areas, work, margin_m=args.context_m + EXTRACT_SLACK_M)
        extraction = time.perf_counter() - start
        sizes = [p.stat().st_size for p in files.values() if isinstance(p, Path)]
        print(f"extraction, one read for {len(areas)} areas: {extraction:.2f} s; small files "
              f"{min(sizes) / 1e3:.0f}-{max(sizes) / 1e3:.0f} kB")  # fmt: skip
        print("\n| engine | areas ok | wall | areas/min | task/area | peak RSS per worker |")
        print("|---|---:|---:|---:|---:|---|")
        for name in ("w1", "w2", "wh"):
            (folder / name).mkdir()
        t1, r1 = on_cluster(areas, pbf, folder / "w1", 1, args.context_m, args.repeat)
        report("LocalCluster, 1 worker", t1, r1)
        t2, r2 = on_cluster(areas, pbf, folder / "w2", 2, args.context_m, args.repeat)
        report("LocalCluster, 2 workers", t2, r2)
        start = time.perf_counter()
        r0 = run_batch(areas, pbf, out=folder / "w0", workers=0, context_m=args.context_m)
        t0 = time.perf_counter() - start
        report("sequential (workers=0)", t0, r0)
        if args.scaling:
            half = areas.iloc[: len(areas) // 2]
            th, rh = on_cluster(half, pbf, folder / "wh", 1, args.context_m, args.repeat)
            report(f"LocalCluster, 1 worker, {len(half)} areas", th, rh)
        same = r1.long.equals(r2.long) and r2.long.equals(r0.long)
        print(f"\nspeed-up 2 workers / 1 worker: {t1 / t2:.2f}×; "
              f"identical indicator tables (1, 2 workers, sequential): {same}")  # fmt: skip


if __name__ == "__main__":
    main()
