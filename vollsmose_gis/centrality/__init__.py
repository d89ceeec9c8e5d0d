"""A compiled, parallel engine for localised network centralities (metric and angular).

One bounded search per source up to the *largest* radius accumulates, for every radius
in the same pass:

- betweenness (Brandes 2001, all tied shortest paths counted, endpoints excluded),
  optionally per edge;
- closeness: node count, farness (sum of costs) and harmonic closeness.

The same kernel serves the metric analysis of the street graph (cost = length in
metres) and the angular analysis of the segment map (cost = sum of turn angles, see
:mod:`vollsmose_gis.angular`): both are a search over *states* with a lexicographic
key ``(cost, length)`` and a metric radius on ``length``.

>>> arrays = graph_arrays(walk_graph(district))            # doctest: +SKIP
>>> out = centralities(arrays, [800, 1600])                # doctest: +SKIP
>>> out["betweenness_800"], out["harmonic_1600"]           # doctest: +SKIP

Definitions
-----------
A search runs over ``S`` states grouped into ``N`` items (``k = S / N`` states per
item: 1 for the street graph, where a state is a node; 2 for the segment map, where a
state is a segment travelled towards one of its two ends).  Every arc has a cost
``c >= 0`` and a metric length ``l > 0`` (metres).  The key of a path is ``(sum c,
sum l)``, compared lexicographically: the *shortest* path to a state is the one of
least cost and, among those, the least length.  For the metric analysis ``c = l``, so
this is the ordinary shortest path.  For the angular analysis it is the least-angle
("simplest") path, ties broken by length as cityseer does (its route cost is
``angle + 1e-6 * length``).

An item's key is the least key of its states.  From a source item, an item ``t`` is
*within radius* ``r`` when the length of its key is ``<= r``.  The search does not
follow an arc whose path length would exceed the largest radius (``inf`` = radius n),
so it is bounded; for the metric analysis this is exact (every path within ``r`` is
found), for the angular analysis it is the rule of cityseer: a state is reached by the
least-key path among those that stay within the largest radius at every step (see
:mod:`vollsmose_gis.angular` for how this differs from depthmapX).

For each radius ``r`` and each item ``v`` (``s``, ``t`` other items within ``r`` of
``s``):

- ``node_count_r[v]``: number of items ``t != v`` within ``r`` of ``v``;
- ``farness_r[v]``: sum of their costs (metres, or angular units);
- ``harmonic_r[v]``: ``sum 1 / cost`` (metric, 1/m: networkx's harmonic closeness;
  an item at cost 0 is skipped) or ``sum 1 / (1 + cost)`` (angular: cityseer's
  ``cc_harmonic_ang`` with ``angular_scaling_unit=90``);
- ``betweenness_r[v]``: ``sum_{s != v != t} sigma_st(v) / sigma_st`` over pairs within
  ``r``, counting each unordered pair once on an undirected graph (networkx's
  ``normalized=False``) and each ordered pair on a directed one.  ``sigma_st`` counts
  shortest (equal-key) paths; on the segment map, the paths to ``t`` end in whichever
  of its states has the least key (both when they tie).

Closeness is of the source (``out``); for the "in" closeness of a directed graph pass
the reversed graph (:func:`graph_arrays` does this for the drive graph), which leaves
betweenness unchanged.

Exactness
---------
Ties are decided by exact float equality of sums computed the same way in the forward
search and the back-propagation.  Street lengths are multiples of 1/1024 m and angular
costs multiples of 2**-20 of 90 degrees (:mod:`vollsmose_gis.angular`), so every sum is
exact and two routes of equal cost tie exactly whatever the order of summation - the
results equal networkx's and igraph's to rounding (tests: ``tests/test_centrality.py``).

Why numba ``prange`` over sources
---------------------------------
The work is ``N`` independent searches; the accumulation (betweenness) is a sum over
sources.  The kernel is compiled with numba (already a dependency of cityseer and
the usual compiled route of the scientific-Python stack; no C toolchain needed at
install, wheels for every platform we support) and runs ``T`` workers with
``prange`` (``T`` = :func:`numba.get_num_threads`, or ``threads=``).  Worker ``t``
takes sources ``t, t + T, t + 2T, ...`` (interleaved, so the expensive central
sources spread evenly) and owns its scratch arrays and its own betweenness
accumulator of ``K x N`` floats (``K`` radii), summed once at the end: no atomics, no
locks, and a result independent of scheduling except for the order of that final sum.
Closeness needs no accumulator: each source writes only its own entry, once.
Predecessor lists are not stored: the back-propagation re-tests each out-arc for
tightness (``key[v] + arc == key[w]``), which halves the memory of a search.  Scratch
per worker: ``61 S`` bytes (six float64 and three int32 arrays of states, one int8;
``45 S`` when cost = length, as in the metric analysis, whose two keys then share
their arrays) plus ``8 K N`` for betweenness (``8 K E`` more for edge betweenness) -
0.9 and 1.2 times the ``8 (S + 1) + 24 A`` bytes of the graph's own arrays (``A``
arcs) for a street graph and a segment map at two radii
(``benchmarks/bench_centrality.py``).
The back-propagation for each radius is a separate sweep of the settled states (one
``delta`` array reused), which keeps the scratch independent of ``K``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vollsmose_gis._errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from vollsmose_gis.network import StreetGraph

__all__ = [
    "GraphArrays",
    "centralities",
    "check_projected",
    "graph_arrays",
    "radius_label",
    "street_centralities",
]

Kind = Literal["metric", "angular"]


# --------------------------------------------------------------------------- arrays


@dataclass(frozen=True)
class GraphArrays:
    """A search graph in CSR form, as the engine reads it.

    Attributes
    ----------
    indptr
        ``(S + 1,)`` int64: the out-arcs of state ``s`` are ``indptr[s]:indptr[s + 1]``.
    indices
        ``(A,)`` int64: target state of each arc.
    cost
        ``(A,)`` float64 >= 0: cost of each arc (metres for the street graph, angular
        units of 90 degrees for the segment map).
    length
        ``(A,)`` float64 > 0: metric length of each arc, metres (radii apply to it).
    states_per_item
        ``k``: states ``i k .. i k + k - 1`` belong to item ``i`` (1 or 2).
    directed
        False when every path can be travelled backwards at the same cost and length
        (betweenness then counts each unordered pair once).
    arc_edge
        ``(A,)`` int64: the edge (e.g. row of :attr:`StreetGraph.edges`) each arc
        belongs to, for edge betweenness; ``None`` when not wanted.
    n_edges
        Number of edges ``arc_edge`` refers to.
    """

    indptr: np.ndarray
    indices: np.ndarray
    cost: np.ndarray
    length: np.ndarray
    states_per_item: int = 1
    directed: bool = False
    arc_edge: np.ndarray | None = None
    n_edges: int = 0

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return len(self.indptr) - 1

    @property
    def n_items(self) -> int:
        """Number of items ``N = S / k`` (nodes or segments)."""
        return self.n_states // self.states_per_item

    @property
    def nbytes(self) -> int:
        """Bytes held by the graph's arrays."""
        arrays = [self.indptr, self.indices, self.cost, self.length]
        if self.arc_edge is not None:
            arrays.append(self.arc_edge)
        return int(sum(a.nbytes for a in arrays))

    def validate(self) -> None:
        """Raise :class:`InputError` if the arrays are inconsistent or out of range."""
        s = self.n_states
        if s < 0 or self.states_per_item not in (1, 2) or s % self.states_per_item:
            raise InputError("graph arrays: indptr must have S + 1 entries, S a multiple of k")
        a = len(self.indices)
        if (
            int(self.indptr[0]) != 0
            or int(self.indptr[-1]) != a
            or np.any(np.diff(self.indptr) < 0)
        ):
            raise InputError("graph arrays: indptr must rise from 0 to the number of arcs")
        if len(self.cost) != a or len(self.length) != a:
            raise InputError("graph arrays: indices, cost and length must have one entry per arc")
        if a and (self.indices.min() < 0 or self.indices.max() >= s):
            raise InputError("graph arrays: an arc points to a state that does not exist")
        if not (np.isfinite(self.cost).all() and (self.cost >= 0).all()):
            raise InputError("graph arrays: arc costs must be finite and >= 0")
        if not (np.isfinite(self.length).all() and (self.length > 0).all()):
            raise InputError(
                "graph arrays: arc lengths must be finite and > 0 (zero-length arcs make "
                "shortest paths ambiguous; drop zero-length segments first)"
            )
        if self.arc_edge is not None and len(self.arc_edge) != a:
            raise InputError("graph arrays: arc_edge must have one entry per arc")


