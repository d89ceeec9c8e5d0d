"""The provider's algorithms, one class per module."""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm

from .calming import CalmingAlgorithm
from .camera_placement import CameraPlacementAlgorithm
from .cctv_coverage import CctvCoverageAlgorithm
from .connectivity import ConnectivityAlgorithm
from .followup import FollowUpAlgorithm
from .import_osm import ImportOsmAlgorithm
from .lamp_planner import LampPlannerAlgorithm
from .lighting import LightingAlgorithm
from .mix import MixAlgorithm
from .safety import SafetyAlgorithm
from .score_scenarios import ScoreScenariosAlgorithm
from .suggest_links import SuggestLinksAlgorithm

__all__ = ["ALGORITHMS"]

ALGORITHMS: tuple[type[QgsProcessingAlgorithm], ...] = (
    ConnectivityAlgorithm,
    SuggestLinksAlgorithm,
    CalmingAlgorithm,
    LightingAlgorithm,
    LampPlannerAlgorithm,
    CctvCoverageAlgorithm,
    CameraPlacementAlgorithm,
    SafetyAlgorithm,
    MixAlgorithm,
    ScoreScenariosAlgorithm,
    FollowUpAlgorithm,
    ImportOsmAlgorithm,
)
"""Every algorithm of the provider, in toolbox order."""
