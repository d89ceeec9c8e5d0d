"""Folium maps of a district and of scored scenarios, readable with no internet.

Every builder returns a :class:`folium.Map` (the before/after view a
:class:`folium.plugins.DualMap`) with the data reprojected to EPSG:4326, one
``FeatureGroup`` per theme layer, a legend for every colour scale (shown while its
layer is on), escaped tooltips, the district boundary, a title, the data provenance
in the attribution and the ``LayerControl`` last.

Offline by design: the default is no basemap (``tiles=None``); the boundary,
buildings, streets and green areas are drawn as vector layers so the map reads
without one.  ``tiles="OpenStreetMap"`` (or any folium tile name/URL) adds a basemap
where tiles are reachable.  :func:`to_html` and :func:`save_map` inline Leaflet (and
Leaflet.Sync for before/after maps) from ``templates/vendor/`` and drop folium's other
CDN assets, which these maps do not use, so a saved page needs no network at all.

Escaping: folium's ``GeoJsonTooltip`` puts property values into ``innerHTML``
unescaped, and Leaflet does the same with layer names and attributions.  Every text
that reaches a page is therefore passed through :func:`html.escape` here first
(``_tip``, ``_legend_html``, layer names, titles, attribution).

Raster overlays (illuminance, DORI levels, their differences) are warped from the
district CRS to Web Mercator (EPSG:3857) before they become PNG images: a Leaflet
image overlay is stretched linearly in Web Mercator, and a UTM grid drawn without the
warp would be rotated by the meridian convergence (about 1.2° at Odense, 40 m over
2 km).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from branca.element import Element, MacroElement
from folium.plugins import DualMap
from folium.template import Template
from pyproj import Transformer
from rasterio import features as rio_features
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster, atomic_path

if TYPE_CHECKING:
    from vollsmose_gis.scoring import ModuleResult, ScenarioResult, ScoreResult

__all__ = [
    "THEMES",
    "before_after_map",
    "calming_map",
    "cctv_map",
    "changes_map",
    "connectivity_map",
    "lighting_map",
    "mix_map",
    "save_map",
    "scenario_map",
    "theme_map",
    "to_html",
    "write_maps",
]

log = logging.getLogger(__name__)

THEMES: tuple[str, ...] = ("connectivity", "calming", "lighting", "cctv", "mix")
"""The map themes, one per analysis module."""

LANGUAGES = ("en", "da")

_TEMPLATES = Path(__file__).parent / "templates"
_VENDOR_DIR = _TEMPLATES / "vendor"
# File name at the end of folium's CDN URL -> vendored copy (see vendor/README.md).
_VENDOR = {
    "leaflet.js": "leaflet-1.9.4/leaflet.js",
    "leaflet.css": "leaflet-1.9.4/leaflet.css",
    "L.Map.Sync.min.js": "leaflet.sync-0.2.4/L.Map.Sync.js",
    "L.Map.Sync.js": "leaflet.sync-0.2.4/L.Map.Sync.js",
}
# folium's default assets that no builder here uses (markers with icons, popups via
# jQuery, Bootstrap styling): dropped from the page instead of fetched.
_UNUSED_ASSETS = (
    "jquery",
    "bootstrap",
    "fontawesome",
    "awesome-markers",
    "awesome.rotate",
)
_ASSET_TAG = re.compile(
    r'<script src="(?P<js>https?://[^"]+)"></script>'
    r'|<link rel="stylesheet" href="(?P<css>https?://[^"]+)"\s*/?>'
)

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


# --------------------------------------------------------------------------- words


@functools.cache
def _texts() -> dict[str, dict[str, str]]:
    data = yaml.safe_load((_TEMPLATES / "text.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InputError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}")
    return lang


def _t(key: str, lang: str = "en", **values: Any) -> str:
    """The text ``key`` of ``templates/text.yaml`` in ``lang``, placeholders filled."""
    entry = _texts()[key]
    words = entry.get(lang) or entry["en"]
    return words.format(**values) if values else words


def _category(kind: str, value: Any, lang: str) -> str:
    key = f"{kind}.{value}"
    return _t(key, lang) if key in _texts() else str(value)


def _number(value: Any, decimals: int = 0, lang: str = "en") -> str:
    """A number for people: thousands separators, ``decimals`` places, localised."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(x):
        return "–"
    out = f"{x:,.{decimals}f}"
    if lang == "da":
        out = out.replace(",", "\u2009").replace(".", ",")
    return out


# --------------------------------------------------------------------------- sources


def _resolve(source: Any) -> tuple[District, Mapping[str, ModuleResult], str]:
    if isinstance(source, District):
        return source, {}, source.name
    district = getattr(source, "district", None)
    if isinstance(district, District):
        return district, source.modules, source.name
    raise InputError(f"a map needs a District or a ScenarioResult, got {type(source).__name__}")


_CACHE: dict[tuple[str, str], Any] = {}
_CACHE_SIZE = 64


def _cached(kind: str, district: District, reads: Sequence[str], compute: Callable[[], Any]) -> Any:
    key = (kind, district.fingerprint(*reads))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = compute()
    return _CACHE[key]


@dataclass
class _Ctx:
    district: District
    modules: Mapping[str, ModuleResult]
    lang: str
    label: str
    baseline: District | None = None
    links: int = 5
    context_m: float = 300.0
    focus: str = ""  # "use": the mix map opens on land use instead of tenure

    def view(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The features near the district: within ``context_m`` of its boundary's box.

        Layers often reach far beyond the study area (the embedded Vollsmose model
        reaches Odense's centre); drawing all of it would make pages many times larger
        without showing more of the district.
        """
        if frame.empty:
            return frame
        extent = shapely.box(*self.district.boundary.bounds).buffer(
            self.context_m, join_style="mitre"
        )
        return frame.loc[shapely.intersects(frame.geometry.to_numpy(), extent)]

    def module(self, name: str) -> ModuleResult:
        if name in self.modules:
            return self.modules[name]
        from vollsmose_gis.scoring import run_module

        return run_module(name, self.district)


def _label(name: str, lang: str) -> str:
    return _t("map.today", lang) if name == "(baseline)" else name


# --------------------------------------------------------------------------- GeoJSON


def _to_wgs84(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Geometries in EPSG:4326, coordinates rounded to 1e-6° (~0.1 m) to keep pages small."""
    if frame.crs is None:
        raise InputError("a layer without a CRS cannot be mapped; set the district CRS")
    geoms = frame.geometry.to_crs(4326).to_numpy()
    return shapely.transform(geoms, lambda xy: np.round(xy, 6))


Tip = tuple[str, tuple[tuple[str, Any], ...]]


def _tip(title: Any, rows: Iterable[tuple[str, Any]] = ()) -> Tip:
    """A feature's tooltip: its title and (label, value) rows (escaped in :func:`_geojson`)."""
    return (str(title), tuple(rows))


def _geojson(
    frame: gpd.GeoDataFrame,
    styles: Sequence[dict[str, Any]],
    tips: Sequence[Tip] | None,
    *,
    point_radius: float | None = None,
    interactive: bool = True,
) -> folium.GeoJson | None:
    """A GeoJson layer with one style and one tooltip per feature.

    Tooltip texts become short properties (``t`` the title, ``f1``.. the rows), every
    one passed through :func:`html.escape`: folium's ``GeoJsonTooltip`` writes them
    and its aliases into ``innerHTML`` as they are.  The rows of a layer share the
    labels of its first feature.
    """
    if frame is None or frame.empty:
        return None
    geoms = _to_wgs84(frame)
    labels = [label for label, _ in tips[0][1]] if tips else []
    feats: list[dict[str, Any]] = []
    kept_styles = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        props: dict[str, str] = {}
        if tips is not None:
            title, rows = tips[i]
            props["t"] = html.escape(title)
            for k, (_, value) in enumerate(rows, start=1):
                props[f"f{k}"] = "" if value is None else html.escape(str(value))
        feats.append(
            {
                "type": "Feature",
                "id": str(len(feats)),
                "geometry": shapely.geometry.mapping(geom),
                "properties": props,
            }
        )
        kept_styles.append(dict(styles[i]))
    if not feats:
        return None
    data = {"type": "FeatureCollection", "features": feats}
    kwargs: dict[str, Any] = {}
    if tips is not None and interactive:
        kwargs["tooltip"] = folium.GeoJsonTooltip(
            ["t", *(f"f{k}" for k in range(1, len(labels) + 1))],
            aliases=["", *(html.escape(label) for label in labels)],
            labels=True,
            sticky=True,
            class_name="vg-tip",
        )
    if point_radius is not None:
        kwargs["marker"] = folium.CircleMarker(radius=point_radius)
    return folium.GeoJson(
        data,
        style_function=lambda feature: kept_styles[int(feature["id"])],
        interactive=interactive,
        **kwargs,
    )


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


def _text_column(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v) for v in frame[column].tolist()]


def _float_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _bool_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].fillna(False).astype(bool).to_numpy()


