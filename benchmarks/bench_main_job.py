"""Benchmark the main job: scoring the five example scenarios vs scoring one.

Run: ``.venv/bin/python benchmarks/bench_main_job.py``.  Prints the wall time of
(a) scoring one scenario (Development plan 2030, plus the baseline every run scores),
(b) scoring all five example scenarios with a cold cache, in the same process, and the
ratio b/a (target ≤ 2.5: shared work is cached), and (c) the whole CLI main job
``vollsmose-gis score scenarios/`` in a fresh process (target ≤ 120 s).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vollsmose_gis.network import clear_graph_cache
from vollsmose_gis.scenario import load_scenarios
from vollsmose_gis.scoring import clear_cache, module_runs, score_scenarios
from vollsmose_gis.sources.vollsmose import default_district

REPO = Path(__file__).resolve().parents[1]


def timed(label: str, scenarios: list) -> float:
    # both runs start cold: no module results and no street graphs cached
    clear_cache()
    clear_graph_cache()
    start = time.perf_counter()
    score_scenarios(scenarios, district=default_district())
    elapsed = time.perf_counter() - start
    print(f"{label}: {elapsed:.1f} s, module runs {dict(module_runs)}")
    return elapsed


def main() -> None:
    default_district()  # load once, outside the timings
    scenarios = load_scenarios([REPO / "scenarios"])
    one = [s for s in scenarios if s.name == "Development plan 2030"]
    t_one = timed("one scenario (+ baseline)", one)
    t_five = timed("five scenarios (+ baseline)", scenarios)
    print(f"ratio five / one: {t_five / t_one:.2f} (target <= 2.5)")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("vollsmose-gis")),
                "score",
                str(REPO / "scenarios"),
                "--out",
                str(Path(tmp) / "out"),
            ],
            check=True,
            capture_output=True,
        )
        elapsed = time.perf_counter() - start
        print(f"CLI main job (fresh process, all outputs): {elapsed:.1f} s (target <= 120 s)")


if __name__ == "__main__":
    main()
