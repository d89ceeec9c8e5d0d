"""Natural surveillance ("eyes on the street"): which paths windows overlook.

Observer model
--------------
Observers are windows and active ground floors on the building facades that face a
walkable street or path:

* facades are the edges of the building footprints' exterior rings; a facade faces a
  path when a walkable line lies within ``facing_distance_m`` (25 m) in front of it
  (on the side of its outward normal);
* along each facing facade an observer point every ``facade_step_m`` (5 m), set
  ``facade_offset_m`` (0.75 m) in front of the wall;
* heights: the ground floor (eye at ``eye_height_m``, 1.5 m) for active uses
  (``active_uses``: shops, services, institutions); the first floor and above up to
  ``max_observer_floor`` (4) for dwellings (``dwelling_uses``), eye at
  ``k · floor_height_m + eye_height_m``; a single-storey dwelling (row house) looks
  out of its ground floor;
* an observer sees a path point when it lies within ``view_half_angle_deg`` (80°) of
  the facade normal, the slant distance from the eye to a face 1.7 m above the point
  is at most the recognition distance (``recognition_distance_day_m``, 25 m: faces
  are recognised at about 25 m) and no building rises above the sight line.

The line of sight is the CCTV engine's (:mod:`vollsmose_gis.cctv.visibility`): the
footprints rasterised with their heights at ``resolution_m`` (1 m), exact crossing
checks of each 3-D sight line; occluders within 1 m of the observer (its own wall)
are ignored, as for a camera's mount.

Paths: the walkable streets and paths (walk, not in a tunnel) clipped to the boundary,
cut into pieces of at most ``path_step_m`` (2 m) taking the state of their midpoint;
pieces inside building footprints are left out.  By night a piece counts as overlooked
only when it is also lit to its EN 13201 class: its segment's maintained average
illuminance reaches the class's average (and its minimum the class's minimum, where
the class has one; :func:`vollsmose_gis.lighting.compliance`).

Squares (land use ``square_uses``) are sampled on a ``square_step_m`` (2 m) grid; a
facade facing a square has observers too; the overlooked share of their area by day
is the share of grid points seen.

Dead frontages: facades of buildings with no observer use (neither active nor
dwellings: parking, industry, other …), at least ``dead_frontage_min_m`` (10 m) long,
facing a path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis._util import contains_points
from vollsmose_gis.cctv.setup import _walkable, building_heights
from vollsmose_gis.cctv.visibility import _grid_for, _line_of_sight, _occluders
from vollsmose_gis.district import District
from vollsmose_gis.safety.evidence import safety_params

__all__ = [
    "SurveillanceResult",
    "facades",
    "natural_surveillance",
    "observers",
    "path_samples",
    "square_samples",
]

_FACE_Z = 1.7  # height of a face above the path, m (the CCTV engine's target)
_BATCH = 200_000  # sight lines per batch


def _params(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    params = safety_params("surveillance")
    params.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return params


def _squares(district: District, p: dict[str, Any]) -> gpd.GeoDataFrame:
    """Land use of the square uses (``surveillance.square_uses``)."""
    landuse = district.landuse
    if not len(landuse):
        return landuse
    return landuse[landuse["use"].astype(str).isin(list(p["square_uses"]))]


def square_samples(district: District, p: dict[str, Any]) -> gpd.GeoDataFrame:
    """Grid points (``square_step_m`` apart) on squares inside the boundary, outside buildings."""
    squares = _squares(district, p)
    crs = district.crs
    if not len(squares):
        return gpd.GeoDataFrame({"landuse_id": []}, geometry=[], crs=crs)
    step = float(p["square_step_m"])
    area = shapely.intersection(squares.geometry.to_numpy(), district.boundary)
    ids = squares["landuse_id"].astype(str).to_numpy()
    parts_xy, parts_id = [], []
    for geom, ident in zip(area, ids, strict=True):
        if geom.is_empty:
            continue
        minx, miny, maxx, maxy = geom.bounds
        xs = np.arange(math.floor(minx / step) * step + step / 2, maxx, step)
        ys = np.arange(math.floor(miny / step) * step + step / 2, maxy, step)
        gx, gy = np.meshgrid(xs, ys)
        pts = shapely.points(gx.ravel(), gy.ravel())
        inside = contains_points(geom, gx.ravel(), gy.ravel())
        parts_xy.append(pts[inside])
        parts_id.append(np.full(int(inside.sum()), ident, dtype=object))
    points = np.concatenate(parts_xy) if parts_xy else np.empty(0, dtype=object)
    ident = np.concatenate(parts_id) if parts_id else np.empty(0, dtype=object)
    if len(points) and len(district.buildings):
        hit = shapely.STRtree(district.buildings.geometry.to_numpy()).query(
            points, predicate="within"
        )
        keep = np.ones(len(points), dtype=bool)
        keep[hit[0]] = False
        points, ident = points[keep], ident[keep]
    return gpd.GeoDataFrame({"landuse_id": ident}, geometry=points, crs=crs)


def facades(district: District, params: dict[str, Any] | None = None) -> gpd.GeoDataFrame:
    """The facades of every building facing a walkable path or a square.

    Returns
    -------
    geopandas.GeoDataFrame
        ``building_id``, ``use``, ``floors`` (storeys, from ``floors`` or height),
        ``length_m``, ``nx``, ``ny`` (outward unit normal), ``observer`` (``"active"``,
        ``"dwelling"``, ``"both"`` or ``""``), ``dead`` (no observer use, long enough)
        and the facade's line geometry.
    """
    p = _params(params)
    buildings = district.buildings
    columns = ["building_id", "use", "floors", "length_m", "nx", "ny", "observer", "dead"]
    empty = gpd.GeoDataFrame(
        {c: pd.Series(dtype=float) for c in columns}, geometry=[], crs=district.crs
    )
    paths = np.concatenate(
        [_walkable(district).geometry.to_numpy(), _squares(district, p).geometry.to_numpy()]
    )
    if not len(buildings) or not len(paths):
        return empty
    polys = shapely.get_parts(buildings.geometry.to_numpy(), return_index=True)
    parts, owner = polys
    rings = shapely.get_exterior_ring(shapely.orient_polygons(parts))  # counter-clockwise
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    building = owner[ring[:-1][same]]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0.5
    a, b, d, length, building = a[keep], b[keep], d[keep], length[keep], building[keep]
    # counter-clockwise ring: the outside is on the right of the direction of travel
    normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    # facing: a walkable line within facing_distance_m in front of the facade
    reach = float(p["facing_distance_m"])
    # the rectangle in front of the facade, facing_distance_m deep
    quad = np.stack([a, b, b + normal * reach, a + normal * reach, a], axis=1)
    front = shapely.polygons(quad)
    tree = shapely.STRtree(paths)
    hits = tree.query(front, predicate="intersects")
    facing = np.zeros(len(lines), dtype=bool)
    facing[hits[0]] = True
    heights = building_heights(buildings).to_numpy()
    floors = buildings["floors"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    storeys = np.where(
        np.isfinite(floors) & (floors > 0),
        floors,
        np.maximum(1.0, np.floor(heights / float(p["floor_height_m"]))),
    )
    use = buildings["use"].astype(str).to_numpy()
    active = np.isin(use, list(p["active_uses"]))
    dwelling = np.isin(use, list(p["dwelling_uses"])) | (
        buildings["dwellings"].fillna(0).to_numpy(dtype=float) > 0
    )
    kind = np.where(
        active & dwelling, "both", np.where(active, "active", np.where(dwelling, "dwelling", ""))
    )
    observer = kind[building]
    dead = facing & (observer == "") & (length >= float(p["dead_frontage_min_m"]))
    out = gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].astype(str).to_numpy()[building],
            "use": use[building],
            "floors": storeys[building],
            "length_m": length,
            "nx": normal[:, 0],
            "ny": normal[:, 1],
            "observer": observer,
            "dead": dead,
        },
        geometry=lines,
        crs=district.crs,
    )
    return out[facing].reset_index(drop=True)


def observers(facing: gpd.GeoDataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Observer points on facing facades (see the module notes).

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` (m, in front of the wall), ``z`` (eye height, m), ``nx``, ``ny``
        (the facade's outward normal), ``floor`` and ``facade`` (row of ``facing``).
    """
    p = _params(params)
    eyes = facing[facing["observer"] != ""]
    if not len(eyes):
        return pd.DataFrame(columns=["x", "y", "z", "nx", "ny", "floor", "facade"])
    step = float(p["facade_step_m"])
    offset = float(p["facade_offset_m"])
    length = eyes["length_m"].to_numpy()
    count = np.maximum(1, np.round(length / step)).astype(np.int64)
    facade = np.repeat(np.arange(len(eyes)), count)
    k = np.arange(len(facade)) - np.repeat(np.cumsum(count) - count, count)
    frac = (k + 0.5) / count[facade]
    pts = shapely.line_interpolate_point(eyes.geometry.to_numpy()[facade], frac, normalized=True)
    xy = shapely.get_coordinates(pts)
    nx, ny = eyes["nx"].to_numpy()[facade], eyes["ny"].to_numpy()[facade]
    xy = xy + np.column_stack([nx, ny]) * offset
    kind = eyes["observer"].to_numpy()[facade]
    storeys = eyes["floors"].to_numpy()[facade]
    top = int(p["max_observer_floor"])
    rows = []
    for floor in range(top + 1):
        if floor == 0:
            # active ground floors; single-storey dwellings look out of the ground floor
            mask = np.isin(kind, ["active", "both"]) | ((kind == "dwelling") & (storeys <= 1))
        else:
            mask = np.isin(kind, ["dwelling", "both"]) & (storeys > floor)
        if mask.any():
            rows.append(
                pd.DataFrame(
                    {
                        "x": xy[mask, 0],
                        "y": xy[mask, 1],
                        "z": floor * float(p["floor_height_m"]) + float(p["eye_height_m"]),
                        "nx": nx[mask],
                        "ny": ny[mask],
                        "floor": floor,
                        "facade": eyes.index.to_numpy()[facade[mask]],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True) if rows else observers(facing.iloc[:0], params)


def path_samples(district: District, step_m: float) -> gpd.GeoDataFrame:
    """Pieces of the walkable paths in the boundary, at most ``step_m`` long.

    Returns
    -------
    geopandas.GeoDataFrame
        ``street_id``, ``length_m`` and the piece's midpoint (Point geometry); pieces
        inside building footprints are left out.
    """
    walk = _walkable(district)
    crs = district.crs
    if not len(walk):
        return gpd.GeoDataFrame({"street_id": [], "length_m": []}, geometry=[], crs=crs)
    clipped = shapely.intersection(walk.geometry.to_numpy(), district.boundary)
    ids = walk["street_id"].astype(str).to_numpy()
    dense = shapely.segmentize(clipped, step_m)
    parts, which = shapely.get_parts(dense, return_index=True)
    parts_ok = shapely.get_type_id(parts) == 1
    parts, which = parts[parts_ok], which[parts_ok]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(b - a).T)
    street = ids[which[part[:-1][same]]]
    points = shapely.points((a + b) / 2)
    if len(district.buildings):
        inside = shapely.STRtree(district.buildings.geometry.to_numpy()).query(
            points, predicate="within"
        )
        keep = np.ones(len(points), dtype=bool)
        keep[inside[0]] = False
    else:
        keep = np.ones(len(points), dtype=bool)
    return gpd.GeoDataFrame(
        {"street_id": street[keep], "length_m": length[keep]}, geometry=points[keep], crs=crs
    )


def _seen(
    obs: pd.DataFrame,
    targets: np.ndarray,
    district: District,
    *,
    distance_m: float,
    half_angle_deg: float,
    resolution_m: float,
) -> np.ndarray:
    """Which targets (x, y) at least one observer sees (module notes)."""
    seen = np.zeros(len(targets), dtype=bool)
    if not len(obs) or not len(targets):
        return seen
    ox, oy, oz = (obs[c].to_numpy(dtype=float) for c in ("x", "y", "z"))
    nx, ny = obs["nx"].to_numpy(dtype=float), obs["ny"].to_numpy(dtype=float)
    # horizontal reach of each observer for the slant distance to a face at 1.7 m
    reach = np.sqrt(np.maximum(distance_m**2 - (oz - _FACE_Z) ** 2, 0.0))
    tree = cKDTree(targets)
    lists = tree.query_ball_point(np.column_stack([ox, oy]), r=reach)
    count = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    if not count.sum():
        return seen
    owner = np.repeat(np.arange(len(obs)), count)
    target = np.fromiter((t for v in lists for t in v), dtype=np.int64, count=int(count.sum()))
    dx, dy = targets[target, 0] - ox[owner], targets[target, 1] - oy[owner]
    dist = np.hypot(dx, dy)
    cos_limit = math.cos(math.radians(half_angle_deg))
    with np.errstate(invalid="ignore", divide="ignore"):
        front = (dx * nx[owner] + dy * ny[owner]) >= cos_limit * dist
    owner, target = owner[front], target[front]
    if not len(owner):
        return seen
    margin = distance_m + resolution_m
    minx = min(float(ox.min()), float(targets[:, 0].min())) - margin
    miny = min(float(oy.min()), float(targets[:, 1].min())) - margin
    maxx = max(float(ox.max()), float(targets[:, 0].max())) + margin
    maxy = max(float(oy.max()), float(targets[:, 1].max())) + margin
    grid = _grid_for((minx, miny, maxx, maxy), resolution_m)
    cx, cy = grid.to_cell(ox, oy)
    tx, ty = grid.to_cell(targets[:, 0], targets[:, 1])
    # the occluders only where sight lines run: around the observers with a target and
    # the targets they may see (3 cells cover the engine's lookups beside a line)
    used, aimed = np.unique(owner), np.unique(target)
    col_lo = min(float(cx[used].min()), float(tx[aimed].min()))
    col_hi = max(float(cx[used].max()), float(tx[aimed].max()))
    row_lo = min(float(cy[used].min()), float(ty[aimed].min()))
    row_hi = max(float(cy[used].max()), float(ty[aimed].max()))
    window = (
        math.floor(row_lo) - 3,
        math.floor(row_hi) + 4,
        math.floor(col_lo) - 3,
        math.floor(col_hi) + 4,
    )
    occ = _occluders(district.buildings, grid, window)
    # batches of whole observers (owner stays sorted, as the engine expects)
    bounds = np.searchsorted(owner, np.arange(0, len(obs) + 1))
    start = 0
    while start < len(obs):
        stop = start + 1
        while stop < len(obs) and bounds[stop + 1] - bounds[start] <= _BATCH:
            stop += 1
        a, b = bounds[start], bounds[stop]
        if b > a:
            sel = np.arange(start, stop)
            local_owner = owner[a:b] - start
            ok = _line_of_sight(
                cx[sel],
                cy[sel],
                oz[sel],
                local_owner,
                tx[target[a:b]],
                ty[target[a:b]],
                occ,
                res=resolution_m,
                target_z=_FACE_Z,
                clearance_m=1.0,
            )
            seen[target[a:b][ok]] = True
        start = stop
    return seen


@dataclass
class SurveillanceResult:
    """Natural surveillance of a district's paths.

    Attributes
    ----------
    samples
        :func:`path_samples` with ``overlooked_day``, ``lit`` and
        ``overlooked_night``.
    facades
        :func:`facades` (facing facades, with ``dead``).
    observers
        :func:`observers`.
    share_day, share_night
        Overlooked share of the path length by day and by night (0-1; NaN without
        paths).
    dead_frontage_m, facing_frontage_m
        Length of dead frontage, and of all facing facades, m.
    squares
        :func:`square_samples` with ``overlooked_day``.
    square_share_day
        Overlooked share of the square area by day (0-1; NaN without squares).
    """

    samples: gpd.GeoDataFrame
    facades: gpd.GeoDataFrame
    observers: pd.DataFrame
    share_day: float
    share_night: float
    dead_frontage_m: float
    facing_frontage_m: float
    squares: gpd.GeoDataFrame | None = None
    square_share_day: float = math.nan

    def overlooked_paths(self, *, night: bool = False) -> gpd.GeoDataFrame:
        """The overlooked share per street (``street_id``, ``length_m``, ``share``)."""
        column = "overlooked_night" if night else "overlooked_day"
        s = self.samples
        table = (
            pd.DataFrame(
                {
                    "street_id": s["street_id"],
                    "length_m": s["length_m"],
                    "seen_m": s["length_m"] * s[column],
                }
            )
            .groupby("street_id", as_index=False)
            .sum()
        )
        table["share"] = table["seen_m"] / table["length_m"]
        return table


def lit_streets(district: District, segments: gpd.GeoDataFrame | None = None) -> dict[str, bool]:
    """Whether each street is lit to its EN 13201 class.

    As the lighting analysis judges it (:func:`vollsmose_gis.lighting.compliance.
    passing_streets`): every segment passes; a C class (not assessed) is not lit to it.

    Parameters
    ----------
    district
        Streets and lights.
    segments
        :func:`vollsmose_gis.lighting.compliance` of the district (computed when None).
    """
    from vollsmose_gis.lighting.compliance import passing_streets

    if segments is None:
        import warnings

        from vollsmose_gis.lighting import compliance

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # C classes not assessed: reported by lighting
            segments = compliance(district)
    passing = passing_streets(segments)
    return {street: street in passing for street in segments["street_id"].astype(str)}


def natural_surveillance(
    district: District,
    *,
    recognition_distance_m: float | None = None,
    resolution_m: float | None = None,
    lighting_segments: gpd.GeoDataFrame | None = None,
    params: dict[str, Any] | None = None,
) -> SurveillanceResult:
    """Share of path length overlooked by windows and active ground floors, day and night.

    Parameters
    ----------
    district
        Buildings (observers and occluders), streets (paths), lights (night).
    recognition_distance_m
        Slant distance at which a face is recognised, m (default
        ``recognition_distance_day_m``, 25 m); > 0.
    resolution_m
        Cell size of the occlusion raster, m (default 1 m); > 0.
    lighting_segments
        :func:`vollsmose_gis.lighting.compliance` of the district, if already computed.
    params
        Overrides of ``standards/safety.yaml`` ``surveillance`` (e.g.
        ``{"max_observer_floor": 2}``).

    Returns
    -------
    SurveillanceResult
    """
    p = _params(params)
    distance = float(
        p["recognition_distance_day_m"]
        if recognition_distance_m is None
        else recognition_distance_m
    )
    if not (math.isfinite(distance) and distance > 0):
        raise InputError(f"recognition_distance_m must be > 0 m, got {recognition_distance_m!r}")
    res = float(p["resolution_m"] if resolution_m is None else resolution_m)
    if not (math.isfinite(res) and res > 0):
        raise InputError(f"resolution_m must be > 0 m, got {resolution_m!r}")
    samples = path_samples(district, float(p["path_step_m"]))
    squares = square_samples(district, p)
    facing = facades(district, p)
    obs = observers(facing, p)
    targets = shapely.get_coordinates(
        np.concatenate([samples.geometry.to_numpy(), squares.geometry.to_numpy()])
    )
    seen_all = _seen(
        obs,
        targets,
        district,
        distance_m=distance,
        half_angle_deg=float(p["view_half_angle_deg"]),
        resolution_m=res,
    )
    seen, seen_square = seen_all[: len(samples)], seen_all[len(samples) :]
    squares = squares.copy()
    squares["overlooked_day"] = seen_square
    lit_by_street = lit_streets(district, lighting_segments) if len(samples) else {}
    lit = np.array([lit_by_street.get(s, False) for s in samples["street_id"]], dtype=bool)
    samples = samples.copy()
    samples["overlooked_day"] = seen
    samples["lit"] = lit
    samples["overlooked_night"] = seen & lit
    total = float(samples["length_m"].sum())
    length = samples["length_m"].to_numpy()
    share_day = float(length[seen].sum() / total) if total > 0 else math.nan
    share_night = float(length[seen & lit].sum() / total) if total > 0 else math.nan
    return SurveillanceResult(
        samples,
        facing,
        obs,
        share_day,
        share_night,
        float(facing.loc[facing["dead"].astype(bool), "length_m"].sum()) if len(facing) else 0.0,
        float(facing["length_m"].sum()) if len(facing) else 0.0,
        squares,
        float(seen_square.mean()) if len(squares) else math.nan,
    )
