"""Diversity indices: Shannon, Gini–Simpson and Hill numbers; the land-use entropy index;
tenure and dwelling-type mix per estate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.mix._common import UNKNOWN, _buildings, _text
from vollsmose_gis.standards import categories

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = ["DIVERSITY_INDICES", "diversity_indices", "estate_mix", "hill_number", "landuse_entropy"]

DIVERSITY_INDICES: tuple[str, ...] = ("shannon", "simpson", "hill0", "hill1", "hill2")
"""Names of the diversity indices returned by :func:`diversity_indices`."""


def _as_counts(counts: Any) -> np.ndarray:
    if isinstance(counts, Mapping):
        counts = list(counts.values())
    array = np.asarray(counts, dtype=float)
    if np.any(array < 0) or not np.all(np.isfinite(array)):
        raise InputError(f"counts must be finite and >= 0, got {counts!r}")
    return array


def _diversity_arrays(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Diversity indices of each row of a ``(..., k)`` count array (NaN for empty rows)."""
    total = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / total[..., None]
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        shannon = 0.0 - plogp.sum(axis=-1)
        sum_sq = (p**2).sum(axis=-1)
        out = {
            "shannon": shannon,
            "simpson": 1.0 - sum_sq,
            "hill0": (counts > 0).sum(axis=-1).astype(float),
            "hill1": np.exp(shannon),
            "hill2": 1.0 / sum_sq,
        }
    empty = ~(total > 0)
    return {name: np.where(empty, np.nan, values) for name, values in out.items()}


def diversity_indices(
    counts: Mapping[str, float] | Sequence[float] | np.ndarray,
) -> dict[str, float]:
    """Return Shannon, Gini–Simpson and Hill numbers (q = 0, 1, 2) of one composition.

    Parameters
    ----------
    counts
        Counts (e.g. dwellings) per category, as a mapping or a sequence; categories
        with zero count are allowed.

    Returns
    -------
    dict
        ``shannon`` H = −Σ pᵢ ln pᵢ (nats); ``simpson`` the Gini–Simpson index
        1 − Σ pᵢ² (the probability that two random dwellings differ); ``hill0``,
        ``hill1``, ``hill2`` the Hill numbers ᑫD (the "effective number" of
        categories).  All NaN when every count is zero.

    Notes
    -----
    Hill (1973): ᑫD = (Σ pᵢ^q)^(1/(1−q)); q = 0 is the number of categories present,
    q → 1 gives exp(H), q = 2 gives 1 / Σ pᵢ² (inverse Simpson).  One category gives
    H = 0, Gini–Simpson 0 and ᑫD = 1 for every q; k equally common categories give
    H = ln k and ᑫD = k.
    """
    values = _diversity_arrays(_as_counts(counts))
    return {name: float(value) for name, value in values.items()}


def hill_number(counts: Mapping[str, float] | Sequence[float] | np.ndarray, q: float) -> float:
    """Return the Hill number ᑫD of order ``q`` ≥ 0 of one composition.

    ᑫD = (Σ pᵢ^q)^(1/(1−q)) over the categories present (pᵢ > 0), and exp(−Σ pᵢ ln pᵢ)
    at q = 1 (the limit).  NaN when every count is zero.
    """
    if not np.isfinite(q) or q < 0:
        raise InputError(f"q must be a finite number >= 0, got {q!r}")
    array = _as_counts(counts)
    total = array.sum()
    if not total > 0:
        return float("nan")
    p = array[array > 0] / total
    if q == 1:
        return float(np.exp(-(p * np.log(p)).sum()))
    return float((p**q).sum() ** (1.0 / (1.0 - q)))


