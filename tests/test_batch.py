"""Many areas on Dask (issue 21): a real LocalCluster against the sequential run."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from vollsmose_gis import analysis, batch
from vollsmose_gis._errors import InputError
from vollsmose_gis.batch import areas as batch_areas
from vollsmose_gis.batch import connect, ensemble, read_areas, run_batch
from vollsmose_gis.sources.osm import district_from_osm

from .conftest import REPO

distributed = pytest.importorskip("distributed")

MODULES = ["connectivity", "mix"]
CONTEXT_M = 200.0
# the extent of aguascalientes.osm.pbf (its header box), degrees
EXTENT = (-102.2799068, 21.8625789, -102.2634632, 21.8752057)


def tiles(nx: int, ny: int) -> gpd.GeoDataFrame:
    """The extract's extent cut into nx × ny touching tiles, in UTM 13N (metres)."""
    west, south, east, north = EXTENT
    dx, dy = (east - west) / nx, (north - south) / ny
    rows = [
        (f"t{i}{j}", f"Tile {i}-{j}", box(west + i * dx, south + j * dy,
                                           west + (i + 1) * dx, south + (j + 1) * dy))
        for i in range(nx)
        for j in range(ny)
    ]  # fmt: skip
    frame = gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )
    return frame.to_crs("EPSG:32613")


@pytest.fixture(scope="module")
def pbf(osm_dir: Path) -> Path:
    return osm_dir / "aguascalientes.osm.pbf"


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    return tiles(3, 2)


@pytest.fixture(scope="module")
def sequential(pbf: Path, areas: gpd.GeoDataFrame, tmp_path_factory) -> batch.BatchResult:
    out = tmp_path_factory.mktemp("seq") / "out"
    return run_batch(areas, pbf, out=out, modules=MODULES, workers=0, context_m=CONTEXT_M)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=40,
    )  # fmt: skip
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


def values(result: batch.BatchResult) -> pd.DataFrame:
    return result.long.sort_values(["area", "module", "indicator"]).reset_index(drop=True)


def test_sequential_run_writes_every_output(sequential: batch.BatchResult) -> None:
    out = sequential.out
    assert sequential.failed == []
    assert len(sequential.computed) == 6
    assert sorted(p.name for p in (out / "areas").glob("*.gpkg")) == [
        "t00.gpkg", "t01.gpkg", "t10.gpkg", "t11.gpkg", "t20.gpkg", "t21.gpkg",
    ]  # fmt: skip
    long = pd.read_csv(out / "areas.csv")
    assert list(long.columns[:6]) == ["area", "name", "module", "indicator", "value", "unit"]
    assert set(long["module"]) == set(MODULES)
    # every area has every indicator of both modules, once
    per_area = long.groupby("area")["indicator"].nunique()
    n_indicators = len(analysis.run("mix", _one_district(out)).indicators) + len(
        analysis.run("connectivity", _one_district(out)).indicators
    )
    assert (per_area == n_indicators).all()
    wide = pd.read_csv(out / "areas_wide.csv")
    assert list(wide["area"]) == ["t00", "t01", "t10", "t11", "t20", "t21"]
    assert wide.loc[0, "intersection_density_per_km2"] == pytest.approx(
        long[(long["area"] == "t00") & (long["indicator"] == "intersection_density_per_km2")][
            "value"
        ].iloc[0]
    )
    overview = (out / "overview.html").read_text(encoding="utf-8")
    assert "Tile 0-0" in overview and "tile.openstreetmap" not in overview
    assert "<script src=" not in overview and "stylesheet" not in overview  # offline
    assert "intersection_density_per_km2" in overview  # the legend names the indicator
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("<tr>") == 7  # header + six ranked areas
    ranking = pd.read_csv(out / "ranking.csv")
    assert list(ranking["rank"]) == [1, 2, 3, 4, 5, 6]
    assert ranking["overall"].is_monotonic_decreasing


def _one_district(out: Path):
    from vollsmose_gis.io import load_district

    return load_district(out / "areas" / "t00.gpkg")


def test_small_file_import_equals_import_from_whole_extract(
    pbf: Path, areas: gpd.GeoDataFrame, sequential: batch.BatchResult
) -> None:
    area = areas.iloc[[3]]
    district = district_from_osm(
        pbf, boundary=area.geometry, name="Tile 1-1", crs="auto", context_m=CONTEXT_M
    )
    expected = {
        (m, k): float(v.value)
        for m in MODULES
        for k, v in analysis.run(m, district).indicators.items()
    }
    got = {(r["module"], r["indicator"]): r["value"] for r in sequential.outcomes[3].rows}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), key
    # the area's GeoPackage holds the same district layers
    saved = gpd.read_file(sequential.out / "areas" / "t11.gpkg", layer="streets")
    assert len(saved) == len(district.streets)


