"""Benchmark of the priority planners (issue 19 §4) on the embedded Vollsmose district.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_priority.py [--lamps 20] [--cameras 5]

With the district's illustrative incidents and safety-walk marks
(:func:`vollsmose_gis.safety.with_illustrative_evidence`) it runs, with the same budget,

1. the lamp planner by length (``lighting.plan_lights``) and by priority weight
   (``priority=`` the marks and incidents), and
2. the camera planner by area (``cctv.plan_cameras``) and by priority weight
   (``priority=`` :func:`vollsmose_gis.safety.priority_surface`),

and prints the wall time of each priority run as a ratio to the plain run (the
priority's cost: assigning places to paths, binning the surface, float sums in the
greedy) and the weighted share of the marks and incidents each plan treats
(:func:`vollsmose_gis.safety.treated_share`).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from vollsmose_gis import cctv, lighting
from vollsmose_gis.safety import (
    priority_places,
    priority_surface,
    treated_share,
    with_illustrative_evidence,
)
from vollsmose_gis.sources.vollsmose import default_district


def timed(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = call(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lamps", type=int, default=20, help="lamp budget (max_new)")
    parser.add_argument("--cameras", type=int, default=5, help="camera budget (k)")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    warnings.simplefilter("ignore")
    d = with_illustrative_evidence(default_district())
    places = priority_places(d)
    print(f"{d.name}: {len(places)} priority places (marks and incidents, illustrative)")

    plain, t_plain = timed(lighting.plan_lights, d, max_new=args.lamps)
    aimed, t_aimed = timed(lighting.plan_lights, d, max_new=args.lamps, priority=places)
    for name, plan, seconds in (("by length", plain, t_plain), ("by priority", aimed, t_aimed)):
        share = treated_share(plan.district, places, by="lights")
        print(
            f"lamps {name:<11}: {len(plan.added):>3} added in {seconds:6.2f} s; "
            f"marks and incidents treated {share:.1%}"
        )
    print(f"  priority / plain wall time: {t_aimed / t_plain:.2f}")

    surface, t_surface = timed(priority_surface, d, places, bandwidth_m=15.0)
    plain, t_plain = timed(cctv.plan_cameras, d, k=args.cameras)
    aimed, t_aimed = timed(cctv.plan_cameras, d, k=args.cameras, priority=surface)
    for name, plan, seconds in (("by area", plain, t_plain), ("by priority", aimed, t_aimed)):
        share = treated_share(plan.district, places, by="cameras")
        print(
            f"cameras {name:<11}: {len(plan.added):>3} added in {seconds:6.2f} s; "
            f"area gain {plan['marginal_gain_m2'].sum():,.0f} m2; marks and incidents "
            f"treated (recognition) {share:.1%}"
        )
    print(
        f"  priority / plain wall time: {t_aimed / t_plain:.2f} (+ the surface, {t_surface:.2f} s)"
    )


if __name__ == "__main__":
    main()
