"""The embedded schematic Vollsmose district: figures, structure, reproducibility, packaging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import Point, box

import vollsmose_gis
from vollsmose_gis import validate_district
from vollsmose_gis.sources.vollsmose import (
    ESTATES,
    PERSONS_PER_DWELLING,
    RAADHUS,
    build_vollsmose,
    default_district,
    default_district_path,
)

REPO = Path(__file__).resolve().parents[1]
PARKER = ("Bøgeparken", "Egeparken", "Granparken", "Lærkeparken", "Birkeparken", "Fyrreparken")
ROW_HOUSES = ("Hybenhaven", "Slåenhaven", "Tjørnehaven")


@pytest.fixture(scope="module")
def district():
    return vollsmose_gis.default_district()


def inside(frame, district):
    return frame[frame.intersects(district.boundary)]


def test_public_accessor_returns_a_valid_schematic_district(district):
    assert district is default_district()  # loaded once, shared
    assert district.crs == "EPSG:25832"
    assert district.provenance.kind == "schematic"
    assert "Schematic model" in district.provenance.statement()
    assert "Granparken 504" in district.provenance.source
    validate_district(district)
    for name, layer in district.layers.items():
        assert len(layer) > 0, name


def test_boundary_area_and_position(district):
    area_ha = district.boundary.area / 10_000
    assert area_ha == pytest.approx(125, rel=0.10)
    envelope = box(589_800, 6_140_330, 591_910, 6_142_270)
    assert envelope.contains(district.boundary)
    # Vollsmose Allé 10 (the local centre) lies on the eastern road, just outside the area
    assert district.boundary.exterior.distance(Point(591_259, 6_141_006)) < 30


def test_dwellings_per_estate_match_the_figures(district):
    buildings = inside(district.buildings, district)
    per_estate = buildings.groupby("estate")["dwellings"].sum()
    assert per_estate["Granparken"] == 504
    assert per_estate["Birkeparken"] == 449
    assert per_estate[list(PARKER)].sum() == 2_872
    assert per_estate.sum() == 3_600
    assert set(per_estate.index) == {e.name for e in ESTATES}
    assert {e.name: e.dwellings for e in ESTATES} == per_estate.to_dict()
    assert set(buildings.loc[buildings["estate"].isin(ROW_HOUSES), "dwelling_type"]) == {
        "row_house"
    }
    assert set(buildings.loc[buildings["estate"].isin(PARKER), "dwelling_type"]) == {"flat"}


def test_storeys_and_organisations(district):
    flats = district.buildings[district.buildings["estate"].isin(PARKER)]
    assert flats["floors"].between(3, 13).all()
    assert flats.loc[flats["estate"] == "Birkeparken", "floors"].max() == 13
    assert set(district.buildings["organisation"].dropna()) == {"Civica", "FAB"}
    # floor area per flat stays plausible (75 m² net + common parts)
    per_estate = flats.groupby("estate")[["floor_area_m2", "dwellings"]].sum()
    m2_per_flat = per_estate["floor_area_m2"] / per_estate["dwellings"]
    assert m2_per_flat.between(70, 110).all(), m2_per_flat


def test_residents_implied(district):
    dwellings = inside(district.buildings, district)["dwellings"].sum()
    residents = dwellings * PERSONS_PER_DWELLING
    assert residents == pytest.approx(8_620, rel=0.10)  # 2022 figure
    assert 8_477 * 0.9 < residents < 9_200 * 1.1  # 2021 and 2013-17 figures


def test_tenure_is_almost_all_social_family_housing(district):
    homes = inside(district.buildings, district)
    homes = homes[homes["dwellings"] > 0]
    share = (
        homes.loc[homes["tenure"] == "almen_family", "dwellings"].sum() / homes["dwellings"].sum()
    )
    assert share > 0.95


def test_local_centre_jobs_and_green_belt(district):
    b = district.buildings.set_index("building_id")
    assert b.loc["tidl-skole", "jobs"] == 235
    assert "Vollsmose Allé 20" in b.loc["tidl-skole", "name"]
    assert b.loc["torvet-center", "use"] == "retail" and b.loc["torvet-center", "commercial_m2"] > 0
    kinds = set(inside(district.pois, district)["kind"])
    assert {"shop", "library", "health", "school", "daycare", "sport"} <= kinds
    stops = district.pois[district.pois["kind"] == "transit_stop"]
    assert (stops.distance(district.boundary) < 30).sum() >= 6  # on the four roads around it
    wetland = district.landuse[district.landuse["use"] == "wetland"]
    assert wetland.area.sum() > 10 * 10_000  # the bog is a real part of the area
    assert (district.landuse["use"] == "square").any()


def _graph(lines) -> nx.Graph:
    graph = nx.Graph()
    for geometry in lines:
        a, b = geometry.coords[0], geometry.coords[-1]
        graph.add_edge((round(a[0], 2), round(a[1], 2)), (round(b[0], 2), round(b[1], 2)))
    return graph


def test_culs_de_sac_dominate_the_internal_car_network(district):
    car = district.streets[district.streets["car"]]
    graph = _graph(car.geometry)
    internal = [n for n in graph if district.boundary.contains(Point(n))]
    dead_ends = [n for n in internal if graph.degree(n) == 1]
    junctions = [n for n in internal if graph.degree(n) >= 3]
    assert len(dead_ends) >= 10
    assert len(dead_ends) / (len(dead_ends) + len(junctions)) > 0.6
    # no car route crosses the estate: every internal road is a tree hanging off one road
    internal_edges = car[car.within(district.boundary)]
    assert nx.is_forest(_graph(internal_edges.geometry))


def test_footpath_network_is_connected(district):
    walk = district.streets[district.streets["walk"]]
    walk = walk[walk.intersects(district.boundary)]
    doors = walk["street_id"].str.startswith("dor-")
    paths = walk[~walk["car"] & ~doors]
    assert len(paths) > 20
    assert nx.is_connected(_graph(paths.geometry))
    # every block's door path joins the walking network (some through an internal road,
    # which meets the paths only on the four roads around the estate)
    assert doors.sum() > 80
    around = district.streets[district.streets["walk"]]
    around = around[around.intersects(district.boundary.buffer(20))]
    assert nx.is_connected(_graph(around.geometry))
    assert paths["tunnel"].sum() >= 2  # traffic separation: paths pass under the roads


def test_city_centre_is_reachable_on_foot(district):
    walk = district.streets[district.streets["walk"]]
    graph = _graph(walk.geometry)
    centre = min(graph, key=lambda n: Point(n).distance(RAADHUS))
    assert Point(centre).distance(RAADHUS) < 1.0
    estate_node = min(graph, key=lambda n: Point(n).distance(Point(591_000, 6_141_070)))
    assert nx.has_path(graph, estate_node, centre)


def test_lights_have_dark_stretches_and_cameras_watch_the_square(district):
    lights = inside(district.lights, district)
    assert len(lights) > 100
    bog_path = district.streets[district.streets["street_id"].str.startswith("sti-mosen-0")]
    gap = bog_path.geometry.union_all().intersection(box(590_200, 6_140_700, 590_230, 6_140_960))
    assert gap.length > 200 and lights.distance(gap).min() > 10
    square = district.landuse.loc[district.landuse["use"] == "square", "geometry"].iloc[0]
    assert (district.cameras.distance(square) < 10).all()
    assert set(district.calming["kind"]) == {"hump"}


def test_regenerating_reproduces_the_committed_file(district):
    from vollsmose_gis.safety import with_illustrative_evidence

    regenerated = with_illustrative_evidence(build_vollsmose())  # as the generator writes it
    assert regenerated.name == district.name
    assert regenerated.provenance == district.provenance
    assert regenerated.boundary.equals(district.boundary)
    for name in district.layers:
        pd.testing.assert_frame_equal(
            pd.DataFrame(regenerated.layers[name]), pd.DataFrame(district.layers[name])
        )


def test_cli_info_without_argument_describes_vollsmose(tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).with_name("vollsmose-gis")), "info", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["name"] == "Vollsmose (schematic model)"
    assert summary["provenance"]["kind"] == "schematic"
    validate = subprocess.run(
        [str(Path(sys.executable).with_name("vollsmose-gis")), "validate"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert validate.returncode == 0, validate.stderr


@pytest.mark.slow
def test_the_wheel_ships_the_district_and_works_from_any_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("vollsmose_gis-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "vollsmose_gis/data/vollsmose.gpkg" in archive.namelist()
        assert "vollsmose_gis/standards/layers.yaml" in archive.namelist()
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import vollsmose_gis, json;"
        "from vollsmose_gis.sources.vollsmose import default_district_path;"
        "print(json.dumps([vollsmose_gis.__file__, str(default_district_path())]))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    )
    module_file, gpkg = json.loads(result.stdout)
    assert module_file.startswith(str(target)) and gpkg.startswith(str(target))
    info = subprocess.run(
        [sys.executable, "-m", "vollsmose_gis.cli", "info"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert info.returncode == 0, info.stderr
    assert "Vollsmose (schematic model)" in info.stdout


def test_default_district_path_points_into_the_checkout_or_package():
    path = default_district_path()
    assert path.name == "vollsmose.gpkg" and path.is_file()


def test_no_street_or_path_runs_through_a_building(district):
    footprints = district.buildings.geometry.union_all()
    crossing = district.streets[district.streets.intersects(footprints)]
    assert crossing.empty, list(crossing["street_id"])
