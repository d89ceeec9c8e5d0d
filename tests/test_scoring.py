"""Scoring: value functions, theme roll-up, robustness, cache, and the example scenarios."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.factories import X0, Y0, small_district
from vollsmose_gis import InputError
from vollsmose_gis.scenario import Scenario, load_scenario, load_scenarios
from vollsmose_gis.scoring import (
    clear_cache,
    load_profile,
    module_runs,
    robustness,
    save_score_outputs,
    score_scenarios,
    value_score,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def test_value_function_by_hand():
    assert value_score(1.6, worst=2.0, target=1.2) == pytest.approx(50.0)  # lower is better
    assert value_score(0.7, worst=0.3, target=1.0) == pytest.approx(400 / 7)
    assert value_score(5.0, worst=0.3, target=1.0) == 100.0  # clipped
    assert value_score(-1.0, worst=0.0, target=1.0) == 0.0
    assert math.isnan(value_score(math.nan, worst=0.0, target=1.0))


def test_theme_roll_up_by_hand(tmp_path):
    profile_text = textwrap.dedent("""\
        themes:
          connected district: {weight: 1}
          mixed housing: {weight: 3}
          mixed use and jobs: {weight: 0}
          safety and security: {weight: 0}
        indicators:
          reach_800m: {module: connectivity, theme: connected district, worst: 0, target: 1000, weight: 1}
          intersection_density_per_km2: {module: connectivity, theme: connected district, worst: 0.0, target: 100.0, weight: 3}
          almen_family_share: {module: mix, theme: mixed housing, worst: 1.0, target: 0.0, weight: 1}
    """)
    path = tmp_path / "profile.yaml"
    path.write_text(profile_text)
    clear_cache()
    result = score_scenarios(
        [Scenario(name="As is")],
        district=small_district(),
        profile=load_profile(path),
        modules=["connectivity", "mix"],
    )
    values = result.indicators.set_index("indicator")["value"]
    reach = value_score(values["reach_800m"], 0.0, 1000.0)
    density = value_score(values["intersection_density_per_km2"], 0.0, 100.0)
    # small_district: 300 m of street within 800 m of the home; 1 junction in 4 ha
    assert (reach, density) == pytest.approx((30.0, 25.0))
    housing = value_score(values["almen_family_share"], 1.0, 0.0)
    connected = (1 * reach + 3 * density) / 4
    r = result.results["As is"]
    assert r.theme_scores["connected district"] == pytest.approx(connected)
    assert r.theme_scores["mixed housing"] == pytest.approx(housing)
    assert r.overall == pytest.approx((1 * connected + 3 * housing) / 4)
    # small_district has no Danish settings: § 168 a does not apply, so the share is the
    # plain count, 40 social family dwellings of 40 (no erhvervsareal equivalents)
    assert values["almen_family_share"] == pytest.approx(40 / 40)


def test_robustness_is_deterministic_and_a_dominated_scenario_never_ranks_first():
    themes = pd.DataFrame(
        {
            "connected district": [80, 70, 60],
            "mixed housing": [40, 50, 35],
            "mixed use and jobs": [60, 55, 50],
            "safety and security": [30, 45, 20],
        },
        index=["A", "B", "C"],  # C is dominated by A
    )
    weights = dict.fromkeys(themes.columns, 0.25)
    one = robustness(themes, weights, samples=3000, seed=7)
    two = robustness(themes, weights, samples=3000, seed=7)
    assert one == two
    assert one["p_first"]["C"] == 0.0
    assert one["p_first"]["A"] + one["p_first"]["B"] == pytest.approx(1.0)
    assert sum(one["rank_distribution"]["C"]) == pytest.approx(1.0)
    assert one["rank_distribution"]["C"][2] == 1.0  # always last
    # at equal weights A (52.5) leads B (55.0)? no: B leads
    assert one["leader"] == "B"
    # sweeping connected district's weight up hands the lead to A at a weight we can check
    flip = one["flips"]["connected district"][0]
    assert flip["from"] == "B" and flip["to"] == "A"
    # A - B as a function of the swept weight s: 10 s + (1 - s)/3 * (-10 - 5 + ... )
    diff = lambda s: (80 - 70) * s + (1 - s) / 3 * ((40 - 50) + (60 - 55) + (30 - 45))  # noqa: E731
    assert diff(flip["weight"]) >= 0 > diff(flip["weight"] - 0.005)


def test_cache_avoids_recomputation(tmp_path):
    clear_cache()
    scenario = Scenario.from_dict(
        {
            "name": "A new shop",
            "interventions": [
                {"type": "add_poi", "geometry": f"POINT ({X0 + 60} {Y0 + 60})", "kind": "shop"}
            ],
        }
    )
    same = Scenario.from_dict({"name": "Nothing", "interventions": []})
    score_scenarios([scenario, same], district=small_district(), modules=["connectivity", "mix"])
    # baseline and "Nothing" share everything; the shop changes only what mix reads
    assert module_runs == {"connectivity": 1, "mix": 2}
    score_scenarios([scenario], district=small_district(), modules=["connectivity", "mix"])
    assert module_runs == {"connectivity": 1, "mix": 2}  # all cached now


def test_weights_that_sum_to_zero(tmp_path):
    path = tmp_path / "zero.yaml"
    path.write_text(
        "name: Zero\nweights: {connected district: 0, mixed housing: 0, mixed use and jobs: 0, safety and security: 0}\n"
    )
    with pytest.raises(InputError, match="sum to zero"):
        score_scenarios([load_scenario(path)], district=small_district(), modules=["mix"])
    bad_theme = tmp_path / "theme.yaml"
    bad_theme.write_text("name: Theme\nweights: {beauty: 1}\n")
    with pytest.raises(InputError, match="unknown theme"):
        score_scenarios([load_scenario(bad_theme)], district=small_district(), modules=["mix"])


def test_output_folder_is_never_clobbered(tmp_path):
    clear_cache()
    result = score_scenarios([Scenario(name="As is")], district=small_district(), modules=["mix"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="--overwrite"):
        save_score_outputs(result, out)
    written = save_score_outputs(result, out, overwrite=True)
    assert (out / "my-notes.txt").read_text() == "keep me"
    names = {p.name for p in written}
    assert {"scores.csv", "indicators.csv", "changes.csv", "manifest.json", "as-is.gpkg"} <= names
    scores = pd.read_csv(out / "scores.csv")  # plain CSV: header first
    assert list(scores["scenario"]) == ["As is"]
    assert (out / "scores.csv").read_text().startswith("scenario,rank,overall")
    assert (
        (out / "PROVENANCE.txt").read_text().startswith("Schematic model built from public figures")
    )


# ---------------------------------------------------------------- the example scenarios


@pytest.fixture(scope="module")
def examples():
    return {s.name: s for s in load_scenarios([SCENARIOS])}


def test_example_scenarios_load(examples):
    assert set(examples) == {
        "Baseline",
        "Safety package",
        "Open up",
        "Development plan 2030",
        "Combined",
    }
    assert examples["Development plan 2030"].parents == ("Open up",)
    assert examples["Combined"].parents == ("Open up", "Development plan 2030", "Safety package")


def test_development_plan_meets_the_40_percent_rule_and_baseline_does_not(examples):
    clear_cache()
    result = score_scenarios(
        [examples["Baseline"], examples["Development plan 2030"]], modules=["mix"]
    )
    table = result.indicators.set_index(["scenario", "indicator"])["value"]
    assert table["Baseline", "meets_40pct_rule"] == 0.0
    assert table["Baseline", "almen_family_share"] > 0.9
    assert table["Development plan 2030", "meets_40pct_rule"] == 1.0
    assert table["Development plan 2030", "almen_family_share"] <= 0.40
    log = result.results["Development plan 2030"].change_log.totals
    assert log["dwellings_demolished"] == 1027 and log["dwellings_built"] == 2000
    assert log["commercial_m2_built"] == pytest.approx(35_000, abs=1)


def test_open_up_improves_route_directness_and_boundary_crossings(examples):
    clear_cache()
    result = score_scenarios([examples["Baseline"], examples["Open up"]], modules=["connectivity"])
    table = result.indicators.set_index(["scenario", "indicator"])["value"]
    assert table["Open up", "route_directness"] < table["Baseline", "route_directness"]
    assert (
        table["Open up", "boundary_crossings_per_km"]
        > table["Baseline", "boundary_crossings_per_km"]
    )
    assert table["Open up", "drive_dead_end_share"] < table["Baseline", "drive_dead_end_share"]


# ---- regressions of earlier reviews (folded in from test_review_regressions.py)

import textwrap as _textwrap  # noqa: E402

import vollsmose_gis as _vg  # noqa: E402
import vollsmose_gis.scenario as _sc  # noqa: E402
import vollsmose_gis.scoring as _scoring  # noqa: E402
from tests.factories import X0 as _X0  # noqa: E402
from tests.factories import Y0 as _Y0  # noqa: E402
from tests.factories import small_district as _small_district  # noqa: E402

_SHOP = {"type": "add_poi", "geometry": f"POINT ({_X0 + 60} {_Y0 + 60})", "kind": "shop"}


def _write(path, text):
    path.write_text(_textwrap.dedent(text), encoding="utf-8")
    return path


def test_scenario_names_that_share_output_files_are_refused(tmp_path):
    _write(tmp_path / "a.yaml", "name: Open up\n")
    _write(tmp_path / "b.yaml", "name: open-up\n")
    with pytest.raises(_sc.ScenarioError, match="differ in more than case"):
        _sc.load_scenarios([tmp_path])
    result = _scoring.score_scenarios(
        [
            _sc.Scenario(name="Open up"),
            _sc.Scenario.from_dict({"name": "open-up", "interventions": [_SHOP]}),
        ],
        district=_small_district(),
        modules=["mix"],
    )
    with pytest.raises(_vg.InputError, match="would write the same files"):
        _scoring.save_score_outputs(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_weight_set_ranks_every_scenario(tmp_path):
    plain = _sc.Scenario(name="Plain")
    weighted = _sc.Scenario.from_dict(
        {
            "name": "Self-weighted",
            "weights": {
                "safety and security": 1,
                "connected district": 0,
                "mixed housing": 0,
                "mixed use and jobs": 0,
            },
        }
    )
    result = _scoring.score_scenarios(
        [plain, weighted], district=_small_district(), modules=["mix", "lighting"]
    )
    overall = result.scores.set_index("scenario")["overall"]
    assert overall["Plain"] == overall["Self-weighted"]  # same district, same weights
    assert result.profile.themes["mixed housing"] == 0
    other = _sc.Scenario.from_dict({"name": "Other", "weights": {"mixed housing": 1}})
    with pytest.raises(_vg.InputError, match="same theme weights"):
        _scoring.score_scenarios([weighted, other], district=_small_district(), modules=["mix"])
    with pytest.raises(_vg.InputError, match="unknown theme"):
        _scoring.score_scenarios(
            [_sc.Scenario.from_dict({"name": "X", "weights": {"beauty": 1}})],
            district=_small_district(),
            modules=["mix"],
        )


def test_a_scenario_on_another_base_is_scored_against_that_base(tmp_path):
    _vg.save_district(_small_district().replace(name="Elsewhere"), tmp_path / "base.gpkg")
    _write(tmp_path / "other.yaml", "name: Other base\nbase: base.gpkg\n")
    result = _scoring.score_scenarios(
        [_sc.load_scenario(tmp_path / "other.yaml")], district=_small_district(), modules=["mix"]
    )
    # the base of the set is its baseline: no invented deltas against another district
    assert result.baseline.district.name == "Elsewhere"
    assert result.indicators["delta"].fillna(0.0).eq(0.0).all()
    assert result.base_path == tmp_path / "base.gpkg"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("themes: {mixed housing: 1}\nindicators: {}\n", "themes.mixed housing must be a mapping"),
        (
            "themes: {mixed housing: {weight: 1}}\nindicators:\n  almen_family_share: {module: mix, theme: mixed housing, worst: '50%', target: 0.4, weight: 1}\n",
            "worst must be a number",
        ),
        (
            "themes: {mixed housing: {weight: 1}}\nindicators:\n  almen_family_share: {worst: 1.0, target: 0.4, weight: 1}\nrobustness:\n",
            None,
        ),
        ("themes: {mixed housing: {weight: 1}}\nindicators: {}\n", "every indicator weight is 0"),
    ],
)
def test_bad_profiles_are_clear_errors(tmp_path, text, message):
    path = _write(tmp_path / "p.yaml", text)
    if message is None:
        assert _scoring.load_profile(path).robustness["samples"] == 2000  # empty section: defaults
    else:
        with pytest.raises(_vg.InputError, match=message):
            _scoring.load_profile(path)
