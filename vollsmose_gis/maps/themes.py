"""Per-theme cartography: the layers of the connectivity, calming, lighting, CCTV and mix maps.

Each ``_<theme>_layers(ctx)`` returns the map layers (a FeatureGroup and its legend)
of one theme for a district or scenario.  Module results come from the scenario
result when the map is drawn for one, else from :func:`vollsmose_gis.analysis.run`
(cached by content); derived frames a map needs besides them (suggested links,
camera wedges, walking catchments) are cached by the content of the layers their
module reads (``analysis.get(name).reads``), so each is computed once per content.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely

from vollsmose_gis import analysis
from vollsmose_gis._errors import InputError
from vollsmose_gis._util import contains_points
from vollsmose_gis.district import District
from vollsmose_gis.i18n import category as _category
from vollsmose_gis.i18n import check_lang as _check_lang
from vollsmose_gis.i18n import number as _number
from vollsmose_gis.i18n import t as _t
from vollsmose_gis.i18n import texts as _texts
from vollsmose_gis.io import Raster
from vollsmose_gis.maps.render import (
    _add_groups,
    _bool_column,
    _finish,
    _float_column,
    _geojson,
    _Group,
    _Layer,
    _Legend,
    _raster_overlay,
    _rgba,
    _text_column,
    _ticks,
    _tip,
)
from vollsmose_gis.maps.style import (
    _BUILDING,
    _BUILDING_EDGE,
    _CALMING_COLOURS,
    _CAMERA,
    _CAR_STREET,
    _DARK_SPOT,
    _DIRECTNESS_COLOURS,
    _DIRECTNESS_EDGES,
    _DORI_COLOURS,
    _ENTROPY_COLOURS,
    _ENTROPY_EDGES,
    _FAIL,
    _GREEN,
    _LAMP,
    _LINK,
    _LUX_ALPHA,
    _LUX_COLOURS,
    _LUX_EDGES,
    _MOVEMENT_COLOURS,
    _MOVEMENT_QUANTILES,
    _MOVEMENT_WEIGHTS,
    _NEW,
    _PASS,
    _PATH,
    _SPEED_COLOURS,
    _SPEED_EDGES,
    _SPEED_LABELS,
    _TENURE_COLOURS,
    _USE_COLOURS,
    _WATER,
    _dot,
    _fill,
    _line,
)

if TYPE_CHECKING:
    from vollsmose_gis.analysis import ModuleResult

log = logging.getLogger("vollsmose_gis.maps")

THEMES: tuple[str, ...] = ("connectivity", "calming", "lighting", "cctv", "mix")
"""The map themes, one per analysis module."""


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
_KEYS: dict[tuple[int, str], tuple[District, str]] | None = None


@contextlib.contextmanager
def same_districts() -> Iterator[None]:
    """Within the block, hash each district's content once per module, by identity.

    For a run of pages over the same district objects (:func:`write_maps`): hashing
    the layers a module reads (its cache key) is a noticeable part of a page, and the
    districts of a scoring result do not change while its pages are drawn.
    """
    global _KEYS
    outer = _KEYS
    _KEYS = {} if outer is None else outer
    try:
        yield
    finally:
        _KEYS = outer


def _cache_key(district: District, module: str) -> str:
    if _KEYS is None:
        return analysis.get(module).cache_key(district)
    known = _KEYS.get((id(district), module))
    if known is None or known[0] is not district:
        known = (district, analysis.get(module).cache_key(district))
        _KEYS[(id(district), module)] = known
    return known[1]


def _cached(kind: str, district: District, module: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per content of the layers ``module`` reads.

    A map's derived frames (suggested links, camera wedges, walking catchments) depend
    on what their analysis module reads, so the module's spec
    (:attr:`~vollsmose_gis.analysis.AnalysisSpec.reads`) is their cache key too: one
    declaration of the layers, in the module.
    """
    key = (kind, _cache_key(district, module))
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
        return analysis.run(name, self.district)


def _label(name: str, lang: str) -> str:
    return _t("map.today", lang) if name == "(baseline)" else name


def _base_layers(ctx: _Ctx, *, legend: bool = True) -> list[_Layer]:
    """Green areas, buildings and streets: what makes the map readable without tiles."""
    d, lang = ctx.district, ctx.lang
    group = _Group(name=html.escape(_t("map.base", lang)), show=True)
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

    return _cached(f"links{k}", ctx.district, "connectivity", compute)


def _new_streets(ctx: _Ctx) -> gpd.GeoDataFrame | None:
    if ctx.baseline is None:
        return None
    before = set(_text_column(ctx.baseline.streets, "street_id"))
    streets = ctx.district.streets
    new = np.array([s not in before for s in _text_column(streets, "street_id")], dtype=bool)
    return streets.loc[new]


