"""Validation of a District against its layer schemas (``standards/layers.yaml``).

:func:`validate_district` checks the district CRS and boundary, then every layer:
CRS, columns, ids, dtypes, categories, value ranges, missing values where the schema
forbids them, geometry types and validity, coordinates that are a place on Earth,
and per-feature plausibility (dwellings and storeys against the footprint).  It
collects every problem and raises them together, naming layer, feature and column.

Geometry that is allowed but likely wrong (a street crossing a building, features far
outside the CRS's area of use) is reported as a :class:`PlausibilityWarning`, not an
error.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from vollsmose_gis._errors import DistrictValidationError, Problem
from vollsmose_gis.layers import (
    cast_column,
    extent_limits,
    out_of_range,
    plausibility,
    range_text,
)
from vollsmose_gis.standards import categories, highway_defaults, layer_schemas

if TYPE_CHECKING:  # typing only: district imports this package's layers, not the reverse
    from vollsmose_gis.district import District

__all__ = [
    "PlausibilityWarning",
    "RepairWarning",
    "area_of_use_box",
    "clear_implausible",
    "implausible_buildings",
    "streets_crossing_buildings",
    "validate_district",
]

EXAMPLE_CRS = "EPSG:25832"
"""The projected CRS suggested in messages (ETRS89 / UTM zone 32N, metres)."""


class RepairWarning(UserWarning):
    """Issued by ``validate_district(strict=False)`` for every repair it makes."""


class PlausibilityWarning(UserWarning):
    """Issued for geometry that is allowed but likely wrong (a street through a building)."""


def _feature_ids(frame: pd.DataFrame, id_column: str) -> list[str]:
    if id_column in frame.columns:
        return [
            str(v) if pd.notna(v) else f"row {i}" for i, v in enumerate(frame[id_column].tolist())
        ]
    return [f"row {i}" for i in range(len(frame))]


@lru_cache(maxsize=32)
def area_of_use_box(crs: str) -> tuple[float, float, float, float] | None:
    """Return the area of use of ``crs`` projected into it, widened by the margin.

    The margin is ``area_of_use_margin_m`` of ``layers.yaml`` (``extent:``).

    Parameters
    ----------
    crs
        A projected CRS, e.g. ``"EPSG:25832"``.

    Returns
    -------
    tuple of float or None
        (minx, miny, maxx, maxy) in CRS units (metres), or None when the CRS declares
        no area of use (or one that cannot be projected).
    """
    target = pyproj.CRS.from_user_input(crs)
    area = target.area_of_use
    if area is None or area.west > area.east:  # none declared, or across the antimeridian
        return None
    try:
        transformer = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
        box = transformer.transform_bounds(
            area.west, area.south, area.east, area.north, densify_pts=21
        )
    except pyproj.exceptions.ProjError:
        return None
    if not np.all(np.isfinite(box)) or box[0] >= box[2] or box[1] >= box[3]:
        return None
    margin = extent_limits()["area_of_use_margin_m"]
    return (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)


def _outside(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of geometries with a coordinate outside ``box`` or not finite."""
    bounds = shapely.bounds(geoms)  # NaN rows for missing or empty geometry
    present = ~np.isnan(bounds).all(axis=1)
    with np.errstate(invalid="ignore"):
        outside = (
            (bounds[:, 0] < box[0])
            | (bounds[:, 1] < box[1])
            | (bounds[:, 2] > box[2])
            | (bounds[:, 3] > box[3])
            | ~np.isfinite(bounds).all(axis=1)
        )
    return present & outside


def _absurd(geoms: np.ndarray) -> np.ndarray:
    """Mask of geometries with a coordinate beyond ``max_abs_coordinate_m`` or not finite."""
    limit = extent_limits()["max_abs_coordinate_m"]
    return _outside(geoms, (-limit, -limit, limit, limit))


