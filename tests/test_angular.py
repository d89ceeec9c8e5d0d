"""Angular segment analysis (vollsmose_gis.angular): hand-computed graphs, networkx on
the dual graph, and cityseer's ``node_centrality_simplest``.

Depths are in units of 90 degrees (a right-angle turn = 1); NC includes the origin,
choice counts ordered pairs (depthmapX), NAIN = NC**1.2 / (TD + 2),
NACH = ln(CH + 1) / ln(TD + 3).
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, box

pytest.importorskip("numba")

from vollsmose_gis._errors import InputError
from vollsmose_gis.angular import ANGLE_QUANTUM, angular_analysis, segment_map
from vollsmose_gis.network import graph_from_streets, street_graph


def _graph(lines: dict[str, list[tuple[float, float]]]):  # type: ignore[no-untyped-def]
    streets = gpd.GeoDataFrame(
        {"street_id": list(lines), "highway": "footway"},
        geometry=[LineString(c) for c in lines.values()],
        crs="EPSG:25832",
    )
    return graph_from_streets(streets, "walk")


def _by_name(frame: gpd.GeoDataFrame, graph, column: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    names = graph.edges["street_id"].to_numpy()[frame["edge"].to_numpy()]
    return dict(zip(names, frame[column].to_numpy(), strict=True))


def _check(values: dict[str, float], expected: dict[str, float]) -> None:
    assert set(values) == set(expected)
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


# --------------------------------------------------------------------------- by hand

CROSS = {
    f"{arm}{k}": [(dx * 100 * (k - 1), dy * 100 * (k - 1)), (dx * 100 * k, dy * 100 * k)]
    for arm, (dx, dy) in {"N": (0, 1), "E": (1, 0), "S": (0, -1), "W": (-1, 0)}.items()
    for k in (1, 2)
}
"""A cross of four arms, each two 100 m segments (inner X1, outer X2)."""


def test_cross_by_hand() -> None:
    graph = _graph(CROSS)
    frame = angular_analysis(graph, [200.0, None])
    # From any segment: 3 segments straight on (depth 0), 4 round a right angle (1).
    _check(_by_name(frame, graph, "node_count_n"), dict.fromkeys(CROSS, 8.0))
    _check(_by_name(frame, graph, "total_depth_n"), dict.fromkeys(CROSS, 4.0))
    _check(_by_name(frame, graph, "integration_n"), dict.fromkeys(CROSS, 64 / 4))
    _check(_by_name(frame, graph, "nain_n"), dict.fromkeys(CROSS, 8**1.2 / 6))
    # An inner segment X1 lies between X2 and the 6 others, both ways: CH = 12.
    choice = {name: 12.0 if name.endswith("1") else 0.0 for name in CROSS}
    _check(_by_name(frame, graph, "choice_n"), choice)
    nach = {name: math.log(13) / math.log(7) if name.endswith("1") else 0.0 for name in CROSS}
    _check(_by_name(frame, graph, "nach_n"), nach)
    # Radius 200 m (midpoint to midpoint): from N2, N1 (100 m), S1, E1, W1 (200 m)
    # are in, the other outer ones (300 m) out: NC 5, TD 0 + 0 + 1 + 1.
    nc = _by_name(frame, graph, "node_count_200")
    td = _by_name(frame, graph, "total_depth_200")
    assert (nc["N2"], td["N2"], nc["N1"], td["N1"]) == (5, 2, 8, 4)
    # pairs within 200 m through N1: (N2, S1), (N2, E1), (N2, W1), both ways
    assert _by_name(frame, graph, "choice_200")["N1"] == 6
    assert _by_name(frame, graph, "nain_200")["N2"] == pytest.approx(5**1.2 / 4, rel=1e-12)


SQUARE_DIAGONAL = {
    "B": [(0, 0), (100, 0)],
    "R": [(100, 0), (100, 100)],
    "T": [(0, 100), (100, 100)],
    "L": [(0, 0), (0, 100)],
    "D": [(0, 0), (100, 100)],
}
"""A square block with a diagonal: a grid cell with a short cut."""


def test_grid_with_diagonal_by_hand() -> None:
    graph = _graph(SQUARE_DIAGONAL)
    frame = angular_analysis(graph, [199.0, None])
    # From B: R and L at 1 (right angles), D at 1.5 (135 degrees), T at 2 by two
    # equally simple and equally long routes (via R, via L; the diagonal costs 3).
    # By symmetry every side has TD 5.5; D meets every side at 135 degrees: TD 6.
    td = {"B": 5.5, "R": 5.5, "T": 5.5, "L": 5.5, "D": 6.0}
    _check(_by_name(frame, graph, "total_depth_n"), td)
    # (B, T) splits between R and L, (L, R) between B and T; both ways: CH 1 each.
    choice = {"B": 1.0, "R": 1.0, "T": 1.0, "L": 1.0, "D": 0.0}
    _check(_by_name(frame, graph, "choice_n"), choice)
    _check(_by_name(frame, graph, "nain_n"), {k: 5**1.2 / (v + 2) for k, v in td.items()})
    _check(
        _by_name(frame, graph, "nach_n"),
        {k: math.log(choice[k] + 1) / math.log(v + 3) for k, v in td.items()},
    )
    # Within 199 m, B no longer reaches T (200 m midpoint to midpoint): TD 3.5, NC 4,
    # and no pair has an intermediate segment.
    assert _by_name(frame, graph, "total_depth_199")["B"] == 3.5
    assert _by_name(frame, graph, "node_count_199")["B"] == 4
    assert frame["choice_199"].sum() == 0


RING_SPUR = {
    "B": [(0, 0), (100, 0)],
    "R": [(100, 0), (100, 100)],
    "T": [(0, 100), (100, 100)],
    "L": [(0, 0), (0, 100)],
    "S": [(0, 0), (0, -100)],
}
"""A ring (square) with a spur S continuing the side L southwards."""


def test_ring_with_spur_by_hand() -> None:
    graph = _graph(RING_SPUR)
    frame = angular_analysis(graph, [None])
    # From S: L straight on (0), B (1), T via L (1), R at 2 by two equally simple
    # routes, via B (200 m) and via L, T (300 m): the shorter one is taken.
    # TD: S 0+1+1+2 = 4; B 1+1+1+2 = 5; L 0+1+1+2 = 4; T 1+1+2+1 = 5; R 1+1+2+2 = 6.
    td = {"S": 4.0, "B": 5.0, "L": 4.0, "T": 5.0, "R": 6.0}
    _check(_by_name(frame, graph, "total_depth_n"), td)
    # Choice (ordered pairs): (S, R) via B: B +2; (S, T) via L: L +2; (B, T) split
    # L/R: +1 each; (L, R) split B/T: +1 each.
    choice = {"S": 0.0, "B": 3.0, "L": 3.0, "T": 1.0, "R": 1.0}
    _check(_by_name(frame, graph, "choice_n"), choice)
    assert _by_name(frame, graph, "nach_n")["B"] == pytest.approx(2 / 3, rel=1e-12)  # ln4/ln8
    assert _by_name(frame, graph, "nach_n")["T"] == pytest.approx(1 / 3, rel=1e-12)  # ln2/ln8
    assert _by_name(frame, graph, "nain_n")["R"] == pytest.approx(5**1.2 / 8, rel=1e-12)
    _check(_by_name(frame, graph, "mean_depth_n"), {k: v / 4 for k, v in td.items()})


def test_bent_segment_counts_its_bend() -> None:
    # A turns 90 degrees at (60, 0), in its half nearer (0, 0) (length 160 m).
    graph = _graph(
        {"A": [(0, 0), (60, 0), (60, 100)], "B": [(60, 100), (60, 200)], "C": [(0, 0), (-100, 0)]}
    )
    frame = angular_analysis(graph, [None])
    # C -> A straight at (0, 0) but A bends once before its midpoint: 1; A -> B: 0.
    _check(_by_name(frame, graph, "total_depth_n"), {"A": 1.0, "B": 1.0, "C": 2.0})


# --------------------------------------------------------------------------- networkx


def _bearing_turn(ax: float, ay: float, bx: float, by: float) -> float:
    """Turn (90 degrees = 1) from heading a to heading b, by bearings."""
    diff = math.degrees(math.atan2(by, bx) - math.atan2(ay, ax))
    return abs((diff + 180.0) % 360.0 - 180.0) / 90.0


def _state_digraph(graph) -> tuple[nx.DiGraph, int]:  # type: ignore[no-untyped-def]
    """The directed dual (segment, heading) with integer weights, built independently.

    Weight = angle quanta * 2**40 + length in 1/2048 m (exact integers): the
    lexicographic (angle, length) order of the module.  SRC_i / SNK_i join both
    states of segment i with weight 0.  Straight segments only.
    """
    edges = graph.edges
    n = len(edges)
    ends: dict[int, list[tuple[int, int, float, float]]] = {}
    for i, (u, v, geom) in enumerate(zip(edges["u"], edges["v"], edges.geometry, strict=True)):
        (x0, y0), (x1, y1) = geom.coords[0], geom.coords[-1]
        assert len(geom.coords) == 2
        ends.setdefault(int(u), []).append((i, 0, x1 - x0, y1 - y0))  # leaving u
        ends.setdefault(int(v), []).append((i, 1, x0 - x1, y0 - y1))  # leaving v
    length = edges["length_m"].to_numpy()
    g = nx.DiGraph()
    for i in range(n):
        for e in (0, 1):
            g.add_edge(("SRC", i), (i, e), weight=0)
            g.add_edge((i, e), ("SNK", i), weight=0)
    for incident in ends.values():
        for a, end_a, ax, ay in incident:
            for b, end_b, bx, by in incident:
                if a == b:
                    continue
                turn = _bearing_turn(-ax, -ay, bx, by)  # arrive along a, leave along b
                quanta = round(turn / ANGLE_QUANTUM)
                half = round((length[a] + length[b]) * 1024)  # (La + Lb) / 2 in 1/2048 m
                g.add_edge((a, end_a), (b, 1 - end_b), weight=quanta * 2**40 + half)
    return g, n


def test_equals_networkx_on_directed_dual() -> None:
    # a jittered 5 x 5 grid with two diagonals: many junction shapes, some ties
    rng = np.random.default_rng(7)
    xy = np.stack(np.meshgrid(np.arange(5), np.arange(5), indexing="ij"), -1) * 80.0
    xy = xy + rng.normal(0, 6.0, xy.shape)
    lines = {}
    for i in range(5):
        for j in range(5):
            if i + 1 < 5:
                lines[f"h{i}{j}"] = [tuple(xy[i, j]), tuple(xy[i + 1, j])]
            if j + 1 < 5:
                lines[f"v{i}{j}"] = [tuple(xy[i, j]), tuple(xy[i, j + 1])]
    lines["d1"] = [tuple(xy[0, 0]), tuple(xy[1, 1])]
    lines["d2"] = [tuple(xy[3, 1]), tuple(xy[4, 0])]
    graph = _graph(lines)
    frame = angular_analysis(graph, [None])
    g, n = _state_digraph(graph)
    depth = np.zeros(n)
    count = np.zeros(n)
    for i in range(n):
        dist = nx.single_source_dijkstra_path_length(g, ("SRC", i))
        for j in range(n):
            if j != i and ("SNK", j) in dist:
                depth[i] += (dist[("SNK", j)] >> 40) * ANGLE_QUANTUM
                count[i] += 1
    np.testing.assert_allclose(frame["total_depth_n"], depth, rtol=1e-12)
    np.testing.assert_array_equal(frame["node_count_n"], count + 1)
    sources = [("SRC", i) for i in range(n)]
    targets = [("SNK", i) for i in range(n)]
    bc = nx.betweenness_centrality_subset(g, sources, targets, normalized=False, weight="weight")
    # Every pair (SRC_i, SNK_j) also credits the states of i and j, and (SRC_i, SNK_i)
    # credits i once: subtract 2 (NC - 1) + 1.
    per_segment = np.array([bc[(i, 0)] + bc[(i, 1)] for i in range(n)]) - 2 * count - 1
    np.testing.assert_allclose(frame["choice_n"], per_segment, rtol=1e-9, atol=1e-9)
    assert frame["choice_n"].max() > 50


def test_depths_equal_networkx_on_plain_dual() -> None:
    # The plain dual (segments as nodes, angle weights): equal to ours where no route
    # "sidesteps" through a third segment at one junction (true of these graphs).
    for lines in (CROSS, SQUARE_DIAGONAL, RING_SPUR):
        graph = _graph(lines)
        frame = angular_analysis(graph, [None])
        dual = nx.Graph()
        edges = graph.edges
        for a in range(len(edges)):
            for b in range(a + 1, len(edges)):
                ga, gb = edges.geometry.iloc[a], edges.geometry.iloc[b]
                shared = {edges["u"].iloc[a], edges["v"].iloc[a]} & {
                    edges["u"].iloc[b],
                    edges["v"].iloc[b],
                }
                for node in shared:
                    pa = ga.coords[0] if edges["u"].iloc[a] == node else ga.coords[-1]
                    qa = ga.coords[-1] if edges["u"].iloc[a] == node else ga.coords[0]
                    pb = gb.coords[0] if edges["u"].iloc[b] == node else gb.coords[-1]
                    qb = gb.coords[-1] if edges["u"].iloc[b] == node else gb.coords[0]
                    turn = _bearing_turn(pa[0] - qa[0], pa[1] - qa[1], qb[0] - pb[0], qb[1] - pb[1])
                    dual.add_edge(a, b, weight=turn)
        expected = [
            sum(nx.single_source_dijkstra_path_length(dual, a).values()) for a in range(len(edges))
        ]
        np.testing.assert_allclose(frame["total_depth_n"], expected, rtol=1e-9)


# --------------------------------------------------------------------------- cityseer


def _cityseer(graph, distances: list[int]):  # type: ignore[no-untyped-def]
    """cityseer's node_centrality_simplest on the dual of the same graph, in our order."""
    from cityseer.metrics import networks
    from cityseer.tools import graphs, io
    from scipy.spatial import cKDTree

    g = nx.MultiGraph()
    g.graph["crs"] = graph.crs
    for i, (x, y) in enumerate(graph.node_xy):
        g.add_node(str(i), x=float(x), y=float(y))
    for u, v, geom in zip(graph.edge_u, graph.edge_v, graph.edges.geometry, strict=True):
        g.add_edge(str(u), str(v), geom=geom)
    nodes, _, structure = io.network_structure_from_nx(graphs.nx_to_dual(g))
    out = networks.node_centrality_simplest(
        structure, nodes, distances=distances, angular_scaling_unit=90, farness_scaling_offset=1
    )
    mid = np.array([[p.x, p.y] for p in graph.edges.geometry.interpolate(0.5, normalized=True)])
    gap, index = cKDTree(out[["x", "y"]].to_numpy()).query(mid)
    assert gap.max() < 1e-6
    return out.iloc[index]


