"""Walking catchments and access: the mix within 400/800 m of each home and the network
distance to the nearest destination of each kind (POIs and green land-use polygons).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from vollsmose_gis.mix._common import (
    RADIUS_TOLERANCE_M,
    UNKNOWN,
    MixWarning,
    Progress,
    _buildings,
    _check_pois,
    _config,
    _ids,
    _label,
    _numeric,
    _radii,
    _text,
)
from vollsmose_gis.mix.diversity import _composition, _diversity_columns, landuse_entropy
from vollsmose_gis.mix.landuse import _class_matrix, _non_residential_share
from vollsmose_gis.network import SnappedPoints, StreetGraph, walk_graph
from vollsmose_gis.standards import categories

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "essential_needs",
    "green_space_access_points",
    "home_catchments",
    "poi_access",
]

logger = logging.getLogger(__name__)

_ROW_BUDGET = 2**24  # entries of one (origins x nodes) distance table (~130 MB float64)
_PAIR_BUDGET = 2**22  # entries of one (homes x targets) distance block (~34 MB)


# --------------------------------------------------------------------------- network


def _snap(graph: StreetGraph, frame: gpd.GeoDataFrame, max_access_m: float) -> SnappedPoints:
    return graph.snap(frame.geometry, max_distance_m=max_access_m)


def _subset(snapped: SnappedPoints, rows: np.ndarray) -> SnappedPoints:
    return SnappedPoints(
        *(getattr(snapped, name)[rows] for name in SnappedPoints.__dataclass_fields__)
    )


def _home_node_distances(graph: StreetGraph, homes: SnappedPoints, limit_m: float) -> np.ndarray:
    """``(len(homes), n_nodes)`` walking distance (m) from each snapped home to each node.

    One multi-source :func:`scipy.sparse.csgraph.dijkstra` call from the distinct end
    nodes of the homes' street pieces; beyond ``limit_m`` (network part) ``inf``.
    The access leg (``offset_m``) is not included.
    """
    count = len(homes)
    nodes, inverse = np.unique(np.concatenate([homes.u, homes.v]), return_inverse=True)
    table = graph.distances(nodes, limit_m=limit_m)
    length = graph.edge_length_m[homes.edge]
    via_u = table[inverse[:count]] + homes.along_m[:, None]
    via_v = table[inverse[count:]] + (length - homes.along_m)[:, None]
    return np.asarray(np.minimum(via_u, via_v))


def _pair_distances(
    graph: StreetGraph, node_dist: np.ndarray, homes: SnappedPoints, targets: SnappedPoints
) -> np.ndarray:
    """Door-to-door walking distances (m) from homes to targets, given home-to-node rows."""
    length = graph.edge_length_m[targets.edge]
    dist = node_dist[:, targets.u] + targets.along_m[None, :]
    np.minimum(dist, node_dist[:, targets.v] + (length - targets.along_m)[None, :], out=dist)
    # Home and target on the same street piece: also straight along it.
    pairs = pd.DataFrame({"h": np.arange(len(homes)), "edge": homes.edge}).merge(
        pd.DataFrame({"t": np.arange(len(targets)), "edge": targets.edge}), on="edge"
    )
    if len(pairs):
        h, t = pairs["h"].to_numpy(), pairs["t"].to_numpy()
        direct = np.abs(homes.along_m[h] - targets.along_m[t])
        dist[h, t] = np.minimum(dist[h, t], direct)
    dist += homes.offset_m[:, None]
    dist += targets.offset_m[None, :]
    return np.asarray(dist)


def _nearest_node_distances(graph: StreetGraph, sources: SnappedPoints) -> np.ndarray:
    """Distance (m) from every node to the nearest source point (its access leg included).

    One Dijkstra from a virtual node joined to both ends of every source's street
    piece with the cost of reaching the point from that end.
    """
    n = graph.n_nodes
    length = graph.edge_length_m[sources.edge]
    heads = np.concatenate([sources.u, sources.v])
    costs = np.concatenate(
        [sources.along_m + sources.offset_m, length - sources.along_m + sources.offset_m]
    )
    base = graph.csr.tocoo()
    rows = np.concatenate([base.row, np.full(len(heads), n)])
    cols = np.concatenate([base.col, heads])
    data = np.concatenate([base.data, costs])
    # Duplicate (virtual, node) entries would be summed by the sparse constructor:
    # keep only the cheapest cost per node.
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    matrix = sparse.csr_matrix((data[first], (rows[first], cols[first])), shape=(n + 1, n + 1))
    # csgraph counts explicit zeros of a sparse matrix as zero-length edges.
    result = csgraph.dijkstra(matrix, directed=True, indices=n)
    return np.asarray(result[:n])


@dataclass(frozen=True)
class _Homes:
    """Homes (buildings with dwellings) attached to the walk graph."""

    graph: StreetGraph
    frame: gpd.GeoDataFrame  # every home, building order; geometry = building polygon
    snapped: SnappedPoints
    max_access_m: float

    @property
    def valid(self) -> np.ndarray:
        return self.snapped.valid


def _prepare_homes(district: District, buildings: gpd.GeoDataFrame) -> _Homes:
    max_access = float(_config()["catchments"]["max_access_m"])
    graph = walk_graph(district)
    homes = buildings[buildings["_dwellings"] > 0]
    snapped = _snap(graph, homes, max_access)
    off = int((~snapped.valid).sum())
    if off:
        inside_off = int((~snapped.valid & homes["_inside"].to_numpy()).sum())
        warnings.warn(
            f"{off} home(s) ({inside_off} inside the boundary) lie farther than "
            f"{max_access:g} m from every walkable street: their walking catchments and "
            "distances are left empty (NaN); add the paths that serve them",
            MixWarning,
            stacklevel=3,
        )
    return _Homes(graph, homes, snapped, max_access)


def _frame_for(homes: _Homes) -> gpd.GeoDataFrame:
    frame = homes.frame
    columns = {
        "building_id": _text(frame, "building_id").to_numpy(),
        "estate": _text(frame, "estate").to_numpy(),
        "tenure": _text(frame, "tenure").fillna(UNKNOWN).to_numpy(),
        "dwellings": frame["_dwellings"].round().astype(np.int64).to_numpy(),
        "inside_boundary": frame["_inside"].to_numpy(dtype=bool),
        "access_m": homes.snapped.offset_m,
    }
    return gpd.GeoDataFrame(columns, geometry=frame.geometry.to_numpy(), crs=frame.crs)


def home_catchments(
    district: District,
    *,
    radii_m: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Return the mix of each home's walking catchments (network distance).

    Parameters
    ----------
    district
        The district.  Every building with dwellings is a home (context included); the
        catchment holds every building (context included) within the radius, the
        home's own building always.
    radii_m
        Catchment radii, metres of walking (default 400 and 800 m,
        ``standards/mix.yaml``).
    progress
        Called with (fraction done, message).

    Returns
    -------
    GeoDataFrame
        One row per home (building polygon geometry) with ``building_id``, ``estate``,
        ``tenure``, ``dwellings``, ``inside_boundary``, ``access_m`` (straight leg to
        the nearest walkable street, m) and, for each radius R (e.g. ``800m``):
        ``dwellings_R``; ``tenure_<index>_R`` and ``dwelling_type_<index>_R`` for the
        indices of :data:`DIVERSITY_INDICES` (known categories, dwelling-weighted);
        ``landuse_entropy_R`` (fixed classes, by floor area);
        ``non_residential_floor_share_R``; ``jobs_per_dwelling_R``.  NaN for homes
        off the network (farther than ``max_access_m`` from every walkable street).

    Raises
    ------
    NoStreetsError
        The district has no walkable street.

    Notes
    -----
    A building is in a home's catchment when the door-to-door walking distance
    (access leg + network + access leg, between representative points) is at most
    the radius (plus :data:`RADIUS_TOLERANCE_M`).  All homes share one multi-source
    Dijkstra (see the notes of :mod:`vollsmose_gis.mix`).
    """
    radii = _radii(radii_m)
    buildings = _buildings(district)
    homes = _prepare_homes(district, buildings)
    return _catchments(homes, buildings, radii, progress)


