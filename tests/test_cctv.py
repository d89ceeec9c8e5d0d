"""Tests of vollsmose_gis.cctv: viewsheds, DORI density, coverage, placement, CLI.

Expected values come from hand calculations (sector areas, shadow lengths, DORI
distances) or from an independent per-cell line-of-sight check with shapely.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import rasterio.features
import shapely
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from vollsmose_gis import (
    District,
    InputError,
    Provenance,
    RepairWarning,
    cctv,
    load_district,
    save_district,
    validate_district,
)
from vollsmose_gis.analysis import Plan
from vollsmose_gis.cli import app
from vollsmose_gis.io import Raster

CRS = "EPSG:25832"
X0, Y0 = 590_000.0, 6_141_000.0
BOUNDARY = box(X0, Y0, X0 + 200, Y0 + 200)


def camera(cid: str, x: float, y: float, **kw: Any) -> dict[str, Any]:
    row = dict(camera_id=cid, height_m=4.0, heading_deg=90.0, hfov_deg=90.0, vfov_deg=None,
               resolution_px=1920, tilt_deg=0.0, geometry=Point(X0 + x, Y0 + y))  # fmt: skip
    row.update(kw)
    return row


def building(bid: str, x0: float, y0: float, x1: float, y1: float, **kw: Any) -> dict[str, Any]:
    row = dict(building_id=bid, use="residential", height_m=10.0,
               geometry=box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1))  # fmt: skip
    row.update(kw)
    return row


def footway(sid: str, coords: list[tuple[float, float]], **kw: Any) -> dict[str, Any]:
    row = dict(street_id=sid, highway="footway", walk=True, tunnel=False, width_m=2.0,
               geometry=LineString([(X0 + x, Y0 + y) for x, y in coords]))  # fmt: skip
    row.update(kw)
    return row


def make(
    cameras: list[dict[str, Any]],
    buildings: list[dict[str, Any]] | None = None,
    streets: list[dict[str, Any]] | None = None,
    landuse: list[dict[str, Any]] | None = None,
    boundary: Any = BOUNDARY,
) -> District:
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, rows in (("cameras", cameras), ("buildings", buildings), ("streets", streets),
                       ("landuse", landuse)):  # fmt: skip
        if rows:
            layers[name] = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return District.create(
        "test", boundary, crs=CRS,
        provenance=Provenance(source="tests/test_cctv.py", licence="CC0", kind="schematic"),
        **layers,
    )  # fmt: skip


def level_at(result: cctv.CctvResult, x: float, y: float) -> int:
    """Best level code (unmasked) at a point given relative to (X0, Y0)."""
    col, row = ~result.levels.transform @ (X0 + x, Y0 + y)
    return int(result.raw_levels[math.floor(row), math.floor(col)])


# --------------------------------------------------------------------------- DORI


def test_dori_distances_match_the_formula():
    # D = R_h / (ppm 2 tan(HFOV/2)); 1920 px at 90° -> 1920 / (2 ppm)
    d = cctv.dori_distances(1920, 90.0)
    assert d == pytest.approx(
        {"detection": 38.4, "observation": 15.36, "recognition": 7.68, "identification": 3.84}
    )
    # the user-defined (unverified) set: identification at 500 px/m
    assert cctv.dori_distances(1920, 90.0, edition="identification-500")[
        "identification"
    ] == pytest.approx(1.92)
    # 60°: 2 tan 30° = 1.1547
    assert cctv.dori_distances(2560, 60.0)["recognition"] == pytest.approx(
        2560 / (125 * 2 * math.tan(math.radians(30)))
    )
    # the density at that distance is exactly the threshold
    assert float(cctv.pixel_density(3.84, 1920, 90.0)) == pytest.approx(250.0)
    # from 180° on the arc model: W = D x HFOV(rad); 360°, 3840 px at 25 px/m -> 24.45 m
    assert cctv.dori_distances(3840, 360.0)["detection"] == pytest.approx(3840 / (25 * 2 * math.pi))


@pytest.mark.parametrize(
    ("hfov", "resolution", "message"),
    [(0.0, 1920, "hfov_deg"), (-10.0, 1920, "hfov_deg"), (361.0, 1920, "hfov_deg"),
     (90.0, 0, "resolution_px"), (90.0, -5, "resolution_px")],
)  # fmt: skip
def test_bad_fov_and_resolution_are_input_errors(hfov, resolution, message):
    with pytest.raises(InputError, match=message):
        cctv.dori_distances(resolution, hfov)
    d = make([camera("bad-cam", 50, 50, hfov_deg=hfov, resolution_px=resolution)])
    with pytest.raises(InputError, match=rf"camera 'bad-cam': {message}"):
        cctv.viewsheds(d)


def test_other_bad_camera_values_are_all_listed():
    d = make([camera("c1", 50, 50, height_m=0.0), camera("c2", 60, 50, tilt_deg=120.0),
              camera("c3", 70, 50, vfov_deg=200.0)])  # fmt: skip
    with pytest.raises(InputError) as info:
        cctv.viewsheds(d)
    text = str(info.value)
    assert "3 problem(s)" in text
    assert "'c1': height_m" in text and "'c2': tilt_deg" in text and "'c3': vfov_deg" in text
    # implausible values are refused, not normalised: a 9999° heading, a 1 km mast
    d = make([camera("c4", 50, 50, heading_deg=9999.0), camera("c5", 60, 50, height_m=1000.0),
              camera("c6", 70, 50, resolution_px=10**7), camera("c7", 80, 50, heading_deg=359.0)])  # fmt: skip
    with pytest.raises(InputError) as info:
        cctv.viewsheds(d)
    text = str(info.value)
    assert "3 problem(s)" in text and "'c7'" not in text
    assert "'c4': heading_deg 9999 must be a bearing in [0, 360)" in text
    assert "'c5': height_m 1000 is above 200" in text
    assert "'c6': resolution_px 1e+07 is above 100000" in text


def test_no_unverified_figure_is_presented_as_iec_62676_4_2025():
    """Issue 16 §5: the 500 px/m identification figure is a user-defined, unverified set."""
    with pytest.raises(InputError, match=r"'2025': no verified IEC 62676-4:2025 table"):
        cctv.dori_levels("2025")
    with pytest.raises(InputError, match="identification-500"):
        cctv.viewsheds(make([camera("c", 50, 50)]), edition="2025")
    assert cctv.dori_levels("identification-500")["identification"] == 500.0
    assert cctv.dori_levels() == {
        "detection": 25.0, "observation": 62.5, "recognition": 125.0, "identification": 250.0
    }  # fmt: skip
    default = cctv.level_set_title()
    assert default.startswith("IEC 62676-4:2014 / EN 62676-4:2015")
    user = cctv.level_set_title("identification-500")
    assert "User-defined" in user and "unverified" in user and "2025" not in user
    # no output of a run with the user set names it an edition of the standard
    d = make([camera("c", 50, 50)], streets=[footway("f", [(50, 40), (90, 40)])])
    result = cctv.viewsheds(d, edition="identification-500", resolution_m=2.0)
    assert result.level_set_title == user and "unverified" in result.levels.description
    assert "2025" not in result.levels.description
    from vollsmose_gis.standards import load

    std = load("dori")
    for name, entry in std["level_sets"].items():
        assert "2025" not in name
        if not entry["verified"]:
            assert "unverified" in entry["title"].lower() and "2025" not in entry["title"]


def test_unknown_level_edition_and_resolution():
    d = make([camera("c", 50, 50)])
    with pytest.raises(InputError, match="unknown DORI level"):
        cctv.viewsheds(d, min_level="inspection")
    with pytest.raises(InputError, match="unknown DORI level set '1999'"):
        cctv.viewsheds(d, edition="1999")
    # the raster is bounded before any work: 200 m + 2 x 39.4 m reach at 2 cm
    with pytest.raises(InputError, match=r"13836 x 13836 = 191,434,896 cells at 0.02 m, above"):
        cctv.viewsheds(d, resolution_m=0.02)
    with pytest.raises(InputError, match="max_raster_cells"):
        cctv.plan_cameras(d, resolution_m=0.02, candidates=d.cameras, k=1)
    for bad in (math.inf, math.nan, -1.0):
        with pytest.raises(InputError, match=r"resolution_m .* finite number > 0"):
            cctv.viewsheds(d, resolution_m=bad)
    with pytest.raises(InputError, match="resolution_m"):
        cctv.viewsheds(d, resolution_m=0)


# --------------------------------------------------------------------------- geometry


def sector_area(reach_slant: float, height: float, hfov: float, blind: float = 0.0) -> float:
    radius = math.sqrt(reach_slant**2 - (height - 1.7) ** 2)
    return hfov / 360.0 * math.pi * (radius**2 - blind**2)


@pytest.mark.parametrize(("heading", "resolution", "tolerance"),
                         [(30.0, 1.0, 0.02), (0.0, 1.0, 0.02), (30.0, 0.5, 0.005),
                          (77.7, 0.5, 0.005)])  # fmt: skip
def test_open_ground_sector_has_the_analytic_area(heading, resolution, tolerance):
    # no buildings at all: fine, nothing occludes
    d = make([camera("c", 100.3, 100.7, heading_deg=heading)])
    result = cctv.viewsheds(d, resolution_m=resolution)
    cams = result.cameras.set_index("camera_id")
    expected = sector_area(38.4, 4.0, 90.0)  # 1,154 m²
    assert cams.loc["c", "seen_m2"] == pytest.approx(expected, rel=tolerance)
    assert cams.loc["c", "occluded_share"] == 0.0
    # each level is the sector of its own reach
    for name, slant in cctv.dori_distances(1920, 90.0).items():
        analytic = sector_area(slant, 4.0, 90.0)
        assert cams.loc["c", f"{name}_m2"] == pytest.approx(analytic, rel=0.03, abs=4 * resolution)
    # the combined zones carry the same areas
    zones = result.zones.set_index("level")
    assert zones["area_m2"].sum() == pytest.approx(cams.loc["c", "seen_m2"])
    assert zones.geometry.area.sum() == pytest.approx(cams.loc["c", "seen_m2"])


def test_sector_points_the_right_way():
    d = make([camera("c", 100.3, 100.7, heading_deg=135.0)])  # south-east
    result = cctv.viewsheds(d)
    assert level_at(result, 115, 85) > 0  # 15 m SE
    assert level_at(result, 85, 115) == 0  # 15 m NW
    assert level_at(result, 115, 115) == 0  # 15 m NE: outside 90° around SE
    assert level_at(result, 100.5 + 30 / math.sqrt(2), 100.5 - 30 / math.sqrt(2)) == 1


def test_vertical_field_of_view_leaves_a_blind_zone_below():
    # tilt -15°, vfov 50°: lower edge 40° down, so the face is seen from 2.3/tan 40° m
    d = make([camera("c", 100.3, 100.7, heading_deg=30.0, tilt_deg=-15.0, vfov_deg=50.0)])
    result = cctv.viewsheds(d)
    blind = 2.3 / math.tan(math.radians(40.0))  # 2.74 m
    seen = float(result.cameras["seen_m2"].iloc[0])
    assert seen == pytest.approx(sector_area(38.4, 4.0, 90.0, blind), rel=0.02)
    heading = math.radians(30.0)
    near = (100.3 + 1.5 * math.sin(heading), 100.7 + 1.5 * math.cos(heading))
    far = (100.3 + 6.0 * math.sin(heading), 100.7 + 6.0 * math.cos(heading))
    assert level_at(result, *near) == 0
    assert level_at(result, *far) > 0


def test_a_tall_building_in_front_casts_a_shadow():
    # camera at 4 m looks east; a 10 m block 9.7-11.7 m ahead spans y 45..55
    d = make([camera("c", 50.3, 50.2, heading_deg=90.0)],
             [building("b", 60, 45, 62, 55, height_m=10.0)])  # fmt: skip
    result = cctv.viewsheds(d)
    assert level_at(result, 58.5, 50.5) > 0  # in front of the wall
    assert result.levels.array[result.raw_levels.shape[0] // 2, 0] == 0
    for x in (62.5, 66.5, 75.5, 85.5):  # straight behind: hidden all the way
        assert level_at(result, x, 50.5) == 0
    # to (75.5, 60.5) the sight line is at y = 50.2 + 9.7 * 10.3 / 25.2 = 54.2 < 55
    # at the wall: hidden; to (75.5, 66.5) it passes at 56.5 > 55: seen
    assert level_at(result, 75.5, 60.5) == 0
    assert level_at(result, 75.5, 66.5) > 0
    # the building's own cells are masked, never counted
    col, row = ~result.levels.transform @ (X0 + 61, Y0 + 50)
    assert result.levels.array[int(row), int(col)] == cctv.MASKED
    # the wedge hit by sight lines spans atan(4.8 / 9.7) + atan(5.2 / 9.7) = 54.5° of 90°,
    # beyond 10 m of a 38.3 m reach: 0.61 x (1 - (10 / 38.3)²) = 0.56 of the view hidden
    assert float(result.cameras["occluded_share"].iloc[0]) == pytest.approx(0.56, abs=0.02)


def test_a_low_building_casts_a_finite_shadow():
    # camera 6 m, building 3 m from x = 60 to 62 (exit at 11.7 m along the row), face 1.7 m:
    # hidden while 3 > 6 - 4.3 * 11.7 / D, i.e. D < 11.7 * 4.3 / 3 = 16.77 m -> x < 67.07
    d = make([camera("c", 50.3, 50.5, heading_deg=90.0, height_m=6.0)],
             [building("b", 60, 45, 62, 55, height_m=3.0)])  # fmt: skip
    result = cctv.viewsheds(d)
    assert [level_at(result, x, 50.5) for x in (62.5, 64.5, 66.5)] == [0, 0, 0]
    assert level_at(result, 67.5, 50.5) > 0
    assert level_at(result, 80.5, 50.5) > 0
    # the same building lower than the face never hides anything
    low = make([camera("c", 50.3, 50.5, heading_deg=90.0, height_m=6.0)],
               [building("b", 60, 45, 62, 55, height_m=1.5)])  # fmt: skip
    assert level_at(cctv.viewsheds(low), 62.5, 50.5) > 0


def test_heights_from_floors_else_default():
    b = gpd.GeoDataFrame(
        [building("a", 0, 0, 5, 5, height_m=None, floors=4),
         building("b", 0, 0, 5, 5, height_m=None, floors=None),
         building("c", 0, 0, 5, 5, height_m=7.5, floors=4)],
        geometry="geometry", crs=CRS,
    )  # fmt: skip
    assert cctv.building_heights(b).tolist() == [12.0, 6.0, 7.5]


def _brute_force_visible(d: District, result: cctv.CctvResult, cam: dict[str, Any]) -> set:
    """Cells one camera sees, by an independent per-cell check with shapely polygons."""
    res = result.levels.resolution_m
    transform = result.levels.transform
    raster = np.zeros(result.raw_levels.shape, dtype=np.float32)
    heights = cctv.building_heights(d.buildings).to_numpy()
    order = np.argsort(heights)
    raster = rasterio.features.rasterize(
        [(g, float(h)) for g, h in zip(d.buildings.geometry.to_numpy()[order], heights[order],
                                       strict=True)],
        out_shape=raster.shape, transform=transform, dtype="float32",
    )  # fmt: skip
    shapes = list(rasterio.features.shapes(raster, mask=raster > 0, transform=transform))
    polygons = [shapely.geometry.shape(g) for g, _ in shapes]
    tops = [v for _, v in shapes]
    cx, cy = cam["geometry"].x, cam["geometry"].y
    slant = cctv.dori_distances(cam["resolution_px"], cam["hfov_deg"])["detection"]
    reach = math.sqrt(slant**2 - (cam["height_m"] - 1.7) ** 2)
    heading = math.radians(cam["heading_deg"])
    seen = set()
    rows, cols = raster.shape
    for r in range(rows):
        for c in range(cols):
            if raster[r, c] > 0:
                continue
            tx, ty = transform @ (c + 0.5, r + 0.5)
            length = math.hypot(tx - cx, ty - cy)
            if length > reach:
                continue
            along = (tx - cx) * math.sin(heading) + (ty - cy) * math.cos(heading)
            if along < length * math.cos(math.radians(cam["hfov_deg"] / 2)) - 1e-9 * res:
                continue
            visible = True
            if length > 1.0:
                t0 = 1.0 / length
                seg = LineString([(cx + t0 * (tx - cx), cy + t0 * (ty - cy)), (tx, ty)])
                for poly, top in zip(polygons, tops, strict=True):
                    if not seg.intersects(poly):
                        continue
                    xy = shapely.get_coordinates(seg.intersection(poly))
                    t = ((xy[:, 0] - cx) * (tx - cx) + (xy[:, 1] - cy) * (ty - cy)) / length**2
                    if top > (cam["height_m"] + (1.7 - cam["height_m"]) * t).min():
                        visible = False
                        break
            if visible:
                seen.add((r, c))
    return seen


def test_visibility_equals_a_per_cell_shapely_check():
    rng = np.random.default_rng(3)
    blocks = []
    for i in range(25):
        x, y = rng.uniform(10, 180, 2)
        poly = shapely.affinity.rotate(box(x, y, x + rng.uniform(4, 15), y + rng.uniform(3, 8)),
                                       rng.uniform(0, 90))  # fmt: skip
        blocks.append(dict(building_id=f"b{i}", use="residential",
                           height_m=float(rng.uniform(2, 14)), geometry=poly))  # fmt: skip
    # one block in front of each camera: taller than camera a, lower than camera b
    front_a = shapely.affinity.rotate(box(X0 + 101, Y0 + 108, X0 + 108, Y0 + 112), 10)
    blocks.append(dict(building_id="front-a", use="residential", height_m=8.0, geometry=front_a))
    front_b = box(X0 + 53, Y0 + 128, X0 + 60, Y0 + 132)
    blocks.append(dict(building_id="front-b", use="residential", height_m=2.5, geometry=front_b))
    cams = [camera("a", 100.37, 100.81, heading_deg=20.0, hfov_deg=120.0, height_m=5.0),
            camera("b", 60.43, 140.57, heading_deg=200.0, height_m=3.0)]  # fmt: skip
    d = make(cams, blocks, boundary=box(X0 + 40, Y0 + 40, X0 + 160, Y0 + 160))
    for cam in cams:
        single = d.replace(cameras=d.cameras[d.cameras["camera_id"] == cam["camera_id"]])
        assert not shapely.union_all(single.buildings.geometry).contains(cam["geometry"])
        result = cctv.viewsheds(single)
        fast = set(zip(*np.nonzero(result.raw_levels), strict=True))
        assert fast == _brute_force_visible(single, result, cam)
        assert len(fast) > 300
        assert float(result.cameras["occluded_share"].iloc[0]) > 0.05  # buildings do hide


def _every_crossing_visible(
    cam_x: np.ndarray,
    cam_y: np.ndarray,
    cam_z: np.ndarray,
    owner: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    occ: Any,
    *,
    res: float,
    target_z: float,
    clearance_m: float,
) -> np.ndarray:
    """The engine's line of sight with no pruning: every crossing beyond the clearance."""
    from vollsmose_gis.cctv.visibility import _EPS, _crossings_blocked

    cx, cy, z0 = cam_x[owner], cam_y[owner], cam_z[owner]
    dx, dy = target_x - cx, target_y - cy
    length = np.hypot(dx, dy)
    t_clear = np.full(len(dx), np.inf)
    t_clear[length > 0] = clearance_m / res / length[length > 0]
    dz = target_z - z0
    checked = t_clear < 1.0
    t0 = np.where(checked, t_clear, 0.0)
    sx, sy = cx + t0 * dx, cy + t0 * dy
    rows, cols = occ.height.shape
    h_start = np.zeros(len(dx), dtype=np.float32)
    for ry in (np.floor(sy - _EPS), np.floor(sy + _EPS)):
        for rx in (np.floor(sx - _EPS), np.floor(sx + _EPS)):
            r = np.clip(ry.astype(np.int64), 0, rows - 1)
            c = np.clip(rx.astype(np.int64), 0, cols - 1)
            h_start = np.maximum(h_start, occ.height[r, c])
    blocked = checked & (h_start > z0 + dz * t0)
    rest = np.flatnonzero(checked & ~blocked)
    for c_p, d_p, c_q, d_q, table, lines_first in (
        (cx, dx, cy, dy, occ.vertical, False),
        (cy, dy, cx, dx, occ.horizontal, True),
    ):
        hit = _crossings_blocked(c_p[rest], d_p[rest], c_q[rest], d_q[rest], t_clear[rest],
                                 np.ones(len(rest)), z0[rest], dz[rest], table, lines_first)  # fmt: skip
        blocked[rest[hit]] = True
    return ~blocked


