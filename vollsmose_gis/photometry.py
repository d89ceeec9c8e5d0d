"""Luminous-intensity distributions: EULUMDAT and IES LM-63 files, and generic curves.

A :class:`Photometry` gives the luminous intensity of a luminaire, in candela per
1000 lm of its reference flux, in any direction of the C-γ system (CIE type C):
γ is the angle from the downward vertical (nadir, γ = 0°), C the azimuth of the
half-plane around that axis.  Tabulated distributions are expanded from their
symmetry to the full 0–360° range and interpolated bilinearly in C and γ; generic
curves (for lamps with no file) are analytic.

Conventions (documented because files and programs differ)
-----------------------------------------------------------
* C angles increase **counter-clockwise seen from above** (the sense of the CIE and
  LM-63 type-C system as commonly drawn on plan); a lamp's ``rotation_deg`` is the
  map bearing of its C0 half-plane (clockwise from grid north), so C90 lies 90°
  counter-clockwise (to the left) of C0 on the map.
* EULUMDAT symmetry flag ``Isym`` (Stockmar 1990): 0 none (all Mc planes stored),
  1 rotationally symmetric (one plane), 2 symmetric to the C0–C180 plane (planes
  C0…C180 stored; I(C) = I(360°−C)), 3 symmetric to the C90–C270 plane (planes
  C90…C270 stored, in ascending order; I(C) = I(180°−C)), 4 symmetric to both
  (planes C0…C90 stored).
* IES LM-63 type C: symmetry is implied by the horizontal-angle range (last angle 0°:
  rotational; 0–90°: quadrant; 0–180°: C0–C180 plane; 90–270°: C90–C270 plane;
  otherwise full).  Only photometric type C (1) is supported.
* Outside the measured γ range the intensity is 0 (e.g. above 90° for a file that
  stops at 90°).

The parsers were written for this project: of the PyPI packages, ``eulumdat`` (Rust
bindings) ships no wheel for this platform and needs a Rust toolchain and crates.io
to build, and ``eulumdat-py`` (MIT) assumes equidistant C planes when it unfolds
``Isym = 3``, which misplaces planes of files such as the reference road luminaire
(non-equidistant planes, ``Dc = 0``); neither reads IES files.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import load

__all__ = [
    "CosinePowerPhotometry",
    "PhotometryFileError",
    "TabulatedPhotometry",
    "generic_photometry",
    "read_ies",
    "read_ldt",
    "read_photometry",
]

log = logging.getLogger(__name__)

_ANGLE_TOL = 1e-6
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # noqa: NPY201 (numpy 1 name)


class PhotometryFileError(InputError):
    """A photometry file that cannot be read: names the file and the line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"photometry file {where}: {message}")


class Photometry(ABC):
    """Base of the intensity distributions (candela per 1000 lm of reference flux).

    Attributes
    ----------
    name
        Luminaire or curve name.
    rotationally_symmetric
        True if the intensity does not depend on C.
    """

    name: str = ""
    rotationally_symmetric: bool = False

    @abstractmethod
    def intensity(self, c_deg: np.ndarray | float, gamma_deg: np.ndarray | float) -> np.ndarray:
        """Return the intensity in cd/klm at C (degrees, any value) and γ (degrees).

        Parameters
        ----------
        c_deg
            Azimuth of the C half-plane, degrees; wrapped to [0, 360).
        gamma_deg
            Angle from the downward vertical, degrees, 0–180.
        """

    @abstractmethod
    def envelope(self, low_deg: np.ndarray, high_deg: np.ndarray) -> np.ndarray:
        """Return an upper bound of I(C, γ) over all C and γ in [low, high], in cd/klm.

        Used to bound what a lamp can still contribute beyond a distance; it must never
        be lower than an intensity the distribution can return in that range.
        """

    @abstractmethod
    def flux_per_klm(self) -> float:
        """Return the luminaire flux per 1000 lm of reference flux (the LOR × 1000), lm."""


