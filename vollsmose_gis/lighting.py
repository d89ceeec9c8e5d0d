"""Street lighting: illuminance rasters, EN 13201 compliance, dark spots, a lamp planner.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.indicators import Indicator
from vollsmose_gis.io import Raster
from vollsmose_gis.photometry import (
    CosinePowerPhotometry,
    Photometry,
    TabulatedPhotometry,
    generic_photometry,
    read_photometry,
)
from vollsmose_gis.standards import highway_defaults, load

__all__ = [
    "GridLayout",
    "LampSpec",
    "LightingPlan",
    "compliance",
    "compliance_summary",
    "cutoff_radius",
    "dark_spots",
    "en13201_grid",
    "illuminance_at",
    "illuminance_raster",
    "indicators",
    "lamp_energy_kwh_per_year",
    "lighting_class_requirements",
    "plan_lights",
    "segment_fields",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
_BLOCK_CELLS = 16_384  # cells evaluated per numpy call in the raster (cache-sized temporaries)
Window = tuple[float, float, float, float]


def _params() -> dict[str, Any]:
    return load("en13201")


# --------------------------------------------------------------------------- classes


def lighting_class_requirements(name: str) -> dict[str, Any]:
    """Return the EN 13201-2 thresholds of a lighting class (``standards/en13201.yaml``).

    Parameters
    ----------
    name
        ``"P1"``…``"P6"`` or ``"C0"``…``"C5"``.

    Returns
    -------
    dict
        ``kind`` ("P" or "C"), ``average_lx``, and ``minimum_lx`` (P) or
        ``uniformity`` (C).

    Raises
    ------
    InputError
        Unknown class.
    """
    classes = _params()["classes"]
    if name not in classes:
        raise InputError(f"unknown lighting class {name!r}; known classes: {', '.join(classes)}")
    return dict(classes[name])


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
    lumens = _number(row, "lumens")
    if not lumens > 0:
        raise InputError(f"{where}: lumens is {row.get('lumens')!r}; it must be > 0")
    mf = _number(row, "maintenance_factor")
    if math.isnan(mf):
        mf = 0.8
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
    return [
        _lamp_from_row(row, float(x), float(y), cutoff_lx=cutoff_lx, photometry_dir=photometry_dir)
        for row, (x, y) in zip(records, xy, strict=True)
    ]


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


def _grid(window: Window, resolution_m: float, max_cells: int) -> tuple[Affine, int, int]:
    minx, miny, maxx, maxy = (float(v) for v in window)
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
    if not resolution_m > 0:
        raise InputError(f"resolution_m must be > 0 metres, got {resolution_m!r}")
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


# --------------------------------------------------------------------------- EN 13201-3 grid


@dataclass(frozen=True)
class GridLayout:
    """EN 13201-3 calculation points of one field.

    Attributes
    ----------
    along_m
        Distances of the point rows from the field start, m (N values).
    across_m
        Offsets of the point columns from the centreline (positive to the left), m.
    spacing_along_m, spacing_across_m
        D = S / N and d = W / n, m.
    """

    along_m: np.ndarray
    across_m: np.ndarray
    spacing_along_m: float
    spacing_across_m: float

    @property
    def n_points(self) -> int:
        """Number of calculation points (N × n)."""
        return int(self.along_m.size * self.across_m.size)


def en13201_grid(spacing_m: float, width_m: float) -> GridLayout:
    """Return the EN 13201-3 calculation grid of a field of length S and width W.

    Parameters
    ----------
    spacing_m
        Field length S (the luminaire spacing), m (> 0).
    width_m
        Width W of the area, m (> 0).

    Notes
    -----
    EN 13201-3:2015 §7: along, N = 10 for S ≤ 30 m, else the smallest integer with
    S/N ≤ 3 m; spacing D = S/N, first point D/2 from the field start.  Across,
    n = max(3, the smallest integer with W/n ≤ 1.5 m); spacing d = W/n, outer points
    d/2 inside the edges.  Thresholds are in ``standards/en13201.yaml``.
    """
    if not spacing_m > 0 or not width_m > 0:
        raise InputError(f"field length {spacing_m!r} m and width {width_m!r} m must be > 0")
    grid = _params()["grid"]
    if spacing_m <= float(grid["short_field_max_m"]) + 1e-9:
        n_along = int(grid["along_points_short"])
    else:
        n_along = math.ceil(spacing_m / float(grid["along_spacing_max_m"]) - 1e-9)
    n_across = max(
        int(grid["across_points_min"]),
        math.ceil(width_m / float(grid["across_spacing_max_m"]) - 1e-9),
    )
    d_along = spacing_m / n_along
    d_across = width_m / n_across
    return GridLayout(
        along_m=d_along * (np.arange(n_along) + 0.5),
        across_m=-width_m / 2 + d_across * (np.arange(n_across) + 0.5),
        spacing_along_m=d_along,
        spacing_across_m=d_across,
    )


def _line_points(line: LineString, field_length: float, fields: int, width: float) -> np.ndarray:
    """Grid points of a line cut into ``fields`` fields, as an (n, 2) array."""
    layout = en13201_grid(field_length, width)
    stations = (np.arange(fields)[:, None] * field_length + layout.along_m[None, :]).ravel()
    length = line.length
    eps = min(0.05, length / 100)
    base = shapely.get_coordinates(shapely.line_interpolate_point(line, stations))
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.minimum(stations + eps, length))
    )
    behind = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.maximum(stations - eps, 0.0))
    )
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])  # to the left
    points = base[:, None, :] + normal[:, None, :] * layout.across_m[None, :, None]
    return points.reshape(-1, 2)


# --------------------------------------------------------------------------- compliance


def _street_width(row: Mapping[str, Any]) -> float:
    width = _number(row, "width_m")
    if width > 0:
        return width
    default = highway_defaults(str(row["highway"])).get("width_m")
    return float(default) if default else 2.0


def _street_class(row: Mapping[str, Any], target_class: str | None) -> tuple[str | None, str]:
    if target_class is not None:
        return target_class, "target"
    value = row.get("lighting_class")
    if isinstance(value, str) and value:
        return value, "layer"
    default = highway_defaults(str(row["highway"])).get("lighting_class")
    return (str(default), "highway default") if default else (None, "none")


def _serving_positions(
    lines: np.ndarray, reach: np.ndarray, lamp_xy: np.ndarray
) -> list[np.ndarray]:
    """Per line, sorted positions along it of the lamps within ``reach`` of it."""
    result: list[np.ndarray] = [np.empty(0) for _ in range(len(lines))]
    if len(lamp_xy) == 0 or len(lines) == 0:
        return result
    points = shapely.points(lamp_xy)
    tree = shapely.STRtree(points)
    line_idx, lamp_idx = tree.query(lines, predicate="dwithin", distance=reach)
    if line_idx.size == 0:
        return result
    along = shapely.line_locate_point(lines[line_idx], points[lamp_idx])
    order = np.lexsort((along, line_idx))
    line_idx, along = line_idx[order], along[order]
    bounds = np.searchsorted(line_idx, np.arange(len(lines) + 1))
    for i in range(len(lines)):
        result[i] = along[bounds[i] : bounds[i + 1]]
    return result


def segment_fields(length_m: float, lamp_positions_m: np.ndarray) -> tuple[float, int]:
    """Return (field length S, number of fields) for a segment of length L.

    Parameters
    ----------
    length_m
        Segment length L, m.
    lamp_positions_m
        Sorted positions along the segment of the lamps serving it, m.

    Notes
    -----
    Project convention (EN 13201-3 defines the field between two luminaires of a
    regular row; district paths are not regular rows): with two or more serving lamps
    S₀ is their mean spacing, (last − first)/(count − 1); otherwise
    ``default_field_length_m`` (30 m).  The segment is cut into
    k = max(1, ⌊L / S₀ + ½⌋) equal fields of S = L / k, so the grid covers the whole
    segment, ends included, with the standard's point density for that spacing.
    """
    grid = _params()["grid"]
    positions = np.unique(np.round(lamp_positions_m, 3))
    spacing = float(grid["default_field_length_m"])
    if positions.size >= 2 and positions[-1] - positions[0] > 0:
        spacing = float((positions[-1] - positions[0]) / (positions.size - 1))
    fields = max(1, math.floor(length_m / spacing + 0.5))  # halves round up
    return length_m / fields, fields


def _segment_points(line: LineString, width: float, lamp_xy: np.ndarray) -> np.ndarray:
    """EN 13201-3 grid points of one segment for a given set of lamp positions."""
    margin = float(_params()["grid"]["association_margin_m"])
    positions = _serving_positions(np.array([line]), np.array([width / 2 + margin]), lamp_xy)[0]
    spacing, fields = segment_fields(line.length, positions)
    return _line_points(line, spacing, fields, width)


def _requirements_columns(class_names: Iterable[str | None]) -> pd.DataFrame:
    columns = ["required_avg_lx", "required_min_lx", "required_U0"]
    rows = []
    for name in class_names:
        if name is None:
            rows.append(
                {"required_avg_lx": np.nan, "required_min_lx": np.nan, "required_U0": np.nan}
            )
            continue
        spec = lighting_class_requirements(name)
        rows.append(
            {
                "required_avg_lx": float(spec["average_lx"]),
                "required_min_lx": float(spec.get("minimum_lx", np.nan)),
                "required_U0": float(spec.get("uniformity", np.nan)),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _assess(
    e_avg: np.ndarray, e_min: np.ndarray, u0: np.ndarray, req: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Pass/fail against EN 13201-2 (P: average and minimum; C: average and U0)."""
    tol = 1e-9
    avg_ok = e_avg >= req["required_avg_lx"].to_numpy() * (1 - tol)
    min_req = req["required_min_lx"].to_numpy()
    u0_req = req["required_U0"].to_numpy()
    min_ok = np.where(np.isnan(min_req), True, e_min >= min_req * (1 - tol))
    u0_ok = np.where(np.isnan(u0_req), True, np.nan_to_num(u0) >= u0_req * (1 - tol))
    passes = avg_ok & min_ok & u0_ok
    over = e_avg > req["required_avg_lx"].to_numpy() * float(_params()["average_max_factor"])
    return passes, over


