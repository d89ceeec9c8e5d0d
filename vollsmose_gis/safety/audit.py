"""Where the evidence lies: incidents against dark spots, cameras and overlooked paths;
the safety-audit table of the safety-walk marks; incidents per 1,000 residents by year.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.safety.evidence import (
    incident_counts,
    incident_weights,
    parse_dates,
    safety_params,
)
from vollsmose_gis.safety.surveillance import SurveillanceResult

__all__ = [
    "camera_levels_at",
    "compare_audits",
    "incidents_by_year",
    "raster_at",
    "residents",
    "safety_audit",
    "share_within",
]

NOT_SEEN = "not seen"


def _points(layer: gpd.GeoDataFrame) -> np.ndarray:
    """(x, y) of each feature: the point, or a line's midpoint."""
    geoms = layer.geometry.to_numpy()
    lines = shapely.get_type_id(geoms) == 1
    out = shapely.centroid(geoms)
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return shapely.get_coordinates(out)


def raster_at(raster: Raster, xy: np.ndarray) -> np.ndarray:
    """Values of a raster at points (x, y); NaN outside it or at nodata."""
    out = np.full(len(xy), np.nan)
    if not len(xy):
        return out
    col, row = ~raster.transform @ (xy[:, 0], xy[:, 1])
    col, row = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
    rows, cols = raster.array.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    out[ok] = raster.array[row[ok], col[ok]]
    if raster.nodata is not None:
        out[out == raster.nodata] = np.nan
    return out


def camera_levels_at(cctv: Any, xy: np.ndarray) -> np.ndarray:
    """Best DORI level code any camera reaches at each point (0: not seen)."""
    levels = Raster(cctv.raw_levels, cctv.levels.transform, cctv.levels.crs)
    values = raster_at(levels, xy)
    return np.nan_to_num(values, nan=0.0).astype(np.int64)


def share_within(weights: np.ndarray, inside: np.ndarray) -> float:
    """Weighted share of incidents where ``inside`` is true (NaN without incidents)."""
    total = float(np.sum(weights))
    return float(np.sum(weights[inside]) / total) if total > 0 else math.nan


def residents(district: District, override: float | None = None) -> float:
    """Residents of the district: ``override``, else dwellings × residents per dwelling.

    Dwellings are those of buildings inside the boundary (representative point);
    ``population.residents_per_dwelling`` of ``standards/safety.yaml`` (an assumption).
    """
    if override is not None:
        return float(override)
    b = district.buildings
    if not len(b):
        return 0.0
    inside = shapely.within(shapely.point_on_surface(b.geometry.to_numpy()), district.boundary)
    dwellings = float(b["dwellings"].fillna(0).to_numpy(dtype=float)[inside].sum())
    return dwellings * float(safety_params("population")["residents_per_dwelling"])


def incidents_by_year(district: District, population: float) -> pd.DataFrame:
    """Incidents per year (dated ones) and per 1,000 residents.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``incidents`` (sum of ``count``), ``per_1000_residents``.
    """
    layer = district.incidents
    if not len(layer):
        return pd.DataFrame(columns=["year", "incidents", "per_1000_residents"])
    dates = parse_dates(layer)
    table = pd.DataFrame({"year": dates.dt.year, "incidents": incident_counts(layer)}).dropna()
    table = table.groupby("year", as_index=False)["incidents"].sum()
    table["year"] = table["year"].astype(int)
    table["per_1000_residents"] = (
        table["incidents"] / population * 1000.0 if population > 0 else math.nan
    )
    return table


def incident_exposure(
    district: District,
    *,
    dark: gpd.GeoDataFrame,
    cctv: Any,
    surveillance: SurveillanceResult,
) -> dict[str, float]:
    """Weighted shares of incidents in dark spots, in camera coverage, on overlooked paths.

    Returns
    -------
    dict
        ``dark``: within 1 m of a dark spot (:func:`vollsmose_gis.lighting.dark_spots`);
        ``camera``: at a cell seen at observation level or better (IEC 62676-4);
        ``overlooked``: within ``incident_path_distance_m`` (10 m) of a path piece
        overlooked by day.  NaN without incidents.
    """
    layer = district.incidents
    if not len(layer):
        return {"dark": math.nan, "camera": math.nan, "overlooked": math.nan}
    w = incident_weights(layer)
    xy = _points(layer)
    pts = shapely.points(xy)
    in_dark = np.zeros(len(xy), dtype=bool)
    if len(dark):
        hits = shapely.STRtree(dark.geometry.to_numpy()).query(
            pts, predicate="dwithin", distance=1.0
        )
        in_dark[hits[0]] = True
    observation = list(cctv.level_names).index("observation") + 1
    seen = camera_levels_at(cctv, xy) >= observation
    near = float(safety_params("surveillance")["incident_path_distance_m"])
    samples = surveillance.samples
    overlooked = samples[samples["overlooked_day"].astype(bool)]
    on_path = np.zeros(len(xy), dtype=bool)
    if len(overlooked):
        tree = cKDTree(shapely.get_coordinates(overlooked.geometry.to_numpy()))
        dist, _ = tree.query(xy, distance_upper_bound=near)
        on_path = np.isfinite(dist)
    return {
        "dark": share_within(w, in_dark),
        "camera": share_within(w, seen),
        "overlooked": share_within(w, on_path),
    }


