"""The plugin object QGIS loads: registers the Processing provider, or explains why not."""

from __future__ import annotations

from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog

from ._library import LibraryStatus, library_status

__all__ = ["VollsmoseGisPlugin"]

LOG_TAG = "vollsmose-gis"


class VollsmoseGisPlugin:
    """Registers the ``vollsmosegis`` Processing provider (initProcessing/initGui/unload).

    When the vollsmose-gis library cannot be imported in QGIS's Python, no provider is
    registered; the reason and the exact install command go to the message log and,
    with a GUI, to the message bar. QGIS itself keeps working.
    """

    def __init__(self, iface: Any = None) -> None:
        self.iface = iface
        self.provider: Any = None
        self.status: LibraryStatus | None = None

    def initProcessing(self) -> None:
        """Register the provider (called by QGIS, also headless in qgis_process)."""
        if self.provider is not None:
            return
        self.status = library_status()
        if not self.status.ok:
            QgsMessageLog.logMessage(self.status.message, LOG_TAG, Qgis.MessageLevel.Critical)
            return
        from .provider import VollsmoseGisProvider

        registry = QgsApplication.processingRegistry()
        if registry is None:  # QGIS without Processing
            return
        self.provider = VollsmoseGisProvider()
        registry.addProvider(self.provider)

    def initGui(self) -> None:
        """Register the provider and, if the library is missing, say so in the message bar."""
        self.initProcessing()
        if self.status is not None and not self.status.ok and self.iface is not None:
            title, _, detail = self.status.message.partition(": ")
            self.iface.messageBar().pushMessage(
                title, detail, level=Qgis.MessageLevel.Critical, duration=0
            )

    def unload(self) -> None:
        """Remove the provider when the plugin is unloaded or reloaded."""
        registry = QgsApplication.processingRegistry()
        if self.provider is not None and registry is not None:
            registry.removeProvider(self.provider)
        self.provider = None
