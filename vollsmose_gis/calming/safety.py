"""The safety effect of modelled speeds (power model) and the calming indicators."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from vollsmose_gis._errors import InputError
from vollsmose_gis.calming._base import (
    THEME,
    CalmingWarning,
    Limits,
    _check_target,
    _params,
    crash_ratio,
)
from vollsmose_gis.calming.speeds import operating_speeds
from vollsmose_gis.indicators import Indicator

if TYPE_CHECKING:
    from vollsmose_gis.district import District


def safety_effect(
    district: District,
    *,
    target_kmh: float = 30.0,
    streets: Iterable[str] | None = None,
    baseline: Limits | None = None,
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

    Returns
    -------
    GeoDataFrame
        :func:`operating_speeds` columns plus ``baseline_v85_mean_kmh``,
        ``injury_crash_ratio``, ``serious_injury_crash_ratio`` and
        ``fatal_crash_ratio`` (power model, modelled / baseline; below 1 = fewer
        expected crashes), ``injury_crash_change`` (ratio − 1).
    """
    target_kmh = _check_target(target_kmh)
    base = _baseline(baseline)
    speeds = operating_speeds(district, target_kmh=target_kmh, streets=streets)
    reference = operating_speeds(district, limits=base, with_devices=False)
    before = reference["v85_mean_kmh"].to_numpy()
    after = speeds["v85_mean_kmh"].to_numpy()
    speeds["baseline_v85_mean_kmh"] = before
    for severity in ("injury_crashes", "serious_injury_crashes", "fatal_crashes"):
        column = severity.replace("_crashes", "_crash_ratio")
        speeds[column] = crash_ratio(after, before, severity=severity)
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
        Baseline of ``injury_crash_index`` (see :func:`safety_effect`).

    Returns
    -------
    dict
        ``share_length_within_target`` (share of target-street length with modelled
        V85 ≤ target), ``mean_v85_kmh`` (length-weighted mean V85),
        ``injury_crash_index`` (100 × length-weighted mean of the power-model injury
        crash ratio against the baseline; 100 = the streets at their class's default
        limit without calming, lower is safer), ``school_zone_share_within_target``
        (the same share within ``school_zone_radius_m`` of schools and day-care; NaN if
        no target street is near one) and ``mean_pedestrian_fatality_risk``
        (length-weighted risk for a pedestrian hit at the modelled speed).  NaN with a
        :class:`CalmingWarning` when there is no target street.
    """
    speeds = safety_effect(district, target_kmh=target_kmh, streets=streets, baseline=baseline)
    scope = speeds[speeds["target_street"]]
    length = float(scope["length_m"].sum())
    nan = float("nan")
    if length <= 0:
        warnings.warn(
            "no target street (residential streets inside the boundary, or the streets "
            "given): the calming indicators are NaN",
            CalmingWarning,
            stacklevel=2,
        )
    weights = scope["length_m"].to_numpy()

    def mean(column: str) -> float:
        return float(np.sum(scope[column].to_numpy() * weights) / length) if length > 0 else nan

    zone = float(scope["school_zone_m"].sum())
    school_share = float(scope["school_zone_within_target_m"].sum()) / zone if zone > 0 else nan
    share = float(scope["within_target_m"].sum()) / length if length > 0 else nan
    return {
        "share_length_within_target": Indicator(
            share, "share", True, THEME, f"Street length with modelled V85 ≤ {target_kmh:g} km/h"
        ),
        "mean_v85_kmh": Indicator(
            mean("v85_mean_kmh"), "km/h", False, THEME, "Mean modelled V85 on local streets"
        ),
        "injury_crash_index": Indicator(
            100.0 * mean("injury_crash_ratio"),
            "index",
            False,
            THEME,
            "Expected injury crashes (power model; 100 = uncalmed streets at default limits)",
        ),
        "school_zone_share_within_target": Indicator(
            school_share,
            "share",
            True,
            THEME,
            f"Street length near schools and day-care with V85 ≤ {target_kmh:g} km/h",
        ),
        "mean_pedestrian_fatality_risk": Indicator(
            mean("pedestrian_fatality_risk"),
            "probability",
            False,
            THEME,
            "Fatality risk of a pedestrian hit at the modelled speed",
        ),
    }
