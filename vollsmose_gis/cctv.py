"""CCTV coverage: occluded viewsheds, DORI pixel density, coverage and camera placement.

For every camera of a District this module computes, on a raster, the cells it sees:
inside its horizontal field of view, within the distance of the lowest DORI level asked
for, outside the blind zone below it (when a vertical field of view is given) and not
hidden behind a building.  Each seen cell gets the pixel density the camera delivers
there (IEC 62676-4 geometry, slant distance) and the DORI level that density reaches;
the combined raster keeps the best level any camera achieves.  From it come the
coverage of what matters (walkable street and path length, squares and other public
open space, building entrances), the privacy figure (private outdoor space seen, to
minimise) and the indicators; :func:`plan_cameras` places new cameras greedily.

Occlusion model
---------------
Building footprints are rasterised once (cell-centre rule) with their heights
(``height_m``, else ``floors`` x storey height, else a default; see
``standards/dori.yaml``); every camera shares that raster.  A cell is seen when no
building cell touched by the horizontal sight line from the camera to the cell centre
rises above the 3-D sight line from the camera (at its mounting height) to a face at
1.7 m above the target.  Cells are closed squares (a sight line through a corner touches
all four cells), and occluders closer to the camera than the mount clearance are
ignored (the wall a camera hangs on).  The ground is flat (no terrain model).

The line of sight is exact for that raster model: for each target cell the sight line's
crossings with the grid lines are enumerated in closed form (numpy, all target cells of
a camera at once), and the building heights on both sides of each crossing are compared
with the sight line's height there.  Because the sight line is straight, a building
cell rises above it somewhere if and only if it does at one of the crossings bounding
that cell, so checking crossings is exact; ``benchmarks/bench_cctv.py`` checks it cell
for cell against a shapely per-cell check against the building polygons.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.indicators import Indicator
from vollsmose_gis.io import Raster
from vollsmose_gis.standards import layer_schemas, load

__all__ = [
    "CameraWarning",
    "CctvResult",
    "add_cameras",
    "building_heights",
    "camera_candidates",
    "camera_setup",
    "coverage",
    "dori_distances",
    "dori_levels",
    "indicators",
    "pixel_density",
    "plan_cameras",
    "viewsheds",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

NOT_SEEN = 0
"""Level code of a cell no camera sees at any level."""
MASKED = 255
"""Level code (nodata) of a cell that is never reported: building interior, private."""
_EPS = 1e-9
_CHUNK_CROSSINGS = 250_000  # crossings checked per numpy pass (~15 MB per array)
_BATCH_TARGETS = 200_000  # target cells per batch of cameras


class CameraWarning(UserWarning):
    """A camera was given a default (no heading) or left out (inside a building)."""


def _standard() -> dict[str, Any]:
    return load("dori")


# --------------------------------------------------------------------------- DORI


def dori_levels(edition: str | None = None) -> dict[str, float]:
    """Return the DORI levels of an edition of IEC 62676-4: name -> px/m, lowest first.

    Parameters
    ----------
    edition
        ``"2015"`` (default, ``standards/dori.yaml``) or ``"2025"`` (identification at
        500 px/m; unconfirmed, see the YAML).

    Raises
    ------
    InputError
        Unknown edition.
    """
    std = _standard()
    name = str(edition or std["default_edition"])
    editions = std["editions"]
    if name not in editions:
        raise InputError(f"unknown IEC 62676-4 edition {name!r}; known: {sorted(editions)}")
    levels = {str(k): float(v) for k, v in editions[name]["levels"].items()}
    return dict(sorted(levels.items(), key=lambda kv: kv[1]))


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
    IEC 62676-4 geometry (``../shared/DOMAIN.md``).  From 180° on, the width is the arc
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
        IEC 62676-4 edition of the levels (see :func:`dori_levels`).

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


# --------------------------------------------------------------------------- inputs


def building_heights(buildings: gpd.GeoDataFrame) -> pd.Series:
    """Return the height of every building used as an occluder (m).

    ``height_m`` where given (> 0), else ``floors`` x storey height (3 m), else the
    default building height of ``standards/dori.yaml`` (6 m, unconfirmed).  The Series
    is on the layer's index, named ``occluder_height_m``.
    """
    occ = _standard()["occlusion"]
    index = buildings.index
    height = (
        pd.to_numeric(buildings["height_m"], errors="coerce")
        if "height_m" in buildings
        else pd.Series(np.nan, index=index)
    ).astype(float)
    floors = (
        pd.to_numeric(buildings["floors"], errors="coerce")
        if "floors" in buildings
        else pd.Series(np.nan, index=index)
    ).astype(float)
    from_floors = floors.where(floors > 0) * float(occ["storey_height_m"])
    out = (
        height.where(height > 0).fillna(from_floors).fillna(float(occ["default_building_height_m"]))
    )
    return out.rename("occluder_height_m")


def camera_setup(
    district: District, *, inside_building: Literal["warn", "error"] = "warn"
) -> gpd.GeoDataFrame:
    """Return the cameras with every parameter filled in, checked, and their status.

    Empty values take the defaults of ``standards/layers.yaml`` (height 4 m, 90°,
    1920 px, tilt 0°).  A camera without a heading (a hand-made layer, a scenario; the
    OSM importer drops fixed cameras without ``camera:direction`` and makes dome and
    panning ones see all round) faces the nearest walkable street or path within 50 m,
    else north, with a :class:`CameraWarning` naming it.  A camera more than 1 m inside a
    building footprint (``standards/dori.yaml``) gets status ``"inside_building"`` and
    is not analysed.

    Parameters
    ----------
    district
        The District; its ``cameras`` layer is read.
    inside_building
        ``"warn"`` (default): a camera inside a building is reported with a
        :class:`CameraWarning` and left out, since OSM maps indoor cameras inside
        buildings and they watch no public space.  ``"error"``: raise instead.

    Returns
    -------
    geopandas.GeoDataFrame
        ``camera_id, height_m, heading_deg, heading_defaulted, hfov_deg, vfov_deg,
        resolution_px, tilt_deg, status, inside_building_id`` and the point geometry.

    Raises
    ------
    InputError
        Listing every camera with a bad value: field of view <= 0 or > 360, resolution
        <= 0, height <= 0, tilt outside [-90, 90], vfov outside (0, 180], a geometry that
        is not a point; or, with ``inside_building="error"``, cameras inside buildings.
    """
    cams = district.cameras
    schema = layer_schemas()["cameras"]["columns"]
    ids = (
        cams["camera_id"].astype("string").fillna("").tolist()
        if "camera_id" in cams
        else [""] * len(cams)
    )
    ids = [i or f"row {n}" for n, i in enumerate(ids)]

    def column(name: str) -> np.ndarray:
        if name not in cams:
            return np.full(len(cams), np.nan)
        return pd.to_numeric(cams[name], errors="coerce").astype(float).to_numpy()

    def filled(name: str) -> np.ndarray:
        values = column(name)
        default = schema[name].get("default")
        return np.where(np.isnan(values), np.nan if default is None else float(default), values)

    height = filled("height_m")
    hfov = filled("hfov_deg")
    resolution = filled("resolution_px")
    tilt = filled("tilt_deg")
    vfov = column("vfov_deg")
    heading = column("heading_deg")

    problems: list[str] = []
    geoms = cams.geometry.to_numpy()
    for i, cid in enumerate(ids):
        geom = geoms[i]
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            problems.append(f"camera {cid!r}: geometry must be a point")
        if not (np.isfinite(hfov[i]) and 0 < hfov[i] <= 360):
            problems.append(f"camera {cid!r}: hfov_deg {hfov[i]:g} must be > 0 and <= 360")
        if not (np.isfinite(resolution[i]) and resolution[i] > 0):
            problems.append(f"camera {cid!r}: resolution_px {resolution[i]:g} must be > 0")
        if not (np.isfinite(height[i]) and height[i] > 0):
            problems.append(f"camera {cid!r}: height_m {height[i]:g} must be > 0")
        if not (np.isfinite(tilt[i]) and -90 <= tilt[i] <= 90):
            problems.append(f"camera {cid!r}: tilt_deg {tilt[i]:g} must be in [-90, 90]")
        if not np.isnan(vfov[i]) and not (0 < vfov[i] <= 180):
            problems.append(f"camera {cid!r}: vfov_deg {vfov[i]:g} must be > 0 and <= 180")
        if np.isinf(heading[i]):
            problems.append(f"camera {cid!r}: heading_deg {heading[i]:g} is not finite")
    if problems:
        raise InputError(
            f"{len(problems)} problem(s) in layer 'cameras':\n"
            + "\n".join(f"  - {p}" for p in problems)
        )

    points = np.asarray(geoms, dtype=object)
    missing = np.isnan(heading)
    defaulted = missing.copy()
    if missing.any():
        heading[missing] = _default_headings(district, points[missing])
        named = ", ".join(repr(ids[i]) for i in np.flatnonzero(missing))
        warnings.warn(
            f"camera(s) {named} have no heading (camera:direction); assumed to face the "
            "nearest walkable street or path within "
            f"{_standard()['missing_heading']['search_radius_m']:g} m, else north",
            CameraWarning,
            stacklevel=2,
        )
    heading = np.mod(heading, 360.0)

    status = np.full(len(cams), "ok", dtype=object)
    inside_id = np.full(len(cams), None, dtype=object)
    if len(cams) and len(district.buildings):
        tolerance = float(_standard()["occlusion"]["facade_tolerance_m"])
        footprints = district.buildings.geometry.to_numpy()
        cam_idx, bld_idx = shapely.STRtree(footprints).query(points, predicate="within")
        depth = (
            shapely.distance(points[cam_idx], shapely.boundary(footprints[bld_idx]))
            if len(cam_idx)
            else np.array([])
        )
        deep = depth > tolerance
        building_ids = district.buildings["building_id"].astype("string").tolist()
        for c, b in zip(cam_idx[deep], bld_idx[deep], strict=True):
            status[c] = "inside_building"
            inside_id[c] = building_ids[b]
        inside = np.flatnonzero(status == "inside_building")
        if len(inside):
            listing = ", ".join(f"{ids[i]!r} (in building {inside_id[i]!r})" for i in inside)
            message = (
                f"camera(s) {listing} stand more than {tolerance:g} m inside a building "
                "footprint; move them onto the facade (an indoor camera watches no public "
                "space)"
            )
            if inside_building == "error":
                raise InputError(message)
            warnings.warn(message + "; they are left out", CameraWarning, stacklevel=2)

    return gpd.GeoDataFrame(
        {
            "camera_id": pd.array(ids, dtype="string"),
            "height_m": height,
            "heading_deg": heading,
            "heading_defaulted": defaulted,
            "hfov_deg": hfov,
            "vfov_deg": vfov,
            "resolution_px": resolution.round().astype(np.int64),
            "tilt_deg": tilt,
            "status": pd.array(status, dtype="string"),
            "inside_building_id": pd.array(inside_id, dtype="string"),
        },
        geometry=gpd.GeoSeries(points, crs=district.crs),
        crs=district.crs,
    )


def _walkable(district: District) -> gpd.GeoDataFrame:
    streets = district.streets
    if not len(streets):
        return streets
    walk = streets["walk"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    tunnel = streets["tunnel"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return streets[walk & ~tunnel]


def _default_headings(district: District, points: np.ndarray) -> np.ndarray:
    rule = _standard()["missing_heading"]
    out = np.full(len(points), float(rule["fallback_deg"]))
    lines = _walkable(district).geometry.to_numpy()
    if not len(lines):
        return out
    tree = shapely.STRtree(lines)
    pt_idx, line_idx = tree.query_nearest(
        points, max_distance=float(rule["search_radius_m"]), all_matches=False
    )
    nearest = shapely.shortest_line(points[pt_idx], lines[line_idx])
    coords = shapely.get_coordinates(nearest).reshape(-1, 2, 2)
    dx = coords[:, 1, 0] - coords[:, 0, 0]
    dy = coords[:, 1, 1] - coords[:, 0, 1]
    ok = np.hypot(dx, dy) > 1e-6
    out[pt_idx[ok]] = np.mod(np.degrees(np.arctan2(dx[ok], dy[ok])), 360.0)
    return out


# --------------------------------------------------------------------------- raster model


@dataclass(frozen=True)
class _Grid:
    """A north-up grid: ``shape`` (rows, cols), cell size ``res`` (m), top-left corner."""

    xmin: float
    ymax: float
    res: float
    shape: tuple[int, int]

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.xmin, 0.0, -self.res, self.ymax)

    def to_cell(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """World (m) -> continuous cell coordinates (column axis, row axis)."""
        return (np.asarray(x) - self.xmin) / self.res, (self.ymax - np.asarray(y)) / self.res

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.xmin + (cols + 0.5) * self.res, self.ymax - (rows + 0.5) * self.res


def _grid_for(bounds: Iterable[float], res: float) -> _Grid:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    xmin = math.floor(minx / res) * res
    ymax = math.ceil(maxy / res) * res
    cols = max(1, math.ceil((maxx - xmin) / res - 1e-9))
    rows = max(1, math.ceil((ymax - miny) / res - 1e-9))
    if rows * cols > 200_000_000:
        raise InputError(
            f"the CCTV raster would have {rows} x {cols} cells at {res:g} m; use a coarser "
            "resolution_m or a smaller study area"
        )
    return _Grid(xmin, ymax, res, (rows, cols))


@dataclass(frozen=True)
class _Occluders:
    """Building heights on the grid, and tables of the heights met on each grid line.

    ``vertical[j, k]`` is the highest building touching the vertical grid line x = k
    at position j: even j = 2m is the grid point at row line m (up to four cells meet
    there), odd j = 2m + 1 the open segment between row lines m and m + 1 (two cells).
    ``horizontal[k, j]`` is the same for the horizontal line y = k.  One lookup per
    crossing then covers a sight line through a corner as well as through an edge.
    """

    height: np.ndarray  # (rows, cols) float32 heights (m), 0 = open ground
    vertical: np.ndarray  # (2 rows + 1, cols + 1)
    horizontal: np.ndarray  # (rows + 1, 2 cols + 1)


def _occluders(buildings: gpd.GeoDataFrame, grid: _Grid) -> _Occluders:
    rows, cols = grid.shape
    height = np.zeros(grid.shape, dtype=np.float32)
    if len(buildings):
        heights = building_heights(buildings).to_numpy()
        order = np.argsort(heights, kind="stable")  # tallest burnt last: it wins overlaps
        shapes = [
            (g, float(h))
            for g, h in zip(buildings.geometry.to_numpy()[order], heights[order], strict=True)
            if g is not None and not g.is_empty
        ]
        if shapes:
            height = rasterio.features.rasterize(
                shapes,
                out_shape=grid.shape,
                transform=grid.transform,
                fill=0.0,
                dtype="float32",
            )
    padded = np.zeros((rows + 2, cols + 2), dtype=np.float32)
    padded[1:-1, 1:-1] = height
    # highest of the four cells around each grid point (rows + 1, cols + 1)
    corner = np.maximum(
        np.maximum(padded[:-1, :-1], padded[:-1, 1:]), np.maximum(padded[1:, :-1], padded[1:, 1:])
    )
    vertical = np.empty((2 * rows + 1, cols + 1), dtype=np.float32)
    vertical[0::2] = corner
    vertical[1::2] = np.maximum(padded[1:-1, :-1], padded[1:-1, 1:])
    horizontal = np.empty((rows + 1, 2 * cols + 1), dtype=np.float32)
    horizontal[:, 0::2] = corner
    horizontal[:, 1::2] = np.maximum(padded[:-1, 1:-1], padded[1:, 1:-1])
    return _Occluders(height, vertical, horizontal)


def _crossings_blocked(
    c_p: np.ndarray,
    d_p: np.ndarray,
    c_q: np.ndarray,
    d_q: np.ndarray,
    t_lo: np.ndarray,
    t_hi: np.ndarray,
    z0: np.ndarray,
    dz: np.ndarray,
    table: np.ndarray,
    lines_first: bool,
) -> np.ndarray:
    """Whether a building rises above each sight line where it crosses the lines p = k.

    ``p`` is the axis the lines are perpendicular to (the column axis for vertical
    lines), ``q`` the other.  Sight line i starts at its camera (``c_p[i]``,
    ``c_q[i]``) and runs by (``d_p[i]``, ``d_q[i]``) cells to its target; its height
    above ground at parameter t is ``z0[i] + dz[i] t``; only crossings with
    ``t_lo < t <= t_hi`` are checked.  ``table`` is :attr:`_Occluders.vertical`
    (``lines_first`` False) or ``.horizontal`` (True).
    """
    blocked = np.zeros(len(d_p), dtype=bool)
    forward = d_p > 0
    floor_c, ceil_c = np.floor(c_p), np.ceil(c_p)
    count = np.where(forward, np.floor(c_p + d_p) - floor_c, ceil_c - np.ceil(c_p + d_p))
    count[d_p == 0] = 0
    first = np.where(forward, floor_c + 1.0, ceil_c - 1.0)  # first line crossed
    gap = np.abs(first - c_p)  # cells along p from the camera to that line
    span = np.abs(d_p)
    # crossing n (from 0) lies at t = (gap + n) / span
    skip = np.maximum(np.floor(t_lo * span - gap) + 1.0, 0.0)
    end = np.minimum(np.floor(t_hi * span - gap) + 1.0, count)
    remaining = end - skip
    active = np.flatnonzero(remaining > 0)
    if not len(active):
        return blocked
    # similar counts per chunk: little padding
    order = active[np.argsort(remaining[active], kind="stable")]
    width = table.shape[1]
    flat = table.ravel()
    direction = np.where(forward, 1.0, -1.0)
    ordered = remaining[order]
    start = 0
    while start < len(order):
        # the largest chunk whose padded size (rows x its longest row) fits the budget
        most = max(1, min(len(order) - start, int(_CHUNK_CROSSINGS // ordered[start])))
        padded = ordered[start : start + most] * np.arange(1, most + 1)
        size = max(1, int(np.searchsorted(padded, _CHUNK_CROSSINGS, side="right")))
        sel = order[start : start + size]
        start += size
        rem = remaining[sel]
        s = np.arange(int(rem[-1]), dtype=np.float64)
        # rows shorter than the chunk's longest repeat their last crossing (harmless)
        offset = skip[sel][:, None] + np.minimum(s, rem[:, None] - 1.0)
        line = (first[sel][:, None] + direction[sel][:, None] * offset).astype(np.int64)
        t = (gap[sel][:, None] + offset) / span[sel][:, None]
        u = (c_q[sel] + _EPS)[:, None] + t * d_q[sel][:, None]
        m = np.floor(u)
        # grid point (even index) when within _EPS of a line, else the segment (odd)
        j = (2.0 * m + (u - m >= 2.0 * _EPS)).astype(np.int64)
        h = flat[line * width + j] if lines_first else flat[j * width + line]
        blocked[sel] = (h > z0[sel][:, None] + dz[sel][:, None] * t).any(axis=1)
    return blocked


_BINS = 1440  # angular bins (0.25°) of the per-camera building-distance index


def _building_distances_by_angle(
    cam_x: np.ndarray,
    cam_y: np.ndarray,
    occ: _Occluders,
    boxes: list[tuple[int, int, int, int]],
    near: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest and farthest distance (cells) of building cells per camera and direction.

    For camera i only the building cells inside ``boxes[i]`` (row0, row1, col0, col1)
    reaching beyond ``near`` cells from it count.  A sight line in direction bin b can
    touch a building cell only between ``lo[i, b]`` and ``hi[i, b]`` (inf / -inf: no
    building that way), so crossings outside that stretch need no check: an exact
    pruning.  Returns the two (cameras x _BINS) arrays, flattened.
    """
    lo = np.full(len(boxes) * _BINS, np.inf)
    hi = np.full(len(boxes) * _BINS, -np.inf)
    parts_r, parts_c, parts_i = [], [], []
    for i, (r0, r1, c0, c1) in enumerate(boxes):
        br, bc = np.nonzero(occ.height[r0:r1, c0:c1] > 0)
        parts_r.append(br + r0)
        parts_c.append(bc + c0)
        parts_i.append(np.full(len(br), i))
    owner = np.concatenate(parts_i) if parts_i else np.empty(0, np.int64)
    if not len(owner):
        return lo, hi
    y0 = np.concatenate(parts_r) - cam_y[owner]  # cell edges relative to the camera
    x0 = np.concatenate(parts_c) - cam_x[owner]
    x1, y1 = x0 + 1.0, y0 + 1.0
    far = np.hypot(np.maximum(np.abs(x0), np.abs(x1)), np.maximum(np.abs(y0), np.abs(y1)))
    keep = far >= near
    x0, x1, y0, y1, far, owner = x0[keep], x1[keep], y0[keep], y1[keep], far[keep], owner[keep]
    closest = np.hypot(np.clip(0.0, x0, x1), np.clip(0.0, y0, y1))
    centre = np.degrees(np.arctan2(y0 + 0.5, x0 + 0.5))
    turn = [
        (np.degrees(np.arctan2(y, x)) - centre + 180.0) % 360.0 - 180.0
        for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))
    ]
    width = 360.0 / _BINS
    first = np.floor((centre + np.minimum.reduce(turn) - 1e-6) / width).astype(np.int64)
    last = np.floor((centre + np.maximum.reduce(turn) + 1e-6) / width).astype(np.int64)
    length = last - first + 1
    cell = np.repeat(np.arange(len(first)), length)
    bins = first[cell] + np.arange(len(cell)) - np.repeat(np.cumsum(length) - length, length)
    bins = owner[cell] * _BINS + bins % _BINS
    np.minimum.at(lo, bins, closest[cell])
    np.maximum.at(hi, bins, far[cell])
    return lo, hi


