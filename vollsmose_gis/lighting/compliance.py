"""EN 13201 compliance: classes, the calculation grid, segments, dark spots, indicators."""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy import ndimage
from shapely.geometry import LineString

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.indicators import Indicator, indicator
from vollsmose_gis.io import Raster
from vollsmose_gis.lighting.model import (
    _cutoff,
    _illuminance_points,
    _Lamp,
    _lamps,
    _number,
    _params,
    _photometry_dir,
    burning_hours_per_year,
    district_latitude,
    illuminance_raster,
    lamp_energy_kwh_per_year,
)
from vollsmose_gis.standards import highway_defaults

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# --------------------------------------------------------------------------- classes


def lighting_class_requirements(name: str) -> dict[str, Any]:
    """Return the EN 13201-2 thresholds of a lighting class (``standards/en13201.yaml``).

    Parameters
    ----------
    name
        ``"P1"``…``"P6"`` or ``"C0"``…``"C5"``.

    Returns
    -------
    dict
        ``kind`` ("P" or "C"), ``average_lx``, and ``minimum_lx`` (P) or
        ``uniformity`` (C).

    Raises
    ------
    InputError
        Unknown class.
    """
    classes = _params()["classes"]
    if name not in classes:
        raise InputError(f"unknown lighting class {name!r}; known classes: {', '.join(classes)}")
    return dict(classes[name])


# --------------------------------------------------------------------------- EN 13201-3 grid


@dataclass(frozen=True)
class GridLayout:
    """EN 13201-3 calculation points of one field.

    Attributes
    ----------
    along_m
        Distances of the point rows from the field start, m (N values).
    across_m
        Offsets of the point columns from the centreline (positive to the left), m.
    spacing_along_m, spacing_across_m
        D = S / N and d = W / n, m.
    """

    along_m: np.ndarray
    across_m: np.ndarray
    spacing_along_m: float
    spacing_across_m: float

    @property
    def n_points(self) -> int:
        """Number of calculation points (N × n)."""
        return int(self.along_m.size * self.across_m.size)


def en13201_grid(spacing_m: float, width_m: float) -> GridLayout:
    """Return the EN 13201-3 calculation grid of a field of length S and width W.

    Parameters
    ----------
    spacing_m
        Field length S (the luminaire spacing), m (> 0).
    width_m
        Width W of the area, m (> 0).

    Notes
    -----
    EN 13201-3:2015 §7: along, N = 10 for S ≤ 30 m, else the smallest integer with
    S/N ≤ 3 m; spacing D = S/N, first point D/2 from the field start.  Across,
    n = max(3, the smallest integer with W/n ≤ 1.5 m); spacing d = W/n, outer points
    d/2 inside the edges.  Thresholds are in ``standards/en13201.yaml``.
    """
    if not spacing_m > 0 or not width_m > 0:
        raise InputError(f"field length {spacing_m!r} m and width {width_m!r} m must be > 0")
    grid = _params()["grid"]
    if spacing_m <= float(grid["short_field_max_m"]) + 1e-9:
        n_along = int(grid["along_points_short"])
    else:
        n_along = math.ceil(spacing_m / float(grid["along_spacing_max_m"]) - 1e-9)
    n_across = max(
        int(grid["across_points_min"]),
        math.ceil(width_m / float(grid["across_spacing_max_m"]) - 1e-9),
    )
    d_along = spacing_m / n_along
    d_across = width_m / n_across
    return GridLayout(
        along_m=d_along * (np.arange(n_along) + 0.5),
        across_m=-width_m / 2 + d_across * (np.arange(n_across) + 0.5),
        spacing_along_m=d_along,
        spacing_across_m=d_across,
    )


def _line_points(line: LineString, field_length: float, fields: int, width: float) -> np.ndarray:
    """Grid points of a line cut into ``fields`` fields, as an (n, 2) array."""
    layout = en13201_grid(field_length, width)
    stations = (np.arange(fields)[:, None] * field_length + layout.along_m[None, :]).ravel()
    length = line.length
    eps = min(0.05, length / 100)
    base = shapely.get_coordinates(shapely.line_interpolate_point(line, stations))
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.minimum(stations + eps, length))
    )
    behind = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.maximum(stations - eps, 0.0))
    )
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])  # to the left
    points = base[:, None, :] + normal[:, None, :] * layout.across_m[None, :, None]
    return points.reshape(-1, 2)


# --------------------------------------------------------------------------- compliance


