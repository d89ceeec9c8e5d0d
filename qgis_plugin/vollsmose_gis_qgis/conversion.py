"""The one place where QGIS layers become GeoDataFrames and Districts, and back.

- :func:`source_to_frame` reads a feature source (honouring "selected features only",
  which QGIS resolves in the source it hands to an algorithm) into a GeoDataFrame whose
  index is the QGIS feature id, with every attribute and the layer's CRS.
- :func:`map_fields` renames a layer's own columns to the District schema's (a
  municipality's lamp register with ``LYSFLUX`` instead of ``lumens``...) and fills a
  missing id column from the feature ids.
- :func:`assemble_district` builds a District from such frames: one projected CRS
  (layers in a geographic CRS are reprojected, with a message), a boundary from a
  boundary layer or the layers' extent, empty/missing layers allowed, repairs reported.
- :func:`frame_fields` / :func:`frame_features` turn a GeoDataFrame back into QGIS
  fields and features for a sink, keeping attributes, feature ids and CRS.
- :func:`raster_layer_to_raster` reads a single-band QGIS raster layer into the
  library's :class:`vollsmose_gis.io.Raster` (a planner's priority surface).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSource,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from vollsmose_gis.district import DEFAULT_CRS, LAYER_NAMES, District, Provenance, Settings
from vollsmose_gis.io import Raster
from vollsmose_gis.schema import RepairWarning, validate_district
from vollsmose_gis.standards import layer_schemas

from ._compat import QgsProcessingException, WkbType

__all__ = [
    "AssembledDistrict",
    "assemble_district",
    "crs_string",
    "frame_features",
    "frame_fields",
    "layer_path",
    "map_fields",
    "provenance_of",
    "qgs_crs",
    "raster_layer_to_raster",
    "source_to_frame",
    "wkb_type",
]

Message = Callable[[str], None]


# --------------------------------------------------------------------------- CRS


def crs_string(crs: QgsCoordinateReferenceSystem) -> str | None:
    """Return a CRS as ``"EPSG:xxxx"`` (or WKT when it has no authority id); None if unset."""
    if not crs.isValid():
        return None
    authid = crs.authid()
    if authid:
        return authid
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def qgs_crs(crs: Any) -> QgsCoordinateReferenceSystem:
    """Return a QGIS CRS for a pyproj CRS or a CRS string."""
    if crs is None:
        return QgsCoordinateReferenceSystem()
    parsed = pyproj.CRS.from_user_input(crs)
    authority = parsed.to_authority()
    if authority is not None:
        result = QgsCoordinateReferenceSystem(f"{authority[0]}:{authority[1]}")
        if result.isValid():
            return result
    return QgsCoordinateReferenceSystem.fromWkt(parsed.to_wkt())


# --------------------------------------------------------------------------- layer -> frame


def _python_value(value: Any) -> Any:
    """A QGIS attribute value as a plain Python value (NULL -> None, QDate -> date...)."""
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.isValid() else None
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    return value


# Qt type codes, equal in QVariant::Type (Qt 5, QGIS < 3.38) and QMetaType::Type (Qt 5/6,
# QGIS >= 3.38, QGIS 4): comparing codes works with either enum.
_BOOL, _INT, _UINT, _LONGLONG, _ULONGLONG, _DOUBLE, _STRING, _DATETIME = 1, 2, 3, 4, 5, 6, 10, 16


def _code(qtype: Any) -> int:
    """The integer code of a Qt type enum (a Python enum in Qt 6 bindings, else an int)."""
    return int(getattr(qtype, "value", qtype))


def _column(values: list[Any], qtype: Any) -> pd.Series:
    """Build a column with a dtype matching the QGIS field type (nullable where needed)."""
    series = pd.Series(values, dtype=object)
    code = _code(qtype)
    if code == _BOOL:
        return series.astype("boolean")
    if code in (_INT, _LONGLONG, _UINT, _ULONGLONG):
        return series.astype("Int64")
    if code == _DOUBLE:
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if code == _STRING:
        return series.astype("string")
    return series


def source_to_frame(source: QgsFeatureSource, *, what: str = "layer") -> gpd.GeoDataFrame:
    """Read a QGIS feature source into a GeoDataFrame.

    Parameters
    ----------
    source
        A layer or the source Processing hands an algorithm (already limited to the
        selected features when the user ticked "Selected features only").
    what
        Name of the input for messages.

    Returns
    -------
    GeoDataFrame
        Index: the QGIS feature ids (named ``fid``); one column per field (a GeoPackage
        ``fid`` field equal to the feature id is not repeated); geometry from WKB; CRS
        of the source.  Features without geometry are kept with an empty geometry.
    """
    fields = source.fields()
    names = fields.names()
    types = [fields.at(i).type() for i in range(fields.count())]
    ids: list[int] = []
    wkbs: list[bytes | None] = []
    rows: list[list[Any]] = []
    for feature in source.getFeatures(QgsFeatureRequest()):
        ids.append(int(feature.id()))
        shape = feature.geometry()
        wkbs.append(bytes(shape.asWkb()) if not shape.isNull() else None)
        rows.append([_python_value(v) for v in feature.attributes()])
    columns = {name: _column([row[i] for row in rows], types[i]) for i, name in enumerate(names)}
    data = pd.DataFrame(columns)  # columns on a RangeIndex: align first, then re-index
    data.index = pd.Index(ids, name="fid", dtype="int64")
    for name in names:
        values = data[name]
        if name.lower() == "fid" and values.notna().all() and values.tolist() == ids:
            data = data.drop(columns=name)
    parsed = shapely.from_wkb(np.array(wkbs, dtype=object))
    geometry = np.where(pd.isna(parsed), shapely.from_wkt("GEOMETRYCOLLECTION EMPTY"), parsed)
    crs = crs_string(source.sourceCrs())
    frame = gpd.GeoDataFrame(data, geometry=list(geometry), crs=crs)
    frame.index.name = "fid"
    # QGIS layers are often 2.5-D (PolygonZ from a survey); the District is planar.
    if len(frame) and shapely.has_z(frame.geometry.to_numpy()).any():
        frame = frame.set_geometry(shapely.force_2d(frame.geometry.to_numpy()), crs=crs)
    frame.attrs["what"] = what
    return frame


def layer_path(layer: QgsVectorLayer | None) -> Path | None:
    """The file a layer reads, if it is a file-based OGR layer."""
    if layer is None:
        return None
    registry = QgsProviderRegistry.instance()
    if registry is None:  # a null pointer for SIP; never so in a running QGIS
        return None
    parts = registry.decodeUri(layer.providerType(), layer.source())
    path = parts.get("path")
    return Path(path) if path and os.path.isfile(path) else None


def provenance_of(paths: list[Path]) -> tuple[str, Provenance, Settings] | None:
    """Name, provenance and settings of a district GeoPackage among ``paths``.

    Layers loaded from a district GeoPackage (``save_district``, the embedded Vollsmose
    model, an OSM import) carry their provenance there, which outputs must repeat, and
    the district's settings (city centre, legal rules, rule area), which change results.
    """
    import pyogrio

    from vollsmose_gis.io import META_TABLE

    for path in dict.fromkeys(paths):
        if path.suffix.lower() != ".gpkg":
            continue
        try:
            tables = {str(name) for name, _ in pyogrio.list_layers(path)}
            if META_TABLE not in tables:
                continue
            meta = pyogrio.read_dataframe(path, layer=META_TABLE, read_geometry=False)
        except Exception:  # unreadable metadata only loses the provenance, not the run
            continue
        fields = {
            column.removeprefix("provenance_"): str(meta[column].iloc[0])
            for column in meta.columns
            if column.startswith("provenance_")
        }
        settings = Settings()
        if "settings" in meta.columns and isinstance(meta["settings"].iloc[0], str):
            try:
                settings = Settings.from_dict(json.loads(meta["settings"].iloc[0]))
            except (TypeError, ValueError):
                settings = Settings()  # unreadable settings: nothing assumed, as for layers
        try:
            return str(meta["name"].iloc[0]), Provenance(**fields), settings
        except (TypeError, ValueError):
            continue
    return None


# --------------------------------------------------------------------------- field mapping


def map_fields(
    frame: gpd.GeoDataFrame,
    layer: str,
    mapping: Mapping[str, str | None],
    *,
    what: str,
    labels: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Rename a layer's own fields to the District schema's columns.

    Parameters
    ----------
    frame
        The layer as read by :func:`source_to_frame` (index: feature ids).
    layer
        District layer name (``"lights"``...).
    mapping
        Schema column -> the layer's field holding it.  None or ``""``: use the schema
        column if the layer has it.  A missing id column is filled with the feature ids.
    what
        The input's name for messages (e.g. ``"Street lamps"``).
    labels
        Schema column -> the field-mapping parameter's label, for messages.

    Raises
    ------
    QgsProcessingException
        A mapped field does not exist in the layer (its fields are listed).
    """
    id_column = layer_schemas()[layer]["id"]
    out = frame.copy()
    renames: dict[str, str] = {}
    for column, chosen in mapping.items():
        if not chosen or chosen == column:
            continue
        if chosen not in frame.columns:
            label = (labels or {}).get(column, column)
            fields = ", ".join(c for c in frame.columns if c != frame.geometry.name) or "none"
            raise QgsProcessingException(
                f"{what}: the field {chosen!r} chosen for {label!r} does not exist in the "
                f"layer. Its fields are: {fields}. Choose one of them or leave the mapping "
                f"empty to use a field named {column!r}."
            )
        renames[chosen] = column
    # A mapped field replaces a schema-named column the layer may also carry.
    out = out.drop(columns=[c for c in renames.values() if c in out.columns and c not in renames])
    out = out.rename(columns=renames)
    if id_column not in out.columns:
        out.insert(0, id_column, pd.array([str(i) for i in out.index], dtype="string"))
    elif out[id_column].isna().any():
        filled = out[id_column].astype("string")
        fids = pd.Series([str(i) for i in out.index], index=out.index, dtype="string")
        out[id_column] = filled.fillna(fids)
    return out