def _line_of_sight(
    cam_x: np.ndarray,
    cam_y: np.ndarray,
    cam_z: np.ndarray,
    owner: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    occ: _Occluders,
    *,
    res: float,
    target_z: float,
    clearance_m: float,
) -> np.ndarray:
    """Return which targets their camera sees (exact for the rasterised buildings).

    Cameras i have positions (``cam_x[i]``, ``cam_y[i]``) and heights ``cam_z[i]`` (m);
    target j belongs to camera ``owner[j]``.  Positions are continuous cell coordinates
    (column axis, row axis); ``target_z`` is the face height (m).  Sight lines are
    checked from ``clearance_m`` (horizontal) beyond the camera to the target; targets
    are open-ground cell centres, so the target cell itself never blocks.
    """
    cx, cy, z0 = cam_x[owner], cam_y[owner], cam_z[owner]
    dx = target_x - cx
    dy = target_y - cy
    length = np.hypot(dx, dy)  # cells
    with np.errstate(divide="ignore"):
        t_clear = np.where(length > 0, clearance_m / res / length, np.inf)
    dz = target_z - z0
    checked = t_clear < 1.0
    t0 = np.where(checked, t_clear, 0.0)
    # where the checked part of the sight line starts: the cells containing that point
    sx, sy = cx + t0 * dx, cy + t0 * dy
    rows, cols = occ.height.shape
    h_start = np.zeros(dx.shape, dtype=np.float32)
    for ry in (np.floor(sy - _EPS), np.floor(sy + _EPS)):
        for rx in (np.floor(sx - _EPS), np.floor(sx + _EPS)):
            r = np.clip(ry.astype(np.int64), 0, rows - 1)
            c = np.clip(rx.astype(np.int64), 0, cols - 1)
            h_start = np.maximum(h_start, occ.height[r, c])
    blocked = checked & (h_start > z0 + dz * t0)
    rest = np.flatnonzero(checked & ~blocked)
    if not len(rest):
        return ~blocked
    # near the camera every crossing is checked; beyond, only the stretch where the
    # direction bin has buildings
    near = clearance_m / res + 2.0
    boxes = []
    starts = np.searchsorted(owner, np.arange(len(cam_x) + 1))
    for i in range(len(cam_x)):
        a, b = starts[i], starts[i + 1]
        if a == b:
            boxes.append((0, 0, 0, 0))
            continue
        boxes.append(
            (
                max(0, math.floor(min(cam_y[i], float(target_y[a:b].min()))) - 1),
                min(rows, math.floor(max(cam_y[i], float(target_y[a:b].max()))) + 2),
                max(0, math.floor(min(cam_x[i], float(target_x[a:b].min()))) - 1),
                min(cols, math.floor(max(cam_x[i], float(target_x[a:b].max()))) + 2),
            )
        )
    lo, hi = _building_distances_by_angle(cam_x, cam_y, occ, boxes, near)
    lengths = length[rest]
    t_near = np.minimum(near / lengths, 1.0)
    angle = np.degrees(np.arctan2(dy[rest], dx[rest]))
    key = owner[rest] * _BINS + np.floor(angle / (360.0 / _BINS)).astype(np.int64) % _BINS
    # no building that way: lo = inf, hi = -inf, so the stretch is empty
    t_from = np.clip((lo[key] - 1e-6) / lengths, t_near, 2.0)
    t_to = np.clip((hi[key] + 1e-6) / lengths, -1.0, 1.0)
    # the stretch near the camera, then the stretch with buildings, as one batch
    both = np.concatenate([rest, rest])
    t_lo = np.concatenate([t_clear[rest], t_from])
    t_hi = np.concatenate([t_near, t_to])
    for c_p, d_p, c_q, d_q, table, lines_first in (
        (cx, dx, cy, dy, occ.vertical, False),
        (cy, dy, cx, dx, occ.horizontal, True),
    ):
        hit = _crossings_blocked(
            c_p[both],
            d_p[both],
            c_q[both],
            d_q[both],
            t_lo,
            t_hi,
            z0[both],
            dz[both],
            table,
            lines_first,
        )
        blocked[both[hit]] = True
    return ~blocked


