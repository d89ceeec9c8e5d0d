"""Safety from evidence: incidents, safety walks, hot spots, natural surveillance (issue 19).

The package is split along its seams:

* :mod:`~vollsmose_gis.safety.evidence`: the evidence layers (``incidents``,
  ``safety_walk``): CSV import, checks, privacy (snapping, jitter, aggregation below a
  documented count), the ILLUSTRATIVE evidence of the embedded district;
* :mod:`~vollsmose_gis.safety.hotspots`: network and grid kernel density, Getis-Ord
  Gi* and local Moran's I (PySAL) with false-discovery-rate control;
* :mod:`~vollsmose_gis.safety.surveillance`: "eyes on the street" from facade
  observers, on the CCTV engine's line of sight; overlooked share by day and night,
  dead frontages;
* :mod:`~vollsmose_gis.safety.audit`: incidents against dark spots, cameras and
  overlooked paths; the safety-audit table of the safety-walk marks;
* :mod:`~vollsmose_gis.safety.priority`: priority surfaces for the lamp and camera
  planners.

The analysis ``safety`` (:data:`SPEC`) runs them on a district; the lighting, CCTV and
calming results it needs come from :func:`vollsmose_gis.analysis.run` (cached).
Parameters and assumptions live in ``standards/safety.yaml``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.indicators import Indicator, indicator, label_of
from vollsmose_gis.safety.audit import (
    compare_audits,
    incident_exposure,
    incidents_by_year,
    residents,
    safety_audit,
)
from vollsmose_gis.safety.evidence import (
    ILLUSTRATIVE,
    EvidenceWarning,
    aggregate_incidents,
    check_evidence,
    illustrative_evidence,
    is_illustrative,
    jitter,
    read_evidence,
    snap_to_streets,
    with_illustrative_evidence,
)
from vollsmose_gis.safety.hotspots import (
    HotspotResult,
    grid_kde,
    hotspot_statistics,
    hotspots,
    network_kde,
)
from vollsmose_gis.safety.priority import (
    plan_cameras_for_evidence,
    plan_lights_for_evidence,
    priority_places,
    priority_surface,
    treated_share,
)
from vollsmose_gis.safety.surveillance import SurveillanceResult, natural_surveillance

__all__ = [
    "ILLUSTRATIVE",
    "SPEC",
    "EvidenceWarning",
    "HotspotResult",
    "SurveillanceResult",
    "aggregate_incidents",
    "check_evidence",
    "compare_audits",
    "grid_kde",
    "hotspot_statistics",
    "hotspots",
    "illustrative_evidence",
    "incidents_by_year",
    "is_illustrative",
    "jitter",
    "natural_surveillance",
    "network_kde",
    "plan_cameras_for_evidence",
    "plan_lights_for_evidence",
    "priority_places",
    "priority_surface",
    "read_evidence",
    "safety_audit",
    "snap_to_streets",
    "treated_share",
    "with_illustrative_evidence",
]

_MIN_INCIDENTS_FOR_STATISTICS = 3


def _compute(
    district: District,
    *,
    bandwidth_m: float | None = None,
    hotspot_unit: str = "grid",
    recognition_distance_m: float | None = None,
    residents: float | None = None,
    alpha: float | None = None,
) -> ModuleResult:
    """The module's pipeline: evidence checks, surveillance, hot spots, exposure, audit."""
    from vollsmose_gis import analysis

    check_evidence(district)
    lighting = analysis.run("lighting", district)
    cctv = analysis.run("cctv", district).extras["cctv"]
    surveillance = natural_surveillance(
        district,
        recognition_distance_m=recognition_distance_m,
        lighting_segments=lighting.layers["lighting_segments"],
    )
    population = _residents(district, residents)
    values: dict[str, Indicator] = {}
    layers: dict[str, Any] = {
        "safety_overlooked": surveillance.samples,
        "safety_facades": surveillance.facades,
    }
    rasters: dict[str, Any] = {}
    extras: dict[str, Any] = {"surveillance": surveillance, "residents": population}
    illustrative = is_illustrative(district)
    note = f" ({ILLUSTRATIVE})" if illustrative else ""
    extras["illustrative"] = illustrative

    values["safety_path_overlooked_day_share"] = indicator(
        "safety_path_overlooked_day_share",
        surveillance.share_day,
        reason="" if math.isfinite(surveillance.share_day) else "no walkable paths in the boundary",
    )
    values["safety_path_overlooked_night_share"] = indicator(
        "safety_path_overlooked_night_share",
        surveillance.share_night,
        reason=""
        if math.isfinite(surveillance.share_night)
        else "no walkable paths in the boundary",
    )
    values["safety_square_overlooked_day_share"] = indicator(
        "safety_square_overlooked_day_share",
        surveillance.square_share_day,
        reason="" if math.isfinite(surveillance.square_share_day) else "no squares in the boundary",
    )
    dead_share = (
        surveillance.dead_frontage_m / surveillance.facing_frontage_m
        if surveillance.facing_frontage_m > 0
        else math.nan
    )
    values["safety_dead_frontage_share"] = indicator(
        "safety_dead_frontage_share",
        dead_share,
        reason="" if math.isfinite(dead_share) else "no facades face a walkable path",
    )

    n = len(district.incidents)
    no_evidence = "no incidents in the district's incidents layer"
    exposure = incident_exposure(
        district,
        dark=lighting.layers["lighting_dark_spots"],
        cctv=cctv,
        surveillance=surveillance,
    )
    for key, part in (
        ("safety_incidents_in_dark_spots_share", "dark"),
        ("safety_incidents_in_camera_coverage_share", "camera"),
        ("safety_incidents_on_overlooked_paths_share", "overlooked"),
    ):
        values[key] = indicator(key, exposure[part], reason="" if n else no_evidence)

    by_year = incidents_by_year(district, population)
    extras["incidents_by_year"] = by_year
    if len(by_year) and population > 0:
        last = by_year.iloc[-1]
        values["safety_incidents_per_1000_residents"] = indicator(
            "safety_incidents_per_1000_residents",
            float(last["per_1000_residents"]),
            # the catalogue's label + details in parentheses: the report's other language
            # shows the catalogue's translation (i18n.indicator_label)
            label=f"{label_of('safety_incidents_per_1000_residents')} ({int(last['year'])}){note}",
        )
    else:
        values["safety_incidents_per_1000_residents"] = indicator(
            "safety_incidents_per_1000_residents",
            math.nan,
            reason=no_evidence if not n else "no dated incidents, or no residents",
        )

    if n >= _MIN_INCIDENTS_FOR_STATISTICS:
        spots = hotspots(district, unit=hotspot_unit, bandwidth_m=bandwidth_m, alpha=alpha)  # type: ignore[arg-type]
        extras["hotspots"] = spots
        layers["safety_network_kde"] = spots.network
        layers["safety_hotspot_units"] = spots.units
        layers["safety_hotspots"] = spots.hotspots
        rasters["incident_density"] = spots.grid
        extent = (
            float(spots.hotspots["area_m2"].sum()) / 10_000.0
            if hotspot_unit == "grid"
            else float(spots.hotspots["length_m"].sum()) / 1000.0
        )
        values["safety_hotspot_count"] = indicator(
            "safety_hotspot_count", float(len(spots.hotspots))
        )
        values["safety_hotspot_extent"] = indicator(
            "safety_hotspot_extent",
            extent if hotspot_unit == "grid" else math.nan,
            reason="" if hotspot_unit == "grid" else "extent is measured on grid cells (ha)",
        )
        layers["safety_incidents_aggregated"] = aggregate_incidents(district.incidents, district)
    else:
        reason = no_evidence if not n else f"fewer than {_MIN_INCIDENTS_FOR_STATISTICS} incidents"
        values["safety_hotspot_count"] = indicator("safety_hotspot_count", math.nan, reason=reason)
        values["safety_hotspot_extent"] = indicator(
            "safety_hotspot_extent", math.nan, reason=reason
        )

    if len(district.safety_walk):
        from vollsmose_gis.network import NoStreetsError

        try:
            speeds = analysis.run("calming", district).layers.get("calming_speeds")
        except NoStreetsError:  # no street with motor traffic: no speeds at the marks
            speeds = None
        layers["safety_audit"] = safety_audit(
            district,
            illuminance=lighting.rasters["illuminance"],
            cctv=cctv,
            surveillance=surveillance,
            speeds=speeds,
        )
    warnings_: list[str] = []
    if illustrative:
        warnings_.append(f"the evidence layers are {ILLUSTRATIVE}")
    return ModuleResult(values, layers, rasters, warnings=warnings_, extras=extras)


def _residents(district: District, override: float | None) -> float:
    return residents(district, override)


SPEC = AnalysisSpec(
    name="safety",
    themes=("safety and security",),
    reads=(
        "streets",
        "buildings",
        "landuse",
        "lights",
        "cameras",
        "calming",
        "pois",
        "incidents",
        "safety_walk",
    ),
    compute=_compute,
    parameters={
        "bandwidth_m": None,
        "hotspot_unit": "grid",
        "recognition_distance_m": None,
        "residents": None,
        "alpha": None,
    },
    summary="Natural surveillance (overlooked paths by day and night), incident hot spots "
    "(network/grid KDE, Gi*, local Moran with FDR), incidents in dark spots / camera "
    "coverage / on overlooked paths, safety-walk audit.",
    scored=False,
)
"""The safety-from-evidence analysis (see :mod:`vollsmose_gis.analysis`).

Not scored by default (``scored=False``): the evidence layers describe today's
district, not a plan; the surveillance indicators do change with plans.
"""


def incidents_table(result: ModuleResult) -> pd.DataFrame:
    """The by-year table of a safety result (``year``, ``incidents``, per 1,000)."""
    table: pd.DataFrame = result.extras.get("incidents_by_year", pd.DataFrame())
    return table
