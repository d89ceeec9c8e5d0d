"""The safety effect of modelled speeds (power model) and the calming indicators."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from vollsmose_gis._errors import InputError
from vollsmose_gis.calming._base import (
    CalmingWarning,
    Limits,
    ParamsLike,
    _check_target,
    _params,
    crash_ratio,
    using_params,
)
from vollsmose_gis.calming.speeds import operating_speeds
from vollsmose_gis.indicators import Indicator, indicator

if TYPE_CHECKING:
    from vollsmose_gis.district import District

_SEVERITIES = ("injury_crashes", "serious_injury_crashes", "fatal_crashes")


def safety_effect(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    baseline: Limits | None = None,
    params: ParamsLike = None,
) -> gpd.GeoDataFrame:
    """Model speeds and their safety effect per segment against a baseline.

    Parameters
    ----------
    district
        The district.
    target_kmh
        Target V85, km/h (for the within-target lengths).
    streets
        Target streets (see :func:`operating_speeds`).
    baseline
        ``"class_default"`` (default, ``power_model.default_baseline``): the same
        streets modelled with their class's default limit and no calming devices;
        ``"posted"``: the posted limits without devices.
    params
        Model parameters (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    GeoDataFrame
        :func:`operating_speeds` columns plus ``baseline_v85_mean_kmh`` (km/h),
        ``injury_crash_ratio``, ``serious_injury_crash_ratio`` and
        ``fatal_crash_ratio`` (power model with the urban exponents, modelled /
        baseline; below 1 = fewer expected crashes), ``injury_crash_ratio_low_speed``
        (the same with the lower low-speed exponent, the other end of the range) and
        ``injury_crash_change`` (urban ratio − 1).
    """
    target_kmh = _check_target(target_kmh)
    with using_params(params):
        base = _baseline(baseline)
        speeds = operating_speeds(district, target_kmh=target_kmh, streets=streets)
        reference = operating_speeds(district, limits=base, with_devices=False)
        before = reference["v85_mean_kmh"].to_numpy()
        after = speeds["v85_mean_kmh"].to_numpy()
        speeds["baseline_v85_mean_kmh"] = before
        for severity in _SEVERITIES:
            column = severity.replace("_crashes", "_crash_ratio")
            speeds[column] = crash_ratio(after, before, severity=severity)
        speeds["injury_crash_ratio_low_speed"] = crash_ratio(
            after, before, severity="injury_crashes", exponents="low_speed"
        )
        speeds["injury_crash_change"] = speeds["injury_crash_ratio"] - 1.0
    return speeds


def _baseline(baseline: str | None) -> Limits:
    value = baseline or _params()["power_model"]["default_baseline"]
    if value not in ("posted", "class_default"):
        raise InputError(f"baseline must be 'class_default' or 'posted', got {baseline!r}")
    return "posted" if value == "posted" else "class_default"


# --------------------------------------------------------------------------- indicators


def indicators(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    baseline: Limits | None = None,
    params: ParamsLike = None,
) -> dict[str, Indicator]:
    """Return the traffic-speed indicators of a district (theme "safety and security").

    Parameters
    ----------
    district
        The district (devices of its calming layer included).
    target_kmh
        Target V85, km/h.
    streets
        Target streets (default: residential/living streets inside the boundary; see
        :func:`operating_speeds`).  All indicators are length-weighted over them.
    baseline
        Baseline of the crash indices (see :func:`safety_effect`).
    params
        Model parameters (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    dict
        Indicator id -> :class:`~vollsmose_gis.indicators.Indicator`, built from the
        catalogue ``standards/indicators/calming.yaml`` (formulas there):
        ``share_length_within_target``, ``mean_v85_kmh``, ``injury_crash_index``
        (urban exponent), ``injury_crash_index_low`` and ``injury_crash_index_high``
        (the ends of the range spanned by the urban and the low-speed exponents),
        ``school_zone_share_within_target`` (NaN if no target street is near a school
        or day-care) and ``mean_pedestrian_fatality_risk``.  NaN with a
        :class:`CalmingWarning` when there is no target street.
    """
    speeds = safety_effect(
        district, target_kmh=target_kmh, streets=streets, baseline=baseline, params=params
    )
    scope = speeds[speeds["target_street"]]
    length = float(scope["length_m"].sum())
    nan = float("nan")
    none = ""
    if length <= 0:
        none = "no target street (residential streets inside the boundary, or the streets given)"
        warnings.warn(f"{none}: the calming indicators are NaN", CalmingWarning, stacklevel=2)
    weights = scope["length_m"].to_numpy()

    def mean(column: str) -> float:
        return float(np.sum(scope[column].to_numpy() * weights) / length) if length > 0 else nan

    zone = float(scope["school_zone_m"].sum())
    school_share = float(scope["school_zone_within_target_m"].sum()) / zone if zone > 0 else nan
    share = float(scope["within_target_m"].sum()) / length if length > 0 else nan
    urban = 100.0 * mean("injury_crash_ratio")
    low_speed = 100.0 * mean("injury_crash_ratio_low_speed")
    ends = (min(urban, low_speed), max(urban, low_speed)) if length > 0 else (nan, nan)
    no_school = "no target street within the school-zone radius of a school or day-care"
    return {
        "share_length_within_target": indicator(
            "share_length_within_target",
            share,
            label=f"Street length with modelled V85 ≤ {target_kmh:g} km/h",
            reason=none,
        ),
        "mean_v85_kmh": indicator("mean_v85_kmh", mean("v85_mean_kmh"), reason=none),
        "injury_crash_index": indicator("injury_crash_index", urban, reason=none),
        "injury_crash_index_low": indicator("injury_crash_index_low", ends[0], reason=none),
        "injury_crash_index_high": indicator("injury_crash_index_high", ends[1], reason=none),
        "school_zone_share_within_target": indicator(
            "school_zone_share_within_target",
            school_share,
            label=f"Street length near schools and day-care with V85 ≤ {target_kmh:g} km/h",
            reason=none or (no_school if zone <= 0 else ""),
        ),
        "mean_pedestrian_fatality_risk": indicator(
            "mean_pedestrian_fatality_risk", mean("pedestrian_fatality_risk"), reason=none
        ),
    }
