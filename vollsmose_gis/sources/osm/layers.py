"""The District layers built from the read OSM objects (streets, buildings, POIs...)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from vollsmose_gis.sources.osm.geometry import (
    _relation_polygon,
    _representative_point,
    _way_polygon,
)
from vollsmose_gis.sources.osm.read import ImportReport, _Raw
from vollsmose_gis.sources.osm.tags import (
    _direction,
    _first_match,
    _height,
    _is_building,
    _number,
    _parse_count,
    _parse_length_m,
    _poi_kind,
    _street_attributes,
)
from vollsmose_gis.standards import categories, layer_schemas


def _streets(  # noqa: C901 - waiver: one branch per OSM tag rule of the street mapping
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry], dict[int, str]]:
    """Street pieces: ways of a streets-schema class, split at junctions and at gaps.

    Returns rows, geometries and a map node id -> street_id (for calming devices).
    """
    classes = set(categories("highway_classes"))
    candidates: list[int] = []
    for wid in raw.feature_ways:
        tags = raw.ways[wid].tags or {}
        highway = tags.get("highway")
        if highway is None or highway in ("street_lamp", "bus_stop"):
            continue
        if tags.get("area") == "yes":
            if highway not in rules["landuse"]["highway_area"]:
                report.dropped[f"streets: highway={highway} mapped as an area (area=yes)"] += 1
            continue
        if highway not in classes:
            report.dropped[f"streets: highway={highway} is not a street class"] += 1
            continue
        candidates.append(wid)

    # Nodes used more than once (by two ways, or twice by one) are junctions: split there
    # so that the streets layer is noded like a routable network.
    use_count: Counter[int] = Counter()
    for wid in candidates:
        refs = raw.ways[wid].refs
        keep = np.ones(len(refs), dtype=bool)
        keep[1:] = refs[1:] != refs[:-1]
        use_count.update(refs[keep].tolist())

    rows: list[dict[str, Any]] = []
    piece_coords: list[np.ndarray] = []
    node_street: dict[int, str] = {}
    for wid in candidates:
        way = raw.ways[wid]
        assert way.xy is not None and way.tags is not None
        refs, located, xy = way.refs, way.located, way.xy
        ref_list, located_list = refs.tolist(), located.tolist()
        # Same position as the node before: a repeated ref or a duplicate node.
        same = [False, *np.all(xy[1:] == xy[:-1], axis=1).tolist()]
        if len(refs) > 1 and (refs[1:] == refs[:-1]).any():
            report.repaired["streets: duplicate consecutive nodes removed"] += 1
        elif any(same):
            report.repaired["streets: duplicate nodes at one position merged"] += 1
        runs: list[list[int]] = []
        current: list[int] = []
        last = len(refs) - 1
        for i, ref in enumerate(ref_list):
            if not located_list[i]:
                if len(current) >= 2:
                    runs.append(current)
                current = []
                continue
            junction = 0 < i < last and use_count[ref] >= 2
            if current and same[i]:
                if junction and len(current) >= 2:
                    runs.append(current)
                    current = [current[-1]]
                continue
            current.append(i)
            if junction and len(current) >= 2:
                runs.append(current)
                current = [i]
        if len(current) >= 2:
            runs.append(current)
        if not runs:
            if len(refs) < 2:
                reason = "way with fewer than 2 nodes (clipped by the extract)"
            elif not located.all():
                reason = "fewer than 2 located nodes in a row (clipped at the extract edge)"
            else:
                reason = "all nodes at one position (zero length)"
            report.dropped[f"streets: {reason}"] += 1
            continue
        if not located.all():
            report.repaired["streets: clipped way (nodes missing): kept its located parts"] += 1
        attributes = _street_attributes(wid, way.tags, raw.bus_ways, rules, report)
        reverse = attributes.pop("_reverse")
        for k, run in enumerate(runs, start=1):
            street_id = f"w{wid}" if len(runs) == 1 else f"w{wid}-{k}"
            rows.append({"street_id": street_id, **attributes})
            piece_coords.append(xy[run[::-1]] if reverse else xy[run])
            for ref in refs[run].tolist():
                node_street.setdefault(ref, street_id)
    geoms: list[BaseGeometry] = []
    if piece_coords:
        lengths = [len(c) for c in piece_coords]
        geoms = list(
            shapely.linestrings(
                np.concatenate(piece_coords), indices=np.repeat(np.arange(len(lengths)), lengths)
            )
        )
    return rows, geoms, node_street


def _area_features(
    raw: _Raw, select: Callable[[dict[str, str]], bool], layer: str, report: ImportReport
) -> Iterator[tuple[str, str, dict[str, str], BaseGeometry]]:
    """Yield (id, osm_id, tags, polygon) of closed ways and multipolygons that ``select``."""
    for wid in raw.feature_ways:
        tags = raw.ways[wid].tags or {}
        if not select(tags):
            continue
        geom, note = _way_polygon(raw.ways[wid])
        if geom is None:
            report.dropped[f"{layer}: {note}"] += 1
            continue
        if note:
            report.repaired[f"{layer}: {note}"] += 1
        yield f"w{wid}", f"way/{wid}", tags, geom
    for rid, tags, members in raw.relations:
        if not select(tags):
            continue
        geom, note = _relation_polygon(members, raw.ways)
        if geom is None:
            report.dropped[f"{layer}: {note}"] += 1
            continue
        if note:
            report.repaired[f"{layer}: {note}"] += 1
        yield f"r{rid}", f"relation/{rid}", tags, geom


def _buildings(
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """Building footprints with use, floors and height from tags (dwellings come later)."""
    building_rules = rules["buildings"]
    storey_m = float(building_rules["dwellings"]["storey_height_m"])
    rows, geoms = [], []
    for fid, osm_id, tags, geom in _area_features(raw, _is_building, "buildings", report):
        value = tags["building"]
        use = building_rules["use"].get(value)
        tag_use = _first_match(tags, building_rules["tag_use"])
        if use is None or (use == "other" and tag_use is not None):
            use = tag_use
        elif use == "residential" and tag_use in building_rules["commercial_uses"]:
            use = "mixed"
        height = _parse_length_m(tags.get("height"))
        if "height" in tags and height is None:
            report.estimated["buildings: height not understood, left unknown"] += 1
        floors: int | None = None
        if "building:levels" in tags:
            levels = _parse_count(tags["building:levels"])
            if levels is None:
                report.estimated["buildings: building:levels not understood"] += 1
            else:
                floors = int(levels)
                if levels != floors:
                    report.repaired["buildings: fractional building:levels rounded down"] += 1
        if floors is None and height is not None:
            floors = max(1, round(height / storey_m))
            report.estimated["buildings: floors from height / storey height"] += 1
        flats: int | None = None
        if "building:flats" in tags:
            count = _parse_count(tags["building:flats"])
            if count is None or count != int(count):
                report.estimated["buildings: building:flats not understood, estimated"] += 1
            else:
                flats = int(count)
        rows.append({
            "building_id": fid,
            "osm_id": osm_id,
            "name": tags.get("name"),
            "use": use,
            "floors": floors,
            "height_m": height,
            "_value": value,
            "_flats": flats,
        })  # fmt: skip
        geoms.append(geom)
    return rows, geoms


def _landuse(
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """Land-use polygons from landuse/leisure/natural/amenity/place/highway-area tags."""
    landuse_rules = rules["landuse"]
    table = {
        key: landuse_rules[key] for key in ("landuse", "leisure", "natural", "amenity", "place")
    }

    def use_of(tags: dict[str, str]) -> str | None:
        if _is_building(tags):
            return None
        if tags.get("area") == "yes" and tags.get("highway") in landuse_rules["highway_area"]:
            return str(landuse_rules["highway_area"][tags["highway"]])
        return _first_match(tags, table)

    rows, geoms = [], []
    for fid, osm_id, tags, geom in _area_features(
        raw, lambda t: use_of(t) is not None, "landuse", report
    ):
        use = use_of(tags)
        if (
            use == "green"
            and tags.get("leisure") == "garden"
            and (tags.get("access") in landuse_rules["private_access"])
        ):
            use = "private"
        rows.append({"landuse_id": fid, "osm_id": osm_id, "name": tags.get("name"), "use": use})
        geoms.append(geom)
    return rows, geoms


def _pois(
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """POIs from amenity/shop/office/healthcare/public-transport/leisure tags."""
    assert raw.node_xy is not None
    rows, geoms = [], []
    stop_positions, platforms = [], []
    for (nid, _, _, tags), xy in zip(raw.nodes, raw.node_xy, strict=True):
        kind = _poi_kind(tags, rules)
        if kind is None:
            continue
        rows.append({"poi_id": f"n{nid}", "osm_id": f"node/{nid}", "kind": kind,
                     "name": tags.get("name"), "_from_node": True})  # fmt: skip
        geoms.append(Point(xy))
        if tags.get("public_transport") == "stop_position":
            stop_positions.append(len(rows) - 1)
        elif kind == "transit_stop":
            platforms.append(len(rows) - 1)
    for wid in raw.feature_ways:
        way = raw.ways[wid]
        kind = _poi_kind(way.tags or {}, rules)
        if kind is None:
            continue
        point = _representative_point(way)
        if point is None:
            report.dropped["pois: way without located nodes"] += 1
            continue
        if not way.located.all():
            report.repaired["pois: clipped way, placed at its located nodes"] += 1
        rows.append({"poi_id": f"w{wid}", "osm_id": f"way/{wid}", "kind": kind,
                     "name": (way.tags or {}).get("name"), "_from_node": False})  # fmt: skip
        geoms.append(point)
    for rid, tags, members in raw.relations:
        kind = _poi_kind(tags, rules)
        if kind is None:
            continue
        geom, _ = _relation_polygon(members, raw.ways)
        if geom is None:
            report.dropped["pois: multipolygon without usable geometry"] += 1
            continue
        rows.append({"poi_id": f"r{rid}", "osm_id": f"relation/{rid}", "kind": kind,
                     "name": tags.get("name"), "_from_node": False})  # fmt: skip
        geoms.append(geom.representative_point())
    if stop_positions and platforms:
        merge_m = float(rules["pois"]["stop_position_merge_m"])
        tree = shapely.STRtree([geoms[i] for i in platforms])
        near = tree.query([geoms[i] for i in stop_positions], predicate="dwithin", distance=merge_m)
        duplicate = {stop_positions[i] for i in np.unique(near[0]).tolist()}
        if duplicate:
            report.dropped[
                "pois: public_transport=stop_position beside a platform (same stop)"
            ] += len(duplicate)
            rows = [r for i, r in enumerate(rows) if i not in duplicate]
            geoms = [g for i, g in enumerate(geoms) if i not in duplicate]
    return rows, geoms


def _lights(
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """Street lamps (highway=street_lamp nodes) with the documented default lamp."""
    assert raw.node_xy is not None
    light_rules = rules["lights"]
    rows, geoms = [], []
    for (nid, _, _, tags), xy in zip(raw.nodes, raw.node_xy, strict=True):
        if tags.get("highway") != "street_lamp":
            continue
        report.estimated["lights: lumens not in OSM, default used"] += 1
        rows.append({
            "light_id": f"n{nid}",
            "osm_id": f"node/{nid}",
            "lumens": float(light_rules["default_lumens"]),
            "height_m": _height(tags, float(light_rules["default_height_m"]), "lights", report),
        })  # fmt: skip
        geoms.append(Point(xy))
    return rows, geoms


def _bearing_deg(dx: float, dy: float) -> float:
    """Compass bearing of the vector (dx east, dy north): 0 = north, clockwise, degrees."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _estimate_heading(
    xy: np.ndarray, targets: shapely.STRtree | None, target_geoms: np.ndarray, radius_m: float
) -> tuple[float, float] | None:
    """Bearing (degrees) and distance (m) to the nearest target within ``radius_m``, or None."""
    if targets is None:
        return None
    point = Point(xy)
    found = targets.query_nearest(point, max_distance=radius_m, return_distance=True)
    if not len(found[0]):
        return None
    geom = target_geoms[int(found[0][0])]
    distance = float(found[1][0])
    nearest = shapely.get_coordinates(shapely.shortest_line(point, geom))[1]
    return _bearing_deg(nearest[0] - xy[0], nearest[1] - xy[1]), distance


