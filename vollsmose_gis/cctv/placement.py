"""Camera placement: candidate positions, greedy / exhaustive maximum coverage, adding cameras."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis._util import contains_points
from vollsmose_gis.analysis import Plan, new_ids
from vollsmose_gis.cctv.dori import _check_fov_resolution, _level_code, _standard, dori_levels
from vollsmose_gis.cctv.setup import _walkable, camera_setup
from vollsmose_gis.cctv.visibility import (
    Progress,
    _Camera,
    _cameras_for,
    _Grid,
    _groups,
    _landuse_of,
    _mask,
    _Occluders,
    _occluders,
    _study_grid,
    _views,
)
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.lighting.planner import priority_points
from vollsmose_gis.standards import layer_schemas, load

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
            probe = contains_points(polygon, px + nx * 0.1, py + ny * 0.1)
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


class CameraPlan(Plan):
    """Result of :func:`plan_cameras`: a :class:`~vollsmose_gis.analysis.Plan`.

    ``added`` holds the chosen cameras in order (rows of the ``cameras`` layer plus the
    placement columns), ``district`` the district with them added, ``cost_dkk`` their
    installed cost, ``unmet`` why fewer than ``k`` were placed (if so), and ``summary``
    the figures of the placement (``target_area_m2``, ``existing_covered_m2``,
    ``level``, ``method``, ``candidates``, ``candidates_out_of_reach``, ``k``; with a
    ``priority`` also ``objective``, ``priority_weight``, ``existing_priority_covered``).

    The old return value was the GeoDataFrame of the chosen cameras with those figures
    in ``.attrs``; that use still works (``plan["covered_share"]``, ``plan.attrs``,
    ``plan.itertuples()``, ``len(plan)``): column access and DataFrame methods are
    passed to ``added``.
    """

    @property
    def attrs(self) -> dict[str, Any]:
        """The placement figures (the old ``GeoDataFrame.attrs``); same as ``summary``."""
        return self.summary

    @property
    def new_cameras(self) -> gpd.GeoDataFrame:
        """The chosen cameras (same as ``added``)."""
        return self.added

    def __getitem__(self, key: Any) -> Any:
        return self.added[key]

    def __iter__(self) -> Any:
        return iter(self.added)

    def __getattr__(self, name: str) -> Any:
        # only reached for names that are not Plan fields: DataFrame methods and columns
        added = self.__dict__.get("added")
        if added is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(added, name)


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
    priority: Raster | gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> CameraPlan:
    """Place up to ``k`` new cameras that cover the most walkable public space at a level.

    With ``priority``, the cameras cover the most priority weight instead (issue 19):
    each target cell counts with the weight the priority puts on it, not its area.

    Parameters
    ----------
    district
        The District.
    level
        DORI level the new cameras must deliver (default recognition).
    candidates
        Candidate positions (points; see :func:`camera_candidates` for the columns).
        None: building facades and lamp posts of the District.  Only candidates that
        can see the study area at ``level`` (within their reach of the boundary's
        bounding box) are evaluated; the others are counted in
        ``summary["candidates_out_of_reach"]``.
    k
        Number of cameras to place, 1 <= k <= ``placement.max_new_cameras`` of
        ``standards/dori.yaml`` (500: each placed camera costs one pass over the
        candidates, and no district plan needs more).
    method
        ``"greedy"`` (default): repeatedly take the candidate with the largest marginal
        gain (lazy evaluation); it achieves at least 1 - 1/e (63 %) of the optimum for
        this maximum-coverage problem (Nemhauser, Wolsey & Fisher 1978) and is usually
        much closer.  ``"exhaustive"``: try every set of ``k`` candidates (small cases
        only; refuses more than 200,000 sets).
    resolution_m
        Cell size (m), finite and > 0.
    edition
        DORI level set (:func:`~vollsmose_gis.cctv.dori_levels`).
    include_existing
        Count space already covered at ``level`` by the District's cameras as covered,
        so gains are what the new cameras add.
    camera
        Lens and mounting of the generated candidates (see :func:`camera_candidates`).
    priority
        Where cameras matter most: a Raster of weight per m² (e.g.
        :func:`vollsmose_gis.safety.priority_surface`; any cell size and alignment) or
        points with a ``weight`` column, in the District CRS (validated by
        :func:`vollsmose_gis.lighting.priority_points`).  Each raster cell's weight
        (value × cell area) or point's weight goes to the planning cell holding its
        centre, and only weight on target cells (walkable public space) counts: spread
        point evidence first (``priority_surface``) so a mark beside a path weighs on
        it.  The greedy / exhaustive search then maximises the weight seen.  None
        (default): the area seen.
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    CameraPlan
        ``added``: the chosen cameras in order, with the cameras-layer columns
        (``camera_id`` from :func:`~vollsmose_gis.analysis.new_ids` with prefix ``K``:
        ``new-K-001``…) and ``rank, candidate_id, source, marginal_gain_m2,
        cumulative_gain_m2, covered_share`` (of the target area, existing cameras
        included), ``cost_dkk``, ``cumulative_cost_dkk``.  Fewer than ``k`` rows when
        no candidate adds anything (said in ``unmet``).  With ``priority`` also
        ``marginal_weight, cumulative_weight, priority_share`` (of the weight on target
        cells, existing cameras included; 0–1), and ``summary`` adds ``objective``
        (``"priority"``), ``priority_weight`` (Σ weight on target cells) and
        ``existing_priority_covered``; the ``*_m2`` columns stay the area each camera
        adds, in the order chosen by weight.

    Raises
    ------
    InputError
        ``k`` not a whole number in [1, max_new_cameras], unknown method or level,
        ``resolution_m`` not finite and > 0, too many candidates; an invalid
        ``priority`` (wrong type or CRS, negative or infinite weights, not overlapping
        the boundary) or one that puts no weight on the walkable public space.

    Notes
    -----
    Walkable public space: walkable streets and paths (buffered by their width), and
    land use square, green, sport and parking, inside the boundary, outside buildings
    and private land use, on the raster (area in m²).  The raster covers the
    boundary's bounding box grown by the longest reach of the cameras evaluated, so
    every evaluated camera and every sight line lies on it.
    """
    std = _standard()
    max_k = int(std["placement"]["max_new_cameras"])
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= max_k:
        raise InputError(
            f"k {k!r}: the number of cameras to place must be a whole number from 1 to "
            f"{max_k} (placement.max_new_cameras in standards/dori.yaml); place them in "
            "rounds if a plan needs more"
        )
    if method not in ("greedy", "exhaustive"):
        raise InputError(f"method {method!r} must be 'greedy' or 'exhaustive'")
    if not (np.isfinite(resolution_m) and resolution_m > 0):
        raise InputError(f"resolution_m {resolution_m!r} must be a finite number > 0 metres")
    levels = dori_levels(edition)
    code = _level_code(level, levels)
    thresholds = np.array(list(levels.values()))
    target_z = float(std["target_height_m"])
    clearance = float(std["occlusion"]["mount_clearance_m"])

    cands = camera_candidates(district, candidates, camera=camera)
    for row in cands.itertuples():
        _check_fov_resolution(row.hfov_deg, row.resolution_px, f"candidate {row.candidate_id}")
    # candidates inside buildings cannot host a camera
    if len(cands) and len(district.buildings):
        tol = float(std["occlusion"]["facade_tolerance_m"])
        foot = district.buildings.geometry.to_numpy()
        ci, bi = shapely.STRtree(foot).query(cands.geometry.to_numpy(), predicate="within")
        deep = shapely.distance(cands.geometry.to_numpy()[ci], shapely.boundary(foot[bi])) > tol
        cands = cands.drop(index=cands.index[np.unique(ci[deep])]).reset_index(drop=True)

    existing_all = _cameras_for(camera_setup(district)) if include_existing else []
    as_cams_all = [
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
    # Only cameras within their reach of the study area are evaluated, and the grid is
    # grown by the longest of *their* reaches, so each lies on the grid with its sight
    # lines (issue 17: candidates of an imported extract's context beyond the grid made
    # sight lines index outside the occluder tables -> IndexError or wrapped indices).
    grid, kept = _study_grid(
        district, [*existing_all, *as_cams_all], thresholds[code - 1], resolution_m, target_z
    )
    reachable = {id(c) for c in kept}
    existing = [c for c in existing_all if id(c) in reachable]
    in_reach = np.array([id(c) in reachable for c in as_cams_all], dtype=bool)
    as_cams = [c for c in as_cams_all if id(c) in reachable]
    out_of_reach = len(as_cams_all) - len(as_cams)
    cands = cands.loc[in_reach].reset_index(drop=True) if len(cands) else cands
    if len(as_cams) > int(std["placement"]["max_candidates"]):
        raise InputError(
            f"{len(as_cams)} camera candidates within reach of the study area exceed the "
            f"limit of {std['placement']['max_candidates']}; pass fewer candidates or a "
            "larger facade spacing (camera_candidates(..., facade_spacing_m=...))"
        )
    occ = _occluders(district.buildings, grid)
    target = _planning_targets(district, grid, occ).ravel()
    area = grid.res**2
    weight = None if priority is None else _cell_weights(priority, district, grid, target)

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

    limit = int(std["placement"]["exhaustive_max_combinations"])
    chosen, gains, weight_gains = _select(sets, target.size, k, method, limit, weight)
    if progress is not None:
        progress(1.0, "placement done")

    target_m2 = float(target.sum()) * area
    unit_cost = float(load("unit_costs")["camera"])
    picked = cands.iloc[chosen].reset_index(drop=True)
    camera_ids = district.cameras.get("camera_id", pd.Series(dtype="string"))
    existing_ids = camera_ids.astype("string").dropna().tolist()
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "camera_id": pd.array(new_ids("K", len(chosen), existing_ids), dtype="string"),
            "candidate_id": picked["candidate_id"].astype("string"),
            "source": picked["source"].astype("string"),
            "height_m": picked["height_m"],
            "heading_deg": picked["heading_deg"],
            "hfov_deg": picked["hfov_deg"],
            "vfov_deg": picked["vfov_deg"],
            "resolution_px": picked["resolution_px"],
            "tilt_deg": picked["tilt_deg"],
            "heading_estimated": np.zeros(len(chosen), dtype=bool),  # planned: known
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
    summary: dict[str, Any] = {
        "target_area_m2": target_m2,
        "existing_covered_m2": existing_m2,
        "level": level,
        "method": method,
        "candidates": len(cands),
        "candidates_out_of_reach": out_of_reach,
        "k": int(k),
    }
    if weight is not None:
        summary.update(_weighted_columns(out, weight, weight_gains, covered))
    out.attrs.update(summary)
    unmet = []
    if len(out) < k:
        adds = "priority weight" if weight is not None else "walkable public space"
        unmet.append(
            f"{k - len(out)} of {k} cameras not placed: no remaining candidate (of "
            f"{len(cands)} within reach of the study area) adds {adds} "
            f"seen at {level} or better"
        )
    return CameraPlan(
        district=add_cameras(district, out) if len(out) else district,
        added=out,
        cost_dkk=float(unit_cost * len(out)),
        unmet=unmet,
        summary=summary,
        layer="cameras",
    )


def _cell_weights(
    priority: Raster | gpd.GeoDataFrame, district: District, grid: _Grid, target: np.ndarray
) -> np.ndarray:
    """Priority weight per planning cell (flat, 0 off the targets).

    Each weighted point of :func:`~vollsmose_gis.lighting.priority_points` goes to the
    cell holding it (a raster at the planning grid maps cell to cell).
    """
    xy, w = priority_points(priority, district, step_m=grid.res)
    rows, cols = grid.shape
    col = np.floor((xy[:, 0] - grid.xmin) / grid.res).astype(np.int64)
    row = np.floor((grid.ymax - xy[:, 1]) / grid.res).astype(np.int64)
    on = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    weight = np.bincount(row[on] * cols + col[on], weights=w[on], minlength=rows * cols)
    weight = np.where(target, weight, 0.0)
    if not weight.sum() > 0:
        raise InputError(
            f"the priority puts no weight on the walkable public space (walkable streets, "
            f"squares, green) of district {district.name!r} that cameras could cover; "
            "spread point evidence onto the paths (safety.priority_surface) or check "
            "the priority's area"
        )
    return weight


def _weighted_columns(
    out: gpd.GeoDataFrame, weight: np.ndarray, gains: list[float], existing: np.ndarray
) -> dict[str, Any]:
    """Add the priority columns to a plan's cameras; return the summary entries."""
    total = float(weight.sum())
    existing_weight = float(weight[existing].sum())
    out["marginal_weight"] = np.asarray(gains, dtype=float)
    out["cumulative_weight"] = out["marginal_weight"].cumsum()
    out["priority_share"] = (existing_weight + out["cumulative_weight"]) / total
    return {
        "objective": "priority",
        "priority_weight": total,
        "existing_priority_covered": existing_weight,
    }


