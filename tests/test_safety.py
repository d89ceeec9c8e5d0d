"""Safety from evidence (issue 19): evidence layers, hot spots, natural surveillance.

Reference values come from hand calculations (the quartic kernel on a line), brute-force
sums (network distances by networkx, grid densities by a plain loop), PySAL's own
documented example (Gi* on six points) and an independent shapely computation of the
overlooked share on a small scene.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from tests.factories import CRS, X0, Y0, frame, small_district
from vollsmose_gis import District
from vollsmose_gis._errors import InputError
from vollsmose_gis.io import load_district, save_district
from vollsmose_gis.network import walk_graph
from vollsmose_gis.safety.evidence import (
    ILLUSTRATIVE,
    EvidenceWarning,
    aggregate_incidents,
    check_evidence,
    illustrative_evidence,
    jitter,
    read_evidence,
    snap_to_streets,
)
from vollsmose_gis.safety.hotspots import (
    grid_kde,
    hotspot_statistics,
    hotspots,
    network_kde,
    network_kde_values,
    quartic_1d,
    quartic_2d,
)

TODAY = dt.date(2025, 6, 1)


def incidents(points: list[tuple[float, float]], **columns: object) -> gpd.GeoDataFrame:
    rows = [
        {
            "incident_id": f"i{k}",
            "date": "2024-05-01",
            "kind": "vandalism",
            "weight": 1.0,
            "count": 1,
            **columns,
            "geometry": Point(x, y),
        }
        for k, (x, y) in enumerate(points)
    ]
    return frame(rows)


def street(street_id: str, coords: list[tuple[float, float]], **values: object) -> dict:
    return {
        "street_id": street_id,
        "highway": "footway",
        "walk": True,
        "car": False,
        "bike": False,
        "width_m": 2.0,
        **values,
        "geometry": LineString(coords),
    }


def line_district(length: float = 1000.0) -> District:
    """One straight 1 km footway along y = Y0 (nothing else)."""
    streets = frame([street("s1", [(X0, Y0), (X0 + length, Y0)])])
    return District.create(
        "line", box(X0 - 50, Y0 - 50, X0 + length + 50, Y0 + 50), streets=streets
    )


# --------------------------------------------------------------------------- 1 evidence


def test_old_district_files_without_evidence_tables_still_load(tmp_path):
    d = small_district()
    path = save_district(d, tmp_path / "new.gpkg")
    assert {"incidents", "safety_walk"} <= {name for name, _ in pyogrio.list_layers(path)}
    # a file written before the evidence layers existed: the same without those tables
    old = tmp_path / "old.gpkg"
    for name, layer in d.layers.items():
        if name not in ("incidents", "safety_walk"):
            pyogrio.write_dataframe(layer, old, layer=name, driver="GPKG")
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    pyogrio.write_dataframe(meta, old, layer="district_meta", driver="GPKG")
    loaded = load_district(old)
    assert len(loaded.incidents) == 0 and len(loaded.safety_walk) == 0
    assert "kind" in loaded.incidents.columns and "reason" in loaded.safety_walk.columns


def test_evidence_round_trips_through_a_geopackage(tmp_path):
    d = small_district()
    inc = incidents([(X0 + 50, Y0 + 100), (X0 + 60, Y0 + 100)], source="police")
    walk = frame(
        [
            {"mark_id": "m1", "reason": "dark", "date": "2024-10-01", "note": "by the shop",
             "geometry": Point(X0 + 100, Y0 + 50)},
            {"mark_id": "m2", "reason": "hidden_corners", "date": "2024-10-01", "note": None,
             "geometry": LineString([(X0 + 100, Y0 + 10), (X0 + 100, Y0 + 40)])},
        ]
    )  # fmt: skip
    d = d.replace(incidents=inc, safety_walk=walk)
    loaded = load_district(save_district(d, tmp_path / "d.gpkg"))
    assert loaded.incidents["incident_id"].tolist() == ["i0", "i1"]
    assert loaded.incidents["kind"].astype(str).tolist() == ["vandalism", "vandalism"]
    assert loaded.incidents["source"].tolist() == ["police", "police"]
    assert loaded.safety_walk["reason"].astype(str).tolist() == ["dark", "hidden_corners"]
    assert loaded.safety_walk.geom_type.tolist() == ["Point", "LineString"]


def test_a_district_built_directly_has_empty_evidence_and_scenarios_keep_it():
    import dataclasses

    from vollsmose_gis.scenario import Scenario, apply_scenario

    d = small_district()
    raw = dataclasses.replace(d, incidents=None, safety_walk=None)
    assert len(raw.incidents) == 0 and next(iter(raw.incidents.columns)) == "incident_id"
    d = d.replace(incidents=incidents([(X0 + 50, Y0 + 100)]))
    scenario = Scenario.from_dict(
        {"name": "demolish", "interventions": [{"type": "demolish", "buildings": {"ids": ["b1"]}}]}
    )
    after, _ = apply_scenario(d, scenario)
    assert len(after.buildings) == 1
    assert after.incidents["incident_id"].tolist() == ["i0"]


def test_unknown_kinds_and_negative_weights_are_refused_by_validation():
    from vollsmose_gis.validation import validate_district

    d = small_district()
    with pytest.raises(InputError, match="incidents"):
        validate_district(d.replace(incidents=incidents([(X0, Y0)], kind="arson")))
    with pytest.raises(InputError, match="weight"):
        validate_district(d.replace(incidents=incidents([(X0, Y0)], weight=-1.0)))


def test_read_evidence_from_xy_and_latlon(tmp_path):
    xy = tmp_path / "xy.csv"
    xy.write_text(
        "x;y;kind;date;source\n"
        f"{X0 + 10};{Y0 + 20};burglary;2023-01-05;police\n"
        f"{X0 + 30};{Y0 + 40};violence;;police\n"
    )
    layer = read_evidence(xy, "incidents", today=TODAY)
    assert layer["incident_id"].tolist() == ["inc-00001", "inc-00002"]
    assert shapely.get_coordinates(layer.geometry.to_numpy()).tolist() == [
        [X0 + 10, Y0 + 20],
        [X0 + 30, Y0 + 40],
    ]
    assert layer["weight"].tolist() == [1.0, 1.0] and layer["count"].tolist() == [1, 1]
    # lat/lon in WGS 84: Odense (55.40 N, 10.43 E) lands on its UTM 32N coordinates
    ll = tmp_path / "ll.csv"
    ll.write_text("mark_id,lat,lon,reason,note\nm1,55.40,10.43,dark,tunnel\n")
    marks = read_evidence(ll, "safety_walk", today=TODAY)
    import pyproj

    x, y = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(10.43, 55.40)
    assert marks.geometry.iloc[0].x == pytest.approx(x, abs=1e-6)
    assert marks.geometry.iloc[0].y == pytest.approx(y, abs=1e-6)
    assert marks["reason"].astype(str).tolist() == ["dark"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x,y,kind\n1,2,arson\n", "unknown or empty kind"),
        ("x,y,kind,date\n1,2,burglary,2031-01-01\n", "dated in the future"),
        ("x,y,kind,date\n1,2,burglary,05/01/2023x\n", "unreadable dates"),
        ("x,y,kind,weight\n1,2,burglary,-2\n", "negative weight"),
        ("x,y,kind\n1,,burglary\n", "no usable coordinates"),
        ("east_west,kind\n1,burglary\n", "no coordinate columns"),
    ],
)
def test_read_evidence_refuses_bad_rows_naming_them(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(InputError, match=message) as info:
        read_evidence(path, "incidents", today=TODAY)
    assert "bad.csv" in str(info.value)


def test_check_evidence_refuses_far_incidents_and_warns_about_undated_ones():
    d = small_district()
    far = d.replace(incidents=incidents([(X0 + 5000, Y0)]))
    with pytest.raises(
        InputError, match=r"\['i0'\] lie more than 250 m outside the study boundary"
    ):
        check_evidence(far, today=TODAY)
    undated = d.replace(incidents=incidents([(X0 + 10, Y0 + 10)], date=None))
    with pytest.warns(EvidenceWarning, match="1 incident"):
        notes = check_evidence(undated, today=TODAY)
    assert notes == [
        "1 incident(s) have no date: counted in the totals and hot spots, left out of the "
        "figures by year"
    ]


def test_jitter_is_seeded_and_stays_in_its_disc():
    layer = incidents([(X0 + 100.0, Y0 + 100.0)] * 200)
    a = jitter(layer, radius_m=25.0, seed=3)
    b = jitter(layer, radius_m=25.0, seed=3)
    c = jitter(layer, radius_m=25.0, seed=4)
    assert a.geometry.equals(b.geometry) and not a.geometry.equals(c.geometry)
    distance = a.geometry.distance(Point(X0 + 100, Y0 + 100)).to_numpy()
    assert distance.max() <= 25.0 and distance.max() > 20.0
    # uniform in the disc: a quarter of the points within half the radius (±0.1)
    assert abs((distance < 12.5).mean() - 0.25) < 0.1
    with pytest.raises(InputError, match="radius_m must be > 0"):
        jitter(layer, radius_m=0)


def test_snapping_puts_points_on_the_nearest_walkable_street():
    d = small_district()  # Main Street along y = Y0 + 100, a path along x = X0 + 100
    layer = incidents([(X0 + 30, Y0 + 110), (X0 + 103, Y0 + 40), (X0 + 30, Y0 + 400)])
    with pytest.warns(EvidenceWarning, match="1 point"):
        out = snap_to_streets(layer, d, max_distance_m=100)
    xy = shapely.get_coordinates(out.geometry.to_numpy()).tolist()
    assert xy == [[X0 + 30, Y0 + 100], [X0 + 100, Y0 + 40], [X0 + 30, Y0 + 400]]
    assert out["snapped"].tolist() == [True, True, False]


def test_aggregation_suppresses_cells_below_the_threshold():
    d = small_district()  # boundary from (X0, Y0); 100 m cells
    points = [(X0 + 10, Y0 + 10)] * 6 + [(X0 + 150, Y0 + 150)] * 4 + [(X0 + 150, Y0 + 20)]
    layer = incidents(points)
    layer.loc[10, "count"] = 3  # an aggregate row standing for 3 incidents
    out = aggregate_incidents(layer, d, cell_m=100.0, threshold=5)
    assert out["cell_id"].tolist() == ["c0_0"]
    assert out["count"].tolist() == [6]
    assert out.attrs == {"suppressed_incidents": 7.0, "threshold": 5}
    assert out.geometry.iloc[0].equals(box(X0, Y0, X0 + 100, Y0 + 100))
    both = aggregate_incidents(layer, d, cell_m=100.0, threshold=3)
    assert sorted(both["count"]) == [3, 4, 6]


def test_illustrative_evidence_is_labelled_and_valid():
    from vollsmose_gis.validation import validate_district

    d = small_district()
    inc, walk = illustrative_evidence(d, incidents=60, marks=6)
    assert len(inc) == 60 and len(walk) == 6
    assert inc["illustrative"].all() and walk["illustrative"].all()
    assert (inc["source"] == ILLUSTRATIVE).all() and (walk["note"] == ILLUSTRATIVE).all()
    # on the walkable streets inside the boundary
    lines = shapely.union_all(d.streets.geometry.to_numpy())
    assert shapely.distance(inc.geometry.to_numpy(), lines).max() < 1e-6
    assert shapely.within(inc.geometry.to_numpy(), d.boundary.buffer(1e-6)).all()
    years = pd.to_datetime(inc["date"]).dt.year
    assert years.min() >= 2019 and years.max() <= 2024
    validate_district(d.replace(incidents=inc, safety_walk=walk))
    again, _ = illustrative_evidence(d, incidents=60, marks=6)
    assert again.geometry.equals(inc.geometry)  # seeded


# --------------------------------------------------------------------------- 2 hot spots


def test_network_kde_on_a_line_matches_the_quartic_kernel_by_hand():
    d = line_district(1000.0)
    layer = incidents([(X0 + 500.0, Y0)])
    out = network_kde(d, layer, bandwidth_m=100.0, lixel_m=10.0)
    assert len(out) == 100
    mid = out["length_m"].cumsum() - 5.0  # lixel midpoints along the line, m
    # K(u) = 15/16 (1 - u²)², per metre / h, per km x 1000; at 5 m from the incident:
    # 15/16 (1 - 0.05²)² / 100 * 1000 = 0.9375 * 0.99500625 * 10 = 9.32818...
    assert out["density_per_km"].iloc[49] == pytest.approx(15 / 16 * (1 - 0.05**2) ** 2 * 10)
    assert out["density_per_km"].iloc[49] == pytest.approx(9.328184, abs=1e-6)
    expected = 15 / 16 * np.clip(1 - ((mid - 500) / 100) ** 2, 0, None) ** 2 * 10
    np.testing.assert_allclose(out["density_per_km"], expected, atol=1e-9)
    # mass along the line: one incident (midpoint rule on 10 m lixels)
    assert float((out["density_per_km"] / 1000 * out["length_m"]).sum()) == pytest.approx(
        1.0, abs=2e-3
    )


def brute_force_network_kde(graph, edge, along, weight, lix_edge, lix_along, h):
    """Σ_i w_i K(d/h)/h with d over every route, from networkx all-pairs distances."""
    g = nx.Graph()
    for _k, (u, v, length) in enumerate(
        zip(graph.edge_u, graph.edge_v, graph.edge_length_m, strict=True)
    ):
        if not g.has_edge(u, v) or g[u][v]["w"] > length:
            g.add_edge(int(u), int(v), w=float(length))
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="w"))

    def d(a, b):
        return dist.get(int(a), {}).get(int(b), math.inf)

    out = np.zeros(len(lix_edge))
    for i in range(len(edge)):
        ei, ai = edge[i], along[i]
        ui, vi, li = graph.edge_u[ei], graph.edge_v[ei], graph.edge_length_m[ei]
        for j in range(len(lix_edge)):
            ej, aj = lix_edge[j], lix_along[j]
            uj, vj, lj = graph.edge_u[ej], graph.edge_v[ej], graph.edge_length_m[ej]
            best = min(
                ai + d(ui, uj) + aj,
                ai + d(ui, vj) + lj - aj,
                li - ai + d(vi, uj) + aj,
                li - ai + d(vi, vj) + lj - aj,
            )
            if ei == ej:
                best = min(best, abs(ai - aj))
            out[j] += weight[i] * float(quartic_1d(best / h)) / h
    return out


def test_network_kde_equals_a_brute_force_sum_on_a_small_grid_network():
    # a 3 x 3 block grid of 60 m blocks with a diagonal short cut
    rows = []
    for k in range(4):
        rows.append(street(f"h{k}", [(X0, Y0 + 60 * k), (X0 + 180, Y0 + 60 * k)]))
        rows.append(street(f"v{k}", [(X0 + 60 * k, Y0), (X0 + 60 * k, Y0 + 180)]))
    rows.append(street("d", [(X0 + 60, Y0 + 60), (X0 + 120, Y0 + 120)]))
    d = District.create("grid", box(X0 - 10, Y0 - 10, X0 + 190, Y0 + 190), streets=frame(rows))
    graph = walk_graph(d)
    rng = np.random.default_rng(5)
    n = 25
    edge = rng.integers(0, graph.n_edges, n)
    along = rng.random(n) * graph.edge_length_m[edge]
    weight = rng.random(n) * 2
    lix_edge = np.repeat(np.arange(graph.n_edges), 3)
    lix_along = np.tile([0.1, 0.5, 0.9], graph.n_edges) * graph.edge_length_m[lix_edge]
    for h in (45.0, 130.0):
        fast = network_kde_values(graph, edge, along, weight, lix_edge, lix_along, h)
        slow = brute_force_network_kde(graph, edge, along, weight, lix_edge, lix_along, h)
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)
        assert fast.max() > 0


def test_grid_kde_equals_a_brute_force_loop():
    d = small_district()
    rng = np.random.default_rng(8)
    pts = [(X0 + float(a), Y0 + float(b)) for a, b in rng.random((30, 2)) * 200]
    pts.append((X0 + 45.0, Y0 + 55.0))  # exactly on a cell centre (distance 0)
    layer = incidents(pts)
    layer["weight"] = rng.random(len(pts)) + 0.5
    raster = grid_kde(d, layer, bandwidth_m=40.0, cell_m=10.0)
    rows, cols = raster.array.shape
    expected = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            x, y = raster.transform @ (c + 0.5, r + 0.5)
            for (px, py), w in zip(pts, layer["weight"], strict=True):
                u = math.hypot(x - px, y - py) / 40.0
                if u < 1:
                    expected[r, c] += w * 3 / math.pi * (1 - u * u) ** 2 / 40.0**2
    np.testing.assert_allclose(raster.array, expected * 1e6, rtol=1e-10, atol=1e-12)
    assert raster.unit == "incidents/km²"
    assert float(quartic_2d(0.0)) == pytest.approx(3 / math.pi)


def test_bandwidths_must_be_positive():
    d = line_district()
    with pytest.raises(InputError, match="bandwidth_m must be > 0"):
        network_kde(d, incidents([(X0, Y0)]), bandwidth_m=0)
    with pytest.raises(InputError, match="bandwidth_m must be > 0"):
        grid_kde(d, incidents([(X0, Y0)]), bandwidth_m=-5)


def test_gi_star_reproduces_pysal_documented_example():
    # esda.G_Local docstring: six points, DistanceBand(threshold=15), binary, star=True
    points = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], float)
    y = np.array([2, 3, 3.2, 5, 8, 7])
    stats = hotspot_statistics(y, points, band_m=15.0, alpha=0.05)
    np.testing.assert_allclose(
        stats["gi_z"],
        [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331],
        atol=1e-8,
    )
    # two-sided normal p of z = 2.02424331 is 0.0429...: significant alone, not after
    # Benjamini-Hochberg over six tests (needs p <= 0.05 / 6 for the smallest)
    assert stats["gi_p"].iloc[5] == pytest.approx(0.042945, abs=1e-5)
    assert not stats["hot"].any()
    assert stats.attrs["fdr_gi"] == pytest.approx(0.05 / 6)


def test_gi_star_hand_formula_and_fdr_on_a_lattice():
    # 10 x 10 lattice of 100 m cells, a block of high counts in one corner
    xs, ys = np.meshgrid(np.arange(10) * 100.0, np.arange(10) * 100.0)
    points = np.column_stack([xs.ravel(), ys.ravel()])
    y = np.ones(100)
    hot = (xs.ravel() < 250) & (ys.ravel() < 250)
    y[hot] = 12.0
    stats = hotspot_statistics(y, points, band_m=150.0, alpha=0.05)
    # Getis & Ord (1995) Gi* by hand, binary weights incl. self (queen at 150 m)
    n, mean = len(y), y.mean()
    s = math.sqrt((y**2).mean() - mean**2)
    dist = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    w = (dist <= 150.0).astype(float)
    wsum = w.sum(1)
    z = (w @ y - mean * wsum) / (s * np.sqrt((n * (w**2).sum(1) - wsum**2) / (n - 1)))
    np.testing.assert_allclose(stats["gi_z"], z, rtol=1e-10)
    assert stats["hot"].to_numpy()[hot].all()
    assert not stats["cold"].any()
    assert set(stats.loc[hot, "cluster"]) == {"HH"}


def test_hotspots_find_a_planted_cluster_on_the_grid():
    # a street grid of 100 m blocks; 60 incidents spread, 40 on one block face
    rows = [
        street(
            f"{axis}{k}",
            [(X0, Y0 + c), (X0 + 1000, Y0 + c)]
            if axis == "h"
            else [(X0 + c, Y0), (X0 + c, Y0 + 1000)],
        )
        for k in range(10)
        for axis, c in (("h", 100 * k + 50), ("v", 100 * k + 50))
    ]
    d = District.create("town", box(X0, Y0, X0 + 1000, Y0 + 1000), streets=frame(rows))
    rng = np.random.default_rng(2)
    spread = [
        (X0 + float(a), Y0 + 100 * int(k) + 50)
        for a, k in zip(rng.random(60) * 1000, rng.integers(0, 10, 60), strict=True)
    ]
    cluster = [(X0 + 620 + float(a), Y0 + 650) for a in rng.random(40) * 60]
    d = d.replace(incidents=incidents(spread + cluster))
    result = hotspots(d, cell_m=100.0, band_m=150.0)
    assert len(result.hotspots) >= 1
    top = result.hotspots.iloc[0]
    assert top["hotspot_id"] == "hot-1"
    assert top.geometry.contains(Point(X0 + 650, Y0 + 650))
    assert top["area_m2"] == pytest.approx(top["units"] * 100.0 * 100.0)
    assert result.units["count"].sum() == pytest.approx(100)
    seg = hotspots(d, unit="segment", band_m=150.0)
    assert seg.hotspots.iloc[0].geometry.distance(Point(X0 + 650, Y0 + 650)) < 1e-6


# --------------------------------------------------------------------------- 3 surveillance


def surveillance_scene(blocker: bool) -> District:
    """A 100 m path along y = Y0; a single-storey row of dwellings 5-15 m north of it;
    optionally a 4 m high garage (a dead frontage) between them at x 35-65, y 1-3
    (on the 1 m raster's cell edges, so the raster footprint is the polygon)."""
    streets = frame([street("s1", [(X0, Y0), (X0 + 100, Y0)], width_m=2.0)])
    rows = [
        {"building_id": "home", "use": "residential", "floors": 1, "height_m": 4.0,
         "dwellings": 4, "geometry": box(X0 + 30, Y0 + 5, X0 + 70, Y0 + 15)},
    ]  # fmt: skip
    if blocker:
        rows.append(
            {"building_id": "garage", "use": "parking", "floors": 1, "height_m": 4.0,
             "dwellings": 0, "geometry": box(X0 + 35, Y0 + 1, X0 + 65, Y0 + 3)}
        )  # fmt: skip
    import warnings

    from vollsmose_gis.validation import validate_district

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the omitted optional columns, filled
        return validate_district(
            District.create(
                "scene",
                box(X0 - 20, Y0 - 40, X0 + 120, Y0 + 40),
                streets=streets,
                buildings=frame(rows),
            ),
            strict=False,
        )


def shapely_overlooked_share(district: District, distance: float = 25.0) -> float:
    """Independent check: fine points on the path, seen by an observer when within the
    slant distance, within 80° of the facade normal and no building crosses the sight
    line (every building here is taller than the eye and the face)."""
    observers = [Point(X0 + 32.5 + 5 * k, Y0 + 5 - 0.75) for k in range(8)]  # 40 m / 5 m
    others = [
        g
        for i, g in zip(district.buildings["building_id"], district.buildings.geometry, strict=True)
        if i != "home"
    ]
    reach = math.sqrt(distance**2 - (1.7 - 1.5) ** 2)
    xs = np.arange(0.05, 100, 0.1)
    seen = 0
    for x in xs:
        target = Point(X0 + x, Y0)
        for obs in observers:
            dx, dy = target.x - obs.x, target.y - obs.y
            dist = math.hypot(dx, dy)
            if dist > reach or -dy < math.cos(math.radians(80)) * dist:  # normal (0, -1)
                continue
            if any(LineString([obs, target]).intersects(g) for g in others):
                continue
            seen += 1
            break
    return seen / len(xs)


def test_overlooked_share_matches_an_independent_shapely_computation():
    from vollsmose_gis.safety.surveillance import natural_surveillance

    fine = {"path_step_m": 0.25}
    open_scene = natural_surveillance(surveillance_scene(False), params=fine)
    # by hand: each eye sees 24.10 m either side (the 80° limit binds: 4.25 / cos 80°
    # = 24.47 m, sqrt(24.47² - 4.25²) = 24.10 m); eyes at x 32.5 … 67.5 -> [8.40, 91.60]
    reach = math.sqrt((4.25 / math.cos(math.radians(80))) ** 2 - 4.25**2)
    assert open_scene.share_day == pytest.approx((35 + 2 * reach) / 100, abs=0.005)
    assert open_scene.share_day == pytest.approx(
        shapely_overlooked_share(surveillance_scene(False)), abs=0.005
    )
    assert len(open_scene.observers) == 8 and set(open_scene.observers["z"]) == {1.5}
    assert open_scene.dead_frontage_m == 0.0
    # the garage hides part of the path and is a dead frontage of 30 m
    blocked = natural_surveillance(surveillance_scene(True), params=fine)
    independent = shapely_overlooked_share(surveillance_scene(True))
    assert independent < open_scene.share_day - 0.05
    assert blocked.share_day == pytest.approx(independent, abs=0.005)
    assert blocked.dead_frontage_m == pytest.approx(30.0)
    # no lamps: nothing is overlooked by night
    assert blocked.share_night == 0.0


def _seen_on_the_whole_grid(
    result, district: District, distance: float = 25.0, *, occluded: bool = True
) -> np.ndarray:
    """Which samples and square points some observer sees, as before the occluders were
    cropped: every (observer, point) pair in reach and in front, by brute force, checked
    by the line-of-sight engine over the whole grid's occluders."""
    from vollsmose_gis.cctv.visibility import _grid_for, _line_of_sight, _occluders

    obs = result.observers
    points = np.concatenate(
        [result.samples.geometry.to_numpy(), result.squares.geometry.to_numpy()]
    )
    targets = shapely.get_coordinates(points)
    ox, oy, oz, nx, ny = (obs[c].to_numpy(dtype=float) for c in ("x", "y", "z", "nx", "ny"))
    reach = np.sqrt(np.maximum(distance**2 - (oz - 1.7) ** 2, 0.0))
    dx = targets[None, :, 0] - ox[:, None]
    dy = targets[None, :, 1] - oy[:, None]
    dist = np.hypot(dx, dy)
    front = dx * nx[:, None] + dy * ny[:, None] >= math.cos(math.radians(80.0)) * dist
    owner, target = np.nonzero((dist <= reach[:, None]) & front)
    # the grid _seen uses (the same cell coordinates, so the same floating-point sums)
    margin = distance + 1.0
    grid = _grid_for((min(ox.min(), targets[:, 0].min()) - margin,
                      min(oy.min(), targets[:, 1].min()) - margin,
                      max(ox.max(), targets[:, 0].max()) + margin,
                      max(oy.max(), targets[:, 1].max()) + margin), 1.0)  # fmt: skip
    cx, cy = grid.to_cell(ox, oy)
    tx, ty = grid.to_cell(targets[:, 0], targets[:, 1])
    ok = _line_of_sight(cx, cy, oz, owner, tx[target], ty[target],
                        _occluders(district.buildings.iloc[: len(district.buildings) * occluded],
                                   grid), res=1.0, target_z=1.7,
                        clearance_m=1.0)  # fmt: skip
    seen = np.zeros(len(targets), dtype=bool)
    seen[target[ok]] = True
    return seen


def scene_beyond_the_boundary() -> District:
    """Flats behind low garages along a path that runs on far beyond the boundary, with
    more buildings (observers) out there and a square north of the path."""
    import warnings

    from vollsmose_gis.validation import validate_district

    rng = np.random.default_rng(8)
    streets = frame([street("s1", [(X0, Y0), (X0 + 400, Y0)]),
                     street("s2", [(X0 + 20, Y0), (X0 + 20, Y0 + 30), (X0 + 90, Y0 + 30)])])  # fmt: skip
    home = {"use": "residential", "dwellings": 8}
    rows = [
        # flats behind low garages: the upper floors see over them, the ground floor not
        {"building_id": "north", **home, "floors": 1, "height_m": 4.0,
         "geometry": box(X0 + 30, Y0 + 6, X0 + 70, Y0 + 14)},
        {"building_id": "garage-n", "use": "parking", "floors": 1, "height_m": 3.0,
         "dwellings": 0, "geometry": box(X0 + 35, Y0 + 1.5, X0 + 65, Y0 + 3.5)},
        {"building_id": "south", **home, "floors": 4, "height_m": 12.0,
         "geometry": box(X0 + 25, Y0 - 18, X0 + 75, Y0 - 10)},
        {"building_id": "garage-s", "use": "parking", "floors": 1, "height_m": 7.0,
         "dwellings": 0, "geometry": box(X0 + 20, Y0 - 4.7, X0 + 80, Y0 - 2.3)},
        {"building_id": "sq", **home, "floors": 4, "height_m": 12.0,
         "geometry": box(X0 + 40, Y0 + 34, X0 + 60, Y0 + 44)},
    ]  # fmt: skip
    for i in range(20):  # beyond the boundary: observers of the path that runs on
        x = float(rng.uniform(150, 390))
        y = float(rng.choice([-1, 1]) * rng.uniform(4, 25))
        floors = int(rng.integers(1, 6))
        rows.append({"building_id": f"b{i}", "use": ["residential", "retail"][i % 2],
                     "floors": floors, "height_m": 3.0 * floors, "dwellings": 4 * (i % 2),
                     "geometry": box(X0 + x, Y0 + y, X0 + x + float(rng.uniform(4, 20)),
                                     Y0 + y + float(rng.uniform(3, 9)))})  # fmt: skip
    squares = frame([{"landuse_id": "sq1", "use": "square",
                      "geometry": box(X0 + 25, Y0 + 20, X0 + 70, Y0 + 32)}])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the omitted optional columns, filled
        d = validate_district(
            District.create("scene", box(X0 - 10, Y0 - 40, X0 + 110, Y0 + 40),
                            streets=streets, buildings=frame(rows), landuse=squares),
            strict=False,
        )  # fmt: skip
    return d


def test_overlooked_points_equal_the_line_of_sight_over_the_whole_grid():
    """The occluders are built only around the sight lines: the same points are seen as
    with occluders over the whole grid, here with facades far outside the boundary (a
    path runs on beyond it) whose observers see nothing inside, and a garage south of
    every path point, between them and the flats south of the path."""
    from vollsmose_gis.safety.surveillance import natural_surveillance

    d = scene_beyond_the_boundary()
    result = natural_surveillance(
        d, lighting_segments=pd.DataFrame({"street_id": [], "status": []})
    )
    expected = _seen_on_the_whole_grid(result, d)
    day = result.samples["overlooked_day"].to_numpy()
    assert result.squares is not None
    np.testing.assert_array_equal(day, expected[: len(day)])
    np.testing.assert_array_equal(result.squares["overlooked_day"].to_numpy(), expected[len(day) :])
    # a real test: the garages hide points no other observer sees, and observers stand
    # well beyond the boundary
    open_ground = _seen_on_the_whole_grid(result, d, occluded=False)
    assert (open_ground & ~expected).sum() >= 5 and not (expected & ~open_ground).any()
    assert 0.2 < day.mean() < 1.0 and result.squares["overlooked_day"].any()
    assert result.observers["x"].max() > X0 + 250 and result.observers["z"].max() > 9


def test_natural_surveillance_of_the_default_district_is_unchanged():
    """Each sample's verdict on the embedded district, recorded before the line of sight
    was sped up (dense per-observer distance tables, occluders over the whole grid)."""
    import hashlib
    import warnings

    from vollsmose_gis.lighting import compliance
    from vollsmose_gis.safety.surveillance import natural_surveillance
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # C classes not assessed
        segments = compliance(d)
    result = natural_surveillance(d, lighting_segments=segments)

    def digest(values: pd.Series) -> str:
        return hashlib.sha1(np.packbits(values.to_numpy(dtype=bool)).tobytes()).hexdigest()

    day, night = result.samples["overlooked_day"], result.samples["overlooked_night"]
    assert (len(day), int(day.sum()), int(night.sum())) == (6987, 2233, 1778)
    assert digest(day) == "4de6b83d296082a75727de303cd67d231c5b7500"
    assert digest(night) == "378b90eca2fd93d913de5c5c5a7ce15aa114c562"
    assert result.squares is not None
    square = result.squares["overlooked_day"]
    assert (len(square), int(square.sum())) == (1890, 1442)
    assert digest(square) == "394addf51645022a1833caa1bcff5c514c6e21ee"
    assert result.share_day == 0.3179262943962075


def test_night_counts_only_paths_lit_to_their_class():
    from vollsmose_gis.lighting.compliance import passing_streets
    from vollsmose_gis.safety.surveillance import natural_surveillance

    # "lit to its class" is the lighting analysis's verdict (status), street by street
    lit = pd.DataFrame({"street_id": ["s1"], "status": ["pass"]})
    result = natural_surveillance(surveillance_scene(False), lighting_segments=lit)
    assert result.share_night == pytest.approx(result.share_day)
    for status in ("fail", "not_assessed"):  # a C class is never "lit to its class"
        dim = lit.assign(status=[status])
        night = natural_surveillance(surveillance_scene(False), lighting_segments=dim)
        assert night.share_night == 0.0
    # one failing segment fails its street
    two = pd.DataFrame({"street_id": ["s1", "s1", "s2"], "status": ["pass", "fail", "pass"]})
    assert passing_streets(two) == {"s2"}
    with pytest.raises(InputError, match="recognition_distance_m must be > 0"):
        natural_surveillance(surveillance_scene(False), recognition_distance_m=0)


# --------------------------------------------------------------------------- 4 planners


def crafted_for_planners() -> District:
    """Two dark footways: a long one (150 m, y = 150) and a short marked one (60 m,
    y = 20, three safety-walk marks); a large square the area-greedy camera planner
    prefers."""
    import warnings

    from vollsmose_gis.validation import validate_district

    rows = [
        street("long", [(X0, Y0 + 150), (X0 + 150, Y0 + 150)]),
        street("short", [(X0 + 20, Y0 + 20), (X0 + 80, Y0 + 20)]),
    ]
    landuse = frame(
        [
            {
                "landuse_id": "sq",
                "use": "square",
                "geometry": box(X0 + 150, Y0 + 60, X0 + 300, Y0 + 140),
            }
        ]
    )
    marks = frame(
        [
            {"mark_id": f"m{k}", "reason": "dark", "geometry": Point(X0 + 45 + 5 * k, Y0 + 20)}
            for k in range(3)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_district(
            District.create(
                "crafted", box(X0, Y0, X0 + 300, Y0 + 200),
                streets=frame(rows), landuse=landuse, safety_walk=marks,
            ),
            strict=False,
        )  # fmt: skip


def test_priority_lamp_planner_treats_the_marked_places_the_geometric_one_leaves():
    from vollsmose_gis.lighting import plan_lights
    from vollsmose_gis.safety.priority import plan_lights_for_evidence, treated_share

    d = crafted_for_planners()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geometric = plan_lights(d, max_new=6)  # the longest failing path first
        aimed = plan_lights_for_evidence(d, max_new=6)
    assert geometric.unmet == ["short"]
    assert treated_share(geometric.district, by="lights") == 0.0
    assert aimed.summary["treated_share_before"] == 0.0
    assert aimed.summary["treated_share_after"] == 1.0
    assert aimed.district.boundary.equals(d.boundary)
    assert (aimed.added.geometry.y < Y0 + 40).all()  # every lamp by the marked path


def test_priority_camera_planner_sees_the_marked_places_not_the_largest_square():
    from vollsmose_gis.cctv import plan_cameras
    from vollsmose_gis.safety.priority import plan_cameras_for_evidence, treated_share

    d = crafted_for_planners()
    cands = gpd.GeoDataFrame(
        {"height_m": [4.0, 4.0]},
        geometry=[Point(X0 + 50, Y0 + 26), Point(X0 + 225, Y0 + 100)],
        crs=CRS,
    )
    geometric = plan_cameras(d, candidates=cands, k=1, level="observation")
    aimed = plan_cameras_for_evidence(d, candidates=cands, k=1, level="observation")
    assert geometric.added.geometry.iloc[0].equals(Point(X0 + 225, Y0 + 100))
    assert treated_share(geometric.district, by="cameras", level="observation") == 0.0
    assert aimed.added.geometry.iloc[0].equals(Point(X0 + 50, Y0 + 26))
    assert aimed.added["heading_deg"].tolist() == [180.0]  # facing the marks (south)
    assert aimed.summary["treated_share_after"] == 1.0
    assert aimed.added["camera_id"].tolist() == ["new-K-001"]


def marks_on_one_side() -> District:
    """Four unlit footways; five of six safety-walk marks on the two short east paths.

    Lamps the planner needs: north (160 m) 6, west (120 m) 5, east (60 m) 3, corner
    (50 m) 2.  Marks: three on east, two on corner, one on west.
    """
    import warnings

    from vollsmose_gis.validation import validate_district

    rows = [
        street("north", [(X0, Y0 + 180), (X0 + 160, Y0 + 180)]),
        street("west", [(X0 + 20, Y0 + 20), (X0 + 20, Y0 + 140)]),
        street("east", [(X0 + 200, Y0 + 30), (X0 + 260, Y0 + 30)]),
        street("corner", [(X0 + 280, Y0 + 50), (X0 + 280, Y0 + 100)]),
    ]
    at = [(220, 30), (230, 30), (240, 30), (280, 65), (280, 85), (20, 80)]
    marks = frame(
        [
            {"mark_id": f"m{k}", "reason": "dark", "geometry": Point(X0 + x, Y0 + y)}
            for k, (x, y) in enumerate(at)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_district(
            District.create(
                "one side", box(X0, Y0, X0 + 300, Y0 + 200),
                streets=frame(rows), safety_walk=marks,
            ),
            strict=False,
        )  # fmt: skip


def test_priority_lamps_treat_more_marks_than_the_geometric_lamps_with_the_same_budget():
    from vollsmose_gis.lighting import plan_lights
    from vollsmose_gis.safety.priority import plan_lights_for_evidence, treated_share

    d = marks_on_one_side()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geometric = plan_lights(d, max_new=6)  # longest first: all six lamps on north
        aimed = plan_lights_for_evidence(d, max_new=6)
    assert len(geometric.added) == 6 and (geometric.added.geometry.y > Y0 + 170).all()
    assert treated_share(geometric.district, by="lights") * 6 == pytest.approx(0)
    # east (3 marks, 3 lamps), corner (2 marks, 2 lamps); west (1 mark) needs 5
    assert len(aimed.added) == 5 and aimed.unmet == ["west"]
    assert treated_share(aimed.district, by="lights") * 6 == pytest.approx(5)
    assert aimed.summary["treated_share_before"] == 0.0
    assert aimed.summary["treated_share_after"] * 6 == pytest.approx(5)
    assert aimed.summary["priority_treated_share_after"] * 6 == pytest.approx(5)
    assert aimed.summary["segments_without_priority"] == 1  # north: no mark


def test_priority_cameras_treat_more_marks_than_the_geometric_cameras_with_the_same_budget():
    from vollsmose_gis.cctv import plan_cameras
    from vollsmose_gis.safety.priority import (
        plan_cameras_for_evidence,
        priority_places,
        priority_surface,
        treated_share,
    )

    d = marks_on_one_side()
    # a pole by each path (4 headings each): north middle, west, east end, corner end
    cands = gpd.GeoDataFrame(
        {"height_m": [4.0] * 4},
        geometry=[Point(X0 + 80, Y0 + 182), Point(X0 + 22, Y0 + 60),
                  Point(X0 + 205, Y0 + 32), Point(X0 + 282, Y0 + 50)],
        crs=CRS,
    )  # fmt: skip
    geometric = plan_cameras(d, candidates=cands, k=2, level="detection")
    # the most path area: the north pole looking east and west
    assert geometric.added["candidate_id"].tolist() == ["cand-2", "cand-4"]
    assert treated_share(geometric.district, by="cameras", level="detection") == 0.0
    aimed = plan_cameras_for_evidence(d, candidates=cands, k=2, level="detection")
    # the east pole looking east (3 marks within 38 m), the corner pole looking north (2)
    assert aimed.added["candidate_id"].tolist() == ["cand-10", "cand-13"]
    assert aimed.added["heading_deg"].tolist() == [90.0, 0.0]
    assert aimed.summary["treated_share_after"] * 6 == pytest.approx(5)
    assert treated_share(aimed.district, by="cameras", level="detection") * 6 == pytest.approx(5)
    # the wrapper is the native planner with the evidence's surface as priority
    surface = priority_surface(d, priority_places(d), bandwidth_m=15.0)
    native = plan_cameras(d, candidates=cands, k=2, level="detection", priority=surface)
    assert native.added["candidate_id"].tolist() == ["cand-10", "cand-13"]
    np.testing.assert_allclose(native.added["marginal_weight"], aimed.added["marginal_weight"])
    assert native.added["priority_share"].is_monotonic_increasing


def test_invalid_priority_is_refused_by_both_planners():
    from affine import Affine

    from vollsmose_gis.cctv import plan_cameras
    from vollsmose_gis.io import Raster
    from vollsmose_gis.lighting import plan_lights
    from vollsmose_gis.safety.priority import priority_places, priority_surface

    d = marks_on_one_side()
    places = priority_places(d)
    surface = priority_surface(d, places)
    cands = gpd.GeoDataFrame({"height_m": [4.0]}, geometry=[Point(X0 + 205, Y0 + 32)], crs=CRS)

    def refused(priority: object, match: str) -> None:
        with pytest.raises(InputError, match=match):
            plan_lights(d, priority=priority)  # type: ignore[arg-type]
        with pytest.raises(InputError, match=match):
            plan_cameras(d, candidates=cands, k=1, priority=priority)  # type: ignore[arg-type]

    refused(
        places.assign(weight=[1.0, -2.0, 1.0, 1.0, 1.0, 1.0]),
        r"1 negative weight\(s\) \(lowest -2\)",
    )
    negative = surface.array.copy()
    negative[0, 0] = -0.5
    refused(Raster(negative, surface.transform, CRS), "negative weight")
    refused(places.assign(weight=np.inf), "infinite weights")
    refused(places.to_crs("EPSG:4326"), "CRS .*reproject")
    refused(Raster(surface.array, surface.transform, "EPSG:25833"), "CRS .*reproject the raster")
    far = Affine(1.0, 0.0, X0 + 10_000, 0.0, -1.0, Y0 + 10_000)
    refused(Raster(surface.array, far, CRS), "does not overlap the boundary")
    refused(Raster(np.zeros_like(surface.array), surface.transform, CRS), "no weight > 0 inside")
    refused(places.assign(weight=0.0), "no weight > 0 inside")
    refused(places.drop(columns="weight"), "'weight' column")
    refused({"weight": 1.0}, "priority must be a Raster")
    # weight only where no path is: nothing the cameras could cover
    off_path = priority_places(d).iloc[[0]].assign(geometry=[Point(X0 + 150, Y0 + 100)])
    with pytest.raises(InputError, match="no weight on the walkable public space"):
        plan_cameras(d, candidates=cands, k=1, priority=off_path)
    # the lamp planner has no path to give it to: nothing planned, said in the summary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idle = plan_lights(d, priority=off_path)
    assert len(idle.added) == 0 and idle.summary["segments_without_priority"] == 4
    assert idle.summary["priority_weight_near_paths"] == 0.0


def test_priority_surface_spreads_each_weight_once():
    from vollsmose_gis.safety.priority import priority_places, priority_surface

    d = crafted_for_planners()
    places = priority_places(d)
    assert places["weight"].tolist() == [1.0, 1.0, 1.0]
    surface = priority_surface(d, places, resolution_m=1.0, bandwidth_m=10.0)
    # Σ cells × 1 m² ≈ Σ weights (midpoint rule of the quartic kernel on 1 m cells)
    assert float(surface.array.sum()) == pytest.approx(3.0, rel=0.01)


# --------------------------------------------------------------------------- 5 analysis


def test_safety_analysis_on_the_default_district_with_illustrative_evidence():
    from vollsmose_gis import analysis
    from vollsmose_gis.safety import with_illustrative_evidence
    from vollsmose_gis.sources.vollsmose import default_district

    d = with_illustrative_evidence(default_district())
    result = analysis.run("safety", d)
    values = {k: v.value for k, v in result.indicators.items()}
    for key in (
        "safety_path_overlooked_day_share",
        "safety_path_overlooked_night_share",
        "safety_incidents_in_dark_spots_share",
        "safety_incidents_in_camera_coverage_share",
        "safety_incidents_on_overlooked_paths_share",
    ):
        assert 0.0 <= values[key] <= 1.0, key
    assert (
        values["safety_path_overlooked_night_share"] <= values["safety_path_overlooked_day_share"]
    )
    # per 1,000 residents in the latest year, by hand from the layer
    years = pd.to_datetime(d.incidents["date"]).dt.year
    latest = int(years.max())
    dwellings = d.buildings.loc[
        shapely.within(shapely.point_on_surface(d.buildings.geometry.to_numpy()), d.boundary),
        "dwellings",
    ].sum()
    expected = (years == latest).sum() / (float(dwellings) * 2.3) * 1000
    assert values["safety_incidents_per_1000_residents"] == pytest.approx(expected)
    assert str(latest) in result.indicators["safety_incidents_per_1000_residents"].label
    assert "ILLUSTRATIVE" in result.indicators["safety_incidents_per_1000_residents"].label
    assert values["safety_hotspot_count"] >= 1
    assert values["safety_hotspot_extent"] == pytest.approx(
        result.layers["safety_hotspots"]["area_m2"].sum() / 10_000
    )
    assert any("ILLUSTRATIVE" in w for w in result.warnings)
    audit = result.layers["safety_audit"]
    assert len(audit) == len(d.safety_walk)
    assert {"lux", "camera_level", "overlooked_day", "overlooked_night", "v85_kmh"} <= set(audit)
    assert audit["illustrative"].all()
    # the map layer never shows a cell with fewer than 5 incidents
    assert (result.layers["safety_incidents_aggregated"]["count"] >= 5).all()


def test_safety_analysis_without_evidence_says_why_and_refuses_bad_evidence():
    from vollsmose_gis import analysis

    d = small_district()
    result = analysis.run("safety", d)
    ind = result.indicators
    assert math.isnan(ind["safety_hotspot_count"].value)
    assert ind["safety_hotspot_count"].reason == "no incidents in the district's incidents layer"
    assert math.isnan(ind["safety_incidents_in_dark_spots_share"].value)
    assert not math.isnan(ind["safety_path_overlooked_day_share"].value)
    future = d.replace(incidents=incidents([(X0 + 50, Y0 + 100)], date="2099-01-01"))
    with pytest.raises(InputError, match="dated in the future"):
        analysis.run("safety", future)


# --------------------------------------------------------------------------- faces


def safety_cli():
    import typer

    from vollsmose_gis.cli import handle_errors
    from vollsmose_gis.cli_safety import safety

    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("safety")(handle_errors(safety))
    return app


def test_cli_safety_json_with_illustrative_evidence(tmp_path):
    import json

    from typer.testing import CliRunner

    out = tmp_path / "safety.gpkg"
    tif = tmp_path / "kde.tif"
    result = CliRunner().invoke(
        safety_cli(), ["safety", "--illustrative", "--json", "-o", str(out), "--raster", str(tif)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["illustrative"] is True
    assert report["indicators"]["safety_hotspot_count"]["value"] >= 1
    assert len(report["audit"]) == 18
    assert [r["year"] for r in report["incidents_by_year"]] == list(range(2019, 2025))
    tables = {name for name, _ in pyogrio.list_layers(out)}
    assert {"incidents", "safety_walk", "safety_hotspots", "safety_audit"} <= tables
    assert tif.exists()
    back = load_district(out)
    assert back.incidents["illustrative"].all()


def test_cli_safety_plans_lamps_at_the_marks(tmp_path):
    import json

    from typer.testing import CliRunner

    path = tmp_path / "one-side.gpkg"
    save_district(marks_on_one_side(), path)
    out = tmp_path / "planned.gpkg"
    result = CliRunner().invoke(
        safety_cli(), ["safety", str(path), "--plan-lights", "6", "--json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plans"]["lights"]
    # as the library: east and corner lit (5 lamps), west left (needs 5 more)
    assert plan["added"] == 5 and plan["unmet"] == ["west"]
    assert plan["treated_share_before"] == 0.0
    assert plan["treated_share_after"] * 6 == pytest.approx(5)
    assert len(pyogrio.read_dataframe(out, layer="safety_plan_lights")) == 5


def test_cli_safety_refuses_bad_evidence_with_exit_2_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner

    bad = tmp_path / "inc.csv"
    bad.write_text("x,y,kind,date\n590500,6141000,arson,2024-01-01\n")
    out = tmp_path / "out.gpkg"
    result = CliRunner().invoke(safety_cli(), ["safety", "--incidents", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "unknown or empty kind ['arson']" in result.output
    assert not out.exists()
    result = CliRunner().invoke(safety_cli(), ["safety", "--bandwidth", "0"])
    assert result.exit_code == 2 and "--bandwidth 0.0 must be > 0 m" in result.output


def test_overlooked_square_area_matches_shapely_cones():
    from vollsmose_gis.safety.surveillance import natural_surveillance

    base = surveillance_scene(False)
    square = box(X0 + 30, Y0 - 30, X0 + 70, Y0 - 2)  # south of the path, facing the homes
    d = base.replace(landuse=frame([{"landuse_id": "sq", "use": "square", "geometry": square}]))
    result = natural_surveillance(d, params={"square_step_m": 0.5})
    # independent: the union of each eye's view (disc of the horizontal reach ∩ the
    # ±80° wedge about the facade normal (0, -1)) over the square, by area
    reach = math.sqrt(25.0**2 - 0.2**2)
    views = []
    for k in range(8):
        eye = Point(X0 + 32.5 + 5 * k, Y0 + 4.25)
        fan = [
            (
                eye.x + 2 * reach * math.sin(math.radians(a)),
                eye.y - 2 * reach * math.cos(math.radians(a)),
            )
            for a in np.linspace(-80, 80, 33)
        ]
        views.append(eye.buffer(reach, 256).intersection(shapely.Polygon([(eye.x, eye.y), *fan])))
    expected = shapely.union_all(views).intersection(square).area / square.area
    assert 0.3 < expected < 0.95
    assert result.square_share_day == pytest.approx(expected, abs=0.01)
    assert math.isnan(natural_surveillance(base).square_share_day)


def test_a_scenario_building_along_a_path_gains_eyes_on_it():
    from vollsmose_gis.safety.surveillance import natural_surveillance
    from vollsmose_gis.scenario import Scenario, apply_scenario

    scene = surveillance_scene(False)
    empty = scene.replace(buildings=scene.buildings.iloc[:0])
    assert natural_surveillance(empty).share_day == 0.0
    plan = Scenario.from_dict(
        {
            "name": "row houses on the path",
            "interventions": [
                {"type": "build", "geometry": box(X0 + 30, Y0 + 5, X0 + 70, Y0 + 15).wkt,
                 "floors": 1, "dwellings": 4, "use": "residential", "tenure": "almen_family"}
            ],
        }
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built, _ = apply_scenario(empty, plan)
    after = natural_surveillance(built)
    assert after.share_day == pytest.approx(natural_surveillance(scene).share_day)
    assert after.share_day > 0.8


def test_audit_shows_what_a_plan_changes_at_each_mark():
    from vollsmose_gis import analysis
    from vollsmose_gis.safety import compare_audits
    from vollsmose_gis.safety.priority import plan_lights_for_evidence

    d = crafted_for_planners()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_lights_for_evidence(d, max_new=6)
        now = analysis.run("safety", d).layers["safety_audit"]
        later = analysis.run("safety", plan.district).layers["safety_audit"]
    table = compare_audits(now, later)
    assert table["mark_id"].tolist() == ["m0", "m1", "m2"]
    assert (table["lux_now"] == 0.0).all()  # no lamps at all today
    assert (table["lux_plan"] > 1.0).all()
    assert table["changed"].all()
    assert (table["camera_level_now"] == "not seen").all()
    assert table["camera_level_plan"].tolist() == table["camera_level_now"].tolist()


def test_review_computes_each_distinct_surveillance_once():
    """The plans' safety review (report's Safety section): today's surveillance is
    reused by a plan that leaves its layers alone, one computation serves plans with the
    same content, and a plan that adds lamps gets its own night view."""
    from types import SimpleNamespace

    from vollsmose_gis import analysis
    from vollsmose_gis.safety.priority import treated_share
    from vollsmose_gis.safety.review import review_plans

    base = surveillance_scene(False).replace(
        safety_walk=frame(
            [{"mark_id": "m1", "reason": "dark", "date": "2024-10-01",
              "geometry": Point(X0 + 50, Y0)}]
        )
    )  # fmt: skip

    def scored(district):
        return SimpleNamespace(district=district, modules={})

    lamps = frame(
        [
            {"light_id": f"l{k}", "lumens": 3000.0, "height_m": 5.0,
             "geometry": Point(X0 + 5 + 15 * k, Y0 + 2)}
            for k in range(7)
        ]
    )  # fmt: skip
    lit = base.replace(lights=lamps)
    review = review_plans(
        scored(base), {"same": scored(base), "lit": scored(lit), "lit too": scored(lit)}
    )
    assert review is not None
    today = analysis.run("safety", base).extras["surveillance"]
    assert review.baseline.surveillance is today and review.plans["same"].surveillance is today
    assert review.plans["lit"].surveillance is review.plans["lit too"].surveillance
    assert review.plans["lit"].surveillance is not today
    # no lamp today: nothing overlooked at night; the lamps give the lit plan a night view
    assert review.baseline.surveillance.share_night == 0.0
    assert review.plans["lit"].surveillance.share_night > 0.0
    assert review.plans["lit"].audit["lux"].iloc[0] > review.baseline.audit["lux"].iloc[0] == 0
    assert review.plans["lit"].treated_lights == treated_share(lit, by="lights")
    # no evidence: no review
    bare = base.replace(safety_walk=base.safety_walk.iloc[:0], incidents=base.incidents.iloc[:0])
    assert review_plans(scored(bare), {}) is None


def test_review_sees_the_plans_at_todays_recognition_distance():
    """A safety run at 10 m (module_params) reviews the plans at 10 m too."""
    from types import SimpleNamespace

    from vollsmose_gis import analysis
    from vollsmose_gis.safety.review import review_plans
    from vollsmose_gis.safety.surveillance import natural_surveillance

    base = surveillance_scene(False).replace(
        safety_walk=frame(
            [{"mark_id": "m1", "reason": "dark", "date": "2024-10-01",
              "geometry": Point(X0 + 50, Y0)}]
        )
    )  # fmt: skip
    wider = base.replace(buildings=base.buildings.iloc[:1])  # a plan without the other houses
    today = analysis.run("safety", base, recognition_distance_m=10.0)
    review = review_plans(
        SimpleNamespace(district=base, modules={"safety": today}),
        {"plan": SimpleNamespace(district=wider, modules={})},
    )
    expected = natural_surveillance(wider, recognition_distance_m=10.0).share_day
    assert review.plans["plan"].surveillance.share_day == expected
    assert expected < natural_surveillance(wider).share_day  # 10 m sees less than 25 m


def test_a_copy_of_a_score_result_with_other_plans_reviews_its_own():
    import dataclasses

    from vollsmose_gis.scenario import Scenario
    from vollsmose_gis.scoring import score_scenarios

    base = surveillance_scene(False).replace(
        safety_walk=frame(
            [{"mark_id": "m1", "reason": "dark", "date": "2024-10-01",
              "geometry": Point(X0 + 50, Y0)}]
        )
    )  # fmt: skip
    result = score_scenarios([Scenario(name="As is")], district=base, modules=["lighting"])
    first = result.safety_review()
    assert first is not None and result.safety_review() is first  # kept
    other = dataclasses.replace(result, results={"Other": result.results["As is"]})
    assert set(other.safety_review().plans) == {"Other"}
    # same names, another baseline object: computed again, not the stale review
    rebased = dataclasses.replace(result, baseline=dataclasses.replace(result.baseline))
    assert rebased.safety_review() is not first


def test_a_coarse_priority_raster_is_spread_over_its_cells_not_put_on_their_centres():
    """A 20 m density cell weighs on the whole 20 m square it covers (review finding)."""
    from affine import Affine

    from vollsmose_gis.io import Raster
    from vollsmose_gis.lighting import priority_points

    d = surveillance_scene(False)
    # one 20 m cell of 0.01 / m² over x 40..60, y -10..10 around the path (y = Y0)
    raster = Raster(
        np.array([[0.01]]), Affine(20.0, 0, X0 + 40, 0, -20.0, Y0 + 10), CRS, name="density"
    )
    xy, weight = priority_points(raster, d)
    assert len(xy) == 400  # 1 m points: 20 x 20
    assert weight.sum() == pytest.approx(0.01 * 400)  # value x cell area, kept whole
    assert xy[:, 0].min() == pytest.approx(X0 + 40.5) and xy[:, 0].max() == pytest.approx(X0 + 59.5)
    assert xy[:, 1].min() == pytest.approx(Y0 - 9.5) and xy[:, 1].max() == pytest.approx(Y0 + 9.5)
    # at the camera planner's 2 m cells: 10 x 10 points, the same weight
    coarse_xy, coarse_w = priority_points(raster, d, step_m=2.0)
    assert len(coarse_xy) == 100 and coarse_w.sum() == pytest.approx(4.0)
