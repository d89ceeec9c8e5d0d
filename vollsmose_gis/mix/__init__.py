"""Housing and land-use mix: the § 168 a 40 % rule, tenure and use diversity, walking access.

Two of the municipality's goals for Vollsmose are "a more mixed resident composition"
and "from single-use to multi-use"; the Danish 40 % rule (almenboligloven § 168 a) is
the test every plan for the area must pass.  This module measures all three:

- :func:`tenure_accounting` — dwellings by tenure inside the boundary, the § 168 a
  share of social family dwellings with its counting rules, and the three levers
  (demolish, convert, build non-social), each computed on its own;
- :func:`diversity_indices`, :func:`hill_number` — Shannon, Gini–Simpson and Hill
  numbers (q = 0, 1, 2) of tenures and dwelling types, per estate
  (:func:`estate_mix`), per district and on walking catchments;
- :func:`landuse_entropy`, :func:`landuse_summary`, :func:`landuse_grid` — the land-use
  mix (entropy index over fixed classes, by floor area), the non-residential floor
  share and the jobs–housing ratio;
- :func:`home_catchments`, :func:`poi_access` — per home, the mix of the 400/800 m
  walking catchment and the network distance to the nearest POI of each kind;
- :func:`analyse_mix` — everything at once (:class:`MixResult`), and
  :func:`indicators` for the scorer.

All parameters (threshold, 75 m² rule, land-use classes, radii, daily-needs list, jobs
band) live in ``standards/mix.yaml``.

Network distances
-----------------
Catchments and nearest distances use the pedestrian graph of
:mod:`vollsmose_gis.network` (:func:`~vollsmose_gis.network.walk_graph`).  A home, a
building or a POI is attached to its nearest walkable street piece (its
representative point; see :meth:`~vollsmose_gis.network.StreetGraph.snap`); its
distance to another point is the straight access leg to the street, the route along
the network, and the access leg at the other end.  Points farther than
``catchments.max_access_m`` from every walkable street are left out and reported.

The catchments of *all* homes come from **one** multi-source call of
:func:`scipy.sparse.csgraph.dijkstra` (limited to the largest radius) from the street
nodes at the ends of the homes' street pieces (split into a few calls only when the
distance table would exceed about 130 MB); the nearest POI of a kind comes from one
Dijkstra per kind from a virtual node joined to every POI of that kind with its access
cost.  Nothing searches once per home.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.indicators import Indicator
from vollsmose_gis.network import SnappedPoints, StreetGraph, walk_graph
from vollsmose_gis.standards import categories, load

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "DIVERSITY_INDICES",
    "RADIUS_TOLERANCE_M",
    "LandUseSummary",
    "MixResult",
    "MixWarning",
    "TenureAccount",
    "analyse_mix",
    "diversity_indices",
    "estate_mix",
    "hill_number",
    "home_catchments",
    "indicators",
    "landuse_classes",
    "landuse_entropy",
    "landuse_floor_areas",
    "landuse_grid",
    "landuse_summary",
    "poi_access",
    "tenure_accounting",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

UNKNOWN = "unknown"
"""Label of dwellings whose building has no tenure (or no dwelling type)."""

DIVERSITY_INDICES: tuple[str, ...] = ("shannon", "simpson", "hill0", "hill1", "hill2")
"""Names of the diversity indices returned by :func:`diversity_indices`."""

RADIUS_TOLERANCE_M = 1e-6
"""A destination this much farther than a radius still counts as within it (metres).

Door-to-door distances are sums of floating-point legs; without a tolerance a building
exactly 400 m away could fall in or out depending on the order of summation.
"""

_ROW_BUDGET = 2**24  # entries of one (origins x nodes) distance table (~130 MB float64)
_PAIR_BUDGET = 2**22  # entries of one (homes x targets) distance block (~34 MB)


class MixWarning(UserWarning):
    """Data the mix module could use only in part (unknown tenure, homes off the network)."""


# --------------------------------------------------------------------------- parameters


def _config() -> dict[str, Any]:
    config: dict[str, Any] = load("mix")
    return config


def landuse_classes() -> tuple[str, ...]:
    """Return the fixed land-use classes of the entropy index (``standards/mix.yaml``).

    Their number is the ``N`` of :func:`landuse_entropy`, the same for every district.
    """
    return tuple(_config()["landuse"]["classes"])


def _use_to_class() -> dict[str, int]:
    """Map each building use mapped to a class onto the class's position."""
    spec = _config()["landuse"]
    mapping: dict[str, int] = {}
    for position, uses in enumerate(spec["classes"].values()):
        for use in uses:
            if use in mapping:
                raise ValueError(f"standards/mix.yaml: use {use!r} is mapped to two classes")
            mapping[use] = position
    known = set(categories("uses"))
    listed = set(mapping) | set(spec["excluded_uses"]) | set(spec["mixed_use_buildings"])
    if listed - known:
        raise ValueError(f"standards/mix.yaml names unknown uses {sorted(listed - known)}")
    if known - listed:
        raise ValueError(
            f"standards/mix.yaml: uses {sorted(known - listed)} are neither mapped to a "
            "land-use class nor listed under excluded_uses"
        )
    return mapping


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
    """The buildings layer, checked, with ``_inside`` and numeric helper columns."""
    buildings = district.buildings
    _check_buildings(buildings)
    out = buildings.copy()
    out["_inside"] = _inside(out, district.boundary)
    out["_dwellings"] = _numeric(out, "dwellings")
    return out


# --------------------------------------------------------------------------- indices


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
        module always uses the fixed classes of :func:`landuse_classes`.

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


# --------------------------------------------------------------------------- tenure


