"""The main job in the library: score scenarios, save the tables, draw the maps, write
the report — into a staging folder that replaces the output only when the run is
complete.

``vollsmose-gis score`` and the QGIS plugin's *Score scenarios* both call
:func:`run_job`; nothing else assembles the job.

A run never leaves a half-written output: everything is written into a hidden staging
folder beside ``out``; only when every file is written are they moved into ``out``
(each with an atomic rename). Any failure before that — an exception, Ctrl-C, a full
disk — removes the staging folder and leaves ``out`` exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District
from vollsmose_gis.scenario import Scenario
from vollsmose_gis.scoring import Profile, ScoreResult, save_score_outputs, score_scenarios

__all__ = ["JobResult", "check_output_folder", "run_job"]

Progress = Callable[[float, str], None]


@dataclass
class JobResult:
    """What :func:`run_job` produced.

    Attributes
    ----------
    result
        The scores, indicators, robustness and notes.
    out
        The output folder.
    written
        Every file written, as paths inside ``out``.
    warnings
        Module warnings of every scenario, deduplicated, as "scenario: module: message".
    """

    result: ScoreResult
    out: Path
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_output_folder(out: Path, *, overwrite: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output folder before any work: it exists (without ``overwrite``), is a
    file, sits in a missing or unwritable folder, or would hold one of the inputs.

    Raises
    ------
    InputError
        With what to do.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder; choose another --out")
    if out.exists() and not overwrite:
        raise InputError(
            f"output folder {out} exists; pass --overwrite to replace the files this run "
            "writes (nothing else in it is deleted), or choose another --out"
        )
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {out}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"cannot write {out}: no write permission; choose another --out")
    target = out.resolve()
    for source in inputs:
        resolved = Path(source).resolve()
        if resolved == target or target in resolved.parents:
            raise InputError(
                f"output folder {out} holds the input {source}; a run must not write over "
                "its inputs — choose another --out"
            )


def run_job(
    scenarios: Sequence[Scenario],
    out: str | Path,
    *,
    district: District | None = None,
    district_path: Path | None = None,
    profile: Profile | None = None,
    overwrite: bool = False,
    lang: str = "en",
    tiles: str | None = None,
    modules: Sequence[str] | None = None,
    module_params: Mapping[str, Mapping[str, Any]] | None = None,
    maps: bool = True,
    report: bool = True,
    pdf: bool = False,
    ensemble: int = 0,
    ensemble_seed: int = 0,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> JobResult:
    """Score scenarios and write every output of the main job.

    Parameters
    ----------
    scenarios
        Loaded scenarios (:func:`vollsmose_gis.scenario.load_scenarios`).
    out
        Output folder: ``scores.csv``, ``indicators.csv``, ``changes.csv``,
        ``PROVENANCE.txt``, ``manifest.json``, a GeoPackage and rasters per scenario,
        ``maps/`` and ``report.html``.
    district
        Base district for scenarios without ``base:`` (default: the embedded Vollsmose).
    district_path
        The file ``district`` came from (recorded with its hash in the manifest).
    profile
        Scoring profile (default: the packaged one).
    overwrite
        Replace this run's files in an existing ``out`` (nothing else is touched).
    lang
        Language of maps and report (``en`` or ``da``).
    tiles
        Basemap tiles for the maps, or None (offline).
    modules
        Analysis modules to run (default: every registered one).
    module_params
        Parameters per module, e.g. ``{"calming": {"counts": table}}`` (measured speeds:
        the report then shows the model against them).
    maps, report
        Write the maps and the report.
    pdf
        Also print the report to ``report.pdf`` (headless Chromium; checked before any
        work: :func:`vollsmose_gis.report.find_chromium`).
    ensemble, ensemble_seed, scheduler
        Score every scenario under ``ensemble`` seeded draws of the models' uncertain
        parameters (on Dask: a local cluster, or the scheduler at that address); the
        robustness section then shows P(first) under parameter uncertainty too.
    progress
        Optional callback ``(fraction, message)``.

    Returns
    -------
    JobResult

    Raises
    ------
    InputError
        Bad scenarios, profile or output folder — raised before anything is written.
    """
    from vollsmose_gis.i18n import LANGUAGES

    out = Path(out)
    if lang not in LANGUAGES:
        raise InputError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    inputs = [p for s in scenarios for p in (s.path, s.base) if p is not None]
    if district_path is not None:
        inputs.append(district_path)
    check_output_folder(out, overwrite=overwrite, inputs=inputs)
    if pdf:  # no Chromium, no PDF: said before the scoring, not after it
        from vollsmose_gis.report import find_chromium

        if not report:
            raise InputError("a PDF is printed from the report: pdf=True needs report=True")
        find_chromium()

    def step(start: float, span: float) -> Progress | None:
        if progress is None:
            return None
        return lambda fraction, message: progress(start + span * fraction, message)

    result = score_scenarios(
        scenarios,
        district=district,
        profile=profile,
        modules=modules,
        module_params=module_params,
        progress=step(0, 0.7),
    )
    if ensemble > 0:
        from vollsmose_gis.batch import add_to_robustness, score_ensemble

        draws = score_ensemble(
            scenarios, ensemble, seed=ensemble_seed, district=district, profile=profile,
            modules=modules, client=scheduler, workers=0 if scheduler is None else 2,
        )  # fmt: skip
        add_to_robustness(result.robustness, draws)
    if report:
        # the report's Safety section is analysis (audits, surveillance of each plan):
        # run with the analyses, before drawing, so the report only renders
        result.safety_review()
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.resolve().parent))
    # one drawing session for the maps and the report: a page both show is drawn once
    drawing = contextlib.ExitStack()
    try:
        written = save_score_outputs(result, staging, overwrite=True, district_path=district_path)
        if maps or report:
            from vollsmose_gis.maps import drawing_session

            drawing.enter_context(drawing_session())
        if maps:
            from vollsmose_gis.maps import write_maps

            written += write_maps(
                result,
                staging / "maps",
                overwrite=True,
                tiles=tiles,
                lang=lang,
                progress=step(0.7, 0.2),
            )
        if report:
            from vollsmose_gis.report import write_report

            written.append(
                write_report(
                    result,
                    staging / "report.html",
                    overwrite=True,
                    lang=lang,
                    tiles=tiles,
                    progress=step(0.9, 0.1),
                )
            )
            if pdf:
                from vollsmose_gis.report import print_pdf

                written.append(print_pdf(staging / "report.html", staging / "report.pdf"))
        drawing.close()
        final = _swap_in(staging, out)
    finally:
        drawing.close()
        shutil.rmtree(staging, ignore_errors=True)
    return JobResult(result, out, final, job_warnings(result))


def job_warnings(result: ScoreResult) -> list[str]:
    """Module warnings of the run, each once: "module: message (plans it concerns)"."""
    lines = []
    for module, message, names, every in result.warning_groups():
        named = ("today" if n == "(baseline)" else n for n in names)
        plans = "all plans" if every else ", ".join(named)
        lines.append(f"{module}: {message} ({plans})")
    return lines


def _swap_in(staging: Path, out: Path) -> list[Path]:
    """Move a complete staged run into ``out``: one rename for a new folder, else one
    atomic rename per file (only this run's files are replaced).
    """
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    if not out.exists():
        os.replace(staging, out)
        staging.mkdir()  # the caller removes it
        return [out / p.relative_to(staging) for p in files]
    final = []
    for path in files:
        relative = path.relative_to(staging)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise InputError(f"cannot replace folder {target} with a file; remove it first")
        os.replace(path, target)
        final.append(target)
    return final
