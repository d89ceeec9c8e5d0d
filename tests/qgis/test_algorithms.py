"""Every algorithm through ``processing.run`` in the real QGIS, against the library.

Each algorithm runs on QgsVectorLayers loaded from a district GeoPackage — the embedded
Vollsmose model, and a real OpenStreetMap extract imported by the plugin's own import
algorithm — and its outputs must equal what the library computes from the same file
(``vollsmose_gis.load_district``): same feature count, same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import vollsmose_gis
from tests.qgis.conftest import gpkg_layers
from tests.qgis.helpers import (
    RecordingFeedback,
    assert_same_frame,
    assert_same_indicators,
    frame,
    raster,
    run,
)
from vollsmose_gis import analysis, calming, cctv, connectivity, lighting, mix
from vollsmose_gis.sources.osm import import_osm

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    name: str
    gpkg: Path
    layers: dict[str, Any]
    district: vollsmose_gis.District

    def inputs(self, *names: str) -> dict[str, Any]:
        params = {name.upper(): self.layers[name] for name in names}
        params["BOUNDARY"] = self.layers["boundary"]
        return params


@pytest.fixture(scope="module")
def osm_gpkg(osm_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OSM extract imported through the plugin (its district GeoPackage output)."""
    target = tmp_path_factory.mktemp("osm") / "imported.gpkg"
    run("importosm", {"INPUT": str(osm_file), "DISTRICT": str(target)})
    return target


@pytest.fixture(scope="module", params=["vollsmose", "osm"])
def case(request: pytest.FixtureRequest, district_gpkg: Path) -> Case:
    path = district_gpkg if request.param == "vollsmose" else request.getfixturevalue("osm_gpkg")
    return Case(request.param, path, gpkg_layers(path), vollsmose_gis.load_district(path))