@dataclass(frozen=True)
class TenureAccount:
    """Tenure accounting of the dwellings inside a district's boundary (§ 168 a).

    Attributes
    ----------
    dwellings_by_tenure
        Dwellings per tenure category, plus ``"unknown"`` for buildings with dwellings
        but no tenure.
    total_dwellings
        All dwellings inside the boundary (every tenure, unknown included).
    almen_family_dwellings
        The numerator: dwellings of the numerator tenures (``almen_family``).
    commercial_m2
        Commercial floor space inside the boundary (sum of ``commercial_m2``), m².
    commercial_dwelling_equivalents
        ``commercial_m2 / commercial_m2_per_dwelling`` (75 m² per dwelling).
    demolished_counted
        Dwellings demolished since 2010 (not replaced by social family housing) that
        are counted in the total (0 when ``count_demolished`` is off).
    denominator
        total_dwellings + commercial_dwelling_equivalents + demolished_counted.
    share
        almen_family_dwellings / denominator (NaN when the denominator is 0).
    threshold
        The limit (0.40).
    meets_rule
        share ≤ threshold (compared exactly, in rational arithmetic).
    demolish_needed
        Social family dwellings to demolish (not replaced by social family housing) to
        reach the threshold.  Demolished dwellings stay in the total when
        ``count_demolished`` is on.
    convert_needed
        Social family dwellings to convert to another tenure (sale, re-labelling as
        youth dwellings) to reach the threshold; the total is unchanged.
    build_non_social_needed
        Non-social dwellings to build (nothing else changing) to reach the threshold.
    build_commercial_m2_needed
        Alternatively, commercial floor space to build, m².
    unknown_tenure_buildings
        Ids of the buildings with dwellings but no tenure.
    count_demolished
        Whether demolished dwellings were counted.
    """

    dwellings_by_tenure: dict[str, int]
    total_dwellings: int
    almen_family_dwellings: int
    commercial_m2: float
    commercial_dwelling_equivalents: float
    demolished_counted: int
    denominator: float
    share: float
    threshold: float
    meets_rule: bool
    demolish_needed: int
    convert_needed: int
    build_non_social_needed: int
    build_commercial_m2_needed: float
    unknown_tenure_buildings: tuple[str, ...] = ()
    count_demolished: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = dict(vars(self))
        out["unknown_tenure_buildings"] = list(self.unknown_tenure_buildings)
        return out


def _fraction(value: float) -> Fraction:
    """The decimal value a float was written as (0.4 -> 2/5), for exact lever arithmetic."""
    return Fraction(repr(float(value)))


def _ceil_nonnegative(value: Fraction) -> int:
    return max(0, math.ceil(value))


def tenure_accounting(
    district: District,
    *,
    threshold: float | None = None,
    count_demolished: bool | None = None,
) -> TenureAccount:
    """Count dwellings by tenure inside the boundary and apply the § 168 a 40 % rule.

    Parameters
    ----------
    district
        The district; buildings whose representative point lies inside the boundary
        are counted.
    threshold
        Maximum share of social family dwellings (default 0.40, ``standards/mix.yaml``).
    count_demolished
        Count ``demolished_dwellings_since_2010`` in the total (default: yes).

    Returns
    -------
    TenureAccount

    Warns
    -----
    MixWarning
        Buildings with dwellings but no tenure: their dwellings are counted as
        ``"unknown"`` (in the total, not in the numerator) and listed.

    Raises
    ------
    InputError
        Negative or non-numeric dwellings/floor areas, unknown categories (naming the
        building), or a threshold outside (0, 1).

    Notes
    -----
    Almenboligloven § 168 a: almene family dwellings may be at most 40 % of all
    dwellings by 1 January 2030.  With F the social family dwellings, T all dwellings,
    C the commercial floor space and D the demolished dwellings counted, the share is
    s = F / (T + C/75 + D).  Youth and elderly social dwellings are in T, not in F.
    With p the threshold, the levers (each alone) are the smallest whole numbers with
    s ≤ p:

    - convert x family dwellings to another tenure: (F − x) / Tot ≤ p, so
      x = ⌈F − p·Tot⌉;
    - demolish x: the same when demolished dwellings stay counted, else
      (F − x) / (Tot − x) ≤ p, so x = ⌈(F − p·Tot) / (1 − p)⌉;
    - build x non-social dwellings: F / (Tot + x) ≤ p, so x = ⌈F/p − Tot⌉;
      or 75·(F/p − Tot) m² of commercial floor space.
    """
    return _tenure_account(_buildings(district), threshold, count_demolished)


def _tenure_account(
    buildings: gpd.GeoDataFrame, threshold: float | None, count_demolished: bool | None
) -> TenureAccount:
    config = _config()["rule_168a"]
    p_float = float(config["threshold_share"] if threshold is None else threshold)
    if not 0 < p_float < 1:
        raise InputError(f"threshold must be a share between 0 and 1, got {threshold!r}")
    counting = bool(
        config["count_demolished_since_2010"] if count_demolished is None else count_demolished
    )
    per_dwelling_m2 = float(config["commercial_m2_per_dwelling"])
    inside = buildings[buildings["_inside"]]
    dwellings = inside["_dwellings"].to_numpy()
    tenure = _text(inside, "tenure").fillna(UNKNOWN)
    by_tenure = dict.fromkeys((*categories("tenures"), UNKNOWN), 0)
    for name, count in pd.Series(dwellings, index=tenure.to_numpy()).groupby(level=0).sum().items():
        by_tenure[str(name)] = round(float(count))
    unknown_ids = tuple(
        str(i)
        for i, has in zip(
            _ids(inside, "building_id"),
            (tenure == UNKNOWN).to_numpy() & (dwellings > 0),
            strict=True,
        )
        if has
    )
    if unknown_ids:
        shown = ", ".join(repr(i) for i in unknown_ids[:10])
        more = f" and {len(unknown_ids) - 10} more" if len(unknown_ids) > 10 else ""
        warnings.warn(
            f"{len(unknown_ids)} building(s) inside the boundary have dwellings but no tenure "
            f"({shown}{more}): their {by_tenure[UNKNOWN]} dwellings are counted as "
            "'unknown' (in the § 168 a total, not in the numerator); set their 'tenure'",
            MixWarning,
            stacklevel=3,
        )
    numerator_tenures = set(config["numerator_tenures"])
    family = sum(by_tenure[t] for t in numerator_tenures)
    total = sum(by_tenure.values())
    commercial = float(_numeric(inside, "commercial_m2").sum())
    demolished = round(float(_numeric(inside, "demolished_dwellings_since_2010").sum()))
    demolished_counted = demolished if counting else 0

    p = _fraction(p_float)
    f = Fraction(family)
    denominator = Fraction(total) + _fraction(commercial) / _fraction(per_dwelling_m2)
    denominator += demolished_counted
    share = float(f / denominator) if denominator > 0 else float("nan")
    meets = bool(denominator > 0 and f <= p * denominator)
    convert = _ceil_nonnegative(f - p * denominator)
    demolish = convert if counting else _ceil_nonnegative((f - p * denominator) / (1 - p))
    build_gap = f / p - denominator
    return TenureAccount(
        dwellings_by_tenure=by_tenure,
        total_dwellings=total,
        almen_family_dwellings=family,
        commercial_m2=commercial,
        commercial_dwelling_equivalents=commercial / per_dwelling_m2,
        demolished_counted=demolished_counted,
        denominator=float(denominator),
        share=share,
        threshold=p_float,
        meets_rule=meets,
        demolish_needed=demolish,
        convert_needed=convert,
        build_non_social_needed=_ceil_nonnegative(build_gap),
        build_commercial_m2_needed=float(max(Fraction(0), build_gap * _fraction(per_dwelling_m2))),
        unknown_tenure_buildings=unknown_ids,
        count_demolished=counting,
    )


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


