"""Many areas on a distributed engine (Dask): import, analyse and rank a list of areas.

:func:`run_batch` takes a set of area polygons (one per listed housing area, with an
``id`` and a ``name``) and one OpenStreetMap extract of the region holding them, and:

1. **extracts** every area's data in one streaming read of the extract
   (:func:`extract_areas`): each area gets a small ``.osm.pbf`` holding everything
   within its bounding box grown by a context margin (the import's ``context_m`` plus
   :data:`EXTRACT_SLACK_M`), with complete ways (every node of a way that reaches the box)
   and complete multipolygons (every member way of a multipolygon that reaches it).  The
   region is never held in memory: only the node locations (libosmium's index), the
   areas' boxes and the member ways of multipolygons are;
2. **imports and analyses** each area on a ``dask.distributed`` cluster - a
   ``LocalCluster`` of N worker processes with a memory limit each by default, or any
   running scheduler (``client=Client("tcp://…")``: dask-jobqueue, Kubernetes, Coiled).
   One task per area: :func:`~vollsmose_gis.sources.osm.district_from_osm` on its small
   file with the area polygon as boundary, then every scored module (or those named);
3. **streams the results to disk** as the tasks finish: one GeoPackage per area
   (``areas/<id>.gpkg``), ``areas.csv`` (long: area, indicator, value, unit),
   ``areas_wide.csv`` (one row per area), and at the end an offline overview map
   (``overview.html``, areas coloured by an indicator) and a summary report ranking the
   areas (``report.html``).

Faults: an area that fails (bad geometry, outside the extract, no streets) gets an error
row with its reason and the others finish; a worker that dies mid-run has its areas
re-run on another worker (Dask ``retries``); a rerun skips the areas whose inputs (the
extract's content, the area polygon, the parameters, the statistics rows) and the code
version are unchanged (a content-hash cache in ``OUT/.batch-cache``); every file is
written to a temporary name and renamed into place, so an interrupted run leaves the
finished areas complete and no half-written file.

Data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import math
import os
import resource
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis._util import slug
from vollsmose_gis._version import __version__

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "EXTRACT_SLACK_M",
    "AreaOutcome",
    "BatchResult",
    "code_version",
    "connect",
    "extract_areas",
    "read_areas",
    "run_area",
    "run_batch",
]

EXTRACT_SLACK_M = 250.0
"""Metres added to the import's ``context_m`` around each area's bounding box when its
small file is cut from the extract, so that the import (which reads within the area
buffered by ``context_m``) finds every object it would find in the whole extract."""

CONNECT_TIMEOUT_S = 10.0
"""Default seconds to wait for a scheduler given by address before giving up."""

_M_PER_DEG_LAT = 111_320.0
_CACHE_DIR = ".batch-cache"
_WORK_DIR = ".batch-work"

BatchProgress = Callable[[int, int, str], None]
"""``progress(done, total, message)``: areas finished so far, areas to do, last area."""


# --------------------------------------------------------------------------- areas


def read_areas(
    areas: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    id_column: str = "id",
    name_column: str = "name",
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Read and check the areas: one polygon per area, unique ids, no overlaps.

    Parameters
    ----------
    areas
        A GeoDataFrame, or a vector file (GeoPackage, GeoJSON, shapefile) with one
        (multi)polygon per area and the columns ``id_column`` and ``name_column``
        (the name is optional: the id stands in).  It must carry a CRS.
    id_column, name_column
        The columns holding each area's id (unique) and display name.

    Returns
    -------
    tuple
        The areas (columns ``id``, ``name``, ``geometry``; ids as text, in the input's
        CRS) and, by area id, the reason each unusable area (empty, not a polygon,
        invalid geometry) is skipped.  Skipped areas become error rows, not a failure.

    Raises
    ------
    InputError
        No such file or not a vector file, no CRS, a missing id column, missing or
        duplicate ids (also ids equal once made into file names), overlapping areas.
    """
    label = "areas" if isinstance(areas, gpd.GeoDataFrame) else f"areas file {areas}"
    if not isinstance(areas, gpd.GeoDataFrame):
        path = Path(areas)
        if not path.is_file():
            raise InputError(f"{label}: no such file; give a GeoPackage of area polygons")
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # GDAL raises several types for "not a dataset"
            raise InputError(f"{label}: not a readable vector file ({exc})") from exc
    else:
        frame = areas.copy()
    if frame.empty:
        raise InputError(f"{label}: holds no areas; give one polygon per area")
    if frame.crs is None:
        raise InputError(f"{label}: has no CRS; set one (e.g. EPSG:25832) on the layer")
    if id_column not in frame.columns:
        raise InputError(
            f"{label}: no column {id_column!r} (columns: {list(frame.columns)}); give each "
            "area an id, or name the id column (CLI: --id-column)"
        )
    ids = frame[id_column]
    if ids.isna().any():
        rows = [int(i) + 1 for i in np.flatnonzero(ids.isna().to_numpy())]
        raise InputError(f"{label}: feature(s) {rows} have no {id_column}; give every area one")
    ids = ids.astype(str).str.strip()
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise InputError(f"{label}: duplicate area id(s) {duplicated}; each area needs its own id")
    slugs = ids.map(slug)
    clash = sorted(set(ids[slugs.duplicated(keep=False)]))
    if clash:
        raise InputError(
            f"{label}: area ids {clash} give the same file name ({slugs[ids == clash[0]].iloc[0]}"
            ".gpkg); make them differ in letters or digits"
        )
    names = (
        frame[name_column].astype("string").fillna(ids)
        if name_column in frame.columns
        else ids.copy()
    )
    out = gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "name": names.astype(str).to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    skipped: dict[str, str] = {}
    for area_id, geom in zip(out["id"], out.geometry, strict=True):
        if geom is None or geom.is_empty:
            skipped[area_id] = "its geometry is empty; draw the area's polygon"
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            skipped[area_id] = f"its geometry is a {geom.geom_type}; areas must be polygons"
        elif not geom.is_valid:
            skipped[area_id] = (
                f"its polygon is invalid ({shapely.is_valid_reason(geom)}); repair it "
                "(e.g. QGIS 'Fix geometries' or shapely.make_valid)"
            )
    _check_overlaps(out[~out["id"].isin(skipped)], label)
    return out, skipped


