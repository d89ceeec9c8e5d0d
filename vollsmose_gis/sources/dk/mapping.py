"""Register codes -> District columns, by the rules of ``standards/dk_mapping.yaml``.

- :func:`bbr_buildings` - one row per BBR building: use, dwellings, tenure, floor areas;
- :func:`join_footprints` - BBR buildings onto GeoDanmark footprints (by ``BBRUUID``,
  else the BBR point, else the DAR address point inside the footprint);
- :func:`streets` - GeoDanmark Vejmidte as the District's ``streets`` layer;
- :func:`pois` - buildings of a service use as destinations;
- :func:`address_names` - building names from DAR.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.layers import layer_schemas
from vollsmose_gis.sources.dk.read import DkReport, code
from vollsmose_gis.standards import highway_defaults

__all__ = ["address_names", "bbr_buildings", "join_footprints", "pois", "streets"]

RESIDENTIAL = "residential"


def _number(value: Any) -> float:
    """A register number (text or number) as float; empty or not a number -> NaN."""
    try:
        number = float(str(value).replace(",", ".")) if value is not None else np.nan
    except ValueError:
        return np.nan
    return number if np.isfinite(number) else np.nan


def _current(frame: pd.DataFrame, allowed: list[str], layer: str, what: str,
             report: DkReport) -> pd.DataFrame:  # fmt: skip
    """Rows whose ``status`` is a current one (all rows when there is no status column)."""
    if "status" not in frame.columns:
        return frame
    status = frame["status"].map(code)
    keep = status.isin(allowed) | status.isna()
    if (~keep).any():
        for value, n in Counter(status[~keep]).items():
            report.dropped[f"{layer}: {what} with status {value!r} (not current)"] += n
    return frame[keep.to_numpy()]


def _unit_tenure(
    subsidy: str | None, ownership: str | None, use_code: str | None, rules: dict[str, Any]
) -> str | None:
    """Tenure of one dwelling: its subsidy code, else the building's ownership code."""
    if subsidy is not None and subsidy in rules["tenure_by_subsidy"]:
        return str(rules["tenure_by_subsidy"][subsidy])
    if ownership is None or ownership not in rules["tenure"]:
        return None
    if ownership == "20" and use_code in rules["almen_by_use"]:
        return str(rules["almen_by_use"][use_code])
    kind = "house" if use_code in rules["single_family"] else "flat"
    return str(rules["tenure"][ownership][kind])


def _building_ids(bbr: pd.DataFrame) -> pd.Series:
    """The BBR building UUIDs, refusing missing and repeated ones."""
    ids = bbr["id_lokalId"].map(code)
    if ids.isna().any():
        raise InputError(
            f"BBR buildings: {int(ids.isna().sum())} row(s) without id_lokalId; every "
            "BBR_Bygning has its UUID there"
        )
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise InputError(
            f"BBR buildings: id_lokalId {duplicated[:5]} occur more than once; export one "
            "current registration per building (status 6/7), not the history"
        )
    return ids


def _units_by_building(
    units: pd.DataFrame, ids: pd.Series, rules: dict[str, Any], report: DkReport
) -> dict[str, list[dict[str, Any]]]:
    """Current BBR units grouped by their building UUID (``bygning``)."""
    units = _current(units, rules["current_status"], "buildings", "BBR unit", report)
    by_building: dict[str, list[dict[str, Any]]] = {}
    for row in units.to_dict("records"):
        by_building.setdefault(code(row["bygning"]) or "", []).append(row)
    orphans = set(by_building) - set(ids)
    if orphans:
        report.dropped["buildings: BBR unit of a building not in the BBR file"] += sum(
            len(by_building[b]) for b in orphans
        )
    return by_building