def test_against_cityseer_simplest() -> None:
    pytest.importorskip("cityseer")
    rng = np.random.default_rng(11)
    xy = np.stack(np.meshgrid(np.arange(6), np.arange(6), indexing="ij"), -1) * 90.0
    xy = xy + rng.normal(0, 8.0, xy.shape)
    lines = {}
    for i in range(6):
        for j in range(6):
            if i + 1 < 6:
                lines[f"h{i}{j}"] = [tuple(xy[i, j]), tuple(xy[i + 1, j])]
            if j + 1 < 6:
                lines[f"v{i}{j}"] = [tuple(xy[i, j]), tuple(xy[i, j + 1])]
    graph = _graph(lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = _cityseer(graph, [400, 100000])
    ours = angular_analysis(graph, [400.0, 100000.0])
    for r in ("400", "100000"):
        # closeness: cityseer farness_ang = sum (1 + depth); density excludes the origin
        np.testing.assert_array_equal(ours[f"node_count_{r}"] - 1, cs[f"cc_density_{r}_ang"])
        td = cs[f"cc_farness_{r}_ang"] - cs[f"cc_density_{r}_ang"]
        np.testing.assert_allclose(ours[f"total_depth_{r}"], td, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(ours[f"harmonic_{r}"], cs[f"cc_harmonic_{r}_ang"], rtol=1e-5)
    # choice: cityseer counts each pair once and treats routes within 0.01 % of the
    # least angle as tied (f32); on a jittered grid ties are rare and choice agrees
    # to within a few shared paths.
    ours_c = ours["choice_100000"].to_numpy()
    theirs = 2 * cs["cc_betweenness_100000_ang"].to_numpy()
    assert np.corrcoef(ours_c, theirs)[0, 1] > 0.999
    assert np.abs(ours_c - theirs).max() <= 0.02 * ours_c.max()


def test_square_with_diagonal_equals_cityseer() -> None:
    pytest.importorskip("cityseer")
    graph = _graph(SQUARE_DIAGONAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = _cityseer(graph, [100000])
    ours = angular_analysis(graph, [100000.0])
    np.testing.assert_allclose(ours["choice_100000"], 2 * cs["cc_betweenness_100000_ang"])
    td = cs["cc_farness_100000_ang"] - cs["cc_density_100000_ang"]
    np.testing.assert_allclose(ours["total_depth_100000"], td, rtol=1e-5)


# --------------------------------------------------------------------------- input


def test_bad_input_and_degenerate_segments() -> None:
    graph = _graph(RING_SPUR)
    with pytest.raises(InputError):
        angular_analysis(graph, [0.0])
    with pytest.raises(InputError):
        angular_analysis(graph, [-400.0])
    lonlat = graph_from_streets(
        gpd.GeoDataFrame(
            {"street_id": ["a"], "highway": "footway"},
            geometry=[LineString([(10.0, 55.0), (10.001, 55.0)])],
            crs="EPSG:4326",
        ),
        "walk",
        snap_tolerance_m=0.0,
    )
    with pytest.raises(InputError, match="geographic"):
        segment_map(lonlat)
    # an isolated segment: NC 1, TD 0 -> NAIN 1 / 2, NACH 0, integration undefined
    alone = angular_analysis(_graph({"A": [(0, 0), (100, 0)]}), [None])
    assert alone["node_count_n"].tolist() == [1.0] and alone["nain_n"].tolist() == [0.5]
    assert alone["nach_n"].tolist() == [0.0] and np.isnan(alone["integration_n"]).all()
    # a loop (a segment returning to its junction) is entered from either end
    loop = _graph({"A": [(0, 0), (100, 0)], "O": [(100, 0), (150, 50), (150, -50), (100, 0)]})
    smap = segment_map(loop)
    assert smap.n_segments == 2
    frame = angular_analysis(smap, [None])
    assert (frame["node_count_n"] == 2).all()


def test_angular_indicators_ratio(osm_dir) -> None:
    from vollsmose_gis.angular import angular_indicators
    from vollsmose_gis.sources.osm import district_from_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="auto")
    minx, miny, maxx, maxy = district.boundary.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    inner = district.replace(boundary=box(cx - 300, cy - 300, cx + 300, cy + 300))
    out = angular_indicators(inner, radii=[800.0], surroundings_m=400.0)
    assert out["segments_inside"] > 20 and out["segments_surroundings"] > 20
    frame = angular_analysis(street_graph(inner), [800.0])
    mid = frame.geometry.interpolate(0.5, normalized=True)
    inside = mid.within(box(cx - 300, cy - 300, cx + 300, cy + 300))
    w = frame["length_m"]
    expected = np.average(frame["nain_800"][inside], weights=w[inside])
    assert out["nain_inside_800"] == pytest.approx(expected, rel=1e-12)
    assert out["nain_ratio_800"] == pytest.approx(
        out["nain_inside_800"] / out["nain_surroundings_800"], rel=1e-12
    )
