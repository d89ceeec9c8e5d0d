"""Thresholds, categories and layer schemas as versioned data.

Everything a new edition of a standard or a new category would change lives in the
YAML/CSV files of this package, not in code.  The loaders here read them once and
cache the result.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["categories", "highway_defaults", "layer_schemas", "load"]


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed contents of ``standards/<name>.yaml``.

    Parameters
    ----------
    name
        File name without the ``.yaml`` suffix, e.g. ``"categories"``.

    Returns
    -------
    dict
        The parsed YAML mapping (cached; do not mutate it).
    """
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"standards/{name}.yaml must hold a mapping, got {type(data).__name__}")
    return data


@cache
def categories(kind: str) -> tuple[str, ...]:
    """Return the allowed values of one category list, in file order.

    Parameters
    ----------
    kind
        A list in ``categories.yaml`` (``"tenures"``, ``"uses"``, ``"poi_kinds"``...),
        or ``"highway_classes"`` for the OSM classes of ``highways.yaml``.
    """
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
