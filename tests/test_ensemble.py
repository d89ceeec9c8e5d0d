"""Standards overrides (one mechanism) and ensemble draws reaching every module (issue 21 §2).

Each module test runs the real module twice on a small district under two values of one
uncertain parameter and checks the output moves the way the model says it must.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from tests.factories import X0, Y0, frame, small_district
from vollsmose_gis import analysis, standards
from vollsmose_gis._errors import InputError
from vollsmose_gis.batch import ensemble
from vollsmose_gis.district import District

REPO = Path(__file__).resolve().parents[1]


def over(file: str, path: str, value: object) -> dict[str, dict[str, object]]:
    """A one-value standards override: ``{file: {a: {b: value}}}`` for path ``a.b``."""
    return {file: ensemble._nested(path, value)}


def values(module: str, district: District, file: str, path: str, value: object) -> dict:
    result = analysis.run(module, district, standards=over(file, path, value))
    return {k: float(ind.value) for k, ind in result.indicators.items()}


# --------------------------------------------------------------------------- mechanism


def test_overridden_merges_nests_and_refuses_unknown_keys() -> None:
    packaged = standards.load("en13201")
    mf = packaged["planner"]["lamp"]["maintenance_factor"]
    assert mf == 0.8 and standards.override_key() == ""
    with standards.overridden(over("en13201", "planner.lamp.maintenance_factor", 0.7)):
        inner = standards.load("en13201")
        assert inner["planner"]["lamp"]["maintenance_factor"] == 0.7
        # the rest of the file is the packaged one, the packaged mapping untouched
        assert inner["planner"]["lamp"]["lumens"] == packaged["planner"]["lamp"]["lumens"]
        assert inner["classes"] is packaged["classes"]
        assert standards.load("en13201") is inner  # cached per override
        with standards.overridden(over("en13201", "planner.lamp.lumens", 2000.0)):
            both = standards.load("en13201")["planner"]["lamp"]
            assert (both["maintenance_factor"], both["lumens"]) == (0.7, 2000.0)
            assert standards.active_overrides() == {
                "en13201": {"planner": {"lamp": {"maintenance_factor": 0.7, "lumens": 2000.0}}}
            }
        assert standards.load("en13201")["planner"]["lamp"]["lumens"] != 2000.0
        assert "en13201" in standards.override_key() and standards.override_key(("dori",)) == ""
    assert standards.load("en13201") is packaged
    # the memoised category lists key on their files' overrides
    with standards.overridden({"categories": {"tenures": ["almen_family", "cooperative"]}}):
        assert standards.categories("tenures") == ("almen_family", "cooperative")
    assert len(standards.categories("tenures")) == 6
    assert standards.load("en13201")["planner"]["lamp"]["maintenance_factor"] == 0.8
    with (
        pytest.raises(InputError, match=r"no key 'planner\.lamp\.maintenance' in the packaged"),
        standards.overridden(over("en13201", "planner.lamp.maintenance", 0.7)),
    ):
        pass
    with (
        pytest.raises(InputError, match=r"no file standards/nope\.yaml"),
        standards.overridden({"nope": {"a": 1}}),
    ):
        pass


def test_module_cache_keys_on_the_overrides() -> None:
    district = small_district()
    analysis.clear_cache()
    plain = analysis.run("lighting", district)
    low = analysis.run("lighting", district, standards=over("en13201", "efficacy_lm_per_w", 80.0))
    with standards.overridden(over("en13201", "efficacy_lm_per_w", 80.0)):
        again = analysis.run("lighting", district)  # the context and the parameter: one key
    high = analysis.run("lighting", district, standards=over("en13201", "efficacy_lm_per_w", 160.0))
    assert again is low and analysis.module_runs["lighting"] == 3
    assert plain is analysis.run("lighting", district)
    assert low.parameters["standards"] == {"en13201": {"efficacy_lm_per_w": 80.0}}
    assert "standards" not in plain.parameters
    # the small district's lamp has its wattage in the data: efficacy cannot change it
    energy = "lighting_energy_kwh_per_year"
    assert low.indicators[energy].value == high.indicators[energy].value


def test_module_cache_keys_on_the_files_a_run_read() -> None:
    district = small_district()
    analysis.clear_cache()
    lamp = over("en13201", "planner.lamp.maintenance_factor", 0.7)
    plain = analysis.run("connectivity", district)
    # connectivity reads no en13201.yaml: an override of it reuses the result
    assert analysis.run("connectivity", district, standards=lamp) is plain
    assert analysis.module_runs["connectivity"] == 1
    # safety reads en13201.yaml through its own lighting run: the override reaches the
    # nested run and is part of safety's key, whether the nested run is cached or not
    safety = analysis.run("safety", district)
    analysis.run("lighting", district, standards=lamp)
    lit = analysis.run("safety", district, standards=lamp)
    assert lit is not safety and analysis.module_runs["safety"] == 2
    assert lit.parameters["standards"] == {"en13201": lamp["en13201"]}
    # mix.yaml is read by neither safety nor the modules it runs: the result is reused
    both = {**lamp, **over("mix", "catchments.max_access_m", 300.0)}
    assert analysis.run("safety", district, standards=both) is lit
    assert "standards" not in safety.parameters


# --------------------------------------------------------------------------- lighting


@pytest.fixture(scope="module")
def unknown_lamp() -> District:
    """The small district with its lamp's maintenance factor and wattage not in the data."""
    district = small_district()
    lights = district.lights.copy()
    lights["maintenance_factor"] = np.nan
    lights["watts"] = np.nan
    return district.replace(lights=lights)


