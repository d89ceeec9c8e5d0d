"""District-plan scenarios: YAML files of ordered interventions applied to a District.

A scenario names a base district (default: the embedded Vollsmose model), optionally
``extends:`` another scenario (its interventions come first), and lists typed
interventions.  :func:`apply_scenario` checks every reference before it changes
anything, then returns the new District and a change log.

Scenario files are untrusted input.  The files they reference (``extends:``, ``base:``,
vector files in ``geometry:``) must lie inside the scenario's folder tree (or folders
the caller allows, such as the district's) unless ``allow_outside_paths=True``; the
work and text they may ask for are bounded before it starts
(:data:`MAX_SCENARIO_FILE_BYTES`, :data:`MAX_NAME_CHARS`,
:data:`MAX_DESCRIPTION_CHARS`, :data:`MIN_LAMP_SPACING_M`,
:data:`MAX_FEATURES_PER_INTERVENTION`, :data:`MAX_SUGGESTED_LINKS`); numbers that
fill a layer column must lie in its range in ``standards/layers.yaml``, and NaN or
infinity is refused everywhere.

Example::

    name: Safety package
    description: Speed calming, lighting and CCTV at the square.
    interventions:
      - type: add_calming
        auto: true
        target_kmh: 30
      - type: add_lights
        streets: {match: "sti-*"}
        spacing_m: 25
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from shapely.geometry.base import BaseGeometry

from vollsmose_gis._errors import InputError
from vollsmose_gis._util import largest_remainder, slug
from vollsmose_gis.district import District
from vollsmose_gis.i18n import LANGUAGES, Message, in_language
from vollsmose_gis.layers import column_range, conform_layer, new_street, out_of_range, range_text
from vollsmose_gis.standards import categories
from vollsmose_gis.validation import implausible_buildings, streets_crossing_buildings

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_FEATURES_PER_INTERVENTION",
    "MAX_NAME_CHARS",
    "MAX_SCENARIO_FILE_BYTES",
    "MAX_SUGGESTED_LINKS",
    "MIN_LAMP_SPACING_M",
    "ChangeLog",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "SharedSteps",
    "apply_scenario",
    "load_scenario",
    "load_scenarios",
]

log = logging.getLogger(__name__)


class ScenarioError(InputError):
    """A scenario file that cannot be read, or that cannot be applied to its district."""


class ScenarioWarning(UserWarning):
    """An intervention that is allowed but likely wrong (a building over existing ones)."""


# Bounds on the work and the text a scenario file may ask for.  Scenario files are
# untrusted input: each bound is checked before the work starts.
MAX_SCENARIO_FILE_BYTES = 10_000_000
"""Largest scenario file read, bytes (10 MB; put large geometry in a vector file)."""
MAX_NAME_CHARS = 200
"""Longest scenario name, characters (it names output files and report headings)."""
MAX_DESCRIPTION_CHARS = 10_000
"""Longest scenario description, characters."""
MIN_LAMP_SPACING_M = 2.0
"""Closest spacing of lamps placed along streets by ``add_lights``, metres (bollards
stand 3-10 m apart, street lanterns 20-50 m)."""
MAX_FEATURES_PER_INTERVENTION = 10_000
"""Most features (lamps, cameras, POIs, buildings, streets, areas) one intervention may
add; a whole city has a few thousand street lamps per 100,000 inhabitants."""
MAX_SUGGESTED_LINKS = 100
"""Largest ``k`` of ``suggested_links``: the optimiser's top links worth adding at once."""


# ----------------------------------------------------------------------------- models


