r"""Words for people: the message table of the maps and the council report, in English and Danish.

Every text the maps and the report show comes from one table,
``templates/text.yaml`` (key -> ``{en: …, da: …}``), through :func:`t`.  Numbers
are formatted for the language by :func:`number` (Danish: comma decimals, thin-space
thousands).  Editing the YAML file changes the wording; ``{placeholders}`` in it are
filled in by the code.  Two format specs of this table's own serve numbers in words:
``{n:num0}`` (``num`` + decimals; ``num`` alone: none for whole numbers, else one)
formats a number for the language, and ``{n:building|buildings}`` chooses the singular
for exactly 1, the plural otherwise (the rule of both English and Danish).
A text stored for later rendering in either language is a :class:`Message`.

Examples
--------
>>> t("map.today", "da")
'I dag (basis)'
>>> number(12345.6, 1, "da")
'12\\u2009345,6'
>>> Message("change.cameras_added", {"n": 2}).text("da")
'2 kameraer opsat'
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vollsmose_gis._errors import InputError

__all__ = [
    "LANGUAGES",
    "Message",
    "category",
    "check_lang",
    "has",
    "in_language",
    "indicator_label",
    "number",
    "t",
    "texts",
    "unit",
]

LANGUAGES: tuple[str, ...] = ("en", "da")
"""The languages of the message table."""

_TABLE = Path(__file__).parent / "templates" / "text.yaml"


@functools.cache
def texts() -> dict[str, dict[str, str]]:
    """The message table: key -> language -> text (read once).

    Returns
    -------
    dict
        Every entry of ``templates/text.yaml`` that has translations (the
        ``version`` field is left out).  Treat it as read-only.
    """
    data = yaml.safe_load(_TABLE.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def has(key: str) -> bool:
    """Whether the message table has an entry ``key``."""
    return key in texts()


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is one of :data:`LANGUAGES`.

    Raises
    ------
    InputError
        Any other language.
    """
    if lang not in LANGUAGES:
        raise InputError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}")
    return lang


def t(key: str, lang: str = "en", **values: Any) -> str:
    """The text ``key`` in ``lang`` (English where no translation), placeholders filled.

    Parameters
    ----------
    key
        A key of ``templates/text.yaml``, e.g. ``"report.answer.h"``.
    lang
        ``"en"`` or ``"da"``.
    **values
        Values of the ``{placeholders}`` of the text; ``{n:num0}`` and
        ``{n:one|other}`` format numbers and plurals for ``lang`` (module docstring).

    Raises
    ------
    KeyError
        No such key.
    """
    entry = texts()[key]
    words = entry.get(lang) or entry["en"]
    return _Formatter(lang).render(words, values) if values else words


