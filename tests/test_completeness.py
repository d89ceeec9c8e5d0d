"""Data completeness: caveats beside indicators that rest on sparse data."""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import LineString

from tests.factories import CRS, X0, Y0, small_district
from vollsmose_gis import analysis
from vollsmose_gis.completeness import caveats
from vollsmose_gis.sources.vollsmose import default_district


def lit_grid(km: float) -> gpd.GeoDataFrame:
    """Parallel lit residential streets inside the 200 m district, ``km`` in all."""
    base = small_district().streets.iloc[[0]]
    rows = []
    n = round(km * 1000 / 200)
    for i in range(n):
        row = base.iloc[0].copy()
        row["street_id"] = f"lit-{i}"
        row["geometry"] = LineString([(X0, Y0 + 1 + (i % 198)), (X0 + 200, Y0 + 1 + (i % 198))])
        rows.append(row)
    return gpd.GeoDataFrame(rows, crs=CRS)


def test_the_embedded_district_needs_no_caveat() -> None:
    assert caveats(default_district()) == {"lighting": [], "cctv": [], "mix": []}


def test_lit_streets_without_lamps_read_as_unmapped_lamps() -> None:
    d = small_district(streets=lit_grid(1.0))  # 1.0 km tagged lit
    d = d.replace(lights=d.lights.iloc[:0])  # no lamp on 1 km tagged lit: 0 per km < 8
    (message,) = caveats(d, "lighting")["lighting"]
    assert "0 lamps along 1.0 km" in message and "0.0 per km" in message
    # eight lamps on the first street: 8 per km, at the threshold, no caveat
    first = d.streets.geometry.iloc[0]
    lamps = small_district().lights.iloc[[0] * 8].reset_index(drop=True)
    lamps = lamps.assign(light_id=[f"l{i}" for i in range(8)],
                         geometry=[first.interpolate(25 * i) for i in range(8)])  # fmt: skip
    assert caveats(d.replace(lights=lamps), "lighting")["lighting"] == []


def test_many_buildings_and_no_camera_read_as_unmapped_cameras() -> None:
    d = small_district()
    cells = [shapely.box(X0 + 10 * (i % 20), Y0 + 10 * (i // 20), X0 + 10 * (i % 20) + 5,
                         Y0 + 10 * (i // 20) + 5) for i in range(200)]  # fmt: skip
    one = d.buildings.iloc[[0]]
    buildings = gpd.GeoDataFrame([one.iloc[0].copy() for _ in cells], crs=CRS).assign(
        building_id=[f"b{i}" for i in range(200)], geometry=cells
    )
    d = d.replace(buildings=buildings, cameras=d.cameras.iloc[:0])
    (message,) = caveats(d, "cctv")["cctv"]
    assert "no camera in the data of a district with 200 buildings" in message


def test_unknown_tenure_is_said_beside_the_housing_indicators() -> None:
    d = small_district()
    d = d.replace(buildings=d.buildings.assign(tenure=None))
    messages = caveats(d, "mix")["mix"]
    assert any("tenure is known for 0%" in m for m in messages)
    result = analysis.run("mix", d)
    assert any(w.startswith("data completeness: tenure is known for 0%") for w in result.warnings)