class _Model(BaseModel):
    # NaN and infinity are refused in every number field (YAML spells them .nan, .inf)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _known_languages(value: str | dict[str, str]) -> str | dict[str, str]:
    """A text per language must use the report's languages, and at least one."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown or not value:
            raise ValueError(
                f"languages must be among {list(LANGUAGES)}, got {sorted(value)!r}; write "
                "the text once (a plain string) or per language, e.g. {en: …, da: …}"
            )
    return value


# A planner's text: one string, or one per language ({en: …, da: …})
_Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
_Reason = Annotated[str, Field(min_length=1, max_length=500)]
DescriptionText = Annotated[
    _Description | dict[str, _Description], AfterValidator(_known_languages)
]
ReasonText = Annotated[_Reason | dict[str, _Reason], AfterValidator(_known_languages)]


class Select(_Model):
    """Which existing features an intervention acts on.

    ``ids`` must all exist; ``match`` (a glob over ids, e.g. ``"aasumvej-*"``),
    ``names`` (street or building names) and ``estates`` (buildings) must each match at
    least one feature.  The selection is the union of all given criteria.
    """

    ids: list[str] = Field(default_factory=list)
    match: str | None = None
    names: list[str] = Field(default_factory=list)
    estates: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Select:
        if not (self.ids or self.match or self.names or self.estates):
            raise ValueError("give at least one of ids, match, names, estates")
        return self


GeometrySpec = str
"""WKT in the district CRS, or a path to a vector file relative to the scenario file
(``plan.gpkg`` for its first layer, ``plan.gpkg#layer`` for a named layer)."""

_WKT = re.compile(
    r"^\s*(?:(?:MULTI)?(?:POINT|LINESTRING|POLYGON)|GEOMETRYCOLLECTION|LINEARRING)"
    r"\s*(?:ZM|Z|M)?\s*(?:\(|EMPTY\b)",
    re.IGNORECASE,
)


def _is_wkt(spec: str) -> bool:
    """Tell whether a geometry spec is WKT (a keyword, then ``(`` or EMPTY), not a path."""
    return bool(_WKT.match(spec))


def _file_part(spec: str) -> str:
    """Return the file of a geometry spec naming a vector file (``plan.gpkg#layer``)."""
    return spec.strip().partition("#")[0]


class AddStreet(_Model):
    type: Literal["add_street"]
    geometry: GeometrySpec
    street_id: str | None = None
    name: str | None = None
    highway: str = "residential"
    maxspeed_kmh: float | None = Field(default=None, gt=0)
    lanes: int | None = Field(default=None, ge=1)
    width_m: float | None = Field(default=None, gt=0)
    car: bool | None = None
    walk: bool | None = None
    bike: bool | None = None
    lit: bool | None = None


class RemoveStreet(_Model):
    type: Literal["remove_street"]
    streets: Select


class SetSpeedLimit(_Model):
    type: Literal["set_speed_limit"]
    streets: Select
    maxspeed_kmh: float = Field(gt=0)
    lanes: int | None = Field(default=None, ge=1)
    width_m: float | None = Field(default=None, gt=0)


class Demolish(_Model):
    type: Literal["demolish"]
    buildings: Select


class Build(_Model):
    type: Literal["build"]
    geometry: GeometrySpec
    building_id: str | None = None
    name: str | None = None
    use: str = "residential"
    floors: int = Field(default=3, ge=1)
    dwellings: int = Field(default=0, ge=0)
    tenure: str | None = None
    dwelling_type: str | None = None
    commercial_m2: float = Field(default=0.0, ge=0)
    jobs: int = Field(default=0, ge=0)
    height_m: float | None = Field(default=None, gt=0)


class ConvertTenure(_Model):
    type: Literal["convert_tenure"]
    buildings: Select
    to: str


class ChangeLanduse(_Model):
    type: Literal["change_landuse"]
    use: str
    landuse: Select | None = None
    geometry: GeometrySpec | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ChangeLanduse:
        if (self.landuse is None) == (self.geometry is None):
            raise ValueError("give either landuse (existing areas) or geometry (a new area)")
        return self


class AddLights(_Model):
    type: Literal["add_lights"]
    geometry: GeometrySpec | None = None
    streets: Select | None = None
    spacing_m: float = Field(default=30.0, ge=MIN_LAMP_SPACING_M)
    lumens: float = Field(default=3_000.0, gt=0)
    height_m: float = Field(default=5.0, gt=0)
    watts: float | None = Field(default=25.0, ge=0)
    distribution: str = "street_lantern"

    @model_validator(mode="after")
    def _one_target(self) -> AddLights:
        if (self.streets is None) == (self.geometry is None):
            raise ValueError("give either geometry (lamp points) or streets (lamps along them)")
        return self


class AddCameras(_Model):
    type: Literal["add_cameras"]
    geometry: GeometrySpec
    heading_deg: float | list[float] = 0.0
    height_m: float = Field(default=4.0, gt=0)
    hfov_deg: float = Field(default=90.0, gt=0, le=360)
    resolution_px: int = Field(default=1920, ge=1)
    tilt_deg: float = -15.0


class AddCalming(_Model):
    type: Literal["add_calming"]
    geometry: GeometrySpec | None = None
    kind: str = "hump"
    auto: bool = False
    target_kmh: float = Field(default=30.0, gt=0)
    streets: Select | None = None
    kinds: list[str] = Field(default_factory=lambda: ["hump", "table", "cushion"])

    @model_validator(mode="after")
    def _one_target(self) -> AddCalming:
        if self.auto == (self.geometry is not None):
            raise ValueError("give either geometry (device points) or auto: true (the planner)")
        return self


class AddPoi(_Model):
    type: Literal["add_poi"]
    geometry: GeometrySpec
    kind: str
    name: str | None = None


class ExtendRuleArea(_Model):
    """Parcels added to the area the legal rules apply to (§ 61 a stk. 3, 2. pkt.).

    The minister can approve that parcels physically connected to the almene
    afdelinger's parcels join the boligområde — how new private housing beside an
    estate comes to count in § 168 a.  A plan that relies on it says so here, with the
    reason; without it, homes built outside the rule area do not count.
    """

    type: Literal["extend_rule_area"]
    geometry: GeometrySpec
    reason: ReasonText


class SuggestedLinks(_Model):
    type: Literal["suggested_links"]
    k: int = Field(default=5, ge=1, le=MAX_SUGGESTED_LINKS)
    max_length_m: float = Field(default=150.0, gt=0)
    budget_m: float | None = Field(default=None, gt=0)
    objective: str = "route_directness"
    highway: str = "footway"


Intervention = Annotated[
    AddStreet
    | RemoveStreet
    | SetSpeedLimit
    | Demolish
    | Build
    | ConvertTenure
    | ChangeLanduse
    | AddLights
    | AddCameras
    | AddCalming
    | AddPoi
    | SuggestedLinks
    | ExtendRuleArea,
    Field(discriminator="type"),
]
INTERVENTION_TYPES: tuple[str, ...] = (
    "add_street",
    "remove_street",
    "set_speed_limit",
    "demolish",
    "build",
    "convert_tenure",
    "change_landuse",
    "add_lights",
    "add_cameras",
    "add_calming",
    "add_poi",
    "suggested_links",
    "extend_rule_area",
)


class ScenarioFile(_Model):
    """The YAML document of a scenario, as written by a planner."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    description: DescriptionText = ""
    base: str | None = None
    extends: str | list[str] | None = None
    year: int | None = Field(default=None, ge=1900, le=2200)
    interventions: list[Intervention] = Field(default_factory=list)
    weights: dict[str, Annotated[float, Field(ge=0)]] | None = None


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: its file model, with ``extends`` resolved.

    Attributes
    ----------
    name, year
        From the file.
    description
        From the file: one text, or one per language (``{"en": …, "da": …}``); see
        :meth:`description_in`.
    interventions
        The parent scenarios' interventions first, then this file's, each paired with
        the file it came from (for error messages and relative geometry paths).
    base
        Path of the base district GeoPackage, or None for the embedded district.
    weights
        Theme weights overriding the scoring profile's, or None.
    path
        The scenario file (None for scenarios built in code).
    """

    name: str
    description: str | dict[str, str] = ""
    year: int | None = None
    interventions: tuple[tuple[Any, Path | None], ...] = ()
    base: Path | None = None
    weights: dict[str, float] | None = None
    path: Path | None = None
    parents: tuple[str, ...] = ()

    def description_in(self, lang: str) -> str:
        """The description in ``lang``; in the other language when only that one is given."""
        return in_language(self.description, lang).strip()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build a scenario in code from a dict shaped like the YAML file.

        Relative geometry paths resolve against the working directory and are not
        confined to a folder (the dict comes from code, not from an untrusted file);
        ``extends`` is not allowed here (use files for that).
        """
        model = _validate_model(data, None, None)
        if model.extends:
            raise ScenarioError("Scenario.from_dict cannot resolve 'extends'; use load_scenario")
        return cls(
            name=model.name,
            description=model.description,
            year=model.year,
            interventions=tuple((i, None) for i in model.interventions),
            base=Path(model.base) if model.base else None,
            weights=model.weights,
        )


# -------------------------------------------------------------------------- loading


def _yaml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at a pydantic error location, if it can be found."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _validate_model(data: Any, path: Path | None, text: str | None) -> ScenarioFile:
    where = str(path) if path else "scenario"
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{where}: a scenario file must be a YAML mapping with name and interventions"
        )
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            shown = [p for p in loc if not (isinstance(p, str) and p in INTERVENTION_TYPES)]
            dotted = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in shown).replace(
                ".[", "["
            )
            message = error["msg"]
            if error["type"] == "union_tag_invalid":
                message = (
                    f"unknown intervention type {error['input'].get('type')!r}; "
                    f"allowed: {', '.join(INTERVENTION_TYPES)}"
                )
            elif error["type"] == "union_tag_not_found":
                message = f"intervention has no 'type'; allowed: {', '.join(INTERVENTION_TYPES)}"
            line = _yaml_line(text, tuple(shown)) if text else None
            at = f" (line {line})" if line else ""
            lines.append(f"  - {dotted or 'document'}{at}: {message}")
        raise ScenarioError(f"{where}: invalid scenario\n" + "\n".join(lines)) from None


@dataclass(frozen=True)
class _References:
    """Where the files a scenario references (extends, base, geometry) may lie."""

    roots: tuple[Path, ...]
    allow_outside: bool = False

    @classmethod
    def of(
        cls, root: Path, allowed_dirs: Iterable[str | os.PathLike[str]], allow_outside: bool
    ) -> _References:
        roots = (root.resolve(), *(Path(d).resolve() for d in allowed_dirs))
        return cls(tuple(dict.fromkeys(roots)), allow_outside)

    def resolve(self, reference: str, what: str, scenario: Path) -> Path:
        """Resolve ``reference`` against the scenario's folder; refuse it outside the roots."""
        try:
            resolved = (scenario.parent / Path(reference).expanduser()).resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL bytes, loops, no home
            raise ScenarioError(
                f"{scenario}: {what} {_short(reference)!r} is not a usable path ({exc})"
            ) from None
        if self.allow_outside or any(resolved.is_relative_to(root) for root in self.roots):
            return resolved
        folders = " or ".join(str(root) for root in self.roots)
        raise ScenarioError(
            f"{scenario}: {what} {_short(reference)!r} resolves to {resolved}, outside the "
            f"scenario's folder tree ({folders}); scenario files may only reference files "
            "there — move the file in, or allow it explicitly with allow_outside_paths=True "
            "(CLI: --allow-outside-paths)"
        )

    def check_geometry_files(self, model: ScenarioFile, scenario: Path) -> None:
        for index, item in enumerate(model.interventions):
            spec = getattr(item, "geometry", None)
            if spec is not None and not _is_wkt(spec):
                self.resolve(
                    _file_part(spec), f"intervention {index} ({item.type}) geometry", scenario
                )


def _read_scenario_text(path: Path) -> str:
    """Read a scenario file, refusing what is not a small regular UTF-8 file."""
    try:
        if not path.is_file():
            reason = "no such file" if not path.exists() else "not a regular file"
            raise ScenarioError(f"{path}: cannot read scenario file ({reason})")
        size = path.stat().st_size
        if size > MAX_SCENARIO_FILE_BYTES:
            raise ScenarioError(
                f"{path}: scenario file is {size / 1e6:.1f} MB; the limit is "
                f"{MAX_SCENARIO_FILE_BYTES / 1e6:g} MB (put large geometry in a vector file "
                "and reference it)"
            )
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def load_scenario(
    path: str | os.PathLike[str],
    *,
    allow_outside_paths: bool = False,
    allowed_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Scenario:
    """Read and validate a scenario YAML file, resolving ``extends`` (recursively).

    Scenario files are untrusted input: the files they reference (``extends:``,
    ``base:`` and vector files in ``geometry:``) must lie inside the scenario file's
    folder tree or one of ``allowed_dirs``, unless ``allow_outside_paths`` is True.
    A file larger than :data:`MAX_SCENARIO_FILE_BYTES`, a name longer than
    :data:`MAX_NAME_CHARS` and a description longer than :data:`MAX_DESCRIPTION_CHARS`
    characters are refused.

    Parameters
    ----------
    path
        The scenario file.
    allow_outside_paths
        Let references point anywhere (CLI: ``--allow-outside-paths``).
    allowed_dirs
        Further folders references may point into, e.g. the base district's folder.

    Raises
    ------
    ScenarioError
        Unreadable, oversized or malformed YAML (with the line number), an invalid field
        (with its path and line), an unknown intervention type (listing the allowed
        ones), an ``extends`` cycle, or a reference outside the allowed folders (naming
        the reference and the file).
    """
    path = Path(path).resolve()
    return _load(path, _References.of(path.parent, allowed_dirs, allow_outside_paths), ())


def _load(path: Path, references: _References, seen: tuple[Path, ...]) -> Scenario:
    if path in seen:
        chain = " -> ".join(str(p.name) for p in (*seen, path))
        raise ScenarioError(f"{path}: 'extends' forms a cycle ({chain})")
    text = _read_scenario_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: malformed YAML{at}: {problem}") from None
    model = _validate_model(data, path, text)
    references.check_geometry_files(model, path)
    own = tuple((i, path) for i in model.interventions)
    base = references.resolve(model.base, "base", path) if model.base else None
    if model.extends is None:
        return Scenario(model.name, model.description, model.year, own, base, model.weights, path)
    extends = [model.extends] if isinstance(model.extends, str) else model.extends
    parents = [
        _load(references.resolve(p, "extends", path), references, (*seen, path)) for p in extends
    ]
    inherited = _union_of_interventions(parents)
    return Scenario(
        name=model.name,
        description=model.description,
        year=model.year
        if model.year is not None
        else next((p.year for p in parents if p.year), None),
        interventions=inherited + own,
        base=base or next((p.base for p in parents if p.base), None),
        weights=model.weights
        if model.weights is not None
        else next((p.weights for p in parents if p.weights), None),
        path=path,
        parents=tuple(
            dict.fromkeys(name for parent in parents for name in (*parent.parents, parent.name))
        ),
    )


def _union_of_interventions(parents: list[Scenario]) -> tuple[tuple[Any, Path | None], ...]:
    """Return the parents' interventions in order, each file's interventions once.

    Two parents that extend the same package both carry its interventions; in a diamond
    they must be applied once, not twice.  An intervention is identified by its file and
    its position among that file's interventions.
    """
    seen: set[tuple[Path | None, int]] = set()
    out = []
    for parent in parents:
        position: dict[Path | None, int] = {}
        for item, source in parent.interventions:
            k = position[source] = position.get(source, -1) + 1
            if (source, k) not in seen:
                seen.add((source, k))
                out.append((item, source))
    return tuple(out)


def load_scenarios(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    allow_outside_paths: bool = False,
    allowed_dirs: Iterable[str | os.PathLike[str]] = (),
) -> list[Scenario]:
    """Load scenario files; a directory contributes its ``*.yaml``/``*.yml`` files, sorted.

    Parameters
    ----------
    sources
        One file or folder (a str or a path), or several.
    allow_outside_paths
        Let ``extends:``, ``base:`` and ``geometry:`` references point anywhere.  By
        default they must lie inside the folder given (for a folder source) or the
        file's own folder (for a file source), or one of ``allowed_dirs``.
    allowed_dirs
        Further folders references may point into, e.g. the base district's folder.

    Returns
    -------
    list of Scenario
        In the order given (a folder's files sorted by name).

    Raises
    ------
    ScenarioError
        A missing source, an empty folder, a bad file (see :func:`load_scenario`), or
        names that are not unique (also after case and punctuation are dropped).
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    allowed = [Path(d) for d in allowed_dirs]
    files: list[tuple[Path, _References]] = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted([*source.glob("*.yaml"), *source.glob("*.yml")])
            if not found:
                raise ScenarioError(f"{source}: folder holds no scenario files (*.yaml)")
            references = _References.of(source, allowed, allow_outside_paths)
            files.extend((f.resolve(), references) for f in found)
        elif source.exists():
            source = source.resolve()
            files.append((source, _References.of(source.parent, allowed, allow_outside_paths)))
        else:
            raise ScenarioError(f"{source}: no such scenario file or folder")
    scenarios = [_load(f, references, ()) for f, references in files]
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError(f"scenario names must be unique; used twice: {', '.join(duplicates)}")
    slugs = [slug(n) for n in names]
    clashes = sorted({n for n, s in zip(names, slugs, strict=True) if slugs.count(s) > 1})
    if clashes:
        raise ScenarioError(
            "scenario names must differ in more than case and punctuation (they name the "
            f"output files): {', '.join(clashes)}"
        )
    return scenarios


# ------------------------------------------------------------------------- change log


@dataclass
class ChangeLog:
    """What a scenario changed: one entry per intervention plus totals.

    ``totals`` keys include ``streets_added``, ``street_m_added``, ``streets_removed``,
    ``streets_changed``, ``buildings_demolished``, ``dwellings_demolished``,
    ``buildings_built``, ``dwellings_built``, ``commercial_m2_built``,
    ``dwellings_converted``, ``landuse_changed``, ``lights_added``, ``cameras_added``,
    ``calming_added`` (by kind as ``calming_<kind>``), ``pois_added``.

    Each entry's ``summary`` is English (the CLI, ``changes.csv``); ``messages`` holds
    the same summary as a :class:`~vollsmose_gis.i18n.Message`, one per entry, which
    :meth:`summaries` renders in either language for the report.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)

    def add(self, index: int, kind: str, message: Message, **counts: float) -> None:
        """Record one intervention's summary and add its counts to the totals.

        Parameters
        ----------
        index, kind
            The intervention's position in the scenario and its type.
        message
            Its summary (a key of ``templates/text.yaml`` and the values to fill in).
        **counts
            Counts and amounts (``dwellings_built``, ``cost_dkk`` …), added to the totals.
        """
        self.entries.append({"index": index, "type": kind, "summary": message.text("en"), **counts})
        self.messages.append(message)
        for key, value in counts.items():
            self.totals[key] = self.totals.get(key, 0) + value

    def summaries(self, lang: str = "en") -> list[str]:
        """The entries' summaries in ``lang`` (``"en"`` or ``"da"``), in order."""
        return [message.text(lang) for message in self.messages]

    def to_frame(self) -> pd.DataFrame:
        """Return the entries as a table (one row per intervention)."""
        return pd.DataFrame(self.entries)


# --------------------------------------------------------------------------- applying


def _costs() -> dict[str, Any]:
    from vollsmose_gis.standards import load

    return load("unit_costs")


def street_cost_dkk(highway: str, length_m: float) -> float:
    """Cost of building ``length_m`` of a street of an OSM class (``unit_costs.yaml``)."""
    per_m = _costs()["street_m"]
    return float(per_m.get(highway, per_m["default"])) * length_m


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, source: Path | None, index: int, kind: str, message: str) -> None:
        where = f"{source}: " if source else ""
        self.items.append(f"{where}intervention {index} ({kind}): {message}")


