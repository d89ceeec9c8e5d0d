"""Reading and writing Districts (GeoPackage) and rasters (GeoTIFF).

Writes are atomic: data goes to a temporary file next to the target, which is renamed
over the target only once complete, so a crash or an error never leaves half a file
and never damages an existing one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from affine import Affine

from vollsmose_gis._errors import DistrictFileError
from vollsmose_gis.district import LAYER_NAMES, OPTIONAL_LAYERS, District, Provenance, Settings
from vollsmose_gis.standards import layer_schemas
from vollsmose_gis.validation import validate_district

__all__ = [
    "META_TABLE",
    "Raster",
    "atomic_path",
    "load_district",
    "save_district",
    "save_layers",
    "write_geotiff",
    "write_layer",
]

META_TABLE = "district_meta"
SCHEMA_VERSION = 1


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False (nothing is written).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    if not target.parent.exists():
        raise FileNotFoundError(f"cannot write {target}: folder {target.parent} does not exist")
    handle, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent
    )
    os.close(handle)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (GDAL) want to create the file themselves
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, *tmp.parent.glob(tmp.name + "-*")):
            if leftover.exists():
                leftover.unlink()


@contextlib.contextmanager
def _one_sync(path: Path) -> Iterator[None]:
    """Write a GeoPackage's tables without a disk sync per table, then sync it once.

    GDAL commits every table it writes to a GeoPackage (SQLite) with a sync to disk.
    The file written here is the temporary one of :func:`atomic_path`, worthless until
    it is renamed over the target, so the syncs in between buy nothing: they are
    turned off (``OGR_SQLITE_SYNCHRONOUS``) and the finished file is synced once
    before the rename.  About a third of the time of writing a district (issue 22).
    """
    option = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({option: before})
    if path.exists():  # no table, no file
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def save_district(
    district: District,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    extra_layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> Path:
    """Write a District to a GeoPackage: one table per layer plus ``district_meta``.

    Parameters
    ----------
    district
        The District to write (all layers, even empty ones).
    path
        Target ``.gpkg`` file.
    overwrite
        Replace an existing file.  Without it an existing file is refused.
    extra_layers
        Result layers written beside the district's (e.g. ``calming_speeds``); their
        names must not clash with the district's tables.  :func:`load_district` ignores
        them.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    schemas = layer_schemas()
    with atomic_path(path, overwrite=overwrite) as tmp, _one_sync(tmp):
        for name, frame in district.layers.items():
            geometry_type = _geometry_type(frame, schemas[name]["geometry"])
            pyogrio.write_dataframe(
                _for_writing(frame),
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=geometry_type,
                promote_to_multi=False,
            )
        meta = gpd.GeoDataFrame(
            {
                "name": [district.name],
                "schema_version": [SCHEMA_VERSION],
                "settings": [json.dumps(district.settings.to_dict(), ensure_ascii=False)],
                **{f"provenance_{k}": [v] for k, v in district.provenance.to_dict().items()},
            },
            geometry=[district.boundary],
            crs=district.crs,
        )
        pyogrio.write_dataframe(meta, tmp, layer=META_TABLE, driver="GPKG", promote_to_multi=False)
        for name, frame in (extra_layers or {}).items():
            if name in (*LAYER_NAMES, META_TABLE):
                raise ValueError(f"extra layer {name!r} clashes with a district table")
            write_layer(frame, tmp, name)
    return Path(path)


def _geometry_type(frame: gpd.GeoDataFrame, allowed: list[str]) -> str:
    """Return the GeoPackage geometry type of a layer: its single type, else generic.

    A layer holding both Polygons and MultiPolygons is written as generic "Unknown"
    geometry rather than promoted, so a round trip keeps every feature's type.
    """
    present = set(frame.geom_type.dropna())
    if len(present) == 1:
        return present.pop()
    return allowed[0] if not present else "Unknown"


