"""The analysis contract: every analysis module has the same shape and is run one way.

An analysis module (connectivity, calming, lighting, cctv, mix, …) declares one
:class:`AnalysisSpec` named ``SPEC``: its name, the themes it feeds, the layers it reads
(their content is its cache key), its parameters with their defaults, and a ``compute``
function ``(district, **params) -> ModuleResult``.  The scorer, the CLI's module
commands, the maps and the QGIS algorithms all call :func:`run` (or ``SPEC.run``);
none re-assembles a module's pipeline.

Warnings a module raises while it runs are captured *as data*
(:attr:`ModuleResult.warnings`) and shown by each face — once, as one line — instead of
being silenced or printed with source paths.

The registry of modules is the folder of catalogue files
``standards/indicators/<module>.yaml`` (each names its module's import path), so adding
an analysis is one module with a ``SPEC`` plus its catalogue file.

Planners (calming devices, lamps, cameras, links) return one :class:`Plan`; the ids
of new features follow one scheme, :func:`new_ids`.
"""

from __future__ import annotations

import importlib
import logging
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vollsmose_gis import standards as _std
from vollsmose_gis._errors import InputError
from vollsmose_gis.indicators import Indicator, catalogue

if TYPE_CHECKING:
    import geopandas as gpd

    from vollsmose_gis.district import District
    from vollsmose_gis.io import Raster