def _district_extent(district: District) -> BaseGeometry:
    """Area in which scenario geometry may lie: the boundary and all layers' extents."""
    boxes = [district.boundary]
    for frame in district.layers.values():
        if len(frame):
            boxes.append(shapely.box(*frame.total_bounds))
    return shapely.union_all(boxes).envelope


def _read_geometry(spec: str, source: Path | None, crs: str) -> list[BaseGeometry]:
    """Parse WKT, or read a vector file relative to the scenario file (reprojected)."""
    text = spec.strip()
    if _is_wkt(text):
        try:
            geometry = shapely.from_wkt(text)
        except shapely.errors.GEOSException as exc:
            raise ValueError(f"geometry {_short(text)!r} is not valid WKT ({exc})") from None
        return list(shapely.get_parts(geometry))
    file_part, _, layer = text.partition("#")
    path = Path(file_part)
    if not path.is_absolute() and source is not None:
        path = source.parent / path
    if not path.is_file():
        raise ValueError(
            f"geometry {_short(spec)!r} is neither WKT (POINT (x y), LINESTRING (...), "
            "POLYGON ((...))) nor an existing vector file"
        )
    count = pyogrio.read_info(path, layer=layer or None)["features"]
    if count > MAX_FEATURES_PER_INTERVENTION:
        raise ValueError(
            f"vector file {path} holds {count} features; one intervention adds at most "
            f"{MAX_FEATURES_PER_INTERVENTION} — split it into several interventions"
        )
    frame = pyogrio.read_dataframe(path, layer=layer or None)
    if frame.crs is None:
        raise ValueError(f"vector file {path} has no CRS; give it one (the district CRS is {crs})")
    frame = frame.to_crs(crs)
    return [part for g in frame.geometry for part in shapely.get_parts(g)]


