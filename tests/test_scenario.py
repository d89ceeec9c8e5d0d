"""Scenario files and interventions, on a small hand-made district."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from tests.factories import X0, Y0, small_district
from vollsmose_gis import validate_district
from vollsmose_gis.scenario import ScenarioError, apply_scenario, load_scenario, load_scenarios


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(tmp_path: Path, interventions: str, district=None):
    path = write(
        tmp_path, "s.yaml", "name: Test\ninterventions:\n" + textwrap.dedent(interventions)
    )
    return apply_scenario(district or small_district(), load_scenario(path))


def test_add_street_with_defaults_from_highway_class(tmp_path):
    d, log = run(
        tmp_path,
        f"""\
      - type: add_street
        geometry: LINESTRING ({X0 + 100} {Y0 + 100}, {X0 + 100} {Y0 + 200})
        name: Ny gade
        highway: living_street
    """,
    )
    new = d.streets.set_index("street_id").loc["scn-street-001"]
    assert new["name"] == "Ny gade" and new["car"] and new["walk"]
    assert new["maxspeed_kmh"] == 15.0
    assert new.geometry.length == pytest.approx(100.0)
    assert log.totals["streets_added"] == 1 and log.totals["street_m_added"] == pytest.approx(100.0)
    assert log.totals["cost_dkk"] == pytest.approx(100.0 * 9_000)  # living_street per metre
    assert len(small_district().streets) == 2  # the input is untouched


def test_remove_street_and_set_speed_limit(tmp_path):
    d, log = run(
        tmp_path,
        """\
      - type: set_speed_limit
        streets: {names: [Main Street]}
        maxspeed_kmh: 30
        lanes: 1
      - type: remove_street
        streets: {ids: [p1]}
    """,
    )
    assert list(d.streets["street_id"]) == ["s1"]
    assert d.streets["maxspeed_kmh"].iloc[0] == 30.0 and d.streets["lanes"].iloc[0] == 1
    assert log.totals["streets_removed"] == 1 and log.totals["streets_changed"] == 1


def test_demolish_build_and_convert(tmp_path):
    d, log = run(
        tmp_path,
        f"""\
      - type: build
        geometry: {box(X0 + 20, Y0 + 150, X0 + 80, Y0 + 170).wkt}
        building_id: new-1
        floors: 4
        dwellings: 30
        tenure: owner_occupied
        commercial_m2: 300
        jobs: 5
      - type: convert_tenure
        buildings: {{ids: [new-1]}}
        to: private_rental
      - type: demolish
        buildings: {{estates: [Testparken]}}
    """,
    )
    b = d.buildings.set_index("building_id")
    assert "b1" not in b.index
    assert b.loc["new-1", "dwellings"] == 30 and b.loc["new-1", "tenure"] == "private_rental"
    assert b.loc["new-1", "floor_area_m2"] == pytest.approx(60 * 20 * 4)
    assert log.totals["dwellings_demolished"] == 40 and log.totals["dwellings_built"] == 30
    assert log.totals["dwellings_converted"] == 30
    assert log.totals["cost_dkk"] == 40 * 250_000  # demolition per dwelling; private build free
    # the 40 social family dwellings demolished are recorded (§ 168 a) on the nearest building
    assert d.buildings["demolished_dwellings_since_2010"].sum() == 40


def test_change_landuse_existing_and_new(tmp_path):
    d, log = run(
        tmp_path,
        f"""\
      - type: change_landuse
        landuse: {{ids: [l1]}}
        use: square
      - type: change_landuse
        geometry: POLYGON (({X0} {Y0}, {X0 + 10} {Y0}, {X0 + 10} {Y0 + 10}, {X0} {Y0}))
        use: retail
        name: Market
    """,
    )
    assert d.landuse.set_index("landuse_id").loc["l1", "use"] == "square"
    assert (d.landuse["name"] == "Market").sum() == 1
    assert log.totals["landuse_changed"] == 2


def test_add_lights_along_streets_and_points(tmp_path):
    d, log = run(
        tmp_path,
        f"""\
      - type: add_lights
        streets: {{ids: [s1]}}
        spacing_m: 40
        lumens: 2500
        height_m: 4
      - type: add_lights
        geometry: MULTIPOINT (({X0 + 100} {Y0 + 50}), ({X0 + 100} {Y0 + 20}))
    """,
    )
    # s1 is 200 m long: lamps at 20, 60, 100, 140, 180 m
    along = d.lights[d.lights["light_id"].str.startswith("scn-light-0")]
    assert sorted(p.x - X0 for p in along.geometry) == pytest.approx([20, 60, 100, 140, 180])
    assert (along["lumens"] == 2500).all() and (along["height_m"] == 4).all()
    assert log.totals["lights_added"] == 7
    assert len(d.lights) == 8


def test_add_cameras_calming_and_poi(tmp_path):
    d, log = run(
        tmp_path,
        f"""\
      - type: add_cameras
        geometry: MULTIPOINT (({X0 + 5} {Y0 + 5}), ({X0 + 195} {Y0 + 5}))
        heading_deg: [45, 315]
      - type: add_calming
        geometry: POINT ({X0 + 60} {Y0 + 103})
        kind: table
      - type: add_poi
        geometry: POINT ({X0 + 150} {Y0 + 150})
        kind: daycare
        name: Ny børnehave
    """,
    )
    assert list(d.cameras["heading_deg"].iloc[1:]) == [45.0, 315.0]
    device = d.calming.iloc[-1]
    assert device["kind"] == "table" and device["street_id"] == "s1"
    assert d.pois.iloc[-1]["kind"] == "daycare"
    assert log.totals == {
        "cameras_added": 2,
        "calming_added": 1,
        "calming_table": 1.0,
        "pois_added": 1,
        "cost_dkk": 2 * 60_000 + 120_000,  # unit_costs.yaml: camera, raised table
    }


def test_geometry_from_a_vector_file_relative_to_the_scenario(tmp_path):
    folder = tmp_path / "plan"
    folder.mkdir()
    paths = gpd.GeoDataFrame(
        geometry=[LineString([(X0 + 10, Y0 + 10), (X0 + 10, Y0 + 90)])], crs="EPSG:25832"
    ).to_crs("EPSG:4326")
    paths.to_file(folder / "links.gpkg")
    path = write(
        folder,
        "s.yaml",
        """\
        name: From file
        interventions:
          - type: add_street
            geometry: links.gpkg
            highway: footway
    """,
    )
    d, _ = apply_scenario(small_district(), load_scenario(path))
    assert d.streets.iloc[-1].geometry.length == pytest.approx(80.0, abs=0.01)


def test_extends(tmp_path):
    write(
        tmp_path,
        "package.yaml",
        """\
        name: Package
        year: 2026
        interventions:
          - type: set_speed_limit
            streets: {ids: [s1]}
            maxspeed_kmh: 40
    """,
    )
    child = write(
        tmp_path,
        "plan.yaml",
        f"""\
        name: Plan
        extends: package.yaml
        interventions:
          - type: set_speed_limit
            streets: {{ids: [s1]}}
            maxspeed_kmh: 30
          - type: add_poi
            geometry: POINT ({X0 + 1} {Y0 + 1})
            kind: shop
    """,
    )
    scenario = load_scenario(child)
    assert scenario.year == 2026 and scenario.parents == ("Package",)
    assert [i.type for i, _ in scenario.interventions] == [
        "set_speed_limit",
        "set_speed_limit",
        "add_poi",
    ]
    d, log = apply_scenario(small_district(), scenario)
    assert d.streets.set_index("street_id").loc["s1", "maxspeed_kmh"] == 30.0
    assert len(log.entries) == 3


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "name: A\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "name: B\nextends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_malformed_yaml_gives_the_line(tmp_path):
    path = write(
        tmp_path, "bad.yaml", "name: Bad\ninterventions:\n  - type: add_poi\n    kind: [shop\n"
    )
    with pytest.raises(ScenarioError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_scenario(path)


def test_unknown_intervention_type_lists_the_allowed_ones(tmp_path):
    path = write(
        tmp_path, "bad.yaml", "name: Bad\ninterventions:\n  - type: add_tram\n    route: x\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "interventions[0] (line 3): unknown intervention type 'add_tram'" in message
    assert "add_street" in message and "suggested_links" in message


def test_invalid_field_names_path_and_line(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """\
        name: Bad
        interventions:
          - type: set_speed_limit
            streets: {ids: [s1]}
            maxspeed_kmh: -30
    """,
    )
    with pytest.raises(
        ScenarioError,
        match=r"interventions\[0\]\.maxspeed_kmh \(line 5\): Input should be greater than 0",
    ):
        load_scenario(path)


def test_unknown_ids_are_all_reported_and_nothing_is_applied(tmp_path):
    path = write(
        tmp_path,
        "s.yaml",
        f"""\
        name: Refs
        interventions:
          - type: add_poi
            geometry: POINT ({X0 + 1} {Y0 + 1})
            kind: shop
          - type: demolish
            buildings: {{ids: [b1, nope-1, nope-2]}}
          - type: remove_street
            streets: {{match: "motorway-*"}}
          - type: add_poi
            geometry: POINT ({X0 + 1} {Y0 + 1})
            kind: casino
    """,
    )
    district = small_district()
    with pytest.raises(ScenarioError) as info:
        apply_scenario(district, load_scenario(path))
    message = str(info.value)
    assert "intervention 1 (demolish): unknown building_id(s): nope-1, nope-2" in message
    assert "intervention 2 (remove_street): no street_id matches 'motorway-*'" in message
    assert "intervention 3 (add_poi): unknown POI kind 'casino'" in message
    assert str(path) in message
    assert len(district.pois) == 1  # untouched


def test_geometry_outside_the_district(tmp_path):
    with pytest.raises(ScenarioError, match=r"outside the district.*district CRS"):
        run(
            tmp_path,
            """\
          - type: add_poi
            geometry: POINT (10.4 55.4)
            kind: shop
        """,
        )


def test_later_interventions_see_earlier_ones(tmp_path):
    d, _ = run(
        tmp_path,
        f"""\
      - type: add_street
        street_id: new-street
        geometry: LINESTRING ({X0} {Y0 + 150}, {X0 + 200} {Y0 + 150})
      - type: set_speed_limit
        streets: {{ids: [new-street]}}
        maxspeed_kmh: 20
    """,
    )
    assert d.streets.set_index("street_id").loc["new-street", "maxspeed_kmh"] == 20.0
    with pytest.raises(
        ScenarioError, match=r"intervention 1 \(set_speed_limit\): unknown street_id\(s\): s1"
    ):
        run(
            tmp_path,
            """\
          - type: remove_street
            streets: {ids: [s1]}
          - type: set_speed_limit
            streets: {ids: [s1]}
            maxspeed_kmh: 20
        """,
        )


def test_load_scenarios_from_a_folder(tmp_path):
    write(tmp_path, "a.yaml", "name: A\n")
    write(tmp_path, "b.yml", "name: B\n")
    assert [s.name for s in load_scenarios([tmp_path])] == ["A", "B"]
    write(tmp_path, "c.yaml", "name: A\n")
    with pytest.raises(ScenarioError, match="unique"):
        load_scenarios([tmp_path])
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenarios([tmp_path / "missing.yaml"])


def test_calming_device_far_from_a_street(tmp_path):
    with pytest.raises(ScenarioError, match="from the nearest car street"):
        run(
            tmp_path,
            f"""\
          - type: add_calming
            geometry: POINT ({X0 + 100} {Y0 + 10})
        """,
        )


def test_suggested_links_take_the_optimisers_top_links(tmp_path):
    from tests.test_connectivity import two_culs_de_sac

    district = validate_district(two_culs_de_sac(), strict=False)
    d, log = run(
        tmp_path,
        """\
      - type: suggested_links
        k: 1
        max_length_m: 100
        highway: cycleway
    """,
        district=district,
    )
    new = d.streets[d.streets["street_id"].str.startswith("scn-link-0")]
    assert len(new) == 1 and new["highway"].iloc[0] == "cycleway"
    assert sorted(new.geometry.iloc[0].coords) == [(50.0, 290.0), (50.0, 310.0)]  # the obvious link
    assert log.totals["street_m_added"] == pytest.approx(20.0)
    assert log.totals["cost_dkk"] == pytest.approx(20.0 * 3_500)  # cycleway per metre


def test_auto_calming_runs_the_planner(tmp_path):
    from tests.test_calming import make, street

    district = make([street("main", [(0, 0), (400, 0)])])
    d, log = run(
        tmp_path,
        """\
      - type: add_calming
        auto: true
        target_kmh: 30
        kinds: [hump]
    """,
        district=district,
    )
    from vollsmose_gis.calming import operating_speeds

    speeds = operating_speeds(d)
    assert log.totals["calming_added"] == len(d.calming) >= 2
    assert set(d.calming["kind"]) == {"hump"} and set(d.calming["street_id"]) <= set(
        d.streets["street_id"]
    )
    assert speeds["v85_max_kmh"].max() <= 30.0 + 1e-6
    assert log.totals["cost_dkk"] == 35_000 * len(d.calming)


def test_add_street_with_an_existing_id_is_refused(tmp_path):
    with pytest.raises(
        ScenarioError, match=r"intervention 0 \(add_street\): street_id 's1' already exists"
    ):
        run(
            tmp_path,
            f"""\
          - type: add_street
            street_id: s1
            geometry: LINESTRING ({X0} {Y0}, {X0 + 10} {Y0})
        """,
        )
