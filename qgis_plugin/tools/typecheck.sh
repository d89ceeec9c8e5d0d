#!/usr/bin/env bash
# Type-check the plugin against PyQGIS stubs: qgis-stubs (PyPI, PEP 561) with
# PyQt5-stubs, installed into a throw-away folder so the project venv is untouched.
# Debian's python3-qgis also ships .pyi files, but without a py.typed marker and with
# the sip enum/exception gaps of 3.22 (QgsProcessing.TypeVectorLine and
# QgsProcessingException are missing), so they cannot check anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/pip install -q --target "$work/site" qgis-stubs==0.5.0 PyQt5-stubs
mkdir "$work/path"
ln -s "$work/site/qgis-stubs" "$work/path/qgis"
ln -s "$work/site/PyQt5-stubs" "$work/path/PyQt5"
MYPYPATH="$work/path:qgis_plugin" .venv/bin/mypy --config-file qgis_plugin/mypy.ini \
  -p vollsmose_gis_qgis "$@" | grep -E "^qgis_plugin/|^Found" || true
