"""Compatibility module: layer schemas and validation, split since issue 15.

Layer schemas (dtypes, empty layers, conforming) live in :mod:`vollsmose_gis.layers`
and the checks in :mod:`vollsmose_gis.validation`; this module re-exports both so
``from vollsmose_gis.schema import validate_district`` keeps working.  New code should
import from those two modules (``district`` from ``layers`` only, which avoids an
import cycle).
"""

from __future__ import annotations

from vollsmose_gis.layers import column_dtype, conform_layer, empty_layer, new_street
from vollsmose_gis.validation import PlausibilityWarning, RepairWarning, validate_district

__all__ = [
    "PlausibilityWarning",
    "RepairWarning",
    "column_dtype",
    "conform_layer",
    "empty_layer",
    "new_street",
    "validate_district",
]
