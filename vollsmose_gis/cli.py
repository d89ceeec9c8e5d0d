"""The ``vollsmose-gis`` command line.

Every command reads a DISTRICT GeoPackage (default: the embedded schematic Vollsmose
model), prints a table for people or JSON for machines, and exits with code 2 and a
one-line reason on bad input (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from vollsmose_gis import __version__
from vollsmose_gis._errors import DistrictValidationError, InputError
from vollsmose_gis.district import District

app = typer.Typer(
    name="vollsmose-gis",
    help=(
        "Model a district's street connectivity, traffic speeds, lighting, CCTV and "
        "housing/land-use mix, and score district-plan scenarios.\n\n"
        "DISTRICT arguments are district GeoPackages; without one, commands use the "
        "embedded schematic model of Vollsmose, Odense."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

DistrictArg = Annotated[
    Path | None,
    typer.Argument(
        help="District GeoPackage (default: the embedded Vollsmose model).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(reason: str, detail: str | None = None) -> None:
    err_console.print(f"[bold red]error:[/] {reason}", highlight=False, markup=True, soft_wrap=True)
    if detail:
        err_console.print(detail, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code=2)


def handle_errors(func: F) -> F:
    """Turn user-input errors into exit code 2 with a one-line reason and the detail."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except DistrictValidationError as exc:
            if _state["debug"]:
                raise
            first, _, rest = str(exc).partition("\n")
            _fail(first, rest)
        except (InputError, OSError) as exc:
            if _state["debug"]:
                raise
            first, _, rest = str(exc).partition("\n")
            _fail(first, rest or None)
        except Exception as exc:
            if _state["debug"]:
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                "This is a bug in vollsmose-gis; rerun with --debug and report the traceback.",
                markup=True,
                highlight=False,
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def open_district(path: Path | None, *, strict: bool = True) -> District:
    """Load the DISTRICT argument, or the embedded Vollsmose model when it is None."""
    if path is None:
        from vollsmose_gis.sources.vollsmose import default_district

        return default_district()
    from vollsmose_gis.io import load_district

    return load_district(path, strict=strict)


def _version(value: bool) -> None:
    if value:
        console.print(f"vollsmose-gis {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


@app.command()
@handle_errors
def info(district: DistrictArg = None, as_json: JsonOpt = False) -> None:
    """Describe a district: layers and feature counts, CRS, bounds, provenance.

    Examples:

      vollsmose-gis info

      vollsmose-gis info my-district.gpkg --json
    """
    d = open_district(district)
    summary = d.summary()
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{d.name}[/]  ({d.crs}, boundary {summary['boundary_area_ha']} ha)")
    minx, miny, maxx, maxy = summary["boundary_bounds"]
    console.print(f"boundary bounds: E {minx:.0f}–{maxx:.0f}, N {miny:.0f}–{maxy:.0f}")
    table = Table("layer", "features", title=None)
    for name, count in summary["layers"].items():
        table.add_row(name, str(count))
    console.print(table)
    console.print(f"dwellings: {summary['dwellings']}")
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)
    if d.provenance.notes:
        console.print(f"notes: {d.provenance.notes}", highlight=False, markup=False)


@app.command()
@handle_errors
def validate(
    district: DistrictArg = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Repair what can be repaired (invalid geometry, CRS, missing optional "
            "columns) with a warning each, instead of failing.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a district against the layer schemas; exit 0 if valid, 2 with every problem.

    Examples:

      vollsmose-gis validate my-district.gpkg

      vollsmose-gis validate my-district.gpkg --repair
    """
    try:
        d = open_district(district, strict=not repair)
    except DistrictValidationError as exc:
        if as_json:
            print(
                json.dumps({"valid": False, "problems": [vars(p) for p in exc.problems]}, indent=2)
            )
            raise typer.Exit(code=2) from None
        raise
    if as_json:
        print(json.dumps({"valid": True, "problems": []}))
    else:
        console.print(f"[green]valid[/]: {d!r}", highlight=False)


@app.command("import-osm")
@handle_errors
def import_osm(
    source: Annotated[
        Path | None,
        typer.Argument(help="OSM file: .osm, .osm.bz2, .osm.gz or .osm.pbf.", show_default=False),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="District GeoPackage to write.")
    ] = None,
    place: Annotated[
        str | None,
        typer.Option(
            help='Download a place via Overpass instead (needs network), e.g. "Vollsmose, Odense".'
        ),
    ] = None,
    boundary: Annotated[
        str | None, typer.Option(help="Study area: a vector file or WKT polygon.")
    ] = None,
    boundary_crs: Annotated[
        str | None, typer.Option(help="CRS of a WKT --boundary (default: --crs).")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="Study area W,S,E,N in degrees.")] = None,
    name: Annotated[str | None, typer.Option(help="District name.")] = None,
    crs: Annotated[
        str, typer.Option(help="Projected district CRS, or 'auto' (local UTM).")
    ] = "EPSG:25832",
    context_m: Annotated[
        float, typer.Option(help="Metres of data kept around the boundary.")
    ] = 1000.0,
    tenure: Annotated[
        str | None,
        typer.Option(help="Tenure of dwellings (OSM has none): a category, or BUILDING=TENURE,..."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import OpenStreetMap data as a district GeoPackage and report what was dropped.

    Examples:

      vollsmose-gis import-osm extract.osm.pbf --bbox 10.40,55.40,10.44,55.42 -o district.gpkg

      vollsmose-gis import-osm extract.osm --crs auto --tenure almen_family -o district.gpkg

      vollsmose-gis import-osm --place "Vollsmose, Odense" -o vollsmose-osm.gpkg
    """
    from vollsmose_gis.io import save_district
    from vollsmose_gis.sources import osm

    if (source is None) == (place is None):
        raise InputError("give either an OSM file (SOURCE) or --place, not both or neither")
    if output is None:
        raise InputError("missing -o/--output: the district GeoPackage to write")
    if output.exists() and not overwrite:
        raise InputError(f"{output} exists; pass --overwrite to replace it")
    options: dict[str, Any] = dict(
        name=name, crs=crs, context_m=context_m,
        tenure=osm.parse_tenure(tenure) if tenure else None,
    )  # fmt: skip
    with err_console.status("importing OpenStreetMap data") as status:
        options["progress"] = lambda _fraction, message: status.update(message)
        if place is not None:
            if boundary or bbox:
                raise InputError("--place brings its own boundary; drop --boundary/--bbox")
            result = osm.import_osm_place(place, **options)
        else:
            assert source is not None
            result = osm.import_osm(
                source, boundary=boundary, boundary_crs=boundary_crs,
                bbox=osm.parse_bbox(bbox) if bbox else None, **options,
            )  # fmt: skip
        save_district(result.district, output, overwrite=overwrite)
    if as_json:
        report = result.report.to_dict()
        print(json.dumps({"output": str(output), "district": result.district.summary(),
                          "report": report}, indent=2, ensure_ascii=False))  # fmt: skip
        return
    d = result.district
    console.print(f"[bold]{d.name}[/] -> {output}  ({d.crs})", highlight=False)
    table = Table("layer", "kept", "dropped")
    for layer, count in result.report.kept.items():
        table.add_row(layer, str(count), str(result.report.dropped_in(layer)))
    console.print(table)
    for reason, count in sorted(result.report.dropped.items()):
        console.print(f"dropped {count:>5}  {reason}", highlight=False, markup=False)
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)


def main() -> None:
    """Entry point of the ``vollsmose-gis`` script."""
    app()


if __name__ == "__main__":
    main()
