"""Parameters, warnings, shared helpers and the closed-form safety formulas of the calming model."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import load

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Limits = Literal["posted", "class_default"]
THEME = "safety and security"

_GAP_M = 1.0e4  # gap between continuous streets in the global coordinate (see _envelope)
_BEARING_M = 10.0  # length of road used for the direction of a street end at a node


class CalmingWarning(UserWarning):
    """Something in the input was ignored or an indicator is undefined (see message)."""


def _params() -> dict[str, Any]:
    params: dict[str, Any] = load("calming")
    return params


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


def _ms(kmh: Any) -> Any:
    return np.asarray(kmh, dtype=float) / 3.6


def crash_ratio(
    speed_after_kmh: Any, speed_before_kmh: Any, *, severity: str = "injury_crashes"
) -> np.ndarray:
    """Return the power-model ratio of crashes after / before a change of speed.

    ``(v_after / v_before) ** k`` with the urban exponent ``k`` of ``severity``
    (``power_model.exponents`` in ``standards/calming.yaml``: Elvik 2009, urban and
    residential roads: fatal crashes 2.6, serious-injury crashes 1.5, injury crashes
    1.2).  Nilsson's power model assumes the same traffic and a proportional shift of
    the speed distribution.

    Parameters
    ----------
    speed_after_kmh, speed_before_kmh
        Speeds (scalars or arrays), km/h, > 0.
    severity
        ``"injury_crashes"``, ``"serious_injury_crashes"`` or ``"fatal_crashes"``.

    Returns
    -------
    ndarray
        Ratio (1 = no change); NaN where a speed is missing or not positive.
    """
    exponents = _params()["power_model"]["exponents"]
    if severity not in exponents:
        raise InputError(f"unknown severity {severity!r}; known: {sorted(exponents)}")
    after = np.asarray(speed_after_kmh, dtype=float)
    before = np.asarray(speed_before_kmh, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((after > 0) & (before > 0), after / before, np.nan)
    return np.asarray(ratio ** float(exponents[severity]))


def pedestrian_fatality_risk(speed_kmh: Any) -> np.ndarray:
    """Return the probability that a pedestrian hit at ``speed_kmh`` dies.

    Logistic curve of Rosén & Sander (2009), "Pedestrian fatality risk as a function
    of car impact speed", Accident Analysis and Prevention 41(3):536–542:
    ``P = 1 / (1 + exp(6.9 − 0.090 · v))`` (1.5 % at 30, 8.3 % at 50 km/h).  Applied
    to modelled travel speeds it is an upper bound: drivers brake before an impact.

    Parameters
    ----------
    speed_kmh
        Impact speed(s), km/h.

    Returns
    -------
    ndarray
        Probability 0–1.
    """
    p = _params()["pedestrian_fatality"]
    v = np.asarray(speed_kmh, dtype=float)
    return np.asarray(1.0 / (1.0 + np.exp(float(p["intercept"]) - float(p["slope_per_kmh"]) * v)))


def device_costs(devices: gpd.GeoDataFrame | pd.DataFrame) -> pd.Series:
    """Return the cost of each device in DKK (``unit_cost_dkk`` by ``kind``).

    Parameters
    ----------
    devices
        Rows with a ``kind`` column (a calming layer or :attr:`CalmingPlan.devices`).

    Returns
    -------
    Series
        ``cost_dkk`` on the index of ``devices``.

    Raises
    ------
    InputError
        A kind has no unit cost.
    """
    costs = _params()["unit_cost_dkk"]
    kinds = devices["kind"].astype(str) if len(devices) else pd.Series([], dtype=str)
    unknown = sorted(set(kinds) - set(costs))
    if unknown:
        raise InputError(
            f"no unit cost for device kind(s) {unknown}; known kinds: {sorted(costs)} "
            "(standards/calming.yaml unit_cost_dkk)"
        )
    return pd.Series(
        kinds.map(lambda k: float(costs[k])).to_numpy(dtype=float),
        index=devices.index,
        name="cost_dkk",
    )


# --------------------------------------------------------------------------- helpers


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _bool_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool))


def _check_target(target_kmh: float) -> float:
    try:
        value = float(target_kmh)
    except (TypeError, ValueError):
        raise InputError(f"target_kmh must be a number of km/h > 0, got {target_kmh!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"target_kmh must be a finite speed > 0 km/h, got {target_kmh!r}")
    return value


def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.asarray((angle + np.pi) % (2.0 * np.pi) - np.pi)
