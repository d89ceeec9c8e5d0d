"""Import an OpenStreetMap file as the seven District layers (and a district GeoPackage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from vollsmose_gis import save_district
from vollsmose_gis.district import LAYER_NAMES
from vollsmose_gis.sources.osm import import_osm
from vollsmose_gis.standards import categories

from .. import conversion
from .._compat import QgsProcessingException
from ..feedback import library_call, progress_callback
from .base import LAYER_LABELS, VollsmoseAlgorithm

__all__ = ["ImportOsmAlgorithm"]

OSM_FILTER = "OpenStreetMap (*.osm *.osm.bz2 *.osm.gz *.osm.pbf *.xml);;All files (*)"

_GEOMETRY = {
    "streets": (QgsProcessing.TypeVectorLine, "LineString"),
    "buildings": (QgsProcessing.TypeVectorPolygon, "MultiPolygon"),
    "landuse": (QgsProcessing.TypeVectorPolygon, "MultiPolygon"),
    "lights": (QgsProcessing.TypeVectorPoint, "Point"),
    "cameras": (QgsProcessing.TypeVectorPoint, "Point"),
    "calming": (QgsProcessing.TypeVectorPoint, "Point"),
    "pois": (QgsProcessing.TypeVectorPoint, "Point"),
}
# the layers an OSM import fills (evidence layers such as incidents never come from OSM)
_IMPORTED = tuple(layer for layer in LAYER_NAMES if layer in _GEOMETRY)


class ImportOsmAlgorithm(VollsmoseAlgorithm):
    """Import an .osm / .osm.bz2 / .osm.gz / .osm.pbf file as District layers."""

    NAME = "importosm"
    DISPLAY_NAME = "Import OpenStreetMap file"
    GROUP = "Data"
    GROUP_ID = "data"
    ICON = "import_osm.svg"
    HELP = (
        "Reads an OpenStreetMap extract (.osm, .osm.bz2, .osm.gz or .osm.pbf, e.g. from "
        "a Geofabrik or BBBike download, or 'Export' on openstreetmap.org) and turns it "
        "into the District layers the other tools use: streets and paths, buildings "
        "(with dwellings estimated where OSM has no count), land use, street lamps, "
        "CCTV cameras, traffic-calming devices and points of interest.\n\n"
        "Whatever cannot be used is dropped and counted; the report (in the log and the "
        "REPORT output) says what and why. Optionally writes a district GeoPackage that "
        "the scenario scoring and the command line read.\n\n"
        "Data © OpenStreetMap contributors, ODbL 1.0: maps made from it must say so."
    )

    INPUT = "INPUT"
    CRS = "CRS"
    CONTEXT_M = "CONTEXT_M"
    TENURE = "TENURE"
    AVERAGE_DWELLING_M2 = "AVERAGE_DWELLING_M2"
    DISTRICT = "DISTRICT"
    BOUNDARY_OUTPUT = "BOUNDARY_OUTPUT"
    REPORT = "REPORT"

    def tenures(self) -> list[str]:
        return list(categories("tenures"))

    def initAlgorithm(self, configuration: Any = None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT,
                self.tr("OpenStreetMap file (.osm, .osm.bz2, .osm.gz, .osm.pbf)"),
                fileFilter=OSM_FILTER,
            )
        )
        boundary = QgsProcessingParameterFeatureSource(
            self.BOUNDARY,
            self.tr("Study area boundary [polygons]"),
            [QgsProcessing.TypeVectorPolygon],
            optional=True,
        )
        boundary.setHelp(
            self.tr(
                "The district to import. Empty: the area declared in the file (its bounds), "
                "else the extent of its data."
            )
        )
        self.addParameter(boundary)
        crs = QgsProcessingParameterCrs(
            self.CRS,
            self.tr("Projected CRS of the district, in metres (empty: the UTM zone of the data)"),
            optional=True,
        )
        crs.setHelp(
            self.tr(
                "All layers are written in this CRS; it must be projected (metres), e.g. "
                "EPSG:25832 (ETRS89 / UTM 32N) in Denmark. Empty: the WGS 84 / UTM zone "
                "of the data."
            )
        )
        self.addParameter(crs)
        context = QgsProcessingParameterNumber(
            self.CONTEXT_M,
            self.tr("Surroundings kept around the study area (m)"),
            QgsProcessingParameterNumber.Double,
            defaultValue=1000.0,
            minValue=0.0,
        )
        context.setHelp(
            self.tr(
                "Features within this distance of the boundary are kept too, so routes, "
                "light and views just outside the district count."
            )
        )
        self.addParameter(context)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.TENURE,
                self.tr("Tenure of the imported dwellings (OSM does not record it)"),
                options=[self.tr("not known (left empty)"), *self.tenures()],
                defaultValue=0,
            )
        )
        self.advanced(
            QgsProcessingParameterNumber(
                self.AVERAGE_DWELLING_M2,
                self.tr(
                    "Floor area per dwelling, for estimating dwellings, m² "
                    "(empty: the documented default)"
                ),
                QgsProcessingParameterNumber.Double,
                optional=True,
                minValue=1.0,
            )
        )
        for layer in _IMPORTED:
            kind, _ = _GEOMETRY[layer]
            self.add_sink(layer.upper(), LAYER_LABELS[layer].split(" [")[0], kind)
        self.add_sink(self.BOUNDARY_OUTPUT, "Study area boundary", QgsProcessing.TypeVectorPolygon)
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.DISTRICT,
                self.tr("District GeoPackage, for scenarios and the command line"),
                fileFilter="GeoPackage (*.gpkg)",
                optional=True,
                createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Import report")))
        self.addOutput(QgsProcessingOutputString(self.PROVENANCE, self.tr("Provenance")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:
        feedback = feedback or QgsProcessingFeedback()
        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path:
            raise QgsProcessingException("OpenStreetMap file: choose a file.")
        boundary = None
        if parameters.get(self.BOUNDARY) not in (None, ""):
            source = self.parameterAsSource(parameters, self.BOUNDARY, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, self.BOUNDARY))
            boundary = conversion.source_to_frame(source, what="Study area boundary")
            if not len(boundary):
                raise QgsProcessingException(
                    "Study area boundary: the layer has no features; leave it empty to use "
                    "the area of the file."
                )
        crs = conversion.crs_string(self.parameterAsCrs(parameters, self.CRS, context)) or "auto"
        tenure_index = self.parameterAsEnum(parameters, self.TENURE, context)
        tenure = self.tenures()[tenure_index - 1] if tenure_index > 0 else None
        average = (
            self.parameterAsDouble(parameters, self.AVERAGE_DWELLING_M2, context)
            if parameters.get(self.AVERAGE_DWELLING_M2) not in (None, "")
            else None
        )
        with library_call(feedback):
            result = import_osm(
                path,
                boundary=boundary,
                crs=crs,
                context_m=self.parameterAsDouble(parameters, self.CONTEXT_M, context),
                tenure=tenure,
                average_dwelling_m2=average,
                progress=progress_callback(feedback, 0, 80),
            )
        district = result.district
        self.announce(district, feedback)
        report = result.report.summary()
        feedback.pushInfo(report)
        outputs: dict[str, Any] = {self.REPORT: report, self.PROVENANCE: self._provenance}
        for index, layer in enumerate(_IMPORTED):
            outputs[layer.upper()] = self.write_frame(
                district.layers[layer],
                parameters,
                layer.upper(),
                context,
                crs=district.crs,
                style=layer,
                default_geometry=_GEOMETRY[layer][1],
            )
            feedback.setProgress(80 + 15 * (index + 1) / len(_IMPORTED))
        boundary_frame = gpd.GeoDataFrame(
            {"name": [district.name]}, geometry=[district.boundary], crs=district.crs
        )
        outputs[self.BOUNDARY_OUTPUT] = self.write_frame(
            boundary_frame,
            parameters,
            self.BOUNDARY_OUTPUT,
            context,
            crs=district.crs,
            style="boundary",
            default_geometry="Polygon",
        )
        target = self.parameterAsFileOutput(parameters, self.DISTRICT, context)
        if target:
            with library_call(feedback):
                save_district(district, Path(target), overwrite=True)
            feedback.pushInfo(f"District GeoPackage written: {target}")
            outputs[self.DISTRICT] = target
        return outputs
