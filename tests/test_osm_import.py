"""OSM import: real extracts counted against an independent parse, tag mapping, bad input.

The independent counts parse the raw OSM XML with the standard library (``xml.etree``,
``bz2``); the PBF is first converted to XML by a plain pyosmium copy (SimpleWriter), so
no code of the importer is involved in the expected numbers.
"""

from __future__ import annotations

import bz2
import json
import math
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyproj
import pytest
import shapely
import yaml
from shapely.geometry import LineString
from typer.testing import CliRunner

import vollsmose_gis.standards
from vollsmose_gis import InputError, validate_district
from vollsmose_gis.cli import app
from vollsmose_gis.sources import osm
from vollsmose_gis.sources.osm import (
    district_from_osm,
    import_osm,
    import_osm_place,
    parse_bbox,
    parse_maxspeed,
    parse_tenure,
)

runner = CliRunner()
STANDARDS = Path(vollsmose_gis.standards.__file__).parent
HIGHWAY_CLASSES = set(yaml.safe_load((STANDARDS / "highways.yaml").read_text())["classes"])
MAPPING = yaml.safe_load((STANDARDS / "osm_mapping.yaml").read_text())
GEOD = pyproj.Geod(ellps="WGS84")

OAKLAND = "West-Oakland.osm.bz2"
AGUASCALIENTES = "aguascalientes.osm.pbf"
BAVARIA = "planet_10.068,48.135_10.071,48.137.osm"
# The standard 6° UTM zone of each extract, by hand: zone = floor((lon + 180) / 6) + 1.
UTM = {
    OAKLAND: "EPSG:32610",
    AGUASCALIENTES: "EPSG:32613",
    BAVARIA: "EPSG:25832",
}  # ETRS89 in Europe


# --------------------------------------------------------------- independent raw parse


@dataclass
class RawOsm:
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = field(
        default_factory=dict
    )


def parse_xml(path: Path) -> RawOsm:
    opener = bz2.open if path.name.endswith(".bz2") else open
    with opener(path, "rb") as handle:
        root = ET.parse(handle).getroot()
    raw = RawOsm()
    for element in root:
        tags = {t.get("k"): t.get("v") for t in element.findall("tag")}
        ident = int(element.get("id", 0))
        if element.tag == "node":
            raw.nodes[ident] = (float(element.get("lon")), float(element.get("lat")))
            if tags:
                raw.node_tags[ident] = tags
        elif element.tag == "way":
            raw.ways[ident] = ([int(nd.get("ref")) for nd in element.findall("nd")], tags)
        elif element.tag == "relation":
            members = [
                (m.get("type"), int(m.get("ref")), m.get("role", ""))
                for m in element.findall("member")
            ]
            raw.relations[ident] = (members, tags)
    return raw


def raw_of(path: Path, tmp_path: Path) -> RawOsm:
    if path.name.endswith(".pbf"):
        copy = tmp_path / (path.name.removesuffix(".osm.pbf") + ".copy.osm")
        with osmium.SimpleWriter(str(copy)) as writer:
            for obj in osmium.FileProcessor(str(path)):
                writer.add(obj)
        path = copy
    return parse_xml(path)


def located_runs(refs: list[int], nodes: dict[int, tuple[float, float]]) -> list[list[int]]:
    """Runs of consecutive nodes present in the file, repeated nodes collapsed."""
    runs, current = [], []
    for ref in refs:
        if ref not in nodes:
            runs.append(current)
            current = []
        elif not current or nodes[current[-1]] != nodes[ref]:
            current.append(ref)
    runs.append(current)
    return [r for r in runs if len(r) >= 2]


def expected_street_ways(raw: RawOsm) -> set[str]:
    return {
        f"way/{wid}"
        for wid, (refs, tags) in raw.ways.items()
        if tags.get("highway") in HIGHWAY_CLASSES
        and tags.get("area") != "yes"
        and located_runs(refs, raw.nodes)
    }


def street_candidates(raw: RawOsm) -> int:
    return sum(
        1
        for refs, tags in raw.ways.values()
        if tags.get("highway") in HIGHWAY_CLASSES and tags.get("area") != "yes"
    )


def closed_complete(refs: list[int], nodes: dict[int, tuple[float, float]]) -> bool:
    return (
        len(refs) >= 4
        and refs[0] == refs[-1]
        and all(r in nodes for r in refs)
        and len({nodes[r] for r in refs}) >= 3
    )


def expected_buildings(raw: RawOsm) -> set[str]:
    ways = {
        f"way/{wid}"
        for wid, (refs, tags) in raw.ways.items()
        if tags.get("building", "no") != "no" and closed_complete(refs, raw.nodes)
    }
    relations = {
        f"relation/{rid}"
        for rid, (members, tags) in raw.relations.items()
        if tags.get("type") == "multipolygon"
        and tags.get("building", "no") != "no"
        and any(
            kind == "way"
            and role != "inner"
            and ref in raw.ways
            and closed_complete(raw.ways[ref][0], raw.nodes)
            for kind, ref, role in members
        )
    }
    return ways | relations


def is_poi(tags: dict[str, str]) -> bool:
    kinds = MAPPING["pois"]["kinds"]
    for key, values in kinds.items():
        value = tags.get(key)
        if value is None or (key == "amenity" and value in MAPPING["pois"]["amenity_not_poi"]):
            continue
        if value in values or "*" in values:
            return True
    return False


def expected_pois(raw: RawOsm) -> set[str]:
    nodes = {f"node/{nid}" for nid, tags in raw.node_tags.items() if is_poi(tags)}
    ways = {
        f"way/{wid}"
        for wid, (refs, tags) in raw.ways.items()
        if is_poi(tags) and any(r in raw.nodes for r in refs)
    }
    return nodes | ways


def geodesic_street_length_m(raw: RawOsm) -> float:
    total = 0.0
    for refs, tags in raw.ways.values():
        if tags.get("highway") not in HIGHWAY_CLASSES or tags.get("area") == "yes":
            continue
        for run in located_runs(refs, raw.nodes):
            lons, lats = zip(*(raw.nodes[r] for r in run), strict=True)
            total += GEOD.line_length(lons, lats)
    return total


# --------------------------------------------------------------- real extracts


