"""The council report: one self-contained HTML page from a scoring run.

:func:`write_report` turns a :class:`~vollsmose_gis.scoring.ScoreResult` into
``report.html``: the question, the short answer, the ranking with the four themes,
cost and P(first), charts (matplotlib PNGs inlined as base64), the scenarios in plain
words (descriptions and change-log summaries), how robust the ranking is (P(first),
the weights at which the leader changes), one section per theme with its key figures
in words and a before/after map (today against the scenario best on that theme), a
map of what the leading scenario changes, and the method and data provenance.

Everything is in the one file: the maps are complete pages of their own
(:func:`vollsmose_gis.maps.to_html`, Leaflet inlined) embedded as ``<iframe
srcdoc>``, so their styles and scripts cannot clash, and the page needs no network.
The page is rendered by a Jinja2 template (``templates/report.html.j2``) with
autoescaping on, so scenario names and descriptions appear as text whatever they
contain.  English (default) or Danish (``lang="da"``) wording comes from
``templates/text.yaml``; indicator labels stay as the modules give them.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vollsmose_gis.i18n import check_lang, has, number, t
from vollsmose_gis.io import atomic_path
from vollsmose_gis.maps import before_after_map, changes_map, to_html

if TYPE_CHECKING:
    from vollsmose_gis.scoring import ScoreResult

__all__ = ["THEME_MAPS", "format_value", "report_html", "write_report"]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

THEME_MAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "connected district": (("connectivity", ""),),
    "mixed housing": (("mix", ""),),
    "mixed use and jobs": (("mix", "use"),),
    "safety and security": (("lighting", ""), ("cctv", ""), ("calming", "")),
}
"""Maps of each theme's section: (map theme, focus); a map is drawn when its module ran."""

_MAP_MODULE = {
    "connectivity": "connectivity",
    "mix": "mix",
    "lighting": "lighting",
    "cctv": "cctv",
    "calming": "calming",
}
_THEME_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


# --------------------------------------------------------------------------- numbers


