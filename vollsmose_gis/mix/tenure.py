"""Tenure accounting and almenboligloven § 168 a (the 40 % rule).

Dwellings by tenure in the rule's area, the § 168 a share of social family dwellings
with its counting rules (erhvervsareal, demolished dwellings), the three levers
(demolish, convert, build non-social), each computed on its own, under both readings
of whether public institutions count as erhvervsareal.

The law (almenboligloven § 168 a, stk. 1, LBK nr. 1203 af 3. august 2020) says:
"Ved opgørelse af det samlede antal boliger i det pågældende boligområde kan medtælles
boliger, som er nedrevet efter 2010, og som ikke er erstattet af andre almene
familieboliger.  Erhvervsareal indgår i opgørelsen af antal boliger, således at hvert
75-kvadratmeter erhvervsareal opgøres som en bolig."  The parameters and the mapping of
building uses onto erhvervsareal are in ``standards/mix.yaml`` (``rule_168a``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from vollsmose_gis._errors import InputError
from vollsmose_gis.mix._common import (
    UNKNOWN,
    MixWarning,
    _buildings,
    _config,
    _ids,
    _numeric,
    _text,
)
from vollsmose_gis.mix.landuse import _floor_areas
from vollsmose_gis.standards import categories

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "READINGS_COLUMNS",
    "TenureAccount",
    "erhvervsareal",
    "rule_readings",
    "tenure_accounting",
]

DEMOLISHED_COLUMNS: tuple[str, ...] = (
    "demolished_dwellings_after_2010",
    "demolished_dwellings_since_2010",
)
"""Building columns holding the dwellings demolished after 2010 (first found is used)."""

READINGS_COLUMNS: tuple[str, ...] = (
    "area",
    "institutions_count",
    "erhvervsareal_m2",
    "dwelling_equivalents",
    "dwellings",
    "almen_family",
    "denominator",
    "share",
    "meets_rule",
    "demolish_needed",
    "convert_needed",
    "build_non_social_needed",
)
"""Columns of :func:`rule_readings`."""


@dataclass(frozen=True)
class TenureAccount:
    """Tenure accounting of the dwellings in the § 168 a area (almenboligloven § 168 a).

    Attributes
    ----------
    dwellings_by_tenure
        Dwellings per tenure category, plus ``"unknown"`` for buildings with dwellings
        but no tenure.
    total_dwellings
        All dwellings in the area (every tenure, unknown included).
    almen_family_dwellings
        F, the numerator: dwellings of the numerator tenures (``almen_family``).
    erhvervsareal_m2
        A, the erhvervsareal counted under this reading, m² of gross floor area (see
        :func:`erhvervsareal`).
    institutional_m2
        Floor area of public institutions in the area, m² (part of A only when
        ``institutions_count``).
    commercial_dwelling_equivalents
        E, the erhvervsareal as dwellings: ⌊A / 75⌋ with ``whole_units``, else A / 75.
    demolished_counted
        Dm, dwellings demolished after 2010 (not replaced by social family housing)
        counted in the total (0 when ``count_demolished`` is off).
    denominator
        D = total_dwellings + E + Dm.
    share
        F / D (NaN when D is 0).
    threshold
        p, the limit (0.40).
    meets_rule
        F ≤ p·D (compared exactly, in rational arithmetic).
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
        Alternatively, erhvervsareal to build, m² (whole 75 m² units with
        ``whole_units``).
    share_min, share_max
        F / D with and without public institutions counted as erhvervsareal.
    demolition_need_min, demolition_need_max
        ``demolish_needed`` with and without public institutions counted: "X–Y
        dwellings must go depending on whether institutions count".
    unknown_dwellings
        Dwellings with no tenure (in the total, not in the numerator).
    unknown_tenure_buildings
        Ids of the buildings with dwellings but no tenure.
    count_demolished
        Whether demolished dwellings were counted.
    institutions_count
        Whether public institutions' floor area was counted as erhvervsareal.
    whole_units
        Whether only whole 75 m² units of erhvervsareal were counted.
    rule_area_is_boundary
        True when the area is the study boundary (no rule area set).
    """

    dwellings_by_tenure: dict[str, int]
    total_dwellings: int
    almen_family_dwellings: int
    erhvervsareal_m2: float
    institutional_m2: float
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
    share_min: float
    share_max: float
    demolition_need_min: int
    demolition_need_max: int
    unknown_dwellings: int = 0
    unknown_tenure_buildings: tuple[str, ...] = ()
    count_demolished: bool = True
    institutions_count: bool = False
    whole_units: bool = True
    rule_area_is_boundary: bool = True

    @property
    def commercial_m2(self) -> float:
        """The erhvervsareal counted, m² (the former name of :attr:`erhvervsareal_m2`)."""
        return self.erhvervsareal_m2

    @property
    def unknown_share(self) -> float:
        """Share of the dwellings with no tenure (NaN without dwellings)."""
        if not self.total_dwellings:
            return float("nan")
        return self.unknown_dwellings / self.total_dwellings

    @property
    def verdict_determined(self) -> bool:
        """True when the verdict holds whatever the tenure of the unknown dwellings.

        The rule is met (or not) both when every unknown dwelling is a social family
        dwelling and when none is.
        """
        if not self.denominator > 0:
            return False
        p, d = _fraction(self.threshold), _fraction(self.denominator)
        low = Fraction(self.almen_family_dwellings) <= p * d
        high = Fraction(self.almen_family_dwellings + self.unknown_dwellings) <= p * d
        return low == high

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


def _rule_config() -> dict[str, Any]:
    config: dict[str, Any] = _config()["rule_168a"]
    spec = config["erhvervsareal"]
    listed = [*spec["uses"], *spec["institution_uses"], *spec["other_uses"]]
    known = set(categories("uses"))
    if len(listed) != len(set(listed)) or set(listed) != known:
        raise ValueError(
            "standards/mix.yaml rule_168a.erhvervsareal must list every building use once "
            f"under uses, institution_uses or other_uses; uses are {sorted(known)}"
        )
    return config


def _erhvervsareal_parts(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per building: erhvervsareal that always counts, and institutional floor area (m²)."""
    spec = _rule_config()["erhvervsareal"]
    use = _text(buildings, "use")
    area, _ = _floor_areas(buildings)
    commercial = _numeric(buildings, "commercial_m2")
    business = use.isin(spec["uses"]).fillna(False).to_numpy(dtype=bool)
    institution = use.isin(spec["institution_uses"]).fillna(False).to_numpy(dtype=bool)
    always = np.where(business, np.maximum(area, commercial), commercial)
    institutional = np.where(institution, np.maximum(area - commercial, 0.0), 0.0)
    return always, institutional