def test_import_osm_equals_the_library(osm_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "district.gpkg"
    result = run("importosm", {"INPUT": str(osm_file), "DISTRICT": str(target)})
    library = import_osm(osm_file, crs="auto")
    assert result["REPORT"] == library.report.summary()
    for layer in ("streets", "buildings", "landuse", "lights", "cameras", "calming", "pois"):
        assert_same_frame(frame(result[layer.upper()]), library.district.layers[layer])
    assert "OpenStreetMap" in result["PROVENANCE"]
    written = vollsmose_gis.load_district(target)
    assert written.crs == library.district.crs
    assert {k: len(v) for k, v in written.layers.items()} == {
        k: len(v) for k, v in library.district.layers.items()
    }
    assert len(library.district.streets) > 100  # the extract is not trivially small


def test_connectivity_equals_the_library(case: Case) -> None:
    result = run("connectivity", {**case.inputs("streets", "buildings"), "RADII": "400, 800"})
    nodes, edges = connectivity.centralities(case.district, mode="walk", radii=[400, 800])
    assert_same_frame(frame(result["SEGMENTS"]), edges)
    assert_same_frame(frame(result["JUNCTIONS"]), nodes)
    assert_same_frame(frame(result["HOMES"]), connectivity.home_access(case.district))
    library = analysis.run("connectivity", case.district)
    if "connectivity_segments" in library.layers:  # the angular segment map (NAIN, NACH)
        assert_same_frame(frame(result["ANGULAR"]), library.layers["connectivity_segments"])
    assert_same_indicators(
        frame(result["INDICATORS"]), analysis.run("connectivity", case.district).indicators
    )
    assert result["PROVENANCE"] == case.district.provenance.statement()


def test_suggest_links_equals_the_library(case: Case) -> None:
    from qgis.core import QgsProcessingException

    parameters = {**case.inputs("streets", "buildings", "landuse"), "MAX_LINKS": 3}
    try:
        library = connectivity.suggest_links(case.district, k=3, max_length_m=150.0)
    except vollsmose_gis.InputError as exc:
        # The OSM extract has no homes inside its boundary: the same error, as a
        # QgsProcessingException with the library's message.
        assert case.name == "osm"
        with pytest.raises(QgsProcessingException, match=re.escape(str(exc))):
            run("suggestlinks", parameters)
        return
    result = run("suggestlinks", parameters)
    assert len(library) > 0
    assert_same_frame(frame(result["LINKS"]), library)
    assert result["OBJECTIVE_BEFORE"] == pytest.approx(library.attrs["objective_before"])


def test_calming_equals_the_library(case: Case) -> None:
    result = run("calming", {**case.inputs("streets", "calming", "pois"), "TARGET_KMH": 30.0})
    speeds = analysis.run("calming", case.district, target_kmh=30.0).layers["calming_speeds"]
    assert_same_frame(frame(result["SPEEDS"]), speeds)
    plan = calming.plan_calming(case.district, target_kmh=30.0)
    assert_same_frame(frame(result["DEVICES"]), plan.devices)
    assert_same_frame(frame(result["SPEEDS_AFTER"]), plan.speeds)
    assert_same_indicators(
        frame(result["INDICATORS"]), calming.indicators(plan.district, target_kmh=30.0)
    )
    assert result["COST_DKK"] == pytest.approx(plan.cost_dkk)
    if case.name == "vollsmose":
        assert len(plan.devices) > 0


def test_lighting_equals_the_library(case: Case) -> None:
    result = run("lighting", {**case.inputs("streets", "lights"), "RESOLUTION_M": 2.0})
    library = lighting.illuminance_raster(case.district, resolution_m=2.0)
    array, transform, crs = raster(result["ILLUMINANCE"])
    np.testing.assert_array_equal(array, library.array)
    assert transform == library.transform
    assert crs == case.district.crs
    segments = lighting.compliance(case.district)
    assert_same_frame(frame(result["COMPLIANCE"]), segments)
    dark = lighting.dark_spots(case.district, raster=library)
    assert_same_frame(frame(result["DARK_SPOTS"]), dark)
    assert_same_indicators(
        frame(result["INDICATORS"]),
        lighting.indicators(case.district, resolution_m=2.0, compliance_frame=segments, dark=dark),
    )
    if case.name == "vollsmose":
        assert array.max() > 10  # lamps light the ground


def test_lamp_planner_equals_the_library(case: Case) -> None:
    result = run("lampplanner", {**case.inputs("streets", "lights", "buildings"), "MAX_NEW": 4})
    plan = lighting.plan_lights(case.district, max_new=4)
    assert len(plan.new_lights) == 4
    assert_same_frame(frame(result["NEW_LIGHTS"]), plan.new_lights)
    assert_same_frame(frame(result["COMPLIANCE_AFTER"]), plan.compliance_after)
    assert result["COST_DKK"] == pytest.approx(plan.cost_dkk)
    assert result["UNRESOLVED"] == ", ".join(plan.unresolved)


def test_cctv_coverage_equals_the_library(case: Case) -> None:
    result = run(
        "cctvcoverage",
        {**case.inputs("cameras", "buildings", "streets", "landuse"), "RESOLUTION_M": 2.0},
    )
    library = cctv.viewsheds(case.district, resolution_m=2.0)
    levels, transform, _ = raster(result["DORI"])
    np.testing.assert_array_equal(levels, library.levels.array)
    assert transform == library.levels.transform
    density, _, _ = raster(result["DENSITY"])
    np.testing.assert_array_equal(density, library.density.array)
    assert_same_frame(frame(result["ZONES"]), library.zones)
    assert_same_frame(frame(result["CAMERAS_OUT"]), library.cameras)
    assert_same_frame(frame(result["COVERAGE"]), cctv.coverage(case.district, library))
    assert_same_indicators(
        frame(result["INDICATORS"]), cctv.indicators(case.district, result=library)
    )
    if case.name == "vollsmose":
        assert (levels[levels != 255] > 0).any()  # the cameras see something


def test_camera_placement_equals_the_library(case: Case) -> None:
    result = run(
        "cameraplacement",
        {
            **case.inputs("cameras", "buildings", "streets", "landuse", "lights"),
            "NUMBER": 2,
            "RESOLUTION_M": 4.0,
        },
    )
    library = cctv.plan_cameras(case.district, k=2, resolution_m=4.0).added
    assert len(library) == 2
    assert_same_frame(frame(result["NEW_CAMERAS"]), library)
    assert result["COVERED_SHARE"] == pytest.approx(library["covered_share"].iloc[-1])


def test_mix_equals_the_library(case: Case) -> None:
    result = run("mix", case.inputs("buildings", "streets", "pois", "landuse"))
    library = mix.analyse_mix(case.district, radii_m=[400, 800])
    assert_same_frame(frame(result["HOMES"]), library.homes)
    assert_same_frame(frame(result["ESTATES"]), library.estates)
    assert_same_frame(frame(result["GRID"]), library.grid)
    assert_same_indicators(frame(result["INDICATORS"]), library.indicators)
    np.testing.assert_allclose(result["SHARE_168A"], library.tenure.share, equal_nan=True)
    assert result["MEETS_RULE"] == library.tenure.meets_rule
    tenure = frame(result["TENURE"]).set_index("item")["value"]
    assert tenure["total_dwellings"] == library.tenure.total_dwellings


def test_score_scenarios_equals_the_library(tmp_path: Path, district_gpkg: Path) -> None:
    from vollsmose_gis.scenario import load_scenarios
    from vollsmose_gis.scoring import score_scenarios

    files = [REPO / "scenarios" / "baseline.yaml", REPO / "scenarios" / "open-up.yaml"]
    modules = ["connectivity", "calming", "mix"]
    result = run(
        "scorescenarios",
        {
            "SCENARIOS": [str(f) for f in files],
            "DISTRICT": str(district_gpkg),
            "MODULES": [0, 1, 4],
            "OUTPUT_FOLDER": str(tmp_path / "out"),
            "REPORT": str(tmp_path / "report.html"),
        },
    )
    from vollsmose_gis.scoring import MODULES

    assert [list(MODULES)[i] for i in (0, 1, 4)] == modules
    library = score_scenarios(
        load_scenarios(files), district=vollsmose_gis.load_district(district_gpkg), modules=modules
    )
    assert_same_frame(frame(result["SCORES"]), library.scores)
    assert_same_frame(frame(result["INDICATORS"]), library.indicators)
    assert (tmp_path / "out" / "scores.csv").is_file()
    assert (tmp_path / "out" / "manifest.json").is_file()
    # the library's main job: the maps and the report land in the folder too
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "maps" / "baseline.html").is_file()
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert result["REPORT"] == str(tmp_path / "report.html")
    assert "<html" in report.lower()
    for name in library.scores["scenario"]:
        assert name in report
    assert result["RANKING"].startswith(f"1. {library.scores['scenario'].iloc[0]}")