def _padded_tables(height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The crossing tables as first written: from a zero-padded copy of the grid."""
    rows, cols = height.shape
    padded = np.zeros((rows + 2, cols + 2), dtype=np.float32)
    padded[1:-1, 1:-1] = height
    corner = np.maximum(np.maximum(padded[:-1, :-1], padded[:-1, 1:]),
                        np.maximum(padded[1:, :-1], padded[1:, 1:]))  # fmt: skip
    vertical = np.empty((2 * rows + 1, cols + 1), dtype=np.float32)
    vertical[0::2] = corner
    vertical[1::2] = np.maximum(padded[1:-1, :-1], padded[1:-1, 1:])
    horizontal = np.empty((rows + 1, 2 * cols + 1), dtype=np.float32)
    horizontal[:, 0::2] = corner
    horizontal[:, 1::2] = np.maximum(padded[:-1, 1:-1], padded[1:, 1:-1])
    return vertical, horizontal


def _random_blocks(rng: np.random.Generator, count: int, size: float) -> gpd.GeoDataFrame:
    blocks = []
    for i in range(count):
        x, y = rng.uniform(0, size - 10, 2)
        poly = shapely.affinity.rotate(box(X0 + x, Y0 + y, X0 + x + rng.uniform(2, 9),
                                           Y0 + y + rng.uniform(1, 6)), rng.uniform(0, 90))  # fmt: skip
        blocks.append(building(f"b{i}", 0, 0, 1, 1, height_m=float(rng.uniform(1, 12)),
                               geometry=poly))  # fmt: skip
    return gpd.GeoDataFrame(blocks, geometry="geometry", crs=CRS)


def test_pruned_line_of_sight_equals_checking_every_crossing():
    """The direction-bin pruning is exact: the same answer as checking every crossing."""
    from vollsmose_gis.cctv.visibility import _grid_for, _line_of_sight, _occluders

    rng = np.random.default_rng(11)
    buildings = _random_blocks(rng, 40, 80.0)
    grid = _grid_for((X0, Y0, X0 + 80, Y0 + 80), 1.0)
    occ = _occluders(buildings, grid)
    open_r, open_c = np.nonzero(occ.height <= 0)
    # cameras in pairs at one position (floors of one facade point), one without targets,
    # one on a grid corner, one on a grid line
    pick = rng.choice(
        np.flatnonzero((open_c > 5) & (open_c < 75) & (open_r > 5) & (open_r < 75)), 5
    )
    xy = [*np.column_stack([open_c[pick], open_r[pick]]) + rng.uniform(0, 1, (5, 2))]
    xy += [(40.0, 40.0), (20.0, 33.5)]
    cam_x = np.repeat([p[0] for p in xy], 2)
    cam_y = np.repeat([p[1] for p in xy], 2)
    cam_z = np.tile([1.5, 7.5], len(xy))
    parts = []
    for i in range(len(cam_x)):
        if i == 3:
            continue
        near = np.hypot(open_c + 0.5 - cam_x[i], open_r + 0.5 - cam_y[i]) <= 30
        parts.append((np.full(int(near.sum()), i), open_c[near] + 0.5, open_r[near] + 0.5))
    owner = np.concatenate([p[0] for p in parts])
    tx = np.concatenate([p[1] for p in parts])
    ty = np.concatenate([p[2] for p in parts])
    kw = dict(res=1.0, target_z=1.7, clearance_m=1.0)
    fast = _line_of_sight(cam_x, cam_y, cam_z, owner, tx, ty, occ, **kw)
    slow = _every_crossing_visible(cam_x, cam_y, cam_z, owner, tx, ty, occ, **kw)
    np.testing.assert_array_equal(fast, slow)
    # a real test: buildings hide some targets from every camera, and the upper floor
    # sees more than the ground floor at the same place
    assert 0.2 < fast.mean() < 0.9
    gains = [fast[owner == i + 1].sum() - fast[owner == i].sum() for i in (0, 4, 6, 8, 10)]
    assert min(gains) >= 0 and sum(g > 0 for g in gains) >= 3, gains


def test_occluders_in_a_window_equal_the_whole_grid_there():
    from vollsmose_gis.cctv.visibility import _grid_for, _occluders

    rng = np.random.default_rng(5)
    # random blocks, and blocks over each edge of the grid and in its corners
    edges = [building(f"e{i}", *xy, height_m=4.0 + i) for i, xy in enumerate(
        [(-5, 50, 3, 55), (117, 60, 125, 70), (30, -4, 40, 2), (70, 118, 75, 126),
         (-3, -3, 2, 2), (118, 118, 123, 123)])]  # fmt: skip
    buildings = pd.concat(
        [_random_blocks(rng, 60, 120.0), gpd.GeoDataFrame(edges, geometry="geometry", crs=CRS)],
        ignore_index=True,
    )
    grid = _grid_for((X0, Y0, X0 + 120, Y0 + 120), 1.0)
    whole = _occluders(buildings, grid)
    vertical, horizontal = _padded_tables(whole.height)
    np.testing.assert_array_equal(whole.vertical, vertical)
    np.testing.assert_array_equal(whole.horizontal, horizontal)
    assert (whole.height > 0).mean() > 0.05
    # a window cutting through buildings, and one beyond the grid's edges
    for r0, r1, c0, c1 in ((23, 71, 40, 97), (-5, 50, 60, 200)):
        part = _occluders(buildings, grid, (r0, r1, c0, c1))
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, grid.shape[0]), min(c1, grid.shape[1])
        inner = (slice(r0, r1), slice(c0, c1))
        np.testing.assert_array_equal(part.height[inner], whole.height[inner])
        # the table entries whose cells all lie in the window; outside it nothing
        inside_v = (slice(2 * r0 + 1, 2 * r1 - 1), slice(c0 + 1, c1))
        inside_h = (slice(r0 + 1, r1), slice(2 * c0 + 1, 2 * c1 - 1))
        np.testing.assert_array_equal(part.vertical[inside_v], whole.vertical[inside_v])
        np.testing.assert_array_equal(part.horizontal[inside_h], whole.horizontal[inside_h])
        outside_v = np.ones(whole.vertical.shape, bool)
        outside_v[2 * r0 : 2 * r1 + 1, c0 : c1 + 1] = False
        outside_h = np.ones(whole.horizontal.shape, bool)
        outside_h[r0 : r1 + 1, 2 * c0 : 2 * c1 + 1] = False
        assert not part.vertical[outside_v].any() and not part.horizontal[outside_h].any()
        assert whole.vertical[outside_v].any()


def test_combined_raster_takes_the_best_level():
    cams = [camera("far", 60.3, 100.4, heading_deg=90.0),
            camera("near", 95.6, 100.2, heading_deg=90.0)]  # fmt: skip
    d = make(cams)
    both = cctv.viewsheds(d)
    singles = [cctv.viewsheds(d.replace(cameras=d.cameras.iloc[[i]])) for i in range(2)]
    assert both.raw_levels.shape == singles[0].raw_levels.shape
    assert np.array_equal(both.raw_levels,
                          np.maximum(singles[0].raw_levels, singles[1].raw_levels))  # fmt: skip
    # 3 m in front of "near": identification (slant 3.78 m < 3.84 m); "far" sees it at
    # ~38 m: detection only
    assert level_at(singles[0], 98.6, 100.5) == 1
    assert level_at(both, 98.6, 100.5) == 4
    density_both = both.density.array
    assert float(density_both.max()) == pytest.approx(
        max(float(s.density.array.max()) for s in singles)
    )


def test_camera_inside_a_building_is_reported():
    d = make([camera("inside", 55, 50), camera("facade", 60.4, 50, heading_deg=90.0)],
             [building("block", 50, 40, 60, 60, height_m=12.0)])  # fmt: skip
    with pytest.warns(cctv.CameraWarning, match="'inside' \\(in building 'block'\\)"):
        result = cctv.viewsheds(d)
    status = result.cameras.set_index("camera_id")["status"]
    assert status["inside"] == "inside_building"
    assert status["facade"] == "ok"  # 0.4 m outside the wall: facade-mounted
    assert float(result.cameras.set_index("camera_id").loc["inside", "seen_m2"]) == 0.0
    with pytest.raises(InputError, match="inside a building"):
        cctv.viewsheds(d, inside_building="error")
    # a camera just inside the outline (within 1 m) counts as on the facade
    on_wall = make([camera("wall", 59.6, 50, heading_deg=90.0)],
                   [building("block", 50, 40, 60, 60, height_m=12.0)])  # fmt: skip
    result = cctv.viewsheds(on_wall)
    assert result.cameras["status"].iloc[0] == "ok"
    assert level_at(result, 70.5, 50.5) > 0


def test_missing_heading_faces_the_nearest_path_with_a_warning():
    d = make([camera("osm", 100.3, 100.7, heading_deg=None)],
             streets=[footway("p", [(130, 0), (130, 200)])])  # fmt: skip
    with pytest.warns(cctv.CameraWarning, match="'osm' have no heading"):
        result = cctv.viewsheds(d)
    cams = result.cameras.set_index("camera_id")
    assert cams.loc["osm", "heading_deg"] == pytest.approx(90.0)
    assert bool(cams.loc["osm", "heading_defaulted"])
    assert level_at(result, 120, 100.7) > 0 and level_at(result, 80, 100.7) == 0


# --------------------------------------------------------------------------- coverage


def test_path_coverage_is_the_seen_length():
    # a straight footway from the camera eastwards; camera looks along it
    d = make([camera("c", 20.3, 100.5, heading_deg=90.0)],
             streets=[footway("p", [(20, 100.5), (180, 100.5)])])  # fmt: skip
    table = cctv.coverage(d).set_index(["target", "level"])
    assert table.loc[("paths", "detection"), "total"] == pytest.approx(160.0)
    # seen from x = 20.3 to 20.3 + 38.33 (horizontal reach), to the cell
    reach = math.sqrt(38.4**2 - 2.3**2)
    assert table.loc[("paths", "detection"), "seen"] == pytest.approx(reach, abs=1.0)
    reach_rec = math.sqrt(7.68**2 - 2.3**2)
    assert table.loc[("paths", "recognition"), "seen"] == pytest.approx(reach_rec, abs=1.0)
    indicators = cctv.indicators(d)
    assert indicators["path_share_recognised"].value == pytest.approx(
        table.loc[("paths", "recognition"), "share"]
    )
    assert indicators["cameras_count"].value == 1.0
    assert {i.theme for i in indicators.values()} == {"safety and security"}
    assert math.isnan(indicators["square_share_observed"].value)  # no squares


def test_coverage_with_and_without_estimated_headings():
    """Issue 16 §4: the coverage is shown with and without cameras whose heading is an
    estimate (the OSM import's heading_estimated, or a heading defaulted here)."""
    path = [footway("p", [(20, 100.5), (180, 100.5)])]
    mapped = camera("mapped", 20.3, 100.5, heading_deg=90.0, heading_estimated=False)
    guessed = camera("guessed", 179.7, 100.5, heading_deg=270.0, heading_estimated=True)
    both = make([mapped, guessed], streets=path)
    values = cctv.indicators(both)
    # observation reach sqrt(15.36² - 2.3²) = 15.19 m each way, on a 160 m path
    reach = math.sqrt(15.36**2 - 2.3**2)
    assert values["path_share_observed"].value == pytest.approx(2 * reach / 160, abs=2 / 160)
    assert values["path_share_observed_confirmed"].value == pytest.approx(reach / 160, abs=1 / 160)
    assert (
        "1 of 2 cameras have an estimated heading" in values["path_share_observed_confirmed"].label
    )
    # independent: the confirmed share is the plain share without the estimated camera
    alone = cctv.indicators(make([mapped], streets=path))
    assert values["path_share_observed_confirmed"].value == alone["path_share_observed"].value
    # a missing column counts as all false: both cameras confirmed
    unmarked = make([{k: v for k, v in c.items() if k != "heading_estimated"}
                     for c in (mapped, guessed)], streets=path)  # fmt: skip
    plain = cctv.indicators(unmarked)
    assert plain["path_share_observed_confirmed"].value == plain["path_share_observed"].value
    assert plain["path_share_observed"].value == values["path_share_observed"].value
    # a heading defaulted by camera_setup (none given) is an estimate too
    with pytest.warns(cctv.CameraWarning, match="have no heading"):
        defaulted = cctv.indicators(make([mapped, {**guessed, "heading_deg": None,
                                                     "heading_estimated": None}], streets=path))  # fmt: skip
    assert defaulted["path_share_observed_confirmed"].value == alone["path_share_observed"].value
    table = cctv.coverage(both, confirmed_only=True).set_index(["target", "level"])
    assert table.loc[("paths", "observation"), "share"] == pytest.approx(
        values["path_share_observed_confirmed"].value
    )


def test_squares_private_space_and_entrances():
    land = [dict(landuse_id="sq", use="square", geometry=box(X0 + 100, Y0 + 90, X0 + 120, Y0 + 110)),
            dict(landuse_id="gd", use="private", geometry=box(X0 + 100, Y0 + 60, X0 + 120, Y0 + 80))]  # fmt: skip
    # 120° lens, 3840 px: detection to 3840 / (25 x 2 tan 60°) = 44.3 m
    cams = [camera("c", 90.3, 100.5, heading_deg=90.0, hfov_deg=120.0, resolution_px=3840)]
    blocks = [building("b", 125, 95, 135, 105, height_m=10.0)]
    d = make(cams, blocks, landuse=land)
    result = cctv.viewsheds(d)
    # the private garden is masked in the outputs but its coverage is reported
    col, row = ~result.levels.transform @ (X0 + 115, Y0 + 78)
    assert result.raw_levels[int(row), int(col)] > 0
    assert result.levels.array[int(row), int(col)] == cctv.MASKED
    unmasked = cctv.viewsheds(d, mask_private=False)
    assert unmasked.levels.array[int(row), int(col)] > 0
    entrances = gpd.GeoSeries([Point(X0 + 125, Y0 + 100), Point(X0 + 135, Y0 + 100)], crs=CRS)
    table = cctv.coverage(d, result, entrances=entrances).set_index(["target", "level"])
    assert table.loc[("squares", "detection"), "total"] == pytest.approx(400.0)
    # the whole square is within 44 m and 60° of the camera (widest corner at 47°)
    assert table.loc[("squares", "detection"), "share"] == pytest.approx(1.0)
    assert table.loc[("private", "detection"), "total"] == pytest.approx(400.0)
    assert 0 < table.loc[("private", "detection"), "share"] < 1
    # front door faces the camera, back door is behind the block
    assert table.loc[("entrances", "detection"), "total"] == 2
    assert table.loc[("entrances", "detection"), "seen"] == 1
    indicators = cctv.indicators(d, result=result)
    assert indicators["private_share_observed"].higher_is_better is False
    assert indicators["square_share_observed"].value == pytest.approx(
        table.loc[("squares", "observation"), "share"]
    )


# --------------------------------------------------------------------------- placement


def tiny_case() -> tuple[District, gpd.GeoDataFrame]:
    """A cross of footways around a block, and eight candidate positions with headings."""
    streets = [footway("ew", [(0, 100), (200, 100)], width_m=4.0),
               footway("ns", [(100, 0), (100, 200)], width_m=4.0)]  # fmt: skip
    blocks = [building("b", 104, 104, 130, 130, height_m=12.0)]
    d = make([], blocks, streets=streets)
    spots = [(96, 96, 45.0), (96, 104, 90.0), (104, 96, 90.0), (90, 100, 90.0),
             (100, 90, 0.0), (110, 100, 270.0), (100, 110, 180.0), (80, 100, 90.0)]  # fmt: skip
    cands = gpd.GeoDataFrame(
        {"heading_deg": [h for _, _, h in spots], "height_m": 4.0},
        geometry=[Point(X0 + x, Y0 + y) for x, y, _ in spots], crs=CRS,
    )  # fmt: skip
    return d, cands


def covered_by(d: District, cands: gpd.GeoDataFrame, level: str) -> float:
    """Area the given candidates cover together (all taken)."""
    plan = cctv.plan_cameras(d, level=level, candidates=cands, k=len(cands))
    return float(plan["cumulative_gain_m2"].iloc[-1]) if len(plan) else 0.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_greedy_matches_brute_force_on_a_tiny_case(k):
    d, cands = tiny_case()
    greedy = cctv.plan_cameras(d, level="observation", candidates=cands, k=k)
    best = cctv.plan_cameras(d, level="observation", candidates=cands, k=k, method="exhaustive")
    assert len(greedy) == k
    # independent optimum: every k-subset, covered area computed by the module's union
    optimum = max(covered_by(d, cands.iloc[list(s)], "observation")
                  for s in itertools.combinations(range(len(cands)), k))  # fmt: skip
    assert best["cumulative_gain_m2"].iloc[-1] == pytest.approx(optimum)
    assert greedy["cumulative_gain_m2"].iloc[-1] == pytest.approx(optimum)
    # marginal gains do not increase; the first equals that camera's own coverage
    gains = greedy["marginal_gain_m2"].to_numpy()
    assert np.all(np.diff(gains) <= 0)
    first = cands.iloc[[int(greedy["candidate_id"].iloc[0].split("-")[1]) - 1]]
    assert gains[0] == pytest.approx(covered_by(d, first, "observation"))


def test_greedy_beats_random_placement():
    d, cands = tiny_case()
    rng = np.random.default_rng(11)
    greedy = cctv.plan_cameras(d, level="recognition", candidates=cands, k=3)
    value = float(greedy["cumulative_gain_m2"].iloc[-1])
    draws = [covered_by(d, cands.iloc[rng.choice(len(cands), 3, replace=False)], "recognition")
             for _ in range(30)]  # fmt: skip
    assert value >= max(draws)
    assert value > np.mean(draws)


def test_plan_output_columns_cost_and_existing_cameras():
    d, cands = tiny_case()
    plan = cctv.plan_cameras(d, candidates=cands, k=2)
    # one planner result and one id scheme (analysis.Plan, analysis.new_ids)
    assert isinstance(plan, Plan) and plan.layer == "cameras"
    assert list(plan["camera_id"]) == ["new-K-001", "new-K-002"]
    assert plan.cost_dkk == 120000.0 and plan.unmet == []
    assert plan.added is plan.new_cameras and plan.attrs is plan.summary
    assert list(plan.district.cameras["camera_id"]) == ["new-K-001", "new-K-002"]
    assert plan["cost_dkk"].tolist() == [60000.0, 60000.0]
    assert plan["cumulative_cost_dkk"].iloc[-1] == 120000.0
    # the same unit cost as a scenario's add_cameras
    from vollsmose_gis.standards import load

    assert load("unit_costs")["camera"] == 60000.0
    assert plan["covered_share"].iloc[-1] == pytest.approx(
        plan["cumulative_gain_m2"].iloc[-1] / plan.attrs["target_area_m2"]
    )
    # once the best camera exists, planning again does not propose its coverage again
    with_first = cctv.add_cameras(d, plan.iloc[[0]])
    again = cctv.plan_cameras(with_first, candidates=cands, k=1)
    assert again.attrs["existing_covered_m2"] == pytest.approx(plan["marginal_gain_m2"].iloc[0])
    assert again["marginal_gain_m2"].iloc[0] == pytest.approx(plan["marginal_gain_m2"].iloc[1])
    with pytest.raises(InputError, match="already exist"):
        cctv.add_cameras(with_first, plan.iloc[[0]])


def test_generated_candidates_face_away_from_facades():
    d = make([], [building("b", 50, 50, 80, 70, height_m=9.0)])
    cands = cctv.camera_candidates(d, facade_spacing_m=10.0, lamp_posts=False)
    assert len(cands) == 10  # 100 m outline / 10 m
    block = d.buildings.geometry.iloc[0]
    assert not cands.geometry.within(block).any()
    assert np.allclose(cands.geometry.distance(block), 0.5)
    for p, heading in zip(cands.geometry, cands["heading_deg"], strict=True):
        ahead = Point(p.x + 3 * math.sin(math.radians(heading)),
                      p.y + 3 * math.cos(math.radians(heading)))  # fmt: skip
        assert ahead.distance(block) > p.distance(block)
    with pytest.raises(InputError, match="unknown camera parameter"):
        cctv.camera_candidates(d, camera={"zoom": 3})


def test_weighted_greedy_on_a_hand_computed_case():
    from vollsmose_gis.cctv.placement import _greedy

    # six cells; set 0 is the largest (4 cells) but weighs 4, set 2 weighs 5 + 0.5
    weight = np.array([5.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    sets = [np.array([1, 2, 3, 4]), np.array([0]), np.array([0, 5]), np.array([3, 4, 5])]
    assert _greedy(sets, 6, 1) == ([0], [4.0])  # by area
    assert _greedy(sets, 6, 2) == ([0, 2], [4.0, 2.0])
    assert _greedy(sets, 6, 1, weight) == ([2], [5.5])  # by weight
    # then set 0 adds 4, sets 1 and 3 add 0 and 2 - 0.5 = 2; all 6 cells: 9.5
    assert _greedy(sets, 6, 2, weight) == ([2, 0], [5.5, 4.0])
    assert _greedy(sets, 6, 3, weight) == ([2, 0], [5.5, 4.0])  # nothing left to gain
    # a weight of 1 per cell is the area objective
    assert _greedy(sets, 6, 3, np.ones(6)) == _greedy(sets, 6, 3)


def test_weighted_greedy_and_exhaustive_against_brute_force():
    from vollsmose_gis.cctv.placement import _exhaustive, _greedy

    rng = np.random.default_rng(19)
    size, n = 14, 7
    optimal = 0
    for _ in range(25):
        weight = rng.integers(0, 6, size).astype(float)  # whole numbers: exact sums
        sets = [np.flatnonzero(rng.random(size) < 0.3) for _ in range(n)]
        for k in (1, 2, 3):
            # every k-subset, its union's weight computed with Python sets
            brute = max(sum(weight[c] for c in set().union(*(sets[i].tolist() for i in combo)))
                        for combo in itertools.combinations(range(n), k))  # fmt: skip
            chosen, gains = _exhaustive(sets, size, k, 10_000, weight)
            assert sum(gains) == brute
            best = set().union(*(sets[i].tolist() for i in chosen))
            assert sum(weight[c] for c in best) == brute
            greedy, greedy_gains = _greedy(sets, size, k, weight)
            union = set().union(*(sets[i].tolist() for i in greedy))
            assert sum(greedy_gains) == sum(weight[c] for c in union)
            assert all(a >= b for a, b in itertools.pairwise(greedy_gains))
            assert sum(greedy_gains) >= (1 - 1 / math.e) * brute
            optimal += sum(greedy_gains) == brute
    assert optimal == 73  # of 75 cases greedy is optimal here; the bound holds in all


def uniform_priority(d: District, value: float = 1.0) -> Raster:
    """``value`` per m² on 1 m cells over the boundary grown by 200 m (whole metres)."""
    from affine import Affine

    minx, miny, maxx, maxy = (round(v) for v in d.boundary.bounds)
    shape = (maxy - miny + 400, maxx - minx + 400)
    transform = Affine(1.0, 0.0, minx - 200, 0.0, -1.0, maxy + 200)
    return Raster(np.full(shape, value), transform, CRS, name="priority", unit="weight/m²")


def test_plan_with_uniform_priority_is_the_area_plan():
    d, cands = tiny_case()
    area = cctv.plan_cameras(d, level="observation", candidates=cands, k=3)
    weighted = cctv.plan_cameras(
        d, level="observation", candidates=cands, k=3, priority=uniform_priority(d)
    )
    assert weighted["candidate_id"].tolist() == area["candidate_id"].tolist()
    np.testing.assert_allclose(weighted["marginal_weight"], area["marginal_gain_m2"])
    np.testing.assert_allclose(weighted["marginal_gain_m2"], area["marginal_gain_m2"])
    np.testing.assert_allclose(weighted["priority_share"], area["covered_share"])
    assert weighted.summary["objective"] == "priority"
    assert weighted.summary["priority_weight"] == pytest.approx(area.summary["target_area_m2"])
    assert "objective" not in area.summary  # without priority: the summary of before


@pytest.mark.parametrize("k", [1, 2])
def test_plan_with_priority_maximises_weight_not_area(k):
    d, cands = tiny_case()
    # weight 1 per m² only west of the crossing (the ew footway's west arm, x < 96)
    surface = uniform_priority(d)
    cols = np.arange(surface.array.shape[1])
    surface.array[:, surface.transform.c + cols + 0.5 >= X0 + 96] = 0.0
    plan = cctv.plan_cameras(d, level="observation", candidates=cands, k=k, priority=surface)
    best = cctv.plan_cameras(
        d, level="observation", candidates=cands, k=k, priority=surface, method="exhaustive"
    )

    def weight_seen(subset: gpd.GeoDataFrame) -> float:
        taken = cctv.plan_cameras(
            d, level="observation", candidates=subset, k=len(subset), priority=surface
        )
        return float(taken["cumulative_weight"].iloc[-1]) if len(taken) else 0.0

    optimum = max(weight_seen(cands.iloc[list(s)])
                  for s in itertools.combinations(range(len(cands)), k))  # fmt: skip
    assert best["cumulative_weight"].iloc[-1] == pytest.approx(optimum)
    assert plan["cumulative_weight"].iloc[-1] == pytest.approx(optimum)
    # the area planner's first camera (122 m², the most area) sees 22 m² of the west
    # arm; the weighted one takes cand-8 (west of the crossing, facing east): 58 m²
    area = cctv.plan_cameras(d, level="observation", candidates=cands, k=1)
    assert area["candidate_id"].tolist() == ["cand-4"]
    assert weight_seen(cands.iloc[[3]]) == pytest.approx(22.0)
    assert plan["candidate_id"].iloc[0] == "cand-8"
    assert plan["marginal_weight"].iloc[0] == pytest.approx(58.0)


def test_plan_bad_input():
    d, cands = tiny_case()
    for k in (0, -3, 501, 10**9, 2.5, True):
        with pytest.raises(InputError, match=f"k {k!r}: .* from 1 to 500"):
            cctv.plan_cameras(d, candidates=cands, k=k)  # type: ignore[arg-type]
    for res in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(InputError, match="resolution_m"):
            cctv.plan_cameras(d, candidates=cands, resolution_m=res)
    with pytest.raises(InputError, match="method"):
        cctv.plan_cameras(d, candidates=cands, method="annealing")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown DORI level"):
        cctv.plan_cameras(d, candidates=cands, level="face")


def test_fewer_cameras_than_asked_says_why():
    d, cands = tiny_case()
    plan = cctv.plan_cameras(d, level="identification", candidates=cands.iloc[[0]], k=3)
    assert len(plan) == 1
    assert plan.unmet == [
        "2 of 3 cameras not placed: no remaining candidate (of 1 within reach of the study "
        "area) adds walkable public space seen at identification or better"
    ]


def test_candidates_beyond_the_grid_are_left_out_not_indexed_outside_it():
    """Issue 17: a candidate outside the analysis grid but within its reach of the grid's
    edge sent sight lines outside the occluder tables (IndexError, or wrapped indices).
    """
    streets = [footway("ew", [(-50, 5), (250, 5)], width_m=2.0)]
    d = make([], streets=streets)
    far = [(-45, -45, 0.0), (245, -45, 270.0), (100, -45, 90.0)]  # crashed before the fix
    near = (100, -30, 0.0)  # 30 m south of the boundary, facing north
    spots = [*far, near]
    cands = gpd.GeoDataFrame(
        {"heading_deg": [h for _, _, h in spots], "height_m": 4.0},
        geometry=[Point(X0 + x, Y0 + y) for x, y, _ in spots], crs=CRS,
    )  # fmt: skip
    plan = cctv.plan_cameras(d, level="detection", candidates=cands, k=4)
    # the three far ones are 63.6, 63.6 and 45 m from the boundary: beyond 38.3 m
    assert plan.summary["candidates_out_of_reach"] == 3
    assert len(plan) == 1 and plan["candidate_id"].iloc[0] == "cand-4"
    # independent check with shapely: the path band inside the boundary, the 90° sector
    # and the horizontal detection reach sqrt(38.4² - 2.3²) m of the camera
    reach = math.sqrt(38.4**2 - (4.0 - 1.7) ** 2)
    cx, cy = X0 + 100, Y0 - 30
    sector = shapely.Polygon([(cx, cy), (cx - 60, cy + 60), (cx + 60, cy + 60)])
    seen = (
        d.streets.geometry.iloc[0].buffer(1.0, cap_style="flat")
        & BOUNDARY
        & sector
        & Point(cx, cy).buffer(reach, quad_segs=256)
    )
    assert plan["marginal_gain_m2"].iloc[0] == pytest.approx(seen.area, rel=0.08)


def test_plan_cameras_on_a_real_extract_with_context_beyond_the_boundary(osm_dir):
    """Issue 17 on the shared extract: a boundary north of the imported buildings leaves
    facade candidates beyond the grid; planning crashed with an IndexError for any k.
    """
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="auto")
    minx, _, maxx, maxy = d.buildings.total_bounds
    north = d.replace(boundary=box(minx, maxy + 8, maxx, maxy + 208))
    plan = cctv.plan_cameras(north, k=3, level="detection")
    assert len(plan) == 3 and plan.summary["candidates_out_of_reach"] > 0
    # buildings beyond every candidate's reach change nothing: the same plan without them
    near = north.buildings[north.buildings.distance(north.boundary) < 60]
    cropped = cctv.plan_cameras(north.replace(buildings=near), k=3, level="detection")
    assert plan["marginal_gain_m2"].tolist() == cropped["marginal_gain_m2"].tolist()
    assert plan.geometry.equals(cropped.geometry)
    for k, res in ((1, 2.0), (5, 1.0)):
        assert len(cctv.plan_cameras(north, k=k, resolution_m=res)) <= k


# --------------------------------------------------------------------------- real data


def test_default_district():
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    result = cctv.viewsheds(d)
    cams = result.cameras.set_index("camera_id")
    assert (cams["status"] == "ok").all()
    # 5 m in front of torv-cam-1 (4 m high): slant 5.5 m, 1920 / (2 x 5.5) = 174 px/m
    cam = d.cameras.set_index("camera_id").loc["torv-cam-1"]
    heading = math.radians(cam["heading_deg"])
    x = cam.geometry.x + 5 * math.sin(heading)
    y = cam.geometry.y + 5 * math.cos(heading)
    col, row = ~result.levels.transform @ (x, y)
    assert result.raw_levels[int(row), int(col)] == 3  # recognition
    values = cctv.indicators(d, result=result)
    table = cctv.coverage(d, result).set_index(["target", "level"])
    assert values["square_share_observed"].value == table.loc[("squares", "observation"), "share"]
    assert 0 < values["square_share_observed"].value < 1
    assert values["cameras_count"].value == len(d.cameras)
    # the cameras stand on the square: no view into private gardens
    assert table.loc[("private", "detection"), "seen"] == 0.0


def test_default_district_rasters_are_unchanged():
    """The CCTV module's rasters on the embedded district, recorded before the line of
    sight was sped up (the dense per-camera distance table, the full-grid occluders)."""
    import hashlib

    from vollsmose_gis import analysis
    from vollsmose_gis.sources.vollsmose import default_district

    result = analysis.run("cctv", default_district())
    levels = result.rasters["dori_levels"].array
    assert levels.shape == (1120, 1300)
    assert int((levels != 0).sum()) == 128286
    digest = hashlib.sha1(np.ascontiguousarray(levels).tobytes()).hexdigest()
    assert digest == "001257a31312af9c35be29d476893c4a7386b5f7"
    assert result.indicators["square_share_observed"].value == 0.08941798941798942
    assert result.indicators["path_share_observed"].value == 0.0019542263406513018


def _osm_file(path: Path) -> Path:
    """A tiny OSM XML: a block, a footway and three surveillance nodes near Vollsmose."""
    lat0, lon0 = 55.4060, 10.4330
    dlat, dlon = 1 / 111_320, 1 / (111_320 * math.cos(math.radians(lat0)))

    def node(i: int, x: float, y: float, tags: dict[str, str] | None = None) -> str:
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        return (f'<node id="{i}" version="1" lat="{lat0 + y * dlat:.8f}" '
                f'lon="{lon0 + x * dlon:.8f}">{inner}</node>')  # fmt: skip

    nodes = [node(1, 40, 40), node(2, 60, 40), node(3, 60, 60), node(4, 40, 60),
             node(5, 0, 30), node(6, 150, 30),
             node(7, 30, 30.5, {"man_made": "surveillance", "surveillance:type": "camera",
                                "camera:direction": "E", "camera:angle": "15", "height": "5"}),
             node(8, 80, 50, {"man_made": "surveillance", "camera:type": "dome"}),
             node(9, 50, 50, {"man_made": "surveillance", "camera:direction": "90"})]  # fmt: skip
    ways = [
        '<way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/>'
        '<nd ref="1"/><tag k="building" v="yes"/><tag k="height" v="15"/></way>',
        '<way id="101" version="1"><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/></way>',
    ]
    bounds = (f'<bounds minlat="{lat0:.6f}" minlon="{lon0:.6f}" '
              f'maxlat="{lat0 + 100 * dlat:.6f}" maxlon="{lon0 + 150 * dlon:.6f}"/>')  # fmt: skip
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">'
        + bounds
        + "".join(nodes)
        + "".join(ways)
        + "</osm>",
        encoding="utf-8",
    )
    return path


def test_osm_import_cameras(tmp_path):
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(_osm_file(tmp_path / "cams.osm"))
    cams = d.cameras.set_index("camera_id")
    assert set(cams.index) == {"n7", "n8", "n9"}
    with pytest.warns(cctv.CameraWarning, match="'n9' \\(in building"):
        result = cctv.viewsheds(d)
    status = result.cameras.set_index("camera_id")["status"]
    assert status.to_dict() == {"n7": "ok", "n8": "ok", "n9": "inside_building"}
    out = result.cameras.set_index("camera_id")
    assert out.loc["n8", "hfov_deg"] == 360.0  # a dome without direction: all round
    assert out.loc["n7", "tilt_deg"] == -15.0
    # n7 looks east along the footway at 5 m: it sees part of it
    table = cctv.coverage(d, result).set_index(["target", "level"])
    assert 0 < table.loc[("paths", "detection"), "share"] < 1
    # the 15 m block east of n7 hides the ground behind it from n7
    assert 0 < out.loc["n7", "occluded_share"] < 1


def test_real_osm_extract_with_cameras_without_heading(osm_dir):
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="EPSG:32613")
    assert len(d.buildings) > 0
    footprints = shapely.union_all(d.buildings.geometry.to_numpy())
    centre = d.boundary.centroid
    spots = [p for p in (Point(centre.x + dx, centre.y + dy) for dx in range(-300, 301, 20)
                         for dy in range(-300, 301, 20))
             if footprints.distance(p) > 2 and d.boundary.contains(p)][:20]  # fmt: skip
    cams = gpd.GeoDataFrame(
        {"camera_id": [f"x{i}" for i in range(len(spots))], "height_m": 5.0,
         "heading_deg": np.nan},
        geometry=spots, crs=d.crs,
    )  # fmt: skip
    d = d.replace(cameras=cams)
    with pytest.warns(cctv.CameraWarning, match="no heading"):
        result = cctv.viewsheds(d)
    assert (result.cameras["status"] == "ok").all()
    assert result.cameras["heading_defaulted"].all()
    table = cctv.coverage(d, result).set_index(["target", "level"])
    assert table.loc[("paths", "detection"), "total"] > 1000
    assert 0 < table.loc[("paths", "detection"), "share"] < 1


# --------------------------------------------------------------------------- CLI


def test_cli_cctv(tmp_path):
    d, _ = tiny_case()
    d = cctv.add_cameras(d, gpd.GeoDataFrame(
        [camera("c1", 90.3, 100.5, heading_deg=90.0)], geometry="geometry", crs=CRS))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        d = validate_district(d, strict=False)  # fill the optional columns
    src = save_district(d, tmp_path / "d.gpkg")
    tif, gpkg = tmp_path / "dori.tif", tmp_path / "out.gpkg"
    runner = CliRunner()
    args = ["cctv", str(src), "--json", "--raster", str(tif), "-o", str(gpkg), "--plan", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["level"] == "recognition"
    assert report["indicators"]["cameras_count"]["value"] == 1
    assert len(report["plan"]["cameras"]) == 2
    with rasterio.open(tif) as src_tif:
        assert src_tif.nodata == cctv.MASKED
        band = src_tif.read(1, masked=True)
        assert band.max() == 4  # identification next to the camera
        assert band.mask.sum() == 26 * 26  # the block's cells are nodata
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"cctv_zones", "cctv_viewsheds", "cctv_cameras", "cctv_plan", "cameras"} <= layers
    assert len(pyogrio.read_dataframe(gpkg, layer="cameras")) == 3  # with the planned two
    # existing outputs are refused without --overwrite, and nothing is written
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output
    table = runner.invoke(app, ["cctv", str(src), "--level", "observation"])
    assert table.exit_code == 0 and "seen at observation or better" in table.output
    bad = runner.invoke(app, ["cctv", str(src), "--level", "face"])
    assert bad.exit_code == 2 and "not a DORI level" in bad.output


def test_cli_cctv_plan_on_a_real_extract(tmp_path, osm_dir):
    """Issue 17 through the CLI: `cctv --plan K` on an imported extract, several K and
    resolutions, and the bounds of K."""
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="auto")
    minx, _, maxx, maxy = d.buildings.total_bounds
    src = save_district(d.replace(boundary=box(minx, maxy + 8, maxx, maxy + 208)),
                        tmp_path / "north.gpkg")  # fmt: skip
    runner = CliRunner()
    for k, res in (("1", "1"), ("3", "2.5")):
        args = ["cctv", str(src), "--plan", k, "--resolution", res, "--level", "detection"]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        cameras = json.loads(result.output)["plan"]["cameras"]
        library = cctv.plan_cameras(
            load_district(src), k=int(k), resolution_m=float(res), level="detection"
        )
        assert len(cameras) == len(library.added) >= 1  # the CLI places what the library does
        assert [c["camera_id"] for c in cameras] == list(library.added["camera_id"])
    for k in ("0", "501"):
        bad = runner.invoke(app, ["cctv", str(src), "--plan", k])
        assert bad.exit_code == 2, (k, bad.output)
    for res in ("inf", "nan", "0"):
        bad = runner.invoke(app, ["cctv", str(src), "--plan", "1", "--resolution", res])
        assert bad.exit_code == 2 and "resolution_m" in bad.output, (res, bad.output)


