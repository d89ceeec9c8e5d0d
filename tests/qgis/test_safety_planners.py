"""The lamp planner, camera placement and safety algorithms aimed at the evidence
(issue 19 §4–§5), in the real QGIS, against the library.

The scene is the library tests' ``marks_on_one_side`` (tests/test_safety.py): four unlit
footways, five of six safety-walk marks on the two short east paths.  The library plans
5 lamps that light 5 of the 6 marked places (the geometric planner puts all 6 lamps on
the longest path, 0 of 6), and 2 cameras that see 5 of 6 at detection level.  Each
algorithm's planned lamps/cameras must be the library's (same ids and positions), and
its treated share must equal :func:`vollsmose_gis.safety.treated_share` of the district
with the algorithm's own output added.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

import vollsmose_gis
from tests.conftest import REPO, skip_or_fail
from tests.factories import CRS, X0, Y0
from tests.qgis.conftest import gpkg_layers
from tests.qgis.helpers import RecordingFeedback, assert_same_frame, frame, run
from tests.test_safety import marks_on_one_side
from vollsmose_gis import InputError, cctv, lighting
from vollsmose_gis.io import Raster, write_geotiff
from vollsmose_gis.safety.priority import (
    plan_cameras_for_evidence,
    plan_lights_for_evidence,
    priority_places,
    priority_surface,
    treated_share,
)


@dataclass
class Scene:
    gpkg: Path
    layers: dict[str, Any]
    district: vollsmose_gis.District
    candidates: gpd.GeoDataFrame
    candidates_path: Path

    def inputs(self, *names: str) -> dict[str, Any]:
        params = {name.upper(): self.layers[name] for name in names}
        params["BOUNDARY"] = self.layers["boundary"]
        return params


@pytest.fixture(scope="module")
def scene(qgis_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    folder = tmp_path_factory.mktemp("marks-on-one-side")
    path = folder / "scene.gpkg"
    vollsmose_gis.save_district(marks_on_one_side(), path)
    # a pole by each path (4 headings each): north middle, west, east end, corner end
    candidates = gpd.GeoDataFrame(
        {"height_m": [4.0] * 4},
        geometry=[Point(X0 + 80, Y0 + 182), Point(X0 + 22, Y0 + 60),
                  Point(X0 + 205, Y0 + 32), Point(X0 + 282, Y0 + 50)],
        crs=CRS,
    )  # fmt: skip
    candidates_path = folder / "poles.gpkg"
    candidates.to_file(candidates_path, layer="poles", driver="GPKG")
    return Scene(
        path, gpkg_layers(path), vollsmose_gis.load_district(path), candidates, candidates_path
    )


def with_added(district: vollsmose_gis.District, layer: str, added: pd.DataFrame) -> Any:
    """The district with an algorithm's output features appended to ``layer``."""
    existing = district.layers[layer]
    columns = [c for c in existing.columns if c in added.columns]
    rows = gpd.GeoDataFrame(added[columns].reset_index(drop=True), crs=existing.crs)
    combined = pd.concat([existing, rows], ignore_index=True) if len(existing) else rows
    return district.replace(**{layer: gpd.GeoDataFrame(combined, crs=existing.crs)})


def detection() -> int:
    return list(cctv.dori_levels()).index("detection")


# --------------------------------------------------------------------------- lamp planner


def test_lamp_planner_aimed_at_the_marks_plans_the_librarys_lamps(scene: Scene) -> None:
    feedback = RecordingFeedback()
    result = run("lampplanner", {**scene.inputs("streets", "safety_walk"), "MAX_NEW": 6}, feedback)
    plan = plan_lights_for_evidence(scene.district, max_new=6)
    new = frame(result["NEW_LIGHTS"])
    # east (3 marks, 3 lamps) and corner (2 marks, 2 lamps); west's 1 mark needs 5 more
    assert len(new) == 5 and (new.geometry.x > X0 + 190).all()
    assert new["light_id"].tolist() == plan.added["light_id"].tolist()
    assert_same_frame(new, plan.added)
    assert_same_frame(frame(result["COMPLIANCE_AFTER"]), plan.compliance_after)
    assert result["UNRESOLVED"] == "west"
    # the treated share of the district with the algorithm's own lamps: 5 of 6 marks
    expected = treated_share(with_added(scene.district, "lights", new), by="lights")
    assert expected * 6 == pytest.approx(5)
    assert result["TREATED_SHARE_AFTER"] == pytest.approx(expected)
    assert result["TREATED_SHARE_BEFORE"] == 0.0
    assert "6 marks and incidents): 0% before the plan, 83% after" in feedback.text


