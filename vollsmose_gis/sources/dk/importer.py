"""Assembling a District from BBR, GeoDanmark and DAR: :func:`import_dk`."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District, Provenance, Settings
from vollsmose_gis.layers import layer_schemas
from vollsmose_gis.sources.dk.mapping import (
    address_names,
    bbr_buildings,
    join_footprints,
    pois,
    streets,
)
from vollsmose_gis.sources.dk.read import DkReport, PathLike, code, read_table, register_date
from vollsmose_gis.standards import load
from vollsmose_gis.validation import validate_district

__all__ = ["DkCodeWarning", "DkImport", "import_dk", "import_dk_with_report"]

logger = logging.getLogger(__name__)

UnknownCodes = Literal["warn", "error"]


class DkCodeWarning(UserWarning):
    """A register code that ``dk_mapping.yaml`` does not know (counted and named)."""


@dataclass(frozen=True)
class DkImport:
    """Result of an import of the Danish registers: the District and the report."""

    district: District
    report: DkReport


def _parse_crs(crs: str) -> pyproj.CRS:
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(
            f"crs {crs!r} is not a CRS ({exc}); the registers use EPSG:25832"
        ) from None
    if not parsed.is_projected:
        raise InputError(
            f"crs {crs!r} is not projected (degrees); give a projected CRS in metres, e.g. "
            "EPSG:25832 (ETRS89 / UTM 32N), the CRS the registers are delivered in"
        )
    return parsed


def _boundary(boundary: BaseGeometry | str | PathLike | None, crs: pyproj.CRS,
              frames: list[gpd.GeoDataFrame], report: DkReport) -> BaseGeometry:  # fmt: skip
    """The study boundary in ``crs``: given (geometry, WKT, vector file) or the data's hull."""
    if boundary is None:
        coords = np.concatenate([shapely.get_coordinates(f.geometry.to_numpy()) for f in frames])
        hull = shapely.MultiPoint(coords).convex_hull  # a union of every footprint is slow
        report.notes.append("Boundary: the convex hull of the imported buildings and streets.")
        return hull if hull.geom_type == "Polygon" else hull.buffer(50.0)
    if isinstance(boundary, BaseGeometry):
        geom = boundary
    elif isinstance(boundary, str) and boundary.lstrip().upper().startswith(
        ("POLYGON", "MULTIPOLYGON")
    ):
        try:
            geom = shapely.from_wkt(boundary)
        except shapely.errors.GEOSException as exc:
            raise InputError(f"boundary: not a WKT polygon ({exc})") from None
    else:
        path = Path(boundary)
        if not path.is_file():
            raise InputError(f"boundary {boundary!s}: no such file and not a WKT polygon")
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # GDAL raises several types for "not a dataset"
            raise InputError(f"boundary file {path}: not a readable vector file ({exc})") from None
        if frame.empty:
            raise InputError(f"boundary file {path}: holds no features")
        if frame.crs is not None and not frame.crs.equals(crs):
            frame = frame.to_crs(crs)
        geom = frame.geometry.union_all()
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise InputError(f"boundary: must be a polygon, got {geom.geom_type}")
    if max(abs(v) for v in geom.bounds) <= 180:
        raise InputError(
            f"boundary {geom.bounds}: coordinates look like degrees, not metres of "
            f"{crs.to_string()}; give the boundary in the district CRS"
        )
    return geom


