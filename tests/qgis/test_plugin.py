"""The plugin as QGIS sees it: registration, listing, missing library, styles, packaging,
``qgis_process``, conversion of layers, cancellation and bad input."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import vollsmose_gis
from tests.conftest import skip_or_fail
from tests.qgis.conftest import PLUGIN_DIR
from tests.qgis.helpers import RecordingFeedback, assert_same_frame, frame, raster, run
from vollsmose_gis import lighting

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {
    "connectivity",
    "suggestlinks",
    "calming",
    "lighting",
    "lampplanner",
    "cctvcoverage",
    "cameraplacement",
    "mix",
    "scorescenarios",
    "followup",
    "safety",
    "importosm",
}


# --------------------------------------------------------------------------- registration


def test_provider_registers_with_every_algorithm(provider: Any) -> None:
    from qgis.core import QgsApplication

    registered = QgsApplication.processingRegistry().providerById("vollsmosegis")
    assert registered is provider
    names = {alg.name() for alg in registered.algorithms()}
    assert names >= EXPECTED
    from vollsmose_gis_qgis.algorithms import ALGORITHMS

    assert len(names) == len(ALGORITHMS)
    for alg in registered.algorithms():
        assert alg.displayName() and alg.group() and alg.shortHelpString()
        assert not alg.icon().isNull(), f"{alg.id()} has no icon"
        assert type(alg.createInstance()) is type(alg)
        for parameter in alg.parameterDefinitions():
            assert parameter.description(), f"{alg.id()}: {parameter.name()} has no label"


def test_metadata_declares_a_processing_provider_for_qgis_3_22() -> None:
    parser = configparser.ConfigParser()
    parser.read(PLUGIN_DIR / "vollsmose_gis_qgis" / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    assert general["hasProcessingProvider"] == "yes"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["version"] == vollsmose_gis.__version__
    for key in ("name", "description", "about", "author", "email", "tracker", "repository"):
        assert general[key].strip(), key
    assert (PLUGIN_DIR / "vollsmose_gis_qgis" / general["icon"]).is_file()


def test_class_factory_registers_and_unloads_the_provider(provider: Any) -> None:
    import vollsmose_gis_qgis
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    registry.removeProvider(provider)
    try:
        plugin = vollsmose_gis_qgis.classFactory(None)
        plugin.initGui()
        assert registry.providerById("vollsmosegis") is plugin.provider
        assert len(plugin.provider.algorithms()) == len(EXPECTED)
        plugin.unload()
        assert registry.providerById("vollsmosegis") is None
    finally:
        from vollsmose_gis_qgis.provider import VollsmoseGisProvider

        fresh = VollsmoseGisProvider()
        assert registry.addProvider(fresh)
        import tests.qgis.conftest as conftest

        conftest._STATE["provider"] = fresh


def test_missing_library_is_reported_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    from qgis.core import QgsApplication, QgsMessageLog
    from vollsmose_gis_qgis import _library, plugin

    real_import = importlib.import_module

    def fake_import(name: str, *args: Any) -> Any:
        if name == "vollsmose_gis":
            raise ModuleNotFoundError("No module named 'vollsmose_gis'", name="vollsmose_gis")
        return real_import(name, *args)

    monkeypatch.setattr(_library.importlib, "import_module", fake_import)
    status = _library.library_status()
    assert not status.ok
    assert "not installed" in status.message
    assert _library.install_command() in status.message

    messages: list[str] = []
    log = QgsApplication.messageLog()
    log.messageReceived.connect(lambda text, tag, level: messages.append(text))

    class Bar:
        def __init__(self) -> None:
            self.pushed: list[tuple[str, str]] = []

        def pushMessage(self, title: str, text: str, **_: Any) -> None:
            self.pushed.append((title, text))

    class Iface:
        bar = Bar()

        def messageBar(self) -> Bar:
            return self.bar

    instance = plugin.VollsmoseGisPlugin(Iface())
    instance.initGui()  # must not raise: QGIS keeps working
    assert instance.provider is None
    assert any(_library.install_command() in text for text in messages)
    assert Iface.bar.pushed and _library.install_command() in Iface.bar.pushed[0][1]
    instance.unload()
    del QgsMessageLog


@pytest.mark.parametrize(
    ("platform", "prefix", "executable", "expected"),
    [
        (
            "linux",
            "/usr",
            "/usr/bin/python3",
            "/usr/bin/python3 -m pip install --user --break-system-packages vollsmose-gis "
            '"numpy<2"',
        ),
        (
            "win32",
            r"C:\OSGeo4W\apps\Python312",
            r"C:\OSGeo4W\bin\qgis-bin.exe",
            r'"C:\OSGeo4W\apps\Python312/python.exe" -m pip install vollsmose-gis',
        ),
        (
            "darwin",
            "/Applications/QGIS.app/Contents/MacOS",
            "/Applications/QGIS.app/Contents/MacOS/QGIS",
            '"/Applications/QGIS.app/Contents/MacOS/bin/python3" -m pip install --user '
            "vollsmose-gis",
        ),
    ],
)
def test_install_command_per_platform(
    platform: str, prefix: str, executable: str, expected: str
) -> None:
    from vollsmose_gis_qgis._library import install_command

    assert install_command(platform, prefix, executable) == expected


# --------------------------------------------------------------------------- styles


def test_every_style_an_algorithm_names_exists_and_loads() -> None:
    import re

    from qgis.core import QgsRasterLayer, QgsVectorLayer
    from vollsmose_gis_qgis.algorithms.base import STYLES

    sources = (PLUGIN_DIR / "vollsmose_gis_qgis" / "algorithms").glob("*.py")
    named = {m for path in sources for m in re.findall(r'style="(\w+)"', path.read_text())}
    named |= set(vollsmose_gis.LAYER_NAMES) | {"boundary"}  # the import styles by layer name
    assert len(named) > 15
    rasters = {"illuminance", "dori", "pixel_density"}
    for name in sorted(named):
        qml = STYLES / f"{name}.qml"
        assert qml.is_file(), f"missing style {qml.name}"
        if name in rasters:
            layer = QgsRasterLayer("", name)
            assert "rasterrenderer" in qml.read_text()
        else:
            code = re.search(r"<layerGeometryType>(\d)<", qml.read_text())
            assert code, f"{qml.name} is not a vector style"
            kind = ("Point", "LineString", "Polygon")[int(code.group(1))]
            layer = QgsVectorLayer(f"{kind}?crs=EPSG:25832", name, "memory")
        message, ok = layer.loadNamedStyle(str(qml))
        assert ok, f"{qml.name}: {message}"


# --------------------------------------------------------------------------- packaging


def test_build_plugin_zip_installs_and_runs_in_qgis_process(
    tmp_path: Path, district_gpkg: Path
) -> None:
    """`vollsmose-gis build-plugin`, unzip into a plugin folder, run through qgis_process."""
    cli = [sys.executable, "-m", "vollsmose_gis.cli"]
    built = subprocess.run(
        [*cli, "build-plugin", "-o", str(tmp_path / "dist")], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    archive = tmp_path / "dist" / f"vollsmose_gis_qgis-{vollsmose_gis.__version__}.zip"
    again = subprocess.run(
        [*cli, "build-plugin", "-o", str(tmp_path / "dist")], capture_output=True, text=True
    )
    assert again.returncode == 2 and "exists" in again.stderr  # never overwrites silently
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert "vollsmose_gis_qgis/metadata.txt" in names
        assert "vollsmose_gis_qgis/__init__.py" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        zipped.extractall(tmp_path / "plugins")

    binary = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if binary is None:
        skip_or_fail("qgis_process is not installed")
    # A fresh profile with the plugin enabled, the library on PYTHONPATH.
    config = tmp_path / "config"
    ini = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nvollsmose_gis_qgis=true\nprocessing=true\n")
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": str(tmp_path / "plugins"),
        "QGIS_CUSTOM_CONFIG_PATH": str(config),
        "PYTHONPATH": os.pathsep.join([str(REPO), *site_packages]),
    }
    listing = subprocess.run([binary, "list"], capture_output=True, text=True, env=env, timeout=300)
    for name in EXPECTED:
        assert f"vollsmosegis:{name}" in listing.stdout, listing.stdout[-2000:]
    output = tmp_path / "segments.gpkg"
    process = subprocess.run(
        [
            binary,
            "run",
            "vollsmosegis:connectivity",
            "--",
            f"STREETS={district_gpkg}|layername=streets",
            f"BOUNDARY={district_gpkg}|layername=district_meta",
            "RADII=800",
            f"SEGMENTS={output}",
            "JUNCTIONS=TEMPORARY_OUTPUT",
            "HOMES=TEMPORARY_OUTPUT",
            "INDICATORS=TEMPORARY_OUTPUT",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert output.is_file(), process.stdout[-2000:] + process.stderr[-2000:]
    from vollsmose_gis import connectivity

    district = vollsmose_gis.load_district(district_gpkg)
    _, edges = connectivity.centralities(district, mode="walk", radii=[800])
    written = gpd.read_file(output)
    assert len(written) == len(edges)
    np.testing.assert_allclose(written["betweenness_800"], edges["betweenness_800"], rtol=1e-9)


# --------------------------------------------------------------------------- conversion


def test_layer_frame_round_trip_keeps_ids_attributes_and_crs(district_layers: dict) -> None:
    from qgis.core import QgsVectorLayer
    from vollsmose_gis_qgis import conversion

    layer = district_layers["streets"]
    data = conversion.source_to_frame(layer)
    assert len(data) == layer.featureCount()
    assert data.crs.to_epsg() == 25832
    assert list(data.index) == [f.id() for f in layer.getFeatures()]
    assert "fid" not in data.columns  # the GeoPackage fid is the index, not a column
    library = vollsmose_gis.load_district(conversion.layer_path(layer)).streets
    assert list(data["street_id"]) == list(library["street_id"])
    np.testing.assert_array_equal(data["maxspeed_kmh"], library["maxspeed_kmh"])
    assert data["lit"].astype(object).tolist() == library["lit"].astype(object).tolist()

    fields = conversion.frame_fields(data)
    memory = QgsVectorLayer(f"LineString?crs={data.crs.to_string()}", "copy", "memory")
    memory.dataProvider().addAttributes(fields.toList())
    memory.updateFields()
    assert memory.dataProvider().addFeatures(
        list(conversion.frame_features(data, fields, conversion.wkb_type(data)))
    )[0]
    back = conversion.source_to_frame(memory)
    assert back.crs == data.crs
    assert_same_frame(back, data.reset_index(drop=True))


def test_selected_features_only_is_honoured(district_layers: dict) -> None:
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject

    lights = district_layers["lights"].clone()
    QgsProject.instance().addMapLayer(lights)
    try:
        ids = [f.id() for f in lights.getFeatures()][:25]
        lights.selectByIds(ids)
        result = run(
            "lighting",
            {
                "STREETS": district_layers["streets"],
                "LIGHTS": QgsProcessingFeatureSourceDefinition(lights.id(), True),
                "BOUNDARY": district_layers["boundary"],
                "RESOLUTION_M": 4.0,
            },
        )
    finally:
        QgsProject.instance().removeMapLayer(lights.id())
    district = vollsmose_gis.default_district()
    chosen = district.replace(lights=district.lights.iloc[[i - 1 for i in ids]])
    expected = lighting.illuminance_raster(chosen, resolution_m=4.0)
    array, _, _ = raster(result["ILLUMINANCE"])
    np.testing.assert_allclose(array, expected.array, rtol=1e-6)
    full = lighting.illuminance_raster(district, resolution_m=4.0)
    assert array.sum() < 0.5 * full.array.sum()  # really only the selected lamps


# --------------------------------------------------------------------------- field mapping


def _municipal_lamps(tmp_path: Path) -> Path:
    """The default lamps as a municipality's register: other column names, no ids."""
    lights = vollsmose_gis.default_district().lights
    register = gpd.GeoDataFrame(
        {
            "LAMPE_NR": [f"K-{i}" for i in range(len(lights))],
            "LYSSTROEM": lights["lumens"].to_numpy(),
            "MASTEHOEJDE": lights["height_m"].to_numpy(),
        },
        geometry=lights.geometry.to_numpy(),
        crs=lights.crs,
    )
    path = tmp_path / "lamper.gpkg"
    register.to_file(path, layer="lamper")
    return path


