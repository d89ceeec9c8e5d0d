"""The main job through the CLI: ranking table, outputs, refusal to clobber, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from vollsmose_gis.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_score_two_scenarios_writes_everything(tmp_path):
    out = tmp_path / "out"
    args = [
        "score",
        str(REPO / "scenarios/baseline.yaml"),
        str(REPO / "scenarios/open-up.yaml"),
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Open up" in result.stdout and "Baseline" in result.stdout
    assert "P(1st)" in result.stdout
    assert "Schematic model built from public figures" in result.stdout
    scores = pd.read_csv(out / "scores.csv", comment="#")
    assert set(scores["scenario"]) == {"Baseline", "Open up"}
    assert scores["p_first"].sum() == 1.0
    indicators = pd.read_csv(out / "indicators.csv", comment="#")
    assert {"scenario", "indicator", "value", "unit", "score", "delta"} <= set(indicators.columns)
    baseline_delta = indicators.loc[indicators["scenario"] == "Baseline", "delta"].abs().max()
    assert baseline_delta == 0.0
    for name in (
        "baseline.gpkg",
        "open-up.gpkg",
        "open-up_illuminance.tif",
        "open-up_dori_levels.tif",
    ):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["district"]["provenance"]["kind"] == "schematic"
    assert str(REPO / "scenarios/open-up.yaml") in manifest["inputs"]["scenarios"]
    assert manifest["versions"]["vollsmose-gis"]

    # a second run refuses the existing folder and changes nothing
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "exists" in again.stderr and "--overwrite" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_score_json(tmp_path):
    result = runner.invoke(
        app,
        ["score", str(REPO / "scenarios/baseline.yaml"), "--out", str(tmp_path / "o"), "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["scores"][0]["scenario"] == "Baseline"
    assert payload["robustness"]["p_first"] == {"Baseline": 1.0}


def test_score_bad_scenario_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad\ninterventions:\n  - type: demolish\n    buildings: {ids: [no-such-block]}\n"
    )
    result = runner.invoke(app, ["score", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "intervention 0 (demolish): unknown building_id(s): no-such-block" in result.stderr
    assert not (tmp_path / "o").exists()
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("name: [Bad\n")
    result = runner.invoke(app, ["score", str(malformed), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "malformed YAML at line" in result.stderr
    assert runner.invoke(app, ["score", str(tmp_path / "nope")]).exit_code == 2
