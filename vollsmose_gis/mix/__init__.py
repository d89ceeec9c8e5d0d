"""Housing and land-use mix: the § 168 a 40 % rule, tenure and use diversity, walking access.

Two of the municipality's goals for Vollsmose are "a more mixed resident composition"
and "from single-use to multi-use"; where Danish law applies, almenboligloven § 168 a
(the 40 % rule) is the test every plan for the area must pass.  The package measures
all three:

- :mod:`~vollsmose_gis.mix.tenure` — :func:`tenure_accounting`: dwellings by tenure in
  the rule area, the § 168 a share of social family dwellings with its counting rules
  (erhvervsareal from use × floor area, 75 m² a dwelling; dwellings demolished after
  2010), the three levers (demolish, convert, build non-social) each on its own, and
  :func:`rule_readings`, the figures under each reading (institutions counted or not;
  rule area or study boundary);
- :mod:`~vollsmose_gis.mix.diversity` — :func:`diversity_indices`,
  :func:`hill_number`: Shannon, Gini–Simpson and Hill numbers (q = 0, 1, 2) of tenures
  and dwelling types, per estate (:func:`estate_mix`) and per district;
- :mod:`~vollsmose_gis.mix.landuse` — :func:`landuse_entropy`,
  :func:`landuse_summary`, :func:`landuse_grid`: the land-use mix (entropy index over
  fixed classes, by floor area), the non-residential floor share and the jobs–housing
  ratio;
- :mod:`~vollsmose_gis.mix.access` — :func:`home_catchments`, :func:`poi_access`: per
  home, the mix of the 400/800 m walking catchment and the network distance to the
  nearest destination of each kind (POIs, and green land-use polygons from their
  edges and entrances, :func:`green_space_access_points`);
- :func:`analyse_mix` — everything at once (:class:`MixResult`), :func:`indicators`
  for the scorer and ``SPEC`` for :mod:`vollsmose_gis.analysis`.

All parameters (threshold, 75 m² rule, erhvervsareal mapping, land-use classes, radii,
daily needs, green space) live in ``standards/mix.yaml``, its ``uncertain:`` section
gives the ranges of the uncertain ones; the indicators' formulas are in
``standards/indicators/mix.yaml``.

Indicators
----------
=====================================  ==============================================
key                                    formula (see the catalogue for the full text)
=====================================  ==============================================
almen_family_share                     F / (T + E + Dm) in the rule area (§ 168 a);
                                       F / T in the boundary where § 168 a does not
                                       apply
meets_40pct_rule                       1 if F ≤ 0.40 · (T + E + Dm), else 0; NaN "not
                                       applicable" without the rule dk_168a
tenure_diversity_hill1                 exp(−Σ pᵢ ln pᵢ) over tenures, dwellings
landuse_entropy_800m                   Σₕ wₕ · LUM(800 m walk of h) / Σₕ wₕ
jobs_per_dwelling                      jobs / dwellings in the boundary
non_residential_floor_share            1 − A_res / A over the classified floor area
dwellings_with_daily_needs_800m_share  Σ dwellings with every essential need ≤ 800 m
                                       / Σ dwellings
=====================================  ==============================================

Housing indicators are NaN, with a reason, when the tenure of more than 5 % of the
dwellings is unknown (every OpenStreetMap import): unknown is not good.

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
distance table would exceed about 130 MB); the nearest destination of a kind comes from
one Dijkstra per kind from a virtual node joined to every destination of that kind with
its access cost.  Nothing searches once per home.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.indicators import Indicator, indicator
from vollsmose_gis.mix._common import (
    RADIUS_TOLERANCE_M,
    UNKNOWN,
    MixWarning,
    Progress,
    _buildings,
    _check_pois,
    _config,
    _json_ready,
    _label,
    _radii,
    _weighted_mean,
    _weighted_median,
)
from vollsmose_gis.mix.access import (
    _access,
    _access_kinds,
    _catchments,
    _prepare_homes,
    essential_needs,
    green_space_access_points,
    home_catchments,
    poi_access,
)
from vollsmose_gis.mix.diversity import (
    DIVERSITY_INDICES,
    _composition,
    _estate_mix,
    diversity_indices,
    estate_mix,
    hill_number,
    landuse_entropy,
)
from vollsmose_gis.mix.landuse import (
    LandUseSummary,
    _landuse_grid,
    _landuse_summary,
    landuse_classes,
    landuse_floor_areas,
    landuse_grid,
    landuse_summary,
)
from vollsmose_gis.mix.tenure import (
    READINGS_COLUMNS,
    TenureAccount,
    _rule_readings,
    _tenure_account,
    _tenure_counts,
    erhvervsareal,
    rule_readings,
    tenure_accounting,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "DIVERSITY_INDICES",
    "RADIUS_TOLERANCE_M",
    "READINGS_COLUMNS",
    "SPEC",
    "UNKNOWN",
    "LandUseSummary",
    "MixResult",
    "MixWarning",
    "TenureAccount",
    "analyse_mix",
    "diversity_indices",
    "erhvervsareal",
    "essential_needs",
    "estate_mix",
    "green_space_access_points",
    "hill_number",
    "home_catchments",
    "indicators",
    "landuse_classes",
    "landuse_entropy",
    "landuse_floor_areas",
    "landuse_grid",
    "landuse_summary",
    "poi_access",
    "rule_readings",
    "tenure_accounting",
    "uncertain_parameters",
]


# --------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class MixResult:
    """Everything the mix package measures for one district (see :func:`analyse_mix`).

    Attributes
    ----------
    district_name, provenance
        The district's name and its one-line provenance statement.
    tenure
        § 168 a accounting and levers in the rule area (the study boundary when the
        district sets none).
    rule_applies
        Whether § 168 a applies to the district (its settings list ``dk_168a``); when
        not, ``tenure`` is shown for information and ``meets_40pct_rule`` is NaN.
    readings
        The § 168 a figures under each reading (:func:`rule_readings`): institutions
        counted or not, in the rule area and (when it differs) the study boundary.
    diversity
        District-level (inside the boundary) diversity of ``tenure`` and
        ``dwelling_type``: index name -> value.
    estates
        Per-estate table (:func:`estate_mix`).
    landuse
        Land-use mix and jobs inside the boundary (:func:`landuse_summary`): the
        entropy of all the boundary's floor area pooled.
    grid
        Land-use mix per grid cell (:func:`landuse_grid`).
    homes
        Per home: catchment mix and nearest destination distances
        (:func:`home_catchments`, :func:`poi_access`).
    catchments
        Dwelling-weighted means over the homes inside the boundary of the catchment
        metrics, per radius label (``"400m"``...): the entropy here is the mean of each
        home's own 800 m walk (the indicator), not the boundary's pooled entropy.
    access
        Dwelling-weighted share of the dwellings inside the boundary with each need
        (and every essential need) within the radius, and the median distance per need.
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
    rule_applies: bool = False
    readings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=READINGS_COLUMNS))

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
                "rule_168a_applies": self.rule_applies,
                "tenure": self.tenure.to_dict(),
                "rule_readings": self.readings.to_dict(orient="records"),
                "diversity": self.diversity,
                "estates": estates.reset_index().to_dict(orient="records"),
                "landuse": self.landuse.to_dict(),
                # two measures, not one: the boundary's floor area pooled, and the mean
                # over dwellings of each home's 800 m walk (the indicator)
                "landuse_entropy_measures": {
                    "study_boundary_pooled": self.landuse.landuse_entropy,
                    "walk_800m_mean_over_dwellings": self.catchments.get("800m", {}).get(
                        "landuse_entropy", float("nan")
                    ),
                },
                "catchments": self.catchments,
                "access": self.access,
                "indicators": {k: v.to_dict() for k, v in self.indicators.items()},
                "warnings": list(self.warnings),
            }
        )

    def summary_lines(self) -> list[str]:
        """Plain-text lines for a terminal or a report: § 168 a, land use, daily needs.

        Each figure says what it is measured over, so that the boundary's pooled
        land-use entropy is not mistaken for the 800 m indicator.
        """
        t, lu, acc = self.tenure, self.landuse, self.access
        area = "study boundary" if t.rule_area_is_boundary else "§ 168 a rule area"
        lines = [f"{self.district_name}: {t.total_dwellings:,} dwellings in the {area}"]
        lines += _rule_lines(t, self.readings, self.rule_applies)
        lines.append(
            f"land use in the study boundary (all floor area pooled): entropy "
            f"{lu.landuse_entropy:.3f} (N={lu.n_classes}), non-residential floor "
            f"{lu.non_residential_floor_share:.1%}, {lu.jobs_per_dwelling:.2f} jobs per "
            f"dwelling (balanced {lu.balanced_band[0]:g}–{lu.balanced_band[1]:g})"
        )
        walk = self.catchments.get("800m", {}).get("landuse_entropy", float("nan"))
        lines.append(
            f"land use within an 800 m walk of home (mean over dwellings; the indicator "
            f"landuse_entropy_800m): entropy {walk:.3f}"
        )
        needs = ", ".join(f"{k} {v:.0%}" for k, v in acc["share_by_need"].items())
        essential = "+".join(acc.get("essential_needs", ()))
        lines.append(
            f"within {acc['radius_m']:g} m walk: {needs}; every essential need "
            f"({essential}) {acc['share_all_needs']:.0%}"
        )
        return lines


