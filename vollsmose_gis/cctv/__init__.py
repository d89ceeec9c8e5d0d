"""CCTV coverage: occluded viewsheds, DORI pixel density, coverage and camera placement.

For every camera of a District this module computes, on a raster, the cells it sees:
inside its horizontal field of view, within the distance of the lowest DORI level asked
for, outside the blind zone below it (when a vertical field of view is given) and not
hidden behind a building.  Each seen cell gets the pixel density the camera delivers
there (IEC 62676-4 geometry, slant distance) and the DORI level that density reaches;
the combined raster keeps the best level any camera achieves.  From it come the
coverage of what matters (walkable street and path length, squares and other public
open space, building entrances), the privacy figure (private outdoor space seen, to
minimise) and the indicators; :func:`plan_cameras` places new cameras greedily.

Occlusion model
---------------
Building footprints are rasterised once (cell-centre rule) with their heights
(``height_m``, else ``floors`` x storey height, else a default; see
``standards/dori.yaml``); every camera shares that raster.  A cell is seen when no
building cell touched by the horizontal sight line from the camera to the cell centre
rises above the 3-D sight line from the camera (at its mounting height) to a face at
1.7 m above the target.  Cells are closed squares (a sight line through a corner touches
all four cells), and occluders closer to the camera than the mount clearance are
ignored (the wall a camera hangs on).  The ground is flat (no terrain model).

The line of sight is exact for that raster model: for each target cell the sight line's
crossings with the grid lines are enumerated in closed form (numpy, all target cells of
a camera at once), and the building heights on both sides of each crossing are compared
with the sight line's height there.  Because the sight line is straight, a building
cell rises above it somewhere if and only if it does at one of the crossings bounding
that cell, so checking crossings is exact; ``benchmarks/bench_cctv.py`` checks it cell
for cell against a shapely per-cell check against the building polygons.

The package is split along the model's seams: :mod:`~vollsmose_gis.cctv.dori` (levels,
pixel density), :mod:`~vollsmose_gis.cctv.setup` (cameras and occluders from the layers),
:mod:`~vollsmose_gis.cctv.visibility` (raster model, line of sight, viewsheds),
:mod:`~vollsmose_gis.cctv.coverage` (coverage and indicators) and
:mod:`~vollsmose_gis.cctv.placement` (candidates, greedy placement).  Every public name
is importable from ``vollsmose_gis.cctv``.
"""

from __future__ import annotations

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.cctv.coverage import coverage, indicators
from vollsmose_gis.cctv.dori import (
    MASKED,
    NOT_SEEN,
    dori_distances,
    dori_levels,
    level_set_title,
    pixel_density,
)
from vollsmose_gis.cctv.placement import (
    CameraPlan,
    add_cameras,
    camera_candidates,
    plan_cameras,
)
from vollsmose_gis.cctv.setup import CameraWarning, building_heights, camera_setup
from vollsmose_gis.cctv.visibility import (
    CctvResult,
    Progress,
    viewsheds,
)
from vollsmose_gis.district import District

__all__ = [
    "MASKED",
    "NOT_SEEN",
    "SPEC",
    "CameraPlan",
    "CameraWarning",
    "CctvResult",
    "add_cameras",
    "building_heights",
    "camera_candidates",
    "camera_setup",
    "coverage",
    "dori_distances",
    "dori_levels",
    "indicators",
    "level_set_title",
    "pixel_density",
    "plan_cameras",
    "viewsheds",
]


def _compute(
    district: District,
    *,
    resolution_m: float = 1.0,
    min_level: str | None = None,
    edition: str | None = None,
    mask_private: bool = True,
    progress: Progress | None = None,
) -> ModuleResult:
    """The module's pipeline: viewsheds, DORI levels, coverage indicators."""
    result = viewsheds(
        district, resolution_m=resolution_m, min_level=min_level, edition=edition,
        mask_private=mask_private, progress=progress,
    )  # fmt: skip
    values = indicators(district, result=result)
    return ModuleResult(
        values,
        {"cctv_zones": result.zones, "cctv_viewsheds": result.viewsheds},
        {"dori_levels": result.levels},
        extras={"cctv": result},
    )


SPEC = AnalysisSpec(
    name="cctv",
    themes=("safety and security",),
    reads=("cameras", "buildings", "landuse", "streets"),
    compute=_compute,
    parameters={
        "resolution_m": 1.0,
        "min_level": None,
        "edition": None,
        "mask_private": True,
        "progress": None,
    },
    summary="Camera viewsheds with occlusion, DORI pixel density, coverage of paths and squares.",
)
"""The CCTV analysis (see :mod:`vollsmose_gis.analysis`)."""