@pytest.mark.parametrize("name", [OAKLAND, AGUASCALIENTES, BAVARIA])
def test_real_extract_counts_match_an_independent_parse(name, osm_dir, tmp_path):
    path = osm_dir / name
    raw = raw_of(path, tmp_path)
    result = import_osm(path, crs="auto")
    district, report = result.district, result.report

    assert district.crs == UTM[name]
    validate_district(district, strict=True)
    assert district.provenance.kind == "openstreetmap"
    assert district.provenance.licence == "ODbL 1.0"
    assert district.provenance.attribution == "© OpenStreetMap contributors"
    assert district.provenance.notes == report.summary()

    streets, buildings, pois = district.streets, district.buildings, district.pois
    assert set(streets["osm_id"]) == expected_street_ways(raw)
    assert set(buildings["osm_id"]) == expected_buildings(raw)
    assert set(pois["osm_id"]) == expected_pois(raw)
    assert len(pois) == len(expected_pois(raw))  # one POI per object
    assert len(buildings) == len(expected_buildings(raw))
    assert streets["street_id"].is_unique
    # Every candidate street way is either kept or counted as dropped, none lost.
    assert len(set(streets["osm_id"])) + report.dropped_in("streets") == street_candidates(raw)
    # Splitting at junctions keeps the network's length (independent geodesic length).
    length = float(streets.geometry.length.sum())
    assert length == pytest.approx(geodesic_street_length_m(raw), rel=2e-3)
    assert report.kept == {layer: len(district.layers[layer]) for layer in report.kept}
    # the evidence layers (incidents, safety walks) never come from OpenStreetMap
    assert all(
        len(district.layers[layer]) == 0 for layer in set(district.layers) - set(report.kept)
    )
    assert not any("outside the boundary" in reason for reason in report.dropped)


def test_clean_extracts_report_no_drops(osm_dir):
    for name in (OAKLAND, AGUASCALIENTES):
        report = import_osm(osm_dir / name, crs="auto").report
        assert report.dropped == {}, name
        assert "Dropped nothing." in report.summary()


def test_bavaria_drop_report_counts_reasons(osm_dir, tmp_path):
    path = osm_dir / BAVARIA
    raw = parse_xml(path)
    report = import_osm(path, crs="auto").report
    one_node_streets = sum(
        1
        for refs, tags in raw.ways.values()
        if tags.get("highway") in HIGHWAY_CLASSES and len(refs) < 2
    )
    short_buildings = sum(
        1
        for refs, tags in raw.ways.values()
        if tags.get("building", "no") != "no" and len(refs) < 4
    )
    assert one_node_streets > 0 and short_buildings > 0  # the quirks this test is about
    assert (
        report.dropped["streets: way with fewer than 2 nodes (clipped by the extract)"]
        == one_node_streets
    )
    assert (
        report.dropped[
            "buildings: way with fewer than 4 nodes, not a ring (clipped by the extract)"
        ]
        == short_buildings
    )
    # Relation 318560 (building=government) has none of its member ways in the file.
    assert (
        report.dropped[
            "buildings: multipolygon without outer member ways in the file (clipped or missing)"
        ]
        == 1
    )
    assert report.n_dropped == sum(report.dropped.values()) > 0


def test_default_crs_is_the_local_utm_zone_and_25832_far_away_is_flagged(osm_dir):
    # no Danish default for data elsewhere: the local UTM zone (ETRS89 in Europe)
    assert import_osm(osm_dir / OAKLAND).district.crs == "EPSG:32610"
    assert import_osm(osm_dir / BAVARIA).district.crs == "EPSG:25832"
    result = import_osm(osm_dir / OAKLAND, crs="EPSG:25832")  # asked for explicitly
    district = result.district
    assert district.crs == "EPSG:25832"
    validate_district(district, strict=True)
    assert any("far from its area of use" in note for note in result.report.notes)
    # Dwelling estimates use local metres, so they do not depend on the output CRS.
    local = import_osm(osm_dir / OAKLAND, crs="auto").district
    assert district.buildings["dwellings"].tolist() == local.buildings["dwellings"].tolist()
    assert len(district.streets) == len(local.streets)


def test_pbf_read_with_bbox_keeps_only_features_near_it(osm_dir):
    path = osm_dir / AGUASCALIENTES
    full = import_osm(path, crs="auto").district
    bbox = (-102.2720, 21.8680, -102.2680, 21.8710)
    part = import_osm(path, bbox=bbox, crs="auto", context_m=0).district
    assert 0 < len(part.streets) < len(full.streets)
    box_utm = shapely.box(*bbox)
    to_utm = pyproj.Transformer.from_crs(4326, part.crs, always_xy=True)
    box_utm = shapely.transform(
        shapely.segmentize(box_utm, 1e-4),
        lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])),
    )
    assert part.boundary.equals_exact(box_utm, tolerance=0.01)
    # context_m=0: exactly the ways with a piece touching the box survive (pieces may be
    # longer than in the full import: junctions with ways not read are not split).
    touching = full.streets[full.streets.intersects(box_utm)]
    assert set(part.streets["osm_id"]) == set(touching["osm_id"])
    assert part.streets.intersects(box_utm).all()


# --------------------------------------------------------------- clipped extract


def test_clipped_extract_imports_with_a_report(osm_dir, tmp_path):
    source = parse_xml(osm_dir / BAVARIA)
    tree = ET.parse(osm_dir / BAVARIA)
    root = tree.getroot()
    nodes = [e for e in root if e.tag == "node"]
    removed = {int(e.get("id")) for i, e in enumerate(nodes) if i % 4 == 1}
    for element in nodes:
        if int(element.get("id")) in removed:
            root.remove(element)
    clipped = tmp_path / "clipped.osm"
    tree.write(clipped, encoding="utf-8", xml_declaration=True)
    raw = parse_xml(clipped)
    assert len(raw.nodes) == len(source.nodes) - len(removed)

    result = import_osm(clipped, crs="auto")
    district, report = result.district, result.report
    validate_district(district, strict=True)
    assert set(district.streets["osm_id"]) == expected_street_ways(raw)
    assert set(district.buildings["osm_id"]) == expected_buildings(raw)
    clipped_buildings = sum(
        1
        for refs, tags in raw.ways.values()
        if tags.get("building", "no") != "no"
        and len(refs) >= 4
        and refs[0] == refs[-1]
        and not all(r in raw.nodes for r in refs)
    )
    assert clipped_buildings > 0
    assert (
        report.dropped[
            "buildings: ring has nodes missing from the file (clipped at the extract edge)"
        ]
        == clipped_buildings
    )
    assert report.repaired["streets: clipped way (nodes missing): kept its located parts"] > 0
    assert "Dropped" in district.provenance.notes


# --------------------------------------------------------------- tag mapping (hand-made)

X0, Y0 = 590_000.0, 6_141_000.0  # EPSG:32632 metres, near Vollsmose
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)