def _check_overlaps(frame: gpd.GeoDataFrame, label: str) -> None:
    """Refuse areas whose interiors overlap (shared edges are fine)."""
    if len(frame) < 2:
        return
    geoms = frame.geometry.to_numpy()
    left, right = frame.sindex.query(geoms, predicate="intersects")
    pairs = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = geoms[i].intersection(geoms[j]).area
        smaller = min(geoms[i].area, geoms[j].area)
        if smaller > 0 and shared > 1e-6 * smaller:
            pairs.append((frame["id"].iloc[i], frame["id"].iloc[j], shared / smaller))
    if pairs:
        text = "; ".join(f"{a} and {b} ({share:.1%} of the smaller)" for a, b, share in pairs[:5])
        more = f" and {len(pairs) - 5} more pairs" if len(pairs) > 5 else ""
        raise InputError(
            f"{label}: overlapping areas: {text}{more}. Each place must belong to one area "
            "(the results are per area); cut the polygons so they only touch"
        )


# --------------------------------------------------------------------------- extraction


@dataclass
class _Sink:
    """The two writers of one area's small file (nodes, then ways), and what it holds."""

    nodes_path: Path
    ways_path: Path
    nodes: Any
    ways: Any
    written_nodes: set[int] = field(default_factory=set)
    written_ways: set[int] = field(default_factory=set)
    objects: int = 0

    def add_node(self, node: Any) -> None:
        """Write a node (an osmium node or a mutable one) unless it is written already."""
        if node.id not in self.written_nodes:
            self.nodes.add_node(node)
            self.written_nodes.add(node.id)

    def add_way(self, way: _WayCopy) -> None:
        """Write a way with every located node of it (untagged copies), once."""
        from osmium.osm import mutable

        if way.id in self.written_ways:
            return
        for ref, loc in zip(way.refs, way.locs, strict=True):
            if loc is not None and ref not in self.written_nodes:
                self.nodes.add_node(mutable.Node(id=ref, location=loc))
                self.written_nodes.add(ref)
        self.ways.add_way(
            mutable.Way(id=way.id, nodes=way.refs, tags=way.tags, timestamp=way.timestamp)
        )
        self.written_ways.add(way.id)
        self.objects += 1

    def close(self) -> None:
        """Close both writers."""
        self.nodes.close()
        self.ways.close()


@dataclass
class _WayCopy:
    """A way as read with node locations (None where the file lacks the node)."""

    id: int
    refs: list[int]
    locs: list[tuple[float, float] | None]
    tags: dict[str, str]
    timestamp: Any

    @classmethod
    def of(cls, way: Any) -> _WayCopy:
        """Copy an osmium way (valid only while the reader is on it)."""
        refs: list[int] = []
        locs: list[tuple[float, float] | None] = []
        for node in way.nodes:
            refs.append(node.ref)
            loc = node.location
            locs.append((loc.lon, loc.lat) if loc.valid() else None)
        return cls(way.id, refs, locs, {t.k: t.v for t in way.tags}, way.timestamp)

    def envelope(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) of the located nodes, or None when none is located."""
        located = [p for p in self.locs if p is not None]
        if not located:
            return None
        lons = [p[0] for p in located]
        lats = [p[1] for p in located]
        return min(lons), min(lats), max(lons), max(lats)


@dataclass
class _Relation:
    id: int
    tags: dict[str, str]
    members: list[tuple[str, int, str]]
    timestamp: Any
    polygon: bool
    areas: set[int] = field(default_factory=set)


def _area_boxes(areas: gpd.GeoDataFrame, margin_m: float) -> np.ndarray:
    """Each area's lon/lat bounding box grown by ``margin_m`` metres (rows W, S, E, N)."""
    bounds = areas.to_crs("EPSG:4326").bounds.to_numpy(float)
    dlat = margin_m / _M_PER_DEG_LAT
    # degrees of longitude are shortest on the parallel farthest from the equator
    far = np.radians(np.clip(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])), 0, 85))
    dlon = margin_m / (_M_PER_DEG_LAT * np.cos(far))
    return np.column_stack(
        [bounds[:, 0] - dlon, bounds[:, 1] - dlat, bounds[:, 2] + dlon, bounds[:, 3] + dlat]
    )


def _header(stamp: str, bounds: Sequence[float] | None = None) -> Any:
    """A PBF header carrying the source's timestamp (and a bounding box)."""
    import osmium

    header = osmium.io.Header()
    if stamp:
        header.set("timestamp", stamp)
        header.set("osmosis_replication_timestamp", stamp)
    if bounds is not None:
        w, s, e, n = (float(v) for v in bounds)
        header.add_box(osmium.osm.Box(osmium.osm.Location(w, s), osmium.osm.Location(e, n)))
    return header