# --------------------------------------------------------------------------- district


@dataclass
class AssembledDistrict:
    """A District built from QGIS layers, with what was done to get it."""

    district: District
    feature_ids: dict[str, list[int]]
    """Per layer, the QGIS feature id of each row (the District's rows keep this order)."""
    messages: list[str] = field(default_factory=list)
    """Reprojections and repairs, one sentence each (already pushed to feedback)."""


def _district_crs(frames: Mapping[str, gpd.GeoDataFrame], warn: Message) -> str:
    """The projected CRS of the district: the first projected input's, else local UTM."""
    for frame in frames.values():
        if frame.crs is not None and frame.crs.is_projected and len(frame):
            return str(frame.crs.to_string())
    for frame in frames.values():
        if frame.crs is not None and frame.crs.is_projected:
            return str(frame.crs.to_string())
    located = [f for f in frames.values() if f.crs is not None and len(f)]
    if not located:
        return DEFAULT_CRS
    utm = located[0].estimate_utm_crs()
    code = utm.to_epsg()
    crs = f"EPSG:{code}" if code else utm.to_wkt()
    warn(
        f"no input layer is in a projected CRS (metres); the district is analysed in {crs} "
        f"({utm.name}), the UTM zone of the data. Outputs are in that CRS."
    )
    return crs


