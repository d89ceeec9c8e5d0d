"""Measured speeds: read municipal speed counts, compare them with the model, calibrate it.

Every Danish municipality has speed counts (a V85 per site).  A speed model shown to a
council should be checked against them:

- :func:`read_speed_counts` reads counts from a GeoPackage (points) or a CSV (``x``,
  ``y`` or ``street_id``), :func:`check_speed_counts` checks a table given in code;
- :func:`compare_speed_counts` gives the model-vs-measured table (no fitting);
- :func:`calibrate_speeds` fits the kinematics — acceleration ``a``, braking ``b``, a
  crossing-speed offset ``δ`` of the devices and the free-speed factor ``r`` — by
  bounded least squares and returns a :class:`SpeedCalibration` whose
  :meth:`~SpeedCalibration.write` gives a calming.yaml-style file that
  :func:`~vollsmose_gis.calming.operating_speeds`, the planner and the analysis spec
  take as ``params``.

The fitted model, for a parameter vector ``θ = (a, b, δ, r)``: every free speed is
multiplied by ``r`` (``free_speed.calibration_factor``), every device's crossing V85
is raised by ``δ`` km/h (``crossing_excess_kmh``), and the profile is the kinematic
envelope of :mod:`vollsmose_gis.calming.speeds` with ``a`` and ``b``.  The residual of
a site is modelled − measured V85 (km/h); a point count is compared with the modelled
V85 at its point, a count given by street only with the street's length-weighted mean.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from scipy.optimize import least_squares

from vollsmose_gis._errors import InputError
from vollsmose_gis.calming._base import (
    CalmingWarning,
    ParamsLike,
    _merge,
    _ms,
    _params,
    using_params,
)
from vollsmose_gis.calming._model import (
    _device_points,
    _Model,
    _model,
    _points_frame,
)
from vollsmose_gis.calming.speeds import (
    _build_samples,
    _evaluate,
    _Samples,
)

if TYPE_CHECKING:
    from vollsmose_gis.district import District

FIT_PARAMETERS: tuple[str, ...] = ("a", "b", "crossing", "free_ratio")
"""What :func:`calibrate_speeds` can fit: acceleration ``a`` and braking ``b`` (m/s²),
``crossing`` (one offset δ, km/h, added to every device's crossing V85) and
``free_ratio`` (the factor ``r`` on every free speed); ``"ab"`` fits one common
value ``a = b``."""

_NAMES = {"a": "a_mps2", "b": "b_mps2", "crossing": "crossing_offset_kmh"}
_NAMES["free_ratio"] = "free_speed_factor"
_COUNT_COLUMNS = ["site_id", "street_id", "v85_kmh", "date", "source"]


# --------------------------------------------------------------------------- input


def read_speed_counts(
    path: str | os.PathLike[str], *, crs: Any = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read measured speeds (one V85 per count site) from a file.

    Parameters
    ----------
    path
        A GeoPackage / GeoJSON / shapefile of points, or a CSV with either ``x`` and
        ``y`` columns (coordinates in ``crs``) or a ``street_id`` column.  Columns:
        ``v85_kmh`` (required, km/h), ``site_id``, ``street_id``, ``date``, ``source``
        (optional).
    crs
        CRS of a CSV's ``x``/``y`` (default: none; the district's CRS is assumed when
        the counts are used).
    layer
        The layer of a multi-layer GeoPackage.

    Returns
    -------
    GeoDataFrame
        Checked counts (see :func:`check_speed_counts`).

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, missing ``v85_kmh``, no position,
        a V85 that is not a plausible speed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: speed-count file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{path}: not a readable CSV ({exc})") from None
        table.columns = [str(c).strip() for c in table.columns]
        if {"x", "y"} <= set(table.columns):
            x = pd.to_numeric(table["x"], errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(table["y"], errors="coerce").to_numpy(dtype=float)
            bad = ~(np.isfinite(x) & np.isfinite(y))
            geometry = shapely.points(np.where(bad, 0.0, x), np.where(bad, 0.0, y))
            geometry = np.where(bad, np.array(None, dtype=object), geometry)
            frame = gpd.GeoDataFrame(table.drop(columns=["x", "y"]), geometry=geometry, crs=crs)
        elif "street_id" in table.columns:
            frame = gpd.GeoDataFrame(table, geometry=[None] * len(table), crs=crs)
        else:
            raise InputError(
                f"{path}: a speed-count CSV needs x and y columns (coordinates) or a "
                f"street_id column; it has {list(table.columns)}"
            )
    elif suffix in (".gpkg", ".geojson", ".json", ".shp"):
        try:
            frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(f"{path}: cannot read the speed counts ({exc})") from None
    else:
        raise InputError(
            f"{path}: unknown speed-count format {suffix!r}; use a GeoPackage (.gpkg) of "
            "points or a CSV with x,y or street_id"
        )
    return check_speed_counts(frame, source=str(path))


def check_speed_counts(
    counts: pd.DataFrame | gpd.GeoDataFrame, *, source: str = "speed counts"
) -> gpd.GeoDataFrame:
    """Check a table of measured speeds and bring it to the standard columns.

    Parameters
    ----------
    counts
        One row per count site: ``v85_kmh`` (km/h, required) and a Point geometry or
        a ``street_id`` (or both: the street then picks the segment the point is
        snapped to); optional ``site_id``, ``date``, ``source``.
    source
        Name of the input for messages (a file name).

    Returns
    -------
    GeoDataFrame
        Columns ``site_id``, ``street_id`` (None where not given), ``v85_kmh``,
        ``date``, ``source`` and the geometry (None for counts by street).

    Raises
    ------
    InputError
        No ``v85_kmh`` column; a V85 missing, not positive or above
        ``calibration.max_v85_kmh``; a row with neither a point nor a street_id; a
        geometry that is not a point.  All problems are listed at once.
    """
    if not isinstance(counts, pd.DataFrame):
        raise InputError(f"{source}: speed counts must be a table, got {type(counts).__name__}")
    if "v85_kmh" not in counts.columns:
        raise InputError(
            f"{source}: speed counts need a v85_kmh column (the measured 85th-percentile "
            f"speed, km/h); columns are {list(counts.columns)}"
        )
    frame = counts.reset_index(drop=True)
    n = len(frame)
    if not n:
        raise InputError(f"{source}: no speed counts (the table is empty)")
    ids = (
        frame["site_id"].astype(str).to_numpy()
        if "site_id" in frame.columns
        else np.array([f"row {i + 1}" for i in range(n)])
    )
    v85 = pd.to_numeric(frame["v85_kmh"], errors="coerce").to_numpy(dtype=float)
    top = float(_params()["calibration"]["max_v85_kmh"])
    streets = (
        frame["street_id"].astype("string").to_numpy(dtype=object, na_value=None)
        if "street_id" in frame.columns
        else np.full(n, None, dtype=object)
    )
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geoms = frame.geometry.to_numpy()
        crs = frame.crs
    else:
        geoms, crs = np.full(n, None, dtype=object), None
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems: list[str] = []
    for i in range(n):
        if not (math.isfinite(v85[i]) and 0 < v85[i] <= top):
            problems.append(
                f"site {ids[i]!r}: v85_kmh {frame['v85_kmh'].iloc[i]!r} is not a speed "
                f"in (0, {top:g}] km/h"
            )
        has_street = streets[i] is not None and str(streets[i]).strip() != ""
        if missing[i] and not has_street:
            problems.append(f"site {ids[i]!r}: neither a point nor a street_id")
        elif not missing[i] and shapely.get_type_id(geoms[i]) != 0:
            problems.append(f"site {ids[i]!r}: geometry must be a Point")
    if problems:
        head = f"{source}: {len(problems)} problem(s) in the speed counts:"
        raise InputError("\n".join([head, *[f"  - {p}" for p in problems[:20]]]))
    return gpd.GeoDataFrame(
        {
            "site_id": ids,
            "street_id": [str(s) if s is not None and str(s).strip() else None for s in streets],
            "v85_kmh": v85,
            "date": frame["date"].astype(str).to_numpy()
            if "date" in frame.columns
            else np.full(n, None),
            "source": frame["source"].astype(str).to_numpy()
            if "source" in frame.columns
            else np.full(n, source),
        },
        geometry=np.where(missing, np.array(None, dtype=object), geoms),
        crs=crs,
    )


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Sites:
    """The model prepared for fast re-evaluation at the count sites."""

    model: _Model
    X: np.ndarray  # sorted global positions of all samples
    edge: np.ndarray
    pos: np.ndarray
    free2: np.ndarray  # free speed² of each sample's segment, (m/s)²
    point_v: np.ndarray  # slowing-point speed at the sample, km/h (inf: none)
    device: np.ndarray  # the slowing point is a calming device
    weights: np.ndarray  # (sites, samples): averaging weights (rows sum to 1)
    table: gpd.GeoDataFrame  # the counts with the segment they were attached to


def _prepare(district: District, counts: gpd.GeoDataFrame) -> _Sites:
    params = _params()
    model = _model(district)
    device_points, _ = _device_points(district, model)
    fixed = model.points
    counts = counts.copy()
    if counts.crs is None:
        counts = counts.set_crs(district.crs, allow_override=True)
    elif not counts.crs.equals(district.crs):
        counts = counts.to_crs(district.crs)
    n = len(counts)
    edge_street = model.edges["street_id"].to_numpy()
    known = set(district.streets["street_id"].astype(str))
    geoms = counts.geometry.to_numpy()
    has_point = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    max_offset = float(params["calibration"]["max_offset_m"])
    snapped = model.graph.snap(np.where(has_point, geoms, shapely.Point()))
    site_edge = np.full(n, -1, dtype=np.int64)
    site_along = np.full(n, np.nan)
    problems: list[str] = []
    for i, row in enumerate(counts.itertuples(index=False)):
        sid = row.street_id
        if sid is not None and sid not in known:
            problems.append(f"site {row.site_id!r}: street_id {sid!r} is not in the streets layer")
            continue
        if sid is not None and sid not in set(edge_street):
            problems.append(f"site {row.site_id!r}: street {sid!r} is not open to cars")
            continue
        if not has_point[i]:
            continue  # a count by street: its mean
        if sid is not None:
            candidates = np.flatnonzero(edge_street == sid)
            lines = model.graph.edges.geometry.to_numpy()[candidates]
            dist = shapely.distance(geoms[i], lines)
            best = int(np.argmin(dist))
            edge_i, offset = int(candidates[best]), float(dist[best])
        else:
            edge_i, offset = int(snapped.edge[i]), float(snapped.offset_m[i])
        if edge_i < 0 or not offset <= max_offset:
            problems.append(
                f"site {row.site_id!r}: the point lies {offset:.1f} m from the nearest street "
                f"open to cars (at most {max_offset:g} m, calibration.max_offset_m); move it "
                "onto the street or give its street_id"
            )
            continue
        line = model.graph.edges.geometry.iloc[edge_i]
        scale = model.length[edge_i] / max(line.length, 1e-12)
        site_edge[i] = edge_i
        site_along[i] = min(line.project(geoms[i]) * scale, model.length[edge_i])
    if problems:
        head = f"{len(problems)} speed count(s) cannot be placed on the district's streets:"
        raise InputError("\n".join([head, *[f"  - {p}" for p in problems[:20]]]))

    grid = _build_samples(model, _points_frame([]), float(params["calibration"]["street_step_m"]))
    parts_edge = [grid.edge]
    parts_pos = [grid.pos]
    parts_v = [np.full(len(grid), np.inf)]
    parts_dev = [np.zeros(len(grid), bool)]
    for frame, is_device in ((fixed, False), (device_points, True)):
        if len(frame):
            parts_edge.append(frame["edge"].to_numpy(dtype=np.int64))
            parts_pos.append(frame["pos"].to_numpy(dtype=float))
            parts_v.append(frame["v_kmh"].to_numpy(dtype=float))
            parts_dev.append(np.full(len(frame), is_device))
    point_sites = np.flatnonzero(site_edge >= 0)
    parts_edge.append(site_edge[point_sites])
    parts_pos.append(model.chain_pos(site_edge[point_sites], site_along[point_sites]))
    parts_v.append(np.full(len(point_sites), np.inf))
    parts_dev.append(np.zeros(len(point_sites), bool))
    edge = np.concatenate(parts_edge)
    pos = np.concatenate(parts_pos)
    X = model.chain_start[model.chain[edge]] + pos
    order = np.argsort(X, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    site_sample = rank[len(edge) - len(point_sites) :]
    edge, pos, X = edge[order], pos[order], X[order]
    point_v = np.concatenate(parts_v)[order]
    device = np.concatenate(parts_dev)[order]
    free2 = _ms(model.edges["free_speed_kmh"].to_numpy()[edge]) ** 2

    weights = np.zeros((n, len(edge)))
    weights[point_sites, site_sample] = 1.0
    d = np.diff(pos)
    same = (edge[1:] == edge[:-1]) & (d > 0)
    for i in np.flatnonzero(site_edge < 0):
        on = np.isin(edge, np.flatnonzero(edge_street == counts["street_id"].iloc[i]))
        use = same & on[:-1]
        np.add.at(weights[i], np.flatnonzero(use), d[use] / 2.0)
        np.add.at(weights[i], np.flatnonzero(use) + 1, d[use] / 2.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    counts["edge"] = site_edge
    return _Sites(model, X, edge, pos, free2, point_v, device, weights, counts)


def _any_one_way(sites: _Sites) -> bool:
    """Tell whether any count site averages over a one-way segment."""
    oneway = sites.model.edges["oneway"].to_numpy(dtype=bool)[sites.edge]
    return bool(np.any(sites.weights[:, oneway] > 0))


def _site_speeds(sites: _Sites, a: float, b: float, offset_kmh: float, factor: float) -> Any:
    """Modelled V85 (km/h) at every site for one parameter vector."""
    free2 = sites.free2 * factor**2
    point = np.where(sites.device, sites.point_v + offset_kmh, sites.point_v)
    point2 = np.where(np.isfinite(point), _ms(np.maximum(point, 1.0)) ** 2, np.inf)
    cap2 = np.minimum(free2, point2)
    samples = _Samples(
        pos=sites.pos, X=sites.X, edge=sites.edge, cap2=cap2, grid=np.ones(len(cap2), bool)
    )
    speeds = _evaluate(sites.model, samples, a=a, b=b)
    v = np.sqrt(np.maximum(speeds.v2, 0.0)) * 3.6
    return sites.weights @ v


def compare_speed_counts(
    district: District,
    counts: pd.DataFrame | gpd.GeoDataFrame,
    *,
    params: ParamsLike = None,
) -> gpd.GeoDataFrame:
    """Compare measured V85 with the model's (no fitting): the model-vs-measured table.

    Parameters
    ----------
    district
        The district (streets and calming devices as they were when counted).
    counts
        Measured speeds (:func:`read_speed_counts` or :func:`check_speed_counts`).
    params
        Model parameters (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    GeoDataFrame
        One row per site: ``site_id``, ``street_id``, ``date``, ``source``,
        ``v85_measured_kmh``, ``v85_model_kmh``, ``residual_kmh`` (model − measured)
        and the count's geometry; ``attrs["rmse_kmh"]`` holds the root-mean-square
        residual, km/h.
    """
    counts = check_speed_counts(counts)
    with using_params(params) as p:
        sites = _prepare(district, counts)
        model = _site_speeds(
            sites,
            float(p["acceleration_mps2"]),
            float(p["braking_mps2"]),
            0.0,
            1.0,
        )
    table = _site_table(sites, model, model)
    table = table.drop(columns=["v85_model_initial_kmh"])
    table.attrs["rmse_kmh"] = _rmse(table["residual_kmh"].to_numpy())
    return table


def _site_table(sites: _Sites, initial: np.ndarray, fitted: np.ndarray) -> gpd.GeoDataFrame:
    counts = sites.table
    measured = counts["v85_kmh"].to_numpy(dtype=float)
    return gpd.GeoDataFrame(
        {
            "site_id": counts["site_id"].to_numpy(),
            "street_id": counts["street_id"].to_numpy(),
            "date": counts["date"].to_numpy(),
            "source": counts["source"].to_numpy(),
            "v85_measured_kmh": measured,
            "v85_model_initial_kmh": np.asarray(initial, dtype=float),
            "v85_model_kmh": np.asarray(fitted, dtype=float),
            "residual_kmh": np.asarray(fitted, dtype=float) - measured,
        },
        geometry=counts.geometry.to_numpy(),
        crs=counts.crs,
    )


def _rmse(residuals: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(residuals)))) if len(residuals) else float("nan")


# --------------------------------------------------------------------------- calibration


@dataclass
class SpeedCalibration:
    """The result of :func:`calibrate_speeds`.

    Attributes
    ----------
    fitted
        ``a_mps2``, ``b_mps2`` (m/s²), ``crossing_offset_kmh`` (δ, km/h, added to every
        device's crossing V85) and ``free_speed_factor`` (r, on every free speed); the
        values not fitted keep their initial value.
    initial
        The same keys before the fit (the parameters in force).
    fit
        The names fitted (a subset of :data:`FIT_PARAMETERS`, or ``"ab"``).
    rmse_kmh, rmse_initial_kmh
        Root-mean-square residual (modelled − measured V85) after and before, km/h.
    sites
        Per site: ``site_id``, ``street_id``, ``date``, ``source``,
        ``v85_measured_kmh``, ``v85_model_initial_kmh``, ``v85_model_kmh`` (fitted),
        ``residual_kmh`` (fitted − measured) and the count's geometry.
    success, message
        The optimiser's verdict (``scipy.optimize.least_squares``).
    bounds
        The bounds of each fitted value, ``(low, high)``.
    base
        The full parameters the fit started from (a calming.yaml mapping).
    """

    fitted: dict[str, float]
    initial: dict[str, float]
    fit: tuple[str, ...]
    rmse_kmh: float
    rmse_initial_kmh: float
    sites: gpd.GeoDataFrame
    success: bool
    message: str
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_sites(self) -> int:
        """Number of count sites fitted."""
        return len(self.sites)

    def to_params(self) -> dict[str, Any]:
        """The calibrated parameters as a full calming.yaml mapping.

        ``acceleration_mps2`` = a, ``braking_mps2`` = b, every
        ``crossing_excess_kmh`` raised by δ, ``free_speed.calibration_factor``
        multiplied by r, and a ``calibration.fitted`` record (values, RMSE, sites,
        sources, date).
        """
        out = _merge(self.base, {})
        f = self.fitted
        out["acceleration_mps2"] = round(float(f["a_mps2"]), 4)
        out["braking_mps2"] = round(float(f["b_mps2"]), 4)
        delta = float(f["crossing_offset_kmh"]) - float(self.initial["crossing_offset_kmh"])
        out["crossing_excess_kmh"] = {
            k: round(float(v) + delta, 3) for k, v in out["crossing_excess_kmh"].items()
        }
        ratio = float(f["free_speed_factor"]) / float(self.initial["free_speed_factor"])
        base_factor = float(out["free_speed"].get("calibration_factor", 1.0))
        out["free_speed"]["calibration_factor"] = round(base_factor * ratio, 5)
        sources = sorted({str(s) for s in self.sites["source"] if s is not None})
        out.setdefault("calibration", {})["fitted"] = {
            "fitted": list(self.fit),
            "values": {k: round(float(v), 5) for k, v in f.items()},
            "initial": {k: round(float(v), 5) for k, v in self.initial.items()},
            "rmse_kmh": round(self.rmse_kmh, 3),
            "rmse_initial_kmh": round(self.rmse_initial_kmh, 3),
            "sites": self.n_sites,
            "sources": sources,
            "date": _dt.date.today().isoformat(),
            "optimiser": "scipy.optimize.least_squares (trf, bounded)",
        }
        return out

    def write(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write :meth:`to_params` as a calming.yaml-style file; return its path.

        The file can be given as ``params`` to the calming functions, to
        ``analysis.run("calming", d, params=path)`` and to the planner.

        Raises
        ------
        InputError
            The file exists and ``overwrite`` is false.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise InputError(f"{path} exists; choose another name or pass overwrite=True")
        header = (
            "# Calibrated parameters of the calming speed model (vollsmose_gis.calming),\n"
            "# written by calibrate_speeds: the packaged standards/calming.yaml with the\n"
            "# fitted values (see calibration.fitted).  Use it as params=<this file>.\n"
        )
        text = yaml.safe_dump(self.to_params(), sort_keys=False, allow_unicode=True)
        path.write_text(header + text, encoding="utf-8")
        return path

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: fitted and initial values, RMSE, number of sites."""
        return {
            "fitted": {k: round(float(v), 4) for k, v in self.fitted.items()},
            "initial": {k: round(float(v), 4) for k, v in self.initial.items()},
            "fit": list(self.fit),
            "rmse_kmh": round(self.rmse_kmh, 3),
            "rmse_initial_kmh": round(self.rmse_initial_kmh, 3),
            "sites": self.n_sites,
            "success": self.success,
            "message": self.message,
        }


def calibrate_speeds(
    district: District,
    counts: pd.DataFrame | gpd.GeoDataFrame,
    *,
    fit: Sequence[str] = FIT_PARAMETERS,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    params: ParamsLike = None,
) -> SpeedCalibration:
    """Fit the speed model to measured V85 by bounded least squares.

    Parameters
    ----------
    district
        The district as it was when counted (streets and calming devices).
    counts
        Measured speeds (:func:`read_speed_counts` or a table, see
        :func:`check_speed_counts`).
    fit
        What to fit, among :data:`FIT_PARAMETERS` (``"a"``, ``"b"``, ``"crossing"``,
        ``"free_ratio"``), or ``"ab"`` for one common ``a = b``.  With few sites fit
        fewer parameters (the fit needs at least as many sites as parameters).
    bounds
        ``{"a_mps2": (low, high), ...}`` overriding ``calibration.bounds`` of
        ``standards/calming.yaml``.
    params
        Parameters the fit starts from (see :func:`~vollsmose_gis.calming.load_params`).

    Returns
    -------
    SpeedCalibration

    Raises
    ------
    InputError
        Unknown names in ``fit``; fewer sites than fitted parameters; counts that
        cannot be placed (see :func:`check_speed_counts`).

    Notes
    -----
    Minimises ``Σ_i (v_i(θ) − m_i)²`` over the sites ``i`` (``v_i`` modelled, ``m_i``
    measured V85, km/h) with ``scipy.optimize.least_squares`` (trust-region
    reflective, finite-difference Jacobian), within the bounds, from three starts (the
    parameters in force, the centre of the bounds, and the parameters in force with
    the largest free-speed factor); the best fit is kept, since free-speed caps make
    the cost flat in places.  On a two-way street
    ``a`` and ``b`` enter the profile symmetrically (the V85 is the faster direction),
    so they are told apart only by one-way streets or fitted together (``"ab"``).
    """
    wanted = tuple(str(f) for f in ([fit] if isinstance(fit, str) else fit))
    unknown = sorted(set(wanted) - {*FIT_PARAMETERS, "ab"})
    if unknown or ("ab" in wanted and ({"a", "b"} & set(wanted))):
        raise InputError(
            f"fit: unknown or conflicting names {unknown or wanted}; choose among "
            f"{list(FIT_PARAMETERS)} or 'ab' (one common a = b) instead of 'a' and 'b'"
        )
    counts = check_speed_counts(counts)
    with using_params(params) as p:
        base = _merge(p, {})
        limits = {k: tuple(float(x) for x in v) for k, v in p["calibration"]["bounds"].items()}
        limits.update({k: (float(v[0]), float(v[1])) for k, v in (bounds or {}).items()})
        sites = _prepare(district, counts)
    initial = {
        "a_mps2": float(base["acceleration_mps2"]),
        "b_mps2": float(base["braking_mps2"]),
        "crossing_offset_kmh": 0.0,
        "free_speed_factor": 1.0,
    }
    keys = ["a_mps2" if f == "ab" else _NAMES[f] for f in wanted]
    if len(sites.table) < len(keys):
        raise InputError(
            f"calibration: {len(sites.table)} site(s) cannot fit {len(keys)} parameters "
            f"{list(wanted)}; add counts or fit fewer (e.g. fit=('ab',))"
        )

    if {"a", "b"} <= set(wanted) and not _any_one_way(sites):
        warnings.warn(
            "calibration: every count lies on a two-way street, where acceleration and "
            "braking enter the V85 alike; a and b are not told apart (fit 'ab' instead)",
            CalmingWarning,
            stacklevel=2,
        )

    def unpack(x: np.ndarray) -> dict[str, float]:
        values = dict(initial)
        for name, key, value in zip(wanted, keys, x, strict=True):
            values[key] = float(value)
            if name == "ab":
                values["b_mps2"] = float(value)
        return values

    def speeds(values: Mapping[str, float]) -> np.ndarray:
        return np.asarray(
            _site_speeds(
                sites,
                values["a_mps2"],
                values["b_mps2"],
                values["crossing_offset_kmh"],
                values["free_speed_factor"],
            )
        )

    measured = sites.table["v85_kmh"].to_numpy(dtype=float)
    lower = np.array([limits[k][0] for k in keys])
    upper = np.array([limits[k][1] for k in keys])
    x0 = np.clip(np.array([initial[k] for k in keys]), lower, upper)
    before = speeds(initial)
    if keys:
        # the V85 is capped by free speeds, so the cost has plateaus: start from the
        # parameters in force, from the centre of the bounds and from the parameters in
        # force with the highest free speed (no cap binds), keep the best fit
        high_free = x0.copy()
        if "free_speed_factor" in keys:
            high_free[keys.index("free_speed_factor")] = upper[keys.index("free_speed_factor")]
        best = None
        for start in (x0, (lower + upper) / 2.0, high_free):
            solution = least_squares(
                lambda x: speeds(unpack(x)) - measured,
                start,
                bounds=(lower, upper),
                method="trf",
                x_scale=np.maximum(np.abs(upper - lower) / 10.0, 1e-3),
                diff_step=1e-3,
            )
            if best is None or solution.cost < best.cost - 1e-12:
                best = solution
        assert best is not None
        values, success, message = unpack(best.x), bool(best.success), best.message
    else:
        values, success, message = dict(initial), True, "nothing to fit"
    after = speeds(values)
    table = _site_table(sites, before, after)
    return SpeedCalibration(
        fitted=values,
        initial=initial,
        fit=wanted,
        rmse_kmh=_rmse(after - measured),
        rmse_initial_kmh=_rmse(before - measured),
        sites=table,
        success=success,
        message=str(message),
        bounds={k: (float(limits[k][0]), float(limits[k][1])) for k in keys},
        base=base,
    )
