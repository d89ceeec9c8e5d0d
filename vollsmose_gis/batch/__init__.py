"""Many areas and many runs on a distributed engine (Dask).

- :mod:`~vollsmose_gis.batch.areas` - :func:`run_batch`: import, analyse and rank a list
  of areas cut from one OpenStreetMap extract (``vollsmose-gis batch``);
- :mod:`~vollsmose_gis.batch.ensemble` - :func:`score_ensemble`: every scenario scored
  under N draws of the models' uncertain parameters (``score --ensemble N``).

Both run on a ``dask.distributed`` ``LocalCluster`` by default, or on any running
scheduler given by address, or in this process (``workers=0``).
"""

from __future__ import annotations

from vollsmose_gis.batch.areas import (
    CONNECT_TIMEOUT_S,
    EXTRACT_SLACK_M,
    AreaOutcome,
    BatchResult,
    code_version,
    connect,
    extract_areas,
    read_areas,
    run_area,
    run_batch,
)
from vollsmose_gis.batch.ensemble import (
    ENSEMBLE_SOURCE,
    UncertainParameter,
    add_to_robustness,
    draw_parameters,
    ensemble_frame,
    score_ensemble,
    uncertain_parameters,
)

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENSEMBLE_SOURCE",
    "EXTRACT_SLACK_M",
    "AreaOutcome",
    "BatchResult",
    "UncertainParameter",
    "add_to_robustness",
    "code_version",
    "connect",
    "draw_parameters",
    "ensemble_frame",
    "extract_areas",
    "read_areas",
    "run_area",
    "run_batch",
    "score_ensemble",
    "uncertain_parameters",
]
