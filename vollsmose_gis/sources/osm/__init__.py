"""Import a District from OpenStreetMap: ``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``.

The files are read with pyosmium (libosmium, streaming, node locations cached in C++);
geometries are built here with shapely so that messy real extracts can be handled
feature by feature: ways clipped at the extract edge keep their located parts, broken
multipolygons keep their closed rings, duplicate nodes are removed, odd tag values fall
back to documented defaults.  Whatever cannot be used is dropped and counted in an
:class:`ImportReport`, whose summary becomes the District's provenance notes.

How tags become layer columns is data (``standards/osm_mapping.yaml``), documented as
one table in ``docs/osm-mapping.md``.

Online, :func:`district_from_place` geocodes a place with osmnx (Nominatim), downloads
its data through osmnx's Overpass client and imports it the same way.

The package is split the way OSMnx is:

- :mod:`~vollsmose_gis.sources.osm.read` - the import report, the study area
  (bbox/boundary), streaming the file with pyosmium;
- :mod:`~vollsmose_gis.sources.osm.tags` - tag values (maxspeed, lengths, counts,
  camera directions) and the tag -> column rules;
- :mod:`~vollsmose_gis.sources.osm.geometry` - rings, multipolygons, representative
  points;
- :mod:`~vollsmose_gis.sources.osm.layers` - the District layers from the read objects;
- :mod:`~vollsmose_gis.sources.osm.importer` - :func:`import_osm`, the assembly;
- :mod:`~vollsmose_gis.sources.osm.overpass` - :func:`import_osm_place` (online).

Every name importable from ``vollsmose_gis.sources.osm`` before the split still is.

Data © OpenStreetMap contributors, ODbL 1.0: every District from here carries that
attribution in its provenance.
"""

from __future__ import annotations

# The private names are re-exported so that code written against the single module
# (tests, benchmarks, monkeypatches) keeps working.
# ruff: noqa: F401
from vollsmose_gis.sources.osm.geometry import (
    _distinct,
    _polygonal,
    _relation_polygon,
    _representative_point,
    _way_polygon,
)
from vollsmose_gis.sources.osm.importer import (
    _date,
    _distortion_note,
    district_from_osm,
    import_osm,
)
from vollsmose_gis.sources.osm.layers import (
    _area_features,
    _buildings,
    _calming,
    _cameras,
    _frame,
    _landuse,
    _lights,
    _pois,
    _settle_buildings,
    _streets,
)
from vollsmose_gis.sources.osm.overpass import (
    _check_reachable,
    _osmnx_timeout,
    _overpass_query,
    _overpass_xml,
    district_from_place,
    import_osm_place,
)
from vollsmose_gis.sources.osm.read import (
    _FORMATS,
    _WGS84,
    OSM_ATTRIBUTION,
    OSM_LICENCE,
    BBox,
    BoundaryLike,
    ImportReport,
    OsmImport,
    Progress,
    _Area,
    _check_bbox,
    _is_file,
    _parse_crs,
    _project,
    _Raw,
    _read,
    _read_boundary_file,
    _reproject,
    _resolve_area,
    _resolve_source,
    _tags,
    _utm_crs,
    _Way,
    logger,
    parse_bbox,
)
from vollsmose_gis.sources.osm.tags import (
    _FEET_INCHES,
    _NUMBER,
    _access,
    _direction,
    _first_match,
    _height,
    _is_building,
    _number,
    _parse_count,
    _parse_length_m,
    _poi_kind,
    _street_attributes,
    _tenure_rule,
    parse_maxspeed,
    parse_tenure,
)

__all__ = [
    "OSM_ATTRIBUTION",
    "OSM_LICENCE",
    "ImportReport",
    "OsmImport",
    "district_from_osm",
    "district_from_place",
    "import_osm",
    "import_osm_place",
    "parse_bbox",
    "parse_maxspeed",
    "parse_tenure",
]