def _absurd_message(geom: Any) -> str:
    minx, miny, maxx, maxy = shapely.bounds(geom)
    far = max((minx, miny, maxx, maxy), key=lambda v: abs(v) if np.isfinite(v) else np.inf)
    limit = extent_limits()["max_abs_coordinate_m"]
    return (
        f"coordinate {far:.6g} is not a place on Earth in a projected CRS (beyond ±{limit:.0e} "
        "m); are the coordinates in the district CRS, and in metres?"
    )


def implausible_buildings(frame: gpd.GeoDataFrame) -> list[tuple[int, str, str]]:
    """Find buildings whose dwellings or storeys cannot fit their footprint.

    The limits are ``plausibility:`` of the buildings layer in ``layers.yaml``: at
    most ``storeys × footprint area / min_floor_area_per_dwelling_m2`` dwellings, and a
    height (``height_m``, else ``floors × floor_height_m``) of at most
    ``max_slenderness × sqrt(footprint area)``.  Storeys are ``floors``, else
    ``height_m / floor_height_m``, else the most the slenderness allows.

    Parameters
    ----------
    frame
        Buildings with ``geometry`` in a projected CRS (m) and any of ``floors``,
        ``height_m`` (m), ``dwellings``.

    Returns
    -------
    list of (int, str, str)
        (row position, column, message) for every implausible value.
    """
    limits = plausibility("buildings")
    if not limits or len(frame) == 0:
        return []
    per_dwelling = float(limits["min_floor_area_per_dwelling_m2"])
    storey_m = float(limits["floor_height_m"])
    slenderness = float(limits["max_slenderness"])

    columns = layer_schemas()["buildings"]["columns"]

    def numbers(column: str) -> np.ndarray:
        """The column as floats; values outside its range (reported as such) as NaN."""
        if column not in frame.columns:
            return np.full(len(frame), np.nan)
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        values = values.to_numpy(na_value=np.nan)
        return np.where(out_of_range(columns[column], values), np.nan, values)

    area = shapely.area(frame.geometry.to_numpy())
    floors, height, dwellings = numbers("floors"), numbers("height_m"), numbers("dwellings")
    max_height = slenderness * np.sqrt(area)
    out: list[tuple[int, str, str]] = []
    with np.errstate(invalid="ignore"):
        built_height = np.where(np.isnan(height), floors * storey_m, height)
        storeys = np.where(
            np.isnan(floors),
            np.where(np.isnan(height), max_height / storey_m, height / storey_m),
            np.maximum(floors, 1.0),
        )
        max_dwellings = np.floor(np.maximum(storeys, 1.0) * area / per_dwelling)
        tall = (area > 0) & (built_height > max_height)
        crowded = (area > 0) & (dwellings > max_dwellings)
    for i in np.flatnonzero(tall):
        column = "height_m" if not np.isnan(height[i]) else "floors"
        shown = f"{height[i]:g} m" if column == "height_m" else f"{floors[i]:g} floors"
        out.append(
            (
                int(i),
                column,
                f"{shown} is implausible on a footprint of {area[i]:.0f} m² (at most "
                f"{max_height[i]:.0f} m high: height <= {slenderness:g} × sqrt(footprint))",
            )
        )
    for i in np.flatnonzero(crowded):
        out.append(
            (
                int(i),
                "dwellings",
                f"{dwellings[i]:.0f} dwellings are implausible on a footprint of "
                f"{area[i]:.0f} m² with {storeys[i]:.0f} storey(s) (at most "
                f"{max_dwellings[i]:.0f}: {per_dwelling:g} m² of floor area per dwelling)",
            )
        )
    return out