def check_projected(crs: object) -> None:
    """Refuse a geographic CRS (lengths in degrees): radii are metres.

    Raises
    ------
    InputError
        ``crs`` is geographic.  An unknown or missing CRS passes (hand-made graphs).
    """
    if crs in (None, "", "None"):
        return
    import pyproj

    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        return
    if parsed.is_geographic:
        raise InputError(
            f"the street graph is in a geographic CRS ({crs}): lengths would be degrees, not "
            "metres; reproject the streets to a projected CRS (e.g. EPSG:25832 or the UTM zone)"
        )


def graph_arrays(graph: StreetGraph, *, edges: bool = True) -> GraphArrays:
    """The engine's arrays of a :class:`~vollsmose_gis.network.StreetGraph` (metric).

    Parameters
    ----------
    graph
        A walk (undirected) or drive (directed) graph.  The simple graph
        (:attr:`StreetGraph.arcs`: loops dropped, parallel edges collapsed to the
        shortest) is used, as by :func:`vollsmose_gis.connectivity.centralities`.
    edges
        Keep the arc -> edge map for edge betweenness.

    Returns
    -------
    GraphArrays
        One state per node; cost = length = arc length in metres.  The drive graph is
        *reversed* (arcs point from ``target`` to ``source``) so that closeness is of
        routes *to* each node ("in" closeness), as in ``connectivity``.
    """
    check_projected(graph.crs)
    arcs = graph.arcs
    src = arcs["source"].to_numpy(dtype=np.int64)
    dst = arcs["target"].to_numpy(dtype=np.int64)
    w = arcs["length_m"].to_numpy(dtype=np.float64)
    e = arcs["edge"].to_numpy(dtype=np.int64)
    if graph.directed:
        src, dst = dst, src
    else:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
        w, e = np.tile(w, 2), np.tile(e, 2)
    return _csr(graph.n_nodes, src, dst, w, w, e if edges else None, graph.n_edges, graph.directed)


