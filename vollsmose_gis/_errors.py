"""Exceptions of vollsmose-gis.

All errors caused by user input derive from :class:`InputError` (a ``ValueError``), so
the CLI and the QGIS plugin can tell "fix your input" from a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DistrictFileError", "DistrictValidationError", "InputError", "Problem"]


class InputError(ValueError):
    """Bad input: a file, a layer, a parameter or a value the user can fix."""


class DistrictFileError(InputError):
    """A file that cannot be read or written as a district (GeoPackage, OSM...)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is, what is wrong, and what is allowed."""

    layer: str
    feature_id: str | None
    column: str | None
    message: str
    allowed: str | None = None

    def __str__(self) -> str:
        where = [f"layer {self.layer!r}"]
        if self.feature_id is not None:
            where.append(f"feature {self.feature_id!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class DistrictValidationError(InputError):
    """A District breaks its schema; :attr:`problems` lists every problem found."""

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in district"
        if source:
            head += f" {source}"
        lines = [head + ":"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))