def test_lamp_planner_without_evidence_is_the_geometric_planner(scene: Scene) -> None:
    result = run("lampplanner", {**scene.inputs("streets"), "MAX_NEW": 6})
    plan = lighting.plan_lights(scene.district, max_new=6)
    new = frame(result["NEW_LIGHTS"])
    assert_same_frame(new, plan.new_lights)
    assert len(new) == 6 and (new.geometry.y > Y0 + 170).all()  # all on the long north path
    assert math.isnan(result["TREATED_SHARE_BEFORE"]) and math.isnan(result["TREATED_SHARE_AFTER"])
    # the same lamps leave every marked place dark
    assert treated_share(with_added(scene.district, "lights", new), by="lights") == 0.0


def test_incident_weights_steer_the_lamps(scene: Scene, tmp_path: Path) -> None:
    """Marks weigh 0, one incident on the west path weighs 1: the lamps go west."""
    incidents = gpd.GeoDataFrame(
        {"incident_id": ["i0"], "kind": ["vandalism"], "date": ["2024-05-01"]},
        geometry=[Point(X0 + 20, Y0 + 80)],
        crs=CRS,
    )
    path = tmp_path / "incidents.gpkg"
    incidents.to_file(path, layer="incidents", driver="GPKG")
    result = run(
        "lampplanner",
        {
            **scene.inputs("streets", "safety_walk"),
            "INCIDENTS": f"{path}|layername=incidents",
            "MARK_WEIGHT": 0.0,
            "MAX_NEW": 6,
        },
    )
    district = scene.district.replace(incidents=incidents)
    places = priority_places(district, mark_weight=0.0)
    plan = plan_lights_for_evidence(district, places, max_new=6)
    new = frame(result["NEW_LIGHTS"])
    assert_same_frame(new, plan.added)
    assert len(new) == 5 and (abs(new.geometry.x - (X0 + 20)) < 5).all()  # west: 5 lamps
    expected = treated_share(with_added(district, "lights", new), places, by="lights")
    assert expected == 1.0  # the incident (weight 1) is lit; the marks weigh nothing
    assert result["TREATED_SHARE_AFTER"] == expected


# --------------------------------------------------------------------------- camera placement


def test_camera_placement_aimed_at_the_marks_places_the_librarys_cameras(scene: Scene) -> None:
    feedback = RecordingFeedback()
    result = run(
        "cameraplacement",
        {
            **scene.inputs("streets", "safety_walk"),
            "CANDIDATES": str(scene.candidates_path),
            "NUMBER": 2,
            "LEVEL": detection(),
        },
        feedback,
    )
    aimed = plan_cameras_for_evidence(
        scene.district, candidates=scene.candidates, k=2, level="detection"
    )
    new = frame(result["NEW_CAMERAS"])
    # the east pole looking east (3 marks), the corner pole looking north (2)
    assert new["candidate_id"].tolist() == ["cand-10", "cand-13"]
    assert new["camera_id"].tolist() == aimed.added["camera_id"].tolist()
    assert_same_frame(new, aimed.added)
    assert "priority_share" in new.columns  # the weight each camera adds, on the layer
    expected = treated_share(
        with_added(scene.district, "cameras", new), by="cameras", level="detection"
    )
    assert expected * 6 == pytest.approx(5)
    assert result["TREATED_SHARE_AFTER"] == pytest.approx(expected)
    assert result["TREATED_SHARE_BEFORE"] == 0.0
    assert "0% before the plan, 83% after" in feedback.text


def test_camera_placement_without_evidence_covers_the_most_area(scene: Scene) -> None:
    result = run(
        "cameraplacement",
        {
            **scene.inputs("streets"),
            "CANDIDATES": str(scene.candidates_path),
            "NUMBER": 2,
            "LEVEL": detection(),
        },
    )
    plan = cctv.plan_cameras(scene.district, candidates=scene.candidates, k=2, level="detection")
    new = frame(result["NEW_CAMERAS"])
    assert_same_frame(new, plan.added)
    assert new["candidate_id"].tolist() == ["cand-2", "cand-4"]  # the north pole, E and W
    assert "priority_share" not in new.columns
    assert math.isnan(result["TREATED_SHARE_AFTER"])
    seen = treated_share(
        with_added(scene.district, "cameras", new), by="cameras", level="detection"
    )
    assert seen == 0.0


# --------------------------------------------------------------------------- priority raster