class _Extractor:
    """One streaming pass over an extract writing a small file per area (see
    :func:`extract_areas`).
    """

    def __init__(self, path: Path, boxes: np.ndarray, work: Path) -> None:
        import osmium

        from vollsmose_gis.standards import load

        self.path = path
        self.boxes = boxes
        self.bounds = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
        header = osmium.FileProcessor(str(path)).header
        self.stamp = header.get("timestamp", "") or header.get("osmosis_replication_timestamp", "")
        self.bus_routes = set(load("osm_mapping")["streets"]["bus_routes"])
        self.relations: list[_Relation] = []
        self.member_of: dict[int, list[int]] = {}
        self.polygon_members: set[int] = set()
        self.kept_members: dict[int, _WayCopy] = {}
        self.sinks = [
            _Sink(
                work / f"{k}-nodes.osm.pbf",
                work / f"{k}-ways.osm.pbf",
                osmium.SimpleWriter(
                    str(work / f"{k}-nodes.osm.pbf"), bufsz=1 << 16, header=_header(self.stamp)
                ),
                osmium.SimpleWriter(
                    str(work / f"{k}-ways.osm.pbf"), bufsz=1 << 16, header=_header(self.stamp)
                ),
            )
            for k in range(len(boxes))
        ]

    def hits(self, w: float, s: float, e: float, n: float) -> list[int]:
        """The areas whose box meets the box (w, s, e, n)."""
        bw, bs, be, bn = self.bounds
        if w > be or e < bw or s > bn or n < bs:
            return []
        b = self.boxes
        return np.flatnonzero(
            (w <= b[:, 2]) & (e >= b[:, 0]) & (s <= b[:, 3]) & (n >= b[:, 1])
        ).tolist()

    def read_relations(self) -> None:
        """First pass (relations only): multipolygons and bus routes, their member ways."""
        import osmium

        for rel in osmium.FileProcessor(str(self.path), osmium.osm.RELATION):
            tags = {t.k: t.v for t in rel.tags}
            polygon = tags.get("type") == "multipolygon"
            route = tags.get("type") == "route" and tags.get("route") in self.bus_routes
            if not (polygon or route):
                continue
            members = [(m.type, m.ref, m.role) for m in rel.members]
            index = len(self.relations)
            self.relations.append(_Relation(rel.id, tags, members, rel.timestamp, polygon))
            for kind, ref, _role in members:
                if kind == "w":
                    self.member_of.setdefault(ref, []).append(index)
                    if polygon:
                        self.polygon_members.add(ref)

    def read_nodes_and_ways(self, location_index: str) -> None:
        """Second pass: tagged nodes in a box, ways meeting a box (with node locations)."""
        import osmium

        processor = osmium.FileProcessor(
            str(self.path), osmium.osm.NODE | osmium.osm.WAY
        ).with_locations(location_index)
        untagged = osmium.filter.EmptyTagFilter()
        untagged.enable_for(osmium.osm.NODE)
        processor.with_filter(untagged)
        for obj in processor:
            if obj.is_node():
                self.node(obj)
            else:
                self.way(obj)

    def node(self, node: Any) -> None:
        """Keep a tagged node in every area whose box holds it."""
        loc = node.location
        if not loc.valid():
            return
        for k in self.hits(loc.lon, loc.lat, loc.lon, loc.lat):
            self.sinks[k].add_node(node)
            self.sinks[k].objects += 1

    def way(self, obj: Any) -> None:
        """Keep a way (all its nodes) in every area whose box its envelope meets."""
        member = obj.id in self.polygon_members
        way = _WayCopy.of(obj)
        if member:
            self.kept_members[way.id] = way
        envelope = way.envelope()
        found = self.hits(*envelope) if envelope is not None else []
        for k in found:
            self.sinks[k].add_way(way)
        for index in self.member_of.get(way.id, ()) if found else ():
            self.relations[index].areas.update(found)

    def finish_relations(self) -> None:
        """Write each kept relation, with every member way of a multipolygon."""
        from osmium.osm import mutable

        for rel in self.relations:
            for k in sorted(rel.areas):
                sink = self.sinks[k]
                if rel.polygon:
                    for kind, ref, _role in rel.members:
                        if kind == "w" and ref in self.kept_members:
                            sink.add_way(self.kept_members[ref])
                sink.ways.add_relation(
                    mutable.Relation(id=rel.id, members=rel.members, tags=rel.tags,
                                     timestamp=rel.timestamp)
                )  # fmt: skip

    def assemble(self, k: int, target: Path) -> None:
        """Write area ``k``'s small file: its nodes, then its ways and relations."""
        import osmium

        writer = osmium.SimpleWriter(
            str(target), bufsz=1 << 16, header=_header(self.stamp, self.boxes[k]), overwrite=True
        )
        try:
            for part in (self.sinks[k].nodes_path, self.sinks[k].ways_path):
                for obj in osmium.FileProcessor(str(part)):
                    if obj.is_node():
                        writer.add_node(obj)
                    elif obj.is_way():
                        writer.add_way(obj)
                    else:
                        writer.add_relation(obj)
        finally:
            writer.close()


def extract_areas(
    source: str | os.PathLike[str],
    areas: gpd.GeoDataFrame,
    folder: str | os.PathLike[str],
    *,
    margin_m: float,
    location_index: str = "flex_mem",
) -> dict[str, Path | str]:
    """Cut one small OSM file per area out of an extract in one streaming read.

    Parameters
    ----------
    source
        The region's OpenStreetMap file (``.osm.pbf``, ``.osm``, ``.osm.bz2``…).
    areas
        The areas (``id`` column, polygons, any CRS) as from :func:`read_areas`.
    folder
        Where the small files are written (``<id>.osm.pbf``); must exist.
    margin_m
        Metres added around each area's bounding box (the import's ``context_m`` plus
        :data:`EXTRACT_SLACK_M`).
    location_index
        libosmium's node-location index (``"flex_mem"`` in memory; for a whole country
        on a small machine ``"sparse_file_array,/tmp/nodes.idx"`` keeps it on disk).

    Returns
    -------
    dict
        Area id -> its small file, or the reason it has none (the area lies outside the
        extract's data).

    Raises
    ------
    InputError
        The file is not a readable OpenStreetMap file.

    Notes
    -----
    The file is streamed once for relations (multipolygons and bus routes: small) and
    once for nodes and ways together, whatever the number of areas.  A tagged node is
    kept when it lies in an area's box; a way when its envelope meets the box, with all
    its nodes (untagged copies outside the box); a multipolygon or bus route when one of
    its member ways was kept, with all its member ways.  Memory holds the areas' boxes,
    the node-location index, the member ways of multipolygons, and the ids written per
    area - not the region's objects.
    """
    path = Path(source)
    folder = Path(folder)
    ids = [str(i) for i in areas["id"]]
    work = Path(tempfile.mkdtemp(prefix="extract-", dir=folder))
    extractor: _Extractor | None = None
    try:
        extractor = _Extractor(path, _area_boxes(areas, margin_m), work)
        try:
            extractor.read_relations()
            extractor.read_nodes_and_ways(location_index)
        except RuntimeError as exc:
            raise InputError(f"{path}: not a readable OpenStreetMap file ({exc})") from exc
        extractor.finish_relations()
        for sink in extractor.sinks:
            sink.close()
        files: dict[str, Path | str] = {}
        for k, area_id in enumerate(ids):
            if extractor.sinks[k].objects == 0:
                files[area_id] = (
                    f"the area (with {margin_m:g} m around it) lies outside the data of "
                    f"{path.name}; check its polygon and CRS, or use an extract that covers it"
                )
                continue
            files[area_id] = folder / f"{slug(area_id)}.osm.pbf"
            extractor.assemble(k, files[area_id])
        return files
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- one area


