"""The Indicator record every analysis module returns, and the indicator catalogue.

The catalogue (``standards/indicators/``) holds, for every indicator id, its
module, theme, unit, direction, labels (en/da), formula and reference — the one place
an indicator is defined.  Modules build indicators with :func:`indicator`, which takes
unit, direction and theme from the catalogue; ``python -m vollsmose_gis.indicators``
prints the catalogue as the Markdown page ``docs/indicators.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from vollsmose_gis.standards import load

__all__ = ["THEMES", "Indicator", "catalogue", "catalogue_markdown", "indicator"]

THEMES: tuple[str, ...] = (
    "connected district",
    "mixed housing",
    "mixed use and jobs",
    "safety and security",
)
"""Themes mirroring Odense municipality's stated goals for Vollsmose."""


@dataclass(frozen=True)
class Indicator:
    """One measured indicator of a district.

    Attributes
    ----------
    value
        The measured value (NaN when undefined, e.g. nothing to measure).
    unit
        Unit of ``value`` (``"m"``, ``"share"``, ``"per km2"``...).
    higher_is_better
        Direction used by the scorer.
    theme
        One of :data:`THEMES`.
    label
        A plain-language name for reports.
    id
        The indicator's id in the catalogue (``standards/indicators/``).
    reason
        Why the value is NaN (nothing to measure, data not given…), empty otherwise.
    """

    value: float
    unit: str
    higher_is_better: bool
    theme: str
    label: str
    id: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


@cache
def catalogue_files() -> dict[str, dict[str, Any]]:
    """Module name -> its catalogue file (``standards/indicators/<module>.yaml``), in order.

    The files are the registry of analysis modules: each names the module that defines
    ``SPEC`` (``module.import``) and lists the module's indicators.
    """
    folder = resources.files("vollsmose_gis.standards").joinpath("indicators")
    files = {}
    for item in folder.iterdir():
        if item.name.endswith(".yaml"):
            data = load(f"indicators/{item.name[: -len('.yaml')]}")
            files[str(data["module"]["name"])] = data
    return dict(sorted(files.items(), key=lambda kv: int(kv[1]["module"].get("order", 99))))


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Indicator id -> its catalogue entry (module, theme, unit, direction, label…)."""
    entries: dict[str, dict[str, Any]] = {}
    for module, data in catalogue_files().items():
        for key, entry in (data.get("indicators") or {}).items():
            if key in entries:
                raise ValueError(
                    f"indicator {key!r} is catalogued by {entries[key]['module']} and {module}"
                )
            entries[key] = {"module": module, **entry}
    for key, entry in entries.items():
        if entry.get("direction") not in ("higher", "lower"):
            raise ValueError(f"standards/indicators.yaml: {key}: direction must be higher|lower")
        if entry.get("theme") not in THEMES:
            raise ValueError(
                f"standards/indicators.yaml: {key}: unknown theme {entry.get('theme')!r}"
            )
    return dict(entries)


def indicator(key: str, value: float, *, label: str | None = None, reason: str = "") -> Indicator:
    """Build an indicator from its catalogue entry.

    Parameters
    ----------
    key
        The catalogue id.
    value
        The measured value (NaN when it cannot be measured; give ``reason`` then).
    label
        A label that carries a parameter (e.g. the target speed); default: the
        catalogue's English label.
    reason
        Why ``value`` is NaN.
    """
    entry = catalogue()[key]
    return Indicator(
        float(value),
        str(entry["unit"]),
        entry["direction"] == "higher",
        str(entry["theme"]),
        label if label is not None else str(entry["label"]["en"]),
        key,
        reason,
    )


def label_of(key: str, lang: str = "en") -> str:
    """The catalogue label of an indicator in ``lang`` (``en`` or ``da``)."""
    labels = catalogue()[key]["label"]
    return str(labels.get(lang) or labels["en"])


def catalogue_markdown() -> str:
    """The catalogue as a Markdown page, one table per module (key | formula | notes)."""
    modules = catalogue_files()
    lines = [
        "# Indicators",
        "",
        "Generated from `vollsmose_gis/standards/indicators/*.yaml` by "
        "`python -m vollsmose_gis.indicators`; do not edit by hand.",
        "",
    ]
    for module in modules:
        lines += [
            f"## {module}",
            "",
            "| key | unit | better | formula | reference |",
            "|---|---|---|---|---|",
        ]
        for key, entry in catalogue().items():
            if entry["module"] != module:
                continue
            cells = [
                f"`{key}`<br>{entry['label']['en']}",
                str(entry["unit"]),
                str(entry["direction"]),
                str(entry["formula"]).strip(),
                str(entry.get("reference", "")).strip(),
            ]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the docs generator
    print(catalogue_markdown(), end="")