# --------------------------------------------------------------------------- legends


@dataclass
class _Legend:
    """A legend block: title, rows of (swatch kind, CSS colour, label), a note."""

    title: str
    rows: Sequence[tuple[str, str | None, str]]
    note: str = ""
    bar: tuple[Sequence[str | None], Sequence[str]] | None = None
    """Binned colour scale drawn as a bar: (class colours, labels of the inner class
    boundaries); ``None`` colours are the classes left transparent on the map."""


@dataclass
class _Layer:
    group: folium.FeatureGroup | None
    legend: _Legend | None


def _swatch(kind: str, colour: str | None) -> str:
    colour = html.escape(colour or "transparent")
    if kind == "line":
        css = f"height:4px;background:{colour}"
    elif kind == "thick":
        css = f"height:6px;background:{colour}"
    elif kind == "dash":
        css = f"height:0;border-top:3px dashed {colour}"
    elif kind == "point":
        css = f"width:11px;height:11px;border-radius:50%;background:{colour};border:1px solid #333"
    elif kind == "outline":
        css = f"border:2px dashed {colour};background:transparent"
    else:
        css = f"background:{colour};border:1px solid rgba(0,0,0,.25)"
    return f'<span class="vg-sw" style="{css}"></span>'


def _legend_html(legend: _Legend, block_id: str) -> str:
    rows = "".join(
        f'<div class="vg-row">{_swatch(kind, colour)}<span>{html.escape(label)}</span></div>'
        for kind, colour, label in legend.rows
    )
    note = f'<div class="vg-ln">{html.escape(legend.note)}</div>' if legend.note else ""
    bar = ""
    if legend.bar is not None:
        colours, ticks = legend.bar
        cells = "".join(
            f'<span style="background:{html.escape(c or "transparent")}"></span>' for c in colours
        )
        labels = "".join(
            f'<span style="left:{100 * (k + 1) / len(colours):.2f}%">{html.escape(t)}</span>'
            for k, t in enumerate(ticks)
        )
        bar = f'<div class="vg-bar">{cells}</div><div class="vg-ticks">{labels}</div>'
    return (
        f'<div class="vg-block" id="{html.escape(block_id)}">'
        f'<div class="vg-lt">{html.escape(legend.title)}</div>{note}{bar}{rows}</div>'
    )


