"""Draw the angular integration (NAIN, 2000 m) map before and after the open-up plan.

.venv/bin/python docs/make_integration_map.py   # writes docs/integration-open-up.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vollsmose_gis.angular import angular_analysis, angular_indicators  # noqa: E402
from vollsmose_gis.network import street_graph  # noqa: E402
from vollsmose_gis.scenario import apply_scenario, load_scenario  # noqa: E402
from vollsmose_gis.sources.vollsmose import default_district  # noqa: E402


def main() -> None:
    today = default_district()
    opened, _ = apply_scenario(today, load_scenario(REPO / "scenarios" / "open-up.yaml"))
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.6), dpi=100)
    x0, y0, x1, y1 = today.boundary.buffer(700).bounds
    frames = {}
    for name, district in (("today", today), ("open-up", opened)):
        frames[name] = angular_analysis(street_graph(district), (2000,))
    values = frames["today"]["nain_2000"]
    vmin, vmax = float(values.quantile(0.02)), float(values.quantile(0.98))
    for ax, (name, district) in zip(axes, (("today", today), ("open-up", opened)), strict=True):
        segments = frames[name].sort_values("nain_2000")  # high values drawn on top
        segments.plot(ax=ax, column="nain_2000", cmap="RdYlBu_r", vmin=vmin, vmax=vmax,
                      linewidth=1.6)  # fmt: skip
        ax.plot(*district.boundary.exterior.xy, color="black", linewidth=1.2)
        ratio = angular_indicators(district, radii=(2000,))["nain_ratio_2000"]
        ax.set_title(f"{name}: NAIN 2000 m; district / surroundings = {ratio:.3f}", fontsize=10)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_axis_off()
    fig.suptitle(
        "Angular integration (red = integrated, blue = segregated) — schematic Vollsmose model",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(REPO / "docs" / "integration-open-up.png")


if __name__ == "__main__":
    main()
