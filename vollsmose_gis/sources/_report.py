"""What an importer shares: counting what it kept, dropped and estimated."""

from __future__ import annotations

from collections import Counter

__all__ = ["ImportCounts", "listing"]


def listing(counter: Counter[str]) -> str:
    """``"reason ×n; reason ×n"``, sorted by reason (for the provenance notes)."""
    return "; ".join(f"{reason} ×{n}" for reason, n in sorted(counter.items()))


class ImportCounts:
    """Methods over an import report's ``dropped`` counter (keyed ``"<layer>: <reason>"``).

    Mixed into the importers' report dataclasses, which declare the fields.
    """

    dropped: Counter[str]

    @property
    def n_dropped(self) -> int:
        """Total number of dropped objects."""
        return sum(self.dropped.values())

    def dropped_in(self, layer: str) -> int:
        """Number of dropped objects counted against one layer."""
        return sum(n for reason, n in self.dropped.items() if reason.startswith(f"{layer}: "))
