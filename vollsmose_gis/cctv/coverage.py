"""Coverage of paths, squares, public space, entrances and private space; the indicators."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from vollsmose_gis._util import contains_points
from vollsmose_gis.cctv.dori import _standard
from vollsmose_gis.cctv.setup import _walkable
from vollsmose_gis.cctv.visibility import CctvResult, _Grid, _landuse_of, _mask, viewsheds
from vollsmose_gis.district import District
from vollsmose_gis.indicators import Indicator, indicator

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
    confirmed_only: bool = False,
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
    confirmed_only
        Count only what cameras with a mapped heading see (``heading_estimated``
        false; :func:`~vollsmose_gis.cctv.camera_setup`): the coverage that does not
        rest on estimated headings.
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
    if confirmed_only and res.raw_levels_confirmed is not None:
        raw = res.raw_levels_confirmed
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
        inside &= contains_points(district.boundary, ex, ey)
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
        (not inside buildings, able to see the study area);
        ``path_share_observed_confirmed``: ``path_share_observed`` counting only the
        cameras whose heading is mapped, not estimated (unscored: it shows how much of
        the coverage rests on estimated headings).  Shares are NaN, with a reason, when
        there is nothing to measure (no paths, no squares).  Formulas:
        ``standards/indicators/cctv.yaml``.
    """
    res = result if result is not None else viewsheds(district, **options)
    table = coverage(district, res)
    confirmed = coverage(district, res, confirmed_only=True)

    def share(target: str, level: str, frame: pd.DataFrame = table) -> tuple[float, str]:
        row = frame[(frame["target"] == target) & (frame["level"] == level)]
        if not len(row):
            return math.nan, f"the DORI level set {res.edition!r} has no level {level!r}"
        value = float(row["share"].iloc[0])
        reason = f"no {target.replace('_', ' ')} inside the boundary" if math.isnan(value) else ""
        return value, reason

    count = int((res.cameras["status"] == "ok").sum())
    estimated = int(
        ((res.cameras["status"] == "ok") & res.cameras["heading_estimated"].astype(bool)).sum()
    )
    observed, why = share("paths", "observation")
    observed_confirmed, why_confirmed = share("paths", "observation", confirmed)
    return {
        "path_share_observed": indicator("path_share_observed", observed, reason=why),
        "path_share_observed_confirmed": indicator(
            "path_share_observed_confirmed",
            observed_confirmed,
            label=(
                "Walkable path length seen by CCTV at observation level or better, cameras "
                f"with a mapped heading only ({estimated} of {count} cameras have an "
                "estimated heading)"
            ),
            reason=why_confirmed,
        ),
        "path_share_recognised": _share_indicator(
            "path_share_recognised", *share("paths", "recognition")
        ),
        "square_share_observed": _share_indicator(
            "square_share_observed", *share("squares", "observation")
        ),
        "private_share_observed": _share_indicator(
            "private_share_observed", *share("private", "observation")
        ),
        "cameras_count": indicator("cameras_count", float(count)),
    }


def _share_indicator(key: str, value: float, reason: str) -> Indicator:
    return indicator(key, value, reason=reason)