def _short(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _select(
    frame: gpd.GeoDataFrame, id_column: str, select: Select
) -> tuple[np.ndarray, list[str]]:
    """Return (mask of selected rows, descriptions of criteria that matched nothing)."""
    ids = frame[id_column].astype(str)
    mask = np.zeros(len(frame), dtype=bool)
    missing = []
    unknown = [i for i in select.ids if i not in set(ids)]
    if unknown:
        missing.append(f"unknown {id_column}(s): {', '.join(unknown)}")
    mask |= ids.isin(select.ids).to_numpy()
    if select.match:
        hit = np.array([fnmatch.fnmatchcase(i, select.match) for i in ids], dtype=bool)
        if not hit.any():
            missing.append(f"no {id_column} matches {select.match!r}")
        mask |= hit
    if select.names:
        names = frame["name"].astype(str) if "name" in frame else pd.Series("", index=frame.index)
        for name in select.names:
            hit = (names == name).to_numpy()
            if not hit.any():
                missing.append(f"no feature named {name!r}")
            mask |= hit
    if select.estates:
        estates = (
            frame["estate"].astype(str) if "estate" in frame else pd.Series("", index=frame.index)
        )
        for estate in select.estates:
            hit = (estates == estate).to_numpy()
            if not hit.any():
                missing.append(f"no building in estate {estate!r}")
            mask |= hit
    return mask, missing


def _fresh_ids(prefix: str, existing: Iterable[Any], n: int) -> list[str]:
    """``n`` ids ``<prefix>-001``... that no feature of ``existing`` uses yet."""
    taken = {str(v) for v in existing}
    out: list[str] = []
    k = 1
    while len(out) < n:
        candidate = f"{prefix}-{k:03d}"
        if candidate not in taken:
            out.append(candidate)
        k += 1
    return out


def _new_id(prefix: str, existing: Iterable[Any], wanted: str | None) -> str:
    """Return ``wanted``, or the first free ``<prefix>-NNN`` id."""
    if wanted:
        return wanted
    taken = {str(v) for v in existing}
    k = 1
    while f"{prefix}-{k:03d}" in taken:
        k += 1
    return f"{prefix}-{k:03d}"


def _append(frame: gpd.GeoDataFrame, rows: list[dict[str, Any]], layer: str) -> gpd.GeoDataFrame:
    """Append rows (dicts with a geometry) to a layer, both at the schema's dtypes."""
    if not rows:
        return frame
    geometry = [r.pop("geometry") for r in rows]
    new = conform_layer(gpd.GeoDataFrame(rows, geometry=geometry, crs=frame.crs), layer)
    if len(frame) == 0:
        return new
    return pd.concat([frame, new], ignore_index=True)


_SPEED = {
    "maxspeed_kmh": ("streets", "maxspeed_kmh"),
    "lanes": ("streets", "lanes"),
    "width_m": ("streets", "width_m"),
}
_FIELD_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "add_street": _SPEED,
    "set_speed_limit": _SPEED,
    "build": {
        name: ("buildings", name)
        for name in ("floors", "dwellings", "height_m", "commercial_m2", "jobs")
    },
    "add_lights": {name: ("lights", name) for name in ("lumens", "height_m", "watts")},
    "add_cameras": {
        name: ("cameras", name)
        for name in ("heading_deg", "height_m", "hfov_deg", "resolution_px", "tilt_deg")
    },
    "add_calming": {"target_kmh": ("streets", "maxspeed_kmh")},
}
"""Intervention fields that fill a layer column, checked against its range in layers.yaml."""


def _lamp_count(lengths: Iterable[float], spacing_m: float) -> int:
    """Lamps ``add_lights`` places at ``spacing_m`` along lines of these lengths (m)."""
    half = spacing_m / 2
    return sum(int(np.ceil((length - half) / spacing_m)) for length in lengths if length > half)


def _planned(item: Any) -> bool:
    """An intervention the checking pass only checks: a planner decides what it adds."""
    return isinstance(item, SuggestedLinks) or (isinstance(item, AddCalming) and item.auto)


@dataclass(frozen=True)
class _State:
    """What an :class:`_Applier` has built before intervention ``start``."""

    start: int
    layers: dict[str, gpd.GeoDataFrame]
    settings: Any
    log: ChangeLog


