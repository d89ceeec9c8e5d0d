"""CLI: info and validate on good and bad GeoPackages; exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from tests.factories import small_district
from vollsmose_gis import save_district
from vollsmose_gis.cli import app

runner = CliRunner()


@pytest.fixture
def good_gpkg(tmp_path) -> Path:
    return save_district(small_district(), tmp_path / "good.gpkg")


@pytest.fixture
def bad_gpkg(tmp_path) -> Path:
    path = save_district(small_district(), tmp_path / "bad.gpkg")
    cameras = pyogrio.read_dataframe(path, layer="cameras")
    cameras.loc[0, "hfov_deg"] = 400.0
    pyogrio.write_dataframe(cameras, path, layer="cameras", driver="GPKG")
    buildings = pyogrio.read_dataframe(path, layer="buildings")
    buildings.loc[1, "use"] = "casino"
    pyogrio.write_dataframe(buildings, path, layer="buildings", driver="GPKG")
    return path


def test_info_table(good_gpkg):
    result = runner.invoke(app, ["info", str(good_gpkg)])
    assert result.exit_code == 0, result.output
    assert "Testby" in result.output and "EPSG:25832" in result.output
    assert "buildings" in result.output and "dwellings: 40" in result.output
    assert "Schematic model built from public figures" in result.output


def test_info_json(good_gpkg):
    result = runner.invoke(app, ["info", str(good_gpkg), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["layers"] == {
        "streets": 2,
        "buildings": 2,
        "landuse": 1,
        "lights": 1,
        "cameras": 1,
        "calming": 1,
        "pois": 1,
        "incidents": 0,  # the evidence layers are optional and empty here
        "safety_walk": 0,
    }
    assert summary["boundary_area_ha"] == 4.0
    assert summary["provenance"]["kind"] == "schematic"


def test_validate_good(good_gpkg):
    result = runner.invoke(app, ["validate", str(good_gpkg)])
    assert result.exit_code == 0
    assert "valid" in result.output


def test_validate_bad_lists_every_problem_and_exits_2(bad_gpkg):
    result = runner.invoke(app, ["validate", str(bad_gpkg)])
    assert result.exit_code == 2
    assert "2 problem(s) in district" in result.stderr
    assert "layer 'cameras', feature 'C1', column 'hfov_deg'" in result.stderr
    assert (
        "layer 'buildings', feature 'b2', column 'use': unknown category 'casino'" in result.stderr
    )
    assert "Traceback" not in result.output


def test_validate_bad_json(bad_gpkg):
    result = runner.invoke(app, ["validate", str(bad_gpkg), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["problems"]
    assert {(p["layer"], p["feature_id"], p["column"]) for p in problems} == {
        ("cameras", "C1", "hfov_deg"),
        ("buildings", "b2", "use"),
    }


def test_names_and_paths_with_brackets_are_printed_verbatim(tmp_path):
    import dataclasses

    # rich markup would raise on "[/x]" and swallow "[x]"
    d = dataclasses.replace(small_district(), name="Estate [/x] [x]")
    path = save_district(d, tmp_path / "d.gpkg")
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    assert "Estate [/x] [x]" in result.stdout
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "Estate [/x] [x]" in result.stdout
    # an error naming a path with brackets: exit 2 and the path as given
    result = runner.invoke(app, ["info", str(tmp_path / "[/x][y].gpkg")])
    assert result.exit_code == 2, result.output
    assert "[/x][y].gpkg" in result.stderr


def test_missing_file_and_not_a_district(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path / "nope.gpkg")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    other = tmp_path / "roads.gpkg"
    pyogrio.write_dataframe(small_district().streets, other, layer="roads", driver="GPKG")
    result = runner.invoke(app, ["validate", str(other)])
    assert result.exit_code == 2
    assert "missing table(s): streets, buildings" in result.stderr


def test_installed_script_exit_code_and_no_traceback(tmp_path):
    script = Path(sys.executable).with_name("vollsmose-gis")
    result = subprocess.run(
        [str(script), "validate", str(tmp_path / "nope.gpkg")], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    debug = subprocess.run(
        [str(script), "--debug", "validate", str(tmp_path / "nope.gpkg")],
        capture_output=True,
        text=True,
    )
    assert "Traceback" in debug.stderr


def test_every_command_has_help_with_examples():
    for command in ("info", "validate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Examples" in result.output