# space syntax's classic map: angular integration from blue (segregated) to red
_INTEGRATION_COLOURS = ["#313695", "#74add1", "#fee090", "#f46d43", "#a50026"]
_INTEGRATION_QUANTILES = (0.2, 0.4, 0.6, 0.8)


def _integration_layer(ctx: _Ctx, segments: gpd.GeoDataFrame | None) -> _Layer | None:
    """The segment map coloured by angular integration (NAIN, 2000 m), off by default."""
    lang = ctx.lang
    if segments is None or segments.empty or "nain_2000" not in segments:
        return None
    segments = ctx.view(segments)
    values = _float_column(segments, "nain_2000")
    classes = _quantile_classes(values, _INTEGRATION_QUANTILES)
    order = np.argsort(classes, kind="stable")  # most integrated drawn last, on top
    group = _Group(name=html.escape(_t("map.connectivity.integration", lang)), show=False)
    labels = [_t(f"map.connectivity.integration.q{k}", lang) for k in range(5)]
    layer = _geojson(
        segments.iloc[order],
        [_line(_INTEGRATION_COLOURS[c], 3.0) for c in classes[order]],
        [
            _tip(_t("map.connectivity.integration", lang), [("NAIN", _number(v, 3, lang))])
            for v in values[order]
        ],
    )
    if layer is None:
        return None
    layer.add_to(group)
    return _Layer(
        group,
        _Legend(
            _t("map.connectivity.integration", lang),
            [("thick", c, label) for c, label in zip(_INTEGRATION_COLOURS, labels, strict=True)],
            _t("map.connectivity.integration.legend", lang),
        ),
    )


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
        group = _Group(name=html.escape(_t("map.connectivity.movement", lang)))
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
        inside = contains_points(
            ctx.district.boundary, nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
        )
        dead = nodes.loc[(_float_column(nodes, "degree") == 1) & inside]
        group = _Group(name=html.escape(_t("map.connectivity.dead_ends", lang)))
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
    integration = _integration_layer(ctx, result.layers.get("connectivity_segments"))
    if integration is not None:
        layers.append(integration)
    new = _new_streets(ctx)
    if new is not None and not new.empty:
        group = _Group(name=html.escape(_t("map.connectivity.new_streets", lang)))
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
        group = _Group(name=html.escape(_t("map.connectivity.links", lang)))
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
        group = _Group(name=html.escape(_t("map.connectivity.homes", lang)), show=False)
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
    frame = None
    try:
        frame = ctx.module("calming").layers.get("calming_speeds")
    except InputError as exc:  # e.g. no street open to cars: no speed model
        log.info("no speed model for %s: %s", ctx.district.name, exc)
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
    group = _Group(name=html.escape(_t(key, lang)))
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
    group = _Group(name=html.escape(_t("map.calming.devices", lang)))
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


def _lux_classes(values: np.ndarray) -> np.ndarray:
    """Illuminance (lx) -> class of :data:`_LUX_EDGES` (-1 where no value)."""
    classes = np.searchsorted(_LUX_EDGES, values, side="right")
    classes[~np.isfinite(values)] = -1
    return classes


def _dori_classes(values: np.ndarray) -> np.ndarray:
    """DORI level codes -> palette index (code 1 -> 0; 0 = not seen, 255 = nodata -> -1)."""
    classes = values.astype(int) - 1
    classes[(values == 0) | (values == 255) | (classes >= len(_DORI_COLOURS))] = -1
    return classes


def _lighting_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    result = ctx.module("lighting")
    layers: list[_Layer] = []
    raster = result.rasters.get("illuminance")
    if raster is not None:
        palette = [_rgba(c, a) for c, a in zip(_LUX_COLOURS, _LUX_ALPHA, strict=True)]
        name = html.escape(_t("map.lighting.illuminance", lang))
        group = _Group(name=name)
        _raster_overlay(
            raster,
            _lux_classes,
            palette,
            style="lux",
            categorical=False,
            name=name,
            pixelated=False,
        ).add_to(group)
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
        group = _Group(name=html.escape(_t("map.lighting.check", lang)))
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
        group = _Group(name=html.escape(_t("map.lighting.dark_spots", lang)))
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
    group = _Group(name=html.escape(_t("map.lighting.lamps", lang)), show=False)
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

    return _cached("sectors", district, "cctv", compute)


def _cctv_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    result = ctx.module("cctv")
    layers: list[_Layer] = []
    raster = result.rasters.get("dori_levels")
    if raster is not None:
        names = _dori_names(raster)
        palette = [_rgba(c, 200) for c in _DORI_COLOURS]
        name = html.escape(_t("map.cctv.levels", lang))
        group = _Group(name=name)
        _raster_overlay(
            raster,
            _dori_classes,
            palette,
            style="dori",
            categorical=True,
            name=name,
            pixelated=True,
        ).add_to(group)
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
    group = _Group(name=html.escape(_t("map.cctv.cameras", lang)))
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


