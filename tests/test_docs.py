"""The analysts' documentation: the tutorial notebook runs, the site builds strict.

The notebook (``docs/notebooks/tutorial.ipynb``) is stored without outputs and executed
here with a real Jupyter kernel (nbclient + ipykernel), so it cannot rot.  The site
(``mkdocs.yml``: MkDocs Material, mkdocstrings, mkdocs-jupyter, markdown-exec) is built
with ``--strict`` — broken links, missing references and failing generated blocks fail —
from a copy of ``docs/`` in which the notebook is the executed one, so the rendered copy
on the site shows its outputs.  Nothing generated is written into the repository.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, skip_or_fail

NOTEBOOK = REPO / "docs" / "notebooks" / "tutorial.ipynb"
CELL_TIMEOUT_S = 300
SCENARIOS = ("Baseline", "Safety package", "Safer paths")


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        skip_or_fail(
            f"{', '.join(missing)} not installed (pip install -e '.[test]' -c constraints.txt)"
        )


def _outputs(cell: Any) -> str:
    """Everything a code cell showed, as one string (text, HTML, streams)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(str(output.get("text", "")))
        for value in (output.get("data") or {}).values():
            parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


def test_notebook_is_stored_without_outputs() -> None:
    """Outputs are made by CI and the docs build, never committed."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code, "the tutorial has no code cells"
    for index, cell in enumerate(code):
        assert cell.get("outputs") == [], f"code cell {index} has stored outputs"
        assert cell.get("execution_count") is None, f"code cell {index} has an execution count"


@pytest.fixture(scope="module")
def executed_notebook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, float]:
    """The tutorial executed top to bottom with a kernel on this Python."""
    _require("nbformat", "nbclient", "ipykernel")
    import nbformat
    from nbclient import NotebookClient

    # A kernelspec that runs this interpreter, whatever other "python3" specs exist.
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "vollsmose-docs"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "vollsmose-gis tests",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter))
        # Debian's matplotlib beside the venv's warns about Axes3D on import: noise in
        # the rendered copy, not the tutorial's
        patch.setenv("PYTHONWARNINGS", "ignore::UserWarning:matplotlib.projections")
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_S,
            kernel_name="vollsmose-docs",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        )
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    return notebook, seconds


@pytest.mark.slow
def test_tutorial_notebook_runs(executed_notebook: tuple[Any, float]) -> None:
    notebook, seconds = executed_notebook
    print(f"tutorial notebook executed in {seconds:.1f} s")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for index, cell in enumerate(code):
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        assert not errors, f"code cell {index} raised {errors[0].get('ename')}"
        assert cell.execution_count is not None, f"code cell {index} did not run"
    shown = [_outputs(c) for c in code]
    everything = "\n".join(shown)
    # the district's rich display: its layer table and its provenance
    assert any("<th>layer</th>" in s and "schematic" in s.lower() for s in shown)
    # every scored module's result was displayed or tabled
    from vollsmose_gis import analysis

    for name in analysis.scored_module_names():
        assert name in everything, f"module {name} shows nowhere in the notebook"
    # the scored table ranks the scenario files and the one written in code
    table = next((s for s in shown if "p_first" in s and "<table" in s), "")
    assert table, "no scored table in the outputs"
    for name in SCENARIOS:
        assert name in table, f"scenario {name!r} missing from the scored table"
    # interactive maps inline: District.explore() and a maps.* builder
    maps = [s for s in shown if "folium" in s and "leaflet" in s.lower()]
    assert len(maps) >= 2, "expected the district map and a theme map inline"
    assert seconds < 120, f"the tutorial took {seconds:.0f} s; keep it quick (< 60 s)"


@pytest.mark.slow
def test_docs_site_builds_strict(executed_notebook: tuple[Any, float], tmp_path: Path) -> None:
    _require("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    _require("mkdocs_jupyter", "markdown_exec", "nbformat")
    import nbformat

    notebook, _ = executed_notebook
    source = tmp_path / "src"
    shutil.copytree(REPO / "docs", source / "docs")
    shutil.copy2(REPO / "mkdocs.yml", source / "mkdocs.yml")
    # the rendered copy of the notebook: the executed one (outputs and all)
    nbformat.write(notebook, source / "docs" / "notebooks" / "tutorial.ipynb")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "VOLLSMOSE_DOCS_EXECUTE": "false"}
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(site)],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - start
    log = run.stdout + run.stderr
    problems = [line for line in log.splitlines() if re.match(r"(WARNING|ERROR)\b", line)]
    assert run.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or [log])
    print(f"docs site built in {seconds:.1f} s")

    def page(path: str) -> str:
        file = site / path
        assert file.is_file(), f"{path} missing from the built site"
        return file.read_text(encoding="utf-8")

    page("index.html")
    # the API reference is generated from the docstrings
    assert "score_scenarios" in page("api/scoring.html")
    assert "ModuleResult" in page("api/analysis.html")
    # each analysis page carries its indicators from the catalogue
    from vollsmose_gis.indicators import catalogue

    for key, entry in catalogue().items():
        if entry["module"] in {"connectivity", "calming", "lighting", "cctv", "mix"}:
            assert key in page(f"analyses/{entry['module']}.html"), key
    # the intervention reference is generated from the scenario schema
    assert "extend_rule_area" in page("scenarios.html")
    # the rendered notebook shows its outputs
    rendered = page("notebooks/tutorial.html")
    for name in SCENARIOS:
        assert name in rendered
    # built offline: no web fonts
    assert "fonts.googleapis.com" not in page("index.html")