@dataclass
class AreaOutcome:
    """What one area's task returns (and what the cache keeps, without the GeoPackage).

    Attributes
    ----------
    area, name
        The area's id and name.
    status
        ``"ok"``, ``"error"`` or ``"cached"`` (from an earlier run, unchanged inputs).
    reason
        Why it failed (``status == "error"``), else ``""``.
    rows
        Indicator rows: module, indicator, value, unit, higher_is_better, theme.
    warnings
        The modules' and the import's warnings, one line each.
    seconds
        Wall time of the task on its worker (s).
    peak_rss_mb
        Peak resident memory of the worker process when the task ended (MiB).
    worker
        The Dask worker's address that ran the task (``""`` in this process).
    scenarios
        With scenarios: one row per scenario scored on the area (scenario, rank,
        overall, cost_dkk, p_first, error).
    gpkg
        The area's GeoPackage as bytes (not kept in the cache).
    """

    area: str
    name: str
    status: str
    reason: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    gpkg: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """The outcome without its GeoPackage, JSON-ready (NaN as None)."""
        rows = [
            {**r, "value": None if not math.isfinite(r["value"]) else r["value"]} for r in self.rows
        ]
        return {
            "area": self.area,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "rows": rows,
            "warnings": self.warnings,
            "seconds": self.seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "worker": self.worker,
            "scenarios": [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.items()
                }
                for row in self.scenarios
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AreaOutcome:
        """Rebuild an outcome from :meth:`to_json` (None values back to NaN)."""
        rows = [
            {**r, "value": math.nan if r["value"] is None else r["value"]} for r in data["rows"]
        ]
        return cls(
            area=data["area"],
            name=data["name"],
            status=data["status"],
            reason=data["reason"],
            rows=rows,
            warnings=list(data["warnings"]),
            seconds=float(data["seconds"]),
            peak_rss_mb=float(data["peak_rss_mb"]),
            worker=str(data.get("worker", "")),
            scenarios=[
                {k: (math.nan if v is None and k != "error" else v) for k, v in row.items()}
                for row in data.get("scenarios", [])
            ],
        )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def run_area(
    area_id: str,
    name: str,
    boundary_wkb: bytes,
    boundary_crs: str,
    osm_bytes: bytes,
    *,
    source_name: str,
    modules: Sequence[str],
    module_params: Mapping[str, Mapping[str, Any]] | None = None,
    context_m: float = 1000.0,
    crs: str = "auto",
    statistics: pd.DataFrame | None = None,
    scenarios: Sequence[Any] | None = None,
) -> AreaOutcome:
    """Import one area from its small OSM file and run the modules (one Dask task).

    Every failure caused by the data (no streets, nothing imported, a module refusing
    the district) is returned as an ``"error"`` outcome with its reason, so that Dask
    does not retry it; only a dying worker makes Dask run the task again.

    Parameters
    ----------
    area_id, name
        The area's id and display name.
    boundary_wkb, boundary_crs
        The area polygon (WKB) and its CRS.
    osm_bytes
        The area's small ``.osm.pbf`` (from :func:`extract_areas`), as bytes, so that
        workers need no file system shared with the client.
    source_name
        The region extract's file name (for the provenance).
    modules
        Module names (:func:`vollsmose_gis.analysis.module_names`).
    module_params
        Parameters per module (module -> {parameter: value}).
    context_m
        Metres of context kept around the area by the import.
    crs
        The district CRS (``"auto"``: the area's UTM zone).
    statistics
        The area's rows of the follow-up statistics (runs the ``followup`` module).
    scenarios
        Scenarios (without a base of their own) scored on the area's district; a
        scenario that cannot be applied there gives a row with its error, not a failed
        area.

    Returns
    -------
    AreaOutcome
        ``"ok"`` with indicator rows and the GeoPackage bytes, or ``"error"``.
    """
    from dataclasses import replace

    from vollsmose_gis import analysis
    from vollsmose_gis.io import save_district
    from vollsmose_gis.sources.osm import district_from_osm

    start = time.perf_counter()
    outcome = AreaOutcome(area_id, name, "ok")
    with tempfile.TemporaryDirectory(prefix="vollsmose-area-") as tmp:
        small = Path(tmp) / f"{slug(area_id)}.osm.pbf"
        small.write_bytes(osm_bytes)
        try:
            boundary = gpd.GeoSeries([shapely.from_wkb(boundary_wkb)], crs=boundary_crs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                district = district_from_osm(
                    small, boundary=boundary, name=name, crs=crs, context_m=context_m
                )
            # the import's warnings, by the area and not by its temporary file's name
            outcome.warnings += list(
                dict.fromkeys(f"import: {str(w.message).replace(str(small), small.name)}"
                              for w in caught)
            )  # fmt: skip
            inside = district.streets[district.streets.intersects(district.boundary)]
            if inside.empty:
                raise InputError(
                    f"no streets inside the area in {source_name} (the extract maps none "
                    "there); check the polygon, or map the streets in OpenStreetMap first"
                )
            district = district.replace(
                provenance=replace(
                    district.provenance,
                    source=f"OpenStreetMap extract {source_name}, area {area_id} ({name})",
                )
            )
            extra: dict[str, gpd.GeoDataFrame] = {}
            for module in modules:
                params = dict((module_params or {}).get(module, {}))
                if module == "followup":
                    params.setdefault("statistics", statistics)
                result = analysis.run(module, district, **params)
                for key, ind in result.indicators.items():
                    outcome.rows.append(
                        {
                            "module": module,
                            "indicator": key,
                            "value": float(ind.value),
                            "unit": ind.unit,
                            "higher_is_better": bool(ind.higher_is_better),
                            "theme": ind.theme,
                        }
                    )
                outcome.warnings += [f"{module}: {w}" for w in result.warnings]
                for layer, frame in result.layers.items():
                    if isinstance(frame, gpd.GeoDataFrame) and len(frame):
                        extra[f"{module}_{layer}"] = frame
            gpkg = Path(tmp) / "area.gpkg"
            if scenarios:
                outcome.scenarios = _score_area(district, scenarios, modules, module_params)
            save_district(district, gpkg, extra_layers=extra)
            outcome.gpkg = gpkg.read_bytes()
        except Exception as exc:
            outcome.status = "error"
            kind = "" if isinstance(exc, InputError) else f"{type(exc).__name__}: "
            outcome.reason = f"{kind}{exc}"
            outcome.rows = []
            outcome.gpkg = None
    outcome.seconds = time.perf_counter() - start
    outcome.peak_rss_mb = _peak_rss_mb()
    outcome.worker = _worker_address()
    return outcome


def _score_area(
    district: Any,
    scenarios: Sequence[Any],
    modules: Sequence[str],
    module_params: Mapping[str, Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Score the scenarios on one area's district: rows of scenario, rank, overall, cost."""
    from vollsmose_gis import analysis
    from vollsmose_gis.scoring import score_scenarios

    scored = [m for m in modules if analysis.get(m).scored]
    params = {m: dict(p) for m, p in (module_params or {}).items() if m in scored}
    try:
        result = score_scenarios(
            list(scenarios), district=district, modules=scored, module_params=params
        )
    except Exception as exc:
        reason = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        return [{"scenario": "", "rank": math.nan, "overall": math.nan, "cost_dkk": math.nan,
                 "p_first": math.nan, "error": reason}]  # fmt: skip
    return [
        {"scenario": str(r["scenario"]), "rank": float(r["rank"]),
         "overall": float(r["overall"]), "cost_dkk": float(r["cost_dkk"]),
         "p_first": float(r["p_first"]), "error": ""}
        for r in result.scores.to_dict(orient="records")
    ]  # fmt: skip


# --------------------------------------------------------------------------- engine


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Client:
    """Connect to a running Dask scheduler, or fail with a clear error after a timeout.

    Parameters
    ----------
    address
        The scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
    timeout_s
        Seconds to wait for the connection.

    Raises
    ------
    InputError
        The scheduler cannot be reached within ``timeout_s`` seconds.
    """
    from distributed import Client

    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"Dask scheduler {address} not reachable within {timeout_s:g} s ({exc}); check "
            "the address (tcp://HOST:PORT) and that the scheduler is running, or leave "
            "--scheduler out to use a local cluster"
        ) from exc


def _quiet_worker_class() -> type:
    from distributed.diagnostics.plugin import WorkerPlugin

    class QuietWorker(WorkerPlugin):
        """Keeps vollsmose-gis's log warnings of a local worker off the terminal."""

        def setup(self, worker: Any) -> None:
            """Raise the package logger's level to ERROR in the worker process."""
            logging.getLogger("vollsmose_gis").setLevel(logging.ERROR)

    return QuietWorker


def _quiet_worker() -> Any:
    """The plugin, built lazily (distributed is imported only when a cluster is used)."""
    return _quiet_worker_class()()


@contextlib.contextmanager
def _engine(
    client: Client | str | None,
    workers: int,
    memory_limit: str | float | None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[Client | None]:
    """The client to submit to: given, connected by address, or a new LocalCluster.

    ``workers == 0`` without a client runs every area in this process (no Dask).
    """
    if client is not None and not isinstance(client, str):
        yield client
        return
    if isinstance(client, str):
        own = connect(client, timeout_s=timeout_s)
        try:
            yield own
        finally:
            own.close()
        return
    if workers < 0:
        raise InputError(f"workers must be >= 0 (0: no Dask, in this process), got {workers}")
    if workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=":0",
        silence_logs=40,
    )
    own = Client(cluster, set_as_default=False)
    # the workers' warnings come back in each area's outcome: no copy on the terminal
    own.register_plugin(_quiet_worker(), name="vollsmose-quiet")
    try:
        yield own
    finally:
        own.close()
        cluster.close()


# --------------------------------------------------------------------------- cache


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def code_version() -> str:
    """The package version plus a hash of its code and standards files (cache key part)."""
    root = Path(__file__).resolve().parents[1]  # the vollsmose_gis package
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".yml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _area_key(
    source_hash: str,
    geom: Any,
    crs: str,
    name: str,
    settings: Mapping[str, Any],
    statistics: pd.DataFrame | None,
) -> str:
    digest = hashlib.sha256()
    digest.update(source_hash.encode())
    digest.update(shapely.to_wkb(geom, hex=False))
    digest.update(crs.encode())
    digest.update(name.encode())
    digest.update(json.dumps(settings, sort_keys=True, default=repr).encode())
    if statistics is not None:
        digest.update(statistics.to_csv(index=False).encode())
    digest.update(code_version().encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- outputs


def _write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically: a temporary name in the same folder, then a rename."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _long_table(outcomes: Sequence[AreaOutcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        status = "ok" if o.status == "cached" else o.status
        if o.status == "error":
            rows.append(
                {"area": o.area, "name": o.name, "module": "", "indicator": "", "value": math.nan,
                 "unit": "", "status": "error", "reason": o.reason}
            )  # fmt: skip
            continue
        for r in o.rows:
            rows.append(
                {"area": o.area, "name": o.name, "module": r["module"],
                 "indicator": r["indicator"], "value": r["value"], "unit": r["unit"],
                 "status": status, "reason": ""}
            )  # fmt: skip
    columns = ["area", "name", "module", "indicator", "value", "unit", "status", "reason"]
    return pd.DataFrame(rows, columns=columns)


def _wide_table(outcomes: Sequence[AreaOutcome]) -> pd.DataFrame:
    base = pd.DataFrame(
        [
            {"area": o.area, "name": o.name,
             "status": "ok" if o.status == "cached" else o.status, "reason": o.reason}
            for o in outcomes
        ],
        columns=["area", "name", "status", "reason"],
    )  # fmt: skip
    long = _long_table(outcomes)
    long = long[long["status"] == "ok"]
    if long.empty:
        return base
    wide = long.pivot_table(index="area", columns="indicator", values="value", aggfunc="first",
                            dropna=False, sort=False)  # fmt: skip
    order = list(dict.fromkeys(long["indicator"]))
    wide = wide.reindex(columns=order)
    return base.merge(wide, left_on="area", right_index=True, how="left")


def _rank(outcomes: Sequence[AreaOutcome]) -> pd.DataFrame:
    """Each ok area's overall score (0-100) under the scoring profile, best first.

    The same value function and roll-up as plan scoring: each profiled indicator scored
    linearly from its worst (0) to its target (100), themes as the weighted mean of their
    indicators, the overall as the theme-weighted mean of the measured themes.
    """
    from vollsmose_gis.scoring import load_profile, value_score

    profile = load_profile()
    rows = []
    for o in outcomes:
        if o.status == "error":
            continue
        themes: dict[str, list[tuple[float, float]]] = {}
        for r in o.rows:
            spec = profile.indicators.get(r["indicator"])
            if not spec or float(spec["weight"]) <= 0:
                continue
            score = value_score(r["value"], spec["worst"], spec["target"])
            if math.isfinite(score):
                themes.setdefault(spec["theme"], []).append((score, float(spec["weight"])))
        theme_scores = {
            t: float(np.average([s for s, _ in v], weights=[w for _, w in v]))
            for t, v in themes.items()
        }
        measured = [t for t in profile.themes if t in theme_scores and profile.themes[t] > 0]
        overall = (
            float(np.average([theme_scores[t] for t in measured],
                             weights=[profile.themes[t] for t in measured]))
            if measured else math.nan
        )  # fmt: skip
        rows.append({"area": o.area, "name": o.name, "overall": overall, **theme_scores})
    frame = pd.DataFrame(rows, columns=["area", "name", "overall"] if not rows else None)
    frame = frame.sort_values("overall", ascending=False, kind="stable", na_position="last")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def _default_indicator(outcomes: Sequence[AreaOutcome]) -> str | None:
    for o in outcomes:
        for r in o.rows:
            if math.isfinite(r["value"]):
                return str(r["indicator"])
    return None


def _overview_map(
    areas: gpd.GeoDataFrame, outcomes: Sequence[AreaOutcome], indicator: str | None
) -> str:
    """An offline folium map (no tiles) of the areas coloured by ``indicator``."""
    import branca.colormap as cm
    import folium

    from vollsmose_gis.maps import to_html

    values = {o.area: r["value"] for o in outcomes for r in o.rows if r["indicator"] == indicator}
    status = {o.area: ("ok" if o.status == "cached" else o.status) for o in outcomes}
    reasons = {o.area: o.reason for o in outcomes}
    frame = areas.to_crs("EPSG:4326")
    finite = [v for v in values.values() if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    colours = cm.LinearColormap(["#d7191c", "#ffffbf", "#1a9641"], vmin=low, vmax=high)
    w, s, e, n = frame.total_bounds
    m = folium.Map(tiles=None, control_scale=True)
    m.fit_bounds([[s, w], [n, e]])
    for area_id, name, geom in zip(frame["id"], frame["name"], frame.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        value = values.get(area_id, math.nan)
        fill = colours(value) if math.isfinite(value) else "#999999"
        text = (
            f"{name} ({area_id}): {indicator} = {value:,.3g}"
            if math.isfinite(value)
            else f"{name} ({area_id}): {status.get(area_id, 'not run')} {reasons.get(area_id, '')}"
        )
        folium.GeoJson(
            shapely.geometry.mapping(geom),
            style_function=lambda _f, fill=fill: {
                "fillColor": fill,
                "color": "#333333",
                "weight": 1,
                "fillOpacity": 0.7,
            },
            tooltip=html.escape(text),
        ).add_to(m)
    legend = (
        "<div style='position:fixed;bottom:20px;left:20px;z-index:1000;background:white;"
        "padding:6px 10px;border:1px solid #999;font:12px sans-serif'>"
        f"<b>{html.escape(indicator or 'no indicator')}</b><br>"
        "<span style='display:inline-block;width:120px;height:10px;background:linear-gradient("
        "to right,#d7191c,#ffffbf,#1a9641)'></span><br>"
        f"{low:,.3g} &ndash; {high:,.3g}; grey: not analysed<br>"
        "&copy; OpenStreetMap contributors</div>"
    )
    m.get_root().html.add_child(folium.Element(legend))
    return to_html(m)  # Leaflet inlined: the page works offline


def _report_html(
    ranking: pd.DataFrame,
    outcomes: Sequence[AreaOutcome],
    *,
    source: str,
    modules: Sequence[str],
    indicator: str | None,
) -> str:
    """A plain offline HTML summary: the ranking, the error rows, the warnings."""
    e = html.escape
    head = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Areas</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:nth-child(2),td:nth-child(3){text-align:left}</style></head><body>"
    )
    parts = [
        head,
        f"<h1>{len(outcomes)} areas</h1>",
        f"<p>Extract {e(source)}; modules {e(', '.join(modules))}; code "
        f"{e(code_version())}. Data © OpenStreetMap contributors, ODbL 1.0.</p>",
        "<h2>Ranking</h2><p>Overall score 0-100 under the scoring profile "
        "(standards/scoring_profile.yaml) for the modules run; themes not measured are "
        "left out of an area's overall.</p>",
    ]
    themes = [c for c in ranking.columns if c not in ("rank", "area", "name", "overall")]
    parts.append(
        "<table><tr><th>rank</th><th>area</th><th>name</th><th>overall</th>"
        + "".join(f"<th>{e(t)}</th>" for t in themes)
        + "</tr>"
    )
    for data in ranking.to_dict("records"):

        def cell(v: Any) -> str:
            return (
                f"<td>{v:.1f}</td>" if isinstance(v, float) and math.isfinite(v) else "<td>–</td>"
            )

        parts.append(
            f"<tr><td>{data['rank']}</td><td>{e(str(data['area']))}</td>"
            f"<td>{e(str(data['name']))}</td>{cell(data['overall'])}"
            + "".join(cell(data[t]) for t in themes)
            + "</tr>"
        )
    parts.append("</table>")
    errors = [o for o in outcomes if o.status == "error"]
    if errors:
        parts.append(f"<h2>{len(errors)} areas not analysed</h2><ul>")
        parts += [f"<li><b>{e(o.area)}</b> ({e(o.name)}): {e(o.reason)}</li>" for o in errors]
        parts.append("</ul>")
    warned = [(o, w) for o in outcomes for w in o.warnings]
    if warned:
        parts.append("<h2>Warnings</h2><ul>")
        parts += [f"<li>{e(o.area)}: {e(w)}</li>" for o, w in warned]
        parts.append("</ul>")
    parts.append(f"<p>Map: overview.html, areas coloured by {e(indicator or '-')}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    """What :func:`run_batch` produced.

    Attributes
    ----------
    outcomes
        One outcome per area, in the order of the input.
    long
        ``areas.csv``: area, name, module, indicator, value, unit, status, reason.
    wide
        ``areas_wide.csv``: one row per area, one column per indicator.
    ranking
        The areas ranked by their overall score (0-100).
    out
        The output folder.
    computed, cached, failed
        Area ids computed in this run, taken from the cache, failed.
    dashboard
        The Dask dashboard's link, when there was one.
    """

    outcomes: list[AreaOutcome]
    long: pd.DataFrame
    wide: pd.DataFrame
    ranking: pd.DataFrame
    out: Path
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dashboard: str | None = None


def run_batch(
    areas: gpd.GeoDataFrame | str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    modules: Sequence[str] | None = None,
    module_params: Mapping[str, Mapping[str, Any]] | None = None,
    stats: str | os.PathLike[str] | pd.DataFrame | None = None,
    scenarios: Sequence[Any] | str | os.PathLike[str] | None = None,
    context_m: float = 1000.0,
    crs: str = "auto",
    client: Client | str | None = None,
    workers: int = 2,
    memory_limit: str | float | None = "2GiB",
    retries: int = 2,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    overwrite: bool = False,
    map_indicator: str | None = None,
    id_column: str = "id",
    name_column: str = "name",
    location_index: str = "flex_mem",
    progress: BatchProgress | None = None,
) -> BatchResult:
    """Import, analyse and rank many areas of one OpenStreetMap extract on Dask.

    Parameters
    ----------
    areas
        The areas: a GeoDataFrame or vector file (GeoPackage…) with one polygon per
        area and ``id`` / ``name`` columns (see :func:`read_areas`).
    source
        The region's OpenStreetMap extract (``.osm.pbf`` or any format pyosmium reads),
        read once for all areas.
    out
        The output folder (created; an earlier batch's folder is reused: its unchanged
        areas are skipped).
    scenarios
        Scenarios (loaded, or a file/folder of scenario YAML) scored on every area's
        district; written to ``scenarios.csv``.  They must not name a base district.
    modules
        Modules to run (default: every scored module; ``followup`` is added when
        ``stats`` is given).
    module_params
        Parameters per module (module -> {parameter: value}).
    stats
        Follow-up statistics (CSV or table, see
        :func:`vollsmose_gis.followup.read_statistics`) whose ``area_id`` matches the
        area ids: each area's rows feed the ``followup`` module.
    context_m
        Metres of context imported around each area (m).
    crs
        District CRS of each area (default ``"auto"``: the area's UTM zone).
    client
        A ``distributed.Client``, or a scheduler address (``"tcp://host:8786"``,
        connected within ``connect_timeout_s``).  Default: a new
        ``LocalCluster`` of ``workers`` processes, closed at the end.
    workers
        Worker processes of the local cluster (1 thread each); ``0`` runs every area
        in this process without Dask (the sequential reference).
    memory_limit
        Memory limit per local worker (bytes or text such as ``"2GiB"``; ``None``: no
        limit).  A worker over it is restarted and its area retried.
    retries
        How often Dask re-runs an area whose worker died.
    connect_timeout_s
        Seconds to wait for a scheduler given by address (s).
    overwrite
        Recompute every area even when the cache says it is unchanged.
    map_indicator
        Indicator colouring the overview map (default: the first one computed).
    id_column, name_column
        The columns of ``areas`` holding the id and the name.
    location_index
        libosmium's node-location index for the extraction (see
        :func:`extract_areas`).
    progress
        Optional callback ``(done, total, message)`` after each area (and once with
        ``"Dask dashboard: <link>"`` when the tasks are submitted to a cluster with one).

    Returns
    -------
    BatchResult
        The outcomes and the tables written.

    Raises
    ------
    InputError
        Bad areas (duplicate ids, overlaps, no CRS), a missing or unreadable extract, a
        bad statistics file, an unknown module, an unreachable scheduler.  Nothing is
        written then.
    """
    from vollsmose_gis import analysis

    frame, skipped = read_areas(areas, id_column=id_column, name_column=name_column)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"OSM extract {path}: no such file; give the region's .osm.pbf")
    if not (math.isfinite(context_m) and context_m >= 0):
        raise InputError(f"context_m must be a distance >= 0 in metres, got {context_m!r}")
    if workers < 0:
        raise InputError(f"workers must be >= 0 (0: no Dask, in this process), got {workers}")
    names = list(modules) if modules is not None else analysis.scored_module_names()
    for module in names:
        analysis.get(module)  # refuses unknown names
    statistics = None
    if stats is not None:
        from vollsmose_gis.followup import read_statistics

        statistics = read_statistics(stats)
        known = set(statistics["area_id"].astype(str))
        if not known & set(frame["id"]):
            raise InputError(
                f"statistics {stats if not isinstance(stats, pd.DataFrame) else ''}: no "
                f"area_id matches an area id (statistics: {sorted(known)[:5]}, areas: "
                f"{list(frame['id'][:5])}); use the areas' ids in the area_id column"
            )
        if "followup" not in names:
            names.append("followup")
    loaded: list[Any] = []
    if scenarios is not None:
        from vollsmose_gis.scenario import load_scenarios

        loaded = (
            load_scenarios(scenarios) if isinstance(scenarios, (str, os.PathLike))
            else list(scenarios)
        )  # fmt: skip
        based = [sc.name for sc in loaded if sc.base is not None]
        if based:
            raise InputError(
                f"scenario(s) {based} name a base district; in a batch each area's own "
                "district is the base - remove their 'base:' line"
            )
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output folder {out_dir} is a file; give a folder")
    if not out_dir.parent.exists():
        raise InputError(f"cannot write {out_dir}: folder {out_dir.parent} does not exist")

    own = connect(client, timeout_s=connect_timeout_s) if isinstance(client, str) else None
    try:
        options = _Options(
            path, out_dir, names, statistics, loaded, module_params, context_m, crs, retries,
            location_index,
        )  # fmt: skip
        run = _Run(frame, options, progress)
        todo = run.start(skipped, overwrite=overwrite)
        if len(todo):
            run.compute(todo, own if own is not None else client, workers, memory_limit)
        return run.summarise(map_indicator)
    finally:
        if own is not None:
            own.close()


@dataclass
class _Options:
    """What every area of one batch shares (the checked arguments of :func:`run_batch`)."""

    path: Path
    out: Path
    modules: list[str]
    statistics: pd.DataFrame | None
    scenarios: list[Any]
    module_params: Mapping[str, Mapping[str, Any]] | None
    context_m: float
    crs: str
    retries: int
    location_index: str

    def settings(self) -> dict[str, Any]:
        """The run's settings as they enter every area's cache key."""
        return {
            "modules": self.modules,
            "module_params": {m: dict(p) for m, p in (self.module_params or {}).items()},
            "context_m": self.context_m,
            "crs": self.crs,
            "source": self.path.name,
            "scenarios": [
                [sc.name, repr(sc.interventions), repr(sc.weights)] for sc in self.scenarios
            ],
        }

    def task_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`run_area` common to every area."""
        return {
            "source_name": self.path.name,
            "modules": self.modules,
            "module_params": self.module_params,
            "context_m": self.context_m,
            "crs": self.crs,
            "scenarios": self.scenarios or None,
        }


class _Run:
    """One batch in progress: the areas' keys, their outcomes, the files written so far."""

    def __init__(
        self, frame: gpd.GeoDataFrame, options: _Options, progress: BatchProgress | None
    ) -> None:
        self.frame = frame
        self.options = options
        self.progress = progress
        self.order = list(frame["id"])
        self.crs_wkt = frame.crs.to_wkt()
        self.outcomes: dict[str, AreaOutcome] = {}
        self.dashboard: str | None = None
        # each area's rows of the statistics; None (the module says "not given") for none
        self.stats: dict[str, pd.DataFrame | None] = dict.fromkeys(self.order)
        if options.statistics is not None:
            for a, rows in options.statistics.groupby("area_id", sort=False):
                if a in self.stats:
                    self.stats[str(a)] = rows.reset_index(drop=True)
        source_hash = _sha256_file(options.path)
        settings = options.settings()
        self.keys = {
            a: _area_key(source_hash, g, self.crs_wkt, n, settings, self.stats[a])
            for a, n, g in zip(frame["id"], frame["name"], frame.geometry, strict=True)
        }
        self.cache_dir = options.out / _CACHE_DIR
        self.area_dir = options.out / "areas"

    def start(self, skipped: Mapping[str, str], *, overwrite: bool) -> gpd.GeoDataFrame:
        """Create the folders, take the skipped and the unchanged areas; the areas to do."""
        self.options.out.mkdir(exist_ok=True)
        self.cache_dir.mkdir(exist_ok=True)
        self.area_dir.mkdir(exist_ok=True)
        for a, n in zip(self.frame["id"], self.frame["name"], strict=True):
            if a in skipped:
                self.outcomes[a] = AreaOutcome(a, n, "error", skipped[a])
            elif not overwrite and (cached := self._cached(a)) is not None:
                self.outcomes[a] = cached
        self.flush()
        return self.frame[~self.frame["id"].isin(list(self.outcomes))]

    def _cached(self, area: str) -> AreaOutcome | None:
        entry = self.cache_dir / f"{slug(area)}.json"
        if not (entry.is_file() and (self.area_dir / f"{slug(area)}.gpkg").is_file()):
            return None
        with contextlib.suppress(ValueError, KeyError):
            data = json.loads(entry.read_text(encoding="utf-8"))
            if data.get("key") == self.keys[area] and data["outcome"]["status"] == "ok":
                cached = AreaOutcome.from_json(data["outcome"])
                cached.status = "cached"
                return cached
        return None

    def flush(self) -> None:
        """Rewrite areas.csv and areas_wide.csv with the areas finished so far."""
        listed = [self.outcomes[a] for a in self.order if a in self.outcomes]
        _write_text(self.options.out / "areas.csv", _long_table(listed).to_csv(index=False))
        _write_text(self.options.out / "areas_wide.csv", _wide_table(listed).to_csv(index=False))

    def finish(self, outcome: AreaOutcome) -> None:
        """Write one finished area: its GeoPackage and cache entry (or remove stale ones)."""
        stem = slug(outcome.area)
        if outcome.status == "ok" and outcome.gpkg is not None:
            _write_bytes(self.area_dir / f"{stem}.gpkg", outcome.gpkg)
            outcome.gpkg = None
            entry = {"key": self.keys[outcome.area], "outcome": outcome.to_json()}
            _write_text(self.cache_dir / f"{stem}.json", json.dumps(entry, allow_nan=False))
        else:
            for stale in (self.area_dir / f"{stem}.gpkg", self.cache_dir / f"{stem}.json"):
                stale.unlink(missing_ok=True)
        self.outcomes[outcome.area] = outcome
        self.flush()
        if self.progress:
            self.progress(len(self.outcomes), len(self.order), f"{outcome.area}: {outcome.status}")

    def compute(
        self, todo: gpd.GeoDataFrame, client: Client | None, workers: int,
        memory_limit: str | float | None,
    ) -> None:  # fmt: skip
        """Extract the areas to do in one read, then run them on the engine."""
        work = self.options.out / _WORK_DIR
        work.mkdir(exist_ok=True)
        try:
            files = extract_areas(
                self.options.path, todo, work,
                margin_m=self.options.context_m + EXTRACT_SLACK_M,
                location_index=self.options.location_index,
            )  # fmt: skip
            jobs = []
            for a, n, g in zip(todo["id"], todo["name"], todo.geometry, strict=True):
                small = files[a]
                if isinstance(small, str):
                    self.finish(AreaOutcome(a, n, "error", small))
                    continue
                jobs.append((a, n, shapely.to_wkb(g), small.read_bytes()))
                small.unlink()
            with _engine(client, workers, memory_limit) as engine:
                if engine is None:
                    options = self.options.task_options()
                    for a, n, wkb, data in jobs:
                        outcome = run_area(
                            a, n, wkb, self.crs_wkt, data, statistics=self.stats[a], **options
                        )
                        self.finish(outcome)
                else:
                    self.dispatch(engine, jobs)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def dispatch(self, engine: Client, jobs: list[tuple[str, str, bytes, bytes]]) -> None:
        """One task per area; write each as it finishes (a task lost twice: an error row)."""
        from distributed import as_completed

        self.dashboard = getattr(engine, "dashboard_link", None)
        if self.progress and self.dashboard:
            self.progress(len(self.outcomes), len(self.order), f"Dask dashboard: {self.dashboard}")
        futures = {}
        for a, n, wkb, data in jobs:
            future = engine.submit(
                run_area, a, n, wkb, self.crs_wkt, data, statistics=self.stats[a],
                retries=self.options.retries, pure=False,
                key=f"area-{slug(a)}-{self.keys[a][:12]}", **self.options.task_options(),
            )  # fmt: skip
            futures[future] = (a, n)
        for future in as_completed(list(futures), loop=engine.loop):
            a, n = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # e.g. KilledWorker once the retries are spent
                reason = f"the task failed on the cluster ({type(exc).__name__}: {exc})"
                outcome = AreaOutcome(a, n, "error", reason)
            future.release()
            self.finish(outcome)

    def summarise(self, map_indicator: str | None) -> BatchResult:
        """Write the ranking, the scenario table, the map and the report; the result."""
        out = self.options.out
        listed = [self.outcomes[a] for a in self.order]
        indicator = map_indicator or _default_indicator(listed)
        ranking = _rank(listed)
        _write_text(out / "ranking.csv", ranking.to_csv(index=False))
        if self.options.scenarios:
            table = pd.DataFrame(
                [{"area": o.area, "name": o.name, **row} for o in listed for row in o.scenarios],
                columns=["area", "name", "scenario", "rank", "overall", "cost_dkk", "p_first",
                         "error"],
            )  # fmt: skip
            _write_text(out / "scenarios.csv", table.to_csv(index=False))
        _write_text(out / "overview.html", _overview_map(self.frame, listed, indicator))
        report = _report_html(
            ranking, listed, source=self.options.path.name, modules=self.options.modules,
            indicator=indicator,
        )  # fmt: skip
        _write_text(out / "report.html", report)
        return BatchResult(
            outcomes=listed,
            long=_long_table(listed),
            wide=_wide_table(listed),
            ranking=ranking,
            out=out,
            computed=[o.area for o in listed if o.status == "ok"],
            cached=[o.area for o in listed if o.status == "cached"],
            failed=[o.area for o in listed if o.status == "error"],
            dashboard=self.dashboard,
        )