def test_lighting_maintenance_factor_scales_the_illuminance(unknown_lamp: District) -> None:
    path = "planner.lamp.maintenance_factor"
    result = {
        mf: analysis.run("lighting", unknown_lamp, standards=over("en13201", path, mf))
        for mf in (0.7, 0.9)
    }
    low, high = (result[mf].rasters["illuminance"].array for mf in (0.7, 0.9))
    lit = low > 0.05  # clear of the 0.01 lx cutoff radius, which grows with the MF
    assert lit.sum() > 1000
    np.testing.assert_allclose(high[lit] / low[lit], 0.9 / 0.7, rtol=1e-6)  # float32 raster
    # the mean over the paths: the same ratio but for the rim where the cutoff bites
    means = [result[mf].indicators["mean_illuminance_lx"].value for mf in (0.7, 0.9)]
    assert means[1] / means[0] == pytest.approx(0.9 / 0.7, rel=2e-3)


def test_lighting_efficacy_sun_altitude_threshold_and_curve(unknown_lamp: District) -> None:
    energy = "lighting_energy_kwh_per_year"
    # watts = lumens / efficacy: halving the efficacy doubles the energy
    a = values("lighting", unknown_lamp, "en13201", "efficacy_lm_per_w", 80.0)
    b = values("lighting", unknown_lamp, "en13201", "efficacy_lm_per_w", 160.0)
    assert a[energy] / b[energy] == pytest.approx(2.0, rel=1e-12)
    # 3000 lm / 80 lm/W = 37.5 W, burning hours = energy / power
    hours = a[energy] * 1000 / 37.5
    assert 3800 < hours < 4400
    # the lamps switch on later (sun lower) with a lower switching altitude: fewer hours
    early = values("lighting", unknown_lamp, "en13201", "burning_hours.switch_sun_altitude_deg",
                   -1.0)  # fmt: skip
    late = values("lighting", unknown_lamp, "en13201", "burning_hours.switch_sun_altitude_deg",
                  -4.0)  # fmt: skip
    assert early[energy] > late[energy]
    dark = "dark_spot_area_m2"
    low = values("lighting", unknown_lamp, "en13201", "dark_spot_threshold_lx", 0.4)
    high = values("lighting", unknown_lamp, "en13201", "dark_spot_threshold_lx", 2.0)
    assert high[dark] > low[dark]
    flat = values(
        "lighting", unknown_lamp, "en13201", "generic_distributions.street_lantern.exponent", 0.0
    )
    batwing = values(
        "lighting", unknown_lamp, "en13201", "generic_distributions.street_lantern.exponent", -1.5
    )
    assert flat["mean_illuminance_lx"] != batwing["mean_illuminance_lx"]


