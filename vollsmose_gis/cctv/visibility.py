"""Viewsheds: the raster model, exact line of sight over the buildings, DORI level per cell."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine

from vollsmose_gis._errors import InputError
from vollsmose_gis.cctv.dori import (
    MASKED,
    _level_code,
    _scene_width_factor,
    _standard,
    dori_levels,
    level_set_title,
    pixel_density,
)
from vollsmose_gis.cctv.setup import building_heights, camera_setup
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

_EPS = 1e-9
_CHUNK_CROSSINGS = 250_000  # crossings checked per numpy pass (~15 MB per array)
_BATCH_TARGETS = 200_000  # target cells per batch of cameras

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
    limit = int(_standard()["max_raster_cells"])
    if rows * cols > limit:
        coarser = res * math.ceil(math.sqrt(rows * cols / limit) * 10) / 10
        raise InputError(
            f"the CCTV raster would have {cols} x {rows} = {rows * cols:,} cells at {res:g} m, "
            f"above the limit of {limit:,} (max_raster_cells in standards/dori.yaml, ~35 "
            f"bytes a cell); use a coarser resolution_m (e.g. {coarser:g} m) or a smaller "
            "study area"
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


def _occluders(
    buildings: gpd.GeoDataFrame,
    grid: _Grid,
    window: tuple[int, int, int, int] | None = None,
) -> _Occluders:
    """Rasterise the buildings' heights on ``grid`` and build the crossing tables.

    ``window`` (row0, row1, col0, col1; cells, end exclusive) restricts the work to the
    cells sight lines can reach: only the footprints reaching into it are burnt, and
    the tables are built inside it (0, open ground, outside; the cells next to it
    count as open ground for its border).  The arrays keep the full grid's shape,
    transform and indexing (untouched zeros cost no memory), so inside the window
    everything is what the whole grid gives, bit for bit.
    """
    rows, cols = grid.shape
    r0, r1, c0, c1 = (0, rows, 0, cols) if window is None else window
    r0, r1, c0, c1 = max(r0, 0), min(r1, rows), max(c0, 0), min(c1, cols)
    r1, c1 = max(r1, r0), max(c1, c0)
    full = (r0, r1, c0, c1) == (0, rows, 0, cols)
    height = np.zeros(grid.shape, dtype=np.float32)
    if len(buildings) and r1 > r0 and c1 > c0:
        geoms = buildings.geometry.to_numpy()
        heights = building_heights(buildings).to_numpy()
        order = np.argsort(heights, kind="stable")  # tallest burnt last: it wins overlaps
        if not full:
            # a footprint burns the cells whose centre it covers: only those reaching
            # into the window matter there
            (x0, x1), (y1, y0) = grid.centres(np.array([r0, r1 - 1]), np.array([c0, c1 - 1]))
            bounds = shapely.bounds(geoms[order])
            reach = (bounds[:, 2] >= x0 - grid.res) & (bounds[:, 0] <= x1 + grid.res)
            reach &= (bounds[:, 3] >= y0 - grid.res) & (bounds[:, 1] <= y1 + grid.res)
            order = order[reach]
        shapes = [
            (g, float(h))
            for g, h in zip(geoms[order], heights[order], strict=True)
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
    make = np.empty if full else np.zeros
    vertical = make((2 * rows + 1, cols + 1), dtype=np.float32)
    horizontal = make((rows + 1, 2 * cols + 1), dtype=np.float32)
    if r1 > r0 and c1 > c0:
        _crossing_tables(
            height[r0:r1, c0:c1],
            vertical[2 * r0 : 2 * r1 + 1, c0 : c1 + 1],
            horizontal[r0 : r1 + 1, 2 * c0 : 2 * c1 + 1],
        )
    return _Occluders(height, vertical, horizontal)


def _crossing_tables(height: np.ndarray, vertical: np.ndarray, horizontal: np.ndarray) -> None:
    """Fill the crossing tables (:class:`_Occluders`) of ``height``, open ground around it.

    Written in place, without a padded copy of the grid: the highest of two cells
    along each open segment, then of the two segments meeting at each grid point.
    """
    seg_v = vertical[1::2]  # (rows, cols + 1): cells left and right of the line
    np.maximum(height[:, 0], 0.0, out=seg_v[:, 0])
    np.maximum(height[:, -1], 0.0, out=seg_v[:, -1])
    np.maximum(height[:, :-1], height[:, 1:], out=seg_v[:, 1:-1])
    seg_h = horizontal[:, 1::2]  # (rows + 1, cols): cells above and below
    np.maximum(height[0], 0.0, out=seg_h[0])
    np.maximum(height[-1], 0.0, out=seg_h[-1])
    np.maximum(height[:-1], height[1:], out=seg_h[1:-1])
    corner = vertical[0::2]  # (rows + 1, cols + 1): the four cells around each point
    np.maximum(seg_v[0], 0.0, out=corner[0])
    np.maximum(seg_v[-1], 0.0, out=corner[-1])
    np.maximum(seg_v[:-1], seg_v[1:], out=corner[1:-1])
    horizontal[:, 0::2] = corner


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
    boxes: np.ndarray,
    near: float,
    keys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest and farthest distance (cells) of building cells per camera and direction.

    For camera i only the building cells inside ``boxes[i]`` (row0, row1, col0, col1;
    an int array, one row per camera) reaching beyond ``near`` cells from it count.  A
    sight line in direction bin b can touch a building cell only between ``lo`` and
    ``hi`` of key ``i * _BINS + b`` (inf / -inf: no building that way), so crossings
    outside that stretch need no check: an exact pruning.  Only the ``keys`` asked for
    (sorted, unique) are computed: a dense (cameras x _BINS) table would be mostly
    unused and costs more to allocate than to fill.  Returns ``lo`` and ``hi`` aligned
    with ``keys``.
    """
    lo = np.full(len(keys), np.inf)
    hi = np.full(len(keys), -np.inf)
    cams = np.unique(keys // _BINS)
    r0, r1, c0, c1 = (boxes[cams, k] for k in range(4))
    r1, c1 = np.maximum(r1, r0), np.maximum(c1, c0)
    used = (r1 > r0) & (c1 > c0)
    cams, r0, r1, c0, c1 = cams[used], r0[used], r1[used], c0[used], c1[used]
    if not len(cams):
        return lo, hi
    # the building cells of the window around all boxes, row-major: one scan, then
    # each box row is a sorted range of it
    wr0, wc0 = int(r0.min()), int(c0.min())
    wcols = int(c1.max()) - wc0
    cells = np.flatnonzero(occ.height[wr0 : int(r1.max()), wc0 : wc0 + wcols] > 0)
    nrows = r1 - r0
    box = np.repeat(np.arange(len(cams)), nrows)
    row = r0[box] - wr0 + np.arange(len(box)) - np.repeat(np.cumsum(nrows) - nrows, nrows)
    first_cell = np.searchsorted(cells, row * wcols + (c0[box] - wc0))
    count = np.searchsorted(cells, row * wcols + (c1[box] - wc0)) - first_cell
    take = np.repeat(first_cell - (np.cumsum(count) - count), count) + np.arange(count.sum())
    owner = np.repeat(cams[box], count)
    if not len(owner):
        return lo, hi
    found_r, found_c = np.divmod(cells[take], wcols)
    y0 = (found_r + wr0) - cam_y[owner]  # cell edges relative to the camera
    x0 = (found_c + wc0) - cam_x[owner]
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
    # the keys asked for within each cell's bins: first..last wraps round at most once
    # (a cell beyond ``near`` spans less than half a turn), so two sorted ranges
    start = first % _BINS
    stop = start + (last - first)
    base = owner * _BINS
    parts_at, parts_cell = [], []
    for b0, b1 in ((start, np.minimum(stop, _BINS - 1)), (np.zeros_like(start), stop - _BINS)):
        at0 = np.searchsorted(keys, base + b0, side="left")
        count = np.maximum(np.searchsorted(keys, base + b1, side="right") - at0, 0)
        parts_cell.append(np.repeat(np.arange(len(first)), count))
        parts_at.append(
            np.repeat(at0 - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
        )
    at, cell = np.concatenate(parts_at), np.concatenate(parts_cell)
    np.minimum.at(lo, at, closest[cell])
    np.maximum.at(hi, at, far[cell])
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
    # each camera's box: its position and all its targets, grown by a cell or two
    starts = np.searchsorted(owner, np.arange(len(cam_x) + 1))
    has = np.flatnonzero(starts[1:] > starts[:-1])
    first = starts[has]
    px, py = cam_x[has], cam_y[has]
    boxes = np.zeros((len(cam_x), 4), dtype=np.int64)
    boxes[has] = np.column_stack(
        [
            np.maximum(np.floor(np.minimum(py, np.minimum.reduceat(target_y, first))) - 1, 0),
            np.minimum(np.floor(np.maximum(py, np.maximum.reduceat(target_y, first))) + 2, rows),
            np.maximum(np.floor(np.minimum(px, np.minimum.reduceat(target_x, first))) - 1, 0),
            np.minimum(np.floor(np.maximum(px, np.maximum.reduceat(target_x, first))) + 2, cols),
        ]
    ).astype(np.int64)
    lengths = length[rest]
    t_near = np.minimum(near / lengths, 1.0)
    angle = np.degrees(np.arctan2(dy[rest], dx[rest]))
    key = owner[rest] * _BINS + np.floor(angle / (360.0 / _BINS)).astype(np.int64) % _BINS
    keys, key_at = np.unique(key, return_inverse=True)
    lo, hi = _building_distances_by_angle(cam_x, cam_y, occ, boxes, near, keys)
    # no building that way: lo = inf, hi = -inf, so the stretch is empty
    t_from = np.clip((lo[key_at] - 1e-6) / lengths, t_near, 2.0)
    t_to = np.clip((hi[key_at] + 1e-6) / lengths, -1.0, 1.0)
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
    estimated: bool = False  # heading estimated (not mapped): see camera_setup


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

    rows, cols = grid.shape
    for cam in cams:
        col, row = grid.to_cell(cam.x, cam.y)
        if not (0.0 <= col <= cols and 0.0 <= row <= rows):
            # sight lines from outside the grid would index outside the occluder
            # tables; callers keep only cameras that can see the study area
            raise ValueError(f"camera {cam.camera_id!r} lies outside the analysis grid")
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
    raw_levels_confirmed
        The same over the cameras whose heading is mapped (``heading_estimated``
        false): the coverage that does not rest on estimated headings.
    private_mask, building_mask, boundary_mask
        Boolean cell masks of private land use, building footprints and the boundary.
    min_level, edition, statement
        What was asked (``edition``: the DORI level set's name), and the provenance
        line of the District.
    level_set_title
        How the level set is named in outputs (:func:`~vollsmose_gis.cctv.level_set_title`).
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
    raw_levels_confirmed: np.ndarray | None = field(default=None, repr=False)
    level_set_title: str = ""

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
            bool(getattr(row, "heading_estimated", False)),
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
        DORI level set (:func:`dori_levels`): ``"2015"`` (IEC 62676-4) by default.
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
    ``R_h / (2 D tan(HFOV/2))`` (IEC 62676-4; docs/domain.md#camera-geometry); occlusion
    as in the module docstring.
    """
    if not (np.isfinite(resolution_m) and resolution_m > 0):
        raise InputError(f"resolution_m {resolution_m!r} must be a finite number > 0 metres")
    std = _standard()
    levels = dori_levels(edition)
    title = level_set_title(edition)
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
    best_confirmed = np.zeros(rows * cols, dtype=np.uint8)
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
            if not cam.estimated:
                np.maximum.at(best_confirmed, view.cells, view.level)
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
        f"Best DORI level per cell over all cameras ({title}); 0 = not seen, "
        f"{MASKED} = building interior"
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
        edition=str(edition or std["default_level_set"]),
        statement=district.provenance.statement(),
        raw_levels_confirmed=best_confirmed.reshape(grid.shape),
        level_set_title=title,
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