@dataclass(eq=False)
class TabulatedPhotometry(Photometry):
    """An intensity table over full C planes (0–360°) and γ angles, bilinear in both.

    Attributes
    ----------
    c_angles
        Full set of C angles in degrees, strictly increasing, starting at 0 and ending
        at 360 (a copy of the 0° plane) so that interpolation wraps around.
    gamma_angles
        γ angles in degrees, strictly increasing, within 0–180.
    values
        Intensities in cd/klm, shape ``(len(c_angles), len(gamma_angles))``.
    reference_flux_lm
        Lamp flux the file's values refer to (for information; scaling uses the lamp's
        ``lumens``).
    light_output_ratio
        Luminaire flux / lamp flux as stated in the file (0–1), or derived.
    watts
        Input power stated in the file, W (NaN if absent).
    source
        File the table was read from.
    tilt_angles, tilt_factors
        IES ``TILT=INCLUDE`` table: lamp output multiplier at each luminaire tilt angle
        (degrees); empty when the file has none (factor 1 at every tilt).
    """

    c_angles: np.ndarray
    gamma_angles: np.ndarray
    values: np.ndarray
    name: str = ""
    reference_flux_lm: float = float("nan")
    light_output_ratio: float = float("nan")
    watts: float = float("nan")
    source: str = ""
    rotationally_symmetric: bool = False
    tilt_angles: tuple[float, ...] = ()
    tilt_factors: tuple[float, ...] = ()
    _regular: tuple[float, float, np.ndarray] | None = field(default=None, repr=False)

    def tilt_factor(self, tilt_deg: float) -> float:
        """Lamp output multiplier at a luminaire tilt (IES TILT table, linear; 1 if none).

        Outside the tabulated angles the nearest end value is used.
        """
        if not self.tilt_angles:
            return 1.0
        return float(np.interp(abs(tilt_deg), self.tilt_angles, self.tilt_factors))

    def __post_init__(self) -> None:
        self.c_angles = np.asarray(self.c_angles, dtype=float)
        self.gamma_angles = np.asarray(self.gamma_angles, dtype=float)
        self.values = np.asarray(self.values, dtype=float)
        if self.values.shape != (self.c_angles.size, self.gamma_angles.size):
            raise ValueError(
                f"values shape {self.values.shape} does not match "
                f"{self.c_angles.size} C × {self.gamma_angles.size} γ angles"
            )
        self._regular = _regular_table(self.c_angles, self.gamma_angles, self.values)

    def intensity(self, c_deg: np.ndarray | float, gamma_deg: np.ndarray | float) -> np.ndarray:
        """Bilinear interpolation in C and γ of the table (cd/klm); 0 outside the γ range."""
        gamma = np.asarray(gamma_deg, dtype=float)
        if self.rotationally_symmetric:
            return np.interp(gamma, self.gamma_angles, self.values[0], left=0.0, right=0.0)
        c = np.mod(np.asarray(c_deg, dtype=float), 360.0)
        if self._regular is not None:
            return _lookup_regular(self._regular, c, gamma, self.gamma_angles)
        return _bilinear(self.c_angles, self.gamma_angles, self.values, c, gamma)

    def intensity_radians(self, c_rad: np.ndarray, gamma_rad: np.ndarray) -> np.ndarray:
        """:meth:`intensity` with angles in radians (C in (−π, π], γ in [0, π]), cd/klm.

        The same bilinear values; on a uniform table the degree conversion is folded
        into the index arithmetic, which is what the raster's inner loop needs.
        """
        if self._regular is None or self.rotationally_symmetric:
            return self.intensity(np.degrees(c_rad), np.degrees(gamma_rad))
        c_step, g_step, grid = self._regular
        first, last = self.gamma_angles[0], self.gamma_angles[-1]
        n_gamma = grid.shape[1]
        fc = c_rad * (180.0 / math.pi / c_step)
        fc = np.where(fc < 0.0, fc + 360.0 / c_step, fc)
        fg = gamma_rad * (180.0 / math.pi / g_step) - first / g_step
        ci = np.minimum(fc.astype(np.intp), grid.shape[0] - 2)  # fc may round up to 360°
        gi = np.minimum(np.maximum(fg, 0.0).astype(np.intp), n_gamma - 2)
        fc -= ci
        fg = fg - gi
        flat = grid.ravel()
        base = ci * n_gamma + gi
        v0 = flat.take(base)
        v0 += (flat.take(base + 1) - v0) * fg
        base += n_gamma
        v1 = flat.take(base)
        v1 += (flat.take(base + 1) - v1) * fg
        v0 += (v1 - v0) * fc
        if first > 0.0 or last < 180.0:
            gamma_deg = np.degrees(gamma_rad)
            v0 = np.where(
                (gamma_deg < first - _ANGLE_TOL) | (gamma_deg > last + _ANGLE_TOL), 0.0, v0
            )
        return v0

    def envelope(self, low_deg: np.ndarray, high_deg: np.ndarray) -> np.ndarray:
        """Max of the table over all C and the γ nodes bracketing [low, high].

        Bilinear values are convex combinations of the bracketing nodes, so this bounds
        every interpolated value in the range.
        """
        per_gamma = self.values.max(axis=0)
        nodes = self.gamma_angles
        low = np.atleast_1d(np.asarray(low_deg, dtype=float))
        high = np.atleast_1d(np.asarray(high_deg, dtype=float))
        first = np.clip(np.searchsorted(nodes, low, side="right") - 1, 0, nodes.size - 1)
        last = np.clip(np.searchsorted(nodes, high, side="left"), 0, nodes.size - 1)
        index = np.arange(nodes.size)
        inside = (index[None, :] >= first[:, None]) & (index[None, :] <= last[:, None])
        result = np.where(inside, per_gamma[None, :], 0.0).max(axis=1)
        beyond = (high < nodes[0] - _ANGLE_TOL) | (low > nodes[-1] + _ANGLE_TOL)
        return np.where(beyond, 0.0, result)

    def flux_per_klm(self) -> float:
        """Integrate I over the sphere (trapezoidal in C and γ on the table), lm per klm."""
        gamma = np.radians(self.gamma_angles)
        over_gamma = _trapezoid(self.values * np.sin(gamma)[None, :], gamma, axis=1)
        if self.rotationally_symmetric:
            return float(2 * math.pi * over_gamma[0])
        return float(_trapezoid(over_gamma, np.radians(self.c_angles)))


