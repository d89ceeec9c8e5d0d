"""Street lighting: illuminance by hand, EN 13201 grids and classes, dark spots, planner.

Every expected value is computed here from the formula E = MF · I(C, γ) · cos³γ / H²
with the intensity read off the file or the generic curve's definition, not from the
module's own evaluation path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio.transform
import shapely
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from tests.factories import CRS, X0, Y0, frame, small_district
from vollsmose_gis import District, InputError, Provenance, save_district
from vollsmose_gis import lighting as lt
from vollsmose_gis.analysis import Plan
from vollsmose_gis.cli import app
from vollsmose_gis.photometry import PhotometryFileError

MF = 0.8
# generic street lantern: I = I0 / cos γ below 75°, I0 = 1000 / (2π · -ln cos 75°) cd/klm
I0_LANTERN = 1000.0 / (2 * math.pi * -math.log(math.cos(math.radians(75.0))))


def lamp(light_id: str, x: float, y: float, **values: Any) -> dict[str, Any]:
    row = dict(light_id=light_id, lumens=3000.0, height_m=5.0, distribution="street_lantern",
               maintenance_factor=MF, watts=25.0, photometry_file=None, rotation_deg=0.0,
               tilt_deg=0.0, geometry=Point(x, y))  # fmt: skip
    row.update(values)
    return row


def street(street_id: str, coords: list[tuple[float, float]], **values: Any) -> dict[str, Any]:
    row = dict(street_id=street_id, name=None, highway="footway", car=False, walk=True,
               bike=False, oneway=False, maxspeed_kmh=None, lanes=None, width_m=2.0, lit=None,
               lighting_class="P4", bridge=False, tunnel=False, bus_route=False,
               geometry=LineString(coords))  # fmt: skip
    row.update(values)
    return row


def district(lights: list[dict[str, Any]], streets: list[dict[str, Any]] | None = None,
             buildings: gpd.GeoDataFrame | None = None) -> District:  # fmt: skip
    """A 200 m square district with only the given lamps and streets."""
    rows = [dict(r) for r in lights]  # frame() pops the geometry out of its rows
    layers: dict[str, Any] = {"lights": frame(rows) if rows else frame([], CRS)}
    if streets is not None:
        layers["streets"] = frame([dict(r) for r in streets])
    if buildings is not None:
        layers["buildings"] = buildings
    return District.create("Lamps", box(X0, Y0, X0 + 200, Y0 + 200), crs=CRS,
                           provenance=Provenance(source="tests", licence="CC0", kind="schematic"),
                           **layers)  # fmt: skip


def cell(raster: lt.Raster, x: float, y: float) -> float:
    row, col = rasterio.transform.rowcol(raster.transform, x, y)
    return float(raster.array[row, col])


@pytest.fixture(scope="module")
def ldt(shared_data: Path) -> Path:
    return shared_data / "photometry" / "road_luminaire.ldt"


# --------------------------------------------------------------------------- one lamp


def test_one_generic_lamp_nadir_and_distance() -> None:
    x, y = X0 + 100.5, Y0 + 100.5  # a cell centre at 1 m resolution
    d = district([lamp("L1", x, y, lumens=3000.0, height_m=5.0)])
    raster = lt.illuminance_raster(d, resolution_m=1.0)
    h, scale = 5.0, MF * 3000 / 1000
    assert cell(raster, x, y) == pytest.approx(scale * I0_LANTERN / h**2, rel=1e-6)
    for dist in (3.0, 10.0, 18.0):
        g = math.atan(dist / h)
        expected = scale * I0_LANTERN / math.cos(g) * math.cos(g) ** 3 / h**2
        assert cell(raster, x + dist, y) == pytest.approx(expected, rel=1e-6)
        assert cell(raster, x, y - dist) == pytest.approx(expected, rel=1e-6)
    # beyond the 75° cut-off (5 tan 75° = 18.66 m) the lantern sends nothing
    assert cell(raster, x + 19, y) == 0.0


def test_one_file_lamp_nadir_and_distance_with_rotation(ldt: Path) -> None:
    x, y, h, lumens = X0 + 100.5, Y0 + 100.5, 5.0, 10_000.0
    scale = MF * lumens / 1000
    for rotation, towards in ((0.0, {"n": 220, "s": 220, "w": 179, "e": 84}),
                              (90.0, {"e": 220, "w": 220, "n": 179, "s": 84})):  # fmt: skip
        d = district([lamp("L1", x, y, lumens=lumens, height_m=h, distribution="photometry_file",
                           photometry_file=str(ldt), rotation_deg=rotation)])  # fmt: skip
        raster = lt.illuminance_raster(d, resolution_m=1.0)
        assert cell(raster, x, y) == pytest.approx(scale * 184 / h**2, rel=1e-6)
        # 5 m away at H = 5 m: γ = 45°; C0 = C180 (220 cd/klm), C90 179, C270 84 (file)
        offsets = {"n": (0, 5), "s": (0, -5), "w": (-5, 0), "e": (5, 0)}
        for side, value in towards.items():
            dx, dy = offsets[side]
            expected = scale * value * math.cos(math.radians(45)) ** 3 / h**2
            assert cell(raster, x + dx, y + dy) == pytest.approx(expected, rel=1e-6), side


def test_tilted_file_lamp(ldt: Path) -> None:
    h, lumens, tilt = 6.0, 10_000.0, 20.0
    d = district([lamp("L1", X0 + 50, Y0 + 50, lumens=lumens, height_m=h,
                       distribution="photometry_file", photometry_file=str(ldt),
                       tilt_deg=tilt)])  # fmt: skip
    scale = MF * lumens / 1000
    t = math.radians(tilt)
    # tilted 20° towards C90 (west for rotation 0): its axis meets the ground h·tan 20°
    # west, where γ' = 0 (184 cd/klm) and the ground angle is 20°
    axis = (X0 + 50 - h * math.tan(t), Y0 + 50)
    # straight down is 20° from the axis on the C270 side: I(C270, 20°) = 119 cd/klm
    below = (X0 + 50, Y0 + 50)
    values = lt.illuminance_at(d, [axis, below])
    assert values[0] == pytest.approx(scale * 184 * math.cos(t) ** 3 / h**2, rel=1e-9)
    assert values[1] == pytest.approx(scale * 119 / h**2, rel=1e-9)


def test_two_lamps_add(ldt: Path) -> None:
    a = lamp("A", X0 + 60.2, Y0 + 80.7, lumens=4000.0, height_m=6.0)
    b = lamp("B", X0 + 75.9, Y0 + 91.3, lumens=8000.0, height_m=8.0,
             distribution="photometry_file", photometry_file=str(ldt),
             rotation_deg=33.0)  # fmt: skip
    both = lt.illuminance_raster(district([a, b]), resolution_m=2.0).array
    only_a = lt.illuminance_raster(district([dict(a)]), resolution_m=2.0).array
    only_b = lt.illuminance_raster(district([dict(b)]), resolution_m=2.0).array
    assert both.max() > 0 and only_a.max() > 0 and only_b.max() > 0
    np.testing.assert_allclose(both, only_a + only_b, rtol=1e-6, atol=1e-6)


def test_raster_matches_point_evaluation_and_cutoff_bound(ldt: Path) -> None:
    lamps = [
        lamp(f"L{k}", X0 + 20 + 37 * k, Y0 + 40 + 23 * (k % 3), lumens=20_000.0, height_m=10.0,
             distribution="photometry_file", photometry_file=str(ldt), rotation_deg=40.0 * k,
             tilt_deg=5.0 * (k % 2))
        for k in range(5)
    ]  # fmt: skip
    d = district(lamps)
    cut = lt.illuminance_raster(d, resolution_m=2.0, cutoff_lx=0.01)
    exact = lt.illuminance_raster(d, resolution_m=2.0, cutoff_lx=0.0)
    diff = exact.array.astype(float) - cut.array.astype(float)
    assert diff.max() > 0  # the cutoff is active here...
    assert diff.max() <= 0.01 * len(lamps)  # ...and within its documented bound
    # cell centres evaluated as points give the same values as the exact raster
    rows, cols = np.mgrid[0:100:7, 0:100:7]
    xs, ys = (np.asarray(v) for v in rasterio.transform.xy(exact.transform, rows, cols))
    points = lt.illuminance_at(d, np.column_stack([xs.ravel(), ys.ravel()]), cutoff_lx=0.0)
    np.testing.assert_allclose(exact.array[rows, cols].ravel(), points, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- bad input


def test_raster_resolution_and_memory_guard() -> None:
    d = district([lamp("L1", X0 + 10, Y0 + 10)])
    for bad in (0.0, -1.0, math.inf, -math.inf, math.nan, "fine"):
        with pytest.raises(InputError, match=r"resolution_m .* must be a finite number of metres"):
            lt.illuminance_raster(d, resolution_m=bad)  # type: ignore[arg-type]
        # refused by the module's pipeline before any work
        with pytest.raises(InputError, match="must be a finite number of metres"):
            lt.SPEC.run(d, resolution_m=bad)
    with pytest.raises(InputError, match=r"exceeds the limit .* window .* coarser resolution"):
        lt.illuminance_raster(d, resolution_m=0.01)
    with pytest.raises(InputError, match="40,000 cells"):
        lt.illuminance_raster(d, resolution_m=1.0, max_cells=1000)
    small = lt.illuminance_raster(d, resolution_m=1.0, window=(X0, Y0, X0 + 20, Y0 + 10))
    assert small.array.shape == (10, 20)


def test_lamp_without_height() -> None:
    d = district([lamp("L1", X0 + 10, Y0 + 10), lamp("L2", X0 + 30, Y0 + 10, height_m=None)])
    with pytest.raises(InputError, match=r"'L2': height_m is .*needs a mounting height"):
        lt.illuminance_raster(d)
    with pytest.raises(InputError, match="'L2'"):
        lt.compliance(d)


def test_unknown_class() -> None:
    d = small_district()
    with pytest.raises(InputError, match="unknown lighting class 'P9'"):
        lt.compliance(d, target_class="P9")
    with pytest.raises(InputError, match="unknown lighting class 'P9'"):
        lt.plan_lights(d, target_class="P9")
    streets = d.streets.copy()
    streets["lighting_class"] = streets["lighting_class"].astype(object)
    streets.loc[0, "lighting_class"] = "M3"
    with pytest.raises(InputError, match=r"feature 's1', column 'lighting_class'.*'M3'"):
        lt.compliance(d.replace(streets=streets))


def test_malformed_photometry_file_in_a_district(tmp_path: Path, ldt: Path) -> None:
    lines = ldt.read_text(encoding="latin-1").splitlines()
    lines[199] = "12;5"
    bad = tmp_path / "bad.ldt"
    bad.write_text("\n".join(lines) + "\n", encoding="latin-1")
    d = district([lamp("L1", X0 + 10, Y0 + 10, distribution="photometry_file",
                       photometry_file="bad.ldt")])  # fmt: skip
    with pytest.raises(PhotometryFileError, match=r"bad\.ldt, line 200: expected a number"):
        lt.illuminance_raster(d, photometry_dir=tmp_path)
    with pytest.raises(InputError, match=r"'L1': photometry_file 'bad\.ldt' not found"):
        lt.illuminance_raster(d, photometry_dir=tmp_path / "elsewhere")
    empty = district([lamp("L1", X0 + 10, Y0 + 10, distribution="photometry_file")])
    with pytest.raises(InputError, match="photometry_file is empty"):
        lt.compliance(empty)


def test_relative_photometry_file(ldt: Path) -> None:
    d = district([lamp("L1", X0 + 10, Y0 + 10, distribution="photometry_file",
                       photometry_file=ldt.name)])  # fmt: skip
    value = lt.illuminance_at(d, [(X0 + 10, Y0 + 10)], photometry_dir=ldt.parent)
    assert value[0] == pytest.approx(MF * 3000 / 1000 * 184 / 25)


# --------------------------------------------------------------------------- EN 13201-3


@pytest.mark.parametrize(
    ("spacing", "width", "n_along", "n_across"),
    [(30, 2, 10, 3), (36, 2, 12, 3), (37, 2, 13, 3), (30, 7, 10, 5), (36, 7, 12, 5),
     (37, 7, 13, 5)],
)  # fmt: skip
def test_en13201_grid_counts_and_positions(
    spacing: float, width: float, n_along: int, n_across: int
) -> None:
    grid = lt.en13201_grid(spacing, width)
    assert grid.along_m.size == n_along and grid.across_m.size == n_across
    assert grid.n_points == n_along * n_across
    d_along, d_across = spacing / n_along, width / n_across
    assert d_along <= 3.0 + 1e-12 and d_across <= 1.5 + 1e-12
    np.testing.assert_allclose(grid.along_m, d_along / 2 + d_along * np.arange(n_along))
    np.testing.assert_allclose(
        grid.across_m, -width / 2 + d_across / 2 + d_across * np.arange(n_across), atol=1e-12
    )


def test_en13201_grid_hand_values() -> None:
    g = lt.en13201_grid(37, 7)
    assert g.spacing_along_m == pytest.approx(37 / 13)
    assert g.along_m[0] == pytest.approx(37 / 26) and g.along_m[-1] == pytest.approx(37 - 37 / 26)
    np.testing.assert_allclose(g.across_m, [-2.8, -1.4, 0.0, 1.4, 2.8])
    np.testing.assert_allclose(lt.en13201_grid(30, 2).across_m, [-2 / 3, 0, 2 / 3], atol=1e-12)
    np.testing.assert_allclose(lt.en13201_grid(30, 2).along_m, np.arange(1.5, 30, 3.0))


def test_segment_fields() -> None:
    assert lt.segment_fields(90.0, np.array([0.0, 30.0, 60.0, 90.0])) == (30.0, 3)
    assert lt.segment_fields(100.0, np.array([10.0, 46.0])) == pytest.approx((100 / 3, 3))
    assert lt.segment_fields(40.0, np.array([])) == (40.0, 1)  # default S = 30 m
    assert lt.segment_fields(80.0, np.array([])) == pytest.approx((80 / 3, 3))
    assert lt.segment_fields(12.0, np.array([5.0])) == (12.0, 1)


def expected_footway(lumens: float) -> tuple[float, float]:
    """Ē and E_min on the 30 m × 2 m footway grid lit by two lanterns, by hand."""
    h = 4.0
    along = 3.0 * (np.arange(10) + 0.5)
    across = np.array([-2 / 3, 0.0, 2 / 3])
    xs, ys = np.meshgrid(along, across)
    total = np.zeros_like(xs)
    for lamp_x in (0.0, 30.0):
        g = np.arctan(np.hypot(xs - lamp_x, ys - 1.5) / h)
        i = np.where(g < math.radians(75), I0_LANTERN / np.cos(g), 0.0)
        total += MF * lumens / 1000 * i * np.cos(g) ** 3 / h**2
    return float(total.mean()), float(total.min())


@pytest.mark.parametrize(
    ("lumens", "passes", "fails"),
    [(3000.0, ["P4", "P5", "P6"], ["P1", "P2", "P3", "C5"]),  # Ē 5.67, E_min 1.39
     (6000.0, ["P2", "P3"], ["P1", "C4"])],  # Ē 11.3, E_min 2.79, U0 0.25 < 0.40
)  # fmt: skip
def test_segment_with_known_illuminance(lumens: float, passes: list[str], fails: list[str]) -> None:
    lamps = [lamp("A", X0 + 20, Y0 + 101.5, lumens=lumens, height_m=4.0),
             lamp("B", X0 + 50, Y0 + 101.5, lumens=lumens, height_m=4.0)]  # fmt: skip
    d = district(lamps, [street("f1", [(X0 + 20, Y0 + 100), (X0 + 50, Y0 + 100)])])
    e_avg, e_min = expected_footway(lumens)
    for name in passes + fails:
        if name.startswith("C"):
            with pytest.warns(UserWarning, match="C lighting classes not assessed"):
                row = lt.compliance(d, target_class=name).iloc[0]
        else:
            row = lt.compliance(d, target_class=name).iloc[0]
        assert row["grid_points"] == 30 and row["field_length_m"] == pytest.approx(30.0)
        assert row["lamps_serving"] == 2
        assert row["E_avg_lx"] == pytest.approx(e_avg, rel=1e-9)
        assert row["E_min_lx"] == pytest.approx(e_min, rel=1e-9)
        assert row["U0"] == pytest.approx(e_min / e_avg, rel=1e-9)
        assert bool(row["pass"]) is (name in passes), name
        status = "not_assessed" if name.startswith("C") else ("pass" if name in passes else "fail")
        assert row["status"] == status, name
    own = lt.compliance(d).iloc[0]
    assert own["lighting_class"] == "P4" and own["class_source"] == "layer"


def test_roads_on_c_classes_are_not_assessed() -> None:
    """Issue 16 §5: EN 13201 judges motorised routes on M classes; never pass/fail on C."""
    lamps = [lamp("A", X0 + 20, Y0 + 101.5, lumens=60_000.0, height_m=4.0),
             lamp("B", X0 + 50, Y0 + 101.5, lumens=60_000.0, height_m=4.0)]  # fmt: skip
    road = street("r1", [(X0 + 20, Y0 + 100), (X0 + 50, Y0 + 100)], highway="secondary",
                  car=True, lighting_class=None, width_m=2.0)  # default class C4  # fmt: skip
    path = street("f1", [(X0 + 20, Y0 + 150), (X0 + 50, Y0 + 150)])  # P4, unlit: fails
    d = district(lamps, [road, path])
    with pytest.warns(UserWarning, match=r"1 street segment\(s\), 30 m \(1 of them, 30 m, inside"):
        frame_ = lt.compliance(d).set_index("street_id")
    # the same grid as test_segment_with_known_illuminance at 60,000 lm: Ē 113 lx, above C4
    assert frame_.loc["r1", "lighting_class"] == "C4"
    assert frame_.loc["r1", "E_avg_lx"] == pytest.approx(expected_footway(60_000.0)[0])
    assert frame_.loc["r1", "status"] == "not_assessed" and not frame_.loc["r1", "pass"]
    assert not frame_.loc["r1", "over_lit"]
    assert frame_.loc["f1", "status"] == "fail"
    # excluded from the pass share (0 of 30 m assessed passes, not 0 of 60 m), counted
    with pytest.warns(UserWarning):
        values = lt.indicators(d)
    assert values["lit_path_share"].value == 0.0
    summary = lt.compliance_summary(frame_.reset_index()).set_index("lighting_class")
    assert not summary.loc["C4", "assessed"] and math.isnan(summary.loc["C4", "passing_share"])
    assert summary.loc["C4", "segments"] == 1 and summary.loc["P4", "passing_share"] == 0.0
    # only the road: nothing assessed, NaN with the reason
    only_road = district(lamps, [road])
    with pytest.warns(UserWarning):
        share = lt.indicators(only_road)["lit_path_share"]
    assert math.isnan(share.value) and "on a P class" in share.reason
    # the module result carries the count as a warning; the planner leaves the road alone
    result = lt.SPEC.run(d, resolution_m=2.0)
    assert any("1 street segment(s), 30 m (1 of them" in w for w in result.warnings)
    plan = lt.plan_lights(d)
    assert plan.summary["segments_not_assessed"] == 1
    assert plan.compliance_after.set_index("street_id").loc["r1", "status"] == "not_assessed"


def test_class_defaults_from_highway() -> None:
    d = district([], [street("f1", [(X0, Y0 + 10), (X0 + 40, Y0 + 10)], lighting_class=None),
                      street("m1", [(X0, Y0 + 50), (X0 + 40, Y0 + 50)], highway="motorway",
                             walk=False, lighting_class=None, width_m=14.0)])  # fmt: skip
    frame_ = lt.compliance(d)
    assert list(frame_["street_id"]) == ["f1"]  # motorways have no default class
    assert frame_.iloc[0]["lighting_class"] == "P4"
    assert frame_.iloc[0]["class_source"] == "highway default"
    assert frame_.iloc[0]["E_avg_lx"] == 0 and not frame_.iloc[0]["pass"]


# --------------------------------------------------------------------------- dark spots


def test_dark_spot_of_a_half_lit_path() -> None:
    d = district([lamp("L1", X0, Y0 + 100, lumens=3000.0, height_m=5.0)],
                 [street("f1", [(X0, Y0 + 100), (X0 + 100, Y0 + 100)])])  # fmt: skip
    spots = lt.dark_spots(d, resolution_m=1.0, threshold_lx=1.0)
    # E = K / (r² + H²), K = MF · 3 · I0: lit (≥ 1 lx) to r² = K - 25, i.e. 16.05 m; dark
    # cells: columns 16..99 of the two rows of the 2 m path, plus the 2 cells of the round
    # end cap beyond x = 100 m
    k = MF * 3 * I0_LANTERN
    assert math.sqrt(k - 25) == pytest.approx(16.05, abs=0.01)
    assert len(spots) == 1
    assert spots.iloc[0]["area_m2"] == pytest.approx(170.0)
    assert spots.iloc[0]["min_lx"] == 0.0 and spots.iloc[0]["mean_lx"] < 1.0
    assert spots.geometry.iloc[0].bounds == pytest.approx((X0 + 16, Y0 + 99, X0 + 101, Y0 + 101))
    assert len(lt.dark_spots(d, threshold_lx=1.0, min_area_m2=500)) == 0


# --------------------------------------------------------------------------- planner


def test_planner_makes_failing_paths_pass() -> None:
    d = small_district()
    before = lt.compliance(d).set_index("street_id")
    assert not before.loc["p1", "pass"] and not before.loc["s1", "pass"]
    plan = lt.plan_lights(d)
    after = plan.compliance_after.set_index("street_id")
    assert after.loc["p1", "pass"] and after.loc["s1", "pass"]
    assert plan.unresolved == []
    n = len(plan.new_lights)
    # one planner result (analysis.Plan) and one id scheme (analysis.new_ids)
    assert isinstance(plan, Plan) and plan.layer == "lights" and plan.added is plan.new_lights
    assert list(plan.new_lights["light_id"]) == [f"new-L-{i:03d}" for i in range(1, n + 1)]
    assert plan.unmet is plan.unresolved and plan.summary["new_lamps"] == n
    assert n > 0 and plan.cost_dkk == pytest.approx(n * 25_000.0)
    assert len(plan.district.lights) == len(d.lights) + n
    # the planned district checks out the same way from scratch
    again = lt.compliance(plan.district).set_index("street_id")
    np.testing.assert_allclose(again["E_avg_lx"], after["E_avg_lx"])
    # no lamp inside a building; at least the minimum spacing from every other lamp
    points = plan.new_lights.geometry.to_numpy()
    assert not shapely.intersects(points[:, None], d.buildings.geometry.to_numpy()[None, :]).any()
    every = plan.district.lights.geometry
    for p in points:
        distances = every.distance(p)
        assert sorted(distances)[1] >= 12.0 - 1e-9


def test_planner_uses_no_more_lamps_than_even_spacing() -> None:
    path = [(X0 + 10, Y0 + 60), (X0 + 130, Y0 + 60)]
    d = district([], [street("f1", path)])
    plan = lt.plan_lights(d)
    assert plan.compliance_after.iloc[0]["pass"]
    # smallest k with k evenly spaced lamps 1.5 m beside the path passing, by trial
    smallest = next(
        k for k in range(1, 12)
        if lt.compliance(district([lamp(f"L{j}", X0 + 10 + 120 * (j + 0.5) / k, Y0 + 61.5)
                                   for j in range(k)], [street("f1", path)])).iloc[0]["pass"]
    )  # fmt: skip
    assert len(plan.new_lights) in range(1, smallest + 1)


def test_planner_limits_and_impossible_class() -> None:
    d = small_district()
    capped = lt.plan_lights(d, max_new=0)
    assert len(capped.new_lights) == 0 and capped.cost_dkk == 0
    assert sorted(capped.unresolved) == ["p1", "s1"]
    weak = lt.plan_lights(d, lamp={"lumens": 50.0})
    assert len(weak.new_lights) == 0 and sorted(weak.unresolved) == ["p1", "s1"]
    with pytest.raises(InputError, match="unknown lamp field"):
        lt.plan_lights(d, lamp={"lumen": 50.0})
    for spacing in (0, 1e-6, 1.9, 501.0, math.inf, math.nan, -12.0):
        with pytest.raises(InputError, match=r"min_spacing_m .* from 2 to 500"):
            lt.plan_lights(d, min_spacing_m=spacing)
    assert lt.check_spacing(2.0) == 2.0 and lt.check_spacing("25") == 25.0
    with pytest.raises(InputError, match="add_lights spacing_m 1e-06"):
        lt.check_spacing(1e-6, "add_lights spacing_m")
    for bad in (-1, 2.5, True):
        with pytest.raises(InputError, match="max_new"):
            lt.plan_lights(d, max_new=bad)  # type: ignore[arg-type]


def two_dark_paths() -> District:
    """A long footway (120 m, y = 150; 5 planner lamps) and a short one (40 m, y = 40;
    2 planner lamps), both P4 and unlit."""
    return district([], [street("long", [(X0 + 20, Y0 + 150), (X0 + 140, Y0 + 150)]),
                         street("short", [(X0 + 20, Y0 + 40), (X0 + 60, Y0 + 40)])])  # fmt: skip


def test_planner_with_priority_lights_the_weighted_paths_first() -> None:
    d = two_dark_paths()
    # two places by the short path, one by the long path, one 50 m from any path
    places = gpd.GeoDataFrame(
        {"weight": [1.0, 1.0, 1.0, 1.0]},
        geometry=[Point(X0 + 30, Y0 + 41), Point(X0 + 50, Y0 + 45),
                  Point(X0 + 80, Y0 + 152), Point(X0 + 100, Y0 + 100)],
        crs=CRS,
    )  # fmt: skip
    full = lt.plan_lights(d)
    assert sorted(full.added.geometry.y.round() - Y0) == [42.0] * 2 + [152.0] * 5
    geometric = lt.plan_lights(d, max_new=5)  # longest first: the long path takes all 5
    assert (geometric.added.geometry.y > Y0 + 100).all() and geometric.unmet == ["short"]
    aimed = lt.plan_lights(d, max_new=5, priority=places)
    # weight 2 first (2 lamps); the long path needs 5, only 3 are left
    assert len(aimed.added) == 2 and (aimed.added.geometry.y < Y0 + 50).all()
    assert aimed.unmet == ["long"]
    assert aimed.summary["priority_weight"] == 4.0
    assert aimed.summary["priority_weight_near_paths"] == 3.0  # the far place: no path
    assert aimed.summary["priority_treated_share_before"] == 0.0
    assert aimed.summary["priority_treated_share_after"] == 0.5
    assert aimed.summary["segments_without_priority"] == 0
    both = lt.plan_lights(d, priority=places)
    assert len(both.added) == 7 and both.summary["priority_treated_share_after"] == 0.75
    # only the short path weighs: the long one is not planned at all
    short_only = lt.plan_lights(d, priority=places.iloc[[0, 1]])
    assert len(short_only.added) == 2 and short_only.unmet == []
    assert short_only.summary["segments_without_priority"] == 1
    assert short_only.summary["priority_treated_share_after"] == 1.0
    # a place 5 m from its path counts within 15 m (default), not within 4 m
    assert (
        lt.plan_lights(d, priority=places.iloc[[1]], priority_radius_m=4.0).summary[
            "segments_without_priority"
        ]
        == 2
    )
    with pytest.raises(InputError, match="priority_radius_m must be > 0"):
        lt.plan_lights(d, priority=places, priority_radius_m=0.0)


def test_planner_with_a_priority_raster() -> None:
    from affine import Affine

    from vollsmose_gis.io import Raster

    d = two_dark_paths()
    # 1 m cells over the district; weight 3 per m² in the one cell at (40, 40.5)
    values = np.zeros((200, 200))
    values[200 - 41, 40] = 3.0
    raster = Raster(values, Affine(1.0, 0.0, X0, 0.0, -1.0, Y0 + 200), CRS)
    xy, weight = lt.priority_points(raster, d)
    np.testing.assert_allclose(xy, [[X0 + 40.5, Y0 + 40.5]])
    np.testing.assert_allclose(weight, [3.0])
    plan = lt.plan_lights(d, max_new=5, priority=raster)
    assert len(plan.added) == 2 and (plan.added.geometry.y < Y0 + 50).all()
    assert plan.summary["priority_weight"] == 3.0
    assert plan.summary["priority_treated_share_after"] == 1.0


def test_planner_avoids_buildings() -> None:
    path = [(X0 + 10, Y0 + 60), (X0 + 130, Y0 + 60)]
    blocks = frame([dict(building_id=f"b{k}", use="residential", floors=2, height_m=6.0,
                         dwellings=0, geometry=box(X0, Y0 + 61.2 + 0 * k, X0 + 200, Y0 + 80))
                    for k in range(1)] +
                   [dict(building_id="b9", use="residential", floors=2, height_m=6.0,
                         dwellings=0, geometry=box(X0, Y0 + 40, X0 + 200, Y0 + 58.8))])  # fmt: skip
    d = district([], [street("f1", path)], buildings=blocks)
    plan = lt.plan_lights(d)
    # both sides of the path are built up right to the lamp offset: no site is free
    assert len(plan.new_lights) == 0 and plan.unresolved == ["f1"]


# --------------------------------------------------------------------------- indicators


def test_indicators_small_district() -> None:
    d = small_district()
    values = lt.indicators(d)
    assert set(values) == {"lit_path_share", "dark_spot_area_m2", "mean_illuminance_lx",
                           "lighting_energy_kwh_per_year"}  # fmt: skip
    assert all(v.theme == "safety and security" for v in values.values())
    hours = lt.burning_hours_per_year(lt.district_latitude(d))
    assert values["lighting_energy_kwh_per_year"].value == pytest.approx(25 * hours / 1000)
    assert "burning hours a year at 55.4°N" in values["lighting_energy_kwh_per_year"].label
    assert values["lit_path_share"].value == 0.0  # both streets fail their class
    assert values["dark_spot_area_m2"].value > 0
    frame_ = lt.compliance(d)
    mean = (frame_["E_avg_lx"] * frame_["length_m"]).sum() / frame_["length_m"].sum()
    assert values["mean_illuminance_lx"].value == pytest.approx(mean)


def test_energy_without_watts(ldt: Path) -> None:
    d = district(
        [
            lamp("A", X0 + 10, Y0 + 10, watts=None, lumens=2200.0),
            lamp(
                "B",
                X0 + 20,
                Y0 + 10,
                watts=None,
                lumens=16_600.0,
                distribution="photometry_file",
                photometry_file=str(ldt),
            ),
            lamp("C", X0 - 20, Y0 + 10, watts=40.0),
        ]
    )  # fmt: skip  (C is outside)
    # A: 2200 lm / 110 lm/W = 20 W; B: the file's 276 W scaled by 16,600 / 33,200
    hours = lt.burning_hours_per_year(lt.district_latitude(d))
    assert lt.lamp_energy_kwh_per_year(d) == pytest.approx((20 + 138) * hours / 1000)


def _night_hours_by_sampling(latitude_deg: float, altitude_deg: float) -> float:
    """Hours of the year 2025 with the sun below an altitude, by sampling every minute.

    Independent of the module: the sun's declination from the Astronomical Almanac's
    low-precision formulae (mean longitude L, mean anomaly g, ecliptic longitude
    λ = L + 1.915° sin g + 0.020° sin 2g, sin δ = sin ε sin λ, ε = 23.439°), and the
    altitude sin h = sin φ sin δ + cos φ cos δ cos H at each minute of local solar time.
    """
    n = np.arange(365)[:, None] + (np.arange(1440)[None, :] + 0.5) / 1440
    days = 9131.5 + n  # days from J2000.0 (2000-01-01 12:00) to 2025-01-01 00:00
    mean_long = np.radians(280.460 + 0.9856474 * days)
    anomaly = np.radians(357.528 + 0.9856003 * days)
    ecliptic = (
        mean_long + np.radians(1.915) * np.sin(anomaly) + np.radians(0.020) * np.sin(2 * anomaly)
    )
    delta = np.arcsin(np.sin(np.radians(23.439)) * np.sin(ecliptic))
    hour_angle = np.radians(((n % 1) * 24 - 12) * 15)
    phi = np.radians(latitude_deg)
    sin_h = np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.cos(hour_angle)
    return float((sin_h < np.sin(np.radians(altitude_deg))).sum() / 60.0)


def test_burning_hours_from_latitude() -> None:
    # Denmark (55.4 °N): the planning figure the module used before, ~4,100 h a year
    assert lt.burning_hours_per_year(55.4) == pytest.approx(4100, rel=0.005)
    # an independent computation (minute sampling, another declination formula)
    for lat in (55.4, 40.0, 0.0, -33.9, 66.0):
        assert lt.burning_hours_per_year(lat) == pytest.approx(
            _night_hours_by_sampling(lat, -2.5), rel=0.001
        ), lat
    # further south the winter nights are shorter but the summer nights longer: +95 h
    assert lt.burning_hours_per_year(40.0) - lt.burning_hours_per_year(55.4) > 80
    # the switching altitude: at sunset (0°) the nights are longer
    assert lt.burning_hours_per_year(55.4, sun_altitude_deg=0.0) == pytest.approx(
        _night_hours_by_sampling(55.4, 0.0), rel=0.001
    )
    for bad in (91.0, -90.5, math.nan, math.inf, "north"):
        with pytest.raises(InputError, match="latitude"):
            lt.burning_hours_per_year(bad)  # type: ignore[arg-type]


def test_energy_follows_the_district_latitude() -> None:
    from vollsmose_gis.district import Settings

    d = district([lamp("A", X0 + 10, Y0 + 10, watts=100.0)])
    assert lt.district_latitude(d) == pytest.approx(55.4, abs=0.05)  # EPSG:25832, Odense
    south = d.replace(settings=Settings(latitude_deg=40.0))
    assert lt.district_latitude(south) == 40.0
    assert lt.lamp_energy_kwh_per_year(south) == pytest.approx(
        100 * lt.burning_hours_per_year(40.0) / 1000
    )
    assert lt.lamp_energy_kwh_per_year(south) > lt.lamp_energy_kwh_per_year(d) + 8


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("lumens", 1e15, r"lumens 1e\+15 lm is outside \(0, 1e\+06\] lm"),
     ("lumens", math.nan, "lumens is nan"),
     ("lumens", math.inf, "lumens inf lm is outside"),
     ("height_m", 1e6, r"height_m 1e\+06 m is outside \(0, 100\] m"),
     ("watts", 1e9, r"watts 1e\+09 W is outside \[0, 20000\] W")],
)  # fmt: skip
def test_implausible_lamps_are_refused_with_their_id(
    column: str, value: float, message: str
) -> None:
    d = district([lamp("ok", X0 + 50, Y0 + 50), lamp("L-huge", X0 + 10, Y0 + 10, **{column: value})],
                 [street("f1", [(X0, Y0 + 10), (X0 + 40, Y0 + 10)])])  # fmt: skip
    for call in (lt.compliance, lt.lamp_energy_kwh_per_year, lambda x: lt.SPEC.run(x)):
        with pytest.raises(InputError, match=f"feature 'L-huge': {message}"):
            call(d)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def vollsmose() -> District:
    from vollsmose_gis.sources.vollsmose import default_district

    return default_district()


def test_default_district(vollsmose: District) -> None:
    frame_ = lt.compliance(vollsmose)
    assert len(frame_) == len(vollsmose.streets)  # every street there has a class
    assert frame_["E_avg_lx"].between(0, 100).all()
    dark = lt.dark_spots(vollsmose)
    # the generator leaves the path over the bog unlit (sources/vollsmose.py DARK_STRETCHES)
    bog = box(590_200, 6_140_680, 590_230, 6_140_980)
    assert dark.intersects(bog).any()
    values = lt.indicators(vollsmose, compliance_frame=frame_, dark=dark)
    assert 0 < values["lit_path_share"].value < 1
    # lamps inside or on the boundary line (internal roads have lamps where they cross it)
    inside = vollsmose.lights.loc[vollsmose.lights.intersects(vollsmose.boundary)]
    assert values["lighting_energy_kwh_per_year"].value == pytest.approx(
        inside["watts"].sum() * lt.burning_hours_per_year(55.4) / 1000, rel=1e-3
    )


def test_osm_import_with_street_lamps(tmp_path: Path, osm_dir: Path) -> None:
    from vollsmose_gis.sources.osm import district_from_osm

    real = district_from_osm(osm_dir / "planet_10.068,48.135_10.071,48.137.osm", crs="auto")
    assert len(real.lights) == 0  # the extract maps no lamps: everything fails, plan helps
    frame_ = lt.compliance(real)
    assert len(frame_) > 0 and not frame_["pass"].any()
    # highway=street_lamp nodes, written by hand, become lamps that light their street
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6"><bounds minlat="55.400" minlon="10.400" maxlat="55.402" maxlon="10.404"/>
<node id="1" lat="55.401" lon="10.4005"/><node id="2" lat="55.401" lon="10.4035"/>
<node id="3" lat="55.40101" lon="10.4020"><tag k="highway" v="street_lamp"/></node>
<node id="4" lat="55.40101" lon="10.4030"><tag k="highway" v="street_lamp"/>
<tag k="height" v="6"/></node>
<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>"""
    path = tmp_path / "lamps.osm"
    path.write_text(xml)
    d = district_from_osm(path)
    assert sorted(d.lights["height_m"]) == [5.0, 6.0]
    e = lt.illuminance_at(d, shapely.get_coordinates(d.lights.geometry.to_numpy()))
    scale = MF * 3000 / 1000
    assert e[0] > scale * I0_LANTERN / 36  # nadir of each lamp, plus the other's share
    assert lt.compliance(d).iloc[0]["lamps_serving"] == 2


