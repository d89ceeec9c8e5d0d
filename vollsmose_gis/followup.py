"""Follow-up: a district's goals year by year, against the government's area criteria.

Odense's programme makes its committee follow, every year, the parameters of its goals
(resident mix, work and education, income, crime, safety) and measure the effect of
what is done.  This module gives the toolkit that time axis:

- :func:`read_statistics` reads area statistics by year (one row per area × year,
  aggregates only — a table that looks like person data is refused);
- :func:`assess` evaluates every criteria set in force each year
  (``standards/criteria/*.yaml``: the 2010, 2013, 2018 sets and the current
  almenboligloven § 61 a / § 61 b), with the multi-year means the law prescribes, each
  criterion's distance to its threshold, the resulting lists and for how many
  consecutive years, and what would take the area off each list;
- :func:`trends` fits a robust (Theil–Sen) trend with an interval per area and
  statistic and judges targets "reached / on track / off track / undetermined",
  never extrapolating beyond a documented horizon;
- :func:`effect` compares before and after an intervention and, with a comparison
  area, gives a difference-in-differences estimate with its interval — an
  association, not proof;
- :func:`physical_series` runs every analysis module on district snapshots by year, so
  the § 168 a share, lit path share, modelled V85 … become time series;
- :func:`incident_series` turns a district's ``incidents`` layer (issue 19's evidence)
  into incidents by year and per 1,000 residents, which :func:`monitor` merges into the
  statistics (filling only what the statistics leave empty) so they get trends too.

:func:`monitor` does all of it; ``SPEC`` makes follow-up one more analysis under the
contract of :mod:`vollsmose_gis.analysis`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult
from vollsmose_gis.district import District
from vollsmose_gis.indicators import indicator
from vollsmose_gis.standards import load

__all__ = [
    "SPEC",
    "CriteriaSet",
    "MonitorResult",
    "assess",
    "criteria_sets",
    "effect",
    "example_statistics",
    "incident_series",
    "monitor",
    "physical_series",
    "read_statistics",
    "suppress",
    "trends",
]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


def _config() -> dict[str, Any]:
    return load("followup")


# --------------------------------------------------------------------------- statistics


def example_statistics() -> pd.DataFrame:
    """The embedded example series for Vollsmose and an (invented) comparison estate.

    Only the 2012 row's three criterion values are real (the ministry's list of
    1.10.2012: 67.5 % non-Western, 53.7 % outside work or education, 375 convicted per
    10,000 adults); every other row is **illustrative** (``illustrative`` true) and
    every output made from it says so.
    """
    path = resources.files("vollsmose_gis.standards").joinpath("examples", "vollsmose_followup.csv")
    with resources.as_file(path) as real:
        return read_statistics(real)


def read_statistics(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and check area statistics by year (CSV, GeoPackage table, or a DataFrame).

    Columns are those of ``standards/followup.yaml`` (unknown ones are kept but not
    used).  Shares may be 0-1 or 0-100, consistently within a column; they are returned
    as 0-1.  Missing values stay missing (never 0).  ``income_ratio`` (area / region)
    is derived when both incomes are given.

    Raises
    ------
    InputError
        Person-like columns, missing ``area_id``/``year``, duplicate area-year rows,
        non-numeric values, shares outside 0-1 (or mixed 0-1 and 0-100), negative
        counts — naming the file, row and column.
    """
    name = "statistics" if isinstance(source, pd.DataFrame) else str(source)
    frame = _read_table(source, name)
    config = _config()
    lower = {c: str(c).strip().lower() for c in frame.columns}
    frame = frame.rename(columns=lower)
    person = sorted(set(frame.columns) & set(config["person_columns"]))
    if person:
        raise InputError(
            f"{name}: column(s) {person} look like person data; follow-up takes aggregates "
            "only (one row per area and year) — remove them"
        )
    for column in ("area_id", "year"):
        if column not in frame.columns:
            raise InputError(f"{name}: missing column {column!r} (one row per area and year)")
    if frame.empty:
        raise InputError(f"{name}: no rows")
    frame["area_id"] = frame["area_id"].astype("string").str.strip()
    frame["year"] = _numbers(frame, "year", name)
    if frame["year"].isna().any() or (frame["year"] % 1 != 0).any():
        row = int(frame.index[frame["year"].isna() | (frame["year"] % 1 != 0)][0]) + 2
        raise InputError(f"{name}: row {row}: year must be a whole number")
    frame["year"] = frame["year"].astype(int)
    low, high = config["statistics"]["year"]["range"]
    bad = frame[(frame["year"] < low) | (frame["year"] > high)]
    if len(bad):
        raise InputError(
            f"{name}: row {int(bad.index[0]) + 2}: year {int(bad['year'].iloc[0])} outside "
            f"{low}-{high}"
        )
    duplicated = frame.duplicated(["area_id", "year"], keep=False)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        rows = [int(i) + 2 for i in frame.index[duplicated]]
        raise InputError(
            f"{name}: rows {rows}: area {first['area_id']!r} has more than one row for "
            f"{int(first['year'])}; one row per area and year (aggregates, not persons)"
        )
    for column, spec in config["statistics"].items():
        if column in ("area_id", "year") or column not in frame.columns:
            continue
        kind = spec["dtype"]
        if kind == "string":
            frame[column] = frame[column].astype("string")
        elif kind == "bool":
            frame[column] = frame[column].map(_boolean).astype("boolean")
        else:
            frame[column] = _numbers(frame, column, name)
            _check_range(frame, column, kind, spec, name)
    if "illustrative" not in frame.columns:
        frame["illustrative"] = pd.array([False] * len(frame), dtype="boolean")
    if {"income_mean_dkk", "income_region_mean_dkk"} <= set(frame.columns):
        frame["income_ratio"] = frame["income_mean_dkk"] / frame["income_region_mean_dkk"]
    _derive_incident_rate(frame)
    return frame.sort_values(["area_id", "year"], kind="stable").reset_index(drop=True)


