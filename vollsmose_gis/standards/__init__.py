"""Thresholds, categories and layer schemas as versioned data.

Everything a new edition of a standard or a new category would change lives in the
YAML/CSV files of this package, not in code.  The loaders here read them once and
cache the result.

A run can see other values for some of them without touching the files:
:func:`overridden` deep-merges partial mappings onto the packaged files inside a
``with`` block (a :class:`~contextvars.ContextVar`, so threads and Dask tasks started
elsewhere keep their own), and every :func:`load` inside the block returns the merged
mapping.  :func:`override_key` names the overrides in force, for caches that keep
values derived from the standards (e.g. :func:`vollsmose_gis.analysis.run`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from vollsmose_gis._errors import InputError

__all__ = [
    "active_overrides",
    "categories",
    "deep_merge",
    "highway_defaults",
    "layer_schemas",
    "load",
    "note_reads",
    "overridden",
    "override_key",
    "recording",
]

_OVERRIDES: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("standards_overrides", default=())
"""The overrides in force: (file name, canonical JSON of the partial mapping), sorted."""

_READS: ContextVar[set[str] | None] = ContextVar("standards_reads", default=None)
"""The files :func:`load` read inside the innermost :func:`recording` block."""


def load(name: str) -> dict[str, Any]:
    """Return the parsed contents of ``standards/<name>.yaml``.

    Inside :func:`overridden` the file's override, if any, is merged on top.

    Parameters
    ----------
    name
        File name without the ``.yaml`` suffix, e.g. ``"categories"``.

    Returns
    -------
    dict
        The parsed YAML mapping (cached per file and override; do not mutate it).
    """
    reads = _READS.get()
    if reads is not None:
        reads.add(name)
    for stem, text in _OVERRIDES.get():
        if stem == name:
            return _merged(name, text)
    return _packaged(name)


@cache
def _packaged(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"standards/{name}.yaml must hold a mapping, got {type(data).__name__}")
    return data


@lru_cache(maxsize=256)
def _merged(name: str, text: str) -> dict[str, Any]:
    return deep_merge(_packaged(name), json.loads(text))


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged onto ``base``, mapping by mapping; neither is changed.

    Values of ``extra`` are copied; subtrees of ``base`` that ``extra`` does not touch
    are shared with it (treat the result as read-only, or deep-copy ``base`` first).
    """
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check(name: str, base: Any, extra: Any, path: str) -> None:
    """Refuse keys the packaged file does not have (a typo would silently do nothing)."""
    if not isinstance(extra, Mapping):
        return
    if not isinstance(base, Mapping):
        raise InputError(
            f"standards override of {name}.yaml: {path or 'the file'} is a value, not a "
            "mapping; give the value itself"
        )
    for key, value in extra.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in base:
            raise InputError(
                f"standards override of {name}.yaml: no key {where!r} in the packaged file; "
                f"keys there are {sorted(map(str, base))}"
            )
        _check(name, base[key], value, where)


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except TypeError as exc:
        raise InputError(f"standards overrides must be plain YAML/JSON values ({exc})") from None


@contextmanager
def overridden(overrides: Mapping[str, Mapping[str, Any]] | None) -> Iterator[None]:
    """Let :func:`load` see other values of some standards files inside a ``with`` block.

    Parameters
    ----------
    overrides
        File name (``"en13201"``) -> a partial mapping of that file, deep-merged onto
        it (``{"planner": {"lamp": {"maintenance_factor": 0.7}}}``).  Blocks nest: an
        inner block merges onto the outer one.  ``None`` or ``{}`` changes nothing.

    Raises
    ------
    InputError
        An unknown file, a key the packaged file does not have, or a value that is not
        plain YAML/JSON.
    """
    if not overrides:
        yield
        return
    current = dict(_OVERRIDES.get())
    for name, partial in overrides.items():
        if not isinstance(partial, Mapping):
            raise InputError(
                f"standards override of {name!r}: give a mapping of the file's keys, "
                f"got {type(partial).__name__}"
            )
        try:
            base = _packaged(str(name))
        except FileNotFoundError:
            raise InputError(f"standards override: no file standards/{name}.yaml") from None
        _check(str(name), base, partial, "")
        earlier = json.loads(current[name]) if name in current else {}
        current[str(name)] = _canonical(deep_merge(earlier, partial))
    token = _OVERRIDES.set(tuple(sorted(current.items())))
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def active_overrides() -> dict[str, dict[str, Any]]:
    """The overrides in force (file name -> partial mapping); ``{}`` outside a block."""
    return {name: json.loads(text) for name, text in _OVERRIDES.get()}


def override_key(names: tuple[str, ...] | None = None) -> str:
    """A canonical text of the overrides in force (``""`` when none), for cache keys.

    Parameters
    ----------
    names
        Only the overrides of these files (default: all); a cache that keys on them
        depends on those files, so they count as read (:func:`recording`).
    """
    if names is not None:
        note_reads(names)
    parts = [f"{n}={t}" for n, t in _OVERRIDES.get() if names is None or n in names]
    return ";".join(parts)


def categories(kind: str) -> tuple[str, ...]:
    """Return the allowed values of one category list, in file order.

    Parameters
    ----------
    kind
        A list in ``categories.yaml`` (``"tenures"``, ``"uses"``, ``"poi_kinds"``...),
        or ``"highway_classes"`` for the OSM classes of ``highways.yaml``.
    """
    return _categories(kind, override_key(("categories", "highways")))


@cache
def _categories(kind: str, overrides: str) -> tuple[str, ...]:
    """:func:`categories`, memoised per list and per override of the two files."""
    if kind == "highway_classes":
        return tuple(load("highways")["classes"])
    lists = load("categories")
    if kind not in lists or kind == "version":
        known = sorted(k for k in lists if k != "version")
        raise KeyError(f"unknown category list {kind!r}; known lists: {known}")
    return tuple(lists[kind])


def highway_defaults(highway: str) -> dict[str, Any]:
    """Return the defaults (access, speed, lanes, width, lighting class) of an OSM class."""
    return dict(load("highways")["classes"][highway])


def layer_schemas() -> dict[str, dict[str, Any]]:
    """Return the layer schemas of ``layers.yaml`` keyed by layer name."""
    layers: dict[str, dict[str, Any]] = load("layers")["layers"]
    return layers


@contextmanager
def recording() -> Iterator[set[str]]:
    """Record which standards files :func:`load` reads inside a ``with`` block.

    Yields the set of file names, filled as the block runs; a block nested in another
    adds its files to the outer one as well.  :func:`vollsmose_gis.analysis.run` keys
    its cache on the overrides of exactly these files.
    """
    outer = _READS.get()
    mine: set[str] = set()
    token = _READS.set(mine)
    try:
        yield mine
    finally:
        _READS.reset(token)
        if outer is not None:
            outer.update(mine)


def note_reads(names: Iterable[str]) -> None:
    """Count ``names`` as read in the current :func:`recording` block (a cached value
    derived from them was used instead of calling :func:`load`).
    """
    reads = _READS.get()
    if reads is not None:
        reads.update(names)