class OsmBuilder:
    """Write a small OSM XML file from coordinates in metres (EPSG:32632, around X0, Y0)."""

    def __init__(self) -> None:
        self.root = ET.Element("osm", version="0.6", generator="test")
        self.ids = {"node": 0, "way": 0, "relation": 0}
        self.pending: dict[str, list[ET.Element]] = {"node": [], "way": [], "relation": []}

    def _new(self, kind: str, tags: dict[str, str] | None, **attributes: str) -> int:
        self.ids[kind] += 1
        element = ET.Element(kind, id=str(self.ids[kind]), version="1", **attributes)
        for k, v in (tags or {}).items():
            ET.SubElement(element, "tag", k=k, v=v)
        self.pending[kind].append(element)
        return self.ids[kind]

    def node(self, x: float, y: float, tags: dict[str, str] | None = None) -> int:
        lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
        return self._new("node", tags, lat=f"{lat:.7f}", lon=f"{lon:.7f}")

    def way(self, refs: list[int], tags: dict[str, str] | None = None) -> int:
        wid = self._new("way", tags)
        for ref in refs:
            ET.SubElement(self.pending["way"][-1], "nd", ref=str(ref))
        return wid

    def line(self, points: list[tuple[float, float]], tags: dict[str, str]) -> int:
        return self.way([self.node(x, y) for x, y in points], tags)

    def rect(self, x: float, y: float, w: float, h: float, tags: dict[str, str] | None) -> int:
        corners = [
            self.node(x, y),
            self.node(x + w, y),
            self.node(x + w, y + h),
            self.node(x, y + h),
        ]
        return self.way([*corners, corners[0]], tags)

    def relation(self, members: list[tuple[int, str]], tags: dict[str, str]) -> int:
        rid = self._new("relation", tags)
        for ref, role in members:
            ET.SubElement(
                self.pending["relation"][-1], "member", type="way", ref=str(ref), role=role
            )
        return rid

    def write(self, path: Path) -> Path:
        for kind in ("node", "way", "relation"):
            self.root.extend(self.pending[kind])
        ET.ElementTree(self.root).write(path, encoding="utf-8", xml_declaration=True)
        return path


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A hand-made file exercising every row of docs/osm-mapping.md; ids of its features."""
    b = OsmBuilder()
    ids: dict[str, int] = {}
    # Streets: S1 and S2 cross at node `cross`, so each splits into two pieces.
    a, cross, c = b.node(0, 100), b.node(100, 100), b.node(200, 100)
    d, bump, e = b.node(100, 0), b.node(100, 50, {"traffic_calming": "bump"}), b.node(100, 200)
    ids["s1"] = b.way([a, cross, c], {"highway": "residential", "name": "Main",
                                      "maxspeed": "30 mph", "lit": "yes", "lanes": "2;3",
                                      "width": "20 ft"})  # fmt: skip
    ids["s2"] = b.way([d, bump, cross, e], {"highway": "residential", "maxspeed": "DK:urban"})
    ids["bump"] = bump
    b.relation([(ids["s2"], "")], {"type": "route", "route": "bus"})
    ids["s3"] = b.line([(300, 0), (400, 0)], {"highway": "service", "access": "private",
                                               "maxspeed": "50;30"})  # fmt: skip
    ids["s4"] = b.line([(300, 20), (400, 20)], {"highway": "footway", "bicycle": "yes"})
    ids["s5"] = b.line([(300, 40), (400, 40)], {"highway": "residential", "motor_vehicle": "no",
                                                 "maxspeed": "none", "lit": "no"})  # fmt: skip
    ids["s6"] = b.line([(300, 60), (400, 60)], {"highway": "living_street", "maxspeed": "walk",
                                                 "oneway": "-1"})  # fmt: skip
    ids["s7"] = b.line([(300, 80), (400, 80)], {"highway": "tertiary", "maxspeed": "signals",
                                                 "lit": "maybe", "bridge": "yes"})  # fmt: skip
    f, g, h, i = b.node(0, 300), b.node(50, 300), b.node(150, 300), b.node(200, 300)
    ids["s8"] = b.way([f, g, 999_999, h, i], {"highway": "residential"})  # a node is missing
    ids["s9"] = b.line([(300, 100), (400, 100)], {"highway": "construction"})
    ids["s10"] = b.way([b.node(300, 120)], {"highway": "residential"})
    j, k = b.node(300, 140), b.node(400, 140)
    ids["s11"] = b.way([j, j, k], {"highway": "residential"})  # duplicate node
    ids["square"] = b.rect(300, 160, 30, 30, {"highway": "pedestrian", "area": "yes"})
    ids["s13"] = b.line([(300, 220), (400, 220)], {"highway": "residential",
                                                    "traffic_calming": "table"})  # fmt: skip
    # Buildings (footprints in m²: width × height of the rectangle).
    ids["b1"] = b.rect(500, 0, 20, 10, {"building": "apartments", "building:flats": "12",
                                        "building:levels": "4"})  # fmt: skip
    ids["b2"] = b.rect(500, 20, 20, 10, {"building": "apartments", "building:levels": "4"})
    ids["b3"] = b.rect(500, 40, 10, 10, {"building": "house"})
    ids["b4"] = b.rect(500, 60, 15, 10, {"building": "yes"})
    ids["shop"] = b.node(505, 65, {"shop": "supermarket", "name": "Netto"})
    ids["b5"] = b.rect(700, 10, 30, 10, {"building": "yes"})
    ids["l1"] = b.rect(690, 0, 50, 30, {"landuse": "residential"})
    ids["b6"] = b.rect(500, 80, 10, 10, {"building": "retail", "building:levels": "2"})
    ids["b7"] = b.rect(500, 100, 10, 20, {"building": "apartments", "shop": "bakery",
                                          "building:levels": "3"})  # fmt: skip
    ids["b8"] = b.rect(500, 130, 10, 10, {"building": "yes", "height": "12 m"})
    bow = [b.node(500, 150), b.node(510, 160), b.node(510, 150), b.node(500, 160)]
    ids["b9"] = b.way([*bow, bow[0]], {"building": "yes"})  # a bow-tie ring
    ids["b10"] = b.line([(500, 170), (510, 170), (510, 180), (500, 180)], {"building": "yes"})
    outer = b.rect(550, 0, 30, 30, None)
    inner = b.rect(560, 10, 10, 10, None)
    ids["b11"] = b.relation([(outer, "outer"), (inner, "inner")],
                            {"type": "multipolygon", "building": "school"})  # fmt: skip
    ids["b12"] = b.relation([(888_888, "outer")], {"type": "multipolygon", "building": "yes"})
    # Land use.
    ids["l2"] = b.rect(800, 0, 20, 20, {"leisure": "garden", "access": "private"})
    ids["l3"] = b.rect(800, 30, 20, 20, {"natural": "wetland"})
    ids["l4"] = b.rect(800, 60, 20, 20, {"landuse": "grass"})
    ids["l5"] = b.rect(800, 90, 20, 20, {"landuse": "quarry_of_dreams"})
    # Lights, cameras, calming.
    ids["lamp1"] = b.node(0, 110, {"highway": "street_lamp", "height": "6"})
    ids["lamp2"] = b.node(50, 110, {"highway": "street_lamp"})
    ids["cam1"] = b.node(0, 120, {"man_made": "surveillance", "camera:direction": "NE",
                                  "camera:angle": "15", "height": "3.5"})  # fmt: skip
    ids["cam2"] = b.node(10, 120, {"man_made": "surveillance", "camera:direction": "90-270"})
    ids["cam3"] = b.node(20, 120, {"man_made": "surveillance", "camera:type": "dome"})
    ids["cam4"] = b.node(30, 120, {"man_made": "surveillance", "camera:type": "fixed"})
    ids["cam5"] = b.node(40, 120, {"man_made": "surveillance", "surveillance:type": "guard"})
    ids["cal2"] = b.node(0, 130, {"traffic_calming": "yes"})
    # POIs.
    ids["school"] = b.node(0, 140, {"amenity": "school", "name": "Skolen"})
    b.node(10, 140, {"amenity": "bench"})
    b.node(20, 140, {"amenity": "parking"})
    ids["bus_stop"] = b.node(0, 150, {"highway": "bus_stop", "name": "Torvet"})
    ids["stop_position"] = b.node(10, 150, {"public_transport": "stop_position"})
    ids["library"] = b.rect(900, 0, 20, 20, {"amenity": "library"})
    path = b.write(tmp_path_factory.mktemp("mapped") / "mapped.osm")
    result = import_osm(
        path,
        crs="EPSG:32632",
        tenure={"apartments": "almen_family", "*": "owner_occupied"},
    )
    return result, ids


def _row(frame, column, value):
    rows = frame[frame[column] == value]
    assert len(rows) == 1, f"{column}={value!r}: {len(rows)} rows"
    return rows.iloc[0]


def test_mapped_drop_report_is_exact(mapped):
    result, _ = mapped
    assert dict(result.report.dropped) == {
        "streets: highway=construction is not a street class": 1,
        "streets: way with fewer than 2 nodes (clipped by the extract)": 1,
        "buildings: way is not a closed ring (clipped by the extract, or mis-mapped)": 1,
        "buildings: multipolygon without outer member ways in the file (clipped or missing)": 1,
        "cameras: surveillance:type=guard is not a camera": 1,
        "calming: traffic_calming=yes is not a known kind": 1,
        "pois: public_transport=stop_position beside a platform (same stop)": 1,
    }
    assert result.report.repaired["streets: duplicate consecutive nodes removed"] == 1
    assert result.report.repaired["buildings: invalid ring made valid"] == 1
    assert (
        result.report.repaired["streets: clipped way (nodes missing): kept its located parts"] == 1
    )
    assert any("convex hull" in note for note in result.report.notes)


def test_mapped_streets(mapped):
    result, ids = mapped
    streets = result.district.streets
    validate_district(result.district, strict=True)
    s1, s2, s8 = ids["s1"], ids["s2"], ids["s8"]
    expected_ids = {f"w{s1}-1", f"w{s1}-2", f"w{s2}-1", f"w{s2}-2", f"w{s8}-1", f"w{s8}-2"}
    expected_ids |= {f"w{ids[k]}" for k in ("s3", "s4", "s5", "s6", "s7", "s11", "s13")}
    assert set(streets["street_id"]) == expected_ids
    main = _row(streets, "street_id", f"w{s1}-1")
    assert main["maxspeed_kmh"] == pytest.approx(30 * 1.609344)
    assert main["lanes"] == 3
    assert main["width_m"] == pytest.approx(20 * 0.3048)
    assert main["lit"] == True  # noqa: E712 (a numpy/pandas bool)
    assert main["name"] == "Main"
    assert main.geometry.length == pytest.approx(100.0, abs=0.05)  # split at the crossing
    cross = _row(streets, "street_id", f"w{s2}-1")
    assert cross["maxspeed_kmh"] == 50.0
    assert (cross["bus_route"], main["bus_route"]) == (True, False)
    assert cross.geometry.length == pytest.approx(100.0, abs=0.05)
    private = _row(streets, "street_id", f"w{ids['s3']}")
    assert (private["car"], private["walk"], private["bike"]) == (False, False, False)
    assert private["maxspeed_kmh"] == 50.0  # "50;30": the highest
    footway = _row(streets, "street_id", f"w{ids['s4']}")
    assert (footway["car"], footway["walk"], footway["bike"]) == (False, True, True)
    assert math.isnan(footway["maxspeed_kmh"])
    no_cars = _row(streets, "street_id", f"w{ids['s5']}")
    assert (no_cars["car"], no_cars["walk"], no_cars["bike"]) == (False, True, True)
    assert (no_cars["maxspeed_kmh"], no_cars["lit"]) == (130.0, False)
    living = _row(streets, "street_id", f"w{ids['s6']}")
    assert (living["maxspeed_kmh"], living["oneway"]) == (7.0, True)
    assert living.geometry.coords[0][0] > living.geometry.coords[-1][0]  # oneway=-1 reversed
    odd = _row(streets, "street_id", f"w{ids['s7']}")
    assert odd["maxspeed_kmh"] == 50.0  # "signals" -> tertiary default of highways.yaml
    assert pd.isna(odd["lit"])
    assert odd["bridge"] == True  # noqa: E712
    assert result.report.estimated["streets: maxspeed not understood, class default used"] == 1
    pieces = streets[streets["osm_id"] == f"way/{s8}"].geometry.length.sort_values()
    assert pieces.tolist() == pytest.approx([50.0, 50.0], abs=0.05)  # the gap is not bridged
    duplicate = _row(streets, "street_id", f"w{ids['s11']}")
    assert len(duplicate.geometry.coords) == 2
    assert f"way/{ids['s9']}" not in set(streets["osm_id"])


def test_mapped_buildings_and_dwellings(mapped):
    result, ids = mapped
    buildings = result.district.buildings

    def building(key):
        return _row(buildings, "building_id", f"w{ids[key]}")

    b1 = building("b1")
    assert (b1["use"], b1["dwellings"], b1["dwellings_estimated"]) == ("residential", 12, False)
    assert b1["floor_area_m2"] == pytest.approx(800.0, rel=1e-3)
    assert b1["tenure"] == "almen_family" and b1["dwelling_type"] == "flat"
    b2 = building("b2")  # 200 m² × 4 floors / 85 m² = 9.41 -> 9, estimated
    assert (b2["dwellings"], b2["dwellings_estimated"]) == (9, True)
    b3 = building("b3")
    assert (b3["dwellings"], b3["dwellings_estimated"], b3["tenure"]) == (1, True, "owner_occupied")
    b4 = building("b4")  # building=yes with a supermarket inside
    assert (b4["use"], b4["dwellings"]) == ("retail", 0) and pd.isna(b4["tenure"])
    assert b4["commercial_m2"] == pytest.approx(150.0, rel=1e-3)
    b5 = building("b5")  # building=yes inside landuse=residential: 300 m² × 1 / 85 -> 4
    assert (b5["use"], b5["dwellings"], b5["dwellings_estimated"]) == ("residential", 4, True)
    assert building("b6")["commercial_m2"] == pytest.approx(200.0, rel=1e-3)
    b7 = building("b7")  # apartments + shop: 200 m² × (3 - 1) / 85 = 4.7 -> 5, ground floor shop
    assert (b7["use"], b7["dwellings"]) == ("mixed", 5)
    assert b7["commercial_m2"] == pytest.approx(200.0, rel=1e-3)
    b8 = building("b8")
    assert (b8["floors"], b8["height_m"], b8["use"], b8["dwellings"]) == (4, 12.0, "other", 0)
    assert building("b9").geometry.area == pytest.approx(50.0, rel=1e-3)  # two 25 m² triangles
    school = _row(buildings, "building_id", f"r{ids['b11']}")
    assert school["use"] == "school"
    assert school.geometry.area == pytest.approx(900.0 - 100.0, rel=1e-3)
    assert result.report.estimated["buildings: dwellings estimated from footprint × floors"] == 3


def test_mapped_landuse_lights_cameras_calming_pois(mapped):
    result, ids = mapped
    d = result.district
    uses = dict(zip(d.landuse["landuse_id"], d.landuse["use"], strict=True))
    assert uses == {
        f"w{ids['l1']}": "residential",
        f"w{ids['l2']}": "private",
        f"w{ids['l3']}": "wetland",
        f"w{ids['l4']}": "green",
        f"w{ids['l5']}": "other",
        f"w{ids['square']}": "square",
        f"w{ids['library']}": "culture",
    }
    lights = d.lights.set_index("light_id")
    assert lights.loc[f"n{ids['lamp1']}", "height_m"] == 6.0
    assert lights.loc[f"n{ids['lamp2']}", "height_m"] == 5.0
    assert set(lights["lumens"]) == {3000.0}
    cameras = d.cameras.set_index("camera_id")
    assert set(cameras.index) == {f"n{ids[k]}" for k in ("cam1", "cam2", "cam3", "cam4")}
    # cam4, a fixed camera without camera:direction at (30, 120), is kept facing the
    # nearest walkable street, Main (y = 100, 20 m south of it): heading 180°.
    cam4 = cameras.loc[f"n{ids['cam4']}"]
    assert cam4["heading_deg"] == pytest.approx(180.0, abs=0.1)
    assert (cam4["hfov_deg"], bool(cam4["heading_estimated"])) == (90.0, True)
    assert not cameras.loc[
        [f"n{ids[k]}" for k in ("cam1", "cam2", "cam3")], "heading_estimated"
    ].any()
    cam1 = cameras.loc[f"n{ids['cam1']}"]
    assert (cam1["heading_deg"], cam1["tilt_deg"], cam1["height_m"]) == (45.0, -15.0, 3.5)
    cam2 = cameras.loc[f"n{ids['cam2']}"]
    assert (cam2["heading_deg"], cam2["hfov_deg"]) == (180.0, 180.0)
    cam3 = cameras.loc[f"n{ids['cam3']}"]
    assert (cam3["heading_deg"], cam3["hfov_deg"]) == (0.0, 360.0)
    calming = d.calming.set_index("device_id")
    assert calming.loc[f"n{ids['bump']}", "kind"] == "hump"
    assert calming.loc[f"n{ids['bump']}", "street_id"] == f"w{ids['s2']}-1"
    assert calming.loc[f"w{ids['s13']}", "kind"] == "table"
    assert calming.loc[f"w{ids['s13']}", "street_id"] == f"w{ids['s13']}"
    kinds = dict(zip(d.pois["poi_id"], d.pois["kind"], strict=True))
    assert kinds == {
        f"n{ids['school']}": "school",
        f"n{ids['shop']}": "supermarket",
        f"n{ids['bus_stop']}": "transit_stop",
        f"w{ids['library']}": "library",
        f"w{ids['b7']}": "shop",
    }
    library = _row(d.pois, "poi_id", f"w{ids['library']}")
    assert _row(d.landuse, "landuse_id", f"w{ids['library']}").geometry.contains(library.geometry)


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 48.28032),
        ("10 knots", 18.52),
        ("DK:urban", 50.0),
        ("DK:rural", 80.0),
        ("dk:urban", 50.0),
        ("50;30", 50.0),
        ("none", 130.0),
        ("walk", 7.0),
        ("signals", None),
        ("fast", None),
        ("0", None),
        ("50 furlongs", None),
        (None, None),
    ],
)
def test_parse_maxspeed(value, kmh):
    parsed = parse_maxspeed(value)
    if kmh is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(kmh)


def test_parse_bbox_and_tenure():
    assert parse_bbox("10.0, 55.0, 10.1, 55.1") == (10.0, 55.0, 10.1, 55.1)
    for bad in ("10,55,10.1", "a,b,c,d", "10.1,55,10.0,55.1", "10,95,11,96"):
        with pytest.raises(InputError, match="W,S,E,N"):
            parse_bbox(bad)
    assert parse_tenure("almen_family") == "almen_family"
    assert parse_tenure("apartments=almen_family,*=owner_occupied") == {
        "apartments": "almen_family",
        "*": "owner_occupied",
    }
    with pytest.raises(InputError, match="unknown tenure"):
        parse_tenure("council_housing")
    with pytest.raises(InputError, match="BUILDING=TENURE"):
        parse_tenure("apartments=")


def test_default_tenure_is_na_and_said_in_provenance(osm_dir):
    district = district_from_osm(osm_dir / OAKLAND, crs="auto")
    assert district.buildings["tenure"].isna().all()
    assert "Tenure is not recorded in OpenStreetMap" in district.provenance.notes


# --------------------------------------------------------------- bad input


@pytest.fixture
def bad_files(tmp_path) -> dict[str, Path]:
    files = {
        "not OSM": tmp_path / "notes.osm",
        "not OSM PBF": tmp_path / "notes.osm.pbf",
        "empty": tmp_path / "empty.osm",
        "wrong suffix": tmp_path / "district.gpkg",
    }
    files["not OSM"].write_text("this is not XML, let alone OpenStreetMap\n")
    files["not OSM PBF"].write_text('{"type": "FeatureCollection"}\n')
    files["empty"].write_bytes(b"")
    files["wrong suffix"].write_text("x")
    return files


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not OSM", "not a readable OSM XML"),
        ("not OSM PBF", "not a readable PBF"),
        ("empty", "the file is empty"),
        ("wrong suffix", "not an OpenStreetMap file name"),
    ],
)
def test_bad_files_raise_clear_errors(bad_files, key, message):
    with pytest.raises(InputError, match=message):
        import_osm(bad_files[key])


def test_bbox_with_nothing_raises(osm_dir):
    with pytest.raises(InputError, match="contains no OpenStreetMap data"):
        import_osm(osm_dir / BAVARIA, bbox=(12.0, 50.0, 12.01, 50.01), context_m=0)


def test_boundary_in_the_wrong_crs_raises(osm_dir):
    degrees = (
        "POLYGON ((10.068 48.135, 10.071 48.135, 10.071 48.137, 10.068 48.137, 10.068 48.135))"
    )
    with pytest.raises(InputError, match="look like longitude/latitude degrees"):
        import_osm(osm_dir / BAVARIA, boundary=degrees, crs="EPSG:25832")
    # Correct once its CRS is stated.
    district = district_from_osm(osm_dir / BAVARIA, boundary=degrees, boundary_crs="EPSG:4326")
    assert len(district.streets) > 0
    # A boundary in metres of another place (Vollsmose, EPSG:25832) holds none of the data.
    odense = (
        "POLYGON ((589800 6140330, 591910 6140330, 591910 6142270, 589800 6142270, 589800 6140330))"
    )
    with pytest.raises(InputError, match="check the bbox/boundary and its CRS"):
        import_osm(osm_dir / BAVARIA, boundary=odense, crs="EPSG:25832")
    with pytest.raises(InputError, match="not valid in EPSG:4326"):
        import_osm(osm_dir / BAVARIA, boundary=odense, boundary_crs="EPSG:4326")


def test_boundary_file_with_its_own_crs(osm_dir, tmp_path):
    import geopandas as gpd

    area = shapely.box(10.0685, 48.1352, 10.0705, 48.1365)
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_crs("EPSG:3035").to_file(path)
    district = district_from_osm(osm_dir / BAVARIA, boundary=path, crs="auto", context_m=0)
    to_utm = pyproj.Transformer.from_crs(4326, district.crs, always_xy=True)
    x, y = to_utm.transform(10.0695, 48.13585)
    assert district.boundary.contains(shapely.Point(x, y))
    assert district.boundary.area == pytest.approx(148.0 * 144.6, rel=0.02)


def test_other_bad_arguments(osm_dir):
    for kwargs, message in [
        ({"crs": "EPSG:4326"}, "not a projected CRS"),
        ({"crs": "EPSG:999999"}, "not a CRS"),
        ({"context_m": -1.0}, "context_m"),
        ({"average_dwelling_m2": 0.0}, "average_dwelling_m2"),
        ({"tenure": "council"}, "unknown tenure"),
        ({"bbox": (1, 2, 3, 4), "boundary": "POLYGON ((0 0, 1 0, 1 1, 0 0))"}, "not both"),
        ({"boundary": "not a polygon at all"}, "neither an existing file nor WKT"),
        ({"boundary": "LINESTRING (0 0, 1 1)"}, "must be a Polygon"),
    ]:
        with pytest.raises(InputError, match=message):
            import_osm(osm_dir / BAVARIA, **{"crs": "EPSG:25832", **kwargs})


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        import_osm("/nonexistent/extract.osm.pbf")


# --------------------------------------------------------------- Overpass (--place)


@pytest.fixture
def no_network(monkeypatch):
    """Point osmnx at hosts that never resolve (RFC 2606 .invalid), online or not."""
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "nominatim_url", "https://nominatim.invalid/")
    monkeypatch.setattr(ox.settings, "overpass_url", "https://overpass.invalid/api")


def test_place_without_network_fails_fast_with_a_clear_message(no_network):
    with pytest.raises(InputError, match="needs network access"):
        import_osm_place("Vollsmose, Odense", timeout_s=5)


def test_place_downloads_through_overpass(osm_dir, tmp_path, monkeypatch):
    """The online path with the two web calls replaced by the real Bavaria data as JSON."""
    import geopandas as gpd
    import osmnx as ox

    raw = parse_xml(osm_dir / BAVARIA)
    elements = [
        {"type": "node", "id": nid, "lon": lon, "lat": lat, "tags": raw.node_tags.get(nid, {})}
        for nid, (lon, lat) in raw.nodes.items()
    ]
    elements += [
        {"type": "way", "id": wid, "nodes": refs, "tags": tags}
        for wid, (refs, tags) in raw.ways.items()
    ]
    elements += [
        {
            "type": "relation",
            "id": rid,
            "members": [{"type": k, "ref": r, "role": role} for k, r, role in members],
            "tags": tags,
        }
        for rid, (members, tags) in raw.relations.items()
    ]
    area = shapely.box(10.068, 48.135, 10.071, 48.137)
    queries = []
    monkeypatch.setattr(osm.overpass, "_check_reachable", lambda urls, timeout_s: None)
    monkeypatch.setattr(
        ox, "geocode_to_gdf", lambda place: gpd.GeoDataFrame(geometry=[area], crs=4326)
    )
    monkeypatch.setattr(
        ox._overpass,
        "_overpass_request",
        lambda data: queries.append(data["data"]) or {"elements": elements},
    )
    result = import_osm_place("Somewhere, Bavaria", crs="auto")
    assert len(queries) == 1 and "[out:json]" in queries[0] and 'nwr["highway"]' in queries[0]
    offline = import_osm(osm_dir / BAVARIA, crs="auto")
    assert set(result.district.streets["street_id"]) == set(offline.district.streets["street_id"])
    assert len(result.district.buildings) == len(offline.district.buildings)
    assert "Overpass" in result.district.provenance.source
    assert result.district.name == "Somewhere, Bavaria"
    validate_district(result.district, strict=True)


# --------------------------------------------------------------- CLI


def test_cli_imports_and_reports(osm_dir, tmp_path):
    out = tmp_path / "agu.gpkg"
    result = runner.invoke(
        app,
        ["import-osm", str(osm_dir / AGUASCALIENTES), "--crs", "auto", "-o", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["district"]["crs"] == "EPSG:32613"
    assert payload["report"]["dropped_total"] == 0
    from vollsmose_gis import load_district

    loaded = load_district(out)
    assert loaded.provenance.kind == "openstreetmap"
    assert len(loaded.streets) == payload["report"]["kept"]["streets"]
    # Refuses to overwrite without --overwrite.
    again = runner.invoke(app, ["import-osm", str(osm_dir / AGUASCALIENTES), "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def test_cli_table_output(osm_dir, tmp_path):
    out = tmp_path / "bavaria.gpkg"
    result = runner.invoke(
        app, ["import-osm", str(osm_dir / BAVARIA), "--crs", "auto", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "dropped" in result.output and "OpenStreetMap contributors" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["{notosm}"],
        ["{empty}"],
        ["{bavaria}", "--bbox", "12.0,50.0,12.01,50.01", "--context-m", "0"],
        [
            "{bavaria}",
            "--boundary",
            "POLYGON ((10.068 48.135, 10.071 48.135, 10.071 48.137, 10.068 48.135))",
        ],
        ["{bavaria}", "--bbox", "1,2,3"],
        ["--place", "Vollsmose, Odense"],
        [],
    ],
    ids=[
        "non-OSM file",
        "empty file",
        "bbox with nothing",
        "boundary wrong CRS",
        "bad bbox",
        "place offline",
        "no source",
    ],
)
def test_cli_bad_input_exits_2_and_leaves_no_file(args, osm_dir, bad_files, tmp_path, no_network):
    out = tmp_path / "out" / "district.gpkg"
    out.parent.mkdir()
    paths = {
        "notosm": bad_files["not OSM"],
        "empty": bad_files["empty"],
        "bavaria": osm_dir / BAVARIA,
    }
    argv = ["import-osm", *(a.format(**paths) for a in args), "-o", str(out)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "error" in result.output
    assert list(out.parent.iterdir()) == []  # no partial or temporary file


def test_report_round_trips_to_json(osm_dir):
    report = import_osm(osm_dir / BAVARIA, crs="auto").report
    data = json.loads(json.dumps(report.to_dict()))
    assert data["dropped_total"] == report.n_dropped
    assert data["kept"]["buildings"] == report.kept["buildings"]


def test_street_pieces_meet_at_junctions(osm_dir):
    """Split pieces end exactly where another street passes: the layer is noded."""
    streets = import_osm(osm_dir / OAKLAND, crs="auto").district.streets
    ends = shapely.get_coordinates(shapely.boundary(np.array(list(streets.geometry), dtype=object)))
    lines = list(streets.geometry)
    interior_hits = 0
    for line in lines:
        for x, y in list(line.coords)[1:-1]:
            if any((x, y) in set(other.coords) for other in lines if other is not line):
                interior_hits += 1
    assert interior_hits == 0
    assert len(ends) >= len(streets)  # closed loops have no boundary points
    assert all(isinstance(g, LineString) for g in lines)


# --------------------------------------------------------------- a crafted city centre
# Sidewalks and crossings as separate ways, cameras without direction, shops in large
# buildings, access=permissive on steps, a place=city node (issues 16 §4, 17 §1).

CITY_BOUNDARY = shapely.box(X0 - 180, Y0 - 180, X0 + 180, Y0 + 180)  # 0.36 km × 0.36 km


@pytest.fixture(scope="module")
def city_file(tmp_path_factory):
    """Two roads crossing at (0, 0) with an L-shaped sidewalk in each quadrant, crossings
    12 m from the centre, a T-junction at (150, 0) without sidewalks; metres EPSG:32632."""
    b = OsmBuilder()
    ids: dict[str, int] = {}
    road = {"highway": "secondary"}
    west, centre, east = b.node(-300, 0), b.node(0, 0), b.node(300, 0)
    south, north = b.node(0, -300), b.node(0, 300)
    on_a = {x: b.node(x, 0) for x in (-12, 12)}  # crossing nodes on road A
    on_b = {y: b.node(0, y) for y in (-12, 12)}  # crossing nodes on road B
    tee = b.node(150, 0)
    b.way([west, on_a[-12], centre, on_a[12], tee, east], {**road, "name": "A"})
    b.way([south, on_b[-12], centre, on_b[12], north], {**road, "name": "B"})
    b.way([tee, b.node(150, 300)], {"highway": "residential", "name": "C"})
    # Sidewalks: in quadrant (sx, sy) an L from the far end of road A's side to road B's.
    ends: dict[tuple[int, int], dict[str, int]] = {}
    for sx in (-1, 1):
        for sy in (-1, 1):
            along_a, along_b = b.node(12 * sx, 8 * sy), b.node(8 * sx, 12 * sy)
            refs = [b.node(300 * sx, 8 * sy), along_a, b.node(8 * sx, 8 * sy), along_b,
                    b.node(8 * sx, 300 * sy)]  # fmt: skip
            b.way(refs, {"highway": "footway", "footway": "sidewalk"})
            ends[(sx, sy)] = {"a": along_a, "b": along_b}
    for sx in (-1, 1):  # crossings of road A, at x = ±12
        b.way([ends[(sx, -1)]["a"], on_a[12 * sx], ends[(sx, 1)]["a"]],
              {"highway": "footway", "footway": "crossing"})  # fmt: skip
    for sy in (-1, 1):  # crossings of road B, at y = ±12
        b.way([ends[(-1, sy)]["b"], on_b[12 * sy], ends[(1, sy)]["b"]],
              {"highway": "footway", "footway": "crossing"})  # fmt: skip
    # Access: generic tags on paths never open them to cars; the mode's own key does.
    ids["steps"] = b.line([(-150, -150), (-150, -120)], {"highway": "steps",
                                                          "access": "permissive"})  # fmt: skip
    ids["footway_yes"] = b.line([(-140, -150), (-140, -120)], {"highway": "footway",
                                                                "access": "yes"})  # fmt: skip
    ids["footway_motor"] = b.line([(-130, -150), (-130, -120)], {"highway": "footway",
                                                                  "motor_vehicle": "yes"})  # fmt: skip
    # Buildings with one shop node each.
    ids["block"] = b.rect(60, 70, 40, 40, {"building": "yes", "building:levels": "4"})
    b.node(80, 90, {"shop": "clothes"})
    ids["station"] = b.rect(-100, 40, 60, 30, {"building": "train_station"})
    b.node(-70, 55, {"shop": "kiosk"})
    ids["hall"] = b.rect(-100, -100, 40, 40, {"building": "yes"})
    b.node(-80, -80, {"shop": "bakery"})
    ids["kiosk"] = b.rect(40, -60, 10, 10, {"building": "yes"})
    b.node(45, -55, {"shop": "kiosk"})
    ids["town_house"] = b.rect(60, -60, 10, 15, {"building": "yes", "building:levels": "4"})
    b.node(65, -55, {"shop": "bakery"})
    # Cameras.
    ids["cam_street"] = b.node(30, 25, {"man_made": "surveillance", "surveillance": "public"})
    ids["cam_indoor"] = b.node(85, 95, {"man_made": "surveillance", "surveillance": "indoor"})
    ids["cam_far"] = b.node(-60, 160, {"man_made": "surveillance"})
    ids["cam_zone"] = b.node(60, 60, {"man_made": "surveillance", "surveillance": "outdoor",
                                      "surveillance:zone": "building"})  # fmt: skip
    ids["cam_dir"] = b.node(20, 30, {"man_made": "surveillance", "camera:direction": "270"})
    # Places: the city outranks the nearer town.
    b.node(-50, -50, {"place": "city", "name": "Testby"})
    b.node(5, 5, {"place": "town", "name": "Smallville"})
    path = b.write(tmp_path_factory.mktemp("city") / "city.osm")
    return path, ids


@pytest.fixture(scope="module")
def city(city_file):
    path, ids = city_file
    result = import_osm(path, boundary=CITY_BOUNDARY, boundary_crs="EPSG:32632", crs="EPSG:32632")
    return result, ids


def test_city_sidewalks_and_crossings_are_marked(city):
    result, _ = city
    streets = result.district.streets
    footway = streets["footway"].astype(object).where(streets["footway"].notna(), None)
    # Each L-shaped sidewalk is split at its two crossing nodes: 3 pieces × 4; each
    # crossing at its node on the road: 2 pieces × 4.
    assert (footway == "sidewalk").sum() == 12
    assert (footway == "crossing").sum() == 8
    roads = streets[streets["highway"].isin(["secondary", "residential"])]
    assert roads["footway"].isna().all()


def test_city_intersections_on_the_street_network_consolidated(city):
    from vollsmose_gis.connectivity import indicators, network_structure
    from vollsmose_gis.network import street_graph, walk_graph

    d = city[0].district
    walk = network_structure(walk_graph(d), d.boundary)
    # Walk graph, by hand: the centre and the 4 crossing nodes on the roads (4-way),
    # 8 sidewalk nodes where a crossing ends (3-way), the T at (150, 0) and the NE
    # sidewalk crossing road C at (150, 8) (4-way); the footways at x = -150..-130
    # touch nothing.
    assert walk["intersections"] == 15
    # Within 2 × 10 m: the centre's 13 nodes are one cluster (the farthest, (±12, ±8),
    # lie 14.4 m from the centre and chain through it), the T and (150, 8) another.
    assert walk["intersections_consolidated"] == 2
    streets = network_structure(street_graph(d), d.boundary)
    assert (streets["intersections"], streets["intersections_consolidated"]) == (2, 2)
    area_km2 = 0.36 * 0.36
    assert streets["intersection_density_per_km2"] == pytest.approx(2 / area_km2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ind = indicators(d)
    assert ind["intersection_density_per_km2"].value == pytest.approx(2 / area_km2)
    # Raw walk-graph junctions would have given 15 / 0.1296 = 115.7 per km².
    assert walk["intersections"] / area_km2 == pytest.approx(115.74, abs=0.01)
    # Boundary crossings of the street network: roads A (2 ends), B (2) and C (1) leave.
    assert ind["boundary_crossings_per_km"].value == pytest.approx(5 / 1.44)


def test_city_access_tags_do_not_open_paths_to_cars(city):
    result, ids = city
    streets = result.district.streets.set_index("street_id")
    steps, footway = streets.loc[f"w{ids['steps']}"], streets.loc[f"w{ids['footway_yes']}"]
    assert (bool(steps["car"]), bool(steps["walk"])) == (False, True)
    assert (bool(footway["car"]), bool(footway["walk"])) == (False, True)
    assert bool(streets.loc[f"w{ids['footway_motor']}", "car"])
    estimated = result.report.estimated
    assert (
        estimated[
            "streets: generic access tag on highway=steps does not open it to car "
            "(only motor_vehicle/motorcar can)"
        ]
        == 1
    )


def test_city_buildings_with_one_shop_are_not_retail(city):
    result, ids = city
    buildings = result.district.buildings.set_index("building_id")
    block = buildings.loc[f"w{ids['block']}"]
    # 1,600 m², 4 floors, one shop (250 m² unit): mixed, dwellings on the 3 upper floors.
    assert block["use"] == "mixed"
    assert block["dwellings"] == round(1600 * 3 / 85)
    assert buildings.loc[f"w{ids['station']}", "use"] == "other"
    assert buildings.loc[f"w{ids['hall']}", "use"] == "other"  # 1,600 m², one floor
    assert buildings.loc[f"w{ids['kiosk']}", "use"] == "retail"  # 100 m²: the shop fills it
    # 150 m² × 4 floors = 600 m² of floor space, one shop: a shop with flats above.
    town_house = buildings.loc[f"w{ids['town_house']}"]
    assert town_house["use"] == "mixed" and town_house["dwellings"] == round(150 * 3 / 85)


def test_city_cameras_without_direction_are_kept_with_an_estimated_heading(city):
    result, ids = city
    cameras = result.district.cameras.set_index("camera_id")
    assert f"n{ids['cam_indoor']}" not in cameras.index
    assert result.report.dropped["cameras: surveillance=indoor (sees no public space)"] == 1
    street = cameras.loc[f"n{ids['cam_street']}"]
    # (30, 25): the NE sidewalk's arm y = 8 is 17 m south, its arm x = 8 is 22 m west.
    assert street["heading_deg"] == pytest.approx(180.0, abs=0.1)
    assert (street["hfov_deg"], bool(street["heading_estimated"])) == (90.0, True)
    zone = cameras.loc[f"n{ids['cam_zone']}"]  # watches the block 10 m north of it
    assert zone["heading_deg"] == pytest.approx(0.0, abs=0.1) or zone["heading_deg"] > 359.9
    far = cameras.loc[f"n{ids['cam_far']}"]  # nothing walkable within 50 m
    assert (far["hfov_deg"], bool(far["heading_estimated"])) == (360.0, True)
    given = cameras.loc[f"n{ids['cam_dir']}"]
    assert (given["heading_deg"], bool(given["heading_estimated"])) == (270.0, False)
    estimated = result.report.estimated
    assert (
        estimated[
            "cameras: no camera:direction, heading estimated towards the nearest walkable "
            "street (within 50 m)"
        ]
        == 1
    )
    assert (
        estimated[
            "cameras: no camera:direction, heading estimated towards the nearest building "
            "(within 50 m)"
        ]
        == 1
    )
    assert (
        estimated[
            "cameras: no camera:direction, seen all round (nearest walkable street: none within "
            "50 m)"
        ]
        == 1
    )
    assert "Cameras: 3 of 4 kept with an estimated heading" in result.district.provenance.notes


def test_city_centre_from_the_place_node(city):
    result, _ = city
    settings = result.district.settings
    assert settings.centre_name == "Testby"
    assert settings.centre_xy == pytest.approx((X0 - 50, Y0 - 50), abs=0.05)
    assert settings.country is None and settings.rules == ()
    assert result.report.context


def test_import_without_boundary_says_it_has_no_context(city_file):
    from vollsmose_gis.connectivity import ConnectivityWarning, indicators

    result = import_osm(city_file[0], crs="EPSG:32632")
    assert result.report.context is False
    assert result.report.to_dict()["context"] is False
    assert any("--bbox" in note for note in result.report.notes)
    assert "No context" in result.district.provenance.notes
    with pytest.warns(ConnectivityWarning, match="--bbox smaller than the extract"):
        ind = indicators(result.district)
    crossings = ind["boundary_crossings_per_km"]
    assert math.isnan(crossings.value) and "--bbox" in crossings.reason
    assert math.isnan(ind["drive_boundary_crossings_per_km"].value)


def test_whole_world_bbox_on_a_small_extract_says_what_the_data_covers(osm_dir):
    with pytest.raises(InputError, match=r"far more than the data .*longitude 10\.068"):
        import_osm(osm_dir / BAVARIA, bbox=(-180.0, -90.0, 180.0, 90.0))


def test_city_new_columns_and_centre_survive_a_geopackage(city, tmp_path):
    from vollsmose_gis.io import load_district, save_district
    from vollsmose_gis.network import street_graph

    result, ids = city
    save_district(result.district, tmp_path / "city.gpkg")
    d = load_district(tmp_path / "city.gpkg")
    assert (d.streets["footway"] == "sidewalk").sum() == 12
    cameras = d.cameras.set_index("camera_id")["heading_estimated"]
    assert bool(cameras[f"n{ids['cam_street']}"]) and not bool(cameras[f"n{ids['cam_dir']}"])
    assert d.settings.centre_name == "Testby"
    # The street network of the reloaded district still leaves the sidewalks out.
    assert street_graph(d).n_edges == street_graph(result.district).n_edges
    assert "sidewalk" not in set(
        street_graph(d).edges["street_id"].map(d.streets.set_index("street_id")["footway"]).dropna()
    )
