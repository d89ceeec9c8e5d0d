"""Follow-up: criteria sets against hand calculations, lists over years, trends,
effects, suppression and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from vollsmose_gis._errors import InputError
from vollsmose_gis.followup import (
    assess,
    criteria_sets,
    effect,
    example_statistics,
    monitor,
    read_statistics,
    status,
    suppress,
    trends,
)


def table(rows: list[dict]) -> pd.DataFrame:
    return read_statistics(pd.DataFrame(rows))


def flag(value: object) -> bool | None:
    """A met/on-list cell as True, False or None (numpy booleans included)."""
    return None if value is None else bool(value)


def criterion(frame: pd.DataFrame, year: int, set_id: str, list_name: str, key: str) -> pd.Series:
    row = frame[
        (frame["year"] == year)
        & (frame["set"] == set_id)
        & (frame["list"] == list_name)
        & (frame["criterion"] == key)
    ]
    assert len(row) == 1, (year, set_id, list_name, key)
    return row.iloc[0]


def test_the_seed_vollsmose_2012_meets_all_three_criteria_of_2010() -> None:
    stats = table(
        [
            {
                "area_id": "vollsmose",
                "year": 2012,
                "non_western_share": 67.5,
                "outside_work_education_share": 53.7,
                "convicted_per_10000": 375,
            }
        ]
    )  # percentages are read as shares
    result = assess(stats)
    for key, value, threshold in (
        ("non_western", 0.675, 0.50),
        ("work", 0.537, 0.40),
        ("crime", 375.0, 270.0),
    ):
        row = criterion(result, 2012, "dk_2010", "ghettoomraade", key)
        assert row["value"] == pytest.approx(value)
        assert row["threshold"] == pytest.approx(threshold)
        assert flag(row["met"]) is True
    assert criterion(result, 2012, "dk_2010", "ghettoomraade", "work")["years_in_mean"] == 1
    assert flag(status(result).set_index("list").loc["ghettoomraade", "on_list"]) is True


def test_the_set_in_force_follows_the_year() -> None:
    ids = {s.id: (s.from_year, s.to_year) for s in criteria_sets()}
    assert ids == {
        "dk_2010": (2010, 2012),
        "dk_2013": (2013, 2017),
        "dk_2018": (2018, 2020),
        "dk_2021": (2021, None),
    }
    stats = table(
        [{"area_id": "a", "year": y, "non_western_share": 0.6} for y in (2012, 2016, 2019, 2023)]
    )
    result = assess(stats)
    assert dict(result.groupby("year")["set"].first()) == {
        2012: "dk_2010",
        2016: "dk_2013",
        2019: "dk_2018",
        2023: "dk_2021",
    }


@pytest.mark.parametrize(("work", "met"), [(0.40, False), (0.4001, True), (0.3999, False)])
def test_work_criterion_at_and_around_its_threshold(work: float, met: bool) -> None:
    # a two-year mean: both years the same value, so the mean is the value
    stats = table(
        [{"area_id": "a", "year": y, "outside_work_education_share": work} for y in (2022, 2023)]
    )
    row = criterion(assess(stats), 2023, "dk_2021", "udsat_boligomraade", "work")
    assert flag(row["met"]) is met
    assert row["years_in_mean"] == 2
    assert row["margin"] == pytest.approx(work - 0.40)


def test_two_year_mean_is_what_the_law_measures() -> None:
    stats = table(
        [
            {"area_id": "a", "year": 2022, "outside_work_education_share": 0.38},
            {"area_id": "a", "year": 2023, "outside_work_education_share": 0.43},
        ]
    )
    row = criterion(assess(stats), 2023, "dk_2021", "udsat_boligomraade", "work")
    assert row["value"] == pytest.approx((0.38 + 0.43) / 2)  # 0.405 > 0.40
    assert flag(row["met"]) is True
    # on its own, 2022's 0.38 does not meet it
    assert (
        flag(criterion(assess(stats), 2022, "dk_2021", "udsat_boligomraade", "work")["met"])
        is False
    )


@pytest.mark.parametrize(("rate", "met"), [(300.0, True), (299.9, False)])
def test_crime_criterion_is_three_times_the_national_mean(rate: float, met: bool) -> None:
    stats = table(
        [
            {
                "area_id": "a",
                "year": y,
                "convicted_per_10000": rate,
                "national_convicted_per_10000": 100,
            }
            for y in (2022, 2023)
        ]
    )
    row = criterion(assess(stats), 2023, "dk_2021", "udsat_boligomraade", "crime")
    assert row["threshold"] == pytest.approx(300.0)
    assert flag(row["met"]) is met
    prevention = criterion(assess(stats), 2023, "dk_2021", "forebyggelsesomraade", "crime")
    assert prevention["threshold"] == pytest.approx(200.0) and flag(prevention["met"]) is True


def _parallel(year: int, on: bool) -> dict:
    return {
        "area_id": "a",
        "year": year,
        "non_western_share": 0.6 if on else 0.4,
        "outside_work_education_share": 0.5,
        "basic_schooling_share": 0.7,
        "income_mean_dkk": 100,
        "income_region_mean_dkk": 300,
        "residents": 2000,
    }


def test_lists_of_2021_and_consecutive_years() -> None:
    stats = table([_parallel(y, True) for y in range(2021, 2026)])
    s = status(assess(stats)).set_index(["year", "list"])
    assert s.loc[(2025, "udsat_boligomraade"), "on_list"] is True
    assert s.loc[(2025, "parallelsamfund"), "consecutive_years"] == 5
    assert s.loc[(2024, "omdannelsesomraade"), "on_list"] is False  # 4 years
    assert s.loc[(2025, "omdannelsesomraade"), "on_list"] is True  # 5 years
    # non-Western 0.6 > 0.30 and 4 of 4 counted criteria: also a forebyggelsesområde
    assert s.loc[(2025, "forebyggelsesomraade"), "on_list"] is True


def test_a_break_resets_the_run_and_off_list_says_what_it_takes() -> None:
    rows = [_parallel(2021, True), _parallel(2022, False), _parallel(2023, True)]
    result = assess(table(rows))
    s = status(result).set_index(["year", "list"])
    assert s.loc[(2023, "parallelsamfund"), "consecutive_years"] == 1
    text = s.loc[(2023, "parallelsamfund"), "off_list_if"]
    assert "Non-Western" in text and "≤ 0.5" in text
    udsat = s.loc[(2023, "udsat_boligomraade"), "off_list_if"]
    # work, education and income met (crime has no data), 2 needed: lose 2 of the 3
    assert udsat.startswith("off the list if 2 of:")
    assert udsat.index("work") < udsat.index("income")  # nearest to its threshold first


def test_fewer_than_1000_residents_is_never_on_a_list() -> None:
    row = _parallel(2023, True) | {"residents": 900}
    s = status(assess(table([row]))).set_index("list")
    assert s.loc["udsat_boligomraade", "on_list"] is False
    assert "fewer than 1000" in s.loc["udsat_boligomraade", "off_list_if"]


def test_missing_data_is_missing_not_zero() -> None:
    stats = table([{"area_id": "a", "year": 2023, "non_western_share": 0.6}])
    result = assess(stats)
    row = criterion(result, 2023, "dk_2021", "udsat_boligomraade", "work")
    assert row["met"] is None and math.isnan(row["value"])
    assert status(result).set_index("list").loc["udsat_boligomraade", "on_list"] is None


def test_difference_in_differences_by_hand() -> None:
    rows = []
    for year, treated, control in ((2013, 10, 10), (2014, 12, 10), (2015, 6, 9), (2016, 8, 9)):
        rows += [
            {"area_id": "t", "year": year, "incidents": treated},
            {"area_id": "c", "year": year, "incidents": control},
        ]
    result = effect(table(rows), area="t", column="incidents", year=2015, comparison="c")
    # (mean after - mean before) of t minus that of c: (7 - 11) - (9 - 10) = -3
    assert result["did"] == pytest.approx(-3.0)
    assert result["change"] == pytest.approx(-4.0)
    assert result["did_low"] < -3.0 < result["did_high"]
    assert "not proof" in result["caveat"]


def test_trend_slope_and_target_standing_by_hand() -> None:
    rows = [
        {"area_id": "a", "year": y, "outside_work_education_share": 0.50 - 0.02 * (y - 2020)}
        for y in range(2020, 2025)
    ]
    targets = [
        {
            "id": "w",
            "kind": "value",
            "column": "outside_work_education_share",
            "op": "<=",
            "value": 0.40,
            "by": 2026,
        }
    ]
    out = trends(table(rows), columns=["outside_work_education_share"], targets=targets)
    row = out[out["target_id"] == "w"].iloc[0]
    assert row["slope_per_year"] == pytest.approx(-0.02)
    assert row["projected"] == pytest.approx(0.38)
    assert row["standing"] == "on track"
    far = [{**targets[0], "by": 2040}]
    row = trends(table(rows), columns=["outside_work_education_share"], targets=far)
    assert row[row["target_id"] == "w"].iloc[0]["standing"].startswith("undetermined")


def test_small_counts_are_suppressed_in_outputs() -> None:
    shown = suppress(table([{"area_id": "a", "year": 2020, "incidents": 3, "residents": 1200}]))
    assert shown.loc[0, "incidents"] == "<5"
    assert shown.loc[0, "residents"] == 1200


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"area_id": "a", "year": 2020, "cpr": "010101-1234"}], "person data"),
        ([{"area_id": "a", "year": 2020}, {"area_id": "a", "year": 2020}], "more than one row"),
        (
            [
                {"area_id": "a", "year": 2020, "non_western_share": 0.5},
                {"area_id": "a", "year": 2021, "non_western_share": 55},
            ],
            "mixes shares",
        ),
        ([{"area_id": "a", "year": 2020, "incidents": -1}], "negative"),
        ([{"area_id": "a", "year": 2020, "non_western_share": "lots"}], "not a number"),
        ([{"year": 2020}], "missing column 'area_id'"),
    ],
)
def test_bad_statistics_are_refused_with_row_and_column(rows: list[dict], message: str) -> None:
    with pytest.raises(InputError, match=message):
        table(rows)


def test_unknown_criteria_set_is_refused() -> None:
    with pytest.raises(InputError, match="unknown criteria set"):
        assess(table([{"area_id": "a", "year": 2020}]), sets=["dk_1999"])


def test_the_example_series_is_labelled_illustrative(tmp_path: Path) -> None:
    stats = example_statistics()
    real = stats[~stats["illustrative"].astype(bool)]
    assert list(real["year"]) == [2012] and list(real["area_id"]) == ["vollsmose"]
    result = monitor(stats)
    assert result.illustrative
    long = result.long()
    assert set(long["illustrative"]) == {True}


def test_areas_whose_names_give_the_same_file_name_keep_their_own_charts(
    tmp_path: Path,
) -> None:
    import base64

    from vollsmose_gis.followup_report import write_followup

    stats = example_statistics()
    assert sorted(stats["area_id"].unique()) == ["comparison-estate", "vollsmose"]
    # "a-b" and "a_b" both slug to "a-b"; the two areas have different series
    stats["area_id"] = stats["area_id"].map({"comparison-estate": "a-b", "vollsmose": "a_b"})
    written = write_followup(monitor(stats), tmp_path / "out")
    charts = sorted(p.name for p in written if p.suffix == ".png")
    assert charts == ["criteria_a-b-2.png", "criteria_a-b.png"]
    first, second = (tmp_path / "out" / name for name in charts)
    assert first.read_bytes() != second.read_bytes()
    html = (tmp_path / "out" / "followup.html").read_text(encoding="utf-8")
    for chart in (first, second):
        assert base64.b64encode(chart.read_bytes()).decode("ascii") in html


def test_monitor_cli_writes_the_committee_outputs(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tests.browser import browser, png_colours
    from vollsmose_gis.cli import app

    out = tmp_path / "followup"
    result = CliRunner().invoke(
        app,
        [
            "monitor",
            "-o",
            str(out),
            "--lang",
            "da",
            "--json",
            "--effect",
            "vollsmose:incidents:2015:comparison-estate",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["illustrative"] is True
    assert payload["effects"][0]["did"] == pytest.approx(
        effect(
            example_statistics(),
            area="vollsmose",
            column="incidents",
            year=2015,
            comparison="comparison-estate",
        )["did"]
    )
    long = pd.read_csv(out / "monitor.csv")
    assert {"area_id", "year", "indicator", "value", "threshold", "status"} <= set(long.columns)
    html = (out / "followup.html").read_text(encoding="utf-8")
    assert "ILLUSTRATIVE" in html and "Opfølgning" in html
    with browser(1280, 1600) as chrome:
        page = chrome.open(out / "followup.html")
    assert page.errors == [] and page.network_requests == []
    assert png_colours(page.screenshot_png) > 20


def test_monitor_cli_refuses_bad_statistics_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vollsmose_gis.cli import app

    bad = tmp_path / "stats.csv"
    bad.write_text("area_id,year,cpr\na,2020,0101011234\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["monitor", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "person data" in result.output
    assert not (tmp_path / "out").exists()


def test_snapshots_become_time_series() -> None:
    from vollsmose_gis.followup import physical_series
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    lit = d.streets.assign(lit=True)
    series = physical_series({2020: d, 2024: d.replace(streets=lit)}, modules=["mix"])
    assert set(series["year"]) == {2020, 2024}
    share = series[series["indicator"] == "almen_family_share"].set_index("year")["value"]
    assert share[2020] == pytest.approx(share[2024])  # the streets do not change tenure


def test_incidents_layer_fills_the_statistics_by_year_without_overwriting() -> None:
    """Issue 19: incidents per 1,000 residents by year feed the follow-up series."""
    from shapely.geometry import Point

    from tests.factories import X0, Y0, frame, small_district
    from vollsmose_gis.followup import incident_series

    rows = [
        {"incident_id": f"i{k}", "date": date, "kind": "vandalism", "weight": 1.0,
         "count": count, "geometry": Point(X0 + 50 + k, Y0 + 50)}
        for k, (date, count) in enumerate(
            [("2022-03-01", 1), ("2022-11-30", 2), ("2023-06-15", 4), ("2024-01-02", 1)]
        )
    ]  # fmt: skip
    d = small_district(incidents=frame(rows))
    series = incident_series(d, area_id="estate", residents=2000.0)
    assert series[["year", "incidents"]].values.tolist() == [[2022, 3.0], [2023, 4.0], [2024, 1.0]]
    # by hand: 3 / 2,000 x 1,000 = 1.5 per 1,000 residents
    assert series["incidents_per_1000_residents"].tolist() == pytest.approx([1.5, 2.0, 0.5])
    assert not series["illustrative"].any()

    stats = table(
        [
            {"area_id": "estate", "year": 2022, "residents": 1500, "incidents": 10},
            {"area_id": "estate", "year": 2023, "residents": 1600},
            {"area_id": "estate", "year": 2024},
            {"area_id": "other", "year": 2023, "residents": 900},
        ]
    )
    # the statistics' own count gives the rate (10 / 1,500 x 1,000)
    assert stats["incidents_per_1000_residents"].iloc[0] == pytest.approx(6.666667, abs=1e-6)
    merged = monitor(stats, incidents=series).statistics.set_index(["area_id", "year"])
    # 2022: the statistics' 10 is kept, never the layer's 3
    assert merged.loc[("estate", 2022), "incidents"] == 10
    assert merged.loc[("estate", 2022), "incidents_per_1000_residents"] == pytest.approx(10 / 1.5)
    # 2023: the layer's 4, per the statistics' residents: 4 / 1,600 x 1,000 = 2.5
    assert merged.loc[("estate", 2023), "incidents"] == 4
    assert merged.loc[("estate", 2023), "incidents_per_1000_residents"] == pytest.approx(2.5)
    # 2024: no residents in the statistics -> the layer's own rate (per 2,000)
    assert merged.loc[("estate", 2024), "incidents_per_1000_residents"] == pytest.approx(0.5)
    # another area is untouched
    assert math.isnan(merged.loc[("other", 2023), "incidents"])


def test_illustrative_incidents_make_the_filled_rows_illustrative() -> None:
    from vollsmose_gis.followup import incident_series
    from vollsmose_gis.sources.vollsmose import default_district

    series = incident_series(default_district(), area_id="vollsmose")
    assert series["illustrative"].all() and len(series) >= 3
    stats = table([{"area_id": "vollsmose", "year": int(y)} for y in series["year"]])
    result = monitor(stats, incidents=series)
    assert result.illustrative
    rates = result.trends.set_index("column").loc["incidents_per_1000_residents"]
    assert rates["n_years"] == len(series)


def test_monitor_cli_takes_incidents_from_a_district(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from vollsmose_gis.cli import app
    from vollsmose_gis.followup import incident_series
    from vollsmose_gis.io import save_district
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    gpkg = tmp_path / "d.gpkg"
    save_district(d, gpkg)
    series = incident_series(d, area_id="vollsmose")
    stats = tmp_path / "stats.csv"
    pd.DataFrame({"area_id": "vollsmose", "year": series["year"], "residents": 8000}).to_csv(
        stats, index=False
    )
    out = tmp_path / "out"
    args = ["monitor", str(stats), "--incidents-from", str(gpkg), "-o", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    long = pd.read_csv(out / "monitor.csv")
    rates = long[long["indicator"] == "incidents_per_1000_residents"].set_index("year")["value"]
    expected = series.set_index("year")["incidents"] / 8000 * 1000
    assert rates.astype(float).to_dict() == pytest.approx(expected.to_dict())
    assert json.loads(result.stdout)["illustrative"] is True
    # an area the statistics do not hold: exit 2, nothing written
    bad = CliRunner().invoke(
        app, [*args[:-3], "--area", "nowhere", "-o", str(tmp_path / "bad"), "--json"]
    )
    assert bad.exit_code == 2 and "nowhere" in bad.output
    assert not (tmp_path / "bad").exists()
