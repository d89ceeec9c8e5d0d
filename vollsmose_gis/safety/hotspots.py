"""Hot spots of incidents: network and grid kernel density, Gi* and local Moran's I.

Network KDE
-----------
The density at a point ``s`` of the walk graph (a lixel: a piece of a street segment
at most ``lixel_m`` long, represented by its midpoint) is

    f(s) = Σ_i w_i · K(d_N(i, s) / h) / h        (incidents per metre; × 1000 per km)

with ``d_N`` the shortest-path distance along the walk graph (m), ``h`` the bandwidth
(m), ``w_i`` the incident's weight × count and ``K(u) = 15/16 (1 - u²)²`` for |u| < 1
(the quartic kernel, integrating to 1 on a line).  This is the "simple" network
kernel (Xie & Yan 2008): the kernel is not split at junctions, so near junctions it
sums to more than one incident; it ranks segments, it is not a probability density on
the network.  Incidents are snapped to their nearest walk-graph edge; those farther
than ``evidence.network_snap_max_m`` (50 m) are left out with a warning.

Grid KDE
--------
``f(x) = Σ_i w_i · K₂(|x - x_i| / h) / h²`` (incidents per m²; × 10⁶ per km²) with the
2-D quartic kernel ``K₂(u) = 3/π (1 - u²)²`` for u < 1, on cell centres.

Statistics
----------
Counts per grid cell (``stat_cell_m``, 100 m; cells touching the boundary) or per walk
edge; binary distance-band weights (``libpysal.weights.DistanceBand``, ``band_m``)
between cell centres / edge midpoints; Getis-Ord Gi* (``esda.G_Local``, star=True,
binary) and local Moran's I (``esda.Moran_Local``, row-standardised), each with
two-sided normal p-values from PySAL's analytical moments (or conditional permutation
pseudo p-values when ``permutations`` > 0, seeded), and the Benjamini-Hochberg
false-discovery-rate cut-off ``esda.fdr(p, alpha)``: a cell is a significant hot spot
when its Gi* z > 0 and its p ≤ the cut-off.  Hot spots
are the 4-connected groups of significant hot cells.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from scipy import ndimage, sparse, stats
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.io import Raster
from vollsmose_gis.network import StreetGraph, walk_graph
from vollsmose_gis.safety.evidence import EvidenceWarning, incident_weights, safety_params

__all__ = [
    "HotspotResult",
    "grid_kde",
    "hotspot_statistics",
    "hotspots",
    "network_kde",
    "network_kde_values",
    "quartic_1d",
    "quartic_2d",
]


def quartic_1d(u: np.ndarray) -> np.ndarray:
    """Quartic kernel on a line: 15/16 (1 - u²)² for |u| < 1, else 0 (integrates to 1)."""
    u = np.asarray(u, dtype=float)
    return np.where(np.abs(u) < 1.0, 15.0 / 16.0 * (1.0 - u**2) ** 2, 0.0)


def quartic_2d(u: np.ndarray) -> np.ndarray:
    """Quartic kernel in the plane: 3/π (1 - u²)² for u < 1, else 0 (integrates to 1)."""
    u = np.asarray(u, dtype=float)
    return np.where(u < 1.0, 3.0 / math.pi * (1.0 - u**2) ** 2, 0.0)


def _check_bandwidth(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be > 0 m, got {value!r}")
    return value


# --------------------------------------------------------------------------- network KDE


def network_kde_values(
    graph: StreetGraph,
    edge: np.ndarray,
    along_m: np.ndarray,
    weight: np.ndarray,
    lixel_edge: np.ndarray,
    lixel_along_m: np.ndarray,
    bandwidth_m: float,
) -> np.ndarray:
    """Network KDE at given points of a graph (the engine of :func:`network_kde`).

    Parameters
    ----------
    graph
        The walk graph (undirected).
    edge, along_m, weight
        Each incident's edge row, distance along it from its ``u`` end (m) and weight.
    lixel_edge, lixel_along_m
        Each evaluation point's edge row and distance along it (m).
    bandwidth_m
        Kernel bandwidth h, m (> 0).

    Returns
    -------
    numpy.ndarray
        Density at each evaluation point, incidents per metre.
    """
    h = _check_bandwidth(bandwidth_m, "bandwidth_m")
    n_lix = len(lixel_edge)
    density = np.zeros(n_lix)
    if not len(edge) or not n_lix:
        return density
    u, v, length = graph.edge_u, graph.edge_v, graph.edge_length_m
    # evaluation points grouped by edge
    order = np.argsort(lixel_edge, kind="stable")
    sorted_edge = lixel_edge[order]
    starts = np.searchsorted(sorted_edge, np.arange(graph.n_edges + 1))
    # edges meeting each node
    ends = np.concatenate([u, v])
    edge_ids = np.concatenate([np.arange(graph.n_edges)] * 2)
    node_order = np.argsort(ends, kind="stable")
    node_edges = edge_ids[node_order]
    node_starts = np.searchsorted(ends[node_order], np.arange(graph.n_nodes + 1))
    sources = np.unique(np.concatenate([u[edge], v[edge]]))
    csr = graph.csr
    chunk = max(1, 2_000_000 // max(graph.n_nodes, 1))
    node_dist: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in range(0, len(sources), chunk):
        block = csgraph.dijkstra(csr, directed=True, indices=sources[k : k + chunk], limit=h)
        for j, s in enumerate(sources[k : k + chunk]):
            reach = np.flatnonzero(block[j] < h)
            node_dist[int(s)] = (reach, block[j][reach])
    scratch = np.full(graph.n_nodes, np.inf)
    for i in range(len(edge)):
        e, a = int(edge[i]), float(along_m[i])
        nu, du = node_dist[int(u[e])]
        nv, dv = node_dist[int(v[e])]
        scratch[nu] = du + a
        np.minimum.at(scratch, nv, dv + (length[e] - a))
        nodes = np.union1d(nu, nv)
        near = nodes[scratch[nodes] < h]
        if len(near):
            parts = [node_edges[node_starts[n] : node_starts[n + 1]] for n in near]
            edges = np.unique(np.concatenate([*parts, [e]]))
        else:
            edges = np.array([e])
        counts = starts[edges + 1] - starts[edges]
        total = int(counts.sum())
        if total:
            first = np.repeat(starts[edges] - np.cumsum(counts) + counts, counts)
            lix = order[first + np.arange(total)]
            le = lixel_edge[lix]
            la = lixel_along_m[lix]
            d = np.minimum(scratch[u[le]] + la, scratch[v[le]] + (length[le] - la))
            own = le == e
            d[own] = np.minimum(d[own], np.abs(la[own] - a))
            density[lix] += weight[i] * quartic_1d(d / h) / h
        scratch[nodes] = np.inf
    return density


def _lixels(graph: StreetGraph, lixel_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge row, midpoint distance along the edge (m) and length (m) of each lixel."""
    length = graph.edge_length_m
    pieces = np.maximum(1, np.ceil(length / lixel_m - 1e-9)).astype(np.int64)
    edge = np.repeat(np.arange(graph.n_edges), pieces)
    k = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    step = (length / pieces)[edge]
    return edge, (k + 0.5) * step, step


