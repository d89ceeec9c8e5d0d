"""The embedded default district: a schematic model of Vollsmose, Odense NØ.

No surveyed dataset of Vollsmose can be downloaded here, so this module *generates* a
schematic model from public figures (``docs/domain.md#vollsmose``; sources in :data:`SOURCES`):
the study area inside the four large roads, the nine estates with their dwelling
totals, the local centre, the bog, culs-de-sac and a separate path network, plus about
1 km of surrounding Odense NØ and a road to Odense centre.  Positions, block shapes,
lamp positions and the like are *invented for plausibility* and documented as such in
``layers/README.md``.  The generator is deterministic: the same code writes the same
features (``python -m vollsmose_gis.sources.vollsmose`` regenerates
``layers/vollsmose.gpkg`` and the overview PNG).
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._util import largest_remainder
from vollsmose_gis.district import DEFAULT_CRS, District, Provenance, Settings
from vollsmose_gis.schema import new_street

__all__ = [
    "ESTATES",
    "PERSONS_PER_DWELLING",
    "RAADHUS",
    "SOURCES",
    "build_vollsmose",
    "default_district",
    "default_district_path",
]

log = logging.getLogger(__name__)

MODEL_VERSION = "2026-11-27"
"""Date stamped into the provenance; bump it when the model changes."""

SOURCES = (
    "Odense Kommune: Helhedsplan/Udviklingsplan for Vollsmose (2019), Vollsmose "
    "områdefornyelse; Landsbyggefonden and Civica/FAB estate figures as quoted in the "
    "project's docs/domain.md#vollsmose (≈3,600 family dwellings in 9 estates, the six "
    "'parker' ≈2,872, "
    "Granparken 504, Birkeparken 449 up to 13 storeys; ~125 ha; ~8,620 residents 2022); "
    "Vollsmose Allé 10 at E 591 259 N 6 141 006 and Odense Rådhus at E 587 928 "
    "N 6 139 725 (EPSG:25832)"
)

RAADHUS = Point(587_928.0, 6_139_725.0)
"""Odense Rådhus (city centre), EPSG:25832."""

PERSONS_PER_DWELLING = 2.39
"""Average household size implied by ~8,620 residents (2022) in ~3,600 dwellings."""

FLOOR_HEIGHT_M = 3.0
FLAT_SIZE_M2 = 75.0
"""Average gross floor area per flat (invented for plausibility)."""

# The four large roads (centrelines). The study boundary lies 15 m inside them, so a
# street or path that connects the estate to one of them crosses the boundary.
X_EJBYGADE = 590_035.0
X_VOLLSMOSE_ALLE = 591_285.0
Y_AASUMVEJ = 6_140_505.0
Y_KERTEMINDEVEJ = 6_141_575.0
BOUNDARY = box(X_EJBYGADE + 15, Y_AASUMVEJ + 15, X_VOLLSMOSE_ALLE - 15, Y_KERTEMINDEVEJ - 15)
CONTEXT_M = 1_000.0
CONTEXT = BOUNDARY.buffer(CONTEXT_M, join_style="mitre")
GRID_SPACING_M = 150.0


@dataclass(frozen=True)
class Estate:
    """One housing estate (afdeling) of the model."""

    name: str
    organisation: str
    dwellings: int
    kind: str  # "flats" or "row_houses"
    area: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax
    floors: tuple[int, ...]  # floors of the blocks, cycled
    built: str


# Dwelling totals: Granparken 504 and Birkeparken 449 and the six parker's 2,872 are
# public figures; how the remaining 1,919 split between the other four parker and the
# 728 between the three row-house estates is invented (≈ by area), as is which housing
# organisation owns which estate.
ESTATES: tuple[Estate, ...] = (
    Estate(
        "Bøgeparken",
        "FAB",
        540,
        "flats",
        (590_230, 6_141_100, 590_600, 6_141_340),
        (4, 4, 8),
        "1967–71",
    ),
    Estate(
        "Egeparken",
        "Civica",
        560,
        "flats",
        (590_660, 6_141_100, 590_935, 6_141_340),
        (4, 8, 4),
        "1968–72",
    ),
    Estate(
        "Fyrreparken",
        "FAB",
        300,
        "flats",
        (590_985, 6_141_100, 591_130, 6_141_340),
        (8, 4),
        "1970–73",
    ),
    Estate(
        "Birkeparken",
        "Civica",
        449,
        "flats",
        (590_230, 6_140_570, 590_600, 6_140_800),
        (13, 4, 4),
        "1969–74",
    ),
    Estate(
        "Granparken",
        "Civica",
        504,
        "flats",
        (590_660, 6_140_570, 590_935, 6_140_830),
        (8, 4, 4),
        "1970–74",
    ),
    Estate(
        "Lærkeparken",
        "Civica",
        519,
        "flats",
        (590_985, 6_140_570, 591_240, 6_140_860),
        (4, 8),
        "1971–75",
    ),
    Estate(
        "Hybenhaven",
        "Civica",
        260,
        "row_houses",
        (590_230, 6_141_420, 590_590, 6_141_545),
        (2,),
        "1976–80",
    ),
    Estate(
        "Slåenhaven",
        "Civica",
        228,
        "row_houses",
        (590_640, 6_141_420, 590_935, 6_141_545),
        (2,),
        "1977–81",
    ),
    Estate(
        "Tjørnehaven",
        "FAB",
        240,
        "row_houses",
        (590_985, 6_141_420, 591_245, 6_141_545),
        (2,),
        "1978–82",
    ),
)


# ----------------------------------------------------------------------------- helpers


def _line(*coords: tuple[float, float]) -> LineString:
    return LineString(coords)


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    geometry = [row.pop("geometry") for row in rows]
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=DEFAULT_CRS)


def _node_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Split at-grade lines at every mutual intersection, keeping each piece's attributes.

    Streets marked ``tunnel`` or ``bridge`` are left whole: they cross what they pass
    over or under without a junction.  Pieces get ids ``<id>-01``, ``<id>-02``...
    """
    at_grade = [r for r in rows if not (r.get("tunnel") or r.get("bridge"))]
    separated = [r for r in rows if r.get("tunnel") or r.get("bridge")]
    originals = [r["geometry"] for r in at_grade]
    noded = shapely.node(shapely.MultiLineString(originals))
    pieces = list(noded.geoms)
    tree = shapely.STRtree(originals)
    by_original: dict[int, list[LineString]] = {}
    for piece in pieces:
        mid = piece.interpolate(0.5, normalized=True)
        hits = tree.query(mid, predicate="dwithin", distance=1e-6)
        # the piece lies on exactly one original unless two streets overlap
        owner = int(min(hits))
        by_original.setdefault(owner, []).append(piece)
    out = []
    for i, row in enumerate(at_grade):
        parts = by_original.get(i, [])
        parts.sort(key=lambda p: row["geometry"].project(p.interpolate(0.5, normalized=True)))
        for k, part in enumerate(parts, start=1):
            out.append({**row, "street_id": f"{row['street_id']}-{k:02d}", "geometry": part})
    for row in separated:
        out.append({**row, "street_id": f"{row['street_id']}-01"})
    return out


