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
from dataclasses import dataclass, field
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
from vollsmose_gis.i18n import Message
from vollsmose_gis.indicators import THEMES
from vollsmose_gis.safety.review import SafetyReview, review_plans
from vollsmose_gis.scenario import ChangeLog, Scenario, SharedSteps, apply_scenario
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


def load_profile(path: str | Path | None = None) -> Profile:  # noqa: C901 - waiver: one check per profile section, each with its own message
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
    indicators = {
        name: _profile_indicator(name, spec, themes, source, number)
        for name, spec in data["indicators"].items()
    }
    if not any(spec["weight"] > 0 for spec in indicators.values()):
        raise InputError(
            f"{source}: every indicator weight is 0, so nothing would be scored; "
            "give at least one indicator a positive weight"
        )
    given = data.get("robustness") or {}
    if not isinstance(given, dict):
        raise InputError(f"{source}: robustness must be a mapping, got {given!r}")
    robustness_spec = {**_ROBUSTNESS_DEFAULTS, **given}
    for key, (low, high) in _ROBUSTNESS_BOUNDS.items():
        value = number(robustness_spec, key, "robustness")
        if not (low <= value <= high):
            raise InputError(
                f"{source}: robustness {key} must lie in [{low:g}, {high:g}], got {value:g}"
            )
    return Profile(indicators, themes, labels, robustness_spec, source)


_ROBUSTNESS_DEFAULTS: dict[str, Any] = {
    "samples": 2000,
    "concentration": 20.0,
    "seed": 0,
    "indicator_weight_spread": 0.3,
    "bounds_band": 0.1,
}
# Work is bounded by the input before it starts: 10^9 samples would exhaust memory.
_ROBUSTNESS_BOUNDS: dict[str, tuple[float, float]] = {
    "samples": (1, 100_000),
    "concentration": (0.01, 1e6),
    "seed": (0, 2**32 - 1),
    "indicator_weight_spread": (0.0, 2.0),
    "bounds_band": (0.0, 0.5),
}


