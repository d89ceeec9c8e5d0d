"""Start the real QGIS (offscreen) once, with Processing and the vollsmose-gis provider.

Every test in this folder needs it.  Without the QGIS Python bindings (Debian's
``python3-qgis``) the tests skip with that reason — or fail in CI, where
``VOLLSMOSE_GIS_REQUIRE_ALL=1`` (see ``tests/conftest.py``).  pytest-qgis is disabled
project-wide (it crashes where QGIS is absent), so QGIS is started here instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, skip_or_fail

PLUGIN_DIR = REPO / "qgis_plugin"
PROCESSING_PLUGIN_DIRS = (
    "/usr/share/qgis/python/plugins",  # Debian / Ubuntu
    "/usr/lib/qgis/python/plugins",
)

_STATE: dict[str, Any] = {}


def _start_qgis(profile: Path) -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from qgis.core import QgsApplication
    except ImportError as exc:
        skip_or_fail(
            f"the QGIS Python bindings cannot be imported ({exc}); install QGIS with its "
            "Python (Debian: apt install qgis python3-qgis) and use a venv made with "
            "--system-site-packages"
        )
    # GUI enabled (offscreen) so the algorithm dialogs can be built and screenshot.
    app = QgsApplication([], True, str(profile))
    app.initQgis()
    for folder in PROCESSING_PLUGIN_DIRS:
        if Path(folder, "processing").is_dir() and folder not in sys.path:
            sys.path.append(folder)
    try:
        from processing.core.Processing import Processing
    except ImportError as exc:
        skip_or_fail(f"the QGIS Processing plugin cannot be imported ({exc})")
    Processing.initialize()
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.insert(0, str(PLUGIN_DIR))
    from vollsmose_gis_qgis.provider import VollsmoseGisProvider

    provider = VollsmoseGisProvider()
    if not QgsApplication.processingRegistry().addProvider(provider):
        pytest.fail("the vollsmosegis provider could not be registered")
    return app, provider


@pytest.fixture(scope="session")
def qgis_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The running QgsApplication (started once per session, in a throw-away profile)."""
    if "app" not in _STATE:
        if "error" in _STATE:
            skip_or_fail(_STATE["error"])
        try:
            _STATE["app"], _STATE["provider"] = _start_qgis(tmp_path_factory.mktemp("qgis-profile"))
        except pytest.skip.Exception as exc:
            _STATE["error"] = str(exc)
            raise
    yield _STATE["app"]


@pytest.fixture(scope="session")
def provider(qgis_app: Any) -> Any:
    return _STATE["provider"]


@pytest.fixture(autouse=True)
def _needs_qgis(qgis_app: Any) -> None:
    """Every test here runs inside the real QGIS."""


@pytest.fixture(scope="session")
def district_gpkg(qgis_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (embedded Vollsmose) district, written to a GeoPackage."""
    import vollsmose_gis

    path = tmp_path_factory.mktemp("district") / "vollsmose.gpkg"
    vollsmose_gis.save_district(vollsmose_gis.default_district(), path)
    return path


@pytest.fixture(scope="session")
def district_layers(district_gpkg: Path) -> dict[str, Any]:
    """The default district's layers (and boundary) as QgsVectorLayers from the GeoPackage."""
    return gpkg_layers(district_gpkg)


def gpkg_layers(path: Path) -> dict[str, Any]:
    """Load every District table of a district GeoPackage as a QgsVectorLayer."""
    from qgis.core import QgsVectorLayer

    from vollsmose_gis.district import LAYER_NAMES
    from vollsmose_gis.io import META_TABLE

    layers = {}
    for name in (*LAYER_NAMES, META_TABLE):
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid(), f"{path}: table {name} did not load"
        layers["boundary" if name == META_TABLE else name] = layer
    return layers


@pytest.fixture(scope="session")
def osm_file(shared_data: Path) -> Path:
    """A real OSM extract with streets, buildings and shops (Aguascalientes, PBF)."""
    return shared_data / "osm" / "aguascalientes.osm.pbf"