class _Controls(MacroElement):
    """Title, legends (each shown while its layer is on) and attribution of one map."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var title = L.DomUtil.create("div", "vg-title");
            title.innerHTML = {{ this.title_html|tojson }};
            map.getContainer().appendChild(title);
            {%- if this.legend_html %}
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "vg-legend");
                div.innerHTML = {{ this.legend_html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            {%- endif %}
            L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
            var blocks = [
                {%- for block_id, layer in this.links %}
                [{{ block_id|tojson }}, {{ layer }}],
                {%- endfor %}
            ];
            function sync() {
                blocks.forEach(function (b) {
                    var el = document.getElementById(b[0]);
                    if (el) { el.style.display = map.hasLayer(b[1]) ? "" : "none"; }
                });
            }
            map.on("overlayadd overlayremove", sync);
            sync();
            map.attributionControl.addAttribution({{ this.attribution|tojson }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, title_html: str, legend_html: str, links: list[tuple[str, str]], attribution: str
    ) -> None:
        super().__init__()
        self._name = "VgControls"
        self.title_html = title_html
        self.legend_html = legend_html
        self.links = links
        self.attribution = attribution


def _attribution(district: District) -> str:
    """The credit line: the data provenance, escaped (Leaflet shows it as HTML)."""
    prov = district.provenance
    if prov.attribution:
        text = prov.attribution
    elif prov.kind == "schematic":
        text = f"Schematic model of {district.name}, not surveyed data"
    elif prov.kind == "openstreetmap":
        text = "© OpenStreetMap contributors"
    else:
        text = prov.source
    if prov.kind == "openstreetmap" and "openstreetmap" not in text.lower():
        text = f"{text}; © OpenStreetMap contributors"
    if prov.licence and prov.licence != "unknown":
        text = f"{text} ({prov.licence})"
    return html.escape(text)


# --------------------------------------------------------------------------- map frame


def _bounds(district: District) -> list[list[float]]:
    boundary = gpd.GeoSeries([district.boundary], crs=district.crs).to_crs(4326)
    west, south, east, north = boundary.total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def _start_map(
    m: folium.Map, district: District, tiles: str | None, *, padding_right: int = 290
) -> None:
    """Fit the view, add the basemap (if any) and the page CSS."""
    if tiles:
        folium.TileLayer(tiles, name="Basemap", control=False).add_to(m)
    # Rasters go in their own pane, above tiles (200) and below vectors (400).
    folium.map.CustomPane(_RASTER_PANE, z_index=350, pointer_events=False).add_to(m)
    # Leave room for the title (top) and the layer list and legends (right).
    m.fit_bounds(
        _bounds(district), padding_top_left=(12, 64), padding_bottom_right=(padding_right, 12)
    )
    root = m.get_root()
    if not getattr(root, "_vg_css", False):
        root.header.add_child(Element(f"<style>{_CSS}</style>"), name="vg_css")  # type: ignore[attr-defined]
        root._vg_css = True  # type: ignore[attr-defined]


def _new_map(district: District, tiles: str | None) -> folium.Map:
    (south, west), (north, east) = _bounds(district)
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        zoom_start=15,
        zoom_snap=0.25,
        max_zoom=20,
    )
    _start_map(m, district, tiles)
    return m


def _base_layers(ctx: _Ctx, *, legend: bool = True) -> list[_Layer]:
    """Green areas, buildings and streets: what makes the map readable without tiles."""
    d, lang = ctx.district, ctx.lang
    group = folium.FeatureGroup(name=html.escape(_t("map.base", lang)), show=True)
    landuse = ctx.view(d.landuse)
    uses = _text_column(landuse, "use")
    natural = np.array([u in ("green", "wetland", "water") for u in uses], dtype=bool)
    if natural.any():
        part = landuse.loc[natural]
        part_uses = [u for u, keep in zip(uses, natural, strict=True) if keep]
        names = _text_column(part, "name")
        layer = _geojson(
            part,
            # Light enough that the rasters below (lux, CCTV) stay readable through it.
            [
                _fill(_WATER if u == "water" else _GREEN, edge="#7fb069", weight=1, opacity=0.3)
                for u in part_uses
            ],
            [
                _tip(
                    n or _category("use", u, lang),
                    [(_t("tip.use", lang), _category("use", u, lang))],
                )
                for n, u in zip(names, part_uses, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
    buildings = ctx.view(d.buildings)
    if not buildings.empty:
        names = _text_column(buildings, "name")
        ids = _text_column(buildings, "building_id")
        b_uses = _text_column(buildings, "use")
        dwellings = _float_column(buildings, "dwellings")
        layer = _geojson(
            buildings,
            [_fill(_BUILDING, edge=_BUILDING_EDGE, opacity=0.9)] * len(buildings),
            [
                _tip(
                    n or i,
                    [
                        (_t("tip.use", lang), _category("use", u, lang) if u else ""),
                        (_t("tip.dwellings", lang), _number(w, 0, lang) if w > 0 else ""),
                    ],
                )
                for n, i, u, w in zip(names, ids, b_uses, dwellings, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
    streets = ctx.view(d.streets)
    if not streets.empty:
        car = _bool_column(streets, "car")
        names = _text_column(streets, "name")
        highway = _text_column(streets, "highway")
        layer = _geojson(
            streets,
            [_line(_CAR_STREET, 3.0) if c else _line(_PATH, 1.6, dash="4 3") for c in car],
            [
                _tip(n or _t("map.unnamed", lang), [(_t("tip.kind", lang), h)])
                for n, h in zip(names, highway, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
    if not legend:
        return [_Layer(group, None)]
    block = _Legend(
        _t("map.base", lang),
        [
            ("fill", _BUILDING, _t("map.base.buildings", lang)),
            ("line", _CAR_STREET, _t("map.base.car_street", lang)),
            ("dash", _PATH, _t("map.base.path", lang)),
            ("fill", _GREEN, _t("map.base.green", lang)),
            ("fill", _WATER, _t("map.base.water", lang)),
        ],
    )
    return [_Layer(group, block)]


def _boundary_layer(district: District) -> folium.GeoJson:
    frame = gpd.GeoDataFrame(geometry=[district.boundary.boundary], crs=district.crs)
    layer = _geojson(frame, [_line(_BOUNDARY, 2.5, dash="8 5")], None, interactive=False)
    assert layer is not None  # a district always has a boundary
    layer.control = False
    return layer


def _finish(
    m: folium.Map,
    ctx: _Ctx,
    layers: list[_Layer],
    title: str,
    subtitle: str,
    *,
    collapsed: bool = False,
    legend: bool = True,
) -> None:
    """Boundary, title, legends (unless ``legend`` is False), attribution, LayerControl last."""
    _boundary_layer(ctx.district).add_to(m)
    blocks = [
        _legend_html(
            _Legend(_t("map.boundary", ctx.lang), [("outline", _BOUNDARY, "")]),
            f"{m.get_name()}_legend_boundary",
        )
    ]
    links: list[tuple[str, str]] = []
    for k, layer in enumerate(layers):
        if layer.legend is None:
            continue
        block_id = f"{m.get_name()}_legend_{k}"
        blocks.append(_legend_html(layer.legend, block_id))
        if layer.group is not None:
            links.append((block_id, layer.group.get_name()))
    title_html = f'<div class="vg-h">{html.escape(title)}</div>' + (
        f'<div class="vg-s">{html.escape(subtitle)}</div>' if subtitle else ""
    )
    legend_html = "".join(blocks) if legend else ""
    m.add_child(_Controls(title_html, legend_html, links, _attribution(ctx.district)))
    folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)


def _add_groups(m: folium.Map, layers: list[_Layer]) -> None:
    for layer in layers:
        if layer.group is not None:
            layer.group.add_to(m)


# --------------------------------------------------------------------------- rasters


def _warp_to_mercator(raster: Raster, *, categorical: bool) -> tuple[np.ndarray, list[list[float]]]:
    """Reproject a raster to EPSG:3857; return the array and its [[S, W], [N, E]] bounds."""
    values = np.asarray(raster.array)
    rows, cols = values.shape
    left, bottom, right, top = raster.bounds
    transform, width, height = calculate_default_transform(
        raster.crs, "EPSG:3857", cols, rows, left, bottom, right, top
    )
    if categorical:
        nodata = 255 if raster.nodata is None else raster.nodata
        out = np.full((height, width), nodata, dtype=values.dtype)
        src_nodata = raster.nodata
    else:
        nodata = np.nan
        out = np.full((height, width), np.nan, dtype=np.float32)
        src_nodata = raster.nodata
        values = values.astype(np.float32)
    reproject(
        values,
        out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=src_nodata,
        dst_transform=transform,
        dst_crs="EPSG:3857",
        dst_nodata=nodata,
        resampling=Resampling.nearest,
    )
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    to_wgs84 = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_wgs84.transform(west, south)
    lon1, lat1 = to_wgs84.transform(east, north)
    return out, [[lat0, lon0], [lat1, lon1]]


def _rgba(hex_colour: str | None, alpha: int) -> tuple[int, int, int, int]:
    if hex_colour is None:
        return (0, 0, 0, 0)
    value = hex_colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha)


def _png_data_url(rgba: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _classified_overlay(
    classes: np.ndarray,
    palette: Sequence[tuple[int, int, int, int]],
    bounds: list[list[float]],
    *,
    name: str,
    pixelated: bool,
) -> folium.raster_layers.ImageOverlay:
    """An image overlay from class indices (-1 = transparent) and an RGBA palette."""
    table = np.array([*palette, (0, 0, 0, 0)], dtype=np.uint8)
    rgba = table[np.where(classes < 0, len(palette), classes)]
    return folium.raster_layers.ImageOverlay(
        image=_png_data_url(rgba),
        bounds=bounds,
        name=name,
        control=False,
        interactive=False,
        pixelated=pixelated,
        pane=_RASTER_PANE,
    )


def _ticks(edges: Iterable[float], lang: str, *, signed: bool = False) -> list[str]:
    out = []
    for x in edges:
        text = _number(x, 1 if x % 1 else 0, lang)
        out.append(f"+{text}" if signed and x > 0 else text)
    return out


# --------------------------------------------------------------------------- themes


def _quantile_classes(
    values: np.ndarray, quantiles: Sequence[float], *, reference: np.ndarray | None = None
) -> np.ndarray:
    """Class 0..len(quantiles) of each value by the quantiles of the ``reference`` values."""
    pool = values if reference is None or not reference.any() else values[reference]
    finite = pool[np.isfinite(pool)]
    if finite.size == 0 or np.nanmax(finite) <= 0:
        return np.zeros(len(values), dtype=int)
    cuts = np.quantile(finite, quantiles)
    classes = np.searchsorted(cuts, values, side="right")
    classes[~np.isfinite(values) | (values <= 0)] = 0
    return classes.astype(int)


def _suggested_links(ctx: _Ctx) -> gpd.GeoDataFrame:
    from vollsmose_gis import connectivity

    k = ctx.links

    def compute() -> gpd.GeoDataFrame:
        try:
            return connectivity.suggest_links(ctx.district, k=k)
        except InputError as exc:  # e.g. no home inside the boundary: nothing to suggest
            log.info("no suggested links for %s: %s", ctx.district.name, exc)
            return gpd.GeoDataFrame(geometry=[], crs=ctx.district.crs)

    return _cached(f"links{k}", ctx.district, ("streets", "buildings", "landuse"), compute)


def _new_streets(ctx: _Ctx) -> gpd.GeoDataFrame | None:
    if ctx.baseline is None:
        return None
    before = set(_text_column(ctx.baseline.streets, "street_id"))
    streets = ctx.district.streets
    new = np.array([s not in before for s in _text_column(streets, "street_id")], dtype=bool)
    return streets.loc[new]


def _connectivity_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    result = ctx.module("connectivity")
    edges = result.layers.get("connectivity_edges")
    edges = ctx.view(edges) if edges is not None else None
    nodes = result.layers.get("connectivity_nodes")
    homes = result.layers.get("connectivity_homes")
    layers: list[_Layer] = []
    if edges is not None and not edges.empty:
        column = next((c for c in ("betweenness_800", "betweenness") if c in edges), None)
        values = _float_column(edges, column) if column else np.zeros(len(edges))
        # Rank against the streets of the district, not its context (the ring roads
        # outside would otherwise take every top class).
        inside = shapely.intersects(edges.geometry.to_numpy(), ctx.district.boundary)
        classes = _quantile_classes(values, _MOVEMENT_QUANTILES, reference=inside)
        order = np.argsort(classes, kind="stable")  # busiest drawn last, on top
        ordered = edges.iloc[order]
        names = _street_names(ctx.district, _text_column(ordered, "street_id"), lang)
        group = folium.FeatureGroup(name=html.escape(_t("map.connectivity.movement", lang)))
        labels = [_t(f"map.connectivity.movement.q{k}", lang) for k in range(4)]
        layer = _geojson(
            ordered,
            [
                _line(_MOVEMENT_COLOURS[c], _MOVEMENT_WEIGHTS[c], opacity=0.95 if i else 0.45)
                for c, i in zip(classes[order], inside[order], strict=True)
            ],
            [
                _tip(n, [(_t("tip.through", lang), f"{labels[c]} ({_number(v * 100, 2, lang)} %)")])
                for n, c, v in zip(names, classes[order], values[order], strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.connectivity.movement", lang),
                    [
                        ("thick", colour, label)
                        for colour, label in zip(_MOVEMENT_COLOURS, labels, strict=True)
                    ],
                    _t("map.connectivity.movement.legend", lang),
                ),
            )
        )
    if nodes is not None and not nodes.empty and "degree" in nodes:
        inside = shapely.contains_xy(
            ctx.district.boundary, nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
        )
        dead = nodes.loc[(_float_column(nodes, "degree") == 1) & inside]
        group = folium.FeatureGroup(name=html.escape(_t("map.connectivity.dead_ends", lang)))
        layer = _geojson(
            dead,
            [_dot("#7b3294", 4.5, edge="#ffffff", weight=1.5)] * len(dead),
            [_tip(_t("map.connectivity.dead_end", lang))] * len(dead),
            point_radius=4.5,
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.connectivity.dead_ends", lang),
                    [("point", "#7b3294", _t("map.connectivity.dead_end", lang))],
                ),
            )
        )
    new = _new_streets(ctx)
    if new is not None and not new.empty:
        group = folium.FeatureGroup(name=html.escape(_t("map.connectivity.new_streets", lang)))
        names = _text_column(new, "name")
        layer = _geojson(
            new,
            [_line(_NEW, 5.0)] * len(new),
            [
                _tip(n or _t("map.connectivity.new_street", lang), [(_t("tip.id", lang), i)])
                for n, i in zip(names, _text_column(new, "street_id"), strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.connectivity.new_streets", lang),
                    [("thick", _NEW, _t("map.connectivity.new_street", lang))],
                ),
            )
        )
    if ctx.links > 0:
        links = _suggested_links(ctx)
        group = folium.FeatureGroup(name=html.escape(_t("map.connectivity.links", lang)))
        ranks = _float_column(links, "rank")
        lengths = _float_column(links, "length_m")
        gains = _float_column(links, "gain")
        layer = _geojson(
            links,
            [_line(_LINK, 4.5, dash="8 6")] * len(links),
            [
                _tip(
                    _t(
                        "map.connectivity.link",
                        lang,
                        rank=_number(r, 0, lang),
                        length=_number(length, 0, lang),
                    ),
                    [(_t("tip.gain", lang), _number(g, 4, lang))],
                )
                for r, length, g in zip(ranks, lengths, gains, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.connectivity.links", lang),
                    [("dash", _LINK, _t("map.connectivity.links", lang))],
                ),
            )
        )
    if homes is not None and not homes.empty:
        values = _float_column(homes, "route_directness")
        classes = np.searchsorted(_DIRECTNESS_EDGES, values, side="right")
        group = folium.FeatureGroup(
            name=html.escape(_t("map.connectivity.homes", lang)), show=False
        )
        ids = _text_column(homes, "building_id")
        names = _building_names(ctx.district, ids)
        centre = _float_column(homes, "distance_to_centre_m")
        layer = _geojson(
            homes,
            [
                _dot(_DIRECTNESS_COLOURS[c] if np.isfinite(v) else "#bdbdbd", 5.0)
                for c, v in zip(classes, values, strict=True)
            ],
            [
                _tip(
                    n,
                    [
                        (_t("tip.directness", lang), _number(v, 2, lang)),
                        (_t("tip.centre", lang), f"{_number(c / 1000, 1, lang)} km"),
                    ],
                )
                for n, v, c in zip(names, values, centre, strict=True)
            ],
            point_radius=5.0,
        )
        if layer is not None:
            layer.add_to(group)
        edges_txt = [_number(e, 1, lang) for e in _DIRECTNESS_EDGES]
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.connectivity.homes", lang),
                    [
                        ("point", _DIRECTNESS_COLOURS[0], f"< {edges_txt[0]}"),
                        ("point", _DIRECTNESS_COLOURS[1], f"{edges_txt[0]}–{edges_txt[1]}"),
                        ("point", _DIRECTNESS_COLOURS[2], f"{edges_txt[1]}–{edges_txt[2]}"),
                        ("point", _DIRECTNESS_COLOURS[3], f"≥ {edges_txt[2]}"),
                    ],
                    _t("map.connectivity.homes.legend", lang),
                ),
            )
        )
    return layers


def _street_names(district: District, street_ids: Sequence[str], lang: str) -> list[str]:
    streets = district.streets
    lookup = dict(
        zip(_text_column(streets, "street_id"), _text_column(streets, "name"), strict=True)
    )
    return [lookup.get(s) or _t("map.unnamed", lang) for s in street_ids]


def _building_names(district: District, building_ids: Sequence[str]) -> list[str]:
    buildings = district.buildings
    lookup = dict(
        zip(_text_column(buildings, "building_id"), _text_column(buildings, "name"), strict=True)
    )
    return [lookup.get(b) or b for b in building_ids]


def _speeds(ctx: _Ctx) -> tuple[gpd.GeoDataFrame, str | None]:
    """Per-street car speeds and the modelled-speed column, or posted limits (column None)."""
    module = ctx.modules.get("calming")
    if module is not None and "calming_speeds" in module.layers:
        frame = module.layers["calming_speeds"]
    else:
        from vollsmose_gis import calming

        district = ctx.district

        def compute() -> gpd.GeoDataFrame | None:
            try:
                return calming.operating_speeds(district)
            except InputError as exc:  # e.g. no street open to cars
                log.info("no speed model for %s: %s", district.name, exc)
                return None

        frame = _cached("speeds", district, ("streets", "calming", "pois"), compute)
    if frame is not None:
        column = next((c for c in ("v85_max_kmh", "v85_kmh", "v85_mean_kmh") if c in frame), None)
        if column is not None:
            return frame, column
    streets = ctx.district.streets
    return streets.loc[_bool_column(streets, "car")], None


def _calming_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    speeds, column = _speeds(ctx)
    speeds = ctx.view(speeds)
    posted = column is None
    values = _float_column(speeds, column or "maxspeed_kmh")
    classes = np.searchsorted(_SPEED_EDGES, values, side="right")
    key = "map.calming.speeds_posted" if posted else "map.calming.speeds"
    group = folium.FeatureGroup(name=html.escape(_t(key, lang)))
    names = _text_column(speeds, "name")
    limits = _float_column(speeds, "maxspeed_kmh")
    devices = _float_column(speeds, "devices")
    layer = _geojson(
        speeds,
        [
            _line(_SPEED_COLOURS[c] if np.isfinite(v) else "#bdbdbd", 4.0)
            for c, v in zip(classes, values, strict=True)
        ],
        [
            _tip(
                n or _t("map.unnamed", lang),
                [
                    (_t("tip.v85", lang), "" if posted else f"{_number(v, 0, lang)} km/h"),
                    (_t("tip.limit", lang), f"{_number(lim, 0, lang)} km/h"),
                    (_t("tip.devices", lang), "" if posted else _number(dv, 0, lang)),
                ],
            )
            for n, v, lim, dv in zip(names, values, limits, devices, strict=True)
        ],
    )
    if layer is not None:
        layer.add_to(group)
    layers = [
        _Layer(
            group,
            _Legend(
                _t(key, lang),
                [
                    ("thick", colour, f"{label} km/h")
                    for colour, label in zip(_SPEED_COLOURS, _SPEED_LABELS, strict=True)
                ],
                _t(f"{key}.legend", lang),
            ),
        )
    ]
    devices_frame = ctx.view(ctx.district.calming)
    group = folium.FeatureGroup(name=html.escape(_t("map.calming.devices", lang)))
    kinds = _text_column(devices_frame, "kind")
    layer = _geojson(
        devices_frame,
        [_dot(_CALMING_COLOURS.get(k, "#000000"), 5.0, edge="#ffffff", weight=1.5) for k in kinds],
        [
            _tip(_category("calming", k, lang), [(_t("tip.street", lang), s)])
            for k, s in zip(kinds, _text_column(devices_frame, "street_id"), strict=True)
        ],
        point_radius=5.0,
    )
    if layer is not None:
        layer.add_to(group)
    present = [k for k in _CALMING_COLOURS if k in set(kinds)] or ["hump"]
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.calming.devices", lang),
                [("point", _CALMING_COLOURS[k], _category("calming", k, lang)) for k in present],
            ),
        )
    )
    return layers


def _lighting_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    result = ctx.module("lighting")
    layers: list[_Layer] = []
    raster = result.rasters.get("illuminance")
    if raster is not None:
        values, bounds = _warp_to_mercator(raster, categorical=False)
        classes = np.searchsorted(_LUX_EDGES, values, side="right")
        classes[~np.isfinite(values)] = -1
        palette = [_rgba(c, a) for c, a in zip(_LUX_COLOURS, _LUX_ALPHA, strict=True)]
        name = html.escape(_t("map.lighting.illuminance", lang))
        group = folium.FeatureGroup(name=name)
        _classified_overlay(classes, palette, bounds, name=name, pixelated=False).add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.lighting.illuminance", lang),
                    [("fill", _LUX_COLOURS[0], _t("map.lighting.dark", lang))],
                    _t("map.lighting.illuminance.legend", lang),
                    bar=(_LUX_COLOURS, _ticks(_LUX_EDGES, lang)),
                ),
            )
        )
    segments = result.layers.get("lighting_segments")
    if segments is not None and not segments.empty:
        inside = _bool_column(segments, "in_boundary") if "in_boundary" in segments else None
        shown = segments.loc[inside] if inside is not None else segments
        ok = _bool_column(shown, "pass")
        order = np.argsort(~ok, kind="stable")  # failing drawn on top
        shown = shown.iloc[order]
        ok = ok[order]
        group = folium.FeatureGroup(name=html.escape(_t("map.lighting.check", lang)))
        names = _text_column(shown, "name")
        cls = _text_column(shown, "lighting_class")
        e_avg = _float_column(shown, "E_avg_lx")
        e_min = _float_column(shown, "E_min_lx")
        r_avg = _float_column(shown, "required_avg_lx")
        r_min = _float_column(shown, "required_min_lx")
        layer = _geojson(
            shown,
            [_line(_PASS, 2.5) if p else _line(_FAIL, 3.5) for p in ok],
            [
                _tip(
                    n or _t("map.unnamed", lang),
                    [
                        ("", _t("map.lighting.pass" if p else "map.lighting.fail", lang)),
                        (_t("tip.class", lang), c),
                        (_t("tip.e_avg", lang), f"{_number(a, 1, lang)} lx"),
                        (_t("tip.e_min", lang), f"{_number(b, 1, lang)} lx"),
                        (
                            _t("tip.required", lang),
                            f"{_number(ra, 1, lang)} / {_number(rm, 1, lang)} lx",
                        ),
                    ],
                )
                for n, p, c, a, b, ra, rm in zip(
                    names, ok, cls, e_avg, e_min, r_avg, r_min, strict=True
                )
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.lighting.check", lang),
                    [
                        ("thick", _FAIL, _t("map.lighting.fail", lang)),
                        ("line", _PASS, _t("map.lighting.pass", lang)),
                    ],
                ),
            )
        )
    dark = result.layers.get("lighting_dark_spots")
    if dark is not None:
        group = folium.FeatureGroup(name=html.escape(_t("map.lighting.dark_spots", lang)))
        areas = _float_column(dark, "area_m2")
        means = _float_column(dark, "mean_lx")
        layer = _geojson(
            dark,
            [_fill(_DARK_SPOT, edge=_DARK_SPOT, weight=1.5, opacity=0.55)] * len(dark),
            [
                _tip(
                    _t("map.lighting.dark_spot", lang),
                    [
                        (_t("tip.area", lang), f"{_number(a, 0, lang)} m²"),
                        (_t("tip.mean_lx", lang), f"{_number(mu, 2, lang)} lx"),
                    ],
                )
                for a, mu in zip(areas, means, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.lighting.dark_spots", lang),
                    [("fill", _DARK_SPOT, _t("map.lighting.dark_spot", lang))],
                ),
            )
        )
    lights = ctx.view(ctx.district.lights)
    group = folium.FeatureGroup(name=html.escape(_t("map.lighting.lamps", lang)), show=False)
    ids = _text_column(lights, "light_id")
    lumens = _float_column(lights, "lumens")
    heights = _float_column(lights, "height_m")
    layer = _geojson(
        lights,
        [_dot(_LAMP, 2.5, edge="#5c4a00", weight=0.8)] * len(lights),
        [
            _tip(
                f"{_t('map.lighting.lamp', lang)} {i}",
                [
                    (_t("tip.lumens", lang), f"{_number(lm, 0, lang)} lm"),
                    (_t("tip.height", lang), f"{_number(h, 1, lang)} m"),
                ],
            )
            for i, lm, h in zip(ids, lumens, heights, strict=True)
        ],
        point_radius=2.5,
    )
    if layer is not None:
        layer.add_to(group)
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.lighting.lamps", lang), [("point", _LAMP, _t("map.lighting.lamp", lang))]
            ),
        )
    )
    return layers


def _dori_names(raster: Raster) -> list[str]:
    """Level names by code (1 = lowest) from the raster tags, else the standard's levels."""
    names = []
    k = 1
    while f"level_{k}" in raster.tags:
        names.append(raster.tags[f"level_{k}"].split(" (")[0].strip())
        k += 1
    if names:
        return names
    from vollsmose_gis.cctv import dori_levels

    return list(dori_levels())