def test_far_camera_is_left_out_and_progress_is_reported():
    d = make([camera("here", 100.3, 100.7), camera("far", 900.0, 100.0)])
    calls: list[tuple[float, str]] = []
    result = cctv.viewsheds(d, progress=lambda f, m: calls.append((f, m)))
    status = result.cameras.set_index("camera_id")["status"]
    assert status.to_dict() == {"here": "ok", "far": "outside_study_area"}
    assert calls and calls[-1][0] == 1.0
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))


def test_no_cameras_at_all():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = make([], [building("b", 50, 50, 60, 60)],
                 streets=[footway("p", [(0, 10), (200, 10)])])  # fmt: skip
        result = cctv.viewsheds(d)
    assert int(result.raw_levels.max()) == 0
    assert len(result.zones) == 0 and len(result.viewsheds) == 0
    values = cctv.indicators(d, result=result)
    assert values["path_share_observed"].value == 0.0
    assert values["cameras_count"].value == 0.0


def test_uncertain_parameters_have_ranges_around_their_defaults():
    from functools import reduce

    from vollsmose_gis.standards import load

    std = load("dori")
    assert "occlusion.default_building_height_m" in std["uncertain"]
    for path, entry in std["uncertain"].items():
        value = reduce(lambda node, key: node[key], path.split("."), std)
        low, high = entry["range"]
        assert low <= value <= high, path
        assert entry["source"], path
