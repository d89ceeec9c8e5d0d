"""Shared parts of the mix package: parameters, input checks, small helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import categories, load

if TYPE_CHECKING:
    from vollsmose_gis.district import District

Progress = Callable[[float, str], None]

UNKNOWN = "unknown"
"""Label of dwellings whose building has no tenure (or no dwelling type)."""

RADIUS_TOLERANCE_M = 1e-6
"""A destination this much farther than a radius still counts as within it (metres).

Door-to-door distances are sums of floating-point legs; without a tolerance a building
exactly 400 m away could fall in or out depending on the order of summation.
"""


class MixWarning(UserWarning):
    """Data the mix package could use only in part (unknown tenure, homes off the network)."""


# --------------------------------------------------------------------------- parameters


def _config() -> dict[str, Any]:
    config: dict[str, Any] = load("mix")
    return config


def _radii(radii_m: Sequence[float] | None) -> tuple[float, ...]:
    radii = tuple(float(r) for r in (radii_m or _config()["catchments"]["radii_m"]))
    if not radii or any(not np.isfinite(r) or r <= 0 for r in radii):
        raise InputError(f"radii_m must be positive distances in metres, got {radii_m!r}")
    return tuple(sorted(set(radii)))


def _label(radius_m: float) -> str:
    return f"{radius_m:g}m"


# --------------------------------------------------------------------------- input checks


def _ids(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return [f"row {i}" for i in range(len(frame))]
    return [str(v) if pd.notna(v) else f"row {i}" for i, v in enumerate(frame[column].tolist())]


def _raise_problems(layer: str, problems: list[str]) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise InputError(f"layer {layer!r}, {problems[0]}")
    shown = problems[:20]
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    raise InputError(
        f"{len(problems)} problems in layer {layer!r} for the mix analysis:\n"
        + "\n".join(f"  - {p}" for p in shown)
        + more
    )


def _numeric(frame: pd.DataFrame, column: str, default: float = 0.0) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return np.asarray(values.fillna(default).to_numpy(dtype=float))


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[column].astype("string")


def _check_buildings(buildings: gpd.GeoDataFrame) -> None:
    """Raise InputError naming every building whose mix attributes are unusable."""
    ids = _ids(buildings, "building_id")
    problems: list[str] = []
    for column, unit in (
        ("floor_area_m2", "m²"),
        ("commercial_m2", "m²"),
        ("dwellings", "dwellings"),
        ("jobs", "jobs"),
        ("demolished_dwellings_since_2010", "dwellings"),
        ("demolished_dwellings_after_2010", "dwellings"),
    ):
        if column not in buildings.columns:
            continue
        raw = buildings[column]
        values = pd.to_numeric(raw, errors="coerce")
        for i in np.flatnonzero((raw.notna() & values.isna()).to_numpy()):
            problems.append(f"feature {ids[i]!r}: {column} = {raw.iloc[i]!r} is not a number")
        for i in np.flatnonzero((values < 0).fillna(False).to_numpy(dtype=bool)):
            problems.append(
                f"feature {ids[i]!r}: {column} = {float(values.iloc[i])!r} is negative "
                f"(must be >= 0 {unit})"
            )
    if "floor_area_m2" in buildings.columns and "commercial_m2" in buildings.columns:
        floor = pd.to_numeric(buildings["floor_area_m2"], errors="coerce")
        commercial = pd.to_numeric(buildings["commercial_m2"], errors="coerce")
        for i in np.flatnonzero((commercial > floor).fillna(False).to_numpy(dtype=bool)):
            problems.append(
                f"feature {ids[i]!r}: commercial_m2 = {float(commercial.iloc[i])!r} exceeds "
                f"floor_area_m2 = {float(floor.iloc[i])!r}"
            )
    for column, kind in (
        ("use", "uses"),
        ("tenure", "tenures"),
        ("dwelling_type", "dwelling_types"),
    ):
        values = _text(buildings, column)
        allowed = categories(kind)
        bad = values.notna() & ~values.isin(allowed)
        for i in np.flatnonzero(bad.fillna(False).to_numpy(dtype=bool)):
            problems.append(
                f"feature {ids[i]!r}: {column} {values.iloc[i]!r} is not one of {list(allowed)}"
            )
    _raise_problems("buildings", problems)


def _check_pois(pois: gpd.GeoDataFrame) -> None:
    """Raise InputError naming every POI whose kind is not in the POI kind list."""
    allowed = categories("poi_kinds")
    kinds = _text(pois, "kind")
    ids = _ids(pois, "poi_id")
    bad = ~kinds.isin(allowed) | kinds.isna()
    problems = [
        f"feature {ids[i]!r}: POI kind {kinds.iloc[i]!r} is not in the list of POI kinds "
        f"{list(allowed)} (standards/categories.yaml); use one of them or 'other'"
        for i in np.flatnonzero(bad.fillna(True).to_numpy(dtype=bool))
    ]
    _raise_problems("pois", problems)


def _inside(frame: gpd.GeoDataFrame, boundary: Any) -> np.ndarray:
    """True for features whose representative point lies in the boundary."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    return np.asarray(shapely.covered_by(points, boundary), dtype=bool)


def _buildings(district: District) -> gpd.GeoDataFrame:
    """The buildings layer, checked, with helper columns.

    ``_inside`` (representative point in the study boundary), ``_in_rule`` (in the
    district's rule area, :attr:`Settings.rule_area`; the boundary when none is set)
    and ``_dwellings`` (dwellings as numbers, missing = 0).
    """
    buildings = district.buildings
    _check_buildings(buildings)
    out = buildings.copy()
    out["_inside"] = _inside(out, district.boundary)
    rule_area = district.settings.rule_area
    out["_in_rule"] = out["_inside"] if rule_area is None else _inside(out, rule_area)
    out["_dwellings"] = _numeric(out, "dwellings")
    return out


# --------------------------------------------------------------------------- indices
def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    return float(np.average(values[ok], weights=weights[ok]))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Dwelling-weighted median; unreachable (NaN) distances count as infinitely far."""
    ok = weights > 0
    if not ok.any():
        return float("nan")
    values = np.where(np.isnan(values[ok]), np.inf, values[ok])
    w = weights[ok]
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(w[order])
    value = float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return value if math.isfinite(value) else float("nan")
