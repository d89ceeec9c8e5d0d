"""vollsmose-gis: model a district's streets, speeds, lighting, CCTV and mix; score plans.

The public API is re-exported here; everything else is internal.
"""

from vollsmose_gis._errors import DistrictFileError, DistrictValidationError, InputError, Problem
from vollsmose_gis._version import __version__
from vollsmose_gis.calming import operating_speeds, plan_calming
from vollsmose_gis.district import DEFAULT_CRS, LAYER_NAMES, District, Provenance
from vollsmose_gis.io import Raster, load_district, save_district, write_geotiff
from vollsmose_gis.mix import analyse_mix
from vollsmose_gis.network import StreetGraph, drive_graph, walk_graph
from vollsmose_gis.schema import RepairWarning, validate_district
from vollsmose_gis.sources.osm import district_from_osm
from vollsmose_gis.sources.vollsmose import default_district

__all__ = [
    "DEFAULT_CRS",
    "LAYER_NAMES",
    "District",
    "DistrictFileError",
    "DistrictValidationError",
    "InputError",
    "Problem",
    "Provenance",
    "Raster",
    "RepairWarning",
    "StreetGraph",
    "__version__",
    "analyse_mix",
    "default_district",
    "district_from_osm",
    "drive_graph",
    "load_district",
    "operating_speeds",
    "plan_calming",
    "save_district",
    "validate_district",
    "walk_graph",
    "write_geotiff",
]
