"""The lamp planner: lamps along failing segments until they pass EN 13201."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from vollsmose_gis._errors import InputError
from vollsmose_gis._util import contains_points
from vollsmose_gis.analysis import Plan, new_ids
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.lighting.compliance import (
    _assess,
    _evaluate,
    _prepare_segments,
    _requirements_columns,
    _segment_points,
    passing_streets,
)
from vollsmose_gis.lighting.model import (
    _cutoff,
    _illuminance_points,
    _Lamp,
    _lamp_from_row,
    _lamps,
    _params,
    _photometry_dir,
)
from vollsmose_gis.network import nearest_walkable_street
from vollsmose_gis.standards import load

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

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


class LightingPlan(Plan):
    """Result of :func:`plan_lights`: a :class:`~vollsmose_gis.analysis.Plan`.

    ``added`` holds the new lamps as rows of the ``lights`` layer (ids from
    :func:`~vollsmose_gis.analysis.new_ids` with prefix ``L``: ``new-L-001``…),
    ``district`` the district with them, ``cost_dkk`` their installed cost, ``unmet``
    the street ids still failing (the lamp cannot light them to their class, or
    ``max_new`` was reached), ``summary`` the figures (lamps added, segments planned,
    not assessed) and ``extras`` the compliance frames before and after.

    The old attribute names still work: ``new_lights``, ``compliance_before``,
    ``compliance_after``, ``unresolved``.
    """

    @property
    def new_lights(self) -> gpd.GeoDataFrame:
        """The added lamps (same as ``added``)."""
        return self.added

    @property
    def compliance_before(self) -> gpd.GeoDataFrame:
        """:func:`~vollsmose_gis.lighting.compliance` of the district before the plan."""
        return self.extras["compliance_before"]

    @property
    def compliance_after(self) -> gpd.GeoDataFrame:
        """:func:`~vollsmose_gis.lighting.compliance` of the district with the new lamps."""
        return self.extras["compliance_after"]

    @property
    def unresolved(self) -> list[str]:
        """Street ids still failing after the plan (same as ``unmet``)."""
        return self.unmet


def check_spacing(spacing_m: Any, what: str = "min_spacing_m") -> float:
    """Return a lamp spacing if it lies in the planner's bounds, else refuse it.

    Parameters
    ----------
    spacing_m
        Distance between lamps, m.
    what
        The parameter's name in messages (e.g. a scenario's ``add_lights: spacing_m``).

    Raises
    ------
    InputError
        Not a finite number within ``planner.spacing_bounds_m`` of
        ``standards/en13201.yaml`` ([2, 500] m): closer than 2 m is no lighting layout
        and would ask for a lamp every few centimetres (the work grows as length /
        spacing), farther than 500 m lights nothing.
    """
    low, high = (float(v) for v in _params()["planner"]["spacing_bounds_m"])
    try:
        value = float(spacing_m)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(
            f"{what} {spacing_m!r} must be a number of metres from {low:g} to {high:g} "
            "(planner.spacing_bounds_m in standards/en13201.yaml; street lamps usually "
            "stand 15-40 m apart)"
        )
    return value


_MAX_PRIORITY_POINTS = 4_000_000
"""Most points a priority raster is spread into (its cells' sub-points are fewer then)."""


def _spread_cells(values: np.ndarray, t: Any, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero cells of a north-up raster as weighted points (weight = value × area).

    A cell coarser than ``step_m`` (a 10-25 m density raster) is spread evenly over
    k × k points inside it: its weight is not all put on one spot, which the planners
    would then find on a roof or far from every path.
    """
    rows, cols = np.nonzero(values)
    k = max(1, math.ceil(max(t.a, -t.e) / step_m))
    while len(rows) * k * k > _MAX_PRIORITY_POINTS and k > 1:
        k -= 1
    offsets = (np.arange(k) + 0.5) / k  # sub-point centres, in cells
    ox, oy = (a.ravel() for a in np.meshgrid(offsets, offsets))
    x = (t.c + (cols[:, None] + ox[None, :]) * t.a).ravel()
    y = (t.f + (rows[:, None] + oy[None, :]) * t.e).ravel()
    weight = np.repeat(values[rows, cols] * abs(t.a * t.e) / (k * k), k * k)
    return np.column_stack([x, y]), weight


def priority_points(
    priority: Raster | gpd.GeoDataFrame, district: District, *, step_m: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Return a priority as weighted points (x, y in the District CRS; weight > 0).

    Shared by the lamp planner (:func:`plan_lights`) and the camera planner
    (:func:`vollsmose_gis.cctv.plan_cameras`), so both accept and refuse the same input.

    Parameters
    ----------
    priority
        A :class:`~vollsmose_gis.io.Raster` of weight per m² (north-up; cells equal to
        its ``nodata`` or NaN count as 0): each cell's weight (value × cell area) is
        spread evenly over points at most ``step_m`` apart inside it; or a GeoDataFrame
        of points with a numeric ``weight`` column (≥ 0).  Same CRS as the District.
    district
        The District: its CRS and boundary.
    step_m
        Spacing of the points a raster cell is spread over, m (the planners' cell
        size; a cell of at most ``step_m`` is one point at its centre).

    Returns
    -------
    tuple of numpy.ndarray
        ``xy`` (n, 2) in metres and ``weight`` (n,): the places inside the district
        boundary with weight > 0.

    Raises
    ------
    InputError
        Another type; a different CRS (or none); negative or infinite weights; a rotated
        raster; nothing overlapping the district boundary; no weight inside the
        boundary.
    """
    import pyproj

    district_crs = pyproj.CRS.from_user_input(district.crs)
    if hasattr(priority, "array") and hasattr(priority, "transform"):
        what = f"priority raster {getattr(priority, 'name', '')!r}"
        crs = getattr(priority, "crs", None)
        if crs is None or not pyproj.CRS.from_user_input(crs).equals(district_crs):
            raise InputError(
                f"{what} is in CRS {crs!r}, the district {district.name!r} in "
                f"{district.crs!r}; reproject the raster to the district CRS"
            )
        t = priority.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise InputError(f"{what} must be north-up (no rotation); got transform {t!r}")
        values = np.asarray(priority.array, dtype=float)
        if values.ndim != 2:
            raise InputError(f"{what} must be a single 2-D band, got shape {values.shape}")
        nodata = getattr(priority, "nodata", None)
        empty = np.isnan(values) | (values == nodata if nodata is not None else False)
        values = np.where(empty, 0.0, values)
        minx, miny, maxx, maxy = priority.bounds
        if not shapely.intersects(shapely.box(minx, miny, maxx, maxy), district.boundary):
            raise InputError(
                f"{what} covers ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}), which does "
                f"not overlap the boundary of district {district.name!r} "
                f"{tuple(round(v) for v in district.boundary.bounds)}; wrong area or CRS?"
            )
        xy, weight = _spread_cells(values, t, step_m)
    elif isinstance(priority, gpd.GeoDataFrame):
        what = "priority places"
        if priority.crs is None or not pyproj.CRS.from_user_input(priority.crs).equals(
            district_crs
        ):
            crs = None if priority.crs is None else priority.crs.to_string()
            raise InputError(
                f"{what} are in CRS {crs!r}, the district {district.name!r} in "
                f"{district.crs!r}; reproject them (GeoDataFrame.to_crs)"
            )
        if "weight" not in priority.columns:
            raise InputError(f"{what} need a numeric 'weight' column (weight of each place)")
        weight = pd.to_numeric(priority["weight"], errors="coerce").to_numpy(dtype=float)
        geoms = priority.geometry.to_numpy()
        kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
        if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any() or kinds - {0}:
            raise InputError(f"{what} must all be points (a line mark: use its midpoint)")
        if np.isnan(weight).any():
            raise InputError(f"{what}: 'weight' must be a number for every place")
        xy = shapely.get_coordinates(geoms).reshape(-1, 2)
    else:
        raise InputError(
            f"priority must be a Raster (weight per m², e.g. safety.priority_surface) or a "
            f"GeoDataFrame of points with a 'weight' column; got {type(priority).__name__}"
        )
    if not np.isfinite(weight).all():
        raise InputError(f"{what} has infinite weights; weights must be finite and >= 0")
    if (weight < 0).any():
        raise InputError(
            f"{what} has {int((weight < 0).sum())} negative weight(s) (lowest "
            f"{float(weight.min()):g}); weights must be >= 0"
        )
    inside = contains_points(district.boundary, xy[:, 0], xy[:, 1]) & (weight > 0)
    if not inside.any():
        raise InputError(
            f"{what} has no weight > 0 inside the boundary of district {district.name!r}; "
            "give the places to aim at (an all-zero priority ranks nothing)"
        )
    return xy[inside], weight[inside]


def _bearing(line: LineString, station: float) -> float:
    length = line.length
    eps = min(0.05, length / 100)
    a = line.interpolate(max(0.0, station - eps))
    b = line.interpolate(min(length, station + eps))
    return math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360.0


def plan_lights(  # noqa: C901 - waiver: the greedy lamp planner loop with its spacing rules; split into candidate/selection steps next
    district: District,
    *,
    target_class: str | None = None,
    lamp: LampSpec | Mapping[str, Any] | None = None,
    max_new: int | None = None,
    min_spacing_m: float | None = None,
    only_walkable: bool = True,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    priority: Raster | gpd.GeoDataFrame | None = None,
    priority_radius_m: float = 15.0,
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
        Minimum distance between any two lamps, m (default ``planner.min_spacing_m``;
        within ``planner.spacing_bounds_m``, see :func:`check_spacing`).
    only_walkable
        Plan only segments with ``walk`` true (paths and streets people walk), inside
        the boundary.
    cutoff_lx, photometry_dir
        As for :func:`compliance`.
    priority
        Where lamps matter most (issue 19): a Raster of weight per m² (e.g.
        :func:`vollsmose_gis.safety.priority_surface`) or points with a ``weight``
        column (e.g. :func:`vollsmose_gis.safety.priority_places`), in the District
        CRS; see :func:`priority_points`.  Each place (raster cell) inside the boundary
        is given to its nearest walkable street within ``priority_radius_m``; a
        segment *treats* the weight given to it.  When set, only failing segments that
        treat weight are planned, the heaviest first (length breaks ties), so
        ``max_new`` lamps go where the weight is.  None (default): every failing
        segment, longest first.
    priority_radius_m
        How far a place may lie from its street and still be treated by lighting it,
        m (> 0; 15 m, as :func:`vollsmose_gis.safety.treated_share`).
    progress
        Optional callback (fraction done, message).

    Returns
    -------
    LightingPlan
        New lamp rows (``added``), cost, compliance before/after, the new district,
        unresolved street ids (``unmet``).  With ``priority``, ``summary`` also holds
        ``priority_weight`` (Σ weight inside the boundary), ``priority_weight_near_paths``
        (the part within ``priority_radius_m`` of a walkable street),
        ``priority_treated_share_before``/``_after`` (share of ``priority_weight`` whose
        street passes its class; 0–1) and ``segments_without_priority`` (failing
        segments left out because they treat no weight).

    Raises
    ------
    InputError
        Bad ``min_spacing_m``, ``max_new``, ``target_class`` or lamp fields; an
        invalid ``priority`` (see :func:`priority_points`: wrong type or CRS, negative
        weights, nothing inside the boundary) or ``priority_radius_m`` not > 0.

    Notes
    -----
    Failing segments are taken longest first (with ``priority``: heaviest first).  For
    each, two placements are tried and the one passing with fewer lamps kept: (a) k
    lamps evenly spaced along the segment (k = 1, 2, … until it passes), and (b)
    greedy: a lamp at the darkest grid point, repeated.  Lamps stand ``setback_m``
    outside the path edge (left side first, then right), never inside a building, never
    closer than ``min_spacing_m`` to another lamp (the station is shifted along the
    path in 1 m steps to find a free spot).  Lamps added for one segment count for all
    later ones.  A segment that cannot pass even with lamps at minimum spacing gets no
    lamps and is reported unresolved.
    """
    params = _params()["planner"]
    spec = LampSpec.from_value(lamp)
    spacing_min = check_spacing(
        params["min_spacing_m"] if min_spacing_m is None else min_spacing_m, "min_spacing_m"
    )
    if max_new is not None and (
        isinstance(max_new, bool) or not isinstance(max_new, int | np.integer) or max_new < 0
    ):
        raise InputError(f"max_new must be a whole number >= 0 (or None), got {max_new!r}")
    cutoff = _cutoff(cutoff_lx)
    folder = _photometry_dir(photometry_dir)
    treats = None if priority is None else _street_weights(district, priority, priority_radius_m)
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
    candidates = before.loc[before["status"] == "fail"]  # C classes: not assessed
    if only_walkable:
        walk = candidates["walk"].fillna(False).astype(bool) if "walk" in candidates else False
        candidates = candidates.loc[walk & candidates["in_boundary"]]
    left_out = 0
    if treats is None:
        order = candidates.sort_values("length_m", ascending=False, kind="stable").index
    else:
        weight = before["street_id"].astype(str).map(treats["by_street"]).fillna(0.0)
        left_out = int((weight.loc[candidates.index] <= 0).sum())
        candidates = candidates.assign(_weight=weight).loc[lambda f: f["_weight"] > 0]
        order = candidates.sort_values(
            ["_weight", "length_m"], ascending=False, kind="stable"
        ).index
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

    lights_ids = district.lights.get("light_id", pd.Series(dtype="string"))
    existing_ids = lights_ids.astype("string").dropna().tolist()
    ids = new_ids("L", len(placed), existing_ids)
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
    still = after.loc[after.index.isin(order) & (after["status"] == "fail"), "street_id"]
    still = still.astype(str)
    unresolved = sorted(set(unresolved) | set(still))
    if progress is not None:
        progress(1.0, "planning lamps")
    unit = spec.unit_cost_dkk
    cost = float(len(placed) * (unit if unit == unit else float(load("unit_costs")["lamp"])))
    summary = {
        "new_lamps": len(placed),
        "segments_failing_before": int((before["status"] == "fail").sum()),
        "segments_planned": len(order),
        "segments_not_assessed": int((before["status"] == "not_assessed").sum()),
        "min_spacing_m": spacing_min,
        "lit_path_length_passing_before_m": _passing_walk_length(before),
        "lit_path_length_passing_after_m": _passing_walk_length(after),
    }
    if treats is not None:
        summary.update(
            priority_weight=treats["total"],
            priority_weight_near_paths=float(sum(treats["by_street"].values())),
            priority_treated_share_before=_treated(before, treats),
            priority_treated_share_after=_treated(after, treats),
            segments_without_priority=left_out,
        )
    return LightingPlan(
        district=new_district,
        added=new_rows,
        cost_dkk=cost,
        unmet=unresolved,
        summary=summary,
        layer="lights",
        extras={"compliance_before": before, "compliance_after": after},
    )


def _street_weights(
    district: District, priority: Raster | gpd.GeoDataFrame, radius_m: float
) -> dict[str, Any]:
    """Priority weight per walkable street id: each place to its nearest one within reach."""
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"priority_radius_m must be > 0 m, got {radius_m!r}")
    xy, weight = priority_points(priority, district)
    by_street: dict[str, float] = {}
    places, ids = nearest_walkable_street(district.streets, xy, radius_m)
    if len(places):
        by_street = pd.Series(weight[places]).groupby(ids).sum().to_dict()
    return {"total": float(weight.sum()), "by_street": by_street}


def _treated(frame: gpd.GeoDataFrame, treats: dict[str, Any]) -> float:
    """Share of the priority weight whose street passes its class (0–1)."""
    passing = passing_streets(frame)
    done = sum(w for street, w in treats["by_street"].items() if street in passing)
    return float(done / treats["total"])


def _passing_walk_length(frame: gpd.GeoDataFrame) -> float:
    """Length of walkable segments inside the boundary that pass their class, m."""
    walk = frame["walk"].fillna(False).astype(bool) if "walk" in frame else False
    chosen = frame.loc[walk & frame["in_boundary"] & (frame["status"] == "pass")]
    return float(chosen["length_m"].sum())