def test_lamp_layer_with_other_field_names_via_mapping(
    tmp_path: Path, district_layers: dict
) -> None:
    from qgis.core import QgsVectorLayer

    register = QgsVectorLayer(f"{_municipal_lamps(tmp_path)}|layername=lamper", "lamper", "ogr")
    feedback = RecordingFeedback()
    result = run(
        "lighting",
        {
            "STREETS": district_layers["streets"],
            "LIGHTS": register,
            "LIGHTS_LIGHT_ID_FIELD": "LAMPE_NR",
            "LIGHTS_LUMENS_FIELD": "LYSSTROEM",
            "LIGHTS_HEIGHT_M_FIELD": "MASTEHOEJDE",
            "BOUNDARY": district_layers["boundary"],
            "RESOLUTION_M": 4.0,
        },
        feedback,
    )
    # The register has no distribution or maintenance factor: the plugin fills the
    # schema defaults (street_lantern, 0.8), so the library gets the same lamps.
    district = vollsmose_gis.default_district()
    assert set(district.lights["distribution"]) == {"street_lantern"}
    district = district.replace(lights=district.lights.assign(maintenance_factor=0.8))
    expected = lighting.illuminance_raster(district, resolution_m=4.0)
    array, _, _ = raster(result["ILLUMINANCE"])
    np.testing.assert_allclose(array, expected.array, rtol=1e-6)


