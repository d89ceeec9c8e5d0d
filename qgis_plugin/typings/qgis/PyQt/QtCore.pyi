# Type-checker overlay (see __init__.pyi): in QGIS 3, qgis.PyQt.QtCore re-exports
# PyQt5.QtCore, so the star import of its stub is exactly the module's interface.
from PyQt5.QtCore import *  # noqa: F403
