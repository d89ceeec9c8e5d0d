"""The ``vollsmose-gis batch`` command (many areas on Dask) and the ``--ensemble`` options.

:func:`batch` is a plain function with typer ``Annotated`` parameters; ``cli.py``
registers it with ``app.command("batch")(handle_errors(batch))``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["EnsembleOpt", "EnsembleSeedOpt", "SchedulerOpt", "batch"]

SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help=(
            "Address of a running Dask scheduler (tcp://HOST:8786: dask-jobqueue, "
            "Kubernetes, Coiled). Default: a local cluster of --workers processes."
        ),
        show_default=False,
    ),
]
EnsembleOpt = Annotated[
    int,
    typer.Option(
        "--ensemble",
        min=0,
        help=(
            "Score every scenario under N draws of the models' uncertain parameters "
            "(standards files, 'uncertain:'); the report shows P(first) and rank "
            "intervals under parameter uncertainty. 0: off."
        ),
    ),
]
EnsembleSeedOpt = Annotated[
    int,
    typer.Option("--ensemble-seed", help="Seed of the ensemble's draws (same seed, same draws)."),
]


def _modules(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names or None


def batch(
    areas: Annotated[
        Path,
        typer.Argument(
            help="GeoPackage (or other vector file) of area polygons with id and name columns.",
            show_default=False,
        ),
    ],
    osm: Annotated[
        Path,
        typer.Option(
            "--osm", help="The region's OpenStreetMap extract (.osm.pbf), read once for all areas."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out-areas"),
    stats: Annotated[
        Path | None,
        typer.Option(
            "--stats",
            help="Area statistics by year (CSV, area_id = the areas' ids): adds the follow-up.",
            show_default=False,
        ),
    ] = None,
    modules: Annotated[
        str | None,
        typer.Option(
            "--modules",
            help="Comma-separated modules to run (default: every scored module).",
            show_default=False,
        ),
    ] = None,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            "--scenarios",
            help="Scenario YAML file or folder scored on every area (written to scenarios.csv).",
            show_default=False,
        ),
    ] = None,
    scheduler: SchedulerOpt = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=0, help="Local worker processes (0: no Dask, one area at a time)."
        ),
    ] = 2,
    memory_limit: Annotated[
        str,
        typer.Option("--memory-limit", help="Memory limit per local worker, e.g. 2GiB."),
    ] = "2GiB",
    context_m: Annotated[
        float,
        typer.Option("--context-m", min=0, help="Metres of context imported around each area."),
    ] = 1000.0,
    crs: Annotated[
        str, typer.Option("--crs", help="District CRS of each area ('auto': its UTM zone).")
    ] = "auto",
    map_indicator: Annotated[
        str | None,
        typer.Option(
            "--map-indicator",
            help="Indicator colouring the overview map (default: the first computed).",
            show_default=False,
        ),
    ] = None,
    id_column: Annotated[str, typer.Option("--id-column", help="Column of the area ids.")] = "id",
    name_column: Annotated[
        str, typer.Option("--name-column", help="Column of the area names.")
    ] = "name",
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds to wait for --scheduler to answer."),
    ] = 10.0,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Recompute every area (default: skip the unchanged ones)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Import and analyse many areas of one OpenStreetMap extract on Dask, and rank them.

    Reads the extract once for all areas, imports each area with its context, runs
    every module (or --modules) on a local Dask cluster (or --scheduler), and writes
    one GeoPackage per area, areas.csv (long), areas_wide.csv, ranking.csv, an offline
    overview map and a summary report into --out; with --scenarios, scenarios.csv. A
    failing area gets an error row and the others finish; a rerun skips areas whose
    inputs and code are unchanged.

    Examples
    --------
      vollsmose-gis batch areas.gpkg --osm denmark-latest.osm.pbf -o out-areas/

      vollsmose-gis batch areas.gpkg --osm region.osm.pbf --stats stats.csv --workers 4

      vollsmose-gis batch areas.gpkg --osm region.osm.pbf --scheduler tcp://10.0.0.5:8786
    """
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from vollsmose_gis.batch import run_batch

    err = Console(stderr=True)
    out_console = Console(width=None if sys.stdout.isatty() else 120)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("areas", total=None)

        def progress(done: int, total: int, message: str) -> None:
            if message.startswith("Dask dashboard") and not as_json:
                err.print(message, highlight=False, markup=False)
            bar.update(task, completed=done, total=total, description=message)

        result = run_batch(
            areas,
            osm,
            out=out,
            modules=_modules(modules),
            stats=stats,
            scenarios=scenarios,
            context_m=context_m,
            crs=crs,
            client=scheduler,
            workers=workers,
            memory_limit=memory_limit,
            connect_timeout_s=timeout,
            overwrite=overwrite,
            map_indicator=map_indicator,
            id_column=id_column,
            name_column=name_column,
            progress=progress,
        )
    if as_json:
        payload = {
            "areas": [o.to_json() for o in result.outcomes],
            "ranking": result.ranking.to_dict(orient="records"),
            "computed": result.computed,
            "cached": result.cached,
            "failed": result.failed,
            "dashboard": result.dashboard,
            "out": str(result.out),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=float))
        return
    table = Table(
        title=f"{len(result.outcomes)} areas ranked (overall 0-100)", title_justify="left"
    )
    for column in ("#", "area", "name", "overall"):
        table.add_column(column, justify="right" if column in ("#", "overall") else "left")
    for row in result.ranking.to_dict(orient="records"):
        overall = row["overall"]
        table.add_row(
            str(row["rank"]), str(row["area"]), str(row["name"]),
            "–" if overall != overall else f"{overall:.1f}",
        )  # fmt: skip
    out_console.print(table)
    for o in result.outcomes:
        if o.status == "error":
            out_console.print(
                f"[red]{escape(o.area)}[/]: {escape(o.reason)}", highlight=False, markup=True
            )
    out_console.print(
        f"{len(result.computed)} computed, {len(result.cached)} unchanged (skipped), "
        f"{len(result.failed)} failed; written to {result.out}",
        highlight=False,
        markup=False,
    )