def clear_implausible(
    frame: gpd.GeoDataFrame, layer: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Set values outside their column's range, or implausible for the footprint, to NA.

    For importers of third-party data (OpenStreetMap): a typo in one tag
    (``maxspeed=5000``, ``building:levels=1000``) should lose that value, not the
    whole import.  ``not_null`` columns cleared here still need a value afterwards.

    Parameters
    ----------
    frame
        A layer conformed to its schema (see :func:`vollsmose_gis.layers.conform_layer`).
    layer
        Its name in ``layers.yaml``.

    Returns
    -------
    tuple of GeoDataFrame and list of Problem
        A copy with the values cleared, and one :class:`Problem` per cleared value
        (feature, column, the value and why), for the import report.
    """
    out = frame.copy()
    schema = layer_schemas()[layer]
    ids = _feature_ids(out, schema["id"])
    cleared: list[Problem] = []
    for name, spec in schema["columns"].items():
        if name not in out.columns or spec["dtype"] not in ("int", "float"):
            continue
        values = pd.to_numeric(out[name], errors="coerce").astype("float64")
        values = values.to_numpy(na_value=np.nan)
        bad = out_of_range(spec, values) | np.isinf(values)
        for i in np.flatnonzero(bad):
            message = f"value {values[i]:g} is out of range; cleared"
            cleared.append(Problem(layer, ids[i], name, message, range_text(spec)))
        if bad.any():
            out.loc[bad, name] = pd.NA if spec["dtype"] == "int" else np.nan
    for _ in range(3 if layer == "buildings" else 0):  # clearing storeys may expose dwellings
        found = implausible_buildings(out)
        for i, column, message in found:
            cleared.append(Problem(layer, ids[i], column, f"{message}; cleared"))
            out.loc[out.index[i], column] = pd.NA if column != "height_m" else np.nan
        if not found:
            break
    return out, cleared


def streets_crossing_buildings(
    streets: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, min_length_m: float = 1.0
) -> list[tuple[str, str, float]]:
    """Streets that run through a building footprint (bridges and tunnels excepted).

    Parameters
    ----------
    streets, buildings
        The two layers, in the same projected CRS (metres).
    min_length_m
        Shortest stretch inside a footprint that counts, metres (default 1 m, so a path
        ending on a building's outline does not).

    Returns
    -------
    list of (str, str, float)
        (street id, building id, metres of the street inside the building).
    """
    if len(streets) == 0 or len(buildings) == 0:
        return []
    keep = np.ones(len(streets), dtype=bool)
    for flag in ("tunnel", "bridge"):
        if flag in streets.columns:
            keep &= ~streets[flag].fillna(False).astype(bool).to_numpy()
    lines = streets.geometry.to_numpy()
    keep &= ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    polygons = buildings.geometry.to_numpy()
    usable = shapely.is_valid(polygons) & ~shapely.is_empty(polygons)
    nothing = np.array([None], dtype=object)  # skipped entries (STRtree ignores None)
    tree = shapely.STRtree(np.where(usable, polygons, nothing))
    pairs = tree.query(np.where(keep, lines, nothing), predicate="crosses")
    if pairs.shape[1] == 0:
        return []
    inside = shapely.length(shapely.intersection(lines[pairs[0]], polygons[pairs[1]]))
    street_ids = _feature_ids(streets, "street_id")
    building_ids = _feature_ids(buildings, "building_id")
    return [
        (street_ids[s], building_ids[b], float(length))
        for s, b, length in zip(pairs[0], pairs[1], inside, strict=True)
        if length >= min_length_m
    ]


class _LayerChecker:
    """Checks (and in repair mode repairs) one layer, collecting problems."""

    def __init__(
        self, layer: str, frame: gpd.GeoDataFrame, district_crs: str, strict: bool
    ) -> None:
        self.layer = layer
        self.frame = frame.copy()
        self.district_crs = district_crs
        self.strict = strict
        self.spec = layer_schemas()[layer]
        self.problems: list[Problem] = []
        self.far_away: list[str] = []  # ids of features outside the CRS's area of use

    def problem(
        self, feature: str | None, column: str | None, message: str, allowed: str | None = None
    ) -> None:
        self.problems.append(Problem(self.layer, feature, column, message, allowed))

    def repaired(self, message: str) -> None:
        warnings.warn(f"layer {self.layer!r}: {message}", RepairWarning, stacklevel=4)

    def run(self) -> gpd.GeoDataFrame:
        if not isinstance(self.frame, gpd.GeoDataFrame):
            self.problem(None, None, f"is a {type(self.frame).__name__}, not a GeoDataFrame")
            return self.frame
        self.check_crs()
        self.check_columns()
        self.check_ids()
        self.check_values()
        self.check_geometry()
        self.check_extent()
        self.check_plausibility()
        return self.frame

    def check_crs(self) -> None:
        crs = self.frame.crs
        if crs is None:
            if len(self.frame):
                self.problem(
                    None,
                    None,
                    f"has no CRS; set it, e.g. gdf.set_crs({self.district_crs!r}) if the "
                    "coordinates are in the district CRS",
                )
            else:
                self.frame = self.frame.set_crs(self.district_crs)
            return
        target = pyproj.CRS.from_user_input(self.district_crs)
        if crs.equals(target):
            return
        why = "a geographic CRS (degrees)" if crs.is_geographic else f"CRS {crs.to_string()!r}"
        if self.strict:
            self.problem(
                None,
                None,
                f"is in {why}, not the district CRS {self.district_crs}; reproject with "
                f"gdf.to_crs({self.district_crs!r}) or validate with strict=False",
            )
        else:
            self.frame = self.frame.to_crs(self.district_crs)
            self.repaired(f"reprojected from {crs.to_string()} to {self.district_crs}")

    def check_columns(self) -> None:
        for name, spec in self.spec["columns"].items():
            if name in self.frame.columns:
                continue
            if spec.get("since"):  # added after older data was made: filled, not a problem
                self.frame[name] = self.default_values(name, spec)
            elif spec.get("required"):
                self.problem(None, name, "required column is missing", f"a {spec['dtype']} column")
            elif self.strict:
                self.problem(
                    None,
                    name,
                    "optional column is missing; add it, or validate with strict=False "
                    "to fill it with defaults",
                )
            else:
                self.frame[name] = self.default_values(name, spec)
                self.repaired(f"filled missing column {name!r} with defaults")

    def default_values(self, name: str, spec: dict[str, Any]) -> pd.Series:
        if spec.get("from_highway") and "highway" in self.frame.columns:
            known = set(categories("highway_classes"))
            values = [
                highway_defaults(h).get(name) if h in known else None
                for h in self.frame["highway"].astype("string").fillna("").tolist()
            ]
            return pd.Series(values, index=self.frame.index, dtype=object)
        return pd.Series(
            [spec.get("default")] * len(self.frame), index=self.frame.index, dtype=object
        )

    def check_ids(self) -> None:
        id_col = self.spec["id"]
        if id_col not in self.frame.columns:
            return
        ids = self.frame[id_col]
        for i in np.flatnonzero(ids.isna().to_numpy()):
            self.problem(f"row {i}", id_col, "id is missing")
        as_text = ids.dropna().astype(str)
        for dup in sorted(set(as_text[as_text.duplicated()])):
            count = int((as_text == dup).sum())
            self.problem(dup, id_col, f"id is used by {count} features", "unique ids")

    def check_values(self) -> None:
        ids = _feature_ids(self.frame, self.spec["id"])
        for name, spec in self.spec["columns"].items():
            if name not in self.frame.columns:
                continue
            original = self.frame[name]
            cast, bad = cast_column(original, spec)
            for i in np.flatnonzero(bad.to_numpy()):
                self.problem(
                    ids[i],
                    name,
                    f"value {original.iloc[i]!r} is not of type {spec['dtype']}",
                    "a " + spec["dtype"],
                )
            if spec.get("not_null"):
                for i in np.flatnonzero((cast.isna() & ~bad).to_numpy()):
                    self.problem(
                        ids[i],
                        name,
                        "value is missing (NaN/empty); give every feature a value",
                        range_text(spec) or None,
                    )
            if spec["dtype"] == "category":
                cast = self.check_categories(name, spec, cast, ids)
            elif spec["dtype"] in ("int", "float"):
                self.check_range(name, spec, cast, ids)
            if not bad.any():
                self.frame[name] = cast

    def check_categories(
        self, name: str, spec: dict[str, Any], cast: pd.Series, ids: list[str]
    ) -> pd.Series:
        allowed = categories(spec["categories"])
        unknown = cast.notna() & ~cast.isin(allowed).fillna(False).astype(bool)
        for i in np.flatnonzero(unknown.to_numpy()):
            self.problem(ids[i], name, f"unknown category {cast.iloc[i]!r}", ", ".join(allowed))
        return cast if unknown.any() else cast.astype(pd.CategoricalDtype(allowed))

    def check_range(self, name: str, spec: dict[str, Any], cast: pd.Series, ids: list[str]) -> None:
        values = cast.astype("float64").to_numpy(na_value=np.nan)
        for i in np.flatnonzero(np.isinf(values)):
            self.problem(ids[i], name, f"value {values[i]!r} is not finite")
        for i in np.flatnonzero(out_of_range(spec, values) & ~np.isinf(values)):
            self.problem(ids[i], name, f"value {values[i]:g} is out of range", range_text(spec))

    def check_geometry(self) -> None:
        allowed = self.spec["geometry"]
        ids = _feature_ids(self.frame, self.spec["id"])
        geoms = self.frame.geometry.to_numpy()
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        for i in np.flatnonzero(missing):
            self.problem(
                ids[i], "geometry", "geometry is missing or empty", "a " + " or ".join(allowed)
            )
        types = np.array([g.geom_type if g is not None else None for g in geoms], dtype=object)
        wrong = ~missing & ~np.isin(types, allowed)
        singular_of = {f"Multi{t}": t for t in allowed if not t.startswith("Multi")}
        explode_rows = []
        for i in np.flatnonzero(wrong):
            if not self.strict and types[i] in singular_of and f"Multi{allowed[0]}" not in allowed:
                explode_rows.append(i)
                continue
            self.problem(ids[i], "geometry", f"geometry type is {types[i]}", " or ".join(allowed))
        invalid = ~missing & ~wrong & ~shapely.is_valid(geoms)
        for i in np.flatnonzero(invalid):
            self.repair_geometry(i, geoms[i], ids, allowed)
        if explode_rows:
            self.explode(explode_rows, ids)
            self.check_ids()  # the parts' new ids may clash with existing ones

    def repair_geometry(self, i: int, geom: Any, ids: list[str], allowed: list[str]) -> None:
        reason = shapely.is_valid_reason(geom)
        if self.strict:
            self.problem(
                ids[i],
                "geometry",
                f"invalid geometry ({reason}); make it valid, or validate with strict=False",
            )
            return
        fixed = _make_valid_as(geom, allowed)
        if fixed is None:
            self.problem(
                ids[i],
                "geometry",
                f"invalid geometry ({reason}) that make_valid cannot keep as "
                + " or ".join(allowed),
            )
            return
        self.frame.loc[self.frame.index[i], "geometry"] = fixed
        self.repaired(f"feature {ids[i]!r}: made invalid geometry valid ({reason})")

    def check_extent(self) -> None:
        """Refuse absurd coordinates; note features outside the CRS's area of use."""
        crs = self.frame.crs
        if crs is None or not crs.equals(pyproj.CRS.from_user_input(self.district_crs)):
            return  # reported by check_crs
        geoms = self.frame.geometry.to_numpy()
        ids = _feature_ids(self.frame, self.spec["id"])
        absurd = _absurd(geoms)
        for i in np.flatnonzero(absurd):
            self.problem(ids[i], "geometry", _absurd_message(geoms[i]))
        box = area_of_use_box(self.district_crs)
        if box is not None:
            self.far_away = [ids[i] for i in np.flatnonzero(_outside(geoms, box) & ~absurd)]

    def check_plausibility(self) -> None:
        if self.layer != "buildings":
            return
        ids = _feature_ids(self.frame, self.spec["id"])
        for i, column, message in implausible_buildings(self.frame):
            self.problem(ids[i], column, message)

    def explode(self, rows: list[int], ids: list[str]) -> None:
        """Split multi-part geometries into parts, suffixing ids with -1, -2..."""
        id_col = self.spec["id"]
        keep = self.frame.drop(index=self.frame.index[rows])
        parts = []
        for i in rows:
            row = self.frame.iloc[[i]]
            pieces = row.explode(index_parts=False).reset_index(drop=True)
            if id_col in pieces.columns:
                pieces[id_col] = [f"{ids[i]}-{k + 1}" for k in range(len(pieces))]
            parts.append(pieces)
            self.repaired(
                f"feature {ids[i]!r}: split multi-part geometry into {len(pieces)} features"
            )
        self.frame = pd.concat([keep, *parts], ignore_index=True)


def _make_valid_as(geom: Any, allowed: list[str]) -> Any:
    """Make ``geom`` valid and keep only the parts of the allowed dimension."""
    fixed = shapely.make_valid(geom)
    if fixed.geom_type in allowed:
        return fixed
    if fixed.geom_type == "GeometryCollection":
        parts = [
            g
            for g in fixed.geoms
            if g.geom_type.replace("Multi", "") in {a.replace("Multi", "") for a in allowed}
        ]
        if parts:
            merged = shapely.union_all(parts)
            if merged.geom_type in allowed:
                return merged
    return None


def _crs_problem(crs_text: Any) -> Problem | None:
    """Return the problem with a district CRS, or None for a projected CRS in metres."""
    try:
        crs = pyproj.CRS.from_user_input(crs_text) if crs_text else None
    except pyproj.exceptions.CRSError as exc:
        return Problem("district", None, "crs", f"unknown CRS {crs_text!r} ({exc})")
    hint = f"reproject to a projected CRS, e.g. {EXAMPLE_CRS}"
    if crs is None:
        return Problem("district", None, "crs", f"district has no CRS; {hint}")
    if crs.is_geographic:
        return Problem(
            "district",
            None,
            "crs",
            f"district CRS {crs_text!r} is geographic (degrees), not a projected CRS in "
            f"metres, so lengths and areas would be meaningless; {hint} "
            "(District.create(..., crs=...) with the layers reprojected by gdf.to_crs)",
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        return Problem(
            "district",
            None,
            "crs",
            f"district CRS {crs_text!r} is not a projected CRS in metres (unit: "
            f"{unit or 'unknown'}); {hint}",
        )
    return None


def _check_boundary(district: District, strict: bool) -> tuple[Any, list[Problem]]:
    """Check (and in repair mode repair) the study boundary; return it and its problems."""
    boundary = district.boundary

    def problem(message: str, allowed: str | None = None) -> list[Problem]:
        return [Problem("district", None, "boundary", message, allowed)]

    if (
        boundary is None
        or boundary.is_empty
        or boundary.geom_type not in ("Polygon", "MultiPolygon")
    ):
        return boundary, problem("boundary is missing or not a polygon", "a Polygon")
    if _absurd(np.array([boundary]))[0]:
        return boundary, problem(_absurd_message(boundary))
    if boundary.is_valid:
        return boundary, []
    reason = shapely.is_valid_reason(boundary)
    if strict:
        return boundary, problem(f"invalid boundary ({reason})")
    repaired = _make_valid_as(boundary, ["Polygon", "MultiPolygon"])
    if repaired is None or repaired.is_empty:
        return boundary, problem(
            f"invalid boundary ({reason}) that cannot be repaired into an area; draw the "
            "study area as a polygon"
        )
    warnings.warn("district boundary: made valid", RepairWarning, stacklevel=3)
    return repaired, []


def _warn_far_away(district: District, far: dict[str, list[str]], source: str | None) -> None:
    box = area_of_use_box(district.crs)
    parts = [f"{layer} {', '.join(map(repr, ids[:3]))}" for layer, ids in far.items() if ids]
    count = sum(len(ids) for ids in far.values())
    if box is not None and _outside(np.array([district.boundary]), box)[0]:
        parts.insert(0, "the boundary")
        count += 1
    if not count:
        return
    area = pyproj.CRS.from_user_input(district.crs).area_of_use
    name = area.name.split(":")[0] if area else "unknown"
    where = f"district {source}: " if source else ""
    margin_km = extent_limits()["area_of_use_margin_m"] / 1000
    warnings.warn(
        f"{where}{count} feature(s) lie more than {margin_km:g} km outside the area of use "
        f"of {district.crs} ({name}): {'; '.join(parts)}; check that the coordinates are in "
        "this CRS",
        PlausibilityWarning,
        stacklevel=3,
    )


def _warn_crossings(layers: dict[str, gpd.GeoDataFrame], source: str | None) -> None:
    crossings = streets_crossing_buildings(layers["streets"], layers["buildings"])
    if not crossings:
        return
    examples = ", ".join(f"street {s!r} through building {b!r}" for s, b, _ in crossings[:3])
    more = f" and {len(crossings) - 3} more" if len(crossings) > 3 else ""
    where = f"district {source}: " if source else ""
    warnings.warn(
        f"{where}{len(crossings)} street(s) cross a building ({examples}{more}); check the "
        "geometry, or mark passages through buildings as tunnel",
        PlausibilityWarning,
        stacklevel=3,
    )


def validate_district(
    district: District,
    *,
    strict: bool = True,
    source: str | None = None,
    check_crossings: bool = True,
) -> District:
    """Check every layer of a District against its schema; return the (repaired) District.

    Collects **all** problems (layer, feature id, column, value, what is allowed) and
    raises them together.  Beyond types and categories it refuses values outside the
    column ranges of ``layers.yaml`` (e.g. lamps above 10⁶ lm, speeds above 200 km/h,
    headings outside 0-360°), missing values in ``not_null`` columns (a lamp without
    lumens), coordinates that are no place on Earth (beyond ``max_abs_coordinate_m``,
    ``extent:`` in ``layers.yaml``), and buildings whose dwellings or height cannot fit
    their footprint (``plausibility:`` in ``layers.yaml``).

    Two things are warned about (:class:`PlausibilityWarning`), not refused: features
    more than ``area_of_use_margin_m`` outside the area of use of the district CRS, and
    streets crossing a building footprint.

    Parameters
    ----------
    district
        The District to check.
    strict
        If True (default), any deviation is a problem.  If False, repair what can be
        repaired, issuing a :class:`RepairWarning` for each repair: invalid geometry
        (``shapely.make_valid``), layers in another or a geographic CRS (reprojected to
        the district CRS), missing optional columns (filled with defaults, from the
        street's ``highway`` class where the schema says so), multi-part lines and
        points (split into parts).
    source
        Name of the file the district came from, used in the error message.
    check_crossings
        Issue a :class:`PlausibilityWarning` for streets (not tunnels or bridges)
        crossing a building footprint (default True).

    Returns
    -------
    District
        A new District whose layers carry the schema dtypes.

    Raises
    ------
    DistrictValidationError
        Listing every problem that remains (after repairs when ``strict=False``); a
        district CRS that is missing, geographic or not in metres is refused at once.
    """
    crs_problem = _crs_problem(district.crs)
    if crs_problem is not None:
        raise DistrictValidationError([crs_problem], source=source)
    boundary, problems = _check_boundary(district, strict)
    layers = {}
    far_away = {}
    for layer, frame in district.layers.items():
        checker = _LayerChecker(layer, frame, district.crs, strict)
        layers[layer] = checker.run()
        problems.extend(checker.problems)
        far_away[layer] = checker.far_away
    if problems:
        raise DistrictValidationError(problems, source=source)
    _warn_far_away(district, far_away, source)
    if check_crossings:
        _warn_crossings(layers, source)
    return district.replace(boundary=boundary, **layers)