def bbr_buildings(
    bbr: pd.DataFrame, units: pd.DataFrame | None, rules: dict[str, Any], report: DkReport
) -> pd.DataFrame:
    """One row per current BBR building with its District building columns.

    Parameters
    ----------
    bbr
        BBR_Bygning rows (specification field names; geometry: ``byg404Koordinat``).
    units
        BBR_Enhed rows, or None (dwellings are then estimated, flagged).
    rules
        The ``bbr`` section of ``dk_mapping.yaml``.
    report
        Receives drops, estimates and unknown codes.

    Returns
    -------
    DataFrame
        ``bbr_id``, ``use``, ``dwellings``, ``dwellings_estimated``, ``dwelling_type``,
        ``tenure``, ``tenures`` (dwellings by tenure), ``floor_area_m2``,
        ``commercial_m2`` (m²), ``floors``, ``year_built``, ``husnummer``, ``point``.
    """
    bbr = _current(bbr, rules["current_status"], "buildings", "BBR building", report)
    ids = _building_ids(bbr)
    by_building = _units_by_building(units, ids, rules, report) if units is not None else {}
    uses = rules["building_use"]
    records = []
    several: list[str] = []  # buildings whose dwellings have several tenures
    points = bbr.geometry.to_numpy() if isinstance(bbr, gpd.GeoDataFrame) else [None] * len(bbr)
    for bbr_id, row, point in zip(ids, bbr.to_dict("records"), points, strict=True):
        use_code = code(row["byg021BygningensAnvendelse"])
        ownership = code(row["byg066Ejerforhold"])
        if use_code not in uses:
            report.unknown_codes[f"byg021BygningensAnvendelse {use_code!r}"] += 1
        if ownership is not None and ownership not in rules["tenure"]:
            report.unknown_codes[f"byg066Ejerforhold {ownership!r}"] += 1
        use = str(uses.get(use_code, "other"))
        estimated = units is None and use == RESIDENTIAL
        if units is not None:
            dwellings, tenures, unit_commercial = _dwellings_from_units(
                by_building.get(bbr_id, []), ownership, use_code, rules, report
            )
        elif estimated:
            dwellings = _estimated_dwellings(row, use_code, rules)
            report.estimated["buildings: dwellings without a BBR units file"] += 1
            tenures = Counter(
                {_unit_tenure(None, ownership, use_code, rules) or "unknown": dwellings}
            )
            unit_commercial = 0.0
        else:
            dwellings, tenures, unit_commercial = 0, Counter(), 0.0
        commercial_m2 = _number(row.get("byg040BygningensSamledeErhvervsAreal"))
        if np.isnan(commercial_m2):
            commercial_m2 = unit_commercial
        if (use == RESIDENTIAL and commercial_m2 > 0) or (dwellings > 0 and use != RESIDENTIAL):
            use = "mixed"
        known = {t: n for t, n in tenures.items() if t != "unknown"}
        tenure = max(known, key=lambda t: known[t]) if known and dwellings else None
        if len(known) > 1:
            several.append(f"{bbr_id} {dict(known)}")
        types = [kind for kind, codes in rules["dwelling_type"].items() if use_code in codes]
        dwelling_type = (types[0] if types else "other") if dwellings else None
        floors = _number(row.get("byg054AntalEtager"))
        year = _number(row.get("byg026Opførelsesår"))
        records.append(
            {
                "bbr_id": bbr_id,
                "use": use,
                "use_code": use_code,
                "dwellings": dwellings,
                "dwellings_estimated": estimated,
                "dwelling_type": dwelling_type,
                "tenure": tenure,
                "tenures": dict(tenures),
                "floor_area_m2": _number(row.get("byg038SamletBygningsareal")),
                "commercial_m2": commercial_m2,
                "floors": floors,
                "year_built": year,
                "husnummer": code(row.get("husnummer")),
                "point": point if point is not None and not shapely.is_empty(point) else None,
            }
        )
    if several:
        report.notes.append(
            f"{len(several)} BBR building(s) hold dwellings of several tenures; each takes "
            f"the tenure of most of its dwellings: {'; '.join(several[:5])}"
            f"{' …' if len(several) > 5 else ''}."
        )
    return pd.DataFrame.from_records(records)


def address_names(records: pd.DataFrame, addresses: gpd.GeoDataFrame | None) -> list[str | None]:
    """Each BBR building's address as a name, ``"<vejnavn> <husnummertekst>"``, or None.

    The DAR Husnummer whose ``adgangTilBygning`` is the building, else the building's
    ``husnummer``; None without a joined ``vejnavn`` (a bare house number names nothing).
    """
    if addresses is None or "vejnavn" not in addresses.columns:
        return [None] * len(records)
    by_id: dict[str, str] = {}
    by_building: dict[str, str] = {}
    for row in addresses.to_dict("records"):
        street, number = row.get("vejnavn"), row.get("husnummertekst")
        if street is None or pd.isna(street) or number is None or pd.isna(number):
            continue
        text = f"{str(street).strip()} {str(number).strip()}"
        by_id[code(row["id_lokalId"]) or ""] = text
        building = code(row.get("adgangTilBygning"))
        if building is not None:
            by_building.setdefault(building, text)
    return [
        by_building.get(b) or (by_id.get(h) if h else None)
        for b, h in zip(records["bbr_id"], records["husnummer"], strict=True)
    ]


