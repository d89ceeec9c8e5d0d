"""Shared fixtures.

Tests that need the real QGIS, headless Chromium or the shared real-data folder
(``../shared`` beside the repository) skip with a reason when those are missing —
unless ``VOLLSMOSE_GIS_REQUIRE_ALL=1`` (set by ``.ci/run``), which turns every such
skip into a failure so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOLLSMOSE_GIS_SHARED", REPO.parent / "shared"))
REQUIRE_ALL = os.environ.get("VOLLSMOSE_GIS_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when CI requires every test to run."""
    if REQUIRE_ALL:
        pytest.fail(f"required by VOLLSMOSE_GIS_REQUIRE_ALL=1 but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (``../shared/data``): OSM extracts, photometry."""
    data = SHARED / "data"
    if not data.is_dir():
        skip_or_fail(f"shared real-data folder not found at {data} (set VOLLSMOSE_GIS_SHARED)")
    return data


@pytest.fixture(scope="session")
def osm_dir(shared_data: Path) -> Path:
    """Folder of real OpenStreetMap extracts."""
    return shared_data / "osm"
