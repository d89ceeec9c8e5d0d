"""The QGIS plugin type-checks clean against the PyQGIS stubs.

mypy runs on ``vollsmose_gis_qgis`` with ``qgis_plugin/mypy.ini`` and the stubs of the
``[test]`` extra (``qgis-stubs==0.5.0``, ``PyQt5-stubs``; PEP 561 folders
``qgis-stubs/`` and ``PyQt5-stubs/`` that cannot shadow the real ``qgis``). A probe
module with known mistakes is checked in the same run, so the test fails if the stubs
or the ``qgis.PyQt`` overlay silently stop being used (everything would be ``Any``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, skip_or_fail

PLUGIN_DIR = REPO / "qgis_plugin"
STUBS = ("qgis-stubs", "PyQt5-stubs")

# Each line is a mistake the stubs must catch, with the error code mypy must report.
PROBE = """\
from qgis.core import QgsProviderRegistry
from qgis.PyQt.QtCore import QVariant

QgsProviderRegistry.instance().decodeUri("ogr", "x.gpkg")  # union-attr (may be None)
name: str = QVariant.Int  # assignment (typed through the qgis.PyQt overlay)
"""
PROBE_CODES = {4: "union-attr", 5: "assignment"}


@pytest.fixture(autouse=True)
def _needs_qgis() -> None:
    """Override the folder's fixture: mypy reads the stubs, it needs no running QGIS."""


def _require_stubs() -> None:
    """Skip (fail in CI) when mypy or the stub packages of the test extra are missing."""
    missing = [] if importlib.util.find_spec("mypy") else ["mypy"]
    for name in STUBS:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        skip_or_fail(
            f"{', '.join(missing)} not installed in this Python; install the test extra: "
            "pip install -e '.[test]' -c constraints.txt"
        )


@pytest.mark.slow
def test_plugin_typechecks_clean_against_pyqgis_stubs(tmp_path: Path) -> None:
    _require_stubs()
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    probe = probe_dir / "typecheck_probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(probe_dir)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(PLUGIN_DIR / "mypy.ini"),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            "-p",
            "vollsmose_gis_qgis",
            "-m",
            "typecheck_probe",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if ": error:" in line]
    plugin_errors = [line for line in errors if not line.startswith(str(probe))]
    assert plugin_errors == [], "mypy errors in the plugin:\n" + "\n".join(plugin_errors)
    found = {
        int(m["line"]): m["code"]
        for m in (
            re.match(rf"{re.escape(str(probe))}:(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$", e)
            for e in errors
        )
        if m
    }
    assert found == PROBE_CODES, f"the stubs did not catch the probe's mistakes:\n{output}"
