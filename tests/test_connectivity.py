"""Connectivity indicators, centralities (vs networkx) and the link optimiser."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from networkx.algorithms.centrality.betweenness import _single_source_dijkstra_path_basic
from shapely.geometry import LineString, box

from tests.conftest import skip_or_fail
from tests.factories import CRS
from vollsmose_gis import District, InputError
from vollsmose_gis.analysis import Plan
from vollsmose_gis.connectivity import (
    ConnectivityWarning,
    LinkPlan,
    add_links,
    centralities,
    consolidate_nodes,
    home_access,
    indicators,
    network_structure,
    suggest_links,
)
from vollsmose_gis.district import Settings
from vollsmose_gis.network import NoStreetsError, StreetGraph, build_graph, walk_graph


def street(street_id: str, coords: list[tuple[float, float]], **columns: object) -> dict:
    row = {"street_id": street_id, "highway": "residential", "geometry": LineString(coords)}
    row.update(columns)
    return row


def home(building_id: str, x: float, y: float, dwellings: int) -> dict:
    return {
        "building_id": building_id,
        "use": "residential",
        "dwellings": dwellings,
        "geometry": box(x - 2, y - 2, x + 2, y + 2),
    }


def make(streets: list[dict], boundary, buildings: list[dict] | None = None, **layers) -> District:
    parts = {"streets": gpd.GeoDataFrame(streets, geometry="geometry", crs=CRS)}
    if buildings:
        parts["buildings"] = gpd.GeoDataFrame(buildings, geometry="geometry", crs=CRS)
    parts.update(layers)
    return District.create("test", boundary, crs=CRS, **parts)


# ------------------------------------------------------------------ hand-built graphs


def grid() -> District:
    """4 x 4 intersections 100 m apart, every street running 50 m past the boundary."""
    rows = []
    for k, c in enumerate([0, 100, 200, 300]):
        rows.append(street(f"v{k}", [(c, -50), (c, 350)]))
        rows.append(street(f"h{k}", [(-50, c), (350, c)]))
    return make(rows, box(-25, -25, 325, 325))


def cul_de_sac_tree() -> District:
    """A spine entering from the west with four branches ending in culs-de-sac."""
    rows = [
        street("spine", [(-100, 0), (300, 0)]),
        street("b1", [(100, 0), (100, 100)]),
        street("b2", [(100, 0), (100, -100)]),
        street("b3", [(200, 0), (200, 100)]),
        street("b4", [(200, -100), (200, 0)]),
    ]
    return make(rows, box(0, -150, 350, 150))


def ring() -> District:
    """A square ring road (drawn as one closed line) with four radial streets out."""
    rows = [street("ring", [(-100, -100), (100, -100), (100, 100), (-100, 100), (-100, -100)])]
    rows += [
        street(f"r{i}", c)
        for i, c in enumerate(
            [
                [(0, 100), (0, 300)],
                [(100, 0), (300, 0)],
                [(0, -100), (0, -300)],
                [(-100, 0), (-300, 0)],
            ]
        )
    ]
    return make(rows, box(-200, -200, 200, 200))


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        # 16 intersections inside, all 4-way; 24 links inside + 16 half links out.
        (grid, dict(intersections=16, dead_ends=0, nodes=16, links=32.0, crossings=16,
                    intersection_density_per_km2=16 / 0.35**2, dead_end_share=0.0,
                    link_node_ratio=2.0, meshedness=(24 - 16 + 1) / (2 * 16 - 5),
                    boundary_crossings_per_km=16 / 1.4)),
        # 2 intersections, 5 dead ends (the western end is outside); a tree.
        (cul_de_sac_tree, dict(intersections=2, dead_ends=5, nodes=7, links=6.5, crossings=1,
                               intersection_density_per_km2=2 / (0.35 * 0.3),
                               dead_end_share=5 / 7, link_node_ratio=6.5 / 7, meshedness=0.0,
                               boundary_crossings_per_km=1 / 1.3)),
        # 4 T-junctions on the ring (its corners are bends, not nodes); one cycle.
        (ring, dict(intersections=4, dead_ends=0, nodes=4, links=6.0, crossings=4,
                    intersection_density_per_km2=4 / 0.16, dead_end_share=0.0,
                    link_node_ratio=1.5, meshedness=(4 - 4 + 1) / (2 * 4 - 5),
                    boundary_crossings_per_km=4 / 1.6)),
    ],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:.*(no building with dwellings|400-800 m):UserWarning")
def test_structure_of_hand_built_graphs(factory, expected: dict) -> None:
    d = factory()
    for mode in ("walk", "drive"):
        result = network_structure(build_graph(d, mode), d.boundary)
        for key, value in expected.items():
            assert result[key] == pytest.approx(value, rel=1e-12), (mode, key)
    ind = indicators(d, centre=(0.0, 5000.0))
    assert ind["intersection_density_per_km2"].value == pytest.approx(
        expected["intersection_density_per_km2"]
    )
    assert ind["drive_meshedness"].value == pytest.approx(expected["meshedness"])
    assert ind["dead_end_share"].higher_is_better is False
    assert all(i.theme == "connected district" for i in ind.values())


def test_isolated_ring_counts_as_one_node_with_a_loop() -> None:
    d = make([street("loop", [(0, 0), (100, 0), (100, 100), (0, 0)])], box(-10, -10, 110, 110))
    result = network_structure(walk_graph(d), d.boundary)
    assert result["nodes"] == 1 and result["links"] == 1.0
    assert result["intersections"] == 0 and result["dead_end_share"] == 0.0
    assert math.isnan(result["meshedness"])  # fewer than 3 nodes


def access_district() -> District:
    """A cul-de-sac off a main road; destinations 700 m out; two homes on it.

    main road y=0 from x=-700 to 800; the cul-de-sac x=50 from y=0 to 100 (inside the
    boundary 0..100 x 0..100); a road x=150 from y=0 north to y=800.
    """
    rows = [
        street("main", [(-700, 0), (800, 0)]),
        street("culdesac", [(50, 0), (50, 100)]),
        street("north", [(150, 0), (150, 800)]),
    ]
    buildings = [home("h1", 50, 90, 10), home("h2", 50, 40, 30)]
    buildings.append({**home("shop", 20, 20, 0), "use": "retail"})
    return make(rows, box(0, 0, 100, 100), buildings)


def hand_access(hx: float, hy: float, centre: tuple[float, float]) -> dict[str, float]:
    """The access figures of a home at (hx, hy) on the cul-de-sac, by hand."""
    up = hy  # along the cul-de-sac to the main road at (50, 0)
    ring = {(-700, 0): up + 750, (800, 0): up + 750, (150, 800): up + 100 + 800}
    ratios = [dist / math.hypot(hx - x, hy - y) for (x, y), dist in ring.items()]
    # The centre is beyond the streets: leave through a node outside the boundary,
    # then straight on.  Candidates: (150, 0), (150, 800), (-700, 0), (800, 0).
    exits = {(150, 0): up + 100, (150, 800): up + 900, (-700, 0): up + 750, (800, 0): up + 750}
    to_centre = min(d + math.hypot(centre[0] - x, centre[1] - y) for (x, y), d in exits.items())
    centre_ratio = to_centre / math.hypot(centre[0] - hx, centre[1] - hy)
    ring_mean = sum(ratios) / 3
    # Street within 800 m: own cul-de-sac (100 m), west up to its 750 m, east 100 m
    # then up to 650 m more, and up to 800 m of the north road.
    reach = 100 + min(750, 800 - up) + 100 + min(650, 700 - up) + min(800, 700 - up)
    return {
        "directness_ring": ring_mean,
        "directness_centre": centre_ratio,
        "route_directness": (ring_mean + centre_ratio) / 2,
        "distance_to_centre_m": to_centre,
        "reach_800m": reach,
    }


def test_home_access_and_indicators_by_hand() -> None:
    d = access_district()
    centre = (50.0, 5000.0)
    homes = home_access(d, centre=centre).set_index("building_id")
    assert list(homes.index) == ["h1", "h2"]  # the shop has no dwellings
    expected = {b: hand_access(50, y, centre) for b, y in (("h1", 90), ("h2", 40))}
    for b, values in expected.items():
        for key, value in values.items():
            assert homes.loc[b, key] == pytest.approx(value, rel=1e-9), (b, key)
    ind = indicators(d, centre=centre)
    for key in ("route_directness", "reach_800m", "distance_to_centre_m"):
        weighted = (10 * expected["h1"][key] + 30 * expected["h2"][key]) / 40
        assert ind[key].value == pytest.approx(weighted, rel=1e-9), key
    assert ind["route_directness"].higher_is_better is False
    assert ind["reach_800m"].higher_is_better is True


def test_centre_on_the_network_is_snapped_to_it() -> None:
    d = access_district()
    homes = home_access(d, centre=(150.0, 700.0)).set_index("building_id")
    assert homes.loc["h1", "distance_to_centre_m"] == pytest.approx(90 + 100 + 700)


def test_far_away_district_without_centre_warns_and_uses_the_ring() -> None:
    d = access_district()
    utm10 = "EPSG:32610"
    far = District.create(
        "far", d.boundary, crs=utm10, streets=d.streets.set_crs(utm10, allow_override=True),
        buildings=d.buildings.set_crs(utm10, allow_override=True),
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ind = indicators(far)
    centre_warnings = [w for w in caught if "has no city centre" in str(w.message)]
    assert len(centre_warnings) == 1 and centre_warnings[0].category is ConnectivityWarning
    assert math.isnan(ind["distance_to_centre_m"].value)
    assert "no city centre" in ind["distance_to_centre_m"].reason
    expected = (10 * hand_access(50, 90, (0, 0))["directness_ring"]
                + 30 * hand_access(50, 40, (0, 0))["directness_ring"]) / 40  # fmt: skip
    assert ind["route_directness"].value == pytest.approx(expected, rel=1e-9)


def test_centre_comes_from_the_district_settings_never_from_odense() -> None:
    x, y = 587_928.0 + 3000, 6_139_725.0  # 3 km east of Odense's town hall
    rows = [street("a", [(x - 900, y), (x + 900, y)]), street("b", [(x, y), (x, y + 80)])]
    d = make(rows, box(x - 100, y + 1, x + 100, y + 100), [home("h", x, y + 50, 1)])
    # Created without settings: no centre is assumed, even this near Odense.
    with pytest.warns(ConnectivityWarning, match="has no city centre"):
        assert math.isnan(home_access(d)["distance_to_centre_m"].iloc[0])
    with_centre = d.replace(settings=Settings(centre_xy=(587_928.0, 6_139_725.0)))
    homes = home_access(with_centre)
    # Out along b, then west along the road to its end, then straight on.
    assert homes["distance_to_centre_m"].iloc[0] == pytest.approx(50 + 900 + 2100)
    # Nonsense centres are refused with the reason, whichever way they come.
    for bad in [(1e308, 1e308), (x + 200_000.0, y), (math.nan, y)]:
        with pytest.raises(InputError, match="centre"):
            home_access(d, centre=bad)
    with pytest.raises(InputError, match=r"settings' centre_xy .* km from"):
        home_access(d.replace(settings=Settings(centre_xy=(10.4, 55.4))))  # degrees
    # An explicit centre wins over the settings: 1 km west of the road's end, straight.
    homes = home_access(with_centre, centre=(x - 1900, y))
    assert homes["distance_to_centre_m"].iloc[0] == pytest.approx(50 + 900 + 1000)


# ------------------------------------------------------------------ bad input


def test_empty_streets_layer_raises() -> None:
    d = District.create("empty", box(0, 0, 100, 100), crs=CRS)
    with pytest.raises(NoStreetsError, match="empty"):
        indicators(d)


def test_no_walkable_street_raises() -> None:
    d = make([street("m", [(0, 0), (500, 0)], highway="motorway")], box(0, -10, 100, 10))
    with pytest.raises(NoStreetsError, match="walk"):
        indicators(d)
    with pytest.raises(NoStreetsError, match="walk"):
        suggest_links(d)


def test_boundary_without_nodes_gives_nan_and_a_warning() -> None:
    d = grid().replace(boundary=box(5000, 5000, 5100, 5100))
    with pytest.warns(ConnectivityWarning, match="contains no node"):
        ind = indicators(d, centre=(0.0, 0.0))
    for key in ("intersection_density_per_km2", "dead_end_share", "link_node_ratio",
                "meshedness", "boundary_crossings_per_km", "route_directness",
                "drive_meshedness"):  # fmt: skip
        assert math.isnan(ind[key].value), key


def test_pedestrian_only_district_has_nan_drive_indicators() -> None:
    d = make([street("p", [(0, 0), (100, 0)], highway="footway")], box(-10, -10, 50, 10))
    with pytest.warns(ConnectivityWarning, match="no street open to cars"):
        ind = indicators(d, centre=(0.0, 5000.0))
    assert math.isnan(ind["drive_link_node_ratio"].value)
    assert ind["dead_end_share"].value == 1.0


def test_no_homes_gives_nan_access_and_optimiser_error() -> None:
    d = grid()
    with pytest.warns(ConnectivityWarning, match="no building with dwellings"):
        ind = indicators(d, centre=(0.0, 5000.0))
    assert math.isnan(ind["route_directness"].value)
    with pytest.raises(InputError, match="no building with dwellings"):
        suggest_links(d, centre=(0.0, 5000.0))


# ------------------------------------------------------------------ centralities


def reference_local(graph: nx.Graph, radius: float | None) -> tuple[dict, dict, dict]:
    """Brandes (2001) with a path-length cutoff; node/edge betweenness, harmonic."""
    node_b = dict.fromkeys(graph, 0.0)
    edge_b = dict.fromkeys(graph.edges(), 0.0)
    harmonic = dict.fromkeys(graph, 0.0)
    for s in graph:
        order, preds, sigma, dist = _single_source_dijkstra_path_basic(graph, s, "length_m")
        delta = dict.fromkeys(order, 0.0)
        for w in reversed(order):
            counted = 1.0 if (w != s and (radius is None or dist[w] <= radius)) else 0.0
            coeff = (counted + delta[w]) / sigma[w]
            for v in preds[w]:
                c = sigma[v] * coeff
                key = (v, w) if (v, w) in edge_b else (w, v)
                edge_b[key] += c
                delta[v] += c
            if w != s:
                node_b[w] += delta[w]
                if radius is None or dist[w] <= radius:
                    harmonic[w] += 1.0 / dist[w]
    return node_b, edge_b, harmonic


def check_against_networkx(graph: StreetGraph, radii: list[float]) -> None:
    nodes, edges = centralities(graph, radii=radii)
    ref = graph.to_networkx()
    n = graph.n_nodes
    assert n > 5
    expected_b = nx.betweenness_centrality(ref, weight="length_m")
    expected_h = nx.harmonic_centrality(ref, distance="length_m")
    expected_e = nx.edge_betweenness_centrality(ref, weight="length_m")
    ids = list(range(n))
    np.testing.assert_allclose(
        nodes["betweenness"], [expected_b[i] for i in ids], rtol=1e-9, atol=1e-15
    )
    np.testing.assert_allclose(nodes["harmonic_closeness"], [expected_h[i] for i in ids], rtol=1e-9)
    assert nodes["betweenness"].max() > 0
    edge_expected = np.zeros(graph.n_edges)
    for (s, t), value in expected_e.items():
        edge_expected[ref.edges[s, t]["edge"]] += value
    np.testing.assert_allclose(edges["betweenness"], edge_expected, rtol=1e-9, atol=1e-15)
    # Local variants against a cutoff Brandes written here (networkx has none).
    node_scale = (1.0 if graph.directed else 2.0) / ((n - 1) * (n - 2))
    edge_scale = (1.0 if graph.directed else 2.0) / (n * (n - 1))
    halve = 1.0 if graph.directed else 0.5  # undirected pairs are counted from both ends
    for radius in radii:
        node_r, edge_r, harm_r = reference_local(ref, radius)
        label = str(int(radius))
        np.testing.assert_allclose(
            nodes[f"betweenness_{label}"], [node_r[i] * halve * node_scale for i in ids],
            rtol=1e-9, atol=1e-15,
        )  # fmt: skip
        np.testing.assert_allclose(
            nodes[f"harmonic_closeness_{label}"], [harm_r[i] for i in ids], rtol=1e-9
        )
        edge_local = np.zeros(graph.n_edges)
        for (s, t), value in edge_r.items():
            edge_local[ref.edges[s, t]["edge"]] += value * halve * edge_scale
        np.testing.assert_allclose(edges[f"betweenness_{label}"], edge_local, rtol=1e-9, atol=1e-15)
        assert (nodes[f"betweenness_{label}"] <= nodes["betweenness"] + 1e-15).all()


def test_reference_brandes_matches_networkx_globally() -> None:
    g = walk_graph(grid()).to_networkx()
    node_b, _, harmonic = reference_local(g, None)
    expected = nx.betweenness_centrality(g, weight="length_m", normalized=False)
    assert {k: v / 2 for k, v in node_b.items()} == pytest.approx(expected)
    assert harmonic == pytest.approx(nx.harmonic_centrality(g, distance="length_m"))


@pytest.mark.parametrize("factory", [grid, cul_de_sac_tree, ring])
def test_centralities_on_hand_built_graphs(factory) -> None:
    check_against_networkx(walk_graph(factory()), [150.0, 250.0])


def test_centrality_columns_and_bad_radius() -> None:
    nodes, edges = centralities(grid(), radii=[400, 800])
    assert {"betweenness", "betweenness_400", "betweenness_800", "harmonic_closeness",
            "harmonic_closeness_400", "harmonic_closeness_800"} <= set(nodes.columns)  # fmt: skip
    assert {"betweenness", "betweenness_400"} <= set(edges.columns)
    assert isinstance(nodes, gpd.GeoDataFrame) and nodes.crs == CRS
    # On the grid the four central intersections carry the most through-paths.
    top = nodes.nlargest(4, "betweenness")[["x", "y"]].to_numpy()
    assert sorted(map(tuple, top)) == [(100, 100), (100, 200), (200, 100), (200, 200)]
    with pytest.raises(InputError, match="radii"):
        centralities(grid(), radii=[-5])


def osm_district(path: Path) -> District:
    from vollsmose_gis.sources.osm import district_from_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return district_from_osm(path, crs="auto")


@pytest.mark.parametrize(
    ("name", "mode", "radii"),
    [
        ("West-Oakland.osm.bz2", "walk", [400.0, 800.0]),
        ("West-Oakland.osm.bz2", "drive", [400.0]),
        ("planet_10.068,48.135_10.071,48.137.osm", "walk", [100.0]),
        ("aguascalientes.osm.pbf", "drive", [400.0]),
    ],
)
def test_centralities_equal_networkx_on_real_osm(
    osm_dir: Path, name: str, mode: str, radii
) -> None:
    path = osm_dir / name
    if not path.exists():
        skip_or_fail(f"OSM extract {path} is missing")
    graph = build_graph(osm_district(path), mode)
    check_against_networkx(graph, radii)


def default_district() -> District:
    try:
        from vollsmose_gis.sources.vollsmose import default_district as load
    except ImportError:  # pragma: no cover - the embedded district ships with the package
        pytest.skip("embedded district not available")
    return load()


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_centralities_equal_networkx_on_default_district(mode: str) -> None:
    check_against_networkx(build_graph(default_district(), mode), [400.0])


# ------------------------------------------------------------------ optimiser


def two_culs_de_sac(island: bool = False, **layers) -> District:
    """Two culs-de-sac from roads to the south and north ending 20 m apart.

    The roads meet only 700 m to the west and east, so the homes at the ends of the
    culs-de-sac walk a long way round to reach each other's side of the district.
    With ``island``, one more home lies on a street joined to nothing.
    """
    rows = [
        street("south", [(-700, 0), (800, 0)]),
        street("north", [(-700, 600), (800, 600)]),
        street("west", [(-700, 0), (-700, 600)]),
        street("east", [(800, 0), (800, 600)]),
        street("cs_s", [(50, 0), (50, 290)]),
        street("cs_n", [(50, 600), (50, 310)]),
        street("stub", [(200, 0), (200, 120)], highway="footway"),
        street("far_s", [(-700, 0), (-700, -700)]),
        street("far_n", [(800, 600), (800, 1300)]),
    ]
    buildings = [home("a", 55, 280, 20), home("b", 55, 320, 20), home("c", 190, 100, 5)]
    if island:
        rows.append(street("isle", [(250, 400), (280, 400)]))
        buildings.append(home("i", 265, 405, 3))
    return make(rows, box(0, 20, 300, 580), buildings, **layers)


def test_optimiser_finds_the_obvious_link() -> None:
    d = two_culs_de_sac()
    links = suggest_links(d, centre=(50.0, 5000.0), k=3)
    assert len(links) >= 1
    best = links.iloc[0]
    ends = sorted(tuple(np.round(c, 6)) for c in best.geometry.coords)
    assert ends == [(50.0, 290.0), (50.0, 310.0)]
    assert best["length_m"] == 20.0 and best["start_kind"] == "dead_end"
    assert best["gain"] > 0 and best["gain"] == best["gain_alone"]
    assert links.attrs["candidates_evaluated"] > 1
    assert (links["gain_alone"].iloc[1:] < best["gain"]).all()
    assert list(links["rank"]) == list(range(1, len(links) + 1))
    # The gain is exact: rebuild the district with the link and measure again.
    before = links.attrs["objective_before"]
    assert before == pytest.approx(indicators(d, centre=(50.0, 5000.0))["route_directness"].value)
    with_link = add_links(d, links.iloc[[0]])
    after = indicators(with_link, centre=(50.0, 5000.0))["route_directness"].value
    assert after == pytest.approx(before - best["gain"], rel=1e-9)
    assert best["objective_after"] == pytest.approx(after, rel=1e-9)


def test_optimiser_respects_the_budget_and_k() -> None:
    d = two_culs_de_sac()
    assert suggest_links(d, centre=(50.0, 5000.0), budget_m=15).empty
    links = suggest_links(d, centre=(50.0, 5000.0), budget_m=100, k=5)
    assert links["length_m"].sum() <= 100
    assert len(links) >= 1 and links["length_m"].iloc[0] == 20.0
    unlimited = suggest_links(d, centre=(50.0, 5000.0), k=5)
    assert len(unlimited) <= 5
    assert unlimited["length_m"].sum() > 100  # so the budget above did bind
    one = suggest_links(d, centre=(50.0, 5000.0), k=1)
    assert len(one) == 1


def test_optimiser_does_not_cross_buildings_or_water_but_may_cross_a_bog() -> None:
    blocker = gpd.GeoDataFrame(
        [{"building_id": "x", "use": "other", "geometry": box(45, 298, 60, 302)}], crs=CRS
    )
    blocked = two_culs_de_sac()
    blocked = blocked.replace(buildings=pd.concat([blocked.buildings, blocker], ignore_index=True))
    for d in (
        blocked,
        two_culs_de_sac(landuse=gpd.GeoDataFrame(
            [{"landuse_id": "w", "use": "water", "geometry": box(0, 295, 100, 305)}], crs=CRS)),
    ):  # fmt: skip
        links = suggest_links(d, centre=(50.0, 5000.0), k=10)
        spans = [sorted(np.round(np.asarray(g.coords)[:, 1], 3)) for g in links.geometry]
        assert [290.0, 310.0] not in spans
    marsh = {"landuse_id": "m", "use": "wetland", "geometry": box(0, 295, 100, 305)}
    bog = two_culs_de_sac(landuse=gpd.GeoDataFrame([marsh], crs=CRS))
    assert suggest_links(bog, centre=(50.0, 5000.0), k=1)["length_m"].iloc[0] == 20.0


def test_optimiser_evaluates_proposed_links() -> None:
    d = two_culs_de_sac()
    proposed = gpd.GeoSeries(
        [LineString([(50, 290), (50, 310)]), LineString([(200, 120.5), (210, 300), (52, 308)])],
        crs=CRS,
    )
    links = suggest_links(d, centre=(50.0, 5000.0), candidates=proposed, k=2)
    assert links.attrs["candidates_evaluated"] == 2
    assert set(links["start_kind"]) == {"proposed"}
    assert links.iloc[0].geometry.equals(proposed.iloc[0])
    with pytest.raises(InputError, match="position 0 does not end"):
        suggest_links(
            d,
            centre=(50.0, 5000.0),
            candidates=gpd.GeoSeries([LineString([(400, 300), (450, 300)])], crs=CRS),
        )


def test_optimiser_bad_parameters() -> None:
    d = two_culs_de_sac()
    for kwargs, message in [
        ({"objective": "happiness"}, "objective must be one of"),
        ({"k": 0}, "k must be"),
        ({"k": 51}, "from 1 to 50"),
        ({"k": 353}, "from 1 to 50"),
        ({"k": 2.5}, "k must be"),
        ({"k": True}, "k must be"),
        ({"budget_m": -1.0}, "budget_m"),
        ({"max_length_m": 0.0}, "max_length_m"),
    ]:
        with pytest.raises(InputError, match=message):
            suggest_links(d, centre=(50.0, 5000.0), **kwargs)


def test_optimiser_can_minimise_distance_to_centre() -> None:
    d = two_culs_de_sac()
    links = suggest_links(d, centre=(50.0, 5000.0), objective="distance_to_centre_m", k=1)
    # The southern homes gain most by going north through the new link.
    assert links["length_m"].iloc[0] == 20.0
    assert links.attrs["objective"] == "distance_to_centre_m"
    assert links["gain"].iloc[0] > 100  # metres saved on average


def test_optimiser_returns_a_plan_and_says_why_it_found_fewer_than_k() -> None:
    d = two_culs_de_sac()
    plan = suggest_links(d, centre=(50.0, 5000.0), k=1)
    assert isinstance(plan, LinkPlan) and isinstance(plan, Plan)
    assert plan.layer == "streets" and plan.unmet == []
    assert list(plan.added["street_id"]) == ["new-link-001"]
    # A new path costs 3,000 DKK per metre (standards/unit_costs.yaml street_m.path).
    assert plan.cost_dkk == pytest.approx(20.0 * 3000.0)
    assert plan.added["cost_dkk"].iloc[0] == pytest.approx(60_000.0)
    assert "new-link-001" in set(plan.district.streets["street_id"])
    assert len(plan.district.streets) == len(d.streets) + 1
    assert plan.summary["stopped"] == "k = 1 links reached"
    assert plan.summary["objective_after"] == pytest.approx(plan["objective_after"].iloc[-1])
    # The old GeoDataFrame reading still works (CLI, plugin, maps).
    assert plan.attrs["objective_before"] == plan.summary["objective_before"]
    assert len(plan) == 1 and "gain" in plan and plan.geometry.iloc[0].length == 20.0
    # Budget too small for any candidate: nothing, and the reason.
    none = suggest_links(d, centre=(50.0, 5000.0), budget_m=15, k=3)
    assert none.empty and none.cost_dkk == 0.0
    assert none.unmet == [f"0 of 3 links: {none.summary['stopped']}"]
    assert "budget is spent: 15 m left" in none.summary["stopped"]
    # Asked for the maximum: the gains run out first, and the plan says so.
    # Two culs-de-sac give two candidate links (one from each dead end), and both help.
    many = suggest_links(d, centre=(50.0, 5000.0), k=50)
    assert len(many) == 2
    assert many.summary["stopped"] == "all 2 candidate links are chosen"
    assert many.unmet[0].startswith(f"{len(many)} of 50 links: ")


def test_consolidation_equals_osmnx() -> None:
    """consolidate_nodes against OSMnx's consolidate_intersections (buffer + dissolve)."""
    ox = pytest.importorskip("osmnx")
    rng = np.random.default_rng(16)
    xy = rng.uniform(0, 400, size=(300, 2))
    graph = nx.MultiDiGraph(crs=CRS)
    for i, (x, y) in enumerate(xy):
        graph.add_node(i, x=float(x), y=float(y))
    counts = []
    for tolerance in (1.0, 2.0, 5.0, 10.0, 15.0):
        theirs = ox.consolidate_intersections(
            graph, tolerance=tolerance, rebuild_graph=False, dead_ends=True
        )
        labels = consolidate_nodes(xy, tolerance)
        assert len(np.unique(labels)) == len(theirs)
        counts.append(len(theirs))
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    # By hand: a chain of points 15 m apart merges at tolerance 10 (buffers overlap).
    chain = np.array([[0.0, 0.0], [15.0, 0.0], [30.0, 0.0], [100.0, 0.0]])
    assert list(consolidate_nodes(chain, 10.0)) == [0, 0, 0, 1]
    assert list(consolidate_nodes(chain, 7.0)) == [0, 1, 2, 3]


