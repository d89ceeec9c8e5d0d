"""Benchmark of the OSM importer: nodes/s from PBF against osmnx's XML route.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/bench_osm_import.py [--tiles 6] [--repeat 3]

Data: the real extract ``../shared/data/osm/aguascalientes.osm.pbf`` (3,083 nodes), and
the same extract tiled ``tiles × tiles`` times side by side (ids and coordinates shifted,
written as PBF and XML with pyosmium) so that fixed costs do not dominate.  Each file is
also written as OSM XML, the only format osmnx reads.

Timed, on the same data, best of ``--repeat`` runs:

1. ``import_osm(PBF)`` — the whole import: streaming read with pyosmium, geometry,
   tag mapping, District and ``validate_district(strict=True)``;
2. ``import_osm(XML)`` — the same from XML (the format osmnx needs);
3. baseline: ``osmnx.graph_from_xml(XML, retain_all=True)`` (the street graph, simplified
   as osmnx does by default) + ``osmnx.features_from_xml(XML, tags=...)`` (buildings,
   land use, POIs): osmnx's way from an OSM file to streets and features.

Throughput is the number of nodes in the file divided by the wall time.  Two parts of the
PBF import are reported alone: the pyosmium read (both passes, before geometry and
mapping) and the final ``validate_district(strict=True)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import osmium
from osmium.osm import mutable

from vollsmose_gis import validate_district
from vollsmose_gis.sources import osm
from vollsmose_gis.standards import load

SHARED = Path(
    os.environ.get("VOLLSMOSE_GIS_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
SOURCE = SHARED / "data" / "osm" / "aguascalientes.osm.pbf"
FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "building": True,
    "landuse": True,
    "leisure": True,
    "amenity": True,
    "shop": True,
    "public_transport": True,
    "man_made": "surveillance",
    "traffic_calming": True,
}


def tiled_copies(source: Path, tiles: int, folder: Path) -> tuple[Path, Path, int]:
    """Write the extract tiled tiles × tiles times as PBF and XML; return paths, node count."""
    nodes, ways, relations = [], [], []
    for obj in osmium.FileProcessor(str(source)):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            nodes.append((obj.id, obj.location.lon, obj.location.lat, tags))
        elif obj.is_way():
            ways.append((obj.id, [n.ref for n in obj.nodes], tags))
        elif obj.is_relation():
            members = [(m.type, m.ref, m.role) for m in obj.members]
            relations.append((obj.id, members, tags))
    header_box = osmium.FileProcessor(str(source)).header.box()
    width = header_box.top_right.lon - header_box.bottom_left.lon
    height = header_box.top_right.lat - header_box.bottom_left.lat
    offsets = [(i, j) for i in range(tiles) for j in range(tiles)]
    step = 10**10
    paths = []
    for suffix in ("osm.pbf", "osm"):
        path = folder / f"aguascalientes-{tiles}x{tiles}.{suffix}"
        with osmium.SimpleWriter(str(path)) as writer:
            for t, (i, j) in enumerate(offsets):
                for nid, lon, lat, tags in nodes:
                    location = osmium.osm.Location(lon + i * width, lat + j * height)
                    writer.add_node(mutable.Node(id=nid + t * step, location=location, tags=tags))
            for t, _ in enumerate(offsets):
                for wid, refs, tags in ways:
                    shifted = [r + t * step for r in refs]
                    writer.add_way(mutable.Way(id=wid + t * step, nodes=shifted, tags=tags))
            for t, _ in enumerate(offsets):
                for rid, members, tags in relations:
                    shifted_members = [(k, r + t * step, role) for k, r, role in members]
                    writer.add_relation(
                        mutable.Relation(id=rid + t * step, members=shifted_members, tags=tags)
                    )
        paths.append(path)
    return paths[0], paths[1], len(nodes) * tiles * tiles


def xml_copy(source: Path, folder: Path) -> Path:
    path = folder / (source.name.removesuffix(".osm.pbf") + ".osm")
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(source)):
            writer.add(obj)
    return path


def count_nodes(path: Path) -> int:
    return sum(1 for _ in osmium.FileProcessor(str(path), osmium.osm.NODE))


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def read_only(path: Path) -> None:
    fmt = "pbf" if path.name.endswith(".pbf") else "osm"
    osm._read(path, fmt, None, load("osm_mapping"), osm.ImportReport(path.name), None)


def osmnx_route(path: Path) -> tuple[int, int]:
    import osmnx as ox

    graph = ox.graph_from_xml(path, retain_all=True)
    features = ox.features_from_xml(path, tags=FEATURE_TAGS)
    return graph.number_of_edges(), len(features)


def bench(label: str, pbf: Path, xml: Path, repeat: int) -> None:
    nodes = count_nodes(pbf)
    assert nodes == count_nodes(xml)
    t_pbf, result = best_of(repeat, lambda: osm.import_osm(pbf, crs="auto"))
    t_xml, _ = best_of(repeat, lambda: osm.import_osm(xml, crs="auto"))
    t_read, _ = best_of(repeat, lambda: read_only(pbf))
    t_valid, _ = best_of(repeat, lambda: validate_district(result.district, strict=True))
    t_osmnx, (edges, features) = best_of(repeat, lambda: osmnx_route(xml))
    kept = result.report.kept
    print(f"\n{label}: {nodes:,} nodes, {pbf.stat().st_size / 1e6:.2f} MB PBF, "
          f"{xml.stat().st_size / 1e6:.2f} MB XML")  # fmt: skip
    print(f"  importer kept {kept['streets']:,} street pieces, {kept['buildings']:,} "
          f"buildings, {kept['pois']:,} POIs; osmnx: {edges:,} graph edges, "
          f"{features:,} features")  # fmt: skip
    rows = [
        ("import_osm(PBF), whole import", t_pbf),
        ("import_osm(XML), whole import", t_xml),
        ("  of which the pyosmium read of the PBF", t_read),
        ("  of which validate_district(strict=True)", t_valid),
        ("osmnx graph_from_xml + features_from_xml (baseline)", t_osmnx),
    ]
    for name, seconds in rows:
        print(f"  {name:<55} {seconds:8.3f} s  {nodes / seconds:>12,.0f} nodes/s")
    print(f"  speed-up PBF import vs osmnx XML route: {t_osmnx / t_pbf:.1f}×; "
          f"XML import vs osmnx: {t_osmnx / t_xml:.1f}×")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiles", type=int, default=6, help="tile the extract N × N times")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    versions = f"pyosmium {version('osmium')}, osmnx {version('osmnx')}"
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {versions}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench(SOURCE.name, SOURCE, xml_copy(SOURCE, folder), args.repeat)
        if args.tiles > 1:
            pbf, xml, _ = tiled_copies(SOURCE, args.tiles, folder)
            bench(f"{SOURCE.name} tiled {args.tiles}×{args.tiles}", pbf, xml, args.repeat)


if __name__ == "__main__":
    main()
