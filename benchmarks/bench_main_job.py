"""Benchmark the main job: five scenarios against one, end to end, and the maps' share.

Run: ``.venv/bin/python benchmarks/bench_main_job.py [--repeats 3]``.

Every measurement is a fresh process that runs what ``vollsmose-gis score`` runs
(:func:`vollsmose_gis.scenario.load_scenarios`, then :func:`vollsmose_gis.job.run_job`
with every output: tables, GeoPackages, GeoTIFFs, maps, report), alternating

(a) one scenario (Development plan 2030, plus the baseline every run scores), and
(b) the five example scenarios of ``scenarios/``,

``--repeats`` times each.  Printed per run: the wall time of the process (imports
included), and inside it the time in scoring, in the safety review the job runs after
it, in saving the tables and layers, in writing the maps and in writing the report.
Summary: the ratio b / a of the medians (goal ≤ 2, issue 22), of scoring alone, and the
share of maps + report in (b) (goal ≤ 25 %), with the load average before and after,
since the machine may be shared.

``--scoring-only`` keeps the older in-process measurement: scoring five against one
with cold caches, same process (goal ≤ 2.5, issue 10).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ONE = "development-plan-2030.yaml"


def child(out: str, paths: list[str]) -> None:
    """Run the main job in this (fresh) process; print its phase times as JSON."""
    start = time.perf_counter()
    from vollsmose_gis import job, maps, report, scoring
    from vollsmose_gis.scenario import load_scenarios

    phases: dict[str, float] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
                cpu = f"{name}_cpu"
                phases[cpu] = phases.get(cpu, 0.0) + time.process_time() - c0

        return wrapper

    # run_job imports write_maps / write_report from their modules when it calls them
    job.score_scenarios = timed("score", job.score_scenarios)  # type: ignore[method-assign]
    job.save_score_outputs = timed("save", job.save_score_outputs)  # type: ignore[method-assign]
    # the report's safety review, run by the job after scoring (absent in older trees)
    if hasattr(scoring.ScoreResult, "safety_review"):
        scoring.ScoreResult.safety_review = timed(  # type: ignore[method-assign]
            "review", scoring.ScoreResult.safety_review
        )
    maps.write_maps = timed("maps", maps.write_maps)  # type: ignore[method-assign]
    report.write_report = timed("report", report.write_report)  # type: ignore[method-assign]
    imported = time.perf_counter() - start
    scenarios = load_scenarios([Path(p) for p in paths])
    t0 = time.perf_counter()
    job.run_job(scenarios, out, overwrite=True)
    phases["job"] = time.perf_counter() - t0
    phases["imports"] = imported
    phases["cpu"] = time.process_time()  # the whole process, imports included
    report_path = Path(out) / "report.html"
    phases["report_bytes"] = report_path.stat().st_size if report_path.exists() else 0
    phases["maps_bytes"] = sum(p.stat().st_size for p in (Path(out) / "maps").glob("*.html"))
    print(json.dumps(phases))


def run_fresh(paths: list[Path], out: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(out), *map(str, paths)]
    t0 = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    phases["wall"] = wall
    return phases


def end_to_end(repeats: int) -> None:
    print(f"load average before: {os.getloadavg()}")
    runs: dict[str, list[dict[str, float]]] = {"one": [], "five": []}
    with tempfile.TemporaryDirectory() as tmp:
        one_dir = Path(tmp) / "one"
        one_dir.mkdir()
        # the one scenario extends open-up.yaml and reads its GeoPackage: copy those,
        # score only it (load_scenarios of one file reads what it extends)
        for name in (ONE, "open-up.yaml", "development-plan-2030.gpkg"):
            shutil.copy(REPO / "scenarios" / name, one_dir / name)
        sets = {"one": [one_dir / ONE], "five": [REPO / "scenarios"]}
        for k in range(repeats):
            for label in ("one", "five"):
                phases = run_fresh(sets[label], Path(tmp) / f"out-{label}-{k}")
                runs[label].append(phases)
                share = (phases["maps"] + phases["report"]) / phases["wall"]
                cpu_share = (phases["maps_cpu"] + phases["report_cpu"]) / phases["cpu"]
                print(
                    f"{label:>4} run {k + 1}: {phases['wall']:.1f} s wall "
                    f"(imports {phases['imports']:.1f}, scoring {phases['score']:.1f}, "
                    f"review {phases.get('review', 0.0):.1f}, save {phases.get('save', 0.0):.1f}, "
                    f"maps {phases['maps']:.1f}, report {phases['report']:.1f}; "
                    f"maps + report {100 * share:.0f} %); CPU {phases['cpu']:.1f} s "
                    f"(scoring {phases['score_cpu']:.1f}, maps {phases['maps_cpu']:.1f}, "
                    f"report {phases['report_cpu']:.1f}; maps + report {100 * cpu_share:.0f} %); "
                    f"report {phases['report_bytes'] / 1e6:.1f} MB, "
                    f"maps {phases['maps_bytes'] / 1e6:.1f} MB",
                    flush=True,
                )
    print(f"load average after: {os.getloadavg()}")
    one = statistics.median(r["wall"] for r in runs["one"])
    five = statistics.median(r["wall"] for r in runs["five"])
    shares = [(r["maps"] + r["report"]) / r["wall"] for r in runs["five"]]
    ratios = [f["wall"] / o["wall"] for o, f in zip(runs["one"], runs["five"], strict=True)]
    one_cpu = statistics.median(r["cpu"] for r in runs["one"])
    five_cpu = statistics.median(r["cpu"] for r in runs["five"])
    cpu_shares = [(r["maps_cpu"] + r["report_cpu"]) / r["cpu"] for r in runs["five"]]
    print(f"median wall: one {one:.1f} s, five {five:.1f} s")
    print(
        f"median CPU: one {one_cpu:.1f} s, five {five_cpu:.1f} s, ratio {five_cpu / one_cpu:.2f}; "
        f"maps + report {100 * statistics.median(cpu_shares):.0f} % of the five-scenario CPU"
    )
    one_score = statistics.median(r["score"] for r in runs["one"])
    five_score = statistics.median(r["score"] for r in runs["five"])
    print(
        f"median scoring: one {one_score:.1f} s, five {five_score:.1f} s, "
        f"ratio {five_score / one_score:.2f}"
    )
    print(
        f"ratio five / one: {five / one:.2f} (per pair {', '.join(f'{r:.2f}' for r in ratios)}; "
        "goal <= 2)"
    )
    print(
        f"maps + report share of the five-scenario job: {100 * statistics.median(shares):.0f} % "
        f"(per run {', '.join(f'{100 * s:.0f}' for s in shares)}; goal <= 25 %)"
    )


def scoring_only() -> None:
    from vollsmose_gis.network import clear_graph_cache
    from vollsmose_gis.scenario import load_scenarios
    from vollsmose_gis.scoring import clear_cache, module_runs, score_scenarios
    from vollsmose_gis.sources.vollsmose import default_district

    def timed(label: str, scenarios: list) -> float:  # type: ignore[type-arg]
        clear_cache()  # both runs start cold: no module results, no street graphs
        clear_graph_cache()
        start = time.perf_counter()
        score_scenarios(scenarios, district=default_district())
        elapsed = time.perf_counter() - start
        print(f"{label}: {elapsed:.1f} s, module runs {dict(module_runs)}")
        return elapsed

    default_district()  # load once, outside the timings
    scenarios = load_scenarios([REPO / "scenarios"])
    one = [s for s in scenarios if s.name == "Development plan 2030"]
    t_one = timed("one scenario (+ baseline)", one)
    t_five = timed("five scenarios (+ baseline)", scenarios)
    print(f"ratio five / one: {t_five / t_one:.2f} (target <= 2.5)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scoring-only", action="store_true")
    args = parser.parse_args()
    if args.scoring_only:
        scoring_only()
    else:
        end_to_end(args.repeats)


if __name__ == "__main__":
    main()