def _derive_incident_rate(frame: pd.DataFrame) -> None:
    """Incidents per 1,000 residents from the counts, where the table leaves it empty."""
    if not {"incidents", "residents"} <= set(frame.columns):
        return
    derived = frame["incidents"] / frame["residents"].where(frame["residents"] > 0) * 1000.0
    given = frame.get("incidents_per_1000_residents")
    frame["incidents_per_1000_residents"] = derived if given is None else given.fillna(derived)


def _read_table(source: str | Path | pd.DataFrame, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    try:
        if path.suffix.lower() == ".gpkg":
            import pyogrio

            return pd.DataFrame(pyogrio.read_dataframe(path, read_geometry=False))
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text; save it as UTF-8 CSV") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{name}: not a readable table ({exc})") from None


def _boolean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return pd.NA
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "ja"):
        return True
    if text in ("false", "0", "no", "nej", ""):
        return False
    return pd.NA


def _numbers(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    raw = frame[column]
    text = raw.astype("string").str.strip().str.replace(",", ".", regex=False)
    values = pd.to_numeric(text.replace({"": None}), errors="coerce")
    bad = values.isna() & text.notna() & (text != "")
    if bad.any():
        row = int(frame.index[bad][0]) + 2
        raise InputError(
            f"{name}: row {row}, column {column!r}: {raw[bad].iloc[0]!r} is not a number"
        )
    return values.astype(float)


def _check_range(
    frame: pd.DataFrame, column: str, kind: str, spec: Mapping[str, Any], name: str
) -> None:
    values = frame[column]
    known = values.dropna()
    if known.empty:
        return
    if (known < 0).any():
        row = int(known.index[known < 0][0]) + 2
        raise InputError(f"{name}: row {row}, column {column!r}: negative value {known.min():g}")
    if kind == "share":
        if (known > 1).any():
            if (known <= 1).any() and (known > 0).any() and (known[known <= 1] > 0).any():
                raise InputError(
                    f"{name}: column {column!r} mixes shares (0-1) and percentages (0-100); "
                    "use one scale in the whole column"
                )
            if (known > 100).any():
                row = int(known.index[known > 100][0]) + 2
                raise InputError(f"{name}: row {row}, column {column!r}: percentage above 100")
            frame[column] = values / 100.0
    elif "range" in spec:
        low, high = spec["range"]
        outside = known[(known < low) | (known > high)]
        if len(outside):
            row = int(outside.index[0]) + 2
            raise InputError(
                f"{name}: row {row}, column {column!r}: {outside.iloc[0]:g} outside {low}-{high}"
            )


def suppress(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts below the disclosure threshold (default 5) as the text ``"<5"``.

    For output only: the returned frame has object columns where a count was hidden.
    """
    threshold = int(_config()["suppress_below"])
    counts = columns or [
        c for c, s in _config()["statistics"].items() if s["dtype"] == "count" and c in frame
    ]
    out = frame.copy()
    for column in counts:
        if column in out.columns:
            small = out[column].notna() & (out[column] < threshold)
            if small.any():
                out[column] = out[column].astype(object)
                out.loc[small, column] = f"<{threshold}"
    return out


# --------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class CriteriaSet:
    """One criteria set (a data file in ``standards/criteria/``) and the years it rules."""

    id: str
    title: str
    source: str
    from_year: int
    to_year: int | None
    min_residents: int
    lists: dict[str, dict[str, Any]]

    def in_force(self, year: int) -> bool:
        """True when the lists of ``year`` were drawn up under this set."""
        return self.from_year <= year and (self.to_year is None or year <= self.to_year)


@cache
def criteria_sets() -> tuple[CriteriaSet, ...]:
    """Every criteria set in ``standards/criteria/``, oldest first."""
    folder = resources.files("vollsmose_gis.standards").joinpath("criteria")
    sets = []
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".yaml"):
            continue
        data = load(f"criteria/{item.name[:-5]}")
        sets.append(
            CriteriaSet(
                id=str(data["id"]),
                title=str(data["title"]),
                source=str(data["source"]),
                from_year=int(data["lists_from_year"]),
                to_year=None if data.get("lists_to_year") is None else int(data["lists_to_year"]),
                min_residents=int(data.get("min_residents", 0)),
                lists=dict(data["lists"]),
            )
        )
    return tuple(sorted(sets, key=lambda s: s.from_year))


def _criterion_rows(
    series: pd.DataFrame, year: int, group: Mapping[str, Any], kind: str
) -> list[dict[str, Any]]:
    """Value, threshold, met and distance of each criterion of a list in one year."""
    rows = []
    for key, spec in group.items():
        column = spec["column"]
        span = int(spec.get("mean_years", 1))
        window = series[(series["year"] > year - span) & (series["year"] <= year)]
        values = window[column].dropna() if column in window else pd.Series(dtype=float)
        value = float(values.mean()) if len(values) else math.nan
        if "factor_of" in spec:
            base = window[spec["factor_of"]].dropna() if spec["factor_of"] in window else []
            threshold = float(spec["factor"]) * float(np.mean(base)) if len(base) else math.nan
        else:
            threshold = float(spec["threshold"])
        op = spec["op"]
        known = math.isfinite(value) and math.isfinite(threshold)
        met = bool(_OPS[op](value, threshold)) if known else None
        rows.append(
            {
                "criterion": key,
                "kind": kind,
                "column": column,
                "label": spec["label"]["en"],
                "label_da": spec["label"]["da"],
                "value": value,
                "op": op,
                "threshold": threshold,
                "met": met,
                # signed: > 0 means the criterion is met by that margin
                "margin": (value - threshold) * (1 if op.startswith(">") else -1)
                if known
                else math.nan,
                "years_in_mean": len(values),
                "years_required": span,
            }
        )
    return rows


def _list_status(rows: list[dict[str, Any]], spec: Mapping[str, Any]) -> tuple[bool | None, str]:
    """Whether a list's conditions hold, and what would take the area off it."""
    required = [r for r in rows if r["kind"] == "all"]
    counted = [r for r in rows if r["kind"] == "of"]
    need = int(spec.get("at_least", 0))
    unknown_required = any(r["met"] is None for r in required)
    all_ok = all(r["met"] for r in required) if required else True
    met_count = sum(1 for r in counted if r["met"])
    unknown = sum(1 for r in counted if r["met"] is None)
    if required and not unknown_required and not all_ok:
        return False, ""
    if counted and met_count + unknown < need:
        return False, ""
    if unknown_required or (counted and met_count < need):
        return None, "not determinable: some criteria lack data"
    off = []
    for r in required:
        off.append(f"{r['label']} to {_threshold_text(r)} (now {r['value']:.3g})")
    if counted:
        surplus = met_count - need + 1
        options = sorted((r for r in counted if r["met"]), key=lambda r: r["margin"])
        off.append(
            f"{surplus} of: "
            + "; ".join(
                f"{r['label']} to {_threshold_text(r)} (now {r['value']:.3g})" for r in options
            )
        )
    return True, "off the list if " + ", or ".join(off)


def _threshold_text(row: Mapping[str, Any]) -> str:
    flip = {">": "≤", ">=": "<", "<": "≥", "<=": ">"}[row["op"]]
    return f"{flip} {row['threshold']:.3g}"


def assess(statistics: pd.DataFrame, *, sets: Sequence[str] | None = None) -> pd.DataFrame:
    """Every criterion of every criteria set in force, for each area and year.

    Parameters
    ----------
    statistics
        From :func:`read_statistics`.
    sets
        Criteria-set ids to use regardless of year (default: for each year, the set in
        force that year).

    Returns
    -------
    pandas.DataFrame
        Long table: area_id, year, set, list, criterion, kind (``all`` = required,
        ``of`` = counted), label, value, op, threshold, met (True/False/None when data
        are missing), margin (> 0: met by that much), years_in_mean, years_required,
        on_list (the list's verdict that year), consecutive_years (years on that list
        up to this one), off_list_if (what would take the area off).

    Raises
    ------
    InputError
        An unknown criteria-set id, or no set in force for a year.
    """
    available = {s.id: s for s in criteria_sets()}
    if sets is not None:
        unknown = sorted(set(sets) - set(available))
        if unknown:
            raise InputError(f"unknown criteria set(s) {unknown}; sets are {sorted(available)}")
    rows: list[dict[str, Any]] = []
    for area, series in statistics.groupby("area_id", sort=True):
        for year in sorted(series["year"].unique()):
            chosen = (
                [available[s] for s in sets]
                if sets is not None
                else [s for s in available.values() if s.in_force(int(year))]
            )
            for criteria in chosen:
                rows.extend(_assess_year(str(area), int(year), series, criteria))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return _consecutive(frame)


def _assess_year(
    area: str, year: int, series: pd.DataFrame, criteria: CriteriaSet
) -> list[dict[str, Any]]:
    rows = []
    verdicts: dict[str, bool | None] = {}
    for name, spec in criteria.lists.items():
        if "consecutive" in spec:
            continue  # decided from the series of another list in _consecutive
        criterion_rows = _criterion_rows(series, year, spec.get("all", {}), "all")
        criterion_rows += _criterion_rows(series, year, spec.get("of", {}), "of")
        on_list, off_if = _list_status(criterion_rows, spec)
        if "requires" in spec:
            parent = verdicts.get(spec["requires"])
            if parent is False:
                on_list, off_if = False, ""
            elif parent is None and on_list:
                on_list = None
        residents = _value(series, year, "residents")
        if math.isfinite(residents) and residents < criteria.min_residents:
            on_list, off_if = False, f"fewer than {criteria.min_residents} residents"
        verdicts[name] = on_list
        for row in criterion_rows:
            rows.append(
                {
                    "area_id": area,
                    "year": year,
                    "set": criteria.id,
                    "list": name,
                    "list_label": spec["label"]["en"],
                    "list_label_da": spec["label"]["da"],
                    **row,
                    "on_list": on_list,
                    "off_list_if": off_if,
                }
            )
    for name, spec in criteria.lists.items():
        if "consecutive" in spec:
            rows.append(
                {
                    "area_id": area,
                    "year": year,
                    "set": criteria.id,
                    "list": name,
                    "list_label": spec["label"]["en"],
                    "list_label_da": spec["label"]["da"],
                    "criterion": "{list} {years} years".format(**spec["consecutive"]),
                    "kind": "consecutive",
                    "column": "",
                    "label": spec["label"]["en"],
                    "label_da": spec["label"]["da"],
                    "value": math.nan,
                    "op": ">=",
                    "threshold": float(spec["consecutive"]["years"]),
                    "met": None,
                    "margin": math.nan,
                    "years_in_mean": 0,
                    "years_required": 0,
                    "on_list": None,
                    "off_list_if": "",
                }
            )
    return rows


def _value(series: pd.DataFrame, year: int, column: str) -> float:
    """One statistic of one year (NaN when absent)."""
    if column not in series:
        return math.nan
    values = series.loc[series["year"] == year, column].dropna()
    return float(values.iloc[0]) if len(values) else math.nan


def _consecutive(frame: pd.DataFrame) -> pd.DataFrame:
    """Years in a row on each list, and the lists defined by consecutive years."""
    frame = frame.copy()
    frame["consecutive_years"] = 0
    lists = frame.drop_duplicates(["area_id", "year", "set", "list"])[
        ["area_id", "year", "set", "list", "on_list"]
    ]
    runs: dict[tuple[str, str], dict[int, int]] = {}
    for (area, name), group in lists.groupby(["area_id", "list"], sort=False):
        run = 0
        previous = None
        by_year = {}
        for row in group.sort_values("year").itertuples():
            contiguous = previous is not None and row.year == previous + 1
            run = (run + 1 if contiguous else 1) if row.on_list is True else 0
            by_year[int(row.year)] = run
            previous = row.year
        runs[(str(area), str(name))] = by_year
    frame["consecutive_years"] = [
        runs.get((a, n), {}).get(int(y), 0)
        for a, n, y in zip(frame["area_id"], frame["list"], frame["year"], strict=True)
    ]
    rule = frame["kind"] == "consecutive"
    for index in frame.index[rule]:
        row = frame.loc[index]
        source, years = str(row["criterion"]).rsplit(" ", 2)[0], int(row["threshold"])
        count = runs.get((row["area_id"], source), {}).get(int(row["year"]), 0)
        frame.at[index, "value"] = float(count)
        frame.at[index, "met"] = count >= years
        frame.at[index, "on_list"] = count >= years
        frame.at[index, "margin"] = float(count - years)
        frame.at[index, "consecutive_years"] = count
        if count >= years:
            frame.at[index, "off_list_if"] = f"off the list when no longer a {source} for a year"
    return frame


def status(assessment: pd.DataFrame) -> pd.DataFrame:
    """One row per area, year and list: on the list or not, and for how many years."""
    if assessment.empty:
        return assessment
    columns = [
        "area_id",
        "year",
        "set",
        "list",
        "list_label",
        "list_label_da",
        "on_list",
        "consecutive_years",
        "off_list_if",
    ]
    return assessment.drop_duplicates(["area_id", "year", "set", "list"])[columns].reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- trends


def trends(
    statistics: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    targets: Sequence[Mapping[str, Any]] = (),
    assessment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Robust trends per area and statistic, and each target's standing.

    The slope is Theil–Sen's median of pairwise slopes with its confidence interval
    (``scipy.stats.theilslopes``; level ``trend_confidence``); fewer than
    ``min_trend_points`` years give no trend.  A target is *reached* when the last
    value meets it; *on track* when the trend line meets it by the target year and the
    whole interval of slopes points the right way; *off track* when the trend line does
    not; *undetermined* when the target year lies more than ``trend_horizon_years``
    beyond the last observation or there is no trend.  ``off_list`` targets read the
    status from the assessment.

    Returns
    -------
    pandas.DataFrame
        area_id, column (or target id), n_years, last_year, last_value, slope_per_year,
        slope_low, slope_high, target_id, target_value, target_year, projected,
        standing.
    """
    from scipy.stats import theilslopes

    config = _config()
    level = float(config["trend_confidence"])
    horizon = int(config["trend_horizon_years"])
    minimum = int(config["min_trend_points"])
    columns = list(
        columns
        or [
            c
            for c, s in config["statistics"].items()
            if s["dtype"] in ("share", "rate") and c in statistics.columns
        ]
    )
    rows = []
    for area, series in statistics.groupby("area_id", sort=True):
        for column in columns:
            data = series[["year", column]].dropna()
            row: dict[str, Any] = {
                "area_id": area,
                "column": column,
                "n_years": len(data),
                "last_year": int(data["year"].max()) if len(data) else None,
                "last_value": float(data[column].iloc[-1]) if len(data) else math.nan,
                "slope_per_year": math.nan,
                "slope_low": math.nan,
                "slope_high": math.nan,
            }
            if len(data) >= minimum:
                fit = theilslopes(data[column], data["year"], alpha=level)
                row.update(
                    slope_per_year=float(fit.slope),
                    slope_low=float(fit.low_slope),
                    slope_high=float(fit.high_slope),
                    intercept=float(fit.intercept),
                )
            for target in (t for t in targets if t.get("column") == column):
                rows.append({**row, **_standing(row, target, horizon)})
            rows.append({**row, "target_id": None, "standing": None})
    for target in (t for t in targets if t.get("kind") == "off_list"):
        for area in sorted(statistics["area_id"].unique()):
            rows.append(_off_list_standing(str(area), target, assessment))
    # every documented column, even when no row set it (a table without rates)
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*_TREND_COLUMNS, *(c for c in frame if c not in _TREND_COLUMNS)])


_TREND_COLUMNS = (
    "area_id", "column", "n_years", "last_year", "last_value", "slope_per_year", "slope_low",
    "slope_high", "target_id", "target_value", "target_year", "projected", "standing",
)  # fmt: skip


def _standing(row: Mapping[str, Any], target: Mapping[str, Any], horizon: int) -> dict[str, Any]:
    value, by = float(target["value"]), int(target["by"])
    op = _OPS[target["op"]]
    out: dict[str, Any] = {
        "target_id": target["id"],
        "target_label": target.get("label", {}).get("en", target["id"]),
        "target_value": value,
        "target_year": by,
        "projected": math.nan,
    }
    if row["n_years"] and op(row["last_value"], value):
        return {**out, "standing": "reached"}
    if not math.isfinite(row["slope_per_year"]) or row["last_year"] is None:
        return {**out, "standing": "undetermined (too few years for a trend)"}
    if by - int(row["last_year"]) > horizon:
        return {**out, "standing": f"undetermined (target beyond the {horizon}-year horizon)"}
    projected = row["intercept"] + row["slope_per_year"] * by
    out["projected"] = float(projected)
    # the right way for the target: down for "<"/"<=", up for ">"/">="
    down = target["op"].startswith("<")
    sure = row["slope_high"] < 0 if down else row["slope_low"] > 0
    if op(projected, value) and sure:
        return {**out, "standing": "on track"}
    return {**out, "standing": "off track"}


def _off_list_standing(
    area: str, target: Mapping[str, Any], assessment: pd.DataFrame | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "area_id": area,
        "column": target["list"],
        "target_id": target["id"],
        "target_label": target.get("label", {}).get("en", target["id"]),
        "target_value": 0.0,
        "target_year": int(target["by"]),
    }
    if assessment is None or assessment.empty:
        return {**out, "standing": "undetermined (no assessment)"}
    rows = status(assessment)
    rows = rows[(rows["area_id"] == area) & (rows["list"] == target["list"])]
    if rows.empty:
        return {**out, "standing": "undetermined (list not in the sets of these years)"}
    last = rows.sort_values("year").iloc[-1]
    out["last_year"] = int(last["year"])
    if last["on_list"] is False:
        return {**out, "standing": "reached"}
    if last["on_list"] is None:
        return {**out, "standing": "undetermined (criteria lack data)"}
    return {**out, "standing": f"on the list ({int(last['consecutive_years'])} years in a row)"}


# --------------------------------------------------------------------------- effects


def effect(
    statistics: pd.DataFrame,
    *,
    area: str,
    column: str,
    year: int,
    comparison: str | None = None,
) -> dict[str, Any]:
    """Before/after an intervention, and difference-in-differences with a comparison area.

    Years before ``year`` are "before", ``year`` and later "after".  With a comparison
    area, the estimate is the OLS coefficient of ``treated × after`` in
    ``y = a + b·treated + c·after + d·treated·after`` (equal to the difference of the
    two areas' before/after differences of means), with its 95 % interval from the
    classical OLS standard error (t distribution).  An association, not proof: the
    areas may differ in ways the comparison does not remove.

    Raises
    ------
    InputError
        Unknown area or column, or no years on one side of ``year``.
    """
    from scipy import stats

    if column not in statistics.columns:
        raise InputError(f"effect: no column {column!r} in the statistics")
    areas = [area] + ([comparison] if comparison else [])
    for name in areas:
        if name not in set(statistics["area_id"]):
            raise InputError(f"effect: no area {name!r} in the statistics")
    data = statistics[statistics["area_id"].isin(areas)][["area_id", "year", column]].dropna()
    data = data.assign(
        treated=(data["area_id"] == area).astype(float), after=(data["year"] >= year).astype(float)
    )
    mine = data[data["treated"] == 1]
    before, after = mine[mine["after"] == 0][column], mine[mine["after"] == 1][column]
    if before.empty or after.empty:
        raise InputError(f"effect: {area!r} needs {column} both before and from {year}")
    result: dict[str, Any] = {
        "area_id": area,
        "column": column,
        "year": year,
        "before_mean": float(before.mean()),
        "after_mean": float(after.mean()),
        "change": float(after.mean() - before.mean()),
        "before_years": len(before),
        "after_years": len(after),
        "comparison": comparison,
        "caveat": "an association around the intervention year, not proof of its effect",
    }
    if comparison:
        other = data[data["treated"] == 0]
        if other[other["after"] == 0].empty or other[other["after"] == 1].empty:
            raise InputError(f"effect: {comparison!r} needs {column} both before and from {year}")
        design = np.column_stack(
            [
                np.ones(len(data)),
                data["treated"],
                data["after"],
                data["treated"] * data["after"],
            ]
        )
        y = data[column].to_numpy(float)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        dof = len(y) - design.shape[1]
        residual = y - design @ coef
        sigma2 = float(residual @ residual) / dof if dof > 0 else math.nan
        cov = sigma2 * np.linalg.inv(design.T @ design)
        se = math.sqrt(cov[3, 3]) if math.isfinite(sigma2) else math.nan
        t = float(stats.t.ppf(0.975, dof)) if dof > 0 else math.nan
        result.update(
            did=float(coef[3]),
            did_low=float(coef[3] - t * se),
            did_high=float(coef[3] + t * se),
            did_se=se,
            dof=dof,
        )
    return result


# --------------------------------------------------------------------------- physical


def physical_series(
    snapshots: Mapping[int, District], *, modules: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every analysis module's indicators on district snapshots, by year.

    Raises
    ------
    InputError
        Snapshots of different districts (different names or CRS).
    """
    from vollsmose_gis import analysis

    if not snapshots:
        return pd.DataFrame(columns=["year", "module", "indicator", "label", "value", "unit"])
    first = next(iter(snapshots.values()))
    for year, district in snapshots.items():
        if district.crs != first.crs or district.name != first.name:
            raise InputError(
                f"snapshot {year} is of {district.name!r} ({district.crs}), the others of "
                f"{first.name!r} ({first.crs}): snapshots must be of one district"
            )
    names = list(modules) if modules is not None else analysis.scored_module_names()
    rows = []
    for year in sorted(snapshots):
        for name in names:
            result = analysis.run(name, snapshots[year])
            for key, ind in result.indicators.items():
                rows.append(
                    {
                        "year": year,
                        "module": name,
                        "indicator": key,
                        "label": ind.label,
                        "value": ind.value,
                        "unit": ind.unit,
                    }
                )
    return pd.DataFrame(rows)


def incident_series(
    district: District, *, area_id: str, residents: float | None = None
) -> pd.DataFrame:
    """Incidents by year from a district's ``incidents`` layer, as statistics rows.

    Parameters
    ----------
    district
        With an ``incidents`` layer (dated points or aggregates with ``count``).
    area_id
        The statistics' area the district is (its ``area_id``).
    residents
        Residents for the rate when the statistics do not give them; default: the
        district's dwellings × residents per dwelling (``standards/safety.yaml``).

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``year``, ``incidents`` (sum of ``count`` over the dated incidents
        of that year), ``incidents_per_1000_residents``, ``source`` and
        ``illustrative`` (True when the layer is the illustrative one).
    """
    from vollsmose_gis.safety.audit import incidents_by_year
    from vollsmose_gis.safety.audit import residents as estimated_residents
    from vollsmose_gis.safety.evidence import is_illustrative

    population = estimated_residents(district, residents)
    table = incidents_by_year(district, population)
    return pd.DataFrame(
        {
            "area_id": pd.array([str(area_id)] * len(table), dtype="string"),
            "year": table["year"].astype(int).to_numpy(),
            "incidents": table["incidents"].astype(float).to_numpy(),
            "incidents_per_1000_residents": table["per_1000_residents"].astype(float).to_numpy(),
            "source": f"incidents layer of {district.name}",
            "illustrative": is_illustrative(district),
        }
    )


def merge_incidents(statistics: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """Fill the statistics' incident columns from :func:`incident_series` rows.

    Only the (area, year) rows the statistics already have are filled, and only where
    they leave ``incidents`` empty: a count the statistics give is never overwritten
    (nor mixed with the layer's: the rate then comes from the statistics' own count).
    The rate uses the statistics' ``residents`` of that year when given (the official
    count beats the dwelling estimate).  A row filled from an illustrative layer makes
    the row illustrative.
    """
    out = statistics.copy()
    for column in ("incidents", "incidents_per_1000_residents"):
        if column not in out.columns:
            out[column] = math.nan
    if incidents.empty:
        return out
    keyed = incidents.set_index(["area_id", "year"])
    for i, row in out.iterrows():
        key = (str(row["area_id"]), int(row["year"]))
        if key not in keyed.index or not pd.isna(row["incidents"]):
            continue
        found = keyed.loc[key]
        count = float(found["incidents"])
        out.at[i, "incidents"] = count
        if pd.isna(row["incidents_per_1000_residents"]):
            people = row.get("residents")
            known = people is not None and not pd.isna(people) and float(people) > 0
            out.at[i, "incidents_per_1000_residents"] = (
                count / float(people) * 1000.0
                if known
                else float(found["incidents_per_1000_residents"])
            )
        if bool(found["illustrative"]):
            out.at[i, "illustrative"] = True
    _derive_incident_rate(out)
    return out


# --------------------------------------------------------------------------- monitor


@dataclass
class MonitorResult:
    """Everything :func:`monitor` computed: tidy frames, ready for tables and charts."""

    statistics: pd.DataFrame
    assessment: pd.DataFrame
    status: pd.DataFrame
    trends: pd.DataFrame
    effects: list[dict[str, Any]] = field(default_factory=list)
    physical: pd.DataFrame = field(default_factory=pd.DataFrame)
    illustrative: bool = False
    sources: list[str] = field(default_factory=list)

    def long(self) -> pd.DataFrame:
        """One long table: area, year, indicator, value, threshold/target, status.

        Counts below the disclosure threshold appear as ``"<5"``.
        """
        parts = []
        shown = suppress(self.statistics)
        skip = {"area_id", "year", "source", "illustrative"}
        for column in [c for c in shown.columns if c not in skip]:
            parts.append(
                pd.DataFrame(
                    {
                        "area_id": shown["area_id"],
                        "year": shown["year"],
                        "indicator": column,
                        "value": shown[column],
                        "threshold": math.nan,
                        "status": "",
                    }
                )
            )
        if not self.assessment.empty:
            a = self.assessment
            parts.append(
                pd.DataFrame(
                    {
                        "area_id": a["area_id"],
                        "year": a["year"],
                        "indicator": a["set"] + ":" + a["list"] + ":" + a["criterion"],
                        "value": a["value"],
                        "threshold": a["threshold"],
                        "status": a["met"].map({True: "met", False: "not met"}).fillna("no data"),
                    }
                )
            )
        if not self.physical.empty:
            p = self.physical
            parts.append(
                pd.DataFrame(
                    {
                        "area_id": "(district)",
                        "year": p["year"],
                        "indicator": p["indicator"],
                        "value": p["value"],
                        "threshold": math.nan,
                        "status": "",
                    }
                )
            )
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        frame["illustrative"] = self.illustrative
        return frame


def monitor(
    statistics: pd.DataFrame | str | Path,
    *,
    snapshots: Mapping[int, District] | None = None,
    targets: Sequence[Mapping[str, Any]] | None = None,
    effects: Sequence[Mapping[str, Any]] = (),
    sets: Sequence[str] | None = None,
    incidents: pd.DataFrame | None = None,
) -> MonitorResult:
    """Follow an area's statistics year by year: criteria, lists, trends, targets, effects.

    Parameters
    ----------
    statistics
        A table (or its file) as :func:`read_statistics` reads it.
    snapshots
        District snapshots by year: their physical indicators become time series.
    targets
        Goals (``standards/followup.yaml`` ``default_targets`` shape); default: those.
    effects
        Effect questions, each ``{area, column, year, comparison?}``.
    sets
        Criteria sets to apply to every year (default: the set in force each year).
    incidents
        :func:`incident_series` rows: fill the statistics' incident columns where they
        are empty (:func:`merge_incidents`), so incidents per 1,000 residents get a
        trend like every other rate.
    """
    stats = (
        statistics
        if isinstance(statistics, pd.DataFrame) and "income_ratio" in statistics
        else read_statistics(statistics)
    )
    if incidents is not None:
        stats = merge_incidents(stats, incidents)
    goals = list(targets if targets is not None else _config()["default_targets"])
    assessment = assess(stats, sets=sets)
    return MonitorResult(
        statistics=stats,
        assessment=assessment,
        status=status(assessment),
        trends=trends(stats, targets=goals, assessment=assessment),
        effects=[effect(stats, **dict(e)) for e in effects],
        physical=physical_series(snapshots or {}),
        illustrative=bool(stats["illustrative"].fillna(False).any()),
        sources=sorted({str(s) for s in stats.get("source", pd.Series(dtype=str)).dropna()}),
    )


# --------------------------------------------------------------------------- the spec


def _compute(district: District, *, statistics: pd.DataFrame | None = None) -> ModuleResult:
    """The analysis view: the latest year's status of the district's area."""
    nan = math.nan
    if statistics is None:
        reason = "no area statistics given (vollsmose-gis monitor STATS.csv)"
        values = {k: indicator(k, nan, reason=reason) for k in _INDICATORS}
        return ModuleResult(values)
    result = monitor(statistics)
    latest = result.status[result.status["year"] == result.status["year"].max()]
    on = latest[latest["on_list"] == True]  # noqa: E712 - three-valued column
    values = {
        "area_lists_count": indicator("area_lists_count", float(len(on))),
        "area_criteria_met_share": indicator(
            "area_criteria_met_share",
            float(
                result.assessment.loc[result.assessment["year"] == latest["year"].max(), "met"]
                .dropna()
                .astype(bool)
                .mean()
            ),
        ),
    }
    return ModuleResult(values, extras={"monitor": result})


_INDICATORS = ("area_lists_count", "area_criteria_met_share")

SPEC = AnalysisSpec(
    name="followup",
    themes=("mixed housing",),
    reads=(),
    compute=_compute,
    parameters={"statistics": None},
    scored=False,
    summary="The government's area criteria and the programme's goals, year by year.",
)
"""The follow-up analysis (see :mod:`vollsmose_gis.analysis`); not part of plan scores."""