def _rule_lines(t: TenureAccount, readings: pd.DataFrame, applies: bool) -> list[str]:
    """The § 168 a lines: the verdict and levers where the rule applies, else one line."""
    area = "study boundary" if t.rule_area_is_boundary else "rule area"
    if not applies:
        if not t.total_dwellings:
            homes = f"no dwellings recorded in the {area}"
        else:
            share = t.almen_family_dwellings / t.total_dwellings
            homes = (
                f"social family dwellings {t.almen_family_dwellings:,} of "
                f"{t.total_dwellings:,} ({share:.1%}) in the {area}"
            )
        return [
            "the Danish 40 % rule (§ 168 a) is not applicable here — the district's "
            f"settings do not list it ('dk_168a'); {homes}"
        ]
    if not t.denominator > 0:
        return [f"§ 168 a: no dwellings in the {area}"]
    verdict = "meets" if t.meets_rule else "does NOT meet"
    if t.unknown_dwellings and not t.verdict_determined:
        verdict = "cannot be judged against (tenure unknown for some dwellings)"
    lines = [
        f"§ 168 a share {t.share:.1%} in the {area} (= {t.almen_family_dwellings:,} / "
        f"({t.total_dwellings:,} dwellings + {t.commercial_dwelling_equivalents:,.1f} for "
        f"{t.erhvervsareal_m2:,.0f} m² erhvervsareal + {t.demolished_counted:,} demolished "
        f"after 2010)) {verdict} the {t.threshold:.0%} rule; each lever alone: demolish "
        f"{t.demolish_needed:,}, convert {t.convert_needed:,}, build "
        f"{t.build_non_social_needed:,} non-social dwellings (or "
        f"{t.build_commercial_m2_needed:,.0f} m² erhvervsareal)"
    ]
    low, high = t.demolition_need_min, t.demolition_need_max
    if low != high:
        lines.append(
            f"{low:,}–{high:,} dwellings must go depending on whether public institutions "
            f"count as erhvervsareal ({t.institutional_m2:,.0f} m² of them in the {area})"
        )
    else:
        lines.append(
            f"{low:,} dwellings must go whether or not public institutions count as "
            f"erhvervsareal ({t.institutional_m2:,.0f} m² of them in the {area})"
        )
    for row in readings.itertuples():
        institutions = "institutions counted" if row.institutions_count else "without institutions"
        lines.append(
            f"  {row.area}, {institutions}: {row.erhvervsareal_m2:,.0f} m² erhvervsareal, "
            f"share {row.share:.1%}, demolish {row.demolish_needed:,}"
        )
    return lines


