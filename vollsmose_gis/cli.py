"""The ``vollsmose-gis`` command line.

Every command reads a DISTRICT GeoPackage (default: the embedded schematic Vollsmose
model), prints a table for people or JSON for machines, and exits with code 2 and a
one-line reason on bad input (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vollsmose_gis._errors import DistrictValidationError, InputError
from vollsmose_gis._util import json_value
from vollsmose_gis._version import __version__
from vollsmose_gis.analysis import ModuleResult
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
# Piped output (files, CI logs) gets a width that fits the score table instead of
# Rich's 80-column default; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
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
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace existing output files (atomically).")
]


def _fail(reason: str, detail: str | None = None) -> None:
    err_console.print(
        f"[bold red]error:[/] {escape(reason)}", highlight=False, markup=True, soft_wrap=True
    )
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
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                "This is a bug in vollsmose-gis; rerun with --debug and report the traceback.",
                markup=True,
                highlight=False,
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def refuse_existing(
    *paths: Path | None, overwrite: bool, inputs: tuple[Path | None, ...] = ()
) -> None:
    """Check output files before any work is done.

    Refused: an output that exists without --overwrite, an output that is a folder, two
    outputs naming the same file, an output that is one of the inputs (even with
    --overwrite: it would destroy the input), and an output in a missing or unwritable
    folder.
    """
    outputs = [p for p in paths if p is not None]
    seen: dict[Path, Path] = {}
    sources = {Path(p).resolve(): p for p in inputs if p is not None}
    for path in outputs:
        resolved = path.resolve()
        if resolved in seen:
            raise InputError(f"two outputs name the same file {path}; give each its own path")
        seen[resolved] = path
        if resolved in sources:
            raise InputError(
                f"output {path} is the input {sources[resolved]}; writing it would destroy "
                "the input — choose another output path"
            )
        if path.is_dir():
            raise InputError(f"output {path} is a folder; give a file path inside it")
        if path.exists() and not overwrite:
            raise InputError(f"{path} exists; pass --overwrite to replace it")
        if not resolved.parent.is_dir():
            raise InputError(f"cannot write {path}: folder {resolved.parent} does not exist")
        if not os.access(resolved.parent, os.W_OK):
            raise InputError(f"cannot write {path}: no write permission in {resolved.parent}")


def open_district(path: Path | None, *, strict: bool = True) -> District:
    """Load the DISTRICT argument, or the embedded Vollsmose model when it is None."""
    if path is None:
        from vollsmose_gis.sources.vollsmose import default_district

        return default_district()
    from vollsmose_gis.io import load_district

    return load_district(path, strict=strict)


def status_progress(status: Any) -> Callable[[float, str], None]:
    """A progress callback that updates a rich status line."""
    return lambda fraction, message: status.update(f"{message} {fraction:.0%}")


def run_module(name: str, district: District, **params: Any) -> ModuleResult:
    """Run one analysis module through the contract, with a status line for progress."""
    from vollsmose_gis import analysis

    with err_console.status(name) as status:
        return analysis.run(name, district, progress=status_progress(status), **params)


def indicators_json(values: dict[str, Any]) -> dict[str, Any]:
    """Indicators as JSON: every field, NaN as null."""
    return {k: {**v.to_dict(), "value": json_value(v.value)} for k, v in values.items()}


def print_indicators(
    values: dict[str, Any], after: dict[str, Any] | None = None, *, title: str = "indicator"
) -> None:
    """The one table of indicators a module command prints (now, and after a plan)."""
    table = Table(title, "now", *(["after plan"] if after else []), "unit", "better")
    for key, ind in values.items():
        cells = [_fmt(ind.value)] + ([_fmt(after[key].value)] if after and key in after else [])
        better = "higher" if ind.higher_is_better else "lower"
        table.add_row(key, *cells, ind.unit, better)
    console.print(table)


def print_footer(result: ModuleResult) -> None:
    """Warnings (once, one line each, on stderr) and the provenance line."""
    for message in result.warnings:
        err_console.print(f"warning: {message}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"provenance: {result.provenance}", highlight=False, markup=False)


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:,.3f}"


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
    if not debug:
        warnings.showwarning = _show_warning


_SHOWN: set[str] = set()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print a Python warning as one line, once per run (no source paths or code lines)."""
    text = f"warning: {message}"
    if text in _SHOWN:
        return
    _SHOWN.add(text)
    err_console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command()
@handle_errors
def info(district: DistrictArg = None, as_json: JsonOpt = False) -> None:
    """Describe a district: layers and feature counts, CRS, bounds, provenance.

    Examples
    --------
      vollsmose-gis info

      vollsmose-gis info my-district.gpkg --json
    """
    d = open_district(district)
    summary = d.summary()
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(
        f"[bold]{escape(d.name)}[/]  ({d.crs}, boundary {summary['boundary_area_ha']} ha)"
    )
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

    Examples
    --------
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
        console.print(f"[green]valid[/]: {escape(repr(d))}", highlight=False)


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
        str,
        typer.Option(
            help="Projected district CRS, or 'auto': the local UTM zone (ETRS89 / UTM in "
            "Europe, e.g. EPSG:25832 in Denmark; WGS 84 / UTM elsewhere)."
        ),
    ] = "auto",
    context_m: Annotated[
        float, typer.Option(help="Metres of data kept around the boundary.")
    ] = 1000.0,
    tenure: Annotated[
        str | None,
        typer.Option(help="Tenure of dwellings (OSM has none): a category, or BUILDING=TENURE,..."),
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import OpenStreetMap data as a district GeoPackage and report what was dropped.

    Examples
    --------
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
    refuse_existing(output, overwrite=overwrite, inputs=(source,))
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
    console.print(f"[bold]{escape(d.name)}[/] -> {escape(str(output))}  ({d.crs})", highlight=False)
    table = Table("layer", "kept", "dropped")
    for layer, count in result.report.kept.items():
        table.add_row(layer, str(count), str(result.report.dropped_in(layer)))
    console.print(table)
    for reason, count in sorted(result.report.dropped.items()):
        console.print(f"dropped {count:>5}  {reason}", highlight=False, markup=False)
    for note in getattr(result.report, "notes", []):  # no context, city centre, cameras
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)