def erhvervsareal(district: District, *, institutions_count: bool | None = None) -> pd.DataFrame:
    """Return each building's erhvervsareal as § 168 a counts it.

    Parameters
    ----------
    district
        The district (every building, context included).
    institutions_count
        Count public institutions' floor area (school, day-care, health, culture,
        sport) as erhvervsareal; default ``rule_168a.erhvervsareal.institutions_count``
        of ``standards/mix.yaml`` (false).

    Returns
    -------
    DataFrame
        One row per building (the layer's index; ``building_id`` kept) with ``use``,
        ``erhvervsareal_m2`` (m², under this reading), ``institutional_m2`` (m² of
        public institutions, counted or not) and ``in_rule_area`` (the building's
        representative point lies in the district's rule area).

    Notes
    -----
    The mapping (``standards/mix.yaml``): a building whose use is an erhverv use
    (retail, office, industry) counts its whole gross floor area; a public institution
    counts its floor area only when ``institutions_count``; any other building
    counts its ``commercial_m2``.  A missing floor area is footprint × floors.
    """
    buildings = _buildings(district)
    counting = _institutions_count(institutions_count)
    always, institutional = _erhvervsareal_parts(buildings)
    frame = pd.DataFrame(
        {
            "use": _text(buildings, "use").to_numpy(),
            "erhvervsareal_m2": always + (institutional if counting else 0.0),
            "institutional_m2": institutional,
            "in_rule_area": buildings["_in_rule"].to_numpy(dtype=bool),
        },
        index=buildings.index,
    )
    if "building_id" in buildings.columns:
        frame.insert(0, "building_id", buildings["building_id"].to_numpy())
    return frame


def _institutions_count(value: bool | None) -> bool:
    if value is None:
        return bool(_rule_config()["erhvervsareal"]["institutions_count"])
    return bool(value)