def _camera_sectors(district: District) -> gpd.GeoDataFrame:
    """Each camera's unobstructed field of view out to its detection range, as a wedge."""
    import warnings

    from vollsmose_gis import cctv

    def compute() -> gpd.GeoDataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cctv.CameraWarning)
            setup = cctv.camera_setup(district)
        setup = setup[setup["status"] == "ok"]
        rows = []
        target_z = 1.7  # a face above the ground (IEC 62676-4; cctv module)
        for row in setup.itertuples(index=False):
            reach = cctv.dori_distances(float(row.resolution_px), float(row.hfov_deg))
            slant = max(reach.values())  # the lowest level (detection) reaches farthest
            dz = max(float(row.height_m) - target_z, 0.0)
            radius = float(np.sqrt(max(slant**2 - dz**2, 0.0)))
            x, y = row.geometry.x, row.geometry.y
            hfov = float(row.hfov_deg)
            if hfov >= 360:
                wedge = shapely.Point(x, y).buffer(radius, quad_segs=16)
            else:
                angles = np.radians(
                    np.linspace(row.heading_deg - hfov / 2, row.heading_deg + hfov / 2, 33)
                )
                arc = np.column_stack([x + radius * np.sin(angles), y + radius * np.cos(angles)])
                wedge = shapely.Polygon([(x, y), *arc.tolist(), (x, y)])
            rows.append(
                {
                    "camera_id": str(row.camera_id),
                    "height_m": float(row.height_m),
                    "heading_deg": float(row.heading_deg),
                    "hfov_deg": hfov,
                    "resolution_px": float(row.resolution_px),
                    "range_m": radius,
                    "x": x,
                    "y": y,
                    "geometry": wedge,
                }
            )
        if not rows:
            return gpd.GeoDataFrame(geometry=[], crs=district.crs)
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs)

    return _cached("sectors", district, ("cameras", "buildings"), compute)


