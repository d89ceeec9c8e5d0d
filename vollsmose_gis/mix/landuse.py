"""Land-use mix: floor area by fixed classes, the entropy index, the non-residential floor
share, jobs per dwelling, and the mix on a square grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.mix._common import _buildings, _check_buildings, _config, _numeric, _text
from vollsmose_gis.mix.diversity import landuse_entropy
from vollsmose_gis.standards import categories

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "LandUseSummary",
    "landuse_classes",
    "landuse_floor_areas",
    "landuse_grid",
    "landuse_summary",
]


def landuse_classes() -> tuple[str, ...]:
    """Return the fixed land-use classes of the entropy index (``standards/mix.yaml``).

    Their number is the ``N`` of :func:`landuse_entropy`, the same for every district.
    """
    return tuple(_config()["landuse"]["classes"])


def _use_to_class() -> dict[str, int]:
    """Map each building use mapped to a class onto the class's position."""
    spec = _config()["landuse"]
    mapping: dict[str, int] = {}
    for position, uses in enumerate(spec["classes"].values()):
        for use in uses:
            if use in mapping:
                raise ValueError(f"standards/mix.yaml: use {use!r} is mapped to two classes")
            mapping[use] = position
    known = set(categories("uses"))
    listed = set(mapping) | set(spec["excluded_uses"]) | set(spec["mixed_use_buildings"])
    if listed - known:
        raise ValueError(f"standards/mix.yaml names unknown uses {sorted(listed - known)}")
    if known - listed:
        raise ValueError(
            f"standards/mix.yaml: uses {sorted(known - listed)} are neither mapped to a "
            "land-use class nor listed under excluded_uses"
        )
    return mapping