def _profile_indicator(
    name: str,
    spec: dict[str, Any],
    themes: dict[str, float],
    source: str,
    number: Callable[[dict[str, Any], str, str], float],
) -> dict[str, Any]:
    """One indicator row of a profile, checked against the catalogue.

    Module and theme come from the catalogue (``standards/indicators/``); a profile
    may repeat them, but they must agree.  worst/target must be finite, differ, and
    point the way the catalogue's direction says.
    """
    from vollsmose_gis.indicators import catalogue

    entry = catalogue().get(name)
    if entry is None:
        raise InputError(
            f"{source}: unknown indicator {name!r}; indicators are listed in "
            "docs/indicators.md (standards/indicators/*.yaml)"
        )
    for key in ("module", "theme"):
        if key in spec and spec[key] != entry[key]:
            raise InputError(
                f"{source}: indicator {name!r} has {key} {spec[key]!r}, but the catalogue "
                f"says {entry[key]!r}"
            )
    missing = [k for k in ("worst", "target", "weight") if k not in spec]
    if missing:
        raise InputError(f"{source}: indicator {name!r} lacks {missing}")
    if entry["theme"] not in themes:
        raise InputError(f"{source}: indicator {name!r} has unknown theme {entry['theme']!r}")
    where = f"indicator {name!r}"
    values = {key: number(spec, key, where) for key in ("worst", "target", "weight")}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise InputError(f"{source}: {where} {', '.join(bad)} must be finite numbers")
    if values["weight"] < 0:
        raise InputError(f"{source}: {where} weight must be >= 0, got {values['weight']:g}")
    if values["worst"] == values["target"]:
        raise InputError(f"{source}: indicator {name!r} has worst == target")
    higher = entry["direction"] == "higher"
    if (values["target"] > values["worst"]) != higher:
        raise InputError(
            f"{source}: {where} is {'higher' if higher else 'lower'}-is-better, so its target "
            f"must be {'above' if higher else 'below'} its worst (worst {values['worst']:g}, "
            f"target {values['target']:g})"
        )
    return {**spec, "module": entry["module"], "theme": entry["theme"], **values}


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
        """The scenario's name."""
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
    notes: list[str] = field(default_factory=list)
    """Dominance by construction, themes not measurable: read beside the ranking
    (English, for the CLI; :meth:`notes_in` gives them in another language)."""
    base_path: Path | None = None
    """The base district's file (None: the district given in code or the embedded one)."""
    messages: list[Message] = field(default_factory=list)
    """The notes as message-table entries, to render them in the report's language."""
    _safety: tuple[tuple[int, ...], SafetyReview | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def safety_review(self) -> SafetyReview | None:
        """What each plan changes at the marked places (:func:`safety.review_plans`).

        Computed on first call and kept (the main job calls it with the analyses, the
        report renders it); None when the base district has no safety evidence.  Kept
        for these very results: a copy with other plans or another baseline
        (``dataclasses.replace``) computes its own.
        """
        key = (id(self.baseline), *(id(r) for r in self.results.values()), *map(hash, self.results))
        if self._safety is None or self._safety[0] != key:
            self._safety = (key, review_plans(self.baseline, self.results))
        return self._safety[1]

    def notes_in(self, lang: str) -> list[str]:
        """The notes beside the ranking in ``lang`` (``"en"`` or ``"da"``).

        A note that is one of :attr:`messages` (by its English text) is rendered in
        ``lang``; a note added otherwise is shown as it is.
        """
        by_english = {message.text("en"): message for message in self.messages}
        return [by_english[n].text(lang) if n in by_english else n for n in self.notes]

    def warning_groups(self) -> list[tuple[str, str, list[str], bool]]:
        """Every module warning of the run once: (module, message, plans, all plans?).

        Plans are named as in :attr:`results`, the baseline ``"(baseline)"``; the flag
        says the warning concerns every plan, the baseline included.
        """
        plans = {"(baseline)": self.baseline, **self.results}
        seen: dict[tuple[str, str], list[str]] = {}
        for name, r in plans.items():
            for module, m in r.modules.items():
                for message in dict.fromkeys(str(w) for w in m.warnings):
                    names = seen.setdefault((module, message), [])
                    if name not in names:
                        names.append(name)
        return [
            (module, message, names, len(names) == len(plans))
            for (module, message), names in seen.items()
        ]


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
    module_params: Mapping[str, Mapping[str, Any]] | None = None,
    shared: SharedSteps | None = None,
) -> ScenarioResult:
    done, total = step

    def report(fraction: float, message: str) -> None:
        if progress:
            progress((done + fraction) / total, message)

    changed, change_log = apply_scenario(district, scenario, shared=shared)
    results = {}
    for k, name in enumerate(modules):
        report((k + 0.5) / (len(modules) + 1), f"{scenario.name}: {name}")
        results[name] = analysis.run(name, changed, **(module_params or {}).get(name, {}))
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
    raw = theme_scores[themes].to_numpy(dtype=float)
    measured = np.isfinite(raw)
    # an unmeasured theme is left out and the weights renormalised (never scored as 0 or
    # 100): "unknown" is neither good nor bad
    scores = np.where(measured, raw, 0.0)
    w = np.array([weights[t] for t in themes], dtype=float)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    alpha = np.maximum(w * concentration, 1e-3)
    draws = rng.dirichlet(alpha, size=samples)
    overall = _weighted_overall(draws, scores, measured)  # samples x scenarios
    order = np.argsort(-overall, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(samples)[:, None], order] = np.arange(len(names))[None, :]
    rank_distribution = {
        name: [float(np.mean(ranks[:, i] == r)) for r in range(len(names))]
        for i, name in enumerate(names)
    }
    p_first = {name: dist[0] for name, dist in rank_distribution.items()}
    leader = names[int(np.argmax(_weighted_overall(w[None, :], scores, measured)[0]))]
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
            current = names[int(np.argmax(_weighted_overall(sweep[None, :], scores, measured)[0]))]
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


