"""The lamp model: lamps from the lights layer, point illuminance, rasters, energy.

Every lamp of the ``lights`` layer is a point source at ``height_m`` above the ground
with a luminous-intensity distribution (a generic curve or a EULUMDAT/IES file, see
:mod:`vollsmose_gis.photometry`).  The maintained horizontal illuminance at a ground
point is the sum over lamps of

    E = MF · I(C, γ) · cos³γ / H²        (lux)

with MF the lamp's maintenance factor, I the intensity in candela towards the point
(cd/klm of the distribution × ``lumens`` / 1000), γ the angle from the lamp's downward
axis, tan γ = d / H, and H the mounting height (EN 13201-3:2015, point illuminance).
For a tilted lamp the intensity is looked up in the lamp's own frame and the cosine
factor is the world one: E = MF · I · H / D³, D the lamp–point distance.

Negligible-contribution cutoff
------------------------------
Each lamp adds only to points within its cutoff radius R: the smallest distance beyond
which its contribution is provably below ``cutoff_lx`` (default 0.01 lx, in
``standards/en13201.yaml``).  R comes from an upper bound of the distribution,
``MF · lumens/1000 · max_{C, |γ' − γ| ≤ |tilt|} I(C, γ') · cos³γ / H²`` over the ground
angle γ (see :func:`cutoff_radius`).  So the error at any point is below
``cutoff_lx`` times the number of lamps farther away than their radius, and in practice
far smaller (contributions fall as 1/d³; benchmarks/bench_lighting.py measures it).
The cutoff never applies at the service level: the lowest EN 13201 value is 0.4 lx.
Pass ``cutoff_lx=0`` for the exact sum over all lamps.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.photometry import (
    CosinePowerPhotometry,
    Photometry,
    TabulatedPhotometry,
    generic_photometry,
    read_photometry,
)
from vollsmose_gis.standards import layer_schemas, load

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
_BLOCK_CELLS = 16_384  # cells evaluated per numpy call in the raster (cache-sized temporaries)
Window = tuple[float, float, float, float]


def _params() -> dict[str, Any]:
    return load("en13201")


# --------------------------------------------------------------------------- lamps


@dataclass(frozen=True)
class _Lamp:
    """One lamp ready for evaluation (all lengths in metres, angles in degrees)."""

    light_id: str
    x: float
    y: float
    height_m: float
    scale: float  # MF × lumens / 1000: candela per cd/klm of the distribution
    photometry: Photometry
    rotation_deg: float
    tilt_deg: float
    radius_m: float
    watts: float


def cutoff_radius(
    photometry: Photometry,
    *,
    height_m: float,
    scale: float,
    tilt_deg: float = 0.0,
    cutoff_lx: float,
) -> float:
    """Return the distance beyond which a lamp adds less than ``cutoff_lx``, in metres.

    Parameters
    ----------
    photometry
        The lamp's distribution.
    height_m
        Mounting height H above the ground, m.
    scale
        MF × lumens / 1000 (candela per cd/klm of the distribution).
    tilt_deg
        Lamp tilt, degrees.
    cutoff_lx
        Negligible illuminance, lx; 0 or less gives ``inf``.

    Notes
    -----
    A ground point seen at angle γ from the vertical is at γ' ∈ [γ − |tilt|, γ + |tilt|]
    from the lamp's own axis (triangle inequality on the sphere).  For each step
    [γₖ, γₖ₊₁] of a 0.01° grid, ``scale · max I(C, γ' in [γₖ − |t|, γₖ₊₁ + |t|]) ·
    cos³γₖ / H²`` bounds every contribution; R = H tan γₖ₊₁ for the last step whose
    bound reaches the cutoff, so beyond R every contribution is below ``cutoff_lx``.
    """
    if cutoff_lx <= 0:
        return math.inf
    gamma, shape = _bound_shape(photometry, abs(float(tilt_deg)))
    reaching = np.flatnonzero(shape * (scale / height_m**2) >= cutoff_lx)
    if reaching.size == 0:
        return 0.0
    last = float(gamma[reaching[-1]]) + _BOUND_STEP_DEG
    if last >= 90.0:
        return math.inf
    return float(height_m * math.tan(math.radians(last)))


_BOUND_STEP_DEG = 0.01


@lru_cache(maxsize=256)
def _bound_shape(photometry: Photometry, tilt: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid γₖ and max I over [γₖ − tilt, γₖ₊₁ + tilt] × cos³γₖ (per distribution, cached)."""
    gamma = np.arange(0.0, 90.0, _BOUND_STEP_DEG)
    peak = photometry.envelope(gamma - tilt, gamma + _BOUND_STEP_DEG + tilt)
    return gamma, peak * np.cos(np.radians(gamma)) ** 3


def _resolve_file(value: str, light_id: str, photometry_dir: Path | None) -> Path:
    path = Path(value)
    candidates = [path] if path.is_absolute() else []
    if not path.is_absolute():
        if photometry_dir is not None:
            candidates.append(photometry_dir / path)
        candidates.append(Path.cwd() / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise InputError(
        f"layer 'lights', feature {light_id!r}: photometry_file {value!r} not found "
        f"(tried {tried}); paths are relative to the district file's folder or the "
        "working directory"
    )


def _number(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _lamp_from_row(
    row: Mapping[str, Any],
    x: float,
    y: float,
    *,
    cutoff_lx: float,
    photometry_dir: Path | None,
) -> _Lamp:
    light_id = str(row.get("light_id", "?"))
    where = f"layer 'lights', feature {light_id!r}"
    height = _number(row, "height_m")
    if not height > 0:
        raise InputError(
            f"{where}: height_m is {row.get('height_m')!r}; every lamp needs a mounting "
            "height above the ground in metres (> 0)"
        )
    _in_range(height, "height_m", where)
    lumens = _number(row, "lumens")
    if not lumens > 0:
        raise InputError(f"{where}: lumens is {row.get('lumens')!r}; it must be > 0")
    _in_range(lumens, "lumens", where)
    mf = _number(row, "maintenance_factor")
    if math.isnan(mf):  # not in the data: the typical luminaire's (standards/en13201.yaml)
        mf = float(_params()["planner"]["lamp"]["maintenance_factor"])
    if not 0 < mf <= 1:
        raise InputError(f"{where}: maintenance_factor {mf!r} must be in (0, 1]")
    distribution = row.get("distribution")
    if distribution is None or distribution is pd.NA or distribution != distribution:
        distribution = "street_lantern"
    photometry: Photometry
    if distribution == "photometry_file":
        value = row.get("photometry_file")
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                f"{where}: distribution is 'photometry_file' but photometry_file is empty"
            )
        photometry = read_photometry(_resolve_file(value.strip(), light_id, photometry_dir))
    else:
        try:
            photometry = generic_photometry(str(distribution))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    tilt = _number(row, "tilt_deg")
    tilt = 0.0 if math.isnan(tilt) else tilt
    if not -90 <= tilt <= 90:
        raise InputError(f"{where}: tilt_deg {tilt!r} must be within -90..90")
    rotation = _number(row, "rotation_deg")
    rotation = 0.0 if math.isnan(rotation) else rotation
    # an IES TILT table scales the lamp's output with the tilt it is mounted at
    scale = mf * lumens / 1000.0 * getattr(photometry, "tilt_factor", lambda _: 1.0)(tilt)
    watts = _number(row, "watts")
    if not math.isnan(watts):
        _in_range(watts, "watts", where)
    if not watts > 0:
        file_watts = getattr(photometry, "watts", math.nan)
        file_flux = getattr(photometry, "reference_flux_lm", math.nan)
        if file_watts > 0 and file_flux > 0:
            watts = file_watts * lumens / file_flux
        else:
            watts = lumens / float(_params()["efficacy_lm_per_w"])
    radius = cutoff_radius(
        photometry, height_m=height, scale=scale, tilt_deg=tilt, cutoff_lx=cutoff_lx
    )
    return _Lamp(light_id, x, y, height, scale, photometry, rotation, tilt, radius, watts)


_UNITS = {"lumens": "lm", "height_m": "m", "watts": "W"}


def _in_range(value: float, column: str, where: str) -> None:
    """Refuse a lamp value outside the range of ``standards/layers.yaml`` (lights layer).

    The bounds are the layer schema's (one source with ``validate``): not design
    limits but the edge of the plausible, so that a typo (10^15 lm, a 1e6 m column)
    is refused with the lamp named instead of lighting a whole district.
    """
    spec = layer_schemas()["lights"]["columns"].get(column, {})
    low, high = spec.get("min"), spec.get("max")
    unit = _UNITS.get(column, "")
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= float(low) if spec.get("min_exclusive") else value < float(low)
    if high is not None:
        bad |= value > float(high)
    if bad:
        span = f"{'(' if spec.get('min_exclusive') else '['}{low:g}, {high:g}]"
        raise InputError(
            f"{where}: {column} {value:g} {unit} is outside {span} {unit} (the range of "
            "standards/layers.yaml); correct the value in the lights layer"
        )


def _lamps(
    lights: gpd.GeoDataFrame, *, cutoff_lx: float, photometry_dir: Path | None
) -> list[_Lamp]:
    """Validate and prepare the lamps of a lights layer (InputError names the lamp)."""
    if len(lights) == 0:
        return []
    geometry = lights.geometry
    bad = geometry.isna() | geometry.is_empty | (geometry.geom_type != "Point")
    if bad.any():
        first = lights.loc[bad].iloc[0]
        raise InputError(
            f"layer 'lights', feature {first.get('light_id')!r}: geometry must be a Point"
        )
    xy = shapely.get_coordinates(geometry.to_numpy())
    records = lights.drop(columns=lights.geometry.name).to_dict("records")
    # A district's lamps share a few designs: each distinct set of the values
    # `_lamp_from_row` reads is checked and prepared once (its first lamp, in order, so
    # an InputError names the same lamp as lamp-by-lamp), the others take its values
    # with their own id and position.  Same lamps, a fraction of the work (4,258 lamps,
    # three calls per lighting run).
    prepared: dict[tuple[Any, ...], _Lamp] = {}
    lamps = []
    for row, (x, y) in zip(records, xy, strict=True):
        key = tuple(_design_value(row.get(column)) for column in _DESIGN_COLUMNS)
        lamp = prepared.get(key)
        if lamp is None:
            lamp = prepared[key] = _lamp_from_row(
                row, float(x), float(y), cutoff_lx=cutoff_lx, photometry_dir=photometry_dir
            )
        else:
            lamp = replace(lamp, light_id=str(row.get("light_id", "?")), x=float(x), y=float(y))
        lamps.append(lamp)
    return lamps


_DESIGN_COLUMNS = (
    "height_m",
    "lumens",
    "maintenance_factor",
    "distribution",
    "photometry_file",
    "tilt_deg",
    "rotation_deg",
    "watts",
)
"""Every column :func:`_lamp_from_row` reads but ``light_id``."""


def _design_value(value: Any) -> Any:
    """A lamp value as a key: missing values (None, NaN, NA - read alike) as None, the
    type kept (``1``, ``1.0`` and ``"1"`` are separate keys); an unhashable value as a
    key equal to nothing else (that lamp is prepared on its own).
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        hash(value)
    except TypeError:
        return object()
    return (type(value).__name__, value)


def _cutoff(cutoff_lx: float | None) -> float:
    value = float(_params()["cutoff_lx"]) if cutoff_lx is None else float(cutoff_lx)
    if not value >= 0:
        raise InputError(f"cutoff_lx must be >= 0 lx, got {cutoff_lx!r}")
    return value


def _photometry_dir(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


# --------------------------------------------------------------------------- point model


def _lamp_illuminance(lamp: _Lamp, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Illuminance in lx from one lamp at ground offsets (dx, dy) east/north of it, m.

    ``dx`` and ``dy`` broadcast (a row and a column give a window of a raster).
    """
    h = lamp.height_m
    photometry = lamp.photometry
    r2 = dx * dx + dy * dy
    d2 = r2 + h * h
    if lamp.tilt_deg == 0.0 and isinstance(photometry, CosinePowerPhotometry):
        # I0 cos^n γ · cos³γ / H² = I0 H^(n+1) D^-(n+3): one power, no angles.
        n = photometry.exponent
        k = lamp.scale * photometry.peak_cd_per_klm * h ** (n + 1.0)
        reach2 = (h * math.tan(math.radians(photometry.cutoff_deg))) ** 2
        return np.where(r2 < reach2, k * d2 ** (-(n + 3.0) / 2.0), 0.0)
    cos_term = h / (d2 * np.sqrt(d2))  # cos γ / D² = H / D³
    if lamp.tilt_deg == 0.0 and photometry.rotationally_symmetric:
        gamma = np.degrees(np.arctan2(np.sqrt(r2), h))
        return lamp.scale * photometry.intensity(0.0, gamma) * cos_term
    bearing = math.radians(lamp.rotation_deg)
    sin_b, cos_b = math.sin(bearing), math.cos(bearing)
    along = dx * sin_b + dy * cos_b  # towards C0
    left = dy * sin_b - dx * cos_b  # towards C90 (counter-clockwise of C0 on the map)
    if lamp.tilt_deg == 0.0:
        gamma = np.arctan2(np.sqrt(r2), h)
        c = np.arctan2(left, along)
    else:
        t = math.radians(lamp.tilt_deg)
        down = math.cos(t) * h + math.sin(t) * left
        side = math.cos(t) * left - math.sin(t) * h
        gamma = np.arctan2(np.sqrt(along * along + side * side), down)
        c = np.arctan2(side, along)
    if isinstance(photometry, TabulatedPhotometry):
        intensity = photometry.intensity_radians(c, gamma)
    else:
        intensity = photometry.intensity(np.degrees(c), np.degrees(gamma))
    return lamp.scale * intensity * cos_term


def _illuminance_points(
    lamps: Sequence[_Lamp], xy: np.ndarray, progress: Progress | None = None
) -> np.ndarray:
    """Sum of lamp contributions at points ``xy`` (n × 2), each lamp within its radius."""
    out = np.zeros(len(xy))
    if len(xy) == 0 or not lamps:
        return out
    # lamps whose reach cannot touch the points' bounding box add nothing: skip them
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    reach = np.array([lamp.radius_m for lamp in lamps])
    lx = np.array([lamp.x for lamp in lamps])
    ly = np.array([lamp.y for lamp in lamps])
    near = (
        (lx >= lo[0] - reach)
        & (lx <= hi[0] + reach)
        & (ly >= lo[1] - reach)
        & (ly <= hi[1] + reach)
    )
    lamps = [lamp for lamp, keep in zip(lamps, near, strict=True) if keep]
    tree = cKDTree(xy)
    for k, lamp in enumerate(lamps):
        if math.isinf(lamp.radius_m):
            idx = np.arange(len(xy))
        else:
            idx = np.asarray(tree.query_ball_point((lamp.x, lamp.y), lamp.radius_m), dtype=np.intp)
            if idx.size == 0:
                continue
        out[idx] += _lamp_illuminance(lamp, xy[idx, 0] - lamp.x, xy[idx, 1] - lamp.y)
        if progress is not None and k % 200 == 0:
            progress(k / len(lamps), "illuminance at points")
    return out


def illuminance_at(
    district: District,
    xy: np.ndarray | Sequence[tuple[float, float]],
    *,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Return the maintained horizontal illuminance at ground points, in lux.

    Parameters
    ----------
    district
        Its ``lights`` layer gives the lamps.
    xy
        Points as an (n, 2) array of x, y in the district CRS (metres).
    cutoff_lx
        Negligible contribution (default from ``standards/en13201.yaml``; 0 = exact).
    photometry_dir
        Folder that relative ``photometry_file`` paths refer to (the district file's
        folder); the working directory is tried after it.

    Returns
    -------
    numpy.ndarray
        Illuminance in lx, one value per point (exact point evaluation, no raster).
    """
    points = np.asarray(xy, dtype=float).reshape(-1, 2)
    lamps = _lamps(
        district.lights,
        cutoff_lx=_cutoff(cutoff_lx),
        photometry_dir=_photometry_dir(photometry_dir),
    )
    return _illuminance_points(lamps, points)


# --------------------------------------------------------------------------- raster


def check_resolution(resolution_m: Any, what: str = "resolution_m") -> float:
    """Return the raster cell size if it is a finite number > 0 metres, else refuse it.

    Raises
    ------
    InputError
        ``resolution_m`` not a number, NaN, infinite or <= 0 (the CLI's
        ``--resolution``), said before any work starts.
    """
    try:
        value = float(resolution_m)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(
            f"{what} {resolution_m!r} must be a finite number of metres > 0 (the raster "
            "cell size, e.g. 1 or 2)"
        )
    return value


def _grid(window: Window, resolution_m: float, max_cells: int) -> tuple[Affine, int, int]:
    minx, miny, maxx, maxy = (float(v) for v in window)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InputError(f"window {window!r} must hold finite coordinates (metres)")
    if not (maxx > minx and maxy > miny):
        raise InputError(f"window {window!r} must be (minx, miny, maxx, maxy) with max > min")
    cols = math.ceil((maxx - minx) / resolution_m - 1e-9)
    rows = math.ceil((maxy - miny) / resolution_m - 1e-9)
    if rows * cols > max_cells:
        raise InputError(
            f"an illuminance raster of {cols} × {rows} = {rows * cols:,} cells at "
            f"{resolution_m:g} m exceeds the limit of {max_cells:,} cells; pass a smaller "
            "window (minx, miny, maxx, maxy) or a coarser resolution (e.g. "
            f"{resolution_m * math.ceil(math.sqrt(rows * cols / max_cells) * 10) / 10:g} m)"
        )
    return Affine(resolution_m, 0.0, minx, 0.0, -resolution_m, maxy), rows, cols


def _accumulate(
    out: np.ndarray,
    transform: Affine,
    lamps: Sequence[_Lamp],
    progress: Progress | None = None,
) -> None:
    """Add every lamp's contribution to ``out`` on the cells within its cutoff radius."""
    rows, cols = out.shape
    res = transform.a
    x0, y0 = transform.c, transform.f
    xs = x0 + (np.arange(cols) + 0.5) * res
    ys = y0 - (np.arange(rows) + 0.5) * res
    step = max(1, len(lamps) // 100)
    for k, lamp in enumerate(lamps):
        radius = lamp.radius_m
        if math.isinf(radius):
            c_lo, c_hi, r_lo, r_hi = 0, cols, 0, rows
        else:
            c_lo = max(0, math.ceil((lamp.x - radius - x0) / res - 0.5))
            c_hi = min(cols, math.floor((lamp.x + radius - x0) / res - 0.5) + 1)
            r_lo = max(0, math.ceil((y0 - lamp.y - radius) / res - 0.5))
            r_hi = min(rows, math.floor((y0 - lamp.y + radius) / res - 0.5) + 1)
            if c_lo >= c_hi or r_lo >= r_hi:
                continue
        dx = (xs[c_lo:c_hi] - lamp.x)[None, :]
        # blocks of rows small enough for the temporaries to stay in cache
        step_rows = max(1, _BLOCK_CELLS // (c_hi - c_lo))
        for r0 in range(r_lo, r_hi, step_rows):
            r1 = min(r_hi, r0 + step_rows)
            dy = (ys[r0:r1] - lamp.y)[:, None]
            out[r0:r1, c_lo:c_hi] += _lamp_illuminance(lamp, dx, dy)
        if progress is not None and k % step == 0:
            progress(k / len(lamps), "illuminance raster")


def illuminance_raster(
    district: District,
    *,
    resolution_m: float = 1.0,
    window: Window | None = None,
    cutoff_lx: float | None = None,
    max_cells: int | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> Raster:
    """Compute the maintained horizontal illuminance on a raster, in lux.

    Parameters
    ----------
    district
        Its ``lights`` layer gives the lamps (all of them, also outside the window).
    resolution_m
        Cell size in metres (> 0).  Values are at cell centres.
    window
        (minx, miny, maxx, maxy) in the district CRS; default the boundary's bounds.
    cutoff_lx
        Negligible contribution (module notes; default 0.01 lx; 0 = exact).
    max_cells
        Refuse rasters with more cells (default ``max_raster_cells`` of en13201.yaml).
    photometry_dir
        Folder for relative ``photometry_file`` paths (the district file's folder).
    progress
        Optional callback (fraction done, message).

    Returns
    -------
    Raster
        float32 illuminance in lx (name ``illuminance``), north-up, in the district CRS.

    Raises
    ------
    InputError
        ``resolution_m`` ≤ 0, a raster above the cell limit (suggests a window or a
        coarser resolution), or a bad lamp (names it).

    Notes
    -----
    Each lamp is evaluated only on the window of cells within its cutoff radius, as one
    vectorised numpy expression; the cost is the number of (lamp, nearby cell) pairs,
    not lamps × cells.
    """
    check_resolution(resolution_m)
    limit = int(_params()["max_raster_cells"]) if max_cells is None else int(max_cells)
    transform, rows, cols = _grid(
        window if window is not None else district.boundary.bounds, resolution_m, limit
    )
    cutoff = _cutoff(cutoff_lx)
    lamps = _lamps(
        district.lights, cutoff_lx=cutoff, photometry_dir=_photometry_dir(photometry_dir)
    )
    out = np.zeros((rows, cols))
    _accumulate(out, transform, lamps, progress)
    if progress is not None:
        progress(1.0, "illuminance raster")
    return Raster(
        array=out.astype(np.float32),
        transform=transform,
        crs=district.crs,
        nodata=None,
        name="illuminance",
        unit="lx",
        description=(
            "Maintained horizontal illuminance E = MF·I(C,γ)·cos³γ/H² summed over "
            f"{len(lamps)} lamps (cutoff {cutoff:g} lx per lamp). "
            f"{district.provenance.statement()}"
        ),
        tags={
            "district": district.name,
            "cutoff_lx": f"{cutoff:g}",
            "resolution_m": f"{resolution_m:g}",
        },
    )


# --------------------------------------------------------------------------- energy


def burning_hours_per_year(latitude_deg: float, *, sun_altitude_deg: float | None = None) -> float:
    """Return the hours a year a dusk-to-dawn lamp burns at a latitude, h/year.

    Parameters
    ----------
    latitude_deg
        Geographic latitude, degrees (north positive), in [-90, 90].
    sun_altitude_deg
        Altitude of the sun's centre at which the lamps switch (photocell), degrees;
        default ``burning_hours.switch_sun_altitude_deg`` of ``standards/en13201.yaml``
        (-2.5°).

    Returns
    -------
    float
        Σ over the 365 days of the year of the night length 24 h − 2·ω₀/15°, where
        cos ω₀ = (sin h₀ − sin φ sin δ) / (cos φ cos δ) (clipped to [-1, 1]: polar day
        and night) is the hour angle at which the sun crosses altitude h₀, φ the
        latitude and δ the declination on day n (Spencer's Fourier series, evaluated at
        midday).  55.4 °N gives 4,096 h (the Danish planning figure ~4,100 h); 40 °N
        4,191 h; the equator 4,253 h.

    Raises
    ------
    InputError
        Latitude not finite or outside [-90, 90].

    Notes
    -----
    Sources: J. W. Spencer (1971), "Fourier series representation of the position of
    the sun", *Search* 2(5): 172 (declination); J. Meeus, *Astronomical Algorithms*,
    2nd ed. (1998), eq. 15.1 (hour angle at a given altitude).  The switching altitude
    is a documented assumption (``uncertain`` in ``standards/en13201.yaml``): a photocell
    switching at ~35–70 lx ambient, reached with the sun 1–4° below the horizon, which
    is ±100 h a year at 55 °N.
    """
    try:
        phi_deg = float(latitude_deg)
    except (TypeError, ValueError):
        phi_deg = math.nan
    if not (math.isfinite(phi_deg) and -90.0 <= phi_deg <= 90.0):
        raise InputError(
            f"latitude {latitude_deg!r} must be a finite number of degrees in [-90, 90] "
            "(district settings latitude_deg)"
        )
    rule = _params()["burning_hours"]
    h0 = math.radians(
        float(rule["switch_sun_altitude_deg"]) if sun_altitude_deg is None else sun_altitude_deg
    )
    day = np.arange(365) + 0.5  # midday of days 1..365, from 1 January
    g = 2.0 * np.pi * day / 365.0
    delta = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    phi = math.radians(phi_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_w = (math.sin(h0) - math.sin(phi) * np.sin(delta)) / (math.cos(phi) * np.cos(delta))
    # at the poles cos φ = 0: the sign of the numerator says day or night all day
    cos_w = np.nan_to_num(cos_w, nan=1.0, posinf=1.0, neginf=-1.0)
    omega = np.arccos(np.clip(cos_w, -1.0, 1.0))  # half-day hour angle, radians
    return float(np.sum(24.0 - 24.0 * omega / np.pi))


def district_latitude(district: District) -> float:
    """Return the latitude of a district for burning hours, degrees.

    ``district.settings.latitude_deg`` when set, else the latitude of the boundary's
    centroid (transformed from the district CRS to WGS84).
    """
    settings = getattr(district, "settings", None)
    value = getattr(settings, "latitude_deg", None)
    if value is not None:
        return float(value)
    from pyproj import Transformer

    centre = district.boundary.centroid
    to_wgs84 = Transformer.from_crs(district.crs, "EPSG:4326", always_xy=True)
    _, lat = to_wgs84.transform(centre.x, centre.y)
    return float(lat)


def lamp_energy_kwh_per_year(
    district: District,
    *,
    inside_boundary: bool = True,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> float:
    """Return the yearly electricity use of the lamps, kWh.

    Parameters
    ----------
    district
        Its lights; its latitude (:func:`district_latitude`) sets the burning hours.
    inside_boundary
        Count only lamps inside the boundary (default).
    photometry_dir
        Folder for relative ``photometry_file`` paths.

    Notes
    -----
    Power per lamp: ``watts``; else the file's wattage scaled by lumens / file flux;
    else ``lumens`` / ``efficacy_lm_per_w`` (``standards/en13201.yaml``, unconfirmed).
    Energy = Σ W × :func:`burning_hours_per_year` (the district's latitude) / 1000.
    """
    lights = district.lights
    if inside_boundary and len(lights):
        lights = lights.loc[shapely.covers(district.boundary, lights.geometry.to_numpy())]
    lamps = _lamps(lights, cutoff_lx=0.0, photometry_dir=_photometry_dir(photometry_dir))
    hours = burning_hours_per_year(district_latitude(district))
    return float(sum(lamp.watts for lamp in lamps) * hours / 1000.0)