def test_lamp_layer_missing_a_mapped_field_is_refused(
    tmp_path: Path, district_layers: dict
) -> None:
    from qgis.core import QgsProcessingException, QgsVectorLayer

    register = QgsVectorLayer(f"{_municipal_lamps(tmp_path)}|layername=lamper", "lamper", "ogr")
    with pytest.raises(QgsProcessingException) as error:
        run(
            "lighting",
            {
                "STREETS": district_layers["streets"],
                "LIGHTS": register,
                "LIGHTS_LUMENS_FIELD": "LUMEN",
                "BOUNDARY": district_layers["boundary"],
            },
        )
    message = str(error.value)
    assert "'LUMEN'" in message and "luminous flux" in message and "LYSSTROEM" in message


def test_lamp_layer_without_flux_and_no_mapping_names_the_column(
    tmp_path: Path, district_layers: dict
) -> None:
    from qgis.core import QgsProcessingException, QgsVectorLayer

    register = QgsVectorLayer(f"{_municipal_lamps(tmp_path)}|layername=lamper", "lamper", "ogr")
    with pytest.raises(QgsProcessingException, match="lumens"):
        run(
            "lighting",
            {
                "STREETS": district_layers["streets"],
                "LIGHTS": register,
                "BOUNDARY": district_layers["boundary"],
            },
        )


