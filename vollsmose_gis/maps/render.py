"""Folium plumbing shared by every map: GeoJSON with escaped tooltips, legends, the map
frame (bounds, CSS, title, attribution, LayerControl), raster overlays and offline HTML.

Escaping: the layers' tooltips (like folium's ``GeoJsonTooltip``) put property values
into ``innerHTML`` unescaped, and Leaflet does the same with layer names and
attributions.  Every text that reaches a page is therefore passed through
:func:`html.escape` here first (``_geojson``, ``_legend_html``, titles, attribution).

Shared serialisation: the same layers are drawn on many pages of a run (the baseline's
buildings on every scenario map, both sides of a before/after map, the report's maps).
:func:`_geojson` serialises a layer's features once per content (geometry, styles,
tooltips; :func:`_features`) and every page embeds the same string; the layer's
script is assembled around it in Python (:class:`_GeoJson`), and groups, overlays and
controls are rendered without compiling their output as a Jinja template
(:class:`_Direct`), which branca does for every element and which cost more than the
rest of a page for large layers.

Raster overlays (illuminance, DORI levels, their differences) are warped from the
district CRS to Web Mercator (EPSG:3857) before they become PNG images: a Leaflet
image overlay is stretched linearly in Web Mercator, and a UTM grid drawn without the
warp would be rotated by the meridian convergence (about 1.2° at Odense, 40 m over
2 km).

Offline HTML: :func:`to_html` and :func:`save_map` inline Leaflet (and Leaflet.Sync for
before/after maps) from ``templates/vendor/`` and drop folium's other CDN assets,
which these maps do not use, so a saved page needs no network at all.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.plugins import DualMap
from folium.template import Template
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.i18n import number as _number
from vollsmose_gis.i18n import t as _t
from vollsmose_gis.io import Raster, atomic_path
from vollsmose_gis.maps.style import (
    _BOUNDARY,
    _CSS,
    _RASTER_PANE,
    _line,
)

if TYPE_CHECKING:
    from vollsmose_gis.maps.themes import _Ctx

__all__ = ["feature_serialisations", "overlay_encodings", "raster_digest", "save_map", "to_html"]

log = logging.getLogger("vollsmose_gis.maps")

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
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


@dataclass(frozen=True)
class _Features:
    """A layer's features, serialised once and shared by every page that draws them.

    Attributes
    ----------
    data
        The GeoJSON FeatureCollection (EPSG:4326, coordinates rounded to 1e-6°) that
        :meth:`geopandas.GeoDataFrame.to_json` writes, value for value: ids ``"0"``..
        and the escaped tooltip texts as properties (``t`` the title, ``f1``.. the
        rows); the geometries are GEOS's text (no spaces).
    styles
        JSON ``{"s": [distinct styles], "i": [style index of each feature]}``.
    labels
        The escaped labels of the tooltip rows (empty without tooltips).
    count
        Number of features.
    """

    data: str
    styles: str
    labels: tuple[str, ...]
    count: int


_FEATURES: OrderedDict[str, _Features] = OrderedDict()
# the serialised layers kept, at most: the five example scenarios' maps hold ~4 MB
_FEATURES_BYTES = 64 * 2**20
feature_serialisations: Counter[str] = Counter()
"""How many layers were serialised to GeoJSON in this process (``"layer"``), and how
many were taken from the cache of serialised layers (``"shared"``)."""


def _digest(*parts: bytes) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _features(
    frame: gpd.GeoDataFrame, styles: Sequence[dict[str, Any]], tips: Sequence[Tip] | None
) -> _Features | None:
    """Serialise a layer once per content: geometry (and CRS), styles and tooltips.

    Most layers are the same on the baseline's and the scenarios' pages (buildings,
    green areas, the boundary…) and on both sides of a before/after map; the GeoJSON
    text of each is built once and the same string goes into every page.
    """
    geometry = frame.geometry.to_numpy()
    # a style object shared by many features is written out once (ids are stable while
    # `styles` holds the objects); the key stays a function of the contents
    style_text: dict[int, str] = {}
    for item in styles:
        if id(item) not in style_text:
            style_text[id(item)] = json.dumps(item, sort_keys=True)
    key = _digest(
        str(frame.crs).encode(),
        b"".join(shapely.to_wkb(geometry, include_srid=False, output_dimension=2).tolist()),
        "\n".join(style_text[id(item)] for item in styles).encode(),
        repr(tips).encode(),
    )
    cached = _FEATURES.get(key)
    if cached is not None:
        feature_serialisations["shared"] += 1
        _FEATURES.move_to_end(key)
        return cached
    feature_serialisations["layer"] += 1
    geoms = _to_wgs84(frame)
    labels = tuple(html.escape(label) for label, _ in tips[0][1]) if tips else ()
    drawn = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    # the geometry text from GEOS, all at once (the same JSON values as json.dumps of
    # shapely's mapping, without the spaces)
    geometry_texts = shapely.to_geojson(geoms[drawn]).tolist() if len(drawn) else []
    feats: list[str] = []
    style_index: dict[str, int] = {}
    indices: list[int] = []
    for n, (i, geometry_text) in enumerate(zip(drawn.tolist(), geometry_texts, strict=True)):
        props: dict[str, str] = {}
        if tips is not None:
            title, rows = tips[i]
            props["t"] = html.escape(title)
            for k, (_, value) in enumerate(rows, start=1):
                props[f"f{k}"] = "" if value is None else html.escape(str(value))
        # the key order of GeoDataFrame.to_json
        feats.append(
            f'{{"id": "{n}", "type": "Feature", "properties": {json.dumps(props)}, '
            f'"geometry": {geometry_text}}}'
        )
        indices.append(style_index.setdefault(style_text[id(styles[i])], len(style_index)))
    if not feats:
        return None
    features = _Features(
        data='{"type": "FeatureCollection", "features": [' + ", ".join(feats) + "]}",
        styles='{"s": [' + ", ".join(style_index) + '], "i": ' + json.dumps(indices) + "}",
        labels=labels,
        count=len(feats),
    )
    _FEATURES[key] = features
    while (
        sum(len(f.data) + len(f.styles) for f in _FEATURES.values()) > _FEATURES_BYTES
        and len(_FEATURES) > 1
    ):
        _FEATURES.popitem(last=False)
    return features


class _Raw(Element):
    """A finished piece of script or HTML, written into the page as it is.

    branca's :class:`~branca.element.MacroElement` wraps every rendered script in a new
    :class:`~branca.element.Element`, which compiles it as a Jinja template: for a layer
    of a few hundred kB that compilation cost more than everything else on the page.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _Direct:
    """Mixin for a folium element: its rendered parts go into the page as they are.

    The same as :meth:`branca.element.MacroElement.render` (and, for a layer, the
    ``addTo`` line :meth:`folium.map.Layer.render` adds after its children), without
    compiling each rendered part as a template (:class:`_Raw`).  Elements with
    JavaScript includes keep folium's own rendering.
    """

    def render(self, **kwargs: Any) -> str:
        element: Any = self
        if getattr(element, "includes", None):
            return str(super().render(**kwargs) or "")  # type: ignore[misc]
        figure = element.get_root()
        name = element.get_name()
        macros = element._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_Raw(macro(element, kwargs)), name=name)
        for child in list(element._children.values()):
            child.render(**kwargs)
        if isinstance(element, folium.map.Layer) and element.show:
            parent = element._parent
            assert parent is not None, "a layer is rendered inside a map or a group"
            figure.script.add_child(_Raw(f"{name}.addTo({parent.get_name()});"), name=name + "_add")
        return ""