def _snap_incidents(
    graph: StreetGraph, incidents: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    limit = float(safety_params("evidence")["network_snap_max_m"])
    points = shapely.centroid(incidents.geometry.to_numpy())
    snapped = graph.snap(points, max_distance_m=limit)
    ok = snapped.valid
    if (~ok).any():
        warnings.warn(
            f"{int((~ok).sum())} incident(s) lie more than {limit:g} m from every walkable "
            "street and are left out of the network density",
            EvidenceWarning,
            stacklevel=3,
        )
    # graph lengths may be quantised: scale the position along the geometry to it
    geom_len = shapely.length(graph.edges.geometry.to_numpy())[snapped.edge[ok]]
    scale = np.where(geom_len > 0, graph.edge_length_m[snapped.edge[ok]] / geom_len, 1.0)
    along = np.clip(snapped.along_m[ok] * scale, 0.0, graph.edge_length_m[snapped.edge[ok]])
    return snapped.edge[ok], along, incident_weights(incidents)[ok]


def network_kde(
    district: District,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    bandwidth_m: float | None = None,
    lixel_m: float | None = None,
    graph: StreetGraph | None = None,
) -> gpd.GeoDataFrame:
    """Kernel density of incidents along the walk network, per lixel.

    Parameters
    ----------
    district
        Its walk graph carries the density; its ``incidents`` are used when
        ``incidents`` is None.
    incidents
        Incident points (``weight`` × ``count`` each).
    bandwidth_m
        Bandwidth h, m (default ``hotspots.bandwidth_m``, 150 m); > 0.
    lixel_m
        Longest lixel, m (default ``hotspots.lixel_m``, 10 m); > 0.
    graph
        A walk graph to use instead of the district's.

    Returns
    -------
    geopandas.GeoDataFrame
        ``edge``, ``street_id``, ``length_m``, ``density_per_km`` (incidents per km of
        street, see the module notes) and the lixel's line geometry.
    """
    params = safety_params("hotspots")
    h = _check_bandwidth(
        params["bandwidth_m"] if bandwidth_m is None else bandwidth_m, "bandwidth_m"
    )
    step = _check_bandwidth(params["lixel_m"] if lixel_m is None else lixel_m, "lixel_m")
    graph = graph or walk_graph(district)
    layer = district.incidents if incidents is None else incidents
    lix_edge, lix_along, lix_len = _lixels(graph, step)
    edge, along, weight = _snap_incidents(graph, layer)
    density = network_kde_values(graph, edge, along, weight, lix_edge, lix_along, h)
    lines = graph.edges.geometry.to_numpy()[lix_edge]
    geom_len = shapely.length(lines)
    scale = np.where(
        graph.edge_length_m[lix_edge] > 0, geom_len / graph.edge_length_m[lix_edge], 1.0
    )
    start = (lix_along - lix_len / 2) * scale
    end = (lix_along + lix_len / 2) * scale
    geoms = [
        shapely.ops.substring(line, float(a), float(b))
        for line, a, b in zip(lines, start, end, strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "edge": lix_edge,
            "street_id": graph.edges["street_id"].astype(str).to_numpy()[lix_edge],
            "length_m": lix_len,
            "density_per_km": density * 1000.0,
        },
        geometry=geoms,
        crs=district.crs,
    )


# --------------------------------------------------------------------------- grid KDE


def grid_kde(
    district: District,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    bandwidth_m: float | None = None,
    cell_m: float | None = None,
) -> Raster:
    """Kernel density of incidents on a grid over the boundary's bounding box.

    Parameters
    ----------
    district
        Its boundary places the grid; its ``incidents`` are used when ``incidents``
        is None.
    incidents
        Incident points (``weight`` × ``count`` each).
    bandwidth_m
        Search radius h, m (default ``hotspots.grid_bandwidth_m``, 150 m); > 0.
    cell_m
        Cell side, m (default ``hotspots.grid_cell_m``, 10 m); > 0.

    Returns
    -------
    Raster
        ``incident_density`` in incidents per km² at the cell centres (module notes).
    """
    params = safety_params("hotspots")
    h = _check_bandwidth(
        params["grid_bandwidth_m"] if bandwidth_m is None else bandwidth_m, "bandwidth_m"
    )
    res = _check_bandwidth(params["grid_cell_m"] if cell_m is None else cell_m, "cell_m")
    layer = district.incidents if incidents is None else incidents
    minx, miny, maxx, maxy = district.boundary.bounds
    xmin, ymax = math.floor(minx / res) * res, math.ceil(maxy / res) * res
    cols = max(1, math.ceil((maxx - xmin) / res))
    rows = max(1, math.ceil((ymax - miny) / res))
    cx = xmin + (np.arange(cols) + 0.5) * res
    cy = ymax - (np.arange(rows) + 0.5) * res
    gx, gy = np.meshgrid(cx, cy)
    density = np.zeros(gx.size)
    if len(layer):
        xy = shapely.get_coordinates(shapely.centroid(layer.geometry.to_numpy()))
        weight = incident_weights(layer)
        cells = cKDTree(np.column_stack([gx.ravel(), gy.ravel()]))
        pairs = cells.sparse_distance_matrix(cKDTree(xy), h, output_type="coo_matrix")
        contrib = weight[pairs.col] * quartic_2d(pairs.data / h) / h**2
        # the coo output keeps zero distances (an incident on a cell centre)
        density = np.bincount(pairs.row, contrib, minlength=gx.size).astype(np.float64)
    return Raster(
        (density * 1e6).reshape(rows, cols),
        Affine(res, 0.0, xmin, 0.0, -res, ymax),
        district.crs,
        name="incident_density",
        unit="incidents/km²",
        description=f"quartic kernel, bandwidth {h:g} m; {district.provenance.statement()}",
    )


# --------------------------------------------------------------------------- statistics


def hotspot_statistics(
    values: np.ndarray,
    points: np.ndarray,
    *,
    band_m: float,
    permutations: int = 0,
    seed: int = 19,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Gi* and local Moran's I with false-discovery-rate control (PySAL).

    Parameters
    ----------
    values
        Counts (or weights) per unit, length n.
    points
        Unit centres, (n, 2), metres.
    band_m
        Distance band of the binary weights, m (> 0): units closer than this are
        neighbours.
    permutations
        Conditional permutations for pseudo p-values; 0 (the default of
        ``standards/safety.yaml``) uses the two-sided normal p-values of PySAL's
        analytical moments (Gi*: ``G_Local.p_norm``, Getis & Ord 1995; local Moran:
        ``(I - EI) / sqrt(VI)``, Anselin 1995).  Permutations run in numba, whose
        first call in a process compiles for about a minute.
    seed
        Seed of the permutations.
    alpha
        False discovery rate (Benjamini-Hochberg, ``esda.fdr``).

    Returns
    -------
    pandas.DataFrame
        ``gi_z`` (Gi* z-score), ``gi_p`` (p-value), ``moran_i``, ``moran_q``
        (1 HH, 2 LH, 3 LL, 4 HL), ``moran_p``, ``hot`` / ``cold`` (Gi* significant
        after FDR), ``cluster`` (``HH``, ``LL``, ``HL``, ``LH`` where local Moran's I
        is significant after FDR, else empty); ``attrs["fdr_gi"]``,
        ``attrs["fdr_moran"]``: the p cut-offs.
    """
    import esda
    from libpysal.weights import DistanceBand

    band = _check_bandwidth(band_m, "band_m")
    y = np.asarray(values, dtype=float)
    n = len(y)
    empty = pd.DataFrame(
        {
            "gi_z": np.full(n, np.nan),
            "gi_p": np.full(n, np.nan),
            "moran_i": np.full(n, np.nan),
            "moran_q": np.zeros(n, dtype=int),
            "moran_p": np.full(n, np.nan),
            "hot": np.zeros(n, dtype=bool),
            "cold": np.zeros(n, dtype=bool),
            "cluster": [""] * n,
        }
    )
    if n < 3 or np.allclose(y, y[0]):
        empty.attrs.update(fdr_gi=math.nan, fdr_moran=math.nan)
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and libpysal's own notices
        w = DistanceBand(
            np.asarray(points, dtype=float), threshold=band, binary=True, silence_warnings=True
        )
        gi = esda.G_Local(y, w, transform="B", star=True, permutations=permutations, seed=seed)
        moran = esda.Moran_Local(y, w, transformation="r", permutations=permutations, seed=seed)
    if permutations > 0:
        gi_p, moran_p = np.asarray(gi.p_sim), np.asarray(moran.p_sim)
    else:
        # two-sided normal p-values from PySAL's analytical moments
        gi_p = np.minimum(2.0 * np.asarray(gi.p_norm), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            moran_z = (moran.Is - moran.EI) / np.sqrt(moran.VI)
        moran_p = np.nan_to_num(2.0 * stats.norm.sf(np.abs(moran_z)), nan=1.0)
    gi_cut = float(esda.fdr(gi_p, alpha))
    moran_cut = float(esda.fdr(moran_p, alpha))
    out = empty
    out["gi_z"] = gi.Zs
    out["gi_p"] = gi_p
    out["moran_i"] = moran.Is
    out["moran_q"] = moran.q
    out["moran_p"] = moran_p
    sig_gi = gi_p <= gi_cut
    out["hot"] = sig_gi & (gi.Zs > 0)
    out["cold"] = sig_gi & (gi.Zs < 0)
    labels = np.array(["", "HH", "LH", "LL", "HL"])
    out["cluster"] = np.where(moran_p <= moran_cut, labels[moran.q], "")
    out.attrs.update(fdr_gi=gi_cut, fdr_moran=moran_cut)
    return out


@dataclass
class HotspotResult:
    """Hot spots of a district's incidents.

    Attributes
    ----------
    units
        The statistical units (grid cells or walk edges) with ``count`` and the
        columns of :func:`hotspot_statistics`, plus ``hotspot_id`` (hot cells joined
        by edges; empty when not hot).
    network
        :func:`network_kde` lixels.
    grid
        :func:`grid_kde` raster.
    hotspots
        One row per hot spot: ``hotspot_id``, ``units``, ``count``, ``area_m2`` (grid)
        or ``length_m`` (segments), geometry.
    unit
        ``"grid"`` or ``"segment"``.
    """

    units: gpd.GeoDataFrame
    network: gpd.GeoDataFrame
    grid: Raster
    hotspots: gpd.GeoDataFrame
    unit: str


def hotspots(
    district: District,
    *,
    unit: Literal["grid", "segment"] = "grid",
    bandwidth_m: float | None = None,
    band_m: float | None = None,
    cell_m: float | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
) -> HotspotResult:
    """Network and grid KDE, Gi* and local Moran's I of the district's incidents.

    Parameters
    ----------
    district
        With an ``incidents`` layer (an empty one gives no hot spots).
    unit
        Statistical units: ``"grid"`` cells of ``cell_m`` touching the boundary, or
        ``"segment"`` (walk-graph edges, by midpoint).
    bandwidth_m
        KDE bandwidth, m (network and grid; default ``hotspots.bandwidth_m``).
    band_m, cell_m, permutations, seed, alpha
        Statistics: distance band (m), cell side (m), permutations, seed and false
        discovery rate (defaults in ``standards/safety.yaml`` ``hotspots``).
    """
    params = safety_params("hotspots")
    band = _check_bandwidth(params["band_m"] if band_m is None else band_m, "band_m")
    side = _check_bandwidth(params["stat_cell_m"] if cell_m is None else cell_m, "cell_m")
    perms = int(params["permutations"] if permutations is None else permutations)
    seed_ = int(params["seed"] if seed is None else seed)
    rate = float(params["alpha"] if alpha is None else alpha)
    if not 0 < rate < 1:
        raise InputError(f"alpha (false discovery rate) must lie in (0, 1), got {alpha!r}")
    graph = walk_graph(district)
    layer = district.incidents
    network = network_kde(district, layer, bandwidth_m=bandwidth_m, graph=graph)
    grid = grid_kde(district, layer, bandwidth_m=bandwidth_m)
    weight = incident_weights(layer)
    xy = shapely.get_coordinates(shapely.centroid(layer.geometry.to_numpy()))
    if unit == "grid":
        minx, miny, maxx, maxy = district.boundary.bounds
        x0, y0 = math.floor(minx / side) * side, math.floor(miny / side) * side
        cols = max(1, math.ceil((maxx - x0) / side))
        rows = max(1, math.ceil((maxy - y0) / side))
        cc, rr = np.meshgrid(np.arange(cols), np.arange(rows))
        cells = shapely.box(
            x0 + cc * side, y0 + rr * side, x0 + (cc + 1) * side, y0 + (rr + 1) * side
        ).ravel()
        inside = shapely.intersects(cells, district.boundary)
        counts = np.zeros(rows * cols)
        if len(xy):
            c = np.floor((xy[:, 0] - x0) / side).astype(np.int64)
            r = np.floor((xy[:, 1] - y0) / side).astype(np.int64)
            ok = (c >= 0) & (c < cols) & (r >= 0) & (r < rows)
            np.add.at(counts, r[ok] * cols + c[ok], weight[ok])
        keep = np.flatnonzero(inside)
        centres = shapely.get_coordinates(shapely.centroid(cells[keep]))
        stats = hotspot_statistics(
            counts[keep], centres, band_m=band, permutations=perms, seed=seed_, alpha=rate
        )
        units = gpd.GeoDataFrame(
            {"cell_id": [f"c{i % cols}_{i // cols}" for i in keep], "count": counts[keep]},
            geometry=cells[keep],
            crs=district.crs,
        )
        hot = np.zeros(rows * cols, dtype=bool)
        hot[keep] = stats["hot"].to_numpy()
        labels, _ = ndimage.label(hot.reshape(rows, cols))
        group = labels.ravel()[keep]
    elif unit == "segment":
        lines = graph.edges.geometry.to_numpy()
        counts = np.zeros(graph.n_edges)
        edge, _, w = _snap_incidents(graph, layer)
        np.add.at(counts, edge, w)
        centres = shapely.get_coordinates(
            shapely.line_interpolate_point(lines, 0.5, normalized=True)
        )
        stats = hotspot_statistics(
            counts, centres, band_m=band, permutations=perms, seed=seed_, alpha=rate
        )
        units = gpd.GeoDataFrame(
            {
                "edge": np.arange(graph.n_edges),
                "street_id": graph.edges["street_id"].astype(str).to_numpy(),
                "count": counts,
            },
            geometry=lines,
            crs=district.crs,
        )
        hot = stats["hot"].to_numpy()
        # hot edges sharing a node form one hot spot
        hot_edges = np.flatnonzero(hot)
        adjacency = sparse.coo_matrix(
            (np.ones(len(hot_edges)), (graph.edge_u[hot_edges], graph.edge_v[hot_edges])),
            shape=(graph.n_nodes, graph.n_nodes),
        )
        _, node_label = csgraph.connected_components(adjacency, directed=False)
        group = np.where(hot, node_label[graph.edge_u] + 1, 0)
    else:
        raise InputError(f"hot-spot unit {unit!r}: use 'grid' or 'segment'")
    for column in stats.columns:
        units[column] = stats[column].to_numpy()
    units.attrs.update(stats.attrs)
    _, ids = np.unique(group, return_inverse=True)
    names = np.where(group > 0, [f"hot-{k}" for k in ids], "")
    # number the hot spots from 1 in order of their count
    units["hotspot_id"] = names
    rows_ = []
    for name, part in units[units["hotspot_id"] != ""].groupby("hotspot_id"):
        geom = shapely.union_all(part.geometry.to_numpy())
        rows_.append(
            {
                "hotspot_id": name,
                "units": len(part),
                "count": float(part["count"].sum()),
                "area_m2": float(shapely.area(geom)) if unit == "grid" else 0.0,
                "length_m": float(shapely.length(geom)) if unit == "segment" else 0.0,
                "geometry": geom,
            }
        )
    frame = pd.DataFrame(
        rows_, columns=["hotspot_id", "units", "count", "area_m2", "length_m", "geometry"]
    )
    frame = frame.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    renamed = {old: f"hot-{k + 1}" for k, old in enumerate(frame["hotspot_id"])}
    frame["hotspot_id"] = frame["hotspot_id"].map(renamed)
    units["hotspot_id"] = units["hotspot_id"].map(lambda s: renamed.get(s, ""))
    spots = gpd.GeoDataFrame(frame, geometry="geometry", crs=district.crs)
    return HotspotResult(units, network, grid, spots, unit)