@dataclass(eq=False)
class CosinePowerPhotometry(Photometry):
    """Generic rotationally symmetric curve I(γ) = I0 · cos^n γ for γ < γc, else 0.

    I0 is set so that the luminaire emits exactly 1000 lm per 1000 lm of reference
    flux (all of it downward):  Φ = 2π I0 (1 − cos^(n+1) γc) / (n + 1), or
    Φ = −2π I0 ln cos γc for n = −1.  A negative exponent gives a "batwing" that rises
    towards γc, as street lanterns do to spread light along a path.

    Attributes
    ----------
    exponent
        n (dimensionless).
    cutoff_deg
        γc in degrees, 0 < γc < 90.
    """

    exponent: float = -1.0
    cutoff_deg: float = 75.0
    name: str = ""
    rotationally_symmetric: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.cutoff_deg < 90.0:
            raise InputError(f"cutoff_deg must be in (0, 90), got {self.cutoff_deg!r}")
        n = self.exponent
        cos_c = math.cos(math.radians(self.cutoff_deg))
        if abs(n + 1.0) < 1e-12:
            solid = -2 * math.pi * math.log(cos_c)
        else:
            solid = 2 * math.pi * (1.0 - cos_c ** (n + 1.0)) / (n + 1.0)
        self.peak_cd_per_klm = 1000.0 / solid

    def intensity(self, c_deg: np.ndarray | float, gamma_deg: np.ndarray | float) -> np.ndarray:
        """I0 cos^n γ (cd/klm) below the cut-off angle, 0 at and above it."""
        gamma = np.asarray(gamma_deg, dtype=float)
        inside = gamma < self.cutoff_deg
        cos_g = np.cos(np.radians(np.where(inside, gamma, 0.0)))
        return np.where(inside, self.peak_cd_per_klm * cos_g**self.exponent, 0.0)

    def envelope(self, low_deg: np.ndarray, high_deg: np.ndarray) -> np.ndarray:
        """Exact max of the curve over [low, high] (monotone below γc, 0 from γc on)."""
        low = np.clip(np.asarray(low_deg, dtype=float), 0.0, None)
        high = np.minimum(np.asarray(high_deg, dtype=float), self.cutoff_deg)
        # rising (n < 0): largest at the top of the range; falling: at the bottom
        at = high if self.exponent < 0 else low
        value = self.peak_cd_per_klm * np.cos(np.radians(at)) ** self.exponent
        return np.where(low < self.cutoff_deg, value, 0.0)

    def flux_per_klm(self) -> float:
        """1000 lm by construction."""
        return 1000.0


def generic_photometry(name: str) -> CosinePowerPhotometry:
    """Return the generic curve ``name`` with the parameters of ``standards/en13201.yaml``.

    The object is cached (per name and curve parameters, so a standards override
    gives another object) and shared: treat it as read-only.

    Raises
    ------
    InputError
        ``name`` is not a generic distribution.
    """
    curves = load("en13201")["generic_distributions"]
    if name not in curves:
        raise InputError(
            f"unknown light distribution {name!r}; generic curves are {sorted(curves)} "
            "(or 'photometry_file' with a photometry_file path)"
        )
    spec = curves[name]
    return _generic(name, float(spec["exponent"]), float(spec["cutoff_deg"]))


@lru_cache(maxsize=64)
def _generic(name: str, exponent: float, cutoff_deg: float) -> CosinePowerPhotometry:
    return CosinePowerPhotometry(exponent=exponent, cutoff_deg=cutoff_deg, name=name)