def _cctv_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    result = ctx.module("cctv")
    layers: list[_Layer] = []
    raster = result.rasters.get("dori_levels")
    if raster is not None:
        names = _dori_names(raster)
        values, bounds = _warp_to_mercator(raster, categorical=True)
        classes = values.astype(int) - 1  # code 1 -> palette 0; 0 (not seen) -> -1
        classes[(values == 0) | (values == 255) | (classes >= len(_DORI_COLOURS))] = -1
        palette = [_rgba(c, 200) for c in _DORI_COLOURS]
        name = html.escape(_t("map.cctv.levels", lang))
        group = folium.FeatureGroup(name=name)
        _classified_overlay(classes, palette, bounds, name=name, pixelated=True).add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.cctv.levels", lang),
                    [
                        (
                            "fill",
                            colour,
                            _t(f"map.cctv.{n}", lang) if f"map.cctv.{n}" in _texts() else n,
                        )
                        for colour, n in zip(_DORI_COLOURS, names, strict=False)
                    ],
                    _t("map.cctv.levels.legend", lang),
                ),
            )
        )
    sectors = _camera_sectors(ctx.district)
    group = folium.FeatureGroup(name=html.escape(_t("map.cctv.cameras", lang)))
    if not sectors.empty:
        tips = [
            _tip(
                f"{_t('map.cctv.camera', lang)} {r.camera_id}",
                [
                    (_t("tip.height", lang), f"{_number(r.height_m, 1, lang)} m"),
                    (_t("tip.heading", lang), f"{_number(r.heading_deg, 0, lang)}°"),
                    (_t("tip.fov", lang), f"{_number(r.hfov_deg, 0, lang)}°"),
                    (_t("tip.resolution", lang), f"{_number(r.resolution_px, 0, lang)} px"),
                    (_t("tip.range", lang), f"{_number(r.range_m, 0, lang)} m"),
                ],
            )
            for r in sectors.itertuples(index=False)
        ]
        layer = _geojson(
            sectors,
            [{"color": _CAMERA, "weight": 1.5, "dashArray": "5 4", "fillOpacity": 0.0}]
            * len(sectors),
            tips,
        )
        if layer is not None:
            layer.add_to(group)
        points = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(sectors["x"], sectors["y"]), crs=sectors.crs
        )
        layer = _geojson(
            points,
            [_dot(_CAMERA, 5.0, edge="#ffffff", weight=1.5)] * len(points),
            tips,
            point_radius=5.0,
        )
        if layer is not None:
            layer.add_to(group)
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.cctv.cameras", lang),
                [
                    ("point", _CAMERA, _t("map.cctv.camera", lang)),
                    ("outline", _CAMERA, _t("map.cctv.sector", lang)),
                ],
            ),
        )
    )
    return layers


def _catchments(district: District) -> gpd.GeoDataFrame:
    from vollsmose_gis import mix

    def compute() -> gpd.GeoDataFrame:
        try:
            return mix.home_catchments(district, radii_m=[800.0])
        except InputError as exc:  # no walkable street: no catchment to show
            log.info("no catchments for %s: %s", district.name, exc)
            return gpd.GeoDataFrame(geometry=[], crs=district.crs)

    return _cached("catchments", district, ("buildings", "streets"), compute)


