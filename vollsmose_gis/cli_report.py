"""The ``vollsmose-gis report`` command: print a council report to PDF.

:func:`report` is a plain function with typer ``Annotated`` parameters; ``cli.py``
registers it with ``app.command("report")(handle_errors(report))``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["report"]


def report(
    html: Annotated[
        Path,
        typer.Argument(help="The report to print (report.html of `vollsmose-gis score`)."),
    ],
    pdf: Annotated[
        bool,
        typer.Option("--pdf", help="Print it to PDF (A4) with headless Chromium."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The PDF to write (default: beside the report, .pdf).",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing PDF.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1.0, help="Seconds Chromium may take to print."),
    ] = 180.0,
) -> None:
    """Print a council report to PDF: A4, a page per section, the maps as drawn.

    Needs headless Chromium (Debian/Ubuntu: apt install chromium; or set
    VOLLSMOSE_GIS_CHROMIUM to a chromium or google-chrome binary). The PDF is written
    only when complete.

    Examples
    --------
      vollsmose-gis report out/report.html --pdf

      vollsmose-gis report out/report.html --pdf -o council.pdf --overwrite
    """
    from vollsmose_gis._errors import InputError
    from vollsmose_gis.cli import console, refuse_existing
    from vollsmose_gis.report import print_pdf

    if not pdf:
        raise InputError(
            "nothing to do: `vollsmose-gis report` prints a report to PDF; add --pdf "
            "(the HTML report itself is written by `vollsmose-gis score`)"
        )
    target = output if output is not None else html.with_suffix(".pdf")
    refuse_existing(target, overwrite=overwrite, inputs=(html,))
    written = print_pdf(html, target, overwrite=overwrite, timeout_s=timeout)
    console.print(f"wrote {written}", highlight=False, markup=False)
