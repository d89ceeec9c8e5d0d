"""OSM tag values and how tags become layer columns (``standards/osm_mapping.yaml``)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vollsmose_gis._errors import InputError
from vollsmose_gis.sources.osm.read import ImportReport
from vollsmose_gis.standards import categories, highway_defaults, load

_NUMBER = re.compile(r"^([-+]?\d+(?:[.,]\d+)?)\s*(.*)$")
_FEET_INCHES = re.compile(r"^(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*\")?$")


def _number(text: str) -> tuple[float, str] | None:
    """Split ``"12.5 m"`` into (12.5, "m"); None if the text does not start with a number."""
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    return float(match.group(1).replace(",", ".")), match.group(2).strip().lower()


def _parse_length_m(text: str | None) -> float | None:
    r"""Parse an OSM length (``"6"``, ``"6 m"``, ``"20 ft"``, ``"6'6\\""``) in metres."""
    if text is None:
        return None
    feet = _FEET_INCHES.match(text.strip())
    if feet:
        return (float(feet.group(1)) * 12 + float(feet.group(2) or 0)) * 0.0254
    parsed = _number(text)
    if parsed is None:
        return None
    value, unit = parsed
    factor = {"": 1.0, "m": 1.0, "meter": 1.0, "metre": 1.0, "km": 1000.0, "ft": 0.3048,
              "feet": 0.3048, "cm": 0.01}.get(unit)  # fmt: skip
    if factor is None or not math.isfinite(value) or value <= 0:
        return None
    return value * factor


def _parse_count(text: str | None) -> float | None:
    """Parse a count (levels, lanes, flats); ``"2;3"`` -> the largest; None if not a number."""
    if text is None:
        return None
    values = []
    for part in re.split(r"[;|]", text):
        parsed = _number(part)
        if parsed is None or parsed[1] or parsed[0] < 0:
            return None
        values.append(parsed[0])
    return max(values) if values else None


def parse_maxspeed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value
        The tag value: ``"50"``, ``"30 mph"``, ``"10 knots"``, ``"DK:urban"`` (implicit
        limits of ``standards/osm_mapping.yaml``), ``"walk"``, ``"none"``, or several
        limits ``"50;30"``.

    Returns
    -------
    float or None
        The limit in km/h (the highest of several limits, so that speed-risk models never
        underestimate speed); ``"walk"`` and ``"none"`` give the documented walking pace
        and advisory speed.  None if the value is not understood (``"signals"``,
        ``"variable"``, ``"fast"``): the importer then uses the highway class default.
    """
    if value is None:
        return None
    rules = load("osm_mapping")["maxspeed"]
    zones = {key.lower(): float(speed) for key, speed in rules["zones"].items()}
    speeds = []
    for part in (p.strip().lower() for p in re.split(r"[;|]", value)):
        if not part:
            continue
        if part == "walk":
            speeds.append(float(rules["walk_kmh"]))
        elif part == "none":
            speeds.append(float(rules["none_kmh"]))
        elif part in zones:
            speeds.append(zones[part])
        else:
            parsed = _number(part)
            if parsed is None or parsed[0] <= 0:
                return None
            number, unit = parsed
            units = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0}
            units |= {"mph": rules["mph_to_kmh"], "knots": rules["knots_to_kmh"]}
            factor = units.get(unit)
            if factor is None:
                return None
            speeds.append(number * float(factor))
    return max(speeds) if speeds else None


def parse_tenure(text: str) -> str | dict[str, str]:
    """Parse a tenure option: ``"almen_family"`` or ``"apartments=almen_family,*=owner_occupied"``.

    Keys are ``building=*`` values (``*`` for any other); values are tenure categories.

    Raises
    ------
    InputError
        A malformed pair or an unknown tenure category.
    """
    if "=" not in text:
        _tenure_rule(text.strip())
        return text.strip()
    rule: dict[str, str] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(
                f"tenure {text!r}: {pair!r} is not BUILDING=TENURE "
                "(e.g. apartments=almen_family,*=owner_occupied)"
            )
        rule[key.strip()] = value.strip()
    _tenure_rule(rule)
    return rule


def _tenure_rule(tenure: str | Mapping[str, str] | None) -> dict[str, str]:
    """Normalise the tenure argument to {building value or '*': tenure}, checking values."""
    if tenure is None:
        return {}
    rule = {"*": tenure} if isinstance(tenure, str) else dict(tenure)
    allowed = categories("tenures")
    bad = {k: v for k, v in rule.items() if v not in allowed}
    if bad:
        raise InputError(
            f"tenure mapping {bad!r} uses unknown tenure(s); allowed: {', '.join(allowed)}"
        )
    return rule


def _first_match(tags: dict[str, str], table: dict[str, dict[str, str]]) -> str | None:
    """Look tags up in {key: {value or '*': result}} in key order; first hit wins."""
    for key, values in table.items():
        value = tags.get(key)
        if value is None:
            continue
        hit = values.get(value, values.get("*"))
        if hit is not None:
            return str(hit)
    return None


def _access(tags: dict[str, str], keys: list[str], default: bool, rules: dict[str, Any],
            report: ImportReport, *, grant: Iterable[str] = ()) -> tuple[bool, bool]:  # fmt: skip
    """Whether a mode may use a way: (allowed, a generic tag's grant was ignored).

    ``keys`` run from least to most specific and the last tag present wins, with one
    exception: where the class does not carry the mode (``default`` False), only the
    keys in ``grant`` (the mode's own keys, e.g. ``motor_vehicle`` for cars) can allow
    it.  ``access=permissive`` on a footway or steps thus opens it to walking, never to
    cars (the generic tag speaks of the modes the way is built for).
    """
    allowed, denied = set(rules["access_allowed"]), set(rules["access_denied"])
    grant = set(grant)
    result = default
    ignored = False
    for key in keys:
        value = tags.get(key)
        if value is None:
            continue
        if value in allowed:
            if default or key in grant:
                result = True
            else:
                ignored = True
        elif value in denied:
            result = False
        else:
            report.estimated[f"streets: {key}={value!r} not understood, ignored"] += 1
    return result, ignored and not result


def _footway(tags: dict[str, str], rule: dict[str, Any]) -> str | None:
    """``sidewalk``/``crossing``/… for a path drawn beside or across a road, else None."""
    if tags.get("highway") not in rule["classes"]:
        return None
    for key in rule["keys"]:
        value = tags.get(key)
        if value in rule["values"]:
            return str(value)
    return None


def _street_attributes(  # noqa: C901 - waiver: one branch per OSM street tag
    way_id: int, tags: dict[str, str], bus_ways: set[int], rules: dict[str, Any],
    report: ImportReport,
) -> dict[str, Any]:  # fmt: skip
    """Columns of a street from its tags and its class defaults."""
    street_rules = rules["streets"]
    highway = tags["highway"]
    defaults = highway_defaults(highway)
    access_keys = street_rules["access_keys"]
    grant_keys = street_rules["grant_keys"]
    modes = {}
    for mode in ("car", "bike", "walk"):
        modes[mode], ignored = _access(
            tags, access_keys[mode], bool(defaults[mode]), street_rules, report,
            grant=grant_keys[mode],
        )  # fmt: skip
        if ignored:
            report.estimated[
                f"streets: generic access tag on highway={highway} does not open it to {mode} "
                f"(only {'/'.join(grant_keys[mode])} can)"
            ] += 1
    car, bike, walk = modes["car"], modes["bike"], modes["walk"]
    if tags.get("motorroad") == "yes":
        walk = bike = False

    maxspeed = defaults["maxspeed_kmh"]
    text = tags.get("maxspeed")
    if text is None:
        directional = [tags[k] for k in ("maxspeed:forward", "maxspeed:backward") if k in tags]
        zone = next((tags[k] for k in ("maxspeed:type", "zone:maxspeed", "source:maxspeed")
                     if k in tags), None)  # fmt: skip
        text = ";".join(directional) if directional else zone
    if text is not None:
        parsed = parse_maxspeed(text)
        if parsed is None:
            report.estimated["streets: maxspeed not understood, class default used"] += 1
        else:
            maxspeed = parsed
    elif maxspeed is not None:
        report.estimated["streets: maxspeed not tagged, class default (highways.yaml) used"] += 1

    lanes = defaults["lanes"]
    if "lanes" in tags:
        count = _parse_count(tags["lanes"])
        if count is None or count < 1 or count != int(count):
            report.estimated["streets: lanes not understood, class default used"] += 1
        else:
            lanes = int(count)
    width = defaults["width_m"]
    if "width" in tags:
        parsed_width = _parse_length_m(tags["width"])
        if parsed_width is None:
            report.estimated["streets: width not understood, class default used"] += 1
        else:
            width = parsed_width

    lit_text = tags.get("lit")
    lit: bool | None = None
    if lit_text in street_rules["lit_true"]:
        lit = True
    elif lit_text in street_rules["lit_false"]:
        lit = False
    elif lit_text is not None:
        report.estimated["streets: lit value not understood, left unknown"] += 1

    oneway_text = tags.get("oneway")
    oneway = tags.get("junction") in ("roundabout", "circular") or highway in (
        "motorway",
        "motorway_link",
    )
    reverse = False
    if oneway_text in street_rules["oneway_true"]:
        oneway = True
    elif oneway_text in street_rules["oneway_reverse"]:
        oneway = reverse = True
    elif oneway_text in street_rules["oneway_false"]:
        oneway = False
    return {
        "osm_id": f"way/{way_id}",
        "name": tags.get("name"),
        "highway": highway,
        "car": car,
        "walk": walk,
        "bike": bike,
        "oneway": oneway,
        "maxspeed_kmh": maxspeed,
        "lanes": lanes,
        "width_m": width,
        "lit": lit,
        "lighting_class": None,
        "bridge": tags.get("bridge", "no") != "no",
        "tunnel": tags.get("tunnel", "no") != "no",
        "bus_route": way_id in bus_ways,
        "footway": _footway(tags, street_rules["footway"]),
        "_reverse": reverse,
    }


def _is_building(tags: dict[str, str]) -> bool:
    return tags.get("building", "no") != "no"


def _poi_kind(tags: dict[str, str], rules: dict[str, Any]) -> str | None:
    poi_rules = rules["pois"]
    if tags.get("amenity") in poi_rules["amenity_not_poi"]:
        tags = {k: v for k, v in tags.items() if k != "amenity"}
    return _first_match(tags, poi_rules["kinds"])


def _height(tags: dict[str, str], default: float, layer: str, report: ImportReport) -> float:
    height = _parse_length_m(tags.get("height"))
    if height is None:
        report.estimated[f"{layer}: height not tagged (or not understood), default used"] += 1
        return default
    return height


def _direction(text: str, compass: dict[str, float]) -> tuple[float, float | None] | None:
    """Parse camera:direction: (heading, span or None); a range 'A-B' turns clockwise A->B."""

    def one(part: str) -> float | None:
        part = part.strip()
        if part.upper() in compass:
            return float(compass[part.upper()])
        parsed = _number(part)
        if parsed is None or parsed[1] not in ("", "°", "deg"):
            return None
        return parsed[0] % 360.0

    if "-" in text.strip()[1:]:
        start_text, _, end_text = text.strip().partition("-")
        start, end = one(start_text), one(end_text)
        if start is None or end is None:
            return None
        span = (end - start) % 360.0 or 360.0
        if text.strip() in ("0-359", "0-360"):
            span = 360.0
        return (start + span / 2) % 360.0, span
    heading = one(text)
    return None if heading is None else (heading, None)
