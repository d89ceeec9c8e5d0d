"""Write the hand-made register files of tests/test_sources_dk.py (run once; outputs committed).

A small estate in EPSG:25832 (ETRS89 / UTM 32N) near Vollsmose, with field names exactly
as the specifications (BBR 2.x BBR_Bygning / BBR_Enhed, GeoDanmark 6 Bygning / Vejmidte,
DAR Husnummer + Adressepunkt position):

==== ======= ======== ======================= ===================================
id   byg021  byg066   units                   footprint link
==== ======= ======== ======================= ===================================
B1   140     20       24 × Boligtype 1        GeoDanmark bygning_id
B2   140     41       12 × Boligtype 1        BBR point byg404Koordinat in F2
B3   120     10       1 × Boligtype 1         DAR address (adgangTilBygning) in F3
B4   150     20       8 × Boligtype 3, støtte 25  bygning_id
B5   321     30       2 × Boligtype E         bygning_id (byg040 1200 m²)
B6   140     20       6 × Boligtype 1 (4 × støtte 10, 2 × støtte 40), 1 shop (150 m²);
                      BBR husnummer -> DAR address point in F6
B7   930     10       none                    none (a shed: dropped, counted)
F7   —       —        —                       a footprint without a BBR building
==== ======= ======== ======================= ===================================
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, box

HERE = Path(__file__).parent
X0, Y0 = 592000.0, 6140000.0


def uuid(prefix: str, n: int) -> str:
    return f"{prefix}0000000-0000-4000-8000-{n:012d}"


B = {i: uuid("b", i) for i in range(1, 8)}  # BBR_Bygning
F = {i: uuid("f", i) for i in range(1, 8)}  # GeoDanmark Bygning
H = {i: uuid("a", i) for i in range(1, 8)}  # DAR Husnummer
REGISTERED = "2026-11-02T08:15:00.000000+01:00"

FOOTPRINTS = {  # footprint -> (box, bygning_id)
    1: (box(X0, Y0, X0 + 50, Y0 + 12), B[1]),
    2: (box(X0, Y0 + 40, X0 + 40, Y0 + 52), None),
    3: (box(X0 + 100, Y0, X0 + 112, Y0 + 10), None),
    4: (box(X0 + 100, Y0 + 40, X0 + 120, Y0 + 50), B[4]),
    5: (box(X0 + 200, Y0, X0 + 230, Y0 + 20), B[5]),
    6: (box(X0 + 200, Y0 + 40, X0 + 230, Y0 + 55), None),
    7: (box(X0 + 300, Y0, X0 + 310, Y0 + 8), None),
}

BUILDINGS = [
    # id, status, byg021, byg026, byg038, byg039, byg040, byg054, byg066, byg404, husnummer
    (B[1], "6", "140", "1968", "2400", "2400", "0", "4", "20", "", ""),
    (B[2], "6", "140", "1970", "1440", "1440", "0", "3", "41", f"POINT ({X0 + 20} {Y0 + 46})", ""),
    (B[3], "6", "120", "1975", "140", "140", "0", "1", "10", "", ""),
    (B[4], "7", "150", "1972", "400", "400", "0", "2", "20", "", ""),
    (B[5], "6", "321", "1990", "1200", "0", "1200", "2", "30", "", ""),
    (B[6], "6", "140", "1969", "1350", "1200", "150", "3", "20", "", H[6]),
    (B[7], "6", "930", "1980", "12", "0", "0", "1", "10", f"POINT ({X0 + 400} {Y0 + 100})", ""),
]
BUILDING_FIELDS = [
    "id_lokalId",
    "status",
    "byg021BygningensAnvendelse",
    "byg026Opførelsesår",
    "byg038SamletBygningsareal",
    "byg039BygningensSamledeBoligAreal",
    "byg040BygningensSamledeErhvervsAreal",
    "byg054AntalEtager",
    "byg066Ejerforhold",
    "byg404Koordinat",
    "husnummer",
    "registreringFra",
]
UNIT_FIELDS = [
    "id_lokalId",
    "status",
    "bygning",
    "enh020EnhedensAnvendelse",
    "enh023Boligtype",
    "enh026EnhedensSamledeAreal",
    "enh027ArealTilBeboelse",
    "enh028ArealTilErhverv",
    "enh046OffentligStøtte",
    "registreringFra",
]


def units() -> list[list[str]]:
    rows: list[list[str]] = []

    def add(building: int, use: str, kind: str, total: int, living: int, business: int,
            subsidy: str) -> None:  # fmt: skip
        rows.append([uuid("e", len(rows) + 1), "6", B[building], use, kind, str(total),
                     str(living), str(business), subsidy, REGISTERED])  # fmt: skip

    for _ in range(24):
        add(1, "140", "1", 100, 100, 0, "")
    for _ in range(12):
        add(2, "140", "1", 120, 120, 0, "")
    add(3, "120", "1", 140, 140, 0, "0")
    for _ in range(8):
        add(4, "150", "3", 50, 50, 0, "25")
    for _ in range(2):
        add(5, "321", "E", 600, 0, 600, "")
    for _ in range(4):
        add(6, "140", "1", 200, 200, 0, "10")
    for _ in range(2):
        add(6, "140", "1", 200, 200, 0, "40")
    add(6, "322", "E", 150, 0, 150, "")
    return rows


def main() -> None:
    with (HERE / "bbr_bygning.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(BUILDING_FIELDS)
        writer.writerows([*row, REGISTERED] for row in BUILDINGS)
    with (HERE / "bbr_enhed.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(UNIT_FIELDS)
        writer.writerows(units())
    footprints = gpd.GeoDataFrame(
        {
            "id_lokalId": [F[i] for i in FOOTPRINTS],
            "bygning_id": [FOOTPRINTS[i][1] for i in FOOTPRINTS],
            "registreringFra": ["2026-06-01T00:00:00+02:00"] * len(FOOTPRINTS),
        },
        geometry=[FOOTPRINTS[i][0] for i in FOOTPRINTS],
        crs="EPSG:25832",
    )
    footprints.to_file(HERE / "geodanmark_bygning.gml", driver="GML", layer="Bygning")
    roads = gpd.GeoDataFrame(
        {
            "id_lokalId": [uuid("c", i) for i in (1, 2, 3)],
            "vejkategori": ["Fordelingsrute", "Lille vej", "Hoved sti"],
            "trafikart": ["Al færdsel", "", "Sti"],
            "vejmyndighed": ["Odense Kommune", "Odense Kommune", "Odense Kommune"],
            "status": ["Anlagt", "Anlagt", "Anlagt"],
            "registreringFra": ["2026-06-01T00:00:00+02:00"] * 3,
        },
        geometry=[
            LineString([(X0 - 10, Y0 + 30), (X0 + 320, Y0 + 30)]),
            LineString([(X0 + 80, Y0 + 30), (X0 + 80, Y0 + 70)]),
            LineString([(X0 + 180, Y0 - 10), (X0 + 180, Y0 + 60)]),
        ],
        crs="EPSG:25832",
    )
    roads.to_file(HERE / "geodanmark_vejmidte.gpkg", driver="GPKG", layer="Vejmidte")
    addresses = [
        # Husnummer id, husnummertekst, adgangTilBygning, status, Adressepunkt position,
        # NavngivenVej vejnavn
        (H[3], "12", B[3], "3", f"POINT ({X0 + 106} {Y0 + 5})", "Vollsmose Allé"),
        (H[6], "14A", "", "3", f"POINT ({X0 + 215} {Y0 + 47})", "Vollsmose Allé"),
    ]
    with (HERE / "dar_husnummer.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_lokalId", "husnummertekst", "adgangTilBygning", "status",
                         "position", "vejnavn", "registreringFra"])  # fmt: skip
        writer.writerows([*row, REGISTERED] for row in addresses)


if __name__ == "__main__":
    main()