@dataclass
class _Segments:
    """Assessed street segments with their grids (internal to compliance/planner)."""

    frame: gpd.GeoDataFrame  # one row per assessed street
    points: list[np.ndarray]  # grid points per row
    widths: np.ndarray


def _prepare_segments(
    district: District, lamps: Sequence[_Lamp], target_class: str | None
) -> _Segments:
    if target_class is not None:
        lighting_class_requirements(target_class)  # unknown class -> InputError
    streets = district.streets
    records = streets.drop(columns=streets.geometry.name).to_dict("records")
    keep, classes, sources, widths = [], [], [], []
    for i, row in enumerate(records):
        name, source = _street_class(row, target_class)
        if name is None:
            continue
        try:
            lighting_class_requirements(name)
        except InputError as exc:
            raise InputError(
                f"layer 'streets', feature {row.get('street_id')!r}, column 'lighting_class': {exc}"
            ) from None
        geom = streets.geometry.iloc[i]
        if geom is None or geom.is_empty or geom.length <= 0:
            continue
        keep.append(i)
        classes.append(name)
        sources.append(source)
        widths.append(_street_width(row))
    frame = streets.iloc[keep].copy()
    width = np.asarray(widths, dtype=float)
    lines = frame.geometry.to_numpy()
    margin = float(_params()["grid"]["association_margin_m"])
    lamp_xy = np.array([(lamp.x, lamp.y) for lamp in lamps]).reshape(-1, 2)
    positions = _serving_positions(lines, width / 2 + margin, lamp_xy)
    points, field_lengths, field_counts, serving = [], [], [], []
    for line, w, pos in zip(lines, width, positions, strict=True):
        s, k = segment_fields(line.length, pos)
        points.append(_line_points(line, s, k, w))
        field_lengths.append(s)
        field_counts.append(k)
        serving.append(int(np.unique(np.round(pos, 3)).size))
    cols = ["street_id", "name", "highway", "walk"]
    out = gpd.GeoDataFrame(
        {c: frame[c].to_numpy() for c in cols if c in frame.columns},
        geometry=frame.geometry.to_numpy(),
        crs=streets.crs,
        index=frame.index,
    )
    out["lighting_class"] = classes
    out["class_source"] = sources
    out["width_m"] = width
    out["length_m"] = shapely.length(lines)
    out["field_length_m"] = field_lengths
    out["fields"] = field_counts
    out["lamps_serving"] = serving
    out["grid_points"] = [len(p) for p in points]
    out["in_boundary"] = shapely.intersects(lines, district.boundary)
    return _Segments(out, points, width)


