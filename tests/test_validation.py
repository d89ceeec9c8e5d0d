"""validate_district: one test per problem class, each naming layer, feature and column."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from tests.factories import X0, Y0, small_district
from vollsmose_gis import DistrictValidationError, RepairWarning, validate_district
from vollsmose_gis.validation import PlausibilityWarning


def problems_of(district, **kwargs) -> list[str]:
    with pytest.raises(DistrictValidationError) as info:
        validate_district(district, **kwargs)
    return [str(p) for p in info.value.problems]


def with_layer(layer: str, frame: gpd.GeoDataFrame):
    return small_district().replace(**{layer: frame})


def test_small_district_is_valid():
    d = small_district()
    assert validate_district(d) is not d  # a new District, not the input


def test_geographic_crs_is_a_problem_and_repaired_by_reprojection():
    d = small_district()
    streets = d.streets.to_crs("EPSG:4326")
    bad = d.replace(streets=streets)
    (message,) = problems_of(bad)
    assert "layer 'streets'" in message and "geographic CRS" in message
    with pytest.warns(RepairWarning, match="reprojected"):
        fixed = validate_district(bad, strict=False)
    assert fixed.streets.crs == "EPSG:25832"
    assert fixed.streets.geometry.iloc[0].equals_exact(d.streets.geometry.iloc[0], tolerance=1e-3)


def test_missing_crs_names_the_layer():
    d = small_district()
    bad = d.replace(pois=d.pois.set_crs(None, allow_override=True))
    (message,) = problems_of(bad)
    assert "layer 'pois'" in message and "has no CRS" in message and "set_crs" in message


def test_missing_required_column():
    d = small_district()
    bad = d.replace(buildings=d.buildings.drop(columns="use"))
    (message,) = problems_of(bad)
    assert message.startswith("layer 'buildings', column 'use': required column is missing")


def test_missing_optional_column_filled_in_repair_mode():
    d = small_district()
    bad = d.replace(streets=d.streets.drop(columns=["car", "maxspeed_kmh"]))
    assert len(problems_of(bad)) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fixed = validate_district(bad, strict=False)
    assert sum(issubclass(w.category, RepairWarning) for w in caught) == 2
    # defaults come from the street's highway class (standards/highways.yaml)
    assert fixed.streets.set_index("street_id").loc["s1", "car"]
    assert not fixed.streets.set_index("street_id").loc["p1", "car"]
    assert fixed.streets.set_index("street_id").loc["s1", "maxspeed_kmh"] == 50.0


def test_wrong_dtype_names_feature_and_column():
    d = small_district()
    buildings = d.buildings.astype({"floors": object})
    buildings.loc[0, "floors"] = "three"
    (message,) = problems_of(d.replace(buildings=buildings))
    assert "layer 'buildings', feature 'b1', column 'floors'" in message
    assert "'three'" in message and "int" in message


def test_fractional_int_is_a_dtype_problem():
    d = small_district()
    buildings = d.buildings.astype({"dwellings": float})
    buildings.loc[0, "dwellings"] = 2.5
    (message,) = problems_of(d.replace(buildings=buildings))
    assert "feature 'b1', column 'dwellings'" in message


def test_unknown_category_lists_the_allowed_values():
    d = small_district()
    buildings = d.buildings.astype({"tenure": object})
    buildings.loc[0, "tenure"] = "council_flat"
    (message,) = problems_of(d.replace(buildings=buildings))
    assert "layer 'buildings', feature 'b1', column 'tenure'" in message
    assert "unknown category 'council_flat'" in message
    assert "almen_family" in message and "owner_occupied" in message


def test_duplicate_ids():
    d = small_district()
    pois = pd.concat([d.pois, d.pois], ignore_index=True)
    (message,) = problems_of(d.replace(pois=pois))
    assert "layer 'pois', feature 'P1', column 'poi_id'" in message and "2 features" in message


def test_invalid_geometry_reported_then_repaired():
    d = small_district()
    bowtie = Polygon(
        [(590_000, 6_141_000), (590_010, 6_141_010), (590_010, 6_141_000), (590_000, 6_141_010)]
    )
    landuse = d.landuse.copy()
    landuse.loc[0, "geometry"] = bowtie
    bad = d.replace(landuse=landuse)
    (message,) = problems_of(bad)
    assert "layer 'landuse', feature 'l1', column 'geometry'" in message
    assert "Self-intersection" in message
    with pytest.warns(RepairWarning, match="made invalid geometry valid"):
        fixed = validate_district(bad, strict=False)
    assert fixed.landuse.geometry.iloc[0].is_valid
    assert fixed.landuse.geometry.iloc[0].area == pytest.approx(50.0)  # two 25 m² triangles


def test_wrong_geometry_type():
    d = small_district()
    calming = d.calming.copy()
    calming.loc[0, "geometry"] = LineString([(590_000, 6_141_000), (590_001, 6_141_000)])
    (message,) = problems_of(d.replace(calming=calming))
    assert "layer 'calming', feature 'D1', column 'geometry'" in message
    assert "LineString" in message and "Point" in message


def test_missing_geometry():
    d = small_district()
    pois = d.pois.copy()
    pois.loc[0, "geometry"] = None
    (message,) = problems_of(d.replace(pois=pois))
    assert "feature 'P1', column 'geometry': geometry is missing" in message


@pytest.mark.parametrize(("column", "value"), [("dwellings", -3), ("floors", -1)])
def test_negative_counts(column, value):
    d = small_district()
    buildings = d.buildings.copy()
    buildings.loc[1, column] = value
    (message,) = problems_of(d.replace(buildings=buildings))
    assert f"layer 'buildings', feature 'b2', column '{column}'" in message
    assert "out of range" in message and ">= 0" in message


@pytest.mark.parametrize("fov", [0.0, -10.0, 360.5, 720.0])
def test_camera_fov_outside_0_360(fov):
    d = small_district()
    cameras = d.cameras.copy()
    cameras.loc[0, "hfov_deg"] = fov
    (message,) = problems_of(d.replace(cameras=cameras))
    assert "layer 'cameras', feature 'C1', column 'hfov_deg'" in message
    assert "> 0" in message and "<= 360" in message


def test_camera_fov_of_360_is_allowed():
    d = small_district()
    cameras = d.cameras.copy()
    cameras.loc[0, "hfov_deg"] = 360.0
    validate_district(d.replace(cameras=cameras))


def test_all_problems_are_collected_in_one_error():
    d = small_district()
    buildings = d.buildings.copy()
    buildings.loc[0, "dwellings"] = -1
    pois = d.pois.copy()
    pois.loc[0, "geometry"] = None
    problems = problems_of(d.replace(buildings=buildings, pois=pois))
    assert len(problems) == 2


def test_projected_district_crs_required():
    d = small_district()
    with pytest.raises(DistrictValidationError, match="not a projected CRS"):
        validate_district(d.replace(crs="EPSG:4326"))


def test_multilinestring_split_in_repair_mode():
    d = small_district()
    streets = d.streets.copy()
    streets.loc[0, "geometry"] = LineString([(590_000, 6_141_100), (590_050, 6_141_100)]).union(
        LineString([(590_100, 6_141_100), (590_200, 6_141_100)])
    )
    assert "MultiLineString" in problems_of(d.replace(streets=streets))[0]
    with pytest.warns(RepairWarning, match="split"):
        fixed = validate_district(d.replace(streets=streets), strict=False)
    assert sorted(fixed.streets["street_id"]) == ["p1", "s1-1", "s1-2"]


def test_empty_layers_are_valid():
    d = small_district()
    empty = d.pois.iloc[0:0]
    validate_district(d.replace(pois=empty))
    assert Point(0, 0).is_valid


# --------------------------------------------------------------- nonsense (issue 17 §2)


def changed(layer: str, row: int, **values):
    """small_district with some values of one feature of a layer replaced."""
    d = small_district()
    frame = getattr(d, layer).copy()
    for column, value in values.items():
        if column == "geometry":
            frame = frame.set_geometry(
                [value if i == row else g for i, g in enumerate(frame.geometry)], crs=frame.crs
            )
        else:
            frame[column] = frame[column].astype(object)
            frame.loc[row, column] = value
    return d.replace(**{layer: frame})


def test_nan_lamp_lumens_is_refused_naming_the_lamp():
    (message,) = problems_of(changed("lights", 0, lumens=float("nan")))
    assert message.startswith("layer 'lights', feature 'L1', column 'lumens': value is missing")
    # also in repair mode: there is nothing to repair a lamp's flux from
    with pytest.raises(DistrictValidationError, match="'L1', column 'lumens'"):
        validate_district(changed("lights", 0, lumens=float("nan")), strict=False)


@pytest.mark.parametrize(
    ("layer", "column", "value", "feature", "allowed"),
    [
        ("lights", "lumens", 1e15, "L1", "> 0 and <= 1e+06"),
        ("lights", "height_m", 5000.0, "L1", "> 0 and <= 100"),
        ("streets", "maxspeed_kmh", 1e6, "s1", "> 0 and <= 200"),
        ("cameras", "heading_deg", 9999.0, "C1", ">= 0 and < 360"),
        ("buildings", "floors", 100_000, "b1", ">= 0 and <= 200"),
    ],
)
def test_absurd_values_are_out_of_range(layer, column, value, feature, allowed):
    problems = problems_of(changed(layer, 0, **{column: value}))
    expected = (
        f"layer {layer!r}, feature {feature!r}, column {column!r}: value {value:g} is out of "
        f"range (allowed: {allowed})"
    )
    assert expected in problems


def test_dwellings_must_fit_the_footprint():
    tiny = box(X0 + 20, Y0 + 20, X0 + 30, Y0 + 30)  # 10 m × 10 m = 100 m²
    (message,) = problems_of(changed("buildings", 0, geometry=tiny, dwellings=5000))
    assert message.startswith("layer 'buildings', feature 'b1', column 'dwellings'")
    # 4 floors × 100 m² / 10 m² per dwelling
    assert "5000 dwellings are implausible on a footprint of 100 m² with 4 storey(s)" in message
    assert "at most 40" in message
    # 10^12 dwellings are beyond the column's range: reported as that, once
    (message,) = problems_of(changed("buildings", 0, geometry=tiny, dwellings=10**12))
    assert "'b1', column 'dwellings': value 1e+12 is out of range" in message
    # 40 fit exactly
    validate_district(changed("buildings", 0, geometry=tiny, dwellings=40, floor_area_m2=400.0))


def test_storeys_must_fit_the_footprint():
    tiny = box(X0 + 20, Y0 + 20, X0 + 30, Y0 + 30)
    # 150 floors × 3 m = 450 m on a 10 m wide footprint: slenderness 45 > 30
    (message,) = problems_of(
        changed("buildings", 0, geometry=tiny, floors=150, height_m=None, dwellings=0)
    )
    assert message.startswith("layer 'buildings', feature 'b1', column 'floors': 150 floors")
    assert "at most 300 m high" in message
    (message,) = problems_of(changed("buildings", 0, geometry=tiny, height_m=400.0))
    assert "column 'height_m': 400 m is implausible" in message


def test_coordinates_beyond_the_earth_are_refused():
    far = Point(1e15, Y0 + 100)
    (message,) = problems_of(changed("pois", 0, geometry=far))
    assert message.startswith("layer 'pois', feature 'P1', column 'geometry': coordinate 1e+15")
    assert "in the district CRS, and in metres" in message
    d = small_district()
    (message,) = problems_of(d.replace(boundary=box(X0, Y0, 1e15, Y0 + 200)))
    assert "column 'boundary'" in message and "1e+15" in message


def test_features_far_outside_the_crs_area_of_use_are_warned_about():
    # 2000 km east of the UTM zone 32 strip: a place on Earth, but not where EPSG:25832 is meant
    d = changed("pois", 0, geometry=Point(X0 + 2_000_000, Y0))
    with pytest.warns(PlausibilityWarning, match=r"1 feature\(s\) lie more than 500 km") as rec:
        validate_district(d)
    assert "pois 'P1'" in str(rec[0].message) and "EPSG:25832" in str(rec[0].message)


def test_small_district_gives_no_plausibility_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_district(small_district())


def test_street_crossing_a_building_is_a_warning_naming_both():
    through = LineString([(X0 + 50, Y0 + 10), (X0 + 50, Y0 + 60)])  # across b1 (y 20..40)
    d = changed("streets", 1, geometry=through)
    with pytest.warns(PlausibilityWarning, match="1 street") as rec:
        checked = validate_district(d)
    assert "street 'p1' through building 'b1'" in str(rec[0].message)
    assert len(checked.streets) == 2  # a warning, not an error
    # a tunnel may pass under a building; check_crossings=False skips the check
    tunnel = changed("streets", 1, geometry=through, tunnel=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_district(tunnel)
        validate_district(d, check_crossings=False)


def test_path_ending_at_a_building_is_not_a_crossing():
    to_door = LineString([(X0 + 50, Y0 + 60), (X0 + 50, Y0 + 40)])  # ends on b1's outline
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_district(changed("streets", 1, geometry=to_door))


def test_geographic_district_crs_says_reproject():
    # District.create refuses it already; a District whose crs field is replaced is checked here
    (message,) = problems_of(small_district().replace(crs="EPSG:4326"))
    assert "is geographic (degrees)" in message
    assert "reproject to a projected CRS, e.g. EPSG:25832" in message


def test_district_crs_in_feet_is_refused():
    d = small_district()
    (message,) = problems_of(d.replace(crs="EPSG:2263"))
    assert "not a projected CRS in metres (unit: US survey foot)" in message


def test_columns_added_later_are_filled_for_older_data():
    # layers.yaml marks columns added after version 1 with `since:`; data made before
    # (this factory, older GeoPackages) lacks them and must stay valid under strict checks
    from vollsmose_gis.standards import layer_schemas

    added = {
        (layer, name)
        for layer, schema in layer_schemas().items()
        for name, spec in schema["columns"].items()
        if spec.get("since")
    }
    assert ("cameras", "heading_estimated") in added
    d = small_district()
    cameras = d.cameras.drop(columns="heading_estimated")
    checked = validate_district(d.replace(cameras=cameras))
    assert checked.cameras["heading_estimated"].tolist() == [False]
    assert str(checked.cameras["heading_estimated"].dtype) == "boolean"
    # also for a District built without create/replace (which conform the layers)
    import dataclasses

    raw = dataclasses.replace(d, cameras=cameras)
    assert "heading_estimated" not in raw.cameras.columns
    assert validate_district(raw).cameras["heading_estimated"].tolist() == [False]
    # a column without `since:` is still reported missing
    assert problems_of(d.replace(cameras=d.cameras.drop(columns="hfov_deg"))) == [
        "layer 'cameras', column 'hfov_deg': optional column is missing; add it, or validate "
        "with strict=False to fill it with defaults"
    ]


def test_clear_implausible_keeps_an_import_going():
    from vollsmose_gis.validation import clear_implausible

    tiny = box(X0 + 20, Y0 + 20, X0 + 30, Y0 + 30)
    d = changed("buildings", 0, geometry=tiny, floors=1000, height_m=None, dwellings=5000)
    buildings, cleared = clear_implausible(d.buildings, "buildings")
    assert [(p.feature_id, p.column) for p in cleared] == [
        ("b1", "floors"),  # out of range
        # then implausible: storeys unknown, so at most 100 (30 × sqrt(100 m²) = 300 m, 3 m
        # a storey), 100 × 100 m² / 10 m² = 1000 dwellings
        ("b1", "dwellings"),
    ]
    assert "cleared" in cleared[1].message and "at most 1000:" in cleared[1].message
    b1 = buildings.set_index("building_id").loc["b1"]
    assert pd.isna(b1["floors"]) and pd.isna(b1["dwellings"])
    validate_district(d.replace(buildings=buildings))
    streets, cleared = clear_implausible(
        changed("streets", 0, maxspeed_kmh=5000).streets, "streets"
    )
    assert [str(p) for p in cleared] == [
        "layer 'streets', feature 's1', column 'maxspeed_kmh': value 5000 is out of range; "
        "cleared (allowed: > 0 and <= 200)"
    ]
    assert pd.isna(streets.loc[0, "maxspeed_kmh"]) and streets.loc[1, "width_m"] == 2.0


def test_layers_and_validation_sit_below_district():
    # issue 15: district imports the layer schemas; they must not import district back
    import ast
    import inspect

    from vollsmose_gis import layers, validation

    def imports(module, *, runtime_only: bool) -> set[str]:
        tree = ast.parse(inspect.getsource(module))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if runtime_only
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        return {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module.startswith("vollsmose_gis")
            and id(node) not in typing_only
        }

    assert imports(layers, runtime_only=False) == {"vollsmose_gis.standards"}
    assert imports(validation, runtime_only=True) == {
        "vollsmose_gis._errors",
        "vollsmose_gis.layers",
        "vollsmose_gis.standards",
    }


# ---- regressions of earlier reviews (folded in from test_review_regressions.py)

import math as _math  # noqa: E402
import textwrap as _textwrap  # noqa: E402
import warnings as _warnings  # noqa: E402

import pandas as _pd  # noqa: E402
from shapely.geometry import LineString as _LineString  # noqa: E402
from shapely.geometry import Polygon as _Polygon  # noqa: E402

import vollsmose_gis as _vg  # noqa: E402
from tests.factories import X0 as _X0  # noqa: E402
from tests.factories import Y0 as _Y0  # noqa: E402
from tests.factories import small_district as _small_district  # noqa: E402

_SHOP = {"type": "add_poi", "geometry": f"POINT ({_X0 + 60} {_Y0 + 60})", "kind": "shop"}


def _write(path, text):
    path.write_text(_textwrap.dedent(text), encoding="utf-8")
    return path


def test_infinite_or_huge_integers_are_reported_not_crashed(tmp_path):
    d = _small_district()
    buildings = d.buildings.astype({"floors": float, "dwellings": float})
    buildings.loc[0, "floors"] = _math.inf
    buildings.loc[1, "dwellings"] = 1e20
    with pytest.raises(_vg.DistrictValidationError) as info:
        _vg.validate_district(d.replace(buildings=buildings))
    message = str(info.value)
    assert (
        "feature 'b1', column 'floors'" in message and "feature 'b2', column 'dwellings'" in message
    )


def test_repairs_do_not_leave_duplicate_ids_or_a_missing_boundary():
    d = _small_district()
    streets = _pd.concat(
        [d.streets, d.streets.iloc[[0]].assign(street_id="s1-1")], ignore_index=True
    )
    streets.loc[0, "geometry"] = _LineString([(_X0, _Y0 + 1), (_X0 + 5, _Y0 + 1)]).union(
        _LineString([(_X0 + 10, _Y0 + 1), (_X0 + 20, _Y0 + 1)])
    )
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        with pytest.raises(_vg.DistrictValidationError, match="'s1-1', column 'street_id'"):
            _vg.validate_district(d.replace(streets=streets), strict=False)
        flat = _Polygon([(_X0, _Y0), (_X0 + 1, _Y0 + 1), (_X0 + 2, _Y0 + 2), (_X0, _Y0)])
        with pytest.raises(_vg.DistrictValidationError, match="cannot be repaired into an area"):
            _vg.validate_district(d.replace(boundary=flat), strict=False)