def _csr(
    n_states: int,
    src: np.ndarray,
    dst: np.ndarray,
    cost: np.ndarray,
    length: np.ndarray,
    arc_edge: np.ndarray | None,
    n_edges: int,
    directed: bool,
    states_per_item: int = 1,
) -> GraphArrays:
    """Sort arcs by source (then target) into CSR arrays."""
    order = np.lexsort((dst, src))
    counts = np.bincount(src, minlength=n_states)
    indptr = np.zeros(n_states + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return GraphArrays(
        indptr=indptr,
        indices=np.ascontiguousarray(dst[order], dtype=np.int64),
        cost=np.ascontiguousarray(cost[order], dtype=np.float64),
        length=np.ascontiguousarray(length[order], dtype=np.float64),
        states_per_item=states_per_item,
        directed=directed,
        arc_edge=None if arc_edge is None else np.ascontiguousarray(arc_edge[order], np.int64),
        n_edges=n_edges,
    )


# --------------------------------------------------------------------------- kernel


def _compiled() -> Any:
    """The compiled kernel (numba; imported, and compiled or loaded from cache, lazily)."""
    from vollsmose_gis.centrality._kernel import run

    return run


# --------------------------------------------------------------------------- public API


def radius_label(radius: float) -> str:
    """Column suffix of a radius: ``800``, ``12p5`` or ``n`` (infinite)."""
    if math.isinf(radius):
        return "n"
    return str(int(radius)) if float(radius).is_integer() else str(radius).replace(".", "p")


def _check_radii(radii: Sequence[float | None]) -> np.ndarray:
    values = []
    for r in radii:
        value = math.inf if r is None or (isinstance(r, str) and r == "n") else r
        if not isinstance(value, int | float) or math.isnan(value) or value <= 0:
            raise InputError(f"radii must be positive numbers of metres (or None/'n'), got {r!r}")
        values.append(float(value))
    if not values:
        raise InputError("at least one radius is needed (None or 'n' for no limit)")
    return np.unique(np.asarray(values, dtype=np.float64))


def centralities(
    arrays: GraphArrays,
    radii: Sequence[float | None],
    *,
    kind: Kind = "metric",
    betweenness: bool = True,
    edge_betweenness: bool = False,
    sources: np.ndarray | None = None,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Betweenness and closeness for every radius, in one bounded search per source.

    Parameters
    ----------
    arrays
        The search graph (:func:`graph_arrays`, or
        :attr:`vollsmose_gis.angular.SegmentMap.arrays`).
    radii
        Metric radii in metres (``None``, ``'n'`` or ``inf``: no limit); each must be > 0.
    kind
        ``"metric"``: harmonic closeness is ``sum 1 / cost``; ``"angular"``:
        ``sum 1 / (1 + cost)`` (cost 0 is common: a straight continuation).
    betweenness
        Compute betweenness (the back-propagation; closeness alone is cheaper).
    edge_betweenness
        Also betweenness per edge (needs ``arrays.arc_edge``).
    sources
        Compute only from these items (betweenness then counts only paths from them,
        closeness is NaN elsewhere); default all.
    threads
        Number of workers (default :func:`numba.get_num_threads`).

    Returns
    -------
    dict
        Arrays of one value per item, keyed ``<measure>_<radius>`` (see
        :func:`radius_label`): ``betweenness``, ``node_count``, ``farness`` (metres or
        angular units), ``harmonic`` (1/m, or dimensionless for angular) and, when
        asked, ``edge_betweenness`` (one value per edge).  Definitions are in the
        module notes.

    Raises
    ------
    InputError
        A radius <= 0 or inconsistent arrays (zero-length or negative arcs...).
    """
    if kind not in ("metric", "angular"):
        raise InputError(f"kind must be 'metric' or 'angular', got {kind!r}")
    arrays.validate()
    rad = _check_radii(radii)
    if edge_betweenness and arrays.arc_edge is None:
        raise InputError("edge_betweenness needs arrays with arc_edge (graph_arrays(edges=True))")
    n = arrays.n_items
    all_sources = sources is None
    src = np.arange(n, dtype=np.int64) if sources is None else np.asarray(sources, np.int64)
    if len(src) and (src.min() < 0 or src.max() >= n):
        raise InputError("sources must be item ids in 0..N-1")
    if arrays.n_states >= 2**31:
        raise InputError("graph too large for the engine (2**31 states)")
    import numba

    n_threads = int(threads or numba.get_num_threads())
    n_threads = max(1, min(n_threads, max(len(src), 1)))
    arc_edge = arrays.arc_edge if arrays.arc_edge is not None else np.zeros(0, np.int64)
    bet, ebet, count, farness, harmonic = _compiled()(
        arrays.indptr, arrays.indices, arrays.cost, arrays.length,
        int(arrays.states_per_item), rad, src, kind == "angular", bool(betweenness),
        bool(edge_betweenness), arc_edge, int(arrays.n_edges), n_threads,
        arrays.cost is arrays.length or bool(np.array_equal(arrays.cost, arrays.length)),
    )  # fmt: skip
    half = 1.0 if arrays.directed else 0.5
    out: dict[str, np.ndarray] = {}
    for i, r in enumerate(rad):
        label = radius_label(float(r))
        if betweenness:
            out[f"betweenness_{label}"] = bet[i] * half
        if edge_betweenness:
            out[f"edge_betweenness_{label}"] = ebet[i] * half
        for name, values in (("node_count", count), ("farness", farness), ("harmonic", harmonic)):
            column = values[i]
            if not all_sources:
                column = np.where(np.isin(np.arange(n), src), column, np.nan)
            out[f"{name}_{label}"] = column
    return out


def street_centralities(
    graph: StreetGraph,
    radii: Sequence[float | None],
    *,
    normalized: bool = True,
    threads: int | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Metric centralities of a street graph, shaped as ``connectivity.centralities``.

    Parameters
    ----------
    graph
        A walk or drive graph.
    radii
        Radii in metres; ``None`` (or ``'n'``) is the global measure, named without
        suffix as in ``connectivity`` (``betweenness``, ``harmonic_closeness``).
    normalized
        Scale betweenness as networkx (and ``connectivity.centralities``) do: nodes by
        ``2 / ((n-1)(n-2))`` (walk) or ``1 / ((n-1)(n-2))`` (drive), edges by
        ``2 / (n (n-1))`` resp. ``1 / (n (n-1))``.
    threads
        Number of workers (default: numba's).

    Returns
    -------
    nodes, edges
        Copies of the graph's frames with ``betweenness[_<r>]``,
        ``harmonic_closeness[_<r>]``, ``node_count[_<r>]``, ``farness[_<r>]`` (metres)
        on nodes and ``betweenness[_<r>]`` on edges (parallel streets: the shortest
        carries the paths, as in ``connectivity``).
    """
    arrays = graph_arrays(graph)
    out = centralities(arrays, radii, edge_betweenness=True, threads=threads)
    n = graph.n_nodes
    node_scale = edge_scale = 1.0
    if normalized:
        factor = 1.0 if graph.directed else 2.0
        node_scale = factor / ((n - 1) * (n - 2)) if n > 2 else 0.0
        edge_scale = factor / (n * (n - 1)) if n > 1 else 0.0
    nodes = graph.nodes.copy()
    edges = graph.edges.copy()
    for r in _check_radii(radii):
        label = radius_label(float(r))
        suffix = "" if label == "n" else f"_{label}"
        nodes[f"betweenness{suffix}"] = out[f"betweenness_{label}"] * node_scale
        nodes[f"harmonic_closeness{suffix}"] = out[f"harmonic_{label}"]
        nodes[f"node_count{suffix}"] = out[f"node_count_{label}"]
        nodes[f"farness{suffix}"] = out[f"farness_{label}"]
        edges[f"betweenness{suffix}"] = out[f"edge_betweenness_{label}"] * edge_scale
    return nodes, edges