def test_local_cluster_equals_sequential(
    pbf: Path, areas: gpd.GeoDataFrame, sequential: batch.BatchResult, client, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    result = run_batch(
        areas, pbf, out=tmp_path / "out", modules=MODULES, client=client,
        context_m=CONTEXT_M, progress=lambda done, total, _m: seen.append((done, total)),
    )  # fmt: skip
    assert result.failed == []
    pd.testing.assert_frame_equal(values(result), values(sequential))
    pd.testing.assert_frame_equal(result.wide, sequential.wide)
    assert seen[-1] == (6, 6) and len(seen) == 7  # the dashboard's link, then six areas
    assert result.dashboard and result.dashboard.startswith("http")
    # both workers took areas
    assert len({o.worker for o in result.outcomes}) == 2
    assert all(o.peak_rss_mb > 50 for o in result.outcomes)
    assert pd.read_csv(tmp_path / "out" / "areas.csv").equals(
        pd.read_csv(sequential.out / "areas.csv")
    )


def test_rerun_skips_unchanged_areas(
    pbf: Path, areas: gpd.GeoDataFrame, sequential: batch.BatchResult, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    out = tmp_path / "out"
    first = run_batch(areas.iloc[:2], pbf, out=out, modules=MODULES, workers=0,
                      context_m=CONTEXT_M)  # fmt: skip
    assert first.computed == ["t00", "t01"]
    stamp = (out / "areas" / "t00.gpkg").stat().st_mtime_ns

    def no_extraction(*_a, **_k):
        raise AssertionError("nothing should be extracted on an unchanged rerun")

    monkeypatch.setattr(batch_areas, "extract_areas", no_extraction)
    again = run_batch(areas.iloc[:2], pbf, out=out, modules=MODULES, workers=0,
                      context_m=CONTEXT_M)  # fmt: skip
    assert again.cached == ["t00", "t01"] and again.computed == []
    pd.testing.assert_frame_equal(again.long, first.long)
    assert (out / "areas" / "t00.gpkg").stat().st_mtime_ns == stamp
    monkeypatch.undo()
    # one area changed: only it is computed again
    changed = areas.iloc[:2].copy()
    changed.loc[changed.index[1], "geometry"] = changed.geometry.iloc[1].buffer(-20)
    third = run_batch(changed, pbf, out=out, modules=MODULES, workers=0, context_m=CONTEXT_M)
    assert third.cached == ["t00"] and third.computed == ["t01"]
    # another parameter: everything again
    fourth = run_batch(changed, pbf, out=out, modules=["connectivity"], workers=0,
                       context_m=CONTEXT_M)  # fmt: skip
    assert fourth.computed == ["t00", "t01"]
    assert not list(out.glob("**/*.tmp*"))


def test_failing_areas_give_error_rows_and_the_others_finish(
    pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    good = areas.iloc[[0]]
    x0, y0, *_ = good.total_bounds
    bowtie = Polygon([(x0, y0), (x0 + 100, y0 + 100), (x0 + 100, y0), (x0, y0 + 100)])
    far = box(x0 + 50_000, y0 + 50_000, x0 + 50_500, y0 + 50_500)  # 70 km away
    frame = gpd.GeoDataFrame(
        {"id": ["t00", "bad", "far"], "name": ["Tile", "Bow tie", "Far away"]},
        geometry=[good.geometry.iloc[0], bowtie, far],
        crs=areas.crs,
    )
    result = run_batch(frame, pbf, out=tmp_path / "out", modules=["connectivity"], workers=0,
                       context_m=CONTEXT_M)  # fmt: skip
    assert result.computed == ["t00"] and result.failed == ["bad", "far"]
    reasons = {o.area: o.reason for o in result.outcomes}
    assert "invalid" in reasons["bad"] and "Self-intersection" in reasons["bad"]
    assert "outside the data of aguascalientes.osm.pbf" in reasons["far"]
    long = pd.read_csv(tmp_path / "out" / "areas.csv")
    errors = long[long["status"] == "error"]
    assert list(errors["area"]) == ["bad", "far"]
    assert sorted(p.name for p in (tmp_path / "out" / "areas").iterdir()) == ["t00.gpkg"]


def test_area_without_streets_is_an_error_row(tmp_path: Path) -> None:
    # a real-format OSM file holding one building and no street
    osm = tmp_path / "nostreets.osm"
    nodes = [(1, 10.0, 55.0), (2, 10.0005, 55.0), (3, 10.0005, 55.0005), (4, 10.0, 55.0005)]
    osm.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6' generator='test'>\n"
        + "".join(
            f"<node id='{i}' version='1' timestamp='2024-01-01T00:00:00Z' lat='{lat}' "
            f"lon='{lon}'/>\n"
            for i, lon, lat in nodes
        )
        + "<way id='10' version='1' timestamp='2024-01-01T00:00:00Z'>"
        + "".join(f"<nd ref='{i}'/>" for i in (1, 2, 3, 4, 1))
        + "<tag k='building' v='apartments'/></way>\n</osm>\n",
        encoding="utf-8",
    )
    frame = gpd.GeoDataFrame(
        {"id": ["b"], "name": ["Block"]},
        geometry=[box(9.9995, 54.9995, 10.001, 55.001)],
        crs="EPSG:4326",
    )
    result = run_batch(frame, osm, out=tmp_path / "out", modules=["connectivity"], workers=0,
                       context_m=50)  # fmt: skip
    assert result.failed == ["b"]
    assert "no streets inside the area in nostreets.osm" in result.outcomes[0].reason


def test_bad_area_sets_are_refused_before_anything_is_written(
    pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    duplicate = areas.iloc[:2].assign(id=["x", "x"])
    with pytest.raises(InputError, match=r"duplicate area id\(s\) \['x'\]"):
        run_batch(duplicate, pbf, out=out, modules=MODULES, workers=0)
    overlapping = areas.iloc[:2].copy()
    overlapping.loc[overlapping.index[1], "geometry"] = overlapping.geometry.iloc[1].buffer(50)
    with pytest.raises(InputError, match="overlapping areas: t00 and t01"):
        run_batch(overlapping, pbf, out=out, modules=MODULES, workers=0)
    with pytest.raises(InputError, match="has no CRS"):
        read_areas(areas.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="no column 'id'"):
        read_areas(areas.rename(columns={"id": "code"}))
    with pytest.raises(InputError, match="same file name"):
        read_areas(areas.iloc[:2].assign(id=["a b", "a-b"]))
    with pytest.raises(InputError, match=r"OSM extract .*missing\.osm\.pbf: no such file"):
        run_batch(areas, tmp_path / "missing.osm.pbf", out=out, workers=0)
    with pytest.raises(InputError, match="unknown module 'nope'"):
        run_batch(areas, pbf, out=out, modules=["nope"], workers=0)
    assert not out.exists()


def test_unreachable_scheduler_times_out_with_a_clear_error(
    pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"scheduler tcp://127.0.0.1:9 not reachable within 2 s"):
        connect("tcp://127.0.0.1:9", timeout_s=2)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="not reachable"):
        run_batch(areas, pbf, out=out, modules=MODULES, client="tcp://127.0.0.1:9",
                  connect_timeout_s=2)  # fmt: skip
    assert not out.exists()


def test_cli_batch(pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from vollsmose_gis.cli import handle_errors
    from vollsmose_gis.cli_batch import batch as batch_command

    app = typer.Typer()
    app.command("batch")(handle_errors(batch_command))
    app.command("noop")(lambda: None)  # two commands: "batch" is named on the line
    gpkg = tmp_path / "areas.gpkg"
    areas.iloc[:2].to_file(gpkg, driver="GPKG")
    runner = CliRunner()
    args = ["batch", str(gpkg), "--osm", str(pbf), "-o", str(tmp_path / "out"),
            "--modules", "connectivity", "--workers", "0", "--context-m", "200"]  # fmt: skip
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["computed"] == ["t00", "t01"] and payload["failed"] == []
    assert [r["rank"] for r in payload["ranking"]] == [1, 2]
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 computed, 2 unchanged (skipped), 0 failed" in again.stdout
    bad = runner.invoke(app, [*args[:-4], "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"])
    assert bad.exit_code == 2
    assert "not reachable within 1 s" in bad.output


def test_uncertain_parameters_are_read_from_the_standards_files() -> None:
    params = {(p.module, p.path): p for p in ensemble.uncertain_parameters()}
    accel = params[("calming", "acceleration_mps2")]
    assert (accel.low, accel.high, accel.wired) == (0.5, 1.0, "params")
    assert params[("mix", "rule_168a.whole_units")].wired == "parameter:whole_units"
    assert params[("mix", "rule_168a.whole_units")].values == (True, False)
    maintenance = params[("lighting", "planner.lamp.maintenance_factor")]
    assert (maintenance.wired, maintenance.file, maintenance.reason) == ("standards", "en13201", "")
    draws = ensemble.draw_parameters(50, seed=3, modules=["calming", "mix"])
    a = [d["calming"]["params"]["acceleration_mps2"] for d in draws]
    hump = [d["calming"]["params"]["default_design_speed_kmh"]["hump"] for d in draws]
    assert 0.5 <= min(a) < max(a) <= 1.0 and 20.0 <= min(hump) < max(hump) <= 30.0
    assert {d["mix"]["whole_units"] for d in draws} == {True, False}
    assert ensemble.draw_parameters(50, seed=3, modules=["calming", "mix"]) == draws
    assert ensemble.draw_parameters(5, seed=4, modules=["calming"]) != draws[:5]
    with pytest.raises(InputError, match="at least 1 draw"):
        ensemble.draw_parameters(0, seed=1)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """Two cheap scenarios on the embedded Vollsmose model: speed limits only."""
    from vollsmose_gis.scenario import load_scenarios

    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "granparken.yaml").write_text(
        "name: Granparken 30\ninterventions:\n  - type: set_speed_limit\n"
        "    streets: {names: [Granparken]}\n    maxspeed_kmh: 30\n",
        encoding="utf-8",
    )
    (folder / "estate.yaml").write_text(
        "name: Estate 20\ninterventions:\n  - type: set_speed_limit\n"
        "    streets: {names: [Birkeparken, Granparken, Lærkeparken]}\n    maxspeed_kmh: 20\n",
        encoding="utf-8",
    )
    return load_scenarios([folder])


def test_ensemble_is_seeded_and_distributed_equals_sequential(scenarios, client) -> None:
    first = ensemble.score_ensemble(scenarios, 3, seed=11, modules=["calming"])
    assert first["draws"] == 3 and len(first["table"]) == 6
    summary = first["scenarios"]
    assert set(summary) == {"Granparken 30", "Estate 20"}
    assert sum(s["p_first"] for s in summary.values()) == pytest.approx(1.0)
    for name, s in summary.items():
        overall = [r["overall"] for r in first["table"] if r["scenario"] == name]
        ranks = [r["rank"] for r in first["table"] if r["scenario"] == name]
        assert len(set(overall)) == 3  # every draw changes the calming model
        assert min(overall) <= s["overall_low"] <= s["overall_median"] <= s["overall_high"]
        assert s["overall_high"] <= max(overall)
        assert s["p_first"] == pytest.approx(ranks.count(1) / 3)
        assert min(ranks) <= s["rank_low"] <= s["rank_high"] <= max(ranks)
    assert {w["module"] for w in first["wired"]} == {"calming"}
    # not drawn: the one entry no model reads, and those of modules this run leaves out
    not_run = {w["module"] for w in first["not_wired"] if "not run in this" in w["reason"]}
    assert not_run == {"lighting", "cctv", "mix", "safety"}
    assert [w["parameter"] for w in first["not_wired"] if "not run in this" not in w["reason"]] == [
        "mean_dwelling_size_m2"
    ]
    distributed_run = ensemble.score_ensemble(
        scenarios, 3, seed=11, modules=["calming"], client=client
    )
    assert distributed_run == first  # same seed, other engine: the same result
    table = ensemble.ensemble_frame(first)
    assert list(table["scenario"]) == list(summary)
    assert table["p_first"].sum() == pytest.approx(1.0)
    robustness = ensemble.add_to_robustness(
        {"by_source": {"p_first": {"all": {}}, "rank_interval": {"all": {}}}}, first
    )
    assert robustness["by_source"]["p_first"]["model parameters"] == {
        name: s["p_first"] for name, s in summary.items()
    }
    assert set(robustness["by_source"]["p_first"]) == {"all", "model parameters"}
    assert robustness["ensemble"]["draws"] == 3
    row = table.iloc[0]
    name = row["scenario"]
    assert row["rank_interval"] == (
        f"{summary[name]['rank_low']:.0f}-{summary[name]['rank_high']:.0f}"
    )


def test_killed_worker_areas_are_retried(
    pbf: Path, areas: gpd.GeoDataFrame, sequential: batch.BatchResult, client, tmp_path: Path
) -> None:
    """Kill one worker process after the first area finishes; every area still completes."""
    killed: list[str] = []

    def kill_one(done: int, _total: int, _message: str) -> None:
        if done == 1 and not killed:
            victim = sorted(client.scheduler_info()["workers"])[0]
            killed.append(victim)
            with contextlib.suppress(Exception):  # the worker dies under the call
                client.run(os._exit, 1, workers=[victim], wait=False)

    result = run_batch(
        areas, pbf, out=tmp_path / "out", modules=MODULES, client=client,
        context_m=CONTEXT_M, progress=kill_one,
    )  # fmt: skip
    assert killed
    assert result.failed == []
    pd.testing.assert_frame_equal(values(result), values(sequential))
    assert len(list((tmp_path / "out" / "areas").glob("*.gpkg"))) == 6


def test_statistics_feed_each_area_its_own_follow_up(
    pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    from vollsmose_gis.followup import example_statistics

    stats = example_statistics()
    stats = stats[stats["area_id"] == "vollsmose"].assign(area_id="t00")
    csv = tmp_path / "stats.csv"
    stats.to_csv(csv, index=False)
    result = run_batch(areas.iloc[:2], pbf, out=tmp_path / "out", modules=["mix"], stats=csv,
                       workers=0, context_m=CONTEXT_M)  # fmt: skip
    follow = result.long[result.long["module"] == "followup"].set_index(["area", "indicator"])
    # Vollsmose's statistics: on the lists in its latest year; t01 has no rows
    expected = analysis.run("followup", _one_district(result.out), statistics=stats)
    assert follow.loc[("t00", "area_lists_count"), "value"] == float(
        expected.indicators["area_lists_count"].value
    )
    assert math.isnan(follow.loc[("t01", "area_lists_count"), "value"])
    with pytest.raises(InputError, match="no area_id matches an area id"):
        run_batch(areas.iloc[:2], pbf, out=tmp_path / "out2", stats=example_statistics(),
                  workers=0)  # fmt: skip


def test_scenarios_are_scored_on_every_area(
    pbf: Path, areas: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    from vollsmose_gis.scenario import load_scenarios

    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name, speed in (("All 30", 30), ("All 20", 20)):
        (folder / f"all-{speed}.yaml").write_text(
            f"name: {name}\ninterventions:\n  - type: set_speed_limit\n"
            f"    streets: {{match: '*'}}\n    maxspeed_kmh: {speed}\n",
            encoding="utf-8",
        )
    result = run_batch(areas.iloc[:2], pbf, out=tmp_path / "out", modules=["calming"],
                       scenarios=folder, workers=0, context_m=CONTEXT_M)  # fmt: skip
    table = pd.read_csv(tmp_path / "out" / "scenarios.csv")
    assert len(table) == 4 and table["error"].isna().all()
    for _area, part in table.groupby("area"):
        assert sorted(part["rank"]) == [1, 2]
        assert part["overall"].between(0, 100).all()
    # a Vollsmose scenario does not apply to these areas: its error, the area still ok
    vollsmose = load_scenarios([REPO / "scenarios" / "safety-package.yaml"])
    other = run_batch(areas.iloc[:1], pbf, out=tmp_path / "out2", modules=["calming"],
                      scenarios=vollsmose, workers=0, context_m=CONTEXT_M)  # fmt: skip
    assert other.failed == [] and other.outcomes[0].rows
    assert other.outcomes[0].scenarios[0]["scenario"] == ""
    assert other.outcomes[0].scenarios[0]["error"]  # why the set could not be scored
    assert result.outcomes[0].scenarios[0]["error"] == ""


def test_interrupted_run_keeps_finished_areas_and_resumes(
    pbf: Path, areas: gpd.GeoDataFrame, sequential: batch.BatchResult, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    def interrupt(done: int, _total: int, _message: str) -> None:
        if done == 2:
            raise KeyboardInterrupt  # Ctrl-C after the second area

    with pytest.raises(KeyboardInterrupt):
        run_batch(areas.iloc[:4], pbf, out=out, modules=MODULES, workers=0,
                  context_m=CONTEXT_M, progress=interrupt)  # fmt: skip
    assert sorted(p.name for p in (out / "areas").iterdir()) == ["t00.gpkg", "t01.gpkg"]
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    assert not (out / ".batch-work").exists()
    partial = pd.read_csv(out / "areas.csv")
    assert sorted(set(partial["area"])) == ["t00", "t01"]
    resumed = run_batch(areas.iloc[:4], pbf, out=out, modules=MODULES, workers=0,
                        context_m=CONTEXT_M)  # fmt: skip
    assert resumed.cached == ["t00", "t01"] and resumed.computed == ["t10", "t11"]
    expected = values(sequential)
    expected = expected[expected["area"].isin(["t00", "t01", "t10", "t11"])]
    pd.testing.assert_frame_equal(values(resumed), expected.reset_index(drop=True))
