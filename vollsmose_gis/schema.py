"""Layer schemas, dtype conforming and validation of a District.

The schemas themselves are data (``standards/layers.yaml``, ``standards/categories.yaml``);
this module turns them into pandas dtypes, empty layers and checks.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from vollsmose_gis._errors import DistrictValidationError, Problem
from vollsmose_gis.standards import categories, highway_defaults, layer_schemas

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "RepairWarning",
    "column_dtype",
    "conform_layer",
    "empty_layer",
    "new_street",
    "validate_district",
]

# GDAL returns a nullable boolean field as float (1.0/0.0/NaN); OSM uses yes/no.
_TRUE = {"true", "yes", "1", "1.0", "y", "t"}
_FALSE = {"false", "no", "0", "0.0", "n", "f"}


class RepairWarning(UserWarning):
    """Issued by ``validate_district(strict=False)`` for every repair it makes."""


def column_dtype(spec: dict[str, Any]) -> Any:
    """Return the pandas dtype of a column spec from ``layers.yaml``."""
    kind = spec["dtype"]
    if kind == "str":
        return pd.StringDtype()
    if kind == "bool":
        return pd.BooleanDtype()
    if kind == "int":
        return pd.Int64Dtype()
    if kind == "float":
        return np.dtype("float64")
    if kind == "category":
        return pd.CategoricalDtype(categories(spec["categories"]))
    raise ValueError(f"unknown dtype {kind!r} in layers.yaml")


def empty_layer(layer: str, crs: str) -> gpd.GeoDataFrame:
    """Return an empty layer with every schema column at its dtype, in ``crs``."""
    columns = layer_schemas()[layer]["columns"]
    data = {name: pd.Series(dtype=column_dtype(spec)) for name, spec in columns.items()}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def new_street(street_id: str, highway: str, geometry: Any, **values: Any) -> dict[str, Any]:
    """A complete streets-layer row for a new street of an OSM ``highway`` class.

    Access, speed, lanes, width and lighting class come from ``highways.yaml``; ``values``
    override them (None values are ignored, so optional arguments can be passed through).
    """
    defaults = highway_defaults(highway)
    row = {
        "street_id": street_id,
        "name": None,
        "highway": highway,
        "car": defaults["car"],
        "walk": defaults["walk"],
        "bike": defaults["bike"],
        "oneway": False,
        "maxspeed_kmh": defaults["maxspeed_kmh"],
        "lanes": defaults["lanes"],
        "width_m": defaults["width_m"],
        "lit": None,
        "lighting_class": defaults["lighting_class"],
        "bridge": False,
        "tunnel": False,
        "bus_route": False,
    }
    row.update({k: v for k, v in values.items() if v is not None})
    row["geometry"] = geometry
    return row


def _cast(series: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Cast ``series`` to the spec's dtype; return (cast series, mask of uncastable values).

    Category columns are returned as strings here; unknown categories are checked
    separately so the message can list the allowed values.
    """
    kind = spec["dtype"]
    present = series.notna()
    if kind in ("str", "category"):
        out = series.astype("string")
        return out, pd.Series(False, index=series.index)
    if kind in ("float", "int"):
        numeric = pd.to_numeric(series, errors="coerce")
        bad = present & numeric.isna()
        if kind == "int":
            as_float = numeric.astype("float64")
            # fractional, infinite or beyond int64: not an integer we can store
            not_int = as_float.notna() & (
                ~np.isfinite(as_float) | (as_float.abs() > 2**62) | (as_float != np.round(as_float))
            )
            bad |= not_int
            return as_float.where(~not_int).astype("Int64"), bad
        return numeric.astype("float64"), bad
    if kind == "bool":
        text = series.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=series.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).astype(bool)] = True
        out[text.isin(_FALSE).fillna(False).astype(bool)] = False
        bad = present & out.isna()
        return out, bad
    raise ValueError(f"unknown dtype {kind!r} in layers.yaml")