__all__ = [
    "AnalysisSpec",
    "ModuleResult",
    "Plan",
    "clear_cache",
    "get",
    "module_names",
    "module_runs",
    "new_ids",
    "run",
    "scored_module_names",
    "specs",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass
class ModuleResult:
    """What one analysis module returns for a district.

    Attributes
    ----------
    indicators
        Indicator id -> :class:`~vollsmose_gis.indicators.Indicator` (each carries its
        catalogue id).
    layers
        Result layers by name (GeoDataFrames, written to GeoPackages as they are).
    rasters
        Result rasters by name (:class:`~vollsmose_gis.io.Raster`, written as GeoTIFF).
    warnings
        What the module warned about while it ran, one line each, in order, without
        repeats.
    provenance
        The provenance statement of the district the result was computed from.
    name
        The module's name.
    parameters
        The parameters the module ran with (defaults filled in).
    extras
        Module-specific objects a face may show (e.g. a compliance summary).
    """

    indicators: dict[str, Indicator]
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    rasters: dict[str, Raster] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    provenance: str = ""
    name: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def indicator_frame(self) -> pd.DataFrame:
        """The indicators as a table (id, label, value, unit, direction, theme)."""
        rows = [
            {
                "indicator": key,
                "label": ind.label,
                "value": ind.value,
                "unit": ind.unit,
                "higher_is_better": ind.higher_is_better,
                "theme": ind.theme,
            }
            for key, ind in self.indicators.items()
        ]
        return pd.DataFrame(
            rows, columns=["indicator", "label", "value", "unit", "higher_is_better", "theme"]
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: indicators (NaN as None), warnings, provenance."""

        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "module": self.name,
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "indicators": {
                key: {**ind.to_dict(), "value": clean(float(ind.value))}
                for key, ind in self.indicators.items()
            },
            "layers": {name: len(frame) for name, frame in self.layers.items()},
            "rasters": sorted(self.rasters),
            "warnings": list(self.warnings),
            "provenance": self.provenance,
        }

    def _repr_html_(self) -> str:
        from html import escape

        table = self.indicator_frame().to_html(index=False, float_format=lambda v: f"{v:,.3f}")
        notes = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        return (
            f"<b>{escape(self.name or 'module')}</b> result{table}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + f"<p><i>{escape(self.provenance)}</i></p>"
        )


def _same(a: Any, b: Any) -> bool:
    """Equal parameter values (tables only when they are the same object)."""
    if a is b:
        return True
    if isinstance(a, (pd.DataFrame, pd.Series)) or isinstance(b, (pd.DataFrame, pd.Series)):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _param_key(value: Any) -> str:
    """A parameter's part of a cache key: tables by content, other values by repr."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        hashed = int(pd.util.hash_pandas_object(value, index=True).to_numpy().sum(dtype="uint64"))
        return f"table:{len(value)}:{hashed}:{list(getattr(value, 'columns', []))}"
    return repr(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis module as every face sees it.

    Attributes
    ----------
    name
        The module's name (``"lighting"``); also its key in the registry.
    themes
        The themes its indicators feed.
    reads
        The layers its results depend on: their content is the cache key.
    compute
        ``compute(district, **params) -> ModuleResult``: the module's one pipeline.
    parameters
        Parameter name -> default (``None`` where the module derives it from the
        district).  Unknown parameters are refused by :meth:`run`.
    poi_kinds
        When given, the ``pois`` part of the cache key is narrowed to these kinds
        (traffic calming looks only at schools and day-care).
    settings
        The district settings (:class:`~vollsmose_gis.district.Settings` fields) the
        module reads, when it reads only some: only these are in the cache key, so a
        plan that changes, say, the rule area reuses the lighting of a plan that does
        not.  None (the default): all of them.
    summary
        One line on what the module measures.
    scored
        Whether plan scoring runs it (follow-up, for one, reads statistics, not plans).
    """

    name: str
    themes: tuple[str, ...]
    reads: tuple[str, ...]
    compute: Callable[..., ModuleResult]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    poi_kinds: tuple[str, ...] | None = None
    settings: tuple[str, ...] | None = None
    summary: str = ""
    scored: bool = True

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters with defaults filled in; unknown names refused."""
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise InputError(
                f"{self.name}: unknown parameter(s) {unknown}; "
                f"parameters are {sorted(self.parameters)}"
            )
        return {**self.parameters, **params}

    def cache_key(self, district: District, params: Mapping[str, Any] | None = None) -> str:
        """Content hash of exactly what the module reads, plus its parameters.

        The standards overrides in force (:func:`vollsmose_gis.standards.overridden`)
        are part of it - all of them; :func:`run` narrows them to the files a run
        actually read.
        """
        key = self._content_key(district, params)
        overrides = _std.override_key()
        return key + "|standards:" + overrides if overrides else key

    def _content_key(self, district: District, params: Mapping[str, Any] | None) -> str:
        if self.poi_kinds is not None and "pois" in self.reads:
            pois = district.pois
            district = district.replace(pois=pois[pois["kind"].astype(str).isin(self.poi_kinds)])
        # the settings (country, rules, rule area, centre) change what modules compute
        settings = district.settings.to_dict()
        if self.settings is not None:  # those the module reads
            settings = {name: settings[name] for name in self.settings}
        key = district.fingerprint(*self.reads) + "|" + repr(settings)
        resolved = self.resolve(params or {})
        if not all(_same(resolved[k], v) for k, v in self.parameters.items()):
            key += "|" + "|".join(f"{k}={_param_key(v)}" for k, v in sorted(resolved.items()))
        return key

    def run(self, district: District, **params: Any) -> ModuleResult:
        """Run the module on a district (no cache; see :func:`run` for the cached call).

        Warnings raised while it runs are captured into ``result.warnings`` (each
        once) and logged; indicators are stamped with their catalogue ids and
        checked against the catalogue.
        """
        resolved = self.resolve(params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = self.compute(district, **resolved)
        ours = [w for w in caught if _is_ours(w)]
        for w in caught:
            if not _is_ours(w):  # a third-party library's warning (e.g. matplotlib's set-up)
                log.debug("%s: %s", self.name, w.message)
        messages = list(dict.fromkeys(str(w.message) for w in ours))
        for message in messages:
            log.info("%s: %s", self.name, message)  # kept as data; each face shows it once
        from vollsmose_gis.completeness import caveats

        # sparse data get a caveat beside the indicators that rest on them
        messages += [
            f"data completeness: {c}" for c in caveats(district, self.name).get(self.name, [])
        ]
        result.name = self.name
        result.parameters = resolved
        if _std.override_key():  # provenance: the standards values it ran with
            result.parameters = {**resolved, "standards": _std.active_overrides()}
        result.warnings = list(dict.fromkeys([*result.warnings, *messages]))
        result.provenance = result.provenance or district.provenance.statement()
        result.indicators = {
            key: _stamp(self.name, key, ind) for key, ind in result.indicators.items()
        }
        return result


_PACKAGE = str(Path(__file__).resolve().parent)


def _is_ours(caught: warnings.WarningMessage) -> bool:
    """A warning raised by this package (its category or its caller lives here)."""
    category = getattr(caught.category, "__module__", "")
    return category.startswith("vollsmose_gis") or str(caught.filename).startswith(_PACKAGE)


def _stamp(module: str, key: str, indicator: Indicator) -> Indicator:
    """Give an indicator its catalogue id; refuse one the catalogue does not know."""
    entry = catalogue().get(key)
    if entry is None:
        raise KeyError(
            f"{module}: indicator {key!r} is not in standards/indicators/{module}.yaml; add its row"
        )
    if entry["module"] != module:
        raise KeyError(f"{module}: indicator {key!r} belongs to {entry['module']!r}")
    return indicator if indicator.id == key else replace(indicator, id=key)


# --------------------------------------------------------------------------- registry


def module_names() -> list[str]:
    """Names of the registered analysis modules, in catalogue order."""
    return list(_registry_paths())


@cache
def _registry_paths() -> dict[str, str]:
    from vollsmose_gis.indicators import catalogue_files

    return {name: str(data["module"]["import"]) for name, data in catalogue_files().items()}


def scored_module_names() -> list[str]:
    """Names of the modules plan scoring runs (every registered one that is ``scored``)."""
    return [name for name in module_names() if get(name).scored]


def get(name: str) -> AnalysisSpec:
    """The spec of one module (imports the module on first use).

    Raises
    ------
    InputError
        No module of that name.
    """
    paths = _registry_paths()
    if name not in paths:
        raise InputError(f"unknown module {name!r}; modules are {list(paths)}")
    spec = getattr(importlib.import_module(paths[name]), "SPEC", None)
    if not isinstance(spec, AnalysisSpec) or spec.name != name:
        raise TypeError(f"{paths[name]} must define SPEC = AnalysisSpec(name={name!r}, …)")
    return spec


def specs() -> dict[str, AnalysisSpec]:
    """Every registered module's spec, by name."""
    return {name: get(name) for name in module_names()}


_CACHE: dict[tuple[str, str], ModuleResult] = {}
_CACHE_SIZE = 256
_READS: dict[tuple[str, str], frozenset[str]] = {}
"""(module, content key) -> the standards files its runs read (:func:`run`)."""
module_runs: Counter[str] = Counter()
"""How many times each module actually ran in this process (cache misses)."""


def clear_cache() -> None:
    """Forget cached module results (and reset :data:`module_runs`)."""
    _CACHE.clear()
    _READS.clear()
    module_runs.clear()


def run(
    name: str,
    district: District,
    *,
    standards: Mapping[str, Mapping[str, Any]] | None = None,
    **params: Any,
) -> ModuleResult:
    """Run one module on a district, or return the cached result for the same content.

    Parameters
    ----------
    name
        A registered module (:func:`module_names`).
    district
        The district to analyse.
    standards
        Other values for standards files, for this run only: file name -> a partial
        mapping deep-merged onto ``standards/<file>.yaml`` (e.g. ``{"en13201":
        {"planner": {"lamp": {"maintenance_factor": 0.7}}}}``), as
        :func:`vollsmose_gis.standards.overridden`, which may also wrap the call.
        The overrides of the files the run read (its own and those of the modules it
        runs) are part of the cache key.
    **params
        The module's parameters (:attr:`AnalysisSpec.parameters`); ``progress`` is
        passed through and not part of the cache key.

    Returns
    -------
    ModuleResult
        Shared between callers with the same district content, parameters and
        standards values: treat it as read-only.
    """
    if standards:
        with _std.overridden(standards):
            return run(name, district, **params)
    spec = get(name)
    progress = params.pop("progress", None)
    content = (name, spec._content_key(district, params))
    # the standards files runs of this content read (a union, never shrinking: a cached
    # result is reused only when the overrides agree on every file its run read)
    read = _READS.get(content, frozenset())
    key = (content[0], content[1] + "|standards:" + _std.override_key(tuple(sorted(read))))
    if key in _CACHE:
        _std.note_reads(read)  # an outer run depends on them too (safety: calming)
        return _CACHE[key]
    module_runs[name] += 1
    if "progress" in spec.parameters:
        params["progress"] = progress
    with _std.recording() as reading:
        result = spec.run(district, **params)
    read = _READS[content] = read | frozenset(reading)
    mine = {k: v for k, v in _std.active_overrides().items() if k in read}
    result.parameters.pop("standards", None)
    if mine:  # provenance: the standards values the run read
        result.parameters["standards"] = mine
    key = (content[0], content[1] + "|standards:" + _std.override_key(tuple(sorted(read))))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = result
    return result


# --------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """What every planner returns (calming devices, lamps, cameras, links).

    Attributes
    ----------
    district
        The district with the added features.
    added
        The added features as rows of their layer (``layer``), ids from
        :func:`new_ids`.
    cost_dkk
        Cost of the added features (in the district's currency; DKK by default).
    unmet
        What the plan could not treat, one line each (street ids, segments…).
    summary
        Planner-specific figures (objective before/after, candidates evaluated…).
    layer
        The district layer the added features belong to.
    extras
        Further result tables of the planner (e.g. compliance after the plan).
    """

    district: District
    added: gpd.GeoDataFrame
    cost_dkk: float
    unmet: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    layer: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.added)

    def __repr__(self) -> str:
        return (
            f"Plan({self.layer}: {len(self.added)} added, {self.cost_dkk:,.0f} DKK, "
            f"{len(self.unmet)} unmet)"
        )


def new_ids(prefix: str, count: int, existing: Iterable[str] = ()) -> list[str]:
    """Ids for ``count`` new features: ``new-<prefix>-001``, … skipping ``existing``.

    One scheme for every planner and scenario, so a new feature is recognisable in
    every layer and never collides with an id already in the district.
    """
    taken = set(existing)
    ids: list[str] = []
    n = 0
    while len(ids) < count:
        n += 1
        candidate = f"new-{prefix}-{n:03d}"
        if candidate not in taken:
            ids.append(candidate)
    return ids