# --------------------------------------------------------------------------- tables


def _bilinear(
    c_angles: np.ndarray,
    gamma_angles: np.ndarray,
    values: np.ndarray,
    c: np.ndarray,
    gamma: np.ndarray,
) -> np.ndarray:
    """Bilinear interpolation on an irregular grid (searchsorted on both axes)."""
    c, gamma = np.broadcast_arrays(c, gamma)
    ci = np.clip(np.searchsorted(c_angles, c, side="right") - 1, 0, c_angles.size - 2)
    gi = np.clip(np.searchsorted(gamma_angles, gamma, side="right") - 1, 0, gamma_angles.size - 2)
    fc = (c - c_angles[ci]) / (c_angles[ci + 1] - c_angles[ci])
    fg = (gamma - gamma_angles[gi]) / (gamma_angles[gi + 1] - gamma_angles[gi])
    v00 = values[ci, gi]
    v01 = values[ci, gi + 1]
    v10 = values[ci + 1, gi]
    v11 = values[ci + 1, gi + 1]
    out = (v00 * (1 - fg) + v01 * fg) * (1 - fc) + (v10 * (1 - fg) + v11 * fg) * fc
    outside = (gamma < gamma_angles[0] - _ANGLE_TOL) | (gamma > gamma_angles[-1] + _ANGLE_TOL)
    return np.where(outside, 0.0, out)


def _common_step(angles: np.ndarray) -> float | None:
    """The largest step (≥ 0.05°) of which every angle is a multiple, if any."""
    millis = np.round(angles * 1000.0)
    if np.any(np.abs(millis - angles * 1000.0) > 1e-6):
        return None
    step = int(np.gcd.reduce(millis.astype(np.int64)))
    return step / 1000.0 if step >= 50 else None


def _regular_table(
    c_angles: np.ndarray, gamma_angles: np.ndarray, values: np.ndarray
) -> tuple[float, float, np.ndarray] | None:
    """Resample the table on a uniform grid that contains every node, if one is small.

    Bilinear interpolation of the resampled table equals bilinear interpolation of the
    original one exactly (each uniform cell lies inside one original cell, where the
    interpolant is bilinear), and a uniform grid needs no search: it is only a speed-up.
    """
    c_step = _common_step(c_angles)
    g_step = _common_step(gamma_angles - gamma_angles[0])
    if c_step is None or g_step is None or gamma_angles.size < 2:
        return None
    c_nodes = np.arange(0.0, 360.0 + c_step / 2, c_step)
    g_nodes = gamma_angles[0] + np.arange(
        0.0, gamma_angles[-1] - gamma_angles[0] + g_step / 2, g_step
    )
    if c_nodes.size * g_nodes.size > 2_000_000:
        return None
    grid = _bilinear(c_angles, gamma_angles, values, c_nodes[:, None], g_nodes[None, :])
    return c_step, g_step, grid


def _lookup_regular(
    table: tuple[float, float, np.ndarray],
    c: np.ndarray,
    gamma: np.ndarray,
    gamma_angles: np.ndarray,
) -> np.ndarray:
    """Bilinear lookup on the uniform table of :func:`_regular_table`."""
    c_step, g_step, grid = table
    c, gamma = np.broadcast_arrays(c, gamma)
    fc = c / c_step
    fg = (gamma - gamma_angles[0]) / g_step
    ci = np.minimum(fc.astype(np.intp), grid.shape[0] - 2)
    gi = np.clip(fg, 0, None).astype(np.intp)
    gi = np.minimum(gi, grid.shape[1] - 2)
    fc -= ci
    fg = fg - gi
    flat = grid.ravel()
    base = ci * grid.shape[1] + gi
    v0 = flat[base] + (flat[base + 1] - flat[base]) * fg
    row = base + grid.shape[1]
    v1 = flat[row] + (flat[row + 1] - flat[row]) * fg
    out = v0 + (v1 - v0) * fc
    outside = (gamma < gamma_angles[0] - _ANGLE_TOL) | (gamma > gamma_angles[-1] + _ANGLE_TOL)
    return np.where(outside, 0.0, out)


def _fold(c: np.ndarray, symmetry: str) -> np.ndarray:
    """Map full-circle C angles onto the stored half/quarter by the symmetry's mirrors."""
    c = np.mod(c, 360.0)
    if symmetry == "c0_c180":  # I(C) = I(360 - C); stored 0..180
        return np.where(c > 180.0, 360.0 - c, c)
    if symmetry == "c90_c270":  # I(C) = I(180 - C); stored 90..270
        folded = np.mod(180.0 - c, 360.0)
        return np.where((c >= 90.0) & (c <= 270.0), c, folded)
    if symmetry == "quadrant":  # both mirrors; stored 0..90
        half = np.where(c > 180.0, 360.0 - c, c)
        return np.where(half > 90.0, 180.0 - half, half)
    return c