def _catchments(ctx: _Ctx) -> gpd.GeoDataFrame:
    """The homes with their 800 m walking catchment's mix (``landuse_entropy_800m``…).

    A scenario's scored mix result holds them already (its ``homes``, the same
    :func:`vollsmose_gis.mix.home_catchments` columns); for a bare district they are
    computed, once per content of what the mix module reads.
    """
    from vollsmose_gis import mix

    scored = ctx.modules.get("mix")
    homes = getattr(scored.extras.get("mix"), "homes", None) if scored is not None else None
    if isinstance(homes, gpd.GeoDataFrame) and "landuse_entropy_800m" in homes:
        return homes
    district = ctx.district

    def compute() -> gpd.GeoDataFrame:
        try:
            return mix.home_catchments(district, radii_m=[800.0])
        except InputError as exc:  # no walkable street: no catchment to show
            log.info("no catchments for %s: %s", district.name, exc)
            return gpd.GeoDataFrame(geometry=[], crs=district.crs)

    return _cached("catchments", district, "mix", compute)


def _mix_layers(ctx: _Ctx) -> list[_Layer]:
    lang = ctx.lang
    d = ctx.district
    layers: list[_Layer] = []
    buildings = ctx.view(d.buildings)
    dwellings = _float_column(buildings, "dwellings")
    homes = buildings.loc[dwellings > 0]
    tenures = [t or "unknown" for t in _text_column(homes, "tenure")]
    group = _Group(name=html.escape(_t("map.mix.tenure", lang)), show=ctx.focus != "use")
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
    group = _Group(name=html.escape(_t("map.mix.landuse", lang)), show=ctx.focus == "use")
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
    catchments = ctx.view(_catchments(ctx))
    group = _Group(name=html.escape(_t("map.mix.catchment", lang)), show=False)
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


_KDE_COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#cb181d"]
_KDE_QUANTILES = (0.5, 0.75, 0.9)


_SEEN = "#1a9850"
_UNSEEN = "#d73027"


def _path_pieces(district: District, samples: gpd.GeoDataFrame) -> np.ndarray:
    """The path pieces of the safety module's samples, as lines.

    A sample is a piece of a walkable street (``street_id``) at most ``path_step_m``
    long, kept as its midpoint and ``length_m``
    (:func:`vollsmose_gis.safety.surveillance.path_samples`).  A piece lies on one
    straight stretch of its street, so the street's points ``length_m / 2`` before and
    after the midpoint (along the street) are its ends.  A sample whose street is not
    in the district stays a point.
    """
    points = samples.geometry.to_numpy()
    lines_by_id = dict(
        zip(_text_column(district.streets, "street_id"), district.streets.geometry, strict=True)
    )
    lines = np.array([lines_by_id.get(i) for i in _text_column(samples, "street_id")], dtype=object)
    found = ~shapely.is_missing(lines)
    pieces = points.copy()
    if found.any():
        on = lines[found]
        middle = shapely.line_locate_point(on, points[found])
        half = _float_column(samples, "length_m")[found] / 2
        # clipped to the street: a negative distance would count from its far end
        start = np.clip(middle - half, 0.0, shapely.length(on))
        stop = np.clip(middle + half, 0.0, shapely.length(on))
        ends = np.stack(
            [
                shapely.get_coordinates(shapely.line_interpolate_point(on, start)),
                shapely.get_coordinates(shapely.line_interpolate_point(on, stop)),
            ],
            axis=1,
        )
        pieces[found] = shapely.linestrings(ends)
    return pieces


def _overlooked_layers(ctx: _Ctx, samples: gpd.GeoDataFrame, note: str | None) -> list[_Layer]:
    """Overlooked paths by day and by night: every path piece of the safety module,
    green where windows overlook it, red where none does (by night: overlooked and lit
    to its class).  Two layers, both off at first: drawn on, they would hide the
    incident density along the same paths.
    """
    lang = ctx.lang
    pieces = gpd.GeoDataFrame(
        geometry=_path_pieces(ctx.district, samples), crs=samples.crs, index=samples.index
    )
    names = _street_names(ctx.district, _text_column(samples, "street_id"), lang)
    total_m = float(np.nansum(_float_column(samples, "length_m")))
    layers = []
    for when, column in (("day", "overlooked_day"), ("night", "overlooked_night")):
        seen = _bool_column(samples, column)
        words = [_t(f"map.safety.overlooked.{'yes' if v else 'no'}", lang) for v in (0, 1)]
        title = _t(f"map.safety.overlooked.{when}", lang)
        group = _Group(name=html.escape(title), show=False)
        layer = _geojson(
            pieces,
            [_line(_SEEN if v else _UNSEEN, 3.0) for v in seen],
            [_tip(n, [(title, words[int(v)])]) for n, v in zip(names, seen, strict=True)],
            point_radius=2.0,
        )
        if layer is not None:
            layer.add_to(group)
        seen_m = float(np.nansum(_float_column(samples, "length_m")[seen]))
        share = _number(100 * seen_m / total_m, 0, lang) if total_m > 0 else "–"
        explained = _t(f"map.safety.overlooked.{when}.legend", lang, share=share)
        layers.append(
            _Layer(
                group,
                _Legend(
                    title,
                    [("thick", _SEEN, words[1]), ("thick", _UNSEEN, words[0])],
                    f"{note} — {explained}" if note else explained,
                ),
            )
        )
    return layers


