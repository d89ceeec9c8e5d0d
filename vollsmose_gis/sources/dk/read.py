"""Reading the registers' files: CSV, GeoPackage, GML; column, CRS and extent checks.

Every problem is an :class:`~vollsmose_gis._errors.InputError` naming the file (and the
column or row) and saying what to do.  Nothing here knows what a code means: that is
:mod:`~vollsmose_gis.sources.dk.mapping`.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from vollsmose_gis._errors import InputError
from vollsmose_gis.sources._report import ImportCounts, listing
from vollsmose_gis.standards import load
from vollsmose_gis.validation import area_of_use_box

__all__ = ["DkReport", "code", "read_table", "register_date"]

PathLike = str | os.PathLike[str]

_VECTOR_SUFFIXES = (".gpkg", ".gml", ".xml", ".geojson", ".json", ".fgb", ".shp")


@dataclass
class DkReport(ImportCounts):
    """What an import of the Danish registers read, kept, dropped and estimated.

    Counters are keyed ``"<layer>: <reason>"``.

    Attributes
    ----------
    sources
        Register -> file read (``"BBR buildings"`` -> ``"bbr.csv"``...).
    dates
        Register -> date of the data (ISO), and how it was found.
    kept
        Features per District layer.
    dropped
        Register rows that could not be used, by reason.
    estimated
        Values that are not from the registers (dwelling estimates...), by reason.
    unknown_codes
        Code values not in the mapping, keyed ``"<field> <code>"``, with counts.
    notes
        Sentences for the provenance notes.
    """

    sources: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    estimated: Counter[str] = field(default_factory=Counter)
    unknown_codes: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return the report as a few sentences (used as provenance notes)."""
        read = ", ".join(f"{register} {path}" for register, path in self.sources.items())
        kept = ", ".join(f"{n} {layer}" for layer, n in self.kept.items())
        parts = [f"Imported from the Danish registers ({read}): kept {kept}."]
        parts.append(f"Dropped: {listing(self.dropped)}." if self.dropped else "Dropped nothing.")
        if self.unknown_codes:
            parts.append(f"Unknown codes (not in dk_mapping.yaml): {listing(self.unknown_codes)}.")
        if self.estimated:
            parts.append(f"Estimated: {listing(self.estimated)}.")
        parts.extend(self.notes)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "sources": dict(self.sources),
            "dates": dict(self.dates),
            "kept": dict(self.kept),
            "dropped": dict(self.dropped),
            "estimated": dict(self.estimated),
            "unknown_codes": dict(self.unknown_codes),
            "notes": list(self.notes),
        }


