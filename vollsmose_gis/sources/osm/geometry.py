"""Geometries of OSM ways and multipolygons, built with shapely and repaired where needed."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from vollsmose_gis.sources.osm.read import _Way


def _distinct(xy: np.ndarray) -> np.ndarray:
    """Drop consecutive duplicate coordinates (duplicate nodes, repeated refs)."""
    if len(xy) < 2:
        return xy
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    return xy[keep]


def _polygonal(geom: BaseGeometry) -> tuple[BaseGeometry | None, bool]:
    """Return (valid polygonal geometry or None, whether it had to be repaired)."""
    if geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon") and geom.area > 0:
        return geom, False
    fixed = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(fixed) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return None, True
    merged = shapely.union_all(parts)
    return merged, True


def _way_polygon(way: _Way) -> tuple[BaseGeometry | None, str]:
    """Polygon of a closed way: (geometry, repair note) or (None, drop reason)."""
    if len(way.refs) < 4:
        return None, "way with fewer than 4 nodes, not a ring (clipped by the extract)"
    if way.refs[0] != way.refs[-1]:
        return None, "way is not a closed ring (clipped by the extract, or mis-mapped)"
    if not way.located.all():
        return None, "ring has nodes missing from the file (clipped at the extract edge)"
    assert way.xy is not None
    coords = _distinct(way.xy)
    if len(coords) < 4:
        return None, "degenerate ring (fewer than 3 distinct corners)"
    geom, repaired = _polygonal(Polygon(coords))
    if geom is None:
        return None, "ring encloses no area"
    return geom, "invalid ring made valid" if repaired else ""


def _relation_polygon(
    members: list[tuple[str, int, str]], ways: dict[int, _Way]
) -> tuple[BaseGeometry | None, str]:
    """Assemble a multipolygon relation: (geometry, repair note) or (None, drop reason)."""
    lines: dict[bool, list[LineString]] = {True: [], False: []}
    incomplete = False
    for kind, ref, role in members:
        if kind != "w":
            continue
        way = ways.get(ref)
        if way is None or not way.located.all():
            incomplete = True
            continue
        assert way.xy is not None
        coords = _distinct(way.xy)
        if len(coords) >= 2:
            lines[role == "inner"].append(LineString(coords))
    if not lines[False]:
        return None, "multipolygon without outer member ways in the file (clipped or missing)"

    def faces(parts: list[LineString]) -> tuple[BaseGeometry, bool]:
        noded = shapely.get_parts(shapely.union_all(parts))
        polygons, cuts, dangles, invalid = shapely.polygonize_full(noded)
        leftovers = any(not g.is_empty for g in (cuts, dangles, invalid))
        return shapely.union_all(shapely.get_parts(polygons)), leftovers

    outer, open_outer = faces(lines[False])
    if outer.is_empty:
        return None, "multipolygon whose outer ways do not close into a ring"
    open_inner = False
    if lines[True]:
        holes, open_inner = faces(lines[True])
        outer = outer.difference(holes)
    geom, repaired = _polygonal(outer)
    if geom is None:
        return None, "multipolygon encloses no area"
    if incomplete or open_outer or open_inner:
        return geom, "incomplete multipolygon (members missing or unclosed): kept its closed rings"
    return geom, "invalid multipolygon made valid" if repaired else ""


def _representative_point(way: _Way) -> Point | None:
    """A point for a POI mapped as a way: inside the area, on the line, or mid-located-nodes."""
    assert way.xy is not None
    polygon, _ = _way_polygon(way)
    if polygon is not None:
        return polygon.representative_point()
    located = _distinct(way.xy[way.located])
    if len(located) == 0:
        return None
    if way.located.all() and len(located) >= 2:
        line = LineString(located)
        return line.interpolate(0.5, normalized=True)
    return MultiPoint(located).centroid
