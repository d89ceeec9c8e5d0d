"""Screenshot every algorithm dialog of the provider (offscreen) into docs/qgis-dialogs/.

    QT_QPA_PLATFORM=offscreen python qgis_plugin/tools/screenshot_dialogs.py [OUT_DIR]

Used to review that a planner understands every parameter; the tests call
:func:`grab_dialogs` too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[2]


def grab_dialogs(out: Path, *, width: int = 720, height: int = 900) -> list[Path]:
    """Open each algorithm's Processing dialog, expand it, save it as PNG; return the files."""
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("vollsmosegis")
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for alg in provider.algorithms():
        dialog = AlgorithmDialog(alg.create(), False, None)
        dialog.resize(width, height)
        # Show the whole parameter panel (advanced parameters expanded).
        for widget in dialog.findChildren(object):
            if "Collapsible" in type(widget).__name__ and hasattr(widget, "setCollapsed"):
                widget.setCollapsed(False)
        dialog.show()
        QgsApplication.processEvents()
        path = out / f"{alg.name()}.png"
        # The parameter panel in full (the dialog itself scrolls): the panel's widget
        # grabbed at its own size hint, beside the dialog's help text.
        from qgis.PyQt.QtWidgets import QScrollArea

        areas = [a for a in dialog.findChildren(QScrollArea) if a.widget() is not None]
        panel = max(areas, key=lambda a: a.widget().sizeHint().height()).widget()
        panel.resize(width - 20, panel.sizeHint().height())
        QgsApplication.processEvents()
        panel.grab().save(str(path))
        dialog.close()
        written.append(path)
    return written


def main() -> None:
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    sys.path.insert(0, str(REPO / "qgis_plugin"))
    from processing.core.Processing import Processing

    Processing.initialize()
    from vollsmose_gis_qgis.provider import VollsmoseGisProvider

    provider = VollsmoseGisProvider()  # keep a Python reference, or it is collected
    QgsApplication.processingRegistry().addProvider(provider)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "qgis-dialogs"
    for path in grab_dialogs(out):
        print(path)


if __name__ == "__main__":
    main()
