"""GeoPackage round trip, atomic saves, GeoTIFF writer."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from tests.factories import small_district
from vollsmose_gis import (
    LAYER_NAMES,
    DistrictFileError,
    DistrictValidationError,
    Raster,
    load_district,
    save_district,
    write_geotiff,
)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_geometry_dtypes_categories_crs_provenance(tmp_path):
    d = small_district()
    path = save_district(d, tmp_path / "d.gpkg")
    back = load_district(path)
    assert back.name == d.name
    assert back.crs == d.crs == "EPSG:25832"
    assert back.provenance == d.provenance
    assert back.boundary.equals(d.boundary)
    for name in LAYER_NAMES:
        # compare whole frames: values, dtypes (incl. category lists), column order
        pd.testing.assert_frame_equal(pd.DataFrame(back.layers[name]), pd.DataFrame(d.layers[name]))
        assert back.layers[name].crs == d.layers[name].crs
    assert back.fingerprint() == d.fingerprint()
    assert isinstance(back.buildings["tenure"].dtype, pd.CategoricalDtype)
    assert "almen_youth" in back.buildings["tenure"].cat.categories


def test_round_trip_of_empty_layers(tmp_path):
    d = small_district()
    empty = d.replace(pois=d.pois.iloc[0:0], cameras=d.cameras.iloc[0:0])
    back = load_district(save_district(empty, tmp_path / "e.gpkg"))
    assert len(back.pois) == 0 and len(back.cameras) == 0
    assert back.pois.dtypes.equals(d.pois.dtypes)
    assert back.cameras.dtypes.equals(d.cameras.dtypes)


def test_layers_are_tables_and_meta_has_boundary(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    tables = {name for name, _ in pyogrio.list_layers(path)}
    assert tables == {*LAYER_NAMES, "district_meta"}
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    assert meta.geometry.iloc[0].equals(box(590_000, 6_141_000, 590_200, 6_141_200))
    assert meta["provenance_kind"].iloc[0] == "schematic"


def test_save_refuses_existing_file_without_overwrite(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    before = digest(path)
    with pytest.raises(FileExistsError, match="overwrite"):
        save_district(small_district(), path)
    assert digest(path) == before
    save_district(small_district().replace(name="Other"), path, overwrite=True)
    assert load_district(path).name == "Other"


def test_interrupted_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    before = digest(path)
    real_write = pyogrio.write_dataframe
    calls = {"n": 0}

    def failing_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # fail in the middle of writing the layers
            raise OSError("disk full (injected)")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing_write)
    with pytest.raises(OSError, match="injected"):
        save_district(small_district().replace(name="Broken"), path, overwrite=True)
    monkeypatch.undo()
    assert digest(path) == before
    assert load_district(path).name == "Testby"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.gpkg"]  # no temp file left
    # the per-table disk syncs turned off while writing are on again after the failure
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None


def test_save_turns_per_table_syncs_off_only_while_writing(tmp_path, monkeypatch):
    """Tables are written unsynced (the temporary file is synced once, then renamed)."""
    seen = []
    real_write = pyogrio.write_dataframe

    def recording_write(*args, **kwargs):
        seen.append(pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS"))
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", recording_write)
    path = save_district(small_district(), tmp_path / "d.gpkg")
    monkeypatch.undo()
    assert seen and set(seen) == {False}  # pyogrio reads "OFF" as False
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None
    assert load_district(path).name == "Testby"


def test_load_names_missing_tables(tmp_path):
    path = tmp_path / "other.gpkg"
    d = small_district()
    pyogrio.write_dataframe(d.streets, path, layer="streets", driver="GPKG")
    with pytest.raises(DistrictFileError) as info:
        load_district(path)
    message = str(info.value)
    for table in ("buildings", "landuse", "lights", "cameras", "calming", "pois", "district_meta"):
        assert table in message
    assert "missing table" in message


def test_load_non_geopackage(tmp_path):
    path = tmp_path / "notes.gpkg"
    path.write_text("hello")
    with pytest.raises(DistrictFileError, match="not a readable GeoPackage"):
        load_district(path)
    with pytest.raises(DistrictFileError, match="no such file"):
        load_district(tmp_path / "missing.gpkg")


def test_load_reports_bad_features_with_file_name(tmp_path):
    d = small_district()
    path = save_district(d, tmp_path / "d.gpkg")
    buildings = pyogrio.read_dataframe(path, layer="buildings")
    buildings.loc[0, "dwellings"] = -5
    pyogrio.write_dataframe(buildings, path, layer="buildings", driver="GPKG")
    with pytest.raises(DistrictValidationError) as info:
        load_district(path)
    assert str(path) in str(info.value)
    assert "feature 'b1', column 'dwellings'" in str(info.value)


def test_write_geotiff(tmp_path):
    array = np.arange(300 * 260, dtype="float32").reshape(300, 260)
    array[0, 0] = -1
    transform = Affine(2.0, 0, 590_000, 0, -2.0, 6_141_600)
    raster = Raster(array, transform, "EPSG:25832", nodata=-1, name="illuminance", unit="lx")
    path = write_geotiff(raster, tmp_path / "r.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 25832
        assert src.transform == transform
        assert src.nodata == -1
        assert src.profile["compress"] == "deflate"
        assert src.profile["tiled"] is True and src.block_shapes[0] == (256, 256)
        assert src.tags()["unit"] == "lx"
        np.testing.assert_array_equal(src.read(1), array)
    assert raster.bounds == (590_000, 6_141_000, 590_520, 6_141_600)
    with pytest.raises(FileExistsError):
        write_geotiff(raster, path)


def test_write_geotiff_into_missing_folder(tmp_path):
    raster = Raster(np.zeros((2, 2), "uint8"), Affine.identity(), "EPSG:25832")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_geotiff(raster, tmp_path / "nope" / "r.tif")


def _rewrite_meta(path, **changes):
    """Rewrite the district_meta table of a saved district with some fields changed."""
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    for column, value in changes.items():
        meta[column] = [value]
    pyogrio.write_dataframe(meta, path, layer="district_meta", driver="GPKG")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (2, "newer vollsmose-gis (schema_version 2)"),
        (99, "upgrade vollsmose-gis"),
        (0, "unknown schema_version 0"),
        ("banana", "unknown schema_version 'banana'"),
    ],
)
def test_unknown_schema_version_is_refused(tmp_path, version, expected):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    _rewrite_meta(path, schema_version=version)
    with pytest.raises(DistrictFileError) as info:
        load_district(path)
    assert expected in str(info.value) and str(path) in str(info.value)


def test_schema_version_1_and_missing_field_load(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    assert pyogrio.read_dataframe(path, layer="district_meta")["schema_version"].iloc[0] == 1
    meta = pyogrio.read_dataframe(path, layer="district_meta").drop(columns="schema_version")
    pyogrio.write_dataframe(meta, path, layer="district_meta", driver="GPKG")
    assert len(load_district(path).buildings) == len(small_district().buildings)


def test_meta_without_crs_says_so_not_rows(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    pyogrio.write_dataframe(
        meta.set_crs(None, allow_override=True), path, layer="district_meta", driver="GPKG"
    )
    with pytest.raises(DistrictFileError) as info:
        load_district(path)
    message = str(info.value)
    assert "has no CRS" in message and "found 1 rows" not in message
    assert str(path) in message


def test_meta_with_two_rows_counts_them(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    meta = pyogrio.read_dataframe(path, layer="district_meta")
    pyogrio.write_dataframe(
        pd.concat([meta, meta], ignore_index=True), path, layer="district_meta", driver="GPKG"
    )
    with pytest.raises(DistrictFileError, match=r"exactly one row .* found 2 rows"):
        load_district(path)


def test_absurd_lamp_in_a_file_is_refused_naming_it(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    lights = pyogrio.read_dataframe(path, layer="lights")
    lights["lumens"] = lights["lumens"].astype("float64")
    lights.loc[0, "lumens"] = np.nan
    pyogrio.write_dataframe(lights, path, layer="lights", driver="GPKG")
    with pytest.raises(DistrictValidationError) as info:
        load_district(path)
    feature = lights.loc[0, "light_id"]
    assert f"layer 'lights', feature '{feature}', column 'lumens': value is missing" in str(
        info.value
    )


# ---- regressions of earlier reviews (folded in from test_review_regressions.py)

import textwrap as _textwrap  # noqa: E402

import pandas as _pd  # noqa: E402
import pyogrio as _pyogrio  # noqa: E402

import vollsmose_gis as _vg  # noqa: E402
from tests.factories import X0 as _X0  # noqa: E402
from tests.factories import Y0 as _Y0  # noqa: E402
from tests.factories import small_district as _small_district  # noqa: E402

_SHOP = {"type": "add_poi", "geometry": f"POINT ({_X0 + 60} {_Y0 + 60})", "kind": "shop"}


def _write(path, text):
    path.write_text(_textwrap.dedent(text), encoding="utf-8")
    return path


def test_layer_tables_without_geometry_and_empty_metadata(tmp_path):
    path = _vg.save_district(_small_district(), tmp_path / "d.gpkg")
    meta = _pyogrio.read_dataframe(path, layer="district_meta")
    meta["provenance_notes"] = None
    _pyogrio.write_dataframe(meta, path, layer="district_meta", driver="GPKG")
    assert _vg.load_district(path).provenance.notes == ""
    _pyogrio.write_dataframe(_pd.DataFrame({"poi_id": ["x"]}), path, layer="pois", driver="GPKG")
    with pytest.raises(_vg.DistrictFileError, match="pois have no geometry column"):
        _vg.load_district(path)
