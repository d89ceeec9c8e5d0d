"""The layer order of the library, as a test (issue 15 item 6).

    errors/standards -> layer schemas/validation -> district/io -> network/analysis
    -> analyses -> scenario -> scoring -> maps/report -> job -> cli

A module may import modules of its own layer or of a lower one, never of a higher one,
and there is no import cycle among modules at import time.  Imports are read from the
source with :mod:`ast` (nothing is imported): module-level imports (including those in
``try:`` and class bodies) and function-level (deferred) imports; imports inside an
``if TYPE_CHECKING:`` block are ignored (they never run).  The QGIS plugin
(``qgis_plugin/vollsmose_gis_qgis``) sits above the CLI; the library never imports it,
nor QGIS.

The mapping of modules to layers is :data:`LAYERS`, by dotted prefix, so a module split
into a package (``calming`` -> ``calming.speed`` …) keeps its layer.  A module that no
prefix matches fails :func:`test_every_module_has_a_layer`: place it in :data:`LAYERS`.

Known offenders present when the contract was written are listed, each with why and the
issue that removes it, in :data:`KNOWN_VIOLATIONS` / :data:`KNOWN_DEFERRED_VIOLATIONS` /
:data:`KNOWN_CYCLES`, so the test passes today and fails on any new violation.  When
one is removed, delete its entry (the test warns about stale entries).
"""

from __future__ import annotations

import ast
import importlib.metadata
import warnings
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "vollsmose_gis"
PACKAGE_DIR = REPO / PACKAGE
PLUGIN = "vollsmose_gis_qgis"
PLUGIN_DIR = REPO / "qgis_plugin" / PLUGIN

# Layers, lowest first.  Each entry: (layer name, dotted prefixes relative to the
# package).  A module belongs to the layer of the longest matching prefix; a prefix
# matches the module itself and everything below it (``"calming"`` matches
# ``vollsmose_gis.calming`` and ``vollsmose_gis.calming.planner``).  The empty prefix
# is the package's own ``__init__`` only (the public facade, which re-exports from
# every layer).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # errors, small helpers, the standards files as data, the indicator catalogue,
    # the public message table (only imports _errors; used by maps, report, CLI).
    ("base", ("_errors", "_util", "_version", "standards", "indicators", "i18n")),
    # layer schemas and their validation (schema.py is being split into these two).
    ("layer schemas", ("schema", "layers", "validation")),
    ("district", ("district", "io", "completeness")),
    # the street graph, photometry, data sources (OSM import, the embedded Vollsmose
    # model) and the analysis contract (AnalysisSpec, ModuleResult, registry).
    ("network", ("network", "centrality", "photometry", "sources", "analysis")),
    # the analysis modules; followup runs the others by year through the registry.
    (
        "analyses",
        ("connectivity", "angular", "calming", "lighting", "cctv", "mix", "followup", "safety"),
    ),
    ("scenario", ("scenario",)),
    ("scoring", ("scoring",)),
    # maps, the council report, the follow-up report (monitor.csv, charts, HTML).
    ("output", ("maps", "report", "followup_report")),
    # run_job: score -> save -> maps -> report (used by the CLI and the plugin).
    # run_batch: many areas on Dask (imports, analyses, scoring, outputs per area).
    ("job", ("job", "batch")),
    ("cli", ("cli", "cli_batch", "cli_dk", "cli_report", "cli_safety", "qgis_install", "")),
]

# Module-level imports of a higher layer that exist today: (importer, imported).
# Each must go; the test fails on any pair not listed here.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {
    # (none found when the contract was written)
}

# Deferred (function-level) imports of a higher layer that exist today.  They do not
# make import cycles but still tie a lower layer to a higher one.
KNOWN_DEFERRED_VIOLATIONS: dict[tuple[str, str], str] = {
    # The generator's command line (not default_district) adds the ILLUSTRATIVE safety
    # evidence to the embedded model; goes when the generator moves out of sources/
    # (issue 15 item 5: out of the import path of default_district()).
    ("vollsmose_gis.sources.vollsmose", "vollsmose_gis.safety"): "generator adds evidence",
}

# Module-level import cycles that exist today, each as the sorted tuple of its modules.
KNOWN_CYCLES: dict[tuple[str, ...], str] = {
    # (none found when the contract was written)
}

