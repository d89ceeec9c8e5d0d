"""What every vollsmose-gis algorithm shares.

- District inputs: one optional (or required) vector parameter per District layer, a
  boundary layer, and field-mapping parameters for the columns a planner's own layer
  may name differently; :meth:`VollsmoseAlgorithm.read_district` turns them into a
  District through :mod:`..conversion`.
- Outputs: GeoDataFrames to feature sinks, :class:`vollsmose_gis.Raster` to GeoTIFF
  through the library's one writer, indicator tables; each output gets its shipped QML
  style and the provenance statement when QGIS loads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from qgis.core import (
    QgsFeatureSink,
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from vollsmose_gis import Raster, write_geotiff
from vollsmose_gis.district import District, Provenance
from vollsmose_gis.indicators import Indicator
from vollsmose_gis.standards import layer_schemas

from .. import conversion
from .._compat import QgsProcessingException, SourceType
from ..feedback import library_call

__all__ = ["STYLES", "LayerInput", "VollsmoseAlgorithm"]

PACKAGE_DIR = Path(__file__).resolve().parents[1]
STYLES = PACKAGE_DIR / "styles"
ICONS = PACKAGE_DIR / "icons"

LAYER_LABELS: dict[str, str] = {
    "streets": "Streets and paths [lines]",
    "buildings": "Buildings [polygons]",
    "landuse": "Land-use areas [polygons]",
    "lights": "Street lamps [points]",
    "cameras": "CCTV cameras [points]",
    "calming": "Traffic-calming devices [points]",
    "pois": "Points of interest: shops, schools, stops… [points]",
    "incidents": "Incidents [points]",
    "safety_walk": "Safety-walk marks [points or lines]",
}

LAYER_GEOMETRY: dict[str, SourceType] = {
    "streets": QgsProcessing.TypeVectorLine,
    "buildings": QgsProcessing.TypeVectorPolygon,
    "landuse": QgsProcessing.TypeVectorPolygon,
    "lights": QgsProcessing.TypeVectorPoint,
    "cameras": QgsProcessing.TypeVectorPoint,
    "calming": QgsProcessing.TypeVectorPoint,
    "pois": QgsProcessing.TypeVectorPoint,
    "incidents": QgsProcessing.TypeVectorPoint,
    "safety_walk": QgsProcessing.TypeVectorAnyGeometry,
}

COLUMN_LABELS: dict[tuple[str, str], str] = {
    ("streets", "street_id"): "Street id field",
    ("streets", "highway"): "Road class field (OSM highway values)",
    ("streets", "maxspeed_kmh"): "Speed limit field (km/h)",
    ("buildings", "building_id"): "Building id field",
    ("buildings", "use"): "Building use field",
    ("buildings", "dwellings"): "Number of dwellings field",
    ("buildings", "tenure"): "Tenure field",
    ("buildings", "height_m"): "Building height field (m)",
    ("landuse", "landuse_id"): "Land-use id field",
    ("landuse", "use"): "Land use field",
    ("lights", "light_id"): "Lamp id field",
    ("lights", "lumens"): "Lamp luminous flux field (lm)",
    ("lights", "height_m"): "Lamp mounting height field (m)",
    ("lights", "distribution"): "Lamp light distribution field",
    ("lights", "maintenance_factor"): "Lamp maintenance factor field (0–1)",
    ("cameras", "camera_id"): "Camera id field",
    ("cameras", "heading_deg"): "Camera heading field (degrees from north, clockwise)",
    ("cameras", "hfov_deg"): "Camera horizontal field of view field (degrees)",
    ("cameras", "resolution_px"): "Camera horizontal resolution field (pixels)",
    ("cameras", "height_m"): "Camera mounting height field (m)",
    ("calming", "device_id"): "Calming device id field",
    ("calming", "kind"): "Calming device kind field",
    ("pois", "poi_id"): "Point of interest id field",
    ("pois", "kind"): "Point of interest kind field",
    ("incidents", "incident_id"): "Incident id field",
    ("incidents", "kind"): "Incident kind field (burglary, vandalism, violence …)",
    ("incidents", "date"): "Incident date field (YYYY-MM-DD)",
    ("incidents", "weight"): "Incident weight field",
    ("incidents", "count"): "Incident count field (aggregates)",
    ("safety_walk", "mark_id"): "Safety-walk mark id field",
    ("safety_walk", "reason"): "Safety-walk reason field (dark, no_one_around …)",
}


@dataclass(frozen=True)
class LayerInput:
    """A District layer taken from a QGIS layer parameter.

    Attributes
    ----------
    layer
        District layer name (``"lights"``...); the parameter is its upper-case name.
    optional
        Whether the algorithm runs without it (the layer is then empty).
    fields
        Schema columns that get a field-mapping parameter (``<LAYER>_<COLUMN>_FIELD``).
    help
        What the algorithm uses the layer for (shown as the parameter's tooltip).
    """

    layer: str
    optional: bool = True
    fields: tuple[str, ...] = ()
    help: str = ""

    @property
    def parameter(self) -> str:
        return self.layer.upper()

    def field_parameter(self, column: str) -> str:
        return f"{self.layer.upper()}_{column.upper()}_FIELD"


class _Styler(QgsProcessingLayerPostProcessorInterface):
    """Applies a shipped QML style and the provenance statement to a loaded output."""

    def __init__(self, qml: Path, abstract: str) -> None:
        super().__init__()
        self.qml = qml
        self.abstract = abstract

    def postProcessLayer(
        self,
        layer: QgsMapLayer | None,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> None:
        # QGIS may pass None for either (SIP pointers; the stubs say Optional).
        if layer is None:
            return
        message, ok = layer.loadNamedStyle(str(self.qml))
        if not ok and feedback is not None:
            feedback.pushWarning(f"style {self.qml.name} not applied: {message}")
        metadata = layer.metadata()
        metadata.setAbstract(self.abstract)
        layer.setMetadata(metadata)
        layer.triggerRepaint()


class VollsmoseAlgorithm(QgsProcessingAlgorithm):
    """Base of the provider's algorithms (subclasses set the class attributes)."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    GROUP_ID = ""
    HELP = ""
    ICON = "vollsmose.svg"
    INPUTS: tuple[LayerInput, ...] = ()
    BOUNDARY = "BOUNDARY"
    PROVENANCE = "PROVENANCE"

    def __init__(self) -> None:
        super().__init__()
        self._stylers: list[_Styler] = []
        self._provenance = ""

    # -- identity -----------------------------------------------------------------

    def tr(self, text: str) -> str:
        return QCoreApplication.translate("VollsmoseGis", text)

    def createInstance(self) -> QgsProcessingAlgorithm:
        return type(self)()

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return self.tr(self.GROUP)

    def groupId(self) -> str:
        return self.GROUP_ID

    def shortHelpString(self) -> str:
        return self.tr(self.HELP)

    def icon(self) -> QIcon:
        return QIcon(str(ICONS / self.ICON))

    def svgIconPath(self) -> str:
        return str(ICONS / self.ICON)

    # -- inputs ---------------------------------------------------------------------

    def add_district_inputs(self, *, boundary: bool = True) -> None:
        """Add the layer parameters of :attr:`INPUTS`, their field mappings, a boundary."""
        schemas = layer_schemas()
        for spec in self.INPUTS:
            columns = schemas[spec.layer]["columns"]
            required = [c for c, s in columns.items() if s.get("required")]
            label = LAYER_LABELS[spec.layer]
            parameter = QgsProcessingParameterFeatureSource(
                spec.parameter,
                self.tr(label),
                [LAYER_GEOMETRY[spec.layer]],
                optional=spec.optional,
            )
            parameter.setHelp(
                self.tr(
                    f"{spec.help} Columns used (names of the District schema; other names can "
                    f"be mapped below): {', '.join(columns)}. Required: {', '.join(required)}; "
                    "a missing id is taken from the feature id, other missing optional "
                    "columns get documented defaults."
                ).strip()
            )
            self.addParameter(parameter)
            for column in spec.fields:
                fallback = (
                    f"'{column}', else the feature id"
                    if column == schemas[spec.layer]["id"]
                    else f"the field '{column}'"
                )
                field = QgsProcessingParameterField(
                    spec.field_parameter(column),
                    self.tr(f"{COLUMN_LABELS[(spec.layer, column)]} (empty: {fallback})"),
                    defaultValue=None,
                    parentLayerParameterName=spec.parameter,
                    optional=True,
                )
                field.setHelp(
                    self.tr(
                        f"The field of the {LAYER_LABELS[spec.layer].split(' [')[0].lower()} "
                        f"layer that holds {column!r}. Leave empty if the layer has a field "
                        f"named {column!r}."
                    )
                )
                self.addParameter(field)
        if boundary:
            parameter = QgsProcessingParameterFeatureSource(
                self.BOUNDARY,
                self.tr("Study area boundary [polygons]"),
                [QgsProcessing.TypeVectorPolygon],
                optional=True,
            )
            parameter.setHelp(
                self.tr(
                    "The district whose figures are reported (its polygons are merged). "
                    "Layers may extend beyond it for context. Empty: the bounding box of "
                    "all input layers."
                )
            )
            self.addParameter(parameter)

    def advanced(self, parameter: QgsProcessingParameterDefinition) -> None:
        """Add ``parameter`` in the dialog's collapsed "Advanced parameters" section."""
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def read_district(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        *,
        boundary: bool = True,
    ) -> conversion.AssembledDistrict:
        """Assemble the District from the layer parameters of :attr:`INPUTS`."""
        frames: dict[str, gpd.GeoDataFrame | None] = {}
        paths = []
        for spec in self.INPUTS:
            what = LAYER_LABELS[spec.layer].split(" [")[0]
            if parameters.get(spec.parameter) in (None, ""):
                if not spec.optional:
                    raise QgsProcessingException(f"{what}: a layer is required.")
                frames[spec.layer] = None
                continue
            source = self.parameterAsSource(parameters, spec.parameter, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, spec.parameter))
            layer = self.parameterAsVectorLayer(parameters, spec.parameter, context)
            path = conversion.layer_path(layer)
            if path is not None:
                paths.append(path)
            frame = conversion.source_to_frame(source, what=what)
            mapping = {
                column: self.parameterAsString(parameters, spec.field_parameter(column), context)
                for column in spec.fields
            }
            labels = {column: COLUMN_LABELS[(spec.layer, column)] for column in spec.fields}
            frame = conversion.map_fields(frame, spec.layer, mapping, what=what, labels=labels)
            frame.attrs["what"] = what
            frames[spec.layer] = frame
        boundary_frame = None
        if boundary and parameters.get(self.BOUNDARY) not in (None, ""):
            source = self.parameterAsSource(parameters, self.BOUNDARY, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, self.BOUNDARY))
            boundary_frame = conversion.source_to_frame(source, what="Study area boundary")
        found = conversion.provenance_of(paths)
        name, provenance, settings = found if found else ("District from QGIS layers", None, None)
        with library_call(feedback):
            assembled = conversion.assemble_district(
                frames,
                boundary=boundary_frame,
                name=name,
                provenance=provenance,
                settings=settings,
                info=feedback.pushInfo,
                warn=feedback.pushWarning,
            )
        self.announce(assembled.district, feedback)
        return assembled

    def announce(self, district: District, feedback: QgsProcessingFeedback) -> None:
        """Log what is analysed and the provenance statement every output carries."""
        counts = ", ".join(f"{len(frame)} {name}" for name, frame in district.layers.items())
        feedback.pushInfo(f"District {district.name!r} in {district.crs}: {counts}.")
        self._provenance = district.provenance.statement()
        feedback.pushInfo(f"Provenance: {self._provenance}")

    def provenance_text(self, provenance: Provenance | None = None) -> str:
        return provenance.statement() if provenance is not None else self._provenance

    # -- outputs --------------------------------------------------------------------

    RESOLUTION_M = "RESOLUTION_M"

    def add_resolution_input(self) -> None:
        """The raster cell size parameter shared by the raster algorithms (metres)."""
        self.addParameter(
            QgsProcessingParameterNumber(
                self.RESOLUTION_M,
                self.tr("Raster cell size (m)"),
                QgsProcessingParameterNumber.Double,
                defaultValue=1.0,
                minValue=0.1,
            )
        )

    def add_sink(self, name: str, label: str, kind: SourceType, *, optional: bool = False) -> None:
        parameter = QgsProcessingParameterFeatureSink(
            name, self.tr(label), kind, optional=optional, createByDefault=True
        )
        self.addParameter(parameter)

    def add_raster(self, name: str, label: str, *, optional: bool = False) -> None:
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                name, self.tr(label), optional=optional, createByDefault=True
            )
        )

    def write_frame(
        self,
        frame: pd.DataFrame,
        parameters: dict[str, Any],
        name: str,
        context: QgsProcessingContext,
        *,
        crs: str | None,
        style: str | None = None,
        default_geometry: str = "Point",
    ) -> str | None:
        """Write a (Geo)DataFrame to the sink parameter ``name``; return its id.

        Returns None when the (optional) output was switched off.
        """
        if isinstance(frame, gpd.GeoDataFrame):
            geometry_type = conversion.wkb_type(frame, default_geometry)
        else:
            geometry_type = QgsWkbTypes.NoGeometry
        fields = conversion.frame_fields(frame)
        sink, dest_id = self.parameterAsSink(
            parameters, name, context, fields, geometry_type, conversion.qgs_crs(crs)
        )
        if sink is None:
            if parameters.get(name) is None:
                return None
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        for feature in conversion.frame_features(frame, fields, geometry_type):
            if not sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
                raise QgsProcessingException(self.writeFeatureError(sink, parameters, name))
        self.style(context, dest_id, style)
        return str(dest_id)

    def write_raster(
        self,
        raster: Raster,
        parameters: dict[str, Any],
        name: str,
        context: QgsProcessingContext,
        *,
        style: str | None = None,
    ) -> str:
        """Write a library Raster with the library's GeoTIFF writer to parameter ``name``."""
        path = self.parameterAsOutputLayer(parameters, name, context)
        if not path.lower().endswith((".tif", ".tiff")):
            raise QgsProcessingException(
                f"{name}: rasters are written as GeoTIFF; choose a .tif file (got {path!r})."
            )
        with library_call(None):
            write_geotiff(raster, path, overwrite=True)
        self.style(context, path, style)
        return path

    def style(self, context: QgsProcessingContext, dest_id: str, style: str | None) -> None:
        """Apply ``styles/<style>.qml`` and the provenance when QGIS loads the output."""
        if style is None or not context.willLoadLayerOnCompletion(dest_id):
            return
        styler = _Styler(STYLES / f"{style}.qml", self._provenance)
        self._stylers.append(styler)  # Python must keep the post-processor alive
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(styler)


def indicators_frame(indicators: Mapping[str, Indicator]) -> pd.DataFrame:
    """The indicators of a module as a table: one row per indicator."""
    rows = [
        {
            "indicator": key,
            "label": item.label,
            "value": float(item.value),
            "unit": item.unit,
            "higher_is_better": bool(item.higher_is_better),
            "theme": item.theme,
        }
        for key, item in indicators.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["indicator", "label", "value", "unit", "higher_is_better", "theme"]
    )
    return frame.astype({"value": "float64", "higher_is_better": "bool"})


def with_source_ids(frame: gpd.GeoDataFrame, feature_ids: Sequence[int] | None) -> gpd.GeoDataFrame:
    """Index a District layer's rows by the QGIS feature ids they came from."""
    if feature_ids is None or len(feature_ids) != len(frame):
        return frame
    out = frame.copy()
    out.index = pd.Index(list(feature_ids), name="fid")
    return out
