"""Make the map and report screenshots in docs/ (run by hand: ~2 minutes).

    .venv/bin/python docs/make_screenshots.py

Scores the example scenarios on the embedded Vollsmose model, writes one map per kind
and the council report to a temporary folder, opens each in headless Chromium with the
network blocked (tests/browser.py) and saves ``docs/map-<kind>.png`` and
``docs/report.png``.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import Browser  # noqa: E402
from vollsmose_gis import maps, report  # noqa: E402
from vollsmose_gis.scenario import load_scenarios  # noqa: E402
from vollsmose_gis.scoring import score_scenarios  # noqa: E402


def main() -> None:
    warnings.simplefilter("ignore")
    result = score_scenarios(load_scenarios([REPO / "scenarios"]))
    safety = result.results["Safety package"]
    plan = result.results["Development plan 2030"]
    base = result.baseline
    pages = {
        "connectivity": maps.connectivity_map(plan, baseline=base),
        "calming": maps.calming_map(safety, baseline=base),
        "lighting": maps.lighting_map(safety, baseline=base),
        "cctv": maps.cctv_map(safety, baseline=base),
        "mix": maps.mix_map(plan, baseline=base),
        "scenario": maps.scenario_map(plan, baseline=base),
        "before-after": maps.before_after_map(base, safety, theme="lighting"),
        "changes": maps.changes_map(base, plan),
    }
    out = Path(tempfile.mkdtemp(prefix="vg-docs-"))
    chrome = Browser(1400, 950)
    try:
        for kind, m in pages.items():
            page = chrome.open(maps.save_map(m, out / f"{kind}.html"), settle_s=1.5)
            assert not page.errors and not page.network_requests, (kind, page.errors)
            (REPO / "docs" / f"map-{kind}.png").write_bytes(page.screenshot_png)
        report.write_report(result, out / "report.html")
        page = chrome.open(out / "report.html", settle_s=3.0)
        assert not page.errors and not page.network_requests, page.errors
        (REPO / "docs" / "report.png").write_bytes(page.screenshot_png)
    finally:
        chrome.close()


if __name__ == "__main__":
    main()