class _Applier:
    """Applies interventions one by one to a working copy of the layers."""

    def __init__(self, district: District, check_only: bool) -> None:
        self.base = district
        self.layers = dict(district.layers)
        self.settings = district.settings
        self.extent = _district_extent(district)
        self.check_only = check_only
        self.problems = _Problems()
        self.log = ChangeLog()
        self.start = 0  # the first intervention still to apply (see `restore`)

    def state(self, start: int) -> _State:
        """A copy of the work so far, to go on from intervention ``start``."""
        return _State(
            start,
            {name: frame.copy() for name, frame in self.layers.items()},
            self.settings,
            copy.deepcopy(self.log),
        )

    def restore(self, state: _State) -> None:
        """Go on from a state (of an applier of the same district)."""
        self.layers = {name: frame.copy() for name, frame in state.layers.items()}
        self.settings = state.settings
        self.log = copy.deepcopy(state.log)
        self.start = state.start

    # -- helpers
    def district(self) -> District:
        return self.base.replace(settings=self.settings, **self.layers)

    def geometries(
        self, spec: str, source: Path | None, index: int, kind: str, want: tuple[str, ...]
    ) -> list[BaseGeometry]:
        try:
            parts = _read_geometry(spec, source, self.base.crs)
        except (
            ValueError,
            OSError,
            pyogrio.errors.DataSourceError,
            pyogrio.errors.DataLayerError,
        ) as exc:
            self.problems.add(source, index, kind, str(exc))
            return []
        if len(parts) > MAX_FEATURES_PER_INTERVENTION:
            self.problems.add(
                source,
                index,
                kind,
                f"geometry has {len(parts)} parts; one intervention adds at most "
                f"{MAX_FEATURES_PER_INTERVENTION} features — split it",
            )
            return []
        bad_type = sorted({p.geom_type for p in parts if p.geom_type not in want})
        if bad_type or not parts:
            self.problems.add(
                source,
                index,
                kind,
                f"geometry must be {' or '.join(want)}, got {', '.join(bad_type) or 'nothing'}",
            )
            return []
        degenerate = [
            p
            for p in parts
            if p.is_empty
            or not p.is_valid
            or (p.geom_type == "Polygon" and p.area <= 0)
            or (p.geom_type == "LineString" and p.length <= 0)
        ]
        if degenerate:
            reason = shapely.is_valid_reason(degenerate[0])
            self.problems.add(
                source,
                index,
                kind,
                f"{len(degenerate)} empty, zero-size or invalid geometry part(s) ({reason}); "
                "draw a proper line or area",
            )
            return []
        outside = [p for p in parts if not p.intersects(self.extent)]
        if outside:
            x, y = outside[0].representative_point().coords[0]
            self.problems.add(
                source,
                index,
                kind,
                f"geometry lies outside the district (e.g. near {x:.0f}, {y:.0f}; the district "
                f"extends over {', '.join(f'{v:.0f}' for v in self.extent.bounds)} "
                f"in {self.base.crs}) "
                "— is it in the district CRS?",
            )
            return []
        return parts

    def category(
        self,
        value: str | None,
        kind_list: str,
        source: Path | None,
        index: int,
        kind: str,
        what: str,
    ) -> bool:
        if value is None:
            return True
        allowed = categories(kind_list)
        if value not in allowed:
            self.problems.add(
                source, index, kind, f"unknown {what} {value!r}; allowed: {', '.join(allowed)}"
            )
            return False
        return True

    def selected(
        self, layer: str, id_column: str, select: Select, source: Path | None, index: int, kind: str
    ) -> np.ndarray:
        mask, missing = _select(self.layers[layer], id_column, select)
        for message in missing:
            self.problems.add(source, index, kind, message)
        return mask

    # -- interventions
    def apply(self, index: int, item: Any, source: Path | None) -> None:
        if not self.in_range(index, item, source):
            return
        handler: Callable[[int, Any, Path | None], None] = getattr(self, f"do_{item.type}")
        handler(index, item, source)

    def in_range(self, index: int, item: Any, source: Path | None) -> bool:
        """Check an intervention's numbers against the ranges of the columns they fill."""
        ok = True
        for name, (layer, column) in _FIELD_COLUMNS.get(item.type, {}).items():
            value = getattr(item, name)
            if value is None:
                continue
            bounds = column_range(layer, column)
            values = np.atleast_1d(np.asarray(value, dtype="float64"))
            bad = values[out_of_range(bounds, values)]
            if bad.size:
                self.problems.add(
                    source,
                    index,
                    item.type,
                    f"{name} {bad[0]:g} is out of range (allowed: {range_text(bounds)}; "
                    f"{layer}.{column} in standards/layers.yaml)",
                )
                ok = False
        return ok

    def plausible(
        self, rows: list[dict[str, Any]], source: Path | None, index: int, kind: str
    ) -> bool:
        """Check new buildings' dwellings and storeys against their footprints."""
        if not rows:
            return True
        frame = gpd.GeoDataFrame(
            pd.DataFrame(rows).drop(columns="geometry"),
            geometry=[r["geometry"] for r in rows],
            crs=self.base.crs,
        )
        found = implausible_buildings(frame)
        for i, column, message in found:
            building_id = rows[i]["building_id"]
            self.problems.add(source, index, kind, f"building {building_id!r}, {column}: {message}")
        return not found

    def warn_overlaps(
        self,
        rows: list[dict[str, Any]],
        buildings: gpd.GeoDataFrame,
        source: Path | None,
        index: int,
        kind: str,
    ) -> None:
        """Warn when a new building covers existing ones (by 1 m² or more)."""
        if not self.check_only or not rows or len(buildings) == 0:
            return
        existing = buildings.geometry.to_numpy()
        tree = shapely.STRtree(existing)
        ids = buildings["building_id"].astype(str).tolist()
        for row in rows:
            hits = tree.query(row["geometry"], predicate="intersects")
            areas = shapely.area(shapely.intersection(existing[hits], row["geometry"]))
            over = [(ids[h], float(a)) for h, a in zip(hits, areas, strict=True) if a >= 1.0]
            if over:
                names = ", ".join(repr(i) for i, _ in over[:5]) + (" ..." if len(over) > 5 else "")
                self.warn(
                    source,
                    index,
                    kind,
                    f"new building {row['building_id']!r} overlaps existing building(s) "
                    f"{names} by {sum(a for _, a in over):.0f} m²; demolish them first (a "
                    "demolish intervention before this one) if it replaces them",
                )

    def warn_crossings(
        self, lines: list[BaseGeometry], ids: list[str], source: Path | None, index: int, kind: str
    ) -> None:
        """Warn when new streets run through existing buildings."""
        if not self.check_only or not lines:
            return
        frame = gpd.GeoDataFrame({"street_id": ids}, geometry=lines, crs=self.base.crs)
        crossings = streets_crossing_buildings(frame, self.layers["buildings"])
        if crossings:
            shown = ", ".join(f"{s!r} through {b!r} ({m:.0f} m)" for s, b, m in crossings[:5])
            self.warn(
                source,
                index,
                kind,
                f"new street(s) cross existing buildings: {shown}; demolish the buildings "
                "first, or route the street around them",
            )

    def warn(self, source: Path | None, index: int, kind: str, message: str) -> None:
        """Warn once, in the checking pass, about a likely mistake that is not an error."""
        if self.check_only:
            where = f"{source}: " if source else ""
            warnings.warn(
                f"{where}intervention {index} ({kind}): {message}", ScenarioWarning, stacklevel=2
            )

    def add_streets(
        self,
        index: int,
        kind: str,
        lines: list[BaseGeometry],
        ids: list[str],
        highway: str,
        key: str,
        **overrides: Any,
    ) -> None:
        """Append new streets of an OSM class (defaults from ``highways.yaml``) and log them."""
        rows = [
            new_street(street_id, highway, line, **overrides)
            for street_id, line in zip(ids, lines, strict=True)
        ]
        length = float(sum(line.length for line in lines))
        self.layers["streets"] = _append(self.layers["streets"], rows, "streets")
        self.log.add(
            index,
            kind,
            Message(key, {"n": len(rows), "m": length, "highway": highway}, {"highway": "highway"}),
            streets_added=len(rows),
            street_m_added=length,
            cost_dkk=street_cost_dkk(highway, length),
        )

    def do_add_street(self, index: int, item: AddStreet, source: Path | None) -> None:
        if not self.category(
            item.highway, "highway_classes", source, index, item.type, "highway class"
        ):
            return
        lines = self.geometries(item.geometry, source, index, item.type, ("LineString",))
        existing = set(self.layers["streets"]["street_id"].astype(str))
        ids: list[str] = []
        for k in range(len(lines)):
            wanted = (
                item.street_id
                if len(lines) == 1
                else (f"{item.street_id}-{k + 1}" if item.street_id else None)
            )
            street_id = _new_id("scn-street", [*existing, *ids], wanted)
            if street_id in existing:
                self.problems.add(
                    source, index, item.type, f"street_id {street_id!r} already exists"
                )
            ids.append(street_id)
        if len(ids) != len(set(ids) - existing):
            return
        self.warn_crossings(lines, ids, source, index, item.type)
        self.add_streets(
            index,
            item.type,
            lines,
            ids,
            item.highway,
            "change.streets_added",
            name=item.name,
            car=item.car,
            walk=item.walk,
            bike=item.bike,
            maxspeed_kmh=item.maxspeed_kmh,
            lanes=item.lanes,
            width_m=item.width_m,
            lit=item.lit,
        )

    def do_suggested_links(self, index: int, item: SuggestedLinks, source: Path | None) -> None:
        if not self.category(
            item.highway, "highway_classes", source, index, item.type, "highway class"
        ):
            return
        if self.check_only:
            return
        from vollsmose_gis.connectivity import suggest_links

        links = suggest_links(
            self.district(),
            max_length_m=item.max_length_m,
            budget_m=item.budget_m,
            objective=item.objective,
            k=item.k,
        )
        lines = list(links.geometry)
        ids = _fresh_ids(f"scn-link-{index}", self.layers["streets"]["street_id"], len(lines))
        self.add_streets(
            index,
            item.type,
            lines,
            ids,
            item.highway,
            "change.links_added",
            name="Suggested link",
        )

    def do_remove_street(self, index: int, item: RemoveStreet, source: Path | None) -> None:
        streets = self.layers["streets"]
        mask = self.selected("streets", "street_id", item.streets, source, index, item.type)
        self.layers["streets"] = streets[~mask].reset_index(drop=True)
        self.log.add(
            index,
            item.type,
            Message(
                "change.streets_removed",
                {"n": int(mask.sum()), "m": float(streets[mask].length.sum())},
            ),
            streets_removed=int(mask.sum()),
            street_m_removed=float(streets[mask].length.sum()),
            cost_dkk=float(streets[mask].length.sum()) * _costs()["street_removal_m"],
        )

    def do_set_speed_limit(self, index: int, item: SetSpeedLimit, source: Path | None) -> None:
        streets = self.layers["streets"].copy()
        mask = self.selected("streets", "street_id", item.streets, source, index, item.type)
        streets.loc[mask, "maxspeed_kmh"] = item.maxspeed_kmh
        if item.lanes is not None:
            streets.loc[mask, "lanes"] = item.lanes
        if item.width_m is not None:
            streets.loc[mask, "width_m"] = item.width_m
        self.layers["streets"] = streets
        self.log.add(
            index,
            item.type,
            Message(
                "change.speed_limit_lanes" if item.lanes else "change.speed_limit",
                {"n": int(mask.sum()), "kmh": item.maxspeed_kmh, "lanes": item.lanes},
            ),
            streets_changed=int(mask.sum()),
            street_m_changed=float(streets[mask].length.sum()),
            cost_dkk=float(mask.sum()) * _costs()["speed_limit_change_per_segment"],
        )

    def do_demolish(self, index: int, item: Demolish, source: Path | None) -> None:
        buildings = self.layers["buildings"]
        mask = self.selected("buildings", "building_id", item.buildings, source, index, item.type)
        gone = buildings[mask]
        kept = buildings[~mask].reset_index(drop=True)
        dwellings = int(gone["dwellings"].fillna(0).sum())
        social = int(gone.loc[gone["tenure"] == "almen_family", "dwellings"].fillna(0).sum())
        if social and len(kept):
            kept = self.record_demolition(kept, gone)
        self.layers["buildings"] = kept
        self.log.add(
            index,
            item.type,
            Message(
                "change.demolished", {"n": len(gone), "dwellings": dwellings, "social": social}
            ),
            buildings_demolished=len(gone),
            dwellings_demolished=dwellings,
            social_family_dwellings_demolished=social,
            cost_dkk=float(dwellings) * _costs()["demolition_per_dwelling"],
        )

    @staticmethod
    def record_demolition(kept: gpd.GeoDataFrame, gone: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Keep the count of demolished social family dwellings with the estate.

        § 168 a lets dwellings demolished since 2010 still count in the total.  The
        count is recorded in ``demolished_dwellings_since_2010`` of a remaining
        building of the same estate (the housing department keeps the record), or of
        the nearest remaining building when the whole estate is gone.
        """
        kept = kept.copy()
        for row in gone[gone["tenure"] == "almen_family"].itertuples():
            same_estate = (
                kept.index[(kept["estate"] == row.estate).fillna(False).to_numpy()]
                if pd.notna(row.estate)
                else []
            )
            target = same_estate[0] if len(same_estate) else kept.distance(row.geometry).idxmin()
            recorded = kept.loc[target, "demolished_dwellings_since_2010"]
            kept.loc[target, "demolished_dwellings_since_2010"] = (
                0 if pd.isna(recorded) else int(recorded)
            ) + (0 if pd.isna(row.dwellings) else int(row.dwellings))
        return kept

    def do_build(self, index: int, item: Build, source: Path | None) -> None:
        ok = self.category(item.use, "uses", source, index, item.type, "use")
        ok &= self.category(item.tenure, "tenures", source, index, item.type, "tenure")
        ok &= self.category(
            item.dwelling_type, "dwelling_types", source, index, item.type, "dwelling type"
        )
        if item.dwellings and item.tenure is None:
            self.problems.add(source, index, item.type, "dwellings > 0 need a tenure")
            ok = False
        polygons = self.geometries(item.geometry, source, index, item.type, ("Polygon",))
        if not ok or not polygons:
            return
        buildings = self.layers["buildings"]
        area = sum(p.area for p in polygons)
        # totals are split over the footprints by area, summing exactly to what was asked
        areas = [p.area for p in polygons]
        dwellings = largest_remainder(areas, item.dwellings)
        jobs = largest_remainder(areas, item.jobs)
        rows: list[dict[str, Any]] = []
        for k, polygon in enumerate(polygons):
            share = polygon.area / area
            wanted = (
                item.building_id
                if len(polygons) == 1
                else (f"{item.building_id}-{k + 1}" if item.building_id else None)
            )
            building_id = _new_id(
                "scn-building",
                [*buildings["building_id"], *(r["building_id"] for r in rows)],
                wanted,
            )
            if building_id in set(buildings["building_id"].astype(str)):
                self.problems.add(
                    source, index, item.type, f"building_id {building_id!r} already exists"
                )
                continue
            rows.append(
                {
                    "building_id": building_id,
                    "name": item.name,
                    "use": item.use,
                    "floors": item.floors,
                    "height_m": item.height_m or item.floors * 3.0 + 1.0,
                    "dwellings": dwellings[k],
                    "dwellings_estimated": False,
                    "dwelling_type": item.dwelling_type or ("flat" if item.dwellings else None),
                    "tenure": item.tenure if item.dwellings else None,
                    "floor_area_m2": round(polygon.area * item.floors, 1),
                    "commercial_m2": round(item.commercial_m2 * share, 1),
                    "jobs": jobs[k],
                    "estate": None,
                    "organisation": None,
                    "demolished_dwellings_since_2010": 0,
                    "geometry": polygon,
                }
            )
        if not self.plausible(rows, source, index, item.type):
            return
        self.warn_overlaps(rows, buildings, source, index, item.type)
        self.layers["buildings"] = _append(buildings, rows, "buildings")
        built = sum(r["dwellings"] for r in rows)
        self.log.add(
            index,
            item.type,
            Message(
                "change.built" if built else "change.built_no_homes",
                {
                    "n": len(rows),
                    "dwellings": built,
                    "tenure": item.tenure,
                    "m2": item.commercial_m2,
                    "jobs": item.jobs,
                },
                {"tenure": "tenure"} if built else {},
            ),
            buildings_built=len(rows),
            dwellings_built=built,
            commercial_m2_built=float(sum(r["commercial_m2"] for r in rows)),
            jobs_added=float(sum(r["jobs"] for r in rows)),
        )

    def do_convert_tenure(self, index: int, item: ConvertTenure, source: Path | None) -> None:
        if not self.category(item.to, "tenures", source, index, item.type, "tenure"):
            return
        buildings = self.layers["buildings"].copy()
        mask = self.selected("buildings", "building_id", item.buildings, source, index, item.type)
        homes = mask & (buildings["dwellings"].fillna(0) > 0).to_numpy()
        converted = int(buildings.loc[homes, "dwellings"].sum())
        buildings.loc[homes, "tenure"] = item.to
        self.layers["buildings"] = buildings
        self.log.add(
            index,
            item.type,
            Message(
                "change.converted",
                {"converted": converted, "n": int(homes.sum()), "tenure": item.to},
                {"tenure": "tenure"},
            ),
            dwellings_converted=converted,
            cost_dkk=float(converted) * _costs()["tenure_conversion_per_dwelling"],
        )

    def do_change_landuse(self, index: int, item: ChangeLanduse, source: Path | None) -> None:
        if not self.category(item.use, "uses", source, index, item.type, "use"):
            return
        landuse = self.layers["landuse"].copy()
        if item.landuse is not None:
            mask = self.selected("landuse", "landuse_id", item.landuse, source, index, item.type)
            landuse.loc[mask, "use"] = item.use
            self.layers["landuse"] = landuse
            self.log.add(
                index,
                item.type,
                Message(
                    "change.landuse_changed",
                    {"n": int(mask.sum()), "use": item.use},
                    {"use": "use"},
                ),
                landuse_changed=int(mask.sum()),
            )
            return
        assert item.geometry is not None
        polygons = self.geometries(item.geometry, source, index, item.type, ("Polygon",))
        ids = _fresh_ids(f"scn-landuse-{index}", landuse["landuse_id"], len(polygons))
        rows = [
            {"landuse_id": i, "name": item.name, "use": item.use, "geometry": p}
            for i, p in zip(ids, polygons, strict=True)
        ]
        self.layers["landuse"] = _append(landuse, rows, "landuse")
        self.log.add(
            index,
            item.type,
            Message(
                "change.landuse_added",
                {"n": len(rows), "use": item.use, "m2": sum(p.area for p in polygons)},
                {"use": "use"},
            ),
            landuse_changed=len(rows),
        )

    def do_add_lights(self, index: int, item: AddLights, source: Path | None) -> None:
        if not self.category(
            item.distribution, "light_distributions", source, index, item.type, "distribution"
        ):
            return
        if item.streets is not None:
            mask = self.selected("streets", "street_id", item.streets, source, index, item.type)
            lines = list(self.layers["streets"].geometry[mask])
            count = _lamp_count((line.length for line in lines), item.spacing_m)
            if count > MAX_FEATURES_PER_INTERVENTION:
                self.problems.add(
                    source,
                    index,
                    item.type,
                    f"{count} lamps at {item.spacing_m:g} m spacing along "
                    f"{sum(line.length for line in lines):.0f} m of street; one intervention "
                    f"adds at most {MAX_FEATURES_PER_INTERVENTION} — widen the spacing or "
                    "select fewer streets",
                )
                return
            points = [
                line.interpolate(d)
                for line in lines
                for d in np.arange(item.spacing_m / 2, line.length, item.spacing_m)
            ]
        else:
            assert item.geometry is not None
            points = self.geometries(item.geometry, source, index, item.type, ("Point",))
        lights = self.layers["lights"]
        ids = _fresh_ids(f"scn-light-{index}", lights["light_id"], len(points))
        rows = [
            {
                "light_id": ids[k],
                "lumens": item.lumens,
                "height_m": item.height_m,
                "distribution": item.distribution,
                "maintenance_factor": 0.8,
                "watts": item.watts,
                "photometry_file": None,
                "rotation_deg": 0.0,
                "tilt_deg": 0.0,
                "geometry": p,
            }
            for k, p in enumerate(points)
        ]
        self.layers["lights"] = _append(lights, rows, "lights")
        self.log.add(
            index,
            item.type,
            Message(
                "change.lights_added",
                {"n": len(rows), "lumens": item.lumens, "height": item.height_m},
            ),
            lights_added=len(rows),
            cost_dkk=float(len(rows)) * _costs()["lamp"],
        )

    def do_add_cameras(self, index: int, item: AddCameras, source: Path | None) -> None:
        points = self.geometries(item.geometry, source, index, item.type, ("Point",))
        headings = (
            item.heading_deg
            if isinstance(item.heading_deg, list)
            else [item.heading_deg] * len(points)
        )
        if len(headings) != len(points):
            if points:  # no point in the district: already reported by geometries()
                self.problems.add(
                    source, index, item.type, f"{len(headings)} headings for {len(points)} cameras"
                )
            return
        cameras = self.layers["cameras"]
        ids = _fresh_ids(f"scn-camera-{index}", cameras["camera_id"], len(points))
        rows = [
            {
                "camera_id": ids[k],
                "height_m": item.height_m,
                "heading_deg": float(h),
                "hfov_deg": item.hfov_deg,
                "vfov_deg": None,
                "resolution_px": item.resolution_px,
                "tilt_deg": item.tilt_deg,
                "geometry": p,
            }
            for k, (p, h) in enumerate(zip(points, headings, strict=True))
        ]
        self.layers["cameras"] = _append(cameras, rows, "cameras")
        self.log.add(
            index,
            item.type,
            Message("change.cameras_added", {"n": len(rows)}),
            cameras_added=len(rows),
            cost_dkk=float(len(rows)) * _costs()["camera"],
        )

    def do_add_calming(self, index: int, item: AddCalming, source: Path | None) -> None:
        for kind in [item.kind, *item.kinds]:
            if not self.category(kind, "calming_kinds", source, index, item.type, "device kind"):
                return
        street_ids = None
        if item.streets is not None:
            mask = self.selected("streets", "street_id", item.streets, source, index, item.type)
            street_ids = list(self.layers["streets"].loc[mask, "street_id"])
        calming = self.layers["calming"]
        if item.auto:
            if self.check_only:
                return
            from vollsmose_gis.calming import plan_calming

            plan = plan_calming(
                self.district(),
                target_kmh=item.target_kmh,
                streets=street_ids,
                kinds=tuple(item.kinds),
            )
            # the planner's design speed (when it gives one) decides the crossing speed
            kept = ["kind", "street_id", "design_speed_kmh", "geometry"]
            devices = plan.devices[[c for c in kept if c in plan.devices.columns]].copy()
            devices.insert(
                0,
                "device_id",
                _fresh_ids(f"scn-calming-{index}", calming["device_id"], len(devices)),
            )
            rows: list[dict[str, Any]] = devices.to_dict("records")
        else:
            assert item.geometry is not None
            points = self.geometries(item.geometry, source, index, item.type, ("Point",))
            streets = self.layers["streets"]
            car = streets[streets["car"].fillna(False).astype(bool)]
            rows = []
            for k, point in enumerate(points):
                if len(car) == 0:
                    self.problems.add(
                        source,
                        index,
                        item.type,
                        "the district has no car street for a calming device",
                    )
                    break
                distances = car.distance(point)
                if distances.min() > 15:
                    self.problems.add(
                        source,
                        index,
                        item.type,
                        f"device {k + 1} at {point.x:.0f}, {point.y:.0f} is "
                        f"{distances.min():.0f} m from the nearest car street (max 15 m)",
                    )
                    continue
                rows.append(
                    {
                        "device_id": _fresh_ids(
                            f"scn-calming-{index}",
                            [*calming["device_id"], *(r["device_id"] for r in rows)],
                            1,
                        )[0],
                        "kind": item.kind,
                        "street_id": car.loc[distances.idxmin(), "street_id"],
                        "geometry": point,
                    }
                )
        self.layers["calming"] = _append(calming, rows, "calming")
        by_kind = pd.Series([r["kind"] for r in rows], dtype=object).value_counts().to_dict()
        self.log.add(
            index,
            item.type,
            Message(
                "change.calming_planned" if item.auto else "change.calming_added",
                {"n": len(rows), "kmh": item.target_kmh},
            ),
            calming_added=len(rows),
            cost_dkk=float(sum(_costs()["calming"][r["kind"]] for r in rows)),
            **{f"calming_{k}": float(v) for k, v in by_kind.items()},
        )

    def do_extend_rule_area(self, index: int, item: ExtendRuleArea, source: Path | None) -> None:
        polygons = self.geometries(item.geometry, source, index, item.type, ("Polygon",))
        if not polygons:
            return
        before = self.base.rule_area if self.settings.rule_area is None else self.settings.rule_area
        after = shapely.union_all([before, *polygons])
        self.settings = dataclasses.replace(self.settings, rule_area=after)
        self.log.add(
            index,
            item.type,
            Message("change.rule_area", {"m2": after.area - before.area, "reason": item.reason}),
        )

    def do_add_poi(self, index: int, item: AddPoi, source: Path | None) -> None:
        if not self.category(item.kind, "poi_kinds", source, index, item.type, "POI kind"):
            return
        points = self.geometries(item.geometry, source, index, item.type, ("Point",))
        pois = self.layers["pois"]
        ids = _fresh_ids(f"scn-poi-{index}", pois["poi_id"], len(points))
        rows = [
            {
                "poi_id": ids[k],
                "kind": item.kind,
                "name": item.name,
                "geometry": p,
            }
            for k, p in enumerate(points)
        ]
        self.layers["pois"] = _append(pois, rows, "pois")
        self.log.add(
            index,
            item.type,
            Message("change.pois_added", {"n": len(rows), "kind": item.kind}, {"kind": "poi"}),
            pois_added=len(rows),
        )


class SharedSteps:
    """The work of interventions that several scenarios of one run share, done once.

    Scenarios that extend the same file start with the same interventions (``Combined``
    extends ``Development plan 2030``, which extends ``Open up``).  Given to
    :func:`apply_scenario`, this keeps what a scenario built before each file's part
    of its list (and before its first planner-driven intervention), and a later
    scenario on the same base district that starts with the same interventions from
    the same files goes on from there instead of doing them again.  The result is the
    same: applying an intervention depends only on the work before it, the
    intervention and its file.

    Use one per scoring run (:func:`vollsmose_gis.scoring.score_scenarios` does):
    geometry files named by interventions are read once, so a file changed on disk
    while it is alive would not be seen.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[int, tuple[Any, ...]], _State] = {}
        self._bases: dict[int, District] = {}  # keeps the ids of the bases valid

    @staticmethod
    def _step(item: Any, source: Path | None) -> tuple[str, str]:
        return item.model_dump_json(), "" if source is None else str(source)

    def steps(self, scenario: Scenario) -> tuple[tuple[str, str], ...]:
        """The identity of each intervention of a scenario, in order."""
        return tuple(self._step(item, source) for item, source in scenario.interventions)

    def longest(self, district: District, steps: tuple[Any, ...]) -> _State | None:
        """The state after the longest kept beginning of ``steps`` on ``district``."""
        for stop in range(len(steps), 0, -1):
            state = self._states.get((id(district), steps[:stop]))
            if state is not None:
                return state
        return None

    def keep(self, district: District, steps: tuple[Any, ...], state: _State) -> None:
        """Keep the state after ``steps[:state.start]`` on ``district``."""
        self._bases[id(district)] = district
        self._states.setdefault((id(district), steps[: state.start]), state)


