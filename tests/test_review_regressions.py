"""Regression tests for bugs found in review: each would give wrong output or a traceback."""

from __future__ import annotations

import math
import textwrap
import warnings

import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Polygon

from tests.factories import X0, Y0, small_district
from vollsmose_gis import (
    DistrictFileError,
    DistrictValidationError,
    InputError,
    load_district,
    save_district,
    validate_district,
)
from vollsmose_gis.scenario import (
    Scenario,
    ScenarioError,
    apply_scenario,
    load_scenario,
    load_scenarios,
)
from vollsmose_gis.scoring import load_profile, save_score_outputs, score_scenarios

SHOP = {"type": "add_poi", "geometry": f"POINT ({X0 + 60} {Y0 + 60})", "kind": "shop"}


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_scenario_names_that_share_output_files_are_refused(tmp_path):
    write(tmp_path / "a.yaml", "name: Open up\n")
    write(tmp_path / "b.yaml", "name: open-up\n")
    with pytest.raises(ScenarioError, match="differ in more than case"):
        load_scenarios([tmp_path])
    result = score_scenarios(
        [
            Scenario(name="Open up"),
            Scenario.from_dict({"name": "open-up", "interventions": [SHOP]}),
        ],
        district=small_district(),
        modules=["mix"],
    )
    with pytest.raises(InputError, match="would write the same files"):
        save_score_outputs(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_weight_set_ranks_every_scenario(tmp_path):
    plain = Scenario(name="Plain")
    weighted = Scenario.from_dict(
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
    result = score_scenarios(
        [plain, weighted], district=small_district(), modules=["mix", "lighting"]
    )
    overall = result.scores.set_index("scenario")["overall"]
    assert overall["Plain"] == overall["Self-weighted"]  # same district, same weights
    assert result.profile.themes["mixed housing"] == 0
    other = Scenario.from_dict({"name": "Other", "weights": {"mixed housing": 1}})
    with pytest.raises(InputError, match="same theme weights"):
        score_scenarios([weighted, other], district=small_district(), modules=["mix"])
    with pytest.raises(InputError, match="unknown theme"):
        score_scenarios(
            [Scenario.from_dict({"name": "X", "weights": {"beauty": 1}})],
            district=small_district(),
            modules=["mix"],
        )


def test_a_shared_package_in_a_diamond_is_applied_once(tmp_path):
    write(
        tmp_path / "pkg.yaml",
        f"name: Shops\ninterventions:\n  - {{type: add_poi, geometry: 'POINT ({X0 + 60} {Y0 + 60})', kind: shop}}\n",
    )
    write(tmp_path / "a.yaml", "name: Plan A\nextends: pkg.yaml\n")
    write(tmp_path / "b.yaml", "name: Plan B\nextends: pkg.yaml\n")
    write(tmp_path / "c.yaml", "name: Both\nextends: [a.yaml, b.yaml]\n")
    scenario = load_scenario(tmp_path / "c.yaml")
    assert len(scenario.interventions) == 1
    assert scenario.parents == ("Shops", "Plan A", "Plan B")
    _, log = apply_scenario(small_district(), scenario)
    assert log.totals["pois_added"] == 1


def test_new_ids_never_clash_with_the_base():
    scenario = Scenario.from_dict({"name": "Shop", "interventions": [SHOP]})
    once, _ = apply_scenario(small_district(), scenario)
    twice, _ = apply_scenario(once, scenario)  # e.g. a base written by an earlier run
    assert twice.pois["poi_id"].is_unique and len(twice.pois) == 3


def test_infinite_or_huge_integers_are_reported_not_crashed(tmp_path):
    d = small_district()
    buildings = d.buildings.astype({"floors": float, "dwellings": float})
    buildings.loc[0, "floors"] = math.inf
    buildings.loc[1, "dwellings"] = 1e20
    with pytest.raises(DistrictValidationError) as info:
        validate_district(d.replace(buildings=buildings))
    message = str(info.value)
    assert (
        "feature 'b1', column 'floors'" in message and "feature 'b2', column 'dwellings'" in message
    )


def test_repairs_do_not_leave_duplicate_ids_or_a_missing_boundary():
    d = small_district()
    streets = pd.concat(
        [d.streets, d.streets.iloc[[0]].assign(street_id="s1-1")], ignore_index=True
    )
    streets.loc[0, "geometry"] = LineString([(X0, Y0 + 1), (X0 + 5, Y0 + 1)]).union(
        LineString([(X0 + 10, Y0 + 1), (X0 + 20, Y0 + 1)])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DistrictValidationError, match="'s1-1', column 'street_id'"):
            validate_district(d.replace(streets=streets), strict=False)
        flat = Polygon([(X0, Y0), (X0 + 1, Y0 + 1), (X0 + 2, Y0 + 2), (X0, Y0)])
        with pytest.raises(DistrictValidationError, match="cannot be repaired into an area"):
            validate_district(d.replace(boundary=flat), strict=False)


def test_scenario_input_mistakes_are_clear_errors(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: Ærø\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(latin)
    save_district(small_district(), tmp_path / "pts.gpkg")
    bad_layer = Scenario.from_dict(
        {"name": "L", "interventions": [{**SHOP, "geometry": f"{tmp_path / 'pts.gpkg'}#nope"}]}
    )
    with pytest.raises(ScenarioError, match="intervention 0 \\(add_poi\\)"):
        apply_scenario(small_district(), bad_layer)
    flat = f"POLYGON (({X0} {Y0}, {X0 + 10} {Y0}, {X0 + 20} {Y0}, {X0} {Y0}))"
    zero = Scenario.from_dict(
        {
            "name": "Z",
            "interventions": [
                {"type": "build", "geometry": flat, "dwellings": 10, "tenure": "owner_occupied"}
            ],
        }
    )
    with pytest.raises(ScenarioError, match="zero-size or invalid geometry"):
        apply_scenario(small_district(), zero)


def test_demolish_when_the_estate_record_is_empty():
    d = small_district()
    extra = d.buildings.iloc[[0]].assign(building_id="b3", demolished_dwellings_since_2010=pd.NA)
    d = d.replace(buildings=pd.concat([d.buildings, extra], ignore_index=True))
    scenario = Scenario.from_dict(
        {"name": "D", "interventions": [{"type": "demolish", "buildings": {"ids": ["b1"]}}]}
    )
    after, _ = apply_scenario(d, scenario)
    assert (
        after.buildings.set_index("building_id").loc["b3", "demolished_dwellings_since_2010"] == 40
    )


def test_a_scenario_on_another_base_has_no_invented_deltas(tmp_path):
    save_district(small_district().replace(name="Elsewhere"), tmp_path / "base.gpkg")
    write(tmp_path / "other.yaml", "name: Other base\nbase: base.gpkg\n")
    result = score_scenarios(
        [load_scenario(tmp_path / "other.yaml")], district=small_district(), modules=["mix"]
    )
    assert result.indicators["delta"].isna().all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("themes: {mixed housing: 1}\nindicators: {}\n", "themes.mixed housing must be a mapping"),
        (
            "themes: {mixed housing: {weight: 1}}\nindicators:\n  almen_family_share: {module: mix, theme: mixed housing, worst: '50%', target: 0.4, weight: 1}\n",
            "worst must be a number",
        ),
        ("themes: {mixed housing: {weight: 1}}\nindicators: {}\nrobustness:\n", None),
    ],
)
def test_bad_profiles_are_clear_errors(tmp_path, text, message):
    path = write(tmp_path / "p.yaml", text)
    if message is None:
        assert load_profile(path).robustness["samples"] == 2000  # empty section: defaults
    else:
        with pytest.raises(InputError, match=message):
            load_profile(path)


def test_layer_tables_without_geometry_and_empty_metadata(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    meta["provenance_notes"] = None
    pyogrio.write_dataframe(meta, path, layer="district_meta", driver="GPKG")
    assert load_district(path).provenance.notes == ""
    pyogrio.write_dataframe(pd.DataFrame({"poi_id": ["x"]}), path, layer="pois", driver="GPKG")
    with pytest.raises(DistrictFileError, match="pois have no geometry column"):
        load_district(path)