def tenure_accounting(
    district: District,
    *,
    threshold: float | None = None,
    count_demolished: bool | None = None,
    institutions_count: bool | None = None,
    whole_units: bool | None = None,
) -> TenureAccount:
    """Count dwellings by tenure in the rule area and apply the § 168 a 40 % rule.

    Parameters
    ----------
    district
        The district; buildings whose representative point lies in its rule area
        (:attr:`~vollsmose_gis.district.District.rule_area`: the settings' rule area,
        else the study boundary) are counted.
    threshold
        p, the maximum share of social family dwellings (default 0.40,
        ``standards/mix.yaml``).
    count_demolished
        Count the dwellings demolished after 2010 (``demolished_dwellings_since_2010``)
        in the total (default: yes; the law says they *may* be counted).
    institutions_count
        Count public institutions' floor area as erhvervsareal (default: no).  Both
        readings are always computed: ``share_min/max`` and
        ``demolition_need_min/max``.
    whole_units
        Count whole 75 m² units of erhvervsareal only, ⌊A / 75⌋ (default: yes), else
        A / 75 unrounded.

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
    With F the social family dwellings, T all dwellings, A the erhvervsareal (m²),
    E = ⌊A / 75⌋ (or A / 75) and Dm the demolished dwellings counted, the share is
    s = F / (T + E + Dm); youth and elderly social dwellings are in T, not in F.  With
    D = T + E + Dm and p the threshold, the levers (each alone) are the smallest whole
    numbers with s ≤ p:

    - convert x family dwellings to another tenure: (F − x) / D ≤ p, so x = ⌈F − p·D⌉;
    - demolish x: the same when demolished dwellings stay counted, else
      (F − x) / (D − x) ≤ p, so x = ⌈(F − p·D) / (1 − p)⌉;
    - build x non-social dwellings: F / (D + x) ≤ p, so x = ⌈F/p − D⌉; or erhvervsareal
      m² = 75·(F/p − D) (unrounded) or 75·⌈F/p − T − Dm⌉ − A (whole units).
    """
    buildings = _buildings(district)
    return _tenure_account(
        buildings,
        threshold,
        count_demolished,
        institutions_count=institutions_count,
        whole_units=whole_units,
        rule_area_is_boundary=district.settings.rule_area is None,
    )


@dataclass(frozen=True)
class _Counts:
    """The § 168 a numbers of one reading."""

    erhvervsareal_m2: float
    equivalents: Fraction
    denominator: Fraction
    share: float
    meets: bool
    convert: int
    demolish: int
    build: int
    build_m2: Fraction


def _count(
    family: int,
    total: int,
    demolished: int,
    area_m2: float,
    p: Fraction,
    per_m2: Fraction,
    whole_units: bool,
    counting: bool,
) -> _Counts:
    f = Fraction(family)
    a = _fraction(area_m2)
    equivalents = Fraction(math.floor(a / per_m2)) if whole_units else a / per_m2
    base = Fraction(total) + demolished
    denominator = base + equivalents
    convert = _ceil_nonnegative(f - p * denominator)
    demolish = convert if counting else _ceil_nonnegative((f - p * denominator) / (1 - p))
    gap = f / p - denominator
    if whole_units:
        units = Fraction(_ceil_nonnegative(f / p - base))
        build_m2 = max(Fraction(0), units * per_m2 - a) if gap > 0 else Fraction(0)
    else:
        build_m2 = max(Fraction(0), gap * per_m2)
    return _Counts(
        erhvervsareal_m2=float(area_m2),
        equivalents=equivalents,
        denominator=denominator,
        share=float(f / denominator) if denominator > 0 else float("nan"),
        meets=bool(denominator > 0 and f <= p * denominator),
        convert=convert,
        demolish=demolish,
        build=_ceil_nonnegative(gap),
        build_m2=build_m2,
    )


def _tenure_counts(frame: gpd.GeoDataFrame) -> tuple[dict[str, int], tuple[str, ...]]:
    """Dwellings per tenure (``unknown`` included) and the ids of buildings without tenure."""
    dwellings = frame["_dwellings"].to_numpy()
    tenure = _text(frame, "tenure").fillna(UNKNOWN)
    by_tenure = dict.fromkeys((*categories("tenures"), UNKNOWN), 0)
    for name, count in pd.Series(dwellings, index=tenure.to_numpy()).groupby(level=0).sum().items():
        by_tenure[str(name)] = round(float(count))
    unknown = (tenure == UNKNOWN).to_numpy() & (dwellings > 0)
    ids = tuple(str(i) for i, has in zip(_ids(frame, "building_id"), unknown, strict=True) if has)
    return by_tenure, ids


def _demolished(frame: gpd.GeoDataFrame) -> int:
    for column in DEMOLISHED_COLUMNS:
        if column in frame.columns:
            return round(float(_numeric(frame, column).sum()))
    return 0