def code(value: Any) -> str | None:
    """A register code as text: ``140``, ``140.0`` and ``" 140 "`` -> ``"140"``; empty -> None."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def _existing(path: PathLike, role: str) -> Path:
    file = Path(path)
    if not file.exists():
        raise InputError(f"{role} file {file}: no such file")
    if not file.is_file():
        raise InputError(f"{role} file {file}: is a folder, not a file")
    if file.stat().st_size == 0:
        raise InputError(f"{role} file {file}: is empty (0 bytes); export the register again")
    return file


def _read_csv(file: Path, role: str) -> pd.DataFrame:
    """Read a register CSV as text columns (codes keep leading zeros); ``,`` or ``;``."""
    with file.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(8192)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            file, sep=delimiter, dtype=str, encoding="utf-8-sig", keep_default_na=False,
            na_values=[""],
        )  # fmt: skip
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"{role} file {file}: not a readable CSV ({exc}); export it as UTF-8 CSV"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


_TRANSLITERATION = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})


def _column_key(name: str) -> str:
    """Lower case, æ/ø/å transliterated: ``byg026Opførelsesår`` -> ``byg026opfoerelsesaar``.

    Exports write the specification's names in either case, and some transliterate
    æ/ø/å (``enh046OffentligStoette``); both spellings name the same field.
    """
    return name.lower().translate(_TRANSLITERATION)


_DBF_NAME_LENGTH = 10  # a shapefile (DBF) truncates field names to 10 characters


def _resolve_columns(frame: pd.DataFrame, names: list[str]) -> dict[str, str]:
    """Specification name -> the frame's column of that name (only the ones found).

    A shapefile's names cut to 10 characters (``vejkategor``) match the one
    specification name they begin.
    """
    found: dict[str, str] = {}
    keys = {_column_key(str(c)): str(c) for c in frame.columns}
    for name in names:
        key = _column_key(name)
        if name in frame.columns:
            found[name] = name
        elif key in keys:
            found[name] = keys[key]
        elif len(key) > _DBF_NAME_LENGTH and key[:_DBF_NAME_LENGTH] in keys:
            cut = key[:_DBF_NAME_LENGTH]
            if sum(_column_key(n)[:_DBF_NAME_LENGTH] == cut for n in names) == 1:
                found[name] = keys[cut]
    return found


def _read_vector(file: Path, role: str, layer: str | None) -> pd.DataFrame:
    """The layer of a vector file: the only one, else the one named like the object."""
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(file)]
    except Exception as exc:  # GDAL raises several types for "not a dataset"
        raise InputError(f"{role} file {file}: not a readable vector file ({exc})") from None
    chosen = layers[0] if len(layers) == 1 else None
    if chosen is None and layer is not None:
        named = [name for name in layers if name.lower().endswith(layer.lower())]
        chosen = named[0] if len(named) == 1 else None
    if chosen is None:
        raise InputError(
            f"{role} file {file}: holds the layers {layers}; none (or more than one) is "
            f"named {layer!r}: give a file with the one layer"
        )
    try:
        return gpd.read_file(file, layer=chosen)
    except Exception as exc:  # GDAL raises several types for "not a dataset"
        raise InputError(f"{role} file {file}: layer {chosen!r} not readable ({exc})") from None


def read_table(
    path: PathLike,
    role: str,
    *,
    required: list[str],
    optional: list[str],
    point_column: str | None,
    crs: pyproj.CRS,
    report: DkReport,
    layer: str | None = None,
    geometry: bool = False,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one register file and return its rows with the specification's column names.

    Parameters
    ----------
    path
        A CSV (text columns; a WKT geometry in ``point_column``), or a vector file that
        GDAL reads (GeoPackage, GML...).
    role
        What the file is, for messages (``"BBR buildings"``).
    required, optional
        Specification field names, matched regardless of case and of æ/ø/å written as
        ae/oe/aa; a missing required one is an error naming the file.
    point_column
        The CSV column holding a WKT point (``byg404Koordinat``, ``position``), or None.
    crs
        The district CRS (projected, metres): geometry is checked against it.
    report
        Receives the file name and notes.
    layer
        The object's name (``"Bygning"``): the layer read from a vector file holding
        several (a GeoDanmark download with every object type).
    geometry
        The file must carry geometry (GeoDanmark layers).

    Returns
    -------
    GeoDataFrame or DataFrame
        Columns renamed to the specification names; a GeoDataFrame in ``crs`` when the
        file has geometry (vector file, or a CSV with ``point_column``).

    Raises
    ------
    InputError
        Missing or empty file, no rows, missing required columns, unreadable WKT,
        geometry in a geographic CRS or with coordinates outside the CRS's area of use.
    """
    file = _existing(path, role)
    report.sources[role] = file.name
    vector = file.suffix.lower() in _VECTOR_SUFFIXES
    if vector:
        frame: pd.DataFrame = _read_vector(file, role, layer)
    else:
        frame = _read_csv(file, role)
    if len(frame) == 0:
        raise InputError(f"{role} file {file}: holds no rows; export the register again")
    names = [*required, *optional] + ([point_column] if point_column else [])
    columns = _resolve_columns(frame, names)
    missing = [name for name in required if name not in columns]
    if missing:
        have = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise InputError(
            f"{role} file {file}: required column(s) {', '.join(missing)} missing (the file "
            f"has: {have}); export the fields named in the specification (docs/dk-mapping.md)"
        )
    out = frame.rename(columns={v: k for k, v in columns.items()})
    keep = [name for name in names if name in out.columns]
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        result = gpd.GeoDataFrame(
            out[keep], geometry=frame.geometry.to_numpy(), crs=frame.crs
        ).reset_index(drop=True)
        return _checked_crs(result, file, role, crs, report)
    if geometry:
        raise InputError(f"{role} file {file}: has no geometry; give a GeoPackage or GML file")
    if point_column and point_column in out.columns:
        return _points_from_wkt(out[keep].reset_index(drop=True), point_column, file, role, crs,
                                report)  # fmt: skip
    return out[keep].reset_index(drop=True)