def test_progress_reaches_the_feedback(district_layers: dict[str, Any]) -> None:
    feedback = RecordingFeedback()
    run(
        "lighting",
        {
            "STREETS": district_layers["streets"],
            "LIGHTS": district_layers["lights"],
            "BOUNDARY": district_layers["boundary"],
            "RESOLUTION_M": 4.0,
        },
        feedback,
    )
    assert len(feedback.progress_values) > 3
    assert feedback.progress_values == sorted(feedback.progress_values)


def test_followup_equals_the_library(tmp_path: Path) -> None:
    from vollsmose_gis import followup

    result = run("followup", {"OUTPUT_FOLDER": str(tmp_path / "fu"), "LANGUAGE": 1})
    library = followup.monitor(followup.example_statistics())
    table = frame(result["STATUS"])
    assert len(table) == len(library.status)
    assert (tmp_path / "fu" / "followup.html").is_file()
    assert (tmp_path / "fu" / "monitor.csv").is_file()
    latest = library.status[library.status["year"] == library.status["year"].max()]
    on = latest[latest["on_list"] == True]  # noqa: E712
    for row in on.itertuples():
        assert f"{row.area_id}: {row.list}" in result["SUMMARY"]


@pytest.fixture(scope="module")
def vollsmose_case(district_gpkg: Path) -> Case:
    return Case(
        "vollsmose", district_gpkg, gpkg_layers(district_gpkg),
        vollsmose_gis.load_district(district_gpkg),
    )  # fmt: skip


def test_calming_compares_with_counts_and_calibrates(tmp_path: Path, vollsmose_case: Case) -> None:
    """Counts crafted on the Vollsmose streets: every site 2 km/h above the model."""
    case = vollsmose_case
    speeds = calming.operating_speeds(case.district)
    calmed = speeds[speeds["target_street"] & (speeds["devices"] > 0)].head(6)
    counts = pd.DataFrame({"site_id": [f"s{i}" for i in range(len(calmed))],
                           "street_id": calmed["street_id"].values, "v85_kmh": 30.0})  # fmt: skip
    model = calming.compare_speed_counts(case.district, counts).set_index("site_id")
    counts["v85_kmh"] = model.loc[counts["site_id"], "v85_model_kmh"].to_numpy() + 2.0
    path = tmp_path / "counts.csv"
    counts.to_csv(path, index=False)
    parameters = {**case.inputs("streets", "calming", "pois"), "TARGET_KMH": 30.0,
                  "COUNTS": str(path), "SPEED_COUNTS": "TEMPORARY_OUTPUT"}  # fmt: skip
    result = run("calming", parameters)
    assert result["RMSE"] == pytest.approx(2.0, abs=1e-6)  # every site 2 km/h off
    assert len(frame(result["SPEED_COUNTS"])) == len(model)
    fitted = tmp_path / "fit.yaml"
    result = run("calming", {**parameters, "CALIBRATE": True, "CALIBRATED": str(fitted)})
    assert fitted.is_file()
    assert result["RMSE"] < 0.5


def test_safety_equals_the_library(case: Case) -> None:
    from vollsmose_gis.safety import with_illustrative_evidence

    result = run(
        "safety",
        {
            **case.inputs("streets", "buildings", "lights", "cameras", "landuse"),
            "ILLUSTRATIVE": True,
        },
    )
    library = analysis.run("safety", with_illustrative_evidence(case.district))
    assert_same_indicators(frame(result["INDICATORS"]), library.indicators)
    assert_same_frame(frame(result["AUDIT"]), library.layers["safety_audit"])
