"""Downloading a place from OpenStreetMap (Nominatim + Overpass via osmnx) and importing it."""

from __future__ import annotations

import contextlib
import math
import socket
import tempfile
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vollsmose_gis._errors import InputError
from vollsmose_gis.district import District, Provenance
from vollsmose_gis.sources.osm.importer import import_osm
from vollsmose_gis.sources.osm.read import (
    _WGS84,
    OSM_ATTRIBUTION,
    OSM_LICENCE,
    BBox,
    OsmImport,
    Progress,
    _reproject,
    _utm_crs,
)
from vollsmose_gis.standards import load


def _check_reachable(urls: list[str], timeout_s: float) -> None:
    """Fail fast with a clear message when a web service cannot be reached."""
    import requests

    for url in urls:
        if requests.utils.get_environ_proxies(url):
            continue  # through a proxy: let requests (with its timeout) find out
        parsed = urlparse(url)
        host = parsed.hostname or url
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            raise InputError(
                f"cannot reach {host} ({exc}); downloading from OpenStreetMap needs network "
                "access. Offline, import a local .osm/.osm.pbf file instead (e.g. an extract "
                "from download.geofabrik.de or export.hotosm.org)"
            ) from exc


@contextlib.contextmanager
def _osmnx_timeout(timeout_s: float) -> Iterator[Any]:
    import osmnx as ox

    before = ox.settings.requests_timeout
    ox.settings.requests_timeout = timeout_s
    try:
        yield ox
    finally:
        ox.settings.requests_timeout = before


def _overpass_xml(elements: list[dict[str, Any]], path: Path) -> None:
    """Write Overpass JSON elements as an OSM XML file (nodes, ways, relations by id)."""
    root = ET.Element("osm", version="0.6", generator="vollsmose-gis from Overpass JSON")
    order = {"node": 0, "way": 1, "relation": 2}
    for element in sorted(elements, key=lambda e: (order.get(e["type"], 3), e["id"])):
        kind = element["type"]
        if kind not in order:
            continue
        attributes = {"id": str(element["id"]), "version": str(element.get("version", 1))}
        if "timestamp" in element:
            attributes["timestamp"] = element["timestamp"]
        if kind == "node":
            attributes |= {"lat": repr(element["lat"]), "lon": repr(element["lon"])}
        item = ET.SubElement(root, kind, attributes)
        for ref in element.get("nodes", []):
            ET.SubElement(item, "nd", ref=str(ref))
        for member in element.get("members", []):
            ET.SubElement(item, "member", type=member["type"], ref=str(member["ref"]),
                          role=member.get("role", ""))  # fmt: skip
        for key, value in element.get("tags", {}).items():
            ET.SubElement(item, "tag", k=key, v=value)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _overpass_query(bbox: BBox, keys: list[str], timeout_s: float, bus_routes: list[str]) -> str:
    west, south, east, north = bbox
    area = f"({south:.7f},{west:.7f},{north:.7f},{east:.7f})"
    features = "".join(f'nwr["{key}"]{area};' for key in keys)
    routes = "|".join(bus_routes)
    return (
        f"[out:json][timeout:{math.ceil(timeout_s)}];({features})->.f;"
        f'(.f;.f >;)->.all;rel(bw.f)["route"~"^({routes})$"]->.routes;(.all;.routes;);out meta;'
    )


def import_osm_place(
    place: str,
    *,
    name: str | None = None,
    crs: str = "auto",
    context_m: float = 1000.0,
    tenure: str | Mapping[str, str] | None = None,
    average_dwelling_m2: float | None = None,
    timeout_s: float = 30.0,
    progress: Progress | None = None,
) -> OsmImport:
    """Download a place from OpenStreetMap (Nominatim + Overpass via osmnx) and import it.

    Parameters
    ----------
    place
        A place Nominatim can find as a polygon, e.g. ``"Vollsmose, Odense"``.
    timeout_s
        Seconds to wait for each web request (osmnx ``requests_timeout``) and for the
        reachability check made first, so that no network fails fast.
    name, crs, context_m, tenure, average_dwelling_m2, progress
        As for :func:`import_osm`; the boundary is the geocoded polygon.

    Raises
    ------
    InputError
        No network (the services cannot be reached), the place is not found or is not
        a polygon, or the download fails.
    """
    import osmnx as ox
    import requests

    rules = load("osm_mapping")
    _check_reachable([ox.settings.nominatim_url, ox.settings.overpass_url], timeout_s)
    if progress:
        progress(0.0, f"geocoding {place!r}")
    with _osmnx_timeout(timeout_s):
        try:
            found = ox.geocode_to_gdf(place)
        except requests.RequestException as exc:
            raise InputError(f"geocoding {place!r} failed: network error ({exc})") from exc
        except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
            raise InputError(f"place {place!r} was not found by Nominatim ({exc})") from exc
        polygon = found.geometry.iloc[0]
        if polygon.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(
                f"place {place!r} geocodes to a {polygon.geom_type}, not an area; give a "
                "bbox and a local file instead"
            )
        centre = polygon.centroid
        local = _utm_crs(centre.x, centre.y)
        around = _reproject(_reproject(polygon, _WGS84, local).buffer(context_m), local, _WGS84)
        query = _overpass_query(around.bounds, list(rules["keys"]), timeout_s,
                                list(rules["streets"]["bus_routes"]))  # fmt: skip
        if progress:
            progress(0.05, "downloading from Overpass")
        try:
            response = ox._overpass._overpass_request(OrderedDict(data=query))
        except (requests.RequestException, ValueError) as exc:
            # ValueError covers osmnx's InsufficientResponseError/ResponseStatusCodeError.
            raise InputError(f"Overpass download for {place!r} failed ({exc})") from exc
    with tempfile.TemporaryDirectory(prefix="vollsmose-osm-") as tmp:
        path = Path(tmp) / "overpass.osm"
        _overpass_xml(response.get("elements", []), path)
        result = import_osm(
            path, boundary=polygon, boundary_crs="EPSG:4326", name=name or place, crs=crs,
            context_m=context_m, tenure=tenure, average_dwelling_m2=average_dwelling_m2,
            progress=progress,
        )  # fmt: skip
    report = result.report
    report.source = f"Overpass API {ox.settings.overpass_url}, place {place!r}"
    provenance = Provenance(
        source=f"OpenStreetMap via the Overpass API ({ox.settings.overpass_url}); "
        f"boundary of {place!r} from Nominatim",
        licence=OSM_LICENCE,
        date=result.district.provenance.date,
        kind="openstreetmap",
        attribution=OSM_ATTRIBUTION,
        notes=report.summary(),
    )
    return OsmImport(result.district.replace(provenance=provenance), report)


def district_from_place(place: str, **options: Any) -> District:
    """Return the District of a place downloaded from OpenStreetMap (needs network).

    See :func:`import_osm_place` for the options.
    """
    return import_osm_place(place, **options).district
