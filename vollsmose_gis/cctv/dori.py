"""DORI levels (IEC 62676-4): pixel density of a camera at a distance, level distances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import load

NOT_SEEN = 0
"""Level code of a cell no camera sees at any level."""
MASKED = 255
"""Level code (nodata) of a cell that is never reported: building interior, private."""


def _standard() -> dict[str, Any]:
    return load("dori")


# --------------------------------------------------------------------------- DORI


def dori_levels(edition: str | None = None) -> dict[str, float]:
    """Return the DORI levels of a level set: name -> px/m, lowest first.

    Parameters
    ----------
    edition
        Name of a level set of ``standards/dori.yaml``: ``"2015"`` (default,
        IEC 62676-4:2014 / EN 62676-4:2015, verified) or ``"identification-500"``
        (user-defined, unverified: identification at 500 px/m).  ``"2025"`` is refused:
        no IEC 62676-4:2025 figure could be verified (see :func:`level_set_title`).

    Raises
    ------
    InputError
        Unknown or refused level set.
    """
    return dict(_level_set(edition)["levels"])


def _level_set(edition: str | None) -> dict[str, Any]:
    std = _standard()
    name = str(edition or std["default_level_set"])
    refused = std.get("refused_level_sets") or {}
    if name in refused:
        raise InputError(f"DORI level set {name!r}: {' '.join(str(refused[name]).split())}")
    sets = std["level_sets"]
    if name not in sets:
        raise InputError(f"unknown DORI level set {name!r}; known: {sorted(sets)}")
    entry = sets[name]
    levels = {str(k): float(v) for k, v in entry["levels"].items()}
    return {
        "name": name,
        "title": str(entry["title"]),
        "verified": bool(entry.get("verified", False)),
        "levels": dict(sorted(levels.items(), key=lambda kv: kv[1])),
    }


def level_set_title(edition: str | None = None) -> str:
    """Return how a level set is named in outputs (its ``title``, with "unverified").

    ``"2015"`` -> "IEC 62676-4:2014 / EN 62676-4:2015 DORI pixel densities"; a
    user-defined set's title always says it is user-defined and unverified, so no
    output presents an unconfirmed figure as an edition of the standard.
    """
    entry = _level_set(edition)
    title = entry["title"]
    if not entry["verified"] and "unverified" not in title.lower():
        title = f"{title} (user-defined, unverified)"
    return title


def _level_code(level: str, levels: Mapping[str, float]) -> int:
    names = list(levels)
    if level not in names:
        raise InputError(f"unknown DORI level {level!r}; levels are {names}")
    return names.index(level) + 1


def _check_fov_resolution(hfov_deg: float, resolution_px: float, what: str) -> None:
    if not (np.isfinite(hfov_deg) and 0 < hfov_deg <= 360):
        raise InputError(f"{what}: hfov_deg {hfov_deg!r} must be > 0 and <= 360 degrees")
    if not (np.isfinite(resolution_px) and resolution_px > 0):
        raise InputError(f"{what}: resolution_px {resolution_px!r} must be > 0 pixels")


def _scene_width_factor(hfov_deg: Any) -> Any:
    """Scene width per metre of distance: 2 tan(HFOV/2), or HFOV in radians from 180°.

    A rectilinear lens cannot reach 180°; wider cameras (fisheye, panoramic) spread their
    pixels over the arc, so the width of the scene at distance D is D x HFOV (radians).
    """
    hfov = np.asarray(hfov_deg, dtype=float)
    rectilinear = 2.0 * np.tan(np.radians(np.minimum(hfov, 179.0)) / 2.0)
    return np.where(hfov < 180.0, rectilinear, np.radians(hfov))


def pixel_density(distance_m: Any, resolution_px: Any, hfov_deg: Any) -> np.ndarray:
    """Return the horizontal pixel density a camera delivers at a distance (px/m).

    Parameters
    ----------
    distance_m
        Slant distance from the camera to the target (m), scalar or array.
    resolution_px
        Horizontal resolution of the camera (pixels).
    hfov_deg
        Horizontal field of view (degrees).

    Returns
    -------
    numpy.ndarray
        ``R_h / W`` with the scene width ``W = 2 D tan(HFOV/2)`` (px/m); infinite at
        distance 0.

    Notes
    -----
    IEC 62676-4 geometry (``docs/domain.md#camera-geometry``).  From 180° on, the width is the arc
    ``D x HFOV`` (radians): the panoramic/fisheye model, since ``tan`` diverges.
    """
    distance = np.asarray(distance_m, dtype=float)
    with np.errstate(divide="ignore"):
        return np.asarray(resolution_px, dtype=float) / (distance * _scene_width_factor(hfov_deg))


def dori_distances(
    resolution_px: float, hfov_deg: float, *, edition: str | None = None
) -> dict[str, float]:
    """Return the largest slant distance (m) at which each DORI level is reached.

    Parameters
    ----------
    resolution_px
        Horizontal resolution (pixels), > 0.
    hfov_deg
        Horizontal field of view (degrees), in (0, 360].
    edition
        DORI level set (see :func:`dori_levels`).

    Returns
    -------
    dict
        Level name -> distance in metres, ``D = R_h / (ppm x 2 tan(HFOV/2))``.  Example:
        1920 px at 90° -> detection 38.4 m, identification 3.84 m.

    Raises
    ------
    InputError
        ``hfov_deg`` outside (0, 360] or ``resolution_px`` <= 0.
    """
    _check_fov_resolution(float(hfov_deg), float(resolution_px), "camera")
    width = float(_scene_width_factor(hfov_deg))
    return {
        name: float(resolution_px) / (ppm * width) for name, ppm in dori_levels(edition).items()
    }
