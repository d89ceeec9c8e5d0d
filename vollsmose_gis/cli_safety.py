"""The ``vollsmose-gis safety`` command: evidence, hot spots, natural surveillance.

:func:`safety` is a plain function with typer ``Annotated`` parameters; ``cli.py``
registers it with ``app.command("safety")(handle_errors(safety))``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["safety"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    table = frame.drop(columns="geometry") if "geometry" in frame else frame
    return [{k: _clean(v) for k, v in r.items()} for r in table.to_dict("records")]


def safety(
    district: Annotated[
        Path | None,
        typer.Argument(
            help="District GeoPackage (default: the embedded Vollsmose model).",
            show_default=False,
        ),
    ] = None,
    incidents: Annotated[
        Path | None,
        typer.Option(
            "--incidents",
            help="CSV of incidents (x/y in the district CRS or lat/lon; kind, date, source, "
            "weight, count): replaces the district's incidents layer.",
            show_default=False,
        ),
    ] = None,
    marks: Annotated[
        Path | None,
        typer.Option(
            "--marks",
            help="CSV of safety-walk marks (x/y or lat/lon; reason, date, note): replaces "
            "the district's safety_walk layer.",
            show_default=False,
        ),
    ] = None,
    illustrative: Annotated[
        bool,
        typer.Option(
            "--illustrative",
            help="Use generated ILLUSTRATIVE evidence (not real data) where the district "
            "has none and no CSV is given.",
        ),
    ] = False,
    snap: Annotated[
        bool, typer.Option("--snap", help="Privacy: snap incidents to the nearest walkable street.")
    ] = False,
    jitter_m: Annotated[
        float | None,
        typer.Option(
            "--jitter",
            help="Privacy: move incidents randomly within this radius, m (seeded).",
            show_default=False,
        ),
    ] = None,
    bandwidth: Annotated[
        float | None,
        typer.Option("--bandwidth", help="KDE bandwidth, m (default 150).", show_default=False),
    ] = None,
    unit: Annotated[
        str,
        typer.Option("--unit", help="Hot-spot statistics on 'grid' cells or street 'segment's."),
    ] = "grid",
    residents: Annotated[
        float | None,
        typer.Option(
            "--residents",
            help="Residents of the district (default: dwellings x 2.3, an assumption).",
            show_default=False,
        ),
    ] = None,
    recognition: Annotated[
        float | None,
        typer.Option(
            "--recognition-distance",
            help="Distance at which a face is recognised from a window, m (default 25).",
            show_default=False,
        ),
    ] = None,
    plan_lights: Annotated[
        int | None,
        typer.Option(
            "--plan-lights",
            help="Plan up to N lamps on the failing paths that treat the most marks and "
            "incidents (weighted), heaviest first.",
            show_default=False,
        ),
    ] = None,
    plan_cameras: Annotated[
        int | None,
        typer.Option(
            "--plan-cameras",
            help="Place K cameras that see the most marks and incidents (recognition level).",
            show_default=False,
        ),
    ] = None,
    raster: Annotated[
        Path | None,
        typer.Option("--raster", help="Write the incident density (GeoTIFF, incidents/km²)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage: the district (evidence included; with planned lamps/cameras) "
            "plus tables safety_overlooked, safety_facades, safety_network_kde, "
            "safety_hotspot_units, safety_hotspots, safety_incidents_aggregated, "
            "safety_audit.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing output files (atomically).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Safety from evidence: natural surveillance, incident hot spots, safety-walk audit.

    Examples
    --------
      vollsmose-gis safety --illustrative

      vollsmose-gis safety my-district.gpkg --incidents incidents.csv --marks walk.csv --json

      vollsmose-gis safety --illustrative --plan-lights 20 --plan-cameras 3 -o safety.gpkg
    """
    from vollsmose_gis._errors import InputError
    from vollsmose_gis.cli import (
        indicators_json,
        open_district,
        print_footer,
        refuse_existing,
        run_module,
    )
    from vollsmose_gis.io import save_district, write_geotiff

    # every check before any work: nothing is written on failure
    refuse_existing(raster, output, overwrite=overwrite, inputs=(district, incidents, marks))
    if unit not in ("grid", "segment"):
        raise InputError(f"--unit {unit!r}: use 'grid' or 'segment'")
    for name, value in (("--plan-lights", plan_lights), ("--plan-cameras", plan_cameras)):
        if value is not None and value < 1:
            raise InputError(f"{name} {value} must be at least 1")
    if bandwidth is not None and not bandwidth > 0:
        raise InputError(f"--bandwidth {bandwidth} must be > 0 m")
    d = open_district(district)
    d = _with_evidence(d, incidents, marks, illustrative=illustrative, jitter_m=jitter_m, snap=snap)
    result = run_module(
        "safety",
        d,
        bandwidth_m=bandwidth,
        hotspot_unit=unit,
        recognition_distance_m=recognition,
        residents=residents,
    )
    planned = _plans(d, plan_lights, plan_cameras)
    final = planned.get("cameras") or planned.get("lights") or None
    if raster is not None and "incident_density" in result.rasters:
        write_geotiff(result.rasters["incident_density"], raster, overwrite=overwrite)
    elif raster is not None:
        raise InputError("--raster: no incident density (fewer than 3 incidents)")
    if output is not None:
        tables = dict(result.layers)
        for name, plan in planned.items():
            tables[f"safety_plan_{name}"] = plan.added
        save_district(
            final.district if final is not None else d,
            output,
            overwrite=overwrite,
            extra_layers=tables,
        )
    by_year = result.extras.get("incidents_by_year")
    if as_json:
        report: dict[str, Any] = {
            "district": d.name,
            "provenance": d.provenance.statement(),
            "illustrative": bool(result.extras.get("illustrative")),
            "indicators": indicators_json(result.indicators),
            "incidents_by_year": _records(by_year) if by_year is not None else [],
            "audit": _records(result.layers["safety_audit"])
            if "safety_audit" in result.layers
            else [],
            "plans": {
                name: {
                    "added": len(plan.added),
                    "cost": plan.cost_dkk,
                    "unmet": plan.unmet,
                    "treated_share_before": _clean(plan.summary.get("treated_share_before")),
                    "treated_share_after": _clean(plan.summary.get("treated_share_after")),
                }
                for name, plan in planned.items()
            },
            "warnings": result.warnings,
            "outputs": {"raster": raster and str(raster), "output": output and str(output)},
        }
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    _print_text(d, result, planned)
    print_footer(result)


