"""The Processing provider ``vollsmosegis``: one algorithm per library capability."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

import vollsmose_gis

from .algorithms import ALGORITHMS

__all__ = ["PROVIDER_ID", "VollsmoseGisProvider"]

PROVIDER_ID = "vollsmosegis"
ICON = Path(__file__).resolve().parent / "icons" / "vollsmose.svg"


class VollsmoseGisProvider(QgsProcessingProvider):
    """Processing provider of the vollsmose-gis algorithms."""

    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return "vollsmose-gis"

    def longName(self) -> str:
        return f"vollsmose-gis {vollsmose_gis.__version__} (district planning)"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def svgIconPath(self) -> str:
        return str(ICON)

    def loadAlgorithms(self) -> None:
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
