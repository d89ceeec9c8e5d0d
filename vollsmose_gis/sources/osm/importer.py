"""Assembling an imported District: :func:`import_osm` and :func:`district_from_osm`."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPoint, Point, box

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District, Provenance, Settings
from vollsmose_gis.schema import validate_district
from vollsmose_gis.sources.osm.layers import (
    _buildings,
    _calming,
    _cameras,
    _frame,
    _landuse,
    _lights,
    _pois,
    _settle_buildings,
    _streets,
)
from vollsmose_gis.sources.osm.read import (
    _WGS84,
    OSM_ATTRIBUTION,
    OSM_LICENCE,
    BBox,
    BoundaryLike,
    ImportReport,
    OsmImport,
    Progress,
    _parse_crs,
    _project,
    _Raw,
    _read,
    _reproject,
    _resolve_area,
    _resolve_source,
    _utm_crs,
    logger,
)
from vollsmose_gis.sources.osm.tags import _tenure_rule
from vollsmose_gis.standards import load


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


NO_CONTEXT_NOTE = (
    "No context: imported without --bbox/--boundary, so the boundary is the data's "
    "extent and no street leads out of it; boundary crossings and route directness to "
    "the surroundings cannot be measured. Import with --bbox (or --boundary) smaller "
    "than the extract to keep the streets around the district."
)
"""The import report's note (and warning) for an import whose boundary is the data extent."""


def _place_centre(
    raw: _Raw, rules: dict[str, Any], near: Point
) -> tuple[int, float, float, dict[str, str]] | None:
    """The ``place=city|town`` node that stands for the city centre, or None.

    The most important place kind first (``settings.centre_places`` order), then the
    one nearest to the study area's centre (lon/lat degrees, a ranking only).
    """
    ranks = {kind: i for i, kind in enumerate(rules["settings"]["centre_places"])}
    found = [node for node in raw.nodes if node[3].get("place") in ranks]
    if not found:
        return None
    return min(
        found,
        key=lambda node: (ranks[node[3]["place"]], math.hypot(node[1] - near.x, node[2] - near.y)),
    )


def _settings(
    raw: _Raw, rules: dict[str, Any], centre: Point, target: pyproj.CRS,
    report: ImportReport,
) -> Settings:  # fmt: skip
    """District settings from the data: latitude, and the city centre of a place node.

    Nothing Danish is assumed: country and legal rules stay unknown (none apply) until
    the user sets them.
    """
    place = _place_centre(raw, rules, centre)
    centre_xy: tuple[float, float] | None = None
    centre_name = ""
    if place is not None:
        nid, lon, lat, tags = place
        x, y = pyproj.Transformer.from_crs(_WGS84, target, always_xy=True).transform(lon, lat)
        centre_xy = (float(x), float(y))
        centre_name = tags.get("name") or f"place={tags['place']} node/{nid}"
        note = (
            f"City centre: the place={tags['place']} node {centre_name!r} (node/{nid}) of the "
            "data; set another with the district settings."
        )
    else:
        note = (
            "City centre: no place=city|town node in the data, so none is set; distances to "
            "the centre are not measured until one is given (district settings centre_xy)."
        )
    report.notes.append(note)
    return Settings(
        centre_xy=centre_xy,
        centre_name=centre_name,
        latitude_deg=float(centre.y),
        notes=f"From OpenStreetMap import. {note}",
    )


def _box_area_km2(bounds: Sequence[float]) -> float:
    """Area of a lon/lat box on the sphere of radius 6371 km: R² Δλ (sin φ2 - sin φ1), km²."""
    west, south, east, north = bounds
    radius_km = 6371.0
    return (
        radius_km**2
        * math.radians(east - west)
        * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
    )


def _check_area_fits_data(
    area_bounds: Sequence[float], extent: Sequence[float], label: str, path: Path,
    rules: dict[str, Any],
) -> None:  # fmt: skip
    """Refuse a bbox/boundary far larger than the data (e.g. the whole world on a street).

    Per-km² indicators would be diluted by the empty part and the local metric CRS
    cannot hold an area spanning several UTM zones; the message says what the data
    covers and what to give instead.
    """
    limits = rules["area_checks"]
    west, south, east, north = extent
    # A single node or a line of nodes still covers a little ground: at least min_data_km2.
    data_km2 = max(_box_area_km2(extent), float(limits["min_data_km2"]))
    area_km2 = _box_area_km2(area_bounds)
    span = max(area_bounds[2] - area_bounds[0], area_bounds[3] - area_bounds[1])
    ratio = float(limits["max_area_over_data"])
    if area_km2 > ratio * data_km2 or span > float(limits["max_span_deg"]):
        raise InputError(
            f"{label} covers {area_km2:,.0f} km², far more than the data of {path.name} "
            f"(longitude {west:.5f}..{east:.5f}, latitude {south:.5f}..{north:.5f}, about "
            f"{_box_area_km2(extent):,.2f} km²): the district would be mostly empty. Give a "
            f"bbox inside the data (e.g. --bbox {west:.5f},{south:.5f},{east:.5f},{north:.5f} "
            "or smaller, so that streets outside it give context), or no --bbox/--boundary "
            "to import everything"
        )


def import_osm(  # noqa: C901 - waiver: the import pipeline's options (file/place, bbox/boundary, crs, context); split the option handling next
    source: str | os.PathLike[str],
    *,
    boundary: BoundaryLike | None = None,
    bbox: BBox | None = None,
    boundary_crs: str | None = None,
    name: str | None = None,
    crs: str = "auto",
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
        Projected district CRS in metres, or ``"auto"`` (the default) for the
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
        _check_area_fits_data(area.lonlat.bounds, raw.extent, area.label, path, rules)

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
    cameras, camera_geoms = _cameras(raw, rules, report, streets, street_geoms, building_geoms)
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
    if area is None:
        report.context = False
        report.notes.append(NO_CONTEXT_NOTE)
        logger.warning(NO_CONTEXT_NOTE)
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
    n_estimated = int(frames["cameras"]["heading_estimated"].fillna(False).astype(bool).sum())
    if n_estimated:
        report.notes.append(
            f"Cameras: {n_estimated} of {len(frames['cameras'])} kept with an estimated "
            "heading (no camera:direction; heading_estimated true): show CCTV coverage with "
            "and without them."
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
    settings = _settings(raw, rules, centre, target, report)
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
        district_name, boundary_geom, crs=target.to_string(), provenance=provenance,
        settings=settings, **frames,
    )  # fmt: skip
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
    crs: str = "auto",
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