class _Group(_Direct, folium.FeatureGroup):
    """A :class:`folium.FeatureGroup` rendered without template compilation (:class:`_Direct`)."""


class _ImageOverlay(_Direct, folium.raster_layers.ImageOverlay):
    """An image overlay whose script (a PNG data URL of ~100 kB) is not compiled as a template."""


class _GeoJson(folium.map.Layer):
    """A GeoJSON layer drawn from pre-serialised :class:`_Features`, with its tooltip.

    Behaves as :class:`folium.GeoJson` with a per-feature ``style_function``, an
    optional :class:`folium.GeoJsonTooltip` (class ``vg-tip``, sticky, labelled rows)
    and optional circle markers for points; its script is assembled from the shared
    strings instead of rendered through Jinja.
    """

    def __init__(
        self,
        features: _Features,
        *,
        tooltip: bool,
        point_radius: float | None,
        interactive: bool,
        control: bool = True,
    ) -> None:
        super().__init__(overlay=True, control=control)
        self._name = "GeoJson"
        self.features = features
        self.tooltip = tooltip
        self.point_radius = point_radius
        self.interactive = interactive

    @property
    def data(self) -> dict[str, Any]:
        """The FeatureCollection, parsed (for inspection; the page gets the text)."""
        return dict(json.loads(self.features.data))

    def render(self, **kwargs: Any) -> str:
        name = self.get_name()
        parent = self._parent
        assert parent is not None, "a GeoJSON layer is rendered inside a map or a group"
        options = ["style: function (f) { return s.s[s.i[+f.id]]; }"]
        if self.point_radius is not None:
            options.append(
                "pointToLayer: function (f, latlng) { return L.circleMarker(latlng, "
                f"Object.assign({{radius: {json.dumps(self.point_radius)}}}, s.s[s.i[+f.id]])); }}"
            )
        if not self.interactive:
            options.append("interactive: false")
        lines = [
            f"var {name} = (function (s) {{",
            f"    return L.geoJson(null, {{{', '.join(options)}}});",
            f"}})({self.features.styles});",
            f"{name}.addData({self.features.data});",
        ]
        if self.tooltip:
            fields = ["t", *(f"f{k}" for k in range(1, len(self.features.labels) + 1))]
            aliases = ["", *self.features.labels]
            lines.append(
                f"{name}.bindTooltip(function (layer) {{"
                f" var fields = {json.dumps(fields)}, aliases = {json.dumps(aliases)};"
                " var p = layer.feature.properties, div = L.DomUtil.create('div');"
                " div.innerHTML = '<table>' + fields.map(function (f, i) {"
                " return '<tr><th>' + aliases[i] + '</th><td>' +"
                " (p[f] === null || p[f] === undefined ? '' : p[f]) + '</td></tr>';"
                " }).join('') + '</table>'; return div;"
                ' }, {"sticky": true, "className": "vg-tip"});'
            )
        if self.show:
            lines.append(f"{name}.addTo({parent.get_name()});")
        self.get_root().script.add_child(_Raw("\n".join(lines)), name=name)  # type: ignore[attr-defined]
        return ""  # the script went into the page's script block