def test_dual_carriageway_junction_counts_once() -> None:
    """Two parallel carriageways 14 m apart crossed by a street: 2 nodes, 1 intersection."""
    rows = [
        street("north", [(-300, 7), (300, 7)], oneway=True),
        street("south", [(300, -7), (-300, -7)], oneway=True),
        street("cross", [(0, -300), (0, 300)]),
        street("far", [(150, -7), (150, -300)]),
    ]
    d = make(rows, box(-200, -200, 200, 200))
    result = network_structure(walk_graph(d), d.boundary)
    assert result["intersections"] == 3
    assert result["intersections_consolidated"] == 2  # (0, ±7) merge; (150, -7) alone
    assert result["intersection_density_per_km2"] == pytest.approx(2 / 0.16)
    assert (
        network_structure(walk_graph(d), d.boundary, tolerance_m=5.0)["intersections_consolidated"]
        == 3
    )


def test_each_warning_once_through_the_analysis_contract() -> None:
    """The module's pipeline warns about the missing centre once (it used to twice)."""
    from vollsmose_gis import analysis

    d = access_district()
    far = District.create(
        "far", d.boundary, crs="EPSG:32610",
        streets=d.streets.set_crs("EPSG:32610", allow_override=True),
        buildings=d.buildings.set_crs("EPSG:32610", allow_override=True),
    )  # fmt: skip
    spec = analysis.get("connectivity")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.compute(far, **spec.resolve({}))
    assert sum("has no city centre" in str(w.message) for w in caught) == 1
    result = spec.run(far)
    assert sum("has no city centre" in w for w in result.warnings) == 1
    assert result.indicators["distance_to_centre_m"].reason.startswith("district 'far' has no")