def _floor_areas(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Gross floor area per building (m²) and a mask of the estimated ones.

    Missing ``floor_area_m2`` is estimated as footprint area × ``floors`` (1 if unknown).
    """
    if "floor_area_m2" in buildings.columns:
        values = pd.to_numeric(buildings["floor_area_m2"], errors="coerce").astype(float)
        given = np.asarray(values.to_numpy(dtype=float, na_value=np.nan))
    else:
        given = np.full(len(buildings), np.nan)
    estimated = np.isnan(given)
    if estimated.any():
        floors = _numeric(buildings, "floors", default=1.0)
        floors = np.where(floors > 0, floors, 1.0)
        footprint = shapely.area(buildings.geometry.to_numpy())
        given = np.where(estimated, footprint * floors, given)
    return given, estimated


def landuse_floor_areas(district: District) -> pd.DataFrame:
    """Return each building's gross floor area split over the land-use classes.

    Returns
    -------
    DataFrame
        One row per building (the buildings layer's index, ``building_id`` kept), a
        ``floor_m2_<class>`` column (m²) for each class of :func:`landuse_classes`, and
        ``floor_area_estimated`` (True where ``floor_area_m2`` was missing and taken as
        footprint × floors).

    Notes
    -----
    A building's floor area goes to the class its ``use`` is mapped to in
    ``standards/mix.yaml``.  Buildings of use ``residential`` or ``mixed`` put their
    ``commercial_m2`` into the commercial class (``retail``) and the rest into
    ``residential``.  Uses listed as excluded (parking, green, other...) count in no
    class.
    """
    buildings = district.buildings
    _check_buildings(buildings)
    return _class_matrix_frame(buildings)


def _class_matrix(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    spec = _config()["landuse"]
    classes = landuse_classes()
    mapping = _use_to_class()
    area, estimated = _floor_areas(buildings)
    use = _text(buildings, "use")
    matrix = np.zeros((len(buildings), len(classes)))
    position = use.map(mapping).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    mapped = ~np.isnan(position)
    matrix[np.flatnonzero(mapped), position[mapped].astype(np.int64)] = area[mapped]
    split = use.isin(spec["mixed_use_buildings"]).fillna(False).to_numpy(dtype=bool)
    if split.any():
        commercial = np.minimum(_numeric(buildings, "commercial_m2"), area)
        rows = np.flatnonzero(split)
        residential = classes.index(spec.get("residential_class", "residential"))
        matrix[rows, :] = 0.0
        matrix[rows, residential] = area[rows] - commercial[rows]
        matrix[rows, classes.index(spec["commercial_class"])] += commercial[rows]
    return matrix, estimated


def _class_matrix_frame(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    matrix, estimated = _class_matrix(buildings)
    frame = pd.DataFrame(
        matrix, index=buildings.index, columns=[f"floor_m2_{c}" for c in landuse_classes()]
    )
    if "building_id" in buildings.columns:
        frame.insert(0, "building_id", buildings["building_id"].to_numpy())
    frame["floor_area_estimated"] = estimated
    return frame


def _non_residential_share(class_areas: np.ndarray) -> Any:
    residential = landuse_classes().index("residential")
    total = class_areas.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 1.0 - class_areas[..., residential] / total
    return np.where(total > 0, share, np.nan)


@dataclass(frozen=True)
class LandUseSummary:
    """Land-use mix and jobs–housing balance inside a district's boundary.

    Attributes
    ----------
    floor_area_by_class_m2
        Gross floor area per land-use class, m².
    floor_area_m2
        Their sum, m².
    landuse_entropy
        Entropy index over the fixed classes (0 = single use, 1 = even mix).
    n_classes
        N of the entropy index.
    non_residential_floor_share
        Share of the classified floor area that is not residential.
    dwellings, jobs
        Dwellings and jobs inside the boundary.
    jobs_per_dwelling
        jobs / dwellings (NaN without dwellings).
    balanced_band
        The "balanced" jobs-per-dwelling band (0.75, 1.5).
    jobs_balanced
        Whether ``jobs_per_dwelling`` lies in the band.
    estimated_floor_area_buildings
        Buildings inside whose floor area was estimated (footprint × floors).
    """

    floor_area_by_class_m2: dict[str, float]
    floor_area_m2: float
    landuse_entropy: float
    n_classes: int
    non_residential_floor_share: float
    dwellings: int
    jobs: int
    jobs_per_dwelling: float
    balanced_band: tuple[float, float]
    jobs_balanced: bool
    estimated_floor_area_buildings: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = dict(vars(self))
        out["balanced_band"] = list(self.balanced_band)
        return out


def landuse_summary(district: District) -> LandUseSummary:
    """Return the land-use mix, non-residential floor share and jobs per dwelling.

    Counts the buildings whose representative point lies inside the boundary.  See
    :func:`landuse_floor_areas` for how floor area is split into classes and
    :func:`landuse_entropy` for the index.

    Notes
    -----
    Jobs–housing balance: jobs per dwelling in 0.75–1.5 is the usual "balanced" band
    (``standards/mix.yaml``); dwellings stand in for households.
    """
    return _landuse_summary(_buildings(district))


def _landuse_summary(buildings: gpd.GeoDataFrame) -> LandUseSummary:
    inside = buildings[buildings["_inside"]]
    matrix, estimated = _class_matrix(inside)
    areas = matrix.sum(axis=0)
    classes = landuse_classes()
    dwellings = round(float(inside["_dwellings"].sum()))
    jobs = round(float(_numeric(inside, "jobs").sum()))
    low, high = (float(v) for v in _config()["jobs_housing"]["balanced_band"])
    ratio = jobs / dwellings if dwellings else float("nan")
    return LandUseSummary(
        floor_area_by_class_m2={c: float(a) for c, a in zip(classes, areas, strict=True)},
        floor_area_m2=float(areas.sum()),
        landuse_entropy=float(landuse_entropy(areas, n_classes=len(classes))),
        n_classes=len(classes),
        non_residential_floor_share=float(_non_residential_share(areas)),
        dwellings=dwellings,
        jobs=jobs,
        jobs_per_dwelling=ratio,
        balanced_band=(low, high),
        jobs_balanced=bool(low <= ratio <= high),
        estimated_floor_area_buildings=int(estimated.sum()),
    )


def landuse_grid(district: District, *, cell_m: float | None = None) -> gpd.GeoDataFrame:
    """Return the land-use mix on a square grid covering the boundary.

    Parameters
    ----------
    district
        The district.  Every building (context included) is assigned to the cell
        holding its representative point.
    cell_m
        Cell side in metres (default ``landuse.grid_cell_m`` of ``standards/mix.yaml``);
        cells are aligned to multiples of it in the district CRS.

    Returns
    -------
    GeoDataFrame
        One square polygon per cell intersecting the boundary, with ``cell_id``
        (``"c<col>_<row>"``), ``floor_m2_<class>`` per land-use class and
        ``floor_area_m2`` (m²), ``landuse_entropy`` (NaN for a cell without classified
        floor area), ``non_residential_floor_share``, ``dwellings`` and ``jobs``.
    """
    return _landuse_grid(_buildings(district), district, cell_m)


def _landuse_grid(
    buildings: gpd.GeoDataFrame, district: District, cell_m: float | None
) -> gpd.GeoDataFrame:
    size = float(_config()["landuse"]["grid_cell_m"] if cell_m is None else cell_m)
    if not np.isfinite(size) or size <= 0:
        raise InputError(f"cell_m must be a positive length in metres, got {cell_m!r}")
    classes = landuse_classes()
    minx, miny, maxx, maxy = district.boundary.bounds
    x0, y0 = math.floor(minx / size) * size, math.floor(miny / size) * size
    ncol = max(1, math.ceil((maxx - x0) / size))
    nrow = max(1, math.ceil((maxy - y0) / size))
    col, row = np.meshgrid(np.arange(ncol), np.arange(nrow))
    col, row = col.ravel(), row.ravel()
    cells = shapely.box(
        x0 + col * size, y0 + row * size, x0 + (col + 1) * size, y0 + (row + 1) * size
    )
    matrix, _ = _class_matrix(buildings)
    xy = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.to_numpy()))
    per_cell = np.zeros((nrow * ncol, len(classes)))
    dwellings = np.zeros(nrow * ncol)
    jobs = np.zeros(nrow * ncol)
    if len(xy):
        bc = np.floor((xy[:, 0] - x0) / size).astype(np.int64)
        br = np.floor((xy[:, 1] - y0) / size).astype(np.int64)
        ok = (bc >= 0) & (bc < ncol) & (br >= 0) & (br < nrow)
        flat = br[ok] * ncol + bc[ok]
        np.add.at(per_cell, flat, matrix[ok])
        np.add.at(dwellings, flat, buildings["_dwellings"].to_numpy()[ok])
        np.add.at(jobs, flat, _numeric(buildings, "jobs")[ok])
    keep = shapely.area(shapely.intersection(cells, district.boundary)) > 0
    columns: dict[str, Any] = {
        "cell_id": [f"c{c}_{r}" for c, r in zip(col[keep], row[keep], strict=True)]
    }
    for i, name in enumerate(classes):
        columns[f"floor_m2_{name}"] = per_cell[keep, i]
    columns["floor_area_m2"] = per_cell[keep].sum(axis=1)
    columns["landuse_entropy"] = np.atleast_1d(
        landuse_entropy(per_cell[keep], n_classes=len(classes))
    )
    columns["non_residential_floor_share"] = _non_residential_share(per_cell[keep])
    columns["dwellings"] = dwellings[keep].round().astype(np.int64)
    columns["jobs"] = jobs[keep].round().astype(np.int64)
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(cells[keep], crs=district.crs))


# --------------------------------------------------------------------------- network


def _snap(graph: StreetGraph, frame: gpd.GeoDataFrame, max_access_m: float) -> SnappedPoints:
    return graph.snap(frame.geometry, max_distance_m=max_access_m)


def _subset(snapped: SnappedPoints, rows: np.ndarray) -> SnappedPoints:
    return SnappedPoints(
        *(getattr(snapped, name)[rows] for name in SnappedPoints.__dataclass_fields__)
    )


def _home_node_distances(graph: StreetGraph, homes: SnappedPoints, limit_m: float) -> np.ndarray:
    """``(len(homes), n_nodes)`` walking distance (m) from each snapped home to each node.

    One multi-source :func:`scipy.sparse.csgraph.dijkstra` call from the distinct end
    nodes of the homes' street pieces; beyond ``limit_m`` (network part) ``inf``.
    The access leg (``offset_m``) is not included.
    """
    count = len(homes)
    nodes, inverse = np.unique(np.concatenate([homes.u, homes.v]), return_inverse=True)
    table = graph.distances(nodes, limit_m=limit_m)
    length = graph.edge_length_m[homes.edge]
    via_u = table[inverse[:count]] + homes.along_m[:, None]
    via_v = table[inverse[count:]] + (length - homes.along_m)[:, None]
    return np.asarray(np.minimum(via_u, via_v))


def _pair_distances(
    graph: StreetGraph, node_dist: np.ndarray, homes: SnappedPoints, targets: SnappedPoints
) -> np.ndarray:
    """Door-to-door walking distances (m) from homes to targets, given home-to-node rows."""
    length = graph.edge_length_m[targets.edge]
    dist = node_dist[:, targets.u] + targets.along_m[None, :]
    np.minimum(dist, node_dist[:, targets.v] + (length - targets.along_m)[None, :], out=dist)
    # Home and target on the same street piece: also straight along it.
    pairs = pd.DataFrame({"h": np.arange(len(homes)), "edge": homes.edge}).merge(
        pd.DataFrame({"t": np.arange(len(targets)), "edge": targets.edge}), on="edge"
    )
    if len(pairs):
        h, t = pairs["h"].to_numpy(), pairs["t"].to_numpy()
        direct = np.abs(homes.along_m[h] - targets.along_m[t])
        dist[h, t] = np.minimum(dist[h, t], direct)
    dist += homes.offset_m[:, None]
    dist += targets.offset_m[None, :]
    return np.asarray(dist)


def _nearest_node_distances(graph: StreetGraph, sources: SnappedPoints) -> np.ndarray:
    """Distance (m) from every node to the nearest source point (its access leg included).

    One Dijkstra from a virtual node joined to both ends of every source's street
    piece with the cost of reaching the point from that end.
    """
    n = graph.n_nodes
    length = graph.edge_length_m[sources.edge]
    heads = np.concatenate([sources.u, sources.v])
    costs = np.concatenate(
        [sources.along_m + sources.offset_m, length - sources.along_m + sources.offset_m]
    )
    base = graph.csr.tocoo()
    rows = np.concatenate([base.row, np.full(len(heads), n)])
    cols = np.concatenate([base.col, heads])
    data = np.concatenate([base.data, costs])
    # Duplicate (virtual, node) entries would be summed by the sparse constructor:
    # keep only the cheapest cost per node.
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    matrix = sparse.csr_matrix((data[first], (rows[first], cols[first])), shape=(n + 1, n + 1))
    # csgraph counts explicit zeros of a sparse matrix as zero-length edges.
    result = csgraph.dijkstra(matrix, directed=True, indices=n)
    return np.asarray(result[:n])


@dataclass(frozen=True)
class _Homes:
    """Homes (buildings with dwellings) attached to the walk graph."""

    graph: StreetGraph
    frame: gpd.GeoDataFrame  # every home, building order; geometry = building polygon
    snapped: SnappedPoints
    max_access_m: float

    @property
    def valid(self) -> np.ndarray:
        return self.snapped.valid


def _prepare_homes(district: District, buildings: gpd.GeoDataFrame) -> _Homes:
    max_access = float(_config()["catchments"]["max_access_m"])
    graph = walk_graph(district)
    homes = buildings[buildings["_dwellings"] > 0]
    snapped = _snap(graph, homes, max_access)
    off = int((~snapped.valid).sum())
    if off:
        inside_off = int((~snapped.valid & homes["_inside"].to_numpy()).sum())
        warnings.warn(
            f"{off} home(s) ({inside_off} inside the boundary) lie farther than "
            f"{max_access:g} m from every walkable street: their walking catchments and "
            "distances are left empty (NaN); add the paths that serve them",
            MixWarning,
            stacklevel=3,
        )
    return _Homes(graph, homes, snapped, max_access)


def _frame_for(homes: _Homes) -> gpd.GeoDataFrame:
    frame = homes.frame
    columns = {
        "building_id": _text(frame, "building_id").to_numpy(),
        "estate": _text(frame, "estate").to_numpy(),
        "tenure": _text(frame, "tenure").fillna(UNKNOWN).to_numpy(),
        "dwellings": frame["_dwellings"].round().astype(np.int64).to_numpy(),
        "inside_boundary": frame["_inside"].to_numpy(dtype=bool),
        "access_m": homes.snapped.offset_m,
    }
    return gpd.GeoDataFrame(columns, geometry=frame.geometry.to_numpy(), crs=frame.crs)


def home_catchments(
    district: District,
    *,
    radii_m: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Return the mix of each home's walking catchments (network distance).

    Parameters
    ----------
    district
        The district.  Every building with dwellings is a home (context included); the
        catchment holds every building (context included) within the radius, the
        home's own building always.
    radii_m
        Catchment radii, metres of walking (default 400 and 800 m,
        ``standards/mix.yaml``).
    progress
        Called with (fraction done, message).

    Returns
    -------
    GeoDataFrame
        One row per home (building polygon geometry) with ``building_id``, ``estate``,
        ``tenure``, ``dwellings``, ``inside_boundary``, ``access_m`` (straight leg to
        the nearest walkable street, m) and, for each radius R (e.g. ``800m``):
        ``dwellings_R``; ``tenure_<index>_R`` and ``dwelling_type_<index>_R`` for the
        indices of :data:`DIVERSITY_INDICES` (known categories, dwelling-weighted);
        ``landuse_entropy_R`` (fixed classes, by floor area);
        ``non_residential_floor_share_R``; ``jobs_per_dwelling_R``.  NaN for homes
        off the network (farther than ``max_access_m`` from every walkable street).

    Raises
    ------
    NoStreetsError
        The district has no walkable street.

    Notes
    -----
    A building is in a home's catchment when the door-to-door walking distance
    (access leg + network + access leg, between representative points) is at most
    the radius (plus :data:`RADIUS_TOLERANCE_M`).  All homes share one multi-source
    Dijkstra (see the module notes).
    """
    radii = _radii(radii_m)
    buildings = _buildings(district)
    homes = _prepare_homes(district, buildings)
    return _catchments(homes, buildings, radii, progress)


def _catchments(
    homes: _Homes,
    buildings: gpd.GeoDataFrame,
    radii: tuple[float, ...],
    progress: Progress | None,
) -> gpd.GeoDataFrame:
    graph = homes.graph
    out = _frame_for(homes)
    weights = buildings["_dwellings"].to_numpy()
    tenure = _composition(buildings, "tenure", "tenures", weights)
    types = _composition(buildings, "dwelling_type", "dwelling_types", weights)
    landuse, _ = _class_matrix(buildings)
    jobs = _numeric(buildings, "jobs")
    blocks = [weights[:, None], tenure, types, landuse, jobs[:, None]]
    widths = np.cumsum([0] + [b.shape[1] for b in blocks])
    values = np.hstack(blocks)
    relevant = (values > 0).any(axis=1)
    target_rows = np.flatnonzero(relevant)
    targets_all = _snap(graph, buildings.iloc[target_rows], homes.max_access_m)
    on_net = targets_all.valid
    targets = _subset(targets_all, np.flatnonzero(on_net))
    target_values = values[target_rows[on_net]]
    # Position of each home's own building among the targets (always in its catchment).
    target_pos = np.full(len(buildings), -1, dtype=np.int64)
    target_pos[target_rows[on_net]] = np.arange(len(targets))
    home_pos = np.flatnonzero(buildings["_dwellings"].to_numpy() > 0)
    own = target_pos[home_pos]

    n_home = len(out)
    sums = {r: np.full((n_home, values.shape[1]), np.nan) for r in radii}
    valid_rows = np.flatnonzero(homes.valid)
    # One Dijkstra call for all homes unless its table would exceed _ROW_BUDGET entries;
    # the (homes x targets) distances are then formed in blocks of _PAIR_BUDGET entries.
    search_chunk = max(1, _ROW_BUDGET // max(2 * graph.n_nodes, 1))
    pair_chunk = max(1, _PAIR_BUDGET // max(len(targets), 1))
    limit = max(radii)
    done = 0
    for start in range(0, len(valid_rows), search_chunk):
        rows = valid_rows[start : start + search_chunk]
        node_dist = _home_node_distances(graph, _subset(homes.snapped, rows), limit)
        for first in range(0, len(rows), pair_chunk):
            part = np.arange(first, min(first + pair_chunk, len(rows)))
            block_rows = rows[part]
            snapped = _subset(homes.snapped, block_rows)
            dist = _pair_distances(graph, node_dist[part], snapped, targets)
            has_own = own[block_rows] >= 0
            dist[np.flatnonzero(has_own), own[block_rows][has_own]] = 0.0
            for r in radii:
                within = dist <= r + RADIUS_TOLERANCE_M
                sums[r][block_rows] = within.astype(float) @ target_values
            done += len(part)
            if progress is not None:
                progress(done / len(valid_rows), "walking catchments")
    columns: dict[str, Any] = {}
    for r in radii:
        label = _label(r)
        block = [sums[r][:, widths[i] : widths[i + 1]] for i in range(len(blocks))]
        dwellings, tenure_sum, type_sum, landuse_sum, jobs_sum = block
        columns[f"dwellings_{label}"] = dwellings[:, 0]
        columns.update(_diversity_columns("tenure", tenure_sum, f"_{label}"))
        columns.update(_diversity_columns("dwelling_type", type_sum, f"_{label}"))
        columns[f"landuse_entropy_{label}"] = np.atleast_1d(
            landuse_entropy(np.nan_to_num(landuse_sum), n_classes=landuse_sum.shape[1])
        )
        columns[f"non_residential_floor_share_{label}"] = _non_residential_share(landuse_sum)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"jobs_per_dwelling_{label}"] = jobs_sum[:, 0] / dwellings[:, 0]
    for name, column in columns.items():
        out[name] = column
    logger.debug("catchments of %d homes (%d on the network)", n_home, len(valid_rows))
    return out


def _access_kinds() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], float]:
    spec = _config()["access"]
    kinds = tuple(spec["poi_kinds"])
    needs = {name: tuple(k) for name, k in spec["daily_needs"]["needs"].items()}
    allowed = set(categories("poi_kinds"))
    unknown = (set(kinds) | {k for ks in needs.values() for k in ks}) - allowed
    if unknown:
        raise ValueError(f"standards/mix.yaml names unknown POI kinds {sorted(unknown)}")
    kinds = tuple(dict.fromkeys([*kinds, *(k for ks in needs.values() for k in ks)]))
    return kinds, needs, float(spec["daily_needs"]["radius_m"])


def poi_access(district: District, *, progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Return each home's walking distance to the nearest POI of each kind.

    Parameters
    ----------
    district
        The district; every building with dwellings is a home, every POI (context
        included) a destination.
    progress
        Called with (fraction done, message).

    Returns
    -------
    GeoDataFrame
        One row per home (as :func:`home_catchments`) with ``dist_<kind>_m`` for every
        POI kind of ``access.poi_kinds`` (door-to-door walking distance in metres to
        the nearest POI of that kind; NaN when none is reachable or the home is off
        the network), ``need_<need>_m`` for every daily need (nearest POI of any of
        its kinds), ``daily_needs_<R>`` (True when every need is within the daily-
        needs radius R, 800 m) and ``daily_needs_missing`` (the needs not met,
        comma-separated).

    Raises
    ------
    InputError
        A POI kind not in the POI kind list (naming the POI).
    NoStreetsError
        The district has no walkable street.

    Notes
    -----
    One Dijkstra per POI kind, from all POIs of the kind at once (see the module
    notes), so the cost does not grow with the number of homes.
    """
    _check_pois(district.pois)
    buildings = _buildings(district)
    homes = _prepare_homes(district, buildings)
    return _access(homes, district.pois, progress)


def _access(homes: _Homes, pois: gpd.GeoDataFrame, progress: Progress | None) -> gpd.GeoDataFrame:
    graph = homes.graph
    kinds, needs, radius = _access_kinds()
    out = _frame_for(homes)
    poi_snap = _snap(graph, pois, homes.max_access_m) if len(pois) else None
    if poi_snap is not None and not poi_snap.valid.all():
        off = [i for i, v in zip(_ids(pois, "poi_id"), poi_snap.valid, strict=True) if not v]
        warnings.warn(
            f"{len(off)} POI(s) lie farther than {homes.max_access_m:g} m from every walkable "
            f"street and are left out of the walking distances: {', '.join(off[:10])}"
            + (" ..." if len(off) > 10 else ""),
            MixWarning,
            stacklevel=3,
        )
    poi_kind = _text(pois, "kind").to_numpy()
    h = homes.snapped
    ok = h.valid
    length = graph.edge_length_m[np.where(ok, h.edge, 0)]
    distances: dict[str, np.ndarray] = {}
    for i, kind in enumerate(kinds):
        result = np.full(len(out), np.inf)
        if poi_snap is not None:
            rows = np.flatnonzero((poi_kind == kind) & poi_snap.valid)
            if len(rows):
                sources = _subset(poi_snap, rows)
                node = _nearest_node_distances(graph, sources)
                via = np.minimum(
                    h.along_m[ok] + node[h.u[ok]], length[ok] - h.along_m[ok] + node[h.v[ok]]
                )
                result[ok] = via
                _same_edge_nearest(result, h, sources)
                result[ok] += h.offset_m[ok]
        result[~ok] = np.inf
        distances[kind] = result
        if progress is not None:
            progress((i + 1) / len(kinds), f"nearest {kind}")
    for kind in kinds:
        out[f"dist_{kind}_m"] = np.where(np.isfinite(distances[kind]), distances[kind], np.nan)
    met = np.ones(len(out), dtype=bool)
    missing: list[list[str]] = [[] for _ in range(len(out))]
    for need, need_kinds in needs.items():
        nearest = np.minimum.reduce([distances[k] for k in need_kinds])
        out[f"need_{need}_m"] = np.where(np.isfinite(nearest), nearest, np.nan)
        fails = ~(nearest <= radius + RADIUS_TOLERANCE_M)
        met &= ~fails
        for row in np.flatnonzero(fails):
            missing[row].append(need)
    out[f"daily_needs_{_label(radius)}"] = met
    out["daily_needs_missing"] = [",".join(m) for m in missing]
    return out


def _same_edge_nearest(result: np.ndarray, homes: SnappedPoints, sources: SnappedPoints) -> None:
    """Lower ``result`` (network part, per home) where a source lies on the home's edge."""
    home_rows = np.flatnonzero(homes.valid)
    left = pd.DataFrame(
        {"row": home_rows, "edge": homes.edge[home_rows], "along": homes.along_m[home_rows]}
    )
    right = pd.DataFrame(
        {"edge": sources.edge, "s_along": sources.along_m, "s_off": sources.offset_m}
    )
    pairs = left.merge(right, on="edge")
    if pairs.empty:
        return
    pairs["direct"] = (pairs["along"] - pairs["s_along"]).abs() + pairs["s_off"]
    best = pairs.groupby("row")["direct"].min()
    rows = best.index.to_numpy()
    result[rows] = np.minimum(result[rows], best.to_numpy())


# --------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class MixResult:
    """Everything the mix module measures for one district (see :func:`analyse_mix`).

    Attributes
    ----------
    district_name, provenance
        The district's name and its one-line provenance statement.
    tenure
        § 168 a accounting and levers (inside the boundary).
    diversity
        District-level (inside the boundary) diversity of ``tenure`` and
        ``dwelling_type``: index name -> value.
    estates
        Per-estate table (:func:`estate_mix`).
    landuse
        Land-use mix and jobs inside the boundary (:func:`landuse_summary`).
    grid
        Land-use mix per grid cell (:func:`landuse_grid`).
    homes
        Per home: catchment mix and nearest POI distances (:func:`home_catchments`,
        :func:`poi_access`).
    catchments
        Dwelling-weighted means over the homes inside the boundary of the catchment
        metrics, per radius label (``"400m"``...).
    access
        Dwelling-weighted share of the dwellings inside the boundary with each daily
        need (and all of them) within the radius, and the median distance per need.
    indicators
        The seven indicators for the scorer.
    warnings
        Messages about data used only in part (unknown tenure, homes off the network).
    """

    district_name: str
    provenance: str
    tenure: TenureAccount
    diversity: dict[str, dict[str, float]]
    estates: gpd.GeoDataFrame
    landuse: LandUseSummary
    grid: gpd.GeoDataFrame
    homes: gpd.GeoDataFrame
    catchments: dict[str, dict[str, float]]
    access: dict[str, Any]
    indicators: dict[str, Indicator]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the result layers for a GeoPackage: ``mix_homes``, ``mix_estates``, ``mix_grid``.

        Plain columns only (no categoricals, the estate index as a column); district CRS.
        """
        return {
            "mix_homes": self.homes.reset_index(drop=True),
            "mix_estates": self.estates.reset_index(),
            "mix_grid": self.grid.reset_index(drop=True),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the summary figures as a JSON-ready dict (no per-home rows)."""
        estates = pd.DataFrame(self.estates.drop(columns="geometry"))
        return _json_ready(
            {
                "district": self.district_name,
                "provenance": self.provenance,
                "tenure": self.tenure.to_dict(),
                "diversity": self.diversity,
                "estates": estates.reset_index().to_dict(orient="records"),
                "landuse": self.landuse.to_dict(),
                "catchments": self.catchments,
                "access": self.access,
                "indicators": {k: v.to_dict() for k, v in self.indicators.items()},
                "warnings": list(self.warnings),
            }
        )


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


def analyse_mix(
    district: District,
    *,
    radii_m: Sequence[float] | None = None,
    threshold: float | None = None,
    count_demolished: bool | None = None,
    cell_m: float | None = None,
    progress: Progress | None = None,
) -> MixResult:
    """Measure a district's housing and land-use mix and walking access.

    Parameters
    ----------
    district
        The district (EPSG:25832 or another projected CRS; metres).
    radii_m
        Catchment radii in metres (default 400, 800).  The indicator
        ``landuse_entropy_800m`` always uses 800 m, which is added if missing.
    threshold, count_demolished
        § 168 a options, see :func:`tenure_accounting`.
    cell_m
        Land-use grid cell size in metres, see :func:`landuse_grid`.
    progress
        Called with (fraction done, message).

    Returns
    -------
    MixResult

    Raises
    ------
    InputError
        Negative floor areas or dwellings, unknown tenures/uses, POI kinds not in the
        list — each naming the feature; ``NoStreetsError`` without walkable streets.

    Warns
    -----
    MixWarning
        Dwellings without tenure (counted as unknown), homes off the walk network.
    """
    radii = tuple(sorted({*_radii(radii_m), 800.0}))

    def step(start: float, end: float) -> Progress | None:
        if progress is None:
            return None
        report = progress
        return lambda fraction, message: report(start + (end - start) * fraction, message)

    _check_pois(district.pois)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MixWarning)
        buildings = _buildings(district)
        tenure = _tenure_account(buildings, threshold, count_demolished)
        if progress is not None:
            progress(0.05, "tenure and land use")
        estates = _estate_mix(buildings, district.crs)
        landuse = _landuse_summary(buildings)
        grid = _landuse_grid(buildings, district, cell_m)
        homes = _prepare_homes(district, buildings)
        catchment_frame = _catchments(homes, buildings, radii, step(0.1, 0.7))
        access_frame = _access(homes, district.pois, step(0.7, 1.0))
    messages = tuple(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, MixWarning))
    )
    for w in caught:
        if issubclass(w.category, MixWarning):
            warnings.warn(w.message, MixWarning, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    shared = [c for c in access_frame.columns if c in catchment_frame.columns]
    home_frame = catchment_frame.join(access_frame.drop(columns=shared))

    inside = home_frame["inside_boundary"].to_numpy(dtype=bool)
    weights = np.where(inside, home_frame["dwellings"].to_numpy(dtype=float), 0.0)
    catchments = {
        _label(r): {
            name: _weighted_mean(home_frame[f"{name}_{_label(r)}"].to_numpy(dtype=float), weights)
            for name in (
                "dwellings",
                *(f"tenure_{i}" for i in DIVERSITY_INDICES),
                *(f"dwelling_type_{i}" for i in DIVERSITY_INDICES),
                "landuse_entropy",
                "non_residential_floor_share",
                "jobs_per_dwelling",
            )
        }
        for r in radii
    }
    _, needs, radius = _access_kinds()
    total_weight = weights.sum()
    needs_column = f"daily_needs_{_label(radius)}"

    def share_within(mask: np.ndarray) -> float:
        return float(weights[mask].sum() / total_weight) if total_weight > 0 else float("nan")

    access: dict[str, Any] = {
        "radius_m": radius,
        "dwellings_inside": int(total_weight),
        "share_all_needs": share_within(home_frame[needs_column].to_numpy(dtype=bool)),
        "share_by_need": {
            need: share_within(
                home_frame[f"need_{need}_m"].to_numpy(dtype=float) <= radius + RADIUS_TOLERANCE_M
            )
            for need in needs
        },
        "median_distance_m": {
            need: _weighted_median(home_frame[f"need_{need}_m"].to_numpy(dtype=float), weights)
            for need in needs
        },
    }
    inside_homes = _inside_diversity(buildings)
    result_indicators = _indicators(tenure, inside_homes, landuse, catchments, access)
    return MixResult(
        district_name=district.name,
        provenance=district.provenance.statement(),
        tenure=tenure,
        diversity=inside_homes,
        estates=estates,
        landuse=landuse,
        grid=grid,
        homes=home_frame,
        catchments=catchments,
        access=access,
        indicators=result_indicators,
        warnings=messages,
    )


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


def _inside_diversity(buildings: gpd.GeoDataFrame) -> dict[str, dict[str, float]]:
    homes = buildings[buildings["_inside"] & (buildings["_dwellings"] > 0)]
    weights = homes["_dwellings"].to_numpy()
    return {
        "tenure": diversity_indices(_composition(homes, "tenure", "tenures", weights).sum(axis=0)),
        "dwelling_type": diversity_indices(
            _composition(homes, "dwelling_type", "dwelling_types", weights).sum(axis=0)
        ),
    }


def _indicators(
    tenure: TenureAccount,
    diversity: dict[str, dict[str, float]],
    landuse: LandUseSummary,
    catchments: dict[str, dict[str, float]],
    access: dict[str, Any],
) -> dict[str, Indicator]:
    housing, use = "mixed housing", "mixed use and jobs"
    low, high = landuse.balanced_band
    return {
        "almen_family_share": Indicator(
            tenure.share,
            "share",
            False,
            housing,
            "Social family dwellings, share of all dwellings (§ 168 a counting)",
        ),
        "meets_40pct_rule": Indicator(
            float(tenure.meets_rule) if tenure.denominator > 0 else float("nan"),
            "yes=1/no=0",
            True,
            housing,
            f"Meets the § 168 a rule (social family dwellings ≤ {tenure.threshold:.0%})",
        ),
        "tenure_diversity_hill1": Indicator(
            diversity["tenure"]["hill1"],
            "effective number of tenures",
            True,
            housing,
            "Tenure diversity of the district's dwellings (Hill number q=1, exp Shannon)",
        ),
        "landuse_entropy_800m": Indicator(
            catchments["800m"]["landuse_entropy"],
            "index 0-1",
            True,
            use,
            "Land-use mix within 800 m walk of home (entropy, dwelling-weighted mean)",
        ),
        "jobs_per_dwelling": Indicator(
            landuse.jobs_per_dwelling,
            "jobs per dwelling",
            True,
            use,
            f"Jobs per dwelling (balanced band {low:g}–{high:g})",
        ),
        "non_residential_floor_share": Indicator(
            landuse.non_residential_floor_share,
            "share",
            True,
            use,
            "Non-residential share of the floor area",
        ),
        "dwellings_with_daily_needs_800m_share": Indicator(
            access["share_all_needs"],
            "share",
            True,
            use,
            f"Dwellings with every daily need within {access['radius_m']:g} m walk",
        ),
    }


def indicators(district: District, **options: Any) -> dict[str, Indicator]:
    """Return the mix indicators of a district (see :func:`analyse_mix` for options).

    ``almen_family_share``, ``meets_40pct_rule``, ``tenure_diversity_hill1`` (theme
    "mixed housing"); ``landuse_entropy_800m``, ``jobs_per_dwelling``,
    ``non_residential_floor_share``, ``dwellings_with_daily_needs_800m_share`` (theme
    "mixed use and jobs").
    """
    return analyse_mix(district, **options).indicators


# --------------------------------------------------------------------------- the spec


def _compute(district: District) -> ModuleResult:
    """The module's pipeline: tenure mix, § 168 a, land-use mix and daily-needs access."""
    result = analyse_mix(district)
    return ModuleResult(result.indicators, extras={"mix": result})


SPEC = AnalysisSpec(
    name="mix",
    themes=("mixed housing", "mixed use and jobs"),
    reads=("buildings", "pois", "streets"),
    compute=_compute,
    summary="Tenure mix and the § 168 a 40 % rule, land-use mix, jobs, daily-needs access.",
)
"""The housing- and land-use-mix analysis (see :mod:`vollsmose_gis.analysis`)."""