@app.command()
@handle_errors
def lighting(
    district: DistrictArg = None,
    resolution: Annotated[
        float, typer.Option(help="Raster cell size in metres (dark spots, --raster).")
    ] = 1.0,
    raster: Annotated[
        Path | None, typer.Option("--raster", help="Write the illuminance raster (GeoTIFF, lx).")
    ] = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Plan lamps for failing paths; report cost and after.")
    ] = False,
    target_class: Annotated[
        str | None,
        typer.Option("--class", help="Assess every segment against this class, e.g. P4."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage: the district (with planned lamps) "
            "plus tables lighting_compliance, dark_spots, planned_lights.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Check street lighting against EN 13201: compliance per segment, dark spots, energy.

    Examples
    --------
      vollsmose-gis lighting

      vollsmose-gis lighting my-district.gpkg --raster lux.tif --plan -o lit.gpkg --json
    """
    from vollsmose_gis import lighting as lt
    from vollsmose_gis.io import save_district, write_geotiff

    refuse_existing(raster, output, overwrite=overwrite, inputs=(district,))
    d = open_district(district)
    folder = district.parent if district is not None else None
    options: dict[str, Any] = dict(target_class=target_class, photometry_dir=folder)
    run = run_module("lighting", d, resolution_m=resolution, **options)
    image, values = run.rasters["illuminance"], run.indicators
    frame, dark = run.layers["lighting_segments"], run.layers["lighting_dark_spots"]
    result = after = None
    if plan:
        with err_console.status("planning lamps") as status:
            result = lt.plan_lights(d, progress=status_progress(status), **options)
        after = run_module("lighting", result.district, resolution_m=resolution,
                           **options).indicators  # fmt: skip
    if raster is not None:
        write_geotiff(image, raster, overwrite=overwrite)
    if output is not None:
        tables = {"lighting_compliance": frame, "dark_spots": dark}
        if result is not None:
            tables.update(planned_lights=result.new_lights,
                          lighting_compliance_after=result.compliance_after)  # fmt: skip
        save_district(result.district if result is not None else d, output,
                      overwrite=overwrite, extra_layers=tables)  # fmt: skip
    clean = json_value
    summary = run.extras["summary"]
    if as_json:
        report: dict[str, Any] = {
            "district": d.name, "provenance": d.provenance.statement(),
            "indicators": indicators_json(values), "warnings": run.warnings,
            "classes": [{k: clean(v) for k, v in r.items()} for r in summary.to_dict("records")],
            "dark_spots": len(dark), "outputs": {"raster": raster and str(raster),
                                                  "output": output and str(output)},
        }  # fmt: skip
        if result is not None and after is not None:
            report["plan"] = {
                "new_lamps": len(result.new_lights), "cost_dkk": result.cost_dkk,
                "unresolved": result.unresolved,
                "indicators_after": {k: clean(v.value) for k, v in after.items()},
            }  # fmt: skip
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    console.print(
        f"[bold]{escape(d.name)}[/]: EN 13201 compliance of {len(frame)} segments", highlight=False
    )
    table = Table("class", "segments", "passing", "length km", "passing share", "mean Ē lx")
    for r in summary.itertuples():
        table.add_row(str(r.lighting_class), str(r.segments), str(r.passing),
                      f"{r.length_m / 1000:.2f}",
                      f"{r.passing_share:.0%}" if getattr(r, "assessed", True) else "not assessed",
                      f"{r.mean_E_avg_lx:.1f}")  # fmt: skip
    console.print(table)
    print_indicators(values, after)
    if result is not None and after is not None:
        console.print(f"plan: {len(result.new_lights)} new lamps, {result.cost_dkk:,.0f} DKK; "
                      f"lit path share {values['lit_path_share'].value:.0%} -> "
                      f"{after['lit_path_share'].value:.0%}; unresolved: "
                      f"{', '.join(result.unresolved) or 'none'}",
                      highlight=False, markup=False)  # fmt: skip
    print_footer(run)


@app.command()
@handle_errors
def connectivity(
    district: DistrictArg = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage with layers nodes and edges "
            "(walk graph with betweenness and harmonic closeness, global and local).",
        ),
    ] = None,
    centre: Annotated[
        str | None,
        typer.Option(
            help="City centre X,Y in the district CRS (default: the district's settings "
            "centre; without one, distance to the centre is not measured)."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure street connectivity: structure, boundary permeability, route directness.

    Examples
    --------
      vollsmose-gis connectivity

      vollsmose-gis connectivity my-district.gpkg --json -o network.gpkg
    """
    from vollsmose_gis import connectivity as cn
    from vollsmose_gis.io import save_layers

    refuse_existing(output, overwrite=overwrite, inputs=(district,))
    d = open_district(district)
    xy = _parse_xy(centre, "--centre")
    radii = tuple(cn._config("indicators")["centrality_radii_m"]) if output is not None else (800,)
    run = run_module("connectivity", d, centre=xy, radii=radii)
    values = run.indicators
    if output is not None:
        layers = {
            "nodes": run.layers["connectivity_nodes"],
            "edges": run.layers["connectivity_edges"],
        }
        save_layers(layers, output, overwrite=overwrite)
    if as_json:
        print(json.dumps({
            "district": d.name, "provenance": d.provenance.statement(),
            "indicators": indicators_json(values), "warnings": run.warnings,
            "output": output and str(output),
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return
    console.print(f"[bold]{escape(d.name)}[/]: connectivity inside the boundary", highlight=False)
    print_indicators(values)
    if output is not None:
        console.print(
            f"nodes and edges with centralities -> {output}", highlight=False, markup=False
        )
    print_footer(run)


def _parse_xy(text: str | None, option: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(
            f"{option} must be X,Y in metres of the district CRS, got {text!r}"
        ) from None
    return x, y


@app.command("suggest-links")
@handle_errors
def suggest_links(
    district: DistrictArg = None,
    k: Annotated[int, typer.Option("--k", help="Largest number of links (1-50).")] = 10,
    budget_m: Annotated[
        float | None, typer.Option("--budget-m", help="Total length of new links, metres.")
    ] = None,
    max_length_m: Annotated[
        float | None, typer.Option("--max-length-m", help="Longest link considered (150 m).")
    ] = None,
    objective: Annotated[
        str, typer.Option(help="route_directness or distance_to_centre_m (minimised).")
    ] = "route_directness",
    centre: Annotated[
        str | None,
        typer.Option(
            help="City centre X,Y in the district CRS (default: the district's settings "
            "centre; without one, distance to the centre is not measured)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="GeoPackage with layer links.")
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Suggest new pedestrian links that best open the district up, with their gains.

    Examples
    --------
      vollsmose-gis suggest-links --k 5

      vollsmose-gis suggest-links my-district.gpkg --budget-m 400 -o links.gpkg --json
    """
    from vollsmose_gis import connectivity as cn
    from vollsmose_gis.io import save_layers

    refuse_existing(output, overwrite=overwrite, inputs=(district,))
    d = open_district(district)
    with err_console.status("suggesting links") as status:
        plan = cn.suggest_links(d, k=k, budget_m=budget_m, max_length_m=max_length_m,
                                objective=objective, centre=_parse_xy(centre, "--centre"),
                                progress=status_progress(status))  # fmt: skip
    links, summary = plan.added, plan.summary
    if output is not None:
        save_layers({"links": links}, output, overwrite=overwrite)
    if as_json:
        rows = links.drop(columns="geometry").assign(wkt=links.geometry.to_wkt())
        print(json.dumps({
            "district": d.name, "provenance": d.provenance.statement(),
            "objective": summary["objective"], "objective_before": summary["objective_before"],
            "candidates_evaluated": summary["candidates_evaluated"],
            "stopped": summary.get("stopped"), "cost_dkk": plan.cost_dkk, "unmet": plan.unmet,
            "links": rows.to_dict("records"), "output": output and str(output),
        }, indent=2, ensure_ascii=False, default=str))  # fmt: skip
        return
    console.print(f"[bold]{escape(d.name)}[/]: "
                  f"{summary['objective']} {summary['objective_before']:.4f}; "
                  f"{summary['candidates_evaluated']} candidate links evaluated",
                  highlight=False)  # fmt: skip
    table = Table("rank", "length m", "from", "to", "crosses boundary", "gain", "after")
    for r in links.itertuples():
        to = str(r.to_node) if r.to_node >= 0 else f"street {r.to_street_id}"
        table.add_row(str(r.rank), f"{r.length_m:.0f}", f"{r.start_kind} {r.from_node}", to,
                      "yes" if r.crosses_boundary else "", f"{r.gain:.4f}",
                      f"{r.objective_after:.4f}")  # fmt: skip
    console.print(table)
    for line in plan.unmet:  # why fewer than k links came back
        console.print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"cost: {plan.cost_dkk:,.0f} {d.settings.currency}", highlight=False, markup=False
    )
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)


@app.command()
@handle_errors
def mix(
    district: DistrictArg = None,
    as_json: JsonOpt = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage: the district plus tables mix_homes (catchments, nearest POIs), "
            "mix_estates and mix_grid.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    institutions: Annotated[
        bool,
        typer.Option(
            "--institutions-count",
            help="Count public institutions (schools, day-care, health…) as erhvervsareal "
            "in § 168 a (unconfirmed reading; both readings are always shown).",
        ),
    ] = False,
    unrounded: Annotated[
        bool,
        typer.Option("--unrounded", help="§ 168 a: count 75 m² units unrounded, not whole."),
    ] = False,
) -> None:
    """Housing and land-use mix: the § 168 a 40 % rule, tenure/use diversity, walking access.

    Examples
    --------
      vollsmose-gis mix

      vollsmose-gis mix my-district.gpkg --json -o mix.gpkg --overwrite
    """
    from vollsmose_gis.io import save_district

    refuse_existing(output, overwrite=overwrite, inputs=(district,))
    d = open_district(district)
    run = run_module("mix", d, institutions_count=institutions or None,
                     whole_units=False if unrounded else None)  # fmt: skip
    result = run.extras["mix"]
    if output is not None:
        save_district(d, output, overwrite=overwrite, extra_layers=run.layers)
    if as_json:
        report = {**result.to_dict(), "output": output and str(output)}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    t = result.tenure
    console.print(f"[bold]{escape(d.name)}[/]: "
                  f"{t.total_dwellings:,} dwellings inside the rule area",
                  highlight=False)  # fmt: skip
    table = Table("tenure", "dwellings")
    for name, count in t.dwellings_by_tenure.items():
        if count:
            table.add_row(name, f"{count:,}")
    console.print(table)
    for line in result.summary_lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    print_indicators(run.indicators)
    print_footer(run)


@app.command()
@handle_errors
def cctv(
    district: DistrictArg = None,
    level: Annotated[
        str, typer.Option(help="DORI level the coverage headline and --plan aim for.")
    ] = "recognition",
    edition: Annotated[
        str | None,
        typer.Option(
            help="DORI level set: 2015 (IEC 62676-4:2014, default) or identification-500 "
            "(user-defined, unverified)."
        ),
    ] = None,
    resolution: Annotated[float, typer.Option(help="Raster cell size in metres.")] = 1.0,
    raster: Annotated[
        Path | None,
        typer.Option("--raster", help="Write the best DORI level per cell (GeoTIFF, uint8)."),
    ] = None,
    plan: Annotated[
        int | None, typer.Option("--plan", help="Place K new cameras (greedy), report gains.")
    ] = None,
    no_private_mask: Annotated[
        bool, typer.Option("--no-private-mask", help="Show private land use in the outputs.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage: the district (with planned cameras) "
            "plus tables cctv_zones, cctv_viewsheds, cctv_cameras, cctv_plan.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """CCTV coverage: occluded viewsheds, DORI pixel density, coverage, camera placement.

    Examples
    --------
      vollsmose-gis cctv

      vollsmose-gis cctv my-district.gpkg --level observation --raster dori.tif --json

      vollsmose-gis cctv --plan 5 -o cctv.gpkg
    """
    import math

    from vollsmose_gis import cctv as cc
    from vollsmose_gis.io import save_district, write_geotiff

    refuse_existing(raster, output, overwrite=overwrite, inputs=(district,))
    if plan is not None and plan < 1:
        raise InputError(f"--plan {plan} must be at least 1 camera")
    levels = cc.dori_levels(edition)
    if level not in levels:
        raise InputError(f"--level {level!r} is not a DORI level; choose one of {list(levels)}")
    d = open_district(district)
    options = {"mask_private": False} if no_private_mask else {}
    run = run_module("cctv", d, resolution_m=resolution, edition=edition, **options)
    result, values = run.extras["cctv"], run.indicators
    table = cc.coverage(d, result)
    planned = None
    if plan is not None:
        with err_console.status("placing cameras") as status:
            planned = cc.plan_cameras(
                d, level=level, k=plan, resolution_m=resolution, edition=edition,
                progress=status_progress(status),
            )  # fmt: skip
    if raster is not None:
        write_geotiff(result.levels, raster, overwrite=overwrite)
    if output is not None:
        tables = {
            "cctv_zones": result.zones,
            "cctv_viewsheds": result.viewsheds,
            "cctv_cameras": result.cameras,
        }
        if planned is not None:
            tables["cctv_plan"] = planned.added
        save_district(
            planned.district if planned is not None else d,
            output,
            overwrite=overwrite,
            extra_layers=tables,
        )
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    at_level = table[table["level"] == level]
    if as_json:
        report: dict[str, Any] = {
            "district": d.name,
            "provenance": d.provenance.statement(),
            "edition": result.edition,
            "level": level,
            "levels_px_per_m": levels,
            "indicators": indicators_json(values),
            "warnings": run.warnings,
            "coverage": [{k: clean(v) for k, v in r.items()} for r in table.to_dict("records")],
            "cameras": [
                {k: clean(v) for k, v in r.items()}
                for r in result.cameras.drop(columns="geometry").to_dict("records")
            ],
            "outputs": {"raster": raster and str(raster), "output": output and str(output)},
        }
        if planned is not None:
            report["plan"] = {
                "target_area_m2": planned.summary["target_area_m2"],
                "existing_covered_m2": planned.summary["existing_covered_m2"],
                "cost_dkk": planned.cost_dkk,
                "unmet": planned.unmet,
                "cameras": [
                    {
                        **{k: clean(v) for k, v in r.items() if k != "geometry"},
                        "x": r["geometry"].x,
                        "y": r["geometry"].y,
                    }
                    for r in planned.added.to_dict("records")
                ],
            }
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    ok = int((result.cameras["status"] == "ok").sum())
    console.print(
        f"[bold]{escape(d.name)}[/]: {ok} of {len(result.cameras)} cameras analysed "
        f"({escape(result.level_set_title)}, {resolution:g} m cells)",
        highlight=False,
    )
    grid = Table("target", "total", f"seen at {level} or better", "share")
    for r in at_level.itertuples():
        unit = {"m": "m", "m2": "m²", "count": ""}[str(r.unit)]
        share = "-" if math.isnan(r.share) else f"{r.share:.1%}"
        grid.add_row(str(r.target), f"{r.total:,.0f} {unit}", f"{r.seen:,.0f} {unit}", share)
    console.print(grid)
    print_indicators(values)
    if planned is not None:
        plan_table = Table("rank", "source", "x", "y", "heading", "gain m²", "covered share")
        for r in planned.added.itertuples():
            plan_table.add_row(
                str(r.rank),
                str(r.source),
                f"{r.geometry.x:.1f}",
                f"{r.geometry.y:.1f}",
                f"{r.heading_deg:.0f}°",
                f"{r.marginal_gain_m2:,.0f}",
                f"{r.covered_share:.2%}",
            )
        console.print(plan_table)
        console.print(
            f"plan cost: {planned.cost_dkk:,.0f} {d.settings.currency} (unit cost unconfirmed)",
            highlight=False,
            markup=False,
        )
    console.print(f"provenance: {d.provenance.statement()}", highlight=False, markup=False)


@app.command()
@handle_errors
def score(
    scenarios: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Scenario YAML files or folders of them (default: scenarios/).",
            show_default=False,
        ),
    ] = None,
    district: Annotated[
        Path | None,
        typer.Option(
            "--district",
            "-d",
            help="Base district GeoPackage (default: the embedded Vollsmose model).",
        ),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="Scoring profile YAML (default: the packaged one)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder for tables, GeoPackages, rasters.")
    ] = Path("out"),
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Write into an existing output folder (only this run's files are replaced).",
        ),
    ] = False,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the report and maps: en or da.")
    ] = "en",
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Basemap tiles for the maps (e.g. OpenStreetMap) when online; none by default.",
        ),
    ] = None,
    allow_outside: Annotated[
        bool,
        typer.Option(
            "--allow-outside-paths",
            help="Let scenario files reference files outside their own folder tree.",
        ),
    ] = False,
    ensemble: Annotated[
        int,
        typer.Option(
            "--ensemble",
            min=0,
            help="Score every scenario under N seeded draws of the models' uncertain "
            "parameters (Dask); the report adds P(first) under parameter uncertainty.",
        ),
    ] = 0,
    ensemble_seed: Annotated[
        int, typer.Option("--ensemble-seed", help="Seed of the ensemble's draws.")
    ] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="A running Dask scheduler (tcp://HOST:8786)."),
    ] = None,
    speed_counts: Annotated[
        Path | None,
        typer.Option(
            "--speed-counts",
            help="Measured speeds (as for `calming --counts`): the report shows the speed "
            "model against them.",
        ),
    ] = None,
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf", help="Also print the report to report.pdf (A4; needs headless Chromium)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Score district-plan scenarios: the main job.

    Applies each scenario to its base district, runs every module (connectivity,
    traffic calming, lighting, CCTV, housing and land-use mix), scores the indicators
    into the four themes and an overall 0-100, reports cost (DKK) beside the score and
    how robust the ranking is to the theme weights, and writes scores.csv,
    indicators.csv, changes.csv, one GeoPackage and the rasters per scenario, a
    manifest.json and the council report into --out.

    Examples
    --------
      vollsmose-gis score scenarios/

      vollsmose-gis score scenarios/open-up.yaml scenarios/baseline.yaml -o out/ --overwrite

      vollsmose-gis score plans/ --district my-district.gpkg --profile my-profile.yaml --json
    """
    from rich import box
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from vollsmose_gis.job import check_output_folder, run_job
    from vollsmose_gis.scenario import load_scenarios
    from vollsmose_gis.scoring import load_profile

    check_output_folder(out, overwrite=overwrite)  # before any work
    loaded = load_scenarios(scenarios or [Path("scenarios")], allow_outside_paths=allow_outside)
    scoring_profile = load_profile(profile)
    base = open_district(district) if district is not None else None
    module_params = None
    if speed_counts is not None:
        from vollsmose_gis.calming import read_speed_counts

        crs = base.crs if base is not None else None
        module_params = {"calming": {"counts": read_speed_counts(speed_counts, crs=crs)}}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("scoring", total=1.0)
        job = run_job(
            loaded,
            out,
            district=base,
            district_path=district,
            profile=scoring_profile,
            module_params=module_params,
            ensemble=ensemble,
            ensemble_seed=ensemble_seed,
            scheduler=scheduler,
            overwrite=overwrite,
            lang=lang,
            tiles=tiles,
            pdf=pdf,
            progress=lambda fraction, message: bar.update(
                task, completed=fraction, description=message
            ),
        )
    result, written = job.result, job.written
    base = result.baseline.district
    if as_json:
        payload = {
            "scores": result.scores.to_dict(orient="records"),
            "robustness": result.robustness,
            "notes": result.notes,
            "warnings": job.warnings,
            "provenance": base.provenance.statement(),
            "outputs": [str(p) for p in written],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=float))
        return
    themes = list(scoring_profile.themes)
    short = {
        "connected district": "connected",
        "mixed housing": "housing",
        "mixed use and jobs": "use+jobs",
        "safety and security": "safety",
    }
    table = Table(
        title=f"Scenarios on {base.name} (scores 0-100)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    table.add_column("#", justify="right")
    table.add_column("scenario", no_wrap=True)
    rule = result.baseline.district.settings.applies("dk_168a")
    columns = ("overall", *(short.get(t, t) for t in themes), "M DKK", "P(1st)")
    for column in (*columns, "§168a") if rule else columns:
        table.add_column(column, justify="right", no_wrap=True)
    for row in result.scores.to_dict(orient="records"):
        cells = [
            str(row["rank"]),
            str(row["scenario"]),
            f"{row['overall']:.1f}",
            *(f"{row[t]:.1f}" for t in themes),
            f"{row['cost_dkk'] / 1e6:,.1f}",
            f"{row['p_first']:.0%}",
        ]
        table.add_row(*cells, *([str(row["meets_40pct_rule"])] if rule else []))
    console.print(table)
    if rule:
        console.print(
            "§168a: the 40 % rule for almen family housing met (a flag, not part of the score)",
            highlight=False,
            markup=False,
        )
    baseline = result.baseline
    console.print(f"baseline (no change): overall {baseline.overall:.1f}", highlight=False)
    flips = [
        f"{theme} weight {change['weight']:.0%} -> {change['to']}"
        for theme, changes in result.robustness["flips"].items()
        for change in changes[:1]
    ]
    console.print(
        "leader changes when one theme's weight is swept: " + ("; ".join(flips) or "never"),
        highlight=False,
        markup=False,
    )
    p_all = result.robustness["by_source"]["p_first"]["all"]
    console.print(
        "P(1st) when indicator weights and worst/target vary too: "
        + ", ".join(
            f"{n} {p:.0%}" for n, p in sorted(p_all.items(), key=lambda kv: -kv[1]) if p > 0
        ),
        highlight=False,
        markup=False,
    )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    for message in job.warnings:
        err_console.print(f"warning: {message}", highlight=False, markup=False)
    console.print(f"provenance: {base.provenance.statement()}", highlight=False, markup=False)
    console.print(f"wrote {len(written)} files to {out}/", highlight=False, markup=False)


qgis_app = typer.Typer(help="Install the QGIS plugin into a QGIS profile.", no_args_is_help=True)
app.add_typer(qgis_app, name="qgis")


@qgis_app.command("install")
@handle_errors
def qgis_install(
    profile: Annotated[str, typer.Option("--profile", help="QGIS user profile.")] = "default",
    qgis_config: Annotated[
        Path | None,
        typer.Option(
            "--qgis-config",
            help="QGIS configuration folder (default: the platform's, e.g. "
            "~/.local/share/QGIS/QGIS3 on Linux).",
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help="The Python QGIS runs, to check it imports the library."),
    ] = None,
) -> None:
    """Copy (or update) the plugin into a QGIS profile and enable it.

    Works from any installation (the plugin ships inside the package). Tells whether
    QGIS's Python can import the library, and the exact command when it cannot.

    Examples
    --------
      vollsmose-gis qgis install

      vollsmose-gis qgis install --profile planning --qgis-config /path/to/QGIS3
    """
    from vollsmose_gis.qgis_install import install_plugin

    report = install_plugin(profile=profile, config_dir=qgis_config, python=python)
    verb = "updated" if report.replaced else "installed"
    console.print(f"{verb} the plugin in {report.plugin_dir} (enabled in {report.ini})",
                  highlight=False, markup=False)  # fmt: skip
    console.print(report.message, highlight=False, markup=False, soft_wrap=True)


@app.command("build-plugin")
@handle_errors
def build_plugin(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the plugin ZIP into.")
    ] = Path("dist"),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing ZIP of this version.")
    ] = False,
) -> None:
    """Build the installable QGIS plugin ZIP (Plugins > Install from ZIP).

    Packs the plugin sources (shipped inside the package, or qgis_plugin/ of a checkout;
    without caches) into OUT/vollsmose_gis_qgis-VERSION.zip. The library itself must also
    be installed in QGIS's Python; see docs/qgis-plugin.md, or use `vollsmose-gis qgis
    install`.

    Examples
    --------
      vollsmose-gis build-plugin -o dist/
    """
    import zipfile

    from vollsmose_gis.io import atomic_path
    from vollsmose_gis.qgis_install import plugin_source

    source = plugin_source()  # packaged in the wheel, or the source checkout's
    meta = dict(
        line.split("=", 1)
        for line in (source / "metadata.txt").read_text("utf-8").splitlines()
        if "=" in line
    )
    if meta.get("version") != __version__:
        raise InputError(
            f"qgis_plugin metadata.txt version {meta.get('version')!r} differs from the "
            f"library version {__version__!r}; make them equal before building"
        )
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"vollsmose_gis_qgis-{__version__}.zip"
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )
    with (
        atomic_path(target, overwrite=overwrite) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for path in files:
            archive.write(path, Path(source.name) / path.relative_to(source))
    console.print(f"wrote {target} ({len(files)} files)", highlight=False, markup=False)


@app.command()
@handle_errors
def calming(  # noqa: C901 - waiver: a CLI command: options to library calls, counts and calibration branches
    district: DistrictArg = None,
    target_kmh: Annotated[
        float, typer.Option("--target-kmh", help="Target V85 on the local streets, km/h.")
    ] = 30.0,
    plan: Annotated[
        bool, typer.Option("--plan", help="Place devices to meet the target; report cost/after.")
    ] = False,
    counts: Annotated[
        Path | None,
        typer.Option(
            "--counts",
            help="Measured speeds (GeoPackage points, or CSV with x,y or street_id; v85_kmh, "
            "date, source): the model is compared with them.",
        ),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option("--calibrate", help="Fit the speed model to --counts before the run."),
    ] = False,
    calibrated_out: Annotated[
        Path | None,
        typer.Option("--calibrated-out", help="Where --calibrate writes the fitted parameters."),
    ] = None,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="A calming.yaml-style parameter file (e.g. a calibration)."),
    ] = None,
    criterion: Annotated[
        str | None,
        typer.Option(
            "--criterion",
            help="Planner criterion: peak (peak V85 <= target + "
            "tolerance) or mean (mean V85 <= target).",
        ),
    ] = None,
    tolerance_kmh: Annotated[
        float | None, typer.Option("--tolerance-kmh", help="Peak criterion tolerance, km/h.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="GeoPackage: the district (with planned devices) plus tables "
            "calming_speeds (per segment), planned_calming and speed_counts.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Model traffic speeds per street, plan calming devices, and their safety effect.

    With --counts the modelled V85 is compared with measured speeds (RMSE, per site);
    --calibrate fits the model to them first (a, b, crossing speeds, free-speed factor)
    and writes the fitted parameters, which later runs take with --params.

    Examples
    --------
      vollsmose-gis calming

      vollsmose-gis calming my-district.gpkg --target-kmh 30 --plan -o calmed.gpkg --json

      vollsmose-gis calming d.gpkg --counts counts.csv --calibrate --calibrated-out fit.yaml
    """
    from vollsmose_gis import calming as cm
    from vollsmose_gis.io import save_district

    refuse_existing(output, overwrite=overwrite, inputs=(district,))
    d = open_district(district)
    if calibrate and counts is None:
        raise InputError("--calibrate needs --counts FILE (the measured speeds to fit)")
    fitted_path = calibrated_out or Path("calming-calibrated.yaml")
    if calibrate:
        refuse_existing(fitted_path, overwrite=overwrite, inputs=(district, counts, params))
    table = cm.read_speed_counts(counts, crs=d.crs) if counts is not None else None
    parameters = str(params) if params is not None else None
    fit = None
    if calibrate and table is not None:
        with err_console.status("calibrating the speed model"):
            fit = cm.calibrate_speeds(d, table, params=parameters)
        fit.write(fitted_path, overwrite=overwrite)
        parameters = str(fitted_path)
    options: dict[str, Any] = dict(params=parameters, criterion=criterion,
                                   tolerance_kmh=tolerance_kmh)  # fmt: skip
    run = run_module("calming", d, target_kmh=target_kmh, counts=table, **options)
    speeds, values = run.layers["calming_speeds"], run.indicators
    result = after = None
    if plan:
        with err_console.status("planning calming") as status:
            result = cm.plan_calming(d, target_kmh=target_kmh, progress=status_progress(status),
                                     **options)  # fmt: skip
        after = run_module("calming", result.district, target_kmh=target_kmh, **options).indicators
    if output is not None:
        tables = {"calming_speeds": result.speeds if result is not None else speeds}
        if "speed_counts" in run.layers:
            tables["speed_counts"] = run.layers["speed_counts"]
        if result is not None:
            tables["planned_calming"] = result.devices
        save_district(result.district if result is not None else d, output,
                      overwrite=overwrite, extra_layers=tables)  # fmt: skip
    clean = json_value
    if as_json:
        report: dict[str, Any] = {
            "district": d.name, "provenance": d.provenance.statement(), "target_kmh": target_kmh,
            "indicators": indicators_json(values), "warnings": run.warnings,
            "output": output and str(output),
        }  # fmt: skip
        if "speed_counts" in run.layers:
            report["speed_counts"] = {
                "rmse_kmh": run.extras["speed_counts_rmse_kmh"],
                "sites": run.layers["speed_counts"].drop(columns="geometry").to_dict("records"),
            }
        if fit is not None:
            report["calibration"] = {**fit.summary(), "written": str(fitted_path)}
        if result is not None and after is not None:
            report["plan"] = {
                **dict(result.summary),
                "indicators_after": {k: clean(v.value) for k, v in after.items()},
            }
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    console.print(f"[bold]{escape(d.name)}[/]: modelled V85 on {len(speeds)} street segments "
                  f"(target {target_kmh:g} km/h)", highlight=False)  # fmt: skip
    print_indicators(values, after)
    if fit is not None:
        console.print(f"calibrated on {fit.n_sites} count sites: RMSE {fit.rmse_initial_kmh:.2f} "
                      f"-> {fit.rmse_kmh:.2f} km/h; fitted "
                      + ", ".join(f"{k} {v:.3g}" for k, v in fit.fitted.items())
                      + f"; written to {fitted_path}", highlight=False, markup=False)  # fmt: skip
    if "speed_counts" in run.layers:
        sites = run.layers["speed_counts"]
        table_counts = Table("site", "measured V85", "model V85", "residual")
        for r in sites.itertuples():
            table_counts.add_row(str(r.site_id), f"{r.v85_measured_kmh:.1f}",
                                 f"{r.v85_model_kmh:.1f}",
                                 f"{r.v85_model_kmh - r.v85_measured_kmh:+.1f}")  # fmt: skip
        console.print(table_counts)
        console.print(f"model vs measured: RMSE {run.extras['speed_counts_rmse_kmh']:.2f} km/h",
                      highlight=False)  # fmt: skip
    if result is not None:
        summary = dict(result.summary)
        kinds = ", ".join(f"{n} {k}" for k, n in summary["devices_by_kind"].items()) or "none"
        console.print(f"plan: {summary['devices']} devices ({kinds}), {result.cost_dkk:,.0f} DKK; "
                      f"target not met on: {', '.join(result.unmet_streets) or 'none'}",
                      highlight=False, markup=False)  # fmt: skip
    print_footer(run)


@app.command()
@handle_errors
def monitor(
    statistics: Annotated[
        Path | None,
        typer.Argument(
            help="Area statistics by year (CSV or GeoPackage table; default: the embedded "
            "Vollsmose example series, mostly ILLUSTRATIVE).",
            show_default=False,
        ),
    ] = None,
    snapshots: Annotated[
        list[Path] | None,
        typer.Option(
            "--snapshots",
            help="District snapshots: GeoPackages named with their year (e.g. d_2019.gpkg), "
            "a folder of them, or scenario YAMLs with a year applied to --district.",
        ),
    ] = None,
    district: Annotated[
        Path | None,
        typer.Option("--district", "-d", help="Base district for scenario snapshots."),
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", help="YAML list of goals (default: the programme's)."),
    ] = None,
    effects: Annotated[
        list[str] | None,
        typer.Option(
            "--effect",
            help="AREA:COLUMN:YEAR[:COMPARISON] - before/after (and difference-in-differences).",
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Criteria set(s) for every year (default: the one in force)."),
    ] = None,
    incidents_from: Annotated[
        Path | None,
        typer.Option(
            "--incidents-from",
            help="A district GeoPackage whose incidents layer fills the statistics' empty "
            "incident counts by year (and incidents per 1,000 residents).",
        ),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            "--area", help="The statistics' area id of --incidents-from (default: the only area)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("followup"),
    overwrite: OverwriteOpt = False,
    lang: Annotated[str, typer.Option("--lang", help="Report language: en or da.")] = "en",
    as_json: JsonOpt = False,
) -> None:
    """Follow the area year by year: the government's criteria, lists, goals, effects.

    Examples
    --------
      vollsmose-gis monitor

      vollsmose-gis monitor stats.csv --snapshots snapshots/ -o followup/ --lang da

      vollsmose-gis monitor stats.csv --effect vollsmose:incidents:2015:comparison-estate

      vollsmose-gis monitor stats.csv --incidents-from district.gpkg --area vollsmose
    """
    import yaml

    from vollsmose_gis import followup as fu
    from vollsmose_gis.followup_report import summary, write_followup
    from vollsmose_gis.job import check_output_folder

    if lang not in ("en", "da"):
        raise InputError(f"--lang must be en or da, got {lang!r}")
    inputs = tuple(
        p for p in (statistics, targets, district, incidents_from, *(snapshots or [])) if p
    )
    check_output_folder(out, overwrite=overwrite, inputs=inputs)
    stats = fu.read_statistics(statistics) if statistics else fu.example_statistics()
    incident_rows = None
    if incidents_from is not None:
        areas = sorted(str(a) for a in stats["area_id"].unique())
        if area is None and len(areas) != 1:
            raise InputError(
                f"--incidents-from: the statistics hold {len(areas)} areas ({', '.join(areas)}); "
                "name the district's with --area"
            )
        chosen = area if area is not None else areas[0]
        if chosen not in areas:
            raise InputError(
                f"--area {chosen!r} is not in the statistics (areas: {', '.join(areas)})"
            )
        incident_rows = fu.incident_series(open_district(incidents_from), area_id=chosen)
    goals = None
    if targets is not None:
        try:
            goals = yaml.safe_load(targets.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"{targets}: cannot read the goals ({exc})") from None
        if not isinstance(goals, list):
            raise InputError(f"{targets}: goals must be a YAML list of mappings")
    questions = [_effect_option(text) for text in effects or []]
    frames = _snapshots(snapshots or [], district)
    result = fu.monitor(stats, snapshots=frames, targets=goals, effects=questions, sets=sets,
                        incidents=incident_rows)  # fmt: skip
    written = write_followup(result, out, lang=lang, overwrite=overwrite)
    if as_json:
        print(json.dumps({**summary(result), "outputs": [str(p) for p in written]},
                         indent=2, ensure_ascii=False, default=str))  # fmt: skip
        return
    if result.illustrative:
        err_console.print(
            "note: the statistics hold ILLUSTRATIVE rows (made up for the example), not statistics",
            highlight=False,
            markup=False,
        )
    latest = result.status[result.status["year"] == result.status["year"].max()]
    table = Table("area", "year", "list", "status", "years in a row")
    for row in latest.itertuples():
        verdict = {True: "ON", False: "off"}.get(row.on_list, "no data")
        table.add_row(str(row.area_id), str(row.year), str(row.list), verdict,
                      str(row.consecutive_years))  # fmt: skip
    console.print(table)
    for row in result.trends[result.trends["target_id"].notna()].itertuples():
        console.print(f"goal {row.target_id} ({row.area_id}): {row.standing}", highlight=False,
                      markup=False)  # fmt: skip
    for item in result.effects:
        line = (
            f"effect {item['area_id']} {item['column']} {item['year']}: change {item['change']:.3g}"
        )
        if "did" in item:
            line += f", DiD {item['did']:.3g} [{item['did_low']:.3g}, {item['did_high']:.3g}]"
        console.print(line + " (an association, not proof)", highlight=False, markup=False)
    console.print(f"wrote {len(written)} files to {out}/", highlight=False, markup=False)


def _effect_option(text: str) -> dict[str, Any]:
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[2].isdigit():
        raise InputError(f"--effect must be AREA:COLUMN:YEAR[:COMPARISON], got {text!r}")
    return {"area": parts[0], "column": parts[1], "year": int(parts[2]),
            "comparison": parts[3] if len(parts) == 4 else None}  # fmt: skip


def _snapshots(paths: list[Path], district: Path | None) -> dict[int, District]:
    """District snapshots by year from GeoPackages named with a year or scenario YAMLs."""
    import re

    from vollsmose_gis.io import load_district
    from vollsmose_gis.scenario import apply_scenario, load_scenario

    files = [f for p in paths for f in (sorted(p.glob("*")) if p.is_dir() else [p])]
    out: dict[int, District] = {}
    for path in files:
        if path.suffix.lower() in (".yaml", ".yml"):
            scenario = load_scenario(path)
            if scenario.year is None:
                raise InputError(f"{path}: a scenario snapshot needs a year")
            year, snapshot = scenario.year, apply_scenario(open_district(district), scenario)[0]
        elif path.suffix.lower() == ".gpkg":
            found = re.findall(r"(?:19|20)\d\d", path.stem)
            if not found:
                raise InputError(f"{path}: name a snapshot with its year, e.g. district_2019.gpkg")
            year, snapshot = int(found[-1]), load_district(path)
        else:
            continue
        if year in out:
            raise InputError(f"two snapshots for {year} ({path} and another)")
        out[year] = snapshot
    return out


@app.command("map")
@handle_errors
def map_(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="A scenario YAML file or a district GeoPackage (default: the embedded "
            "Vollsmose model).",
            show_default=False,
        ),
    ] = None,
    theme: Annotated[
        str,
        typer.Option("--theme", "-t", help="connectivity, calming, lighting, cctv, mix or all."),
    ] = "all",
    view: Annotated[
        str,
        typer.Option(
            "--view",
            help="map (the theme), before-after (baseline left, scenario right, "
            "synchronised) or changes (what the scenario changes); the last two need "
            "a scenario.",
        ),
    ] = "map",
    district: Annotated[
        Path | None,
        typer.Option(
            "--district",
            "-d",
            help="Base district of a scenario (default: its base, "
            "else the embedded Vollsmose model).",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "map.html"
    ),
    overwrite: OverwriteOpt = False,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Basemap tiles, e.g. OpenStreetMap (needs internet; default: none, "
            "the map draws streets and buildings itself).",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or da.")] = "en",
    links: Annotated[
        int,
        typer.Option("--links", help="New pedestrian links to suggest on the connectivity map."),
    ] = 5,
) -> None:
    """Draw a self-contained HTML map of a district or a scenario (works offline).

    Examples
    --------
      vollsmose-gis map -o vollsmose.html

      vollsmose-gis map scenarios/safety-package.yaml --theme lighting -o lighting.html

      vollsmose-gis map scenarios/open-up.yaml --view before-after -t connectivity -o open-up.html

      vollsmose-gis map my-district.gpkg --theme mix --lang da -o blanding.html
    """
    from vollsmose_gis import maps

    if view not in ("map", "before-after", "changes"):
        raise InputError(f"--view must be map, before-after or changes, got {view!r}")
    if theme != "all" and theme not in (*maps.THEMES, *maps.MAP_ONLY_THEMES):
        raise InputError(
            f"--theme must be one of {[*maps.THEMES, *maps.MAP_ONLY_THEMES, 'all']}, got {theme!r}"
        )
    refuse_existing(output, overwrite=overwrite, inputs=(source,))
    is_scenario = source is not None and source.suffix.lower() in (".yaml", ".yml")
    if view != "map" and not is_scenario:
        raise InputError(f"--view {view} compares a scenario with its base: give a scenario YAML")
    if is_scenario:
        from vollsmose_gis.scenario import apply_scenario, load_scenario

        scenario = load_scenario(source)  # type: ignore[arg-type]
        base = open_district(district or scenario.base)
        changed, _ = apply_scenario(base, scenario)
        after = changed.replace(name=f"{base.name}: {scenario.name}")
        if view == "before-after":
            built: Any = maps.before_after_map(base, after, theme=theme, tiles=tiles, lang=lang)
        elif view == "changes":
            built = maps.changes_map(base, after, tiles=tiles, lang=lang)
        else:
            built = maps.theme_map(after, theme, tiles=tiles, lang=lang, baseline=base, links=links)
        provenance = changed.provenance
    else:
        d = open_district(source)
        built = maps.theme_map(d, theme, tiles=tiles, lang=lang, links=links)
        provenance = d.provenance
    maps.save_map(built, output, overwrite=overwrite)
    console.print(f"wrote {output}", highlight=False, markup=False)
    console.print(f"provenance: {provenance.statement()}", highlight=False, markup=False)


def _register_commands() -> None:
    """Commands defined beside this module (each module imports its work lazily)."""
    from vollsmose_gis.cli_batch import batch
    from vollsmose_gis.cli_dk import import_dk as import_dk_command
    from vollsmose_gis.cli_report import report
    from vollsmose_gis.cli_safety import safety

    app.command("safety")(handle_errors(safety))
    app.command("batch")(handle_errors(batch))
    app.command("import-dk")(handle_errors(import_dk_command))
    app.command("report")(handle_errors(report))


_register_commands()


def main() -> None:
    """Entry point of the ``vollsmose-gis`` script."""
    app()


if __name__ == "__main__":
    main()