def _mix_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    d = ctx.district
    layers: list[_Layer] = []
    buildings = ctx.view(d.buildings)
    dwellings = _float_column(buildings, "dwellings")
    homes = buildings.loc[dwellings > 0]
    tenures = [t or "unknown" for t in _text_column(homes, "tenure")]
    group = folium.FeatureGroup(
        name=html.escape(_t("map.mix.tenure", lang)), show=ctx.focus != "use"
    )
    names = _text_column(homes, "name")
    ids = _text_column(homes, "building_id")
    estates = _text_column(homes, "estate")
    home_dwellings = _float_column(homes, "dwellings")

    def tenure_label(value: str) -> str:
        if value == "unknown":
            return _t("map.mix.tenure.unknown", lang)
        return _category("tenure", value, lang)

    layer = _geojson(
        homes,
        [
            _fill(_TENURE_COLOURS.get(t, _TENURE_COLOURS["unknown"]), edge="#555555", weight=0.5)
            for t in tenures
        ],
        [
            _tip(
                n or i,
                [
                    (_t("tip.tenure", lang), tenure_label(t)),
                    (_t("tip.dwellings", lang), _number(w, 0, lang)),
                    (_t("tip.estate", lang), e),
                ],
            )
            for n, i, t, w, e in zip(names, ids, tenures, home_dwellings, estates, strict=True)
        ],
    )
    if layer is not None:
        layer.add_to(group)
    present = [t for t in _TENURE_COLOURS if t in set(tenures)]
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.mix.tenure", lang),
                [("fill", _TENURE_COLOURS[t], tenure_label(t)) for t in present],
            ),
        )
    )
    landuse = ctx.view(d.landuse)
    others = buildings.loc[~(dwellings > 0)]
    land_uses = _text_column(landuse, "use")
    building_uses = _text_column(others, "use")
    group = folium.FeatureGroup(
        name=html.escape(_t("map.mix.landuse", lang)), show=ctx.focus == "use"
    )
    for frame, uses, weight in ((landuse, land_uses, 0.0), (others, building_uses, 0.6)):
        layer = _geojson(
            frame,
            [_fill(_USE_COLOURS.get(u, "#f0f0f0"), edge="#555555", weight=weight) for u in uses],
            [
                _tip(
                    n or _category("use", u, lang),
                    [(_t("tip.use", lang), _category("use", u, lang))],
                )
                for n, u in zip(_text_column(frame, "name"), uses, strict=True)
            ],
        )
        if layer is not None:
            layer.add_to(group)
    present = [u for u in _USE_COLOURS if u in set(land_uses) | set(building_uses)]
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.mix.landuse", lang),
                [("fill", _USE_COLOURS[u], _category("use", u, lang)) for u in present],
            ),
        )
    )
    catchments = ctx.view(_catchments(d))
    group = folium.FeatureGroup(name=html.escape(_t("map.mix.catchment", lang)), show=False)
    entropy = _float_column(catchments, "landuse_entropy_800m")
    jobs = _float_column(catchments, "jobs_per_dwelling_800m")
    classes = np.searchsorted(_ENTROPY_EDGES, entropy, side="right")
    names = _building_names(d, _text_column(catchments, "building_id"))
    layer = _geojson(
        catchments,
        [
            _fill(_ENTROPY_COLOURS[c] if np.isfinite(v) else "#bdbdbd", edge="#555555", weight=0.5)
            for c, v in zip(classes, entropy, strict=True)
        ],
        [
            _tip(
                n,
                [
                    (_t("tip.entropy", lang), _number(v, 2, lang)),
                    (_t("tip.jobs", lang), _number(j, 2, lang)),
                ],
            )
            for n, v, j in zip(names, entropy, jobs, strict=True)
        ],
    )
    if layer is not None:
        layer.add_to(group)
    layers.append(
        _Layer(
            group,
            _Legend(
                _t("map.mix.catchment", lang),
                [],
                _t("map.mix.catchment.legend", lang),
                bar=(_ENTROPY_COLOURS, _ticks(_ENTROPY_EDGES, lang)),
            ),
        )
    )
    return layers


_THEME_LAYERS: dict[str, Callable[[_Ctx], list[_Layer]]] = {
    "connectivity": _connectivity_layers,
    "calming": _calming_layers,
    "lighting": _lighting_layers,
    "cctv": _cctv_layers,
    "mix": _mix_layers,
}


def _check_theme(theme: str) -> str:
    if theme not in THEMES and theme != "all":
        raise InputError(f"unknown map theme {theme!r}; themes are {[*THEMES, 'all']}")
    return theme


def _context(source: Any, lang: str, baseline: Any, links: int) -> _Ctx:
    district, modules, name = _resolve(source)
    base = _resolve(baseline)[0] if baseline is not None else None
    if links < 0:
        raise InputError(f"links must be >= 0, got {links!r}")
    return _Ctx(district, modules, _check_lang(lang), _label(name, lang), base, links)


def _themed(
    m: folium.Map,
    ctx: _Ctx,
    themes: Sequence[str],
    title: str,
    subtitle: str,
    *,
    collapsed: bool = False,
    show_only_first: bool = False,
    legend: bool = True,
) -> None:
    layers = _base_layers(ctx)
    for k, theme in enumerate(themes):
        theme_layers = _THEME_LAYERS[theme](ctx)
        if show_only_first and k > 0:
            for layer in theme_layers:
                if layer.group is not None:
                    layer.group.show = False
        layers.extend(theme_layers)
    _add_groups(m, layers)
    _finish(m, ctx, layers, title, subtitle, collapsed=collapsed, legend=legend)


def theme_map(
    source: District | ScenarioResult,
    theme: str,
    *,
    tiles: str | None = None,
    lang: str = "en",
    baseline: District | ScenarioResult | None = None,
    links: int = 5,
) -> folium.Map:
    """Map one theme (``connectivity``, ``calming``, ``lighting``, ``cctv``, ``mix``) or ``all``.

    Parameters
    ----------
    source
        A District (the module results are computed, and cached by content) or a
        :class:`~vollsmose_gis.scoring.ScenarioResult` (its module results are used).
    theme
        One of :data:`THEMES`, or ``"all"`` for :func:`scenario_map`.
    tiles
        A folium tile name or URL template for a basemap, e.g. ``"OpenStreetMap"``;
        ``None`` (default) draws none, which works offline.
    lang
        ``"en"`` (default) or ``"da"``.
    baseline
        The district before a scenario: its new streets are highlighted.
    links
        How many new pedestrian links to suggest on the connectivity map (0 = none).

    Returns
    -------
    folium.Map
        In EPSG:3857 with data in EPSG:4326; one FeatureGroup per layer, legends,
        escaped tooltips, the boundary, provenance in the attribution, LayerControl.

    Raises
    ------
    InputError
        Unknown theme or language, negative ``links``.
    """
    if _check_theme(theme) == "all":
        return scenario_map(source, tiles=tiles, lang=lang, baseline=baseline, links=links)
    ctx = _context(source, lang, baseline, links)
    m = _new_map(ctx.district, tiles)
    subtitle = _t(f"map.{theme}.subtitle", lang)
    if theme == "calming" and _speeds(ctx)[1] is None:
        subtitle = _t("map.calming.subtitle_posted", lang)
    _themed(m, ctx, [theme], f"{_t(f'map.{theme}.title', lang)} — {ctx.label}", subtitle)
    if theme == "cctv":
        _fit_cameras(m, [ctx.district], padding_right=290)
    return m


def _fit_cameras(m: folium.Map, districts: Sequence[District], *, padding_right: int) -> None:
    """Zoom to the cameras' fields of view (with 80 m around): at the district's scale a
    camera's few dozen metres of coverage are too small to read."""
    sectors = [_camera_sectors(d) for d in districts]
    sectors = [s for s in sectors if not s.empty]
    if not sectors:
        return
    area = shapely.union_all([shapely.box(*s.total_bounds) for s in sectors]).buffer(80)
    box = gpd.GeoSeries([area], crs=districts[0].crs).to_crs(4326).total_bounds
    west, south, east, north = (float(v) for v in box)
    m.fit_bounds(
        [[south, west], [north, east]],
        padding_top_left=(12, 64),
        padding_bottom_right=(padding_right, 12),
    )


def connectivity_map(source: District | ScenarioResult, **options: Any) -> folium.Map:
    """Map walking through-movement (betweenness within 800 m), dead ends and new links.

    Streets are ranked by ``betweenness_800`` (connectivity module) and drawn in four
    classes (quietest half, 50-75 %, 75-90 %, busiest 10 %); dead ends are walk-graph
    nodes of degree 1 inside the boundary; suggested links come from
    :func:`vollsmose_gis.connectivity.suggest_links` (``links`` of them); homes are
    coloured by route directness (off by default).  Options as :func:`theme_map`.
    """
    return theme_map(source, "connectivity", **options)


def calming_map(source: District | ScenarioResult, **options: Any) -> folium.Map:
    """Map modelled car speeds (V85 classes ≤30, 31-40, 41-50, >50 km/h) and calming devices.

    Speeds are the ``calming_speeds`` layer of a scenario result, else
    :func:`vollsmose_gis.calming.operating_speeds`; where the speed model cannot run
    (it raises :class:`InputError`) the map shows the posted limits and says so in its
    subtitle and legend.  Options as
    :func:`theme_map`.
    """
    return theme_map(source, "calming", **options)


def lighting_map(source: District | ScenarioResult, **options: Any) -> folium.Map:
    """Map the illuminance raster (lux classes at the EN 13201 steps), the EN 13201 check
    of every street and path (failing ones in red), dark spots and lamps.

    Options as :func:`theme_map`.
    """
    return theme_map(source, "lighting", **options)


def cctv_map(source: District | ScenarioResult, **options: Any) -> folium.Map:
    """Map the best DORI level per cell (IEC 62676-4) and each camera's field of view.

    The wedge of a camera reaches its horizontal detection range without occlusion;
    the DORI raster shows what is really seen (buildings block the view).  Options as
    :func:`theme_map`.
    """
    return theme_map(source, "cctv", **options)