# ------------------------------------------------------------------ default district


def test_default_district_top_links_improve_directness_and_crossings() -> None:
    d = default_district()
    base = indicators(d)
    assert all(np.isfinite(i.value) for i in base.values())
    links = suggest_links(d, k=10)
    assert len(links) >= 3 and links["crosses_boundary"].any()
    after = indicators(add_links(d, links))
    assert after["route_directness"].value < base["route_directness"].value
    assert after["boundary_crossings_per_km"].value > base["boundary_crossings_per_km"].value
    assert after["dead_end_share"].value < base["dead_end_share"].value


# ------------------------------------------------------------------ CLI


def test_cli_connectivity_json_and_layers(tmp_path: Path) -> None:
    import json

    import pyogrio
    from typer.testing import CliRunner

    from vollsmose_gis.cli import app

    out = tmp_path / "network.gpkg"
    result = CliRunner().invoke(app, ["connectivity", "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    expected = indicators(default_district())
    assert report["indicators"]["route_directness"]["value"] == pytest.approx(
        expected["route_directness"].value
    )
    assert "Schematic model" in report["provenance"]
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"nodes": "Point", "edges": "LineString"}
    again = CliRunner().invoke(app, ["connectivity", "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_cli_suggest_links(tmp_path: Path) -> None:
    import json

    import geopandas as gpd
    from typer.testing import CliRunner

    from vollsmose_gis.cli import app

    out = tmp_path / "links.gpkg"
    result = CliRunner().invoke(app, ["suggest-links", "--k", "3", "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["links"]) in range(1, 4)
    written = gpd.read_file(out, layer="links")
    assert len(written) == len(report["links"])
    assert written["street_id"].tolist() == [r["street_id"] for r in report["links"]]
    bad = CliRunner().invoke(app, ["suggest-links", "--k", "0"])
    assert bad.exit_code == 2 and "k must be" in bad.output


def test_cli_reports_a_district_without_walkable_streets(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vollsmose_gis import validate_district
    from vollsmose_gis.cli import app
    from vollsmose_gis.io import save_district

    d = make([street("m", [(0, 0), (500, 0)], highway="motorway")], box(0, -10, 100, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the repairs fill optional columns with defaults
        d = validate_district(d, strict=False)
    path = tmp_path / "motorway.gpkg"
    save_district(d, path)
    result = CliRunner().invoke(app, ["connectivity", str(path)])
    assert result.exit_code == 2
    assert "open to mode 'walk'" in result.output


def test_reach_is_the_same_computed_in_blocks_of_homes() -> None:
    from vollsmose_gis.connectivity import _access, _reach

    d = access_district()
    access = _access(d, walk_graph(d), (50.0, 5000.0))
    np.testing.assert_array_equal(_reach(access, 800.0, block=1), _reach(access, 800.0))
    assert _reach(access, 800.0).tolist() == [
        hand_access(50, 90, (50, 5000))["reach_800m"],
        hand_access(50, 40, (50, 5000))["reach_800m"],
    ]


def reference_greedy_links(district: District, **kwargs: Any) -> dict:
    """The greedy selection of suggest_links as written before batching.

    One numpy evaluation per candidate link through ``_Access.objective``, and the
    graph with the chosen links rebuilt with pandas, as the optimiser did before
    ``_objectives_with_link``; candidate generation is shared with suggest_links.
    """
    from scipy.sparse import csgraph, csr_matrix

    from vollsmose_gis.connectivity import _access, _candidates, _config, _given_candidates

    k = int(kwargs.get("k", 10))
    objective = str(kwargs.get("objective", "route_directness"))
    centre = kwargs.get("centre")
    budget = kwargs.get("budget_m")
    graph = walk_graph(district)
    access = _access(district, graph, centre)
    table = access.tables(graph.csr)
    if kwargs.get("candidates") is None:
        max_length = float(_config("optimiser")["max_length_m"])
        graph, candidates = _candidates(district, graph, access, table, max_length)
    else:
        graph, candidates = _given_candidates(district, graph, kwargs["candidates"])
    access = _access(district, graph, centre, ring=access.ring, quiet=True)
    table = access.tables(graph.csr)
    before = current = access.objective(access.home_distances(table[:, access.cols]), objective)
    a_all = candidates["a"].to_numpy(dtype=np.int64)
    b_all = candidates["b"].to_numpy(dtype=np.int64)
    w_all = candidates["length_m"].to_numpy(dtype=float)
    remaining = np.ones(len(candidates), dtype=bool)
    budget_left = math.inf if budget is None else float(budget)
    csr = graph.csr
    arcs: list[tuple[int, int, float]] = []
    chosen: list[dict] = []
    gain_alone = np.full(len(candidates), np.nan)
    for round_ in range(k):
        live = np.flatnonzero(remaining & (w_all <= budget_left + 1e-9))
        if not len(live):
            break
        ends = np.unique(np.concatenate([a_all[live], b_all[live]]))
        from_ends = csgraph.dijkstra(csr, directed=True, indices=ends)
        ends_cols = from_ends[:, access.cols]
        row_of = {int(node): i for i, node in enumerate(ends)}
        table_cols = table[:, access.cols]
        gains = np.full(len(candidates), -np.inf)
        for c in live:
            a, b, w = a_all[c], b_all[c], w_all[c]
            ia, ib = row_of[int(a)], row_of[int(b)]
            new = np.minimum(table_cols, table[:, a][:, None] + w + ends_cols[ib][None, :])
            new = np.minimum(new, table[:, b][:, None] + w + ends_cols[ia][None, :])
            gains[c] = current - access.objective(access.home_distances(new), objective)
        if round_ == 0:
            gain_alone = np.where(np.isfinite(gains), gains, np.nan)
        best = int(np.argmax(gains))
        if not (gains[best] > 1e-12):
            break
        a, b, w = a_all[best], b_all[best], w_all[best]
        ia, ib = row_of[int(a)], row_of[int(b)]
        table = np.minimum(table, table[:, a][:, None] + w + from_ends[ib][None, :])
        table = np.minimum(table, table[:, b][:, None] + w + from_ends[ia][None, :])
        current = current - float(gains[best])
        remaining[best] = False
        budget_left -= w
        arcs += [(int(a), int(b), float(w)), (int(b), int(a), float(w))]
        coo = graph.csr.tocoo()
        frame = (
            pd.DataFrame(
                {
                    "s": np.concatenate([coo.row, [s for s, _, _ in arcs]]),
                    "t": np.concatenate([coo.col, [t for _, t, _ in arcs]]),
                    "w": np.concatenate([coo.data, [x for _, _, x in arcs]]),
                }
            )
            .groupby(["s", "t"], as_index=False)["w"]
            .min()
        )
        csr = csr_matrix((frame["w"], (frame["s"], frame["t"])), shape=graph.csr.shape)
        chosen.append(
            {
                "from_node": int(a),
                "geometry": candidates["geometry"].iloc[best],
                "gain": float(gains[best]),
                "gain_alone": float(gain_alone[best]),
                "objective_after": current,
            }
        )
    return {"objective_before": before, "objective_after": current, "links": chosen}


def assert_same_links(plan: LinkPlan, reference: dict) -> None:
    # Bit for bit (tolerance 0): the batched evaluation claims the same floating-point
    # operations in the same order, so any difference, even in the last bit, is a bug.
    links = plan.added
    assert plan.summary["objective_before"] == reference["objective_before"]
    assert plan.summary["objective_after"] == reference["objective_after"]
    assert len(links) == len(reference["links"]) > 0
    for (_, row), ref in zip(links.iterrows(), reference["links"], strict=True):
        assert row["from_node"] == ref["from_node"]
        assert row.geometry.equals_exact(ref["geometry"], 0.0)
        for key in ("gain", "gain_alone", "objective_after"):
            assert row[key] == ref[key], key


@pytest.mark.parametrize("objective", ["route_directness", "distance_to_centre_m"])
def test_batched_links_equal_the_per_candidate_loop_on_default_district(objective: str) -> None:
    d = default_district()
    plan = suggest_links(d, k=5, objective=objective)
    assert_same_links(plan, reference_greedy_links(d, k=5, objective=objective))
    budget = suggest_links(d, k=5, objective=objective, budget_m=250.0)
    assert_same_links(budget, reference_greedy_links(d, k=5, objective=objective, budget_m=250.0))
    assert budget.summary["length_m"] <= 250.0


def test_batched_links_equal_the_per_candidate_loop_on_crafted_districts() -> None:
    from vollsmose_gis import connectivity

    centre = (50.0, 5000.0)
    d = two_culs_de_sac()
    cases: list[dict[str, Any]] = [
        {"k": 3},
        {"k": 2, "objective": "distance_to_centre_m"},
        {
            "k": 2,
            "candidates": gpd.GeoSeries(
                [
                    LineString([(50, 290), (50, 310)]),
                    LineString([(200, 120.5), (210, 300), (52, 308)]),
                ],
                crs=CRS,
            ),
        },
    ]
    for case in cases:
        plan = suggest_links(d, centre=centre, **case)
        assert_same_links(plan, reference_greedy_links(d, centre=centre, **case))
    # A centre on a home: its straight distance is 0 (directness 1 by definition).
    plan = suggest_links(d, centre=(55.0, 280.0), k=2)
    assert_same_links(plan, reference_greedy_links(d, centre=(55.0, 280.0), k=2))
    # A home no street reaches: its distance to the centre is infinite, so the mean
    # runs over the other homes (the batch's one-by-one path), and batches of one
    # candidate give the same as one batch.
    island = two_culs_de_sac(island=True)
    assert math.isinf(home_access(island, centre=centre)["distance_to_centre_m"].max())
    kwargs: dict[str, Any] = {"k": 2, "objective": "distance_to_centre_m"}
    reference = reference_greedy_links(island, centre=centre, **kwargs)
    assert_same_links(suggest_links(island, centre=centre, **kwargs), reference)
    chunk = connectivity._LINK_CHUNK_BYTES
    try:
        connectivity._LINK_CHUNK_BYTES = 1
        assert_same_links(suggest_links(island, centre=centre, **kwargs), reference)
    finally:
        connectivity._LINK_CHUNK_BYTES = chunk
    # No destination at all (no ring, no centre): the objective is NaN and nothing gains.
    rows = [
        street("s", [(0, 0), (100, 0)]),
        street("n", [(0, 50), (100, 50)]),
        street("w", [(0, 0), (0, 50)]),
        street("c", [(50, 0), (50, 20)]),
        street("c2", [(50, 50), (50, 30)]),
    ]
    closed = make(rows, box(-10, -10, 110, 60), [home("a", 55, 18, 4), home("b", 55, 32, 4)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no centre, no ring; the reference's empty means
        plan = suggest_links(closed, k=2)
        reference = reference_greedy_links(closed, k=2)
    assert plan.added.empty and reference["links"] == []
    assert math.isnan(plan.summary["objective_before"]) and math.isnan(
        reference["objective_before"]
    )
    assert plan.summary["candidates_evaluated"] > 0
