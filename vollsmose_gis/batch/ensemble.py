"""Scenario ensembles under the models' own uncertainty (``score --ensemble N``).

The standards files mark the model parameters whose value is uncertain, with a
plausible range or a set of readings, in their ``uncertain:`` sections.  An ensemble
draws N parameter sets from them (seeded), scores every scenario under each draw with
:func:`vollsmose_gis.scoring.score_scenarios` - sequentially, or one task per draw on
the same Dask engine as :func:`vollsmose_gis.batch.run_batch` - and summarises how
often each scenario ranks first (P(first)) and the interval of its rank and overall
score under parameter uncertainty.  Weight uncertainty is the scorer's own robustness
analysis; this is the other half.

Every entry with a numeric range, a set of readings or a band of two ranges reaches
the model runs through one mechanism: a standards override
(:func:`vollsmose_gis.standards.overridden`), i.e. the drawn values deep-merged onto the
packaged files while the draw's scenarios are scored.  Every
:func:`~vollsmose_gis.standards.load` inside sees them, and the module cache keys on
the overrides of the files a run read (:func:`vollsmose_gis.analysis.run`), so two
draws never share a result and connectivity, which reads none of them, runs once.  How
an entry reaches a run (``wired``):

- ``"standards"``: ``en13201.yaml`` (lighting), ``dori.yaml`` (CCTV), ``safety.yaml``
  (natural surveillance's recognition distance) and the ``mix.yaml`` entries that are
  keys of the file (access radius, green-space size, catchment access, the
  jobs-housing band - a low and a high end, each drawn within its own range);
- ``"params"``: ``calming.yaml``; drawn as calming's ``params`` (a partial calming.yaml)
  and applied as the same standards override, so a calming run nested in another
  module's sees the draw too;
- ``"parameter:<name>"``: the ``mix.yaml`` entries that name a SPEC parameter
  (``whole_units``, ``institutions_count``, ``count_demolished``);
- ``"district:rule_area"``: mix's ``rule_area`` readings - the district's
  ``Settings.rule_area``, or none (the study boundary);
- not wired (``not_wired``, with the reason): ``mix.yaml``'s ``mean_dwelling_size_m2``,
  which no model reads - it fed the making of the district's dwelling counts.

A parameter only changes a run where the data leave it to the standards (a lamp's
recorded maintenance factor, a building's recorded height win over the defaults).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vollsmose_gis._errors import InputError
from vollsmose_gis.standards import deep_merge

if TYPE_CHECKING:
    from distributed import Client

    from vollsmose_gis.district import District
    from vollsmose_gis.scenario import Scenario
    from vollsmose_gis.scoring import Profile

__all__ = [
    "ENSEMBLE_SOURCE",
    "UncertainParameter",
    "add_to_robustness",
    "draw_parameters",
    "ensemble_frame",
    "score_ensemble",
    "uncertain_parameters",
]

STANDARDS_MODULES = {
    "calming": "calming",
    "mix": "mix",
    "en13201": "lighting",
    "dori": "cctv",
    "safety": "safety",
}
"""Standards file (``standards/<name>.yaml``) -> the analysis module it parameterises."""

RULE_AREA_READINGS = ("Settings.rule_area", "the study boundary")
"""The readings of ``mix.yaml``'s ``rule_area`` entry, in the wiring's terms."""

INTERVAL = 0.9
"""Central share of the draws the rank and score intervals cover (5th-95th percentile)."""


@dataclass(frozen=True)
class UncertainParameter:
    """One uncertain model parameter of a standards file.

    Attributes
    ----------
    module
        The analysis module it belongs to.
    path
        Its dotted path in the standards file (``"planner.lamp.maintenance_factor"``).
    low, high
        The plausible range (in the parameter's own unit), or NaN for a set of readings
        or a band.
    values
        The readings to choose between (e.g. ``(True, False)``), or ``()``.
    source
        Where the range comes from (as the standards file says).
    wired
        How a run takes it: ``"standards"`` (a standards override of ``file``),
        ``"params"`` (calming's override mapping, applied the same way),
        ``"parameter:<name>"`` (a SPEC parameter), ``"district:rule_area"`` (the
        district's rule area), or ``""`` (not wired).
    reason
        Why it is not wired (``""`` when it is).
    file
        The standards file (``"en13201"``).
    bands
        For a band (``[low, high]`` whose two ends are each uncertain): the range of
        each end; ``()`` otherwise.
    """

    module: str
    path: str
    low: float
    high: float
    values: tuple[Any, ...]
    source: str
    wired: str
    reason: str = ""
    file: str = ""
    bands: tuple[tuple[float, float], ...] = ()

    def draw(self, rng: np.random.Generator) -> Any:
        """One value: uniform in the range (a band: each end in its own), or a reading."""
        if self.values:
            return self.values[int(rng.integers(len(self.values)))]
        if self.bands:
            return [float(rng.uniform(low, high)) for low, high in self.bands]
        return float(rng.uniform(self.low, self.high))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _pair(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(_number(v) for v in value)
        and value[0] <= value[1]
    )


def _has_key(data: Mapping[str, Any], path: str) -> bool:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def uncertain_parameters() -> list[UncertainParameter]:
    """Every ``uncertain:`` entry of the standards files, and whether a run takes it."""
    from vollsmose_gis import analysis
    from vollsmose_gis.standards import load

    found: list[UncertainParameter] = []
    for stem, module in STANDARDS_MODULES.items():
        data = load(stem)
        section = data.get("uncertain") or {}
        spec_params = analysis.get(module).parameters
        for path, entry in section.items():
            path, entry = str(path), dict(entry or {})
            values = tuple(entry.get("values") or ())
            rng = entry.get("range")
            numeric = _pair(rng)
            # a band whose two ends are uncertain: [[low_min, low_max], [high_min, high_max]]
            bands = (
                (tuple(float(v) for v in rng[0]), tuple(float(v) for v in rng[1]))
                if isinstance(rng, (list, tuple)) and len(rng) == 2 and all(map(_pair, rng))
                else ()
            )
            low, high = (float(rng[0]), float(rng[1])) if numeric else (math.nan, math.nan)
            drawable = numeric or bool(values) or bool(bands)
            wired, reason = "", ""
            if not drawable:
                reason = "no numeric range, band or readings"
            elif entry.get("parameter") in spec_params:
                wired = f"parameter:{entry['parameter']}"
            elif module == "mix" and path == "rule_area" and len(values) == 2:
                wired = "district:rule_area"
            elif _has_key(data, path):
                wired = "params" if module == "calming" else "standards"
            else:
                reason = str(entry.get("not_wired") or f"no key {path!r} in standards/{stem}.yaml")
            found.append(
                UncertainParameter(
                    module,
                    path,
                    low,
                    high,
                    values if not numeric else (),
                    str(entry.get("source", "")),
                    wired,
                    reason,
                    stem,
                    bands if not numeric and not values else (),
                )
            )
    return found


def _nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _wanted(modules: Sequence[str] | None) -> list[str]:
    """The modules a draw is for: ``modules``, or those plan scoring runs."""
    from vollsmose_gis import analysis

    return list(modules) if modules is not None else analysis.scored_module_names()


def draw_parameters(
    n: int, *, seed: int, modules: Sequence[str] | None = None
) -> list[dict[str, dict[str, Any]]]:
    """N draws of the wired uncertain parameters.

    Parameters
    ----------
    n
        Number of draws (>= 1).
    seed
        Seed of the random generator: the same seed gives the same draws.
    modules
        Only the parameters of these modules (default: the modules plan scoring runs,
        :func:`vollsmose_gis.analysis.scored_module_names`).

    Returns
    -------
    list of dict
        One mapping per draw: ``{module: {parameter: value}}`` for SPEC parameters
        (calming's as ``{"calming": {"params": {...}}}``), ``"standards"``: ``{file:
        partial mapping}`` (a :func:`vollsmose_gis.standards.overridden` argument), and
        ``"district"``: ``{"rule_area": reading}`` when mix's rule area is drawn.
    """
    if n < 1:
        raise InputError(f"an ensemble needs at least 1 draw, got {n}")
    rng = np.random.default_rng(seed)
    names = _wanted(modules)
    wanted = [p for p in uncertain_parameters() if p.wired and p.module in names]
    draws = []
    for _ in range(n):
        params: dict[str, dict[str, Any]] = {}
        for p in wanted:
            value = p.draw(rng)
            if p.wired == "params":
                section = params.setdefault(p.module, {})
                section["params"] = deep_merge(section.get("params", {}), _nested(p.path, value))
            elif p.wired == "standards":
                files = params.setdefault("standards", {})
                files[p.file] = deep_merge(files.get(p.file, {}), _nested(p.path, value))
            elif p.wired.startswith("district:"):
                params.setdefault("district", {})[p.wired.split(":", 1)[1]] = value
            else:
                params.setdefault(p.module, {})[p.wired.split(":", 1)[1]] = value
        draws.append(params)
    return draws


def _score_draw(
    scenarios: Sequence[Scenario],
    district: District | None,
    profile: Profile | None,
    modules: Sequence[str] | None,
    params: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Score every scenario under one draw (one Dask task): scenario, rank, overall."""
    from vollsmose_gis.scoring import score_scenarios
    from vollsmose_gis.standards import overridden

    module_params = {k: dict(v) for k, v in params.items() if k not in ("standards", "district")}
    overrides = {k: dict(v) for k, v in (params.get("standards") or {}).items()}
    calming = module_params.get("calming", {}).pop("params", None)
    if calming:  # calming's override the same way as every file's: safety's calming run sees it
        overrides["calming"] = dict(calming)
    reading = (params.get("district") or {}).get("rule_area", RULE_AREA_READINGS[0])
    if reading == RULE_AREA_READINGS[1]:
        scenarios, district = _without_rule_area(scenarios, district)
    with overridden(overrides):
        result = score_scenarios(
            scenarios, district=district, profile=profile, modules=modules,
            module_params=module_params,
        )  # fmt: skip
    return [
        {"scenario": str(r["scenario"]), "rank": int(r["rank"]), "overall": float(r["overall"])}
        for r in result.scores.to_dict(orient="records")
    ]


def _without_rule_area(
    scenarios: Sequence[Scenario], district: District | None
) -> tuple[list[Scenario], District]:
    """The scenarios on their common base district with no rule area (the boundary)."""
    import dataclasses

    from vollsmose_gis.scoring import _common_base

    base, _ = _common_base(scenarios, district)
    settings = dataclasses.replace(base.settings, rule_area=None)
    # the base now given directly: scenarios that named a base file use it as well
    return [dataclasses.replace(s, base=None) for s in scenarios], base.replace(settings=settings)


def score_ensemble(
    scenarios: Sequence[Scenario],
    n: int,
    *,
    seed: int = 0,
    district: District | None = None,
    profile: Profile | None = None,
    modules: Sequence[str] | None = None,
    client: Client | str | None = None,
    workers: int = 0,
    memory_limit: str | float | None = "2GiB",
    progress: Any = None,
) -> dict[str, Any]:
    """Score every scenario under N seeded draws of the models' uncertain parameters.

    Parameters
    ----------
    scenarios
        Loaded scenarios (:func:`vollsmose_gis.scenario.load_scenarios`).
    n
        Number of draws (>= 1).
    seed
        Seed of the draws (same seed, same draws, same result on any engine).
    district, profile, modules
        As for :func:`vollsmose_gis.scoring.score_scenarios`.
    client
        A ``distributed.Client`` or a scheduler address: one task per draw.  Default:
        ``workers`` local worker processes, or in this process when ``workers == 0``.
    workers, memory_limit
        The local cluster, as for :func:`vollsmose_gis.batch.run_batch`.
    progress
        Optional callback ``(done, total, message)`` after each draw.

    Returns
    -------
    dict
        ``draws``, ``seed``, ``interval`` (0.9), ``wired`` and ``not_wired`` (the
        uncertain parameters, with ranges / reasons), ``scenarios`` (per scenario:
        ``p_first``, ``rank_median``, ``rank_low``, ``rank_high`` (5th-95th percentile),
        ``overall_median``, ``overall_low``, ``overall_high`` (0-100)) and ``table``
        (draw, scenario, rank, overall).  JSON-ready.
    """
    from vollsmose_gis.batch.areas import _engine

    draws = draw_parameters(n, seed=seed, modules=modules)
    rows: list[dict[str, Any]] = []
    with _engine(client, workers, memory_limit) as engine:
        if engine is None:
            for k, params in enumerate(draws):
                rows += [{"draw": k, **r} for r in _score_draw(scenarios, district, profile,
                                                               modules, params)]  # fmt: skip
                if progress:
                    progress(k + 1, n, f"draw {k + 1}")
        else:
            shared = engine.scatter([list(scenarios), district, profile], broadcast=True)
            futures = [
                engine.submit(_score_draw, *shared, modules, params, pure=False, retries=2)
                for params in draws
            ]
            for k, future in enumerate(
                futures
            ):  # in draw order: the table does not depend on timing
                rows += [{"draw": k, **r} for r in future.result()]
                if progress:
                    progress(k + 1, n, f"draw {k + 1}")
    table = pd.DataFrame(rows, columns=["draw", "scenario", "rank", "overall"])
    tail = (1 - INTERVAL) / 2 * 100
    summary: dict[str, dict[str, float]] = {}
    for name, part in table.groupby("scenario", sort=False):
        ranks = part["rank"].to_numpy(float)
        overall = part["overall"].to_numpy(float)
        summary[str(name)] = {
            "p_first": float(np.mean(ranks == 1)),
            "rank_median": float(np.median(ranks)),
            "rank_low": float(np.percentile(ranks, tail, method="lower")),
            "rank_high": float(np.percentile(ranks, 100 - tail, method="higher")),
            "overall_median": float(np.nanmedian(overall)),
            "overall_low": float(np.nanpercentile(overall, tail)),
            "overall_high": float(np.nanpercentile(overall, 100 - tail)),
        }
    everything = uncertain_parameters()
    names = _wanted(modules)
    return {
        "draws": n,
        "seed": seed,
        "interval": INTERVAL,
        "modules": list(modules) if modules is not None else None,
        "wired": [
            {
                "module": p.module,
                "file": f"standards/{p.file}.yaml",
                "parameter": p.path,
                "as": p.wired,
                "range": (None if p.values else [list(b) for b in p.bands] or [p.low, p.high]),
                "values": list(p.values) or None,
                "source": p.source,
            }
            for p in everything
            if p.wired and p.module in names
        ],
        "not_wired": [
            {
                "module": p.module,
                "file": f"standards/{p.file}.yaml",
                "parameter": p.path,
                # wired, but its module is not among this run's (safety is not scored)
                "reason": p.reason or f"the {p.module} module is not run in this ensemble",
            }
            for p in everything
            if not p.wired or p.module not in names
        ],
        "scenarios": dict(sorted(summary.items(), key=lambda kv: (-kv[1]["p_first"], kv[0]))),
        "table": table.to_dict(orient="records"),
    }


def ensemble_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The ensemble's per-scenario summary as a table for a report's robustness section.

    Parameters
    ----------
    summary
        The result of :func:`score_ensemble`.

    Returns
    -------
    pandas.DataFrame
        One row per scenario, most often first first: ``scenario``, ``p_first`` (share
        0-1), ``rank`` (median), ``rank_interval`` (text ``"1-2"``, the 5th-95th
        percentile), ``overall`` (median, 0-100), ``overall_interval`` (text).
    """
    rows = [
        {
            "scenario": name,
            "p_first": s["p_first"],
            "rank": s["rank_median"],
            "rank_interval": f"{s['rank_low']:.0f}-{s['rank_high']:.0f}",
            "overall": s["overall_median"],
            "overall_interval": f"{s['overall_low']:.1f}-{s['overall_high']:.1f}",
        }
        for name, s in summary["scenarios"].items()
    ]
    columns = ["scenario", "p_first", "rank", "rank_interval", "overall", "overall_interval"]
    return pd.DataFrame(rows, columns=columns)


ENSEMBLE_SOURCE = "model parameters"
"""The name of the ensemble's column among the robustness sources of the report."""


def add_to_robustness(
    robustness: dict[str, Any], summary: Mapping[str, Any], *, source: str = ENSEMBLE_SOURCE
) -> dict[str, Any]:
    """Add the ensemble as one more source of variation to a scorer's robustness.

    The report's robustness section shows P(first) and the rank interval of every plan
    per source (``robustness["by_source"]``: theme weights, indicator weights,
    worst/target, all); this adds ``source`` beside them, in the same form, and keeps
    the whole summary under ``robustness["ensemble"]``.

    Parameters
    ----------
    robustness
        ``ScoreResult.robustness`` (changed in place and returned).
    summary
        The result of :func:`score_ensemble` on the same scenarios.
    source
        The column's name.

    Returns
    -------
    dict
        ``robustness``.
    """
    by_source = robustness.setdefault("by_source", {})
    scenarios = summary["scenarios"]
    by_source.setdefault("p_first", {})[source] = {
        name: float(s["p_first"]) for name, s in scenarios.items()
    }
    by_source.setdefault("rank_interval", {})[source] = {
        name: [int(s["rank_low"]), int(s["rank_high"])] for name, s in scenarios.items()
    }
    robustness["ensemble"] = dict(summary)
    return robustness