# ----------------------------------------------------------------------------- streets


def _street(
    street_id: str, name: str | None, highway: str, geometry: LineString, **extra: Any
) -> dict[str, Any]:
    return new_street(street_id, highway, geometry, name=name, **extra)


def _perimeter_roads() -> list[dict[str, Any]]:
    """The four large roads: 4 lanes, 50-60 km/h, extended into the context."""
    x0, y0, x1, y1 = CONTEXT.bounds
    big = {"lanes": 4, "width_m": 14.0, "lit": True}
    return [
        # Kertemindevej runs from the north-east past the estate and on south-west
        # into the city centre (Rådhus).
        _street(
            "kertemindevej",
            "Kertemindevej",
            "primary",
            _line(
                (x1, Y_KERTEMINDEVEJ + 120),
                (X_VOLLSMOSE_ALLE, Y_KERTEMINDEVEJ),
                (X_EJBYGADE, Y_KERTEMINDEVEJ),
                (x0, 6_140_900.0),
                (588_600.0, 6_140_250.0),
                (RAADHUS.x, RAADHUS.y),
            ),
            maxspeed_kmh=60.0,
            bus_route=True,
            **big,
        ),
        _street(
            "ejbygade",
            "Ejbygade",
            "primary",
            _line((X_EJBYGADE, y0), (X_EJBYGADE, y1)),
            maxspeed_kmh=60.0,
            **big,
        ),
        _street(
            "aasumvej",
            "Åsumvej",
            "secondary",
            _line((x0, Y_AASUMVEJ), (x1, Y_AASUMVEJ)),
            maxspeed_kmh=50.0,
            bus_route=True,
            **big,
        ),
        _street(
            "vollsmose-alle",
            "Vollsmose Allé",
            "secondary",
            _line((X_VOLLSMOSE_ALLE, y0), (X_VOLLSMOSE_ALLE, y1)),
            maxspeed_kmh=50.0,
            bus_route=True,
            **big,
        ),
        _street(
            "risingvej",
            "Risingvej",
            "tertiary",
            _line((x0, 6_141_060.0), (X_EJBYGADE, 6_141_060.0)),
            lit=True,
        ),
    ]


def _internal_roads() -> list[dict[str, Any]]:
    """Internal access roads: each ends in a cul-de-sac at a parking area."""
    A, V, K = Y_AASUMVEJ, X_VOLLSMOSE_ALLE, Y_KERTEMINDEVEJ
    roads: list[tuple[str, str, list[tuple[float, float]], list[list[tuple[float, float]]]]] = [
        (
            "birkeparken-vej",
            "Birkeparken",
            [(590_420, A), (590_420, 6_140_690)],
            [[(590_420, 6_140_690), (590_545, 6_140_690)]],
        ),
        (
            "granparken-vej",
            "Granparken",
            [(590_800, A), (590_800, 6_140_700)],
            [[(590_800, 6_140_620), (590_905, 6_140_620)]],
        ),
        ("laerkeparken-vej", "Lærkeparken", [(591_110, A), (591_110, 6_140_740)], []),
        ("torvet-vej", "Vollsmose Torv", [(V, 6_140_945), (591_195, 6_140_945)], []),
        (
            "svoemmehal-vej",
            "Vollsmose Allé (svømmehal)",
            [(V, 6_141_225), (591_160, 6_141_225)],
            [],
        ),
        # The long internal road north of the parker, with parking branches.
        (
            "parkvej-nord",
            "Vollsmose Allé (intern)",
            [(V, 6_141_375), (590_290, 6_141_375)],
            [
                [(590_800, 6_141_375), (590_800, 6_141_300)],
                [(591_140, 6_141_375), (591_140, 6_141_300)],
                [(590_420, 6_141_375), (590_420, 6_141_290)],
            ],
        ),
        (
            "hybenhaven-vej",
            "Hybenhaven",
            [(590_410, K), (590_410, 6_141_482)],
            [[(590_300, 6_141_482), (590_520, 6_141_482)]],
        ),
        ("slaaenhaven-vej", "Slåenhaven", [(590_790, K), (590_790, 6_141_470)], []),
        ("tjoernehaven-vej", "Tjørnehaven", [(591_110, K), (591_110, 6_141_470)], []),
    ]
    rows = []
    for street_id, name, main, branches in roads:
        rows.append(_street(street_id, name, "residential", _line(*main), lanes=2, width_m=6.0))
        for k, branch in enumerate(branches, start=1):
            rows.append(_street(f"{street_id}-gren{k}", name, "service", _line(*branch)))
    return rows


