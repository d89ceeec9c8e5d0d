#!/usr/bin/env bash
# Type-check the plugin against the PyQGIS stubs: qgis-stubs==0.5.0 (PEP 561) with
# PyQt5-stubs, configured by qgis_plugin/mypy.ini. Exits non-zero on any error.
# The same check runs in the test suite: tests/qgis/test_typecheck.py.
#
# The stubs come with the [test] extra (pip install -e '.[test]' -c constraints.txt).
# They install as the folders qgis-stubs/ and PyQt5-stubs/, which mypy reads and
# Python cannot import, so the real qgis keeps working. Without them in .venv, they
# are installed into a throw-away folder for this run only (the venv is untouched).
# Debian's python3-qgis also ships .pyi files, but without a py.typed marker and with
# the sip enum/exception gaps of 3.22, so they cannot check anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
if .venv/bin/python -c "import importlib.metadata as m; m.version('qgis-stubs'); m.version('PyQt5-stubs')" 2>/dev/null; then
  exec .venv/bin/mypy --config-file qgis_plugin/mypy.ini -p vollsmose_gis_qgis "$@"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/pip install -q --target "$work/site" qgis-stubs==0.5.0 PyQt5-stubs
# Outside site-packages mypy does not look for PEP 561 "-stubs" folders, so expose
# them under their module names on MYPYPATH (searched before mypy.ini's mypy_path;
# the qgis.PyQt overlay there still applies, as qgis-stubs has no PyQt folder).
mkdir "$work/path"
ln -s "$work/site/qgis-stubs" "$work/path/qgis"
ln -s "$work/site/PyQt5-stubs" "$work/path/PyQt5"
MYPYPATH="$work/path" .venv/bin/mypy --config-file qgis_plugin/mypy.ini \
  --cache-dir "$work/cache" -p vollsmose_gis_qgis "$@"