# --------------------------------------------------------------------------- bad input


def test_geographic_layer_is_reprojected_with_a_message(
    tmp_path: Path, district_layers: dict
) -> None:
    from qgis.core import QgsVectorLayer

    from vollsmose_gis import connectivity

    district = vollsmose_gis.default_district()
    path = tmp_path / "streets_wgs84.gpkg"
    district.streets.to_crs("EPSG:4326").to_file(path, layer="streets")
    streets = QgsVectorLayer(f"{path}|layername=streets", "streets", "ogr")
    assert streets.crs().isGeographic()
    feedback = RecordingFeedback()
    result = run(
        "connectivity",
        {"STREETS": streets, "BOUNDARY": district_layers["boundary"], "RADII": ""},
        feedback,
    )
    assert any(
        "geographic CRS (EPSG:4326" in w and "reprojected to EPSG:25832" in w
        for w in feedback.warnings
    ), feedback.warnings
    segments = frame(result["SEGMENTS"])
    assert segments.crs.to_epsg() == 25832
    _, edges = connectivity.centralities(
        district.replace(buildings=district.buildings.iloc[:0]), radii=[]
    )
    assert len(segments) == len(edges)
    np.testing.assert_allclose(segments["length_m"].sum(), edges["length_m"].sum(), rtol=1e-6)


