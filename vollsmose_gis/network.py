"""Routable walk and drive graphs built from a District's streets layer.

A :class:`StreetGraph` is built once per streets content (cached by
``District.fingerprint("streets")``) and shared by the analysis modules:

>>> g = walk_graph(district)                       # doctest: +SKIP
>>> snapped = g.snap(homes.geometry)               # homes -> nearest edge
>>> dist = g.point_distances(snapped, g.snap(pois.geometry), limit_m=800)

Building a graph from hand-drawn lines
--------------------------------------
Streets drawn by hand are rarely noded.  :func:`graph_from_streets` therefore

1. clusters line endpoints closer than ``snap_tolerance_m`` into one node;
2. snaps a dangling endpoint that lies within the tolerance of another street's
   interior onto that street and splits the street there (a near-miss T-junction);
3. splits streets at every true crossing, **except** streets flagged ``bridge`` or
   ``tunnel``: those are joined to the network only at their endpoints, so a
   footbridge is never connected to the road it passes over, and a street ending
   under a bridge is not snapped onto the bridge.

Edge lengths are the geometric lengths of the noded pieces, in metres of the district
CRS, rounded to a multiple of 1/1024 m (under 1 mm).  Sums of such numbers are exact in
binary floating point, so two routes of equal length tie exactly, whatever the order of
summation: betweenness (which counts tied shortest paths) is then the same in every
implementation (igraph, networkx, scipy).

The drive graph is directed: a street with ``oneway`` true can be driven only in the
direction its geometry is drawn (the OpenStreetMap convention).  The walk graph is
undirected; pedestrians ignore one-way rules.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import highway_defaults, load

if TYPE_CHECKING:
    import igraph
    import networkx as nx

    from vollsmose_gis.district import District

__all__ = [
    "MODES",
    "NoStreetsError",
    "SnappedPoints",
    "StreetGraph",
    "build_graph",
    "clear_graph_cache",
    "drive_graph",
    "graph_from_streets",
    "nearest_walkable_street",
    "sidewalk_mask",
    "street_graph",
    "walk_graph",
]

logger = logging.getLogger(__name__)

Mode = Literal["walk", "drive"]
MODES: tuple[str, ...] = ("walk", "drive")
"""Travel modes: ``walk`` (streets with ``walk`` true) and ``drive`` (``car`` true)."""

LENGTH_QUANTUM_M = 1.0 / 1024.0
"""Edge lengths are rounded to multiples of this (metres); see the module notes."""

_KEY_PRECISION_M = 1e-3  # coordinates closer than this are the same node


class NoStreetsError(InputError):
    """A district has no street usable by the requested travel mode."""


def _params() -> dict[str, Any]:
    params: dict[str, Any] = load("connectivity")["network"]
    return params


# --------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class SnappedPoints:
    """Points attached to their nearest graph edge (see :meth:`StreetGraph.snap`).

    All arrays have one entry per input point, in input order.  A point that could not
    be snapped (farther than ``max_distance_m``, or empty geometry) has ``edge == -1``
    and NaN distances.

    Attributes
    ----------
    edge
        Row position of the nearest edge in :attr:`StreetGraph.edges` (``-1``: none).
    u, v
        End nodes of that edge (the geometry runs from ``u`` to ``v``).
    along_m
        Distance along the edge from ``u`` to the snapped point, metres.
    offset_m
        Straight distance from the point to the edge (the access leg), metres.
    node
        The edge end nearer along the edge to the snapped point (``-1``: none).
    x, y
        The snapped point on the edge, district CRS.
    """

    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    along_m: np.ndarray
    offset_m: np.ndarray
    node: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the points that were snapped to an edge."""
        return np.asarray(self.edge >= 0)

    def to_frame(self) -> pd.DataFrame:
        """Return the snapping as a DataFrame (one row per input point)."""
        return pd.DataFrame(
            {
                "edge": self.edge,
                "u": self.u,
                "v": self.v,
                "along_m": self.along_m,
                "offset_m": self.offset_m,
                "node": self.node,
                "x": self.x,
                "y": self.y,
            }
        )


# --------------------------------------------------------------------------- graph


