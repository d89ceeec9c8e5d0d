"""Change detection: what a scenario changes, drawn on one map.

Illuminance difference (rasters aligned on the union of their grids), change of the
modelled V85 per street, cells newly seen (or no longer seen) by CCTV at observation
level or better, and streets and buildings added or removed (by id).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features as rio_features
from rasterio.enums import Resampling
from rasterio.warp import reproject

from vollsmose_gis.district import District
from vollsmose_gis.i18n import number as _number
from vollsmose_gis.i18n import t as _t
from vollsmose_gis.io import Raster
from vollsmose_gis.maps.render import (
    _add_groups,
    _finish,
    _float_column,
    _geojson,
    _Group,
    _Layer,
    _Legend,
    _new_map,
    _raster_overlay,
    _rgba,
    _text_column,
    _tip,
)
from vollsmose_gis.maps.style import (
    _DELTA_LUX_COLOURS,
    _DELTA_LUX_EDGES,
    _DELTA_SPEED_COLOURS,
    _DELTA_SPEED_EDGES,
    _NEW,
    _REMOVED,
    _fill,
    _line,
)
from vollsmose_gis.maps.themes import (
    _base_layers,
    _context,
    _Ctx,
    _speeds,
)

if TYPE_CHECKING:
    from vollsmose_gis.scoring import ScenarioResult

__all__ = ["changes_map"]


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


def _delta_lux_classes(values: np.ndarray) -> np.ndarray:
    """Illuminance change (lx) -> class of :data:`_DELTA_LUX_EDGES` (-1 where no value)."""
    classes = np.searchsorted(_DELTA_LUX_EDGES, values, side="right")
    classes[~np.isfinite(values)] = -1
    return classes


def _change_layers(before: _Ctx, after: _Ctx) -> list[_Layer]:
    lang = after.lang
    layers: list[_Layer] = []
    lit_a = before.module("lighting").rasters.get("illuminance")
    lit_b = after.module("lighting").rasters.get("illuminance")
    if lit_a is not None and lit_b is not None:
        a, b, transform, crs = _aligned(lit_a, lit_b, np.nan)
        delta = Raster(b - a, transform, crs, nodata=None, name="illuminance_change", unit="lx")
        if np.nanmax(np.abs(delta.array), initial=0.0) >= 1.0:
            palette = [_rgba(c, 210) for c in _DELTA_LUX_COLOURS]
            name = html.escape(_t("map.changes.illuminance", lang))
            group = _Group(name=name)
            _raster_overlay(
                delta,
                _delta_lux_classes,
                palette,
                style="delta_lux",
                categorical=False,
                name=name,
                pixelated=False,
            ).add_to(group)
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
        group = _Group(name=html.escape(_t("map.changes.speed", lang)))
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
            group = _Group(name=html.escape(_t("map.changes.cctv", lang)))
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
        group = _Group(name=html.escape(_t(key, lang)))
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