def test_all_layers_geographic_uses_the_local_utm_zone(tmp_path: Path) -> None:
    from qgis.core import QgsVectorLayer

    district = vollsmose_gis.default_district()
    path = tmp_path / "wgs84.gpkg"
    district.streets.to_crs("EPSG:4326").to_file(path, layer="streets")
    streets = QgsVectorLayer(f"{path}|layername=streets", "streets", "ogr")
    feedback = RecordingFeedback()
    result = run("connectivity", {"STREETS": streets, "RADII": ""}, feedback)
    assert any("EPSG:32632" in w and "UTM zone" in w for w in feedback.warnings)
    assert frame(result["SEGMENTS"]).crs.to_epsg() == 32632


def test_empty_optional_layer_is_allowed(tmp_path: Path, district_layers: dict) -> None:
    from qgis.core import QgsVectorLayer

    empty = QgsVectorLayer("Point?crs=EPSG:25832&field=light_id:string", "no lamps", "memory")
    feedback = RecordingFeedback()
    result = run(
        "lighting",
        {
            "STREETS": district_layers["streets"],
            "LIGHTS": empty,
            "BOUNDARY": district_layers["boundary"],
            "RESOLUTION_M": 4.0,
        },
        feedback,
    )
    assert any("no features" in text for text in feedback.infos)
    array, _, _ = raster(result["ILLUMINANCE"])
    assert array.max() == 0.0
    compliance = frame(result["COMPLIANCE"])
    assert len(compliance) > 0 and not compliance["pass"].any()


def test_empty_required_layer_gives_the_library_message(district_layers: dict) -> None:
    from qgis.core import QgsProcessingException, QgsVectorLayer

    empty = QgsVectorLayer("LineString?crs=EPSG:25832", "no streets", "memory")
    with pytest.raises(QgsProcessingException, match=r"(?i)street"):
        run("connectivity", {"STREETS": empty, "BOUNDARY": district_layers["boundary"]})


def test_bad_parameter_is_explained() -> None:
    from qgis.core import QgsProcessingException
    from vollsmose_gis_qgis.algorithms.connectivity import parse_radii

    assert parse_radii("400, 800;1600") == [400.0, 800.0, 1600.0]
    assert parse_radii("") == []
    with pytest.raises(QgsProcessingException, match="'eight hundred' is not a number"):
        parse_radii("400, eight hundred")


# --------------------------------------------------------------------------- cancellation


def test_cancellation_stops_a_long_algorithm(tmp_path: Path, district_layers: dict) -> None:
    """A 0.25 m illuminance raster takes long; cancelling at the first report stops it."""
    from qgis.core import QgsProcessingException

    feedback = RecordingFeedback(cancel_at=6.0)
    target = tmp_path / "illuminance.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run(
            "lighting",
            {
                "STREETS": district_layers["streets"],
                "LIGHTS": district_layers["lights"],
                "BOUNDARY": district_layers["boundary"],
                "RESOLUTION_M": 0.25,
                "ILLUMINANCE": str(target),
            },
            feedback,
        )
    assert feedback.isCanceled()
    assert max(feedback.progress_values) < 60  # stopped inside the raster step (5-60 %)
    assert not target.exists()


