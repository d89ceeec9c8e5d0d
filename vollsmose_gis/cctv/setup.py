"""Camera inputs: building heights as occluders, the cameras with defaults filled in."""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.cctv.dori import _standard
from vollsmose_gis.district import District
from vollsmose_gis.standards import layer_schemas

logger = logging.getLogger(__name__)


class CameraWarning(UserWarning):
    """A camera was given a default (no heading) or left out (inside a building)."""


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


def camera_setup(  # noqa: C901 - waiver: one check per camera attribute with its own message; a table-driven rewrite is due
    district: District, *, inside_building: Literal["warn", "error"] = "warn"
) -> gpd.GeoDataFrame:
    """Return the cameras with every parameter filled in, checked, and their status.

    Empty values take the defaults of ``standards/layers.yaml`` (height 4 m, 90°,
    1920 px, tilt 0°).  A camera without a heading (a hand-made layer, a scenario)
    faces the nearest walkable street or path within 50 m, else north, with a
    :class:`CameraWarning` naming it.  A camera whose heading was estimated on import
    (the layer's ``heading_estimated``: the OSM importer estimates one for cameras
    without ``camera:direction``; a missing column counts as all false) or defaulted
    here is marked ``heading_estimated``, so coverage can be reported with and without
    them.  A camera more than 1 m inside a building footprint (``standards/dori.yaml``)
    gets status ``"inside_building"`` and is not analysed.

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
        ``camera_id, height_m, heading_deg, heading_defaulted, heading_estimated,
        hfov_deg, vfov_deg, resolution_px, tilt_deg, status, inside_building_id`` and
        the point geometry.

    Raises
    ------
    InputError
        Listing every camera with a bad value: field of view <= 0 or > 360, resolution
        <= 0, height <= 0, height or resolution above the layer schema's maximum, tilt
        outside [-90, 90], vfov outside (0, 180], a heading outside [-360, 360] (9999° is
        a typo, not a bearing), a geometry that is not a point; or, with
        ``inside_building="error"``, cameras inside buildings.
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
        if not np.isnan(heading[i]) and not -360.0 <= heading[i] <= 360.0:
            problems.append(
                f"camera {cid!r}: heading_deg {heading[i]:g} must be a bearing in [0, 360) "
                "degrees (clockwise from north)"
            )
        for name, value in (("height_m", height[i]), ("resolution_px", resolution[i])):
            high = schema[name].get("max")
            if high is not None and np.isfinite(value) and value > float(high):
                problems.append(
                    f"camera {cid!r}: {name} {value:g} is above {float(high):g} "
                    "(the range of standards/layers.yaml)"
                )
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
            "heading_estimated": _estimated(cams) | defaulted,
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


def _estimated(cams: gpd.GeoDataFrame) -> np.ndarray:
    """The layer's ``heading_estimated`` as booleans; missing column or value: False."""
    if "heading_estimated" not in cams:
        return np.zeros(len(cams), dtype=bool)
    values = cams["heading_estimated"]
    if values.dtype == object:
        text = values.astype("string").str.lower()
        values = text.isin(["true", "1", "yes"]) | values.eq(True)
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


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