@pytest.fixture(scope="module")
def surface_tif(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Raster]:
    """The marks spread with a 15 m kernel, as a GeoTIFF, and as the library reads it."""
    import rasterio

    path = tmp_path_factory.mktemp("priority") / "surface.tif"
    places = priority_places(scene.district)
    write_geotiff(priority_surface(scene.district, places, bandwidth_m=15.0), path)
    with rasterio.open(path) as src:
        array = src.read(1).astype(np.float64)
        if src.nodata is not None:
            array[array == src.nodata] = np.nan
        return path, Raster(array, src.transform, src.crs.to_string(), name="surface")


def test_a_priority_raster_steers_both_planners(
    scene: Scene, surface_tif: tuple[Path, Raster]
) -> None:
    path, surface = surface_tif
    lamps = run(
        "lampplanner",
        {**scene.inputs("streets", "safety_walk"), "PRIORITY": str(path), "MAX_NEW": 6},
    )
    plan = lighting.plan_lights(scene.district, max_new=6, priority=surface)
    new = frame(lamps["NEW_LIGHTS"])
    assert_same_frame(new, plan.new_lights)
    assert len(new) == 5 and (new.geometry.x > X0 + 190).all()
    share = treated_share(with_added(scene.district, "lights", new), by="lights")
    assert share * 6 == pytest.approx(5) and lamps["TREATED_SHARE_AFTER"] == pytest.approx(share)

    cameras = run(
        "cameraplacement",
        {
            **scene.inputs("streets", "safety_walk"),
            "PRIORITY": str(path),
            "CANDIDATES": str(scene.candidates_path),
            "NUMBER": 2,
            "LEVEL": detection(),
        },
    )
    chosen = cctv.plan_cameras(
        scene.district, candidates=scene.candidates, k=2, level="detection", priority=surface
    )
    new = frame(cameras["NEW_CAMERAS"])
    assert_same_frame(new, chosen.added)
    assert new["candidate_id"].tolist() == ["cand-10", "cand-13"]
    share = treated_share(
        with_added(scene.district, "cameras", new), by="cameras", level="detection"
    )
    assert share * 6 == pytest.approx(5)
    assert cameras["TREATED_SHARE_AFTER"] == pytest.approx(share)


def test_a_negative_priority_fails_with_the_librarys_message(
    scene: Scene, surface_tif: tuple[Path, Raster], tmp_path: Path
) -> None:
    from qgis.core import QgsProcessingException

    _, surface = surface_tif
    array = surface.array.copy()
    array[0, 0] = -0.5
    bad = Raster(array, surface.transform, CRS, name="negative")
    path = tmp_path / "negative.tif"
    write_geotiff(bad, path)
    with pytest.raises(InputError) as lamps_error:
        lighting.plan_lights(scene.district, priority=bad)
    with pytest.raises(InputError) as cameras_error:
        cctv.plan_cameras(scene.district, candidates=scene.candidates, k=1, priority=bad)
    message = str(lamps_error.value)
    assert "priority raster 'negative' has 1 negative weight(s) (lowest -0.5)" in message
    with pytest.raises(QgsProcessingException, match=re.escape(message)):
        run("lampplanner", {**scene.inputs("streets"), "PRIORITY": str(path)})
    with pytest.raises(QgsProcessingException, match=re.escape(str(cameras_error.value))):
        run(
            "cameraplacement",
            {
                **scene.inputs("streets"),
                "PRIORITY": str(path),
                "CANDIDATES": str(scene.candidates_path),
                "NUMBER": 1,
            },
        )


# --------------------------------------------------------------------------- safety


def test_safety_plans_lamps_then_cameras_at_the_evidence(scene: Scene) -> None:
    """As ``vollsmose-gis safety --plan-lights 6 --plan-cameras 3``."""
    result = run(
        "safety",
        {**scene.inputs("streets", "safety_walk"), "PLAN_LIGHTS": 6, "PLAN_CAMERAS": 3},
    )
    lamps = plan_lights_for_evidence(scene.district, max_new=6)
    cameras = plan_cameras_for_evidence(lamps.district, k=3)
    new_lamps = frame(result["PLANNED_LIGHTS"])
    assert_same_frame(new_lamps, lamps.added)
    assert len(new_lamps) == 5
    lit = with_added(scene.district, "lights", new_lamps)
    assert result["LIGHTS_TREATED_BEFORE"] == 0.0
    assert result["LIGHTS_TREATED_AFTER"] == pytest.approx(treated_share(lit, by="lights"))
    assert result["LIGHTS_TREATED_AFTER"] * 6 == pytest.approx(5)
    new_cameras = frame(result["PLANNED_CAMERAS"])
    assert_same_frame(new_cameras, cameras.added)
    # on the new lamp posts (no facades here), the third sees the corner's first mark
    # at recognition level
    assert new_cameras["candidate_id"].tolist() == ["cand-6", "cand-8", "cand-13"]
    seen = treated_share(with_added(lit, "cameras", new_cameras), by="cameras")
    assert seen * 6 == pytest.approx(1)
    assert result["CAMERAS_TREATED_AFTER"] == pytest.approx(seen)
    assert result["CAMERAS_TREATED_BEFORE"] == 0.0


