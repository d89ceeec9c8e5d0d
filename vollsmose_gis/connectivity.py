"""Street connectivity: network structure, permeability, centralities, new links.

How cut off is a district from its city, and which new links would help most?  This
module measures it on the graphs of :mod:`vollsmose_gis.network`:

- :func:`network_structure` - intersection density (junctions within 20 m counted
  once, :func:`consolidate_nodes`), dead ends, link-node ratio, meshedness and
  boundary crossings inside the study boundary, measured on the street network
  (:func:`vollsmose_gis.network.street_graph`: sidewalks and crossings drawn as
  separate ways left out; routing keeps them);
- :func:`home_access` - per home: pedestrian route directness to a ring of
  destinations 400-800 m outside the boundary and to the city centre, network distance
  to the centre, and street length reachable within 800 m;
- :func:`centralities` - betweenness and harmonic closeness, global and within network
  radii (igraph; equal to networkx's definitions);
- :func:`suggest_links` - a link-opening optimiser: candidate straight links from dead
  ends and poorly connected nodes, each scored by its gain, chosen greedily under a
  length budget; it returns a :class:`LinkPlan` (the common
  :class:`~vollsmose_gis.analysis.Plan`);
- :func:`indicators` - the indicators of the "connected district" theme, built from
  the catalogue ``standards/indicators/connectivity.yaml`` (formulas there).

Parameters (radii, tolerances, what blocks a new link, the largest k) live in
``standards/connectivity.yaml``.  The city centre is the district's setting
(``District.settings.centre_xy``) or the caller's; no city's centre is assumed.
Boundary crossings need streets beyond the boundary (:func:`has_context`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult, Plan, new_ids
from vollsmose_gis.centrality import street_centralities
from vollsmose_gis.indicators import Indicator, indicator
from vollsmose_gis.network import (
    Mode,
    NoStreetsError,
    StreetGraph,
    build_graph,
    street_graph,
    walk_graph,
)
from vollsmose_gis.standards import load

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = [
    "MAX_LINKS",
    "OBJECTIVES",
    "ConnectivityWarning",
    "LinkPlan",
    "add_links",
    "centralities",
    "consolidate_nodes",
    "has_context",
    "home_access",
    "indicators",
    "network_structure",
    "suggest_links",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
THEME = "connected district"
OBJECTIVES: tuple[str, ...] = ("route_directness", "distance_to_centre_m")
"""Objectives :func:`suggest_links` can minimise."""


class ConnectivityWarning(UserWarning):
    """An indicator is undefined (NaN) or rests on fewer data than expected."""


def _config(section: str) -> dict[str, Any]:
    data: dict[str, Any] = load("connectivity")[section]
    return data


def _warn(message: str) -> None:
    logger.warning(message)
    warnings.warn(message, ConnectivityWarning, stacklevel=3)


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), message)


# --------------------------------------------------------------------------- structure


def _topology(graph: StreetGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collapse chains of degree-2 nodes into links between topological nodes.

    Returns ``(is_node, link_a, link_b)``: the mask of topological nodes (degree other
    than 2, plus one node standing for every isolated ring of degree-2 nodes) and the
    end nodes of every link (a loop has ``a == b``).
    """
    n = graph.n_nodes
    degree = graph.nodes["degree"].to_numpy()
    u, v = graph.edge_u, graph.edge_v
    through = degree == 2
    is_node = ~through
    direct = is_node[u] & is_node[v]
    link_a, link_b = [u[direct]], [v[direct]]
    inner = through[u] & through[v]
    chain_graph = sparse.coo_matrix((np.ones(int(inner.sum())), (u[inner], v[inner])), shape=(n, n))
    _, label = csgraph.connected_components(chain_graph, directed=False)
    # Edges from a chain of degree-2 nodes to a topological node: two per chain.
    attach = through[u] ^ through[v]
    chain_end = np.where(through[u], u, v)[attach]
    outer_end = np.where(through[u], v, u)[attach]
    ends = pd.DataFrame({"chain": label[chain_end], "node": outer_end}).sort_values(
        ["chain", "node"], kind="stable"
    )
    grouped = ends.groupby("chain")["node"]
    firsts, lasts = grouped.first(), grouped.last()
    link_a.append(firsts.to_numpy())
    link_b.append(lasts.to_numpy())
    # Rings made only of degree-2 nodes: one node, one loop.
    chains = np.unique(label[through])
    rings = np.setdiff1d(chains, firsts.index.to_numpy())
    if len(rings):
        representative = pd.Series(np.flatnonzero(through)).groupby(label[through]).min()
        ring_nodes = representative.loc[rings].to_numpy()
        is_node = is_node.copy()
        is_node[ring_nodes] = True
        link_a.append(ring_nodes)
        link_b.append(ring_nodes)
    return is_node, np.concatenate(link_a), np.concatenate(link_b)


