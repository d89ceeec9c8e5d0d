"""Standards overrides (one mechanism) and ensemble draws reaching every module (issue 21 §2).

Each module test runs the real module twice on a small district under two values of one
uncertain parameter and checks the output moves the way the model says it must.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point, box

from tests.factories import X0, Y0, frame, small_district
from vollsmose_gis import analysis, standards
from vollsmose_gis._errors import InputError
from vollsmose_gis.batch import ensemble
from vollsmose_gis.district import District


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


def test_lighting_planner_lamp_takes_the_override() -> None:
    from vollsmose_gis.lighting.planner import LampSpec

    lamp = {"lumens": 1500.0, "height_m": 4.0, "maintenance_factor": 0.7}
    with standards.overridden({"en13201": {"planner": {"lamp": lamp, "min_spacing_m": 8.0}}}):
        spec = LampSpec.default()
        spacing = standards.load("en13201")["planner"]["min_spacing_m"]
    assert (spec.lumens, spec.height_m, spec.maintenance_factor, spacing) == (
        1500.0, 4.0, 0.7, 8.0)  # fmt: skip
    assert LampSpec.default().lumens != 1500.0


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