def _tenure_account(
    buildings: gpd.GeoDataFrame,
    threshold: float | None,
    count_demolished: bool | None,
    *,
    institutions_count: bool | None = None,
    whole_units: bool | None = None,
    rule_area_is_boundary: bool = True,
    area_column: str = "_in_rule",
) -> TenureAccount:
    config = _rule_config()
    p_float = float(config["threshold_share"] if threshold is None else threshold)
    if not 0 < p_float < 1:
        raise InputError(
            f"§ 168 a threshold must be a share between 0 and 1 (0.40 is 40 %), got {threshold!r}"
        )
    counting = bool(
        config["count_demolished_since_2010"] if count_demolished is None else count_demolished
    )
    units = bool(config["whole_units"] if whole_units is None else whole_units)
    institutions = _institutions_count(institutions_count)
    area = buildings[buildings[area_column].to_numpy(dtype=bool)]
    by_tenure, unknown_ids = _tenure_counts(area)
    if unknown_ids:
        shown = ", ".join(repr(i) for i in unknown_ids[:10])
        more = f" and {len(unknown_ids) - 10} more" if len(unknown_ids) > 10 else ""
        warnings.warn(
            f"{len(unknown_ids)} building(s) in the § 168 a area have dwellings but no tenure "
            f"({shown}{more}): their {by_tenure[UNKNOWN]} dwellings are counted as "
            "'unknown' (in the § 168 a total, not in the numerator); set their 'tenure'",
            MixWarning,
            stacklevel=3,
        )
    family = sum(by_tenure[t] for t in config["numerator_tenures"])
    total = sum(by_tenure.values())
    demolished = _demolished(area) if counting else 0
    always, institutional = _erhvervsareal_parts(area)
    p = _fraction(p_float)
    per_m2 = _fraction(float(config["commercial_m2_per_dwelling"]))
    without = _count(family, total, demolished, float(always.sum()), p, per_m2, units, counting)
    with_inst = _count(
        family,
        total,
        demolished,
        float(always.sum() + institutional.sum()),
        p,
        per_m2,
        units,
        counting,
    )
    chosen = with_inst if institutions else without
    return TenureAccount(
        dwellings_by_tenure=by_tenure,
        total_dwellings=total,
        almen_family_dwellings=family,
        erhvervsareal_m2=chosen.erhvervsareal_m2,
        institutional_m2=float(institutional.sum()),
        commercial_dwelling_equivalents=float(chosen.equivalents),
        demolished_counted=demolished,
        denominator=float(chosen.denominator),
        share=chosen.share,
        threshold=p_float,
        meets_rule=chosen.meets,
        demolish_needed=chosen.demolish,
        convert_needed=chosen.convert,
        build_non_social_needed=chosen.build,
        build_commercial_m2_needed=float(chosen.build_m2),
        share_min=with_inst.share,
        share_max=without.share,
        demolition_need_min=with_inst.demolish,
        demolition_need_max=without.demolish,
        unknown_dwellings=by_tenure[UNKNOWN],
        unknown_tenure_buildings=unknown_ids,
        count_demolished=counting,
        institutions_count=institutions,
        whole_units=units,
        rule_area_is_boundary=rule_area_is_boundary,
    )


def rule_readings(
    district: District,
    *,
    threshold: float | None = None,
    count_demolished: bool | None = None,
    whole_units: bool | None = None,
) -> pd.DataFrame:
    """Return the § 168 a figures under each reading: area × institutions counted or not.

    The two uncertain points of the rule for a council report: whether public
    institutions are erhvervsareal, and which area the rule applies to (the legal
    boligområde of § 61 a, or the study boundary).  Rows for the study boundary are
    given only when the district's rule area differs from it.

    Parameters
    ----------
    district
        The district.
    threshold, count_demolished, whole_units
        As in :func:`tenure_accounting`.

    Returns
    -------
    DataFrame
        Columns :data:`READINGS_COLUMNS`: ``area`` (``"rule area"`` or
        ``"study boundary"``), ``institutions_count``, ``erhvervsareal_m2`` (m²),
        ``dwelling_equivalents``, ``dwellings`` (T), ``almen_family`` (F),
        ``denominator`` (D), ``share``, ``meets_rule`` and the three levers (dwellings).
    """
    buildings = _buildings(district)
    return _rule_readings(
        buildings,
        threshold,
        count_demolished,
        whole_units,
        separate_area=district.settings.rule_area is not None,
    )


def _rule_readings(
    buildings: gpd.GeoDataFrame,
    threshold: float | None,
    count_demolished: bool | None,
    whole_units: bool | None,
    *,
    separate_area: bool,
) -> pd.DataFrame:
    areas = [("rule area", "_in_rule")] if separate_area else [("study boundary", "_inside")]
    if separate_area:
        areas.append(("study boundary", "_inside"))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixWarning)  # said once by the main account
        for label, column in areas:
            for institutions in (False, True):
                t = _tenure_account(
                    buildings,
                    threshold,
                    count_demolished,
                    institutions_count=institutions,
                    whole_units=whole_units,
                    area_column=column,
                )
                rows.append(
                    {
                        "area": label,
                        "institutions_count": institutions,
                        "erhvervsareal_m2": t.erhvervsareal_m2,
                        "dwelling_equivalents": t.commercial_dwelling_equivalents,
                        "dwellings": t.total_dwellings,
                        "almen_family": t.almen_family_dwellings,
                        "denominator": t.denominator,
                        "share": t.share,
                        "meets_rule": t.meets_rule,
                        "demolish_needed": t.demolish_needed,
                        "convert_needed": t.convert_needed,
                        "build_non_social_needed": t.build_non_social_needed,
                    }
                )
    return pd.DataFrame(rows, columns=list(READINGS_COLUMNS))