def _geojson(
    frame: gpd.GeoDataFrame,
    styles: Sequence[dict[str, Any]],
    tips: Sequence[Tip] | None,
    *,
    point_radius: float | None = None,
    interactive: bool = True,
) -> _GeoJson | None:
    """A GeoJSON layer with one style and one tooltip per feature.

    Tooltip texts become short properties (``t`` the title, ``f1``.. the rows), every
    one passed through :func:`html.escape`: the tooltip writes them and its labels
    into ``innerHTML`` as they are.  The rows of a layer share the labels of its first
    feature.  The serialised features are shared between every page that draws the
    same content (:func:`_features`).
    """
    if frame is None or frame.empty:
        return None
    features = _features(frame, styles, tips)
    if features is None:
        return None
    return _GeoJson(
        features,
        tooltip=tips is not None and interactive,
        point_radius=point_radius,
        interactive=interactive,
    )


def _text_column(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    values = frame[column]
    missing = values.isna().to_numpy()
    return ["" if gone else str(v) for v, gone in zip(values.tolist(), missing, strict=True)]


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


class _Controls(_Direct, MacroElement):
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


def _attribution(district: District, lang: str = "en") -> str:
    """The credit line: the data provenance, escaped (Leaflet shows it as HTML)."""
    prov = district.provenance
    if prov.attribution:
        text = prov.attribution
    elif prov.kind == "schematic":
        text = _t("map.schematic_attribution", lang, name=district.name)
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


def _boundary_layer(district: District) -> _GeoJson:
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
    m.add_child(_Controls(title_html, legend_html, links, _attribution(ctx.district, ctx.lang)))
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


def _png_data_url(image: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _classified_overlay(
    classes: np.ndarray,
    palette: Sequence[tuple[int, int, int, int]],
    bounds: list[list[float]],
    *,
    name: str,
    pixelated: bool,
) -> _ImageOverlay:
    """An image overlay from class indices (-1 = transparent) and an RGBA palette."""
    return _image_overlay(_class_png(classes, palette), bounds, name=name, pixelated=pixelated)


def _class_png(classes: np.ndarray, palette: Sequence[tuple[int, int, int, int]]) -> str:
    """Class indices (-1 = transparent) coloured by an RGBA palette, as a PNG data URL.

    An indexed-colour PNG (the palette, its alphas as the ``tRNS`` chunk): a browser
    shows the same pixels as from an RGBA image, which took ~20 times longer to
    compress and was twice the size.
    """
    from PIL import Image

    if len(palette) > 255:
        raise ValueError(f"an indexed PNG holds at most 255 classes, got {len(palette)}")
    table = np.array([*palette, (0, 0, 0, 0)], dtype=np.uint8)
    image = Image.fromarray(np.where(classes < 0, len(palette), classes).astype(np.uint8), "P")
    image.putpalette(table[:, :3].tobytes(), rawmode="RGB")
    image.info["transparency"] = table[:, 3].tobytes()
    return _png_data_url(image)


def _image_overlay(
    image: str, bounds: list[list[float]], *, name: str, pixelated: bool
) -> _ImageOverlay:
    return _ImageOverlay(
        image=image,
        bounds=bounds,
        name=name,
        control=False,
        interactive=False,
        pixelated=pixelated,
        pane=_RASTER_PANE,
    )


def raster_digest(raster: Raster) -> str:
    """A content hash of a raster: its values, grid, CRS and nodata.

    Two rasters with the same digest draw the same overlay, whichever object (or
    scenario) they come from.
    """
    values = np.ascontiguousarray(raster.array)
    digest = hashlib.blake2b(digest_size=16)
    grid = (values.dtype.str, values.shape, tuple(raster.transform)[:6], str(raster.crs))
    digest.update(repr((grid, raster.nodata)).encode())
    digest.update(values.data)
    return digest.hexdigest()


_OVERLAYS: OrderedDict[tuple[str, str], tuple[str, list[list[float]]]] = OrderedDict()
_OVERLAYS_SIZE = 48
overlay_encodings: Counter[str] = Counter()
"""How many raster overlays were warped and PNG-encoded in this process, by style
(the rest came from the cache of encoded overlays)."""


def _raster_overlay(
    raster: Raster,
    classify: Callable[[np.ndarray], np.ndarray],
    palette: Sequence[tuple[int, int, int, int]],
    *,
    style: str,
    categorical: bool,
    name: str,
    pixelated: bool,
) -> _ImageOverlay:
    """A classified raster as an image overlay, warped and PNG-encoded once per content.

    The same raster is drawn on many pages (the scenario map, both sides of its
    before/after maps, the report's maps): the encoded image is kept by the raster's
    content (:func:`raster_digest`) and ``style`` (the classification and palette),
    so every page after the first reuses it.

    Parameters
    ----------
    raster
        The raster, in the district's CRS (warped to Web Mercator here).
    classify
        Warped values -> class indices (-1 = transparent).
    palette
        RGBA colour of each class.
    style
        Names the classification (``"lux"``, ``"dori"``…): part of the cache key.
    categorical, name, pixelated
        As :func:`_warp_to_mercator` and the overlay's options.
    """
    key = (raster_digest(raster), f"{style}|{list(palette)!r}|{categorical}")
    cached = _OVERLAYS.get(key)
    if cached is None:
        overlay_encodings[style] += 1
        values, bounds = _warp_to_mercator(raster, categorical=categorical)
        cached = (_class_png(classify(values), palette), bounds)
        if len(_OVERLAYS) >= _OVERLAYS_SIZE:
            _OVERLAYS.popitem(last=False)
        _OVERLAYS[key] = cached
    else:
        _OVERLAYS.move_to_end(key)
    image, bounds = cached
    return _image_overlay(image, bounds, name=name, pixelated=pixelated)


def _ticks(edges: Iterable[float], lang: str, *, signed: bool = False) -> list[str]:
    out = []
    for x in edges:
        text = _number(x, 1 if x % 1 else 0, lang)
        out.append(f"+{text}" if signed and x > 0 else text)
    return out


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