def test_lighting_planner_lamp_and_spacing_take_the_override() -> None:
    from vollsmose_gis.lighting.planner import LampSpec, plan_lights

    district = small_district()
    lamp = {"lumens": 1500.0, "height_m": 4.0, "maintenance_factor": 0.7}
    plans = {}
    for spacing in (8.0, 20.0):
        drawn = {"en13201": {"planner": {"lamp": lamp, "min_spacing_m": spacing}}}
        with standards.overridden(drawn), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unresolved segments, as data in the plan
            spec = LampSpec.default()
            plans[spacing] = plan_lights(district)
    assert (spec.lumens, spec.height_m, spec.maintenance_factor) == (1500.0, 4.0, 0.7)
    assert LampSpec.default().lumens != 1500.0
    close = plans[8.0].added
    assert len(close) > 10 and set(close["lumens"]) == {1500.0} and set(close["height_m"]) == {4.0}
    xy = np.c_[close.geometry.x, close.geometry.y]
    gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert gaps[~np.eye(len(xy), dtype=bool)].min() >= 8.0
    # 1,500 lm lamps 20 m apart cannot make a path pass: the planner adds none
    assert plans[20.0].summary["min_spacing_m"] == 20.0 and len(plans[20.0].added) == 0


# --------------------------------------------------------------------------- CCTV


@pytest.fixture(scope="module")
def behind_a_block() -> District:
    """A 12 m high camera looking north (30° lens) over a block without a height at the
    street 40 m away; the block's far edge is 20 m from the camera."""
    district = small_district()
    camera = dict(camera_id="C1", height_m=12.0, heading_deg=0.0, heading_estimated=False,
                  hfov_deg=30.0, vfov_deg=np.nan, resolution_px=1920, tilt_deg=-10.0,
                  geometry=Point(X0 + 60, Y0 + 60))  # fmt: skip
    block = {**district.buildings.drop(columns="geometry").iloc[0].to_dict(), "building_id": "b3"}
    rows = [
        *district.buildings.to_dict("records"),
        {**block, "geometry": box(X0 + 50, Y0 + 70, X0 + 70, Y0 + 80)},
    ]
    buildings = frame(rows)
    buildings["height_m"] = np.nan
    buildings["floors"] = buildings["floors"].astype(float)
    buildings.loc[buildings["building_id"] == "b3", "floors"] = np.nan
    return district.replace(cameras=frame([camera]), buildings=buildings)  # fmt: skip


def test_cctv_default_height_storey_and_target_height_change_occlusion(
    behind_a_block: District,
) -> None:
    seen = "path_share_observed"
    # 1920 px over 2·40·tan 15° = 21.4 m at 40 m: 90 px/m ≥ 62.5 (observation); of the
    # 300 m of walkable path, the street across the camera's field
    field = 2 * 40 * math.tan(math.radians(15)) / 300
    low = values("cctv", behind_a_block, "dori", "occlusion.default_building_height_m", 3.0)
    high = values("cctv", behind_a_block, "dori", "occlusion.default_building_height_m", 15.0)
    # the sight line to a 1.6 m face at 40 m passes the block's far edge at 6.8 m
    assert low[seen] == pytest.approx(field, abs=2 / 300) and high[seen] == 0.0
    storeys = behind_a_block.buildings.copy()
    storeys.loc[storeys["building_id"] == "b3", "floors"] = 2.0
    two = behind_a_block.replace(buildings=storeys)
    # 2 storeys of 2.8 m (5.6 m) let the line pass, of 3.5 m (7.0 m) block it
    assert values("cctv", two, "dori", "occlusion.storey_height_m", 2.8)[seen] > 0.05
    assert values("cctv", two, "dori", "occlusion.storey_height_m", 3.5)[seen] == 0.0
    # 2 × 3.4 m = 6.8 m: the line to a 1.5 m target passes at 6.75 m (blocked), to a
    # 1.8 m target at 6.9 m (seen)
    target = {"dori": {"occlusion": {"storey_height_m": 3.4}, "target_height_m": 1.5}}
    short = analysis.run("cctv", two, standards=target).indicators[seen].value
    target["dori"]["target_height_m"] = 1.8
    tall = analysis.run("cctv", two, standards=target).indicators[seen].value
    assert short == 0.0 and tall > 0.05