def _greedy(
    sets: list[np.ndarray], size: int, k: int, weights: np.ndarray | None = None
) -> tuple[list[int], list[float]]:
    """Lazy greedy maximum coverage (CELF): indices chosen and their marginal gains.

    A set's value is its number of cells, or the sum of ``weights`` (≥ 0, one per cell)
    over its cells when given: weighted maximum coverage, the same 1 - 1/e guarantee.
    """

    def value(cells: np.ndarray) -> float:
        return float(weights[cells].sum()) if weights is not None else len(cells)

    covered = np.zeros(size, dtype=bool)
    bounds = np.array([value(s) for s in sets], dtype=np.float64)
    fresh = np.zeros(len(sets), dtype=bool)
    chosen: list[int] = []
    gains: list[float] = []
    while len(chosen) < k and len(sets):
        fresh[:] = False
        while True:
            # ties go to the lowest candidate index (deterministic)
            best = int(np.argmax(bounds))
            if bounds[best] <= 0 or fresh[best]:
                break
            bounds[best] = value(sets[best][~covered[sets[best]]])
            fresh[best] = True
        if bounds[best] <= 0:
            break
        gains.append(float(bounds[best]))
        covered[sets[best]] = True
        chosen.append(best)
        bounds[best] = -1
    return chosen, gains