def _catchments(
    homes: _Homes,
    buildings: gpd.GeoDataFrame,
    radii: tuple[float, ...],
    progress: Progress | None,
) -> gpd.GeoDataFrame:
    graph = homes.graph
    out = _frame_for(homes)
    weights = buildings["_dwellings"].to_numpy()
    tenure = _composition(buildings, "tenure", "tenures", weights)
    types = _composition(buildings, "dwelling_type", "dwelling_types", weights)
    landuse, _ = _class_matrix(buildings)
    jobs = _numeric(buildings, "jobs")
    blocks = [weights[:, None], tenure, types, landuse, jobs[:, None]]
    widths = np.cumsum([0] + [b.shape[1] for b in blocks])
    values = np.hstack(blocks)
    relevant = (values > 0).any(axis=1)
    target_rows = np.flatnonzero(relevant)
    targets_all = _snap(graph, buildings.iloc[target_rows], homes.max_access_m)
    on_net = targets_all.valid
    targets = _subset(targets_all, np.flatnonzero(on_net))
    target_values = values[target_rows[on_net]]
    # Position of each home's own building among the targets (always in its catchment).
    target_pos = np.full(len(buildings), -1, dtype=np.int64)
    target_pos[target_rows[on_net]] = np.arange(len(targets))
    home_pos = np.flatnonzero(buildings["_dwellings"].to_numpy() > 0)
    own = target_pos[home_pos]

    n_home = len(out)
    sums = {r: np.full((n_home, values.shape[1]), np.nan) for r in radii}
    valid_rows = np.flatnonzero(homes.valid)
    # One Dijkstra call for all homes unless its table would exceed _ROW_BUDGET entries;
    # the (homes x targets) distances are then formed in blocks of _PAIR_BUDGET entries.
    search_chunk = max(1, _ROW_BUDGET // max(2 * graph.n_nodes, 1))
    pair_chunk = max(1, _PAIR_BUDGET // max(len(targets), 1))
    limit = max(radii)
    done = 0
    for start in range(0, len(valid_rows), search_chunk):
        rows = valid_rows[start : start + search_chunk]
        node_dist = _home_node_distances(graph, _subset(homes.snapped, rows), limit)
        for first in range(0, len(rows), pair_chunk):
            part = np.arange(first, min(first + pair_chunk, len(rows)))
            block_rows = rows[part]
            snapped = _subset(homes.snapped, block_rows)
            dist = _pair_distances(graph, node_dist[part], snapped, targets)
            has_own = own[block_rows] >= 0
            dist[np.flatnonzero(has_own), own[block_rows][has_own]] = 0.0
            for r in radii:
                within = dist <= r + RADIUS_TOLERANCE_M
                sums[r][block_rows] = within.astype(float) @ target_values
            done += len(part)
            if progress is not None:
                progress(done / len(valid_rows), "walking catchments")
    columns: dict[str, Any] = {}
    for r in radii:
        label = _label(r)
        block = [sums[r][:, widths[i] : widths[i + 1]] for i in range(len(blocks))]
        dwellings, tenure_sum, type_sum, landuse_sum, jobs_sum = block
        columns[f"dwellings_{label}"] = dwellings[:, 0]
        columns.update(_diversity_columns("tenure", tenure_sum, f"_{label}"))
        columns.update(_diversity_columns("dwelling_type", type_sum, f"_{label}"))
        columns[f"landuse_entropy_{label}"] = np.atleast_1d(
            landuse_entropy(np.nan_to_num(landuse_sum), n_classes=landuse_sum.shape[1])
        )
        columns[f"non_residential_floor_share_{label}"] = _non_residential_share(landuse_sum)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"jobs_per_dwelling_{label}"] = jobs_sum[:, 0] / dwellings[:, 0]
    for name, column in columns.items():
        out[name] = column
    logger.debug("catchments of %d homes (%d on the network)", n_home, len(valid_rows))
    return out


def _access_kinds() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], float]:
    """POI kinds measured, needs (essential first, then the others) and the radius (m)."""
    spec = _config()["access"]
    kinds = tuple(spec["poi_kinds"])
    daily = spec["daily_needs"]
    needs = {name: tuple(k) for name, k in daily["needs"].items()}
    others = {name: tuple(k) for name, k in (daily.get("other_needs") or {}).items()}
    if set(needs) & set(others):
        raise ValueError(
            f"standards/mix.yaml: needs {sorted(set(needs) & set(others))} are listed as "
            "essential and as other needs"
        )
    allowed = set(categories("poi_kinds"))
    listed = {k for ks in (*needs.values(), *others.values()) for k in ks}
    unknown = (set(kinds) | listed) - allowed
    if unknown:
        raise ValueError(f"standards/mix.yaml names unknown POI kinds {sorted(unknown)}")
    kinds = tuple(dict.fromkeys([*kinds, *sorted(listed)]))
    return kinds, {**needs, **others}, float(daily["radius_m"])