def mix_map(source: District | ScenarioResult, **options: Any) -> folium.Map:
    """Map the tenure of every home block, land use, and the land-use mix within 800 m walk.

    Options as :func:`theme_map`.
    """
    return theme_map(source, "mix", **options)


def scenario_map(
    source: District | ScenarioResult,
    *,
    tiles: str | None = None,
    lang: str = "en",
    baseline: District | ScenarioResult | None = None,
    links: int = 5,
    themes: Sequence[str] = THEMES,
) -> folium.Map:
    """Map every theme of a district or scenario on one map, one switchable layer each.

    Only the base layers and the first theme's layers are on at first; the
    LayerControl (top right, expanded) turns the others on, and each legend appears
    with its layer.  Options as :func:`theme_map`.
    """
    for theme in themes:
        if theme not in THEMES:
            raise InputError(f"unknown map theme {theme!r}; themes are {list(THEMES)}")
    ctx = _context(source, lang, baseline, links)
    m = _new_map(ctx.district, tiles)
    _themed(
        m,
        ctx,
        list(themes),
        f"{_t('map.scenario.title', lang)} — {ctx.label}",
        _t("map.scenario.subtitle", lang),
        show_only_first=True,
    )
    return m


def before_after_map(
    before: District | ScenarioResult,
    after: District | ScenarioResult,
    *,
    theme: str = "all",
    tiles: str | None = None,
    lang: str = "en",
    links: int = 0,
) -> DualMap:
    """Show a theme before (left) and after (right) a scenario, with synchronised views.

    Parameters
    ----------
    before, after
        Districts or scenario results (typically ``result.baseline`` and
        ``result.results[name]``).
    theme
        One of :data:`THEMES` or ``"all"``.
    tiles, lang
        As :func:`theme_map`.
    links
        Suggested links on the connectivity maps (default none: a before/after map
        compares what is planned).

    Returns
    -------
    folium.plugins.DualMap
        ``.m1`` (before) and ``.m2`` (after), each with its title, legends and
        LayerControl (collapsed to leave room).
    """
    return _dual(before, after, theme=theme, tiles=tiles, lang=lang, links=links)


def _dual(
    before: Any,
    after: Any,
    *,
    theme: str,
    tiles: str | None,
    lang: str,
    links: int,
    focus: str = "",
) -> DualMap:
    _check_theme(theme)
    themes = list(THEMES) if theme == "all" else [theme]
    ctx_before = _context(before, lang, None, links)
    ctx_after = _context(after, lang, before, links)
    ctx_before.focus = ctx_after.focus = focus
    dual = DualMap(tiles=None, zoom_snap=0.25, max_zoom=20)
    for m, ctx, key in ((dual.m1, ctx_before, "map.before"), (dual.m2, ctx_after, "map.after")):
        _start_map(m, ctx_before.district, tiles, padding_right=12)
        head = _t(f"map.{theme}.title", lang) if theme != "all" else _t("map.scenario.title", lang)
        _themed(
            m,
            ctx,
            themes,
            f"{head} — {_t(key, lang, name=ctx.label)}",
            "",
            collapsed=True,
            show_only_first=theme == "all",
            legend=m is dual.m2,  # one legend (the same for both sides), on the right
        )
    if theme == "cctv":
        for m in (dual.m1, dual.m2):
            _fit_cameras(m, [ctx_before.district, ctx_after.district], padding_right=12)
    return dual


# --------------------------------------------------------------------------- changes


def _aligned(a: Raster, b: Raster, fill: float) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """Both rasters on one grid (the union of their extents at ``a``'s cell size)."""
    if a.array.shape == b.array.shape and a.transform == b.transform and a.crs == b.crs:
        return np.asarray(a.array), np.asarray(b.array), a.transform, a.crs
    from rasterio.transform import from_origin

    res = a.resolution_m
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    x0, y0 = min(ax0, bx0), min(ay0, by0)
    x1, y1 = max(ax1, bx1), max(ay1, by1)
    cols = int(np.ceil((x1 - x0) / res))
    rows = int(np.ceil((y1 - y0) / res))
    transform = from_origin(x0, y1, res, res)
    out = []
    for raster in (a, b):
        grid = np.full((rows, cols), fill, dtype=np.float32)
        reproject(
            np.asarray(raster.array).astype(np.float32),
            grid,
            src_transform=raster.transform,
            src_crs=raster.crs,
            src_nodata=raster.nodata,
            dst_transform=transform,
            dst_crs=a.crs,
            dst_nodata=fill,
            resampling=Resampling.nearest,
        )
        out.append(grid)
    return out[0], out[1], transform, a.crs


def _mask_polygons(mask: np.ndarray, transform: Any, crs: str) -> gpd.GeoDataFrame:
    """The cells of a boolean mask as (simplified) polygons, one row per patch."""
    if not mask.any():
        return gpd.GeoDataFrame({"area_m2": []}, geometry=[], crs=crs)
    polygons = [
        shapely.geometry.shape(geom)
        for geom, _ in rio_features.shapes(
            mask.astype(np.uint8), mask=mask, transform=transform, connectivity=4
        )
    ]
    geoms = shapely.simplify(np.array(polygons, dtype=object), 0.5)
    return gpd.GeoDataFrame(
        {"area_m2": shapely.area(np.array(polygons, dtype=object))}, geometry=geoms, crs=crs
    )


def _per_street(frame: gpd.GeoDataFrame, column: str) -> dict[str, float]:
    values = pd.Series(_float_column(frame, column), index=_text_column(frame, "street_id"))
    return values.groupby(level=0).max().to_dict()