def _select(
    sets: list[np.ndarray],
    size: int,
    k: int,
    method: str,
    limit: int,
    weights: np.ndarray | None,
) -> tuple[list[int], list[float], list[float]]:
    """Sets chosen by ``method``, the cells each adds and (with ``weights``) its weight.

    With weights the selection maximises weight; the cells each chosen set adds are
    then counted in that order (the area column of the plan).
    """
    if method == "greedy":
        chosen, gains = _greedy(sets, size, k, weights)
    else:
        chosen, gains = _exhaustive(sets, size, k, limit, weights)
    if weights is None:
        return chosen, gains, gains
    covered = np.zeros(size, dtype=bool)
    cells = []
    for i in chosen:
        cells.append(float((~covered[sets[i]]).sum()))
        covered[sets[i]] = True
    return chosen, cells, gains


def _exhaustive(
    sets: list[np.ndarray],
    size: int,
    k: int,
    limit: int,
    weights: np.ndarray | None = None,
) -> tuple[list[int], list[float]]:
    """Best set of ``k`` candidates by trying all; ordered by marginal gain.

    Value as for :func:`_greedy`: cells covered, or their ``weights`` summed.
    """
    useful = [i for i, s in enumerate(sets) if len(s)]
    if weights is not None:
        useful = [i for i in useful if weights[sets[i]].sum() > 0]
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
    cell_weights = None if weights is None else weights[cells]
    best_value = -1.0
    best_combo: tuple[int, ...] = ()
    for combo in itertools.combinations(range(len(useful)), k):
        if cell_weights is None:
            value = float(popcount[np.bitwise_or.reduce(packed[list(combo)], axis=0)].sum())
        else:
            value = float(cell_weights[bits[list(combo)].any(axis=0)].sum())
        if value > best_value:
            best_value, best_combo = value, combo
    order, gains = _greedy([sets[useful[i]] for i in best_combo], size, k, weights)
    return [useful[best_combo[i]] for i in order], gains


def add_cameras(district: District, cameras: gpd.GeoDataFrame | Plan) -> District:
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
    if isinstance(cameras, Plan):
        cameras = cameras.added
    columns = [*layer_schemas()["cameras"]["columns"], "geometry"]
    new = gpd.GeoDataFrame(cameras[[c for c in columns if c in cameras]], crs=district.crs)
    clash = set(new["camera_id"].astype(str)) & set(district.cameras["camera_id"].astype(str))
    if clash:
        raise InputError(f"camera id(s) {sorted(clash)} already exist in the district")
    existing = district.cameras[[c for c in columns if c in district.cameras]]
    merged = pd.concat([existing, new], ignore_index=True) if len(existing) else new
    return district.replace(cameras=gpd.GeoDataFrame(merged, geometry="geometry", crs=district.crs))
