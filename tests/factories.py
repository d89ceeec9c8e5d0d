"""Small hand-made districts for tests (coordinates in EPSG:25832, metres)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from shapely.geometry import LineString, Point, box

from vollsmose_gis import District, Provenance, validate_district

CRS = "EPSG:25832"
X0, Y0 = 590_000.0, 6_141_000.0


def frame(rows: list[dict[str, Any]], crs: str = CRS) -> gpd.GeoDataFrame:
    """A GeoDataFrame from dict rows, each with a ``geometry`` key."""
    geometry = [r.pop("geometry") for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=crs)


def small_district(**layers: gpd.GeoDataFrame) -> District:
    """A valid 200 m × 200 m district with a few features in every layer.

    Layers passed as keyword arguments replace the defaults.
    """
    streets = frame(
        [
            dict(
                street_id="s1",
                name="Main Street",
                highway="residential",
                car=True,
                walk=True,
                bike=True,
                oneway=False,
                maxspeed_kmh=50.0,
                lanes=2,
                width_m=6.0,
                lit=True,
                lighting_class="P3",
                bridge=False,
                tunnel=False,
                bus_route=False,
                geometry=LineString([(X0, Y0 + 100), (X0 + 200, Y0 + 100)]),
            ),
            dict(
                street_id="p1",
                name=None,
                highway="footway",
                car=False,
                walk=True,
                bike=False,
                oneway=False,
                maxspeed_kmh=None,
                lanes=None,
                width_m=2.0,
                lit=None,
                lighting_class=None,
                bridge=False,
                tunnel=False,
                bus_route=False,
                geometry=LineString([(X0 + 100, Y0), (X0 + 100, Y0 + 100)]),
            ),
        ]
    )
    buildings = frame(
        [
            dict(
                building_id="b1",
                name="Block 1",
                use="residential",
                floors=4,
                height_m=12.0,
                dwellings=40,
                dwellings_estimated=False,
                dwelling_type="flat",
                tenure="almen_family",
                floor_area_m2=3200.0,
                commercial_m2=0.0,
                jobs=0,
                estate="Testparken",
                organisation="Test",
                demolished_dwellings_since_2010=0,
                geometry=box(X0 + 20, Y0 + 20, X0 + 80, Y0 + 40),
            ),
            dict(
                building_id="b2",
                name="Shop",
                use="retail",
                floors=1,
                height_m=4.0,
                dwellings=0,
                dwellings_estimated=False,
                dwelling_type=None,
                tenure=None,
                floor_area_m2=500.0,
                commercial_m2=500.0,
                jobs=10,
                estate=None,
                organisation=None,
                demolished_dwellings_since_2010=0,
                geometry=box(X0 + 120, Y0 + 120, X0 + 160, Y0 + 140),
            ),
        ]
    )
    landuse = frame(
        [
            dict(
                landuse_id="l1",
                name="Green",
                use="green",
                geometry=box(X0 + 120, Y0 + 20, X0 + 180, Y0 + 80),
            )
        ]
    )
    lights = frame(
        [
            dict(
                light_id="L1",
                lumens=3000.0,
                height_m=5.0,
                distribution="street_lantern",
                maintenance_factor=0.8,
                watts=25.0,
                photometry_file=None,
                rotation_deg=0.0,
                tilt_deg=0.0,
                geometry=Point(X0 + 50, Y0 + 102),
            )
        ]
    )
    cameras = frame(
        [
            dict(
                camera_id="C1",
                height_m=4.0,
                heading_deg=90.0,
                hfov_deg=90.0,
                vfov_deg=None,
                resolution_px=1920,
                tilt_deg=-10.0,
                geometry=Point(X0 + 10, Y0 + 105),
            )
        ]
    )
    calming = frame(
        [dict(device_id="D1", kind="hump", street_id="s1", geometry=Point(X0 + 150, Y0 + 100))]
    )
    pois = frame([dict(poi_id="P1", kind="shop", name="Kiosk", geometry=Point(X0 + 140, Y0 + 115))])
    parts = dict(
        streets=streets,
        buildings=buildings,
        landuse=landuse,
        lights=lights,
        cameras=cameras,
        calming=calming,
        pois=pois,
    )
    parts.update(layers)
    district = District.create(
        "Testby",
        box(X0, Y0, X0 + 200, Y0 + 200),
        crs=CRS,
        provenance=Provenance(source="tests/factories.py", licence="CC0", kind="schematic"),
        **parts,
    )
    return validate_district(district)