# --------------------------------------------------------------------------- CLI


def test_cli_lighting(tmp_path: Path) -> None:
    source = tmp_path / "d.gpkg"
    save_district(small_district(), source)
    runner = CliRunner()
    result = runner.invoke(app, ["lighting", str(source), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["indicators"]["lit_path_share"]["value"] == 0.0
    assert {c["lighting_class"] for c in report["classes"]} == {"P3", "P4"}
    tif, out = tmp_path / "lux.tif", tmp_path / "out.gpkg"
    args = ["lighting", str(source), "--raster", str(tif), "--plan", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "new lamps" in result.stdout and "provenance" in result.stdout
    import pyogrio

    from vollsmose_gis import load_district

    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"lighting_compliance", "dark_spots", "planned_lights"} <= layers
    planned = load_district(out)
    assert len(planned.lights) > len(small_district().lights)
    with rasterio.open(tif) as src:
        assert src.tags()["unit"] == "lx" and src.read(1).max() > 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output
    for value in ("0", "inf", "nan", "-2"):
        bad = runner.invoke(app, ["lighting", str(source), "--resolution", value])
        assert bad.exit_code == 2 and "must be a finite number of metres" in bad.output, value
    bad = runner.invoke(app, ["lighting", str(source), "--class", "P9"])
    assert bad.exit_code == 2 and "unknown lighting class" in bad.output


def test_uncertain_parameters_have_ranges_around_their_defaults() -> None:
    from functools import reduce

    from vollsmose_gis.standards import load

    std = load("en13201")
    assert "planner.lamp.maintenance_factor" in std["uncertain"]
    for path, entry in std["uncertain"].items():
        value = reduce(lambda node, key: node[key], path.split("."), std)
        low, high = entry["range"]
        assert low <= value <= high, path
        assert entry["source"], path


def test_lamps_prepared_once_per_design_equal_lamp_by_lamp(ldt: Path) -> None:
    """`_lamps` prepares each distinct design once; every lamp must still equal what
    `_lamp_from_row` gives for its own row (the definition), across designs that differ
    in one value each, missing values written as None and NaN, a file photometry and the
    embedded district's 4,258 lamps; and a bad value is reported on its first lamp."""
    from vollsmose_gis import default_district
    from vollsmose_gis.lighting.model import _lamp_from_row, _lamps

    rows = [
        lamp("A1", X0 + 10, Y0 + 10),
        lamp("A2", X0 + 40, Y0 + 10),  # the same design as A1
        lamp("B", X0 + 70, Y0 + 10, height_m=6.0),
        lamp("C", X0 + 10, Y0 + 40, maintenance_factor=None),  # the standard MF
        lamp("C2", X0 + 40, Y0 + 40, maintenance_factor=float("nan")),
        lamp("D", X0 + 70, Y0 + 40, watts=None, lumens=4000.0),
        lamp("E", X0 + 10, Y0 + 70, tilt_deg=10.0, rotation_deg=90.0),
        lamp("F", X0 + 40, Y0 + 70, distribution="photometry_file", photometry_file=str(ldt)),
        lamp("F2", X0 + 70, Y0 + 70, distribution="photometry_file", photometry_file=str(ldt),
             rotation_deg=45.0),
    ]  # fmt: skip
    embedded = default_district().lights
    for lights in (district(rows).lights, embedded):
        got = _lamps(lights, cutoff_lx=0.1, photometry_dir=None)
        records = lights.drop(columns=lights.geometry.name).to_dict("records")
        xy = shapely.get_coordinates(lights.geometry.to_numpy())
        expected = [
            _lamp_from_row(r, float(x), float(y), cutoff_lx=0.1, photometry_dir=None)
            for r, (x, y) in zip(records, xy, strict=True)
        ]
        assert got == expected
    assert len(embedded) > 2000
    by_id = {p.light_id: p for p in _lamps(district(rows).lights, cutoff_lx=0.1,
                                           photometry_dir=None)}  # fmt: skip
    assert by_id["A2"].x == X0 + 40 and by_id["A2"].scale == by_id["A1"].scale
    assert by_id["B"].radius_m != by_id["A1"].radius_m  # a design of its own
    bad = [lamp("G1", X0 + 10, Y0 + 10, lumens=-1.0), lamp("G2", X0 + 40, Y0 + 10, lumens=-1.0)]
    with pytest.raises(InputError, match="'G1': lumens"):
        _lamps(district([rows[0], *bad]).lights, cutoff_lx=0.1, photometry_dir=None)


def test_cache_key_holds_the_latitude_and_no_other_setting() -> None:
    """Lighting reads one district setting, the latitude: a district whose other
    settings all differ (country, rules, currency, costs, centre, rule area, notes) gets
    the cached result, which must equal computing it afresh; another latitude is
    another result (the energy indicator's night hours)."""
    import dataclasses

    from vollsmose_gis import analysis

    d = small_district()
    other = d.replace(
        settings=dataclasses.replace(
            d.settings, country="SE", rules=(), currency="SEK", unit_costs="other",
            centre_xy=(X0 - 5000.0, Y0), centre_name="Elsewhere",
            rule_area=box(X0, Y0, X0 + 50, Y0 + 50), notes="changed",
        )
    )  # fmt: skip
    spec = analysis.get("lighting")
    assert spec.cache_key(other) == spec.cache_key(d)
    fresh = spec.run(other)
    cached = analysis.run("lighting", d)
    assert {k: i.value for k, i in fresh.indicators.items()} == {
        k: i.value for k, i in cached.indicators.items()
    }
    north = d.replace(settings=dataclasses.replace(d.settings, latitude_deg=70.0))
    assert spec.cache_key(north) != spec.cache_key(d)
    energy = "lighting_energy_kwh_per_year"
    assert spec.run(north).indicators[energy].value != cached.indicators[energy].value