def format_value(value: Any, unit: str, lang: str = "en") -> str:
    """An indicator value in words for a council: ``0.14, "share"`` -> ``"14 %"``.

    Shares become per cent, metres above 1 km become km, areas get m², yes/no units
    become words; other values keep their unit.  NaN gives ``"–"``.
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(x):
        return "–"
    if unit == "share":
        return f"{number(x * 100, 1 if abs(x) < 0.1 and x != 0 else 0, lang)} %"
    if unit == "yes=1/no=0":
        return t("report.yes" if x >= 0.5 else "report.no", lang)
    if unit == "m":
        return f"{number(x / 1000, 1, lang)} km" if abs(x) >= 1000 else f"{number(x, 0, lang)} m"
    if unit == "m2":
        return f"{number(x, 0, lang)} m²"
    if unit == "lx":
        return f"{number(x, 1, lang)} lx"
    if unit in ("kWh/year", "cameras") or abs(x) >= 100:
        return f"{number(x, 0, lang)} {unit}".strip()
    return f"{number(x, 2, lang)} {unit}".strip()


def _money(dkk: float, lang: str) -> str:
    if not math.isfinite(dkk) or dkk == 0:
        return "0 DKK" if lang == "en" else "0 kr."
    millions = dkk / 1e6
    text = number(millions, 1 if millions < 100 else 0, lang)
    return f"{text} M DKK" if lang == "en" else f"{text} mio. kr."


def _percent(share: float, lang: str) -> str:
    return f"{number(share * 100, 0 if share >= 0.1 or share == 0 else 1, lang)} %"


def _theme_label(result: ScoreResult, theme: str, lang: str) -> str:
    key = f"theme.{theme}"
    if lang != "en" and has(key):
        return t(key, lang)
    return result.profile.theme_labels.get(theme, theme)


def _display_name(name: str, lang: str) -> str:
    return t("map.today", lang) if name == "(baseline)" else name


# --------------------------------------------------------------------------- charts


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(result: ScoreResult, lang: str) -> dict[str, list[dict[str, str]]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = result.scores
    names = scores["scenario"].tolist()
    themes = list(result.profile.themes)
    labels = [_theme_label(result, theme, lang) for theme in themes]
    n = len(names)
    fig, ax = plt.subplots(figsize=(10, 0.9 * n + 1.6))
    height = 0.8 / max(len(themes), 1)
    y = np.arange(n)[::-1]
    for k, (theme, label) in enumerate(zip(themes, labels, strict=True)):
        values = scores[theme].to_numpy(dtype=float) if theme in scores else np.full(n, np.nan)
        ax.barh(
            y + 0.4 - (k + 0.5) * height,
            np.nan_to_num(values),
            height=height,
            color=_THEME_COLOURS[k % len(_THEME_COLOURS)],
            label=label,
        )
    ax.scatter(
        scores["overall"],
        y,
        marker="D",
        color="black",
        zorder=3,
        label=t("report.col.overall", lang),
    )
    ax.set_yticks(y, names)
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=9)
    ax.set_title(t("report.chart.themes", lang), loc="left")
    themes_png = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 4.2))
    cost = scores["cost_dkk"].to_numpy(dtype=float) / 1e6
    ax.scatter(cost, scores["overall"], s=60, color="#2166ac", zorder=3)
    for k, (x, yv, name) in enumerate(zip(cost, scores["overall"], names, strict=True)):
        # Alternate the label side so that plans with similar cost and score stay legible.
        ax.annotate(
            name, (x, yv), textcoords="offset points", xytext=(7, 5 if k % 2 else -12), fontsize=9
        )
    ax.axhline(result.baseline.overall, color="grey", linestyle="--", linewidth=1)
    ax.annotate(
        t("map.today", lang),
        (0, result.baseline.overall),
        textcoords="offset points",
        xytext=(2, -12),
        fontsize=8,
        color="grey",
    )
    ax.set_xlabel(t("report.chart.cost.x", lang))
    ax.set_ylabel(t("report.chart.cost.y", lang))
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.set_title(t("report.chart.cost", lang), loc="left")
    cost_png = _png(fig)

    distribution = result.robustness.get("rank_distribution", {})
    fig, ax = plt.subplots(figsize=(10, 0.6 * n + 1.4))
    left = np.zeros(n)
    greys = plt.get_cmap("Blues_r")(np.linspace(0.15, 0.85, max(n, 1)))
    for r in range(n):
        shares = np.array([distribution.get(name, [0.0] * n)[r] for name in names]) * 100
        ax.barh(
            y,
            shares,
            left=left,
            color=greys[r],
            label=t("report.chart.rank_n", lang, n=r + 1),
            edgecolor="white",
        )
        left += shares
    ax.set_yticks(y, names)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(n, 6), frameon=False)
    ax.set_title(t("report.chart.ranks", lang), loc="left", fontsize=11)
    ranks_png = _png(fig)
    return {
        "answer": [
            {"src": themes_png, "caption": t("report.chart.themes", lang)},
            {"src": cost_png, "caption": t("report.chart.cost", lang)},
        ],
        "robustness": [{"src": ranks_png, "caption": t("report.chart.ranks", lang)}],
    }


# --------------------------------------------------------------------------- sections


def _indicator_table(result: ScoreResult, theme: str, lang: str) -> list[dict[str, Any]]:
    base = result.baseline.indicators.set_index("indicator")
    long = result.indicators
    part = long[long["theme"] == theme]
    rows = []
    for indicator, group in part.groupby("indicator", sort=False):
        first = group.iloc[0]
        by_scenario = group.set_index("scenario")["value"]
        rows.append(
            {
                "indicator": indicator,
                "label": first["label"],
                "unit": first["unit"],
                "weight_value": float(first["weight"]),
                "weight": number(first["weight"], 2, lang) if first["weight"] > 0 else "–",
                "today": format_value(base["value"].get(indicator, np.nan), first["unit"], lang),
                "today_value": float(base["value"].get(indicator, np.nan)),
                "cells": [
                    format_value(by_scenario.get(name, np.nan), first["unit"], lang)
                    for name in result.scores["scenario"]
                ],
                "raw": {name: float(by_scenario.get(name, np.nan)) for name in by_scenario.index},
            }
        )
    return rows


def _theme_sections(
    result: ScoreResult, lang: str, tiles: str | None, progress: Progress | None
) -> list[dict[str, Any]]:
    sections = []
    scores = result.scores
    ran = set(result.baseline.modules)
    themes = list(result.profile.themes)
    for k, theme in enumerate(themes):
        label = _theme_label(result, theme, lang)
        if progress is not None:
            progress(k / len(themes), f"report: {theme}")
        values = scores[theme].to_numpy(dtype=float) if theme in scores else np.array([np.nan])
        table = _indicator_table(result, theme, lang)
        section: dict[str, Any] = {"label": label, "table": table, "maps": [], "figures": []}
        if not np.isfinite(values).any():
            section["best_sentence"] = ""
            sections.append(section)
            continue
        best_row = scores.iloc[int(np.nanargmax(values))]
        best = str(best_row["scenario"])
        section["best_sentence"] = t(
            "report.theme.best",
            lang,
            best=best,
            score=number(best_row[theme], 0, lang),
            today=number(result.baseline.theme_scores.get(theme, np.nan), 0, lang),
        )
        section["figures_intro"] = t("report.theme.figures", lang, best=best)
        section["figures"] = [
            f"{row['label']}: {row['today']} → "
            f"{format_value(row['raw'].get(best, np.nan), row['unit'], lang)}"
            for row in table
            if row["weight_value"] > 0
        ]
        for map_theme, focus in THEME_MAPS.get(theme, ()):
            if _MAP_MODULE[map_theme] not in ran:
                continue
            dual = before_after_map(
                result.baseline,
                result.results[best],
                theme=map_theme,
                tiles=tiles,
                lang=lang,
                links=0,
                focus=focus,
            )
            section["maps"].append(
                {
                    "title": f"{t(f'map.{map_theme}.title', lang)}: {best}",
                    "html": to_html(dual),
                    "caption": t("report.theme.map", lang, best=best),
                }
            )
        sections.append(section)
    return sections


def _flip_lines(result: ScoreResult, lang: str) -> list[str]:
    weights = result.profile.themes
    total = sum(weights.values()) or 1.0
    lines = []
    for theme, changes in result.robustness.get("flips", {}).items():
        label = _theme_label(result, theme, lang)
        now = _percent(weights.get(theme, 0.0) / total, lang)
        if not changes:
            lines.append(t("report.robustness.noflip", lang, theme=label))
            continue
        first = changes[0]
        lines.append(
            t(
                "report.robustness.flip",
                lang,
                theme=label,
                weight=_percent(first["weight"], lang),
                now=now,
                to=first["to"],
                from_=first["from"],
            )
        )
    return lines


def _context(
    result: ScoreResult, lang: str, tiles: str | None, progress: Progress | None
) -> dict[str, Any]:
    from vollsmose_gis import __version__

    district = result.baseline.district
    prov = district.provenance
    scores = result.scores
    themes = list(result.profile.themes)
    total = sum(result.profile.themes.values()) or 1.0
    theme_labels = [_theme_label(result, t, lang) for t in themes]
    leader = scores.iloc[0]
    rob = result.robustness
    samples = int(rob.get("samples", 0))
    text_keys = [
        "toc",
        "question.h",
        "answer.h",
        "ranking.h",
        "scenarios.h",
        "robustness.h",
        "method.h",
        "provenance.h",
        "col.rank",
        "col.scenario",
        "col.overall",
        "col.cost",
        "col.p_first",
        "col.indicator",
        "col.today",
        "col.weight",
        "col.theme",
        "scenario.changes",
        "scenario.nothing",
        "theme.all",
    ]
    words = {key.replace(".", "_"): t(f"report.{key}", lang) for key in text_keys}
    ranking = [
        {
            "rank": int(row["rank"]),
            "scenario": row["scenario"],
            "overall": number(row["overall"], 1, lang),
            "themes": [number(row.get(theme, np.nan), 1, lang) for theme in themes],
            "cost": number(row["cost_dkk"] / 1e6, 1, lang),
            "p_first": _percent(float(row["p_first"]), lang),
        }
        for row in scores.to_dict("records")
    ]
    scenarios = []
    for name in scores["scenario"]:
        r = result.results[name]
        changes = [str(e["summary"]) for e in _entries(r.change_log)]
        scenarios.append(
            {
                "name": name,
                "description": (r.scenario.description or "").strip(),
                "year": t("report.scenario.year", lang, year=r.scenario.year)
                if r.scenario.year
                else "",
                "cost": t("report.scenario.cost", lang, cost=_money(r.cost_dkk, lang)),
                "changes": changes,
            }
        )
    charts = _charts(result, lang)
    sections = _theme_sections(result, lang, tiles, progress)
    changes_section = None
    leader_result = result.results[str(leader["scenario"])]
    if {"lighting", "cctv"} <= set(leader_result.modules) and _entries(leader_result.change_log):
        changes_section = {
            "heading": t("report.changes.h", lang, leader=leader["scenario"]),
            "text": t("report.changes.text", lang),
            "html": to_html(changes_map(result.baseline, leader_result, tiles=tiles, lang=lang)),
        }
    modules = sorted({m for r in result.results.values() for m in r.modules})
    return {
        "lang": lang,
        "title": t("report.title", lang, district=district.name),
        "subtitle": t(
            "report.subtitle",
            lang,
            n=len(scores),
            date=dt.date.today().isoformat(),
            version=__version__,
        ),
        "schematic": prov.is_schematic,
        "schematic_warning": t("report.schematic_warning", lang),
        "t": words,
        "question": t(
            "report.question",
            lang,
            district=district.name,
            themes="; ".join(theme_labels),
            weights=", ".join(
                f"{label} {_percent(result.profile.themes[theme] / total, lang)}"
                for theme, label in zip(themes, theme_labels, strict=True)
            ),
        ),
        "answer": t(
            "report.answer",
            lang,
            leader=leader["scenario"],
            overall=number(leader["overall"], 1, lang),
            delta=number(leader["overall_delta"], 1, lang),
            cost=_money(float(leader["cost_dkk"]), lang),
            p_first=_percent(float(leader["p_first"]), lang),
            samples=number(samples, 0, lang),
        ),
        "today_score": t(
            "report.today_score", lang, overall=number(result.baseline.overall, 1, lang)
        ),
        "themes": [
            {**section, "label": label}
            for section, label in zip(sections, theme_labels, strict=True)
        ],
        "ranking": ranking,
        "scenario_names": list(scores["scenario"]),
        "scenarios": scenarios,
        "charts_answer": charts["answer"],
        "charts_robustness": charts["robustness"],
        "robustness": {
            "intro": t(
                "report.robustness.intro",
                lang,
                samples=number(samples, 0, lang),
                concentration=number(rob.get("concentration", math.nan), 0, lang),
            ),
            "p_first": [
                (name, _percent(float(rob.get("p_first", {}).get(name, 0.0)), lang))
                for name in scores["scenario"]
            ],
            "flips": _flip_lines(result, lang),
        },
        "changes": changes_section,
        "method": {
            "scoring": t("report.method.scoring", lang, profile=result.profile.source),
            "weights": [
                (label, _percent(result.profile.themes[theme] / total, lang))
                for theme, label in zip(themes, theme_labels, strict=True)
            ],
            "models": t("report.method.models", lang),
            "modules": t("report.modules", lang, modules=", ".join(modules)),
            "labels": t("report.method.labels", lang),
        },
        "provenance": {"statement": prov.statement(), "notes": prov.notes},
        "footer": t("report.footer", lang, version=__version__),
    }


def _entries(change_log: Any) -> list[dict[str, Any]]:
    frame = change_log.to_frame()
    if not isinstance(frame, pd.DataFrame) or frame.empty or "summary" not in frame:
        return []
    return frame.to_dict("records")


# --------------------------------------------------------------------------- output


def report_html(
    result: ScoreResult,
    *,
    lang: str = "en",
    tiles: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Render the council report of a scoring run as one self-contained HTML page.

    Parameters
    ----------
    result
        A :class:`~vollsmose_gis.scoring.ScoreResult` (its baseline and scenario
        results, with the module layers and rasters the maps draw).
    lang
        ``"en"`` (default) or ``"da"``.
    tiles
        Basemap for the embedded maps (``None``: none, works offline).
    progress
        Optional callback ``(fraction done, message)``.

    Raises
    ------
    InputError
        Unknown ``lang``.
    """
    import jinja2

    check_lang(lang)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    page = env.get_template("report.html.j2").render(**_context(result, lang, tiles, progress))
    if progress is not None:
        progress(1.0, "report rendered")
    return page


def write_report(
    result: ScoreResult,
    path: str | Path,
    *,
    lang: str = "en",
    overwrite: bool = False,
    tiles: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write :func:`report_html` to ``path`` (atomically).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (checked before any work).
    InputError
        Unknown ``lang``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    check_lang(lang)
    page = report_html(result, lang=lang, tiles=tiles, progress=progress)
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
