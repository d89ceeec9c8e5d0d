"""The main job and the CLI's file safety: staged outputs, outputs that are inputs,
scenario sets on one base district, warnings as one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.factories import small_district
from vollsmose_gis import save_district
from vollsmose_gis._errors import InputError
from vollsmose_gis.cli import app
from vollsmose_gis.job import run_job
from vollsmose_gis.scenario import Scenario

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    return save_district(small_district(), tmp_path / "d.gpkg")


def test_output_equal_to_the_input_is_refused_even_with_overwrite(gpkg: Path) -> None:
    before = digest(gpkg)
    result = runner.invoke(app, ["connectivity", str(gpkg), "-o", str(gpkg), "--overwrite"])
    assert result.exit_code == 2, result.output
    assert "is the input" in result.output
    assert digest(gpkg) == before


def test_two_outputs_naming_one_file_are_refused_before_anything_is_written(
    gpkg: Path, tmp_path: Path
) -> None:
    same = tmp_path / "same.tif"
    result = runner.invoke(app, ["lighting", str(gpkg), "-o", str(same), "--raster", str(same)])
    assert result.exit_code == 2, result.output
    assert "same file" in result.output
    assert not same.exists()


def test_an_output_that_is_a_folder_does_not_suggest_overwrite(gpkg: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    result = runner.invoke(app, ["mix", str(gpkg), "-o", str(folder)])
    assert result.exit_code == 2, result.output
    assert "is a folder" in result.output and "--overwrite" not in result.output


def test_an_output_in_a_missing_folder_is_refused_first(gpkg: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["mix", str(gpkg), "-o", str(tmp_path / "nope" / "m.gpkg")])
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output


def _scenario(name: str, base: Path | None = None) -> Scenario:
    return Scenario(name=name, base=base)


def test_a_failing_run_leaves_an_existing_output_exactly_as_it_was(
    gpkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scores.csv").write_text("old scores\n", encoding="utf-8")
    (out / "mine.txt").write_text("keep me\n", encoding="utf-8")
    from vollsmose_gis import report

    def broken(*args: object, **kwargs: object) -> Path:  # a fault late in the run
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "write_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_job([_scenario("a", gpkg)], out, overwrite=True, maps=False, modules=["mix"])
    assert (out / "scores.csv").read_text(encoding="utf-8") == "old scores\n"
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "scores.csv"]
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name], "staging left behind"


def test_a_failing_run_into_a_new_folder_leaves_nothing(
    gpkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vollsmose_gis import report

    monkeypatch.setattr(report, "write_report", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    with pytest.raises(OSError):
        run_job([_scenario("a", gpkg)], tmp_path / "new", maps=False, modules=["mix"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.gpkg"]


def test_a_complete_run_replaces_only_its_own_files(gpkg: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me\n", encoding="utf-8")
    (out / "scores.csv").write_text("old\n", encoding="utf-8")
    job = run_job([_scenario("a", gpkg)], out, overwrite=True, maps=False, modules=["mix"])
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me\n"
    scores = pd.read_csv(out / "scores.csv")  # plain CSV, header first
    assert list(scores["scenario"]) == ["a"]
    assert (out / "report.html").is_file() and (out / "PROVENANCE.txt").is_file()
    assert set(job.written) >= {out / "scores.csv", out / "report.html", out / "manifest.json"}


def test_the_base_of_a_scenario_set_is_its_baseline(gpkg: Path, tmp_path: Path) -> None:
    job = run_job([_scenario("today", gpkg)], tmp_path / "out", maps=False, report=False,
                  modules=["mix"])  # fmt: skip
    result = job.result
    assert result.baseline.district.name == small_district().name
    assert result.scores.loc[0, "overall_delta"] == pytest.approx(0.0)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["district"]["path"] == str(gpkg)
    assert "Vollsmose" not in (tmp_path / "out" / "PROVENANCE.txt").read_text(encoding="utf-8")


def test_scenarios_on_different_bases_are_refused_together(gpkg: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="share one base district") as info:
        run_job([_scenario("mine", gpkg), _scenario("embedded")], tmp_path / "out", maps=False)
    assert "mine" in str(info.value) and "embedded" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_warnings_are_one_line_without_source_paths() -> None:
    import warnings

    from vollsmose_gis import cli

    cli._SHOWN.clear()
    with warnings.catch_warnings():
        cli.warnings.showwarning = cli._show_warning
        with cli.err_console.capture() as captured:
            warnings.warn("a thing happened", UserWarning, stacklevel=1)
            warnings.warn("a thing happened", UserWarning, stacklevel=1)
    text = captured.get()
    assert text.strip() == "warning: a thing happened"
    assert ".py" not in text


def test_the_report_shows_both_rule_readings_and_the_model_against_counts(tmp_path: Path) -> None:
    """§ 168 a under both readings of erhvervsareal; measured V85 against the model."""
    from vollsmose_gis import calming
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    speeds = calming.operating_speeds(d)
    streets = speeds.loc[speeds["target_street"] & (speeds["devices"] > 0), "street_id"].head(4)
    counts = pd.DataFrame(
        {"site_id": [f"s{i}" for i in range(len(streets))], "street_id": streets.values,
         "v85_kmh": 30.0}
    )  # fmt: skip
    job = run_job(
        [Scenario(name="Today")], tmp_path / "out", modules=["calming", "mix"], maps=False,
        module_params={"calming": {"counts": counts}},
    )  # fmt: skip
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    account = job.result.baseline.modules["mix"].extras["mix"].tenure
    low, high = account.demolition_need_min, account.demolition_need_max
    assert f"{low:,}–{high:,} social family dwellings must go" in page
    rmse = job.result.baseline.modules["calming"].extras["speed_counts_rmse_kmh"]
    assert f"RMSE {rmse:.1f} km/h" in page


def test_a_run_closes_its_drawing_session_even_when_it_fails(
    gpkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages drawn for the maps and the report are kept only while the run lasts."""
    from vollsmose_gis import report
    from vollsmose_gis.maps import pages, themes

    seen = []

    def broken(*args: object, **kwargs: object) -> Path:  # a fault after the maps
        seen.append(pages._PAGES is not None and themes._KEYS is not None)
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "write_report", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        run_job([_scenario("a", gpkg)], out, modules=["mix"])
    assert seen == [True]  # the report ran inside the maps' session
    assert pages._PAGES is None and themes._KEYS is None
    assert not out.exists()


def test_the_report_embeds_the_leaders_changes_page_the_maps_drew(gpkg: Path, tmp_path: Path):
    """One drawing of the leader's changes map serves its map file and the report."""

    from tests.factories import X0, Y0
    from vollsmose_gis._util import slug

    shop = {"type": "add_poi", "geometry": f"POINT ({X0 + 60} {Y0 + 60})", "kind": "shop"}
    plans = [
        Scenario.from_dict({"name": name, "base": str(gpkg), "interventions": [shop]})
        for name in ("a", "b")
    ]
    out = tmp_path / "out"
    job = run_job(plans, out, modules=["lighting", "cctv"])  # the changes map needs both
    leader = str(job.result.scores.iloc[0]["scenario"])
    page = (out / "report.html").read_text(encoding="utf-8")
    from tests.test_report import embedded_maps

    frames = embedded_maps(page)
    drawn = (out / "maps" / f"{slug(leader)}_changes.html").read_text(encoding="utf-8")
    assert drawn in frames
