"""The centrality engine (vollsmose_gis.centrality) against hand calculations,
networkx, igraph, scipy and today's ``connectivity.centralities``."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csgraph
from shapely.geometry import LineString

pytest.importorskip("numba")

from vollsmose_gis._errors import InputError
from vollsmose_gis.centrality import (
    GraphArrays,
    centralities,
    graph_arrays,
    radius_label,
    street_centralities,
)
from vollsmose_gis.connectivity import centralities as igraph_centralities
from vollsmose_gis.network import graph_from_streets, walk_graph


def _streets(lines: list[list[tuple[float, float]]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"street_id": [f"s{i}" for i in range(len(lines))], "highway": "residential"},
        geometry=[LineString(c) for c in lines],
        crs="EPSG:25832",
    )


def _grid(side: int, spacing: float, *, jitter: float = 0.0, seed: int = 0) -> gpd.GeoDataFrame:
    """A grid of streets; jitter 0 gives many tied shortest paths."""
    rng = np.random.default_rng(seed)
    xy = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1) * spacing
    xy = xy + rng.normal(0, jitter, xy.shape) if jitter else xy
    lines = []
    for i in range(side):
        for j in range(side):
            if i + 1 < side:
                lines.append([tuple(xy[i, j]), tuple(xy[i + 1, j])])
            if j + 1 < side:
                lines.append([tuple(xy[i, j]), tuple(xy[i, j + 1])])
    return _streets(lines)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- by hand


def test_path_of_three_by_hand() -> None:
    # A --100 m-- B --150 m-- C
    graph = graph_from_streets(_streets([[(0, 0), (100, 0)], [(100, 0), (250, 0)]]), "walk")
    x = graph.node_xy[:, 0]
    a, b, c = (int(np.flatnonzero(x == v)[0]) for v in (0, 100, 250))
    out = centralities(graph_arrays(graph), [120, 200, None])
    # betweenness: only B is between, for the pair (A, C) at 250 m
    assert out["betweenness_n"][b] == 1.0 and out["betweenness_n"][[a, c]].sum() == 0.0
    assert out["betweenness_200"].sum() == 0.0  # A-C is 250 m > 200 m
    # closeness of A within 120 m: B only; radius n: B and C
    assert out["node_count_120"][a] == 1 and out["node_count_n"][a] == 2
    assert out["farness_n"][a] == 100 + 250
    assert out["harmonic_n"][a] == pytest.approx(1 / 100 + 1 / 250, rel=1e-15)
    assert out["harmonic_200"][b] == pytest.approx(1 / 100 + 1 / 150, rel=1e-15)
    assert out["node_count_120"][c] == 0 and out["harmonic_120"][c] == 0.0


def test_square_ties_by_hand() -> None:
    # a 100 m square: opposite corners are joined by two tied routes of 200 m
    sq = [(0, 0), (100, 0), (100, 100), (0, 100)]
    graph = graph_from_streets(_streets([[sq[i], sq[(i + 1) % 4]] for i in range(4)]), "walk")
    out = centralities(graph_arrays(graph), [150, None], edge_betweenness=True)
    # every corner lies on one of the two routes of one opposite pair: 1/2
    _close(out["betweenness_n"], [0.5] * 4)
    _close(out["betweenness_150"], [0.0] * 4)
    # edge: 2 adjacent pairs (itself, 1) + 2 opposite pairs through it (1/2 each) = 2
    _close(out["edge_betweenness_n"], [2.0] * 4)
    _close(out["edge_betweenness_150"], [1.0] * 4)
    _close(out["farness_n"], [400.0] * 4)


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize("jitter", [0.0, 7.0])
def test_equals_networkx_global(jitter: float) -> None:
    graph = graph_from_streets(_grid(7, 80.0, jitter=jitter, seed=3), "walk")
    ref = graph.to_networkx()
    nodes, edges = street_centralities(graph, [None])
    bc = nx.betweenness_centrality(ref, weight="length_m")
    _close(nodes["betweenness"], [bc[i] for i in range(graph.n_nodes)])
    hc = nx.harmonic_centrality(ref, distance="length_m")
    _close(nodes["harmonic_closeness"], [hc[i] for i in range(graph.n_nodes)])
    ebc = nx.edge_betweenness_centrality(ref, weight="length_m")
    expected = np.zeros(graph.n_edges)
    for (s, t), value in ebc.items():
        expected[ref.edges[s, t]["edge"]] += value
    _close(edges["betweenness"], expected)


def test_local_equals_igraph_and_scipy() -> None:
    graph = graph_from_streets(_grid(8, 60.0, jitter=5.0, seed=1), "walk")
    radii = [150.0, 300.0]
    out = centralities(graph_arrays(graph), radii)
    g = graph.to_igraph()
    w = g.es["length_m"]
    dist = csgraph.dijkstra(graph.csr, directed=True)
    for r in radii:
        label = radius_label(r)
        _close(
            out[f"betweenness_{label}"],
            np.asarray(g.betweenness(directed=False, cutoff=r, weights=w)),
        )
        within = (dist <= r) & (dist > 0)
        _close(out[f"node_count_{label}"], within.sum(axis=1))
        _close(out[f"farness_{label}"], np.where(within, dist, 0).sum(axis=1))
        with np.errstate(divide="ignore"):
            _close(out[f"harmonic_{label}"], np.where(within, 1 / dist, 0).sum(axis=1))


def test_directed_equals_networkx() -> None:
    # a one-way loop with a two-way spur: betweenness of the directed graph, in-closeness
    streets = _streets(
        [
            [(0, 0), (100, 0)],
            [(100, 0), (100, 100)],
            [(100, 100), (0, 100)],
            [(0, 100), (0, 0)],
            [(100, 0), (200, 0)],
        ]
    )
    streets["oneway"] = [True, True, True, True, False]
    streets["car"] = True
    graph = graph_from_streets(streets, "drive")
    nodes, _ = street_centralities(graph, [None, 250.0], normalized=False)
    ref = graph.to_networkx()
    bc = nx.betweenness_centrality(ref, weight="length_m", normalized=False)
    _close(nodes["betweenness"], [bc[i] for i in range(graph.n_nodes)])
    hc = nx.harmonic_centrality(ref, distance="length_m")  # in-closeness in networkx
    _close(nodes["harmonic_closeness"], [hc[i] for i in range(graph.n_nodes)])
    ig = graph.to_igraph()
    local = ig.betweenness(directed=True, cutoff=250.0, weights=ig.es["length_m"])
    _close(nodes["betweenness_250"], local)


def test_equals_connectivity_on_real_osm(osm_dir) -> None:
    from vollsmose_gis.sources.osm import district_from_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="auto")
    graph = walk_graph(district)
    assert graph.n_nodes > 900
    ours_n, ours_e = street_centralities(graph, [None, 400.0, 800.0])
    ref_n, ref_e = igraph_centralities(graph, radii=[400.0, 800.0])
    for column in ["betweenness", "harmonic_closeness", "betweenness_400", "betweenness_800",
                   "harmonic_closeness_400", "harmonic_closeness_800"]:  # fmt: skip
        _close(ours_n[column], ref_n[column])
    for column in ["betweenness", "betweenness_400", "betweenness_800"]:
        _close(ours_e[column], ref_e[column])
    assert ours_n["betweenness_800"].max() > 0.01  # not a trivially empty result


def test_drive_graph_equals_connectivity_on_real_osm(osm_dir) -> None:
    from vollsmose_gis.network import drive_graph
    from vollsmose_gis.sources.osm import district_from_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = district_from_osm(osm_dir / "West-Oakland.osm.bz2", crs="auto")
    graph = drive_graph(district)
    ours_n, ours_e = street_centralities(graph, [None, 300.0])
    ref_n, ref_e = igraph_centralities(graph, mode="drive", radii=[300.0])
    for column in [
        "betweenness",
        "harmonic_closeness",
        "betweenness_300",
        "harmonic_closeness_300",
    ]:
        _close(ours_n[column], ref_n[column])
    _close(ours_e["betweenness_300"], ref_e["betweenness_300"])
    assert ours_n["betweenness"].max() > 0


def test_threads_and_sources() -> None:
    graph = graph_from_streets(_grid(6, 50.0, jitter=3.0, seed=2), "walk")
    arrays = graph_arrays(graph)
    one = centralities(arrays, [120.0, None], threads=1)
    two = centralities(arrays, [120.0, None], threads=2)
    for key in one:
        _close(one[key], two[key])
    # betweenness from a subset of sources: igraph's "sources" variant
    sources = np.array([0, 5, 17])
    part = centralities(arrays, [None], sources=sources)
    g = graph.to_igraph()
    expected = np.asarray(
        g.betweenness(directed=True, weights=g.es["length_m"], sources=sources.tolist())
    )
    # both halve the sum over (source, target) pairs on an undirected graph
    _close(part["betweenness_n"], expected)
    assert part["betweenness_n"].max() > 1
    assert np.isnan(part["harmonic_n"][1]) and part["harmonic_n"][5] == pytest.approx(
        one["harmonic_n"][5], rel=1e-12
    )


def test_bad_input() -> None:
    graph = graph_from_streets(_grid(3, 50.0), "walk")
    arrays = graph_arrays(graph)
    for bad in ([0.0], [-5.0], [math.nan], []):
        with pytest.raises(InputError):
            centralities(arrays, bad)
    zero = GraphArrays(arrays.indptr, arrays.indices, arrays.cost, arrays.length * 0)
    with pytest.raises(InputError, match="zero-length"):
        centralities(zero, [None])
    with pytest.raises(InputError):
        centralities(arrays, [None], kind="topological")  # type: ignore[arg-type]
    lonlat = graph_from_streets(
        _streets([[(10.0, 55.0), (10.001, 55.0)]]).set_crs("EPSG:4326", allow_override=True),
        "walk",
        snap_tolerance_m=0.0,
    )
    with pytest.raises(InputError, match="geographic"):
        graph_arrays(lonlat)


def test_disconnected_parts() -> None:
    # two separate streets: nothing crosses between them
    lines = [[(0, 0), (100, 0)], [(500, 0), (600, 0)], [(600, 0), (700, 0)]]
    graph = graph_from_streets(_streets(lines), "walk")
    out = centralities(graph_arrays(graph), [None])
    assert sorted(out["node_count_n"].tolist()) == [1, 1, 2, 2, 2]
    assert out["betweenness_n"].sum() == 1.0  # the middle of the second street
