"""Planners aimed at the evidence: priority places, lamps and cameras where people feel
unsafe, and the share of the marked places a plan treats.

Priority places are the safety-walk marks and the incidents (each with its weight ×
count); :func:`priority_surface` spreads them on a raster with the quartic kernel.

* :func:`plan_lights_for_evidence` runs the EN 13201 lamp planner
  (:func:`vollsmose_gis.lighting.plan_lights`) with the places as its ``priority``:
  the failing paths that treat the most weight first, instead of the longest failing
  paths of the whole district.
* :func:`plan_cameras_for_evidence` runs the CCTV planner
  (:func:`vollsmose_gis.cctv.plan_cameras`) with :func:`priority_surface` as its
  ``priority``: weighted maximum coverage, each seen cell worth its priority weight
  instead of its area (the planner's lazy greedy, CELF).

Both are thin: the planners take a priority natively, and these add the evidence's
places and the :func:`treated_share` before and after.
* :func:`treated_share`: the share of the marked places a district (or a plan's
  district) treats: lit to the class of the nearest path, seen by a camera at a DORI
  level.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import Plan
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.network import nearest_walkable_street
from vollsmose_gis.safety.audit import _points, camera_levels_at
from vollsmose_gis.safety.evidence import incident_weights
from vollsmose_gis.safety.hotspots import quartic_2d
from vollsmose_gis.safety.surveillance import lit_streets

__all__ = [
    "plan_cameras_for_evidence",
    "plan_lights_for_evidence",
    "priority_places",
    "priority_surface",
    "treated_share",
]


def priority_places(
    district: District, *, mark_weight: float = 1.0, incident_weight: float = 1.0
) -> gpd.GeoDataFrame:
    """The places the evidence points at: safety-walk marks and incidents, with weights.

    Parameters
    ----------
    district
        With ``safety_walk`` and/or ``incidents``.
    mark_weight
        Weight of one safety-walk mark (≥ 0).
    incident_weight
        Weight of one incident (× its ``weight`` × ``count``; ≥ 0).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source`` (``"safety_walk"`` / ``"incidents"``), ``id``, ``weight`` and a
        point (a line mark's midpoint).
    """
    if mark_weight < 0 or incident_weight < 0:
        raise InputError("priority weights must be >= 0")
    parts = []
    marks, inc = district.safety_walk, district.incidents
    if len(marks):
        parts.append(
            pd.DataFrame(
                {
                    "source": "safety_walk",
                    "id": marks["mark_id"].astype(str).to_numpy(),
                    "weight": float(mark_weight),
                    "geometry": shapely.points(_points(marks)),
                }
            )
        )
    if len(inc):
        parts.append(
            pd.DataFrame(
                {
                    "source": "incidents",
                    "id": inc["incident_id"].astype(str).to_numpy(),
                    "weight": incident_weights(inc) * float(incident_weight),
                    "geometry": shapely.points(_points(inc)),
                }
            )
        )
    if not parts:
        return gpd.GeoDataFrame(
            {"source": [], "id": [], "weight": []}, geometry=[], crs=district.crs
        )
    table = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=district.crs)


def priority_surface(
    district: District,
    places: gpd.GeoDataFrame | None = None,
    *,
    transform: Any = None,
    shape: tuple[int, int] | None = None,
    resolution_m: float = 1.0,
    bandwidth_m: float = 25.0,
) -> Raster:
    """Priority weight per cell: the places spread with the 2-D quartic kernel.

    Parameters
    ----------
    district
        Its boundary places the raster when ``transform``/``shape`` are not given.
    places
        :func:`priority_places` (default: the district's, weights 1).
    transform, shape
        A grid to use (e.g. the CCTV planner's); both or neither.
    resolution_m
        Cell size when the grid is derived from the boundary, m.
    bandwidth_m
        Kernel radius, m (> 0): how far from a mark a lamp or camera still treats it.

    Returns
    -------
    Raster
        ``priority``: Σ_j w_j K₂(d/h) / h² (weight per m²; its sum × cell area ≈ Σ w_j).
    """
    from affine import Affine

    if not (math.isfinite(bandwidth_m) and bandwidth_m > 0):
        raise InputError(f"bandwidth_m must be > 0 m, got {bandwidth_m!r}")
    places = priority_places(district) if places is None else places
    if transform is None or shape is None:
        minx, miny, maxx, maxy = district.boundary.bounds
        xmin, ymax = (
            math.floor(minx / resolution_m) * resolution_m,
            math.ceil(maxy / resolution_m) * resolution_m,
        )
        shape = (
            max(1, math.ceil((ymax - miny) / resolution_m)),
            max(1, math.ceil((maxx - xmin) / resolution_m)),
        )
        transform = Affine(resolution_m, 0.0, xmin, 0.0, -resolution_m, ymax)
    rows, cols = shape
    res = float(transform.a)
    out = np.zeros(shape, dtype=np.float64)
    xy = shapely.get_coordinates(places.geometry.to_numpy())
    weights = places["weight"].to_numpy(dtype=float)
    reach = math.ceil(bandwidth_m / res) + 1
    for (x, y), w in zip(xy, weights, strict=True):
        c, r = ~transform @ (x, y)
        c0, r0 = math.floor(c), math.floor(r)
        r_lo, r_hi = max(0, r0 - reach), min(rows, r0 + reach + 1)
        c_lo, c_hi = max(0, c0 - reach), min(cols, c0 + reach + 1)
        if r_lo >= r_hi or c_lo >= c_hi:
            continue
        cc, rr = np.meshgrid(np.arange(c_lo, c_hi), np.arange(r_lo, r_hi))
        cx = transform.c + (cc + 0.5) * res
        cy = transform.f - (rr + 0.5) * res
        d = np.hypot(cx - x, cy - y) / bandwidth_m
        out[r_lo:r_hi, c_lo:c_hi] += w * quartic_2d(d) / bandwidth_m**2
    return Raster(out, transform, district.crs, name="priority", unit="weight/m²")


def treated_share(
    district: District,
    places: gpd.GeoDataFrame | None = None,
    *,
    by: str = "lights",
    level: str = "recognition",
    radius_m: float = 15.0,
    cctv: Any = None,
    segments: gpd.GeoDataFrame | None = None,
) -> float:
    """Weighted share of priority places a district treats.

    Parameters
    ----------
    district
        The district (e.g. a plan's ``district``).
    places
        :func:`priority_places` (default: the safety-walk marks only, weight 1 each).
    by
        ``"lights"``: the nearest walkable street within ``radius_m`` is lit to its
        EN 13201 class (:func:`vollsmose_gis.lighting.compliance`); ``"cameras"``: a
        camera sees the place at ``level`` or better (the CCTV viewsheds).
    level
        DORI level for ``by="cameras"``.
    radius_m
        Search radius for the nearest street, m.
    cctv
        Viewsheds of the district (computed when None).
    segments
        Lighting compliance of the district (the lighting analysis's
        ``lighting_segments``; computed when None) for ``by="lights"``.

    Returns
    -------
    float
        Share 0–1 (NaN without places).
    """
    if places is None:
        places = priority_places(district, incident_weight=0.0)
        places = places[places["source"] == "safety_walk"]
    if not len(places):
        return math.nan
    xy = shapely.get_coordinates(places.geometry.to_numpy())
    weights = places["weight"].to_numpy(dtype=float)
    if by == "lights":
        lit = lit_streets(district, segments)
        ok = np.zeros(len(xy), dtype=bool)
        near, ids = nearest_walkable_street(district.streets, xy, radius_m)
        ok[near] = [lit.get(s, False) for s in ids]
    elif by == "cameras":
        if cctv is None:
            from vollsmose_gis.cctv import viewsheds

            cctv = viewsheds(district)
        code = list(cctv.level_names).index(level) + 1
        ok = camera_levels_at(cctv, xy) >= code
    else:
        raise InputError(f"treated_share by {by!r}: use 'lights' or 'cameras'")
    total = float(weights.sum())
    return float(weights[ok].sum() / total) if total > 0 else math.nan


def plan_lights_for_evidence(
    district: District,
    places: gpd.GeoDataFrame | None = None,
    *,
    radius_m: float = 15.0,
    **options: Any,
) -> Plan:
    """Lamps on the failing paths that treat the most priority weight.

    The EN 13201 lamp planner with the places as its priority
    (:func:`vollsmose_gis.lighting.plan_lights` with ``priority=places``): each place
    counts for its nearest walkable path within ``radius_m``, and only the failing
    paths that treat weight are planned, the heaviest first.

    Parameters
    ----------
    district
        The district.
    places
        :func:`priority_places` (default: the district's marks and incidents).
    radius_m
        A place is treated by lighting its nearest walkable path within this distance,
        m (> 0; the default matches :func:`treated_share`).
    **options
        Passed to :func:`vollsmose_gis.lighting.plan_lights` (``max_new``,
        ``target_class``, ``lamp`` …).

    Returns
    -------
    Plan
        The lamp plan; ``summary["priority_places"]`` the number of places and
        ``summary["treated_share_before"/"after"]`` the weighted share of places lit to
        class before and after (:func:`treated_share` within ``radius_m``).
    """
    from vollsmose_gis.lighting import plan_lights

    places = priority_places(district) if places is None else places
    if not len(places):
        raise InputError(
            f"district {district.name!r} has no safety-walk marks or incidents to aim the "
            "lamps at; add evidence layers or use plan_lights"
        )
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"radius_m must be > 0 m, got {radius_m!r}")
    plan = plan_lights(district, priority=places, priority_radius_m=radius_m, **options)
    plan.summary = {
        **plan.summary,
        "priority_places": len(places),
        "treated_share_before": treated_share(district, places, by="lights", radius_m=radius_m),
        "treated_share_after": treated_share(plan.district, places, by="lights", radius_m=radius_m),
    }
    return plan


def plan_cameras_for_evidence(
    district: District,
    places: gpd.GeoDataFrame | None = None,
    *,
    k: int = 5,
    level: str = "recognition",
    bandwidth_m: float = 15.0,
    resolution_m: float = 1.0,
    candidates: gpd.GeoDataFrame | None = None,
    camera: dict[str, Any] | None = None,
) -> Plan:
    """Cameras that see the most priority weight (not the most area) at ``level``.

    The CCTV planner with the places spread on a raster as its priority
    (:func:`vollsmose_gis.cctv.plan_cameras` with ``priority=``
    :func:`priority_surface`): weighted maximum coverage by lazy greedy (CELF).

    Parameters
    ----------
    district
        The district.
    places
        :func:`priority_places` (default: the district's marks and incidents).
    k
        Cameras to place (≥ 1).
    level
        DORI level the cameras must deliver at a place.
    bandwidth_m
        Radius of each place's weight on the grid, m (:func:`priority_surface`).
    resolution_m
        Cell size, m.
    candidates, camera
        As for :func:`vollsmose_gis.cctv.plan_cameras`.

    Returns
    -------
    Plan
        The :class:`~vollsmose_gis.cctv.CameraPlan`: ``added`` (cameras-layer columns,
        ``camera_id`` ``new-K-…``, ``rank``, ``marginal_weight``, ``priority_share``
        …), the district with them, cost; ``summary`` adds ``priority_places`` and
        ``treated_share_before/after`` (weighted share of the places seen at
        ``level``).
    """
    from vollsmose_gis.cctv import plan_cameras

    places = priority_places(district) if places is None else places
    if not len(places):
        raise InputError(
            f"district {district.name!r} has no safety-walk marks or incidents to aim the "
            "cameras at; add evidence layers or use plan_cameras"
        )
    surface = priority_surface(district, places, resolution_m=resolution_m, bandwidth_m=bandwidth_m)
    plan = plan_cameras(
        district,
        level=level,
        candidates=candidates,
        k=k,
        resolution_m=resolution_m,
        camera=camera,
        priority=surface,
    )
    plan.summary = {
        **plan.summary,
        "priority_places": len(places),
        "treated_share_before": treated_share(district, places, by="cameras", level=level),
        "treated_share_after": treated_share(plan.district, places, by="cameras", level=level),
    }
    return plan
