"""Check that the vollsmose-gis library is importable in the Python that QGIS runs.

The plugin is a thin adapter: every computation is done by the ``vollsmose_gis``
package, which must be installed in QGIS's own Python.  This module checks that without
importing anything from QGIS, so the check and its message can be tested anywhere.

It also imports shapely so that shapely uses its own GEOS (:func:`import_shapely`):
inside QGIS on Linux the system GEOS is loaded first, and a shapely wheel bundling a
newer GEOS would otherwise mix the two libraries and crash QGIS.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "REQUIRED_VERSION",
    "LibraryStatus",
    "import_shapely",
    "install_command",
    "library_status",
]

REQUIRED_VERSION = (0, 1)
"""Oldest ``vollsmose_gis.__version__`` (major, minor) this plugin works with."""

PACKAGE = "vollsmose-gis"


def _python_executable(platform: str, prefix: str, executable: str) -> str:
    """The interpreter QGIS embeds (``sys.executable`` is QGIS itself there)."""
    if platform == "win32":
        # OSGeo4W and the standalone installer: <root>/apps/Python3x/python.exe
        return str(Path(prefix) / "python.exe")
    if platform == "darwin":
        # QGIS.app bundles its Python: .../QGIS.app/Contents/MacOS/bin/python3
        return str(Path(prefix) / "bin" / "python3")
    name = Path(executable).name
    if name.startswith("python"):
        return executable
    return "python3"


def install_command(
    platform: str | None = None, prefix: str | None = None, executable: str | None = None
) -> str:
    """Return the exact shell command that installs the library into QGIS's Python.

    Parameters
    ----------
    platform, prefix, executable
        ``sys.platform``, ``sys.prefix`` and ``sys.executable`` of QGIS's Python
        (default: the running interpreter's); given explicitly only in tests.

    Returns
    -------
    str
        On Linux, a user install into the system Python that QGIS uses, keeping the
        distribution's NumPy 1.x (its GDAL bindings are built against it); on Windows a
        command for the OSGeo4W Shell; on macOS the bundled interpreter of QGIS.app.
    """
    platform = sys.platform if platform is None else platform
    prefix = sys.prefix if prefix is None else prefix
    executable = sys.executable if executable is None else executable
    python = _python_executable(platform, prefix, executable)
    if platform == "win32":
        return f'"{python}" -m pip install {PACKAGE}'
    if platform == "darwin":
        return f'"{python}" -m pip install --user {PACKAGE}'
    return f'{python} -m pip install --user --break-system-packages {PACKAGE} "numpy<2"'


def import_shapely() -> bool:
    """Import shapely bound to its own GEOS library (Linux); True if done here.

    QGIS links the system GEOS (3.11 on Debian 12) and loads it first, with global
    symbol scope.  A shapely wheel bundles its own, newer GEOS; imported normally, its
    calls bind to the system library for every function that library has and to the
    bundled one only for the newer functions (GEOS >= 3.12, e.g.
    ``GEOSPreparedContainsXY_r`` behind ``shapely.contains_xy``), so objects made by
    one GEOS reach the other and QGIS crashes (segmentation fault).  Importing shapely
    with ``RTLD_DEEPBIND`` makes its extension modules resolve GEOS in their own
    dependencies first.  Nothing changes when shapely is already imported, uses the
    system GEOS itself (Debian's python3-shapely), or on other platforms.
    """
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind is None or not sys.platform.startswith("linux") or "shapely" in sys.modules:
        return False
    try:
        importlib.import_module("numpy")  # NumPy and its BLAS keep the usual binding
    except ImportError:
        return False  # reported by the library import
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | deepbind)
    try:
        importlib.import_module("shapely")
    except ImportError:
        return False  # reported by the library import
    finally:
        sys.setdlopenflags(flags)
    return True


@dataclass(frozen=True)
class LibraryStatus:
    """Outcome of :func:`library_status`: ``ok`` and, if not, the message to show."""

    ok: bool
    version: str | None
    message: str


def library_status() -> LibraryStatus:
    """Check that ``vollsmose_gis`` imports and is recent enough for this plugin.

    Returns
    -------
    LibraryStatus
        ``ok`` False with a message naming the problem and the install command when the
        import fails (missing package, or a broken dependency such as a NumPy 2 that
        breaks the system GDAL bindings) or the version is too old.
    """
    command = install_command()
    import_shapely()
    try:
        library = importlib.import_module("vollsmose_gis")
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing == "vollsmose_gis":
            reason = "the vollsmose-gis Python library is not installed in QGIS's Python"
        else:
            reason = f"the vollsmose-gis library cannot be imported in QGIS's Python ({exc})"
        return LibraryStatus(
            False,
            None,
            f"vollsmose-gis plugin: {reason} ({sys.executable}). Install it with:\n"
            f"  {command}\n"
            "then restart QGIS. See docs/qgis-plugin.md for Linux, Windows/OSGeo4W and macOS.",
        )
    version = str(getattr(library, "__version__", "0"))
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < REQUIRED_VERSION:
        wanted = ".".join(map(str, REQUIRED_VERSION))
        return LibraryStatus(
            False,
            version,
            f"vollsmose-gis plugin: the installed library is version {version}; this plugin "
            f"needs {wanted} or newer. Upgrade it with:\n  {command} --upgrade\n"
            "then restart QGIS.",
        )
    return LibraryStatus(True, version, f"vollsmose-gis library {version}")
