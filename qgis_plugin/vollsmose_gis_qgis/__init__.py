"""vollsmose-gis QGIS plugin: a Processing provider over the vollsmose-gis library.

QGIS calls :func:`classFactory` when it loads the plugin; everything else is imported
lazily from there, so a missing library is reported (with the install command) instead
of breaking QGIS's plugin loading.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:
    """Return the plugin instance for QGIS (``iface`` is the QgisInterface)."""
    from .plugin import VollsmoseGisPlugin

    return VollsmoseGisPlugin(iface)
