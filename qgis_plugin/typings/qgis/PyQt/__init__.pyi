# Overlay for the type checker only (see qgis_plugin/mypy.ini): qgis-stubs 0.5.0 has no
# qgis.PyQt, QGIS's Qt5/Qt6 shim. In QGIS 3 each qgis.PyQt.X module is
# `from PyQt5.X import *` (plus QVariant repr/eq patches that keep the same types), so
# the PyQt5-stubs describe it exactly.