def _points_from_wkt(
    frame: pd.DataFrame, column: str, file: Path, role: str, crs: pyproj.CRS, report: DkReport
) -> gpd.GeoDataFrame:
    """A GeoDataFrame whose geometry is the WKT of ``column`` (empty cells: no geometry)."""
    text = frame[column].astype("string")
    geoms = np.full(len(frame), None, dtype=object)
    for i, wkt in enumerate(text.tolist()):
        if wkt is pd.NA or not str(wkt).strip():
            continue
        try:
            geoms[i] = shapely.from_wkt(str(wkt).strip())
        except shapely.errors.GEOSException:
            raise InputError(
                f"{role} file {file}: row {i + 2}, column {column}: {str(wkt)[:60]!r} is not "
                "WKT (expected e.g. 'POINT(589000.0 6139000.0)' in the district CRS)"
            ) from None
    result = gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=geoms, crs=crs)
    return _checked_crs(result, file, role, crs, report, declared=False)


def _checked_crs(
    frame: gpd.GeoDataFrame, file: Path, role: str, crs: pyproj.CRS, report: DkReport,
    *, declared: bool = True,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Refuse geographic CRSs and coordinates that do not belong to ``crs``; reproject.

    The registers are delivered in ETRS89 / UTM 32N (EPSG:25832).  A file in another
    projected CRS is reprojected (noted); a file without a CRS is read as ``crs``.
    """
    target = crs.to_string()
    if declared:
        if frame.crs is None:
            frame = frame.set_crs(crs)
            report.notes.append(f"{role} ({file.name}) declares no CRS: read as {target}.")
        elif frame.crs.is_geographic:
            raise InputError(
                f"{role} file {file}: geometry is in a geographic CRS ({frame.crs.to_string()}, "
                f"degrees); the registers are delivered in {target} — download them in "
                f"{target} or reproject, e.g. ogr2ogr -t_srs {target} out.gpkg {file.name}"
            )
        elif not frame.crs.equals(crs):
            report.notes.append(f"{role} ({file.name}) reprojected from {frame.crs.to_string()}.")
            frame = frame.to_crs(crs)
    frame = frame.set_geometry(shapely.force_2d(frame.geometry.to_numpy()), crs=crs)
    present = frame.geometry.notna() & ~frame.geometry.is_empty
    if not present.any():
        return frame
    box = area_of_use_box(target)
    if box is None:
        return frame
    margin = float(load("layers")["extent"]["area_of_use_margin_m"])
    minx, miny, maxx, maxy = frame.geometry[present].total_bounds
    if (
        minx < box[0] - margin
        or miny < box[1] - margin
        or maxx > box[2] + margin
        or (maxy > box[3] + margin)
    ):
        hint = (
            " — they look like degrees (longitude/latitude) read as metres"
            if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) <= 180
            else ""
        )
        raise InputError(
            f"{role} file {file}: coordinates ({minx:.1f}, {miny:.1f})..({maxx:.1f}, "
            f"{maxy:.1f}) lie outside the area of use of {target}{hint}; the file's CRS is "
            f"wrong or the data is not in {target}: fix the CRS (e.g. ogr2ogr -a_srs / "
            "-t_srs) or pass crs= the data's CRS"
        )
    return frame


def register_date(frame: pd.DataFrame, path: PathLike) -> tuple[str, str]:
    """The date of a register extract: its newest ``registreringFra``, else the file's date.

    Returns
    -------
    (date, how)
        ISO date and ``"registreringFra"`` or ``"file date"``.
    """
    columns = _resolve_columns(frame, ["registreringFra"])
    if columns:
        text = frame[columns["registreringFra"]].astype("string").str.strip()
        valid = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601").notna()
        if valid.any():
            # the date as written (local time of the register), not converted to UTC
            return str(text[valid].str[:10].max()), "registreringFra"
    stamp = dt.datetime.fromtimestamp(Path(path).stat().st_mtime, tz=dt.UTC)
    return stamp.date().isoformat(), "file date"