def _street_width(row: Mapping[str, Any]) -> float:
    width = _number(row, "width_m")
    if width > 0:
        return width
    default = highway_defaults(str(row["highway"])).get("width_m")
    return float(default) if default else 2.0


def _street_class(row: Mapping[str, Any], target_class: str | None) -> tuple[str | None, str]:
    if target_class is not None:
        return target_class, "target"
    value = row.get("lighting_class")
    if isinstance(value, str) and value:
        return value, "layer"
    default = highway_defaults(str(row["highway"])).get("lighting_class")
    return (str(default), "highway default") if default else (None, "none")


def _serving_positions(
    lines: np.ndarray, reach: np.ndarray, lamp_xy: np.ndarray
) -> list[np.ndarray]:
    """Per line, sorted positions along it of the lamps within ``reach`` of it."""
    result: list[np.ndarray] = [np.empty(0) for _ in range(len(lines))]
    if len(lamp_xy) == 0 or len(lines) == 0:
        return result
    points = shapely.points(lamp_xy)
    tree = shapely.STRtree(points)
    line_idx, lamp_idx = tree.query(lines, predicate="dwithin", distance=reach)
    if line_idx.size == 0:
        return result
    along = shapely.line_locate_point(lines[line_idx], points[lamp_idx])
    order = np.lexsort((along, line_idx))
    line_idx, along = line_idx[order], along[order]
    bounds = np.searchsorted(line_idx, np.arange(len(lines) + 1))
    for i in range(len(lines)):
        result[i] = along[bounds[i] : bounds[i + 1]]
    return result


def segment_fields(length_m: float, lamp_positions_m: np.ndarray) -> tuple[float, int]:
    """Return (field length S, number of fields) for a segment of length L.

    Parameters
    ----------
    length_m
        Segment length L, m.
    lamp_positions_m
        Sorted positions along the segment of the lamps serving it, m.

    Notes
    -----
    Project convention (EN 13201-3 defines the field between two luminaires of a
    regular row; district paths are not regular rows): with two or more serving lamps
    S₀ is their mean spacing, (last − first)/(count − 1); otherwise
    ``default_field_length_m`` (30 m).  The segment is cut into
    k = max(1, ⌊L / S₀ + ½⌋) equal fields of S = L / k, so the grid covers the whole
    segment, ends included, with the standard's point density for that spacing.
    """
    grid = _params()["grid"]
    positions = np.unique(np.round(lamp_positions_m, 3))
    spacing = float(grid["default_field_length_m"])
    if positions.size >= 2 and positions[-1] - positions[0] > 0:
        spacing = float((positions[-1] - positions[0]) / (positions.size - 1))
    fields = max(1, math.floor(length_m / spacing + 0.5))  # halves round up
    return length_m / fields, fields


def _segment_points(line: LineString, width: float, lamp_xy: np.ndarray) -> np.ndarray:
    """EN 13201-3 grid points of one segment for a given set of lamp positions."""
    margin = float(_params()["grid"]["association_margin_m"])
    positions = _serving_positions(np.array([line]), np.array([width / 2 + margin]), lamp_xy)[0]
    spacing, fields = segment_fields(line.length, positions)
    return _line_points(line, spacing, fields, width)


