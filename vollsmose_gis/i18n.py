r"""Words for people: the message table of the maps and the council report, in English and Danish.

Every text the maps and the report show comes from one table,
``templates/text.yaml`` (key -> ``{en: …, da: …}``), through :func:`t`.  Numbers
are formatted for the language by :func:`number` (Danish: comma decimals, thin-space
thousands).  Editing the YAML file changes the wording; ``{placeholders}`` in it are
filled in by the code.

Examples
--------
>>> t("map.today", "da")
'I dag (basis)'
>>> number(12345.6, 1, "da")
'12\\u2009345,6'
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vollsmose_gis._errors import InputError

__all__ = ["LANGUAGES", "category", "check_lang", "has", "number", "t", "texts"]

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
        Values of the ``{placeholders}`` of the text.

    Raises
    ------
    KeyError
        No such key.
    """
    entry = texts()[key]
    words = entry.get(lang) or entry["en"]
    return words.format(**values) if values else words


def category(kind: str, value: Any, lang: str) -> str:
    """The name of a category value (``kind.value`` in the table), else the value itself.

    ``category("use", "retail", "da")`` gives ``"Butikker og service"``; an unknown
    value is shown as it is.
    """
    key = f"{kind}.{value}"
    return t(key, lang) if key in texts() else str(value)


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
