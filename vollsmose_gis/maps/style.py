"""The maps' palette: colours and class breaks of every layer, page CSS, line/fill/dot styles.

Colour scales are ColorBrewer schemes (sequential for magnitudes, diverging for
changes); class breaks sit at the steps the standards use (EN 13201 lux classes,
speed limits).  Nothing here draws: :mod:`~vollsmose_gis.maps.render` and the theme
modules use these values.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- colours

_BACKGROUND = "#f2f0eb"
_BUILDING = "#cfc9bf"
_BUILDING_EDGE = "#9b9487"
_CAR_STREET = "#8c8c8c"
_PATH = "#a8a8a8"
_GREEN = "#d3e6c8"
_WATER = "#b9d5ea"
_BOUNDARY = "#222222"

# Illuminance classes (lx): the EN 13201-2 P-class minima and averages as steps.
_RASTER_PANE = "vgRasters"

_LUX_EDGES = np.array([0.4, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0])
_LUX_COLOURS = [
    "#141a33",  # < 0.4 lx: dark
    "#3b0f70",
    "#641a80",
    "#8c2981",
    "#b73779",
    "#de4968",
    "#f7705c",
    "#fe9f6d",
    "#fde38f",  # >= 15 lx
]
_LUX_ALPHA = [150, *([210] * 8)]

_DORI_COLOURS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
_MOVEMENT_COLOURS = ["#bdbdbd", "#fdae61", "#f46d43", "#a50026"]
_MOVEMENT_WEIGHTS = [1.5, 3.0, 4.0, 5.5]
_MOVEMENT_QUANTILES = (0.5, 0.75, 0.9)
_SPEED_EDGES = np.array([30.5, 40.5, 50.5])  # km/h: ≤30, 31-40, 41-50, >50
_SPEED_COLOURS = ["#1a9850", "#fee08b", "#fc8d59", "#d73027"]
_SPEED_LABELS = ["≤ 30", "31–40", "41–50", "> 50"]
_DIRECTNESS_EDGES = np.array([1.3, 1.6, 2.0])
_DIRECTNESS_COLOURS = ["#1a9850", "#d9ef8b", "#fc8d59", "#d73027"]
_ENTROPY_EDGES = np.array([0.2, 0.4, 0.6, 0.8])
_ENTROPY_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
_PASS = "#2c7bb6"
_FAIL = "#d7191c"
_DARK_SPOT = "#e7298a"
_LINK = "#1a9641"
_NEW = "#2166ac"
_REMOVED = "#d6604d"
_CAMERA = "#08306b"
_LAMP = "#ffd92f"
_TENURE_COLOURS = {
    "almen_family": "#d95f02",
    "almen_youth": "#fdb462",
    "almen_elderly": "#fee0b6",
    "private_rental": "#7570b3",
    "owner_occupied": "#1b9e77",
    "cooperative": "#66a61e",
    "mixed": "#e7298a",
    "unknown": "#bdbdbd",
}
_USE_COLOURS = {
    "residential": "#fbe3c5",
    "retail": "#e31a1c",
    "office": "#6a3d9a",
    "mixed": "#fb9a99",
    "school": "#1f78b4",
    "daycare": "#a6cee3",
    "health": "#b15928",
    "culture": "#cab2d6",
    "sport": "#33a02c",
    "industry": "#7f7f7f",
    "parking": "#d9d9d9",
    "green": "#b2df8a",
    "wetland": "#8dd3c7",
    "water": "#80b1d3",
    "square": "#ffff99",
    "private": "#e5d8bd",
    "other": "#f0f0f0",
}
_CALMING_COLOURS = {
    "hump": "#7f2704",
    "cushion": "#a63603",
    "table": "#d94801",
    "chicane": "#54278f",
    "narrowing": "#3f007d",
    "mini_roundabout": "#00441b",
}
_DELTA_LUX_EDGES = np.array([-5.0, -1.0, 1.0, 5.0, 10.0])
_DELTA_LUX_COLOURS: list[str | None] = ["#2166ac", "#92c5de", None, "#fddbc7", "#f4a582", "#b2182b"]
_DELTA_SPEED_EDGES = np.array([-10.5, -5.5, -0.5, 0.5, 5.5])
_DELTA_SPEED_COLOURS: list[str | None] = [
    "#006837",
    "#66bd63",
    "#d9ef8b",
    None,
    "#fdae61",
    "#d73027",
]

_CSS = f"""
.leaflet-container {{ background: {_BACKGROUND}; font: 13px/1.35 system-ui, -apple-system,
  "Segoe UI", Roboto, Arial, sans-serif; }}
.vg-title {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1000; background: rgba(255,255,255,.93); padding: 6px 12px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,.35); max-width: 60%; text-align: center;
  pointer-events: none; }}
.vg-title .vg-h {{ font-size: 16px; font-weight: 600; }}
.vg-title .vg-s {{ font-size: 12px; color: #444; }}
.vg-legend {{ background: rgba(255,255,255,.93); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,.35); max-height: 55vh; overflow-y: auto;
  max-width: 270px; font-size: 12px; }}
.vg-legend .vg-block + .vg-block {{ margin-top: 6px; border-top: 1px solid #ddd;
  padding-top: 4px; }}
.vg-legend .vg-lt {{ font-weight: 600; margin-bottom: 2px; }}
.vg-legend .vg-ln {{ color: #555; margin-bottom: 2px; }}
.vg-legend .vg-row {{ display: flex; align-items: center; gap: 6px; margin: 1px 0; }}
.vg-sw {{ flex: none; display: inline-block; width: 20px; height: 12px;
  box-sizing: border-box; }}
.vg-bar {{ display: flex; height: 13px; margin: 3px 6px 0; border: 1px solid rgba(0,0,0,.3); }}
.vg-bar span {{ flex: 1; }}
.vg-ticks {{ position: relative; height: 15px; margin: 0 6px 2px; font-size: 10.5px; }}
.vg-ticks span {{ position: absolute; top: 1px; transform: translateX(-50%);
  white-space: nowrap; }}
.vg-tip table {{ border-collapse: collapse; }}
.vg-tip tr:first-child td {{ font-weight: 700; font-size: 13px; padding-bottom: 2px; }}
.vg-tip tr:has(td:empty) {{ display: none; }}
.vg-tip th {{ text-align: left; font-weight: normal; color: #555; padding-right: 8px; }}
.vg-tip td {{ font-weight: 600; }}
.leaflet-control-layers {{ font-size: 13px; }}
.leaflet-control-layers-expanded {{ max-height: 45vh; overflow-y: auto; }}
"""


def _line(colour: str, weight: float, *, dash: str | None = None, opacity: float = 0.95) -> dict:
    style = {"color": colour, "weight": weight, "opacity": opacity}
    if dash:
        style["dashArray"] = dash
    return style


def _fill(
    colour: str, *, edge: str | None = None, weight: float = 0.6, opacity: float = 0.85
) -> dict:
    return {
        "color": edge or colour,
        "weight": weight,
        "fillColor": colour,
        "fillOpacity": opacity,
        "opacity": 0.9,
    }


def _dot(colour: str, radius: float, *, edge: str = "#333333", weight: float = 1.0) -> dict:
    return {
        "color": edge,
        "weight": weight,
        "fill": True,
        "fillColor": colour,
        "fillOpacity": 0.95,
        "radius": radius,
    }