def _change_layers(before: _Ctx, after: _Ctx) -> list[_Layer]:
    lang = after.lang
    layers: list[_Layer] = []
    lit_a = before.module("lighting").rasters.get("illuminance")
    lit_b = after.module("lighting").rasters.get("illuminance")
    if lit_a is not None and lit_b is not None:
        a, b, transform, crs = _aligned(lit_a, lit_b, np.nan)
        delta = Raster(b - a, transform, crs, nodata=None, name="illuminance_change", unit="lx")
        if np.nanmax(np.abs(delta.array), initial=0.0) >= 1.0:
            values, bounds = _warp_to_mercator(delta, categorical=False)
            classes = np.searchsorted(_DELTA_LUX_EDGES, values, side="right")
            classes[~np.isfinite(values)] = -1
            palette = [_rgba(c, 210) for c in _DELTA_LUX_COLOURS]
            name = html.escape(_t("map.changes.illuminance", lang))
            group = folium.FeatureGroup(name=name)
            _classified_overlay(classes, palette, bounds, name=name, pixelated=False).add_to(group)
            e = [_number(x, 0, lang) for x in _DELTA_LUX_EDGES]
            rows = [
                ("fill", _DELTA_LUX_COLOURS[0], f"< {e[0]} lx ({_t('map.changes.darker', lang)})"),
                ("fill", _DELTA_LUX_COLOURS[1], f"{e[0]} to {e[1]} lx"),
                ("fill", _DELTA_LUX_COLOURS[3], f"+{e[2]} to +{e[3]} lx"),
                ("fill", _DELTA_LUX_COLOURS[4], f"+{e[3]} to +{e[4]} lx"),
                (
                    "fill",
                    _DELTA_LUX_COLOURS[5],
                    f"> +{e[4]} lx ({_t('map.changes.brighter', lang)})",
                ),
            ]
            layers.append(
                _Layer(
                    group,
                    _Legend(
                        _t("map.changes.illuminance", lang),
                        rows,
                        _t("map.changes.illuminance.legend", lang),
                    ),
                )
            )
    speeds_a, col_a = _speeds(before)
    speeds_b, col_b = _speeds(after)
    speeds_b = after.view(speeds_b)
    col_before = col_a or "maxspeed_kmh"
    col_after = col_b or "maxspeed_kmh"
    old = _per_street(speeds_a, col_before)
    new_values = _float_column(speeds_b, col_after)
    previous = np.array(
        [old.get(s, np.nan) for s in _text_column(speeds_b, "street_id")], dtype=float
    )
    change = new_values - previous
    changed = np.isfinite(change) & (np.abs(change) >= 0.5)
    if changed.any():
        part = speeds_b.loc[changed]
        classes = np.searchsorted(_DELTA_SPEED_EDGES, change[changed], side="right")
        group = folium.FeatureGroup(name=html.escape(_t("map.changes.speed", lang)))
        layer = _geojson(
            part,
            [_line(_DELTA_SPEED_COLOURS[c] or "#999999", 4.5) for c in classes],
            [
                _tip(
                    n or _t("map.unnamed", lang),
                    [
                        (
                            _t("tip.change", lang),
                            f"{_number(p, 0, lang)} → {_number(v, 0, lang)} km/h",
                        )
                    ],
                )
                for n, p, v in zip(
                    _text_column(part, "name"), previous[changed], new_values[changed], strict=True
                )
            ],
        )
        if layer is not None:
            layer.add_to(group)
        # Whole km/h: the class edges sit half-way between integers.
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.changes.speed", lang),
                    [
                        (
                            "thick",
                            _DELTA_SPEED_COLOURS[0],
                            f"≤ −11 km/h, {_t('map.changes.slower', lang)}",
                        ),
                        ("thick", _DELTA_SPEED_COLOURS[1], "−10 to −6 km/h"),
                        ("thick", _DELTA_SPEED_COLOURS[2], "−5 to −1 km/h"),
                        ("thick", _DELTA_SPEED_COLOURS[4], "+1 to +5 km/h"),
                        (
                            "thick",
                            _DELTA_SPEED_COLOURS[5],
                            f"≥ +6 km/h, {_t('map.changes.faster', lang)}",
                        ),
                    ],
                    _t("map.changes.speed.legend", lang),
                ),
            )
        )
    dori_a = before.module("cctv").rasters.get("dori_levels")
    dori_b = after.module("cctv").rasters.get("dori_levels")
    if dori_a is not None and dori_b is not None:
        a, b, transform, crs = _aligned(dori_a, dori_b, 0.0)
        a = np.where(a == 255, 0, a)
        b = np.where(b == 255, 0, b)
        observed = 2  # level code of "observation" (1 = detection), as the indicators use
        gained = _mask_polygons((b >= observed) & (a < observed), transform, crs)
        lost = _mask_polygons((a >= observed) & (b < observed), transform, crs)
        if len(gained) or len(lost):
            group = folium.FeatureGroup(name=html.escape(_t("map.changes.cctv", lang)))
            for frame, colour, key in (
                (gained, "#2171b5", "map.changes.cctv.gained"),
                (lost, _REMOVED, "map.changes.cctv.lost"),
            ):
                layer = _geojson(
                    frame,
                    [_fill(colour, weight=0.5, opacity=0.7)] * len(frame),
                    [
                        _tip(_t(key, lang), [(_t("tip.area", lang), f"{_number(x, 0, lang)} m²")])
                        for x in _float_column(frame, "area_m2")
                    ],
                )
                if layer is not None:
                    layer.add_to(group)
            layers.append(
                _Layer(
                    group,
                    _Legend(
                        _t("map.changes.cctv", lang),
                        [
                            ("fill", "#2171b5", _t("map.changes.cctv.gained", lang)),
                            ("fill", _REMOVED, _t("map.changes.cctv.lost", lang)),
                        ],
                    ),
                )
            )
    for layer_name, id_column, key, added_key, removed_key in (
        (
            "streets",
            "street_id",
            "map.changes.streets",
            "map.changes.street_added",
            "map.changes.street_removed",
        ),
        (
            "buildings",
            "building_id",
            "map.changes.buildings",
            "map.changes.building_added",
            "map.changes.building_removed",
        ),
    ):
        frame_a = getattr(before.district, layer_name)
        frame_b = getattr(after.district, layer_name)
        ids_a = set(_text_column(frame_a, id_column))
        ids_b = set(_text_column(frame_b, id_column))
        added = frame_b.loc[[i not in ids_a for i in _text_column(frame_b, id_column)]]
        removed = frame_a.loc[[i not in ids_b for i in _text_column(frame_a, id_column)]]
        if added.empty and removed.empty:
            continue
        group = folium.FeatureGroup(name=html.escape(_t(key, lang)))
        line = layer_name == "streets"
        for frame, colour, label in ((removed, _REMOVED, removed_key), (added, _NEW, added_key)):
            style = (
                _line(colour, 5.0, dash="6 5" if colour == _REMOVED else None)
                if line
                else _fill(colour, edge=colour, weight=1.0, opacity=0.6)
            )
            layer = _geojson(
                frame,
                [style] * len(frame),
                [
                    _tip(n or i, [("", _t(label, lang))])
                    for n, i in zip(
                        _text_column(frame, "name"), _text_column(frame, id_column), strict=True
                    )
                ],
            )
            if layer is not None:
                layer.add_to(group)
        kind = "thick" if line else "fill"
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t(key, lang),
                    [
                        (kind, _NEW, _t(added_key, lang)),
                        ("dash" if line else "fill", _REMOVED, _t(removed_key, lang)),
                    ],
                ),
            )
        )
    return layers


def changes_map(
    before: District | ScenarioResult,
    after: District | ScenarioResult,
    *,
    tiles: str | None = None,
    lang: str = "en",
) -> folium.Map:
    """Map what a scenario changes: light, car speed, CCTV coverage, streets, buildings.

    Parameters
    ----------
    before, after
        Districts or scenario results (typically ``result.baseline`` and a scenario).
    tiles, lang
        As :func:`theme_map`.

    Returns
    -------
    folium.Map
        One layer per kind of change that occurs: illuminance difference after −
        before (lx; changes under 1 lx are not drawn), change of the modelled V85
        (or posted limit) per street (km/h; under 0.5 km/h not drawn), cells newly
        seen by CCTV at observation level or better and cells no longer seen (rasters
        aligned on the union of their grids), new/removed streets and
        built/demolished buildings (by id).
    """
    ctx_before = _context(before, lang, None, 0)
    ctx_after = _context(after, lang, before, 0)
    m = _new_map(ctx_after.district, tiles)
    layers = [*_base_layers(ctx_after, legend=False), *_change_layers(ctx_before, ctx_after)]
    _add_groups(m, layers)
    _finish(
        m,
        ctx_after,
        layers,
        f"{_t('map.changes.title', lang)} — {ctx_after.label}",
        _t("map.changes.subtitle", lang, after=ctx_after.label, before=ctx_before.label),
    )
    return m


# --------------------------------------------------------------------------- HTML


@functools.cache
def _vendored(relative: str) -> str:
    path = _VENDOR_DIR / relative
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".css":
        images = path.parent / "images"

        def data_uri(match: re.Match[str]) -> str:
            image = images / match.group(1)
            encoded = base64.b64encode(image.read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{encoded})"

        text = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, text)
        return "<style>" + text.replace("</style", "<\\/style") + "</style>"
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def _inline_assets(page: str) -> str:
    def replace(match: re.Match[str]) -> str:
        url = match.group("js") or match.group("css")
        name = url.rsplit("/", 1)[-1]
        if name in _VENDOR:
            return _vendored(_VENDOR[name])
        if any(token in url for token in _UNUSED_ASSETS):
            return ""
        log.warning("keeping external asset %s: the page needs the network for it", url)
        return match.group(0)

    return _ASSET_TAG.sub(replace, page)


def to_html(m: folium.Map | DualMap) -> str:
    """Render a map as one self-contained HTML page (Leaflet inlined, no CDN links).

    Tiles, if the map has a basemap, are still fetched from their server; everything
    else is in the page.
    """
    return _inline_assets(m.get_root().render())


def save_map(m: folium.Map | DualMap, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write :func:`to_html` of a map to ``path`` atomically; refuse to overwrite unless asked.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    page = to_html(m)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)


def write_maps(
    result: ScoreResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    tiles: str | None = None,
    lang: str = "en",
    progress: Callable[[float, str], None] | None = None,
) -> list[Path]:
    """Write the maps of a scoring run: baseline, and per scenario its map, before/after
    and changes.

    Files (in ``out_dir``, created if missing): ``baseline.html`` (every theme on the
    unchanged district) and for each scenario ``<slug>.html`` (:func:`scenario_map`),
    ``<slug>_before-after.html`` (:func:`before_after_map`, all themes) and
    ``<slug>_changes.html`` (:func:`changes_map`).  Every page is self-contained.

    Raises
    ------
    FileExistsError
        A file exists and ``overwrite`` is False (checked before anything is written).
    """
    from vollsmose_gis._util import slug

    _check_lang(lang)
    out = Path(out_dir)
    plan: list[tuple[Path, Callable[[], folium.Map | DualMap]]] = [
        (out / "baseline.html", lambda: scenario_map(result.baseline, tiles=tiles, lang=lang))
    ]
    for name, scenario in result.results.items():
        stem = slug(name)
        plan += [
            (
                out / f"{stem}.html",
                functools.partial(
                    scenario_map, scenario, tiles=tiles, lang=lang, baseline=result.baseline
                ),
            ),
            (
                out / f"{stem}_before-after.html",
                functools.partial(
                    before_after_map, result.baseline, scenario, tiles=tiles, lang=lang
                ),
            ),
            (
                out / f"{stem}_changes.html",
                functools.partial(changes_map, result.baseline, scenario, tiles=tiles, lang=lang),
            ),
        ]
    existing = [str(path) for path, _ in plan if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} exists ({len(existing)} map file(s) would be replaced); "
            "pass overwrite=True (CLI: --overwrite)"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, (path, build) in enumerate(plan):
        if progress is not None:
            progress(k / len(plan), f"map {path.name}")
        written.append(save_map(build(), path, overwrite=True))
    if progress is not None:
        progress(1.0, "maps written")
    return written