def test_safety_without_plans_has_no_planned_layers(scene: Scene) -> None:
    result = run("safety", scene.inputs("streets", "safety_walk"))
    assert result.get("PLANNED_LIGHTS") is None and result.get("PLANNED_CAMERAS") is None
    assert math.isnan(result["LIGHTS_TREATED_AFTER"])


# --------------------------------------------------------------------------- qgis_process


def test_lamp_planner_at_the_marks_through_qgis_process(scene: Scene, tmp_path: Path) -> None:
    """Through ``qgis_process``, where QGIS loads the system GEOS before the plugin
    imports shapely: the priority planner calls ``shapely.contains_xy`` (a GEOS 3.12
    function), which crashed there until the plugin imported shapely bound to its own
    GEOS (``_library.import_shapely``)."""
    binary = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if binary is None:
        skip_or_fail("qgis_process is not installed")
    config = tmp_path / "config"
    ini = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nvollsmose_gis_qgis=true\nprocessing=true\n")
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": str(REPO / "qgis_plugin"),
        "QGIS_CUSTOM_CONFIG_PATH": str(config),
        "PYTHONPATH": os.pathsep.join([str(REPO), *site_packages]),
    }
    output = tmp_path / "lamps.gpkg"
    process = subprocess.run(
        [
            binary, "run", "vollsmosegis:lampplanner", "--",
            f"STREETS={scene.gpkg}|layername=streets",
            f"SAFETY_WALK={scene.gpkg}|layername=safety_walk",
            f"BOUNDARY={scene.gpkg}|layername=district_meta",
            "MAX_NEW=6",
            f"NEW_LIGHTS={output}",
            "COMPLIANCE_AFTER=TEMPORARY_OUTPUT",
        ],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    # qgis_process 3.22 may crash on exit after printing its results (as in test_plugin)
    assert output.is_file(), process.stdout[-2000:] + process.stderr[-2000:]
    assert "TREATED_SHARE_BEFORE:\t0\n" in process.stdout, process.stdout[-2000:]
    assert "TREATED_SHARE_AFTER:\t0.8333333333333334" in process.stdout, process.stdout[-2000:]
    written = gpd.read_file(output)
    plan = plan_lights_for_evidence(scene.district, max_new=6)
    assert written["light_id"].tolist() == plan.added["light_id"].tolist()
    np.testing.assert_allclose(
        np.column_stack([written.geometry.x, written.geometry.y]),
        np.column_stack([plan.added.geometry.x, plan.added.geometry.y]),
        atol=1e-6,
    )


@pytest.mark.parametrize("own_geos", [False, True])
def test_shapely_imported_by_the_plugin_uses_its_own_geos(own_geos: bool) -> None:
    """With the system GEOS loaded first (as QGIS does), ``shapely.contains_xy`` crashes
    the process unless shapely was imported by ``_library.import_shapely``."""
    import ctypes.util

    import shapely

    system = ctypes.util.find_library("geos_c")
    bundled = list(Path(shapely.__file__).parent.parent.glob("shapely.libs/libgeos_c*"))
    if system is None or not bundled:
        pytest.skip("needs a system GEOS and a shapely wheel with its own GEOS")
    geos = ctypes.CDLL(system)  # local scope: shapely in this process is unaffected
    geos.GEOSversion.restype = ctypes.c_char_p
    system_version = tuple(int(p) for p in geos.GEOSversion().decode().split(".")[:2])
    if not own_geos and system_version >= (3, 12):
        pytest.skip(f"the system GEOS {system_version} has contains_xy: nothing to mix")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from vollsmose_gis_qgis._library import import_shapely\n"
        f"assert import_shapely() if {own_geos} else True\n"
        "import shapely\n"
        "from shapely.geometry import box\n"
        "print(shapely.contains_xy(box(0, 0, 2, 2), [1.0, 3.0], [1.0, 1.0]).tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "qgis_plugin")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "LD_PRELOAD": system},
    )  # fmt: skip
    if own_geos:
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "[True, False]"
    else:  # the crash the plugin avoids (SIGSEGV)
        assert done.returncode == -11, (done.returncode, done.stdout, done.stderr[-2000:])
