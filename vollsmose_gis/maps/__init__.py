"""Folium maps of a district and of scored scenarios, readable with no internet.

Every builder returns a :class:`folium.Map` (the before/after view a
:class:`folium.plugins.DualMap`) with the data reprojected to EPSG:4326, one
``FeatureGroup`` per theme layer, a legend for every colour scale (shown while its
layer is on), escaped tooltips, the district boundary, a title, the data provenance
in the attribution and the ``LayerControl`` last.

Offline by design: the default is no basemap (``tiles=None``); the boundary,
buildings, streets and green areas are drawn as vector layers so the map reads
without one.  ``tiles="OpenStreetMap"`` (or any folium tile name/URL) adds a basemap
where tiles are reachable.  :func:`to_html` and :func:`save_map` write pages that
need no network at all.

The package is split along its seams:

- :mod:`~vollsmose_gis.maps.style`: the palette (colours, class breaks, CSS);
- :mod:`vollsmose_gis.i18n`: the message table (English, Danish), shared with the
  report;
- :mod:`~vollsmose_gis.maps.render`: folium plumbing (escaped GeoJSON, legends, the
  map frame, raster overlays, offline HTML);
- :mod:`~vollsmose_gis.maps.themes`: per-theme cartography;
- :mod:`~vollsmose_gis.maps.changes`: change detection (what a scenario changes);
- :mod:`~vollsmose_gis.maps.pages`: the map pages and :func:`write_maps`.

Every name that :mod:`vollsmose_gis.maps` offered before the split is importable
from here still.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from vollsmose_gis import i18n
from vollsmose_gis.i18n import LANGUAGES
from vollsmose_gis.maps import changes, pages, render, style, themes
from vollsmose_gis.maps.changes import changes_map
from vollsmose_gis.maps.pages import (
    before_after_map,
    calming_map,
    cctv_map,
    connectivity_map,
    drawing_session,
    lighting_map,
    mix_map,
    page_html,
    scenario_map,
    theme_map,
    write_maps,
)
from vollsmose_gis.maps.render import save_map, to_html
from vollsmose_gis.maps.themes import MAP_ONLY_THEMES, THEMES

__all__ = [
    "LANGUAGES",
    "MAP_ONLY_THEMES",
    "THEMES",
    "before_after_map",
    "calming_map",
    "cctv_map",
    "changes_map",
    "connectivity_map",
    "drawing_session",
    "lighting_map",
    "mix_map",
    "page_html",
    "save_map",
    "scenario_map",
    "theme_map",
    "to_html",
    "write_maps",
]

# Helpers of the single-module ``maps`` (before the split), still reachable as
# ``maps.<name>``: the message helpers under their old names, the rest from the
# submodule that holds them now.
_OLD_I18N = {
    "_category": i18n.category,
    "_check_lang": i18n.check_lang,
    "_number": i18n.number,
    "_t": i18n.t,
    "_texts": i18n.texts,
}
_SUBMODULES: tuple[ModuleType, ...] = (style, render, themes, changes, pages)


def __getattr__(name: str) -> Any:
    """A helper of the old single-module ``maps`` by its old name (PEP 562)."""
    if name in _OLD_I18N:
        return _OLD_I18N[name]
    if name == "Tip" or (name.startswith("_") and not name.startswith("__")):
        for module in _SUBMODULES:
            if name in vars(module):
                return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
