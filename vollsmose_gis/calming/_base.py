"""Parameters, warnings, shared helpers and the closed-form safety formulas of the calming model."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import deep_merge, load, override_key

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Limits = Literal["posted", "class_default"]
THEME = "safety and security"

_GAP_M = 1.0e4  # gap between continuous streets in the global coordinate (see _envelope)
_BEARING_M = 10.0  # length of road used for the direction of a street end at a node


class CalmingWarning(UserWarning):
    """Something in the input was ignored or an indicator is undefined (see message)."""


ParamsLike = str | os.PathLike[str] | Mapping[str, Any] | None
"""Model parameters: ``None`` (the packaged ``standards/calming.yaml``), the path of a
calming.yaml-style file (e.g. one written by :meth:`SpeedCalibration.write`), or a
mapping; files and mappings may be partial and are merged onto the packaged values."""

_ACTIVE: ContextVar[dict[str, Any] | None] = ContextVar("calming_params", default=None)


def _packaged() -> dict[str, Any]:
    # not memoised here: load() is, per standards override (standards.overridden)
    params: dict[str, Any] = load("calming")
    return params


def _params() -> dict[str, Any]:
    """The parameters in force: an override (:func:`using_params`) or the packaged file."""
    return _ACTIVE.get() or _packaged()


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged onto a deep copy of ``base`` (the result is the caller's to change)."""
    return deep_merge(copy.deepcopy(base), extra)


def load_params(params: ParamsLike = None) -> dict[str, Any]:
    """Return complete model parameters: the packaged file with ``params`` merged on top.

    Parameters
    ----------
    params
        ``None``, a path to a calming.yaml-style YAML file, or a mapping (see
        :data:`ParamsLike`).

    Returns
    -------
    dict
        A full calming.yaml mapping.

    Raises
    ------
    InputError
        The file is missing or not a YAML mapping, or a kinematic value is not a
        positive number.
    """
    if params is None:
        return _packaged()
    where = "calming parameters"
    if isinstance(params, (str, os.PathLike)):
        path = Path(params)
        where = str(path)
        if not path.is_file():
            raise InputError(
                f"{path}: calming parameter file not found; give a calming.yaml-style "
                "file (e.g. written by calibrate_speeds(...).write(path))"
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(data, Mapping):
            raise InputError(f"{path}: must hold a mapping of calming.yaml keys")
        params = data
    if not isinstance(params, Mapping):
        raise InputError(f"calming parameters must be a path or a mapping, got {params!r}")
    merged = _merge(_packaged(), params)
    for key in ("acceleration_mps2", "braking_mps2"):
        value = merged.get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InputError(f"{where}: {key} must be a number > 0 m/s², got {value!r}")
    return merged


@contextmanager
def using_params(params: ParamsLike = None) -> Iterator[dict[str, Any]]:
    """Run the calming model with other parameters inside a ``with`` block.

    ``None`` keeps the parameters in force (so nested calls inherit an outer override).
    """
    if params is None:
        yield _params()
        return
    token = _ACTIVE.set(load_params(params))
    try:
        yield _params()
    finally:
        _ACTIVE.reset(token)


def _params_key() -> str:
    """A short content hash of the parameters in force (for caches)."""
    active = _ACTIVE.get()
    if active is None:
        return "packaged" + override_key(("calming",))
    text = json.dumps(active, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def crossing_speed_kmh(kind: str, design_speed_kmh: float) -> float:
    """Crossing V85 of a device of ``kind`` designed for ``design_speed_kmh``, km/h.

    ``design_speed_kmh + crossing_excess_kmh[kind]`` (``standards/calming.yaml``).
    """
    excess = _params()["crossing_excess_kmh"]
    if kind not in excess:
        raise InputError(f"unknown device kind {kind!r}; known kinds: {sorted(excess)}")
    return float(design_speed_kmh) + float(excess[kind])


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


def _ms(kmh: Any) -> Any:
    return np.asarray(kmh, dtype=float) / 3.6


def crash_ratio(
    speed_after_kmh: Any,
    speed_before_kmh: Any,
    *,
    severity: str = "injury_crashes",
    exponents: Literal["urban", "low_speed"] = "urban",
) -> np.ndarray:
    """Return the power-model ratio of crashes after / before a change of speed.

    ``(v_after / v_before) ** k`` with the exponent ``k`` of ``severity``: the urban
    exponents (``power_model.exponents`` in ``standards/calming.yaml``: Elvik 2009,
    urban and residential roads: fatal crashes 2.6, serious-injury crashes 1.5, injury
    crashes 1.2) or the lower ones at low speeds (``power_model.low_speed_exponents``,
    after Elvik 2013: 1.5, 1.0, 0.8; unconfirmed).  Nilsson's power model assumes the
    same traffic and a proportional shift of the speed distribution.

    Parameters
    ----------
    speed_after_kmh, speed_before_kmh
        Speeds (scalars or arrays), km/h, > 0.
    severity
        ``"injury_crashes"``, ``"serious_injury_crashes"`` or ``"fatal_crashes"``.
    exponents
        ``"urban"`` (Elvik 2009) or ``"low_speed"`` (the other end of the range).

    Returns
    -------
    ndarray
        Ratio (1 = no change); NaN where a speed is missing or not positive.
    """
    key = {"urban": "exponents", "low_speed": "low_speed_exponents"}.get(exponents)
    if key is None:
        raise InputError(f"exponents must be 'urban' or 'low_speed', got {exponents!r}")
    table = _params()["power_model"][key]
    if severity not in table:
        raise InputError(f"unknown severity {severity!r}; known: {sorted(table)}")
    after = np.asarray(speed_after_kmh, dtype=float)
    before = np.asarray(speed_before_kmh, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((after > 0) & (before > 0), after / before, np.nan)
    return np.asarray(ratio ** float(table[severity]))


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


def device_unit_costs() -> dict[str, float]:
    """Unit cost of each device kind, DKK excl. VAT (``standards/unit_costs.yaml``)."""
    return {str(k): float(v) for k, v in load("unit_costs")["calming"].items()}


def device_costs(devices: gpd.GeoDataFrame | pd.DataFrame) -> pd.Series:
    """Return the cost of each device in DKK (``standards/unit_costs.yaml`` ``calming``).

    One price table serves the planner (which ranks devices by effect per krone) and
    the scenarios (which cost the devices a plan adds), so a plan is chosen and costed
    at the same prices.

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
    costs = device_unit_costs()
    kinds = devices["kind"].astype(str) if len(devices) else pd.Series([], dtype=str)
    unknown = sorted(set(kinds) - set(costs))
    if unknown:
        raise InputError(
            f"no unit cost for device kind(s) {unknown}; known kinds: {sorted(costs)} "
            "(standards/unit_costs.yaml calming)"
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
    # the range of the streets layer's speed limits (standards/layers.yaml maxspeed_kmh)
    if value > 200:
        raise InputError(
            f"target_kmh {value:g} km/h is not a street speed; give a target of at most 200 km/h "
            "(local streets are calmed to 20-40 km/h)"
        )
    return value


def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.asarray((angle + np.pi) % (2.0 * np.pi) - np.pi)