# Paths: (id, name, highway, coordinates). The estate's separate path network.
_PATHS: tuple[tuple[str, str | None, str, list[tuple[float, float]]], ...] = (
    ("sti-mosen", "Sti langs mosen", "cycleway", [(590_215, Y_AASUMVEJ), (590_215, 6_141_480)]),
    (
        "sti-vest",
        "Sti Bøgeparken–Birkeparken",
        "footway",
        [(590_630, Y_AASUMVEJ), (590_630, Y_KERTEMINDEVEJ)],
    ),
    (
        "sti-oest",
        "Sti Egeparken–Granparken",
        "cycleway",
        [(590_960, Y_AASUMVEJ), (590_960, Y_KERTEMINDEVEJ)],
    ),
    ("sti-midt", "Hovedstien", "cycleway", [(590_215, 6_141_070), (X_VOLLSMOSE_ALLE, 6_141_070)]),
    (
        "sti-syd",
        "Sti syd",
        "footway",
        # west of the shopping centre, not through it
        [(590_215, 6_140_850), (591_000, 6_140_850), (591_010, 6_140_870), (591_010, 6_140_990)],
    ),
    ("sti-nord", "Sti nord", "footway", [(590_215, 6_141_395), (591_240, 6_141_395)]),
    (
        "sti-mosen-nord",
        "Sti over mosen",
        "footway",
        [(X_EJBYGADE, 6_141_480), (590_215, 6_141_480)],
    ),
    (
        "sti-torv",
        "Torvestien",
        "footway",
        [(591_010, 6_140_990), (591_240, 6_140_990), (591_240, 6_141_070)],
    ),
)


