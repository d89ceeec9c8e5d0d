# Type-checker overlay (see __init__.pyi): in QGIS 3, qgis.PyQt.QtWidgets re-exports
# PyQt5.QtWidgets, so the star import of its stub is exactly the module's interface.
from PyQt5.QtWidgets import *  # noqa: F403