def assemble_district(  # noqa: C901 - waiver: one validation per kind of input layer problem, in the order a user meets them
    frames: Mapping[str, gpd.GeoDataFrame | None],
    *,
    boundary: gpd.GeoDataFrame | None = None,
    name: str = "District from QGIS layers",
    provenance: Provenance | None = None,
    settings: Settings | None = None,
    info: Message = lambda _: None,
    warn: Message = lambda _: None,
) -> AssembledDistrict:
    """Build a District from layers read with :func:`source_to_frame` (and mapped).

    Parameters
    ----------
    frames
        District layer name -> frame (None or empty: the layer is empty in the District).
    boundary
        Polygons of the study area (dissolved); default: the bounding box of all input
        features.
    name, provenance
        Of the District (default provenance: "QGIS layers", licence unknown).
    info, warn
        Where to report what was done (``feedback.pushInfo`` / ``pushWarning``).

    Raises
    ------
    QgsProcessingException
        No features at all, an empty or non-polygon boundary.
    DistrictValidationError
        Problems that cannot be repaired (the algorithm turns it into a
        QgsProcessingException with every problem listed).
    """
    unknown = set(frames) - set(LAYER_NAMES)
    if unknown:
        raise ValueError(f"unknown District layer(s) {sorted(unknown)}")
    given = {k: v for k, v in frames.items() if v is not None and len(v)}
    for key, frame in frames.items():
        if frame is not None and not len(frame):
            info(f"{frame.attrs.get('what', key)}: the layer has no features; it is left empty.")
    located = dict(given)
    if boundary is not None and len(boundary):
        located = {"boundary": boundary, **given}
    for key, frame in located.items():
        if frame.crs is None:
            raise QgsProcessingException(
                f"{frame.attrs.get('what', key)}: the layer has no coordinate reference "
                "system; set one in the layer properties (Source > Assigned CRS)."
            )
    messages: list[str] = []

    def _warn(text: str) -> None:
        messages.append(text)
        warn(text)

    crs = _district_crs(located, _warn)
    target = pyproj.CRS.from_user_input(crs)
    projected: dict[str, gpd.GeoDataFrame] = {}
    for key, frame in located.items():
        if pyproj.CRS.from_user_input(frame.crs) == target:
            projected[key] = frame
            continue
        what = frame.attrs.get("what", key)
        if frame.crs.is_geographic:
            _warn(
                f"{what}: the layer is in a geographic CRS ({frame.crs.to_string()}, degrees); "
                f"reprojected to {crs} so that distances and areas are in metres."
            )
        else:
            info(f"{what}: reprojected from {frame.crs.to_string()} to {crs}.")
        projected[key] = frame.to_crs(target)
    if boundary is not None and len(boundary):
        polygons = projected.pop("boundary").geometry
        polygons = polygons[polygons.geom_type.isin(["Polygon", "MultiPolygon"])]
        area = shapely.union_all(shapely.make_valid(polygons.to_numpy())) if len(polygons) else None
        if area is None or area.is_empty or area.area <= 0:
            raise QgsProcessingException(
                f"{boundary.attrs.get('what', 'Boundary')}: the boundary layer holds no polygon "
                "with an area; give a polygon layer or leave it empty to use the layers' extent."
            )
        study_area: BaseGeometry = area
    else:
        if not projected:
            raise QgsProcessingException(
                "every input layer is empty or missing: there is nothing to analyse."
            )
        bounds = np.array([f.total_bounds for f in projected.values()])
        study_area = box(
            bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()
        )
        info("no boundary layer: the study area is the bounding box of the input layers.")
    feature_ids = {key: [int(i) for i in frame.index] for key, frame in projected.items()}
    district = District.create(
        name,
        study_area,
        crs=crs,
        provenance=provenance
        or Provenance(source="QGIS layers", licence="unknown (that of the input layers)"),
        settings=settings,
        **projected,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RepairWarning)
        district = validate_district(district, strict=False, source="(the input layers)")
    for item in caught:
        if issubclass(item.category, RepairWarning):
            _warn(f"repaired: {item.message}")
    return AssembledDistrict(district, feature_ids, messages)


