"""Import a District from the Danish registers: BBR, GeoDanmark and DAR.

A municipality holds its buildings, dwellings and roads in three national registers:

- **BBR** (Bygnings- og Boligregistret, 2.x object model of Datafordeleren):
  ``BBR_Bygning`` (use code, floor areas, floors, ownership code) and ``BBR_Enhed``
  (units: use, Boligtype, areas, public subsidy);
- **GeoDanmark** (specifikation 6.0.1): ``Bygning`` footprints and ``Vejmidte`` road
  centrelines;
- **DAR** (Danmarks Adresseregister): ``Husnummer`` with its ``Adressepunkt``.

:func:`import_dk` reads them (CSV as exported, GeoPackage or GML through GDAL), joins
BBR buildings to their footprints (``BBRUUID``/``bygning_id``, else the BBR point, else the DAR
address point inside a footprint) and maps the codes to the District's building
``use``, ``tenure``, ``dwellings`` and floor areas, and the road centrelines to
``streets``.  The mapping is data (``standards/dk_mapping.yaml``), documented as one
table in ``docs/dk-mapping.md``.

- :mod:`~vollsmose_gis.sources.dk.read` - files, columns, CRS checks, the import report;
- :mod:`~vollsmose_gis.sources.dk.mapping` - codes -> columns, the footprint join, streets;
- :mod:`~vollsmose_gis.sources.dk.importer` - :func:`import_dk`, the assembly.
"""

from __future__ import annotations

from vollsmose_gis.sources.dk.importer import (
    DkCodeWarning,
    DkImport,
    import_dk,
    import_dk_with_report,
)
from vollsmose_gis.sources.dk.read import DkReport

__all__ = ["DkCodeWarning", "DkImport", "DkReport", "import_dk", "import_dk_with_report"]