# Packages the library must never import (the plugin depends on the library, not back).
FORBIDDEN_IN_LIBRARY = ("qgis", "PyQt5", "PyQt6", PLUGIN)


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from its importer."""

    importer: str
    target: str  # dotted module name, resolved to a known module where it is internal
    lineno: int
    deferred: bool  # inside a function body (runs when called, not at import time)


def _module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file below ``root``."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([package, *parts])] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


class _ImportCollector(ast.NodeVisitor):
    """Collect the raw targets of import statements, with their scope."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.depth = 0  # nesting of function bodies
        self.found: list[tuple[str, tuple[str, ...], int, bool]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:  # the else branch runs
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, (), node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            # relative import: the package of this module, up (level - 1) more steps
            package = self.module.split(".")
            if not self.is_package:
                package = package[:-1]
            if node.level > 1:
                package = package[: -(node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names = tuple(alias.name for alias in node.names)
        self.found.append((base, names, node.lineno, self.depth > 0))


def _resolve(name: str, known: set[str]) -> str:
    """Return the longest known module that ``name`` is or lies in (``name`` if none)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return name


def _imports(names: dict[str, Path]) -> list[Import]:
    """Every import of every module in ``names``, targets resolved against all modules."""
    known = set(names) | set(_module_names(PACKAGE_DIR, PACKAGE))
    result: list[Import] = []
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _ImportCollector(module, path.name == "__init__.py")
        collector.visit(tree)
        for base, from_names, lineno, deferred in collector.found:
            targets = [f"{base}.{n}" for n in from_names if f"{base}.{n}" in known]
            # ``from pkg import name`` where name is not a submodule imports pkg itself
            if not from_names or len(targets) < len(from_names):
                targets.append(base)
            for target in targets:
                resolved = _resolve(target, known)
                if resolved != module:
                    result.append(Import(module, resolved, lineno, deferred))
    return result


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of a library module, or None if no prefix matches."""
    if module == PACKAGE:
        prefix_match = ""
    elif module.startswith(PACKAGE + "."):
        prefix_match = module[len(PACKAGE) + 1 :]
    else:
        return None
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix == "":
                hit = prefix_match == ""
            else:
                hit = prefix_match == prefix or prefix_match.startswith(prefix + ".")
            if hit and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _layer_name(module: str) -> str:
    index = layer_of(module)
    return "no layer" if index is None else LAYERS[index][0]


LIBRARY = _module_names(PACKAGE_DIR, PACKAGE)
PLUGIN_MODULES = _module_names(PLUGIN_DIR, PLUGIN) if PLUGIN_DIR.is_dir() else {}
IMPORTS = _imports(LIBRARY)


def _internal(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.target == PACKAGE or i.target.startswith(PACKAGE + ".")]


def _upward(deferred: bool) -> dict[tuple[str, str], list[Import]]:
    """Return the imports of a higher layer, grouped by (importer, imported)."""
    found: dict[tuple[str, str], list[Import]] = {}
    for imp in _internal(IMPORTS):
        if imp.deferred != deferred:
            continue
        low, high = layer_of(imp.importer), layer_of(imp.target)
        if low is None or high is None:
            continue  # reported by test_every_module_has_a_layer
        if high > low:
            found.setdefault((imp.importer, imp.target), []).append(imp)
    return found


def _describe(pairs: dict[tuple[str, str], list[Import]]) -> str:
    lines = []
    for (importer, target), imps in sorted(pairs.items()):
        where = ", ".join(f"{LIBRARY[importer].relative_to(REPO)}:{i.lineno}" for i in imps)
        lines.append(
            f"  {importer} ({_layer_name(importer)}) imports {target} ({_layer_name(target)})"
            f" at {where}"
        )
    return "\n".join(lines)


def _warn_stale(kind: str, known: dict, found: set) -> None:
    stale = sorted(set(known) - found)
    if stale:
        warnings.warn(
            f"{kind}: no longer found, delete from tests/test_layering.py: {stale}",
            stacklevel=2,
        )


# --------------------------------------------------------------------------- tests


def test_the_scanner_sees_imports() -> None:
    """Guard against a vacuous pass: known edges of the library are found."""
    edges = {(i.importer, i.target) for i in _internal(IMPORTS) if not i.deferred}
    assert len(LIBRARY) > 20
    assert (f"{PACKAGE}.scoring", f"{PACKAGE}.scenario") in edges
    assert any(t == f"{PACKAGE}._errors" for _, t in edges)


def test_layer_of_handles_subpackages() -> None:
    assert layer_of(f"{PACKAGE}.calming") == layer_of(f"{PACKAGE}.calming.planner")
    assert layer_of(f"{PACKAGE}.maps.themes") == layer_of(f"{PACKAGE}.report")
    assert layer_of(f"{PACKAGE}.sources.osm.tags") == layer_of(f"{PACKAGE}.network")
    assert layer_of(f"{PACKAGE}.standards") == 0
    assert layer_of(f"{PACKAGE}.calmingx") is None  # a prefix is a whole name part
    assert layer_of(PACKAGE) == layer_of(f"{PACKAGE}.cli")


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in LIBRARY if layer_of(m) is None)
    assert not unplaced, (
        f"modules without a layer: {unplaced}. Place each in LAYERS in "
        "tests/test_layering.py (the lowest layer whose modules it needs)."
    )


def test_no_module_imports_a_higher_layer() -> None:
    found = _upward(deferred=False)
    new = {pair: imps for pair, imps in found.items() if pair not in KNOWN_VIOLATIONS}
    _warn_stale("KNOWN_VIOLATIONS", KNOWN_VIOLATIONS, set(found))
    assert not new, (
        "module-level imports against the layer order (see LAYERS in "
        "tests/test_layering.py):\n" + _describe(new)
    )


def test_no_deferred_import_of_a_higher_layer() -> None:
    found = _upward(deferred=True)
    new = {pair: imps for pair, imps in found.items() if pair not in KNOWN_DEFERRED_VIOLATIONS}
    _warn_stale("KNOWN_DEFERRED_VIOLATIONS", KNOWN_DEFERRED_VIOLATIONS, set(found))
    assert not new, (
        "function-level imports against the layer order (a deferred import hides the "
        "dependency, it does not remove it):\n" + _describe(new)
    )


def test_no_import_cycle() -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(LIBRARY)
    for imp in _internal(IMPORTS):
        if not imp.deferred:
            graph.add_edge(imp.importer, imp.target)
    cycles = {tuple(sorted(c)): c for c in nx.simple_cycles(graph)}
    new = sorted(key for key in cycles if key not in KNOWN_CYCLES)
    _warn_stale("KNOWN_CYCLES", KNOWN_CYCLES, set(cycles))
    assert not new, "module-level import cycles:\n" + "\n".join(
        "  " + " -> ".join([*cycles[key], cycles[key][0]]) for key in new
    )


def test_library_never_imports_the_plugin_or_qgis() -> None:
    bad = [
        f"{LIBRARY[i.importer].relative_to(REPO)}:{i.lineno} imports {i.target}"
        for i in IMPORTS
        if i.target.split(".")[0] in FORBIDDEN_IN_LIBRARY
    ]
    assert not bad, "the library must not depend on QGIS or its plugin:\n" + "\n".join(bad)


@pytest.mark.skipif(not PLUGIN_MODULES, reason="qgis_plugin/ not present")
def test_plugin_imports_only_the_library_public_layers() -> None:
    """The plugin is the top layer: it imports the library, the library never it."""
    plugin_imports = _imports(PLUGIN_MODULES)
    unknown = sorted(
        {
            i.target
            for i in _internal(plugin_imports)
            if layer_of(i.target) is None and i.target not in LIBRARY
        }
    )
    assert not unknown, f"the plugin imports library modules that do not exist: {unknown}"


def test_version_comes_from_package_metadata() -> None:
    """``vollsmose_gis.__version__`` is the installed distribution's version."""
    import vollsmose_gis

    assert vollsmose_gis.__version__ == importlib.metadata.version("vollsmose-gis")


def test_version_is_not_hardcoded() -> None:
    """No module writes a version number of its own (pyproject.toml is the one source)."""
    literals = []
    for path in LIBRARY.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and node.value.value != "0+unknown"  # the fallback of a never-installed tree
            ):
                literals.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not literals, f"__version__ hard-coded at {literals}; read package metadata"
