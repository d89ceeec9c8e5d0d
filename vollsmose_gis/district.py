"""The District: a bundle of layers, a study boundary and provenance.

A District is immutable by convention: every operation returns a new District and no
function of this package mutates the GeoDataFrames of its input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from vollsmose_gis import layers as layer_schema
from vollsmose_gis.standards import categories

__all__ = [
    "DEFAULT_CRS",
    "EVIDENCE_LAYERS",
    "LAYER_NAMES",
    "OPTIONAL_LAYERS",
    "District",
    "Provenance",
    "Settings",
]

DEFAULT_CRS = "EPSG:25832"
"""ETRS89 / UTM zone 32N, the Danish standard; all lengths are metres."""

LAYER_NAMES: tuple[str, ...] = (
    "streets",
    "buildings",
    "landuse",
    "lights",
    "cameras",
    "calming",
    "pois",
    "incidents",
    "safety_walk",
)

EVIDENCE_LAYERS: tuple[str, ...] = ("incidents", "safety_walk")
"""Evidence of (un)safety: recorded incidents and safety-walk marks (issue 19)."""

OPTIONAL_LAYERS: frozenset[str] = frozenset(EVIDENCE_LAYERS)
"""Layers a district file may lack: :func:`vollsmose_gis.io.load_district` reads a
missing optional table as an empty layer (files written before the layer existed)."""


@dataclass(frozen=True)
class Provenance:
    """Where a District's data came from.

    Parameters
    ----------
    source
        Human-readable description of the source (files, figures, URLs).
    licence
        Licence of the data (e.g. ``"ODbL 1.0"``).
    date
        ISO date the data was retrieved or created.
    kind
        ``"surveyed"``, ``"openstreetmap"`` or ``"schematic"``.
    attribution
        The credit line every map and report must carry.
    notes
        Free text: what is estimated, what is missing, what was dropped.
    """

    source: str = "unknown"
    licence: str = "unknown"
    date: str = field(default_factory=lambda: dt.date.today().isoformat())
    kind: str = "surveyed"
    attribution: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        allowed = categories("provenance_kinds")
        if self.kind not in allowed:
            raise ValueError(f"provenance kind {self.kind!r} is not one of {list(allowed)}")

    @property
    def is_schematic(self) -> bool:
        """True when the data is a schematic model rather than real data."""
        return self.kind == "schematic"

    def statement(self) -> str:
        """Return the one-line provenance statement printed on every output."""
        if self.kind == "schematic":
            lead = "Schematic model built from public figures, not surveyed data"
        elif self.kind == "openstreetmap":
            lead = "OpenStreetMap data"
        else:
            lead = "Surveyed data"
        parts = [lead, f"source: {self.source}", f"licence: {self.licence}", f"date: {self.date}"]
        if self.attribution:
            parts.append(self.attribution)
        return "; ".join(parts)

    def to_dict(self) -> dict[str, str]:
        """Return the fields as a plain dict (for GeoPackage metadata and JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Settings:
    """What a District assumes about its place: country, rules, currency, centre.

    Nothing Danish or Odense-specific is assumed unless a District says so: a District
    built without settings has an unknown country, no legal rules, no city centre, and
    the rules' indicators read "not applicable".  The embedded Vollsmose district carries
    Denmark, the almenboligloven rules and Odense's centre.

    Attributes
    ----------
    country
        ISO 3166-1 alpha-2 code (``"DK"``), or None when unknown.
    rules
        Ids of the legal rules that apply (``standards/rules.yaml``): ``"dk_168a"``
        (almenboligloven § 168 a, the 40 % rule), ``"dk_61a"`` (§ 61 a area criteria).
    currency
        ISO 4217 code of the costs (the unit-cost table is in this currency).
    unit_costs
        Name of the unit-cost table in ``standards/unit_costs.yaml``.
    centre_xy
        The city centre in the district CRS (metres), or None (derived from the data
        where possible, else distances to the centre are not measured).
    centre_name
        What the centre is (``"Odense C (Flakhaven)"``), for messages and reports.
    latitude_deg
        Latitude for lamp burning hours; None: the boundary's latitude.
    rule_area
        The polygon the area rules apply to (e.g. the estates' parcels); None: the
        study boundary.
    notes
        Free text: where the settings came from.
    """

    country: str | None = None
    rules: tuple[str, ...] = ()
    currency: str = "DKK"
    unit_costs: str = "dk"
    centre_xy: tuple[float, float] | None = None
    centre_name: str = ""
    latitude_deg: float | None = None
    rule_area: BaseGeometry | None = None
    notes: str = ""

    def applies(self, rule: str) -> bool:
        """True when the legal rule ``rule`` applies to the district."""
        return rule in self.rules

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the rule area as WKT)."""
        # field by field, not dataclasses.asdict: that deep-copies the rule area by
        # pickling it through WKB, which fails where an older system GEOS is loaded first
        # (qgis_process)
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["rules"] = list(self.rules)
        out["centre_xy"] = list(self.centre_xy) if self.centre_xy is not None else None
        out["rule_area"] = (
            shapely.to_wkt(self.rule_area, output_dimension=2)
            if self.rule_area is not None
            else None
        )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown district setting(s) {unknown}; settings are {sorted(known)}")
        values = dict(data)
        values["rules"] = tuple(values.get("rules") or ())
        if values.get("centre_xy") is not None:
            x, y = (float(v) for v in values["centre_xy"])
            values["centre_xy"] = (x, y)
        if values.get("rule_area"):
            values["rule_area"] = shapely.from_wkt(values["rule_area"])
        return cls(**values)


@dataclass(frozen=True, eq=False)
class District:
    """A district: study boundary, its layers and provenance, in one projected CRS.

    Use :meth:`District.create` to build one from whatever layers you have (missing
    layers become empty layers with the right columns).  Layers may extend beyond the
    boundary to give context; analyses report "inside the boundary" figures.

    Attributes
    ----------
    name
        Display name of the district.
    crs
        Projected CRS of every layer and of the boundary (metres), e.g. ``"EPSG:25832"``.
    boundary
        The study area polygon, in ``crs``.
    streets, buildings, landuse, lights, cameras, calming, pois
        The layers (GeoDataFrames) described in ``standards/layers.yaml``.
    incidents, safety_walk
        The evidence layers (recorded incidents, safety-walk marks); empty when the
        district has no evidence.  Built by :meth:`create` or read by
        :func:`~vollsmose_gis.io.load_district`; a District constructed directly
        without them gets empty ones.
    provenance
        Where the data came from.
    settings
        What the district assumes about its place (country, rules, currency, centre).
    """

    name: str
    crs: str
    boundary: BaseGeometry
    streets: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    lights: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    calming: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    provenance: Provenance = field(default_factory=Provenance)
    settings: Settings = field(default_factory=Settings)
    incidents: gpd.GeoDataFrame = None
    safety_walk: gpd.GeoDataFrame = None

    def __post_init__(self) -> None:
        # optional layers left out of a direct construction become empty layers
        for layer in EVIDENCE_LAYERS:
            if getattr(self, layer) is None:
                object.__setattr__(self, layer, layer_schema.empty_layer(layer, self.crs))

    @classmethod
    def create(
        cls,
        name: str,
        boundary: BaseGeometry,
        *,
        crs: str = DEFAULT_CRS,
        provenance: Provenance | None = None,
        settings: Settings | None = None,
        **layers: gpd.GeoDataFrame,
    ) -> District:
        """Build a District, conforming given layers to the schema and adding empty ones.

        Parameters
        ----------
        name
            Display name.
        boundary
            Study area polygon in ``crs``.
        crs
            Projected CRS of the district (default EPSG:25832).
        provenance
            Where the data came from (default: unknown, surveyed).
        settings
            Country, rules, currency, centre (default: nothing assumed).
        **layers
            Any of ``streets``, ``buildings``, ``landuse``, ``lights``, ``cameras``,
            ``calming``, ``pois``, ``incidents``, ``safety_walk``.  Columns are cast to
            the schema's dtypes where the values allow it; run
            :func:`vollsmose_gis.validate_district` to check them.
        """
        _check_projected(crs, name)
        unknown = set(layers) - set(LAYER_NAMES)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; layers are {list(LAYER_NAMES)}")
        frames = {
            layer: (
                layer_schema.conform_layer(layers[layer], layer)
                if layer in layers
                else layer_schema.empty_layer(layer, crs)
            )
            for layer in LAYER_NAMES
        }
        return cls(
            name=name,
            crs=crs,
            boundary=boundary,
            provenance=provenance or Provenance(),
            settings=settings or Settings(),
            **frames,
        )

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers keyed by name, in the order of :data:`LAYER_NAMES` (evidence last)."""
        return {name: getattr(self, name) for name in LAYER_NAMES}

    @property
    def rule_area(self) -> BaseGeometry:
        """The polygon the area rules apply to (:attr:`Settings.rule_area`, else the boundary)."""
        return self.settings.rule_area if self.settings.rule_area is not None else self.boundary

    @property
    def boundary_area_m2(self) -> float:
        """Area of the study boundary in square metres."""
        return float(self.boundary.area)

    def replace(self, **changes: Any) -> District:
        """Return a new District with some fields (or layers) replaced.

        Layers passed here are conformed to the schema, as in :meth:`create`.
        """
        for layer in LAYER_NAMES:
            if layer in changes:
                changes[layer] = layer_schema.conform_layer(changes[layer], layer)
        return dataclasses.replace(self, **changes)

    def fingerprint(self, *layer_names: str, boundary: bool = True) -> str:
        """Return a content hash of some layers (all if none named) and the boundary.

        Two Districts with the same layer contents have the same fingerprint, whatever
        their identity: modules use it to cache work (graphs, rasters) by content.
        """
        names = layer_names or LAYER_NAMES
        digest = hashlib.sha256(self.crs.encode())
        if boundary:
            digest.update(shapely.to_wkb(self.boundary, output_dimension=2))
        for name in names:
            digest.update(name.encode())
            digest.update(_frame_digest(getattr(self, name)))
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description: layers and counts, CRS, bounds, provenance."""
        minx, miny, maxx, maxy = (float(v) for v in self.boundary.bounds)
        return {
            "name": self.name,
            "crs": self.crs,
            "boundary_area_ha": round(self.boundary_area_m2 / 10_000, 2),
            "boundary_bounds": [minx, miny, maxx, maxy],
            "layers": {name: len(frame) for name, frame in self.layers.items()},
            "dwellings": int(self.buildings["dwellings"].fillna(0).sum()),
            "provenance": self.provenance.to_dict(),
            "provenance_statement": self.provenance.statement(),
            "settings": self.settings.to_dict(),
        }

    def _repr_html_(self) -> str:
        """A compact table for notebooks: layers and counts, CRS, area, provenance."""
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(name)}</td><td style='text-align:right'>{len(frame):,}</td></tr>"
            for name, frame in self.layers.items()
        )
        settings = self.settings
        place = ", ".join(
            part
            for part in (
                f"country {settings.country}" if settings.country else "country unknown",
                f"rules {', '.join(settings.rules)}" if settings.rules else "no legal rules",
                f"centre {settings.centre_name}" if settings.centre_name else "",
            )
            if part
        )
        return (
            f"<div><b>{escape(self.name)}</b> — {escape(self.crs)}, "
            f"{self.boundary_area_m2 / 10_000:,.1f} ha; {escape(place)}"
            f"<table><tr><th>layer</th><th>features</th></tr>{rows}</table>"
            f"<small><i>{escape(self.provenance.statement())}</i></small></div>"
        )

    def explore(self, layer: str | None = None, **kwargs: Any) -> Any:
        """An interactive folium map of the district (geopandas' ``explore``).

        Parameters
        ----------
        layer
            One layer to draw (default: the boundary, land use, buildings and streets).
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.explore` (``tiles=None`` by
            default: no basemap is fetched, so it works offline).

        Returns
        -------
        folium.Map
            The map, with the provenance as its attribution.
        """
        kwargs.setdefault("tiles", None)
        boundary = gpd.GeoDataFrame({"name": [self.name]}, geometry=[self.boundary], crs=self.crs)
        m = boundary.explore(style_kwds={"fill": False, "color": "#222", "weight": 2}, **kwargs)
        kwargs.pop("tiles", None)
        names = [layer] if layer else ["landuse", "buildings", "streets"]
        for name in names:
            frame = getattr(self, name)
            if len(frame):
                frame.explore(m=m, name=name, **kwargs)
        from html import escape

        import folium

        # every map says where its data came from
        caption = (
            "<div style='position:fixed;bottom:4px;left:4px;z-index:9999;background:#fffc;"
            f"padding:2px 6px;font:11px sans-serif'>{escape(self.provenance.statement())}</div>"
        )
        m.get_root().html.add_child(folium.Element(caption))
        return m

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.layers.items())
        kind = self.provenance.kind
        return f"District(name={self.name!r}, crs={self.crs!r}, {counts}, kind={kind!r})"


def _check_projected(crs: str, name: str) -> None:
    """Refuse a geographic or unknown CRS: every length and area here is in metres."""
    import pyproj

    from vollsmose_gis._errors import InputError

    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"district {name!r}: unknown CRS {crs!r} ({exc})") from None
    if not parsed.is_projected:
        raise InputError(
            f"district {name!r}: CRS {crs} is not projected (lengths would be in degrees); "
            "reproject the layers to a projected CRS in metres, e.g. EPSG:25832 in Denmark "
            "or the UTM zone of the district"
        )


def _frame_digest(frame: gpd.GeoDataFrame) -> bytes:
    """Hash a GeoDataFrame's geometry (WKB) and attribute values."""
    digest = hashlib.sha256()
    geometry = frame.geometry.to_numpy()
    digest.update(b"".join(shapely.to_wkb(geometry, output_dimension=2, include_srid=False)))
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    digest.update(",".join(map(str, attributes.columns)).encode())
    if len(attributes):
        # column by column: typed columns hash natively, mixed object columns as text
        for _, column in attributes.items():
            if column.dtype == object:
                column = column.astype(str)
            digest.update(str(column.dtype).encode())
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
    return digest.digest()