def _dwellings_from_units(
    units: list[dict[str, Any]], ownership: str | None, use_code: str | None,
    rules: dict[str, Any], report: DkReport,
) -> tuple[int, Counter[str], float]:  # fmt: skip
    """Dwellings, dwellings by tenure and commercial m² (enh028) of one building's units.

    A unit's own use (``enh020EnhedensAnvendelse``: a kollegiebolig 150, a row-house
    unit 131 in a building of another use) decides house/flat and youth/elderly housing
    before the building's use code.
    """
    known_kinds, dwelling_kinds = set(rules["known_dwelling_kinds"]), set(rules["dwelling_kinds"])
    dwellings, tenures, commercial_m2 = 0, Counter[str](), 0.0
    for unit in units:
        kind = code(unit["enh023Boligtype"])
        subsidy = code(unit.get("enh046OffentligStøtte"))
        unit_use = code(unit.get("enh020EnhedensAnvendelse"))
        if kind not in known_kinds:
            report.unknown_codes[f"enh023Boligtype {kind!r}"] += 1
        if unit_use is not None and unit_use not in rules["building_use"]:
            report.unknown_codes[f"enh020EnhedensAnvendelse {unit_use!r}"] += 1
        if subsidy is not None and subsidy not in rules["known_subsidy_codes"]:
            report.unknown_codes[f"enh046OffentligStøtte {subsidy!r}"] += 1
        commercial = _number(unit.get("enh028ArealTilErhverv"))
        commercial_m2 += 0.0 if np.isnan(commercial) else commercial
        if kind in dwelling_kinds:
            dwellings += 1
            use = unit_use if unit_use in rules["building_use"] else use_code
            tenures[_unit_tenure(subsidy, ownership, use, rules) or "unknown"] += 1
    return dwellings, tenures, commercial_m2


def _estimated_dwellings(row: dict[str, Any], use_code: str | None, rules: dict[str, Any]) -> int:
    """Dwellings of a residential building without units: 1 for a house, else by area."""
    if use_code in rules["single_family"]:
        return 1
    living = _number(row.get("byg039BygningensSamledeBoligAreal"))
    if np.isnan(living):
        living = _number(row.get("byg038SamletBygningsareal"))
    if not np.isfinite(living):
        return 1
    return max(1, round(living / float(rules["average_dwelling_m2"])))


def join_footprints(
    records: pd.DataFrame, footprints: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame | None,
    report: DkReport,
) -> pd.Series:  # fmt: skip
    """The footprint (row position in ``footprints``) of each BBR building, or -1.

    In order: the footprint whose ``bygning_id`` (``BBRUUID``) is the building's UUID;
    the footprint holding the BBR point ``byg404Koordinat``; the footprint holding the
    point of a DAR Husnummer whose ``adgangTilBygning`` is the building, or which is the
    building's ``husnummer``.
    """
    matched = pd.Series(-1, index=records.index, dtype=int)
    if "bygning_id" in footprints.columns:
        by_id: dict[str, int] = {}
        for i, value in enumerate(footprints["bygning_id"].map(code)):
            if value is not None:
                by_id.setdefault(value, i)
        matched = records["bbr_id"].map(lambda b: by_id.get(b, -1)).astype(int)
    report.notes.append(
        f"Join BBR -> GeoDanmark: {int((matched >= 0).sum())} by bygning_id"
        + _by_points(footprints, matched, records["point"].tolist(), "byg404Koordinat")
        + (_by_addresses(records, footprints, matched, addresses) if addresses is not None else "")
        + "."
    )
    return matched


def _containing(footprints: gpd.GeoDataFrame, points: list[Any]) -> np.ndarray:
    """Index of the first footprint that contains each point, or -1."""
    n = len(points)
    geoms = np.array(points, dtype=object)
    present = np.array([g is not None for g in points], dtype=bool)
    if not present.any():
        return np.full(n, -1, dtype=int)
    tree = shapely.STRtree(footprints.geometry.to_numpy())
    pairs = tree.query(geoms[present], predicate="within")
    where = np.flatnonzero(present)
    # The query's order within one point follows the tree, not the footprint
    # index: take the lowest index explicitly, so the first footprint wins.
    none = len(footprints)
    out = np.full(n, none, dtype=int)
    np.minimum.at(out, where[pairs[0]], pairs[1].astype(int))
    out[out == none] = -1
    return out