def consolidate_nodes(points: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Cluster labels of points whose ``tolerance_m`` buffers overlap (OSMnx's rule).

    Each point is buffered by ``tolerance_m`` and overlapping buffers are dissolved
    into one polygon, as OSMnx's ``consolidate_intersections`` does: points within
    ``2 × tolerance_m`` of each other (directly or through a chain of such points)
    share a label.  Labels are ``0 .. k-1`` in order of first appearance.

    Parameters
    ----------
    points
        Shapely points (or an ``(n, 2)`` array of coordinates), metres.
    tolerance_m
        Buffer radius, metres (0: only coincident points merge).
    """
    geoms = np.asarray(points)
    if geoms.ndim == 2:
        geoms = shapely.points(geoms)
    if not len(geoms):
        return np.empty(0, dtype=np.int64)
    if tolerance_m <= 0:
        xy = shapely.get_coordinates(geoms)
        _, first = np.unique(xy, axis=0, return_inverse=True)
        _, labels = np.unique(first.reshape(-1), return_inverse=True)
    else:
        blobs = shapely.get_parts(shapely.union_all(shapely.buffer(geoms, tolerance_m)))
        point_i, blob_i = shapely.STRtree(blobs).query(geoms, predicate="within")
        labels = np.empty(len(geoms), dtype=np.int64)
        labels[point_i] = blob_i
    _, order = np.unique(labels, return_index=True)
    rank = np.empty(int(labels.max()) + 1, dtype=np.int64)
    rank[labels[np.sort(order)]] = np.arange(len(order))
    return rank[labels]


def network_structure(
    graph: StreetGraph, boundary: BaseGeometry, *, tolerance_m: float | None = None
) -> dict[str, float]:
    """Measure the structure of a street graph inside a boundary.

    Nodes are *topological* nodes: intersections (3 or more street ends) and dead ends
    (1); chains through degree-2 nodes (a street drawn in several pieces, a bend)
    are one link.  A node on the boundary line counts as inside.

    Parameters
    ----------
    graph
        A walk or drive graph (degrees are those of the whole graph, so a street
        leaving the boundary does not make a dead end).
    boundary
        Study area polygon, in the graph CRS.
    tolerance_m
        Junction nodes closer than twice this distance are one intersection (a dual
        carriageway's or a staggered junction's several nodes), metres; default
        ``intersection_tolerance_m`` of ``standards/connectivity.yaml`` (10 m, as
        OSMnx's ``consolidate_intersections``).

    Returns
    -------
    dict
        ``nodes``, ``intersections`` (nodes of degree 3 or more), ``dead_ends``
        (counts inside), ``intersections_consolidated`` (intersections after merging
        those within ``2 × tolerance_m``, see :func:`consolidate_nodes`), ``links``
        (links with both ends inside count 1, with one end inside 1/2),
        ``area_km2``, ``boundary_km`` and the indicators
        ``intersection_density_per_km2`` (consolidated intersections / area, per km²),
        ``dead_end_share`` (dead ends / nodes), ``link_node_ratio`` (links / nodes),
        ``meshedness`` and ``boundary_crossings_per_km``.  Ratios are NaN (with a
        :class:`ConnectivityWarning`) when the boundary holds no node.

    Notes
    -----
    Meshedness (alpha index, Buhl et al. 2006, *Eur. Phys. J. B* 49:513) of the planar
    graph of the links with both ends inside: ``(e - v + c) / (2 v - 5)`` with ``e``
    links, ``v`` nodes and ``c`` connected components; 0 for a tree, 1 for a maximal
    planar (triangulated) graph.  NaN when ``v < 3``.

    A *boundary crossing* is a physical street piece with one end inside (or on) the
    boundary and the other strictly outside: each way out of the district counts once,
    a street running along the boundary does not.  Link-node ratio after Ewing (1996).
    """
    is_node, link_a, link_b = _topology(graph)
    points = graph.nodes.geometry.to_numpy()
    inside = shapely.covers(boundary, points)
    degree = graph.nodes["degree"].to_numpy()
    area_km2 = float(boundary.area) / 1e6
    boundary_km = float(boundary.boundary.length) / 1e3
    nodes_in = int((is_node & inside).sum())
    junction = degree >= 3
    intersections = int((junction & inside).sum())
    if tolerance_m is None:
        tolerance_m = float(_config("indicators")["intersection_tolerance_m"])
    if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise InputError(f"tolerance_m must be a distance >= 0 in metres, got {tolerance_m!r}")
    # Clusters are formed over all junctions (one just outside may join one inside); a
    # cluster counts inside when any of its junctions is inside.
    labels = consolidate_nodes(points[junction], tolerance_m)
    consolidated = len(np.unique(labels[inside[junction]]))
    dead_ends = int(((degree == 1) & inside).sum())
    both = inside[link_a] & inside[link_b]
    one = inside[link_a] ^ inside[link_b]
    links = float(both.sum() + 0.5 * one.sum())
    crossings = int((inside[graph.edge_u] ^ inside[graph.edge_v]).sum())
    result: dict[str, float] = {
        "nodes": nodes_in,
        "intersections": intersections,
        "intersections_consolidated": consolidated,
        "dead_ends": dead_ends,
        "links": links,
        "crossings": crossings,
        "area_km2": area_km2,
        "boundary_km": boundary_km,
    }
    if nodes_in == 0:
        _warn(
            f"the boundary contains no node of the {graph.mode} graph (is the boundary in "
            f"the district CRS {graph.crs} and over the streets?); its structure "
            "indicators are NaN"
        )
        for key in (
            "intersection_density_per_km2",
            "dead_end_share",
            "link_node_ratio",
            "meshedness",
            "boundary_crossings_per_km",
        ):
            result[key] = math.nan
        return result
    result["intersection_density_per_km2"] = consolidated / area_km2
    result["dead_end_share"] = dead_ends / nodes_in
    result["link_node_ratio"] = links / nodes_in
    result["boundary_crossings_per_km"] = crossings / boundary_km
    sub_a, sub_b = link_a[both], link_b[both]
    n = graph.n_nodes
    induced = sparse.coo_matrix((np.ones(len(sub_a)), (sub_a, sub_b)), shape=(n, n))
    _, label = csgraph.connected_components(induced, directed=False)
    components = len(np.unique(label[is_node & inside]))
    v = nodes_in
    result["meshedness"] = (len(sub_a) - v + components) / (2 * v - 5) if v >= 3 else math.nan
    return result


# --------------------------------------------------------------------------- access


def _resolve_centre(
    district: District, centre: Sequence[float] | None, *, quiet: bool = False
) -> np.ndarray | None:
    """The city centre in district coordinates, or None (with one warning) if unknown.

    In order: ``centre`` given by the caller; the district's settings
    (``district.settings.centre_xy``, set for the embedded Vollsmose and, at import,
    from a ``place=city|town`` node of OpenStreetMap data); else none.  No city's
    centre is assumed for a district that does not say where its centre is.
    """
    if centre is None:
        centre = district.settings.centre_xy
        what = "the district settings' centre_xy"
    else:
        what = "centre"
    if centre is not None:
        xy = np.asarray(centre, dtype=float).reshape(-1)
        if xy.shape != (2,) or not np.isfinite(xy).all():
            raise InputError(f"{what} must be (x, y) in {district.crs}, got {centre!r}")
        limit = float(_config("indicators")["max_centre_distance_m"])
        distance = float(district.boundary.distance(Point(*xy)))
        if not distance <= limit:
            raise InputError(
                f"{what} ({xy[0]:.6g}, {xy[1]:.6g}) lies {distance / 1000:,.0f} km from "
                f"district {district.name!r}, more than {limit / 1000:g} km "
                "(max_centre_distance_m): give the centre of the district's own city, in "
                f"its CRS {district.crs}"
            )
        return xy
    if not quiet:
        _warn(NO_CENTRE_REASON.format(name=district.name))
    return None


NO_CENTRE_REASON = (
    "district {name!r} has no city centre (its settings have no centre_xy and no "
    "place=city|town node was imported): distance to the centre is not measured and "
    "route directness uses the ring destinations only; set the centre in the district "
    "settings or pass centre=(x, y)"
)


def has_context(
    graph: StreetGraph, boundary: BaseGeometry, district: District | None = None
) -> bool:
    """Whether the streets reach beyond the boundary (so crossings can be counted).

    False when no node of ``graph`` lies farther than ``min_context_m``
    (``standards/connectivity.yaml``) outside the boundary, or when the district was
    imported from OpenStreetMap without a bbox/boundary (its provenance notes say "No
    context"): the boundary is then the data's extent and every street seems to end
    at it.
    """
    if district is not None and "No context:" in (district.provenance.notes or ""):
        return False
    min_context = float(_config("indicators")["min_context_m"])
    distance = shapely.distance(boundary, graph.nodes.geometry.to_numpy())
    return bool((distance > min_context).any())


NO_CONTEXT_REASON = (
    "the streets end at the boundary of {name!r} (no street reaches more than "
    "{min_context:g} m beyond it: an import without --bbox/--boundary takes the data's "
    "extent as the boundary), so boundary crossings cannot be counted; import with a "
    "--bbox smaller than the extract"
)


def _ring_nodes(graph: StreetGraph, boundary: BaseGeometry) -> np.ndarray:
    """One destination node per angular sector, 400-800 m outside the boundary."""
    cfg = _config("indicators")
    inner, outer, sectors = (
        float(cfg["ring_inner_m"]),
        float(cfg["ring_outer_m"]),
        int(cfg["ring_sectors"]),
    )
    points = graph.nodes.geometry.to_numpy()
    distance = shapely.distance(boundary, points)
    labels = graph.components()
    main = np.bincount(labels).argmax()
    candidate = (distance >= inner) & (distance <= outer) & (labels == main)
    if not candidate.any():
        return np.empty(0, dtype=np.int64)
    idx = np.flatnonzero(candidate)
    centroid = boundary.centroid
    xy = graph.node_xy[idx]
    angle = np.arctan2(xy[:, 1] - centroid.y, xy[:, 0] - centroid.x)
    sector = np.minimum(((angle + np.pi) / (2 * np.pi) * sectors).astype(int), sectors - 1)
    frame = pd.DataFrame(
        {"node": idx, "sector": sector, "off": np.abs(distance[idx] - (inner + outer) / 2)}
    )
    best = frame.sort_values(["sector", "off", "node"]).drop_duplicates("sector")
    return best["node"].to_numpy(dtype=np.int64)


@dataclass
class _Access:
    """Homes snapped to the walk graph and the destinations of route directness."""

    graph: StreetGraph
    homes: gpd.GeoDataFrame  # building_id, dwellings, geometry (point), edge snapping
    weight: np.ndarray
    along: np.ndarray
    offset: np.ndarray
    rest: np.ndarray  # edge length minus along
    edge: np.ndarray  # the edge each home is snapped to
    cols: np.ndarray  # nodes needed to evaluate homes (ends of their edges)
    iu: np.ndarray  # position of each home's u in cols
    iv: np.ndarray
    ring: np.ndarray  # ring destination nodes
    centre: np.ndarray | None
    centre_arcs: tuple[np.ndarray, np.ndarray]  # nodes, cost from the centre
    straight: np.ndarray  # (H, J) straight distance home -> destination
    cap: float

    @property
    def n_dest(self) -> int:
        return len(self.ring) + (self.centre is not None)

    def tables(self, csr: sparse.csr_matrix) -> np.ndarray:
        """Distances (J, n) from every destination (ring nodes, then the centre)."""
        rows = []
        if len(self.ring):
            rows.append(csgraph.dijkstra(csr, directed=True, indices=self.ring))
        if self.centre is not None:
            n = csr.shape[0]
            nodes, cost = self.centre_arcs
            coo = csr.tocoo()
            augmented = sparse.csr_matrix(
                (
                    np.concatenate([coo.data, cost]),
                    (
                        np.concatenate([coo.row, np.full(len(nodes), n)]),
                        np.concatenate([coo.col, nodes]),
                    ),
                ),
                shape=(n + 1, n + 1),
            )
            rows.append(csgraph.dijkstra(augmented, directed=True, indices=[n])[:, :n])
        return np.vstack(rows) if rows else np.empty((0, csr.shape[0]))

    def home_distances(self, table_cols: np.ndarray) -> np.ndarray:
        """(H, J) network distance in metres from each home to each destination."""
        via_u = table_cols[:, self.iu].T + self.along[:, None]
        via_v = table_cols[:, self.iv].T + self.rest[:, None]
        return np.minimum(via_u, via_v) + self.offset[:, None]

    def per_home(self, distance: np.ndarray) -> dict[str, np.ndarray]:
        """Per-home directness (ring, centre, combined) and distance to the centre."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = distance / self.straight
        ratio = np.where(self.straight > 0, ratio, 1.0)
        ratio = np.minimum(np.nan_to_num(ratio, nan=self.cap, posinf=self.cap), self.cap)
        n_ring = len(self.ring)
        out: dict[str, np.ndarray] = {}
        nan = np.full(len(distance), np.nan)
        out["directness_ring"] = ratio[:, :n_ring].mean(axis=1) if n_ring else nan
        if self.centre is not None:
            out["directness_centre"] = ratio[:, n_ring]
            out["distance_to_centre_m"] = distance[:, n_ring]
            parts = [out["directness_centre"]] + ([out["directness_ring"]] if n_ring else [])
            out["route_directness"] = np.mean(parts, axis=0)
        else:
            out["directness_centre"] = nan
            out["distance_to_centre_m"] = nan
            out["route_directness"] = out["directness_ring"]
        return out

    def objective(self, distance: np.ndarray, name: str) -> float:
        values = self.per_home(distance)[name]
        finite = np.isfinite(values)
        if not finite.any():
            return math.nan
        return float(np.average(values[finite], weights=self.weight[finite]))


def _access(
    district: District,
    graph: StreetGraph,
    centre: Sequence[float] | None,
    *,
    ring: np.ndarray | None = None,
    quiet: bool = False,
) -> _Access:
    cfg = _config("indicators")
    warn = (lambda message: None) if quiet else _warn
    buildings = district.buildings
    dwellings = buildings["dwellings"].fillna(0).to_numpy(dtype=float)
    points = shapely.point_on_surface(buildings.geometry.to_numpy())
    is_home = (dwellings > 0) & shapely.covers(district.boundary, points)
    homes = gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy()[is_home],
            "dwellings": dwellings[is_home],
        },
        geometry=points[is_home],
        crs=district.crs,
    )
    snapped = graph.snap(homes.geometry, max_distance_m=float(cfg["max_home_access_m"]))
    if (~snapped.valid).any():
        warn(
            f"{int((~snapped.valid).sum())} home building(s) lie farther than "
            f"{cfg['max_home_access_m']} m from every walkable street and are left out"
        )
    homes = homes[snapped.valid].reset_index(drop=True)
    edge = snapped.edge[snapped.valid]
    ends = np.concatenate([snapped.u[snapped.valid], snapped.v[snapped.valid]])
    cols, inverse = np.unique(ends, return_inverse=True)
    h = len(homes)
    if ring is None:
        ring = _ring_nodes(graph, district.boundary)
    centre_xy = _resolve_centre(district, centre, quiet=quiet)
    centre_arcs = (np.empty(0, dtype=np.int64), np.empty(0))
    if centre_xy is not None:
        at_centre = graph.snap([Point(*centre_xy)], max_distance_m=float(cfg["max_home_access_m"]))
        if at_centre.valid[0]:
            e = int(at_centre.edge[0])
            centre_arcs = (
                np.array([graph.edge_u[e], graph.edge_v[e]]),
                at_centre.offset_m[0]
                + np.array([at_centre.along_m[0], graph.edge_length_m[e] - at_centre.along_m[0]]),
            )
        else:
            # The centre lies beyond the modelled streets: leave the district by the
            # network, then go straight (a documented approximation).
            outside = np.flatnonzero(
                ~shapely.covers(district.boundary, graph.nodes.geometry.to_numpy())
            )
            if not len(outside):
                warn(
                    "no street node lies outside the boundary, so the route to the city "
                    "centre cannot be modelled; centre indicators are NaN"
                )
                centre_xy = None
            else:
                centre_arcs = (
                    outside,
                    np.hypot(*(graph.node_xy[outside] - centre_xy).T),
                )
    if not len(ring):
        warn(
            "no street node lies 400-800 m outside the boundary (the streets layer does "
            "not extend that far): route directness "
            + ("uses the city centre only" if centre_xy is not None else "is NaN (no centre)")
        )
    dest_xy = graph.node_xy[ring]
    if centre_xy is not None:
        dest_xy = np.vstack([dest_xy, centre_xy[None, :]])
    home_xy = shapely.get_coordinates(homes.geometry.to_numpy())
    straight = np.hypot(
        home_xy[:, None, 0] - dest_xy[None, :, 0], home_xy[:, None, 1] - dest_xy[None, :, 1]
    )
    return _Access(
        graph=graph,
        homes=homes,
        weight=homes["dwellings"].to_numpy(dtype=float),
        along=snapped.along_m[snapped.valid],
        offset=snapped.offset_m[snapped.valid],
        rest=graph.edge_length_m[edge] - snapped.along_m[snapped.valid],
        edge=edge,
        cols=cols,
        iu=inverse[:h],
        iv=inverse[h:],
        ring=ring,
        centre=centre_xy,
        centre_arcs=centre_arcs,
        straight=straight,
        cap=float(cfg["directness_cap"]),
    )


def _reach(access: _Access, radius_m: float, *, block: int = 256) -> np.ndarray:
    """Street length (metres) reachable within ``radius_m`` of walking from each home."""
    graph = access.graph
    h = len(access.homes)
    out = np.zeros(h)
    length = graph.edge_length_m
    for lo in range(0, h, block):  # blocks of homes bound the (homes x edges) memory
        rows = np.arange(lo, min(lo + block, h))
        ends, inverse = np.unique(
            np.concatenate([access.cols[access.iu[rows]], access.cols[access.iv[rows]]]),
            return_inverse=True,
        )
        table = graph.distances(ends, limit_m=radius_m)
        k = len(rows)
        du = table[inverse[:k]] + (access.along[rows] + access.offset[rows])[:, None]
        dv = table[inverse[k:]] + (access.rest[rows] + access.offset[rows])[:, None]
        dist = np.minimum(du, dv)  # home -> node
        a = dist[:, graph.edge_u]
        b = dist[:, graph.edge_v]
        covered = np.minimum(
            length[None, :], np.maximum(0.0, radius_m - a) + np.maximum(0.0, radius_m - b)
        )
        # The home's own edge: walk both ways from the snapped point.
        left = radius_m - access.offset[rows]
        covered[np.arange(k), access.edge[rows]] = np.clip(left, 0, access.along[rows]) + np.clip(
            left, 0, access.rest[rows]
        )
        out[rows] = covered.sum(axis=1)
    return out


def home_access(
    district: District,
    *,
    centre: Sequence[float] | None = None,
    graph: StreetGraph | None = None,
) -> gpd.GeoDataFrame:
    """Pedestrian access of every home (building with dwellings) inside the boundary.

    Parameters
    ----------
    district
        The district; homes are buildings with ``dwellings > 0`` whose
        representative point lies inside the boundary.
    centre
        City centre ``(x, y)`` in the district CRS.  Default: the district settings'
        ``centre_xy`` (Odense Rådhus for the embedded Vollsmose; a ``place=city|town``
        node for OpenStreetMap imports), else none (centre columns NaN, with one
        warning).
    graph
        Walk graph to use (default: :func:`vollsmose_gis.network.walk_graph`).

    Returns
    -------
    GeoDataFrame
        One row per home: ``building_id``, ``dwellings``, ``directness_ring`` (mean
        network/straight distance ratio to the ring destinations), ``directness_centre``,
        ``route_directness`` (mean of the two; ring only without a centre),
        ``distance_to_centre_m`` and ``reach_800m`` (metres of street within the
        reach radius), point geometry (the representative point of the building).

    Notes
    -----
    Network distances include the straight access leg from the home to its nearest
    walkable street.  Ring destinations: graph nodes 400-800 m outside the boundary,
    one per angular sector (``ring_sectors``), in the graph's largest component.  A
    centre beyond the modelled streets is reached by leaving through any street node
    outside the boundary and continuing in a straight line - so a new way out in the
    right direction shortens the route, as it should.  Ratios above
    ``directness_cap`` (and unreachable pairs) count as the cap.
    """
    graph = graph if graph is not None else walk_graph(district)
    access = _access(district, graph, centre)
    table = access.tables(graph.csr)
    distance = access.home_distances(table[:, access.cols])
    values = access.per_home(distance)
    radius = float(_config("indicators")["reach_radius_m"])
    out = access.homes.copy()
    for key in ("directness_ring", "directness_centre", "route_directness", "distance_to_centre_m"):
        out[key] = values[key]
    out["reach_800m"] = _reach(access, radius)
    return out


# --------------------------------------------------------------------------- centrality


def centralities(
    source: District | StreetGraph,
    *,
    mode: str = "walk",
    radii: Sequence[float] | None = None,
    include_global: bool = True,
    normalized: bool = True,
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Betweenness and harmonic closeness of a street graph, global and local.

    Parameters
    ----------
    source
        A District (its cached ``mode`` graph is used) or a :class:`StreetGraph`.
    mode
        ``"walk"`` or ``"drive"`` when ``source`` is a District.
    radii
        Network radii in metres of the local variants (default ``[400, 800, 1600]``
        from ``standards/connectivity.yaml``); ``[]`` for global only.
    include_global
        Compute the global (unlimited radius) measures too.
    normalized
        Normalise betweenness as networkx does (see Notes).
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    nodes, edges
        The graph's node and edge GeoDataFrames with added columns ``betweenness``,
        ``harmonic_closeness`` (nodes) and ``betweenness`` (edges), and
        ``<metric>_<radius>`` for each radius (e.g. ``betweenness_800``).

    Notes
    -----
    Shortest paths by length (metres) on the simple graph
    (:attr:`StreetGraph.arcs`: parallel streets collapsed to the shortest, loops
    dropped).  The definitions, conventions and normalisation are networkx's:

    - node betweenness ``c_B(v) = sum_{s != v != t} sigma_st(v) / sigma_st`` (endpoints
      excluded), times ``2 / ((n-1)(n-2))`` on the undirected walk graph and
      ``1 / ((n-1)(n-2))`` on the directed drive graph when ``normalized``
      (:func:`networkx.betweenness_centrality`);
    - edge betweenness likewise with ``2 / (n (n-1))`` resp. ``1 / (n (n-1))``
      (:func:`networkx.edge_betweenness_centrality`); on the drive graph the two
      directions of a two-way street are added;
    - harmonic closeness ``H(v) = sum_{u != v} 1 / d(u, v)`` in 1/m, not normalised
      (:func:`networkx.harmonic_centrality`; on the drive graph ``d`` is from ``u`` *to*
      ``v``).

    Local variants count only shortest paths no longer than the radius (Sevtsuk &
    Mekonnen 2012, cityseer): ``betweenness_800`` counts pairs at most 800 m apart,
    with the same normalising factor as the global measure so values compare across
    radii.  Computed by the compiled engine of :mod:`vollsmose_gis.centrality` (numba,
    parallel over sources), several times faster than cityseer and igraph (see
    ``benchmarks/bench_centrality.py`` and BENCHMARKS.md).
    """
    graph = source if isinstance(source, StreetGraph) else build_graph(source, mode)
    if radii is None:
        radii = [float(r) for r in _config("indicators")["centrality_radii_m"]]
    for r in radii:
        if not (isinstance(r, int | float) and math.isfinite(r) and r > 0):
            raise InputError(f"radii must be positive numbers of metres, got {r!r}")
    steps: list[float | None] = [None, *radii] if include_global else list(radii)
    if not steps:
        return graph.nodes.copy(), graph.edges.copy()
    _report(progress, 0.0, "centralities (one search per source for every radius)")
    # the compiled engine (vollsmose_gis.centrality): one bounded search per source
    # accumulates every radius at once; equal to igraph/networkx to 1e-9 (its tests)
    nodes, edges = street_centralities(graph, steps, normalized=normalized)
    _report(progress, 1.0, "centralities done")
    return nodes, edges


def _radius_label(radius: float) -> str:
    return str(int(radius)) if float(radius).is_integer() else str(radius).replace(".", "p")


# --------------------------------------------------------------------------- indicators


_STRUCTURE = (
    "intersection_density_per_km2",
    "dead_end_share",
    "link_node_ratio",
    "meshedness",
    "boundary_crossings_per_km",
)
_ACCESS = ("route_directness", "reach_800m", "distance_to_centre_m")


def indicators(
    district: District,
    *,
    centre: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> dict[str, Indicator]:
    """Return the connectivity indicators of a district (theme "connected district").

    Parameters
    ----------
    district
        The district; measured inside its boundary.
    centre
        City centre ``(x, y)`` in the district CRS (default: the district settings'
        ``centre_xy``; see :func:`home_access`).
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    dict
        Street network (walking; see :func:`vollsmose_gis.network.street_graph`):
        ``intersection_density_per_km2``, ``dead_end_share``, ``link_node_ratio``,
        ``meshedness``, ``boundary_crossings_per_km`` (see :func:`network_structure`);
        homes on the walk graph: ``route_directness`` (dwelling-weighted mean network
        / straight distance; 1 is perfectly direct), ``reach_800m``
        (dwelling-weighted metres of street within 800 m walk) and
        ``distance_to_centre_m`` (see :func:`home_access`).  Car network: the five
        structure indicators prefixed ``drive_``.  Formulas:
        ``standards/indicators/connectivity.yaml`` (``docs/indicators.md``).

    Raises
    ------
    NoStreetsError
        The streets layer is empty or has no walkable street.

    Notes
    -----
    Undefined values are NaN with a ``reason`` and one :class:`ConnectivityWarning`
    each: a boundary with no node inside; no dwellings inside (access indicators); no
    city centre (distance to centre); no car street (``drive_*``); streets that end at
    the boundary (``boundary_crossings_per_km``, see :func:`has_context`).
    """
    result, _ = _indicators_and_homes(district, centre=centre, progress=progress)
    return result


def _structure_indicators(
    graph: StreetGraph | None, district: District, context: bool, prefix: str, what: str
) -> dict[str, Indicator]:
    """The five structure indicators of one graph, NaN with a reason where undefined."""
    reasons = dict.fromkeys(_STRUCTURE, "")
    if graph is None:
        values = dict.fromkeys(_STRUCTURE, math.nan)
        reasons = dict.fromkeys(_STRUCTURE, f"district {district.name!r} has no {what}")
    else:
        values = network_structure(graph, district.boundary)
        if values["nodes"] == 0:
            reasons = dict.fromkeys(
                _STRUCTURE, f"the boundary contains no node of the {what} (wrong CRS?)"
            )
        if not context:
            values["boundary_crossings_per_km"] = math.nan
            reasons["boundary_crossings_per_km"] = NO_CONTEXT_REASON.format(
                name=district.name, min_context=float(_config("indicators")["min_context_m"])
            )
    return {
        f"{prefix}{key}": indicator(f"{prefix}{key}", float(values[key]), reason=reasons[key])
        for key in _STRUCTURE
    }


def _indicators_and_homes(
    district: District,
    *,
    centre: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Indicator], gpd.GeoDataFrame]:
    """The indicators and the per-home table they come from (each warning once)."""
    _report(progress, 0.0, "walk graph")
    walk = walk_graph(district)
    context = has_context(walk, district.boundary, district)
    if not context:
        _warn(
            NO_CONTEXT_REASON.format(
                name=district.name, min_context=float(_config("indicators")["min_context_m"])
            )
        )
    result = _structure_indicators(
        street_graph(district), district, context, "", "street network (walking)"
    )
    _report(progress, 0.2, "home access")
    values = dict.fromkeys(_ACCESS, math.nan)
    reasons = dict.fromkeys(_ACCESS, "")
    homes = home_access(district, centre=centre, graph=walk)
    if len(homes):
        w = homes["dwellings"].to_numpy(dtype=float)
        for key in _ACCESS:
            column = homes[key].to_numpy(dtype=float)
            ok = np.isfinite(column)
            if ok.any():
                values[key] = float(np.average(column[ok], weights=w[ok]))
        if not np.isfinite(values["distance_to_centre_m"]):
            reasons["distance_to_centre_m"] = (
                NO_CENTRE_REASON.format(name=district.name)
                if _resolve_centre(district, centre, quiet=True) is None
                else "the route to the city centre cannot be modelled (no street node "
                "outside the boundary)"
            )
        if not np.isfinite(values["route_directness"]):
            reasons["route_directness"] = (
                "no destination: no street node lies 400-800 m outside the boundary and "
                "there is no city centre"
            )
    else:
        message = (
            f"no building with dwellings lies inside the boundary of {district.name!r} and "
            "near a walkable street: route directness, reach and distance to centre are NaN"
        )
        _warn(message)
        reasons = dict.fromkeys(_ACCESS, message)
    for key in _ACCESS:
        result[key] = indicator(key, values[key], reason=reasons[key])
    _report(progress, 0.8, "drive graph")
    try:
        drive: StreetGraph | None = build_graph(district, "drive")
    except NoStreetsError:
        _warn(f"district {district.name!r} has no street open to cars: drive_* indicators are NaN")
        drive = None
    result.update(_structure_indicators(drive, district, context, "drive_", "street open to cars"))
    _report(progress, 1.0, "connectivity done")
    return result, homes


# --------------------------------------------------------------------------- optimiser


def _blocking_geometries(district: District) -> np.ndarray:
    blocking = set(_config("optimiser")["blocking_landuse"])
    landuse = district.landuse
    water = landuse.geometry.to_numpy()[landuse["use"].astype(str).isin(blocking).to_numpy()]
    return np.concatenate([district.buildings.geometry.to_numpy(), water])


def _candidates(
    district: District,
    graph: StreetGraph,
    access: _Access,
    table: np.ndarray,
    max_length_m: float,
) -> tuple[StreetGraph, pd.DataFrame]:
    """Candidate straight links for the optimiser.

    Returns the graph with the mid-street link ends inserted as nodes, and the
    candidates: ``a``, ``b`` (node ids in that graph), ``length_m``, ``start_kind``,
    ``to_street_id`` (street reached mid-way, else None) and ``geometry``.
    """
    cfg = _config("optimiser")
    columns = ["a", "b", "length_m", "start_kind", "to_street_id", "geometry"]
    xy = graph.node_xy
    n = graph.n_nodes
    inside = shapely.covers(district.boundary, graph.nodes.geometry.to_numpy())
    degree = graph.nodes["degree"].to_numpy()
    dead = (degree == 1) & inside
    poor = np.zeros(n, dtype=bool)
    n_ring = len(access.ring)
    if n_ring and inside.any():
        straight = np.hypot(
            xy[None, :, 0] - xy[access.ring][:, None, 0],
            xy[None, :, 1] - xy[access.ring][:, None, 1],
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.minimum(
                np.nan_to_num(table[:n_ring] / straight, nan=access.cap, posinf=access.cap),
                access.cap,
            )
        node_directness = ratio.mean(axis=0)
        threshold = np.quantile(node_directness[inside], float(cfg["poor_directness_quantile"]))
        poor = inside & (node_directness >= threshold) & (degree != 2)
    starts = np.flatnonzero(dead | poor)
    if not len(starts):
        return graph, pd.DataFrame(columns=columns)
    # Targets: other nodes, and the nearest point of every other street piece in reach.
    near = cKDTree(xy).query_ball_point(xy[starts], r=max_length_m)
    node_a = np.concatenate([np.full(len(t), s) for s, t in zip(starts, near, strict=True)])
    node_b = np.concatenate([np.asarray(t, dtype=np.int64) for t in near])
    node_b = node_b.astype(np.int64)
    keep = node_a != node_b
    node_a, node_b = node_a[keep], node_b[keep]
    lines = graph.edges.geometry.to_numpy()
    start_pts = graph.nodes.geometry.to_numpy()[starts]
    s_i, e_i = shapely.STRtree(lines).query(start_pts, predicate="dwithin", distance=max_length_m)
    own = (graph.edge_u[e_i] == starts[s_i]) | (graph.edge_v[e_i] == starts[s_i])
    s_i, e_i = s_i[~own], e_i[~own]
    foot = shapely.line_interpolate_point(
        lines[e_i], shapely.line_locate_point(lines[e_i], start_pts[s_i])
    )
    foot_xy = shapely.get_coordinates(foot)
    ends_xy = np.concatenate([xy[graph.edge_u[e_i]], xy[graph.edge_v[e_i]]], axis=1)
    mid = (np.hypot(*(foot_xy - ends_xy[:, :2]).T) > 1.0) & (
        np.hypot(*(foot_xy - ends_xy[:, 2:]).T) > 1.0
    )
    s_i, e_i, foot = s_i[mid], e_i[mid], foot[mid]
    split_graph, foot_node = graph.split_edges(foot)
    street_of_foot = graph.edges["street_id"].to_numpy()[e_i]
    frame = pd.DataFrame(
        {
            "a": np.concatenate([node_a, starts[s_i]]),
            "b": np.concatenate([node_b, foot_node]),
            "to_street_id": np.concatenate([np.full(len(node_a), None), street_of_foot]),
        }
    )
    graph = split_graph
    xy = graph.node_xy
    a, b = frame["a"].to_numpy(), frame["b"].to_numpy()
    frame["length_m"] = np.hypot(*(xy[a] - xy[b]).T)
    frame = frame[(frame["length_m"] <= max_length_m) & (frame["length_m"] > 0)]
    # Skip pairs the network already joins nearly directly.
    a, b = frame["a"].to_numpy(), frame["b"].to_numpy()
    ratio = float(cfg["min_detour_ratio"])
    unique_a, inv = np.unique(a, return_inverse=True)
    network_ab = graph.distances(unique_a, limit_m=ratio * max_length_m)[inv, b]
    frame = frame[network_ab > ratio * frame["length_m"].to_numpy()]
    frame = frame.sort_values(["a", "length_m", "b"], kind="stable")
    lo = np.minimum(frame["a"], frame["b"]).to_numpy()
    hi = np.maximum(frame["a"], frame["b"]).to_numpy()
    frame = frame.assign(lo=lo, hi=hi).drop_duplicates(["lo", "hi"])
    a, b = frame["a"].to_numpy(), frame["b"].to_numpy()
    segments = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1))
    ok = np.ones(len(frame), dtype=bool)
    blocking = _blocking_geometries(district)
    if len(blocking) and len(segments):
        seg_i, block_i = shapely.STRtree(blocking).query(segments, predicate="intersects")
        crosses = shapely.relate_pattern(segments[seg_i], blocking[block_i], "T********")
        ok[seg_i[crosses]] = False
    if len(segments):
        clearance = float(cfg["min_clearance_m"])
        seg_i, node_i = shapely.STRtree(graph.nodes.geometry.to_numpy()).query(
            segments, predicate="dwithin", distance=clearance
        )
        grazes = (node_i != a[seg_i]) & (node_i != b[seg_i])
        ok[seg_i[grazes]] = False
    frame = frame[ok].copy()
    frame["geometry"] = segments[ok]
    frame = frame.groupby("a", sort=False).head(int(cfg["targets_per_node"]))
    frame["start_kind"] = np.where(dead[frame["a"].to_numpy()], "dead_end", "poorly_connected")
    frame["length_m"] = np.maximum(np.round(frame["length_m"].to_numpy() * 1024) / 1024, 1 / 1024)
    return graph, frame[columns].reset_index(drop=True)


def _given_candidates(
    district: District, graph: StreetGraph, links: gpd.GeoSeries | gpd.GeoDataFrame
) -> tuple[StreetGraph, pd.DataFrame]:
    """Attach user-proposed links to the graph (see ``candidates`` of suggest_links)."""
    if isinstance(links, gpd.GeoDataFrame):
        links = links.geometry
    if links.crs is not None and not links.crs.equals(district.crs):
        links = links.to_crs(district.crs)
    geoms = links.to_numpy()
    bad = np.flatnonzero((shapely.get_type_id(geoms) != 1) | shapely.is_empty(geoms))
    if len(bad):
        raise InputError(
            f"candidate link at position {int(bad[0])} is not a LineString: proposed links "
            "must be single lines"
        )
    tolerance = float(_config("optimiser")["link_end_tolerance_m"])
    ends = np.concatenate([shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)])
    graph, node = graph.split_edges(ends, max_distance_m=tolerance)
    m = len(geoms)
    if (node < 0).any():
        first = int(np.flatnonzero(node < 0)[0] % m)
        raise InputError(
            f"candidate link at position {first} does not end within {tolerance} m of a "
            "walkable street: draw its ends on the streets it joins"
        )
    frame = pd.DataFrame(
        {
            "a": node[:m],
            "b": node[m:],
            "length_m": np.maximum(np.round(shapely.length(geoms) * 1024) / 1024, 1 / 1024),
            "start_kind": "proposed",
            "to_street_id": None,
            "geometry": geoms,
        }
    )
    return graph, frame[frame["a"] != frame["b"]].reset_index(drop=True)


_LINK_CHUNK_BYTES = 2**19
"""Size (bytes) of the largest array of one batch of candidate links: small enough
for the processor's cache, large enough to spread numpy's per-call overhead."""


def _link_chunk(access: _Access, n_columns: int) -> int:
    """Candidates per batch of :func:`_objectives_with_link` (bounded memory)."""
    per_candidate = 8 * max(n_columns, 1) * max(len(access.cols), len(access.homes), 1)
    return max(1, _LINK_CHUNK_BYTES // per_candidate)


def _via_link(
    table_cols_t: np.ndarray,
    from_a: np.ndarray,
    from_b: np.ndarray,
    ends_a: np.ndarray,
    ends_b: np.ndarray,
    nodes: np.ndarray,
) -> np.ndarray:
    """Distance (metres) from destinations to ``nodes`` with a candidate link in place.

    (B, N, J) ``min(table, from_a + d(b, node), from_b + d(a, node))`` at ``nodes``
    (positions in ``access.cols``): see :func:`_objectives_with_link`.
    """
    out = np.add(from_a[:, None, :], ends_b[:, nodes, None])
    np.minimum(table_cols_t[None, nodes], out, out=out)
    np.minimum(out, np.add(from_b[:, None, :], ends_a[:, nodes, None]), out=out)
    return out


def _objectives_with_link(
    access: _Access,
    objective: str,
    table_cols_t: np.ndarray,
    from_a: np.ndarray,
    from_b: np.ndarray,
    ends_a: np.ndarray,
    ends_b: np.ndarray,
) -> np.ndarray:
    """The objective with each of a batch of B candidate links added alone.

    The same floating-point operations as ``access.objective(access.home_distances(
    new), objective)`` for each candidate's ``new = min(table_cols, d(dest, a) + w +
    d(b, x), d(dest, b) + w + d(a, x))``, so the results are bit-identical:
    element-wise steps give the same values whatever the array layout, and each sum
    runs over the last axis of a C-ordered array, as the per-candidate code's sums do
    (numpy's pairwise summation there; its (H, J) tables are C-ordered too).

    Parameters
    ----------
    access
        Homes and destinations.
    objective
        One of :data:`OBJECTIVES`.
    table_cols_t
        (C, J) network distance (metres) from the J destinations the objective reads
        (every destination, or the centre alone for ``distance_to_centre_m``) to the
        nodes ``access.cols``, with the links chosen so far.
    from_a, from_b
        (B, J) distance (metres) from those destinations to each link's end ``a``
        (``b``), plus the link's length.
    ends_a, ends_b
        (B, C) distance (metres) from each link's end ``a`` (``b``) to the nodes
        ``access.cols``.

    Returns
    -------
    numpy.ndarray
        (B,) the objective (NaN where no home has a finite value).
    """
    # (B, H, J): homes, as _Access.home_distances; each home's two nodes taken
    # first, as the element-wise steps do not mind
    distance = _via_link(table_cols_t, from_a, from_b, ends_a, ends_b, access.iu)
    distance += access.along[None, :, None]
    via_v = _via_link(table_cols_t, from_a, from_b, ends_a, ends_b, access.iv)
    via_v += access.rest[None, :, None]
    np.minimum(distance, via_v, out=distance)
    distance += access.offset[None, :, None]
    n_ring = len(access.ring)
    if objective == "distance_to_centre_m":
        values = distance[:, :, 0]
    else:
        # as _Access.per_home
        straight = access.straight[None, :, :]
        ratio = distance
        if (access.straight > 0).all():
            # fmin(r, cap) is cap for NaN and inf, as nan_to_num then minimum (distances
            # are never negative, so nan_to_num's -inf case cannot arise)
            np.divide(ratio, straight, out=ratio)
            np.fmin(ratio, access.cap, out=ratio)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(straight > 0, ratio / straight, 1.0)
            ratio = np.nan_to_num(ratio, nan=access.cap, posinf=access.cap)
            ratio = np.ascontiguousarray(np.minimum(ratio, access.cap))
        ring = ratio[:, :, :n_ring].mean(axis=2) if n_ring else None
        if access.centre is not None:
            # np.mean of the two: their sum (order irrelevant for two terms) over 2
            values = ratio[:, :, n_ring] if ring is None else (ratio[:, :, n_ring] + ring) / 2
        elif ring is not None:
            values = ring
        else:
            values = np.full(distance.shape[:2], np.nan)
    values = np.ascontiguousarray(values)
    finite = np.isfinite(values)
    weight = access.weight
    out = np.multiply(values, weight[None, :]).sum(axis=1) / weight.sum()
    # Rows with a non-finite value average over the finite homes only, one by one.
    for row in np.flatnonzero(~finite.all(axis=1)):
        keep = finite[row]
        out[row] = np.average(values[row][keep], weights=weight[keep]) if keep.any() else math.nan
    return out


MAX_LINKS: int = int(load("connectivity")["optimiser"]["max_links"])
"""Largest ``k`` :func:`suggest_links` accepts (``optimiser.max_links``)."""


class LinkPlan(Plan):
    """The :class:`~vollsmose_gis.analysis.Plan` of :func:`suggest_links`.

    ``added`` is the links table.  Code written when :func:`suggest_links` returned
    that GeoDataFrame keeps working: columns, methods and ``len`` are the links
    table's, and :attr:`attrs` holds the keys it carried (``objective``,
    ``objective_before``, ``candidates_evaluated``).
    """

    @property
    def links(self) -> gpd.GeoDataFrame:
        """The chosen links (the same table as ``added``)."""
        return self.added

    @property
    def attrs(self) -> dict[str, Any]:
        """The summary, under the keys the links GeoDataFrame's ``attrs`` carried."""
        return dict(self.summary)

    def __getattr__(self, name: str) -> Any:
        if (name.startswith("__") and name != "__geo_interface__") or name in Plan.__annotations__:
            raise AttributeError(name)
        return getattr(self.added, name)

    def __getitem__(self, key: Any) -> Any:
        return self.added[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.added

    def __iter__(self) -> Any:
        return iter(self.added)

    def __repr__(self) -> str:
        return (
            f"LinkPlan({len(self.added)} links, {self.summary.get('length_m', 0.0):,.0f} m, "
            f"{self.cost_dkk:,.0f} DKK; {self.summary.get('stopped', '')})"
        )


def suggest_links(  # noqa: C901 - waiver: argument checks and the optimiser's stop reasons; split with the engine of issue 20
    district: District,
    *,
    max_length_m: float | None = None,
    budget_m: float | None = None,
    objective: str = "route_directness",
    k: int = 10,
    centre: Sequence[float] | None = None,
    candidates: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> LinkPlan:
    """Suggest new pedestrian links that best open the district up.

    Parameters
    ----------
    district
        The district (walk graph; homes inside the boundary).
    max_length_m
        Longest link considered, metres (default 150, ``standards/connectivity.yaml``).
    budget_m
        Total length of new links allowed, metres (default: no limit, only ``k``).
    objective
        ``"route_directness"`` (dwelling-weighted mean network / straight distance
        from homes, see :func:`home_access`) or ``"distance_to_centre_m"``; both are
        minimised.
    k
        Largest number of links to return, 1 to :data:`MAX_LINKS` (50,
        ``optimiser.max_links``).  Fewer are returned when the budget, the candidates
        or the gains run out: ``summary["stopped"]`` and ``unmet`` say which.
    centre
        City centre ``(x, y)`` in the district CRS (default: see :func:`home_access`).
    candidates
        Evaluate these proposed links (LineStrings in the district CRS, e.g. the links
        of a development plan) instead of generating candidates.  Each end is attached
        to the nearest walkable street within ``link_end_tolerance_m`` (standards);
        the link's length is its geometry's length.  ``max_length_m`` does not apply.
    progress
        Optional callback ``(fraction done, message)``.

    Returns
    -------
    LinkPlan
        A :class:`~vollsmose_gis.analysis.Plan`: ``district`` with the links added as
        streets, ``added`` the chosen links in order of selection (``rank`` 1 first)
        with the columns of the streets layer (``street_id`` from
        :func:`~vollsmose_gis.analysis.new_ids` (``new-link-001``…), ``highway`` from
        the standards, ``walk``/``bike`` true, ``car`` false), plus ``length_m``,
        ``cost_dkk``, ``from_node`` and ``to_node`` (node ids of the walk graph;
        ``to_node`` is -1 when the link ends in the middle of street
        ``to_street_id``), ``start_kind`` (``proposed`` for given candidates, else
        ``dead_end`` or ``poorly_connected``), ``crosses_boundary``, ``gain``
        (decrease of the objective when added after the links ranked before it),
        ``gain_alone`` (its decrease when added alone) and ``objective_after``;
        ``cost_dkk`` the links' length × the unit cost per metre of a new path
        (``standards/unit_costs.yaml``); ``summary`` with ``objective``,
        ``objective_before``, ``objective_after``, ``candidates_evaluated``, ``k``
        and ``stopped`` (why the selection ended); ``unmet`` one line when fewer than
        ``k`` links were found.  For older callers it also reads like the links
        GeoDataFrame (``plan["gain"]``, ``plan.geometry``, ``len(plan)``,
        ``plan.attrs["objective_before"]``).

    Raises
    ------
    InputError
        Bad parameters, or no home inside the boundary to optimise for.

    Notes
    -----
    Candidates join dead ends and poorly connected nodes inside the boundary (route
    directness to the ring destinations in the worse half) to the nearest other
    nodes, or to the nearest point of other streets (a new T-junction), inside or
    outside, within ``max_length_m`` along straight segments that do
    not cross a building or open water (land use ``water``; a ``wetland`` may carry a
    path on a boardwalk, as the Vollsmose plan proposes across the bog), do not pass
    within ``min_clearance_m`` of another node, and join nodes the network does not
    already link nearly directly.  A link crossing an existing street is evaluated
    without a junction there (conservative: a junction can only add gain).

    Each candidate's gain is exact for a single new edge ``(a, b)`` of length ``w``:
    ``d'(s, x) = min(d(s, x), d(s, a) + w + d(b, x), d(s, b) + w + d(a, x))``, from
    one Dijkstra search per candidate end.  Selection is greedy: the largest gain that
    fits the remaining budget, then all gains are re-evaluated with it in place,
    until ``k`` links, the budget or no positive gain.
    """
    cfg = _config("optimiser")
    max_length_m = float(cfg["max_length_m"] if max_length_m is None else max_length_m)
    if not (math.isfinite(max_length_m) and max_length_m > 0):
        raise InputError(f"max_length_m must be a positive number of metres, got {max_length_m!r}")
    if budget_m is not None and not (math.isfinite(budget_m) and budget_m > 0):
        raise InputError(f"budget_m must be a positive number of metres, got {budget_m!r}")
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    if isinstance(k, bool) or not (isinstance(k, int | np.integer) and 1 <= k <= MAX_LINKS):
        raise InputError(
            f"k must be a whole number of links from 1 to {MAX_LINKS} (optimiser.max_links "
            f"in standards/connectivity.yaml), got {k!r}: every link is chosen after "
            "re-evaluating all candidates, and a longer list is not a suggestion to review"
        )
    k = int(k)
    _report(progress, 0.0, "walk graph")
    graph = walk_graph(district)
    access = _access(district, graph, centre)
    if not len(access.homes):
        raise InputError(
            f"district {district.name!r} has no building with dwellings inside its boundary "
            "near a walkable street: there is no home whose access links could improve"
        )
    if objective == "distance_to_centre_m" and access.centre is None:
        raise InputError("objective 'distance_to_centre_m' needs a city centre: pass centre=(x, y)")
    table = access.tables(graph.csr)
    _report(progress, 0.05, "candidate links")
    n_original = graph.n_nodes
    if candidates is None:
        graph, candidates = _candidates(district, graph, access, table, max_length_m)
    else:
        graph, candidates = _given_candidates(district, graph, candidates)
    # Re-snap homes to the graph with the link ends inserted (distances unchanged).
    access = _access(district, graph, centre, ring=access.ring, quiet=True)
    table = access.tables(graph.csr)
    before = access.objective(access.home_distances(table[:, access.cols]), objective)
    n_candidates = len(candidates)
    logger.info("suggest_links: %d candidate links", n_candidates)

    remaining = np.ones(n_candidates, dtype=bool)
    budget_left = math.inf if budget_m is None else float(budget_m)
    extra_src: list[int] = []
    extra_dst: list[int] = []
    extra_w: list[float] = []
    chosen: list[dict[str, Any]] = []
    gain_alone = np.full(n_candidates, np.nan)
    current = before
    a_all = candidates["a"].to_numpy(dtype=np.int64) if n_candidates else np.empty(0, np.int64)
    b_all = candidates["b"].to_numpy(dtype=np.int64) if n_candidates else np.empty(0, np.int64)
    w_all = candidates["length_m"].to_numpy(dtype=float) if n_candidates else np.empty(0)
    csr = graph.csr
    # destinations the objective reads (the centre's distance, or every directness)
    objective_rows = (
        np.array([len(access.ring)])
        if objective == "distance_to_centre_m"
        else np.arange(access.n_dest)
    )
    step = _link_chunk(access, len(objective_rows))
    stopped = f"k = {k} links reached"
    for round_ in range(k):
        live = np.flatnonzero(remaining & (w_all <= budget_left + 1e-9))
        if not len(live):
            if not n_candidates:
                stopped = (
                    "no candidate link: no dead end or poorly connected node has a target "
                    f"within {max_length_m:g} m that clears buildings, water and other nodes"
                )
            elif remaining.any():
                stopped = (
                    f"the budget is spent: {budget_left:.0f} m left, shorter than every "
                    "remaining candidate"
                )
            else:
                stopped = f"all {n_candidates} candidate links are chosen"
            break
        ends = np.unique(np.concatenate([a_all[live], b_all[live]]))
        from_ends = csgraph.dijkstra(csr, directed=True, indices=ends)
        # (nodes, destinations) layout, and the destinations the objective reads
        table_read = table[objective_rows]
        table_cols_t = np.ascontiguousarray(table_read[:, access.cols].T)
        ends_cols = from_ends[:, access.cols]
        ia_all = np.searchsorted(ends, a_all[live])
        ib_all = np.searchsorted(ends, b_all[live])
        gains = np.full(n_candidates, -np.inf)
        for lo in range(0, len(live), step):
            _report(
                progress,
                0.05 + 0.95 * (round_ + lo / len(live)) / k,
                f"link {round_ + 1}/{k}: candidate {lo + 1}/{len(live)}",
            )
            part = slice(lo, lo + step)
            c = live[part]
            length = w_all[c][:, None]
            gains[c] = current - _objectives_with_link(
                access,
                objective,
                table_cols_t,
                np.ascontiguousarray(table_read[:, a_all[c]].T) + length,
                np.ascontiguousarray(table_read[:, b_all[c]].T) + length,
                ends_cols[ia_all[part]],
                ends_cols[ib_all[part]],
            )
        if round_ == 0:
            gain_alone = np.where(np.isfinite(gains), gains, np.nan)
        best = int(np.argmax(gains))
        if not (gains[best] > 1e-12):
            stopped = (
                f"no remaining candidate ({len(live)} evaluated) shortens {objective} "
                "with the links chosen before it in place"
            )
            break
        a, b, w = a_all[best], b_all[best], w_all[best]
        ia, ib = np.searchsorted(ends, a), np.searchsorted(ends, b)
        table = np.minimum(table, table[:, a][:, None] + w + from_ends[ib][None, :])
        table = np.minimum(table, table[:, b][:, None] + w + from_ends[ia][None, :])
        current = current - float(gains[best])
        remaining[best] = False
        budget_left -= w
        extra_src += [int(a), int(b)]
        extra_dst += [int(b), int(a)]
        extra_w += [float(w), float(w)]
        csr = _with_arcs(graph.csr, extra_src, extra_dst, extra_w)
        chosen.append({"candidate": best, "gain": float(gains[best]), "objective_after": current})
    _report(progress, 1.0, "links chosen")
    frame = _links_frame(district, graph, n_original, candidates, chosen, gain_alone)
    summary = {
        "objective": objective,
        "objective_before": before,
        "objective_after": current,
        "candidates_evaluated": n_candidates,
        "k": k,
        "links": len(frame),
        "length_m": float(frame["length_m"].sum()),
        "stopped": stopped,
    }
    unmet = [] if len(frame) == k else [f"{len(frame)} of {k} links: {stopped}"]
    return LinkPlan(
        add_links(district, frame) if len(frame) else district,
        frame,
        float(frame["cost_dkk"].sum()),
        unmet,
        summary,
        "streets",
    )


def add_links(district: District, links: gpd.GeoDataFrame) -> District:
    """Return the district with links (e.g. from :func:`suggest_links`) added as streets.

    Only the columns of the streets layer are kept; missing ones take the schema
    defaults.  The new streets are noded into the network when a graph is built.
    """
    if links.empty:
        return district
    if links.crs is not None and not links.crs.equals(district.crs):
        links = links.to_crs(district.crs)
    columns = [c for c in district.streets.columns if c in links.columns]
    new = links[columns].dropna(axis=1, how="all")
    streets = pd.concat([district.streets, new], ignore_index=True)
    return district.replace(
        streets=gpd.GeoDataFrame(streets, geometry="geometry", crs=district.crs)
    )


def _with_arcs(
    csr: sparse.csr_matrix, src: list[int], dst: list[int], w: list[float]
) -> sparse.csr_matrix:
    coo = csr.tocoo()
    s = np.concatenate([coo.row, src])
    t = np.concatenate([coo.col, dst])
    weight = np.concatenate([coo.data, w])
    # the shortest arc of each (s, t): first after sorting by s, t, weight
    order = np.lexsort((weight, t, s))
    s, t, weight = s[order], t[order], weight[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    return sparse.csr_matrix((weight[first], (s[first], t[first])), shape=csr.shape)


def _links_frame(
    district: District,
    graph: StreetGraph,
    n_original: int,
    candidates: pd.DataFrame,
    chosen: list[dict[str, Any]],
    gain_alone: np.ndarray,
) -> gpd.GeoDataFrame:
    highway = str(_config("optimiser")["new_link_highway"])
    costs = load("unit_costs")["street_m"]
    cost_per_m = float(costs.get(highway, costs["default"]))
    ids = new_ids("link", len(chosen), district.streets["street_id"].astype(str))
    rows = []
    inside = shapely.covers(district.boundary, graph.nodes.geometry.to_numpy())
    for rank, pick in enumerate(chosen, start=1):
        c = candidates.iloc[pick["candidate"]]
        a, b = int(c["a"]), int(c["b"])
        rows.append(
            {
                "rank": rank,
                "street_id": ids[rank - 1],
                "name": None,
                "highway": highway,
                "car": False,
                "walk": True,
                "bike": True,
                "length_m": float(c["length_m"]),
                "cost_dkk": float(c["length_m"]) * cost_per_m,
                "from_node": a,
                "to_node": b if b < n_original else -1,
                "to_street_id": c["to_street_id"],
                "start_kind": c["start_kind"],
                "crosses_boundary": bool(inside[a] != inside[b]),
                "gain": pick["gain"],
                "gain_alone": float(gain_alone[pick["candidate"]]),
                "objective_after": pick["objective_after"],
                "geometry": c["geometry"],
            }
        )
    columns = [
        "rank", "street_id", "name", "highway", "car", "walk", "bike", "length_m", "cost_dkk",
        "from_node", "to_node", "to_street_id", "start_kind", "crosses_boundary", "gain",
        "gain_alone", "objective_after", "geometry",
    ]  # fmt: skip
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry="geometry", crs=district.crs
    )


# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    centre: Sequence[float] | None = None,
    radii: Sequence[float] = (800,),
    mode: Mode = "walk",
    progress: Progress | None = None,
) -> ModuleResult:
    """The module's pipeline: indicators, centralities (walk or drive graph), home access."""
    from vollsmose_gis.angular import angular_analysis, angular_indicators

    values, homes = _indicators_and_homes(district, centre=centre, progress=progress)
    nodes, edges = centralities(district, mode=mode, radii=list(radii))
    layers = {"connectivity_nodes": nodes, "connectivity_edges": edges, "connectivity_homes": homes}
    # space syntax: angular integration (NAIN) and choice (NACH) of the segment map, and
    # how integrated the district is with its surroundings
    try:
        # one segment analysis serves the layer and the indicators
        segments = angular_analysis(street_graph(district), (800, 2000))
        layers["connectivity_segments"] = segments
        angular = angular_indicators(district, radii=(800, 2000), segments=segments)
    except NoStreetsError:
        angular = {}
    for key in ("nain_ratio_800", "nain_ratio_2000", "nach_ratio_2000"):
        value = float(angular.get(key, math.nan))
        reason = "" if math.isfinite(value) else "no street segments inside and around the boundary"
        values[key] = indicator(key, value, reason=reason)
    return ModuleResult(values, layers)


SPEC = AnalysisSpec(
    name="connectivity",
    themes=(THEME,),
    reads=("streets", "buildings", "landuse"),
    compute=_compute,
    parameters={"centre": None, "radii": (800,), "mode": "walk", "progress": None},
    summary="Street-network structure, boundary permeability, route directness and reach.",
)
"""The connectivity analysis (see :mod:`vollsmose_gis.analysis`)."""