# --------------------------------------------------------------------------- frame -> QGIS


def _field_type(dtype: Any) -> Any:
    """The QGIS field type of a column: QMetaType.Type on QGIS >= 3.38 (and QGIS 4 / Qt 6,
    where QVariant.Type is gone), QVariant.Type before (QGIS 3.22 has only that).
    """
    if pd.api.types.is_bool_dtype(dtype):
        code = _BOOL
    elif pd.api.types.is_integer_dtype(dtype):
        code = _LONGLONG
    elif pd.api.types.is_float_dtype(dtype):
        code = _DOUBLE
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        code = _DATETIME
    else:
        code = _STRING
    if int(getattr(Qgis, "QGIS_VERSION_INT", 0)) >= 33800:
        from qgis.PyQt.QtCore import QMetaType

        return QMetaType.Type(code)
    return QVariant.Type(code)


def frame_fields(frame: pd.DataFrame) -> QgsFields:
    """QGIS fields for a frame's non-geometry columns (bool, int64, double, text)."""
    fields = QgsFields()
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for column in frame.columns:
        if column == geometry:
            continue
        # QgsField(name, QVariant.Type) is the only constructor QGIS 3.22 has; QGIS >= 3.38
        # and QGIS 4 take QMetaType.Type (see _field_type).
        field = QgsField(str(column), _field_type(frame[column].dtype))
        fields.append(field)
    return fields


def wkb_type(frame: gpd.GeoDataFrame, default: str = "Point") -> WkbType:
    """The QGIS geometry type of a frame: its single type, Multi* when mixed single/multi."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return QgsWkbTypes.NoGeometry
    present = set(frame.geom_type.dropna()) - {"GeometryCollection"}
    if not present:
        name = default
    elif len(present) == 1:
        name = present.pop()
    else:
        bases = {kind.removeprefix("Multi") for kind in present}
        name = f"Multi{bases.pop()}" if len(bases) == 1 else "GeometryCollection"
    return QgsWkbTypes.parseType(name)


def _plain(value: Any) -> Any:
    """A frame value as something QgsFeature.setAttributes accepts."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    if isinstance(value, list | tuple | set | np.ndarray):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, pd.Timestamp):
        return QDateTime(value.to_pydatetime())
    if isinstance(value, dt.datetime):
        return QDateTime(value)
    return value