def essential_needs() -> tuple[str, ...]:
    """The essential daily needs of ``standards/mix.yaml`` (``access.daily_needs.needs``).

    A home "has every daily need" when each of these has a destination within the
    radius (800 m walk); the ``other_needs`` are reported beside them.
    """
    return tuple(_config()["access"]["daily_needs"]["needs"])


def green_space_access_points(district: District) -> gpd.GeoDataFrame:
    """Return the points where the green land-use polygons can be entered on foot.

    Parameters
    ----------
    district
        The district; its ``landuse`` polygons of the uses listed under
        ``access.green_space.landuse_uses`` (green, wetland) with at least
        ``min_area_m2`` (5,000 m²) of area are green spaces.

    Returns
    -------
    GeoDataFrame
        Points (district CRS) with ``landuse_id`` (``row <i>`` where missing), ``kind``
        (``green_space``) and ``access``: ``"entrance"`` where a walkable street piece
        meets or crosses the polygon's edge, ``"inside"`` for street nodes inside the
        polygon, ``"edge"`` for points along the edge every ``edge_spacing_m`` (25 m),
        each of which the analysis joins to its nearest walkable street.

    Notes
    -----
    A home's distance to a green space is its walking distance to the nearest of these
    points, so a large park counts from its near edge, not from one point in its
    middle.  Edge points farther than ``catchments.max_access_m`` from every walkable
    street are left out by the analysis (no way in there).
    """
    spec = _config()["access"]["green_space"]
    landuse = district.landuse
    uses = _text(landuse, "use")
    geoms = landuse.geometry.to_numpy()
    keep = uses.isin(spec["landuse_uses"]).fillna(False).to_numpy(dtype=bool)
    keep &= ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    keep &= shapely.area(geoms) >= float(spec["min_area_m2"])
    ids = _ids(landuse, "landuse_id")
    step = float(spec["edge_spacing_m"])
    graph = walk_graph(district) if keep.any() else None
    rows: list[tuple[str, str, Any]] = []
    for i in np.flatnonzero(keep):
        polygon = geoms[i]
        edge = polygon.boundary
        length = float(edge.length)
        for d in np.arange(0.0, length, step):
            rows.append((ids[i], "edge", shapely.line_interpolate_point(edge, d)))
        if graph is not None and graph.n_edges:
            lines = graph.edges.geometry.to_numpy()
            near = graph.edges.sindex.query(polygon, predicate="intersects")
            for point in _points_of(shapely.intersection(lines[near], edge)):
                rows.append((ids[i], "entrance", point))
            nodes = graph.nodes.geometry.to_numpy()
            inside = graph.nodes.sindex.query(polygon, predicate="covers")
            for point in nodes[inside]:
                rows.append((ids[i], "inside", point))
    kind = str(spec["kind"])
    return gpd.GeoDataFrame(
        {
            "landuse_id": [r[0] for r in rows],
            "kind": [kind] * len(rows),
            "access": [r[1] for r in rows],
        },
        geometry=gpd.GeoSeries([r[2] for r in rows], crs=district.crs),
    )


