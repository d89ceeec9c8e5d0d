"""Evidence of (un)safety: incidents and safety-walk marks — import, checks, privacy.

Two optional District layers carry the evidence (``standards/layers.yaml``):

``incidents``
    Recorded incidents as points (``date`` ISO ``YYYY-MM-DD``, ``kind`` from the
    category list ``incident_kinds``, ``source``, ``weight`` ≥ 0, ``count`` ≥ 1 for
    aggregates placed on a street segment or grid cell).
``safety_walk``
    Places residents marked as unsafe on a safety walk (tryghedsvandring), points or
    lines with a ``reason`` from ``safety_walk_reasons``, a ``date`` and a ``note``.

Privacy: the toolkit never needs person data.  Points may be snapped to the nearest
walkable street (:func:`snap_to_streets`) or jittered in a disc (:func:`jitter`,
seeded), and maps of incidents aggregate to cells or segments and suppress those with
fewer than ``privacy.aggregation_threshold`` incidents (default 5,
``standards/safety.yaml``; :func:`aggregate_incidents`).

No real Vollsmose incident data is offline: :func:`illustrative_evidence` generates an
evidence set for the embedded district, marked ``illustrative`` in every row and
ILLUSTRATIVE in its ``source`` and ``note``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.layers import conform_layer, empty_layer
from vollsmose_gis.standards import categories, load

__all__ = [
    "ILLUSTRATIVE",
    "EvidenceWarning",
    "aggregate_incidents",
    "check_evidence",
    "illustrative_evidence",
    "jitter",
    "read_evidence",
    "safety_params",
    "snap_to_streets",
    "with_illustrative_evidence",
]

ILLUSTRATIVE = "ILLUSTRATIVE — generated evidence, not real incident data"
"""The label every illustrative row and every output built on it carries."""

EvidenceKind = Literal["incidents", "safety_walk"]

_ID = {"incidents": "incident_id", "safety_walk": "mark_id"}
_CATEGORY = {
    "incidents": ("kind", "incident_kinds"),
    "safety_walk": ("reason", "safety_walk_reasons"),
}
_PREFIX = {"incidents": "inc", "safety_walk": "mark"}
_X = ("x", "easting", "east", "x_m")
_Y = ("y", "northing", "north", "y_m")
_LON = ("lon", "lng", "long", "longitude")
_LAT = ("lat", "latitude")


class EvidenceWarning(UserWarning):
    """Evidence that is used with a caveat (no date, far from every street …)."""


def safety_params(section: str) -> dict[str, Any]:
    """Return one section of ``standards/safety.yaml`` (``privacy``, ``hotspots`` …)."""
    data: dict[str, Any] = load("safety")[section]
    return dict(data)


# --------------------------------------------------------------------------- CSV import


def _pick(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in columns:
            return columns[name]
    return None


def read_evidence(
    path: str | os.PathLike[str],
    kind: EvidenceKind = "incidents",
    *,
    crs: str = "EPSG:25832",
    source_crs: str | None = None,
    today: dt.date | None = None,
) -> gpd.GeoDataFrame:
    """Read incidents or safety-walk marks from a CSV file with x/y or lat/lon columns.

    Parameters
    ----------
    path
        A CSV file (UTF-8, comma or semicolon separated).  Coordinates: columns
        ``x``/``y`` (also ``easting``/``northing``) in ``source_crs`` (metres), or
        ``lat``/``lon`` (also ``latitude``/``longitude``, ``lng``) in WGS 84 degrees.
        Other columns: for incidents ``kind`` (required), ``date`` (ISO), ``source``,
        ``weight``, ``count``; for safety walks ``reason`` (required), ``date``,
        ``note``.  An id column (``incident_id`` / ``mark_id``) is optional.
    kind
        ``"incidents"`` or ``"safety_walk"``: the layer the rows are for.
    crs
        CRS of the returned layer (the district's, projected, metres).
    source_crs
        CRS of ``x``/``y`` columns (default: ``crs``).  Ignored for lat/lon.
    today
        Dates after this day are refused (default: today).

    Returns
    -------
    geopandas.GeoDataFrame
        The layer, conformed to its schema (``standards/layers.yaml``).

    Raises
    ------
    InputError
        The file is missing or unreadable, has no coordinate columns, or a row has
        no coordinates, an unknown kind/reason, a future or unreadable date, a
        negative weight or a count below 1 — each naming the file and row.
    """
    if kind not in _ID:
        raise InputError(f"unknown evidence kind {kind!r}; use 'incidents' or 'safety_walk'")
    source = Path(path)
    if not source.exists():
        raise InputError(f"{source}: no such file")
    try:
        table = pd.read_csv(source, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{source}: not a readable CSV file ({exc})") from exc
    columns = {str(c).strip().lower(): c for c in table.columns}
    xs, ys = _pick(columns, _X), _pick(columns, _Y)
    lons, lats = _pick(columns, _LON), _pick(columns, _LAT)
    if xs and ys:
        coords, coord_crs = (xs, ys), source_crs or crs
    elif lons and lats:
        coords, coord_crs = (lons, lats), "EPSG:4326"
    else:
        raise InputError(
            f"{source}: no coordinate columns; give x and y (metres, in {source_crs or crs}) "
            f"or lat and lon (WGS 84 degrees); columns are {list(table.columns)}"
        )
    frame = table.rename(columns={v: k for k, v in columns.items()})
    cx = pd.to_numeric(table[coords[0]], errors="coerce")
    cy = pd.to_numeric(table[coords[1]], errors="coerce")
    bad = cx.isna() | cy.isna() | ~np.isfinite(cx) | ~np.isfinite(cy)
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:10])
        raise InputError(
            f"{source}: row(s) {rows} (line numbers) have no usable coordinates "
            f"({coords[0]}, {coords[1]}); fix or remove them"
        )
    points = gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=coord_crs).to_crs(crs)
    id_column = _ID[kind]
    if id_column not in frame.columns:
        frame[id_column] = [f"{_PREFIX[kind]}-{i + 1:05d}" for i in range(len(frame))]
    frame = frame.drop(columns=[c for c in frame.columns if c in (*_X, *_Y, *_LON, *_LAT)])
    layer = gpd.GeoDataFrame(frame, geometry=points.to_numpy(), crs=crs)
    layer = conform_layer(layer, kind)
    _check_rows(layer, kind, str(source), today=today)
    return layer


def _check_rows(
    layer: gpd.GeoDataFrame, kind: str, where: str, *, today: dt.date | None = None
) -> None:
    """Refuse unknown categories, future or unreadable dates, negative weights."""
    ids = layer[_ID[kind]].astype(str).tolist()

    def name(mask: np.ndarray) -> str:
        hits = [ids[i] for i in np.flatnonzero(mask)]
        more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
        return ", ".join(repr(h) for h in hits[:5]) + more

    column, listname = _CATEGORY[kind]
    allowed = categories(listname)
    values = layer[column].astype("string")
    unknown = (values.isna() | ~values.isin(allowed)).to_numpy(dtype=bool)
    if unknown.any():
        seen = sorted({str(v) for v in values[unknown]})
        raise InputError(
            f"{where}: {kind} {name(unknown)} have an unknown or empty {column} {seen}; "
            f"allowed: {list(allowed)} (standards/categories.yaml {listname})"
        )
    dates = parse_dates(layer, where=where, kind=kind)
    limit = pd.Timestamp(today or dt.date.today())
    future = (dates > limit).to_numpy(dtype=bool)
    if future.any():
        raise InputError(
            f"{where}: {kind} {name(future)} are dated in the future (after {limit.date()}); "
            "fix the dates (ISO YYYY-MM-DD)"
        )
    if kind == "incidents":
        weight = pd.to_numeric(layer["weight"], errors="coerce").to_numpy(dtype=float)
        negative = np.nan_to_num(weight, nan=0.0) < 0
        if negative.any():
            raise InputError(
                f"{where}: incidents {name(negative)} have a negative weight; weights are "
                ">= 0 (1 = one incident)"
            )
        count = pd.to_numeric(layer["count"], errors="coerce").to_numpy(dtype=float)
        small = np.nan_to_num(count, nan=1.0) < 1
        if small.any():
            raise InputError(
                f"{where}: incidents {name(small)} have a count below 1; count is the number "
                "of incidents a row stands for (1 for a single incident)"
            )


def parse_dates(layer: gpd.GeoDataFrame, *, where: str = "", kind: str = "incidents") -> pd.Series:
    """Return the ``date`` column as timestamps (NaT where empty).

    Raises
    ------
    InputError
        A date that is given but cannot be read as ``YYYY-MM-DD`` (the feature named).
    """
    text = layer["date"].astype("string").str.strip() if "date" in layer else None
    if text is None:
        return pd.Series(pd.NaT, index=layer.index, dtype="datetime64[ns]")
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = (text.notna() & (text != "") & parsed.isna()).to_numpy(dtype=bool)
    if bad.any():
        ids = layer[_ID[kind]].astype(str).to_numpy()[bad][:5].tolist()
        raise InputError(
            f"{where or kind}: {kind} {ids} have unreadable dates "
            f"{text[bad].head(5).tolist()}; write dates as YYYY-MM-DD"
        )
    return parsed


def check_evidence(district: District, *, today: dt.date | None = None) -> list[str]:
    """Check a district's evidence layers; return the warnings (also issued).

    Errors (raised): incidents or marks farther than ``evidence.outside_margin_m``
    outside the boundary, unknown kinds/reasons, future or unreadable dates, negative
    weights.  Warnings: incidents without a date (left out of the by-year figures).

    Raises
    ------
    InputError
        Naming the layer and the features.
    """
    margin = float(safety_params("evidence")["outside_margin_m"])
    area = district.boundary.buffer(margin)
    notes: list[str] = []
    for kind in ("incidents", "safety_walk"):
        layer = getattr(district, kind)
        if not len(layer):
            continue
        where = f"district {district.name!r}, layer {kind!r}"
        _check_rows(layer, kind, where, today=today)
        outside = ~shapely.intersects(layer.geometry.to_numpy(), area)
        if outside.any():
            ids = layer[_ID[kind]].astype(str).to_numpy()[outside][:5].tolist()
            raise InputError(
                f"{where}: {int(outside.sum())} feature(s) {ids} lie more than {margin:g} m "
                "outside the study boundary; check their CRS (the district's is "
                f"{district.crs}) or clip them to the district"
            )
        if kind == "incidents":
            undated = parse_dates(layer, where=where).isna().to_numpy(dtype=bool)
            if undated.any():
                notes.append(
                    f"{int(undated.sum())} incident(s) have no date: counted in the totals "
                    "and hot spots, left out of the figures by year"
                )
    for note in notes:
        warnings.warn(note, EvidenceWarning, stacklevel=2)
    return notes


# --------------------------------------------------------------------------- privacy


def _walk_lines(district: District) -> np.ndarray:
    streets = district.streets
    walk = streets["walk"].fillna(False).astype(bool).to_numpy()
    lines = streets.geometry.to_numpy()[walk]
    return lines[~shapely.is_empty(lines)]


def snap_to_streets(
    layer: gpd.GeoDataFrame, district: District, *, max_distance_m: float | None = None
) -> gpd.GeoDataFrame:
    """Move every point onto the nearest walkable street (privacy: no door is shown).

    Parameters
    ----------
    layer
        Points (an evidence layer), in the district CRS.
    district
        Its ``streets`` with ``walk`` true are the targets.
    max_distance_m
        Points farther than this from every walkable street stay where they are, with
        a warning (default ``privacy.snap_max_distance_m``, 100 m).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with snapped geometry and a ``snapped`` column (bool).
    """
    limit = (
        float(safety_params("privacy")["snap_max_distance_m"])
        if max_distance_m is None
        else float(max_distance_m)
    )
    out = layer.copy()
    lines = _walk_lines(district)
    geoms = out.geometry.to_numpy()
    snapped = np.zeros(len(out), dtype=bool)
    if len(lines) and len(out):
        tree = shapely.STRtree(lines)
        points = shapely.get_type_id(geoms) == 0
        index = np.flatnonzero(points)
        pairs = tree.query_nearest(geoms[index], max_distance=limit, all_matches=False)
        src, line = index[pairs[0]], pairs[1]
        at = shapely.line_locate_point(lines[line], geoms[src])
        geoms = geoms.copy()
        geoms[src] = shapely.line_interpolate_point(lines[line], at)
        snapped[src] = True
        far = int(points.sum() - len(src))
        if far:
            warnings.warn(
                f"{far} point(s) are more than {limit:g} m from every walkable street and "
                "were not snapped",
                EvidenceWarning,
                stacklevel=2,
            )
    out = out.set_geometry(gpd.GeoSeries(geoms, crs=out.crs))
    out["snapped"] = snapped
    return out


def jitter(
    layer: gpd.GeoDataFrame, *, radius_m: float | None = None, seed: int = 19
) -> gpd.GeoDataFrame:
    """Move every point by a random offset, uniform in a disc (seeded, reproducible).

    Parameters
    ----------
    layer
        Points in a projected CRS (metres).
    radius_m
        Disc radius, m (default ``privacy.jitter_radius_m``, 25 m); > 0.
    seed
        Random seed: the same seed gives the same offsets.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with moved points (other geometry types unchanged).
    """
    radius = float(safety_params("privacy")["jitter_radius_m"]) if radius_m is None else radius_m
    if not radius > 0:
        raise InputError(f"jitter radius_m must be > 0 m, got {radius_m!r}")
    rng = np.random.default_rng(seed)
    n = len(layer)
    r = radius * np.sqrt(rng.random(n))
    theta = 2 * math.pi * rng.random(n)
    geoms = layer.geometry.to_numpy().copy()
    points = shapely.get_type_id(geoms) == 0
    xy = shapely.get_coordinates(geoms[points])
    moved = shapely.points(
        xy[:, 0] + (r * np.cos(theta))[points], xy[:, 1] + (r * np.sin(theta))[points]
    )
    geoms[points] = moved
    return layer.set_geometry(gpd.GeoSeries(geoms, crs=layer.crs))


def incident_counts(layer: gpd.GeoDataFrame) -> np.ndarray:
    """Incidents each row stands for: ``count`` (1 when empty), float array."""
    if "count" not in layer:
        return np.ones(len(layer))
    return pd.to_numeric(layer["count"], errors="coerce").fillna(1).to_numpy(dtype=float)


def incident_weights(layer: gpd.GeoDataFrame) -> np.ndarray:
    """Weight of each row in densities and statistics: ``weight`` × ``count``."""
    weight = (
        pd.to_numeric(layer["weight"], errors="coerce").fillna(1.0).to_numpy(dtype=float)
        if "weight" in layer
        else np.ones(len(layer))
    )
    return weight * incident_counts(layer)


def aggregate_incidents(
    layer: gpd.GeoDataFrame,
    district: District,
    *,
    by: Literal["grid", "segment"] = "grid",
    cell_m: float | None = None,
    threshold: int | None = None,
) -> gpd.GeoDataFrame:
    """Aggregate incidents for a map: counts per grid cell or street segment.

    Cells or segments with fewer than ``threshold`` incidents are left out (never a
    single incident on a map); the number of incidents left out is in
    ``result.attrs["suppressed_incidents"]`` and the threshold in
    ``result.attrs["threshold"]``.

    Parameters
    ----------
    layer
        The incidents (``count`` per row; 1 when empty).
    district
        Its boundary places the grid; its walkable streets are the segments.
    by
        ``"grid"`` (square cells of ``cell_m``) or ``"segment"`` (nearest walkable
        street, by ``street_id``).
    cell_m
        Cell side, m (default ``privacy.aggregation_cell_m``, 100 m).
    threshold
        Least count shown (default ``privacy.aggregation_threshold``, 5); >= 1.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` or ``street_id``, ``count`` (incidents), polygon or line geometry.
    """
    privacy = safety_params("privacy")
    threshold = int(privacy["aggregation_threshold"]) if threshold is None else int(threshold)
    if threshold < 1:
        raise InputError(f"aggregation threshold must be >= 1 incident, got {threshold}")
    side = float(privacy["aggregation_cell_m"]) if cell_m is None else float(cell_m)
    if not side > 0:
        raise InputError(f"aggregation cell_m must be > 0 m, got {cell_m!r}")
    counts = incident_counts(layer)
    xy = shapely.get_coordinates(shapely.centroid(layer.geometry.to_numpy()))
    if by == "grid":
        minx, miny = (math.floor(v / side) * side for v in district.boundary.bounds[:2])
        col = np.floor((xy[:, 0] - minx) / side).astype(np.int64)
        row = np.floor((xy[:, 1] - miny) / side).astype(np.int64)
        table = pd.DataFrame({"col": col, "row": row, "count": counts})
        table = table.groupby(["col", "row"], as_index=False)["count"].sum()
        geoms = shapely.box(
            minx + table["col"] * side,
            miny + table["row"] * side,
            minx + (table["col"] + 1) * side,
            miny + (table["row"] + 1) * side,
        )
        table.insert(
            0, "cell_id", [f"c{c}_{r}" for c, r in zip(table["col"], table["row"], strict=True)]
        )
        table = table.drop(columns=["col", "row"])
    elif by == "segment":
        streets = district.streets[district.streets["walk"].fillna(False).astype(bool)]
        lines = streets.geometry.to_numpy()
        if not len(lines):
            raise InputError(f"district {district.name!r} has no walkable streets to aggregate to")
        nearest = shapely.STRtree(lines).query_nearest(shapely.points(xy), all_matches=False)
        street = np.empty(len(xy), dtype=object)
        street[nearest[0]] = streets["street_id"].astype(str).to_numpy()[nearest[1]]
        table = pd.DataFrame({"street_id": street, "count": counts})
        table = table.groupby("street_id", as_index=False)["count"].sum()
        by_id = dict(zip(streets["street_id"].astype(str), lines, strict=True))
        geoms = np.array([by_id[s] for s in table["street_id"]], dtype=object)
    else:
        raise InputError(f"aggregate by {by!r}: use 'grid' or 'segment'")
    shown = table["count"].to_numpy() >= threshold
    out = gpd.GeoDataFrame(
        table[shown].reset_index(drop=True),
        geometry=list(np.asarray(geoms)[shown]),
        crs=district.crs,
    )
    out["count"] = out["count"].round().astype(int)
    out.attrs["suppressed_incidents"] = float(table["count"].to_numpy()[~shown].sum())
    out.attrs["threshold"] = threshold
    return out


# --------------------------------------------------------------------------- illustrative


def illustrative_evidence(
    district: District, *, seed: int = 19, incidents: int = 240, marks: int = 18
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Generate an ILLUSTRATIVE incidents layer and safety-walk marks for a district.

    No real incident data of Vollsmose is offline; this evidence only shows what the
    analyses do.  Incidents lie on the walkable streets inside the boundary, dated
    2019-2024: two thirds around three centres (Gaussian, σ = 40 m, on the streets
    nearest the points of the street network at 25 %, 55 % and 80 % of its length
    order), one third spread along the streets in proportion to length.  Safety-walk
    marks are drawn the same way.  Every row has ``illustrative`` true and
    :data:`ILLUSTRATIVE` in ``source`` / ``note``.

    Parameters
    ----------
    district
        The district (walkable streets inside its boundary).
    seed
        Random seed (the default reproduces the embedded district's evidence).
    incidents, marks
        Number of incident rows and safety-walk marks.

    Returns
    -------
    (incidents, safety_walk)
        Both conformed to their schemas, in the district CRS.
    """
    rng = np.random.default_rng(seed)
    lines = shapely.intersection(_walk_lines(district), district.boundary)
    lines = shapely.get_parts(lines[~shapely.is_empty(lines)])
    lines = lines[shapely.get_type_id(lines) == 1]
    if not len(lines):
        raise InputError(f"district {district.name!r} has no walkable streets inside its boundary")
    lengths = shapely.length(lines)
    cumulative = np.cumsum(lengths)
    total = float(cumulative[-1])

    def along(u: np.ndarray) -> np.ndarray:
        k = np.minimum(np.searchsorted(cumulative, u * total), len(lines) - 1)
        start = cumulative[k] - lengths[k]
        return shapely.line_interpolate_point(lines[k], u * total - start)

    centres = shapely.get_coordinates(along(np.array([0.25, 0.55, 0.80])))
    tree = shapely.STRtree(lines)

    def draw(n: int) -> np.ndarray:
        clustered = round(n * 2 / 3)
        which = rng.integers(0, 3, clustered)
        xy = centres[which] + rng.normal(0.0, 40.0, (clustered, 2))
        raw = shapely.points(xy)
        nearest = tree.query_nearest(raw, all_matches=False)
        snapped = np.empty(clustered, dtype=object)
        at = shapely.line_locate_point(lines[nearest[1]], raw[nearest[0]])
        snapped[nearest[0]] = shapely.line_interpolate_point(lines[nearest[1]], at)
        spread = along(rng.random(n - clustered))
        return np.concatenate([snapped, spread])

    kinds = np.array(categories("incident_kinds"))
    p_kind = np.array([0.18, 0.30, 0.14, 0.16, 0.10, 0.12])
    start = dt.date(2019, 1, 1).toordinal()
    end = dt.date(2024, 12, 31).toordinal()

    def dates(n: int) -> list[str]:
        days = rng.integers(start, end + 1, n)
        return [dt.date.fromordinal(int(d)).isoformat() for d in days]

    inc = gpd.GeoDataFrame(
        {
            "incident_id": [f"ill-inc-{i + 1:04d}" for i in range(incidents)],
            "date": dates(incidents),
            "kind": rng.choice(kinds, incidents, p=p_kind / p_kind.sum()),
            "source": ILLUSTRATIVE,
            "weight": 1.0,
            "count": 1,
            "illustrative": True,
        },
        geometry=draw(incidents),
        crs=district.crs,
    )
    reasons = np.array(categories("safety_walk_reasons"))
    p_reason = np.array([0.30, 0.22, 0.18, 0.12, 0.08, 0.06, 0.04])
    walk = gpd.GeoDataFrame(
        {
            "mark_id": [f"ill-mark-{i + 1:03d}" for i in range(marks)],
            "reason": rng.choice(reasons, marks, p=p_reason / p_reason.sum()),
            "date": "2024-10-01",
            "note": ILLUSTRATIVE,
            "illustrative": True,
        },
        geometry=draw(marks),
        crs=district.crs,
    )
    return conform_layer(inc, "incidents"), conform_layer(walk, "safety_walk")


def with_illustrative_evidence(district: District, *, seed: int = 19) -> District:
    """The district with :func:`illustrative_evidence` as its evidence layers."""
    incidents, walk = illustrative_evidence(district, seed=seed)
    return district.replace(incidents=incidents, safety_walk=walk)


def is_illustrative(district: District) -> bool:
    """True when any evidence row of the district is marked illustrative."""
    for kind in ("incidents", "safety_walk"):
        layer = getattr(district, kind)
        if len(layer) and "illustrative" in layer and layer["illustrative"].fillna(False).any():
            return True
    return False


def empty_evidence(kind: EvidenceKind, crs: str) -> gpd.GeoDataFrame:
    """An empty evidence layer with its schema columns."""
    return empty_layer(kind, crs)