def test_cctv_planner_camera_takes_the_override() -> None:
    from vollsmose_gis.cctv.placement import camera_candidates

    district = small_district()
    camera = {"hfov_deg": 42.0, "tilt_deg": -20.0, "facade_height_m": 3.3}
    with standards.overridden({"dori": {"default_camera": camera}}):
        drawn = camera_candidates(district, facades=True, lamp_posts=False)
    packaged = camera_candidates(district, facades=True, lamp_posts=False)
    assert len(drawn) == len(packaged) > 0
    assert set(drawn["hfov_deg"]) == {42.0} and set(drawn["tilt_deg"]) == {-20.0}
    assert set(drawn["height_m"]) == {3.3} and 42.0 not in set(packaged["hfov_deg"])


def test_cctv_heading_search_radius_reaches_the_camera_setup() -> None:
    from vollsmose_gis.cctv.setup import camera_setup

    camera = dict(camera_id="C9", height_m=4.0, heading_deg=np.nan, heading_estimated=True,
                  hfov_deg=60.0, vfov_deg=np.nan, resolution_px=1920, tilt_deg=0.0,
                  geometry=Point(X0 + 40, Y0 + 160))  # fmt: skip
    district = small_district().replace(cameras=frame([camera]))
    headings = {}
    for radius in (20.0, 100.0):
        with (
            standards.overridden(over("dori", "missing_heading.search_radius_m", radius)),
            pytest.warns(UserWarning, match="have no heading"),
        ):
            headings[radius] = camera_setup(district)["heading_deg"].tolist()
    # the street 60 m south is beyond 20 m (the fallback, north) and within 100 m
    assert headings == {20.0: [0.0], 100.0: [180.0]}


# --------------------------------------------------------------------------- mix, safety


@pytest.fixture(scope="module")
def vollsmose() -> District:
    from vollsmose_gis.sources.vollsmose import default_district

    return default_district()


def test_mix_radius_band_green_space_and_rule_area(vollsmose: District) -> None:
    share = "dwellings_with_daily_needs_800m_share"
    near = values("mix", vollsmose, "mix", "access.daily_needs.radius_m", 400.0)
    far = values("mix", vollsmose, "mix", "access.daily_needs.radius_m", 1000.0)
    assert near[share] < far[share]
    band = analysis.run("mix", vollsmose, standards=over("mix", "jobs_housing.balanced_band",
                                                         [0.6, 1.7]))  # fmt: skip
    # the band is shown, not scored: it reaches the run's label only
    assert band.indicators["jobs_per_dwelling"].label.endswith("(balanced band 0.6–1.7)")
    # the small district's green land use is 60 m × 60 m = 3,600 m²: a green space
    # destination at a 2,000 m² minimum, none at 10,000 m²
    small = small_district()
    green = {a: analysis.run("mix", small, standards=over("mix", "access.green_space.min_area_m2",
                                                          a)) for a in (2000.0, 10000.0)}  # fmt: skip
    reach = {a: r.layers["mix_homes"]["dist_green_space_m"] for a, r in green.items()}
    assert reach[2000.0].notna().all() and not np.isfinite(reach[10000.0]).any()
    # rule_area "the study boundary": the almene family share over the whole boundary
    from vollsmose_gis.scenario import Scenario

    _, boundary = ensemble._without_rule_area([Scenario(name="plan")], vollsmose)
    assert boundary.settings.rule_area is None and vollsmose.settings.rule_area is not None
    inside = analysis.run("mix", vollsmose).indicators["almen_family_share"].value
    whole = analysis.run("mix", boundary).indicators["almen_family_share"].value
    assert inside == 1.0 and 0.85 < whole < 0.95


def test_mix_access_limit_decides_which_homes_are_on_the_network() -> None:
    district = small_district()
    street = district.streets[district.streets["street_id"] == "s1"].copy()
    street["geometry"] = [LineString([(X0, Y0 + 190), (X0 + 200, Y0 + 190)])]
    far = district.replace(streets=street)  # the one home, y 20-40, is 150-170 m away
    entropy = "landuse_entropy_800m"
    off = values("mix", far, "mix", "catchments.max_access_m", 100.0)
    on = analysis.run("mix", far, standards=over("mix", "catchments.max_access_m", 400.0))
    assert math.isnan(off[entropy]) and on.indicators[entropy].value > 0.2
    assert on.layers["mix_homes"]["access_m"].tolist() == [160.0]  # from (50, 30) to y = 190