def safety_audit(
    district: District,
    *,
    illuminance: Raster,
    cctv: Any,
    surveillance: SurveillanceResult,
    speeds: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """What is at each safety-walk mark today: light, cameras, eyes, traffic speed.

    Parameters
    ----------
    district
        With ``safety_walk`` marks (points, or lines taken at their midpoint).
    illuminance
        Horizontal illuminance raster, lx (the lighting analysis's).
    cctv
        The CCTV viewsheds (:class:`vollsmose_gis.cctv.CctvResult`).
    surveillance
        :func:`~vollsmose_gis.safety.surveillance.natural_surveillance`.
    speeds
        The calming analysis's ``calming_speeds`` (``street_id``, ``v85_max_kmh``);
        None: no speeds.

    Returns
    -------
    geopandas.GeoDataFrame
        ``mark_id``, ``reason``, ``lux`` (lx at the mark), ``camera_level`` (best DORI
        level, or "not seen"), ``overlooked_day`` / ``overlooked_night`` (the nearest
        path piece within 10 m is overlooked), ``v85_kmh`` (modelled V85 of the nearest
        street with motor traffic within 25 m, else NaN), ``illustrative``, geometry.
    """
    marks = district.safety_walk
    columns = [
        "mark_id",
        "reason",
        "lux",
        "camera_level",
        "overlooked_day",
        "overlooked_night",
        "v85_kmh",
        "illustrative",
    ]
    if not len(marks):
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=district.crs)
    xy = _points(marks)
    lux = raster_at(illuminance, xy)
    names = [NOT_SEEN, *cctv.level_names]
    level = np.array(names, dtype=object)[camera_levels_at(cctv, xy)]
    near = float(safety_params("surveillance")["incident_path_distance_m"])
    samples = surveillance.samples
    day = np.zeros(len(xy), dtype=bool)
    night = np.zeros(len(xy), dtype=bool)
    if len(samples):
        dist, idx = cKDTree(shapely.get_coordinates(samples.geometry.to_numpy())).query(xy)
        ok = dist <= near
        day[ok] = samples["overlooked_day"].to_numpy(dtype=bool)[idx[ok]]
        night[ok] = samples["overlooked_night"].to_numpy(dtype=bool)[idx[ok]]
    v85 = np.full(len(xy), np.nan)
    if speeds is not None and len(speeds):
        lines = speeds.geometry.to_numpy()
        pairs = shapely.STRtree(lines).query_nearest(
            shapely.points(xy), max_distance=25.0, all_matches=False
        )
        v85[pairs[0]] = speeds["v85_max_kmh"].to_numpy(dtype=float)[pairs[1]]
    illustrative = (
        marks["illustrative"].fillna(False).to_numpy(dtype=bool)
        if "illustrative" in marks
        else np.zeros(len(xy), dtype=bool)
    )
    return gpd.GeoDataFrame(
        {
            "mark_id": marks["mark_id"].astype(str).to_numpy(),
            "reason": marks["reason"].astype(str).to_numpy(),
            "lux": lux,
            "camera_level": level,
            "overlooked_day": day,
            "overlooked_night": night,
            "v85_kmh": v85,
            "illustrative": illustrative,
        },
        geometry=marks.geometry.to_numpy(),
        crs=district.crs,
    )


def compare_audits(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, *, names: tuple[str, str] = ("now", "plan")
) -> gpd.GeoDataFrame:
    """What a scenario changes at each safety-walk mark: two audits side by side.

    Parameters
    ----------
    before, after
        :func:`safety_audit` of today's district and of a scenario's (same marks).
    names
        Suffixes of the two states (``lux_now``, ``lux_plan`` …).

    Returns
    -------
    geopandas.GeoDataFrame
        ``mark_id``, ``reason``, for each of ``lux``, ``camera_level``,
        ``overlooked_day``, ``overlooked_night``, ``v85_kmh`` the two values, and
        ``changed`` (any of them differs); the marks' geometry.
    """
    columns = ["lux", "camera_level", "overlooked_day", "overlooked_night", "v85_kmh"]
    a, b = names
    left = before[["mark_id", "reason", *columns, "geometry"]]
    right = pd.DataFrame(after[["mark_id", *columns]])
    merged = left.merge(right, on="mark_id", how="left", suffixes=(f"_{a}", f"_{b}"))
    changed = np.zeros(len(merged), dtype=bool)
    for column in columns:
        x, y = merged[f"{column}_{a}"], merged[f"{column}_{b}"]
        if column in ("lux", "v85_kmh"):
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            differs = ~np.isclose(xv, yv, rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            differs = (x.astype(str) != y.astype(str)).to_numpy()
        changed |= differs
    merged["changed"] = changed
    ordered = ["mark_id", "reason"] + [f"{c}_{s}" for c in columns for s in names]
    return gpd.GeoDataFrame(
        merged[[*ordered, "changed", "geometry"]], geometry="geometry", crs=before.crs
    )
