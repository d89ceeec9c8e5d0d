"""Standards overrides (one mechanism) and ensemble draws reaching every module (issue 21 §2).

Each module test runs the real module twice on a small district under two values of one
uncertain parameter and checks the output moves the way the model says it must.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import small_district
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