def _with_evidence(
    d: Any,
    incidents: Path | None,
    marks: Path | None,
    *,
    illustrative: bool,
    jitter_m: float | None,
    snap: bool,
) -> Any:
    """The district with the CSV or illustrative evidence, privacy options applied."""
    from vollsmose_gis.safety import evidence as ev

    changes: dict[str, Any] = {}
    if incidents is not None:
        changes["incidents"] = ev.read_evidence(incidents, "incidents", crs=d.crs)
    if marks is not None:
        changes["safety_walk"] = ev.read_evidence(marks, "safety_walk", crs=d.crs)
    if illustrative:
        inc, walk = ev.illustrative_evidence(d)
        if incidents is None and not len(d.incidents):
            changes["incidents"] = inc
        if marks is None and not len(d.safety_walk):
            changes["safety_walk"] = walk
    if changes:
        d = d.replace(**changes)
    if jitter_m is not None:
        d = d.replace(incidents=ev.jitter(d.incidents, radius_m=jitter_m))
    if snap:
        d = d.replace(incidents=ev.snap_to_streets(d.incidents, d).drop(columns="snapped"))
    return d


def _plans(d: Any, plan_lights: int | None, plan_cameras: int | None) -> dict[str, Any]:
    """The lamp and camera plans aimed at the evidence that were asked for."""
    from vollsmose_gis.cli import err_console

    planned: dict[str, Any] = {}
    if plan_lights is not None or plan_cameras is not None:
        from vollsmose_gis.safety import priority

        if plan_lights is not None:
            with err_console.status("planning lamps at the evidence"):
                planned["lights"] = priority.plan_lights_for_evidence(d, max_new=plan_lights)
        if plan_cameras is not None:
            base = planned["lights"].district if "lights" in planned else d
            with err_console.status("placing cameras at the evidence"):
                planned["cameras"] = priority.plan_cameras_for_evidence(base, k=plan_cameras)
    return planned


def _print_text(d: Any, result: Any, planned: dict[str, Any]) -> None:
    """The text report: indicators, incidents by year, the audit table, the plans."""
    from rich.markup import escape
    from rich.table import Table

    from vollsmose_gis.cli import console, print_indicators
    from vollsmose_gis.safety import evidence as ev

    by_year = result.extras.get("incidents_by_year")
    if result.extras.get("illustrative"):
        console.print(f"[bold yellow]{ev.ILLUSTRATIVE}[/]", highlight=False)
    console.print(
        f"[bold]{escape(d.name)}[/]: {len(d.incidents)} incident rows, {len(d.safety_walk)} "
        "safety-walk marks",
        highlight=False,
    )
    print_indicators(result.indicators)
    if by_year is not None and len(by_year):
        years = Table("year", "incidents", "per 1,000 residents")
        for r in by_year.itertuples():
            years.add_row(str(r.year), f"{r.incidents:,.0f}", f"{r.per_1000_residents:,.2f}")
        console.print(years)
    if "safety_audit" in result.layers:
        audit = Table("mark", "reason", "lux", "camera", "overlooked day", "night", "V85 km/h")
        for r in result.layers["safety_audit"].itertuples():
            audit.add_row(
                str(r.mark_id), str(r.reason), f"{r.lux:.1f}", str(r.camera_level),
                "yes" if r.overlooked_day else "no", "yes" if r.overlooked_night else "no",
                "-" if math.isnan(r.v85_kmh) else f"{r.v85_kmh:.0f}",
            )  # fmt: skip
        console.print(audit)
    for name, plan in planned.items():
        before = plan.summary.get("treated_share_before", math.nan)
        after = plan.summary.get("treated_share_after", math.nan)
        console.print(
            f"{name} plan: {len(plan.added)} added, {plan.cost_dkk:,.0f} "
            f"{d.settings.currency}; marks and incidents treated (weighted) "
            f"{before:.0%} -> {after:.0%}",
            highlight=False,
            markup=False,
        )