@dataclass(frozen=True)
class _Camera:
    camera_id: str
    x: float
    y: float
    height_m: float
    heading_deg: float
    hfov_deg: float
    vfov_deg: float
    resolution_px: float
    tilt_deg: float


@dataclass(frozen=True)
class _View:
    """What one camera sees: flat cell indices, their density (px/m) and level code."""

    cells: np.ndarray
    density: np.ndarray
    level: np.ndarray
    candidates: int  # cells in the field of view and range before occlusion


def _sector_box(
    cx: float, cy: float, r: float, heading_deg: float, hfov_deg: float
) -> tuple[float, float, float, float]:
    """Bounding box (col0, col1, row0, row1) in cells of a camera's view sector."""
    if hfov_deg >= 180.0:
        return cx - r, cx + r, cy - r, cy + r
    half = hfov_deg / 2.0
    bearings = [heading_deg - half, heading_deg + half]
    bearings += [
        b
        for b in (0.0, 90.0, 180.0, 270.0, 360.0)
        if abs((b - heading_deg + 180.0) % 360.0 - 180.0) <= half
    ]
    xs = [cx] + [cx + r * math.sin(math.radians(b)) for b in bearings]
    ys = [cy] + [cy - r * math.cos(math.radians(b)) for b in bearings]
    return min(xs), max(xs), min(ys), max(ys)


