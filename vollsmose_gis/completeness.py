"""Data completeness: caveats for indicators that rest on sparse data.

A figure such as "5 % of paths lit" or "0 % CCTV coverage" computed from OpenStreetMap
is usually a statement about the map, not about the city.  :func:`caveats` compares
each layer with what the district's own data implies (lamps per km of the streets
tagged lit, cameras in a district of many buildings, dwellings and tenure known) and
returns one plain-language caveat per problem, keyed by the module it affects.  The
analysis contract attaches them to each :class:`~vollsmose_gis.analysis.ModuleResult`,
so the CLI, the report, the ranking and QGIS show them beside the indicators.

Thresholds are data: ``standards/completeness.yaml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from vollsmose_gis.standards import load

if TYPE_CHECKING:
    from vollsmose_gis.district import District

__all__ = ["caveats"]


def caveats(district: District, module: str | None = None) -> dict[str, list[str]]:
    """Module name -> caveats about the completeness of the data it rests on.

    Parameters
    ----------
    district
        The district (its layers inside the study boundary are checked).
    module
        Check only what this module rests on (default: every module).

    Returns
    -------
    dict
        ``{"lighting": [...], "cctv": [...], "mix": [...]}``; empty lists when the data
        look complete.
    """
    config = load("completeness")
    checks = {"lighting": _lighting, "cctv": _cctv, "mix": _mix}
    return {
        name: check(district, config[name])
        for name, check in checks.items()
        if module is None or name == module
    }


def _inside(district: District, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    return frame.loc[shapely.intersects(frame.geometry.to_numpy(), district.boundary)]


def _lighting(district: District, config: dict[str, Any]) -> list[str]:
    streets = _inside(district, district.streets)
    lit = streets[streets["lit"].fillna(False).astype(bool)] if len(streets) else streets
    lit_km = float(lit.geometry.length.sum()) / 1000.0 if len(lit) else 0.0
    lamps = _inside(district, district.lights)
    if lit_km < float(config["min_lit_street_km"]):
        if lamps.empty:
            return [
                "neither lamps nor streets tagged lit are in the data: the lighting "
                "indicators describe the map, not the street lighting"
            ]
        return []
    near = 0
    if len(lamps):
        zone = shapely.union_all(lit.geometry.buffer(float(config["lamp_search_m"])).to_numpy())
        near = int(np.count_nonzero(shapely.intersects(lamps.geometry.to_numpy(), zone)))
    per_km = near / lit_km
    if per_km < float(config["min_lamps_per_lit_km"]):
        return [
            f"lamps look incompletely mapped: {near} lamps along {lit_km:.1f} km of streets "
            f"tagged lit ({per_km:.1f} per km; street lighting is usually 20-40 per km) — "
            "lit shares and dark spots are lower bounds on what is lit"
        ]
    return []


def _cctv(district: District, config: dict[str, Any]) -> list[str]:
    buildings = _inside(district, district.buildings)
    cameras = _inside(district, district.cameras)
    if cameras.empty and len(buildings) >= int(config["min_buildings_for_no_camera_caveat"]):
        return [
            f"no camera in the data of a district with {len(buildings)} buildings: 0 % "
            "coverage means none are mapped, not that none exist"
        ]
    if "heading_estimated" in cameras.columns and len(cameras):
        estimated = int(cameras["heading_estimated"].fillna(False).astype(bool).sum())
        if estimated:
            return [
                f"{estimated} of {len(cameras)} cameras have an estimated heading (no "
                "camera:direction in the data): their coverage is a guess"
            ]
    return []


def _mix(district: District, config: dict[str, Any]) -> list[str]:
    buildings = _inside(district, district.buildings)
    homes = buildings[buildings["use"].astype(str).isin(["residential", "mixed"])]
    if homes.empty:
        return []
    out = []
    dwellings = float(homes["dwellings"].notna().mean())
    if dwellings < float(config["min_dwellings_known_share"]):
        out.append(
            f"dwellings are known for {dwellings:.0%} of residential buildings: dwelling "
            "counts and shares rest on estimates"
        )
    with_homes = homes[homes["dwellings"].fillna(0) > 0]
    tenure = float(with_homes["tenure"].notna().mean()) if len(with_homes) else 0.0
    if tenure < float(config["min_tenure_known_share"]):
        out.append(
            f"tenure is known for {tenure:.0%} of buildings with dwellings: the housing-mix "
            "indicators cannot be measured from these data"
        )
    return out