def landuse_entropy(floor_areas: Any, *, n_classes: int | None = None) -> Any:
    """Return the land-use mix (entropy) index of one or more compositions.

    Parameters
    ----------
    floor_areas
        Floor area (m²) per land-use class: a sequence/mapping for one composition, or
        a ``(rows, classes)`` array for many.
    n_classes
        N, the number of classes considered (default: the number of columns).  The
        package always uses the fixed classes of :func:`~vollsmose_gis.mix.landuse_classes`.

    Returns
    -------
    float or ndarray
        LUM = −Σ pₖ ln pₖ / ln N, between 0 (a single use) and 1 (all N classes in
        equal shares); NaN where the floor area is zero.

    Notes
    -----
    The entropy index of Cervero & Kockelman (1997) and Frank et al. (2005).  Two
    classes in equal shares give ln 2 / ln N.
    """
    array = _as_counts(floor_areas)
    n = array.shape[-1] if n_classes is None else int(n_classes)
    if n < 2 or n < array.shape[-1]:
        raise InputError(
            f"n_classes must be >= 2 and >= the number of classes given ({array.shape[-1]}), "
            f"got {n_classes!r}"
        )
    entropy = _diversity_arrays(array)["shannon"] / math.log(n)
    return float(entropy) if np.ndim(entropy) == 0 else entropy


def _composition(frame: pd.DataFrame, column: str, kind: str, weights: np.ndarray) -> np.ndarray:
    """``(len(frame), n_categories)`` matrix of ``weights`` by the category in ``column``.

    Rows without a category (unknown) are all zero: diversity counts known categories.
    """
    allowed = categories(kind)
    values = _text(frame, column)
    codes = pd.Categorical(values, categories=allowed).codes
    matrix = np.zeros((len(frame), len(allowed)))
    known = codes >= 0
    matrix[np.flatnonzero(known), codes[known]] = weights[known]
    return matrix


def _diversity_columns(prefix: str, counts: np.ndarray, suffix: str = "") -> dict[str, np.ndarray]:
    return {
        f"{prefix}_{name}{suffix}": values for name, values in _diversity_arrays(counts).items()
    }


def estate_mix(district: District) -> gpd.GeoDataFrame:
    """Return dwellings by tenure and tenure/dwelling-type diversity per estate.

    Buildings with dwellings inside the boundary are grouped by their ``estate``
    (``"(no estate)"`` where it is missing).

    Returns
    -------
    GeoDataFrame
        One row per estate (index ``estate``), with ``dwellings``,
        ``dwellings_<tenure>`` for every tenure and ``dwellings_unknown``,
        ``almen_family_share`` (of the estate's dwellings, no § 168 a adjustments),
        ``tenure_<index>`` and ``dwelling_type_<index>`` for the indices of
        :data:`DIVERSITY_INDICES` (unknown categories left out), and the convex hull of
        the estate's buildings as geometry (district CRS).
    """
    return _estate_mix(_buildings(district), district.crs)


def _estate_mix(buildings: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    homes = buildings[buildings["_inside"] & (buildings["_dwellings"] > 0)]
    estate = _text(homes, "estate").fillna("(no estate)").to_numpy()
    weights = homes["_dwellings"].to_numpy()
    tenures = _composition(homes, "tenure", "tenures", weights)
    types = _composition(homes, "dwelling_type", "dwelling_types", weights)
    names = sorted(set(estate.tolist()))
    position = {name: i for i, name in enumerate(names)}
    group = np.array([position[e] for e in estate], dtype=np.int64)

    def by_estate(matrix: np.ndarray) -> np.ndarray:
        out = np.zeros((len(names), matrix.shape[1]))
        np.add.at(out, group, matrix)
        return out

    tenure_sum = by_estate(tenures)
    type_sum = by_estate(types)
    total = np.bincount(group, weights=weights, minlength=len(names))
    columns: dict[str, Any] = {"dwellings": total.round().astype(np.int64)}
    for i, tenure in enumerate(categories("tenures")):
        columns[f"dwellings_{tenure}"] = tenure_sum[:, i].round().astype(np.int64)
    columns[f"dwellings_{UNKNOWN}"] = (total - tenure_sum.sum(axis=1)).round().astype(np.int64)
    family = categories("tenures").index("almen_family")
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["almen_family_share"] = tenure_sum[:, family] / total
    columns.update(_diversity_columns("tenure", tenure_sum))
    columns.update(_diversity_columns("dwelling_type", type_sum))
    hulls = [
        shapely.convex_hull(shapely.union_all(homes.geometry.to_numpy()[group == i]))
        for i in range(len(names))
    ]
    return gpd.GeoDataFrame(columns, geometry=hulls, crs=crs, index=pd.Index(names, name="estate"))


# --------------------------------------------------------------------------- land use