def _floor_areas(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Gross floor area per building (m²) and a mask of the estimated ones.

    Missing ``floor_area_m2`` is estimated as footprint area × ``floors`` (1 if unknown).
    """
    if "floor_area_m2" in buildings.columns:
        values = pd.to_numeric(buildings["floor_area_m2"], errors="coerce").astype(float)
        given = np.asarray(values.to_numpy(dtype=float, na_value=np.nan))
    else:
        given = np.full(len(buildings), np.nan)
    estimated = np.isnan(given)
    if estimated.any():
        floors = _numeric(buildings, "floors", default=1.0)
        floors = np.where(floors > 0, floors, 1.0)
        footprint = shapely.area(buildings.geometry.to_numpy())
        given = np.where(estimated, footprint * floors, given)
    return given, estimated


def landuse_floor_areas(district: District) -> pd.DataFrame:
    """Return each building's gross floor area split over the land-use classes.

    Returns
    -------
    DataFrame
        One row per building (the buildings layer's index, ``building_id`` kept), a
        ``floor_m2_<class>`` column (m²) for each class of :func:`landuse_classes`, and
        ``floor_area_estimated`` (True where ``floor_area_m2`` was missing and taken as
        footprint × floors).

    Notes
    -----
    A building's floor area goes to the class its ``use`` is mapped to in
    ``standards/mix.yaml``.  Buildings of use ``residential`` or ``mixed`` put their
    ``commercial_m2`` into the commercial class (``retail``) and the rest into
    ``residential``.  Uses listed as excluded (parking, green, other...) count in no
    class.
    """
    buildings = district.buildings
    _check_buildings(buildings)
    return _class_matrix_frame(buildings)


def _class_matrix(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    spec = _config()["landuse"]
    classes = landuse_classes()
    mapping = _use_to_class()
    area, estimated = _floor_areas(buildings)
    use = _text(buildings, "use")
    matrix = np.zeros((len(buildings), len(classes)))
    position = use.map(mapping).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    mapped = ~np.isnan(position)
    matrix[np.flatnonzero(mapped), position[mapped].astype(np.int64)] = area[mapped]
    split = use.isin(spec["mixed_use_buildings"]).fillna(False).to_numpy(dtype=bool)
    if split.any():
        commercial = np.minimum(_numeric(buildings, "commercial_m2"), area)
        rows = np.flatnonzero(split)
        residential = classes.index(spec.get("residential_class", "residential"))
        matrix[rows, :] = 0.0
        matrix[rows, residential] = area[rows] - commercial[rows]
        matrix[rows, classes.index(spec["commercial_class"])] += commercial[rows]
    return matrix, estimated


def _class_matrix_frame(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    matrix, estimated = _class_matrix(buildings)
    frame = pd.DataFrame(
        matrix, index=buildings.index, columns=[f"floor_m2_{c}" for c in landuse_classes()]
    )
    if "building_id" in buildings.columns:
        frame.insert(0, "building_id", buildings["building_id"].to_numpy())
    frame["floor_area_estimated"] = estimated
    return frame


def _non_residential_share(class_areas: np.ndarray) -> Any:
    residential = landuse_classes().index("residential")
    total = class_areas.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 1.0 - class_areas[..., residential] / total
    return np.where(total > 0, share, np.nan)


@dataclass(frozen=True)
class LandUseSummary:
    """Land-use mix and jobs–housing balance inside a district's boundary.

    Attributes
    ----------
    floor_area_by_class_m2
        Gross floor area per land-use class, m².
    floor_area_m2
        Their sum, m².
    landuse_entropy
        Entropy index over the fixed classes (0 = single use, 1 = even mix).
    n_classes
        N of the entropy index.
    non_residential_floor_share
        Share of the classified floor area that is not residential.
    dwellings, jobs
        Dwellings and jobs inside the boundary.
    jobs_per_dwelling
        jobs / dwellings (NaN without dwellings).
    balanced_band
        The "balanced" jobs-per-dwelling band (0.75, 1.5).
    jobs_balanced
        Whether ``jobs_per_dwelling`` lies in the band.
    estimated_floor_area_buildings
        Buildings inside whose floor area was estimated (footprint × floors).
    """

    floor_area_by_class_m2: dict[str, float]
    floor_area_m2: float
    landuse_entropy: float
    n_classes: int
    non_residential_floor_share: float
    dwellings: int
    jobs: int
    jobs_per_dwelling: float
    balanced_band: tuple[float, float]
    jobs_balanced: bool
    estimated_floor_area_buildings: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = dict(vars(self))
        out["balanced_band"] = list(self.balanced_band)
        return out


def landuse_summary(district: District) -> LandUseSummary:
    """Return the land-use mix, non-residential floor share and jobs per dwelling.

    Counts the buildings whose representative point lies inside the boundary.  See
    :func:`landuse_floor_areas` for how floor area is split into classes and
    :func:`landuse_entropy` for the index.

    Notes
    -----
    Jobs–housing balance: jobs per dwelling in 0.75–1.5 is the usual "balanced" band
    (``standards/mix.yaml``); dwellings stand in for households.
    """
    return _landuse_summary(_buildings(district))


def _landuse_summary(buildings: gpd.GeoDataFrame) -> LandUseSummary:
    inside = buildings[buildings["_inside"]]
    matrix, estimated = _class_matrix(inside)
    areas = matrix.sum(axis=0)
    classes = landuse_classes()
    dwellings = round(float(inside["_dwellings"].sum()))
    jobs = round(float(_numeric(inside, "jobs").sum()))
    low, high = (float(v) for v in _config()["jobs_housing"]["balanced_band"])
    ratio = jobs / dwellings if dwellings else float("nan")
    return LandUseSummary(
        floor_area_by_class_m2={c: float(a) for c, a in zip(classes, areas, strict=True)},
        floor_area_m2=float(areas.sum()),
        landuse_entropy=float(landuse_entropy(areas, n_classes=len(classes))),
        n_classes=len(classes),
        non_residential_floor_share=float(_non_residential_share(areas)),
        dwellings=dwellings,
        jobs=jobs,
        jobs_per_dwelling=ratio,
        balanced_band=(low, high),
        jobs_balanced=bool(low <= ratio <= high),
        estimated_floor_area_buildings=int(estimated.sum()),
    )


def landuse_grid(district: District, *, cell_m: float | None = None) -> gpd.GeoDataFrame:
    """Return the land-use mix on a square grid covering the boundary.

    Parameters
    ----------
    district
        The district.  Every building (context included) is assigned to the cell
        holding its representative point.
    cell_m
        Cell side in metres (default ``landuse.grid_cell_m`` of ``standards/mix.yaml``);
        cells are aligned to multiples of it in the district CRS.

    Returns
    -------
    GeoDataFrame
        One square polygon per cell intersecting the boundary, with ``cell_id``
        (``"c<col>_<row>"``), ``floor_m2_<class>`` per land-use class and
        ``floor_area_m2`` (m²), ``landuse_entropy`` (NaN for a cell without classified
        floor area), ``non_residential_floor_share``, ``dwellings`` and ``jobs``.
    """
    return _landuse_grid(_buildings(district), district, cell_m)


def _landuse_grid(
    buildings: gpd.GeoDataFrame, district: District, cell_m: float | None
) -> gpd.GeoDataFrame:
    size = float(_config()["landuse"]["grid_cell_m"] if cell_m is None else cell_m)
    if not np.isfinite(size) or size <= 0:
        raise InputError(f"cell_m must be a positive length in metres, got {cell_m!r}")
    classes = landuse_classes()
    minx, miny, maxx, maxy = district.boundary.bounds
    x0, y0 = math.floor(minx / size) * size, math.floor(miny / size) * size
    ncol = max(1, math.ceil((maxx - x0) / size))
    nrow = max(1, math.ceil((maxy - y0) / size))
    col, row = np.meshgrid(np.arange(ncol), np.arange(nrow))
    col, row = col.ravel(), row.ravel()
    cells = shapely.box(
        x0 + col * size, y0 + row * size, x0 + (col + 1) * size, y0 + (row + 1) * size
    )
    matrix, _ = _class_matrix(buildings)
    xy = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.to_numpy()))
    per_cell = np.zeros((nrow * ncol, len(classes)))
    dwellings = np.zeros(nrow * ncol)
    jobs = np.zeros(nrow * ncol)
    if len(xy):
        bc = np.floor((xy[:, 0] - x0) / size).astype(np.int64)
        br = np.floor((xy[:, 1] - y0) / size).astype(np.int64)
        ok = (bc >= 0) & (bc < ncol) & (br >= 0) & (br < nrow)
        flat = br[ok] * ncol + bc[ok]
        np.add.at(per_cell, flat, matrix[ok])
        np.add.at(dwellings, flat, buildings["_dwellings"].to_numpy()[ok])
        np.add.at(jobs, flat, _numeric(buildings, "jobs")[ok])
    keep = shapely.area(shapely.intersection(cells, district.boundary)) > 0
    columns: dict[str, Any] = {
        "cell_id": [f"c{c}_{r}" for c, r in zip(col[keep], row[keep], strict=True)]
    }
    for i, name in enumerate(classes):
        columns[f"floor_m2_{name}"] = per_cell[keep, i]
    columns["floor_area_m2"] = per_cell[keep].sum(axis=1)
    columns["landuse_entropy"] = np.atleast_1d(
        landuse_entropy(per_cell[keep], n_classes=len(classes))
    )
    columns["non_residential_floor_share"] = _non_residential_share(per_cell[keep])
    columns["dwellings"] = dwellings[keep].round().astype(np.int64)
    columns["jobs"] = jobs[keep].round().astype(np.int64)
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(cells[keep], crs=district.crs))