def _evaluate(segments: _Segments, lamps: Sequence[_Lamp]) -> gpd.GeoDataFrame:
    frame = segments.frame.copy()
    counts = [len(p) for p in segments.points]
    all_points = np.concatenate(segments.points) if counts else np.empty((0, 2))
    values = _illuminance_points(lamps, all_points)
    splits = np.split(values, np.cumsum(counts)[:-1]) if counts else []
    e_avg = np.array([v.mean() for v in splits])
    e_min = np.array([v.min() for v in splits])
    with np.errstate(invalid="ignore", divide="ignore"):
        u0 = np.where(e_avg > 0, e_min / np.where(e_avg > 0, e_avg, 1.0), np.nan)
    req = _requirements_columns(frame["lighting_class"])
    passes, over = _assess(e_avg, e_min, u0, req) if len(frame) else (np.array([]), np.array([]))
    frame["E_avg_lx"] = e_avg
    frame["E_min_lx"] = e_min
    frame["U0"] = u0
    for column in req.columns:
        frame[column] = req[column].to_numpy()
    frame["over_lit"] = over.astype(bool)
    frame["pass"] = passes.astype(bool)
    geometry = frame.pop("geometry")
    frame["geometry"] = geometry
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=segments.frame.crs)


def compliance(
    district: District,
    *,
    target_class: str | None = None,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Check every street segment against its EN 13201-2 lighting class.

    Parameters
    ----------
    district
        Streets (with ``lighting_class``, ``width_m``) and lights.
    target_class
        Assess every segment against this class instead of its own (e.g. ``"P4"``).
    cutoff_lx
        Negligible contribution per lamp (module notes; 0 = exact).
    photometry_dir
        Folder for relative ``photometry_file`` paths.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per assessed segment (streets with a class from the layer, else from
        the highway default of ``highways.yaml``; classless streets such as motorways
        are left out): ``street_id``, ``highway``, ``walk``, ``lighting_class``,
        ``class_source``, ``width_m``, ``length_m``, ``field_length_m`` (S),
        ``fields``, ``lamps_serving``, ``grid_points``, ``in_boundary``,
        ``E_avg_lx`` (maintained average), ``E_min_lx``, ``U0`` (E_min/E_avg; NaN when
        dark), the class requirements, ``over_lit`` (average above 1.5 × the class
        value) and ``pass``.

    Raises
    ------
    InputError
        Unknown class (parameter or layer), bad lamps.

    Notes
    -----
    Grid per :func:`en13201_grid` over fields from :func:`segment_fields`; the
    illuminance is evaluated exactly at the grid points (not read from a raster).
    """
    cutoff = _cutoff(cutoff_lx)
    lamps = _lamps(
        district.lights, cutoff_lx=cutoff, photometry_dir=_photometry_dir(photometry_dir)
    )
    return _evaluate(_prepare_segments(district, lamps, target_class), lamps)


# --------------------------------------------------------------------------- dark spots


def _walkable(district: District) -> gpd.GeoSeries:
    streets = district.streets
    walk = streets["walk"].fillna(False).astype(bool) if "walk" in streets else None
    if walk is None or not walk.any():
        return gpd.GeoSeries([], crs=streets.crs)
    chosen = streets.loc[walk.to_numpy()]
    records = chosen.drop(columns=chosen.geometry.name).to_dict("records")
    widths = np.array([_street_width(r) for r in records])
    return gpd.GeoSeries(shapely.buffer(chosen.geometry.to_numpy(), widths / 2), crs=streets.crs)


def dark_spots(
    district: District,
    *,
    raster: Raster | None = None,
    resolution_m: float = 1.0,
    threshold_lx: float | None = None,
    min_area_m2: float | None = None,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Find the connected walkable areas lit below a threshold, as polygons.

    Parameters
    ----------
    district
        Walkable space is the streets with ``walk`` true, buffered by ``width_m``/2,
        inside the boundary.
    raster
        An illuminance raster of the district (default: computed at ``resolution_m``
        over the boundary's bounds).
    resolution_m
        Cell size when the raster is computed, m.
    threshold_lx
        Dark below this illuminance, lx (default ``dark_spot_threshold_lx``, 1 lx).
    min_area_m2
        Drop spots smaller than this, m² (default ``dark_spot_min_area_m2``).
    cutoff_lx, photometry_dir
        As for :func:`illuminance_raster`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``spot_id``, ``area_m2``, ``mean_lx``, ``min_lx`` and polygon geometry (cells
        joined by edges, 4-connectivity), largest first.
    """
    params = _params()
    threshold = float(params["dark_spot_threshold_lx"]) if threshold_lx is None else threshold_lx
    min_area = float(params["dark_spot_min_area_m2"]) if min_area_m2 is None else min_area_m2
    if raster is None:
        raster = illuminance_raster(
            district, resolution_m=resolution_m, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir
        )
    empty = gpd.GeoDataFrame(
        {
            "spot_id": pd.Series(dtype=str),
            "area_m2": pd.Series(dtype=float),
            "mean_lx": pd.Series(dtype=float),
            "min_lx": pd.Series(dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=district.crs),
        crs=district.crs,
    )
    walkable = _walkable(district)
    if walkable.empty:
        return empty
    shape = raster.array.shape
    walk_mask = rasterio.features.rasterize(
        ((g, 1) for g in walkable.intersection(district.boundary) if not g.is_empty),
        out_shape=shape,
        transform=raster.transform,
        fill=0,
        dtype="uint8",
    ).astype(bool)
    dark = walk_mask & (raster.array < threshold)
    labels, count = ndimage.label(dark)
    if count == 0:
        return empty
    index = np.arange(1, count + 1)
    cell_area = abs(raster.transform.a * raster.transform.e)
    areas = ndimage.sum_labels(dark, labels, index) * cell_area
    means = ndimage.mean(raster.array, labels, index)
    mins = ndimage.minimum(raster.array, labels, index)
    polygons: dict[int, list[Any]] = {}
    for geom, value in rasterio.features.shapes(
        labels.astype(np.int32), mask=dark, transform=raster.transform, connectivity=4
    ):
        polygons.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    rows = [
        {
            "label": label,
            "area_m2": float(areas[label - 1]),
            "mean_lx": float(means[label - 1]),
            "min_lx": float(mins[label - 1]),
            "geometry": shapely.union_all(parts),
        }
        for label, parts in polygons.items()
        if areas[label - 1] >= min_area
    ]
    if not rows:
        return empty
    frame = pd.DataFrame(rows).sort_values("area_m2", ascending=False, kind="stable")
    frame.insert(0, "spot_id", [f"dark-{k + 1}" for k in range(len(frame))])
    return gpd.GeoDataFrame(frame.drop(columns="label"), geometry="geometry", crs=district.crs)


# --------------------------------------------------------------------------- energy


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
        Its lights.
    inside_boundary
        Count only lamps inside the boundary (default).
    photometry_dir
        Folder for relative ``photometry_file`` paths.

    Notes
    -----
    Power per lamp: ``watts``; else the file's wattage scaled by lumens / file flux;
    else ``lumens`` / ``efficacy_lm_per_w``.  Energy = Σ W × ``burning_hours_per_year``
    / 1000 (both in ``standards/en13201.yaml``, unconfirmed defaults).
    """
    lights = district.lights
    if inside_boundary and len(lights):
        lights = lights.loc[shapely.covers(district.boundary, lights.geometry.to_numpy())]
    lamps = _lamps(lights, cutoff_lx=0.0, photometry_dir=_photometry_dir(photometry_dir))
    hours = float(_params()["burning_hours_per_year"])
    return float(sum(lamp.watts for lamp in lamps) * hours / 1000.0)


# --------------------------------------------------------------------------- planner


@dataclass(frozen=True)
class LampSpec:
    """The lamp the planner installs (defaults from ``planner.lamp`` of en13201.yaml).

    Attributes
    ----------
    lumens
        Reference flux, lm.
    height_m
        Mounting height, m.
    distribution
        Generic curve name or ``"photometry_file"``.
    maintenance_factor
        MF, 0–1.
    watts
        Input power, W.
    photometry_file
        Path of a ``.ldt``/``.ies`` file when ``distribution`` is ``"photometry_file"``.
    unit_cost_dkk
        Installed cost of one lamp, DKK.
    """

    lumens: float
    height_m: float
    distribution: str = "street_lantern"
    maintenance_factor: float = 0.8
    watts: float = float("nan")
    photometry_file: str | None = None
    unit_cost_dkk: float = float("nan")

    @classmethod
    def default(cls) -> LampSpec:
        """The planner lamp of ``standards/en13201.yaml``, costed from ``unit_costs.yaml``."""
        planner = _params()["planner"]
        return cls(**planner["lamp"], unit_cost_dkk=float(load("unit_costs")["lamp"]))

    @classmethod
    def from_value(cls, value: LampSpec | Mapping[str, Any] | None) -> LampSpec:
        """Accept a LampSpec, a mapping of overrides of the default, or None."""
        if value is None:
            return cls.default()
        if isinstance(value, LampSpec):
            return value
        known = set(cls.__dataclass_fields__)
        unknown = set(value) - known
        if unknown:
            raise InputError(f"unknown lamp field(s) {sorted(unknown)}; allowed: {sorted(known)}")
        return replace(cls.default(), **dict(value))


@dataclass(frozen=True)
class LightingPlan:
    """Result of :func:`plan_lights`.

    Attributes
    ----------
    new_lights
        The added lamps as rows of the ``lights`` layer (ids ``new-L001``…).
    cost_dkk
        Installed cost of the new lamps, DKK.
    compliance_before, compliance_after
        :func:`compliance` of the district before and after.
    district
        The district with the new lamps added.
    unresolved
        Street ids still failing (the lamp cannot light them to their class, or
        ``max_new`` was reached).
    """

    new_lights: gpd.GeoDataFrame
    cost_dkk: float
    compliance_before: gpd.GeoDataFrame
    compliance_after: gpd.GeoDataFrame
    district: District
    unresolved: list[str] = field(default_factory=list)


def _bearing(line: LineString, station: float) -> float:
    length = line.length
    eps = min(0.05, length / 100)
    a = line.interpolate(max(0.0, station - eps))
    b = line.interpolate(min(length, station + eps))
    return math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360.0


def plan_lights(
    district: District,
    *,
    target_class: str | None = None,
    lamp: LampSpec | Mapping[str, Any] | None = None,
    max_new: int | None = None,
    min_spacing_m: float | None = None,
    only_walkable: bool = True,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> LightingPlan:
    """Add lamps along failing segments until they pass EN 13201, with few lamps.

    Parameters
    ----------
    district
        The district to improve (not modified).
    target_class
        Plan every segment for this class instead of its own.
    lamp
        The lamp to install: a :class:`LampSpec` or a mapping overriding the default
        (``planner.lamp`` of ``standards/en13201.yaml``).
    max_new
        Stop after this many new lamps (None: no limit).
    min_spacing_m
        Minimum distance between any two lamps, m (default ``planner.min_spacing_m``).
    only_walkable
        Plan only segments with ``walk`` true (paths and streets people walk), inside
        the boundary.
    cutoff_lx, photometry_dir
        As for :func:`compliance`.
    progress
        Optional callback (fraction done, message).

    Returns
    -------
    LightingPlan
        New lamp rows, cost, compliance before/after, the new district, unresolved ids.

    Notes
    -----
    Failing segments are taken longest first.  For each, two placements are tried and
    the one passing with fewer lamps kept: (a) k lamps evenly spaced along the segment
    (k = 1, 2, … until it passes), and (b) greedy: a lamp at the darkest grid point,
    repeated.  Lamps stand ``setback_m`` outside the path edge (left side first, then
    right), never inside a building, never closer than ``min_spacing_m`` to another
    lamp (the station is shifted along the path in 1 m steps to find a free spot).
    Lamps added for one segment count for all later ones.  A segment that cannot pass
    even with lamps at minimum spacing gets no lamps and is reported unresolved.
    """
    params = _params()["planner"]
    spec = LampSpec.from_value(lamp)
    spacing_min = float(params["min_spacing_m"]) if min_spacing_m is None else float(min_spacing_m)
    if not spacing_min > 0:
        raise InputError(f"min_spacing_m must be > 0 m, got {min_spacing_m!r}")
    if max_new is not None and max_new < 0:
        raise InputError(f"max_new must be >= 0, got {max_new!r}")
    cutoff = _cutoff(cutoff_lx)
    folder = _photometry_dir(photometry_dir)
    template = {
        "light_id": "new",
        "lumens": spec.lumens,
        "height_m": spec.height_m,
        "distribution": spec.distribution,
        "maintenance_factor": spec.maintenance_factor,
        "watts": spec.watts,
        "photometry_file": spec.photometry_file,
        "rotation_deg": 0.0,
        "tilt_deg": 0.0,
    }
    probe = _lamp_from_row(template, 0.0, 0.0, cutoff_lx=cutoff, photometry_dir=folder)
    lamps = _lamps(district.lights, cutoff_lx=cutoff, photometry_dir=folder)
    segments = _prepare_segments(district, lamps, target_class)
    before = _evaluate(segments, lamps)
    buildings = district.buildings.geometry.to_numpy()
    building_tree = shapely.STRtree(buildings[~shapely.is_missing(buildings)])
    setback = float(params["setback_m"])

    placed: list[_Lamp] = []
    occupied = [(lamp_.x, lamp_.y) for lamp_ in lamps]
    occupied_tree = cKDTree(np.asarray(occupied)) if occupied else None
    unresolved: list[str] = []
    candidates = before.loc[~before["pass"]]
    if only_walkable:
        walk = candidates["walk"].fillna(False).astype(bool) if "walk" in candidates else False
        candidates = candidates.loc[walk & candidates["in_boundary"]]
    order = candidates.sort_values("length_m", ascending=False, kind="stable").index
    positions = {index: k for k, index in enumerate(segments.frame.index)}

    def free(x: float, y: float, taken: list[tuple[float, float]]) -> bool:
        """Not in a building, and min spacing from placed lamps and from ``taken`` ones."""
        if occupied_tree is not None and occupied_tree.query((x, y))[0] < spacing_min - 1e-9:
            return False
        if taken and np.min(np.hypot(*(np.asarray(taken) - (x, y)).T)) < spacing_min - 1e-9:
            return False
        hits = building_tree.query(Point(x, y), predicate="intersects")
        return hits.size == 0

    def site(
        line: LineString,
        width: float,
        station: float,
        taken: list[tuple[float, float]],
        reach: float,
    ) -> _Lamp | None:
        offset = width / 2 + setback
        for shift in np.arange(0.0, reach + 1e-9, 1.0):
            for s in (station + shift, station - shift) if shift else (station,):
                if not 0.0 <= s <= line.length:
                    continue
                bearing = _bearing(line, s)
                base = line.interpolate(s)
                rad = math.radians(bearing)
                # left normal of the direction of travel (east, north components)
                nx, ny = -math.cos(rad), math.sin(rad)
                for side in (1.0, -1.0):
                    x, y = base.x + side * offset * nx, base.y + side * offset * ny
                    if free(x, y, taken):
                        # C0 along the path, C90 (left of C0) towards it
                        rotation = bearing if side < 0 else (bearing + 180.0) % 360.0
                        return replace(probe, x=x, y=y, rotation_deg=rotation)
        return None

    def near(pool: Sequence[_Lamp], line: LineString, width: float) -> list[_Lamp]:
        minx, miny, maxx, maxy = line.bounds
        pad = width / 2 + float(_params()["grid"]["association_margin_m"])
        return [
            p
            for p in pool
            if minx - max(p.radius_m, pad) - width <= p.x <= maxx + max(p.radius_m, pad) + width
            and miny - max(p.radius_m, pad) - width <= p.y <= maxy + max(p.radius_m, pad) + width
        ]

    def check(
        line: LineString, width: float, pool: list[_Lamp], extra: list[_Lamp], req: pd.DataFrame
    ) -> tuple[bool, np.ndarray, np.ndarray]:
        """Pass?, grid points and their illuminance with ``extra`` lamps added.

        The grid is rebuilt from the lamps serving the segment, new ones included, exactly
        as compliance() will build it for the planned district.
        """
        every = [*pool, *extra]
        xy = np.array([(p.x, p.y) for p in every]).reshape(-1, 2)
        points = _segment_points(line, width, xy)
        e = _illuminance_points(every, points)
        avg = np.array([e.mean()])
        u0 = np.array([e.min() / avg[0] if avg[0] > 0 else np.nan])
        ok, _ = _assess(avg, np.array([e.min()]), u0, req)
        return bool(ok[0]), points, e

    total = len(order)
    for done, index in enumerate(order):
        if progress is not None:
            progress(done / max(total, 1), "planning lamps")
        k = positions[index]
        row = segments.frame.loc[index]
        line = row.geometry
        width = float(segments.widths[k])
        req = _requirements_columns([row["lighting_class"]])
        pool = near([*lamps, *placed], line, width)
        ok, points, e = check(line, width, pool, [], req)
        if ok:
            continue
        length = float(line.length)
        budget = None if max_new is None else max_new - len(placed)
        if budget is not None and budget <= 0:
            unresolved.append(str(row["street_id"]))
            continue
        k_max = int(length // spacing_min) + 1
        if budget is not None:
            k_max = min(k_max, budget)
        best: list[_Lamp] | None = None
        for count in range(1, k_max + 1):  # (a) evenly spaced
            taken: list[tuple[float, float]] = []
            trial: list[_Lamp] = []
            for j in range(count):
                new = site(line, width, length * (j + 0.5) / count, taken, length / count / 2)
                if new is not None:
                    trial.append(new)
                    taken.append((new.x, new.y))
            if trial and check(line, width, pool, trial, req)[0]:
                best = trial
                break
        limit = k_max if best is None else len(best) - 1
        taken = []
        greedy: list[_Lamp] = []
        while len(greedy) < limit:  # (b) darkest point first
            darkest = points[int(np.argmin(e))]
            new = site(line, width, float(line.project(Point(darkest))), taken, length / 2)
            if new is None:
                break
            greedy.append(new)
            taken.append((new.x, new.y))
            ok, points, e = check(line, width, pool, greedy, req)
            if ok:
                best = greedy
                break
        if best is None:
            unresolved.append(str(row["street_id"]))
            log.info(
                "segment %s cannot reach %s with the planner lamp",
                row["street_id"],
                row["lighting_class"],
            )
            continue
        for new in best:
            placed.append(new)
            occupied.append((new.x, new.y))
        occupied_tree = cKDTree(np.asarray(occupied)) if occupied else None

    ids = [f"new-L{n + 1:03d}" for n in range(len(placed))]
    new_rows = gpd.GeoDataFrame(
        {
            "light_id": ids,
            "lumens": spec.lumens,
            "height_m": spec.height_m,
            "distribution": spec.distribution,
            "maintenance_factor": spec.maintenance_factor,
            "watts": [p.watts for p in placed],
            "photometry_file": spec.photometry_file,
            "rotation_deg": [p.rotation_deg for p in placed],
            "tilt_deg": 0.0,
        },
        geometry=gpd.GeoSeries(
            shapely.points([(p.x, p.y) for p in placed]).tolist() if placed else [],
            crs=district.crs,
        ),
        crs=district.crs,
    )
    combined = (
        pd.concat([district.lights, new_rows], ignore_index=True) if placed else district.lights
    )
    new_district = district.replace(
        lights=gpd.GeoDataFrame(combined, geometry="geometry", crs=district.crs)
    )
    all_lamps = [*lamps, *(replace(p, light_id=i) for p, i in zip(placed, ids, strict=True))]
    after = _evaluate(_prepare_segments(new_district, all_lamps, target_class), all_lamps)
    still = after.loc[after.index.isin(order) & ~after["pass"], "street_id"].astype(str)
    unresolved = sorted(set(unresolved) | set(still))
    if progress is not None:
        progress(1.0, "planning lamps")
    unit = spec.unit_cost_dkk
    cost = float(len(placed) * (unit if unit == unit else float(load("unit_costs")["lamp"])))
    return LightingPlan(new_rows, cost, before, after, new_district, unresolved)


# --------------------------------------------------------------------------- indicators


def indicators(
    district: District,
    *,
    resolution_m: float = 1.0,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    compliance_frame: gpd.GeoDataFrame | None = None,
    dark: gpd.GeoDataFrame | None = None,
) -> dict[str, Indicator]:
    """Return the lighting indicators of a district (theme "safety and security").

    Parameters
    ----------
    district
        The district.
    resolution_m
        Raster cell size for the dark-spot area, m.
    cutoff_lx, photometry_dir
        As for :func:`compliance`.
    compliance_frame, dark
        Results of :func:`compliance` / :func:`dark_spots` already computed (reused).

    Returns
    -------
    dict
        ``lit_path_share`` (length share of walkable segments inside the boundary that
        pass their class; NaN if none), ``dark_spot_area_m2``, ``mean_illuminance_lx``
        (length-weighted mean of the segments' Ē on those paths) and
        ``lighting_energy_kwh_per_year`` (lamps inside the boundary).
    """
    frame = compliance_frame
    if frame is None:
        frame = compliance(district, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir)
    if dark is None:
        dark = dark_spots(
            district, resolution_m=resolution_m, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir
        )
    walk = frame["walk"].fillna(False).astype(bool) if "walk" in frame else pd.Series(False)
    paths = frame.loc[walk & frame["in_boundary"]]
    length = paths["length_m"].sum()
    share = float(paths.loc[paths["pass"], "length_m"].sum() / length) if length > 0 else math.nan
    mean_lx = (
        float((paths["E_avg_lx"] * paths["length_m"]).sum() / length) if length > 0 else math.nan
    )
    energy = lamp_energy_kwh_per_year(district, photometry_dir=photometry_dir)
    theme = "safety and security"
    return {
        "lit_path_share": Indicator(
            share, "share", True, theme, "Share of path length lit to its EN 13201 class"
        ),
        "dark_spot_area_m2": Indicator(
            float(dark["area_m2"].sum()), "m2", False, theme, "Area of dark spots on paths"
        ),
        "mean_illuminance_lx": Indicator(
            mean_lx, "lx", True, theme, "Mean maintained illuminance on paths"
        ),
        "lighting_energy_kwh_per_year": Indicator(
            energy, "kWh/year", False, theme, "Street-lighting electricity use"
        ),
    }


def compliance_summary(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Summarise a :func:`compliance` frame by lighting class.

    Returns
    -------
    pandas.DataFrame
        Per class: ``segments``, ``passing``, ``length_m``, ``passing_length_m``,
        ``passing_share`` (of length), ``mean_E_avg_lx`` (length-weighted).
    """
    if len(frame) == 0:
        return pd.DataFrame(
            columns=[
                "lighting_class",
                "segments",
                "passing",
                "length_m",
                "passing_length_m",
                "passing_share",
                "mean_E_avg_lx",
            ]
        )
    data = pd.DataFrame(
        {
            "lighting_class": frame["lighting_class"].astype(str),
            "pass": frame["pass"].astype(bool),
            "length_m": frame["length_m"].astype(float),
            "lit_length": frame["E_avg_lx"].astype(float) * frame["length_m"].astype(float),
        }
    )
    data["passing_length_m"] = data["length_m"].where(data["pass"], 0.0)
    grouped = data.groupby("lighting_class", sort=True)
    out = pd.DataFrame(
        {
            "segments": grouped.size(),
            "passing": grouped["pass"].sum().astype(int),
            "length_m": grouped["length_m"].sum(),
            "passing_length_m": grouped["passing_length_m"].sum(),
            "lit_length": grouped["lit_length"].sum(),
        }
    )
    out["passing_share"] = out["passing_length_m"] / out["length_m"]
    out["mean_E_avg_lx"] = out.pop("lit_length") / out["length_m"]
    return out.reset_index()


# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    resolution_m: float = 1.0,
    target_class: str | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> ModuleResult:
    """The module's pipeline: compliance per segment, illuminance raster, dark spots."""
    segments = compliance(district, target_class=target_class, photometry_dir=photometry_dir)
    raster = illuminance_raster(
        district, resolution_m=resolution_m, photometry_dir=photometry_dir, progress=progress
    )  # over the boundary
    dark = dark_spots(district, raster=raster)
    values = indicators(
        district, compliance_frame=segments, dark=dark, photometry_dir=photometry_dir
    )
    return ModuleResult(
        values,
        {"lighting_segments": segments, "lighting_dark_spots": dark},
        {"illuminance": raster},
        extras={"summary": compliance_summary(segments)},
    )


SPEC = AnalysisSpec(
    name="lighting",
    themes=("safety and security",),
    # illuminance, EN 13201 compliance and dark spots depend on streets and lamps only
    reads=("streets", "lights"),
    compute=_compute,
    parameters={
        "resolution_m": 1.0,
        "target_class": None,
        "photometry_dir": None,
        "progress": None,
    },
    summary="EN 13201 compliance per path segment, illuminance raster, dark spots, energy.",
)
"""The street-lighting analysis (see :mod:`vollsmose_gis.analysis`)."""
