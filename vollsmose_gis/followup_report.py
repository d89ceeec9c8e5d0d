"""The follow-up outputs: ``monitor.csv``, charts (PNG) and a committee report (HTML).

Everything is offline: charts are PNG files beside the report and embedded in it as
data URIs; every text from the statistics (area ids, sources) is escaped.  A series
holding illustrative rows says so at the top of the report and on every chart.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vollsmose_gis._util import json_value, slug
from vollsmose_gis.followup import MonitorResult, suppress
from vollsmose_gis.io import atomic_path

__all__ = ["write_followup"]

_TEXT = {
    "title": {"en": "Follow-up of the area's goals", "da": "Opfølgning på områdets mål"},
    "illustrative": {
        "en": "This series holds ILLUSTRATIVE rows (made-up values for an example), not "
        "statistics; only rows marked real are. Do not quote the illustrative figures.",
        "da": "Serien indeholder ILLUSTRATIVE rækker (opdigtede værdier til et eksempel), "
        "ikke statistik; kun rækker markeret som reelle er det. Citér ikke de "
        "illustrative tal.",
    },
    "status": {"en": "Status in {year}", "da": "Status i {year}"},
    "on": {"en": "on the list", "da": "på listen"},
    "off": {"en": "not on the list", "da": "ikke på listen"},
    "unknown": {
        "en": "cannot be determined (data missing)",
        "da": "kan ikke afgøres (data mangler)",
    },
    "years": {"en": "{n} year(s) in a row", "da": "{n} år i træk"},
    "changes": {"en": "Changes since {year}", "da": "Ændringer siden {year}"},
    "targets": {"en": "Goals", "da": "Mål"},
    "effects": {"en": "Effect estimates", "da": "Effektvurderinger"},
    "charts": {"en": "Criteria over time", "da": "Kriterier over tid"},
    "physical": {"en": "Physical indicators by year", "da": "Fysiske indikatorer pr. år"},
    "sources": {"en": "Sources", "da": "Kilder"},
    "no_change": {"en": "No list changed.", "da": "Ingen liste ændrede sig."},
    "association": {
        "en": "An association around the intervention year, not proof of its effect.",
        "da": "En sammenhæng omkring indsatsåret, ikke et bevis for dens effekt.",
    },
}


def _t(key: str, lang: str, **values: Any) -> str:
    return _TEXT[key][lang].format(**values)


def write_followup(
    result: MonitorResult,
    out_dir: str | Path,
    *,
    lang: str = "en",
    overwrite: bool = False,
) -> list[Path]:
    """Write ``monitor.csv``, ``monitor.json``, one chart per area and ``followup.html``.

    Parameters
    ----------
    result
        From :func:`vollsmose_gis.followup.monitor`.
    out_dir
        Output folder (created; an existing one needs ``overwrite``).
    lang
        ``en`` or ``da``.
    overwrite
        Replace this run's files in an existing folder.

    Returns
    -------
    list of Path
        The files written.
    """
    if lang not in ("en", "da"):
        raise ValueError(f"lang must be en or da, got {lang!r}")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(f"output folder {out} exists; pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with atomic_path(out / "monitor.csv", overwrite=True) as tmp:
        tmp.write_text(result.long().to_csv(index=False), encoding="utf-8")
    written.append(out / "monitor.csv")
    with atomic_path(out / "monitor.json", overwrite=True) as tmp:
        tmp.write_text(
            json.dumps(summary(result), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
    written.append(out / "monitor.json")
    charts = {}
    names: set[str] = set()
    for area in sorted(result.statistics["area_id"].unique()):
        # the slug maps "a_b" and "a-b" alike: a later area takes -2, -3, ...
        base = slug(str(area), default="area")
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.add(name)
        path = out / f"criteria_{name}.png"
        _chart(result, str(area), path, lang)
        charts[str(area)] = path
        written.append(path)
    with atomic_path(out / "followup.html", overwrite=True) as tmp:
        tmp.write_text(report_html(result, charts, lang=lang), encoding="utf-8")
    written.append(out / "followup.html")
    return written


def summary(result: MonitorResult) -> dict[str, Any]:
    """A JSON-ready summary: latest status per area and list, targets, effects."""
    latest = result.status[result.status["year"] == result.status["year"].max()]
    targets = result.trends[result.trends["target_id"].notna()]
    return {
        "illustrative": result.illustrative,
        "sources": result.sources,
        "latest_year": int(result.status["year"].max()) if len(result.status) else None,
        "status": [
            {k: json_value(v) for k, v in row.items()}
            for row in latest[
                ["area_id", "set", "list", "on_list", "consecutive_years", "off_list_if"]
            ].to_dict("records")
        ],
        "targets": [
            {k: json_value(v) for k, v in row.items()}
            for row in targets[["area_id", "target_id", "standing", "projected"]].to_dict("records")
        ],
        "effects": [{k: json_value(v) for k, v in e.items()} for e in result.effects],
    }


def _chart(result: MonitorResult, area: str, path: Path, lang: str) -> None:
    """One panel per criterion of the newest set: the value per year, its threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    frame = result.assessment[result.assessment["area_id"] == area]
    frame = frame[frame["kind"].isin(["all", "of"])]
    keys = list(dict.fromkeys(zip(frame["list"], frame["criterion"], strict=True)))
    keys = keys[:8] or [("", "")]
    fig, axes = plt.subplots(len(keys), 1, figsize=(7.5, 1.9 * len(keys)), squeeze=False)
    for ax, (name, key) in zip(axes[:, 0], keys, strict=True):
        part = frame[(frame["list"] == name) & (frame["criterion"] == key)].sort_values("year")
        if part.empty:
            ax.set_axis_off()
            continue
        label = part["label_da" if lang == "da" else "label"].iloc[-1]
        ax.plot(part["year"], part["value"], marker="o", color="#1f4e79", label=label)
        ax.step(
            part["year"],
            part["threshold"],
            where="mid",
            color="#b22222",
            linestyle="--",
            label="threshold" if lang == "en" else "tærskel",
        )
        met = part[part["met"] == True]  # noqa: E712 - a three-valued column
        ax.scatter(met["year"], met["value"], color="#b22222", zorder=3, s=18)
        ax.set_title(f"{name}: {label}", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if result.illustrative:
        fig.text(
            0.5,
            0.5,
            "ILLUSTRATIVE",
            fontsize=48,
            color="#999999",
            alpha=0.25,
            ha="center",
            va="center",
            rotation=25,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report_html(result: MonitorResult, charts: dict[str, Path], *, lang: str = "en") -> str:
    """The committee's follow-up report as one offline HTML page."""
    e = html.escape
    status = result.status
    year = int(status["year"].max()) if len(status) else None
    parts = [
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{e(_t('title', lang))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(_t('title', lang))}</h1>",
    ]
    if result.illustrative:
        parts.append(f"<p class='warn'>{e(_t('illustrative', lang))}</p>")
    if year is not None:
        parts.append(f"<h2>{e(_t('status', lang, year=year))}</h2>")
        parts.append(_status_table(status[status["year"] == year], lang))
        parts.append(f"<h2>{e(_t('changes', lang, year=year - 1))}</h2>")
        parts.append(_changes(status, year, lang))
    goals = result.trends[result.trends["target_id"].notna()]
    if len(goals):
        parts.append(
            f"<h2>{e(_t('targets', lang))}</h2><table><tr><th>area</th><th>goal</th>"
            "<th>standing</th><th>projected</th></tr>"
        )
        for row in goals.itertuples():
            projected = "" if pd.isna(row.projected) else f"{row.projected:.3g}"
            parts.append(
                f"<tr><td>{e(str(row.area_id))}</td><td>{e(str(row.target_label))}</td>"
                f"<td>{e(str(row.standing))}</td><td>{projected}</td></tr>"
            )
        parts.append("</table>")
    if result.effects:
        parts.append(f"<h2>{e(_t('effects', lang))}</h2><p>{e(_t('association', lang))}</p><ul>")
        for item in result.effects:
            text = (
                f"{item['area_id']}, {item['column']} around {item['year']}: "
                f"{item['before_mean']:.3g} → {item['after_mean']:.3g}"
            )
            if "did" in item:
                text += (
                    f"; against {item['comparison']}: difference-in-differences "
                    f"{item['did']:.3g} (95 % interval {item['did_low']:.3g} to "
                    f"{item['did_high']:.3g})"
                )
            parts.append(f"<li>{e(text)}</li>")
        parts.append("</ul>")
    parts.append(f"<h2>{e(_t('charts', lang))}</h2>")
    for area, path in charts.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f"<h3>{e(area)}</h3><img alt='{e(area)}' src='data:image/png;base64,{data}'>")
    if not result.physical.empty:
        wide = result.physical.pivot_table(index="indicator", columns="year", values="value")
        parts.append(f"<h2>{e(_t('physical', lang))}</h2>")
        parts.append(wide.to_html(float_format=lambda v: f"{v:,.3g}", escape=True))
    shown = suppress(result.statistics)
    parts.append(f"<h2>{e(_t('sources', lang))}</h2><ul>")
    for source in result.sources:
        parts.append(f"<li>{e(source)}</li>")
    parts.append("</ul>")
    parts.append(shown.to_html(index=False, escape=True, na_rep="–"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _status_table(rows: pd.DataFrame, lang: str) -> str:
    e = html.escape
    out = ["<table><tr><th>area</th><th>list</th><th>status</th><th></th></tr>"]
    for row in rows.itertuples():
        verdict = {True: "on", False: "off"}.get(row.on_list, "unknown")
        label = row.list_label_da if lang == "da" else row.list_label
        years = _t("years", lang, n=row.consecutive_years) if row.on_list is True else ""
        out.append(
            f"<tr class='{verdict}'><td>{e(str(row.area_id))}</td><td>{e(str(label))}</td>"
            f"<td>{e(_t(verdict, lang))} {e(years)}</td>"
            f"<td>{e(str(row.off_list_if or ''))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _changes(status: pd.DataFrame, year: int, lang: str) -> str:
    e = html.escape
    now = status[status["year"] == year].set_index(["area_id", "list"])["on_list"]
    before = status[status["year"] == year - 1].set_index(["area_id", "list"])["on_list"]
    word = {True: "on", False: "off"}
    changed: Sequence[str] = [
        f"{area}: {name}: {_t(word.get(before[(area, name)], 'unknown'), lang)}"
        f" → {_t(word.get(value, 'unknown'), lang)}"
        for (area, name), value in now.items()
        if (area, name) in before.index and before[(area, name)] != value
    ]
    if not changed:
        return f"<p>{e(_t('no_change', lang))}</p>"
    return "<ul>" + "".join(f"<li>{e(c)}</li>" for c in changed) + "</ul>"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
tr.on td{background:#fde2e2} tr.off td{background:#e5f4e3} tr.unknown td{background:#f3f3f3}
.warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem 1rem;font-weight:600}
img{max-width:100%}
@media print{h2{page-break-before:always}}
"""