def uncertain_parameters() -> dict[str, dict[str, Any]]:
    """Return the uncertain parameters of ``standards/mix.yaml`` with their ranges.

    Returns
    -------
    dict
        Dotted parameter path (``"rule_168a.whole_units"``) -> ``default`` and either
        ``range`` (``[low, high]``, in the parameter's unit) or ``values`` (the
        readings to compare), and ``source``.  A sensitivity or many-runs analysis
        samples these.
    """
    return {str(k): dict(v) for k, v in (_config().get("uncertain") or {}).items()}


def _rule_applies(district: District) -> bool:
    settings = getattr(district, "settings", None)
    rule = str(_config()["rule_168a"]["rule_id"])
    return bool(settings is not None and settings.applies(rule))


def analyse_mix(
    district: District,
    *,
    radii_m: Sequence[float] | None = None,
    threshold: float | None = None,
    count_demolished: bool | None = None,
    institutions_count: bool | None = None,
    whole_units: bool | None = None,
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
    threshold, count_demolished, institutions_count, whole_units
        § 168 a options, see :func:`tenure_accounting` (defaults from
        ``standards/mix.yaml``: 0.40, count demolished, institutions not counted,
        whole 75 m² units).
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
    separate_area = district.settings.rule_area is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MixWarning)
        buildings = _buildings(district)
        tenure = _tenure_account(
            buildings,
            threshold,
            count_demolished,
            institutions_count=institutions_count,
            whole_units=whole_units,
            rule_area_is_boundary=not separate_area,
        )
        readings = _rule_readings(
            buildings, threshold, count_demolished, whole_units, separate_area=separate_area
        )
        if progress is not None:
            progress(0.05, "tenure and land use")
        estates = _estate_mix(buildings, district.crs)
        landuse = _landuse_summary(buildings)
        grid = _landuse_grid(buildings, district, cell_m)
        homes = _prepare_homes(district, buildings)
        catchment_frame = _catchments(homes, buildings, radii, step(0.1, 0.7))
        green = green_space_access_points(district)
        access_frame = _access(homes, district.pois, step(0.7, 1.0), green)
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
    access = _access_summary(home_frame, weights)
    inside_homes = _inside_diversity(buildings)
    applies = _rule_applies(district)
    result_indicators = _indicators(
        tenure,
        inside_homes,
        landuse,
        catchments,
        access,
        applies=applies,
        boundary_counts=_boundary_tenure(buildings),
        jobs_known=_jobs_known(buildings),
    )
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
        rule_applies=applies,
        readings=readings,
    )


