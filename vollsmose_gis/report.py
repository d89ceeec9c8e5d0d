"""The council report: one self-contained HTML page from a scoring run.

:func:`write_report` turns a :class:`~vollsmose_gis.scoring.ScoreResult` into
``report.html``: the question, the short answer, the ranking (the four themes with
the § 168 a 40 % rule as a yes / no / not applicable flag beside the housing score,
cost, points gained per M DKK, P(first)) with the scorer's notes beside it (dominance
by construction, themes not measurable), charts (matplotlib PNGs inlined as base64;
the cost–score chart marks the Pareto front and places its labels so that none
overlap, :func:`place_labels`), the scenarios in plain words (descriptions and
change-log summaries), how robust the ranking is (P(first) under each source of
variation, the weights at which the leader changes), one section per theme with its
key figures in words and a before/after map (today against the scenario best on that
theme), a map of what the leading scenario changes, the analyses' warnings (once
each, with the plans they concern), and the method and data provenance.

Sliders under the ranking re-rank the plans in the browser at other theme weights with
the scorer's arithmetic (:func:`_live_weights` embeds the data as JSON) and redraw a
cost–score chart; a Safety section shows the evidence of today and what each plan
changes at the safety-walk marks when the district has evidence
(:func:`_safety_section`).  A print stylesheet lays the page out on A4, and
:func:`print_pdf` prints it to PDF with headless Chromium.

Everything is in the one file: the maps are complete pages of their own
(:func:`vollsmose_gis.maps.to_html`, Leaflet inlined) shown in ``<iframe srcdoc>``,
so their styles and scripts cannot clash, and the page needs no network.  What the
maps repeat (Leaflet, its styles, the layers most maps draw) is written once
(:func:`share_pieces`, :func:`embed_maps`), and a short inline script puts each page
back together as the report is parsed (the example report: 7.2 MB → 3.2 MB).
The page is rendered by a Jinja2 template (``templates/report.html.j2``) with
autoescaping on, so scenario names, descriptions and warnings appear as text whatever
they contain.  English (default) or Danish (``lang="da"``) wording comes from the
message table shared with the maps (:mod:`vollsmose_gis.i18n`): change logs and the
scorer's notes are rendered in the report's language, indicator labels come from the
catalogue in that language, units and money are written as the language writes them.
The analyses' own warnings are shown as they are written, in English, marked
``lang="en"`` (the Danish section says so); the district's provenance is quoted.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vollsmose_gis.i18n import category, check_lang, has, indicator_label, number, t, unit
from vollsmose_gis.io import atomic_path
from vollsmose_gis.maps import before_after_map, page_html, to_html

if TYPE_CHECKING:
    from vollsmose_gis.scoring import ScoreResult

__all__ = [
    "THEME_MAPS",
    "cost_chart",
    "embed_maps",
    "find_chromium",
    "format_value",
    "pareto_front",
    "place_labels",
    "print_pdf",
    "report_html",
    "share_pieces",
    "srcdoc_attribute",
    "write_report",
]

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
    become words; other values keep their unit, in the language's own words where it
    has them (``"km/h"`` -> ``"km/t"``, ``"per km2"`` -> ``"pr. km²"``, a ratio stands
    alone in Danish; ``unit.*`` in ``templates/text.yaml``).  NaN gives ``"–"`` (a
    yes/no flag: "not applicable").
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(x):
        return t("report.not_applicable", lang) if unit == "yes=1/no=0" else "–"
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
    decimals = 0 if unit in ("kWh/year", "cameras", "hot spots") or abs(x) >= 100 else 2
    words = _unit_words(unit, x, lang)
    return f"{number(x, decimals, lang)} {words}".strip()


def _unit_words(name: str, value: float, lang: str) -> str:
    """A unit in ``lang``; "one|other" forms agree with the value (1 kamera, 6 kameraer)."""
    words = unit(name, lang)
    one, bar, other = words.partition("|")
    return (one if value == 1 else other) if bar else words


def _money(dkk: float, lang: str) -> str:
    """Money for people: "8.0 M DKK" / "8,0 mio. kr." (a sentence's stop after the
    abbreviation is dropped by :func:`vollsmose_gis.i18n.t`, not here).
    """
    if not math.isfinite(dkk) or dkk == 0:
        return "0 DKK" if lang == "en" else "0 kr."
    millions = dkk / 1e6
    text = number(millions, 1 if millions < 100 else 0, lang)
    return f"{text} M DKK" if lang == "en" else f"{text} mio. kr."


def _percent(share: float, lang: str) -> str:
    return f"{number(share * 100, 0 if share >= 0.1 or share == 0 else 1, lang)} %"


def _district_name(district: Any, lang: str) -> str:
    """The district's name, its "(schematic model)" mark in the report's language."""
    mark = t("report.schematic_suffix", "en")
    name = str(district.name)
    if lang != "en" and name.endswith(mark):
        return name[: -len(mark)] + t("report.schematic_suffix", lang)
    return name


def _provenance(district: Any, lang: str) -> str:
    """The provenance statement with its framing in ``lang``; the source's own words as
    given (they are data: titles, licences, notes by whoever made the district).
    """
    prov = district.provenance
    if lang == "en":
        return str(prov.statement())
    kind = prov.kind if prov.kind in ("schematic", "openstreetmap") else "surveyed"
    parts = [
        t(f"report.provenance.{kind}", lang),
        t(
            "report.provenance.fields",
            lang,
            source=prov.source,
            licence=prov.licence,
            date=prov.date,
        ),
    ]
    if prov.attribution:
        parts.append(str(prov.attribution))
    return "; ".join(parts) + ". " + t("report.provenance.quoted", lang)


def _theme_label(result: ScoreResult, theme: str, lang: str) -> str:
    key = f"theme.{theme}"
    if lang != "en" and has(key):
        return t(key, lang)
    return result.profile.theme_labels.get(theme, theme)


def _display_name(name: str, lang: str) -> str:
    return t("map.today", lang) if name == "(baseline)" else name


# --------------------------------------------------------------------------- charts


_DPI = 110


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pareto_front(cost: Sequence[float], score: Sequence[float]) -> np.ndarray:
    """Which plans are on the cost–score Pareto front.

    A plan is on the front when no other plan costs less or the same and scores
    more or the same, and is strictly better on one of the two.  Plans with a
    non-finite cost or score are not on it.

    Parameters
    ----------
    cost, score
        One value per plan (any cost unit; score higher is better).

    Returns
    -------
    numpy.ndarray
        Boolean, one per plan.
    """
    c = np.asarray(cost, dtype=float)
    v = np.asarray(score, dtype=float)
    ok = np.isfinite(c) & np.isfinite(v)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        better = ok & (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]))
        front[i] = not better.any()
    return front


# Candidate label positions around a point: offset (points) and alignment.  Tried in
# this order, then again at twice, three times … the distance.
_LABEL_SPOTS = (
    (7.0, 3.0, "left", "bottom"),
    (7.0, -3.0, "left", "top"),
    (-7.0, 3.0, "right", "bottom"),
    (-7.0, -3.0, "right", "top"),
    (0.0, 8.0, "center", "bottom"),
    (0.0, -8.0, "center", "top"),
)
_LABEL_RINGS = 12


def place_labels(
    ax: Any,
    points: Sequence[tuple[float, float]],
    labels: Sequence[str],
    *,
    fontsize: float = 9,
    marker_pt: float = 4.0,
) -> list[Any]:
    """Label points so that no two labels overlap (deterministic, greedy).

    Each label in turn takes the first candidate spot around its point (right above,
    right below, left above, left below, above, below; then the same at 2×, 3×, …
    the distance) whose box lies inside the axes and intersects neither a label
    placed before nor a point's marker.  Boxes are measured by the renderer, so the
    text's real size counts.  If no spot fits within the axes after
    :data:`_LABEL_RINGS` rings, the label may leave the axes (still without overlap);
    the last resort is the farthest spot tried.

    Parameters
    ----------
    ax
        A matplotlib Axes whose limits are final.
    points
        The labelled points, in data coordinates.
    labels
        One text per point.
    fontsize
        Font size of the labels (points).
    marker_pt
        Half the size of the point markers (points), kept free of labels.

    Returns
    -------
    list of matplotlib.text.Annotation
        The labels, in the order of ``points``.
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    ax.set_xlim(ax.get_xlim())  # freeze the limits: boxes are measured in pixels
    ax.set_ylim(ax.get_ylim())
    px = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    taken: list[Bbox] = []
    for x, y in points:
        if np.isfinite(x) and np.isfinite(y):
            cx, cy = ax.transData.transform((x, y))
            r = marker_pt * px
            taken.append(Bbox([[cx - r, cy - r], [cx + r, cy + r]]))
    placed: list[Any] = []
    for (x, y), text in zip(points, labels, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            placed.append(None)
            continue
        chosen = None
        for inside in (True, False):
            for ring in range(1, _LABEL_RINGS + 1):
                for dx, dy, ha, va in _LABEL_SPOTS:
                    label = ax.annotate(
                        text,
                        (x, y),
                        textcoords="offset points",
                        xytext=(dx * ring, dy * ring),
                        ha=ha,
                        va=va,
                        fontsize=fontsize,
                        annotation_clip=False,
                    )
                    box = label.get_window_extent(renderer).expanded(1.0, 1.0).padded(1.5 * px)
                    fits = not inside or (
                        box.x0 >= frame.x0
                        and box.x1 <= frame.x1
                        and box.y0 >= frame.y0
                        and box.y1 <= frame.y1
                    )
                    if fits and not any(box.overlaps(other) for other in taken):
                        chosen = (label, box)
                        break
                    label.remove()
                if chosen:
                    break
            if chosen:
                break
        if chosen is None:  # nowhere free: the farthest spot tried, below right
            log.warning("label %r overlaps another: no free spot found", text)
            dx, dy, ha, va = _LABEL_SPOTS[1]
            label = ax.annotate(
                text,
                (x, y),
                textcoords="offset points",
                xytext=(dx * _LABEL_RINGS, dy * _LABEL_RINGS),
                ha=ha,
                va=va,
                fontsize=fontsize,
                annotation_clip=False,
            )
            chosen = (label, label.get_window_extent(renderer))
        taken.append(chosen[1])
        placed.append(chosen[0])
    return placed


def cost_chart(scores: pd.DataFrame, today: float, lang: str = "en") -> Any:
    """The cost–score chart: every plan, the Pareto front, labels that do not overlap.

    Parameters
    ----------
    scores
        The ranking table (``scenario``, ``overall``, ``cost_dkk``; ``pareto`` when
        the scorer gives it, else computed by :func:`pareto_front`).
    today
        Today's overall score (a dashed line).
    lang
        ``"en"`` or ``"da"``.

    Returns
    -------
    matplotlib.figure.Figure
        Plans on the front are filled and joined by a step line (the best score to be
        had for a budget); plans another one beats are hollow.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(n) for n in scores["scenario"]]
    cost = scores["cost_dkk"].to_numpy(dtype=float) / 1e6
    overall = scores["overall"].to_numpy(dtype=float)
    if "pareto" in scores:
        front = scores["pareto"].fillna(False).astype(bool).to_numpy()
    else:
        front = pareto_front(cost, overall)
    fig, ax = plt.subplots(figsize=(8, 4.6), dpi=_DPI)
    order = np.argsort(cost[front], kind="stable")
    fx, fy = cost[front][order], overall[front][order]
    if len(fx):
        ax.step(
            fx,
            fy,
            where="post",
            color="#2166ac",
            linewidth=1.4,
            alpha=0.8,
            zorder=2,
            label=t("report.chart.pareto", lang),
        )
    ax.scatter(cost[front], overall[front], s=60, color="#2166ac", zorder=3)
    if (~front).any():
        ax.scatter(
            cost[~front],
            overall[~front],
            s=60,
            facecolor="white",
            edgecolor="#777777",
            linewidth=1.5,
            zorder=3,
            label=t("report.chart.dominated", lang),
        )
    ax.axhline(today, color="grey", linestyle="--", linewidth=1, label=t("map.today", lang))
    ax.set_xlabel(t("report.chart.cost.x", lang))
    ax.set_ylabel(t("report.chart.cost.y", lang))
    ax.set_ylim(0, 100)
    finite = cost[np.isfinite(cost)]
    span = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    ax.set_xlim(-0.08 * span, 1.25 * span)  # room for labels right of the dearest plan
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False, fontsize=9)
    ax.set_title(t("report.chart.cost", lang), loc="left")
    # labels of the best plans first: they get the nearest spots
    ranked = sorted(range(len(names)), key=lambda i: -overall[i] if np.isfinite(overall[i]) else 0)
    labels = place_labels(ax, [(cost[i], overall[i]) for i in ranked], [names[i] for i in ranked])
    for label in labels:
        if label is not None:
            label.set_color("#1d1d1f")
    return fig


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

    fig = cost_chart(scores, result.baseline.overall, lang)
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
    robustness = [{"src": ranks_png, "caption": t("report.chart.ranks", lang)}]
    counts = _speed_counts_chart(result, lang)
    if counts is not None:
        robustness.append(counts)
    return {
        "answer": [
            {"src": themes_png, "caption": t("report.chart.themes", lang)},
            {"src": cost_png, "caption": t("report.chart.cost", lang)},
        ],
        "robustness": robustness,
    }


def _speed_counts_chart(result: ScoreResult, lang: str) -> dict[str, str] | None:
    """Measured against modelled V85 at the count sites (when speed counts were given)."""
    import matplotlib.pyplot as plt

    calming = result.baseline.modules.get("calming")
    if calming is None or "speed_counts" not in calming.layers:
        return None
    sites = calming.layers["speed_counts"]
    rmse = float(calming.extras.get("speed_counts_rmse_kmh", float("nan")))
    fig, ax = plt.subplots(figsize=(6, 5.4))
    measured = sites["v85_measured_kmh"].to_numpy(float)
    model = sites["v85_model_kmh"].to_numpy(float)
    low, high = (
        float(min(measured.min(), model.min())) - 3,
        float(max(measured.max(), model.max())) + 3,
    )
    ax.plot([low, high], [low, high], color="grey", linewidth=1, label="y = x")
    ax.scatter(measured, model, color="#1f4e79", zorder=3)
    for row in sites.itertuples():
        ax.annotate(str(row.site_id), (row.v85_measured_kmh, row.v85_model_kmh), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel(t("report.chart.counts.x", lang))
    ax.set_ylabel(t("report.chart.counts.y", lang))
    title = t("report.chart.counts", lang, rmse=f"{rmse:.1f}", n=len(sites))
    ax.set_title(title, loc="left", fontsize=10)
    return {"src": _png(fig), "caption": title}


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
                "label": indicator_label(str(indicator), str(first["label"]), lang),
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


_AUDIT_COLUMNS = ("lux", "camera_level", "overlooked_day", "overlooked_night", "v85_kmh")


def _audit_cell(column: str, value: Any, lang: str) -> str:
    """One audit value in words: lux, a DORI level, yes/no, km/h."""
    if column == "lux":
        return f"{number(value, 1, lang)} lx"
    if column == "v85_kmh":
        text = number(value, 0, lang)
        return text if text == "–" else f"{text} km/h"
    if column.startswith("overlooked"):
        return t("report.yes" if bool(value) else "report.no", lang)
    if column == "camera_level":
        return category("dori", value, lang)
    return str(value)


def _safety_section(result: ScoreResult, lang: str) -> dict[str, Any] | None:
    """The Safety section: evidence of today and what each plan changes at the marks.

    Drawn when the base district has evidence (``incidents`` or ``safety_walk``): the
    safety analysis's indicators, incidents per year and per 1,000 residents, the
    safety-walk audit (per mark: lux, camera level, overlooked by day / at night, V85),
    and per plan the marks it changes (:func:`vollsmose_gis.safety.compare_audits`),
    the share of marks it treats with light and with cameras
    (:func:`vollsmose_gis.safety.treated_share`) and its paths overlooked at night.
    Illustrative evidence is labelled so.  None without evidence.
    """
    from vollsmose_gis.safety import ILLUSTRATIVE, compare_audits, incidents_table

    review = result.safety_review()  # computed with the analyses; rendered here
    if review is None:
        return None
    base = result.baseline.district
    safety = review.today
    indicators = [
        {
            "label": indicator_label(indicator.id, indicator.label, lang),
            "value": format_value(indicator.value, indicator.unit, lang),
            "reason": indicator.reason,
        }
        for indicator in safety.indicators.values()
    ]
    years = [
        [
            str(int(row.year)),
            number(row.incidents, 0, lang),
            number(row.per_1000_residents, 2, lang),
        ]
        for row in incidents_table(safety).itertuples()
    ]
    audit = safety.layers.get("safety_audit")
    marks = []
    if audit is not None:
        for row in audit.to_dict("records"):
            marks.append(
                [str(row["mark_id"]), category("safety_walk", row["reason"], lang)]
                + [_audit_cell(c, row[c], lang) for c in _AUDIT_COLUMNS]
            )
    n_marks = len(base.safety_walk)

    def cells(plan: Any) -> list[str]:
        treated = (
            [
                format_value(plan.treated_lights, "share", lang),
                format_value(plan.treated_cameras, "share", lang),
            ]
            if n_marks
            else ["–", "–"]
        )
        return [*treated, format_value(plan.surveillance.share_night, "share", lang)]

    plans: list[dict[str, Any]] = [
        {"name": t("map.today", lang), "changed": "–", "cells": cells(review.baseline), "marks": []}
    ]
    for name in result.scores["scenario"]:
        plan = review.plans[str(name)]
        changes: list[list[str]] = []
        if audit is not None and plan.audit is not None and n_marks:
            compared = compare_audits(audit, plan.audit)
            for row in compared[compared["changed"]].to_dict("records"):
                row_cells = [str(row["mark_id"]), category("safety_walk", row["reason"], lang)]
                for column in _AUDIT_COLUMNS:
                    now = _audit_cell(column, row[f"{column}_now"], lang)
                    then = _audit_cell(column, row[f"{column}_plan"], lang)
                    row_cells.append(now if now == then else f"{now} → {then}")
                changes.append(row_cells)
        plans.append(
            {
                "name": str(name),
                "changed": f"{len(changes)} / {n_marks}" if n_marks else "–",
                "cells": cells(plan),
                "marks": changes,
            }
        )
    words = {
        key.replace(".", "_"): t(f"report.safety.{key}", lang)
        for key in (
            "h",
            "intro",
            "indicators",
            "years",
            "year",
            "incidents",
            "per_1000",
            "audit",
            "mark",
            "reason",
            "lux",
            "camera",
            "day",
            "night",
            "v85",
            "plans",
            "changed",
            "treated_lights",
            "treated_cameras",
            "overlooked_night",
            "treated_note",
            "no_marks",
        )
    }
    return {
        "illustrative": bool(safety.extras.get("illustrative")),
        "illustrative_text": t("report.safety.illustrative", lang, label=ILLUSTRATIVE),
        "indicators": indicators,
        "years": years,
        "marks": marks,
        "plans": plans,
        "t": words,
        "plan_changes": [
            {
                "heading": t(
                    "report.safety.plan_changes",
                    lang,
                    plan=p["name"],
                    n=len(p["marks"]),
                    total=n_marks,
                ),
                "rows": p["marks"],
            }
            for p in plans[1:]
            if p["marks"]
        ],
    }


def _by_source(result: ScoreResult, lang: str) -> dict[str, Any] | None:
    """P(first) and the 90 % rank range of each plan under each source of variation
    (``robustness["by_source"]`` of the scorer; ``None`` when it gives none).
    """
    by_source = result.robustness.get("by_source") or {}
    p_first = by_source.get("p_first") or {}
    if not p_first:
        return None
    ranges = by_source.get("rank_interval") or {}
    sources = list(p_first)
    rows = []
    for name in result.scores["scenario"]:
        cells = []
        for source in sources:
            p = _percent(float(p_first[source].get(name, 0.0)), lang)
            best, worst = (ranges.get(source) or {}).get(name, (None, None))
            span = "" if best is None else (f" ({best})" if best == worst else f" ({best}–{worst})")
            cells.append(p + span)
        rows.append({"scenario": name, "cells": cells})
    bands = by_source.get("bands") or {}
    return {
        "intro": t(
            "report.robustness.sources",
            lang,
            spread=_percent(float(bands.get("indicator_weight_spread", math.nan)), lang),
            band=_percent(float(bands.get("bounds_band", math.nan)), lang),
        ),
        "header": [
            t(f"report.source.{s}", lang) if has(f"report.source.{s}") else s for s in sources
        ],
        "rows": rows,
    }


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
    from vollsmose_gis._version import __version__

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
        "notes.h",
        "warnings.h",
        "warnings.intro",
        "col.analysis",
        "col.note",
        "col.plans",
    ]
    words = {key.replace(".", "_"): t(f"report.{key}", lang) for key in text_keys}
    header, ranking = _ranking(result, themes, theme_labels, lang)
    live = _live_weights(result, themes, theme_labels, header, ranking, lang)
    scenarios = []
    for name in scores["scenario"]:
        r = result.results[name]
        changes = r.change_log.summaries(lang)
        scenarios.append(
            {
                "name": name,
                "description": r.scenario.description_in(lang),
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
            # the same page as maps/<leader>_changes.html: drawn once in the job's session
            "html": page_html("changes", result.baseline, leader_result, tiles=tiles, lang=lang),
        }
    modules = sorted({m for r in result.results.values() for m in r.modules})
    if progress is not None:
        progress(0.95, "report: safety")
    safety = _safety_section(result, lang)
    return {
        "lang": lang,
        "title": t("report.title", lang, district=_district_name(district, lang)),
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
            district=_district_name(district, lang),
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
        "ranking_header": header,
        "ranking": ranking,
        "live": live,
        "ranking_notes": result.notes_in(lang),
        "ranking_legend": _ranking_legend(header, lang) + _rule_readings(result, lang),
        "pareto": _pareto_sentence(result.scores, lang),
        "warnings": _warning_rows(result, lang),
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
            "sources": _by_source(result, lang),
        },
        "changes": changes_section,
        "safety": safety,
        "method": {
            "scoring": t("report.method.scoring", lang, profile=result.profile.source),
            "weights": [
                (label, _percent(result.profile.themes[theme] / total, lang))
                for theme, label in zip(themes, theme_labels, strict=True)
            ],
            "models": t(
                "report.method.models"
                if result.baseline.district.settings.applies("dk_168a")
                else "report.method.models.generic",
                lang,
            ),
            "modules": t(
                "report.modules",
                lang,
                modules=", ".join(category("module", m, lang) for m in modules),
            ),
        },
        "provenance": {"statement": _provenance(district, lang), "notes": prov.notes},
        "footer": t("report.footer", lang, version=__version__),
    }


def _rule_readings(result: ScoreResult, lang: str) -> list[str]:
    """§ 168 a under both readings of erhvervsareal, per plan that misses the rule.

    Whether public institutions count as erhvervsareal is unconfirmed, so the council
    sees the range: "X–Y dwellings must go depending on whether institutions count".
    """
    if _rule_theme(result) is None:
        return []
    lines = []
    plans = {"(baseline)": result.baseline, **result.results}
    for name, r in plans.items():
        mix = r.modules.get("mix")
        account = getattr(mix.extras.get("mix"), "tenure", None) if mix is not None else None
        if account is None or not getattr(account, "denominator", 0):
            continue
        low, high = int(account.demolition_need_min), int(account.demolition_need_max)
        if high <= 0:
            continue
        need = (
            number(low, 0, lang)
            if low == high
            else f"{number(low, 0, lang)}–{number(high, 0, lang)}"
        )
        lines.append(t("report.rule_readings", lang, plan=_display_name(name, lang), need=need))
    return lines


def _rule_theme(result: ScoreResult) -> str | None:
    """The theme the § 168 a flag belongs beside (that of ``meets_40pct_rule``).

    None when the rule does not apply to the district (its settings do not list it):
    a district outside Denmark gets no Danish rule column, not even "not applicable".
    """
    if not result.baseline.district.settings.applies("dk_168a"):
        return None
    rows = result.indicators.loc[result.indicators["indicator"] == "meets_40pct_rule", "theme"]
    return str(rows.iloc[0]) if len(rows) else None


def _flag(value: Any, lang: str) -> str:
    """A yes/no flag for people; NaN, None or "n/a" is "not applicable"."""
    if isinstance(value, str):
        value = {"yes": 1.0, "no": 0.0}.get(value.strip().lower(), math.nan)
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        return t("report.not_applicable", lang)
    return t("report.yes" if x >= 0.5 else "report.no", lang)


def _rule_flags(result: ScoreResult) -> dict[str, Any]:
    """Scenario -> the § 168 a flag (the scorer's column, else the indicator value)."""
    scores = result.scores
    if "meets_40pct_rule" in scores:
        return dict(zip(scores["scenario"], scores["meets_40pct_rule"], strict=True))
    long = result.indicators
    rows = long[long["indicator"] == "meets_40pct_rule"]
    return dict(zip(rows["scenario"], rows["value"], strict=True))


def _per_mdkk(row: Mapping[str, Any], today: float) -> float:
    """Overall points gained over today per million DKK (NaN for a plan that is free)."""
    if "delta_per_mdkk" in row:
        return float(row["delta_per_mdkk"])
    cost = float(row["cost_dkk"])
    return (float(row["overall"]) - today) / (cost / 1e6) if cost > 0 else math.nan


def _ranking(
    result: ScoreResult, themes: list[str], theme_labels: list[str], lang: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """The ranking table: header and rows (rank, scenario, overall, themes with the
    § 168 a flag beside the housing score, cost, points per M DKK, P(first)).
    """
    rule_theme = _rule_theme(result)
    flags = _rule_flags(result) if rule_theme in themes else {}
    header = [t("report.col.rank", lang), t("report.col.scenario", lang)]
    header.append(t("report.col.overall", lang))
    for theme, label in zip(themes, theme_labels, strict=True):
        header.append(label)
        if flags and theme == rule_theme:
            header.append(t("report.col.rule_40pct", lang))
    header += [
        t("report.col.cost", lang),
        t("report.col.per_mdkk", lang),
        t("report.col.p_first", lang),
    ]
    today = float(result.baseline.overall)
    rows = []
    for row in result.scores.to_dict("records"):
        cells = [number(row["overall"], 1, lang)]
        for theme in themes:
            cells.append(number(row.get(theme, np.nan), 1, lang))
            if flags and theme == rule_theme:
                cells.append(_flag(flags.get(row["scenario"]), lang))
        cells += [
            number(row["cost_dkk"] / 1e6, 1, lang),
            number(_per_mdkk(row, today), 1, lang),
            _percent(float(row["p_first"]), lang),
        ]
        rows.append({"rank": int(row["rank"]), "scenario": row["scenario"], "cells": cells})
    return header, rows


def _live_weights(
    result: ScoreResult,
    themes: list[str],
    theme_labels: list[str],
    header: list[str],
    ranking: list[dict[str, Any]],
    lang: str,
) -> dict[str, Any]:
    """What the page needs to re-rank the plans in the browser at other theme weights.

    The page repeats the scorer's arithmetic (:func:`vollsmose_gis.scoring._overall`,
    the ranking's stable sort) on the embedded theme scores: the overall score is the
    weighted mean over the themes that were measured *and* have a positive weight (an
    unmeasured theme is left out, never scored 0), NaN when none is left; plans are
    sorted by it, best first, NaN last, ties in the scorer's order.  Only the overall,
    the rank and the points per M DKK change; the theme scores, the § 168 a flag, the
    cost and P(first) (at the profile's weights) stay as computed.

    Returns
    -------
    dict
        ``json``: the data as JSON that is safe inside ``<script>`` (``<``, ``>``, ``&``
        escaped); ``themes``: label, key and weight for the inputs; ``step``/``max``
        of the sliders; ``text``: the control's words.
    """
    import json

    from markupsafe import Markup

    def finite(x: Any) -> float | None:
        value = float(x)
        return value if math.isfinite(value) else None

    cells = {str(row["scenario"]): row["cells"] for row in ranking}
    plans = [
        {
            "name": name,
            "themes": [finite(r.theme_scores.get(theme, math.nan)) for theme in themes],
            "cost_dkk": float(r.cost_dkk),
            "cells": cells[name],
        }
        for name, r in result.results.items()  # the scorer's order: ties keep it
    ]
    weights = [float(result.profile.themes[theme]) for theme in themes]
    data = {
        "lang": lang,
        "themes": themes,
        "weights": weights,
        "today": [finite(result.baseline.theme_scores.get(theme, math.nan)) for theme in themes],
        "plans": plans,
        # positions in a row's cells (after rank and name): overall first, points per M
        # DKK second from the end (cost, points per M DKK, P(first))
        "overall_cell": 0,
        "per_mdkk_cell": len(header) - 2 - 2,
        "text": {
            "status": t("report.live.status", lang),
            "zero": t("report.live.zero", lang),
            "chart": t("report.live.chart", lang),
            "chart_x": t("report.chart.cost.x", lang),
            "chart_y": t("report.chart.cost.y", lang),
            "today": t("map.today", lang),
        },
    }
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    # inside <script> only "</" could end the element; escaping < > & covers it and "<!--"
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    top = max(weights)
    return {
        "json": Markup(text),
        "themes": [
            {"key": theme, "label": label, "weight": weight}
            for theme, label, weight in zip(themes, theme_labels, weights, strict=True)
        ],
        "max": 4 * top,
        "step": top / 20,
        "text": {
            key: t(f"report.live.{key}", lang)
            for key in ("h", "intro", "reset", "p_first", "chart")
        },
    }


def _ranking_legend(header: list[str], lang: str) -> list[str]:
    """What the less obvious columns of the ranking mean."""
    lines = [t("report.col.per_mdkk.note", lang)]
    if t("report.col.rule_40pct", lang) in header:
        lines.append(t("report.col.rule_40pct.note", lang))
    return lines


def _pareto_sentence(scores: pd.DataFrame, lang: str) -> str:
    if "pareto" in scores:
        front = scores["pareto"].fillna(False).astype(bool).to_numpy()
    else:
        front = pareto_front(scores["cost_dkk"], scores["overall"])
    names = [str(n) for n, on in zip(scores["scenario"], front, strict=True) if on]
    return t("report.pareto", lang, names=", ".join(names)) if names else ""


def _warning_rows(result: ScoreResult, lang: str) -> list[dict[str, str]]:
    """The modules' warnings of every plan, one row per distinct (analysis, message),
    with the plans it concerns ("all plans" when every one, today included).
    """
    rows = []
    for module, message, names, every in result.warning_groups():
        rows.append(
            {
                "module": category("module", module, lang),
                # the analyses write their notes in English (technical notes; the
                # section says so in Danish): marked so, for readers and screen readers
                "message": message,
                "message_lang": "en",
                "plans": t("report.warnings.all", lang)
                if every
                else ", ".join(_display_name(n, lang) for n in names),
            }
        )
    return rows


def _entries(change_log: Any) -> list[dict[str, Any]]:
    frame = change_log.to_frame()
    if not isinstance(frame, pd.DataFrame) or frame.empty or "summary" not in frame:
        return []
    return frame.to_dict("records")


# --------------------------------------------------------------------------- output


def srcdoc_attribute(page: str) -> Any:
    """A whole HTML page as the value of a single-quoted ``srcdoc`` attribute.

    Only ``&`` and ``'`` are escaped: that is all a single-quoted attribute value
    needs, and a map page is full of double quotes (GeoJSON), which the default
    escaping would turn into ``&#34;`` — five bytes for one, about a quarter of the
    report's size.  The browser unescapes the value into the page as it was.

    Returns
    -------
    markupsafe.Markup
        Safe to insert between single quotes only.
    """
    from markupsafe import Markup

    return Markup(page.replace("&", "&amp;").replace("'", "&#39;"))


SHARED_PIECE_MIN = 4_000
"""Shortest text (characters) the report carries once for all its maps when repeated.

Its reference (``mark``, number, ``;``) is a few characters: at 4,000 it costs at most
0.2 % of the piece.  On the example, 20,000 leaves Leaflet's stylesheet (19 kB) and the
smaller shared layers in every page: 3.42 MB against 3.23 MB."""

_ELEMENT_BODY = re.compile(r"<(script|style)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)
# the start of a GeoJSON FeatureCollection as json.dumps writes it (with or without spaces)
_FEATURE_COLLECTION = re.compile(r'\{"type": ?"FeatureCollection"')


def _candidate_spans(page: str) -> list[tuple[int, int]]:
    """Spans of ``page`` that may repeat in other map pages: each ``<script>`` and
    ``<style>`` body, and each GeoJSON FeatureCollection (a JSON value), of at least
    :data:`SHARED_PIECE_MIN` characters.
    """
    import json

    spans = [m.span(2) for m in _ELEMENT_BODY.finditer(page)]
    decoder = json.JSONDecoder()
    for match in _FEATURE_COLLECTION.finditer(page):
        try:
            _, end = decoder.raw_decode(page, match.start())
        except ValueError:  # not a whole JSON value (e.g. text in a tooltip): not a piece
            continue
        spans.append((match.start(), end))
    return [(a, b) for a, b in spans if b - a >= SHARED_PIECE_MIN]


def share_pieces(pages: Sequence[str]) -> tuple[list[str], list[list[str | int]]]:
    """Split map pages into the large pieces they repeat and what is left of each page.

    Every candidate text (:func:`_candidate_spans`: script and style bodies, GeoJSON)
    that occurs at least twice among ``pages`` becomes one piece; each page becomes a
    list of its own text (``str``) and piece numbers (``int``) in order, so joining a
    page's list with its numbers replaced by the pieces gives the page back exactly.

    Parameters
    ----------
    pages
        Whole HTML pages (the maps of one report).

    Returns
    -------
    pieces
        The shared texts a page refers to, each once, longest first.
    layouts
        One list per page, in the order of ``pages``.
    """
    spans = [_candidate_spans(page) for page in pages]
    counts: dict[str, int] = {}
    for page, found in zip(pages, spans, strict=True):
        for a, b in found:
            counts[page[a:b]] = counts.get(page[a:b], 0) + 1
    shared = sorted((text for text, n in counts.items() if n >= 2), key=lambda x: -len(x))
    index = {text: k for k, text in enumerate(shared)}
    layouts: list[list[str | int]] = []
    for page, found in zip(pages, spans, strict=True):
        layout: list[str | int] = []
        at = 0
        # a shared script holding a shared GeoJSON is taken whole: skip spans inside it
        for a, b in sorted(found, key=lambda span: (span[0], -span[1])):
            if a < at or page[a:b] not in index:
                continue
            if a > at:
                layout.append(page[at:a])
            layout.append(index[page[a:b]])
            at = b
        if at < len(page):
            layout.append(page[at:])
        layouts.append(layout)
    # a piece only ever inside a larger one is not written: number the used ones anew
    used = sorted({part for layout in layouts for part in layout if isinstance(part, int)})
    renumber = {old: new for new, old in enumerate(used)}
    layouts = [
        [part if isinstance(part, str) else renumber[part] for part in layout] for layout in layouts
    ]
    return [shared[k] for k in used], layouts


def embed_maps(pages: Sequence[str]) -> dict[str, Any]:
    """The report's map pages as the attributes its inline script assembles them from.

    Each page is written with its shared pieces (:func:`share_pieces`) replaced by
    ``mark + number + ";"``, ``mark`` being one private-use character that occurs in
    no page (so a split on it is unambiguous); the pieces are written once.  Texts go
    into single-quoted attributes (:func:`srcdoc_attribute`, as the whole pages did),
    where GeoJSON's double quotes stay one byte each (JSON would escape each one).

    Returns
    -------
    dict
        ``mark`` (str), ``pieces`` and ``pages`` (lists of attribute values, Markup).
    """
    pieces, layouts = share_pieces(pages)
    mark = next(
        (chr(c) for c in range(0xE000, 0xF900) if not any(chr(c) in page for page in pages)),
        None,
    )
    if mark is None:  # every private-use character in the maps: embed them whole
        mark, layouts = "\ue000", [[page] for page in pages]
        pieces = []
    texts = [
        "".join(part if isinstance(part, str) else f"{mark}{part};" for part in layout)
        for layout in layouts
    ]
    return {
        "mark": mark,
        "pieces": [srcdoc_attribute(piece) for piece in pieces],
        "pages": [srcdoc_attribute(text) for text in texts],
    }


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
    context = _context(result, lang, tiles, progress)
    # the maps share Leaflet, its styles and most layers: the page carries each such
    # piece once, and each map frame the rest of its page (see share_pieces)
    frames = [m for theme in context["themes"] for m in theme["maps"]]
    if context["changes"] is not None:
        frames.append(context["changes"])
    context["maps"] = embed_maps([frame["html"] for frame in frames])
    for frame, text in zip(frames, context["maps"]["pages"], strict=True):
        frame["page"] = text
    page = env.get_template("report.html.j2").render(**context)
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


# --------------------------------------------------------------------------- PDF

CHROMIUM_ENV = "VOLLSMOSE_GIS_CHROMIUM"
"""Environment variable naming the Chromium (or Chrome) binary that prints PDFs."""

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium(binary: str | Path | None = None) -> Path:
    """The headless Chromium that prints the report to PDF.

    Parameters
    ----------
    binary
        A path to the browser; default: ``$VOLLSMOSE_GIS_CHROMIUM``, else the first of
        ``chromium``, ``chromium-browser``, ``google-chrome`` on the ``PATH``.

    Raises
    ------
    InputError
        No such browser: the message says what to install or set.
    """
    import os
    import shutil

    from vollsmose_gis._errors import InputError

    given = binary if binary is not None else os.environ.get(CHROMIUM_ENV) or None
    if given is not None:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        source = "" if binary is not None else f" (from ${CHROMIUM_ENV})"
        raise InputError(
            f"Chromium not found at {path}{source}: printing the report to PDF needs "
            "headless Chromium; install it (Debian/Ubuntu: sudo apt install chromium) "
            f"or point {CHROMIUM_ENV} at a chromium or google-chrome binary"
        )
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise InputError(
        "printing the report to PDF needs headless Chromium, and none was found on the "
        f"PATH (looked for {', '.join(_CHROMIUM_NAMES)}); install it (Debian/Ubuntu: "
        f"sudo apt install chromium) or set {CHROMIUM_ENV} to its path"
    )


def print_pdf(
    html_path: str | Path,
    pdf_path: str | Path,
    *,
    overwrite: bool = False,
    chromium: str | Path | None = None,
    timeout_s: float = 180.0,
) -> Path:
    """Print a report (any local HTML page) to PDF with headless Chromium, atomically.

    The page's print stylesheet sets A4 and the margins; the maps (Leaflet in
    ``<iframe srcdoc>``) are printed as Chromium draws them, vector layers as vectors.
    Chromium prints into a temporary file beside ``pdf_path``, which replaces
    ``pdf_path`` only when it is a complete PDF.

    Parameters
    ----------
    html_path
        The page to print (``report.html``).
    pdf_path
        The PDF to write.
    overwrite
        Replace an existing ``pdf_path``.
    chromium
        The browser binary (default: :func:`find_chromium`).
    timeout_s
        Seconds Chromium may take (s); a run past it is stopped and nothing is written.

    Returns
    -------
    Path
        ``pdf_path``.

    Raises
    ------
    InputError
        No Chromium, no such page, an output folder that does not exist or cannot be
        written, or Chromium failing or timing out.
    FileExistsError
        ``pdf_path`` exists and ``overwrite`` is False (checked before any work).
    """
    import os
    import signal
    import subprocess
    import tempfile

    from vollsmose_gis._errors import InputError

    page = Path(html_path)
    target = Path(pdf_path)
    if not page.is_file():
        raise InputError(f"cannot print {page}: no such file; give the report.html to print")
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    folder = target.resolve().parent
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise InputError(
            f"cannot write {target}: no write permission in {folder}; choose another output"
        )
    browser = find_chromium(chromium)
    with (
        tempfile.TemporaryDirectory(prefix="vg-chromium-") as profile,
        atomic_path(target, overwrite=overwrite) as tmp,
    ):
        # the sandbox cannot start as root (containers, CI), so only root runs without it
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        command = [
            str(browser),
            "--headless",
            *(["--no-sandbox"] if as_root else []),
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            # lay the page out at the width of A4 between the margins (182 mm), so the
            # maps are drawn at the size they are printed
            "--window-size=688,1000",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            page.resolve().as_uri(),
        ]
        try:
            # a session (and process group) of its own: stopping it stops every process
            # Chromium started (zygote, renderers, GPU), also behind a wrapper script
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise InputError(f"cannot run Chromium {browser}: {exc.strerror or exc}") from None

        def stop() -> None:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(process.pid, signal.SIGKILL)
                else:  # pragma: no cover - no process groups (Windows)
                    process.kill()
            except ProcessLookupError:
                pass
            process.wait()

        with process:
            try:
                _, stderr = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                stop()
                raise InputError(
                    f"Chromium did not finish printing {page} within {timeout_s:g} s; nothing "
                    "was written (a larger report may need a longer --timeout)"
                ) from None
            except BaseException:  # interrupted: leave no browser behind either
                stop()
                raise
        ok = tmp.is_file() and tmp.read_bytes()[:5] == b"%PDF-"
        if process.returncode != 0 or not ok:
            tail = " ".join((stderr or "").strip().splitlines()[-2:])
            raise InputError(
                f"Chromium could not print {page} to PDF (exit {process.returncode}); nothing "
                f"was written. {tail}".strip()
            )
    log.info("printed %s to %s", page, target)
    return target