def _aggregate(group: pd.DataFrame) -> dict[str, Any]:
    """District building columns of the BBR buildings sharing one footprint."""
    tenures: Counter[str] = Counter()
    for counts in group["tenures"]:
        tenures.update(counts)
    known = {t: n for t, n in tenures.items() if t != "unknown"}
    dwellings = int(group["dwellings"].sum())
    uses = set(group["use"])
    residential = {"residential", "mixed"} & uses
    if len(uses) == 1:
        use = uses.pop()
    elif residential and uses - {"residential", "mixed", "parking", "other"}:
        use = "mixed"
    else:
        use = group.loc[group["floor_area_m2"].fillna(0).idxmax(), "use"]
    main = group.loc[group["dwellings"].idxmax()]
    names = [n for n in group["name"] if isinstance(n, str)]
    return {
        "bbr_id": ",".join(group["bbr_id"]),
        "name": "; ".join(dict.fromkeys(names)) or None,
        "use": use,
        "dwellings": dwellings,
        "dwellings_estimated": bool(group["dwellings_estimated"].any()),
        "dwelling_type": main["dwelling_type"] if dwellings else None,
        "tenure": max(known, key=lambda t: known[t]) if known and dwellings else None,
        "tenures": dict(tenures),
        "floor_area_m2": group["floor_area_m2"].sum(min_count=1),
        "commercial_m2": float(group["commercial_m2"].sum()),
        "floors": group["floors"].max(),
        "year_built": group["year_built"].min(),
    }


def _buildings(
    records: pd.DataFrame, footprints: gpd.GeoDataFrame, matched: pd.Series, crs: pyproj.CRS,
    report: DkReport, allow_missing_footprints: bool, path: Path,
) -> gpd.GeoDataFrame:  # fmt: skip
    """The ``buildings`` layer: footprints with the columns of their BBR buildings."""
    missing = records[matched.to_numpy() < 0]
    weighty = missing[(missing["dwellings"] > 0) | (missing["commercial_m2"] > 0)]
    if len(weighty) and not allow_missing_footprints:
        listing = ", ".join(
            f"{r.bbr_id} ({r.dwellings} dwellings, {r.commercial_m2:g} m² commercial)"
            for r in weighty.head(10).itertuples()
        )
        raise InputError(
            f"{len(weighty)} BBR building(s) with dwellings or commercial floor space have no "
            f"GeoDanmark footprint in {path.name} (no BBRUUID/bygning_id match, and neither "
            f"their BBR point nor a DAR address point lies in a footprint): {listing}"
            f"{' …' if len(weighty) > 10 else ''}. Their dwellings would silently leave the "
            "tenure mix: extend the GeoDanmark extract, or pass allow_missing_footprints=True "
            "(CLI --allow-missing-footprints) to drop them (counted in the report)"
        )
    if len(weighty):
        report.dropped["buildings: BBR building with dwellings/floor space, no footprint"] += len(
            weighty
        )
        report.notes.append(
            f"{int(weighty['dwellings'].sum())} dwellings of BBR buildings without a footprint "
            "were left out (allow_missing_footprints)."
        )
    if len(missing) - len(weighty):
        reason = "buildings: BBR building without dwellings or footprint (shed, carport…)"
        report.dropped[reason] += len(missing) - len(weighty)
    columns = layer_schemas()["buildings"]["columns"]
    footprint_ids = (
        footprints["id_lokalId"].map(code).tolist()
        if "id_lokalId" in footprints.columns
        else [None] * len(footprints)
    )
    rows: list[dict[str, Any]] = []
    # footprint -> its BBR buildings (record rows); plain lists: a groupby making one
    # DataFrame per footprint costs seconds on a municipality
    plain = records.to_dict("records")
    members: dict[int, list[int]] = {}
    for record, footprint in enumerate(matched.to_numpy().tolist()):
        if footprint >= 0:
            members.setdefault(footprint, []).append(record)
    lonely = 0
    for i in range(len(footprints)):
        footprint_id = footprint_ids[i] or f"geodanmark-{i + 1}"
        values: dict[str, Any] = {name: spec.get("default") for name, spec in columns.items()}
        if i in members:
            found = (
                plain[members[i][0]]
                if len(members[i]) == 1
                else _aggregate(records.iloc[members[i]])
            )
            values.update({k: v for k, v in found.items() if k in columns})
            values["building_id"] = (
                found["bbr_id"] if "," not in found["bbr_id"] else f"geodanmark:{footprint_id}"
            )
            values["bbr_id"] = found["bbr_id"]
            values["year_built"] = found["year_built"]
        else:
            lonely += 1
            values.update(building_id=f"geodanmark:{footprint_id}", use="other", bbr_id=None,
                          year_built=np.nan)  # fmt: skip
        values["geodanmark_id"] = footprint_ids[i]
        rows.append(values)
    if lonely:
        report.notes.append(
            f"{lonely} GeoDanmark footprint(s) have no BBR building: use 'other', no dwellings."
        )
    many = sum(1 for g in members.values() if len(g) > 1)
    if many:
        report.notes.append(f"{many} footprint(s) hold several BBR buildings (summed).")
    names = [*columns, "bbr_id", "geodanmark_id", "year_built"]
    data = {name: [r.get(name) for r in rows] for name in names}
    frame = gpd.GeoDataFrame(data, geometry=list(footprints.geometry.to_numpy()), crs=crs)
    frame["floors"] = pd.array(
        [None if v is None or pd.isna(v) else int(v) for v in frame["floors"]], dtype="Int64"
    )
    return frame


