"""The map pages: one theme, every theme of a scenario, before/after, and a scoring run's maps."""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import shapely
from folium.plugins import DualMap

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.i18n import check_lang as _check_lang
from vollsmose_gis.i18n import t as _t
from vollsmose_gis.io import atomic_path
from vollsmose_gis.maps.changes import changes_map
from vollsmose_gis.maps.render import (
    _new_map,
    _start_map,
    to_html,
)
from vollsmose_gis.maps.themes import (
    THEMES,
    _camera_sectors,
    _check_theme,
    _context,
    _speeds,
    _themed,
    same_districts,
)

if TYPE_CHECKING:
    from vollsmose_gis.scoring import ScenarioResult, ScoreResult


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
    camera's few dozen metres of coverage are too small to read.
    """
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

    Speeds are the ``calming_speeds`` layer of the calming module's result (the
    scenario result's, else :func:`vollsmose_gis.analysis.run`); where the speed model cannot run
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
    focus: str = "",
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
    focus
        ``"use"``: the mix map opens on land use instead of tenure; ``""`` (default)
        the theme's first layer.

    Returns
    -------
    folium.plugins.DualMap
        ``.m1`` (before) and ``.m2`` (after), each with its title, legends and
        LayerControl (collapsed to leave room).
    """
    if focus not in ("", "use"):
        raise InputError(f"focus must be '' or 'use', got {focus!r}")
    return _dual(before, after, theme=theme, tiles=tiles, lang=lang, links=links, focus=focus)


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


_Page = tuple[tuple["weakref.ref[Any]", ...], str]
_PAGES: dict[tuple[Any, ...], _Page] | None = None
_BUILDERS: dict[str, Callable[..., folium.Map | DualMap]] = {}


@contextlib.contextmanager
def drawing_session() -> Iterator[None]:
    """Within the block, draw each page once and hash each district once per module.

    The main job opens one around the maps and the report: the report embeds pages
    the maps already drew (the leader's changes map), and every page reads the same
    district objects, unchanged while the job draws them.  Pages are kept (by their
    sources' identity and the options) only while the block runs.
    """
    global _PAGES
    outer = _PAGES
    if outer is None:
        _PAGES = {}
    try:
        with same_districts():
            yield
    finally:
        _PAGES = outer


def page_html(kind: str, *sources: Any, **options: Any) -> str:
    """The self-contained HTML (:func:`to_html`) of a map page, drawn once per session.

    Parameters
    ----------
    kind
        ``"scenario"`` (:func:`scenario_map`), ``"theme"`` (:func:`theme_map`),
        ``"before_after"`` (:func:`before_after_map`) or ``"changes"``
        (:func:`changes_map`).
    *sources, **options
        The builder's arguments, e.g. ``page_html("changes", result.baseline,
        result.results[name], tiles=None, lang="en")``.

    Returns
    -------
    str
        The page.  Inside :func:`drawing_session` the same sources (the same objects)
        and options give the same string without drawing again; outside, the page is
        drawn on every call.

    Raises
    ------
    InputError
        Unknown ``kind``, or what the builder raises.
    """
    if not _BUILDERS:
        _BUILDERS.update(
            scenario=scenario_map,
            theme=theme_map,
            before_after=before_after_map,
            changes=changes_map,
        )
    if kind not in _BUILDERS:
        raise InputError(f"unknown map page {kind!r}; pages are {sorted(_BUILDERS)}")
    if _PAGES is None:
        return to_html(_BUILDERS[kind](*sources, **options))
    # Plain values and sequences of them (``themes=[...]``) count by value; districts and
    # results (also as options: ``baseline=``) by identity, held weakly: the session
    # keeps the pages, not the results they were drawn from.
    plain = (str, int, float, bool, type(None))

    by_identity = ("by identity",)  # the key's mark of an option held by identity

    def by_value(value: Any) -> Any:
        if isinstance(value, plain):
            return value
        if isinstance(value, (list, tuple)) and all(isinstance(v, plain) for v in value):
            return ("seq", *value)
        return by_identity

    objects = [*sources, *(v for v in options.values() if by_value(v) is by_identity)]
    try:
        refs = tuple(weakref.ref(o) for o in objects)
    except TypeError:  # an argument that cannot be held weakly: draw without keeping
        return to_html(_BUILDERS[kind](*sources, **options))
    key = (
        kind,
        tuple(id(o) for o in objects),
        tuple((k, by_value(v)) for k, v in sorted(options.items())),
    )
    known = _PAGES.get(key)
    if known is not None and all(r() is o for r, o in zip(known[0], objects, strict=True)):
        return known[1]
    page = to_html(_BUILDERS[kind](*sources, **options))
    _PAGES[key] = (refs, page)
    return page


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
    common = {"tiles": tiles, "lang": lang}
    plan: list[tuple[Path, Callable[[], str]]] = [
        (out / "baseline.html", functools.partial(page_html, "scenario", result.baseline, **common))
    ]
    for name, scenario in result.results.items():
        stem = slug(name)
        plan += [
            (
                out / f"{stem}.html",
                functools.partial(
                    page_html, "scenario", scenario, baseline=result.baseline, **common
                ),
            ),
            (
                out / f"{stem}_before-after.html",
                functools.partial(page_html, "before_after", result.baseline, scenario, **common),
            ),
            (
                out / f"{stem}_changes.html",
                functools.partial(page_html, "changes", result.baseline, scenario, **common),
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
    with drawing_session():
        for k, (path, page) in enumerate(plan):
            if progress is not None:
                progress(k / len(plan), f"map {path.name}")
            with atomic_path(path, overwrite=True) as tmp:
                tmp.write_text(page(), encoding="utf-8")
            written.append(path)
    if progress is not None:
        progress(1.0, "maps written")
    return written