def _access_summary(home_frame: gpd.GeoDataFrame, weights: np.ndarray) -> dict[str, Any]:
    _, needs, radius = _access_kinds()
    total_weight = weights.sum()
    needs_column = f"daily_needs_{_label(radius)}"

    def share_within(mask: np.ndarray) -> float:
        return float(weights[mask].sum() / total_weight) if total_weight > 0 else float("nan")

    return {
        "radius_m": radius,
        "dwellings_inside": int(total_weight),
        "essential_needs": list(essential_needs()),
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


def _inside_diversity(buildings: gpd.GeoDataFrame) -> dict[str, dict[str, float]]:
    homes = buildings[buildings["_inside"] & (buildings["_dwellings"] > 0)]
    weights = homes["_dwellings"].to_numpy()
    return {
        "tenure": diversity_indices(_composition(homes, "tenure", "tenures", weights).sum(axis=0)),
        "dwelling_type": diversity_indices(
            _composition(homes, "dwelling_type", "dwelling_types", weights).sum(axis=0)
        ),
    }


def _boundary_tenure(buildings: gpd.GeoDataFrame) -> dict[str, int]:
    counts, _ = _tenure_counts(buildings[buildings["_inside"].to_numpy(dtype=bool)])
    return counts


def _jobs_known(buildings: gpd.GeoDataFrame) -> bool:
    """True when some building in the boundary states its jobs (a missing value is unknown)."""
    inside = buildings[buildings["_inside"].to_numpy(dtype=bool)]
    return "jobs" in inside.columns and bool(inside["jobs"].notna().any())


def _unknown_reason(unknown: int, total: int) -> str:
    """Why a housing indicator is not measured, or "" when the tenure is known enough."""
    if not total:
        return "no dwellings in the area"
    limit = float(_config()["rule_168a"]["max_unknown_tenure_share"])
    if unknown / total > limit:
        return (
            f"tenure unknown for {unknown:,} of {total:,} dwellings ({unknown / total:.0%}, "
            f"more than {limit:.0%}): set the buildings' 'tenure' (OpenStreetMap has none)"
        )
    return ""


def _housing_indicators(
    tenure: TenureAccount,
    diversity: dict[str, dict[str, float]],
    *,
    applies: bool,
    boundary_counts: dict[str, int],
) -> dict[str, Indicator]:
    nan = float("nan")
    rule = f"the § 168 a rule (social family dwellings ≤ {tenure.threshold:.0%})"
    if applies:
        share_reason = _unknown_reason(tenure.unknown_dwellings, tenure.total_dwellings)
        share = indicator(
            "almen_family_share", nan if share_reason else tenure.share, reason=share_reason
        )
        meets_reason = share_reason
        if not meets_reason and tenure.unknown_dwellings and not tenure.verdict_determined:
            meets_reason = (
                f"undetermined: the verdict depends on the tenure of {tenure.unknown_dwellings:,} "
                "dwellings with unknown tenure; set the buildings' 'tenure'"
            )
        meets = indicator(
            "meets_40pct_rule",
            nan if meets_reason else float(tenure.meets_rule),
            label=f"Meets {rule}",
            reason=meets_reason,
        )
    else:
        total = sum(boundary_counts.values())
        family = boundary_counts.get("almen_family", 0)
        share_reason = _unknown_reason(boundary_counts.get(UNKNOWN, 0), total)
        share = indicator(
            "almen_family_share",
            nan if share_reason else family / total,
            label="Social family dwellings, share of all dwellings (plain count; "
            "§ 168 a does not apply)",
            reason=share_reason,
        )
        meets = indicator(
            "meets_40pct_rule",
            nan,
            label=f"Meets {rule}",
            reason="not applicable: almenboligloven § 168 a does not apply to this district "
            "(its settings do not list the rule 'dk_168a')",
        )
    total = sum(boundary_counts.values())
    diversity_reason = _unknown_reason(boundary_counts.get(UNKNOWN, 0), total)
    hill1 = diversity["tenure"]["hill1"]
    tenure_diversity = indicator(
        "tenure_diversity_hill1", nan if diversity_reason else hill1, reason=diversity_reason
    )
    return {
        "almen_family_share": share,
        "meets_40pct_rule": meets,
        "tenure_diversity_hill1": tenure_diversity,
    }


def _indicators(
    tenure: TenureAccount,
    diversity: dict[str, dict[str, float]],
    landuse: LandUseSummary,
    catchments: dict[str, dict[str, float]],
    access: dict[str, Any],
    *,
    applies: bool = False,
    boundary_counts: dict[str, int] | None = None,
    jobs_known: bool = True,
) -> dict[str, Indicator]:
    nan = float("nan")
    low, high = landuse.balanced_band
    counts = boundary_counts if boundary_counts is not None else tenure.dwellings_by_tenure
    out = _housing_indicators(tenure, diversity, applies=applies, boundary_counts=counts)
    entropy = catchments["800m"]["landuse_entropy"]
    out["landuse_entropy_800m"] = indicator(
        "landuse_entropy_800m",
        entropy,
        reason="" if math.isfinite(entropy) else "no home inside the boundary on the walk network",
    )
    jobs_reason = ""
    if not landuse.dwellings:
        jobs_reason = "no dwellings inside the boundary"
    elif not jobs_known:
        jobs_reason = "jobs unknown: no building inside the boundary states its jobs"
    out["jobs_per_dwelling"] = indicator(
        "jobs_per_dwelling",
        nan if jobs_reason else landuse.jobs_per_dwelling,
        label=f"Jobs per dwelling (balanced band {low:g}–{high:g})",
        reason=jobs_reason,
    )
    share = landuse.non_residential_floor_share
    out["non_residential_floor_share"] = indicator(
        "non_residential_floor_share",
        share,
        reason="" if math.isfinite(share) else "no classified floor area inside the boundary",
    )
    needs = access["share_all_needs"]
    out["dwellings_with_daily_needs_800m_share"] = indicator(
        "dwellings_with_daily_needs_800m_share",
        needs,
        label=f"Dwellings with every daily need within {access['radius_m']:g} m walk",
        reason="" if math.isfinite(needs) else "no dwellings inside the boundary",
    )
    return out


def indicators(district: District, **options: Any) -> dict[str, Indicator]:
    """Return the mix indicators of a district (see :func:`analyse_mix` for options).

    ``almen_family_share``, ``meets_40pct_rule``, ``tenure_diversity_hill1`` (theme
    "mixed housing"); ``landuse_entropy_800m``, ``jobs_per_dwelling``,
    ``non_residential_floor_share``, ``dwellings_with_daily_needs_800m_share`` (theme
    "mixed use and jobs").  Formulas: ``standards/indicators/mix.yaml``.
    """
    return analyse_mix(district, **options).indicators


# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    institutions_count: bool | None = None,
    whole_units: bool | None = None,
    count_demolished: bool | None = None,
    threshold: float | None = None,
    radii_m: Sequence[float] | None = None,
    cell_m: float | None = None,
    progress: Progress | None = None,
) -> ModuleResult:
    """The package's pipeline: tenure mix, § 168 a, land-use mix and daily-needs access."""
    result = analyse_mix(
        district,
        institutions_count=institutions_count,
        whole_units=whole_units,
        count_demolished=count_demolished,
        threshold=threshold,
        radii_m=radii_m,
        cell_m=cell_m,
        progress=progress,
    )
    return ModuleResult(
        result.indicators,
        layers=result.layers(),
        warnings=list(result.warnings),
        extras={"mix": result, "rule_readings": result.readings},
    )


SPEC = AnalysisSpec(
    name="mix",
    themes=("mixed housing", "mixed use and jobs"),
    reads=("buildings", "pois", "streets", "landuse"),
    compute=_compute,
    parameters={
        "institutions_count": None,
        "whole_units": None,
        "count_demolished": None,
        "threshold": None,
        "radii_m": None,
        "cell_m": None,
        "progress": None,
    },
    summary="Tenure mix and the § 168 a 40 % rule, land-use mix, jobs, daily-needs access.",
)
"""The housing- and land-use-mix analysis (see :mod:`vollsmose_gis.analysis`).

Parameters (``None``: the default of ``standards/mix.yaml``): ``institutions_count``
(count public institutions as erhvervsareal), ``whole_units`` (whole 75 m² units),
``count_demolished`` (dwellings demolished after 2010 in the total), ``threshold``
(0.40).
"""