def _check_unknown(report: DkReport, unknown_codes: UnknownCodes) -> None:
    if not report.unknown_codes:
        return
    listing = "; ".join(f"{key} ×{n}" for key, n in sorted(report.unknown_codes.items()))
    message = (
        f"codes not in vollsmose_gis/standards/dk_mapping.yaml: {listing}. Buildings with an "
        "unknown byg021 use are 'other'; an unknown byg066 ownership leaves the tenure NA; an "
        "unknown enh023 Boligtype is not counted as a dwelling; an unknown vejkategori is "
        "class 'road'. Add the codes to the mapping if they are valid"
    )
    if unknown_codes == "error":
        raise InputError(message + " (or import with unknown_codes='warn').")
    warnings.warn(message + ".", DkCodeWarning, stacklevel=3)


def import_dk_with_report(
    *,
    bbr: PathLike,
    buildings: PathLike,
    units: PathLike | None = None,
    roads: PathLike | None = None,
    addresses: PathLike | None = None,
    address_points: PathLike | None = None,
    boundary: BaseGeometry | str | PathLike | None = None,
    crs: str = "EPSG:25832",
    name: str | None = None,
    rules: Sequence[str] = (),
    unknown_codes: UnknownCodes = "warn",
    allow_missing_footprints: bool = False,
    licence: str | None = None,
) -> DkImport:
    """Import a District from BBR, GeoDanmark and DAR files; report what happened.

    The same as :func:`import_dk`, returning the :class:`DkImport` (district and
    report) instead of the district alone.
    """
    if unknown_codes not in ("warn", "error"):
        raise InputError(f"unknown_codes must be 'warn' or 'error', got {unknown_codes!r}")
    mapping = load("dk_mapping")
    target = _parse_crs(crs)
    report = DkReport()
    bbr_rules = mapping["bbr"]
    spec = bbr_rules["buildings"]
    optional = [c for c in spec["columns"].values() if c not in spec["required"]]
    bbr_frame = read_table(
        bbr, "BBR buildings", required=spec["required"],
        optional=[c for c in optional if c != spec["columns"]["point"]] + ["registreringFra"],
        point_column=spec["columns"]["point"], crs=target, report=report, layer="Bygning",
    )  # fmt: skip
    dates = {"BBR": register_date(bbr_frame, bbr)}
    unit_frame = None
    if units is not None:
        uspec = bbr_rules["units"]
        unit_frame = read_table(
            units, "BBR units", required=uspec["required"],
            optional=[c for c in uspec["columns"].values() if c not in uspec["required"]]
            + ["registreringFra"],
            point_column=None, crs=target, report=report, layer="Enhed",
        )  # fmt: skip
    geo = mapping["geodanmark"]
    footprints = read_table(
        buildings, "GeoDanmark buildings", required=[],
        optional=[geo["buildings"]["id"], *geo["buildings"]["bbr_id"], "registreringFra"],
        point_column=None, crs=target, report=report, layer="Bygning", geometry=True,
    )  # fmt: skip
    assert isinstance(footprints, gpd.GeoDataFrame)
    # one link column "bygning_id": the first of the aliases that the file has and fills
    links = [footprints[c].map(code) for c in geo["buildings"]["bbr_id"] if c in footprints]
    footprints = footprints.drop(columns=[c for c in geo["buildings"]["bbr_id"] if c in footprints])
    if links:
        link = links[0]
        for other in links[1:]:
            link = link.where(link.notna(), other)
        footprints["bygning_id"] = link
    footprints = _polygons(footprints, Path(buildings), report)
    dates["GeoDanmark"] = register_date(footprints, buildings)
    road_frame = None
    if roads is not None:
        rspec = geo["roads"]
        road_frame = read_table(
            roads, "GeoDanmark Vejmidte", required=rspec["required"],
            optional=[rspec["id"], "trafikart", "vejmyndighed", "status", "registreringFra"],
            point_column=None, crs=target, report=report, layer="Vejmidte", geometry=True,
        )  # fmt: skip
        assert isinstance(road_frame, gpd.GeoDataFrame)
        dates["GeoDanmark Vejmidte"] = register_date(road_frame, roads)
    address_frame = None
    if addresses is not None:
        address_frame = _read_addresses(addresses, address_points, mapping["dar"], target, report)
        dates["DAR"] = register_date(address_frame, addresses)
    elif address_points is not None:
        raise InputError("address_points (DAR Adressepunkt) need addresses (DAR Husnummer)")

    records = bbr_buildings(bbr_frame, unit_frame, bbr_rules, report)
    if records.empty:
        raise InputError(f"BBR buildings file {bbr}: no current buildings (see the status column)")
    records["name"] = address_names(records, address_frame)
    matched = join_footprints(records, footprints, address_frame, report)
    building_layer = _buildings(
        records, footprints, matched, target, report, allow_missing_footprints, Path(buildings)
    )
    layers: dict[str, gpd.GeoDataFrame] = {
        "buildings": building_layer,
        "pois": pois(records, matched, footprints, bbr_rules, target),
    }
    if road_frame is not None:
        layers["streets"] = streets(road_frame, geo["roads"], report, target)
    _check_unknown(report, unknown_codes)
    for layer, frame in layers.items():
        report.kept[layer] = len(frame)
    report.dates = {register: f"{date} ({how})" for register, (date, how) in dates.items()}
    boundary_geom = _boundary(boundary, target, list(layers.values()), report)
    report.notes.append(
        "Tenure is read from BBR's ownership code (byg066Ejerforhold) and the units' public "
        "subsidy code (enh046OffentligStøtte) by the rules of dk_mapping.yaml; jobs are not "
        "in the registers (0)."
    )
    provenance = _provenance(report, mapping, licence)
    centre = shapely.Point(boundary_geom.centroid.x, boundary_geom.centroid.y)
    _, lat = pyproj.Transformer.from_crs(target, "EPSG:4326", always_xy=True).transform(
        centre.x, centre.y
    )
    settings = Settings(
        country="DK", rules=tuple(rules), latitude_deg=float(lat),
        notes="From the Danish registers (BBR, GeoDanmark, DAR): country DK. "
        + ("Rules: " + ", ".join(rules) + "." if rules else
           "No legal rule set: pass rules=('dk_168a',) for a boligområde (§ 168 a)."),
    )  # fmt: skip
    district = District.create(
        name or Path(bbr).stem, boundary_geom, crs=target.to_string(), provenance=provenance,
        settings=settings, **layers,
    )  # fmt: skip
    district = validate_district(district, strict=True, source=str(bbr))
    logger.info("%s", report.summary())
    return DkImport(district, report)