def conform_layer(frame: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` with schema columns cast to their dtypes.

    Columns whose values cannot all be cast are left as they are (validation reports
    them); extra columns are kept after the schema columns; the index is reset.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"layer {layer!r} must be a GeoDataFrame, got {type(frame).__name__}")
    columns = layer_schemas()[layer]["columns"]
    out = frame.copy()
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    out = out.reset_index(drop=True)
    for name, spec in columns.items():
        if name not in out.columns or out[name].dtype == column_dtype(spec):
            continue  # absent, or already of the schema dtype (the common case)
        cast, bad = _cast(out[name], spec)
        if bad.any():
            continue
        if spec["dtype"] == "category":
            allowed = categories(spec["categories"])
            if not cast.dropna().isin(allowed).all():
                continue
            cast = cast.astype(pd.CategoricalDtype(allowed))
        out[name] = cast
    ordered = [c for c in columns if c in out.columns]
    extra = [c for c in out.columns if c not in columns and c != "geometry"]
    return out[[*ordered, *extra, "geometry"]]


def _feature_ids(frame: pd.DataFrame, id_column: str) -> list[str]:
    if id_column in frame.columns:
        return [
            str(v) if pd.notna(v) else f"row {i}" for i, v in enumerate(frame[id_column].tolist())
        ]
    return [f"row {i}" for i in range(len(frame))]


def _out_of_range(spec: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """Mask of ``values`` outside the spec's bounds (NaN counts as in range)."""
    low, high = spec.get("min"), spec.get("max")
    with np.errstate(invalid="ignore"):
        bad = np.zeros(values.shape, dtype=bool)
        if low is not None:
            bad |= values <= low if spec.get("min_exclusive") else values < low
        if high is not None:
            bad |= values >= high if spec.get("max_exclusive") else values > high
    return bad


def _range_text(spec: dict[str, Any]) -> str:
    parts = []
    if spec.get("min") is not None:
        parts.append(f"{'>' if spec.get('min_exclusive') else '>='} {spec['min']}")
    if spec.get("max") is not None:
        parts.append(f"{'<' if spec.get('max_exclusive') else '<='} {spec['max']}")
    return " and ".join(parts)


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
            if spec.get("required"):
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
            cast, bad = _cast(original, spec)
            for i in np.flatnonzero(bad.to_numpy()):
                self.problem(
                    ids[i],
                    name,
                    f"value {original.iloc[i]!r} is not of type {spec['dtype']}",
                    "a " + spec["dtype"],
                )
            if spec["dtype"] == "category":
                allowed = categories(spec["categories"])
                unknown = cast.notna() & ~cast.isin(allowed).fillna(False).astype(bool)
                for i in np.flatnonzero(unknown.to_numpy()):
                    self.problem(
                        ids[i],
                        name,
                        f"unknown category {cast.iloc[i]!r}",
                        ", ".join(allowed),
                    )
                if not unknown.any():
                    cast = cast.astype(pd.CategoricalDtype(allowed))
            elif spec["dtype"] in ("int", "float"):
                values = cast.astype("float64").to_numpy(na_value=np.nan)
                for i in np.flatnonzero(np.isinf(values)):
                    self.problem(ids[i], name, f"value {values[i]!r} is not finite")
                for i in np.flatnonzero(_out_of_range(spec, values) & ~np.isinf(values)):
                    self.problem(
                        ids[i], name, f"value {values[i]:g} is out of range", _range_text(spec)
                    )
            if not bad.any():
                self.frame[name] = cast

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
            reason = shapely.is_valid_reason(geoms[i])
            if self.strict:
                self.problem(
                    ids[i],
                    "geometry",
                    f"invalid geometry ({reason}); make it valid, or validate with strict=False",
                )
                continue
            fixed = _make_valid_as(geoms[i], allowed)
            if fixed is None:
                self.problem(
                    ids[i],
                    "geometry",
                    f"invalid geometry ({reason}) that make_valid cannot keep as "
                    + " or ".join(allowed),
                )
                continue
            self.frame.loc[self.frame.index[i], "geometry"] = fixed
            self.repaired(f"feature {ids[i]!r}: made invalid geometry valid ({reason})")
        if explode_rows:
            self.explode(explode_rows, ids)
            self.check_ids()  # the parts' new ids may clash with existing ones

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


def validate_district(
    district: District,
    *,
    strict: bool = True,
    source: str | None = None,
) -> District:
    """Check every layer of a District against its schema; return the (repaired) District.

    Collects **all** problems (layer, feature id, column, value, what is allowed) and
    raises them together.

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

    Returns
    -------
    District
        A new District whose layers carry the schema dtypes.

    Raises
    ------
    DistrictValidationError
        Listing every problem that remains (after repairs when ``strict=False``).
    """
    problems: list[Problem] = []
    crs = pyproj.CRS.from_user_input(district.crs) if district.crs else None
    if crs is None or not crs.is_projected:
        problems.append(
            Problem(
                "district",
                None,
                "crs",
                f"district CRS {district.crs!r} is not a projected CRS in metres",
                "a projected CRS such as EPSG:25832",
            )
        )
        raise DistrictValidationError(problems, source=source)
    boundary = district.boundary
    if (
        boundary is None
        or boundary.is_empty
        or boundary.geom_type not in ("Polygon", "MultiPolygon")
    ):
        problems.append(
            Problem(
                "district", None, "boundary", "boundary is missing or not a polygon", "a Polygon"
            )
        )
    elif not boundary.is_valid:
        if strict:
            problems.append(
                Problem(
                    "district",
                    None,
                    "boundary",
                    f"invalid boundary ({shapely.is_valid_reason(boundary)})",
                )
            )
        else:
            repaired = _make_valid_as(boundary, ["Polygon", "MultiPolygon"])
            if repaired is None or repaired.is_empty:
                problems.append(
                    Problem(
                        "district",
                        None,
                        "boundary",
                        f"invalid boundary ({shapely.is_valid_reason(boundary)}) that cannot be "
                        "repaired into an area; draw the study area as a polygon",
                    )
                )
            else:
                boundary = repaired
                warnings.warn("district boundary: made valid", RepairWarning, stacklevel=2)
    layers = {}
    for layer, frame in district.layers.items():
        checker = _LayerChecker(layer, frame, district.crs, strict)
        layers[layer] = checker.run()
        problems.extend(checker.problems)
    if problems:
        raise DistrictValidationError(problems, source=source)
    return district.replace(boundary=boundary, **layers)
