"""Import a District from OpenStreetMap: ``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``.

The files are read with pyosmium (libosmium, streaming, node locations cached in C++);
geometries are built here with shapely so that messy real extracts can be handled
feature by feature: ways clipped at the extract edge keep their located parts, broken
multipolygons keep their closed rings, duplicate nodes are removed, odd tag values fall
back to documented defaults.  Whatever cannot be used is dropped and counted in an
:class:`ImportReport`, whose summary becomes the District's provenance notes.

How tags become layer columns is data (``standards/osm_mapping.yaml``), documented as
one table in ``docs/osm-mapping.md``.

Online, :func:`district_from_place` geocodes a place with osmnx (Nominatim), downloads
its data through osmnx's Overpass client and imports it the same way.

Data © OpenStreetMap contributors, ODbL 1.0: every District from here carries that
attribution in its provenance.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import re
import socket
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import osmium
import pyproj
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._errors import DistrictFileError, InputError
from vollsmose_gis.district import DEFAULT_CRS, District, Provenance
from vollsmose_gis.schema import validate_district
from vollsmose_gis.standards import categories, highway_defaults, layer_schemas, load

__all__ = [
    "OSM_ATTRIBUTION",
    "OSM_LICENCE",
    "ImportReport",
    "OsmImport",
    "district_from_osm",
    "district_from_place",
    "import_osm",
    "import_osm_place",
    "parse_bbox",
    "parse_maxspeed",
    "parse_tenure",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
BBox = tuple[float, float, float, float]
BoundaryLike: TypeAlias = BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | str | os.PathLike[str]

OSM_LICENCE = "ODbL 1.0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"

# Suffix -> libosmium format name; longest suffixes are tried first.
_FORMATS: dict[str, str] = {
    ".osm.pbf": "pbf",
    ".osm.bz2": "osm.bz2",
    ".osm.gz": "osm.gz",
    ".pbf": "pbf",
    ".osm": "osm",
    ".xml": "osm",
}
_LAYER_ORDER = ("streets", "buildings", "landuse", "lights", "cameras", "calming", "pois")


# --------------------------------------------------------------------------- report


@dataclass
class ImportReport:
    """What an OSM import read, kept, dropped, repaired and estimated.

    Every counter is keyed ``"<layer>: <reason>"`` and counts OSM objects (a street way
    split into pieces counts once).

    Attributes
    ----------
    source
        The file (or Overpass query) read.
    read
        Objects seen: ``tagged nodes``, ``ways``, ``relations`` (after the C++ key
        filter), and ``outside read area`` for tagged objects skipped by the bbox.
    kept
        Features per layer in the District.
    dropped
        Objects that could not be used, by reason.
    repaired
        Objects kept after a repair (clipped parts dropped, invalid ring made valid...).
    estimated
        Values that are not from OSM tags (defaults, dwelling estimates), by reason.
    notes
        Sentences for the provenance notes (CRS distortion, tenure, jobs...).
    """

    source: str
    read: Counter[str] = field(default_factory=Counter)
    kept: dict[str, int] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    estimated: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        """Total number of dropped objects."""
        return sum(self.dropped.values())

    def dropped_in(self, layer: str) -> int:
        """Number of dropped objects of one layer."""
        return sum(n for reason, n in self.dropped.items() if reason.startswith(f"{layer}: "))

    def summary(self) -> str:
        """Return the report as a few sentences (used as provenance notes)."""

        def listing(counter: Counter[str]) -> str:
            return "; ".join(f"{reason} ×{n}" for reason, n in sorted(counter.items()))

        kept = ", ".join(f"{n} {layer}" for layer, n in self.kept.items())
        parts = [f"Imported from OpenStreetMap ({self.source}): kept {kept}."]
        if self.dropped:
            parts.append(f"Dropped {self.n_dropped} objects: {listing(self.dropped)}.")
        else:
            parts.append("Dropped nothing.")
        if self.repaired:
            parts.append(f"Repaired: {listing(self.repaired)}.")
        if self.estimated:
            parts.append(f"Estimated or defaulted: {listing(self.estimated)}.")
        parts.extend(self.notes)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "source": self.source,
            "read": dict(self.read),
            "kept": dict(self.kept),
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": self.n_dropped,
            "repaired": dict(sorted(self.repaired.items())),
            "estimated": dict(sorted(self.estimated.items())),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class OsmImport:
    """Result of an OSM import: the District and the report of what happened."""

    district: District
    report: ImportReport


# --------------------------------------------------------------------------- values


_NUMBER = re.compile(r"^([-+]?\d+(?:[.,]\d+)?)\s*(.*)$")
_FEET_INCHES = re.compile(r"^(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*\")?$")


def _number(text: str) -> tuple[float, str] | None:
    """Split ``"12.5 m"`` into (12.5, "m"); None if the text does not start with a number."""
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    return float(match.group(1).replace(",", ".")), match.group(2).strip().lower()


def _parse_length_m(text: str | None) -> float | None:
    """Parse an OSM length (``"6"``, ``"6 m"``, ``"20 ft"``, ``"6'6\\""``) in metres."""
    if text is None:
        return None
    feet = _FEET_INCHES.match(text.strip())
    if feet:
        return (float(feet.group(1)) * 12 + float(feet.group(2) or 0)) * 0.0254
    parsed = _number(text)
    if parsed is None:
        return None
    value, unit = parsed
    factor = {"": 1.0, "m": 1.0, "meter": 1.0, "metre": 1.0, "km": 1000.0, "ft": 0.3048,
              "feet": 0.3048, "cm": 0.01}.get(unit)  # fmt: skip
    if factor is None or not math.isfinite(value) or value <= 0:
        return None
    return value * factor


def _parse_count(text: str | None) -> float | None:
    """Parse a count (levels, lanes, flats); ``"2;3"`` -> the largest; None if not a number."""
    if text is None:
        return None
    values = []
    for part in re.split(r"[;|]", text):
        parsed = _number(part)
        if parsed is None or parsed[1] or parsed[0] < 0:
            return None
        values.append(parsed[0])
    return max(values) if values else None


def parse_maxspeed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value
        The tag value: ``"50"``, ``"30 mph"``, ``"10 knots"``, ``"DK:urban"`` (implicit
        limits of ``standards/osm_mapping.yaml``), ``"walk"``, ``"none"``, or several
        limits ``"50;30"``.

    Returns
    -------
    float or None
        The limit in km/h (the highest of several limits, so that speed-risk models never
        underestimate speed); ``"walk"`` and ``"none"`` give the documented walking pace
        and advisory speed.  None if the value is not understood (``"signals"``,
        ``"variable"``, ``"fast"``): the importer then uses the highway class default.
    """
    if value is None:
        return None
    rules = load("osm_mapping")["maxspeed"]
    zones = {key.lower(): float(speed) for key, speed in rules["zones"].items()}
    speeds = []
    for part in (p.strip().lower() for p in re.split(r"[;|]", value)):
        if not part:
            continue
        if part == "walk":
            speeds.append(float(rules["walk_kmh"]))
        elif part == "none":
            speeds.append(float(rules["none_kmh"]))
        elif part in zones:
            speeds.append(zones[part])
        else:
            parsed = _number(part)
            if parsed is None or parsed[0] <= 0:
                return None
            number, unit = parsed
            units = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0}
            units |= {"mph": rules["mph_to_kmh"], "knots": rules["knots_to_kmh"]}
            factor = units.get(unit)
            if factor is None:
                return None
            speeds.append(number * float(factor))
    return max(speeds) if speeds else None


# --------------------------------------------------------------------------- inputs


def _resolve_source(source: str | os.PathLike[str]) -> tuple[Path, str]:
    """Return the path and libosmium format of an OSM file, or raise a clear InputError."""
    path = Path(source)
    if not path.exists():
        raise DistrictFileError(f"{path}: no such file")
    if not path.is_file():
        raise DistrictFileError(f"{path}: is not a file")
    name = path.name.lower()
    fmt = next((f for suffix, f in _FORMATS.items() if name.endswith(suffix)), None)
    if fmt is None:
        raise DistrictFileError(
            f"{path}: not an OpenStreetMap file name; expected one ending in "
            f"{', '.join(_FORMATS)} (OSM XML, optionally bzip2/gzip-compressed, or PBF)"
        )
    if path.stat().st_size == 0:
        raise DistrictFileError(f"{path}: the file is empty; it holds no OpenStreetMap data")
    return path, fmt


def _parse_crs(crs: str) -> pyproj.CRS | None:
    """Return the district CRS (None for ``"auto"``); it must be projected, in metres."""
    if str(crs).lower() == "auto":
        return None
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"crs {crs!r} is not a CRS pyproj knows ({exc})") from exc
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if not parsed.is_projected or unit not in ("metre", "meter"):
        raise InputError(
            f"crs {crs!r} is not a projected CRS in metres; use one such as 'EPSG:25832' "
            "or 'auto' (the local UTM zone)"
        )
    return parsed


def _utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS 84 / UTM CRS of the standard 6° zone holding (lon, lat)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _reproject(geom: BaseGeometry, src: pyproj.CRS, dst: pyproj.CRS) -> BaseGeometry:
    """Reproject a shapely geometry (x/y order) from ``src`` to ``dst``."""
    if src.equals(dst):
        return geom
    transformer = pyproj.Transformer.from_crs(src, dst, always_xy=True)

    def apply(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


_WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass
class _Area:
    """The requested study area, in lon/lat and (if given so) in its own CRS."""

    lonlat: BaseGeometry
    given: BaseGeometry | None
    given_crs: pyproj.CRS | None
    label: str


def _check_bbox(bbox: BBox) -> BBox:
    try:
        west, south, east, north = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bbox {bbox!r} must be four numbers W,S,E,N in degrees") from exc
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(
            f"bbox {bbox!r} is not W,S,E,N in degrees with W < E and S < N "
            "(longitude -180..180, latitude -90..90)"
        )
    return west, south, east, north


def _read_boundary_file(path: Path) -> tuple[BaseGeometry, pyproj.CRS | None]:
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # GDAL raises several types for "not a dataset"
        raise InputError(f"boundary file {path}: not a readable vector file ({exc})") from exc
    if frame.empty:
        raise InputError(f"boundary file {path}: holds no features")
    return frame.geometry.union_all(), frame.crs


def _resolve_area(
    boundary: BoundaryLike | None,
    bbox: BBox | None,
    boundary_crs: str | None,
    district_crs: pyproj.CRS | None,
) -> _Area | None:
    """Turn the boundary / bbox arguments into a study area, checking its CRS."""
    if boundary is not None and bbox is not None:
        raise InputError("give either boundary or bbox, not both")
    if bbox is not None:
        west, south, east, north = _check_bbox(bbox)
        return _Area(
            box(west, south, east, north), None, None, f"bbox {west},{south},{east},{north}"
        )
    if boundary is None:
        return None
    declared = pyproj.CRS.from_user_input(boundary_crs) if boundary_crs else None
    label = "boundary"
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        geom, crs = boundary.geometry.union_all(), boundary.crs or declared
    elif isinstance(boundary, BaseGeometry):
        geom, crs = boundary, declared
    else:
        text = str(boundary)
        if _is_file(text):
            geom, file_crs = _read_boundary_file(Path(text))
            crs, label = file_crs or declared, f"boundary file {text}"
        else:
            try:
                geom = shapely.from_wkt(text)
            except shapely.errors.GEOSException as exc:
                raise InputError(
                    f"boundary {text[:80]!r} is neither an existing file nor WKT ({exc})"
                ) from exc
            crs = declared
    if crs is None:
        crs = district_crs
    if crs is None:
        raise InputError(
            f"{label}: its CRS is unknown; pass boundary_crs (CLI: --boundary-crs) or an "
            "explicit district crs instead of 'auto'"
        )
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        kind = "empty" if geom is None or geom.is_empty else f"a {geom.geom_type}"
        raise InputError(f"{label} is {kind}; it must be a Polygon or MultiPolygon")
    if not geom.is_valid:
        raise InputError(f"{label} is not a valid polygon ({shapely.is_valid_reason(geom)})")
    minx, miny, maxx, maxy = geom.bounds
    looks_like_degrees = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    if crs.is_projected and looks_like_degrees:
        raise InputError(
            f"{label}: coordinates ({minx:.4f}, {miny:.4f}, {maxx:.4f}, {maxy:.4f}) look "
            f"like longitude/latitude degrees but are read in {crs.to_string()} (metres); "
            "pass boundary_crs='EPSG:4326' (CLI: --boundary-crs EPSG:4326) or a boundary "
            "in the district CRS"
        )
    lonlat = _reproject(shapely.segmentize(geom, max(maxx - minx, maxy - miny) / 32), crs, _WGS84)
    lon0, lat0, lon1, lat1 = lonlat.bounds
    if not (np.isfinite(lonlat.bounds).all() and -180 <= lon0 <= lon1 <= 180
            and -90 <= lat0 <= lat1 <= 90):  # fmt: skip
        raise InputError(
            f"{label}: coordinates ({minx:.1f}, {miny:.1f}, {maxx:.1f}, {maxy:.1f}) are "
            f"not valid in {crs.to_string()}; is the boundary in another CRS? "
            "Pass boundary_crs (CLI: --boundary-crs)"
        )
    return _Area(lonlat, geom, crs, label)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a long WKT string is "too long" as a file name
        return False


def parse_bbox(text: str) -> BBox:
    """Parse ``"W,S,E,N"`` (degrees, EPSG:4326) into a checked bbox tuple.

    Raises
    ------
    InputError
        Not four numbers, or not a valid west < east, south < north box in degrees.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise InputError(f"bbox {text!r} must be four numbers W,S,E,N in degrees")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise InputError(f"bbox {text!r} must be four numbers W,S,E,N in degrees") from exc
    return _check_bbox(values)  # type: ignore[arg-type]


def parse_tenure(text: str) -> str | dict[str, str]:
    """Parse a tenure option: ``"almen_family"`` or ``"apartments=almen_family,*=owner_occupied"``.

    Keys are ``building=*`` values (``*`` for any other); values are tenure categories.

    Raises
    ------
    InputError
        A malformed pair or an unknown tenure category.
    """
    if "=" not in text:
        _tenure_rule(text.strip())
        return text.strip()
    rule: dict[str, str] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(
                f"tenure {text!r}: {pair!r} is not BUILDING=TENURE "
                "(e.g. apartments=almen_family,*=owner_occupied)"
            )
        rule[key.strip()] = value.strip()
    _tenure_rule(rule)
    return rule


def _tenure_rule(tenure: str | Mapping[str, str] | None) -> dict[str, str]:
    """Normalise the tenure argument to {building value or '*': tenure}, checking values."""
    if tenure is None:
        return {}
    rule = {"*": tenure} if isinstance(tenure, str) else dict(tenure)
    allowed = categories("tenures")
    bad = {k: v for k, v in rule.items() if v not in allowed}
    if bad:
        raise InputError(
            f"tenure mapping {bad!r} uses unknown tenure(s); allowed: {', '.join(allowed)}"
        )
    return rule


# --------------------------------------------------------------------------- reading


@dataclass
class _Way:
    refs: np.ndarray  # node ids, int64
    lon: np.ndarray  # degrees, NaN where the node is missing from the file
    lat: np.ndarray
    tags: dict[str, str] | None  # None: an untagged member of a relation we need
    xy: np.ndarray | None = None  # projected coordinates, NaN where missing

    @property
    def located(self) -> np.ndarray:
        return ~np.isnan(self.lon)


@dataclass
class _Raw:
    header_box: BBox | None
    snapshot: str | None = None  # ISO date of the extract, from the file header
    nodes: list[tuple[int, float, float, dict[str, str]]] = field(default_factory=list)
    ways: dict[int, _Way] = field(default_factory=dict)
    feature_ways: list[int] = field(default_factory=list)
    relations: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = field(
        default_factory=list
    )
    bus_ways: set[int] = field(default_factory=set)
    newest: dt.datetime | None = None
    extent: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    objects_in_area: int = 0
    node_xy: np.ndarray | None = None

    def grow_extent(self, west: float, south: float, east: float, north: float) -> None:
        self.extent = [
            min(self.extent[0], west),
            min(self.extent[1], south),
            max(self.extent[2], east),
            max(self.extent[3], north),
        ]

    def touch(self, when: dt.datetime) -> None:
        if when.year > 1970 and (self.newest is None or when > self.newest):
            self.newest = when


def _tags(obj: Any) -> dict[str, str]:
    return {tag.k: tag.v for tag in obj.tags}


def _read(
    path: Path,
    fmt: str,
    read_bbox: BBox | None,
    rules: dict[str, Any],
    report: ImportReport,
    progress: Progress | None,
) -> _Raw:
    """Stream the file twice (relations, then nodes and ways with locations)."""
    keys = list(rules["keys"])
    bus_routes = set(rules["streets"]["bus_routes"])
    try:
        file_header = osmium.FileProcessor(osmium.io.File(str(path), fmt)).header
        header = file_header.box()
        stamp = file_header.get("timestamp", "") or file_header.get(
            "osmosis_replication_timestamp", ""
        )
        header_box = (
            (header.bottom_left.lon, header.bottom_left.lat, header.top_right.lon,
             header.top_right.lat) if header.valid() else None
        )  # fmt: skip
        raw = _Raw(header_box=header_box, snapshot=stamp[:10] or None)
        if progress:
            progress(0.05, "reading relations")
        needed: set[int] = set()
        relations: Iterable[Any] = osmium.FileProcessor(
            osmium.io.File(str(path), fmt), osmium.osm.RELATION
        )
        for rel in relations:
            report.read["relations"] += 1
            tags = _tags(rel)
            if tags.get("type") == "multipolygon" and any(k in tags for k in keys):
                members = [(m.type, m.ref, m.role) for m in rel.members]
                raw.relations.append((rel.id, tags, members))
                needed.update(ref for kind, ref, _ in members if kind == "w")
                raw.touch(rel.timestamp)
            elif tags.get("type") == "route" and tags.get("route") in bus_routes:
                raw.bus_ways.update(m.ref for m in rel.members if m.type == "w")
        if progress:
            progress(0.15, "reading nodes and ways")
        processor = osmium.FileProcessor(
            osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY
        ).with_locations()
        node_filter = osmium.filter.KeyFilter(*keys)
        node_filter.enable_for(osmium.osm.NODE)
        processor.with_filter(node_filter)
        west, south, east, north = read_bbox or (-math.inf, -math.inf, math.inf, math.inf)
        objects: Iterable[Any] = processor
        for obj in objects:
            if obj.is_node():
                lon, lat = obj.location.lon, obj.location.lat
                report.read["tagged nodes"] += 1
                raw.grow_extent(lon, lat, lon, lat)
                if not (west <= lon <= east and south <= lat <= north):
                    report.read["outside read area"] += 1
                    continue
                raw.objects_in_area += 1
                raw.nodes.append((obj.id, lon, lat, _tags(obj)))
                raw.touch(obj.timestamp)
                continue
            report.read["ways"] += 1
            wanted = any(k in obj.tags for k in keys)
            member = obj.id in needed
            if not (wanted or member):
                continue
            refs, lons, lats = [], [], []
            missing = False
            for node in obj.nodes:
                refs.append(node.ref)
                location = node.location
                if location.valid():
                    lons.append(location.lon)
                    lats.append(location.lat)
                else:
                    missing = True
                    lons.append(math.nan)
                    lats.append(math.nan)
            located_lons = [v for v in lons if v == v] if missing else lons
            if not located_lons:
                inside = False
            else:
                located_lats = [v for v in lats if v == v] if missing else lats
                box_w, box_e = min(located_lons), max(located_lons)
                box_s, box_n = min(located_lats), max(located_lats)
                raw.grow_extent(box_w, box_s, box_e, box_n)
                # The way's envelope meets the read area (a segment may cross it without
                # a node inside); features are cut to the exact area once they have
                # geometry.
                inside = box_w <= east and box_e >= west and box_s <= north and box_n >= south
            lon_a, lat_a = np.array(lons, dtype=float), np.array(lats, dtype=float)
            if wanted and inside:
                raw.objects_in_area += 1
                raw.ways[obj.id] = _Way(np.array(refs, dtype=np.int64), lon_a, lat_a, _tags(obj))
                raw.feature_ways.append(obj.id)
                raw.touch(obj.timestamp)
            elif member:
                raw.ways[obj.id] = _Way(np.array(refs, dtype=np.int64), lon_a, lat_a, None)
                if wanted:
                    report.read["outside read area"] += 1
            else:
                report.read["outside read area"] += 1
    except RuntimeError as exc:
        kind = "PBF" if fmt == "pbf" else f"OSM XML ({fmt})"
        raise DistrictFileError(f"{path}: not a readable {kind} file ({exc})") from exc
    return raw


def _project(raw: _Raw, crs: pyproj.CRS) -> None:
    """Add projected coordinates (``crs``) to the nodes and ways of ``raw``, in one call."""
    transformer = pyproj.Transformer.from_crs(_WGS84, crs, always_xy=True)
    way_ids = list(raw.ways)
    lon = np.concatenate(
        [np.array([n[1] for n in raw.nodes], dtype=float)] + [raw.ways[w].lon for w in way_ids]
    )
    lat = np.concatenate(
        [np.array([n[2] for n in raw.nodes], dtype=float)] + [raw.ways[w].lat for w in way_ids]
    )
    x, y = transformer.transform(lon, lat)
    xy = np.column_stack([x, y])
    raw.node_xy = xy[: len(raw.nodes)]
    start = len(raw.nodes)
    for wid in way_ids:
        way = raw.ways[wid]
        way.xy = xy[start : start + len(way.refs)]
        start += len(way.refs)


# --------------------------------------------------------------------------- geometry


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


# --------------------------------------------------------------------------- layers


def _first_match(tags: dict[str, str], table: dict[str, dict[str, str]]) -> str | None:
    """Look tags up in {key: {value or '*': result}} in key order; first hit wins."""
    for key, values in table.items():
        value = tags.get(key)
        if value is None:
            continue
        hit = values.get(value, values.get("*"))
        if hit is not None:
            return str(hit)
    return None


def _access(tags: dict[str, str], keys: list[str], default: bool, rules: dict[str, Any],
            report: ImportReport) -> bool:  # fmt: skip
    allowed, denied = set(rules["access_allowed"]), set(rules["access_denied"])
    result = default
    for key in keys:  # least to most specific: the last tag present wins
        value = tags.get(key)
        if value is None:
            continue
        if value in allowed:
            result = True
        elif value in denied:
            result = False
        else:
            report.estimated[f"streets: {key}={value!r} not understood, ignored"] += 1
    return result


def _street_attributes(
    way_id: int, tags: dict[str, str], bus_ways: set[int], rules: dict[str, Any],
    report: ImportReport,
) -> dict[str, Any]:  # fmt: skip
    """Columns of a street from its tags and its class defaults."""
    street_rules = rules["streets"]
    highway = tags["highway"]
    defaults = highway_defaults(highway)
    access_keys = street_rules["access_keys"]
    car = _access(tags, access_keys["car"], bool(defaults["car"]), street_rules, report)
    bike = _access(tags, access_keys["bike"], bool(defaults["bike"]), street_rules, report)
    walk = _access(tags, access_keys["walk"], bool(defaults["walk"]), street_rules, report)
    if tags.get("motorroad") == "yes":
        walk = bike = False

    maxspeed = defaults["maxspeed_kmh"]
    text = tags.get("maxspeed")
    if text is None:
        directional = [tags[k] for k in ("maxspeed:forward", "maxspeed:backward") if k in tags]
        zone = next((tags[k] for k in ("maxspeed:type", "zone:maxspeed", "source:maxspeed")
                     if k in tags), None)  # fmt: skip
        text = ";".join(directional) if directional else zone
    if text is not None:
        parsed = parse_maxspeed(text)
        if parsed is None:
            report.estimated["streets: maxspeed not understood, class default used"] += 1
        else:
            maxspeed = parsed
    elif maxspeed is not None:
        report.estimated["streets: maxspeed not tagged, class default (highways.yaml) used"] += 1

    lanes = defaults["lanes"]
    if "lanes" in tags:
        count = _parse_count(tags["lanes"])
        if count is None or count < 1 or count != int(count):
            report.estimated["streets: lanes not understood, class default used"] += 1
        else:
            lanes = int(count)
    width = defaults["width_m"]
    if "width" in tags:
        parsed_width = _parse_length_m(tags["width"])
        if parsed_width is None:
            report.estimated["streets: width not understood, class default used"] += 1
        else:
            width = parsed_width

    lit_text = tags.get("lit")
    lit: bool | None = None
    if lit_text in street_rules["lit_true"]:
        lit = True
    elif lit_text in street_rules["lit_false"]:
        lit = False
    elif lit_text is not None:
        report.estimated["streets: lit value not understood, left unknown"] += 1

    oneway_text = tags.get("oneway")
    oneway = tags.get("junction") in ("roundabout", "circular") or highway in (
        "motorway",
        "motorway_link",
    )
    reverse = False
    if oneway_text in street_rules["oneway_true"]:
        oneway = True
    elif oneway_text in street_rules["oneway_reverse"]:
        oneway = reverse = True
    elif oneway_text in street_rules["oneway_false"]:
        oneway = False
    return {
        "osm_id": f"way/{way_id}",
        "name": tags.get("name"),
        "highway": highway,
        "car": car,
        "walk": walk,
        "bike": bike,
        "oneway": oneway,
        "maxspeed_kmh": maxspeed,
        "lanes": lanes,
        "width_m": width,
        "lit": lit,
        "lighting_class": None,
        "bridge": tags.get("bridge", "no") != "no",
        "tunnel": tags.get("tunnel", "no") != "no",
        "bus_route": way_id in bus_ways,
        "_reverse": reverse,
    }


def _streets(
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


def _is_building(tags: dict[str, str]) -> bool:
    return tags.get("building", "no") != "no"


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
        if use is None or use == "other":
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


def _poi_kind(tags: dict[str, str], rules: dict[str, Any]) -> str | None:
    poi_rules = rules["pois"]
    if tags.get("amenity") in poi_rules["amenity_not_poi"]:
        tags = {k: v for k, v in tags.items() if k != "amenity"}
    return _first_match(tags, poi_rules["kinds"])


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


def _height(tags: dict[str, str], default: float, layer: str, report: ImportReport) -> float:
    height = _parse_length_m(tags.get("height"))
    if height is None:
        report.estimated[f"{layer}: height not tagged (or not understood), default used"] += 1
        return default
    return height


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


def _direction(text: str, compass: dict[str, float]) -> tuple[float, float | None] | None:
    """Parse camera:direction: (heading, span or None); a range 'A-B' turns clockwise A->B."""

    def one(part: str) -> float | None:
        part = part.strip()
        if part.upper() in compass:
            return float(compass[part.upper()])
        parsed = _number(part)
        if parsed is None or parsed[1] not in ("", "°", "deg"):
            return None
        return parsed[0] % 360.0

    if "-" in text.strip()[1:]:
        start_text, _, end_text = text.strip().partition("-")
        start, end = one(start_text), one(end_text)
        if start is None or end is None:
            return None
        span = (end - start) % 360.0 or 360.0
        if text.strip() in ("0-359", "0-360"):
            span = 360.0
        return (start + span / 2) % 360.0, span
    heading = one(text)
    return None if heading is None else (heading, None)


def _cameras(
    raw: _Raw, rules: dict[str, Any], report: ImportReport
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """Cameras: man_made=surveillance nodes of a camera type, with a usable direction."""
    assert raw.node_xy is not None
    camera_rules = rules["cameras"]
    compass = {k: float(v) for k, v in camera_rules["compass"].items()}
    rows, geoms = [], []
    for (nid, _, _, tags), xy in zip(raw.nodes, raw.node_xy, strict=True):
        if tags.get("man_made") != "surveillance":
            continue
        kind = tags.get("surveillance:type", "camera")
        if kind not in camera_rules["camera_types"]:
            report.dropped[f"cameras: surveillance:type={kind} is not a camera"] += 1
            continue
        hfov = float(camera_rules["default_hfov_deg"])
        text = tags.get("camera:direction", tags.get("direction"))
        parsed = _direction(text, compass) if text is not None else None
        if parsed is not None:
            heading, span = parsed
            if span is not None:
                hfov = max(hfov, span) if span < 360 else 360.0
        elif tags.get("camera:type") in camera_rules["all_round_types"]:
            heading, hfov = 0.0, 360.0
            report.estimated["cameras: dome/panning camera without direction, seen all round"] += 1
        else:
            reason = "no camera:direction" if text is None else "camera:direction not understood"
            report.dropped[f"cameras: {reason} (a fixed camera needs one)"] += 1
            continue
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


def _settle_buildings(
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
    inside: dict[int, list[str]] = {}
    if node_pois:
        pairs = tree.query([poi_geoms[i] for i in node_pois], predicate="within")
        for p, b in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            use = poi_use.get(poi_rows[node_pois[p]]["kind"])
            if use is not None:
                inside.setdefault(b, []).append(str(use))
    for b, uses in inside.items():
        row = rows[b]
        common = Counter(uses).most_common(1)[0][0]
        if row["use"] is None:
            row["use"] = common
            report.estimated["buildings: use taken from POIs mapped inside"] += 1
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


# --------------------------------------------------------------------------- assembly


def _frame(layer: str, rows: list[dict[str, Any]], geoms: list[BaseGeometry],
           crs: pyproj.CRS) -> gpd.GeoDataFrame:  # fmt: skip
    """A layer frame with every schema column (defaults where OSM has nothing)."""
    columns = layer_schemas()[layer]["columns"]
    data: dict[str, list[Any]] = {}
    for name, spec in columns.items():
        data[name] = [row.get(name, spec.get("default")) for row in rows]
    data["osm_id"] = [row["osm_id"] for row in rows]
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)


def _date(raw: _Raw) -> str:
    """The data's date: the file header's timestamp, else its newest object, else today."""
    if raw.snapshot:
        return raw.snapshot
    return (raw.newest or dt.datetime.now(dt.UTC)).date().isoformat()


def _distortion_note(crs: pyproj.CRS, lon: float, lat: float) -> str | None:
    """Describe the area distortion of ``crs`` at (lon, lat) when it exceeds 1 %."""
    try:
        factors = pyproj.Proj(crs).get_factors(lon, lat)
        scale = float(factors.areal_scale)
    except (pyproj.exceptions.ProjError, RuntimeError):
        return None
    if not math.isfinite(scale) or abs(scale - 1.0) <= 0.01:
        return None
    return (
        f"The district CRS {crs.to_string()} is far from its area of use here "
        f"(areas ×{scale:.2f}, lengths ×{math.sqrt(scale):.2f}); use crs='auto' for the "
        f"local UTM zone. Footprints and dwelling estimates were computed in the local UTM "
        f"zone and are not affected."
    )


def import_osm(
    source: str | os.PathLike[str],
    *,
    boundary: BoundaryLike | None = None,
    bbox: BBox | None = None,
    boundary_crs: str | None = None,
    name: str | None = None,
    crs: str = DEFAULT_CRS,
    context_m: float = 1000.0,
    tenure: str | Mapping[str, str] | None = None,
    average_dwelling_m2: float | None = None,
    progress: Progress | None = None,
) -> OsmImport:
    """Import an OpenStreetMap file as a District and report what was dropped and why.

    Parameters
    ----------
    source
        A ``.osm`` / ``.xml`` (OSM XML), ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    boundary
        The study area: a shapely polygon, a GeoSeries/GeoDataFrame, WKT text or a
        vector file (its own CRS is used).  Geometries and WKT are in ``boundary_crs``,
        else in the district ``crs``.  Default: the bounds declared in the file
        (``<bounds>`` / PBF header), else the convex hull of the imported data.
    bbox
        Instead of ``boundary``: (west, south, east, north) in degrees (EPSG:4326).
    boundary_crs
        CRS of a geometry/WKT ``boundary`` (default: the district ``crs``).
    name
        District name (default: the file name without its suffixes).
    crs
        Projected district CRS in metres (default EPSG:25832), or ``"auto"`` for the
        WGS 84 / UTM zone of the data.  Metric work (areas, distances, the context
        buffer) is always done in the local UTM zone, so a distant CRS distorts only the
        output coordinates; the report notes the distortion.
    context_m
        Metres of surrounding data kept beyond the boundary (features intersecting the
        boundary buffered by this distance are kept; the file is read only within the
        bounding box of that buffer).
    tenure
        Tenure of the imported dwellings, which OSM does not record: one tenure
        category for all, or a mapping from ``building=*`` values (and ``"*"``) to
        tenures.  Default: NA, stated in the provenance notes.
    average_dwelling_m2
        Gross floor area per dwelling used to estimate dwellings where
        ``building:flats`` is missing (m²; default from ``osm_mapping.yaml``).
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    OsmImport
        ``district`` (valid under ``validate_district(strict=True)``, provenance kind
        ``"openstreetmap"``, licence ODbL 1.0, the report summary as notes) and
        ``report`` (counts by reason).

    Raises
    ------
    DistrictFileError
        The file is missing, empty, not named like an OSM file or not readable as one.
    InputError
        Bad arguments; a boundary in the wrong CRS; a boundary/bbox holding no data;
        nothing mappable in the file.

    Notes
    -----
    Each OSM object may feed several layers (a school building is a building and a
    POI).  Streets are split where ways share nodes (junctions) and where nodes are
    missing, piece ids get ``-1``, ``-2``... suffixes.  Dwellings without
    ``building:flats`` are estimated as footprint × floors ÷ ``average_dwelling_m2``
    (single-family house types: 1) and flagged ``dwellings_estimated``.
    """
    path, fmt = _resolve_source(source)
    rules = load("osm_mapping")
    tenure_rule = _tenure_rule(tenure)
    if average_dwelling_m2 is None:
        average_dwelling_m2 = float(rules["buildings"]["dwellings"]["average_dwelling_m2"])
    if not (math.isfinite(average_dwelling_m2) and average_dwelling_m2 > 0):
        raise InputError(
            f"average_dwelling_m2 must be a positive number of m², got {average_dwelling_m2!r}"
        )
    if not (math.isfinite(context_m) and context_m >= 0):
        raise InputError(f"context_m must be a distance >= 0 in metres, got {context_m!r}")
    district_crs = _parse_crs(crs)
    area = _resolve_area(boundary, bbox, boundary_crs, district_crs)
    report = ImportReport(source=path.name)

    read_bbox: BBox | None = None
    if area is not None:
        centre = area.lonlat.centroid
        local = _utm_crs(centre.x, centre.y)
        around = _reproject(_reproject(area.lonlat, _WGS84, local).buffer(context_m), local, _WGS84)
        read_bbox = around.bounds
    raw = _read(path, fmt, read_bbox, rules, report, progress)
    if raw.objects_in_area == 0:
        if not math.isfinite(raw.extent[0]):
            raise InputError(f"{path}: contains no OpenStreetMap nodes or ways")
        if area is not None:
            west, south, east, north = raw.extent
            raise InputError(
                f"{area.label} (with {context_m:g} m of context) contains no OpenStreetMap "
                f"data of {path.name}, whose data covers longitude {west:.5f}..{east:.5f}, "
                f"latitude {south:.5f}..{north:.5f}; check the bbox/boundary and its CRS"
            )
        raise InputError(f"{path}: holds no streets, buildings, land use or POIs to import")

    if area is not None:
        centre = area.lonlat.centroid
    elif raw.header_box is not None:
        centre = box(*raw.header_box).centroid
    else:
        centre = box(*raw.extent).centroid
    local = _utm_crs(centre.x, centre.y)
    target = district_crs if district_crs is not None else local
    _project(raw, local)
    if progress:
        progress(0.6, "mapping tags to layers")

    streets, street_geoms, node_street = _streets(raw, rules, report)
    buildings, building_geoms = _buildings(raw, rules, report)
    landuse, landuse_geoms = _landuse(raw, rules, report)
    pois, poi_geoms = _pois(raw, rules, report)
    lights, light_geoms = _lights(raw, rules, report)
    cameras, camera_geoms = _cameras(raw, rules, report)
    calming, calming_geoms = _calming(raw, rules, node_street, streets, street_geoms, report)
    _settle_buildings(
        buildings, building_geoms, pois, poi_geoms, landuse, landuse_geoms, rules,
        tenure_rule, average_dwelling_m2, report,
    )  # fmt: skip
    layers = {
        "streets": (streets, street_geoms),
        "buildings": (buildings, building_geoms),
        "landuse": (landuse, landuse_geoms),
        "lights": (lights, light_geoms),
        "cameras": (cameras, camera_geoms),
        "calming": (calming, calming_geoms),
        "pois": (pois, poi_geoms),
    }

    # The study boundary (in the district CRS) and the kept context around it.
    if area is not None:
        assert area.given is None or area.given_crs is not None
        if area.given is not None and area.given_crs is not None:
            boundary_geom = _reproject(area.given, area.given_crs, target)
        else:
            boundary_geom = _reproject(shapely.segmentize(area.lonlat, 1e-4), _WGS84, target)
        keep_area = _reproject(area.lonlat, _WGS84, local).buffer(context_m)
        source_text = f"OpenStreetMap extract {path.name}, {area.label}"
    elif raw.header_box is not None and box(*raw.header_box).area > 0:
        header = shapely.segmentize(box(*raw.header_box), 1e-4)
        boundary_geom = _reproject(header, _WGS84, target)
        keep_area = _reproject(header, _WGS84, local).buffer(context_m)
        source_text = f"OpenStreetMap extract {path.name} (boundary: the file's bounds)"
        report.notes.append("Boundary: the bounds declared in the file.")
    else:
        every = [g for _, geoms in layers.values() for g in geoms]
        coords = shapely.get_coordinates(np.array(every, dtype=object)) if every else [(0, 0)]
        hull = MultiPoint(coords).convex_hull
        if hull.geom_type != "Polygon":
            hull = hull.buffer(50.0)
        boundary_geom = _reproject(hull, local, target)
        keep_area = hull.buffer(context_m)
        source_text = f"OpenStreetMap extract {path.name} (boundary: convex hull of the data)"
        report.notes.append("Boundary: the convex hull of the imported data.")
    shapely.prepare(keep_area)

    frames: dict[str, gpd.GeoDataFrame] = {}
    for layer, (rows, geoms) in layers.items():
        keep = shapely.intersects(np.array(geoms, dtype=object), keep_area).tolist()
        outside = len(keep) - sum(keep)
        if outside:
            report.dropped[f"{layer}: outside the boundary + {context_m:g} m of context"] += outside
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        geoms = [g for g, k in zip(geoms, keep, strict=True) if k]
        frame = _frame(layer, rows, geoms, local)
        frames[layer] = frame if target.equals(local) else frame.to_crs(target)
        report.kept[layer] = len(frame)
    # A device whose street piece lies outside the kept area keeps no dangling reference.
    kept_streets = set(frames["streets"]["street_id"])
    calming_frame = frames["calming"]
    calming_frame["street_id"] = calming_frame["street_id"].where(
        calming_frame["street_id"].isin(kept_streets), None
    )
    if not any(report.kept.values()):
        where = f" within {area.label}" if area is not None else ""
        raise InputError(
            f"{path}: no streets, buildings, land use, lights, cameras, calming devices or "
            f"POIs could be imported{where} (dropped: {report.n_dropped})"
        )

    note = _distortion_note(target, centre.x, centre.y)
    if note:
        report.notes.append(note)
        logger.warning(note)
    if tenure_rule:
        report.notes.append(f"Tenure set from the user's mapping {tenure_rule}.")
    else:
        report.notes.append(
            "Tenure is not recorded in OpenStreetMap and was left NA; give a tenure "
            "mapping to set it."
        )
    report.notes.append(
        "Jobs are not recorded in OpenStreetMap (0); commercial floor space is estimated "
        "from footprints × floors."
    )
    provenance = Provenance(
        source=source_text,
        licence=OSM_LICENCE,
        date=_date(raw),
        kind="openstreetmap",
        attribution=OSM_ATTRIBUTION,
        notes=report.summary(),
    )
    district_name = name or re.sub(r"(\.osm)?(\.pbf|\.bz2|\.gz|\.osm|\.xml)$", "", path.name)
    district = District.create(
        district_name, boundary_geom, crs=target.to_string(), provenance=provenance, **frames
    )
    if progress:
        progress(0.9, "validating")
    district = validate_district(district, strict=True, source=str(path))
    logger.info("%s", report.summary())
    if progress:
        progress(1.0, "done")
    return OsmImport(district, report)


def district_from_osm(
    source: str | os.PathLike[str],
    *,
    boundary: BoundaryLike | None = None,
    name: str | None = None,
    crs: str = DEFAULT_CRS,
    context_m: float = 1000.0,
    **options: Any,
) -> District:
    """Return a District imported from an OpenStreetMap file.

    The same as ``import_osm(...).district``; see :func:`import_osm` for the parameters
    (``bbox``, ``boundary_crs``, ``tenure``, ``average_dwelling_m2``, ``progress`` are
    accepted as keywords).  The drop report is in ``district.provenance.notes``.
    """
    result = import_osm(
        source, boundary=boundary, name=name, crs=crs, context_m=context_m, **options
    )
    return result.district


# --------------------------------------------------------------------------- Overpass


def _check_reachable(urls: list[str], timeout_s: float) -> None:
    """Fail fast with a clear message when a web service cannot be reached."""
    import requests

    for url in urls:
        if requests.utils.get_environ_proxies(url):
            continue  # through a proxy: let requests (with its timeout) find out
        parsed = urlparse(url)
        host = parsed.hostname or url
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            raise InputError(
                f"cannot reach {host} ({exc}); downloading from OpenStreetMap needs network "
                "access. Offline, import a local .osm/.osm.pbf file instead (e.g. an extract "
                "from download.geofabrik.de or export.hotosm.org)"
            ) from exc


@contextlib.contextmanager
def _osmnx_timeout(timeout_s: float) -> Iterator[Any]:
    import osmnx as ox

    before = ox.settings.requests_timeout
    ox.settings.requests_timeout = timeout_s
    try:
        yield ox
    finally:
        ox.settings.requests_timeout = before


def _overpass_xml(elements: list[dict[str, Any]], path: Path) -> None:
    """Write Overpass JSON elements as an OSM XML file (nodes, ways, relations by id)."""
    root = ET.Element("osm", version="0.6", generator="vollsmose-gis from Overpass JSON")
    order = {"node": 0, "way": 1, "relation": 2}
    for element in sorted(elements, key=lambda e: (order.get(e["type"], 3), e["id"])):
        kind = element["type"]
        if kind not in order:
            continue
        attributes = {"id": str(element["id"]), "version": str(element.get("version", 1))}
        if "timestamp" in element:
            attributes["timestamp"] = element["timestamp"]
        if kind == "node":
            attributes |= {"lat": repr(element["lat"]), "lon": repr(element["lon"])}
        item = ET.SubElement(root, kind, attributes)
        for ref in element.get("nodes", []):
            ET.SubElement(item, "nd", ref=str(ref))
        for member in element.get("members", []):
            ET.SubElement(item, "member", type=member["type"], ref=str(member["ref"]),
                          role=member.get("role", ""))  # fmt: skip
        for key, value in element.get("tags", {}).items():
            ET.SubElement(item, "tag", k=key, v=value)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _overpass_query(bbox: BBox, keys: list[str], timeout_s: float, bus_routes: list[str]) -> str:
    west, south, east, north = bbox
    area = f"({south:.7f},{west:.7f},{north:.7f},{east:.7f})"
    features = "".join(f'nwr["{key}"]{area};' for key in keys)
    routes = "|".join(bus_routes)
    return (
        f"[out:json][timeout:{math.ceil(timeout_s)}];({features})->.f;"
        f'(.f;.f >;)->.all;rel(bw.f)["route"~"^({routes})$"]->.routes;(.all;.routes;);out meta;'
    )


def import_osm_place(
    place: str,
    *,
    name: str | None = None,
    crs: str = DEFAULT_CRS,
    context_m: float = 1000.0,
    tenure: str | Mapping[str, str] | None = None,
    average_dwelling_m2: float | None = None,
    timeout_s: float = 30.0,
    progress: Progress | None = None,
) -> OsmImport:
    """Download a place from OpenStreetMap (Nominatim + Overpass via osmnx) and import it.

    Parameters
    ----------
    place
        A place Nominatim can find as a polygon, e.g. ``"Vollsmose, Odense"``.
    timeout_s
        Seconds to wait for each web request (osmnx ``requests_timeout``) and for the
        reachability check made first, so that no network fails fast.
    name, crs, context_m, tenure, average_dwelling_m2, progress
        As for :func:`import_osm`; the boundary is the geocoded polygon.

    Raises
    ------
    InputError
        No network (the services cannot be reached), the place is not found or is not
        a polygon, or the download fails.
    """
    import osmnx as ox
    import requests

    rules = load("osm_mapping")
    _check_reachable([ox.settings.nominatim_url, ox.settings.overpass_url], timeout_s)
    if progress:
        progress(0.0, f"geocoding {place!r}")
    with _osmnx_timeout(timeout_s):
        try:
            found = ox.geocode_to_gdf(place)
        except requests.RequestException as exc:
            raise InputError(f"geocoding {place!r} failed: network error ({exc})") from exc
        except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
            raise InputError(f"place {place!r} was not found by Nominatim ({exc})") from exc
        polygon = found.geometry.iloc[0]
        if polygon.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(
                f"place {place!r} geocodes to a {polygon.geom_type}, not an area; give a "
                "bbox and a local file instead"
            )
        centre = polygon.centroid
        local = _utm_crs(centre.x, centre.y)
        around = _reproject(_reproject(polygon, _WGS84, local).buffer(context_m), local, _WGS84)
        query = _overpass_query(around.bounds, list(rules["keys"]), timeout_s,
                                list(rules["streets"]["bus_routes"]))  # fmt: skip
        if progress:
            progress(0.05, "downloading from Overpass")
        try:
            response = ox._overpass._overpass_request(OrderedDict(data=query))
        except (requests.RequestException, ValueError) as exc:
            # ValueError covers osmnx's InsufficientResponseError/ResponseStatusCodeError.
            raise InputError(f"Overpass download for {place!r} failed ({exc})") from exc
    with tempfile.TemporaryDirectory(prefix="vollsmose-osm-") as tmp:
        path = Path(tmp) / "overpass.osm"
        _overpass_xml(response.get("elements", []), path)
        result = import_osm(
            path, boundary=polygon, boundary_crs="EPSG:4326", name=name or place, crs=crs,
            context_m=context_m, tenure=tenure, average_dwelling_m2=average_dwelling_m2,
            progress=progress,
        )  # fmt: skip
    report = result.report
    report.source = f"Overpass API {ox.settings.overpass_url}, place {place!r}"
    provenance = Provenance(
        source=f"OpenStreetMap via the Overpass API ({ox.settings.overpass_url}); "
        f"boundary of {place!r} from Nominatim",
        licence=OSM_LICENCE,
        date=result.district.provenance.date,
        kind="openstreetmap",
        attribution=OSM_ATTRIBUTION,
        notes=report.summary(),
    )
    return OsmImport(result.district.replace(provenance=provenance), report)


def district_from_place(place: str, **options: Any) -> District:
    """Return the District of a place downloaded from OpenStreetMap (needs network).

    See :func:`import_osm_place` for the options.
    """
    return import_osm_place(place, **options).district