def _targets(
    cam: _Camera, grid: _Grid, occ: _Occluders, reach: float, dh: float
) -> tuple[np.ndarray, np.ndarray]:
    """Open-ground cells (rows, cols) in a camera's field of view and horizontal reach."""
    rows, cols = grid.shape
    cx, cy = (float(v) for v in grid.to_cell(cam.x, cam.y))
    x0, x1, y0, y1 = _sector_box(cx, cy, reach / grid.res, cam.heading_deg, cam.hfov_deg)
    c0, c1 = max(0, math.floor(x0)), min(cols, math.floor(x1) + 1)
    r0, r1 = max(0, math.floor(y0)), min(rows, math.floor(y1) + 1)
    if c0 >= c1 or r0 >= r1:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    east = (np.arange(c0, c1) + 0.5 - cx) * grid.res
    north = (cy - np.arange(r0, r1) - 0.5) * grid.res
    dist = np.sqrt(east[None, :] ** 2 + north[:, None] ** 2)
    keep = (dist <= reach) & (occ.height[r0:r1, c0:c1] <= 0)
    if cam.hfov_deg < 360:
        heading = math.radians(cam.heading_deg)
        along = east[None, :] * math.sin(heading) + north[:, None] * math.cos(heading)
        keep &= along >= dist * math.cos(math.radians(cam.hfov_deg / 2.0)) - 1e-9
    if np.isfinite(cam.vfov_deg):
        depression = np.degrees(np.arctan2(dh, dist))  # below horizontal, to the face
        look_down = -cam.tilt_deg
        keep &= (depression <= look_down + cam.vfov_deg / 2.0) & (
            depression >= look_down - cam.vfov_deg / 2.0
        )
    rr, cc = np.nonzero(keep)
    return rr + r0, cc + c0


