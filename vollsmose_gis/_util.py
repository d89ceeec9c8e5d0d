"""Small helpers shared by several modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["contains_points", "json_value", "largest_remainder", "slug"]


def slug(name: str, default: str = "scenario") -> str:
    """File-name form of a name: lower case, runs of other characters as '-'.

    ``default`` is returned when nothing is left (a name of symbols only).
    """
    keep = "".join(c.lower() if c.isalnum() else "-" for c in name)
    return "-".join(part for part in keep.split("-") if part) or default


def contains_points(geometry: Any, x: Any, y: Any) -> np.ndarray:
    """Whether each point (x, y) lies inside ``geometry`` (boolean array).

    ``shapely.contains_xy`` would do this, but it is a GEOS 3.12 function: inside QGIS
    on Debian bookworm, QGIS has already loaded the system GEOS 3.11, shapely's call
    can resolve to it and crash the process.  ``contains`` on points (with the
    geometry prepared) is as fast and exists in every GEOS.
    """
    import shapely

    shapely.prepare(geometry)
    return np.asarray(shapely.contains(geometry, shapely.points(np.asarray(x), np.asarray(y))))


def json_value(value: Any) -> Any:
    """A value ready for JSON: NaN, ``None`` and ``pd.NA`` as None, NumPy scalars as Python.

    JSON has no NaN (``json.dumps`` would write the invalid token ``NaN``), and a
    missing figure must read as missing (``null``), not as a number.
    """
    if value is None or type(value).__name__ == "NAType":
        return None
    if hasattr(value, "item") and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum exactly to it.

    Hamilton's largest-remainder method: floor every exact share, then give the
    leftover units to the largest fractional remainders (ties: first come first).
    """
    w = np.asarray(weights, dtype=float)
    if total == 0 or len(w) == 0:
        return [0] * len(w)
    exact = w / w.sum() * total
    floor = np.floor(exact).astype(int)
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[: total - int(floor.sum())]] += 1
    return [int(v) for v in floor]
