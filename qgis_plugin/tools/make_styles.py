"""Regenerate the QML styles of the plugin's outputs (run with QGIS's Python).

    QT_QPA_PLATFORM=offscreen python qgis_plugin/tools/make_styles.py

The styles are data shipped in ``vollsmose_gis_qgis/styles``; this script is how they
were made, so a colour change is a reviewed one-line edit here.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsSymbol,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QColor

STYLES = Path(__file__).resolve().parents[1] / "vollsmose_gis_qgis" / "styles"
GEOMETRY = {"point": "Point", "line": "LineString", "polygon": "Polygon"}


def _layer(kind: str) -> QgsVectorLayer:
    return QgsVectorLayer(f"{GEOMETRY[kind]}?crs=EPSG:25832", "style", "memory")


def _symbol(kind: str, color: str, size: float | None = None) -> QgsSymbol:
    geometry = {
        "point": QgsWkbTypes.PointGeometry,
        "line": QgsWkbTypes.LineGeometry,
        "polygon": QgsWkbTypes.PolygonGeometry,
    }[kind]
    symbol = QgsSymbol.defaultSymbol(geometry)
    symbol.setColor(QColor(color))
    if size is not None:
        if kind == "line":
            symbol.setWidth(size)
        elif kind == "point":
            symbol.setSize(size)
    return symbol


def single(name: str, kind: str, color: str, size: float | None = None, opacity: float = 1.0):
    layer = _layer(kind)
    symbol = _symbol(kind, color, size)
    symbol.setOpacity(opacity)
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    layer.saveNamedStyle(str(STYLES / f"{name}.qml"))


def categorized(name: str, kind: str, field: str, colors: dict, size: float | None = None):
    layer = _layer(kind)
    categories = [
        QgsRendererCategory(value, _symbol(kind, color, size), str(value))
        for value, color in colors.items()
    ]
    categories.append(QgsRendererCategory(None, _symbol(kind, "#bdbdbd", size), "other"))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    layer.saveNamedStyle(str(STYLES / f"{name}.qml"))


def graduated(name: str, kind: str, field: str, breaks: list, colors: list, size=None):
    layer = _layer(kind)
    ranges = []
    for (low, high), color in zip(itertools.pairwise(breaks), colors, strict=True):
        label = f"{low:g} – {high:g}"
        ranges.append(QgsRendererRange(low, high, _symbol(kind, color, size), label))
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))
    layer.saveNamedStyle(str(STYLES / f"{name}.qml"))


def pseudocolor(name: str, stops: list[tuple[float, str, str]]):
    layer = QgsRasterLayer("", name)
    ramp = QgsColorRampShader(stops[0][0], stops[-1][0])
    ramp.setColorRampType(QgsColorRampShader.Interpolated)
    ramp.setColorRampItemList(
        [QgsColorRampShader.ColorRampItem(v, QColor(c), label) for v, c, label in stops]
    )
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(None, 1, shader)
    renderer.setClassificationMin(stops[0][0])
    renderer.setClassificationMax(stops[-1][0])
    layer.setRenderer(renderer)
    layer.saveNamedStyle(str(STYLES / f"{name}.qml"))


def paletted(name: str, classes: list[tuple[int, str, str]]):
    layer = QgsRasterLayer("", name)
    renderer = QgsPalettedRasterRenderer(
        None, 1, [QgsPalettedRasterRenderer.Class(v, QColor(c), label) for v, c, label in classes]
    )
    layer.setRenderer(renderer)
    layer.saveNamedStyle(str(STYLES / f"{name}.qml"))


USES = {
    "residential": "#e8b4a0",
    "retail": "#d7301f",
    "office": "#6a51a3",
    "mixed": "#f16913",
    "school": "#fec44f",
    "daycare": "#fee391",
    "health": "#41ab5d",
    "culture": "#807dba",
    "sport": "#74c476",
    "industry": "#969696",
    "parking": "#d9d9d9",
    "green": "#a1d99b",
    "wetland": "#9ecae1",
    "water": "#6baed6",
    "square": "#fdd0a2",
    "private": "#edf8e9",
    "other": "#f0f0f0",
}
BLUES = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
HEAT = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    STYLES.mkdir(exist_ok=True)
    categorized(
        "streets",
        "line",
        "highway",
        {
            "primary": "#e31a1c",
            "secondary": "#fd8d3c",
            "tertiary": "#fecc5c",
            "residential": "#636363",
            "service": "#969696",
            "footway": "#31a354",
            "cycleway": "#3182bd",
            "path": "#78c679",
            "pedestrian": "#a1d99b",
        },
        0.6,
    )
    categorized("buildings", "polygon", "use", USES)
    categorized("landuse", "polygon", "use", USES)
    single("lights", "point", "#ffd23f", 1.6)
    single("cameras", "point", "#2b8cbe", 2.6)
    categorized(
        "calming",
        "point",
        "kind",
        {
            "hump": "#e6550d",
            "cushion": "#fd8d3c",
            "table": "#a63603",
            "chicane": "#756bb1",
            "narrowing": "#9e9ac8",
            "mini_roundabout": "#54278f",
        },
        2.4,
    )
    single("pois", "point", "#d95f0e", 2.0)
    single("boundary", "polygon", "#000000", opacity=0.15)
    graduated(
        "centrality_lines", "line", "betweenness", [0, 0.01, 0.03, 0.07, 0.15, 1.0], HEAT, 0.9
    )
    graduated("centrality_points", "point", "harmonic_closeness", [0, 1, 2, 4, 8, 1e9], BLUES, 1.8)
    graduated(
        "home_access",
        "point",
        "route_directness",
        [1.0, 1.2, 1.4, 1.6, 2.0, 100.0],
        ["#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c"],
        2.2,
    )
    single("links", "line", "#e7298a", 1.4)
    graduated(
        "speeds",
        "line",
        "v85_max_kmh",
        [0, 20, 30, 40, 50, 200],
        ["#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c"],
        1.0,
    )
    categorized("compliance", "line", "pass", {True: "#1a9641", False: "#d7191c"}, 0.9)
    single("dark_spots", "polygon", "#252525", opacity=0.6)
    single("new_lights", "point", "#ff7f00", 2.6)
    categorized(
        "dori_zones",
        "polygon",
        "level",
        {
            "detection": "#c6dbef",
            "observation": "#6baed6",
            "recognition": "#2171b5",
            "identification": "#08306b",
        },
    )
    single("new_cameras", "point", "#e7298a", 3.0)
    graduated(
        "mix_homes",
        "point",
        "landuse_entropy_800m",
        [0, 0.2, 0.4, 0.6, 0.8, 1.0],
        ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
        2.0,
    )
    graduated(
        "estates",
        "polygon",
        "almen_family_share",
        [0, 0.2, 0.4, 0.6, 0.8, 1.0],
        ["#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c"],
    )
    graduated(
        "landuse_grid",
        "polygon",
        "landuse_entropy",
        [0, 0.2, 0.4, 0.6, 0.8, 1.0],
        ["#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b"],
    )
    pseudocolor(
        "illuminance",
        [
            (0, "#000000", "0 lx"),
            (1, "#3f007d", "1 lx"),
            (5, "#807dba", "5 lx"),
            (10, "#fdae6b", "10 lx"),
            (20, "#ffff99", "20 lx"),
            (50, "#ffffff", "50 lx"),
        ],
    )
    pseudocolor(
        "pixel_density",
        [
            (0, "#f7fbff", "0 px/m"),
            (25, "#c6dbef", "25"),
            (62.5, "#6baed6", "62.5"),
            (125, "#2171b5", "125"),
            (250, "#08306b", "250 px/m"),
        ],
    )
    paletted(
        "dori",
        [
            (0, "#f0f0f0", "not seen"),
            (1, "#c6dbef", "detection"),
            (2, "#6baed6", "observation"),
            (3, "#2171b5", "recognition"),
            (4, "#08306b", "identification"),
        ],
    )
    app.exitQgis()


if __name__ == "__main__":
    main()
