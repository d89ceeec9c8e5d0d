"""Small helpers shared by several modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["largest_remainder", "slug"]


def slug(name: str) -> str:
    """File-name form of a scenario name: lower case, runs of other characters as '-'."""
    keep = "".join(c.lower() if c.isalnum() else "-" for c in name)
    return "-".join(part for part in keep.split("-") if part) or "scenario"


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