def test_safety_recognition_distance_widens_what_is_overlooked(vollsmose: District) -> None:
    def shares(day: float) -> list[float]:
        surveillance = {"surveillance": {"recognition_distance_day_m": day}}
        result = analysis.run("safety", vollsmose, standards={"safety": surveillance})
        return [
            float(result.indicators[f"safety_path_overlooked_{t}_share"].value)
            for t in ("day", "night")
        ]

    short, long = shares(15.0), shares(35.0)
    # at night the lit part of what is overlooked by day: both grow with the distance
    assert short[0] < long[0] and short[1] < long[1]
    assert short[1] <= short[0] and long[1] <= long[0]


# --------------------------------------------------------------------------- ensemble


def test_draws_are_seeded_within_their_ranges_and_everything_drawable_is_wired() -> None:
    params = ensemble.uncertain_parameters()
    assert [(p.module, p.path, p.reason[:16]) for p in params if not p.wired] == [
        ("mix", "mean_dwelling_size_m2", "no model reads i")
    ]
    by_path = {p.path: p for p in params}
    assert by_path["jobs_housing.balanced_band"].bands == ((0.5, 1.0), (1.0, 2.0))
    assert by_path["rule_area"].wired == "district:rule_area"
    assert by_path["surveillance.recognition_distance_day_m"].module == "safety"
    modules = ["calming", "lighting", "cctv", "mix", "safety"]
    draws = ensemble.draw_parameters(20, seed=2, modules=modules)
    assert ensemble.draw_parameters(20, seed=2, modules=modules) == draws
    assert ensemble.draw_parameters(20, seed=3, modules=modules) != draws
    for p in params:
        if p.wired != "standards":
            continue
        drawn = []
        for d in draws:
            node = d["standards"][p.file]
            for part in p.path.split("."):
                node = node[part]
            drawn.append(node)
        if p.bands:
            ends = [v for pair in drawn for v in zip(pair, p.bands, strict=True)]
            assert all(lo <= v <= hi for v, (lo, hi) in ends)
        else:
            assert p.low <= min(drawn) < max(drawn) <= p.high, p.path
    assert {d["district"]["rule_area"] for d in draws} == set(ensemble.RULE_AREA_READINGS)
    # by default the modules plan scoring runs: safety is not one of them
    assert "safety" not in ensemble.draw_parameters(1, seed=2)[0]["standards"]


def test_ensemble_of_the_example_scenarios_under_lighting_and_mix_draws() -> None:
    from vollsmose_gis.scenario import load_scenarios

    cheap = {"Baseline", "Open up", "Development plan 2030"}  # no planner steps: ~3 s a draw
    scenarios = [s for s in load_scenarios([REPO / "scenarios"]) if s.name in cheap]
    assert len(scenarios) == 3
    summary = ensemble.score_ensemble(scenarios, 2, seed=4, modules=["lighting", "mix"])
    assert summary["draws"] == 2 and len(summary["table"]) == 2 * len(scenarios)
    assert sum(s["p_first"] for s in summary["scenarios"].values()) == pytest.approx(1.0)
    assert {w["module"] for w in summary["wired"]} == {"lighting", "mix"}
    assert {w["file"] for w in summary["wired"]} == {"standards/en13201.yaml", "standards/mix.yaml"}
    # what was not drawn says why: a parameter of a module this ensemble did not run too
    skipped = {(w["module"], w["parameter"]): w["reason"] for w in summary["not_wired"]}
    assert skipped[("safety", "surveillance.recognition_distance_day_m")] == (
        "the safety module is not run in this ensemble"
    )
    assert ("mix", "mean_dwelling_size_m2") in skipped
    table = pd.DataFrame(summary["table"])
    # the draws reach the scores: some plan's overall differs between the two draws
    spread = table.groupby("scenario")["overall"].agg(lambda v: v.max() - v.min())
    assert spread.max() > 0.01
    for name, s in summary["scenarios"].items():
        ranks = table.loc[table["scenario"] == name, "rank"].tolist()
        assert s["p_first"] == ranks.count(1) / 2