def save_layers(
    layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write result layers (no district) to one GeoPackage, atomically.

    Each layer keeps its geometry type (generic when it mixes types); categories are
    written as text.  Use :func:`save_district` with ``extra_layers`` when the district
    itself belongs in the file.
    """
    with atomic_path(path, overwrite=overwrite) as tmp, _one_sync(tmp):
        for name, frame in layers.items():
            write_layer(frame, tmp, name)
    return Path(path)


def write_layer(frame: gpd.GeoDataFrame, path: str | os.PathLike[str], layer: str) -> None:
    """Add one GeoDataFrame as a table to a GeoPackage (categories written as text).

    Not atomic by itself: call it on the temporary path of :func:`atomic_path`.
    """
    present = set(frame.geom_type.dropna()) if len(frame) else set()
    geometry_type = present.pop() if len(present) == 1 else "Unknown"
    pyogrio.write_dataframe(
        _for_writing(frame),
        path,
        layer=layer,
        driver="GPKG",
        geometry_type=geometry_type,
        promote_to_multi=False,
    )


def _for_writing(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn categories into plain strings so GDAL writes them as text fields."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype("string")
    return out


def _check_meta(meta: Any, source: Path) -> None:
    """Refuse a ``district_meta`` table that is not one row, has no CRS or a newer schema.

    Raises
    ------
    DistrictFileError
        Naming the file and what to do.
    """
    if not isinstance(meta, gpd.GeoDataFrame) or len(meta) != 1:
        rows = len(meta)
        raise DistrictFileError(
            f"{source}: table {META_TABLE!r} must hold exactly one row (the district's name, "
            f"boundary and provenance), found {rows} row{'s' if rows != 1 else ''}"
            + ("" if isinstance(meta, gpd.GeoDataFrame) else " and no boundary geometry")
        )
    if meta.crs is None:
        raise DistrictFileError(
            f"{source}: table {META_TABLE!r} has no CRS, so the district's coordinates "
            "cannot be placed; write the file again with save_district, or assign the "
            "projected CRS of the data to every table (e.g. EPSG:25832)"
        )
    if "schema_version" not in meta.columns:
        return  # files written before the field existed are version 1
    value = meta["schema_version"].iloc[0]
    try:
        version = int(value)
        known = float(value) == version
    except (TypeError, ValueError, OverflowError):
        known = False
    if not known or version < 1:
        raise DistrictFileError(
            f"{source}: table {META_TABLE!r} has an unknown schema_version {value!r}; "
            f"this vollsmose-gis reads version {SCHEMA_VERSION} (an integer >= 1)"
        )
    if version > SCHEMA_VERSION:
        raise DistrictFileError(
            f"{source}: written by a newer vollsmose-gis (schema_version {version}); this "
            f"version reads schema_version {SCHEMA_VERSION} and older — upgrade vollsmose-gis"
        )


def load_district(path: str | os.PathLike[str], *, strict: bool = True) -> District:
    """Read a District from a GeoPackage written by :func:`save_district`.

    Parameters
    ----------
    path
        A ``.gpkg`` file with the layer tables and ``district_meta``.  The evidence
        tables (``incidents``, ``safety_walk``; :data:`~vollsmose_gis.district.OPTIONAL_LAYERS`)
        may be absent (files written before they existed): they read as empty layers.
    strict
        Passed to :func:`vollsmose_gis.validate_district`: if False, repairable
        problems (e.g. a layer in another CRS) are repaired with a warning.

    Raises
    ------
    DistrictFileError
        The file is missing, is not a GeoPackage, lacks tables (all missing tables
        are named), or its ``district_meta`` is not one row with a CRS or has a
        ``schema_version`` this version does not know (newer, or not an integer).
    DistrictValidationError
        A layer breaks the schema (every problem is listed).
    """
    source = Path(path)
    if not source.exists():
        raise DistrictFileError(f"{source}: no such file")
    try:
        tables = {str(name) for name, _ in pyogrio.list_layers(source)}
    except Exception as exc:  # GDAL raises several types for "not a dataset"
        raise DistrictFileError(f"{source}: not a readable GeoPackage ({exc})") from exc
    required = [t for t in (*LAYER_NAMES, META_TABLE) if t not in OPTIONAL_LAYERS]
    missing = [t for t in required if t not in tables]
    if missing:
        raise DistrictFileError(
            f"{source}: not a district GeoPackage; missing table(s): {', '.join(missing)} "
            f"(a district file has {', '.join(required)}; optionally "
            f"{', '.join(sorted(OPTIONAL_LAYERS))})"
        )
    meta = pyogrio.read_dataframe(source, layer=META_TABLE)
    _check_meta(meta, source)
    crs = meta.crs.to_string()

    def text(value: Any) -> str:
        return "" if value is None or pd.isna(value) else str(value)

    fields = {
        column.removeprefix("provenance_"): text(meta[column].iloc[0])
        for column in meta.columns
        if column.startswith("provenance_") and pd.notna(meta[column].iloc[0])
    }
    try:
        provenance = Provenance(**fields)
    except (TypeError, ValueError) as exc:
        raise DistrictFileError(
            f"{source}: table {META_TABLE!r} has bad provenance ({exc})"
        ) from exc
    # an optional table the file lacks (written before it existed) becomes an empty layer
    layers = {
        name: pyogrio.read_dataframe(source, layer=name) for name in LAYER_NAMES if name in tables
    }
    flat = [name for name, frame in layers.items() if not isinstance(frame, gpd.GeoDataFrame)]
    if flat:
        raise DistrictFileError(
            f"{source}: table(s) {', '.join(flat)} have no geometry column; every layer table "
            "of a district needs one (point, line or polygon)"
        )
    settings = Settings()
    if "settings" in meta.columns and text(meta["settings"].iloc[0]):
        try:
            settings = Settings.from_dict(json.loads(text(meta["settings"].iloc[0])))
        except (ValueError, TypeError) as exc:
            raise DistrictFileError(
                f"{source}: table {META_TABLE!r} has bad settings ({exc}); fix or drop the "
                "settings field"
            ) from exc
    district = District.create(
        text(meta["name"].iloc[0]),
        meta.geometry.iloc[0],
        crs=crs,
        provenance=provenance,
        settings=settings,
        **layers,
    )
    return validate_district(district, strict=strict, source=str(source))


@dataclass(frozen=True)
class Raster:
    """A single-band raster: values, georeferencing and what the values mean.

    Attributes
    ----------
    array
        2-D array, row 0 at the top (north).
    transform
        Affine transform from (col, row) to CRS coordinates of the cell corner.
    crs
        CRS of the transform.
    nodata
        Value marking cells with no data (None if every cell has data).
    name
        Short name of the quantity, e.g. ``"illuminance"``.
    unit
        Unit of the values, e.g. ``"lx"``.
    description
        Free text written into the GeoTIFF metadata (provenance, method).
    """

    array: np.ndarray
    transform: Affine
    crs: str
    nodata: float | int | None = None
    name: str = "value"
    unit: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def resolution_m(self) -> float:
        """Cell width in CRS units (metres)."""
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the raster extent."""
        rows, cols = self.array.shape
        left, top = self.transform @ (0, 0)
        right, bottom = self.transform @ (cols, rows)
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))


def write_geotiff(raster: Raster, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a :class:`Raster` as a compressed, tiled GeoTIFF with CRS, transform and nodata.

    Parameters
    ----------
    raster
        The raster to write.
    path
        Target ``.tif`` file; written atomically.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.
    """
    array = np.asarray(raster.array)
    if array.ndim != 2:
        raise ValueError(f"raster {raster.name!r} must be 2-D, got shape {array.shape}")
    rows, cols = array.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": array.dtype.name if array.dtype != np.bool_ else "uint8",
        "crs": raster.crs,
        "transform": raster.transform,
        "nodata": raster.nodata,
        "compress": "deflate",
    }
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(path, overwrite=overwrite) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(array.astype(profile["dtype"]), 1)
        dst.set_band_description(1, raster.name)
        dst.update_tags(
            name=raster.name, unit=raster.unit, description=raster.description, **raster.tags
        )
    return Path(path)
