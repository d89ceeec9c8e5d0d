"""Reading OpenStreetMap files: the import report, the study area, streaming with pyosmium."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import osmium
import pyproj
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._errors import DistrictFileError, InputError
from vollsmose_gis.district import District
from vollsmose_gis.sources._report import ImportCounts, listing

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
BBox = tuple[float, float, float, float]
BoundaryLike: TypeAlias = BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | str | os.PathLike[str]
OSM_LICENCE = "ODbL 1.0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
_FORMATS: dict[str, str] = {
    ".osm.pbf": "pbf",
    ".osm.bz2": "osm.bz2",
    ".osm.gz": "osm.gz",
    ".pbf": "pbf",
    ".osm": "osm",
    ".xml": "osm",
}


@dataclass
class ImportReport(ImportCounts):
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
    context
        False when the import had no bbox/boundary: the boundary is then the data's
        extent, nothing lies outside it, and boundary crossings or route directness to
        the surroundings cannot be measured (a note says so and how to fix it).
    """

    source: str
    read: Counter[str] = field(default_factory=Counter)
    kept: dict[str, int] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    estimated: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    context: bool = True

    def summary(self) -> str:
        """Return the report as a few sentences (used as provenance notes)."""
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
            "context": self.context,
        }


@dataclass(frozen=True)
class OsmImport:
    """Result of an OSM import: the District and the report of what happened."""

    district: District
    report: ImportReport


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
    """Return the UTM CRS of the standard 6° zone holding (lon, lat).

    In Europe (zones 28-38, 34-72°N) the ETRS89 / UTM CRS (EPSG:258zz) — the national
    standard of Denmark (EPSG:25832), Germany, Norway, Sweden and others; elsewhere
    WGS 84 / UTM (EPSG:326zz north, 327zz south).
    """
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    if 28 <= zone <= 38 and 34.0 <= lat <= 72.0:
        return pyproj.CRS.from_epsg(25800 + zone)
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


def _read(  # noqa: C901 - waiver: one branch per OSM file format and reader
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
