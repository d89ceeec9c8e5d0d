"""The ``vollsmose-gis import-dk`` command: a District from BBR, GeoDanmark and DAR files.

:func:`import_dk` is a plain function with typer ``Annotated`` parameters; ``cli.py``
registers it with ``app.command("import-dk")(handle_errors(import_dk))``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vollsmose_gis._errors import InputError

__all__ = ["import_dk"]

console = Console()
err_console = Console(stderr=True)


def import_dk(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="District GeoPackage to write.", show_default=False),
    ] = None,
    bbr: Annotated[
        Path | None,
        typer.Option(
            "--bbr",
            help="BBR buildings (BBR_Bygning): CSV as exported, or GeoPackage/GML.",
            show_default=False,
        ),
    ] = None,
    buildings: Annotated[
        Path | None,
        typer.Option(
            "--buildings",
            help="GeoDanmark Bygning footprints (GeoPackage or GML, EPSG:25832).",
            show_default=False,
        ),
    ] = None,
    units: Annotated[
        Path | None,
        typer.Option("--units", help="BBR units (BBR_Enhed) CSV.", show_default=False),
    ] = None,
    roads: Annotated[
        Path | None,
        typer.Option(
            "--roads", help="GeoDanmark Vejmidte (GeoPackage or GML).", show_default=False
        ),
    ] = None,
    addresses: Annotated[
        Path | None,
        typer.Option(
            "--addresses",
            help="DAR Husnummer with its Adressepunkt 'position' (CSV with WKT, or GeoPackage).",
            show_default=False,
        ),
    ] = None,
    address_points: Annotated[
        Path | None,
        typer.Option(
            "--address-points",
            help="DAR Adressepunkt (id_lokalId, position), joined through adgangspunkt.",
            show_default=False,
        ),
    ] = None,
    boundary: Annotated[
        str | None,
        typer.Option(help="Study area: a vector file or a WKT polygon in --crs."),
    ] = None,
    crs: Annotated[str, typer.Option(help="District CRS (projected, metres).")] = "EPSG:25832",
    name: Annotated[str | None, typer.Option(help="District name.")] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule", help="A legal rule that applies, e.g. dk_168a for a boligområde (repeat)."
        ),
    ] = None,
    unknown_codes: Annotated[
        str,
        typer.Option(
            "--unknown-codes",
            help="Codes not in dk_mapping.yaml: 'warn' (fallback, counted) or 'error'.",
        ),
    ] = "warn",
    allow_missing_footprints: Annotated[
        bool,
        typer.Option(
            "--allow-missing-footprints",
            help="Drop (and count) BBR buildings with dwellings but no footprint.",
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output (atomically).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Import the Danish registers (BBR, GeoDanmark, DAR) as a district GeoPackage.

    Examples
    --------
      vollsmose-gis import-dk --bbr bbr_bygning.csv --units bbr_enhed.csv
        --buildings bygning.gml --roads vejmidte.gpkg --addresses husnummer.csv
        --rule dk_168a -o district.gpkg
    """
    from vollsmose_gis.cli import refuse_existing
    from vollsmose_gis.io import save_district
    from vollsmose_gis.sources import dk

    if output is None:
        raise InputError("missing -o/--output: the district GeoPackage to write")
    if bbr is None or buildings is None:
        raise InputError("give --bbr (BBR buildings) and --buildings (GeoDanmark footprints)")
    if unknown_codes not in ("warn", "error"):
        raise InputError(f"--unknown-codes must be warn or error, got {unknown_codes!r}")
    inputs = (bbr, buildings, units, roads, addresses, address_points)
    refuse_existing(output, overwrite=overwrite, inputs=inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", dk.DkCodeWarning)
        result = dk.import_dk_with_report(
            bbr=bbr, buildings=buildings, units=units, roads=roads, addresses=addresses,
            address_points=address_points, boundary=boundary, crs=crs, name=name,
            rules=tuple(rule or ()),
            unknown_codes="error" if unknown_codes == "error" else "warn",
            allow_missing_footprints=allow_missing_footprints,
        )  # fmt: skip
    save_district(result.district, output, overwrite=overwrite)
    for warning in caught:
        err_console.print(f"warning: {warning.message}", highlight=False, markup=False)
    d = result.district
    if as_json:
        report = result.report.to_dict()
        summary = {"output": str(output), "district": d.summary(), "report": report}
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{escape(d.name)}[/] -> {escape(str(output))}  ({d.crs})", highlight=False)
    table = Table("layer", "kept", "dropped")
    for layer, count in result.report.kept.items():
        table.add_row(layer, str(count), str(result.report.dropped_in(layer)))
    console.print(table)
    for reason, count in sorted(result.report.dropped.items()):
        console.print(f"dropped {count:>5}  {reason}", highlight=False, markup=False)
    for note in result.report.notes:
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)