def _points_of(geometries: np.ndarray) -> list[Any]:
    """Every point of a set of intersection results (points, multipoints, line ends)."""
    points: list[Any] = []
    for geom in geometries:
        if geom is None or geom.is_empty:
            continue
        parts = shapely.get_parts(geom)
        for part in parts:
            if part.geom_type == "Point":
                points.append(part)
            else:  # a street running along the edge: its ends are the ways in
                coords = shapely.get_coordinates(part)
                points.extend(shapely.points(coords[[0, -1]]))
    return points


def poi_access(district: District, *, progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Return each home's walking distance to the nearest destination of each kind.

    Parameters
    ----------
    district
        The district; every building with dwellings is a home, every POI (context
        included) a destination, and so is every green land-use polygon (kind
        ``green_space``, see :func:`green_space_access_points`).
    progress
        Called with (fraction done, message).

    Returns
    -------
    GeoDataFrame
        One row per home (as :func:`home_catchments`) with ``dist_<kind>_m`` for every
        POI kind of ``access.poi_kinds`` (door-to-door walking distance in metres to
        the nearest destination of that kind; NaN when none is reachable or the home is
        off the network), ``need_<need>_m`` for every need, essential or other
        (nearest destination of any of its kinds), ``daily_needs_<R>`` (True when
        every essential need is within the daily-needs radius R, 800 m) and
        ``daily_needs_missing`` (the essential needs not met, comma-separated).

    Raises
    ------
    InputError
        A POI kind not in the POI kind list (naming the POI).
    NoStreetsError
        The district has no walkable street.

    Notes
    -----
    One Dijkstra per POI kind, from all destinations of the kind at once (see the
    notes of :mod:`vollsmose_gis.mix`), so the cost does not grow with the number of homes.
    """
    _check_pois(district.pois)
    buildings = _buildings(district)
    homes = _prepare_homes(district, buildings)
    return _access(homes, district.pois, progress, green_space_access_points(district))


def _access(
    homes: _Homes,
    pois: gpd.GeoDataFrame,
    progress: Progress | None,
    green: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    graph = homes.graph
    kinds, needs, radius = _access_kinds()
    essential = essential_needs()
    out = _frame_for(homes)
    poi_snap = _snap(graph, pois, homes.max_access_m) if len(pois) else None
    if poi_snap is not None and not poi_snap.valid.all():
        off = [i for i, v in zip(_ids(pois, "poi_id"), poi_snap.valid, strict=True) if not v]
        warnings.warn(
            f"{len(off)} POI(s) lie farther than {homes.max_access_m:g} m from every walkable "
            f"street and are left out of the walking distances: {', '.join(off[:10])}"
            + (" ..." if len(off) > 10 else ""),
            MixWarning,
            stacklevel=3,
        )
    poi_kind = _text(pois, "kind").to_numpy()
    if green is not None and len(green):
        green_snap = _snap(graph, green, homes.max_access_m)
        poi_snap = green_snap if poi_snap is None else _concat(poi_snap, green_snap)
        poi_kind = np.concatenate([poi_kind, green["kind"].to_numpy(dtype=object)])
    h = homes.snapped
    ok = h.valid
    length = graph.edge_length_m[np.where(ok, h.edge, 0)]
    distances: dict[str, np.ndarray] = {}
    for i, kind in enumerate(kinds):
        result = np.full(len(out), np.inf)
        if poi_snap is not None:
            rows = np.flatnonzero((poi_kind == kind) & poi_snap.valid)
            if len(rows):
                sources = _subset(poi_snap, rows)
                node = _nearest_node_distances(graph, sources)
                via = np.minimum(
                    h.along_m[ok] + node[h.u[ok]], length[ok] - h.along_m[ok] + node[h.v[ok]]
                )
                result[ok] = via
                _same_edge_nearest(result, h, sources)
                result[ok] += h.offset_m[ok]
        result[~ok] = np.inf
        distances[kind] = result
        if progress is not None:
            progress((i + 1) / len(kinds), f"nearest {kind}")
    for kind in kinds:
        out[f"dist_{kind}_m"] = np.where(np.isfinite(distances[kind]), distances[kind], np.nan)
    met = np.ones(len(out), dtype=bool)
    missing: list[list[str]] = [[] for _ in range(len(out))]
    for need, need_kinds in needs.items():
        nearest = np.minimum.reduce([distances[k] for k in need_kinds])
        out[f"need_{need}_m"] = np.where(np.isfinite(nearest), nearest, np.nan)
        if need not in essential:
            continue
        fails = ~(nearest <= radius + RADIUS_TOLERANCE_M)
        met &= ~fails
        for row in np.flatnonzero(fails):
            missing[row].append(need)
    out[f"daily_needs_{_label(radius)}"] = met
    out["daily_needs_missing"] = [",".join(m) for m in missing]
    return out


def _concat(first: SnappedPoints, second: SnappedPoints) -> SnappedPoints:
    return SnappedPoints(
        *(
            np.concatenate([getattr(first, name), getattr(second, name)])
            for name in SnappedPoints.__dataclass_fields__
        )
    )


def _same_edge_nearest(result: np.ndarray, homes: SnappedPoints, sources: SnappedPoints) -> None:
    """Lower ``result`` (network part, per home) where a source lies on the home's edge."""
    home_rows = np.flatnonzero(homes.valid)
    left = pd.DataFrame(
        {"row": home_rows, "edge": homes.edge[home_rows], "along": homes.along_m[home_rows]}
    )
    right = pd.DataFrame(
        {"edge": sources.edge, "s_along": sources.along_m, "s_off": sources.offset_m}
    )
    pairs = left.merge(right, on="edge")
    if pairs.empty:
        return
    pairs["direct"] = (pairs["along"] - pairs["s_along"]).abs() + pairs["s_off"]
    best = pairs.groupby("row")["direct"].min()
    rows = best.index.to_numpy()
    result[rows] = np.minimum(result[rows], best.to_numpy())


# --------------------------------------------------------------------------- everything