def frame_features(
    frame: pd.DataFrame, fields: QgsFields, wkb: WkbType | None = None
) -> Iterator[QgsFeature]:
    """Yield one QGIS feature per row: attributes in ``fields`` order, geometry from WKB.

    An integer index is used as the feature id (a sink may assign its own ids).
    Geometries are promoted to multi-part when the target type ``wkb`` is multi.
    """
    is_geo = isinstance(frame, gpd.GeoDataFrame)
    names = fields.names()
    columns = [frame[name].astype(object).to_numpy() for name in names]
    wkbs = (
        shapely.to_wkb(frame.geometry.to_numpy(), output_dimension=2)
        if is_geo
        else [None] * len(frame)
    )
    multi = wkb is not None and QgsWkbTypes.isMultiType(wkb)
    integer_index = pd.api.types.is_integer_dtype(frame.index.dtype)
    for row, (index, blob) in enumerate(zip(frame.index, wkbs, strict=True)):
        feature = QgsFeature(fields)
        if integer_index:
            feature.setId(int(index))
        feature.setAttributes([_plain(column[row]) for column in columns])
        if blob is not None:
            geometry = QgsGeometry()
            geometry.fromWkb(bytes(blob))
            if multi and not geometry.isMultipart() and not geometry.isEmpty():
                geometry.convertToMultiType()
            feature.setGeometry(geometry)
        yield feature


# --------------------------------------------------------------------------- raster layer

# Qgis.DataType codes (QGIS 3.x; also Qgis::DataType in QGIS 4) -> NumPy dtypes.
_RASTER_DTYPES = {
    1: np.uint8,
    2: np.uint16,
    3: np.int16,
    4: np.uint32,
    5: np.int32,
    6: np.float32,
    7: np.float64,
}


def raster_layer_to_raster(layer: QgsRasterLayer, *, what: str = "raster") -> Raster:
    """Read band 1 of a single-band QGIS raster layer into a library Raster.

    Parameters
    ----------
    layer
        A valid raster layer with one band of numbers, north-up (any provider QGIS
        reads: a GeoTIFF, a temporary output of another algorithm ...).
    what
        Name of the input for messages.

    Returns
    -------
    Raster
        ``array`` float64 with the layer's no-data cells as NaN (``nodata`` None),
        the transform from the layer's extent and cell size, the layer's CRS.

    Raises
    ------
    QgsProcessingException
        A layer with several bands, no CRS, or a cell type that is not a number.
    """
    name = layer.name() or what
    if layer.bandCount() != 1:
        raise QgsProcessingException(
            f"{what} {name!r} has {layer.bandCount()} bands; give a single-band raster "
            "(one weight per cell)."
        )
    crs = crs_string(layer.crs())
    if crs is None:
        raise QgsProcessingException(f"{what} {name!r} has no CRS; set the layer's CRS.")
    provider = layer.dataProvider()
    if provider is None:  # a null pointer for SIP; never so for a valid layer
        raise QgsProcessingException(f"{what} {name!r}: the layer cannot be read.")
    code = int(getattr(provider.dataType(1), "value", provider.dataType(1)))
    dtype = _RASTER_DTYPES.get(code)
    if dtype is None:
        raise QgsProcessingException(
            f"{what} {name!r} holds cells of QGIS data type {code}, not plain numbers; "
            "convert it to a Float32 GeoTIFF."
        )
    extent = layer.extent()
    cols, rows = layer.width(), layer.height()
    block = provider.block(1, extent, cols, rows)
    if block is None or not block.isValid():
        raise QgsProcessingException(f"{what} {name!r}: the cells cannot be read.")
    array = np.frombuffer(bytes(block.data()), dtype=dtype).reshape(rows, cols)
    values = array.astype(np.float64)
    if block.hasNoDataValue():
        values[array == block.noDataValue()] = np.nan
    from affine import Affine

    transform = Affine(
        layer.rasterUnitsPerPixelX(),
        0.0,
        extent.xMinimum(),
        0.0,
        -layer.rasterUnitsPerPixelY(),
        extent.yMaximum(),
    )
    return Raster(values, transform, crs, name=name)