def _weighted_overall(draws: np.ndarray, scores: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Overall scores (draws x scenarios) from theme weights, over measured themes only."""
    weight = draws[:, None, :] * measured[None, :, :]  # draws x scenarios x themes
    total = weight.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = (weight * scores[None, :, :]).sum(axis=2) / total
    return np.where(total > 0, overall, -np.inf)


def robustness_by_source(
    indicators: pd.DataFrame, profile: Profile, *, samples: int, seed: int
) -> dict[str, Any]:
    """How often each scenario ranks first under each source of variation.

    Sources: ``theme weights`` (Dirichlet around the given weights, as in
    :func:`robustness`), ``indicator weights`` (each scored indicator's weight times a
    log-normal factor, sigma = the profile's ``indicator_weight_spread``),
    ``worst/target`` (each indicator's worst and target moved independently by up to
    ± ``bounds_band`` × |target − worst|, uniform), and ``all`` together.

    Parameters
    ----------
    indicators
        The long indicator table (scenario, indicator, value, …) of the scenarios.
    profile
        The scoring profile (indicator worst/target/weight, theme weights, bands).
    samples, seed
        Monte Carlo draws per source and the generator's seed.

    Returns
    -------
    dict
        ``p_first``: source -> scenario -> probability of ranking first;
        ``rank_interval``: source -> scenario -> [best, worst] rank in the central 90 %
        of draws; ``bands``: the spreads used.
    """
    scored = [k for k, spec in profile.indicators.items() if spec["weight"] > 0]
    table = indicators.pivot_table(
        index="scenario", columns="indicator", values="value", aggfunc="first", dropna=False
    )
    names = list(dict.fromkeys(indicators["scenario"]))
    keys = [k for k in scored if k in table.columns]
    values = table.reindex(index=names, columns=keys).to_numpy(dtype=float)  # S x I
    worst = np.array([profile.indicators[k]["worst"] for k in keys])
    target = np.array([profile.indicators[k]["target"] for k in keys])
    base_w = np.array([profile.indicators[k]["weight"] for k in keys])
    themes = list(profile.themes)
    member = np.array(
        [[profile.indicators[k]["theme"] == t for k in keys] for t in themes], dtype=float
    )  # T x I
    theme_w = np.array([profile.themes[t] for t in themes], dtype=float)
    theme_w = theme_w / theme_w.sum()
    spread = float(profile.robustness["indicator_weight_spread"])
    band = float(profile.robustness["bounds_band"])
    concentration = float(profile.robustness["concentration"])
    rng = np.random.default_rng(seed)
    n = samples

    def draw(vary: set[str]) -> np.ndarray:
        w = np.broadcast_to(base_w, (n, len(keys))).copy()
        lo = np.broadcast_to(worst, (n, len(keys))).copy()
        hi = np.broadcast_to(target, (n, len(keys))).copy()
        tw = np.broadcast_to(theme_w, (n, len(themes))).copy()
        if "indicator weights" in vary:
            w *= rng.lognormal(0.0, spread, size=w.shape)
        if "worst/target" in vary:
            span = np.abs(target - worst)
            lo += rng.uniform(-band, band, size=lo.shape) * span
            hi += rng.uniform(-band, band, size=hi.shape) * span
            hi = np.where(hi == lo, hi + 1e-9, hi)
        if "theme weights" in vary:
            tw = rng.dirichlet(np.maximum(theme_w * concentration, 1e-3), size=n)
        score = np.clip((values[None] - lo[:, None]) / (hi - lo)[:, None] * 100.0, 0, 100)
        known = np.isfinite(score)
        score = np.where(known, score, 0.0)
        weight = w[:, None, :] * known  # n x S x I
        theme_sum = np.einsum("nsi,ti->nst", weight * score, member)
        theme_weight = np.einsum("nsi,ti->nst", weight, member)
        with np.errstate(invalid="ignore", divide="ignore"):
            theme_score = theme_sum / theme_weight
        measured = theme_weight > 0
        total = (tw[:, None, :] * measured).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = (tw[:, None, :] * np.where(measured, theme_score, 0.0)).sum(axis=2) / total
        return np.where(total > 0, overall, -np.inf)  # n x S

    sources = {
        "theme weights": {"theme weights"},
        "indicator weights": {"indicator weights"},
        "worst/target": {"worst/target"},
        "all": {"theme weights", "indicator weights", "worst/target"},
    }
    p_first: dict[str, dict[str, float]] = {}
    interval: dict[str, dict[str, list[int]]] = {}
    for source, vary in sources.items():
        overall = draw(vary)
        order = np.argsort(-overall, axis=1, kind="stable")
        ranks = np.empty_like(order)
        ranks[np.arange(n)[:, None], order] = np.arange(len(names))[None, :] + 1
        p_first[source] = {name: float(np.mean(ranks[:, i] == 1)) for i, name in enumerate(names)}
        interval[source] = {
            name: [int(np.percentile(ranks[:, i], 5)), int(np.percentile(ranks[:, i], 95))]
            for i, name in enumerate(names)
        }
    return {
        "p_first": p_first,
        "rank_interval": interval,
        "bands": {"indicator_weight_spread": spread, "bounds_band": band},
        "samples": n,
        "seed": seed,
    }


def _includes(big: Scenario, small: Scenario) -> bool:
    """True when ``big`` applies every intervention of ``small`` (and more)."""
    if not small.interventions:
        return False
    mine = {repr(i) for i in big.interventions}
    theirs = {repr(i) for i in small.interventions}
    return theirs < mine


def scoring_notes(result_scores: pd.DataFrame, results: dict[str, ScenarioResult]) -> list[Message]:
    """Plain-language notes a council should read beside the ranking.

    Scenarios that include others rank above them by construction; themes that could
    not be measured for some scenarios are left out of their overall score.  Each note
    is a message-table entry (``note.*`` in ``templates/text.yaml``), rendered in
    English for the CLI and in the report's language for the report.
    """
    notes = []
    for name, r in results.items():
        included = [
            o for o, q in results.items() if o != name and _includes(r.scenario, q.scenario)
        ]
        if included:
            notes.append(Message("note.includes", {"name": name, "included": included}))
    for theme in [c for c in result_scores.columns if c in THEMES]:
        missing = result_scores.loc[result_scores[theme].isna(), "scenario"].tolist()
        if missing:
            notes.append(
                Message(
                    "note.not_measured",
                    {"theme": theme, "names": [str(m) for m in missing]},
                    {"theme": "theme"},
                )
            )
    return notes


def _pareto(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """True for scenarios no other beats on both cost (lower) and score (higher)."""
    front = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        better = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        front[i] = not better.any()
    return front


def _common_base(
    scenarios: Sequence[Scenario], district: District | None
) -> tuple[District, Path | None]:
    """The one base district of a scenario set (its baseline), loaded once.

    Scenarios name their base (``base:``) or use ``district`` (default: the embedded
    Vollsmose).  Scenarios on different bases cannot share a baseline or a ranking:
    they are refused together, naming each scenario's base.
    """
    from vollsmose_gis.io import load_district

    loaded: dict[Path | None, District] = {}
    for scenario in scenarios:
        if scenario.base not in loaded:
            if scenario.base is None:
                if district is None:
                    from vollsmose_gis.sources.vollsmose import default_district

                    district = default_district()
                loaded[None] = district
            else:
                loaded[scenario.base] = load_district(scenario.base)
    prints = {key: d.fingerprint() for key, d in loaded.items()}
    if len(set(prints.values())) > 1:
        where = "; ".join(
            f"{s.name}: {s.base or ('the given district' if district else 'embedded Vollsmose')}"
            for s in scenarios
        )
        raise InputError(
            "scenarios ranked together must share one base district (it is their baseline); "
            f"these have different bases — {where}. Score each base in its own run."
        )
    key = next(iter(loaded))
    return loaded[key], key


def score_scenarios(
    scenarios: Sequence[Scenario],
    *,
    district: District | None = None,
    profile: Profile | None = None,
    modules: Sequence[str] | None = None,
    module_params: Mapping[str, Mapping[str, Any]] | None = None,
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
        Module names to run (default: every scored module of the registry).
    module_params
        Parameters per module (module name -> {parameter: value}), e.g. one draw of the
        models' uncertain parameters; passed to :func:`vollsmose_gis.analysis.run`.
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
    module_names = list(modules) if modules is not None else analysis.scored_module_names()
    unknown = sorted(set(module_names) - set(MODULES))
    if unknown:
        raise InputError(f"unknown module(s) {unknown}; modules are {list(MODULES)}")
    district, base_path = _common_base(scenarios, district)
    total = len(scenarios) + 1
    baseline = _evaluate(
        Scenario(name="(baseline)"),
        district,
        profile,
        None,
        module_names,
        progress,
        (0, total),
        module_params,
    )
    results: dict[str, ScenarioResult] = {}
    shared = SharedSteps()  # scenarios extending one another apply the common part once
    for k, scenario in enumerate(scenarios, start=1):
        results[scenario.name] = _evaluate(
            scenario,
            district,
            profile,
            baseline.indicators,
            module_names,
            progress,
            (k, total),
            module_params,
            shared,
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
        delta = r.overall - baseline.overall
        rows.append(
            {
                "scenario": name,
                "overall": r.overall,
                **{theme: r.theme_scores.get(theme, math.nan) for theme in profile.themes},
                "cost_dkk": r.cost_dkk,
                "p_first": robust["p_first"][name],
                "overall_delta": delta,
                # score gained over the baseline per million of cost (NaN when free)
                "delta_per_mdkk": delta / (r.cost_dkk / 1e6) if r.cost_dkk > 0 else math.nan,
                "meets_40pct_rule": _flag(r.indicators, "meets_40pct_rule"),
            }
        )
    scores = (
        pd.DataFrame(rows)
        .sort_values("overall", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    scores.insert(1, "rank", np.arange(1, len(scores) + 1))
    scores.insert(
        scores.columns.get_loc("cost_dkk") + 1,
        "pareto",
        _pareto(scores["cost_dkk"].to_numpy(float), scores["overall"].to_numpy(float)),
    )
    long = pd.concat(
        [r.indicators.assign(scenario=name) for name, r in results.items()], ignore_index=True
    )
    robust["by_source"] = robustness_by_source(
        long, profile, samples=int(spec["samples"]), seed=int(spec["seed"])
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
    messages = scoring_notes(scores, results)
    # indicators resting on sparse data: said beside the ranking, once per module
    messages += [
        Message("note.sparse_data", {"module": module, "message": message})
        for module, m in baseline.modules.items()
        for message in m.warnings
        if message.startswith("data completeness")
    ]
    notes = [message.text("en") for message in messages]
    return ScoreResult(scores, long, results, baseline, robust, profile, notes, base_path, messages)


def _flag(indicators: pd.DataFrame, key: str) -> str:
    """A 0/1 indicator as a flag: "yes", "no" or "n/a" (not measurable or not applicable)."""
    row = indicators.loc[indicators["indicator"] == key, "value"]
    if row.empty or not math.isfinite(float(row.iloc[0])):
        return "n/a"
    return "yes" if float(row.iloc[0]) >= 0.5 else "no"


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

    from vollsmose_gis._version import __version__

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
        # plain CSV, header first, so Excel and pandas.read_csv open it as it is; the
        # provenance goes into PROVENANCE.txt and manifest.json beside it
        with atomic_path(out / name, overwrite=True) as tmp:
            tmp.write_text(frame.to_csv(index=False), encoding="utf-8")
        written.append(out / name)

    with atomic_path(out / "PROVENANCE.txt", overwrite=True) as tmp:
        tmp.write_text(
            f"{statement}\n\nFiles in this folder were computed by vollsmose-gis from the "
            "district above; manifest.json lists every input with its SHA-256 hash.\n",
            encoding="utf-8",
        )
    written.append(out / "PROVENANCE.txt")

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
    manifest = run_manifest(result, district_path=district_path or result.base_path)
    with atomic_path(out / "manifest.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    written.append(out / "manifest.json")
    return written
