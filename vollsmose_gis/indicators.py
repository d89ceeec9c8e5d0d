"""The Indicator record every analysis module returns to the scorer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["THEMES", "Indicator"]

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
    """

    value: float
    unit: str
    higher_is_better: bool
    theme: str
    label: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)
