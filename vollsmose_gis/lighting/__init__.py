"""Street lighting: illuminance rasters, EN 13201 compliance, dark spots, a lamp planner.

The illuminance model (point sources with a luminous-intensity distribution,
E = MF · I(C, γ) · cos³γ / H² summed over lamps, and the negligible-contribution
cutoff) is described in :mod:`~vollsmose_gis.lighting.model`.

The package is split into :mod:`~vollsmose_gis.lighting.model` (lamps, point
illuminance, rasters, energy), :mod:`~vollsmose_gis.lighting.compliance` (EN 13201
classes and grid, compliance, dark spots, indicators) and
:mod:`~vollsmose_gis.lighting.planner` (the lamp planner); every public name is
importable from ``vollsmose_gis.lighting``.
"""

from __future__ import annotations

import os

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.lighting.compliance import (
    NOT_ASSESSED,
    GridLayout,
    compliance,
    compliance_summary,
    dark_spots,
    en13201_grid,
    indicators,
    lighting_class_requirements,
    segment_fields,
)
from vollsmose_gis.lighting.model import (
    Progress,
    burning_hours_per_year,
    check_resolution,
    cutoff_radius,
    district_latitude,
    illuminance_at,
    illuminance_raster,
    lamp_energy_kwh_per_year,
)
from vollsmose_gis.lighting.planner import (
    LampSpec,
    LightingPlan,
    check_spacing,
    plan_lights,
    priority_points,
)

__all__ = [
    "NOT_ASSESSED",
    "SPEC",
    "GridLayout",
    "LampSpec",
    "LightingPlan",
    "burning_hours_per_year",
    "check_resolution",
    "check_spacing",
    "compliance",
    "compliance_summary",
    "cutoff_radius",
    "dark_spots",
    "district_latitude",
    "en13201_grid",
    "illuminance_at",
    "illuminance_raster",
    "indicators",
    "lamp_energy_kwh_per_year",
    "lighting_class_requirements",
    "plan_lights",
    "priority_points",
    "segment_fields",
]


# --------------------------------------------------------------------------- the spec


def _compute(
    district: District,
    *,
    resolution_m: float = 1.0,
    target_class: str | None = None,
    photometry_dir: str | os.PathLike[str] | None = None,
    dark_threshold_lx: float | None = None,
    progress: Progress | None = None,
) -> ModuleResult:
    """The module's pipeline: compliance per segment, illuminance raster, dark spots."""
    resolution_m = check_resolution(resolution_m)  # refused before any work
    segments = compliance(district, target_class=target_class, photometry_dir=photometry_dir)
    raster = illuminance_raster(
        district, resolution_m=resolution_m, photometry_dir=photometry_dir, progress=progress
    )  # over the boundary
    dark = dark_spots(district, raster=raster, threshold_lx=dark_threshold_lx)
    values = indicators(
        district, compliance_frame=segments, dark=dark, photometry_dir=photometry_dir
    )
    return ModuleResult(
        values,
        {"lighting_segments": segments, "lighting_dark_spots": dark},
        {"illuminance": raster},
        extras={"summary": compliance_summary(segments)},
    )


SPEC = AnalysisSpec(
    name="lighting",
    themes=("safety and security",),
    # illuminance, EN 13201 compliance and dark spots depend on streets and lamps only
    reads=("streets", "lights"),
    # the latitude (night hours of the energy indicator, `lighting.district_latitude`);
    # no other setting (rule area, rules, centre) enters the lighting
    settings=("latitude_deg",),
    compute=_compute,
    parameters={
        "resolution_m": 1.0,
        "target_class": None,
        "photometry_dir": None,
        "dark_threshold_lx": None,
        "progress": None,
    },
    summary="EN 13201 compliance per path segment, illuminance raster, dark spots, energy.",
)
"""The street-lighting analysis (see :mod:`vollsmose_gis.analysis`)."""
