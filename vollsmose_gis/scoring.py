"""Scoring scenarios: indicators -> value functions -> themes -> overall, with robustness.

For every scenario the district is changed (:func:`vollsmose_gis.scenario.apply_scenario`)
and every analysis module computes its indicators; a scoring profile
(``standards/scoring_profile.yaml``) turns each indicator into a 0-100 value, the
values roll up into the four themes of the municipality's goals and into an overall
score.  Costs (DKK) are reported beside the score, never inside it.  A Monte Carlo over
theme weights tells how often each scenario ranks first, and a one-at-a-time sweep at
which weight the leader changes.

Module results are cached by the content of the layers each module reads, so five
scenarios that share a baseline (or leave a layer untouched) do not recompute it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vollsmose_gis import analysis
from vollsmose_gis._errors import InputError
from vollsmose_gis._util import slug
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.indicators import THEMES
from vollsmose_gis.scenario import ChangeLog, Scenario, apply_scenario
from vollsmose_gis.standards import load

__all__ = [
    "MODULES",
    "ModuleResult",
    "Profile",
    "ScenarioResult",
    "ScoreResult",
    "clear_cache",
    "load_profile",
    "module_runs",
    "robustness",
    "score_scenarios",
    "value_score",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Profile:
    """A scoring profile: per indicator worst/target/theme/weight, and theme weights."""

    indicators: dict[str, dict[str, Any]]
    themes: dict[str, float]
    theme_labels: dict[str, str]
    robustness: dict[str, Any]
    source: str = "standards/scoring_profile.yaml"

    def with_theme_weights(
        self, weights: dict[str, float] | None, *, source: str = "scenario"
    ) -> Profile:
        """Return a copy whose theme weights are overridden (validated)."""
        if not weights:
            return self
        unknown = sorted(set(weights) - set(self.themes))
        if unknown:
            raise InputError(
                f"{source}: unknown theme(s) in weights: {unknown}; themes are {list(self.themes)}"
            )
        merged = {**self.themes, **{k: float(v) for k, v in weights.items()}}
        _check_weights(merged, source)
        return Profile(self.indicators, merged, self.theme_labels, self.robustness, self.source)


def _check_weights(weights: dict[str, float], source: str) -> None:
    bad = {k: v for k, v in weights.items() if not math.isfinite(v) or v < 0}
    if bad:
        raise InputError(f"{source}: weights must be finite and >= 0, got {bad}")
    if sum(weights.values()) <= 0:
        raise InputError(
            f"{source}: the weights sum to zero; give at least one theme a positive weight"
        )


def load_profile(path: str | Path | None = None) -> Profile:
    """Read a scoring profile (default: the packaged ``scoring_profile.yaml``).

    Raises
    ------
    InputError
        Malformed YAML, an unknown theme, a weight set that sums to zero, or an
        indicator whose worst equals its target.
    """
    if path is None:
        data = load("scoring_profile")
        source = "standards/scoring_profile.yaml"
    else:
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(
                f"{source}: cannot read scoring profile ({exc.strerror or exc})"
            ) from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark else ""
            raise InputError(f"{source}: malformed YAML{at}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("themes"), dict)
        or not isinstance(data.get("indicators"), dict)
    ):
        raise InputError(f"{source}: a scoring profile needs 'themes' and 'indicators' mappings")
    for section in ("themes", "indicators"):
        for name, spec in data[section].items():
            if not isinstance(spec, dict):
                raise InputError(
                    f"{source}: {section}.{name} must be a mapping (e.g. {{weight: 1}}), "
                    f"got {spec!r}"
                )

    def number(spec: dict[str, Any], key: str, where: str) -> float:
        try:
            return float(spec[key])
        except (TypeError, ValueError):
            raise InputError(
                f"{source}: {where} {key} must be a number, got {spec[key]!r}"
            ) from None

    themes = {
        name: number(spec, "weight", f"theme {name!r}") for name, spec in data["themes"].items()
    }
    labels = {name: str(spec.get("label", name)) for name, spec in data["themes"].items()}
    unknown_themes = sorted(set(themes) - set(THEMES))
    if unknown_themes:
        raise InputError(f"{source}: unknown theme(s) {unknown_themes}; themes are {list(THEMES)}")
    _check_weights(themes, f"{source}: themes")
    indicators = {}
    for name, spec in data["indicators"].items():
        missing = [k for k in ("module", "theme", "worst", "target", "weight") if k not in spec]
        if missing:
            raise InputError(f"{source}: indicator {name!r} lacks {missing}")
        if spec["theme"] not in themes:
            raise InputError(f"{source}: indicator {name!r} has unknown theme {spec['theme']!r}")
        if spec["module"] not in MODULES:
            raise InputError(
                f"{source}: indicator {name!r} has unknown module {spec['module']!r}; "
                f"modules are {list(MODULES)}"
            )
        where = f"indicator {name!r}"
        values = {key: number(spec, key, where) for key in ("worst", "target", "weight")}
        if values["worst"] == values["target"]:
            raise InputError(f"{source}: indicator {name!r} has worst == target")
        indicators[name] = {**spec, **values}
    given = data.get("robustness") or {}
    if not isinstance(given, dict):
        raise InputError(f"{source}: robustness must be a mapping, got {given!r}")
    robustness_spec = {"samples": 2000, "concentration": 20.0, "seed": 0, **given}
    for key in ("samples", "concentration", "seed"):
        number(robustness_spec, key, "robustness")
    return Profile(indicators, themes, labels, robustness_spec, source)


def value_score(value: float, worst: float, target: float) -> float:
    """Linear value function: ``worst`` -> 0, ``target`` -> 100, clipped; NaN stays NaN."""
    if value is None or not math.isfinite(value):
        return math.nan
    return float(np.clip((value - worst) / (target - worst) * 100.0, 0.0, 100.0))


# --------------------------------------------------------------------------- modules


class _Modules(Mapping[str, AnalysisSpec]):
    """The registered analysis modules (read-only view of :mod:`vollsmose_gis.analysis`)."""

    def __getitem__(self, name: str) -> AnalysisSpec:
        if name not in analysis.module_names():
            raise KeyError(name)
        return analysis.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(analysis.module_names())

    def __len__(self) -> int:
        return len(analysis.module_names())


MODULES: Mapping[str, AnalysisSpec] = _Modules()
"""The analysis modules the scorer runs, with the layers each reads (its cache key)."""

module_runs = analysis.module_runs
clear_cache = analysis.clear_cache


def run_module(name: str, district: District) -> ModuleResult:
    """Run one module on a district, or return the cached result for the same content."""
    return analysis.run(name, district)


# --------------------------------------------------------------------------- scoring


@dataclass
class ScenarioResult:
    """Everything computed for one scenario."""

    scenario: Scenario
    district: District
    change_log: ChangeLog
    modules: dict[str, ModuleResult]
    indicators: pd.DataFrame
    theme_scores: dict[str, float]
    overall: float
    cost_dkk: float

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass
class ScoreResult:
    """Scores of several scenarios: the ranking table, the long indicator table, robustness."""

    scores: pd.DataFrame
    indicators: pd.DataFrame
    results: dict[str, ScenarioResult]
    baseline: ScenarioResult
    robustness: dict[str, Any]
    profile: Profile


def _indicator_rows(
    modules: dict[str, ModuleResult], profile: Profile, baseline: pd.DataFrame | None
) -> pd.DataFrame:
    rows = []
    for module_name, result in modules.items():
        for name, indicator in result.indicators.items():
            spec = profile.indicators.get(name)
            rows.append(
                {
                    "module": module_name,
                    "indicator": name,
                    "label": indicator.label,
                    "value": float(indicator.value),
                    "unit": indicator.unit,
                    "higher_is_better": indicator.higher_is_better,
                    "theme": spec["theme"] if spec else indicator.theme,
                    "weight": float(spec["weight"]) if spec else 0.0,
                    "score": value_score(float(indicator.value), spec["worst"], spec["target"])
                    if spec
                    else math.nan,
                }
            )
    frame = pd.DataFrame(rows)
    if baseline is not None and len(frame):
        base = baseline.set_index("indicator")["value"]
        frame["delta"] = frame["value"] - frame["indicator"].map(base)
    else:  # no baseline of the same district to compare with
        frame["delta"] = math.nan
    return frame


def _roll_up(indicators: pd.DataFrame, profile: Profile) -> tuple[dict[str, float], float]:
    themes = {}
    for theme in profile.themes:
        part = indicators[
            (indicators["theme"] == theme)
            & (indicators["weight"] > 0)
            & indicators["score"].notna()
        ]
        themes[theme] = (
            float(np.average(part["score"], weights=part["weight"])) if len(part) else math.nan
        )
    return themes, _overall(themes, profile.themes)


def _overall(theme_scores: dict[str, float], weights: dict[str, float]) -> float:
    names = [t for t in weights if math.isfinite(theme_scores.get(t, math.nan)) and weights[t] > 0]
    if not names:
        return math.nan
    return float(np.average([theme_scores[t] for t in names], weights=[weights[t] for t in names]))


def _evaluate(
    scenario: Scenario,
    district: District,
    profile: Profile,
    baseline: pd.DataFrame | None,
    modules: Sequence[str],
    progress: Progress | None,
    step: tuple[int, int],
) -> ScenarioResult:
    done, total = step

    def report(fraction: float, message: str) -> None:
        if progress:
            progress((done + fraction) / total, message)

    changed, change_log = apply_scenario(district, scenario)
    results = {}
    for k, name in enumerate(modules):
        report((k + 0.5) / (len(modules) + 1), f"{scenario.name}: {name}")
        results[name] = run_module(name, changed)
    indicators = _indicator_rows(results, profile, baseline)
    themes, overall = _roll_up(indicators, profile)
    report(1.0, f"{scenario.name}: scored")
    return ScenarioResult(
        scenario,
        changed,
        change_log,
        results,
        indicators,
        themes,
        overall,
        float(change_log.totals.get("cost_dkk", 0.0)),
    )


def _ranking_profile(profile: Profile, scenarios: Sequence[Scenario]) -> Profile:
    """The profile every scenario is ranked with: one set of theme weights for all.

    Scenarios may carry theme ``weights``; ranked together they must agree (else one
    plan could win by weighting its own strengths), and the agreed weights replace the
    profile's.  Checked before anything is computed.
    """
    weighted = [s for s in scenarios if s.weights]
    for scenario in weighted:
        profile.with_theme_weights(scenario.weights, source=str(scenario.path or scenario.name))
    distinct = {tuple(sorted(s.weights.items())) for s in weighted if s.weights}
    if len(distinct) > 1:
        names = ", ".join(f"{s.name} ({s.path or 'in code'})" for s in weighted)
        raise InputError(
            "scenarios ranked together must use the same theme weights (or none); "
            f"these set different ones: {names}. Put shared weights in a --profile instead."
        )
    if not weighted:
        return profile
    first = weighted[0]
    return profile.with_theme_weights(first.weights, source=str(first.path or first.name))


def robustness(
    theme_scores: pd.DataFrame,
    weights: dict[str, float],
    *,
    samples: int = 2000,
    concentration: float = 20.0,
    seed: int = 0,
) -> dict[str, Any]:
    """How robust a ranking is to the theme weights.

    Parameters
    ----------
    theme_scores
        One row per scenario (index = names), one column per theme (0-100).
    weights
        The given theme weights (need not sum to 1).
    samples
        Monte Carlo draws.
    concentration
        Dirichlet concentration: draws are ``Dirichlet(concentration * w / sum(w))``;
        larger means closer to the given weights.
    seed
        Seed of the random generator (same seed, same result).

    Returns
    -------
    dict
        ``p_first`` (scenario -> probability of ranking first), ``rank_distribution``
        (scenario -> list of probabilities of rank 1..n), ``flips`` (per theme, the
        weight share at which the leader changes in a one-at-a-time sweep, with the
        new leader; empty if it never changes), ``leader`` (at the given weights).
    """
    names = list(theme_scores.index)
    themes = [t for t in weights if weights[t] > 0 or t in theme_scores.columns]
    scores = theme_scores[themes].to_numpy(dtype=float)
    scores = np.where(np.isfinite(scores), scores, 0.0)  # an unmeasured theme scores 0
    w = np.array([weights[t] for t in themes], dtype=float)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    alpha = np.maximum(w * concentration, 1e-3)
    draws = rng.dirichlet(alpha, size=samples)
    overall = draws @ scores.T  # samples x scenarios
    order = np.argsort(-overall, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(samples)[:, None], order] = np.arange(len(names))[None, :]
    rank_distribution = {
        name: [float(np.mean(ranks[:, i] == r)) for r in range(len(names))]
        for i, name in enumerate(names)
    }
    p_first = {name: dist[0] for name, dist in rank_distribution.items()}
    leader = names[int(np.argmax(scores @ w))]
    flips: dict[str, list[dict[str, Any]]] = {}
    grid = np.linspace(0.0, 1.0, 201)
    for j, theme in enumerate(themes):
        others = np.delete(w, j)
        others = (
            others / others.sum()
            if others.sum() > 0
            else np.full_like(others, 1 / max(1, len(others)))
        )
        changes = []
        previous = None
        for share in grid:
            sweep = np.insert(others * (1 - share), j, share)
            current = names[int(np.argmax(scores @ sweep))]
            if previous is not None and current != previous:
                changes.append({"weight": float(share), "from": previous, "to": current})
            previous = current
        flips[theme] = changes
    return {
        "p_first": p_first,
        "rank_distribution": rank_distribution,
        "flips": flips,
        "leader": leader,
        "samples": samples,
        "concentration": concentration,
        "seed": seed,
    }


def score_scenarios(
    scenarios: Sequence[Scenario],
    *,
    district: District | None = None,
    profile: Profile | None = None,
    modules: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Apply and score scenarios against the baseline district.

    Parameters
    ----------
    scenarios
        Loaded scenarios (:func:`vollsmose_gis.scenario.load_scenarios`).
    district
        The base district for scenarios that name none (default: the embedded
        schematic Vollsmose).  A scenario's own ``base`` file takes precedence.
    profile
        Scoring profile (default: ``standards/scoring_profile.yaml``).
    modules
        Module names to run (default: all of :data:`MODULES`).
    progress
        Optional callback ``(fraction, message)``.

    Returns
    -------
    ScoreResult
        ``scores``: one row per scenario (overall, the four themes, cost in DKK,
        P(first), rank at the given weights), sorted best first; ``indicators``: the
        long table (scenario, indicator, value, unit, score, delta vs baseline).

    Raises
    ------
    InputError
        A scenario cannot be applied (:class:`~vollsmose_gis.scenario.ScenarioError`),
        a profile or weight problem.
    """
    if not scenarios:
        raise InputError("no scenarios to score")
    profile = _ranking_profile(profile or load_profile(), scenarios)
    module_names = list(modules) if modules is not None else list(MODULES)
    unknown = sorted(set(module_names) - set(MODULES))
    if unknown:
        raise InputError(f"unknown module(s) {unknown}; modules are {list(MODULES)}")
    if district is None:
        from vollsmose_gis.sources.vollsmose import default_district

        district = default_district()
    bases: dict[Path | None, District] = {None: district}
    for scenario in scenarios:
        if scenario.base is not None and scenario.base not in bases:
            from vollsmose_gis.io import load_district

            bases[scenario.base] = load_district(scenario.base)
    total = len(scenarios) + 1
    baseline = _evaluate(
        Scenario(name="(baseline)"), district, profile, None, module_names, progress, (0, total)
    )
    results: dict[str, ScenarioResult] = {}
    for k, scenario in enumerate(scenarios, start=1):
        base = bases[scenario.base]
        base_indicators = baseline.indicators if base is district else None
        results[scenario.name] = _evaluate(
            scenario, base, profile, base_indicators, module_names, progress, (k, total)
        )
    theme_table = pd.DataFrame({name: r.theme_scores for name, r in results.items()}).T
    spec = profile.robustness
    robust = robustness(
        theme_table,
        profile.themes,
        samples=int(spec["samples"]),
        concentration=float(spec["concentration"]),
        seed=int(spec["seed"]),
    )
    rows = []
    for name, r in results.items():
        rows.append(
            {
                "scenario": name,
                "overall": r.overall,
                **{theme: r.theme_scores.get(theme, math.nan) for theme in profile.themes},
                "cost_dkk": r.cost_dkk,
                "p_first": robust["p_first"][name],
                "overall_delta": r.overall - baseline.overall,
            }
        )
    scores = (
        pd.DataFrame(rows)
        .sort_values("overall", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    scores.insert(1, "rank", np.arange(1, len(scores) + 1))
    long = pd.concat(
        [r.indicators.assign(scenario=name) for name, r in results.items()], ignore_index=True
    )
    long = long[
        [
            "scenario",
            "module",
            "indicator",
            "label",
            "theme",
            "value",
            "unit",
            "score",
            "weight",
            "delta",
            "higher_is_better",
        ]
    ]
    if progress:
        progress(1.0, "scored")
    return ScoreResult(scores, long, results, baseline, robust, profile)


# --------------------------------------------------------------------------- outputs


def _file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_manifest(result: ScoreResult, *, district_path: Path | None = None) -> dict[str, Any]:
    """What a run read and with which software, so that it can be reproduced.

    Returns a JSON-ready dict: inputs (scenario files, district, profile) with SHA-256
    hashes, parameters (modules, robustness) and package versions.
    """
    import datetime as dt
    import platform
    from importlib import metadata

    from vollsmose_gis import __version__

    versions = {"vollsmose-gis": __version__, "python": platform.python_version()}
    for package in (
        "numpy",
        "pandas",
        "geopandas",
        "shapely",
        "pyproj",
        "pyogrio",
        "rasterio",
        "networkx",
        "igraph",
        "scipy",
        "pydantic",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        import pyogrio

        versions["GDAL"] = pyogrio.__gdal_version_string__
    except (ImportError, AttributeError):
        versions["GDAL"] = "unknown"
    scenario_files = {}
    for r in result.results.values():
        if r.scenario.path is not None:
            scenario_files[str(r.scenario.path)] = _file_sha256(r.scenario.path)
            for _, source in r.scenario.interventions:
                if source is not None and str(source) not in scenario_files:
                    scenario_files[str(source)] = _file_sha256(source)
    base = result.baseline.district
    district = {
        "name": base.name,
        "provenance": base.provenance.to_dict(),
        "content_sha256": base.fingerprint(),
    }
    if district_path is not None:
        district["path"] = str(district_path)
        district["file_sha256"] = _file_sha256(district_path)
    else:
        from vollsmose_gis.sources.vollsmose import default_district_path

        embedded = default_district_path()
        district["path"] = f"embedded ({embedded.name})"
        district["file_sha256"] = _file_sha256(embedded)
    profile_path = Path(result.profile.source)
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": {
            "scenarios": scenario_files,
            "district": district,
            "profile": {
                "source": result.profile.source,
                "sha256": _file_sha256(profile_path) if profile_path.is_file() else None,
            },
        },
        "parameters": {
            "modules": sorted({m for r in result.results.values() for m in r.modules}),
            "theme_weights": result.profile.themes,
            "robustness": {k: result.robustness[k] for k in ("samples", "concentration", "seed")},
        },
        "versions": versions,
        "provenance_statement": base.provenance.statement(),
    }


def save_score_outputs(
    result: ScoreResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    district_path: Path | None = None,
) -> list[Path]:
    """Write ``scores.csv``, ``indicators.csv``, ``changes.csv``, one GeoPackage and the
    rasters per scenario, and ``manifest.json`` into ``out_dir``.

    An existing ``out_dir`` is refused unless ``overwrite``; even then only the files
    this function writes are replaced (each atomically) and nothing else in the folder
    is touched or deleted.

    Returns
    -------
    list of Path
        The files written.
    """
    import json

    from vollsmose_gis.io import atomic_path, save_district, write_geotiff

    out = Path(out_dir)
    slug_of = {name: slug(name) for name in result.results}
    clashes = sorted(n for n in slug_of if list(slug_of.values()).count(slug_of[n]) > 1)
    if clashes:
        raise InputError(
            f"scenarios {', '.join(clashes)} would write the same files "
            f"({slug_of[clashes[0]]}.gpkg); rename one"
        )
    if out.exists() and not overwrite:
        raise FileExistsError(
            f"output folder {out} exists; pass --overwrite to replace the files this run writes"
        )
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    statement = result.baseline.district.provenance.statement()

    def csv(frame: pd.DataFrame, name: str) -> None:
        with atomic_path(out / name, overwrite=True) as tmp:
            tmp.write_text(f"# {statement}\n" + frame.to_csv(index=False), encoding="utf-8")
        written.append(out / name)

    csv(result.scores, "scores.csv")
    csv(result.indicators, "indicators.csv")
    changes = pd.concat(
        [r.change_log.to_frame().assign(scenario=name) for name, r in result.results.items()],
        ignore_index=True,
    )
    csv(changes, "changes.csv")
    for name, r in result.results.items():
        stem = slug_of[name]
        layers = {k: v for m in r.modules.values() for k, v in m.layers.items()}
        gpkg = out / f"{stem}.gpkg"
        save_district(r.district, gpkg, overwrite=True, extra_layers=layers)
        written.append(gpkg)
        for raster_name, raster in (x for m in r.modules.values() for x in m.rasters.items()):
            tif = out / f"{stem}_{raster_name}.tif"
            write_geotiff(raster, tif, overwrite=True)
            written.append(tif)
    manifest = run_manifest(result, district_path=district_path)
    with atomic_path(out / "manifest.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    written.append(out / "manifest.json")
    return written