def _expand(
    stored_c: np.ndarray, stored: np.ndarray, full_c: np.ndarray, symmetry: str
) -> np.ndarray:
    """Values on the full C list from the stored planes, through the symmetry mirrors.

    A folded angle that is a stored plane takes that plane's values exactly; any other
    (a full list that is not mirror-symmetric) is interpolated linearly in C.
    """
    folded = _fold(full_c, symmetry)
    out = np.empty((full_c.size, stored.shape[1]))
    for k, angle in enumerate(folded):
        hit = np.flatnonzero(np.abs(stored_c - angle) < _ANGLE_TOL)
        if hit.size:
            out[k] = stored[hit[0]]
        else:
            j = int(np.clip(np.searchsorted(stored_c, angle) - 1, 0, stored_c.size - 2))
            t = (angle - stored_c[j]) / (stored_c[j + 1] - stored_c[j])
            out[k] = stored[j] * (1 - t) + stored[j + 1] * t
    return out


def _close_circle(c_angles: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Append the C = 360° plane (a copy of C = 0°) so interpolation wraps around."""
    if abs(c_angles[-1] - 360.0) < _ANGLE_TOL:
        return c_angles, values
    return np.append(c_angles, 360.0), np.vstack([values, values[:1]])


# --------------------------------------------------------------------------- EULUMDAT


class _Lines:
    """Line reader that remembers line numbers for error messages."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.pos = 0

    def text(self, what: str) -> str:
        if self.pos >= len(self.lines):
            raise PhotometryFileError(
                self.path, len(self.lines) + 1, f"file ends where {what} was expected"
            )
        value = self.lines[self.pos].strip()
        self.pos += 1
        return value

    def number(self, what: str, *, empty: float | None = None) -> float:
        raw = self.text(what)
        if raw == "" and empty is not None:
            return empty
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise PhotometryFileError(
                self.path, self.pos, f"expected a number for {what}, found {raw!r}"
            ) from None
        if not math.isfinite(value):
            raise PhotometryFileError(self.path, self.pos, f"{what} is {raw!r}, not finite")
        return value

    def integer(self, what: str, low: int, high: int) -> int:
        value = self.number(what)
        if value != int(value) or not low <= value <= high:
            raise PhotometryFileError(
                self.path, self.pos, f"{what} must be an integer {low}–{high}, found {value:g}"
            )
        return int(value)

    def angles(self, count: int, what: str, low: float, high: float) -> np.ndarray:
        start = self.pos + 1
        values = np.array([self.number(f"{what} {k + 1} of {count}") for k in range(count)])
        bad = np.flatnonzero((values < low - _ANGLE_TOL) | (values > high + _ANGLE_TOL))
        if bad.size:
            raise PhotometryFileError(
                self.path, start + int(bad[0]), f"{what} {values[bad[0]]:g} outside {low}–{high}°"
            )
        steps = np.diff(values)
        if np.any(steps <= 0):
            k = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise PhotometryFileError(
                self.path,
                start + k,
                f"{what} must increase strictly; {values[k]:g} follows {values[k - 1]:g}",
            )
        return values


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise PhotometryFileError(path, None, "no such file")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # EULUMDAT/IES files are often Windows-1252


def read_ldt(path: str | os.PathLike[str]) -> TabulatedPhotometry:  # noqa: C901 - waiver: a file-format parser: one branch per EULUMDAT field rule
    """Read a EULUMDAT (.ldt) file into a full, symmetry-expanded intensity table.

    Parameters
    ----------
    path
        The ``.ldt`` file (one value per line, as the format prescribes; decimal commas
        are accepted).

    Returns
    -------
    TabulatedPhotometry
        Intensities in cd per 1000 lm of the first lamp set's flux, over C 0–360°.

    Raises
    ------
    PhotometryFileError
        The file is missing or malformed; the message names the file and the line.

    Notes
    -----
    Field order after Stockmar (1990), "EULUMDAT – ein Leuchtendatenformat für den
    europäischen Beleuchtungsplaner"; symmetry unfolding as in the module notes.  The
    conversion factor (line 24) multiplies the stored values.
    """
    source = Path(path)
    reader = _Lines(source, _read_text(source).splitlines())
    reader.text("the company identification (line 1)")
    reader.integer("the type indicator Ityp (line 2)", 0, 3)
    isym = reader.integer("the symmetry indicator Isym (line 3)", 0, 4)
    mc = reader.integer("the number of C planes Mc (line 4)", 1, 721)
    reader.number("the C-plane distance Dc (line 5)")
    ng = reader.integer("the number of γ angles Ng (line 6)", 2, 361)
    reader.number("the γ distance Dg (line 7)")
    reader.text("the measurement report number (line 8)")
    name = reader.text("the luminaire name (line 9)")
    for what in ("luminaire number", "file name", "date/user"):
        reader.text(f"the {what} (lines 10–12)")
    for k in range(13, 22):
        reader.number(f"the luminaire dimension of line {k}")
    reader.number("the downward flux fraction (line 22)")
    lor = reader.number("the light output ratio LORL (line 23)")
    factor = reader.number("the intensity conversion factor (line 24)")
    reader.number("the measurement tilt (line 25)")
    sets = reader.integer("the number of lamp sets (line 26)", 1, 20)
    flux = watts = float("nan")
    for k in range(sets):
        reader.number(f"the number of lamps of set {k + 1}")
        reader.text(f"the lamp type of set {k + 1}")
        set_flux = reader.number(f"the lamp flux of set {k + 1}")
        reader.text(f"the colour temperature of set {k + 1}")
        reader.text(f"the colour rendering index of set {k + 1}")
        set_watts = reader.number(f"the wattage of set {k + 1}", empty=float("nan"))
        if k == 0:
            flux, watts = set_flux, set_watts
            if flux <= 0:
                raise PhotometryFileError(
                    source, reader.pos - 3, f"lamp flux must be positive, found {flux:g}"
                )
    for k in range(10):
        reader.number(f"direct ratio {k + 1} of 10")
    c_all = reader.angles(mc, "C angle", 0.0, 360.0)
    gamma = reader.angles(ng, "γ angle", 0.0, 180.0)
    stored_planes = {0: mc, 1: 1, 2: mc // 2 + 1, 3: mc // 2 + 1, 4: mc // 4 + 1}[isym]
    start_line = reader.pos + 1
    values = np.array(
        [
            reader.number(f"intensity {k + 1} of {stored_planes * ng}")
            for k in range(stored_planes * ng)
        ]
    ).reshape(stored_planes, ng)
    if np.any(values < 0):
        k = int(np.flatnonzero(values.ravel() < 0)[0])
        raise PhotometryFileError(source, start_line + k, "negative luminous intensity")
    values *= factor
    trailing = [i for i in range(reader.pos, len(reader.lines)) if reader.lines[i].strip()]
    if trailing:
        log.warning(
            "%s: %d unexpected line(s) after the intensities, ignored", source, len(trailing)
        )

    if isym == 1:
        c_full = np.array([0.0, 360.0])
        table = np.vstack([values[0], values[0]])
        return TabulatedPhotometry(
            c_full,
            gamma,
            table,
            name=name,
            reference_flux_lm=flux,
            light_output_ratio=lor / 100.0,
            watts=watts,
            source=str(source),
            rotationally_symmetric=True,
        )
    if isym == 0:
        stored_c, symmetry = c_all, "none"
    elif isym == 2:
        stored_c, symmetry = c_all[:stored_planes], "c0_c180"
    elif isym == 4:
        stored_c, symmetry = c_all[:stored_planes], "quadrant"
    else:
        first = np.flatnonzero(np.abs(c_all - 90.0) < _ANGLE_TOL)
        if first.size == 0 or first[0] + stored_planes > mc:
            raise PhotometryFileError(
                source, None, "symmetry Isym=3 needs the C planes 90° to 270° in the C-angle list"
            )
        stored_c, symmetry = c_all[first[0] : first[0] + stored_planes], "c90_c270"
    expected_end = {"c0_c180": 180.0, "quadrant": 90.0, "c90_c270": 270.0}.get(symmetry)
    if expected_end is not None and abs(stored_c[-1] - expected_end) > _ANGLE_TOL:
        raise PhotometryFileError(
            source,
            None,
            f"symmetry Isym={isym} stores planes up to C{expected_end:g}, but the "
            f"C-angle list gives C{stored_c[-1]:g} as stored plane {stored_planes}",
        )
    full = _expand(stored_c, values, c_all, symmetry)
    c_closed, full = _close_circle(c_all, full)
    return TabulatedPhotometry(
        c_closed,
        gamma,
        full,
        name=name,
        reference_flux_lm=flux,
        light_output_ratio=lor / 100.0,
        watts=watts,
        source=str(source),
    )


# --------------------------------------------------------------------------- IES LM-63


def read_ies(path: str | os.PathLike[str]) -> TabulatedPhotometry:  # noqa: C901 - waiver: a file-format parser: one branch per IES LM-63 keyword and version
    """Read an IES LM-63 (1991/1995/2002/2019) type-C file into a full intensity table.

    Parameters
    ----------
    path
        The ``.ies`` file.

    Returns
    -------
    TabulatedPhotometry
        Intensities in cd per 1000 lm of the rated lamp flux (number of lamps × lumens
        per lamp); for absolute photometry (lumens per lamp = −1) per 1000 lm of the
        luminaire flux integrated from the table.  Candela multiplier and ballast factor
        are applied.

    Raises
    ------
    PhotometryFileError
        The file is missing, malformed, or not type C; names the file and the line.
    """
    source = Path(path)
    lines = _read_text(source).splitlines()
    tilt_line = next(
        (i for i, line in enumerate(lines) if line.strip().upper().startswith("TILT")), None
    )
    if tilt_line is None:
        raise PhotometryFileError(source, None, "no TILT= line: not an IES LM-63 file")
    name = ""
    for line in lines[:tilt_line]:
        key, _, value = line.strip().partition("]")
        if key.upper() in ("[LUMINAIRE", "[LUMCAT") and not name:
            name = value.strip()
    tilt = lines[tilt_line].split("=", 1)[-1].strip().upper()
    tokens: list[tuple[str, int]] = [
        (tok, number + 1)
        for number in range(tilt_line + 1, len(lines))
        for tok in lines[number].replace(",", " ").split()
    ]
    cursor = 0

    def take(what: str) -> float:
        nonlocal cursor
        if cursor >= len(tokens):
            raise PhotometryFileError(source, len(lines), f"file ends where {what} was expected")
        raw, line_no = tokens[cursor]
        cursor += 1
        try:
            value = float(raw)
        except ValueError:
            raise PhotometryFileError(
                source, line_no, f"expected a number for {what}, found {raw!r}"
            ) from None
        if not math.isfinite(value):
            raise PhotometryFileError(source, line_no, f"{what} is {raw!r}, not finite")
        return value

    def line_of_last() -> int:
        return tokens[cursor - 1][1]

    tilt_angles: tuple[float, ...] = ()
    tilt_factors: tuple[float, ...] = ()
    if tilt == "INCLUDE":
        take("the lamp-to-luminaire geometry")
        n_tilt = int(take("the number of tilt angles"))
        tilt_angles = tuple(take(f"tilt angle {k + 1} of {n_tilt}") for k in range(n_tilt))
        tilt_factors = tuple(take(f"tilt factor {k + 1} of {n_tilt}") for k in range(n_tilt))
        if n_tilt < 1 or any(b <= a for a, b in itertools.pairwise(tilt_angles)):
            raise PhotometryFileError(
                source, tilt_line + 2, "tilt angles must be at least one and increase strictly"
            )
    elif tilt != "NONE":
        raise PhotometryFileError(
            source,
            tilt_line + 1,
            f"TILT={tilt} (an external tilt file) is not supported; use TILT=NONE or TILT=INCLUDE",
        )
    n_lamps = take("the number of lamps")
    lumens_per_lamp = take("the lumens per lamp")
    multiplier = take("the candela multiplier")
    n_vert = take("the number of vertical angles")
    n_vert_line = line_of_last()
    n_horiz = take("the number of horizontal angles")
    n_horiz_line = line_of_last()
    photometric_type = take("the photometric type")
    type_line = line_of_last()
    for what in ("units type", "width", "length", "height"):
        take(f"the {what}")
    ballast = take("the ballast factor")
    take("the ballast-lamp factor (future use)")
    watts = take("the input watts")
    if photometric_type != 1:
        raise PhotometryFileError(
            source,
            type_line,
            f"photometric type {photometric_type:g} is not supported "
            "(only type C = 1, the road and area lighting convention)",
        )
    for count, what, line_no in (
        (n_vert, "vertical", n_vert_line),
        (n_horiz, "horizontal", n_horiz_line),
    ):
        if count != int(count) or count < 1:
            raise PhotometryFileError(
                source,
                line_no,
                f"number of {what} angles must be a positive integer, found {count:g}",
            )
    nv, nh = int(n_vert), int(n_horiz)
    if nv < 2:
        raise PhotometryFileError(source, n_vert_line, "at least 2 vertical angles are needed")

    def angle_list(count: int, what: str, low: float, high: float) -> np.ndarray:
        values = np.array([take(f"{what} angle {k + 1} of {count}") for k in range(count)])
        first_line = tokens[cursor - count][1]
        if np.any((values < low - _ANGLE_TOL) | (values > high + _ANGLE_TOL)):
            raise PhotometryFileError(
                source, first_line, f"{what} angles must lie within {low:g}–{high:g}°"
            )
        if np.any(np.diff(values) <= 0):
            raise PhotometryFileError(source, first_line, f"{what} angles must increase strictly")
        return values

    gamma = angle_list(nv, "vertical", 0.0, 180.0)
    horiz = angle_list(nh, "horizontal", 0.0, 360.0)
    start = cursor
    candela = np.array([take(f"candela value {k + 1} of {nh * nv}") for k in range(nh * nv)])
    if np.any(candela < 0):
        k = int(np.flatnonzero(candela < 0)[0])
        raise PhotometryFileError(source, tokens[start + k][1], "negative candela value")
    if cursor < len(tokens):
        log.warning(
            "%s: %d unexpected value(s) after the candela table, ignored",
            source,
            len(tokens) - cursor,
        )
    candela = candela.reshape(nh, nv) * multiplier * ballast

    rotational = nh == 1 or abs(horiz[-1] - horiz[0]) < _ANGLE_TOL
    if rotational:
        full_c, full = np.array([0.0, 360.0]), np.vstack([candela[0], candela[0]])
    else:
        mirrors = {
            "quadrant": (horiz, 180.0 - horiz, 180.0 + horiz, 360.0 - horiz),
            "c0_c180": (horiz, 360.0 - horiz),
            "c90_c270": (horiz, 180.0 - horiz),
        }
        if abs(horiz[0]) < _ANGLE_TOL and abs(horiz[-1] - 90.0) < _ANGLE_TOL:
            symmetry = "quadrant"
        elif abs(horiz[0]) < _ANGLE_TOL and abs(horiz[-1] - 180.0) < _ANGLE_TOL:
            symmetry = "c0_c180"
        elif abs(horiz[0] - 90.0) < _ANGLE_TOL and abs(horiz[-1] - 270.0) < _ANGLE_TOL:
            symmetry = "c90_c270"
        elif abs(horiz[0]) < _ANGLE_TOL and horiz[-1] > 180.0:
            symmetry = "none"
        else:
            raise PhotometryFileError(
                source,
                n_horiz_line,
                f"horizontal angles {horiz[0]:g}–{horiz[-1]:g}° match no "
                "LM-63 symmetry (0, 0–90, 0–180, 90–270 or 0–360)",
            )
        if symmetry == "none":
            full_c = horiz[horiz < 360.0 - _ANGLE_TOL]
            full = candela[: full_c.size]
        else:
            mirrored = np.concatenate(mirrors[symmetry])
            full_c = np.unique(np.round(np.mod(mirrored, 360.0), 9))
            full = _expand(horiz, candela, full_c, symmetry)
        full_c, full = _close_circle(full_c, full)
    as_read = TabulatedPhotometry(full_c, gamma, full, rotationally_symmetric=rotational)
    luminaire_flux = as_read.flux_per_klm()  # lm of the candela values as they stand
    if lumens_per_lamp > 0 and n_lamps > 0:
        rated = n_lamps * lumens_per_lamp
    else:  # absolute photometry (LM-63: lumens per lamp = -1)
        rated = luminaire_flux
        if rated <= 0:
            raise PhotometryFileError(source, None, "absolute photometry with zero flux")
    return TabulatedPhotometry(
        full_c,
        gamma,
        full * (1000.0 / rated),
        name=name,
        reference_flux_lm=rated,
        light_output_ratio=luminaire_flux / rated,
        watts=watts if watts > 0 else float("nan"),
        source=str(source),
        rotationally_symmetric=rotational,
        tilt_angles=tilt_angles,
        tilt_factors=tilt_factors,
    )


@lru_cache(maxsize=64)
def _read_cached(path: str, mtime_ns: int, size: int) -> TabulatedPhotometry:
    suffix = Path(path).suffix.lower()
    if suffix == ".ldt":
        return read_ldt(path)
    if suffix == ".ies":
        return read_ies(path)
    raise PhotometryFileError(path, None, f"unknown photometry format {suffix!r}; use .ldt or .ies")


def read_photometry(path: str | os.PathLike[str]) -> TabulatedPhotometry:
    """Read a ``.ldt`` or ``.ies`` file (by suffix), cached by path, size and mtime.

    Raises
    ------
    PhotometryFileError
        Missing, malformed or unknown-format file.
    """
    target = Path(path)
    try:
        stat = target.stat()
    except OSError:
        raise PhotometryFileError(target, None, "no such file") from None
    return _read_cached(str(target.resolve()), stat.st_mtime_ns, stat.st_size)
