"""Layer schemas: pandas dtypes, empty layers, conforming and the schema's limits.

The schemas themselves are data (``standards/layers.yaml``, ``standards/categories.yaml``);
this module turns them into pandas dtypes and empty layers, casts columns to their
dtypes and reads the value ranges and plausibility limits that
:mod:`vollsmose_gis.validation` checks.

This module sits below :mod:`vollsmose_gis.district` in the layer order and imports
nothing of it (nor of validation), so ``district -> layers`` is not a cycle.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from vollsmose_gis.standards import categories, highway_defaults, layer_schemas, load

__all__ = [
    "column_dtype",
    "column_range",
    "conform_layer",
    "empty_layer",
    "extent_limits",
    "new_street",
    "out_of_range",
    "plausibility",
    "range_text",
]

# GDAL returns a nullable boolean field as float (1.0/0.0/NaN); OSM uses yes/no.
_TRUE = {"true", "yes", "1", "1.0", "y", "t"}
_FALSE = {"false", "no", "0", "0.0", "n", "f"}


def column_dtype(spec: dict[str, Any]) -> Any:
    """Return the pandas dtype of a column spec from ``layers.yaml``.

    Parameters
    ----------
    spec
        One column's mapping, e.g. ``{"dtype": "float", "min": 0}``.

    Returns
    -------
    pandas or numpy dtype
        ``string``, ``boolean``, ``Int64``, ``float64`` or a ``CategoricalDtype`` over
        the category list the spec names.
    """
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


def column_range(layer: str, column: str) -> dict[str, Any]:
    """Return the bounds of one numeric column of ``layers.yaml``.

    Parameters
    ----------
    layer, column
        E.g. ``"lights"``, ``"lumens"``.

    Returns
    -------
    dict
        The keys ``min``, ``max``, ``min_exclusive``, ``max_exclusive`` that the column
        spec gives (in the column's unit: lm, km/h, m, degrees...); empty when the
        column is unbounded.
    """
    spec = layer_schemas()[layer]["columns"][column]
    keys = ("min", "max", "min_exclusive", "max_exclusive")
    return {k: spec[k] for k in keys if spec.get(k) is not None}


def out_of_range(spec: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """Mask of ``values`` outside the spec's bounds (NaN counts as in range).

    Parameters
    ----------
    spec
        A column spec or :func:`column_range` result (``min``/``max``, inclusive
        unless ``min_exclusive``/``max_exclusive``).
    values
        Numbers in the column's unit.
    """
    values = np.asarray(values, dtype="float64")
    low, high = spec.get("min"), spec.get("max")
    with np.errstate(invalid="ignore"):
        bad = np.zeros(values.shape, dtype=bool)
        if low is not None:
            bad |= values <= low if spec.get("min_exclusive") else values < low
        if high is not None:
            bad |= values >= high if spec.get("max_exclusive") else values > high
    return bad


def range_text(spec: dict[str, Any]) -> str:
    """Return the bounds of a column spec as text, e.g. ``"> 0 and <= 1e+06"``."""
    parts = []
    if spec.get("min") is not None:
        parts.append(f"{'>' if spec.get('min_exclusive') else '>='} {spec['min']:g}")
    if spec.get("max") is not None:
        parts.append(f"{'<' if spec.get('max_exclusive') else '<='} {spec['max']:g}")
    return " and ".join(parts)


def plausibility(layer: str) -> dict[str, float]:
    """Return the per-feature plausibility limits of a layer (``layers.yaml``).

    Parameters
    ----------
    layer
        A layer name; layers without limits return an empty dict.

    Returns
    -------
    dict
        For ``buildings``: ``min_floor_area_per_dwelling_m2`` (m² of gross floor area a
        dwelling needs at least), ``floor_height_m`` (m per storey, to turn a height
        into storeys) and ``max_slenderness`` (height over the square root of the
        footprint area, dimensionless).
    """
    limits: dict[str, float] = layer_schemas()[layer].get("plausibility", {})
    return dict(limits)


def extent_limits() -> dict[str, float]:
    """Return the limits on where coordinates may lie (``layers.yaml``, ``extent:``).

    Returns
    -------
    dict
        ``area_of_use_margin_m`` (metres a feature may lie outside the projected area
        of use of the district CRS) and ``max_abs_coordinate_m`` (the bound on any
        coordinate when the CRS declares no area of use), both in metres.
    """
    limits: dict[str, float] = load("layers")["extent"]
    return {k: float(v) for k, v in limits.items()}


def empty_layer(layer: str, crs: str) -> gpd.GeoDataFrame:
    """Return an empty layer with every schema column at its dtype.

    Parameters
    ----------
    layer
        A layer name of ``layers.yaml`` (``"streets"``, ``"buildings"``...).
    crs
        The CRS of the empty geometry column, e.g. ``"EPSG:25832"``.
    """
    columns = layer_schemas()[layer]["columns"]
    data = {name: pd.Series(dtype=column_dtype(spec)) for name, spec in columns.items()}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def new_street(street_id: str, highway: str, geometry: Any, **values: Any) -> dict[str, Any]:
    """Return a complete streets-layer row for a new street of an OSM ``highway`` class.

    Access, speed (km/h), lanes, width (m) and lighting class come from
    ``highways.yaml``; ``values`` override them (None values are ignored, so optional
    arguments can be passed through).
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


def cast_column(series: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
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
    them); columns marked ``since:`` in the schema (added after older data was made)
    are added with their default (or NA) when absent; extra columns are kept after the
    schema columns; the index is reset.

    Parameters
    ----------
    frame
        The layer's features.
    layer
        Its name in ``layers.yaml``.

    Raises
    ------
    TypeError
        ``frame`` is not a GeoDataFrame.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"layer {layer!r} must be a GeoDataFrame, got {type(frame).__name__}")
    columns = layer_schemas()[layer]["columns"]
    out = frame.copy()
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    out = out.reset_index(drop=True)
    for name, spec in columns.items():
        if name not in out.columns and spec.get("since"):
            # a column added after the data was made: its default, or NA
            out[name] = pd.Series(
                [spec.get("default")] * len(out), index=out.index, dtype=column_dtype(spec)
            )
            continue
        if name not in out.columns or out[name].dtype == column_dtype(spec):
            continue  # absent, or already of the schema dtype (the common case)
        cast, bad = cast_column(out[name], spec)
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