def _safety_layers(ctx: _Ctx) -> list[_Layer]:
    """Evidence of safety: incident density along the streets, significant hot spots,
    incidents aggregated to cells (never single incidents), overlooked paths by day and
    by night (:func:`_overlooked_layers`), and the safety-walk marks.  ILLUSTRATIVE
    evidence is said in every legend.
    """
    lang = ctx.lang
    result = ctx.module("safety")
    note = _t("map.safety.illustrative", lang) if result.extras.get("illustrative") else None
    layers: list[_Layer] = []
    kde = result.layers.get("safety_network_kde")
    if kde is not None and not kde.empty:
        kde = ctx.view(kde)
        values = _float_column(kde, "density_per_km")
        classes = _quantile_classes(values, _KDE_QUANTILES, reference=values > 0)
        order = np.argsort(classes, kind="stable")
        group = _Group(name=html.escape(_t("map.safety.kde", lang)))
        layer = _geojson(
            kde.iloc[order],
            [_line(_KDE_COLOURS[c], 2.0 + c) for c in classes[order]],
            [
                _tip(_t("map.safety.kde", lang), [("/km", _number(v, 2, lang))])
                for v in values[order]
            ],
        )
        if layer is not None:
            layer.add_to(group)
        labels = [_t(f"map.safety.kde.q{k}", lang) for k in range(4)]
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.safety.kde", lang),
                    [("thick", c, label) for c, label in zip(_KDE_COLOURS, labels, strict=True)],
                    note or _t("map.safety.kde.legend", lang),
                ),
            )
        )
    for key, colour, style in (
        ("safety_hotspots", "#cb181d", "hotspots"),
        ("safety_incidents_aggregated", "#6a51a3", "aggregated"),
    ):
        frame = result.layers.get(key)
        if frame is None or frame.empty:
            continue
        group = _Group(name=html.escape(_t(f"map.safety.{style}", lang)))
        counts = _float_column(frame, "count")
        layer = _geojson(
            frame,
            [_fill(colour, edge=colour, weight=1.5, opacity=0.35)] * len(frame),
            [
                _tip(
                    _t(f"map.safety.{style}", lang),
                    [(_t("map.safety.count", lang), _number(c, 0, lang))],
                )
                for c in counts
            ],
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t(f"map.safety.{style}", lang),
                    [("fill", colour, _t(f"map.safety.{style}", lang))],
                    note or _t(f"map.safety.{style}.legend", lang),
                ),
            )
        )
    samples = result.layers.get("safety_overlooked")
    if samples is not None and not samples.empty:
        layers.extend(_overlooked_layers(ctx, samples, note))
    marks = result.layers.get("safety_audit")
    if marks is not None and not marks.empty:
        group = _Group(name=html.escape(_t("map.safety.marks", lang)))
        night = _bool_column(marks, "overlooked_night")
        layer = _geojson(
            marks,
            [_dot("#1a9850" if n else "#d73027", 5.0, edge="#ffffff", weight=1.5) for n in night],
            [
                _tip(
                    _category("safety_walk", r, lang),
                    [
                        (
                            _t("map.safety.overlooked_night", lang),
                            _t("report.yes" if n else "report.no", lang),
                        )
                    ],
                )
                for r, n in zip(_text_column(marks, "reason"), night, strict=True)
            ],
            point_radius=5.0,
        )
        if layer is not None:
            layer.add_to(group)
        layers.append(
            _Layer(
                group,
                _Legend(
                    _t("map.safety.marks", lang),
                    [
                        ("point", "#1a9850", _t("map.safety.marks.seen", lang)),
                        ("point", "#d73027", _t("map.safety.marks.unseen", lang)),
                    ],
                    note or "",
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
    "safety": _safety_layers,
}


MAP_ONLY_THEMES: tuple[str, ...] = ("safety",)
"""Themes drawn on request only (not in the scenario maps: their module is not scored)."""


def _check_theme(theme: str) -> str:
    if theme not in THEMES and theme not in MAP_ONLY_THEMES and theme != "all":
        raise InputError(
            f"unknown map theme {theme!r}; themes are {[*THEMES, *MAP_ONLY_THEMES, 'all']}"
        )
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