def _paths(car_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Footpaths and cycle paths; where one crosses a car road it passes under it."""
    roads = [r["geometry"] for r in car_rows]
    road_union = shapely.union_all(roads)
    rows = []
    for street_id, name, highway, coords in _PATHS:
        line = LineString(coords)
        # An end that meets a road joins it at grade (a path entrance); crossings of a
        # road in the middle of a path are underpasses (traffic separation).
        crossings = [
            p
            for p in shapely.get_parts(line.intersection(road_union))
            if p.geom_type == "Point"
            and p.distance(Point(coords[0])) > 1
            and p.distance(Point(coords[-1])) > 1
        ]
        cuts = sorted(line.project(p) for p in crossings)
        position = 0.0
        for k, at in enumerate(cuts):
            rows.append(
                _street(
                    f"{street_id}-{2 * k}",
                    name,
                    highway,
                    shapely.ops.substring(line, position, at - 6.0),
                )
            )
            rows.append(
                _street(
                    f"{street_id}-{2 * k}u",
                    name,
                    highway,
                    shapely.ops.substring(line, at - 6.0, at + 6.0),
                    tunnel=True,
                )
            )
            position = at + 6.0
        rows.append(
            _street(
                f"{street_id}-{2 * len(cuts)}",
                name,
                highway,
                shapely.ops.substring(line, position, line.length),
            )
        )
    return rows


def _grid_positions(low: float, high: float, first: float, last: float) -> np.ndarray:
    """Grid line positions in [low, high] that include the two perimeter roads' lines.

    Lines fall every ~150 m, aligned on ``first`` and ``last`` (the perimeter roads,
    themselves excluded), so no grid street runs alongside a perimeter road.
    """
    before = np.arange(first - GRID_SPACING_M, low, -GRID_SPACING_M)[::-1]
    n_between = max(1, round((last - first) / GRID_SPACING_M))
    between = np.linspace(first, last, n_between + 1)[1:-1]
    after = np.arange(last + GRID_SPACING_M, high, GRID_SPACING_M)
    return np.concatenate([before, between, after])


def _context_grid() -> list[dict[str, Any]]:
    """A plausible street grid of Odense NØ around the estate (schematic).

    Grid streets end at the perimeter roads (T-junctions), never inside the estate:
    that is the estate's isolation the model must show.
    """
    x0, y0, x1, y1 = CONTEXT.bounds
    hole = box(X_EJBYGADE, Y_AASUMVEJ, X_VOLLSMOSE_ALLE, Y_KERTEMINDEVEJ)
    rows = []
    xs = _grid_positions(x0, x1, X_EJBYGADE, X_VOLLSMOSE_ALLE)
    ys = _grid_positions(y0, y1, Y_AASUMVEJ, Y_KERTEMINDEVEJ)
    for axis, values in (("ns", xs), ("ew", ys)):
        for k, v in enumerate(values):
            line = _line((v, y0), (v, y1)) if axis == "ns" else _line((x0, v), (x1, v))
            highway = "tertiary" if k % 4 == 2 else "residential"
            for j, part in enumerate(shapely.get_parts(line.difference(hole))):
                if part.length < 30:
                    continue
                rows.append(
                    _street(
                        f"grid-{axis}{k:02d}-{j}", None, highway, part, maxspeed_kmh=50.0, lit=True
                    )
                )
    return rows


def _streets(doors: list[dict[str, Any]] | None = None) -> gpd.GeoDataFrame:
    car = _perimeter_roads() + _internal_roads() + _context_grid()
    rows = _node_lines(car + _paths(car) + (doors or []))
    frame = _frame(rows)
    inside = frame.intersects(BOUNDARY)
    frame.loc[~frame["car"] & inside, "lit"] = True  # the estate's paths are lit, with gaps
    return frame


DOOR_PATH_MAX_M = 80.0


def _door_paths(buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """A short footway from each estate block's door to the nearest walkable way.

    The door is the middle of the block's south (else north) facade, 1 m out; the
    footway runs straight to the nearest point of an estate path or internal road, if
    that is within DOOR_PATH_MAX_M and passes no building (invented, like the blocks).
    """
    is_path = (
        streets["highway"].isin(["footway", "cycleway", "residential", "service"])
        & ~streets["tunnel"]
    )
    paths = shapely.union_all(
        streets.loc[is_path & streets.intersects(BOUNDARY)].geometry.to_numpy()
    )
    footprints = shapely.union_all(buildings.geometry.to_numpy())
    rows = []
    for block in buildings[buildings["estate"].notna()].itertuples():
        minx, miny, maxx, maxy = block.geometry.bounds
        middle = (minx + maxx) / 2
        for door in (Point(middle, miny - 1.0), Point(middle, maxy + 1.0)):
            line = LineString([door, shapely.ops.nearest_points(door, paths)[1]])
            if 1.0 < line.length <= DOOR_PATH_MAX_M and not line.intersects(footprints):
                rows.append(
                    _street(f"dor-{block.building_id}", f"Sti til {block.name}", "footway", line)
                )
                break
    return rows


# --------------------------------------------------------------------------- buildings


def _slabs(area: tuple[float, float, float, float], kind: str) -> list[Polygon]:
    """Lay out block footprints in an estate's area: slabs of flats or rows of houses."""
    xmin, ymin, xmax, ymax = area
    if kind == "row_houses":
        depth, pitch, length, gap = 9.0, 20.0, 48.0, 6.0
    else:
        depth, pitch, length, gap = 13.0, 48.0, 72.0, 18.0
    blocks = []
    y = ymin + 6
    row = 0
    while y + depth <= ymax - 4:
        x = xmin + 6 + (row % 2) * (gap / 2)
        while x + length <= xmax - 6:
            blocks.append(box(x, y, x + length, y + depth))
            x += length + gap
        y += pitch
        row += 1
    return blocks


def _estate_buildings(keep_clear: BaseGeometry) -> list[dict[str, Any]]:
    rows = []
    for estate in ESTATES:
        slabs = [s for s in _slabs(estate.area, estate.kind) if not s.intersects(keep_clear)]
        if estate.kind == "flats":
            # Keep as many evenly spread slabs as the dwellings need at ~FLAT_SIZE_M2
            # each (+15 % for stairs and walls), so floor area per flat stays plausible.
            per_slab = np.mean([s.area for s in slabs]) * np.mean(estate.floors)
            wanted = round(estate.dwellings * FLAT_SIZE_M2 * 1.15 / per_slab)
            keep = np.unique(
                np.round(np.linspace(0, len(slabs) - 1, min(len(slabs), max(1, wanted))))
            )
            slabs = [slabs[int(k)] for k in keep]
        floors = [estate.floors[i % len(estate.floors)] for i in range(len(slabs))]
        dwellings = largest_remainder(
            [s.area * f for s, f in zip(slabs, floors, strict=True)], estate.dwellings
        )
        slug = estate.name.lower().replace("ø", "oe").replace("æ", "ae").replace("å", "aa")
        for k, (slab, n_floors, n_dwellings) in enumerate(
            zip(slabs, floors, dwellings, strict=True), start=1
        ):
            rows.append(
                {
                    "building_id": f"{slug}-{k:02d}",
                    "name": f"{estate.name} blok {k}",
                    "use": "residential",
                    "floors": n_floors,
                    "height_m": n_floors * FLOOR_HEIGHT_M + 1.0,
                    "dwellings": n_dwellings,
                    "dwellings_estimated": False,
                    "dwelling_type": "row_house" if estate.kind == "row_houses" else "flat",
                    "tenure": "almen_family",
                    "floor_area_m2": round(slab.area * n_floors, 1),
                    "commercial_m2": 0.0,
                    "jobs": 0,
                    "estate": estate.name,
                    "organisation": estate.organisation,
                    "demolished_dwellings_since_2010": 0,
                    "geometry": slab,
                }
            )
    return rows


def _facility(
    building_id: str,
    name: str,
    use: str,
    footprint: Polygon,
    floors: int,
    jobs: int,
    commercial_m2: float = 0.0,
) -> dict[str, Any]:
    return {
        "building_id": building_id,
        "name": name,
        "use": use,
        "floors": floors,
        "height_m": floors * 4.0,
        "dwellings": 0,
        "dwellings_estimated": False,
        "dwelling_type": None,
        "tenure": None,
        "floor_area_m2": round(footprint.area * floors, 1),
        "commercial_m2": commercial_m2,
        "jobs": jobs,
        "estate": None,
        "organisation": None,
        "demolished_dwellings_since_2010": 0,
        "geometry": footprint,
    }


def _facilities() -> list[dict[str, Any]]:
    """The local centre and public buildings (positions invented; jobs partly public)."""
    return [
        _facility(
            "torvet-center",
            "Vollsmose Torv (butikscenter)",
            "retail",
            box(591_020, 6_140_900, 591_150, 6_140_960),
            2,
            60,
            commercial_m2=5_200.0,
        ),
        _facility(
            "torvet-bibliotek",
            "Vollsmose Bibliotek",
            "culture",
            box(591_020, 6_141_000, 591_080, 6_141_040),
            2,
            12,
        ),
        _facility(
            "torvet-sundhedshus",
            "Sundhedshus Vollsmose",
            "health",
            box(591_100, 6_141_000, 591_170, 6_141_040),
            3,
            45,
        ),
        _facility(
            "svoemmehal",
            "Vollsmose Svømmehal (Vollsmose Allé 18B)",
            "sport",
            box(591_160, 6_141_140, 591_240, 6_141_200),
            1,
            15,
        ),
        _facility(
            "tidl-skole",
            "Tidligere skole, Vollsmose Allé 20 (kommunale arbejdspladser)",
            "office",
            box(591_160, 6_141_245, 591_250, 6_141_335),
            2,
            235,
        ),
        _facility(
            "skole-midt",
            "Skole (skematisk)",
            "school",
            box(590_690, 6_140_880, 590_800, 6_140_950),
            2,
            55,
        ),
        _facility(
            "dagtilbud-1",
            "Dagtilbud (skematisk)",
            "daycare",
            box(590_830, 6_140_880, 590_880, 6_140_910),
            1,
            18,
        ),
        _facility(
            "dagtilbud-2",
            "Dagtilbud (skematisk)",
            "daycare",
            box(590_330, 6_140_900, 590_380, 6_140_930),
            1,
            18,
        ),
        _facility(
            "dagtilbud-3",
            "Dagtilbud (skematisk)",
            "daycare",
            box(591_000, 6_141_455, 591_040, 6_141_485),
            1,
            14,
        ),
        _facility(
            "fritidshus",
            "Beboerhus (skematisk)",
            "culture",
            box(590_450, 6_141_000, 590_510, 6_141_030),
            1,
            6,
        ),
    ]


def _context_buildings(streets: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Houses and a few blocks of flats in the grid blocks around the estate (schematic)."""
    x0, y0, x1, y1 = CONTEXT.bounds
    estate = box(X_EJBYGADE, Y_AASUMVEJ, X_VOLLSMOSE_ALLE, Y_KERTEMINDEVEJ)
    road_clear = shapely.union_all(
        streets.geometry.buffer(streets["width_m"].fillna(4.0) / 2 + 6).to_numpy()
    )
    rng = np.random.default_rng(5240)
    rows = []
    xs = np.union1d(
        _grid_positions(x0, x1, X_EJBYGADE, X_VOLLSMOSE_ALLE), [X_EJBYGADE, X_VOLLSMOSE_ALLE]
    )
    ys = np.union1d(
        _grid_positions(y0, y1, Y_AASUMVEJ, Y_KERTEMINDEVEJ), [Y_AASUMVEJ, Y_KERTEMINDEVEJ]
    )
    tenures = [
        "owner_occupied",
        "owner_occupied",
        "owner_occupied",
        "private_rental",
        "cooperative",
    ]
    for i, (bx, bx1) in enumerate(itertools.pairwise(xs)):
        for j, (by, by1) in enumerate(itertools.pairwise(ys)):
            if box(bx, by, bx1, by1).intersection(estate).area > 0:
                continue
            width = bx1 - bx
            flats = (i * 7 + j * 3) % 11 == 0
            candidates = (
                [
                    box(bx + 30, by + 30, bx1 - 30, by + 44),
                    box(bx + 30, by1 - 44, bx1 - 30, by1 - 30),
                ]
                if flats
                else [
                    box(bx + cx, by + cy, bx + cx + 22, by + cy + 11)
                    for cx in np.arange(22.0, width - 40, 36.0)
                    for cy in (24.0, by1 - by - 35)
                ]
            )
            for k, footprint in enumerate(candidates):
                if footprint.intersects(road_clear):
                    continue
                floors = 4 if flats else int(rng.integers(1, 3))
                dwellings = int(footprint.area * floors // FLAT_SIZE_M2) if flats else 1
                rows.append(
                    {
                        "building_id": f"ctx-{i:02d}{j:02d}-{k}",
                        "name": None,
                        "use": "residential",
                        "floors": floors,
                        "height_m": floors * FLOOR_HEIGHT_M + 1.0,
                        "dwellings": dwellings,
                        "dwellings_estimated": False,
                        "dwelling_type": "flat" if flats else "detached",
                        "tenure": "private_rental"
                        if flats
                        else tenures[int(rng.integers(len(tenures)))],
                        "floor_area_m2": round(footprint.area * floors, 1),
                        "commercial_m2": 0.0,
                        "jobs": 0,
                        "estate": None,
                        "organisation": None,
                        "demolished_dwellings_since_2010": 0,
                        "geometry": footprint,
                    }
                )
    return rows


# ----------------------------------------------------------------------------- landuse


def _landuse() -> gpd.GeoDataFrame:
    rows: list[dict[str, Any]] = [
        {
            "landuse_id": "mosen",
            "name": "Vollsmose (mosen), grønt bælte",
            "use": "wetland",
            "geometry": box(590_050, 6_140_520, 590_200, 6_141_560),
        },
        {
            "landuse_id": "idraetsanlaeg",
            "name": "Idrætsanlæg (skematisk)",
            "use": "sport",
            "geometry": box(590_660, 6_140_960, 590_935, 6_141_050),
        },
        {
            "landuse_id": "skole-grund",
            "name": "Skolegrund",
            "use": "school",
            "geometry": box(590_660, 6_140_865, 590_935, 6_140_958),
        },
        {
            "landuse_id": "torvet",
            "name": "Vollsmose Torv",
            "use": "square",
            "geometry": box(591_020, 6_140_962, 591_230, 6_140_998),
        },
        {
            "landuse_id": "groent-midt",
            "name": "Grønt område",
            "use": "green",
            "geometry": box(590_230, 6_140_860, 590_600, 6_141_050),
        },
        {
            "landuse_id": "parkering-torv",
            "name": "Parkering Torvet",
            "use": "parking",
            "geometry": box(591_160, 6_140_905, 591_250, 6_140_955),
        },
    ]
    for estate in ESTATES:
        rows.append(
            {
                "landuse_id": f"bolig-{estate.name.lower()}",
                "name": estate.name,
                "use": "residential",
                "geometry": box(*estate.area),
            }
        )
        if estate.kind == "row_houses":
            xmin, ymin, xmax, _ = estate.area
            rows.append(
                {
                    "landuse_id": f"haver-{estate.name.lower()}",
                    "name": f"Haver, {estate.name}",
                    "use": "private",
                    "geometry": box(xmin + 4, ymin + 16, xmax - 4, ymin + 26),
                }
            )
    return _frame(rows)


def _parking(streets: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """A parking area at every cul-de-sac end of the internal roads."""
    internal = streets[streets["car"] & streets.within(BOUNDARY.buffer(20))]
    ends = pd.concat(
        [
            internal.geometry.apply(lambda g: Point(g.coords[0])),
            internal.geometry.apply(lambda g: Point(g.coords[-1])),
        ]
    )
    counts = ends.apply(lambda p: (round(p.x, 1), round(p.y, 1))).value_counts()
    rows = []
    for k, ((x, y), n) in enumerate(sorted(counts.items()), start=1):
        point = Point(x, y)
        if n != 1 or not BOUNDARY.contains(point) or point.distance(BOUNDARY.exterior) < 20:
            continue
        rows.append(
            {
                "landuse_id": f"parkering-{k:02d}",
                "name": "Parkeringsplads",
                "use": "parking",
                "geometry": point.buffer(14, cap_style="square"),
            }
        )
    return rows


# ------------------------------------------------------------------ lights, cameras...


def _points_along(line: LineString, spacing: float, offset: float = 0.0) -> list[Point]:
    n = int(line.length // spacing)
    return [
        line.interpolate(offset + k * spacing)
        for k in range(n + 1)
        if offset + k * spacing <= line.length
    ]


# Dark stretches: no lamps where these boxes are (the bog path's middle, part of the
# southern path, the path over the bog) - the kind of gaps residents report.
DARK_STRETCHES = (
    box(590_200, 6_140_680, 590_230, 6_140_980),
    box(590_230, 6_140_835, 590_520, 6_140_865),
    box(590_035, 6_141_465, 590_200, 6_141_495),
    box(590_945, 6_141_130, 590_975, 6_141_300),
)


# The southern estates' paths still have old, dim lanterns (1,800 lm, MF 0.7, 45 W):
# they fall short of their EN 13201 class — invented, like the dark stretches.
OLD_LANTERNS = box(590_200, 6_140_520, 591_260, 6_140_860)


def _lights(streets: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    dark = shapely.union_all(DARK_STRETCHES)
    footprints = shapely.union_all(buildings.geometry.to_numpy())
    rows = []
    for street in streets.itertuples():
        geometry = street.geometry
        if street.highway in ("primary", "secondary"):
            spec = (40.0, 8.0, 12_000.0, 90.0)
        elif street.car:
            spec = (30.0, 6.0, 6_000.0, 45.0)
        else:
            spec = (25.0, 4.0, 3_000.0, 22.0)
        spacing, height, lumens, watts = spec
        if street.tunnel:
            continue
        for k, point in enumerate(_points_along(geometry, spacing, offset=spacing / 2)):
            if point.within(dark) or point.within(footprints):
                continue
            old = not street.car and point.within(OLD_LANTERNS)
            rows.append(
                {
                    "light_id": f"{street.street_id}-L{k:02d}",
                    "lumens": 1_800.0 if old else lumens,
                    "height_m": height,
                    "distribution": "street_lantern",
                    "maintenance_factor": 0.7 if old else 0.8,
                    "watts": 45.0 if old else watts,
                    "photometry_file": None,
                    "rotation_deg": 0.0,
                    "tilt_deg": 0.0,
                    "geometry": point,
                }
            )
    return _frame(rows)


def _cameras() -> gpd.GeoDataFrame:
    """A few cameras at Vollsmose Torv (positions and models invented)."""
    specs = [
        ("torv-cam-1", (591_022, 6_140_963), 60.0),
        ("torv-cam-2", (591_148, 6_140_963), 0.0),
        ("torv-cam-3", (591_228, 6_140_996), 250.0),
        ("torv-cam-4", (591_079, 6_140_999), 160.0),
    ]
    return _frame(
        [
            {
                "camera_id": cid,
                "height_m": 4.0,
                "heading_deg": heading,
                "hfov_deg": 90.0,
                "vfov_deg": 50.0,
                "resolution_px": 1920,
                "tilt_deg": -15.0,
                "geometry": Point(xy),
            }
            for cid, xy, heading in specs
        ]
    )


def _calming(streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Three existing humps on the long internal road and one in Granparken."""
    rows = []
    for device_id, (x, y) in (
        ("bump-1", (591_180, 6_141_375)),
        ("bump-2", (590_900, 6_141_375)),
        ("bump-3", (590_560, 6_141_375)),
        ("bump-4", (590_800, 6_140_525)),
    ):
        point = Point(x, y)
        nearest = streets[streets["car"]].distance(point).idxmin()
        rows.append(
            {
                "device_id": device_id,
                "kind": "hump",
                "street_id": streets.loc[nearest, "street_id"],
                "geometry": point,
            }
        )
    return _frame(rows)


def _pois(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    def at(building_id: str) -> Point:
        geometry = buildings.loc[buildings["building_id"] == building_id, "geometry"].iloc[0]
        return geometry.representative_point()

    rows: list[dict[str, Any]] = []

    def add(kind: str, name: str, point: Point) -> None:
        rows.append(
            {"poi_id": f"poi-{len(rows) + 1:03d}", "kind": kind, "name": name, "geometry": point}
        )

    centre = at("torvet-center")
    for k, (kind, name) in enumerate(
        [
            ("supermarket", "Supermarked, Vollsmose Torv"),
            ("shop", "Butik, Vollsmose Torv"),
            ("shop", "Butik, Vollsmose Torv"),
            ("pharmacy", "Apotek, Vollsmose Torv"),
            ("restaurant", "Café, Vollsmose Torv"),
        ]
    ):
        add(kind, name, Point(centre.x - 50 + 25 * k, centre.y))
    add("library", "Vollsmose Bibliotek", at("torvet-bibliotek"))
    add("health", "Sundhedshus Vollsmose", at("torvet-sundhedshus"))
    add("sport", "Vollsmose Svømmehal", at("svoemmehal"))
    add("workplace", "Kommunale arbejdspladser, Vollsmose Allé 20", at("tidl-skole"))
    add("school", "Skole (skematisk)", at("skole-midt"))
    for k in (1, 2, 3):
        add("daycare", "Dagtilbud (skematisk)", at(f"dagtilbud-{k}"))
    add("community", "Beboerhus (skematisk)", at("fritidshus"))
    add("sport", "Idrætsanlæg", Point(590_800, 6_141_005))
    add("green_space", "Vollsmose mosen", Point(590_125, 6_141_000))
    for playground in (
        (590_400.0, 6_140_830.0),
        (590_800.0, 6_141_080.0),
        (591_100.0, 6_141_430.0),
    ):
        add("playground", "Legeplads", Point(playground))
    # Bus stops on the four large roads (schematic positions).
    stops: list[tuple[float, float]] = [
        (X_VOLLSMOSE_ALLE - 10, 6_140_990),
        (X_VOLLSMOSE_ALLE - 10, 6_141_300),
        (590_620, Y_AASUMVEJ + 10),
        (591_000, Y_AASUMVEJ + 10),
        (590_600, Y_KERTEMINDEVEJ - 10),
        (X_EJBYGADE + 10, 6_141_060),
    ]
    for x, y in stops:
        add("transit_stop", "Busstoppested", Point(x, y))
    # Outside the estate: the city centre and everyday destinations in Odense NØ.
    add("other", "Odense Rådhus (bymidte)", RAADHUS)
    for kind, name, (x, y) in (
        ("supermarket", "Supermarked (skematisk)", (589_530, 6_141_150)),
        ("school", "Skole (skematisk)", (591_780, 6_141_530)),
        ("school", "Skole (skematisk)", (589_620, 6_140_230)),
        ("daycare", "Dagtilbud (skematisk)", (591_700, 6_140_240)),
        ("health", "Læge (skematisk)", (589_500, 6_141_900)),
        ("transit_stop", "Busstoppested", (589_500, 6_140_900)),
        ("transit_stop", "Busstoppested", (591_800, 6_141_050)),
        ("shop", "Butik (skematisk)", (591_780, 6_142_000)),
    ):
        add(kind, name, Point(x, y))
    return _frame(rows)


# --------------------------------------------------------------------------- assembly


def build_vollsmose() -> District:
    """Generate the schematic Vollsmose district (deterministic).

    Returns
    -------
    District
        Boundary ≈ 127 ha in EPSG:25832 with ~1 km of context and a road to the Rådhus;
        provenance ``kind="schematic"`` naming the figures it is built from.
    """
    streets = _streets()
    keep_clear = shapely.union_all(
        [
            *streets.geometry.buffer(streets["width_m"].fillna(2.0) / 2 + 5).to_numpy(),
            box(590_660, 6_141_040, 591_285, 6_141_100),  # corridor of the planned main street
        ]
    )
    buildings = _frame(_estate_buildings(keep_clear) + _facilities() + _context_buildings(streets))
    streets = _streets(doors=_door_paths(buildings, streets))
    landuse = pd.concat([_landuse(), _frame(_parking(streets))], ignore_index=True)
    estate_dwellings = int(buildings.loc[buildings["estate"].notna(), "dwellings"].sum())
    provenance = Provenance(
        source=SOURCES,
        licence="CC BY 4.0 (model); the figures are public facts",
        date=MODEL_VERSION,
        kind="schematic",
        attribution="Schematic model of Vollsmose (vollsmose-gis), not surveyed data",
        notes=(
            f"Schematic model: {estate_dwellings} family dwellings in 9 estates; block "
            "positions, shapes, storeys per block, the split of dwellings between estates "
            "other than Granparken and Birkeparken, lamp/camera/hump positions, the "
            "surrounding street grid and buildings are invented for plausibility. "
            "See layers/README.md."
        ),
    )
    district = District.create(
        "Vollsmose (schematic model)",
        BOUNDARY,
        crs=DEFAULT_CRS,
        provenance=provenance,
        streets=streets,
        buildings=buildings,
        landuse=landuse,
        lights=_lights(streets, buildings),
        cameras=_cameras(),
        calming=_calming(streets),
        pois=_pois(buildings),
    )
    district = district.replace(settings=vollsmose_settings(district))
    from vollsmose_gis.schema import validate_district

    return validate_district(district, source="vollsmose_gis.sources.vollsmose")


def default_district_path() -> Path:
    """Path of the embedded GeoPackage (in the installed package, or ``layers/`` in a checkout)."""
    packaged = resources.files("vollsmose_gis").joinpath("data", "vollsmose.gpkg")
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "layers" / "vollsmose.gpkg"
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        "the embedded Vollsmose district is missing (neither vollsmose_gis/data/vollsmose.gpkg "
        f"nor {checkout}); regenerate it with `python -m vollsmose_gis.sources.vollsmose`"
    )


def vollsmose_settings(district: District) -> Settings:
    """The embedded district's settings: Denmark, the almenboligloven rules, Odense C.

    The rule area of § 168 a / § 61 a is the nine estates' parcels (the residential
    land-use polygons of the model: Bøgeparken, Egeparken, Granparken, Hybenhaven,
    Lærkeparken, Pæreparken, Slåenparken, Tornbakken, Birkeparken), not the wider study
    boundary with the shopping centre, schools and Vollsmose Mose.  The city centre is
    Odense Rådhus (Flakhaven), EPSG:25832 (587928, 6139725).
    """
    landuse = district.landuse
    parcels = landuse.loc[landuse["use"].astype(str) == "residential", "geometry"]
    return Settings(
        country="DK",
        rules=("dk_168a", "dk_61a"),
        currency="DKK",
        unit_costs="dk",
        centre_xy=(587928.0, 6139725.0),
        centre_name="Odense Rådhus",
        latitude_deg=55.40,
        rule_area=shapely.union_all(parcels.to_numpy()) if len(parcels) else None,
        notes="embedded schematic Vollsmose model: Danish rules, Odense's centre",
    )


@cache
def _load_default() -> District:
    from vollsmose_gis.io import load_district

    district = load_district(default_district_path())
    if district.settings.country is None:  # a file written before districts had settings
        district = district.replace(settings=vollsmose_settings(district))
    return district


def default_district() -> District:
    """Return the embedded schematic Vollsmose district.

    The GeoPackage is read once per process and cached; Districts are immutable by
    convention, so the same object can be shared.

    Returns
    -------
    District
        ``provenance.kind == "schematic"``: every output made from it must say so.
    """
    return _load_default()


def render_overview(district: District, path: Path) -> None:
    """Draw the district on one page (PNG): land use, buildings by use, streets, lamps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # drawn in this order: later uses on top of earlier ones
    colours = {
        "residential": "#f5f1ea",
        "private": "#ebe3cf",
        "wetland": "#9fc9a4",
        "green": "#c8e6b0",
        "sport": "#e0eec0",
        "school": "#f3e6b3",
        "square": "#f2c6a0",
        "parking": "#cfcfcf",
    }
    fig, ax = plt.subplots(figsize=(11, 10.5), dpi=110)
    x0, y0, x1, y1 = BOUNDARY.buffer(450).bounds
    for use, colour in colours.items():
        part = district.landuse[district.landuse["use"] == use]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=0)
    b = district.buildings
    b[b["tenure"] == "almen_family"].plot(ax=ax, color="#c0504d", linewidth=0)
    b[(b["dwellings"] > 0) & (b["tenure"] != "almen_family")].plot(
        ax=ax, color="#8c8c8c", linewidth=0
    )
    b[b["dwellings"] == 0].plot(ax=ax, color="#4f81bd", linewidth=0)
    s = district.streets
    s[~s["car"]].plot(ax=ax, color="#2e7d32", linewidth=0.9, linestyle=(0, (3, 1.5)))
    s[s["tunnel"]].plot(ax=ax, color="#2e7d32", linewidth=2.2, alpha=0.5)
    s[s["car"] & (s["lanes"] >= 4)].plot(ax=ax, color="#333333", linewidth=3.2)
    s[s["car"] & (s["lanes"] < 4)].plot(ax=ax, color="#555555", linewidth=1.4)
    district.lights.plot(ax=ax, color="#f2b705", markersize=2.5, zorder=5)
    district.cameras.plot(ax=ax, color="#7b1fa2", markersize=22, marker="^", zorder=6)
    district.calming.plot(ax=ax, color="black", markersize=18, marker="s", zorder=6)
    gpd.GeoSeries([district.boundary], crs=district.crs).boundary.plot(
        ax=ax, color="#c62828", linewidth=1.6, linestyle="--"
    )
    labels = {
        **{e.name: box(*e.area).centroid for e in ESTATES},
        "Mosen": Point(590_125, 6_140_760),
        "Vollsmose Torv": Point(591_125, 6_140_880),
    }
    for text, point in labels.items():
        ax.annotate(
            text,
            (point.x, point.y),
            ha="center",
            fontsize=8,
            weight="bold",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.75, "lw": 0},
        )
    for name, (x, y, rot) in {
        "Kertemindevej": (590_650, Y_KERTEMINDEVEJ + 18, 0),
        "Åsumvej": (590_650, Y_AASUMVEJ - 30, 0),
        "Ejbygade": (X_EJBYGADE - 22, 6_140_800, 90),
        "Vollsmose Allé": (X_VOLLSMOSE_ALLE + 22, 6_140_700, 90),
    }.items():
        ax.annotate(
            name, (x, y), ha="center", va="center", rotation=rot, fontsize=9, style="italic"
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    ax.set_title("Vollsmose — schematic model (not surveyed data), EPSG:25832", fontsize=12)
    handles = [
        Patch(color="#c0504d", label="social family housing (almen_family)"),
        Patch(color="#8c8c8c", label="other housing (context)"),
        Patch(color="#4f81bd", label="non-residential building"),
        Patch(color="#9fc9a4", label="bog / green belt (mosen)"),
        Patch(color="#d9d9d9", label="parking (cul-de-sac ends)"),
        Line2D([], [], color="#333333", lw=3, label="4-lane road"),
        Line2D([], [], color="#555555", lw=1.4, label="street / internal road"),
        Line2D(
            [], [], color="#2e7d32", lw=1, ls="--", label="footpath / cycle path (thick: underpass)"
        ),
        Line2D([], [], color="#f2b705", marker="o", lw=0, ms=3, label="street lamp"),
        Line2D([], [], color="#7b1fa2", marker="^", lw=0, label="CCTV camera"),
        Line2D([], [], color="black", marker="s", lw=0, label="speed hump"),
        Line2D([], [], color="#c62828", ls="--", label="study boundary (≈127 ha)"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7.5, framealpha=0.9)
    fig.text(
        0.01,
        0.005,
        "Source: "
        + district.provenance.attribution
        + ". Figures: docs/domain.md; see layers/README.md.",
        fontsize=7,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the embedded Vollsmose model.")
    parser.add_argument(
        "--out", type=Path, default=Path("layers"), help="output folder (default: layers/)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    from vollsmose_gis.io import save_district

    # the embedded district carries ILLUSTRATIVE safety evidence (incidents, safety-walk
    # marks), labelled so in every row; generated, never real Vollsmose data
    from vollsmose_gis.safety import with_illustrative_evidence

    district = with_illustrative_evidence(build_vollsmose())
    save_district(district, args.out / "vollsmose.gpkg", overwrite=True)
    render_overview(district, args.out / "vollsmose_overview.png")
    summary = district.summary()
    gpkg = args.out / "vollsmose.gpkg"
    print(f"wrote {gpkg}: {summary['layers']}, {summary['dwellings']} dwellings")


if __name__ == "__main__":
    _main()
