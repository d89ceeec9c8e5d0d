"""Street graphs: noding, snapping, one-way, routing helpers, cache, bad input."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from tests.factories import CRS
from vollsmose_gis import District, InputError
from vollsmose_gis.network import (
    LENGTH_QUANTUM_M,
    NoStreetsError,
    build_graph,
    drive_graph,
    graph_from_streets,
    sidewalk_mask,
    street_graph,
    walk_graph,
)


def street(street_id: str, coords: list[tuple[float, float]], **columns: object) -> dict:
    row = {"street_id": street_id, "highway": "residential", "geometry": LineString(coords)}
    row.update(columns)
    return row


def streets(*rows: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(list(rows), geometry="geometry", crs=CRS)


def district(*rows: dict, boundary=None) -> District:
    return District.create(
        "test", boundary if boundary is not None else box(-500, -500, 500, 500),
        crs=CRS, streets=streets(*rows),
    )  # fmt: skip


def node_at(graph, x: float, y: float) -> int:
    d = np.hypot(graph.node_xy[:, 0] - x, graph.node_xy[:, 1] - y)
    assert d.min() < 1e-6, f"no node at ({x}, {y}); nearest is {d.min():.3f} m away"
    return int(d.argmin())


# ------------------------------------------------------------------ noding


def test_crossing_lines_are_split_at_the_crossing() -> None:
    g = graph_from_streets(
        streets(street("a", [(0, 0), (100, 0)]), street("b", [(50, -50), (50, 50)]))
    )
    assert g.n_nodes == 5 and g.n_edges == 4
    centre = node_at(g, 50, 0)
    assert g.nodes.loc[centre, "degree"] == 4
    assert sorted(g.edges["length_m"]) == [50.0] * 4
    assert sorted(g.edges["street_id"]) == ["a", "a", "b", "b"]
    # Every piece starts and ends at its nodes.
    for row in g.edges.itertuples():
        assert Point(row.geometry.coords[0]).distance(g.nodes.geometry[row.u]) == 0
        assert Point(row.geometry.coords[-1]).distance(g.nodes.geometry[row.v]) == 0


def test_near_miss_endpoints_are_merged_within_tolerance_only() -> None:
    rows = (street("a", [(0, 0), (100, 0)]), street("b", [(100.6, 0.3), (200, 0)]))
    merged = graph_from_streets(streets(*rows), snap_tolerance_m=1.0)
    assert merged.n_nodes == 3
    middle = int(np.argmax(merged.nodes["degree"].to_numpy()))
    assert merged.nodes.loc[middle, "degree"] == 2
    assert merged.node_xy[middle] == pytest.approx([100.3, 0.15])
    apart = graph_from_streets(streets(*rows), snap_tolerance_m=0.5)
    assert apart.n_nodes == 4
    assert (apart.nodes["degree"] == 1).all()


def test_near_miss_t_junction_is_snapped_onto_the_street_and_splits_it() -> None:
    rows = (street("main", [(0, 0), (100, 0)]), street("side", [(40, 50), (40, 0.8)]))
    g = graph_from_streets(streets(*rows), snap_tolerance_m=1.0)
    junction = node_at(g, 40, 0)
    assert g.nodes.loc[junction, "degree"] == 3
    lengths = sorted(g.edges["length_m"])
    assert lengths == [40.0, 50.0, 60.0]
    d = g.distances(node_at(g, 40, 50))
    assert d[node_at(g, 0, 0)] == 90.0 and d[node_at(g, 100, 0)] == 110.0
    # With no tolerance the side street stays a separate component.
    apart = graph_from_streets(streets(*rows), snap_tolerance_m=0.0)
    assert len(np.unique(apart.components())) == 2


def test_bridge_is_not_joined_to_the_street_it_crosses_but_to_its_landings() -> None:
    rows = (
        street("road", [(0, 0), (100, 0)]),
        street("bridge", [(50, -30), (50, 30)], highway="footway", bridge=True),
        street("ramp_s", [(50, -30), (50, -60)], highway="footway"),
        street("under", [(20, 40), (20, 0.5)], highway="footway", tunnel=False),
    )
    g = graph_from_streets(streets(*rows))
    # No node where the bridge passes over the road.
    assert not np.any(np.hypot(g.node_xy[:, 0] - 50, g.node_xy[:, 1]) < 1)
    bridge_edges = g.edges[g.edges["street_id"] == "bridge"]
    assert len(bridge_edges) == 1 and bool(bridge_edges["bridge"].iloc[0])
    # ... but it is joined to the ramp at its landing.
    landing = node_at(g, 50, -30)
    assert g.nodes.loc[landing, "degree"] == 2
    labels = g.components()
    assert labels[node_at(g, 50, 30)] == labels[node_at(g, 50, -60)]
    assert labels[node_at(g, 50, 30)] != labels[node_at(g, 0, 0)]
    # An ordinary street is snapped onto the road (not a bridge) near its end.
    assert g.nodes.loc[node_at(g, 20, 0), "degree"] == 3


def test_street_ending_under_a_bridge_is_not_snapped_onto_it() -> None:
    rows = (
        street("bridge", [(0, 0), (100, 0)], highway="footway", bridge=True),
        street("path", [(40, 50), (40, 0.5)], highway="footway"),
    )
    g = graph_from_streets(streets(*rows))
    assert g.n_nodes == 4
    assert len(np.unique(g.components())) == 2


def test_bridge_end_landing_on_a_street_splits_the_street() -> None:
    rows = (
        street("road", [(0, 0), (100, 0)]),
        street("bridge", [(30, 0), (30, 80)], highway="footway", bridge=True),
    )
    g = graph_from_streets(streets(*rows))
    assert g.nodes.loc[node_at(g, 30, 0), "degree"] == 3


def test_drive_graph_respects_oneway_and_walk_ignores_it() -> None:
    rows = (
        street("one", [(0, 0), (100, 0)], oneway=True),
        street("two", [(100, 0), (100, 100), (0, 100), (0, 0)]),
        street("path", [(0, 0), (-50, 0)], highway="footway"),
    )
    d = district(*rows)
    drive = drive_graph(d)
    a, b = node_at(drive, 0, 0), node_at(drive, 100, 0)
    assert drive.directed
    assert drive.distances(a)[b] == 100.0
    assert drive.distances(b)[a] == 300.0
    assert drive.distances(a, reverse=True)[b] == 300.0
    assert not np.any(np.hypot(drive.node_xy[:, 0] + 50, drive.node_xy[:, 1]) < 1)
    walk = walk_graph(d)
    assert not walk.directed
    assert walk.distances(node_at(walk, 100, 0))[node_at(walk, 0, 0)] == 100.0
    assert walk.n_nodes == 3
    ref = drive.to_networkx()
    assert isinstance(ref, nx.DiGraph)
    assert nx.shortest_path_length(ref, b, a, weight="length_m") == 300.0


def test_lengths_are_quantised_and_parallel_streets_collapse_to_the_shortest() -> None:
    rows = (
        street("straight", [(0, 0), (math.pi * 10, 0)]),
        street("detour", [(0, 0), (15, 20), (math.pi * 10, 0)]),
        street("loop", [(0, 0), (-10, 10), (-10, -10), (0, 0)]),
    )
    g = graph_from_streets(streets(*rows))
    assert g.n_edges == 3 and g.n_nodes == 2
    q = g.edge_length_m / LENGTH_QUANTUM_M
    assert np.array_equal(q, np.round(q))
    assert abs(g.edge_length_m[0] - math.pi * 10) <= LENGTH_QUANTUM_M / 2
    assert len(g.arcs) == 1 and g.arcs["edge"].iloc[0] == 0
    origin = node_at(g, 0, 0)
    assert g.nodes.loc[origin, "degree"] == 4  # two parallels + both ends of the loop
    ref = g.to_networkx()
    assert ref.number_of_edges() == 1


# ------------------------------------------------------------------ snapping, routing


def test_snap_and_point_distances_by_hand() -> None:
    rows = (
        street("a", [(0, 0), (100, 0)]),
        street("b", [(100, 0), (100, 100)]),
    )
    g = graph_from_streets(streets(*rows))
    pts = gpd.GeoSeries([Point(30, 5), Point(104, 60), Point(500, 500)], crs=CRS)
    snapped = g.snap(pts, max_distance_m=50)
    assert snapped.valid.tolist() == [True, True, False]
    assert snapped.offset_m[:2] == pytest.approx([5, 4])
    assert g.edges["street_id"].to_numpy()[snapped.edge[:2]].tolist() == ["a", "b"]
    assert snapped.node[0] == node_at(g, 0, 0)
    assert snapped.node[1] == node_at(g, 100, 100)
    d = g.point_distances(snapped, snapped)
    # 30,5 -> 104,60: 5 + 70 + 60 + 4
    assert d[0, 1] == pytest.approx(139.0)
    assert d[1, 0] == pytest.approx(139.0)
    assert d[0, 0] == pytest.approx(10.0)  # to the street and back
    assert np.isnan(d[2]).all() and np.isnan(d[:, 2]).all()
    assert g.point_distances(snapped, snapped, limit_m=100)[0, 1] == np.inf
    assert g.point_distances(snapped, snapped, include_access=False)[0, 1] == pytest.approx(130)


def test_point_distances_on_a_oneway_edge() -> None:
    rows = (
        street("one", [(0, 0), (100, 0)], oneway=True),
        street("back", [(100, 0), (100, 50), (0, 50), (0, 0)]),
    )
    g = drive_graph(district(*rows))
    pts = g.snap([Point(20, 0), Point(80, 0)])
    d = g.point_distances(pts, pts)
    assert d[0, 1] == pytest.approx(60.0)  # forward along the one-way edge
    assert d[1, 0] == pytest.approx(20 + 200 + 20)  # round the block


def test_distances_multi_source_and_limit() -> None:
    g = graph_from_streets(
        streets(street("a", [(0, 0), (300, 0)]), street("b", [(100, 0), (100, 50)]))
    )
    ends = [node_at(g, 0, 0), node_at(g, 300, 0)]
    nearest = g.distances(ends, min_only=True)
    assert nearest[node_at(g, 100, 50)] == 150.0
    limited = g.distances(ends[0], limit_m=120)
    assert limited[node_at(g, 100, 0)] == 100.0 and limited[node_at(g, 300, 0)] == np.inf
    assert g.distances(ends).shape == (2, g.n_nodes)


def test_split_edges_inserts_nodes_without_changing_distances() -> None:
    g = graph_from_streets(
        streets(street("a", [(0, 0), (100, 0)]), street("b", [(100, 0), (100, 100)]))
    )
    split, node = g.split_edges([Point(25, 3), Point(100, 60), Point(0, 0.0001), Point(900, 0)],
                                max_distance_m=10)  # fmt: skip
    assert node[2] == node_at(g, 0, 0) and node[3] == -1
    assert node[0] >= g.n_nodes and node[1] >= g.n_nodes
    assert split.n_nodes == g.n_nodes + 2 and split.n_edges == g.n_edges + 2
    assert split.distances(node[0])[node[1]] == pytest.approx(75 + 60)
    a, b = node_at(g, 0, 0), node_at(g, 100, 100)
    assert split.distances(a)[b] == g.distances(a)[b]
    assert set(split.edges["street_id"]) == {"a", "b"}


def test_with_links_adds_two_way_edges_between_nodes() -> None:
    g = graph_from_streets(streets(street("a", [(0, 0), (100, 0), (100, 100)])))
    linked = g.with_links([LineString([(0, 0), (100, 100)])])
    assert linked.distances(node_at(g, 0, 0))[node_at(g, 100, 100)] == pytest.approx(
        math.hypot(100, 100), abs=LENGTH_QUANTUM_M
    )
    with pytest.raises(InputError, match="link 0"):
        g.with_links([LineString([(0, 0), (50, 50)])])


# ------------------------------------------------------------------ cache, bad input


def test_graph_is_cached_by_streets_content() -> None:
    rows = (street("a", [(0, 0), (100, 0)]),)
    d1, d2 = district(*rows), district(*rows)
    assert build_graph(d1) is build_graph(d2)  # same content, other object
    assert walk_graph(d1) is not drive_graph(d1)
    other = district(street("a", [(0, 0), (120, 0)]))
    assert walk_graph(other) is not walk_graph(d1)
    moved = d1.replace(boundary=box(0, 0, 10, 10))
    assert walk_graph(moved) is walk_graph(d1)  # the boundary does not change the graph


def test_empty_streets_layer_is_a_clear_error() -> None:
    d = District.create("empty", box(0, 0, 10, 10), crs=CRS)
    with pytest.raises(NoStreetsError, match="streets layer is empty"):
        walk_graph(d)


def test_no_walkable_street_is_a_clear_error() -> None:
    d = district(street("m", [(0, 0), (1000, 0)], highway="motorway"))
    with pytest.raises(NoStreetsError, match=r"no street .* open to mode 'walk'"):
        walk_graph(d)
    assert drive_graph(d).n_edges == 1
    with pytest.raises(InputError, match="mode must be one of"):
        build_graph(d, "fly")
    with pytest.raises(InputError, match="snap_tolerance_m"):
        build_graph(d, "drive", snap_tolerance_m=-1)


def test_missing_access_values_fall_back_to_highway_defaults() -> None:
    rows = streets(street("f", [(0, 0), (10, 0)], highway="footway"),
                   street("t", [(10, 0), (20, 0)], highway="trunk"))  # fmt: skip
    rows["walk"] = None
    rows["car"] = None
    assert graph_from_streets(rows, "walk").n_edges == 1
    assert set(graph_from_streets(rows, "drive").edges["street_id"]) == {"t"}


def test_street_graph_leaves_out_sidewalks_and_keeps_roads_closed_to_walking() -> None:
    d = district(
        street("road", [(0, 0), (200, 0)], walk=False),  # foot=use_sidepath: a sidewalk
        street("side", [(0, 8), (200, 8)], highway="footway", footway="sidewalk"),
        street("cross", [(100, 8), (100, 0), (100, -8)], highway="footway", footway="crossing"),
        street("lane", [(50, 0), (50, -100)]),
        street("path", [(150, 8), (150, 100)], highway="footway"),
    )
    walk = walk_graph(d)
    streets_only = street_graph(d)
    # Walk graph: road excluded; sidewalk split at the crossing (100, 8) and the path (150, 8).
    assert set(walk.edges["street_id"]) == {"side", "cross", "lane", "path"}
    # Street network: the road (closed to walking, but its sidewalk walks beside it) and
    # the lane and the path; no sidewalk or crossing.
    assert set(streets_only.edges["street_id"]) == {"road", "lane", "path"}
    assert streets_only.n_edges == 4  # the road split at the lane's end (50, 0)
    assert street_graph(d) is streets_only  # cached
    # Without sidewalks, the street network is the walk graph itself.
    plain = district(street("a", [(0, 0), (100, 0)]), street("b", [(50, 0), (50, 50)]))
    assert street_graph(plain) is walk_graph(plain)
    assert not sidewalk_mask(plain.streets).any()
    assert list(sidewalk_mask(d.streets)) == [False, True, True, False, False]


def test_street_graph_of_sidewalks_only_is_a_clear_error() -> None:
    d = district(street("side", [(0, 8), (200, 8)], highway="footway", footway="sidewalk"))
    with pytest.raises(NoStreetsError, match="sidewalk or crossing"):
        street_graph(d)
