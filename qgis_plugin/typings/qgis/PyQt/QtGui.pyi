# Type-checker overlay (see __init__.pyi): in QGIS 3, qgis.PyQt.QtGui re-exports
# PyQt5.QtGui, so the star import of its stub is exactly the module's interface.
from PyQt5.QtGui import *  # noqa: F403