class _Formatter(string.Formatter):
    """``str.format`` plus the table's ``num`` and ``one|other`` specs, for one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def render(self, words: str, values: Mapping[str, Any]) -> str:
        """Fill ``words``; a value that ends in a full stop ("… mio. kr.") takes the
        place of the sentence's own stop right after it, so a sentence never ends "..".
        """
        out: list[str] = []
        for literal, name, spec, conversion in self.parse(words):
            if literal.startswith(".") and out and out[-1].endswith(".") and out[-1] != ".":
                literal = literal[1:]
            out.append(literal)
            if name is None:
                continue
            value, _ = self.get_field(name, (), values)
            if conversion:
                value = self.convert_field(value, conversion)
            out.append(self.format_field(value, self.vformat(spec or "", (), values)))
        return "".join(out)

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, _, other = format_spec.partition("|")
            # 1 (and 1.0) is singular in English and Danish; 0, fractions and the rest plural
            return one if _is_one(value) else other
        if format_spec.startswith("num"):
            digits = format_spec[3:]
            if digits:
                return number(value, int(digits), self.lang)
            whole = _is_whole(value)
            return number(value, 0 if whole else 1, self.lang)
        return str(super().format_field(value, format_spec))


def _in_words(value: Any, lang: str) -> Any:
    """A value as text for ``lang``: a text per language picked, a list joined "a, b and c"."""
    if isinstance(value, Mapping):
        return in_language(value, lang)
    if isinstance(value, list | tuple):
        names = [str(v) for v in value]
        if len(names) < 2:
            return "".join(names)
        return ", ".join(names[:-1]) + t("note.and", lang) + names[-1]
    return value


def _is_one(value: Any) -> bool:
    try:
        return float(value) == 1.0
    except (TypeError, ValueError):
        return False


def _is_whole(value: Any) -> bool:
    try:
        return float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        return True


@dataclass(frozen=True)
class Message:
    """A text of the message table kept for later: its key and the values to fill in.

    The scenario change log and the scorer's notes store these, so that one record
    serves the English CLI and tables and the report in either language.

    Attributes
    ----------
    key
        A key of ``templates/text.yaml``.
    values
        Raw values of the placeholders (numbers unformatted, category ids such as
        ``"owner_occupied"`` as ids; see ``categories``; a planner's text given per
        language as ``{"en": …, "da": …}``; a list of names, joined "a, b and c").
    categories
        Placeholder name -> category kind (``"tenure"``, ``"use"``, …): the value is
        shown by its name in the language (:func:`category`, first letter lower-case
        for running text).
    """

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """The message in ``lang``, placeholders filled and numbers formatted."""
        values = {name: _in_words(v, lang) for name, v in self.values.items()}
        for name, kind in self.categories.items():
            words = category(kind, values[name], lang)
            values[name] = words[:1].lower() + words[1:]
        return t(self.key, lang, **values)


def category(kind: str, value: Any, lang: str) -> str:
    """The name of a category value (``kind.value`` in the table), else the value itself.

    ``category("use", "retail", "da")`` gives ``"Butikker og service"``; an unknown
    value is shown as it is.
    """
    key = f"{kind}.{value}"
    return t(key, lang) if key in texts() else str(value)


def in_language(text: str | Mapping[str, str], lang: str) -> str:
    """A text given once (a string) or per language (``{"en": …, "da": …}``) in ``lang``.

    A text missing in ``lang`` falls back to the other languages, in the order of
    :data:`LANGUAGES`; an empty mapping gives ``""``.
    """
    if isinstance(text, str):
        return text
    for candidate in (lang, *LANGUAGES):
        if text.get(candidate):
            return str(text[candidate])
    return ""


def unit(name: str, lang: str) -> str:
    """A unit in ``lang``: ``unit("km/h", "da")`` gives ``"km/t"``; unknown units as given.

    The table's ``unit.<name>`` entries hold the units that have words of their own in
    a language; an empty translation means the number stands alone (a ratio).
    """
    entry = texts().get(f"unit.{name}")
    if entry is None:
        return name
    return str(entry[lang] if lang in entry else entry["en"])


def indicator_label(key: str, label: str, lang: str) -> str:
    """An indicator's label in ``lang``, from the catalogue (``standards/indicators``).

    Parameters
    ----------
    key
        The indicator id.
    label
        The label the module gave (English; it may carry a run parameter, e.g. the
        target speed: "… V85 ≤ 40 km/h" against the catalogue's "… ≤ 30 km/h").
    lang
        ``"en"`` or ``"da"``.

    Returns
    -------
    str
        ``label`` itself in English or for an id not in the catalogue.  Otherwise the
        catalogue's label in ``lang``, with the run's numbers put in place of the
        catalogue's when the two English labels differ only in their numbers; the
        catalogue's label alone when the module only added a detail in parentheses
        ("… (4,096 burning hours a year at 55.4°N)": the English tables keep it).  A
        label that differs in other words (a module's own wording, such as "plain
        count; § 168 a does not apply") stays as given.
    """
    from vollsmose_gis.indicators import catalogue

    entry = catalogue().get(key)
    if lang == "en" or entry is None:
        return label
    labels = entry["label"]
    catalogue_en, translated = str(labels["en"]), str(labels.get(lang) or labels["en"])
    if label == catalogue_en or label.startswith(catalogue_en + " ("):
        return translated
    run_numbers = _NUMBER.findall(label)
    default_numbers = _NUMBER.findall(catalogue_en)
    if _NUMBER.sub("#", label) != _NUMBER.sub("#", catalogue_en) or _NUMBER.findall(translated) != [
        _local(n, lang) for n in default_numbers
    ]:
        return label
    swaps = iter(_local(n, lang) for n in run_numbers)
    return _NUMBER.sub(lambda _: next(swaps), translated)


_NUMBER = re.compile(r"\d+(?:[.,\u2009]\d+)*")


def _local(figure: str, lang: str) -> str:
    """An English figure ("0.75", "1,000") written as ``lang`` writes it."""
    if lang != "da":
        return figure
    return figure.replace(",", "\u2009").replace(".", ",")


def number(value: Any, decimals: int = 0, lang: str = "en") -> str:
    """A number for people: thousands separators, ``decimals`` places, localised.

    Not a number (or not finite) gives ``"–"``.
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(x):
        return "–"
    out = f"{x:,.{decimals}f}"
    if lang == "da":
        out = out.replace(",", "\u2009").replace(".", ",")
    return out
