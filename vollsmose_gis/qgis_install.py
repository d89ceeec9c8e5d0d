r"""Install the QGIS plugin from any installation of the library.

The plugin sources ship inside the wheel (``vollsmose_gis/qgis_plugin/``, package data)
and in a source checkout (``qgis_plugin/``); :func:`plugin_source` finds them either
way, so ``vollsmose-gis build-plugin`` and ``vollsmose-gis qgis install`` work after a
plain ``pip install``.

QGIS keeps each user profile in a folder of its configuration directory:

- Linux: ``~/.local/share/QGIS/QGIS3/profiles/<profile>``
- Windows: ``%APPDATA%\\QGIS\\QGIS3\\profiles\\<profile>``
- macOS: ``~/Library/Application Support/QGIS/QGIS3/profiles/<profile>``

(``QGIS_CUSTOM_CONFIG_PATH`` overrides the configuration directory, as in QGIS itself.)
A plugin lives in ``<profile>/python/plugins/<name>`` and is enabled by
``[PythonPlugins] <name>=true`` in ``<profile>/QGIS/QGIS3.ini``.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vollsmose_gis._errors import InputError

__all__ = ["InstallReport", "install_plugin", "plugin_source", "qgis_config_dir"]

PLUGIN = "vollsmose_gis_qgis"


def plugin_source() -> Path:
    """The plugin's folder: packaged in the wheel, else the source checkout's.

    Raises
    ------
    InputError
        Neither exists (a broken installation).
    """
    packaged = resources.files("vollsmose_gis").joinpath("qgis_plugin", PLUGIN)
    if packaged.is_dir() and packaged.joinpath("metadata.txt").is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[1] / "qgis_plugin" / PLUGIN
    if (checkout / "metadata.txt").is_file():
        return checkout
    raise InputError(
        "the QGIS plugin sources are missing from this installation "
        f"(neither vollsmose_gis/qgis_plugin/{PLUGIN} nor {checkout}); reinstall vollsmose-gis"
    )


def qgis_config_dir(
    platform: str | None = None,
    home: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Path:
    """QGIS 3's configuration directory on this platform (see the module docstring)."""
    platform = platform or sys.platform
    environ = dict(os.environ if environ is None else environ)
    home = home or Path.home()
    if environ.get("QGIS_CUSTOM_CONFIG_PATH"):
        return Path(environ["QGIS_CUSTOM_CONFIG_PATH"])
    if platform == "win32":
        appdata = environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "QGIS" / "QGIS3"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "QGIS" / "QGIS3"
    return home / ".local" / "share" / "QGIS" / "QGIS3"


@dataclass
class InstallReport:
    """What :func:`install_plugin` did and whether QGIS's Python can import the library."""

    plugin_dir: Path
    ini: Path
    replaced: bool
    library_importable: bool | None
    python: str
    message: str


def install_plugin(
    *,
    profile: str = "default",
    config_dir: Path | None = None,
    python: str | None = None,
) -> InstallReport:
    """Copy (or update) the plugin into a QGIS profile, enable it, check the library.

    Parameters
    ----------
    profile
        QGIS user profile (``default`` unless you made others).
    config_dir
        QGIS configuration directory (default: :func:`qgis_config_dir`).
    python
        The Python QGIS runs (default: Debian/Ubuntu's ``/usr/bin/python3`` when it
        exists, else none is checked) — used to tell whether it can import the library.

    Returns
    -------
    InstallReport
    """
    if not profile or any(c in profile for c in "/\\") or profile in (".", ".."):
        raise InputError(f"--profile {profile!r} is not a profile name")
    source = plugin_source()
    root = config_dir or qgis_config_dir()
    folder = root / "profiles" / profile
    target = folder / "python" / "plugins" / PLUGIN
    target.parent.mkdir(parents=True, exist_ok=True)
    replaced = target.exists()
    staging = target.with_name(f".{PLUGIN}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if replaced:  # swap in the new copy only when it is complete
        old = target.with_name(f".{PLUGIN}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
    ini = folder / "QGIS" / "QGIS3.ini"
    _enable(ini)
    python = python or ("/usr/bin/python3" if Path("/usr/bin/python3").exists() else "")
    importable = _importable(python) if python else None
    if importable is False:
        message = (
            f"QGIS's Python ({python}) cannot import vollsmose_gis; install it there: "
            f"{python} -m pip install --user vollsmose-gis (or make a venv with "
            "--system-site-packages and start QGIS from it)"
        )
    elif importable:
        message = f"QGIS's Python ({python}) imports vollsmose_gis: the plugin will load"
    else:
        message = "could not check QGIS's Python; the plugin says so at start if it cannot load"
    return InstallReport(target, ini, replaced, importable, python, message)


def _enable(ini: Path) -> None:
    """Set ``[PythonPlugins] vollsmose_gis_qgis=true`` keeping every other setting."""
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # QSettings keys keep case
    if ini.is_file():
        parser.read(ini, encoding="utf-8")
    if not parser.has_section("PythonPlugins"):
        parser.add_section("PythonPlugins")
    parser.set("PythonPlugins", PLUGIN, "true")
    parser.set("PythonPlugins", "processing", "true")
    ini.parent.mkdir(parents=True, exist_ok=True)
    tmp = ini.with_name(ini.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        parser.write(handle, space_around_delimiters=False)
    os.replace(tmp, ini)


def _importable(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import vollsmose_gis"], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