def _groups(items: list[_Camera], size: int) -> Iterator[list[_Camera]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _views(
    cams: list[_Camera],
    grid: _Grid,
    occ: _Occluders,
    thresholds: np.ndarray,
    *,
    min_code: int,
    target_z: float,
    clearance_m: float,
    line_of_sight: Callable[..., np.ndarray] | None = None,
) -> list[_View]:
    """Compute the cells each camera sees at ``min_code`` or better (batched)."""
    los = line_of_sight or _line_of_sight
    views: list[_View] = []
    batch: list[tuple[_Camera, np.ndarray, np.ndarray, float]] = []
    pending = 0

    def flush() -> None:
        nonlocal pending
        if not batch:
            return
        cx, cy = grid.to_cell(np.array([b[0].x for b in batch]), np.array([b[0].y for b in batch]))
        cz = np.array([b[0].height_m for b in batch])
        owner = np.repeat(np.arange(len(batch)), [len(b[1]) for b in batch])
        rr = np.concatenate([b[1] for b in batch])
        cc = np.concatenate([b[2] for b in batch])
        seen = (
            los(
                np.asarray(cx, float),
                np.asarray(cy, float),
                cz,
                owner,
                cc + 0.5,
                rr + 0.5,
                occ,
                res=grid.res,
                target_z=target_z,
                clearance_m=clearance_m,
            )
            if len(owner)
            else np.zeros(0, bool)
        )
        bounds = np.cumsum([0] + [len(b[1]) for b in batch])
        for i, (cam, r, c, dh) in enumerate(batch):
            ok_seen = seen[bounds[i] : bounds[i + 1]]
            vr, vc = r[ok_seen], c[ok_seen]
            horizontal = np.hypot((vc + 0.5 - cx[i]) * grid.res, (vr + 0.5 - cy[i]) * grid.res)
            density = pixel_density(np.hypot(horizontal, dh), cam.resolution_px, cam.hfov_deg)
            level = np.searchsorted(thresholds, density, side="right").astype(np.uint8)
            ok = level >= min_code
            cells = vr[ok].astype(np.int64) * grid.shape[1] + vc[ok]
            views.append(_View(cells, density[ok], level[ok], len(r)))
        batch.clear()
        pending = 0

    for cam in cams:
        width = float(_scene_width_factor(cam.hfov_deg))
        reach_slant = cam.resolution_px / (thresholds[min_code - 1] * width)
        dh = cam.height_m - target_z
        if reach_slant <= abs(dh):
            rr = cc = np.empty(0, np.int64)
        else:
            rr, cc = _targets(cam, grid, occ, math.sqrt(reach_slant**2 - dh**2), dh)
        batch.append((cam, rr, cc, dh))
        pending += len(rr)
        if pending >= _BATCH_TARGETS:
            flush()
    flush()
    return views


# --------------------------------------------------------------------------- viewsheds


@dataclass(frozen=True)
class CctvResult:
    """Viewsheds of a District's cameras.

    Attributes
    ----------
    levels
        Best DORI level code per cell (uint8): 0 not seen, 1.. the levels of
        ``level_names`` (1 = the lowest), 255 (nodata) building interior and, when
        masked, private outdoor space.
    density
        Best pixel density per cell (float32, px/m); 0 not seen, -1 (nodata) masked.
    zones
        Combined polygons: one (multi)polygon per level with ``level``, ``level_code``,
        ``min_density_px_m``, ``area_m2``.
    viewsheds
        Each camera's polygons per level: ``camera_id``, ``level``, ``level_code``,
        ``area_m2``.
    cameras
        :func:`camera_setup` plus ``distance_<level>_m`` (slant reach of each level),
        ``seen_m2`` (cells seen at the lowest level asked for, masked ones included),
        ``<level>_m2`` (seen at that level or better) and ``occluded_share`` (share of
        the unobstructed field of view hidden by buildings).
    level_names
        The DORI levels, lowest first, with their thresholds (px/m).
    raw_levels
        Best level code per cell before masking (building interiors 0).
    private_mask, building_mask, boundary_mask
        Boolean cell masks of private land use, building footprints and the boundary.
    min_level, edition, statement
        What was asked, and the provenance line of the District.
    """

    levels: Raster
    density: Raster
    zones: gpd.GeoDataFrame
    viewsheds: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    level_names: dict[str, float]
    raw_levels: np.ndarray = field(repr=False)
    private_mask: np.ndarray = field(repr=False)
    building_mask: np.ndarray = field(repr=False)
    boundary_mask: np.ndarray = field(repr=False)
    min_level: str = "detection"
    edition: str = "2015"
    statement: str = ""

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell (m²)."""
        return self.levels.resolution_m**2


def _cameras_for(setup: gpd.GeoDataFrame) -> list[_Camera]:
    ok = setup[setup["status"] == "ok"]
    return [
        _Camera(
            str(row.camera_id),
            float(row.geometry.x),
            float(row.geometry.y),
            float(row.height_m),
            float(row.heading_deg),
            float(row.hfov_deg),
            float(row.vfov_deg) if pd.notna(row.vfov_deg) else math.nan,
            float(row.resolution_px),
            float(row.tilt_deg),
        )
        for row in ok.itertuples()
    ]


def _reach(cam: _Camera, ppm: float, target_z: float) -> float:
    slant = cam.resolution_px / (ppm * float(_scene_width_factor(cam.hfov_deg)))
    return math.sqrt(max(slant**2 - (cam.height_m - target_z) ** 2, 0.0))


def _mask(geoms: Iterable[Any], grid: _Grid) -> np.ndarray:
    shapes = [g for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=bool)
    burnt = rasterio.features.rasterize(
        [(g, 1) for g in shapes],
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="uint8",
    )
    return burnt.astype(bool)


def _landuse_of(district: District, uses: Iterable[str]) -> gpd.GeoDataFrame:
    landuse = district.landuse
    if not len(landuse):
        return landuse
    return landuse[landuse["use"].astype("string").isin(list(uses)).fillna(False).to_numpy()]


def _polygon_records(
    codes: np.ndarray, transform: Affine, names: list[str], area: float
) -> list[dict[str, Any]]:
    """Polygons of the cells with level codes 1..len(names): one record per code.

    The 4-connected pieces of one level never overlap, so they are gathered into a
    MultiPolygon without a union.
    """
    mask = (codes >= 1) & (codes <= len(names))
    if not mask.any():
        return []
    pieces: dict[int, list[Any]] = {}
    for geom, value in rasterio.features.shapes(
        codes.astype(np.uint8), mask=mask, transform=transform, connectivity=4
    ):
        pieces.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    counts = np.bincount(codes[mask].ravel(), minlength=len(names) + 1)
    return [
        {
            "level": names[code - 1],
            "level_code": code,
            "area_m2": float(counts[code]) * area,
            "geometry": shapely.multipolygons(pieces[code]),
        }
        for code in sorted(pieces)
    ]


def _polygon_frame(records: list[dict[str, Any]], crs: str, *, camera: bool) -> gpd.GeoDataFrame:
    columns = {
        "level": pd.Series(dtype="string"),
        "level_code": pd.Series(dtype="int64"),
        "area_m2": pd.Series(dtype="float64"),
    }
    if camera:
        columns = {"camera_id": pd.Series(dtype="string"), **columns}
    if not records:
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    frame = pd.DataFrame.from_records(records)
    out = gpd.GeoDataFrame(
        frame.drop(columns="geometry"), geometry=frame["geometry"].to_numpy(), crs=crs
    )
    return out.astype({name: series.dtype for name, series in columns.items()})


def _study_grid(
    district: District, cams: list[_Camera], ppm: float, res: float, target_z: float
) -> tuple[_Grid, list[_Camera]]:
    """The boundary's bounding box grown by the longest reach; cameras that can see it."""
    reaches = [_reach(c, ppm, target_z) for c in cams]
    margin = max(reaches, default=0.0) + res
    minx, miny, maxx, maxy = district.boundary.bounds
    grid = _grid_for((minx - margin, miny - margin, maxx + margin, maxy + margin), res)
    box = shapely.box(minx, miny, maxx, maxy)
    kept = []
    for cam, reach in zip(cams, reaches, strict=True):
        if shapely.distance(shapely.Point(cam.x, cam.y), box) <= reach:
            kept.append(cam)
        else:
            logger.info("camera %r cannot see the study area; left out", cam.camera_id)
    return grid, kept


def viewsheds(
    district: District,
    *,
    resolution_m: float = 1.0,
    min_level: str | None = None,
    edition: str | None = None,
    mask_private: bool = True,
    inside_building: Literal["warn", "error"] = "warn",
    progress: Progress | None = None,
) -> CctvResult:
    """Compute every camera's occluded viewshed, pixel density and DORI level.

    Parameters
    ----------
    district
        The District: ``cameras`` (see :func:`camera_setup` for defaults), ``buildings``
        (occluders; none at all is fine), ``landuse`` (private mask), ``boundary``.
    resolution_m
        Cell size of the rasters (m), > 0.  The grid covers the boundary's bounding box
        grown by the longest camera reach, in the District CRS.
    min_level
        Lowest DORI level computed (default: the lowest of the edition, detection); a
        camera's reach is the slant distance of that level.
    edition
        IEC 62676-4 edition of the levels (:func:`dori_levels`).
    mask_private
        Set cells of ``private`` land use to nodata in the output rasters and polygons
        (their coverage is still reported by :func:`coverage`, as something to
        minimise).  Building interiors are always masked.
    inside_building
        What to do with a camera inside a building: ``"warn"`` or ``"error"``
        (:func:`camera_setup`).
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    CctvResult
        Rasters (level codes, density), combined and per-camera polygons, the camera
        table, in the District CRS.

    Raises
    ------
    InputError
        Bad camera parameters (listed), unknown level or edition, resolution <= 0.

    Notes
    -----
    Pixel density at slant distance D (camera to a face 1.7 m above the cell):
    ``R_h / (2 D tan(HFOV/2))`` (IEC 62676-4; DOMAIN.md); occlusion as in the module
    docstring.
    """
    if not (np.isfinite(resolution_m) and resolution_m > 0):
        raise InputError(f"resolution_m {resolution_m!r} must be > 0 metres")
    std = _standard()
    levels = dori_levels(edition)
    names = list(levels)
    thresholds = np.array(list(levels.values()))
    min_level = min_level or names[0]
    min_code = _level_code(min_level, levels)
    target_z = float(std["target_height_m"])
    clearance = float(std["occlusion"]["mount_clearance_m"])

    setup = camera_setup(district, inside_building=inside_building)
    cams = _cameras_for(setup)
    grid, cams = _study_grid(district, cams, thresholds[min_code - 1], resolution_m, target_z)
    occ = _occluders(district.buildings, grid)
    rows, cols = grid.shape
    area = grid.res**2

    best_level = np.zeros(rows * cols, dtype=np.uint8)
    best_density = np.zeros(rows * cols, dtype=np.float32)
    per_camera: dict[str, dict[str, float]] = {}
    camera_polys: list[dict[str, Any]] = []
    done = 0
    for group in _groups(cams, 64):
        views = _views(
            group,
            grid,
            occ,
            thresholds,
            min_code=min_code,
            target_z=target_z,
            clearance_m=clearance,
        )
        for cam, view in zip(group, views, strict=True):
            np.maximum.at(best_level, view.cells, view.level)
            np.maximum.at(best_density, view.cells, view.density.astype(np.float32))
            stats = {
                f"{name}_m2": float((view.level >= i + 1).sum()) * area
                for i, name in enumerate(names)
            }
            stats["seen_m2"] = len(view.cells) * area
            stats["occluded_share"] = (
                1.0 - len(view.cells) / view.candidates if view.candidates else math.nan
            )
            per_camera[cam.camera_id] = stats
            camera_polys.extend(_camera_polygons(cam.camera_id, view, grid, names))
        done += len(group)
        if progress is not None:
            progress(done / max(len(cams), 1) * 0.9, f"{done} of {len(cams)} cameras")

    building = occ.height > 0
    private = _mask(_landuse_of(district, std["coverage"]["private_uses"]).geometry, grid)
    inside = _mask([district.boundary], grid)
    raw = best_level.reshape(grid.shape)
    masked = building | (private if mask_private else False)
    level_arr = np.where(masked, MASKED, raw).astype(np.uint8)
    density_arr = np.where(masked, -1.0, best_density.reshape(grid.shape)).astype(np.float32)

    code_tags = {
        f"level_{i + 1}": f"{name} (>= {levels[name]:g} px/m)" for i, name in enumerate(names)
    }
    description = (
        f"Best IEC 62676-4 ({edition or std['default_edition']}) DORI level per cell over "
        f"all cameras; 0 = not seen, {MASKED} = building interior"
        + (" or private outdoor space" if mask_private else "")
        + f". {district.provenance.statement()}"
    )
    level_raster = Raster(
        level_arr,
        grid.transform,
        district.crs,
        nodata=MASKED,
        name="cctv_dori_level",
        unit="level code",
        description=description,
        tags=code_tags,
    )
    density_raster = Raster(
        density_arr,
        grid.transform,
        district.crs,
        nodata=-1.0,
        name="cctv_pixel_density",
        unit="px/m",
        description=description.replace("DORI level", "pixel density (px/m)"),
    )
    zones = _polygon_frame(
        _polygon_records(level_arr, grid.transform, names, area), district.crs, camera=False
    )
    zones.insert(2, "min_density_px_m", [levels[name] for name in zones["level"]])

    cameras = setup.copy()
    for i, name in enumerate(names):
        cameras[f"distance_{name}_m"] = [
            float(r) / (thresholds[i] * float(_scene_width_factor(f)))
            for r, f in zip(cameras["resolution_px"], cameras["hfov_deg"], strict=True)
        ]
    empty_stats = dict.fromkeys([*(f"{n}_m2" for n in names), "seen_m2"], 0.0)
    for key in [*empty_stats, "occluded_share"]:
        cameras[key] = [
            per_camera.get(cid, {**empty_stats, "occluded_share": math.nan})[key]
            for cid in cameras["camera_id"]
        ]
    analysed = {c.camera_id for c in cams}
    cameras.loc[(cameras["status"] == "ok") & ~cameras["camera_id"].isin(analysed), "status"] = (
        "outside_study_area"
    )
    if progress is not None:
        progress(1.0, "viewsheds done")
    viewshed_frame = _polygon_frame(camera_polys, district.crs, camera=True)
    return CctvResult(
        levels=level_raster,
        density=density_raster,
        zones=zones,
        viewsheds=viewshed_frame,
        cameras=cameras,
        level_names=levels,
        raw_levels=raw,
        private_mask=private,
        building_mask=building,
        boundary_mask=inside,
        min_level=min_level,
        edition=str(edition or std["default_edition"]),
        statement=district.provenance.statement(),
    )


def _camera_polygons(
    camera_id: str, view: _View, grid: _Grid, names: list[str]
) -> list[dict[str, Any]]:
    """One camera's seen cells as polygon records per level, from the window it covers."""
    if not len(view.cells):
        return []
    cols = grid.shape[1]
    rows_i, cols_i = np.divmod(view.cells, cols)
    r0, c0 = int(rows_i.min()), int(cols_i.min())
    window = np.zeros((int(rows_i.max()) - r0 + 1, int(cols_i.max()) - c0 + 1), np.uint8)
    window[rows_i - r0, cols_i - c0] = view.level
    transform = grid.transform @ Affine.translation(c0, r0)
    records = _polygon_records(window, transform, names, grid.res**2)
    return [{"camera_id": camera_id, **r} for r in records]


# --------------------------------------------------------------------------- coverage


def _path_samples(district: District, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Midpoints (x, y) and lengths (m) of short pieces of walkable lines in the boundary."""
    lines = _walkable(district).geometry.to_numpy()
    if not len(lines):
        return np.empty(0), np.empty(0), np.empty(0)
    clipped = shapely.intersection(lines, district.boundary)
    clipped = clipped[~shapely.is_empty(clipped)]
    dense = shapely.segmentize(clipped, step)
    coords, part = shapely.get_coordinates(shapely.get_parts(dense), return_index=True)
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    mid = (a + b) / 2.0
    return mid[:, 0], mid[:, 1], np.hypot(*(b - a).T)


def coverage(
    district: District,
    result: CctvResult | None = None,
    *,
    entrances: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Return the share of what matters that the cameras see at each DORI level.

    Parameters
    ----------
    district
        The District.
    result
        Viewsheds from :func:`viewsheds`; computed with ``**options`` when None.
    entrances
        Building entrances (points, District CRS), if known; each is looked up at the
        nearest outdoor cell within 1.5 m.  None: the ``entrances`` rows are left out.
    **options
        Passed to :func:`viewsheds` when ``result`` is None.

    Returns
    -------
    pandas.DataFrame
        One row per target and level: ``target``, ``unit``, ``total``, ``level``,
        ``seen`` and ``share`` (seen at that level or better / total; NaN when the
        total is 0).  Targets, all inside the boundary, outside building interiors:

        - ``paths``: walkable streets and paths (``walk``, not in a tunnel), length (m),
          without the stretches in private land use;
        - ``squares``: land use ``square``, area (m²);
        - ``public_space``: land use ``square``, ``green``, ``sport``, ``parking``
          (``standards/dori.yaml``), area (m²);
        - ``entrances``: building entrances (count), when given;
        - ``private``: private outdoor space (land use ``private``), area (m²) - seen
          private space is something to minimise.
    """
    res = result if result is not None else viewsheds(district, **options)
    std = _standard()["coverage"]
    transform = res.levels.transform
    rows, cols = res.raw_levels.shape
    grid = _Grid(transform.c, transform.f, transform.a, (rows, cols))
    area = res.cell_area_m2
    raw = res.raw_levels
    outdoor = ~res.building_mask & res.boundary_mask
    private = res.private_mask
    names = list(res.level_names)
    records: list[dict[str, Any]] = []

    def add(target: str, unit: str, levels_seen: np.ndarray, weights: np.ndarray) -> None:
        total = float(weights.sum())
        for code, name in enumerate(names, start=1):
            seen = float(weights[levels_seen >= code].sum())
            records.append(
                {
                    "target": target,
                    "unit": unit,
                    "total": total,
                    "level": name,
                    "seen": seen,
                    "share": seen / total if total > 0 else math.nan,
                }
            )

    px, py, length = _path_samples(district, res.levels.resolution_m / 2.0)
    col, row = grid.to_cell(px, py)
    r = np.clip(np.floor(row).astype(np.int64), 0, rows - 1)
    c = np.clip(np.floor(col).astype(np.int64), 0, cols - 1)
    keep = ~res.building_mask[r, c] & ~private[r, c]
    add("paths", "m", raw[r[keep], c[keep]], length[keep])

    for target, uses in (("squares", std["square_uses"]), ("public_space", std["public_uses"])):
        cells = _mask(_landuse_of(district, uses).geometry, grid) & outdoor & ~private
        add(target, "m2", raw[cells], np.full(int(cells.sum()), area))

    if entrances is not None:
        points = gpd.GeoSeries(getattr(entrances, "geometry", entrances)).to_numpy()
        ex, ey = shapely.get_x(points), shapely.get_y(points)
        ecol, erow = grid.to_cell(ex, ey)
        inside = (ecol >= 0) & (ecol < cols) & (erow >= 0) & (erow < rows)
        inside &= shapely.contains_xy(district.boundary, ex, ey)
        er = np.floor(erow[inside]).astype(np.int64)
        ec = np.floor(ecol[inside]).astype(np.int64)
        dist, (near_r, near_c) = ndimage.distance_transform_edt(
            res.building_mask, return_indices=True
        )
        nr, nc = near_r[er, ec], near_c[er, ec]
        reachable = dist[er, ec] * res.levels.resolution_m <= float(std["entrance_search_m"])
        levels_at = np.where(reachable, raw[nr, nc], 0)
        add("entrances", "count", levels_at, np.ones(len(levels_at)))

    cells = private & outdoor
    add("private", "m2", raw[cells], np.full(int(cells.sum()), area))
    frame = pd.DataFrame.from_records(records)
    frame["target"] = frame["target"].astype("string")
    frame["level"] = frame["level"].astype("string")
    return frame


def indicators(
    district: District, *, result: CctvResult | None = None, **options: Any
) -> dict[str, Indicator]:
    """Return the CCTV indicators of a District (theme "safety and security").

    Parameters
    ----------
    district
        The District.
    result
        Precomputed :func:`viewsheds` (else computed with ``**options``).
    **options
        Passed to :func:`viewsheds`.

    Returns
    -------
    dict
        ``path_share_observed`` / ``path_share_recognised``: share of the walkable
        street and path length inside the boundary seen at observation / recognition or
        better; ``square_share_observed``: share of square area seen at observation or
        better; ``private_share_observed``: share of private outdoor space seen at
        observation or better (lower is better); ``cameras_count``: cameras analysed
        (not inside buildings, able to see the study area).  Shares are NaN when there
        is nothing to measure (no paths, no squares).
    """
    res = result if result is not None else viewsheds(district, **options)
    table = coverage(district, res)

    def share(target: str, level: str) -> float:
        row = table[(table["target"] == target) & (table["level"] == level)]
        return float(row["share"].iloc[0]) if len(row) else math.nan

    theme = "safety and security"
    count = int((res.cameras["status"] == "ok").sum())
    return {
        "path_share_observed": Indicator(
            share("paths", "observation"),
            "share",
            True,
            theme,
            "Walkable path length seen by CCTV at observation level or better",
        ),
        "path_share_recognised": Indicator(
            share("paths", "recognition"),
            "share",
            True,
            theme,
            "Walkable path length seen by CCTV at recognition level or better",
        ),
        "square_share_observed": Indicator(
            share("squares", "observation"),
            "share",
            True,
            theme,
            "Square area seen by CCTV at observation level or better",
        ),
        "private_share_observed": Indicator(
            share("private", "observation"),
            "share",
            False,
            theme,
            "Private outdoor space seen by CCTV at observation level or better",
        ),
        "cameras_count": Indicator(
            float(count), "cameras", True, theme, "CCTV cameras covering the district"
        ),
    }


# --------------------------------------------------------------------------- placement


def camera_candidates(
    district: District,
    points: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    facades: bool | None = None,
    lamp_posts: bool | None = None,
    facade_spacing_m: float | None = None,
    headings: int | None = None,
    camera: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Return candidate positions for new cameras (one row per position and heading).

    Parameters
    ----------
    district
        The District.
    points
        Given positions (District CRS).  Columns ``heading_deg``, ``height_m``,
        ``hfov_deg``, ``vfov_deg``, ``resolution_px``, ``tilt_deg`` are used when
        present; a point without heading is tried facing ``headings`` directions.
    facades, lamp_posts
        Add a candidate every ``facade_spacing_m`` along each building outline, 0.5 m
        outside the wall, facing away from it at the facade height; and one per street
        light per heading, at the light's mounting height.  Default: True without
        ``points``, False with them.
    facade_spacing_m, headings
        Defaults from ``standards/dori.yaml`` (15 m, 4 headings).
    camera
        Overrides of the default camera of ``standards/dori.yaml`` (``hfov_deg``,
        ``resolution_px``, ``tilt_deg``, ``vfov_deg``, ``facade_height_m``,
        ``pole_height_m``), e.g. ``{"hfov_deg": 40}`` for a narrower lens.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id, source, height_m, heading_deg, hfov_deg, vfov_deg,
        resolution_px, tilt_deg`` and the point geometry.
    """
    std = _standard()
    place = std["placement"]
    unknown = set(camera or {}) - set(std["default_camera"])
    if unknown:
        raise InputError(
            f"unknown camera parameter(s) {sorted(unknown)}; known: {sorted(std['default_camera'])}"
        )
    cam = {**std["default_camera"], **(camera or {})}
    spacing = float(facade_spacing_m or place["facade_spacing_m"])
    n_head = int(headings or place["headings"])
    if spacing <= 0 or n_head <= 0:
        raise InputError("facade_spacing_m and headings must be > 0")
    turns = np.arange(n_head) * 360.0 / n_head
    parts: list[pd.DataFrame] = []

    def block(source: str, x: Any, y: Any, height: Any, heading: Any, **extra: Any) -> None:
        n = len(np.atleast_1d(x))
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "x": x,
                    "y": y,
                    "height_m": height,
                    "heading_deg": heading,
                    "hfov_deg": extra.get("hfov_deg", float(cam["hfov_deg"])),
                    "vfov_deg": extra.get(
                        "vfov_deg", np.nan if cam["vfov_deg"] is None else float(cam["vfov_deg"])
                    ),
                    "resolution_px": extra.get("resolution_px", int(cam["resolution_px"])),
                    "tilt_deg": extra.get("tilt_deg", float(cam["tilt_deg"])),
                },
                index=range(n),
            )
        )

    if points is not None:
        given = gpd.GeoDataFrame(geometry=gpd.GeoSeries(getattr(points, "geometry", points)))
        frame = points if isinstance(points, gpd.GeoDataFrame) else given
        for i, geom in enumerate(given.geometry):
            row = frame.iloc[i]

            def value(name: str, default: Any, row: Any = row) -> Any:
                v = row.get(name) if hasattr(row, "get") else None
                return default if v is None or pd.isna(v) else v

            heading = value("heading_deg", None)
            these = [float(heading)] if heading is not None else list(turns)
            block(
                "given",
                [geom.x] * len(these),
                [geom.y] * len(these),
                float(value("height_m", cam["pole_height_m"])),
                these,
                hfov_deg=float(value("hfov_deg", cam["hfov_deg"])),
                vfov_deg=float(value("vfov_deg", np.nan)),
                resolution_px=int(value("resolution_px", cam["resolution_px"])),
                tilt_deg=float(value("tilt_deg", cam["tilt_deg"])),
            )
    if facades is None:
        facades = points is None
    if lamp_posts is None:
        lamp_posts = points is None
    if facades and len(district.buildings):
        rings = shapely.get_exterior_ring(
            shapely.get_parts(shapely.make_valid(district.buildings.geometry.to_numpy()))
        )
        rings = rings[~shapely.is_missing(rings)]
        for ring in rings:
            length = ring.length
            n = max(1, int(length // spacing))
            at = (np.arange(n) + 0.5) * length / n
            p = shapely.line_interpolate_point(ring, at)
            ahead = shapely.line_interpolate_point(ring, np.minimum(at + 0.5, length))
            behind = shapely.line_interpolate_point(ring, np.maximum(at - 0.5, 0.0))
            tx = shapely.get_x(ahead) - shapely.get_x(behind)
            ty = shapely.get_y(ahead) - shapely.get_y(behind)
            norm = np.hypot(tx, ty)
            norm[norm == 0] = 1.0
            nx, ny = ty / norm, -tx / norm  # right-hand normal
            px, py = shapely.get_x(p), shapely.get_y(p)
            polygon = shapely.Polygon(ring)
            probe = shapely.contains_xy(polygon, px + nx * 0.1, py + ny * 0.1)
            nx, ny = np.where(probe, -nx, nx), np.where(probe, -ny, ny)  # point outward
            offset = float(place["facade_offset_m"])
            block(
                "facade",
                px + nx * offset,
                py + ny * offset,
                float(cam["facade_height_m"]),
                np.mod(np.degrees(np.arctan2(nx, ny)), 360.0),
            )
    if lamp_posts and len(district.lights):
        lights = district.lights
        lx = np.repeat(shapely.get_x(lights.geometry.to_numpy()), n_head)
        ly = np.repeat(shapely.get_y(lights.geometry.to_numpy()), n_head)
        lh = pd.to_numeric(lights["height_m"]).fillna(cam["pole_height_m"]).to_numpy(dtype=float)
        block("lamp_post", lx, ly, np.repeat(lh, n_head), np.tile(turns, len(lights)))
    if not parts:
        frame = pd.DataFrame(
            columns=[
                "source",
                "x",
                "y",
                "height_m",
                "heading_deg",
                "hfov_deg",
                "vfov_deg",
                "resolution_px",
                "tilt_deg",
            ]
        )
    else:
        frame = pd.concat(parts, ignore_index=True)
    out = gpd.GeoDataFrame(
        frame.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(frame["x"].astype(float), frame["y"].astype(float)),
        crs=district.crs,
    )
    out.insert(0, "candidate_id", [f"cand-{i + 1}" for i in range(len(out))])
    out["resolution_px"] = out["resolution_px"].astype(np.int64)
    for name in ("height_m", "heading_deg", "hfov_deg", "vfov_deg", "tilt_deg"):
        out[name] = out[name].astype(float)
    return out


def _planning_targets(district: District, grid: _Grid, occ: _Occluders) -> np.ndarray:
    """Cells of walkable public space: walkable streets (their width) and public uses."""
    std = _standard()["coverage"]
    walk = _walkable(district)
    width = (
        pd.to_numeric(walk["width_m"], errors="coerce").fillna(2.0).to_numpy()
        if len(walk)
        else np.empty(0)
    )
    bands = shapely.buffer(walk.geometry.to_numpy(), np.maximum(width, grid.res) / 2.0)
    public = _landuse_of(district, std["public_uses"]).geometry
    private = _mask(_landuse_of(district, std["private_uses"]).geometry, grid)
    target = _mask([*bands, *public], grid)
    target &= _mask([district.boundary], grid) & (occ.height <= 0) & ~private
    return target


def plan_cameras(
    district: District,
    *,
    level: str = "recognition",
    candidates: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    k: int = 5,
    method: Literal["greedy", "exhaustive"] = "greedy",
    resolution_m: float = 1.0,
    edition: str | None = None,
    include_existing: bool = True,
    camera: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Place up to ``k`` new cameras that cover the most walkable public space at a level.

    Parameters
    ----------
    district
        The District.
    level
        DORI level the new cameras must deliver (default recognition).
    candidates
        Candidate positions (points; see :func:`camera_candidates` for the columns).
        None: building facades and lamp posts of the District.
    k
        Number of cameras to place (>= 1).
    method
        ``"greedy"`` (default): repeatedly take the candidate with the largest marginal
        gain (lazy evaluation); it achieves at least 1 - 1/e (63 %) of the optimum for
        this maximum-coverage problem (Nemhauser, Wolsey & Fisher 1978) and is usually
        much closer.  ``"exhaustive"``: try every set of ``k`` candidates (small cases
        only; refuses more than 200,000 sets).
    resolution_m
        Cell size (m).
    edition
        IEC 62676-4 edition of the levels.
    include_existing
        Count space already covered at ``level`` by the District's cameras as covered,
        so gains are what the new cameras add.
    camera
        Lens and mounting of the generated candidates (see :func:`camera_candidates`).
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen cameras in order, with the cameras-layer columns (``camera_id`` =
        ``new-1``...) and ``rank, candidate_id, source, marginal_gain_m2,
        cumulative_gain_m2, covered_share`` (of the target area, existing cameras
        included), ``cost_dkk``, ``cumulative_cost_dkk``.  Fewer than ``k`` rows when no
        candidate adds anything.  ``attrs`` holds ``target_area_m2``,
        ``existing_covered_m2``, ``level``, ``method``.

    Notes
    -----
    Walkable public space: walkable streets and paths (buffered by their width), and
    land use square, green, sport and parking, inside the boundary, outside buildings
    and private land use, on the raster (area in m²).
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k {k!r} must be a whole number >= 1")
    if method not in ("greedy", "exhaustive"):
        raise InputError(f"method {method!r} must be 'greedy' or 'exhaustive'")
    if not (np.isfinite(resolution_m) and resolution_m > 0):
        raise InputError(f"resolution_m {resolution_m!r} must be > 0 metres")
    std = _standard()
    levels = dori_levels(edition)
    code = _level_code(level, levels)
    thresholds = np.array(list(levels.values()))
    target_z = float(std["target_height_m"])
    clearance = float(std["occlusion"]["mount_clearance_m"])

    cands = camera_candidates(district, candidates, camera=camera)

    for row in cands.itertuples():
        _check_fov_resolution(row.hfov_deg, row.resolution_px, f"candidate {row.candidate_id}")
    if len(cands) > int(std["placement"]["max_candidates"]):
        raise InputError(
            f"{len(cands)} camera candidates exceed the limit of "
            f"{std['placement']['max_candidates']}; pass fewer candidates or a larger "
            "facade spacing (camera_candidates(..., facade_spacing_m=...))"
        )
    # candidates inside buildings cannot host a camera
    if len(cands) and len(district.buildings):
        tol = float(std["occlusion"]["facade_tolerance_m"])
        foot = district.buildings.geometry.to_numpy()
        ci, bi = shapely.STRtree(foot).query(cands.geometry.to_numpy(), predicate="within")
        deep = shapely.distance(cands.geometry.to_numpy()[ci], shapely.boundary(foot[bi])) > tol
        cands = cands.drop(index=cands.index[np.unique(ci[deep])]).reset_index(drop=True)

    existing = _cameras_for(camera_setup(district)) if include_existing else []
    as_cams = [
        _Camera(
            str(r.candidate_id),
            float(r.geometry.x),
            float(r.geometry.y),
            float(r.height_m),
            float(r.heading_deg),
            float(r.hfov_deg),
            float(r.vfov_deg),
            float(r.resolution_px),
            float(r.tilt_deg),
        )
        for r in cands.itertuples()
    ]
    grid, _ = _study_grid(
        district, [*existing, *as_cams], thresholds[code - 1], resolution_m, target_z
    )
    occ = _occluders(district.buildings, grid)
    target = _planning_targets(district, grid, occ).ravel()
    area = grid.res**2

    def seen(group: list[_Camera]) -> list[np.ndarray]:
        views = _views(
            group, grid, occ, thresholds, min_code=code, target_z=target_z, clearance_m=clearance
        )
        return [v.cells[target[v.cells]] for v in views]

    covered = np.zeros(target.shape, dtype=bool)
    for cells in seen(existing):
        covered[cells] = True
    existing_m2 = float(covered[target].sum()) * area
    sets: list[np.ndarray] = []
    for group in _groups(as_cams, 256):
        sets.extend(cells[~covered[cells]] for cells in seen(group))
        if progress is not None:
            progress(len(sets) / max(len(as_cams), 1) * 0.9, "candidate viewsheds")

    if method == "greedy":
        chosen, gains = _greedy(sets, target.size, k)
    else:
        chosen, gains = _exhaustive(
            sets, target.size, k, int(std["placement"]["exhaustive_max_combinations"])
        )
    if progress is not None:
        progress(1.0, "placement done")

    target_m2 = float(target.sum()) * area
    unit_cost = float(load("unit_costs")["camera"])
    picked = cands.iloc[chosen].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "camera_id": pd.array([f"new-{i + 1}" for i in range(len(chosen))], dtype="string"),
            "candidate_id": picked["candidate_id"].astype("string"),
            "source": picked["source"].astype("string"),
            "height_m": picked["height_m"],
            "heading_deg": picked["heading_deg"],
            "hfov_deg": picked["hfov_deg"],
            "vfov_deg": picked["vfov_deg"],
            "resolution_px": picked["resolution_px"],
            "tilt_deg": picked["tilt_deg"],
            "marginal_gain_m2": np.asarray(gains, dtype=float) * area,
        },
        geometry=picked.geometry.to_numpy(),
        crs=district.crs,
    )
    out["cumulative_gain_m2"] = out["marginal_gain_m2"].cumsum()
    out["covered_share"] = (
        (existing_m2 + out["cumulative_gain_m2"]) / target_m2 if target_m2 else math.nan
    )
    out["cost_dkk"] = unit_cost
    out["cumulative_cost_dkk"] = unit_cost * out["rank"].astype(float)
    out.attrs.update(
        target_area_m2=target_m2,
        existing_covered_m2=existing_m2,
        level=level,
        method=method,
        candidates=len(cands),
    )
    return out


def _greedy(sets: list[np.ndarray], size: int, k: int) -> tuple[list[int], list[int]]:
    """Lazy greedy maximum coverage (CELF): indices chosen and their marginal gains."""
    covered = np.zeros(size, dtype=bool)
    bounds = np.array([len(s) for s in sets], dtype=np.int64)
    fresh = np.zeros(len(sets), dtype=bool)
    chosen: list[int] = []
    gains: list[int] = []
    while len(chosen) < k and len(sets):
        fresh[:] = False
        while True:
            # ties go to the lowest candidate index (deterministic)
            best = int(np.argmax(bounds))
            if bounds[best] <= 0 or fresh[best]:
                break
            bounds[best] = int((~covered[sets[best]]).sum())
            fresh[best] = True
        if bounds[best] <= 0:
            break
        gain = int(bounds[best])
        covered[sets[best]] = True
        chosen.append(best)
        gains.append(gain)
        bounds[best] = -1
    return chosen, gains


def _exhaustive(
    sets: list[np.ndarray], size: int, k: int, limit: int
) -> tuple[list[int], list[int]]:
    """Best set of ``k`` candidates by trying all; ordered by marginal gain."""
    useful = [i for i, s in enumerate(sets) if len(s)]
    k = min(k, len(useful))
    if k == 0:
        return [], []
    combos = math.comb(len(useful), k)
    if combos > limit:
        raise InputError(
            f"exhaustive placement would try {combos} sets of {k} among {len(useful)} "
            f"candidates (limit {limit}); use method='greedy' or fewer candidates"
        )
    cells = np.unique(np.concatenate([sets[i] for i in useful]))
    bits = np.zeros((len(useful), len(cells)), dtype=bool)
    for row, i in enumerate(useful):
        bits[row, np.searchsorted(cells, sets[i])] = True
    packed = np.packbits(bits, axis=1)
    popcount = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)
    best_value = -1
    best_combo: tuple[int, ...] = ()
    for combo in itertools.combinations(range(len(useful)), k):
        value = int(popcount[np.bitwise_or.reduce(packed[list(combo)], axis=0)].sum())
        if value > best_value:
            best_value, best_combo = value, combo
    order, gains = _greedy([sets[useful[i]] for i in best_combo], size, k)
    return [useful[best_combo[i]] for i in order], gains


def add_cameras(district: District, cameras: gpd.GeoDataFrame) -> District:
    """Return the District with cameras (e.g. from :func:`plan_cameras`) added.

    Parameters
    ----------
    district
        The District.
    cameras
        Points with the cameras-layer columns (``camera_id``, ``height_m``,
        ``heading_deg``, ``hfov_deg``, ``vfov_deg``, ``resolution_px``, ``tilt_deg``);
        other columns are dropped.

    Raises
    ------
    InputError
        A camera id that is already in the District.
    """
    columns = [*layer_schemas()["cameras"]["columns"], "geometry"]
    new = gpd.GeoDataFrame(cameras[[c for c in columns if c in cameras]], crs=district.crs)
    clash = set(new["camera_id"].astype(str)) & set(district.cameras["camera_id"].astype(str))
    if clash:
        raise InputError(f"camera id(s) {sorted(clash)} already exist in the district")
    existing = district.cameras[[c for c in columns if c in district.cameras]]
    merged = pd.concat([existing, new], ignore_index=True) if len(existing) else new
    return district.replace(cameras=gpd.GeoDataFrame(merged, geometry="geometry", crs=district.crs))


# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    resolution_m: float = 1.0,
    min_level: str | None = None,
    edition: str | None = None,
    progress: Progress | None = None,
) -> ModuleResult:
    """The module's pipeline: viewsheds, DORI levels, coverage indicators."""
    result = viewsheds(
        district, resolution_m=resolution_m, min_level=min_level, edition=edition,
        progress=progress,
    )  # fmt: skip
    return ModuleResult(
        indicators(district, result=result),
        {"cctv_zones": result.zones, "cctv_viewsheds": result.viewsheds},
        {"dori_levels": result.levels},
        extras={"cctv": result},
    )


SPEC = AnalysisSpec(
    name="cctv",
    themes=("safety and security",),
    reads=("cameras", "buildings", "landuse", "streets"),
    compute=_compute,
    parameters={"resolution_m": 1.0, "min_level": None, "edition": None, "progress": None},
    summary="Camera viewsheds with occlusion, DORI pixel density, coverage of paths and squares.",
)
"""The CCTV analysis (see :mod:`vollsmose_gis.analysis`)."""
