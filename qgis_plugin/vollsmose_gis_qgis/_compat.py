"""PyQGIS names whose spelling differs between QGIS 3.22 and the type stubs.

The plugin runs on QGIS 3.22 and newer and is type-checked against ``qgis-stubs``
0.5.0 (see ``qgis_plugin/mypy.ini``), which describe a newer QGIS: its enums are
scoped (``Qgis.WkbType``, ``Qgis.ProcessingSourceType``) and ``QgsWkbTypes.Type`` /
``QgsProcessing.SourceType`` are declared as *variables* holding those classes, which
mypy cannot use in an annotation.  QGIS 3.22 has only ``QgsWkbTypes.Type`` and
``QgsProcessing.SourceType``.  The aliases below give the checker the stubs' classes
and the running QGIS its own (the newer class when it has one), so annotations are
right in both worlds without changing what runs.

``QgsProcessingException`` is a SIP exception: it exists at runtime in every QGIS 3
(a plain ``Exception`` subclass) but SIP's stub generator skips exceptions, so the
stubs lack it.  It is declared here once for the checker and imported from
``qgis.core`` at runtime, instead of a ``type: ignore`` on each of the eight imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from qgis.core import Qgis, QgsProcessing, QgsWkbTypes

__all__ = ["QgsProcessingException", "SourceType", "WkbType"]

if TYPE_CHECKING:
    WkbType: TypeAlias = Qgis.WkbType
    SourceType: TypeAlias = Qgis.ProcessingSourceType

    class QgsProcessingException(Exception):
        """Declaration for the checker of ``qgis.core.QgsProcessingException``."""

else:
    from qgis.core import QgsProcessingException

    WkbType = getattr(Qgis, "WkbType", None) or QgsWkbTypes.Type
    SourceType = getattr(Qgis, "ProcessingSourceType", None) or QgsProcessing.SourceType