@dataclass(frozen=True, eq=False)
class StreetGraph:
    """A routable street graph (nodes, edges with geometry) for one travel mode.

    Build one with :func:`walk_graph`, :func:`drive_graph` or :func:`build_graph`
    (cached); do not mutate the frames of a cached graph, copy them first.

    Attributes
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    crs
        CRS of every coordinate and geometry (projected, metres).
    directed
        True for ``drive`` (one-way streets are respected), False for ``walk``.
    nodes
        GeoDataFrame indexed ``0..n-1`` (the node ids) with ``x``, ``y`` (district
        CRS, metres), ``degree`` (number of street ends meeting there, parallel edges
        and both ends of a loop counted; 1 = dead end, 3+ = intersection) and Point
        geometry.
    edges
        GeoDataFrame indexed ``0..m-1`` with ``u``, ``v`` (node ids; the geometry is
        drawn from ``u`` to ``v``), ``length_m`` (metres, see the module notes),
        ``street_id`` (of the street the piece was cut from), ``highway``, ``oneway``
        (drive graph: only ``u -> v`` may be travelled; always False for walk),
        ``bridge``, ``tunnel`` and LineString geometry.  One row per physical street
        piece, whatever the direction of travel.
    snap_tolerance_m
        The tolerance used when noding, metres.
    """

    mode: str
    crs: str
    directed: bool
    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    snap_tolerance_m: float

    # ---------------------------------------------------------------- basic arrays
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of edges (physical street pieces)."""
        return len(self.edges)

    @cached_property
    def node_xy(self) -> np.ndarray:
        """Node coordinates as a read-only ``(n, 2)`` array (district CRS, metres)."""
        return _readonly(self.nodes[["x", "y"]].to_numpy(dtype=float))

    @cached_property
    def edge_u(self) -> np.ndarray:
        """Start node of every edge (read-only int array)."""
        return _readonly(self.edges["u"].to_numpy(dtype=np.int64))

    @cached_property
    def edge_v(self) -> np.ndarray:
        """End node of every edge (read-only int array)."""
        return _readonly(self.edges["v"].to_numpy(dtype=np.int64))

    @cached_property
    def edge_length_m(self) -> np.ndarray:
        """Length of every edge in metres (read-only float array)."""
        return _readonly(self.edges["length_m"].to_numpy(dtype=float))

    @cached_property
    def edge_twoway(self) -> np.ndarray:
        """True where an edge can be travelled ``v -> u`` as well (read-only)."""
        if not self.directed:
            return _readonly(np.ones(self.n_edges, dtype=bool))
        return _readonly(~self.edges["oneway"].to_numpy(dtype=bool))

    @cached_property
    def _tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.edges.geometry.to_numpy())

    # ---------------------------------------------------------------- simple graph
    @cached_property
    def arcs(self) -> pd.DataFrame:
        """The simple graph used for routing and centralities.

        Self-loops are dropped and parallel edges are collapsed to the shortest one.
        For the undirected walk graph each node pair appears once with
        ``source < target``; for the drive graph each allowed direction is one arc.

        Returns
        -------
        DataFrame
            Columns ``source``, ``target`` (node ids), ``length_m`` (metres) and
            ``edge`` (the row of :attr:`edges` the arc comes from).
        """
        u, v, length = self.edge_u, self.edge_v, self.edge_length_m
        edge = np.arange(self.n_edges)
        if self.directed:
            back = self.edge_twoway
            src = np.concatenate([u, v[back]])
            dst = np.concatenate([v, u[back]])
            length = np.concatenate([length, length[back]])
            edge = np.concatenate([edge, edge[back]])
        else:
            src, dst = np.minimum(u, v), np.maximum(u, v)
        frame = pd.DataFrame({"source": src, "target": dst, "length_m": length, "edge": edge})
        frame = frame[frame["source"] != frame["target"]]
        frame = frame.sort_values(["source", "target", "length_m", "edge"], kind="stable")
        frame = frame.drop_duplicates(["source", "target"], keep="first")
        return frame.reset_index(drop=True)

    @cached_property
    def csr(self) -> sparse.csr_matrix:
        """Adjacency matrix of lengths (metres) for :mod:`scipy.sparse.csgraph`.

        Symmetric for the walk graph.  Pass it with ``directed=True`` to csgraph
        routines (the symmetry already encodes undirected edges).
        """
        arcs = self.arcs
        src = arcs["source"].to_numpy()
        dst = arcs["target"].to_numpy()
        w = arcs["length_m"].to_numpy()
        if not self.directed:
            src, dst, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.tile(w, 2)
        matrix = sparse.csr_matrix((w, (src, dst)), shape=(self.n_nodes, self.n_nodes))
        matrix.sort_indices()
        return matrix

    def to_igraph(self) -> igraph.Graph:
        """Return the simple graph (:attr:`arcs`) as an igraph Graph.

        Vertex ids are node ids; edge attributes ``length_m`` and ``edge``; vertex
        attributes ``x`` and ``y``.
        """
        import igraph

        arcs = self.arcs
        graph = igraph.Graph(
            n=self.n_nodes,
            edges=list(zip(arcs["source"].tolist(), arcs["target"].tolist(), strict=True)),
            directed=self.directed,
        )
        graph.es["length_m"] = arcs["length_m"].tolist()
        graph.es["edge"] = arcs["edge"].tolist()
        graph.vs["x"] = self.node_xy[:, 0].tolist()
        graph.vs["y"] = self.node_xy[:, 1].tolist()
        return graph

    def to_networkx(self) -> nx.Graph:
        """Return the simple graph as a networkx ``Graph`` (walk) or ``DiGraph`` (drive).

        Meant as an independent reference (tests) and for interoperability; the
        toolkit's own computations use scipy and igraph.  Edge attributes ``length_m``
        and ``edge``; node attributes ``x`` and ``y``.
        """
        import networkx as nx

        graph: nx.Graph = nx.DiGraph() if self.directed else nx.Graph()
        for node, (x, y) in enumerate(self.node_xy.tolist()):
            graph.add_node(node, x=x, y=y)
        arcs = self.arcs
        graph.add_edges_from(
            (s, t, {"length_m": w, "edge": e})
            for s, t, w, e in zip(
                arcs["source"].tolist(),
                arcs["target"].tolist(),
                arcs["length_m"].tolist(),
                arcs["edge"].tolist(),
                strict=True,
            )
        )
        return graph

    # ---------------------------------------------------------------- routing
    def distances(
        self,
        sources: np.ndarray | list[int] | int,
        *,
        limit_m: float = np.inf,
        min_only: bool = False,
        reverse: bool = False,
    ) -> np.ndarray:
        """Shortest-path distances (metres) from source nodes to every node.

        A thin wrapper of :func:`scipy.sparse.csgraph.dijkstra` on :attr:`csr`.

        Parameters
        ----------
        sources
            Node id(s) to start from.
        limit_m
            Stop searching beyond this distance (metres); nodes farther away get
            ``inf``.  A finite limit makes local analyses (400/800 m) much faster.
        min_only
            Return one row: the distance from the *nearest* source (multi-source
            Dijkstra), instead of one row per source.
        reverse
            Drive graph: distances *to* the sources (travel against the arcs).

        Returns
        -------
        ndarray
            ``(len(sources), n_nodes)`` float array, or ``(n_nodes,)`` when
            ``min_only`` or when ``sources`` is a single int; ``inf`` = unreachable.
        """
        matrix = self.csr.T.tocsr() if (reverse and self.directed) else self.csr
        indices = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        if indices.size == 0:
            shape = (self.n_nodes,) if min_only else (0, self.n_nodes)
            return np.full(shape, np.inf)
        result = csgraph.dijkstra(
            matrix, directed=True, indices=indices, limit=limit_m, min_only=min_only
        )
        if np.ndim(sources) == 0 and not min_only:
            return np.asarray(result[0])
        return np.asarray(result)

    def snap(
        self,
        points: gpd.GeoSeries | np.ndarray | list[Any],
        *,
        max_distance_m: float | None = None,
    ) -> SnappedPoints:
        """Attach points (homes, POIs, lamps...) to their nearest edge.

        Parameters
        ----------
        points
            Point geometries in the graph CRS (a GeoSeries is reprojected if it has
            another CRS).  Polygons are represented by a point inside them
            (``representative_point``).
        max_distance_m
            Leave points farther than this from every edge unsnapped (``edge == -1``).

        Returns
        -------
        SnappedPoints
            Nearest edge, position along it, access distance and nearer end node.
        """
        geoms = _as_points(points, self.crs)
        n = len(geoms)
        edge = np.full(n, -1, dtype=np.int64)
        ok = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
        if self.n_edges and ok.any():
            index = np.flatnonzero(ok)
            hits = self._tree.query_nearest(
                geoms[index], max_distance=max_distance_m, all_matches=False
            )
            edge[index[hits[0]]] = hits[1]
        snapped = edge >= 0
        along = np.full(n, np.nan)
        offset = np.full(n, np.nan)
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        u = np.full(n, -1, dtype=np.int64)
        v = np.full(n, -1, dtype=np.int64)
        node = np.full(n, -1, dtype=np.int64)
        if snapped.any():
            lines = self.edges.geometry.to_numpy()[edge[snapped]]
            pts = geoms[snapped]
            position = shapely.line_locate_point(lines, pts)
            on_line = shapely.line_interpolate_point(lines, position)
            scale = self.edge_length_m[edge[snapped]] / np.maximum(shapely.length(lines), 1e-12)
            along[snapped] = np.clip(position * scale, 0.0, self.edge_length_m[edge[snapped]])
            offset[snapped] = shapely.distance(pts, on_line)
            x[snapped], y[snapped] = shapely.get_x(on_line), shapely.get_y(on_line)
            u[snapped] = self.edge_u[edge[snapped]]
            v[snapped] = self.edge_v[edge[snapped]]
            nearer_u = along[snapped] <= self.edge_length_m[edge[snapped]] / 2
            node[snapped] = np.where(nearer_u, u[snapped], v[snapped])
        return SnappedPoints(edge, u, v, along, offset, node, x, y)

    def point_distances(
        self,
        origins: SnappedPoints,
        destinations: SnappedPoints,
        *,
        limit_m: float = np.inf,
        include_access: bool = True,
    ) -> np.ndarray:
        """Network distances (metres) between snapped points.

        The route leaves the origin's edge at either end (only forward on a one-way
        drive edge), follows shortest paths, and enters the destination's edge at
        either end; origin and destination on the same edge may also be joined
        directly along it.

        Parameters
        ----------
        origins, destinations
            Results of :meth:`snap`.
        limit_m
            Distances beyond this many metres (network part) are ``inf``.
        include_access
            Add both access legs (``offset_m``, point to edge, straight) to the result.

        Returns
        -------
        ndarray
            ``(len(origins), len(destinations))`` metres; ``inf`` when unreachable,
            NaN where a point was not snapped.
        """
        n_o, n_d = len(origins), len(destinations)
        out = np.full((n_o, n_d), np.inf)
        ok_o, ok_d = origins.valid, destinations.valid
        if not ok_o.any() or not ok_d.any():
            out[~ok_o, :] = np.nan
            out[:, ~ok_d] = np.nan
            return out
        length = self.edge_length_m
        twoway = self.edge_twoway
        # Departure legs: node, cost from the origin point to that node.
        oe = origins.edge[ok_o]
        o_nodes = np.concatenate([origins.v[ok_o], origins.u[ok_o]])
        o_cost = np.concatenate(
            [
                length[oe] - origins.along_m[ok_o],
                np.where(twoway[oe], origins.along_m[ok_o], np.inf),
            ]
        )
        de = destinations.edge[ok_d]
        d_nodes = np.concatenate([destinations.u[ok_d], destinations.v[ok_d]])
        d_cost = np.concatenate(
            [
                destinations.along_m[ok_d],
                np.where(twoway[de], length[de] - destinations.along_m[ok_d], np.inf),
            ]
        )
        unique_o, o_inv = np.unique(o_nodes, return_inverse=True)
        table = self.distances(unique_o, limit_m=limit_m)[:, d_nodes]  # (u_o, 2*n_d)
        legs = o_cost[:, None] + table[o_inv]  # (2*n_o, 2*n_d)
        legs = legs + d_cost[None, :]
        k_o, k_d = int(ok_o.sum()), int(ok_d.sum())
        best = np.minimum.reduce(
            [legs[:k_o, :k_d], legs[:k_o, k_d:], legs[k_o:, :k_d], legs[k_o:, k_d:]]
        )
        # Same edge: straight along it (backwards only if two-way).
        same = oe[:, None] == de[None, :]
        if same.any():
            delta = destinations.along_m[ok_d][None, :] - origins.along_m[ok_o][:, None]
            direct = np.where((delta >= 0) | twoway[oe][:, None], np.abs(delta), np.inf)
            best = np.where(same, np.minimum(best, direct), best)
        best[best > limit_m] = np.inf
        if include_access:
            best = best + origins.offset_m[ok_o][:, None] + destinations.offset_m[ok_d][None, :]
        out[np.ix_(ok_o, ok_d)] = best
        out[~ok_o, :] = np.nan
        out[:, ~ok_d] = np.nan
        return out

    def components(self) -> np.ndarray:
        """Connected-component label of every node (weakly connected for drive)."""
        _, labels = csgraph.connected_components(self.csr, directed=True, connection="weak")
        return np.asarray(labels)

    def split_edges(
        self,
        points: gpd.GeoSeries | np.ndarray | list[Any],
        *,
        max_distance_m: float | None = None,
    ) -> tuple[StreetGraph, np.ndarray]:
        """Insert points as new nodes on their nearest edges.

        Each point is snapped (:meth:`snap`) and the edge is cut there; distances
        between existing nodes do not change.  Useful to route to exact places
        (entrances, stops) or to start a new street in the middle of an existing one.

        Parameters
        ----------
        points
            Points in the graph CRS.
        max_distance_m
            Points farther than this from every edge are not inserted.

        Returns
        -------
        graph, node
            The new graph (existing node ids unchanged, new nodes numbered after
            them; edges renumbered) and the node id of each point (an existing end
            node when the point projects within 1 mm of it; ``-1`` when not snapped).
        """
        snapped = self.snap(points, max_distance_m=max_distance_m)
        node = np.full(len(snapped), -1, dtype=np.int64)
        ok = snapped.valid
        length = self.edge_length_m
        at_u = ok & (snapped.along_m <= _KEY_PRECISION_M)
        at_v = (
            ok & ~at_u & (snapped.along_m >= length[np.maximum(snapped.edge, 0)] - _KEY_PRECISION_M)
        )
        node[at_u] = snapped.u[at_u]
        node[at_v] = snapped.v[at_v]
        inner = np.flatnonzero(ok & ~at_u & ~at_v)
        if not len(inner):
            return self, node
        xy = np.column_stack([snapped.x[inner], snapped.y[inner]])
        keys = np.round(xy / _KEY_PRECISION_M).astype(np.int64)
        unique_keys, first, inverse = np.unique(
            keys, axis=0, return_index=True, return_inverse=True
        )
        new_ids = self.n_nodes + np.arange(len(unique_keys))
        node[inner] = new_ids[inverse.reshape(-1)]
        key_to_node = {tuple(k): int(i) for k, i in zip(unique_keys.tolist(), new_ids, strict=True)}
        new_xy = xy[first]
        by_edge: dict[int, list[int]] = {}
        for i, e in zip(inner, snapped.edge[inner], strict=True):
            by_edge.setdefault(int(e), []).append(int(i))
        geoms = self.edges.geometry.to_numpy()
        rows: list[dict[str, Any]] = []
        for e, members in by_edge.items():
            cut = new_xy[np.unique(inverse.reshape(-1)[np.searchsorted(inner, members)])]
            pieces = _split_line(geoms[e], cut)
            record = self.edges.iloc[e].to_dict()
            for piece in pieces:
                start = tuple(np.round(piece[0] / _KEY_PRECISION_M).astype(np.int64).tolist())
                end = tuple(np.round(piece[-1] / _KEY_PRECISION_M).astype(np.int64).tolist())
                row = dict(record)
                row["u"] = key_to_node.get(start, int(record["u"]))
                row["v"] = key_to_node.get(end, int(record["v"]))
                row["geometry"] = LineString(piece)
                rows.append(row)
        kept = self.edges.drop(index=self.edges.index[list(by_edge)])
        pieces_frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=self.crs)
        pieces_frame["length_m"] = _quantise(shapely.length(pieces_frame.geometry.to_numpy()))
        edges = gpd.GeoDataFrame(
            pd.concat([kept, pieces_frame[kept.columns]], ignore_index=True),
            geometry="geometry",
            crs=self.crs,
        )
        edges.index.name = "edge"
        all_xy = np.vstack([self.node_xy, new_xy])
        nodes = gpd.GeoDataFrame(
            {
                "x": all_xy[:, 0],
                "y": all_xy[:, 1],
                "degree": _degrees(edges["u"].to_numpy(), edges["v"].to_numpy(), len(all_xy)),
            },
            geometry=shapely.points(all_xy),
            crs=self.crs,
        )
        nodes.index.name = "node"
        graph = StreetGraph(self.mode, self.crs, self.directed, nodes, edges, self.snap_tolerance_m)
        return graph, node

    def with_links(self, links: gpd.GeoSeries | list[LineString] | np.ndarray) -> StreetGraph:
        """Return a new walk-style graph with straight links added between nodes.

        Each link must start and end at existing nodes (within 1 mm); the links are
        added as two-way edges with ``street_id`` ``"new_link_<i>"``.  This is a
        cheap way to evaluate candidate links; to model a real scenario add the
        streets to the District and rebuild the graph.
        """
        geoms = _as_lines(links)
        if not len(geoms):
            return self
        ends = np.stack(
            [shapely.get_coordinates(shapely.get_point(geoms, i)) for i in (0, -1)], axis=1
        )
        tree = cKDTree(self.node_xy)
        dist, idx = tree.query(ends.reshape(-1, 2))
        if np.any(dist > _KEY_PRECISION_M):
            bad = int(np.flatnonzero(dist > _KEY_PRECISION_M)[0] // 2)
            raise InputError(f"link {bad} does not start and end at nodes of the graph")
        idx = idx.reshape(-1, 2)
        extra = gpd.GeoDataFrame(
            {
                "u": idx[:, 0],
                "v": idx[:, 1],
                "length_m": _quantise(shapely.length(geoms)),
                "street_id": [f"new_link_{i}" for i in range(len(geoms))],
                "highway": "footway",
                "oneway": False,
                "bridge": False,
                "tunnel": False,
            },
            geometry=geoms,
            crs=self.crs,
        )
        edges = pd.concat([self.edges, extra], ignore_index=True)
        edges = gpd.GeoDataFrame(edges, geometry="geometry", crs=self.crs)
        nodes = self.nodes.copy()
        nodes["degree"] = _degrees(edges["u"].to_numpy(), edges["v"].to_numpy(), len(nodes))
        return StreetGraph(self.mode, self.crs, self.directed, nodes, edges, self.snap_tolerance_m)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _quantise(length: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(np.asarray(length, dtype=float) / LENGTH_QUANTUM_M), 1.0) * (
        LENGTH_QUANTUM_M
    )


def _degrees(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(np.concatenate([u, v]).astype(np.int64), minlength=n)


def _as_points(points: Any, crs: str) -> np.ndarray:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is not None and crs is not None and not points.crs.equals(crs):
            points = points.to_crs(crs)
        geoms = points.to_numpy()
    else:
        geoms = np.asarray(points, dtype=object)
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    not_point = (shapely.get_type_id(geoms) != 0) & ~shapely.is_missing(geoms)
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    return geoms


def _as_lines(lines: Any) -> np.ndarray:
    if isinstance(lines, gpd.GeoDataFrame):
        lines = lines.geometry
    if isinstance(lines, gpd.GeoSeries):
        return np.asarray(lines.to_numpy(), dtype=object)
    return np.asarray(list(lines), dtype=object).reshape(-1)


# --------------------------------------------------------------------------- noding


def _mode_mask(streets: gpd.GeoDataFrame, mode: str) -> np.ndarray:
    column = "walk" if mode == "walk" else "car"
    if column in streets.columns:
        values = streets[column].astype("boolean")
    else:
        values = pd.Series(pd.NA, index=streets.index, dtype="boolean")
    if values.isna().any():
        defaults = (
            streets["highway"]
            .astype(str)
            .map(
                lambda hw: (
                    bool(highway_defaults(hw)[column]) if hw not in ("nan", "<NA>") else False
                )
            )
        )
        values = values.fillna(defaults.astype("boolean"))
    return np.asarray(values.fillna(False).to_numpy(dtype=bool))


def _bool_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(frame[name].astype("boolean").fillna(False).to_numpy(dtype=bool))


def _cluster_endpoints(lines: np.ndarray, tol: float) -> np.ndarray:
    """Move line endpoints closer than ``tol`` to their cluster's mean position."""
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(owner, minlength=len(lines))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts - 1
    ends_at = np.concatenate([first, last])
    ends = coords[ends_at]
    if tol > 0 and len(ends) > 1:
        pairs = cKDTree(ends).query_pairs(tol, output_type="ndarray")
        if len(pairs):
            graph = sparse.coo_matrix(
                (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(ends), len(ends))
            )
            _, labels = csgraph.connected_components(graph, directed=False)
            sums = np.zeros((labels.max() + 1, 2))
            np.add.at(sums, labels, ends)
            size = np.bincount(labels)
            moved = sums[labels] / size[labels, None]
            clustered = np.bincount(labels)[labels] > 1
            ends = np.where(clustered[:, None], moved, ends)
            coords = coords.copy()
            coords[ends_at] = ends
    return np.asarray(shapely.linestrings(coords, indices=owner))