def apply_scenario(
    district: District,
    scenario: Scenario,
    *,
    progress: Callable[[float, str], None] | None = None,
    shared: SharedSteps | None = None,
) -> tuple[District, ChangeLog]:
    """Apply a scenario's interventions, in order, to a District.

    Every reference (street, building and land-use ids, categories, geometry inside the
    district) is checked first, through the whole list; only if all are sound is
    anything applied, so a scenario is never applied half-way.

    Parameters
    ----------
    district
        The base district (not modified).
    scenario
        A loaded :class:`Scenario`.
    progress
        Optional callback ``(fraction, message)``.
    shared
        Work shared with the other scenarios of a run (:class:`SharedSteps`): the
        interventions this scenario starts with that an earlier one applied to the
        same district are not applied again.

    Returns
    -------
    tuple of District and ChangeLog
        The new district (validated) and what changed.

    Raises
    ------
    ScenarioError
        Listing every problem: file, intervention index (0-based, in the scenario's
        resolved list) and type, and the offending ids or values.
    """
    checker = _Applier(district, check_only=True)
    steps = shared.steps(scenario) if shared is not None else ()
    known = shared.longest(district, steps) if shared is not None else None
    if known is not None:  # an earlier scenario checked and applied these: no problem
        checker.restore(known)
    resume: _State | None = None
    for index, (item, source) in enumerate(scenario.interventions):
        if index < checker.start:
            continue
        if resume is None and _planned(item):
            resume = checker.state(index)
        if (
            shared is not None
            and resume is None
            and 0 < index != checker.start
            and source != scenario.interventions[index - 1][1]
            and not checker.problems.items
        ):
            # the end of a file's part (e.g. of the scenario this one extends)
            shared.keep(district, steps, checker.state(index))
        checker.apply(index, item, source)
    if checker.problems.items:
        raise ScenarioError(
            f"scenario {scenario.name!r} cannot be applied to {district.name!r}:\n"
            + "\n".join(f"  - {p}" for p in checker.problems.items)
        )
    # The checking pass applies every intervention as the applying pass does, except
    # the planner-driven ones (it only checks those): the applying pass starts from the
    # checker's state before the first of them (all of it when there is none) instead
    # of doing the same work again.
    if resume is None:
        resume = checker.state(len(scenario.interventions))
    if shared is not None and resume.start > 0:
        shared.keep(district, steps, resume)
    applier = _Applier(district, check_only=False)
    applier.restore(resume)
    n = max(1, len(scenario.interventions))
    for index, (item, source) in enumerate(scenario.interventions):
        if index < applier.start:
            continue
        if progress:
            progress(index / n, f"{scenario.name}: {item.type}")
        applier.apply(index, item, source)
        if applier.problems.items:  # only possible for planner-driven steps
            raise ScenarioError("\n".join(applier.problems.items))
    from vollsmose_gis.validation import validate_district

    # crossings were warned about per intervention; the base's own are not this scenario's
    result = validate_district(
        applier.district(), source=f"scenario {scenario.name!r}", check_crossings=False
    )
    if progress:
        progress(1.0, f"{scenario.name}: applied")
    return result, applier.log