def _read_addresses(
    addresses: PathLike, address_points: PathLike | None, rules: dict[str, Any],
    target: pyproj.CRS, report: DkReport,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Current DAR Husnummer rows with their Adressepunkt position as geometry.

    The position is a ``position`` column (WKT) or the points of a vector file, else it
    comes from ``address_points`` (DAR Adressepunkt: ``id_lokalId``, ``position``) through
    the Husnummer's ``adgangspunkt``.
    """
    aspec = rules["addresses"]
    columns = aspec["columns"]
    frame = read_table(
        addresses, "DAR addresses", required=aspec["required"],
        optional=[c for c in columns.values()
                  if c not in aspec["required"] and c != columns["point"]] + ["registreringFra"],
        point_column=columns["point"], crs=target, report=report, layer="Husnummer",
    )  # fmt: skip
    if address_points is not None:
        pspec = rules["points"]
        points = read_table(
            address_points, "DAR Adressepunkt", required=pspec["required"],
            optional=["registreringFra"], point_column=pspec["point"], crs=target,
            report=report, layer="Adressepunkt",
        )  # fmt: skip
        if not isinstance(points, gpd.GeoDataFrame):
            raise InputError(
                f"DAR Adressepunkt file {address_points}: no 'position' column (WKT) and no "
                "point geometry"
            )
        if columns["access_point"] not in frame.columns:
            raise InputError(
                f"DAR addresses file {addresses}: required column(s) {columns['access_point']} "
                "missing: it links each Husnummer to its Adressepunkt"
            )
        where = dict(zip(points["id_lokalId"].map(code), points.geometry, strict=True))
        joined = [where.get(c) for c in frame[columns["access_point"]].map(code)]
        if isinstance(frame, gpd.GeoDataFrame):  # a position column as well: it wins
            joined = [
                g if g is not None else j for g, j in zip(frame.geometry, joined, strict=True)
            ]
            frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        missing = sum(g is None for g in joined)
        if missing:
            report.dropped["addresses: DAR Husnummer whose Adressepunkt is not in the file"] += (
                missing
            )
        frame = gpd.GeoDataFrame(frame, geometry=joined, crs=target)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(
            f"DAR addresses file {addresses}: no position; give the DAR Adressepunkt file "
            "(address_points=, CLI --address-points), or join each Husnummer's Adressepunkt "
            "position (WKT) as 'position', or give a GeoPackage of points"
        )
    if "status" in frame.columns:
        status = frame["status"].map(code)
        current = status.isin(rules["current_status"]) | status.isna()
        if (~current).any():
            report.dropped["addresses: DAR Husnummer not current (status)"] += int((~current).sum())
        frame = frame[current.to_numpy()]
    return frame


def _polygons(frame: gpd.GeoDataFrame, path: Path, report: DkReport) -> gpd.GeoDataFrame:
    """Footprints that are polygons; others are dropped and counted, invalid ones repaired."""
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    if (~polygonal).sum():
        report.dropped["buildings: GeoDanmark Bygning that is not a polygon"] += int(
            (~polygonal).sum()
        )
    frame = frame[polygonal].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"GeoDanmark buildings file {path}: holds no building polygons")
    invalid = ~shapely.is_valid(frame.geometry.to_numpy())
    if invalid.any():
        repaired = [
            shapely.make_valid(g) if bad else g
            for g, bad in zip(frame.geometry.to_numpy(), invalid, strict=True)
        ]
        polygons = [
            g
            if g.geom_type in ("Polygon", "MultiPolygon")
            else shapely.union_all(
                [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
            )
            for g in repaired
        ]
        frame = frame.set_geometry(polygons, crs=frame.crs)
        report.notes.append(f"{int(invalid.sum())} invalid GeoDanmark footprint(s) made valid.")
    return frame


def _provenance(report: DkReport, mapping: dict[str, Any], licence: str | None) -> Provenance:
    specs = mapping["specifications"]
    licences = mapping["licences"]
    source = "; ".join(f"{register}: {path}" for register, path in report.sources.items())
    dated = ", ".join(f"{register} {date}" for register, date in report.dates.items())
    used = ["bbr", "geodanmark"] + (["dar"] if "DAR addresses" in report.sources else [])
    labels = {"bbr": "BBR", "geodanmark": "GeoDanmark", "dar": "DAR"}
    text = licence or "; ".join(f"{labels[key]}: {licences[key]}" for key in used)
    return Provenance(
        source=(
            f"Danish registers — {source} (specifications: {specs['bbr']}; "
            f"{specs['geodanmark']}; {specs['dar']}); data dates: {dated}"
        ),
        licence=text,
        date=max(date.split(" ")[0] for date in report.dates.values()),
        kind="surveyed",
        attribution=str(mapping["attribution"]),
        notes=report.summary(),
    )


def import_dk(
    *,
    bbr: PathLike,
    buildings: PathLike,
    units: PathLike | None = None,
    roads: PathLike | None = None,
    addresses: PathLike | None = None,
    address_points: PathLike | None = None,
    boundary: BaseGeometry | str | PathLike | None = None,
    crs: str = "EPSG:25832",
    name: str | None = None,
    rules: Sequence[str] = (),
    unknown_codes: UnknownCodes = "warn",
    allow_missing_footprints: bool = False,
    licence: str | None = None,
) -> District:
    """Import a District from the Danish registers a municipality holds.

    Parameters
    ----------
    bbr
        BBR buildings (``BBR_Bygning``): CSV as exported from Datafordeleren or the
        municipality (``byg404Koordinat`` as WKT), or a GeoPackage/GML.  Required fields:
        ``id_lokalId``, ``byg021BygningensAnvendelse``, ``byg066Ejerforhold``.
    buildings
        GeoDanmark ``Bygning`` footprints (GeoPackage or GML, ETRS89 / UTM 32N).
    units
        BBR units (``BBR_Enhed``) CSV/GeoPackage: ``id_lokalId``, ``bygning``,
        ``enh020EnhedensAnvendelse``, ``enh023Boligtype`` (+ areas, ``enh046OffentligStøtte``).
        Without it, dwellings are estimated (flagged ``dwellings_estimated``).
    roads
        GeoDanmark ``Vejmidte`` (GeoPackage or GML): the ``streets`` layer.
    addresses
        DAR ``Husnummer`` rows (CSV, GeoPackage): used to place BBR buildings without a
        footprint link, and to name buildings (``vejnavn`` + ``husnummertekst``).  Their
        position: a ``position`` column (WKT of the Adressepunkt), point geometry, or
        ``address_points``.
    address_points
        DAR ``Adressepunkt`` (``id_lokalId``, ``position``) CSV or GeoPackage, joined to
        the Husnummer rows through their ``adgangspunkt``.
    boundary
        Study area: a polygon (in ``crs``), WKT, or a vector file; default the convex
        hull of the data.
    crs
        District CRS, projected, metres (default EPSG:25832, what the registers use).
    name
        District name (default: the BBR file's name).
    rules
        Legal rules that apply (``("dk_168a",)`` for a boligområde under § 168 a).
    unknown_codes
        ``"warn"`` (default: a :class:`DkCodeWarning` naming every unknown code with its
        count; the feature gets the documented fallback) or ``"error"`` (InputError).
    allow_missing_footprints
        Drop (and count) BBR buildings with dwellings or floor space that have no
        footprint, instead of refusing the import.
    licence
        Licence text replacing the registers' free-data terms (a municipality's own
        extract may carry its own).

    Returns
    -------
    District
        Layers ``buildings`` (GeoDanmark footprints with their BBR columns), ``pois``
        (buildings of a service use) and ``streets`` (Vejmidte); valid under
        ``validate_district(strict=True)``; provenance kind ``"surveyed"`` naming the
        registers, their dates and licences, the import report as notes; settings
        country ``"DK"``.

    Raises
    ------
    InputError
        A missing, empty or unreadable file; a missing required column (file and column
        named); geometry in a geographic CRS or outside the CRS's area of use; a BBR
        building with dwellings but no footprint; unknown codes with
        ``unknown_codes="error"``.

    Notes
    -----
    The mapping is ``standards/dk_mapping.yaml``, documented in ``docs/dk-mapping.md``.
    """
    return import_dk_with_report(
        bbr=bbr, buildings=buildings, units=units, roads=roads, addresses=addresses,
        address_points=address_points, boundary=boundary, crs=crs, name=name, rules=rules,
        unknown_codes=unknown_codes, allow_missing_footprints=allow_missing_footprints,
        licence=licence,
    ).district  # fmt: skip