def _snap_dangles(
    lines: np.ndarray, level_free: np.ndarray, tol: float
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """Snap endpoints lying within ``tol`` of another line's interior onto it.

    Returns the adjusted lines and the split points ``(line index, xy)`` to add to the
    target lines.  An ordinary street is never snapped onto a bridge/tunnel interior;
    a bridge/tunnel end may land on any street (its ramp joins the street there).
    """
    n = len(lines)
    starts = shapely.get_point(lines, 0)
    ends = shapely.get_point(lines, -1)
    points = np.concatenate([starts, ends])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    tree = shapely.STRtree(lines)
    p_idx, l_idx = tree.query(points, predicate="dwithin", distance=tol)
    keep = l_idx != owner[p_idx]
    keep &= ~(level_free[l_idx] & ~level_free[owner[p_idx]])
    p_idx, l_idx = p_idx[keep], l_idx[keep]
    splits: list[tuple[int, np.ndarray]] = []
    if not len(p_idx):
        return lines, splits
    dist = shapely.distance(points[p_idx], lines[l_idx])
    order = np.lexsort((l_idx, dist, p_idx))
    p_idx, l_idx = p_idx[order], l_idx[order]
    first = np.concatenate([[True], p_idx[1:] != p_idx[:-1]])
    p_idx, l_idx = p_idx[first], l_idx[first]
    targets = lines[l_idx]
    on_line = shapely.line_interpolate_point(
        targets, shapely.line_locate_point(targets, points[p_idx])
    )
    xy = shapely.get_coordinates(on_line)
    coords, coord_owner = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(coord_owner, minlength=n)
    first_at = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last_at = first_at + counts - 1
    at = np.where(p_idx < n, first_at[owner[p_idx]], last_at[owner[p_idx]])
    coords = coords.copy()
    coords[at] = xy
    splits.extend((int(line), point) for line, point in zip(l_idx, xy, strict=True))
    return np.asarray(shapely.linestrings(coords, indices=coord_owner)), splits


def _crossings(lines: np.ndarray, level_free: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Split points where ordinary (not bridge/tunnel) streets cross or touch."""
    grounded = np.flatnonzero(~level_free)
    if len(grounded) < 2:
        return []
    subset = lines[grounded]
    tree = shapely.STRtree(subset)
    a, b = tree.query(subset, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return []
    inter = shapely.intersection(subset[a], subset[b])
    parts, part_of = shapely.get_parts(inter, return_index=True)
    kind = shapely.get_type_id(parts)
    pts = [shapely.get_coordinates(parts[kind == 0])]
    owners = [part_of[kind == 0]]
    for end in (0, -1):  # overlapping stretches: split at their ends
        pts.append(shapely.get_coordinates(shapely.get_point(parts[kind == 1], end)))
        owners.append(part_of[kind == 1])
    xy = np.concatenate(pts)
    pair = np.concatenate(owners)
    out: list[tuple[int, np.ndarray]] = []
    for side in (a, b):
        out.extend((int(line), point) for line, point in zip(grounded[side[pair]], xy, strict=True))
    return out


def _split_line(line: LineString, points: np.ndarray) -> list[np.ndarray]:
    """Cut a line at points lying on it; returns coordinate arrays of the pieces."""
    coords = shapely.get_coordinates(line)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    at = shapely.line_locate_point(line, shapely.points(points))
    eps = 1e-9 * max(total, 1.0) + 1e-9
    inside = (at > eps) & (at < total - eps)
    at, points = at[inside], points[inside]
    if not len(at):
        return [coords]
    order = np.argsort(at, kind="stable")
    at, points = at[order], points[order]
    distinct = np.concatenate([[True], np.diff(at) > _KEY_PRECISION_M])
    at, points = at[distinct], points[distinct]
    cuts = np.concatenate([[0.0], at, [total]])
    cut_xy = np.vstack([coords[:1], points, coords[-1:]])
    pieces = []
    for i in range(len(cuts) - 1):
        lo, hi = cuts[i], cuts[i + 1]
        between = (cum > lo + eps) & (cum < hi - eps)
        pieces.append(np.vstack([cut_xy[i : i + 1], coords[between], cut_xy[i + 1 : i + 2]]))
    return pieces


def graph_from_streets(
    streets: gpd.GeoDataFrame,
    mode: str = "walk",
    *,
    snap_tolerance_m: float | None = None,
    crs: str | None = None,
) -> StreetGraph:
    """Build a routable graph from a streets layer (not cached; see :func:`build_graph`).

    Parameters
    ----------
    streets
        A streets layer (schema of ``standards/layers.yaml``): LineStrings in a
        projected CRS with ``street_id``, ``highway`` and, where known, ``walk``,
        ``car``, ``oneway``, ``bridge`` and ``tunnel``.  Missing access values fall
        back to the defaults of the street's highway class.
    mode
        ``"walk"`` (streets with ``walk`` true; undirected) or ``"drive"`` (``car``
        true; directed, ``oneway`` respected).
    snap_tolerance_m
        Endpoints closer than this (metres) are merged, and an endpoint this close to
        another street is snapped onto it (default: ``network.snap_tolerance_m`` in
        ``standards/connectivity.yaml``).
    crs
        CRS of the result (default: the layer's CRS).

    Returns
    -------
    StreetGraph

    Raises
    ------
    NoStreetsError
        The layer is empty or holds no street open to ``mode``.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {list(MODES)}, got {mode!r}")
    tol = float(_params()["snap_tolerance_m"] if snap_tolerance_m is None else snap_tolerance_m)
    if not np.isfinite(tol) or tol < 0:
        raise InputError(f"snap_tolerance_m must be a finite number >= 0, got {tol!r}")
    crs = crs or (streets.crs.to_string() if streets.crs is not None else None)
    if streets.empty:
        raise NoStreetsError(
            "the streets layer is empty: a street network is needed (import OSM data or "
            "draw streets into the 'streets' layer)"
        )
    streets = streets[_mode_mask(streets, mode)]
    geoms = streets.geometry
    streets = streets[~(geoms.is_empty | geoms.isna())]
    if streets.empty:
        allowed = "walk" if mode == "walk" else "car"
        raise NoStreetsError(
            f"no street of the streets layer is open to mode {mode!r} (column {allowed!r} "
            f"is false everywhere): add {'footways/paths' if mode == 'walk' else 'roads'} "
            f"or correct the {allowed!r} column"
        )
    streets = streets.explode(index_parts=False)
    streets = streets[streets.geometry.geom_type == "LineString"]
    lines = shapely.force_2d(streets.geometry.to_numpy())
    level_free = _bool_column(streets, "bridge") | _bool_column(streets, "tunnel")

    lines = _cluster_endpoints(lines, tol)
    valid = shapely.length(lines) > 0
    lines, level_free, streets = lines[valid], level_free[valid], streets[valid]
    lines, splits = _snap_dangles(lines, level_free, tol)
    splits += _crossings(lines, level_free)
    by_line: dict[int, list[np.ndarray]] = {}
    for line, point in splits:
        by_line.setdefault(line, []).append(point)

    piece_coords: list[np.ndarray] = []
    piece_owner: list[int] = []
    for i, line in enumerate(lines):
        if i in by_line:
            pieces = _split_line(line, np.asarray(by_line[i]))
        else:
            pieces = [shapely.get_coordinates(line)]
        piece_coords.extend(pieces)
        piece_owner.extend([i] * len(pieces))
    owner = np.asarray(piece_owner, dtype=np.int64)
    sizes = np.array([len(c) for c in piece_coords])
    flat = np.concatenate(piece_coords)
    piece_lines = shapely.linestrings(flat, indices=np.repeat(np.arange(len(sizes)), sizes))
    length = shapely.length(piece_lines)
    keep = length > 0
    piece_lines, owner, sizes = piece_lines[keep], owner[keep], sizes[keep]
    piece_coords = [c for c, k in zip(piece_coords, keep, strict=True) if k]

    start_xy = np.array([c[0] for c in piece_coords])
    end_xy = np.array([c[-1] for c in piece_coords])
    both = np.vstack([start_xy, end_xy])
    keys = np.round(both / _KEY_PRECISION_M).astype(np.int64)
    _, first_seen, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    # Number nodes in order of first appearance, so ids are stable and readable.
    order = np.argsort(first_seen, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    node_of = rank[inverse.reshape(-1)]
    node_xy = both[np.sort(first_seen)]
    m = len(piece_lines)
    u, v = node_of[:m], node_of[m:]

    source = streets.iloc[owner]
    oneway = _bool_column(source, "oneway") if mode == "drive" else np.zeros(m, dtype=bool)
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": _quantise(shapely.length(piece_lines)),
            "street_id": source["street_id"].astype(str).to_numpy(),
            "highway": source["highway"].astype(str).to_numpy(),
            "oneway": oneway,
            "bridge": _bool_column(source, "bridge"),
            "tunnel": _bool_column(source, "tunnel"),
        },
        geometry=piece_lines,
        crs=crs,
    )
    nodes = gpd.GeoDataFrame(
        {"x": node_xy[:, 0], "y": node_xy[:, 1], "degree": _degrees(u, v, len(node_xy))},
        geometry=shapely.points(node_xy),
        crs=crs,
    )
    nodes.index.name = "node"
    edges.index.name = "edge"
    logger.debug(
        "%s graph: %d streets -> %d nodes, %d edges", mode, len(streets), len(nodes), len(edges)
    )
    return StreetGraph(mode, str(crs), mode == "drive", nodes, edges, tol)


# --------------------------------------------------------------------------- cache

_CACHE: OrderedDict[tuple[str, str, float], StreetGraph] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16


def build_graph(
    district: District, mode: str = "walk", *, snap_tolerance_m: float | None = None
) -> StreetGraph:
    """Return the routable graph of a district's streets for one mode (cached).

    The graph is built once per streets content: the cache key is
    ``district.fingerprint("streets", boundary=False)``, the mode and the tolerance, so
    any District with the same streets (a copy, a scenario that changed only the
    buildings) reuses it.

    Parameters
    ----------
    district
        The district; only its streets layer and CRS are used.
    mode
        ``"walk"`` or ``"drive"``.
    snap_tolerance_m
        Noding tolerance in metres (default from ``standards/connectivity.yaml``).

    Returns
    -------
    StreetGraph
        Shared, cached object: treat it and its frames as read-only.

    Raises
    ------
    NoStreetsError
        The streets layer is empty or has no street open to ``mode``.
    """
    tol = float(_params()["snap_tolerance_m"] if snap_tolerance_m is None else snap_tolerance_m)
    key = (district.fingerprint("streets", boundary=False), mode, tol)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    graph = graph_from_streets(district.streets, mode, snap_tolerance_m=tol, crs=district.crs)
    with _CACHE_LOCK:
        _CACHE[key] = graph
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return graph


def walk_graph(district: District, *, snap_tolerance_m: float | None = None) -> StreetGraph:
    """Return the (cached) undirected pedestrian graph; see :func:`build_graph`."""
    return build_graph(district, "walk", snap_tolerance_m=snap_tolerance_m)


def drive_graph(district: District, *, snap_tolerance_m: float | None = None) -> StreetGraph:
    """Return the (cached) directed car graph, one-way respected; see :func:`build_graph`."""
    return build_graph(district, "drive", snap_tolerance_m=snap_tolerance_m)


def sidewalk_mask(streets: gpd.GeoDataFrame) -> np.ndarray:
    """True for the pieces drawn beside or across a road (``footway`` sidewalk, crossing…).

    The values are ``network.sidewalk_footway`` of ``standards/connectivity.yaml``; a
    layer without a ``footway`` column has none.
    """
    if "footway" not in streets.columns:
        return np.zeros(len(streets), dtype=bool)
    values = set(_params()["sidewalk_footway"])
    return np.asarray(streets["footway"].astype(object).isin(values).to_numpy(dtype=bool))


def nearest_walkable_street(
    streets: gpd.GeoDataFrame, xy: np.ndarray, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest walkable street of each point, within ``max_distance_m``.

    Parameters
    ----------
    streets
        A streets layer (``street_id``, ``walk``).
    xy
        Points, (n, 2), in the streets' CRS.
    max_distance_m
        Reach, m; points farther from every walkable street get none.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The indices of the points that have one, and its ``street_id`` (as text).
    """
    walk = streets.loc[_bool_column(streets, "walk")] if len(streets) else streets
    if not len(walk) or not len(xy):
        return np.array([], dtype=np.int64), np.array([], dtype=object)
    points, nearest = shapely.STRtree(walk.geometry.to_numpy()).query_nearest(
        shapely.points(np.asarray(xy, dtype=float)),
        max_distance=max_distance_m,
        all_matches=False,
    )
    return points, walk["street_id"].astype(str).to_numpy()[nearest]


def street_graph(district: District, *, snap_tolerance_m: float | None = None) -> StreetGraph:
    """Return the (cached) street network whose structure connectivity measures.

    Where sidewalks and crossings are drawn as separate ways (OpenStreetMap
    ``footway=sidewalk|crossing``, the ``footway`` column), their junctions with each
    other and with kerbs would be counted as intersections (over 1,000 per km² on such
    data).  The street network leaves them out and keeps every other street open to
    walking or to cars (a road with ``foot=use_sidepath`` stands for its sidewalks),
    undirected.  A district without such ways: exactly the walk graph.  Routing always
    uses the full walk graph (:func:`walk_graph`), sidewalks included.

    Raises
    ------
    NoStreetsError
        No street is left (every walkable way is a sidewalk or crossing).
    """
    streets = district.streets
    side = sidewalk_mask(streets)
    if not side.any():
        return walk_graph(district, snap_tolerance_m=snap_tolerance_m)
    tol = float(_params()["snap_tolerance_m"] if snap_tolerance_m is None else snap_tolerance_m)
    key = (district.fingerprint("streets", boundary=False), "street", tol)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    keep = ~side & (_mode_mask(streets, "walk") | _mode_mask(streets, "drive"))
    network = streets[keep].copy()
    network["walk"] = True
    if not len(network):
        raise NoStreetsError(
            f"district {district.name!r}: every walkable street is a sidewalk or crossing "
            "(footway column); the street network is empty"
        )
    graph = graph_from_streets(network, "walk", snap_tolerance_m=tol, crs=district.crs)
    with _CACHE_LOCK:
        _CACHE[key] = graph
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return graph


def clear_graph_cache() -> None:
    """Forget every cached graph (frees memory; results are unaffected)."""
    with _CACHE_LOCK:
        _CACHE.clear()