def _cameras(
    raw: _Raw, rules: dict[str, Any], report: ImportReport,
    streets: list[dict[str, Any]] | None = None, street_geoms: list[BaseGeometry] | None = None,
    building_geoms: list[BaseGeometry] | None = None,
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:  # fmt: skip
    """Cameras: man_made=surveillance nodes of a camera type.

    A fixed camera without a usable ``camera:direction`` is kept with an estimated
    heading (``heading_estimated`` true): towards the nearest walkable street within
    ``estimate_radius_m`` (towards the nearest building for a non-public
    ``surveillance:zone`` such as ``building`` or ``shop``: the frontage it watches),
    else all round (hfov 360°).  ``surveillance=indoor`` cameras see no public space
    and are dropped.  Every estimate and drop is counted in the report.
    """
    assert raw.node_xy is not None
    camera_rules = rules["cameras"]
    compass = {k: float(v) for k, v in camera_rules["compass"].items()}
    radius_m = float(camera_rules["estimate_radius_m"])
    at_target_m = float(camera_rules["estimate_min_distance_m"])
    dropped_kinds = set(camera_rules["dropped_surveillance"])
    building_zones = set(camera_rules["building_zones"])
    walk_lines = np.array(
        [g for r, g in zip(streets or [], street_geoms or [], strict=True) if r["walk"]],
        dtype=object,
    )
    street_tree = shapely.STRtree(walk_lines) if len(walk_lines) else None
    building_array = np.array(list(building_geoms or []), dtype=object)
    building_tree = shapely.STRtree(building_array) if len(building_array) else None
    rows, geoms = [], []
    for (nid, _, _, tags), xy in zip(raw.nodes, raw.node_xy, strict=True):
        if tags.get("man_made") != "surveillance":
            continue
        kind = tags.get("surveillance:type", "camera")
        if kind not in camera_rules["camera_types"]:
            report.dropped[f"cameras: surveillance:type={kind} is not a camera"] += 1
            continue
        where = tags.get("surveillance")
        if where in dropped_kinds:
            report.dropped[f"cameras: surveillance={where} (sees no public space)"] += 1
            continue
        hfov = float(camera_rules["default_hfov_deg"])
        text = tags.get("camera:direction", tags.get("direction"))
        parsed = _direction(text, compass) if text is not None else None
        estimated = False
        if parsed is not None:
            heading, span = parsed
            if span is not None:
                hfov = max(hfov, span) if span < 360 else 360.0
        elif tags.get("camera:type") in camera_rules["all_round_types"]:
            heading, hfov = 0.0, 360.0
            report.estimated["cameras: dome/panning camera without direction, seen all round"] += 1
        else:
            reason = "no camera:direction" if text is None else "camera:direction not understood"
            estimated = True
            zone = tags.get("surveillance:zone")
            if zone in building_zones and where != "public":
                toward, tree, targets = "building", building_tree, building_array
            else:
                toward, tree, targets = "walkable street", street_tree, walk_lines
            found = _estimate_heading(xy, tree, targets, radius_m)
            if found is not None and found[1] >= at_target_m:
                heading = found[0]
                report.estimated[
                    f"cameras: {reason}, heading estimated towards the nearest {toward} "
                    f"(within {radius_m:g} m)"
                ] += 1
            else:
                heading, hfov = 0.0, 360.0
                where_text = "on it" if found is not None else f"none within {radius_m:g} m"
                report.estimated[
                    f"cameras: {reason}, seen all round (nearest {toward}: {where_text})"
                ] += 1
        tilt = 0.0
        if "camera:angle" in tags:
            angle = _number(tags["camera:angle"])
            if angle is None or angle[1] not in ("", "°", "deg"):
                report.estimated["cameras: camera:angle not understood, horizontal assumed"] += 1
            else:
                tilt = float(np.clip(-angle[0], -90.0, 90.0))
        rows.append({
            "camera_id": f"n{nid}",
            "osm_id": f"node/{nid}",
            "height_m": _height(tags, float(camera_rules["default_height_m"]), "cameras", report),
            "heading_deg": heading,
            "heading_estimated": estimated,
            "hfov_deg": hfov,
            "tilt_deg": tilt,
        })  # fmt: skip
        geoms.append(Point(xy))
    return rows, geoms


def _calming(
    raw: _Raw, rules: dict[str, Any], node_street: dict[int, str],
    streets: list[dict[str, Any]], street_geoms: list[BaseGeometry], report: ImportReport,
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:  # fmt: skip
    """Calming devices: traffic_calming nodes (and ways), highway=mini_roundabout nodes."""
    assert raw.node_xy is not None
    kinds = rules["calming"]["kinds"]
    rows, geoms = [], []

    def kind_of(tags: dict[str, str]) -> str | None:
        if "traffic_calming" in tags:
            kind = kinds.get(tags["traffic_calming"])
            if kind is None:
                value = tags["traffic_calming"]
                report.dropped[f"calming: traffic_calming={value} is not a known kind"] += 1
            return None if kind is None else str(kind)
        if tags.get("highway") == "mini_roundabout":
            return "mini_roundabout"
        return None

    for (nid, _, _, tags), xy in zip(raw.nodes, raw.node_xy, strict=True):
        kind = kind_of(tags)
        if kind is not None:
            rows.append({"device_id": f"n{nid}", "osm_id": f"node/{nid}", "kind": kind,
                         "street_id": node_street.get(nid)})  # fmt: skip
            geoms.append(Point(xy))
    pieces: dict[str, int] = {row["street_id"]: i for i, row in enumerate(streets)}
    for wid in raw.feature_ways:
        tags = raw.ways[wid].tags or {}
        if "traffic_calming" not in tags:
            continue
        kind = kind_of(tags)
        if kind is None:
            continue
        candidate = f"w{wid}" if f"w{wid}" in pieces else f"w{wid}-1"
        street_id: str | None = candidate
        if candidate in pieces:
            point = street_geoms[pieces[candidate]].interpolate(0.5, normalized=True)
        else:
            found = _representative_point(raw.ways[wid])
            if found is None:
                report.dropped["calming: way without located nodes"] += 1
                continue
            point, street_id = found, None
        rows.append({"device_id": f"w{wid}", "osm_id": f"way/{wid}", "kind": kind,
                     "street_id": street_id})  # fmt: skip
        geoms.append(point)
    return rows, geoms


def _settle_buildings(  # noqa: C901 - waiver: one branch per building-use evidence rule (shops, floors, land use)
    rows: list[dict[str, Any]], geoms: list[BaseGeometry], poi_rows: list[dict[str, Any]],
    poi_geoms: list[BaseGeometry], landuse_rows: list[dict[str, Any]],
    landuse_geoms: list[BaseGeometry], rules: dict[str, Any], tenure: dict[str, str],
    average_dwelling_m2: float, report: ImportReport,
) -> None:  # fmt: skip
    """Resolve remaining uses (POIs inside, landuse around) and estimate dwellings."""
    building_rules = rules["buildings"]
    if not rows:
        return
    tree = shapely.STRtree(geoms)
    node_pois = [i for i, r in enumerate(poi_rows) if r["_from_node"]]
    poi_use = building_rules["poi_use"]
    inside: dict[int, list[tuple[str, str]]] = {}  # building -> (use, POI kind)
    if node_pois:
        pairs = tree.query([poi_geoms[i] for i in node_pois], predicate="within")
        for p, b in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            kind = poi_rows[node_pois[p]]["kind"]
            use = poi_use.get(kind)
            if use is not None:
                inside.setdefault(b, []).append((str(use), str(kind)))
    unit_m2 = {str(k): float(v) for k, v in building_rules["poi_unit_m2"].items()}
    min_floors = int(building_rules["poi_mixed_min_floors"])
    for b, found in inside.items():
        row = rows[b]
        uses = [use for use, _ in found]
        common = Counter(uses).most_common(1)[0][0]
        if row["use"] is None:
            # A building without evidence of its own: its POIs give its use only when
            # they can fill its floor area (one shop does not make a station, a block
            # or a town house with flats above it retail).
            filled = sum(unit_m2.get(kind, unit_m2["*"]) for _, kind in found)
            if float(geoms[b].area) * (row["floors"] or 1) <= filled:
                row["use"] = common
                report.estimated["buildings: use taken from POIs mapped inside"] += 1
            elif row["floors"] is not None and row["floors"] >= min_floors:
                row["use"] = "mixed"
                report.estimated[
                    "buildings: large multi-storey building with a few POIs inside taken as "
                    "mixed (POIs on the ground floor)"
                ] += 1
            else:
                report.estimated[
                    "buildings: POIs inside too few to fill the building; use left to the "
                    "landuse around"
                ] += 1
        elif row["use"] == "residential" and common in building_rules["commercial_uses"]:
            row["use"] = "mixed"
            report.estimated["buildings: residential with shops/offices inside taken as mixed"] += 1
    landuse_use = building_rules["landuse_use"]
    zones = [i for i, r in enumerate(landuse_rows) if r["use"] in landuse_use]
    if zones:
        unresolved = [i for i, r in enumerate(rows) if r["use"] is None]
        zone_tree = shapely.STRtree([landuse_geoms[i] for i in zones])
        points = [geoms[i].representative_point() for i in unresolved]
        pairs = zone_tree.query(points, predicate="within")
        for p, z in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            row = rows[unresolved[p]]
            if row["use"] is None:
                row["use"] = str(landuse_use[landuse_rows[zones[z]]["use"]])
                report.estimated["buildings: use taken from the landuse polygon around"] += 1

    dwelling_rules = building_rules["dwellings"]
    default_floors = dwelling_rules["default_floors"]
    single = set(dwelling_rules["single_dwelling"])
    commercial_uses = set(building_rules["commercial_uses"])
    for row, geom in zip(rows, geoms, strict=True):
        value, flats = row.pop("_value"), row.pop("_flats")
        if row["use"] is None:
            row["use"] = str(building_rules["use"]["*"])
        if flats is not None and flats > 0 and row["use"] not in ("residential", "mixed"):
            row["use"] = "residential" if row["use"] == "other" else "mixed"
        footprint = float(geom.area)
        floors_used = (
            row["floors"]
            if row["floors"] is not None
            else int(default_floors.get(value, default_floors["*"]))
        )
        row["floor_area_m2"] = footprint * row["floors"] if row["floors"] is not None else None
        residential_floors = max(floors_used - 1, 1) if row["use"] == "mixed" else floors_used
        estimated = False
        if row["use"] not in ("residential", "mixed"):
            dwellings = 0
        elif flats is not None:
            dwellings = flats
        elif value in single:
            dwellings, estimated = 1, True
            report.estimated["buildings: dwellings 1 for a single-family house type"] += 1
        else:
            dwellings = max(1, round(footprint * residential_floors / average_dwelling_m2))
            estimated = True
            report.estimated["buildings: dwellings estimated from footprint × floors"] += 1
        row["dwellings"] = dwellings
        row["dwellings_estimated"] = estimated
        row["dwelling_type"] = building_rules["dwelling_type"].get(value) if dwellings > 0 else None
        if row["use"] in commercial_uses:
            row["commercial_m2"] = footprint * floors_used
        elif row["use"] == "mixed":
            row["commercial_m2"] = footprint
        else:
            row["commercial_m2"] = 0.0
        row["jobs"] = 0
        row["tenure"] = tenure.get(value, tenure.get("*")) if dwellings > 0 else None


def _frame(layer: str, rows: list[dict[str, Any]], geoms: list[BaseGeometry],
           crs: pyproj.CRS) -> gpd.GeoDataFrame:  # fmt: skip
    """A layer frame with every schema column (defaults where OSM has nothing)."""
    columns = layer_schemas()[layer]["columns"]
    data: dict[str, list[Any]] = {}
    for name, spec in columns.items():
        data[name] = [row.get(name, spec.get("default")) for row in rows]
    data["osm_id"] = [row["osm_id"] for row in rows]
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)