def _by_points(footprints: gpd.GeoDataFrame, matched: pd.Series, points: list[Any],
               label: str) -> str:  # fmt: skip
    """Match the still unmatched buildings whose point lies in a footprint (in place)."""
    open_ = matched < 0
    found = _containing(footprints, [p if o else None for p, o in zip(points, open_, strict=True)])
    hit = found >= 0
    matched.iloc[np.flatnonzero(hit)] = found[hit]
    return f", {int(hit.sum())} by the point {label} inside a footprint"


def _by_addresses(records: pd.DataFrame, footprints: gpd.GeoDataFrame, matched: pd.Series,
                  addresses: gpd.GeoDataFrame) -> str:  # fmt: skip
    points: dict[str, Any] = {}
    by_building: dict[str, Any] = {}
    for row, geom in zip(addresses.to_dict("records"), addresses.geometry, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        points[code(row["id_lokalId"]) or ""] = geom
        building = code(row.get("adgangTilBygning"))
        if building is not None:
            by_building.setdefault(building, geom)
    candidates = [
        by_building[b] if b in by_building else points.get(h) if h else None
        for b, h in zip(records["bbr_id"], records["husnummer"], strict=True)
    ]
    return _by_points(footprints, matched, candidates, "of its DAR address")


def streets(
    roads: gpd.GeoDataFrame, rules: dict[str, Any], report: DkReport, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    """The ``streets`` layer from GeoDanmark Vejmidte (one row per line part).

    ``vejkategori`` gives the OSM highway class (and with it the class defaults of
    ``highways.yaml``: speed, lanes, width, modes); ``trafikart`` narrows the modes.
    """
    roads = _current(roads, rules["current_status"], "streets", "Vejmidte", report)
    columns = layer_schemas()["streets"]["columns"]
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for i, (row, geom) in enumerate(zip(roads.to_dict("records"), roads.geometry, strict=True)):
        category = row.get("vejkategori")
        category = None if category is None or pd.isna(category) else str(category).strip()
        highway = rules["highway"].get(category)
        if highway is None:
            report.unknown_codes[f"vejkategori {category!r}"] += 1
            highway = "road"  # OSM's class for a road of unknown role
        values = {name: spec.get("default") for name, spec in columns.items()}
        values.update({k: v for k, v in highway_defaults(highway).items() if k in columns})
        values["highway"] = highway
        traffic = row.get("trafikart")
        if traffic is not None and not pd.isna(traffic) and str(traffic).strip():
            modes = rules["traffic"].get(str(traffic).strip())
            if modes is None:
                report.unknown_codes[f"trafikart {str(traffic).strip()!r}"] += 1
            else:
                values.update(modes)
        values.pop("lighting_class", None)
        base = code(row.get("id_lokalId")) or f"vejmidte-{i + 1}"
        values["vejmyndighed"] = row.get("vejmyndighed")
        values["vejkategori"] = category
        if geom is None or shapely.is_empty(geom):
            report.dropped["streets: Vejmidte without geometry"] += 1
            continue
        parts = list(shapely.get_parts(shapely.line_merge(geom)))
        lines = [p for p in parts if p.geom_type == "LineString" and p.length > 0]
        if len(lines) < len(parts):
            report.dropped["streets: Vejmidte part that is not a line"] += len(parts) - len(lines)
        for k, line in enumerate(lines):
            rows.append({**values, "street_id": base if len(lines) == 1 else f"{base}-{k + 1}"})
            geoms.append(line)
    data = {name: [r.get(name) for r in rows] for name in [*columns, "vejmyndighed", "vejkategori"]}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def pois(
    records: pd.DataFrame, matched: pd.Series, footprints: gpd.GeoDataFrame,
    rules: dict[str, Any], crs: pyproj.CRS,
) -> gpd.GeoDataFrame:  # fmt: skip
    """The ``pois`` layer: one point per BBR building of a service use (``poi_kind``).

    A school, day-care, health house, library, shop... is a destination as well as a
    building (as the OSM import makes a school building a POI too); the point lies
    inside the building's footprint.  Buildings without a footprint give none.
    """
    kinds = rules["poi_kind"]
    columns = layer_schemas()["pois"]["columns"]
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    footprint_geoms = footprints.geometry.to_numpy()
    for record, footprint in zip(records.to_dict("records"), matched.tolist(), strict=True):
        kind = kinds.get(record["use_code"])
        if kind is None or footprint < 0:
            continue
        name = record.get("name")
        rows.append({"poi_id": f"bbr:{record['bbr_id']}", "kind": kind,
                     "name": name if isinstance(name, str) else None})  # fmt: skip
        geoms.append(shapely.point_on_surface(footprint_geoms[footprint]))
    data = {name: [r.get(name) for r in rows] for name in columns}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