def test_frame_helper_reads_tables() -> None:
    table = pd.DataFrame({"indicator": ["a"], "value": [1.5]})
    from qgis.core import QgsVectorLayer
    from vollsmose_gis_qgis import conversion

    fields = conversion.frame_fields(table)
    layer = QgsVectorLayer("None", "t", "memory")
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    layer.dataProvider().addFeatures(list(conversion.frame_features(table, fields)))
    assert frame(layer).to_dict("list") == {"indicator": ["a"], "value": [1.5]}


def test_every_dialog_builds_and_can_be_screenshot(tmp_path: Path) -> None:
    """The Processing dialog of every algorithm opens offscreen (as docs/qgis-dialogs/)."""
    sys.path.insert(0, str(PLUGIN_DIR / "tools"))
    try:
        from screenshot_dialogs import grab_dialogs
    finally:
        sys.path.remove(str(PLUGIN_DIR / "tools"))
    from qgis.PyQt.QtGui import QImage

    shots = grab_dialogs(tmp_path)
    assert {p.stem for p in shots} == EXPECTED
    for path in shots:
        image = QImage(str(path))
        assert image.width() > 300 and image.height() > 400, path.name


def test_qgis_install_from_a_wheel_into_a_fresh_profile(tmp_path: Path) -> None:
    """A non-editable install (the built wheel) installs the plugin; qgis_process runs it."""
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("vollsmose_gis-*.whl")
    with zipfile.ZipFile(wheel) as zipped:
        assert "vollsmose_gis/qgis_plugin/vollsmose_gis_qgis/metadata.txt" in zipped.namelist()
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    # the wheel's copy first: no source checkout on the path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *site_packages]),
           "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    config = tmp_path / "QGIS3"
    done = subprocess.run(
        [sys.executable, "-c",
         "import vollsmose_gis, sys; assert 'site' in vollsmose_gis.__file__, vollsmose_gis.__file__;"
         "from vollsmose_gis.cli import main; sys.argv=['vollsmose-gis','qgis','install',"
         f"'--qgis-config',{str(config)!r},'--python',{sys.executable!r}]; main()"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "imports vollsmose_gis" in done.stdout
    plugin = config / "profiles" / "default" / "python" / "plugins" / "vollsmose_gis_qgis"
    assert (plugin / "metadata.txt").is_file()
    ini = (config / "profiles" / "default" / "QGIS" / "QGIS3.ini").read_text(encoding="utf-8")
    assert "vollsmose_gis_qgis=true" in ini
    binary = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if binary is None:
        skip_or_fail("qgis_process is not installed")
    listing = subprocess.run(
        [binary, "list"], capture_output=True, text=True, timeout=300,
        env={**env, "QGIS_CUSTOM_CONFIG_PATH": str(config)},
    )  # fmt: skip
    for name in EXPECTED:
        assert f"vollsmosegis:{name}" in listing.stdout, listing.stdout[-2000:]


def test_no_qt5_only_names_in_the_plugin() -> None:
    """QGIS 4 / Qt 6: no PyQt5 imports, exec_(), QAction from QtWidgets, QRegExp,
    QDesktopWidget, or QVariant type enums outside the version-guarded field-type shim."""
    import re

    patterns = [r"\bPyQt5\b", r"\bexec_\(", r"QtWidgets import[^\n]*\bQAction\b",
                r"\bQRegExp\b", r"\bQDesktopWidget\b", r"QVariant\.(Bool|Int|Double|String|LongLong)"]  # fmt: skip
    found = []
    for path in (PLUGIN_DIR / "vollsmose_gis_qgis").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []
    parser = configparser.ConfigParser()
    parser.read(PLUGIN_DIR / "vollsmose_gis_qgis" / "metadata.txt", encoding="utf-8")
    assert parser["general"]["supportsQt6"] == "True"