def _requirements_columns(class_names: Iterable[str | None]) -> pd.DataFrame:
    columns = ["required_avg_lx", "required_min_lx", "required_U0"]
    rows = []
    for name in class_names:
        if name is None:
            rows.append(
                {"required_avg_lx": np.nan, "required_min_lx": np.nan, "required_U0": np.nan}
            )
            continue
        spec = lighting_class_requirements(name)
        rows.append(
            {
                "required_avg_lx": float(spec["average_lx"]),
                "required_min_lx": float(spec.get("minimum_lx", np.nan)),
                "required_U0": float(spec.get("uniformity", np.nan)),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _assess(
    e_avg: np.ndarray, e_min: np.ndarray, u0: np.ndarray, req: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Pass/fail against EN 13201-2 (P: average and minimum; C: average and U0)."""
    tol = 1e-9
    avg_ok = e_avg >= req["required_avg_lx"].to_numpy() * (1 - tol)
    min_req = req["required_min_lx"].to_numpy()
    u0_req = req["required_U0"].to_numpy()
    min_ok = np.where(np.isnan(min_req), True, e_min >= min_req * (1 - tol))
    u0_ok = np.where(np.isnan(u0_req), True, np.nan_to_num(u0) >= u0_req * (1 - tol))
    passes = avg_ok & min_ok & u0_ok
    over = e_avg > req["required_avg_lx"].to_numpy() * float(_params()["average_max_factor"])
    return passes, over


NOT_ASSESSED = "not_assessed"
"""``status`` of a segment whose class is not judged here (a C class: see compliance)."""


def _assessed(classes: Iterable[Any]) -> np.ndarray:
    """Which classes are judged by illuminance here: the P classes.

    EN 13201 judges motorised traffic routes on M classes (road-surface luminance with
    an r-table, CEN/TR 13201-1), and C classes are for conflict areas (junctions,
    crossings); a street *segment* on a C class (the highway defaults of primary and
    secondary roads) is neither, so it is reported "not assessed", never pass or fail.
    """
    return np.array(
        [lighting_class_requirements(str(c))["kind"] == "P" for c in classes], dtype=bool
    )


@dataclass
class _Segments:
    """Assessed street segments with their grids (internal to compliance/planner)."""

    frame: gpd.GeoDataFrame  # one row per assessed street
    points: list[np.ndarray]  # grid points per row
    widths: np.ndarray


def _prepare_segments(
    district: District, lamps: Sequence[_Lamp], target_class: str | None
) -> _Segments:
    if target_class is not None:
        lighting_class_requirements(target_class)  # unknown class -> InputError
    streets = district.streets
    records = streets.drop(columns=streets.geometry.name).to_dict("records")
    keep, classes, sources, widths = [], [], [], []
    for i, row in enumerate(records):
        name, source = _street_class(row, target_class)
        if name is None:
            continue
        try:
            lighting_class_requirements(name)
        except InputError as exc:
            raise InputError(
                f"layer 'streets', feature {row.get('street_id')!r}, column 'lighting_class': {exc}"
            ) from None
        geom = streets.geometry.iloc[i]
        if geom is None or geom.is_empty or geom.length <= 0:
            continue
        keep.append(i)
        classes.append(name)
        sources.append(source)
        widths.append(_street_width(row))
    frame = streets.iloc[keep].copy()
    width = np.asarray(widths, dtype=float)
    lines = frame.geometry.to_numpy()
    margin = float(_params()["grid"]["association_margin_m"])
    lamp_xy = np.array([(lamp.x, lamp.y) for lamp in lamps]).reshape(-1, 2)
    positions = _serving_positions(lines, width / 2 + margin, lamp_xy)
    points, field_lengths, field_counts, serving = [], [], [], []
    for line, w, pos in zip(lines, width, positions, strict=True):
        s, k = segment_fields(line.length, pos)
        points.append(_line_points(line, s, k, w))
        field_lengths.append(s)
        field_counts.append(k)
        serving.append(int(np.unique(np.round(pos, 3)).size))
    cols = ["street_id", "name", "highway", "walk"]
    out = gpd.GeoDataFrame(
        {c: frame[c].to_numpy() for c in cols if c in frame.columns},
        geometry=frame.geometry.to_numpy(),
        crs=streets.crs,
        index=frame.index,
    )
    out["lighting_class"] = classes
    out["class_source"] = sources
    out["width_m"] = width
    out["length_m"] = shapely.length(lines)
    out["field_length_m"] = field_lengths
    out["fields"] = field_counts
    out["lamps_serving"] = serving
    out["grid_points"] = [len(p) for p in points]
    out["in_boundary"] = shapely.intersects(lines, district.boundary)
    return _Segments(out, points, width)


def _evaluate(segments: _Segments, lamps: Sequence[_Lamp]) -> gpd.GeoDataFrame:
    frame = segments.frame.copy()
    counts = [len(p) for p in segments.points]
    all_points = np.concatenate(segments.points) if counts else np.empty((0, 2))
    values = _illuminance_points(lamps, all_points)
    splits = np.split(values, np.cumsum(counts)[:-1]) if counts else []
    e_avg = np.array([v.mean() for v in splits])
    e_min = np.array([v.min() for v in splits])
    with np.errstate(invalid="ignore", divide="ignore"):
        u0 = np.where(e_avg > 0, e_min / np.where(e_avg > 0, e_avg, 1.0), np.nan)
    req = _requirements_columns(frame["lighting_class"])
    passes, over = _assess(e_avg, e_min, u0, req) if len(frame) else (np.array([]), np.array([]))
    frame["E_avg_lx"] = e_avg
    frame["E_min_lx"] = e_min
    frame["U0"] = u0
    for column in req.columns:
        frame[column] = req[column].to_numpy()
    assessed = _assessed(frame["lighting_class"])
    frame["over_lit"] = over.astype(bool) & assessed
    frame["pass"] = passes.astype(bool) & assessed
    frame["status"] = pd.array(
        np.where(assessed, np.where(frame["pass"], "pass", "fail"), NOT_ASSESSED),
        dtype="string",
    )
    geometry = frame.pop("geometry")
    frame["geometry"] = geometry
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=segments.frame.crs)


def compliance(
    district: District,
    *,
    target_class: str | None = None,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Check every street segment against its EN 13201-2 lighting class.

    Parameters
    ----------
    district
        Streets (with ``lighting_class``, ``width_m``) and lights.
    target_class
        Assess every segment against this class instead of its own (e.g. ``"P4"``).
    cutoff_lx
        Negligible contribution per lamp (module notes; 0 = exact).
    photometry_dir
        Folder for relative ``photometry_file`` paths.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per assessed segment (streets with a class from the layer, else from
        the highway default of ``highways.yaml``; classless streets such as motorways
        are left out): ``street_id``, ``highway``, ``walk``, ``lighting_class``,
        ``class_source``, ``width_m``, ``length_m``, ``field_length_m`` (S),
        ``fields``, ``lamps_serving``, ``grid_points``, ``in_boundary``,
        ``E_avg_lx`` (maintained average), ``E_min_lx``, ``U0`` (E_min/E_avg; NaN when
        dark), the class requirements, ``over_lit`` (average above 1.5 × the class
        value), ``pass`` and ``status``: ``"pass"``, ``"fail"`` or ``"not_assessed"``.

    Raises
    ------
    InputError
        Unknown class (parameter or layer), bad lamps.

    Warns
    -----
    UserWarning
        When segments are not assessed (C classes), with their count and length.

    Notes
    -----
    Grid per :func:`en13201_grid` over fields from :func:`segment_fields`; the
    illuminance is evaluated exactly at the grid points (not read from a raster).

    Segments on a C class get ``status`` "not_assessed" and ``pass`` False: EN 13201
    judges motorised traffic routes on M classes (road-surface luminance, which needs
    the surface's r-table; CEN/TR 13201-1), and the C classes are for conflict areas,
    not for road segments.  Their illuminance is still reported; they are left out of
    every pass/fail share (:func:`indicators`, :func:`compliance_summary`) and counted.
    """
    cutoff = _cutoff(cutoff_lx)
    lamps = _lamps(
        district.lights, cutoff_lx=cutoff, photometry_dir=_photometry_dir(photometry_dir)
    )
    frame = _evaluate(_prepare_segments(district, lamps, target_class), lamps)
    skipped = frame["status"] == NOT_ASSESSED
    if skipped.any():
        inside = skipped & frame["in_boundary"].astype(bool)
        warnings.warn(
            f"{int(skipped.sum())} street segment(s), "
            f"{frame.loc[skipped, 'length_m'].sum():,.0f} m "
            f"({int(inside.sum())} of them, {frame.loc[inside, 'length_m'].sum():,.0f} m, "
            "inside the boundary), on C lighting classes not assessed: EN 13201 judges "
            "motorised routes on M classes (luminance), not implemented here; they are left "
            "out of the pass shares",
            UserWarning,
            stacklevel=2,
        )
    return frame


# --------------------------------------------------------------------------- dark spots


def passing_streets(segments: gpd.GeoDataFrame) -> set[str]:
    """Streets lit to their EN 13201 class: every segment of the street passes.

    The one definition of "lit to its class" (the lamp planner's treated share, the
    night view of natural surveillance, the safety audit): the compliance ``status``
    — a street on a C class is "not_assessed", never lit to it; one failing segment
    fails the street.

    Parameters
    ----------
    segments
        :func:`compliance` (``street_id``, ``status``).
    """
    if not len(segments):
        return set()
    passes = (
        (segments["status"].astype(str) == "pass").groupby(segments["street_id"].astype(str)).all()
    )
    return set(passes.index[passes.to_numpy(dtype=bool)])


def _walkable(district: District) -> gpd.GeoSeries:
    streets = district.streets
    walk = streets["walk"].fillna(False).astype(bool) if "walk" in streets else None
    if walk is None or not walk.any():
        return gpd.GeoSeries([], crs=streets.crs)
    chosen = streets.loc[walk.to_numpy()]
    records = chosen.drop(columns=chosen.geometry.name).to_dict("records")
    widths = np.array([_street_width(r) for r in records])
    return gpd.GeoSeries(shapely.buffer(chosen.geometry.to_numpy(), widths / 2), crs=streets.crs)


def dark_spots(
    district: District,
    *,
    raster: Raster | None = None,
    resolution_m: float = 1.0,
    threshold_lx: float | None = None,
    min_area_m2: float | None = None,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Find the connected walkable areas lit below a threshold, as polygons.

    Parameters
    ----------
    district
        Walkable space is the streets with ``walk`` true, buffered by ``width_m``/2,
        inside the boundary.
    raster
        An illuminance raster of the district (default: computed at ``resolution_m``
        over the boundary's bounds).
    resolution_m
        Cell size when the raster is computed, m.
    threshold_lx
        Dark below this illuminance, lx (default ``dark_spot_threshold_lx``, 1 lx).
    min_area_m2
        Drop spots smaller than this, m² (default ``dark_spot_min_area_m2``).
    cutoff_lx, photometry_dir
        As for :func:`illuminance_raster`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``spot_id``, ``area_m2``, ``mean_lx``, ``min_lx`` and polygon geometry (cells
        joined by edges, 4-connectivity), largest first.
    """
    params = _params()
    threshold = float(params["dark_spot_threshold_lx"]) if threshold_lx is None else threshold_lx
    min_area = float(params["dark_spot_min_area_m2"]) if min_area_m2 is None else min_area_m2
    if raster is None:
        raster = illuminance_raster(
            district, resolution_m=resolution_m, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir
        )
    empty = gpd.GeoDataFrame(
        {
            "spot_id": pd.Series(dtype=str),
            "area_m2": pd.Series(dtype=float),
            "mean_lx": pd.Series(dtype=float),
            "min_lx": pd.Series(dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=district.crs),
        crs=district.crs,
    )
    walkable = _walkable(district)
    if walkable.empty:
        return empty
    shape = raster.array.shape
    walk_mask = rasterio.features.rasterize(
        ((g, 1) for g in walkable.intersection(district.boundary) if not g.is_empty),
        out_shape=shape,
        transform=raster.transform,
        fill=0,
        dtype="uint8",
    ).astype(bool)
    dark = walk_mask & (raster.array < threshold)
    labels, count = ndimage.label(dark)
    if count == 0:
        return empty
    index = np.arange(1, count + 1)
    cell_area = abs(raster.transform.a * raster.transform.e)
    areas = ndimage.sum_labels(dark, labels, index) * cell_area
    means = ndimage.mean(raster.array, labels, index)
    mins = ndimage.minimum(raster.array, labels, index)
    polygons: dict[int, list[Any]] = {}
    for geom, value in rasterio.features.shapes(
        labels.astype(np.int32), mask=dark, transform=raster.transform, connectivity=4
    ):
        polygons.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    rows = [
        {
            "label": label,
            "area_m2": float(areas[label - 1]),
            "mean_lx": float(means[label - 1]),
            "min_lx": float(mins[label - 1]),
            "geometry": shapely.union_all(parts),
        }
        for label, parts in polygons.items()
        if areas[label - 1] >= min_area
    ]
    if not rows:
        return empty
    frame = pd.DataFrame(rows).sort_values("area_m2", ascending=False, kind="stable")
    frame.insert(0, "spot_id", [f"dark-{k + 1}" for k in range(len(frame))])
    return gpd.GeoDataFrame(frame.drop(columns="label"), geometry="geometry", crs=district.crs)


# --------------------------------------------------------------------------- indicators


def indicators(
    district: District,
    *,
    resolution_m: float = 1.0,
    cutoff_lx: float | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    compliance_frame: gpd.GeoDataFrame | None = None,
    dark: gpd.GeoDataFrame | None = None,
) -> dict[str, Indicator]:
    """Return the lighting indicators of a district (theme "safety and security").

    Parameters
    ----------
    district
        The district.
    resolution_m
        Raster cell size for the dark-spot area, m (finite, > 0).
    cutoff_lx, photometry_dir
        As for :func:`compliance`.
    compliance_frame, dark
        Results of :func:`compliance` / :func:`dark_spots` already computed (reused).

    Returns
    -------
    dict
        Built with :func:`~vollsmose_gis.indicators.indicator` (formulas in
        ``standards/indicators/lighting.yaml``): ``lit_path_share`` (length share of
        the *assessed* walkable segments inside the boundary that pass their class;
        segments on C classes are not assessed and left out; NaN with a reason if
        none), ``dark_spot_area_m2``, ``mean_illuminance_lx`` (length-weighted mean of
        the segments' Ē on all walkable segments inside the boundary) and
        ``lighting_energy_kwh_per_year`` (lamps inside the boundary, burning hours from
        the district's latitude).
    """
    frame = compliance_frame
    if frame is None:
        frame = compliance(district, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir)
    if dark is None:
        dark = dark_spots(
            district, resolution_m=resolution_m, cutoff_lx=cutoff_lx, photometry_dir=photometry_dir
        )
    walk = frame["walk"].fillna(False).astype(bool) if "walk" in frame else pd.Series(False)
    paths = frame.loc[walk & frame["in_boundary"]]
    status = (
        paths["status"].astype(str)
        if "status" in paths
        else np.where(_assessed(paths["lighting_class"]), "assessed", NOT_ASSESSED)
    )
    judged = paths.loc[np.asarray(status != NOT_ASSESSED, dtype=bool)]
    length = float(paths["length_m"].sum())
    judged_length = float(judged["length_m"].sum())
    share = (
        float(judged.loc[judged["pass"].astype(bool), "length_m"].sum() / judged_length)
        if judged_length > 0
        else math.nan
    )
    share_reason = ""
    if judged_length <= 0:
        share_reason = (
            "no walkable segment inside the boundary on a P class"
            if length > 0
            else "no walkable street or path with a lighting class inside the boundary"
        )
    mean_lx = (
        float((paths["E_avg_lx"] * paths["length_m"]).sum() / length) if length > 0 else math.nan
    )
    latitude = district_latitude(district)
    energy = lamp_energy_kwh_per_year(district, photometry_dir=photometry_dir)
    return {
        "lit_path_share": indicator("lit_path_share", share, reason=share_reason),
        "dark_spot_area_m2": indicator("dark_spot_area_m2", float(dark["area_m2"].sum())),
        "mean_illuminance_lx": indicator(
            "mean_illuminance_lx",
            mean_lx,
            reason="" if length > 0 else "no walkable street or path inside the boundary",
        ),
        "lighting_energy_kwh_per_year": indicator(
            "lighting_energy_kwh_per_year",
            energy,
            label=(
                f"Street-lighting electricity use ({burning_hours_per_year(latitude):,.0f} "
                f"burning hours a year at {abs(latitude):.1f}°{'N' if latitude >= 0 else 'S'})"
            ),
        ),
    }


def compliance_summary(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Summarise a :func:`compliance` frame by lighting class.

    Returns
    -------
    pandas.DataFrame
        Per class: ``segments``, ``assessed`` (False for C classes: not assessed),
        ``passing``, ``length_m``, ``passing_length_m``, ``passing_share`` (of length;
        NaN for a class not assessed), ``mean_E_avg_lx`` (length-weighted).
    """
    columns = [
        "lighting_class",
        "segments",
        "assessed",
        "passing",
        "length_m",
        "passing_length_m",
        "passing_share",
        "mean_E_avg_lx",
    ]
    if len(frame) == 0:
        return pd.DataFrame(columns=columns)
    data = pd.DataFrame(
        {
            "lighting_class": frame["lighting_class"].astype(str),
            "pass": frame["pass"].astype(bool),
            "length_m": frame["length_m"].astype(float),
            "lit_length": frame["E_avg_lx"].astype(float) * frame["length_m"].astype(float),
        }
    )
    data["passing_length_m"] = data["length_m"].where(data["pass"], 0.0)
    grouped = data.groupby("lighting_class", sort=True)
    out = pd.DataFrame(
        {
            "segments": grouped.size(),
            "passing": grouped["pass"].sum().astype(int),
            "length_m": grouped["length_m"].sum(),
            "passing_length_m": grouped["passing_length_m"].sum(),
            "lit_length": grouped["lit_length"].sum(),
        }
    )
    out.insert(1, "assessed", _assessed(out.index))
    out["passing_share"] = (out["passing_length_m"] / out["length_m"]).where(out["assessed"])
    out["mean_E_avg_lx"] = out.pop("lit_length") / out["length_m"]
    return out.reset_index()[columns]
