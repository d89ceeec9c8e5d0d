"""Housing and land-use mix: hand-computed indices, the § 168 a rule and its levers,
network catchments (a river with one bridge), walking access, bad input, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

import vollsmose_gis
from tests.factories import CRS, X0, Y0, frame, small_district
from vollsmose_gis import District, InputError, Provenance, mix, save_district
from vollsmose_gis.cli import app
from vollsmose_gis.district import Settings
from vollsmose_gis.indicators import THEMES
from vollsmose_gis.mix import (
    DIVERSITY_INDICES,
    RADIUS_TOLERANCE_M,
    MixWarning,
    analyse_mix,
    diversity_indices,
    erhvervsareal,
    estate_mix,
    green_space_access_points,
    hill_number,
    home_catchments,
    indicators,
    landuse_classes,
    landuse_entropy,
    landuse_floor_areas,
    landuse_grid,
    landuse_summary,
    poi_access,
    rule_readings,
    tenure_accounting,
)
from vollsmose_gis.network import walk_graph
from vollsmose_gis.standards import categories, load

N_CLASSES = len(landuse_classes())
BOUNDARY = box(X0 - 50, Y0 - 50, X0 + 1000, Y0 + 1000)


# --------------------------------------------------------------------------- builders


def building(bid: str, x: float, y: float, **attrs) -> dict:
    """A 20 m × 20 m building centred on (X0 + x, Y0 + y)."""
    row = dict(
        building_id=bid,
        use="residential",
        dwellings=0,
        tenure=None,
        dwelling_type=None,
        floor_area_m2=1000.0,
        commercial_m2=0.0,
        jobs=0,
        estate=None,
        demolished_dwellings_since_2010=0,
        geometry=box(X0 + x - 10, Y0 + y - 10, X0 + x + 10, Y0 + y + 10),
    )
    row.update(attrs)
    return row


def home(bid: str, x: float, y: float, dwellings: int, tenure: str | None, **attrs) -> dict:
    return building(bid, x, y, dwellings=dwellings, tenure=tenure, **attrs)


def street(sid: str, coords, **attrs) -> dict:
    row = dict(
        street_id=sid,
        highway="footway",
        walk=True,
        car=False,
        bridge=False,
        tunnel=False,
        geometry=LineString([(X0 + x, Y0 + y) for x, y in coords]),
    )
    row.update(attrs)
    return row


def poi(pid: str, kind: str, x: float, y: float) -> dict:
    return dict(poi_id=pid, kind=kind, name=None, geometry=Point(X0 + x, Y0 + y))


def make(buildings=(), streets=None, pois=(), boundary=BOUNDARY) -> District:
    if streets is None:
        streets = [street("s", [(0, 0), (900, 0)])]
    layers = {"streets": frame(list(streets))}
    if buildings:
        layers["buildings"] = frame([dict(b) for b in buildings])
    if pois:
        layers["pois"] = frame([dict(p) for p in pois])
    return District.create(
        "Crafted",
        boundary,
        crs=CRS,
        provenance=Provenance(source="tests", kind="schematic"),
        **layers,
    )


def tenure_district(counts: dict[str, int], **extra) -> District:
    rows = [home(f"h_{t}", 100 + 30 * i, 20, n, t) for i, (t, n) in enumerate(counts.items())]
    rows += extra.get("more", [])
    return make(rows)


# --------------------------------------------------------------------------- indices


def test_single_category_has_diversity_one_and_entropy_zero():
    d = diversity_indices({"almen_family": 120, "owner_occupied": 0})
    assert d == {"shannon": 0.0, "simpson": 0.0, "hill0": 1.0, "hill1": 1.0, "hill2": 1.0}
    assert landuse_entropy([5000.0, 0, 0, 0, 0]) == 0.0


def test_two_equal_categories():
    d = diversity_indices([50, 50])
    assert d["shannon"] == pytest.approx(math.log(2))
    assert d["simpson"] == pytest.approx(0.5)
    assert d["hill0"] == d["hill1"] == pytest.approx(2.0)
    assert d["hill2"] == pytest.approx(2.0)
    # two equal uses among the N fixed classes: ln 2 / ln N
    assert landuse_entropy([700.0, 700.0, 0, 0, 0]) == pytest.approx(math.log(2) / math.log(5))
    assert landuse_entropy([1.0] * 5) == pytest.approx(1.0)


def test_uneven_composition_by_hand():
    # p = 1/4, 1/4, 1/2
    d = diversity_indices([10, 10, 20])
    shannon = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5))  # = 1.5 ln 2
    assert d["shannon"] == pytest.approx(shannon)
    assert d["simpson"] == pytest.approx(1 - (0.0625 + 0.0625 + 0.25))
    assert d["hill0"] == 3
    assert d["hill1"] == pytest.approx(2**1.5)
    assert d["hill2"] == pytest.approx(1 / 0.375)
    assert hill_number([10, 10, 20], 0.5) == pytest.approx((0.5 + 0.5 + math.sqrt(0.5)) ** 2)
    assert hill_number([10, 10, 20], 3) == pytest.approx((2 * 0.25**3 + 0.5**3) ** -0.5)
    for q, name in ((0, "hill0"), (1, "hill1"), (2, "hill2")):
        assert hill_number([10, 10, 20], q) == pytest.approx(d[name])
    # q -> 1 is continuous
    assert hill_number([10, 10, 20], 1 + 1e-7) == pytest.approx(d["hill1"], rel=1e-6)


def test_indices_of_nothing_and_bad_counts():
    assert all(math.isnan(v) for v in diversity_indices([0, 0]).values())
    assert math.isnan(hill_number([0, 0], 1))
    assert math.isnan(landuse_entropy([0.0] * 5))
    with pytest.raises(InputError, match="counts must be finite and >= 0"):
        diversity_indices([3, -1])
    with pytest.raises(InputError, match="q must be"):
        hill_number([1, 2], -1)
    with pytest.raises(InputError, match="n_classes"):
        landuse_entropy([1.0, 1.0], n_classes=1)


def test_standards_cover_every_use_and_name_known_poi_kinds():
    spec = load("mix")
    mapped = [u for uses in spec["landuse"]["classes"].values() for u in uses]
    assert len(mapped) == len(set(mapped))
    covered = set(mapped) | set(spec["landuse"]["excluded_uses"])
    covered |= set(spec["landuse"]["mixed_use_buildings"])
    assert covered == set(categories("uses"))
    kinds = set(spec["access"]["poi_kinds"])
    for need_kinds in spec["access"]["daily_needs"]["needs"].values():
        kinds |= set(need_kinds)
    assert kinds <= set(categories("poi_kinds"))
    assert spec["rule_168a"]["commercial_m2_per_dwelling"] == 75
    assert spec["jobs_housing"]["balanced_band"] == [0.75, 1.5]
    assert N_CLASSES == 5


# --------------------------------------------------------------------------- § 168 a


def test_share_counts_youth_and_elderly_in_the_total_only():
    d = tenure_district(
        {"almen_family": 60, "almen_youth": 20, "almen_elderly": 10, "owner_occupied": 10}
    )
    t = tenure_accounting(d)
    assert t.almen_family_dwellings == 60
    assert t.total_dwellings == 100
    assert t.share == pytest.approx(0.6)
    assert not t.meets_rule
    assert t.dwellings_by_tenure["almen_youth"] == 20
    assert t.dwellings_by_tenure["almen_elderly"] == 10


def test_commercial_floor_space_counts_one_dwelling_per_75_m2():
    shop = building("shop", 400, 20, use="retail", floor_area_m2=750.0, commercial_m2=750.0)
    d = tenure_district({"almen_family": 40, "private_rental": 50}, more=[shop])
    t = tenure_accounting(d)
    assert t.commercial_dwelling_equivalents == pytest.approx(10.0)
    assert t.denominator == pytest.approx(100.0)
    assert t.share == 0.4  # 40 / (90 + 750/75): exactly at the limit
    assert t.meets_rule
    without = tenure_accounting(tenure_district({"almen_family": 40, "private_rental": 50}))
    assert without.share == pytest.approx(40 / 90)
    assert not without.meets_rule
    # 749 m² is not quite 10 dwellings: whole units (the default) count 9 of them,
    # unrounded 9.9867; 40 / 99 and 40 / 99.9867 are both above 40 %
    short = tenure_district(
        {"almen_family": 40, "private_rental": 50},
        more=[building("shop", 400, 20, use="retail", floor_area_m2=749.0)],
    )
    whole = tenure_accounting(short)
    assert whole.erhvervsareal_m2 == 749.0 and whole.commercial_dwelling_equivalents == 9
    assert whole.share == pytest.approx(40 / 99) and not whole.meets_rule
    # whole units: 1 more m² makes the tenth unit (40 / 100)
    assert whole.build_commercial_m2_needed == pytest.approx(1.0)
    unrounded = tenure_accounting(short, whole_units=False)
    assert unrounded.share == pytest.approx(40 / (90 + 749 / 75))
    assert not unrounded.meets_rule
    assert unrounded.build_commercial_m2_needed == pytest.approx(1.0)


def test_commercial_space_in_a_residential_building_counts_too():
    d = make(
        [
            home("h", 100, 20, 30, "almen_family", commercial_m2=150.0),
            home("o", 130, 20, 43, "cooperative"),
        ]
    )
    t = tenure_accounting(d)
    assert t.denominator == pytest.approx(30 + 43 + 2)
    assert t.share == pytest.approx(0.4)
    assert t.meets_rule


def test_demolished_dwellings_since_2010_stay_in_the_total():
    d = tenure_district(
        {"almen_family": 40, "owner_occupied": 40},
        more=[
            building(
                "gone", 400, 20, use="other", floor_area_m2=0.0, demolished_dwellings_since_2010=20
            )
        ],
    )
    t = tenure_accounting(d)
    assert t.demolished_counted == 20
    assert t.share == 0.4 and t.meets_rule
    t2 = tenure_accounting(d, count_demolished=False)
    assert t2.demolished_counted == 0
    assert t2.share == 0.5 and not t2.meets_rule


def test_only_dwellings_inside_the_boundary_are_counted():
    d = make(
        [home("in", 100, 20, 50, "almen_family"), home("out", 2000, 20, 5000, "owner_occupied")]
    )
    t = tenure_accounting(d)
    assert t.total_dwellings == 50 and t.share == 1.0


def _apply(d: District, changes: dict, extra: list[dict] | None = None) -> District:
    b = d.buildings.copy()
    for bid, values in changes.items():
        for column, value in values.items():
            b.loc[b["building_id"] == bid, column] = value
    if extra:
        with warnings.catch_warnings():  # all-NA columns of the new rows
            warnings.simplefilter("ignore", FutureWarning)
            b = pd.concat([b, frame(extra)], ignore_index=True)
    return d.replace(buildings=b)


@pytest.mark.parametrize("count_demolished", [True, False])
def test_each_lever_alone_reaches_exactly_40_percent(count_demolished):
    d = tenure_district({"almen_family": 70, "owner_occupied": 30})
    t = tenure_accounting(d, count_demolished=count_demolished)
    assert t.share == 0.7
    # by hand: convert 70 - 0.4*100 = 30; build 70/0.4 - 100 = 75 (or 75 * 75 m²);
    # demolish 30 when demolished dwellings stay counted, else (70 - 40)/(1 - 0.4) = 50
    assert t.convert_needed == 30
    assert t.build_non_social_needed == 75
    assert t.build_commercial_m2_needed == pytest.approx(75 * 75)
    assert t.demolish_needed == (30 if count_demolished else 50)

    def share(district: District) -> tuple[float, bool]:
        after = tenure_accounting(district, count_demolished=count_demolished)
        return after.share, after.meets_rule

    x = t.convert_needed
    assert share(
        _apply(
            d,
            {"h_almen_family": {"dwellings": 70 - x}},
            [home("sold", 400, 20, x, "owner_occupied")],
        )
    ) == (0.4, True)
    assert not share(
        _apply(
            d,
            {"h_almen_family": {"dwellings": 71 - x}},
            [home("sold", 400, 20, x - 1, "owner_occupied")],
        )
    )[1]
    x = t.demolish_needed
    demolished = {"dwellings": 70 - x, "demolished_dwellings_since_2010": x}
    assert share(_apply(d, {"h_almen_family": demolished})) == (0.4, True)
    demolished = {"dwellings": 71 - x, "demolished_dwellings_since_2010": x - 1}
    assert not share(_apply(d, {"h_almen_family": demolished}))[1]
    x = t.build_non_social_needed
    assert share(_apply(d, {}, [home("new", 400, 20, x, "private_rental")])) == (0.4, True)
    assert not share(_apply(d, {}, [home("new", 400, 20, x - 1, "private_rental")]))[1]
    m2 = t.build_commercial_m2_needed
    shop = building("new", 400, 20, use="retail", floor_area_m2=m2, commercial_m2=m2)
    assert share(_apply(d, {}, [shop])) == (0.4, True)


def test_levers_with_youth_dwellings_and_commercial_space():
    shop = building("shop", 400, 20, use="retail", floor_area_m2=750.0)
    d = tenure_district({"almen_family": 70, "almen_youth": 30}, more=[shop])
    t = tenure_accounting(d)
    # total 100 + 10 = 110: convert 70 - 44 = 26; build 175 - 110 = 65
    assert (t.convert_needed, t.demolish_needed, t.build_non_social_needed) == (26, 26, 65)
    relabelled = _apply(
        d, {"h_almen_family": {"dwellings": 44}, "h_almen_youth": {"dwellings": 56}}
    )
    after = tenure_accounting(relabelled)
    assert after.share == 0.4 and after.meets_rule


def test_levers_are_zero_when_the_rule_is_met():
    t = tenure_accounting(tenure_district({"almen_family": 30, "cooperative": 70}))
    assert t.meets_rule
    assert (t.demolish_needed, t.convert_needed, t.build_non_social_needed) == (0, 0, 0)
    assert t.build_commercial_m2_needed == 0.0


def test_threshold_must_be_a_share():
    with pytest.raises(InputError, match="threshold"):
        tenure_accounting(tenure_district({"almen_family": 1}), threshold=40)


def test_erhvervsareal_from_use_and_floor_area_under_both_readings():
    rows = [
        home("h", 100, 20, 100, "almen_family", commercial_m2=150.0),  # shops below flats
        building("o", 130, 20, use="office", floor_area_m2=1500.0),  # whole floor area
        building("w", 160, 20, use="industry", floor_area_m2=None, floors=2),  # 20·20·2
        building("s", 190, 20, use="school", floor_area_m2=750.0),  # institution
        building("c", 220, 20, use="culture", floor_area_m2=300.0, commercial_m2=75.0),
        building("p", 250, 20, use="parking", floor_area_m2=5000.0),  # never
    ]
    d = tenure_district({}, more=rows)
    per = erhvervsareal(d).set_index("building_id")["erhvervsareal_m2"].to_dict()
    assert per == {"h": 150.0, "o": 1500.0, "w": 800.0, "s": 0.0, "c": 75.0, "p": 0.0}
    counted = erhvervsareal(d, institutions_count=True).set_index("building_id")
    assert counted.loc["s", "erhvervsareal_m2"] == 750.0
    assert counted.loc["c", "erhvervsareal_m2"] == 300.0  # café 75 + the rest 225
    t = tenure_accounting(d)
    # without institutions: 150 + 1500 + 800 + 75 = 2525 m² -> ⌊33.67⌋ = 33 dwellings
    assert t.erhvervsareal_m2 == 2525.0 and t.commercial_dwelling_equivalents == 33
    assert t.institutional_m2 == 750.0 + 225.0
    assert t.denominator == 133 and t.share == pytest.approx(100 / 133)
    # with institutions: 3500 m² -> 46 dwellings; convert ⌈100 − 0.4·146⌉ = 42
    with_inst = tenure_accounting(d, institutions_count=True)
    assert with_inst.commercial_dwelling_equivalents == 46
    assert with_inst.convert_needed == math.ceil(100 - 0.4 * 146) == 42
    assert (t.demolition_need_min, t.demolition_need_max) == (42, math.ceil(100 - 0.4 * 133))
    assert t.share_min == pytest.approx(100 / 146) and t.share_max == t.share
    assert with_inst.demolition_need_min == t.demolition_need_min


def test_rule_area_is_the_settings_polygon_else_the_boundary():
    rows = [
        home("in", 100, 20, 60, "almen_family"),
        home("out", 400, 20, 60, "owner_occupied"),
        building("office", 430, 20, use="office", floor_area_m2=750.0),
    ]
    d = tenure_district({}, more=rows)
    whole = tenure_accounting(d)
    assert whole.rule_area_is_boundary
    assert whole.total_dwellings == 120 and whole.erhvervsareal_m2 == 750.0
    area = box(X0, Y0, X0 + 300, Y0 + 100)
    ruled = d.replace(settings=Settings(country="DK", rules=("dk_168a",), rule_area=area))
    t = tenure_accounting(ruled)
    assert not t.rule_area_is_boundary
    assert t.total_dwellings == 60 and t.erhvervsareal_m2 == 0.0 and t.share == 1.0
    readings = rule_readings(ruled)
    assert list(readings["area"]) == ["rule area"] * 2 + ["study boundary"] * 2
    assert list(readings["share"]) == pytest.approx([1.0, 1.0, 60 / 130, 60 / 130])
    assert list(rule_readings(d)["area"]) == ["study boundary"] * 2
    result = analyse_mix(ruled)
    assert result.indicators["almen_family_share"].value == 1.0
    assert result.indicators["meets_40pct_rule"].value == 0.0
    assert "dwellings must go" in "\n".join(result.summary_lines())


def test_demolished_after_2010_column_and_the_old_name():
    for column in ("demolished_dwellings_after_2010", "demolished_dwellings_since_2010"):
        gone = building("gone", 400, 20, use="other", floor_area_m2=0.0, **{column: 20})
        if column != "demolished_dwellings_since_2010":
            del gone["demolished_dwellings_since_2010"]
        d = tenure_district({"almen_family": 40, "owner_occupied": 40}, more=[gone])
        assert tenure_accounting(d).demolished_counted == 20, column


DANISH = Settings(country="DK", rules=("dk_168a",))


def test_40pct_rule_is_not_applicable_without_dk_168a():
    d = tenure_district({"almen_family": 30, "owner_occupied": 70})
    assert d.settings.rules == ()
    result = analyse_mix(d)
    values = result.indicators
    text = "\n".join(result.summary_lines())
    assert "the Danish 40 % rule (§ 168 a) is not applicable here" in text
    assert "meet" not in text.replace("40 % rule", "") and "demolish" not in text
    meets = values["meets_40pct_rule"]
    assert math.isnan(meets.value) and meets.reason.startswith("not applicable")
    # the plain share of social family dwellings is still measured
    assert values["almen_family_share"].value == pytest.approx(0.3)
    assert "does not apply" in values["almen_family_share"].label
    danish = analyse_mix(d.replace(settings=DANISH)).indicators
    assert danish["meets_40pct_rule"].value == 1.0 and danish["meets_40pct_rule"].reason == ""
    assert danish["almen_family_share"].value == pytest.approx(0.3)


def test_unknown_tenure_makes_the_housing_indicators_nan_with_a_reason():
    d = make([home("h1", 100, 20, 30, "almen_family"), home("h2", 130, 20, 20, None)])
    for settings in (Settings(), DANISH):
        with pytest.warns(MixWarning):
            values = analyse_mix(d.replace(settings=settings)).indicators
        for key in ("almen_family_share", "tenure_diversity_hill1"):
            assert math.isnan(values[key].value), key
            assert "tenure unknown for 20 of 50 dwellings (40%" in values[key].reason
        assert math.isnan(values["meets_40pct_rule"].value)
    assert "tenure unknown" in values["meets_40pct_rule"].reason
    # land use does not rest on tenure
    assert values["non_residential_floor_share"].value == 0.0


def test_a_few_unknown_dwellings_leave_the_verdict_undetermined():
    # 38 family, 59 other, 3 unknown (3 % <= 5 %): 38 <= 40 but 38 + 3 > 40
    d = make(
        [
            home("f", 100, 20, 38, "almen_family"),
            home("o", 130, 20, 59, "owner_occupied"),
            home("u", 160, 20, 3, None),
        ]
    ).replace(settings=DANISH)
    with pytest.warns(MixWarning):
        result = analyse_mix(d)
    assert result.indicators["almen_family_share"].value == pytest.approx(0.38)
    meets = result.indicators["meets_40pct_rule"]
    assert math.isnan(meets.value) and meets.reason.startswith("undetermined")
    assert not result.tenure.verdict_determined and result.tenure.meets_rule
    # 60 other, 2 unknown: 38 + 2 = 40 <= 0.4 * 100 either way
    sure = _apply(d, {"u": {"dwellings": 2}, "o": {"dwellings": 60}})
    with pytest.warns(MixWarning):
        assert analyse_mix(sure).indicators["meets_40pct_rule"].value == 1.0


def test_osm_import_has_unknown_tenure_and_no_verdict(osm_dir):
    """A real OpenStreetMap extract: no tenure anywhere; never "meets § 168 a"."""
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(osm_dir / "planet_10.068,48.135_10.071,48.137.osm", crs="auto")
    assert d.settings.rules == () and d.buildings["tenure"].isna().all()
    assert d.buildings["dwellings"].sum() > 0
    for settings in (d.settings, DANISH):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixWarning)
            values = analyse_mix(d.replace(settings=settings)).indicators
        for key in ("almen_family_share", "meets_40pct_rule", "tenure_diversity_hill1"):
            assert math.isnan(values[key].value), (key, values[key].value)
            assert values[key].reason, key
    assert "tenure unknown" in values["meets_40pct_rule"].reason


def test_jobs_unknown_is_nan_with_a_reason_not_zero():
    rows = [
        home("h", 100, 20, 10, "owner_occupied", jobs=None),
        building("o", 130, 20, use="office", jobs=None),
    ]
    jobs = analyse_mix(make(rows)).indicators["jobs_per_dwelling"]
    assert math.isnan(jobs.value) and jobs.reason.startswith("jobs unknown")
    rows[1]["jobs"] = 15  # one building states its jobs: 15 / 10
    assert analyse_mix(make(rows)).indicators["jobs_per_dwelling"].value == 1.5


def test_uncertain_parameters_match_the_defaults_they_describe():
    config = load("mix")
    uncertain = mix.uncertain_parameters()
    assert {"rule_168a.whole_units", "mean_dwelling_size_m2", "rule_area"} <= set(uncertain)
    for path, entry in uncertain.items():
        assert entry["source"], path
        assert ("range" in entry) != ("values" in entry), path
        if "parameter" in entry:  # a run can draw it: analysis.run("mix", d, **{name: value})
            assert entry["parameter"] in mix.SPEC.parameters, path
        node = config
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:  # not a mix.yaml value (rule_area, dwelling size): documented only
            continue
        assert entry["default"] == node, path
        if "values" in entry:
            assert node in entry["values"], path
        elif not isinstance(node, list):
            low, high = entry["range"]
            assert low <= node <= high, path


# --------------------------------------------------------------------------- diversity


def test_estate_and_district_diversity_by_hand():
    d = make(
        [
            home("a1", 100, 20, 30, "almen_family", estate="A", dwelling_type="flat"),
            home("a2", 130, 20, 30, "owner_occupied", estate="A", dwelling_type="row_house"),
            home("b1", 160, 20, 40, "almen_family", estate="B", dwelling_type="flat"),
        ]
    )
    estates = estate_mix(d)
    assert list(estates.index) == ["A", "B"]
    assert estates.loc["A", "tenure_hill1"] == pytest.approx(2.0)
    assert estates.loc["A", "tenure_shannon"] == pytest.approx(math.log(2))
    assert estates.loc["A", "dwelling_type_hill2"] == pytest.approx(2.0)
    assert estates.loc["B", "tenure_hill1"] == 1.0 and estates.loc["B", "tenure_shannon"] == 0.0
    assert estates.loc["A", "almen_family_share"] == 0.5
    assert estates.loc["B", "dwellings_almen_family"] == 40
    assert estates.geometry.area.gt(0).all()
    result = analyse_mix(d)
    expected = -(0.7 * math.log(0.7) + 0.3 * math.log(0.3))
    assert result.diversity["tenure"]["shannon"] == pytest.approx(expected)
    assert result.indicators["tenure_diversity_hill1"].value == pytest.approx(math.exp(expected))
    assert result.diversity["tenure"]["simpson"] == pytest.approx(1 - 0.49 - 0.09)


# --------------------------------------------------------------------------- land use


def test_landuse_single_use_two_equal_uses_and_mixed_buildings():
    homes = [home("h", 100, 20, 10, "owner_occupied", floor_area_m2=1000.0)]
    single = landuse_summary(make(homes))
    assert single.landuse_entropy == 0.0
    assert single.non_residential_floor_share == 0.0
    office = building("o", 130, 20, use="office", floor_area_m2=1000.0, jobs=12)
    two = landuse_summary(make([*homes, office]))
    assert two.landuse_entropy == pytest.approx(math.log(2) / math.log(N_CLASSES))
    assert two.non_residential_floor_share == 0.5
    assert two.jobs_per_dwelling == pytest.approx(1.2)
    assert two.jobs_balanced
    # a mixed building: commercial_m2 goes to retail, the rest is residential
    mixed = building(
        "m",
        160,
        20,
        use="mixed",
        dwellings=5,
        tenure="private_rental",
        floor_area_m2=1000.0,
        commercial_m2=250.0,
    )
    areas = landuse_floor_areas(make([mixed])).iloc[0]
    assert areas["floor_m2_residential"] == 750.0 and areas["floor_m2_retail"] == 250.0
    # parking has no land-use class
    garage = building("p", 190, 20, use="parking", floor_area_m2=5000.0)
    assert landuse_summary(make([*homes, garage])).landuse_entropy == 0.0


def test_jobs_band_and_missing_floor_area_is_estimated():
    h = home("h", 100, 20, 100, "owner_occupied", floor_area_m2=None, floors=3)
    s = landuse_summary(make([h, building("w", 130, 20, use="industry", jobs=200)]))
    assert s.jobs_per_dwelling == 2.0 and not s.jobs_balanced
    assert s.estimated_floor_area_buildings == 1
    assert s.floor_area_by_class_m2["residential"] == pytest.approx(20 * 20 * 3)


def test_landuse_grid_cells_by_hand():
    rows = [
        home("h", 50, 50, 10, "owner_occupied", floor_area_m2=800.0),
        building("s", 150, 50, use="retail", floor_area_m2=800.0),  # same 200 m cell
        home("h2", 350, 50, 10, "owner_occupied"),  # next cell east
    ]
    d = make(rows, boundary=box(X0, Y0, X0 + 400, Y0 + 200))
    grid = landuse_grid(d, cell_m=200.0).set_index("cell_id")
    assert len(grid) == 2
    assert list(grid.index) == ["c0_0", "c1_0"]
    first = grid.loc["c0_0"]
    assert first["landuse_entropy"] == pytest.approx(math.log(2) / math.log(N_CLASSES))
    assert first["floor_area_m2"] == 1600.0 and first["dwellings"] == 10
    assert grid.loc["c1_0", "landuse_entropy"] == 0.0
    assert (grid.geometry.area == 200.0 * 200.0).all()
    with pytest.raises(InputError, match="cell_m"):
        landuse_grid(d, cell_m=0)


# --------------------------------------------------------------------------- network catchments


def river_district(near_bridge: bool) -> District:
    """Two banks of a river 20 m wide; the only bridge is 600 m north (or also at y=10).

    West bank street x = 90, east bank street x = 110, from y = 0 to 600; a home at
    (70, 10) on the west bank; on the east bank an owner-occupied home at (130, 40), a
    shop building at (130, 70) and a shop POI at (120, 10), 50 m from the home in a
    straight line.
    """
    streets = [
        street("west", [(90, 0), (90, 600)]),
        street("east", [(110, 0), (110, 600)]),
        street("bridge", [(90, 600), (110, 600)], bridge=True),
    ]
    if near_bridge:
        streets.append(street("bridge2", [(90, 10), (110, 10)], bridge=True))
    buildings = [
        home("w", 70, 10, 20, "almen_family", floor_area_m2=1000.0),
        home("e", 130, 40, 20, "owner_occupied", floor_area_m2=1000.0),
        building("shop", 130, 70, use="retail", floor_area_m2=2000.0, jobs=20),
    ]
    water = frame(
        [dict(landuse_id="river", use="water", geometry=box(X0 + 95, Y0 - 50, X0 + 105, Y0 + 700))]
    )
    d = make(buildings, streets, [poi("p1", "shop", 120, 10)])
    return d.replace(landuse=water)


def test_river_with_one_bridge_catchments_use_network_distance():
    d = river_district(near_bridge=False)
    access = poi_access(d).set_index("building_id")
    # access leg 20 + 590 up the west bank + 20 bridge + 590 down + access leg 10
    assert access.loc["w", "dist_shop_m"] == pytest.approx(20 + 590 + 20 + 590 + 10, abs=1e-2)
    assert d.buildings.geometry.iloc[0].centroid.distance(Point(X0 + 120, Y0 + 10)) == 50
    c = home_catchments(d).set_index("building_id")
    # neither the far-bank home nor the shop is within 800 m on foot
    assert c.loc["w", "dwellings_800m"] == 20
    assert c.loc["w", "tenure_hill1_800m"] == 1.0
    assert c.loc["w", "landuse_entropy_800m"] == 0.0
    # with a second bridge next to them, both are
    d2 = river_district(near_bridge=True)
    assert poi_access(d2).set_index("building_id").loc["w", "dist_shop_m"] == pytest.approx(
        20 + 20 + 10, abs=1e-2
    )
    c2 = home_catchments(d2).set_index("building_id")
    assert c2.loc["w", "dwellings_400m"] == 40
    assert c2.loc["w", "tenure_hill1_400m"] == pytest.approx(2.0)
    # residential 2000 m² (both homes), retail 2000 m²: two equal uses
    assert c2.loc["w", "landuse_entropy_400m"] == pytest.approx(math.log(2) / math.log(N_CLASSES))
    assert c2.loc["w", "jobs_per_dwelling_400m"] == pytest.approx(0.5)


def test_catchments_and_nearest_pois_match_point_distances_on_the_default_district():
    """An independent route: network.point_distances between every home and target."""
    d = vollsmose_gis.default_district()
    result = analyse_mix(d)
    homes = result.homes
    g = walk_graph(d)
    b = d.buildings
    home_rows = b[b["dwellings"] > 0]
    snapped_homes = g.snap(home_rows.geometry, max_distance_m=250)
    snapped_all = g.snap(b.geometry, max_distance_m=250)
    dist = g.point_distances(snapped_homes, snapped_all, limit_m=800)
    position = {bid: i for i, bid in enumerate(b["building_id"])}
    own = np.array([position[bid] for bid in home_rows["building_id"]])
    dist[np.arange(len(own)), own] = 0.0
    dwellings = b["dwellings"].to_numpy(dtype=float)
    for radius in (400, 800):
        expected = (np.nan_to_num(dist, nan=np.inf) <= radius + RADIUS_TOLERANCE_M) @ dwellings
        np.testing.assert_allclose(homes[f"dwellings_{radius}m"].to_numpy(), expected)
    for kind in ("supermarket", "school", "transit_stop"):
        pois = d.pois[d.pois["kind"] == kind]
        nearest = g.point_distances(snapped_homes, g.snap(pois.geometry, max_distance_m=250)).min(
            axis=1
        )
        np.testing.assert_allclose(homes[f"dist_{kind}_m"].to_numpy(), nearest, rtol=1e-12)


def test_catchments_in_blocks_equal_catchments_in_one_go(monkeypatch):
    d = vollsmose_gis.default_district()
    whole = home_catchments(d)
    calls = []
    graph = walk_graph(d)
    original = type(graph).distances

    def counting(self, sources, **kwargs):
        calls.append(len(np.atleast_1d(sources)))
        return original(self, sources, **kwargs)

    monkeypatch.setattr(type(graph), "distances", counting)
    home_catchments(d)
    assert len(calls) == 1  # one multi-source Dijkstra for every home
    calls.clear()
    monkeypatch.setattr(mix.access, "_ROW_BUDGET", 2 * graph.n_nodes * 500)  # 500 homes a search
    monkeypatch.setattr(mix.access, "_PAIR_BUDGET", 97_000)  # ~50 homes x all targets a block
    blocks = home_catchments(d)
    assert len(calls) == math.ceil(len(whole) / 500)
    pd.testing.assert_frame_equal(pd.DataFrame(blocks), pd.DataFrame(whole))


def test_nearest_pois_match_networkx_on_real_osm_streets(osm_dir):
    """Real OSM network (Aguascalientes): per-home networkx Dijkstra as the reference."""
    from vollsmose_gis.sources.osm import district_from_osm

    d = district_from_osm(osm_dir / "aguascalientes.osm.pbf", crs="auto")
    buildings = d.buildings.copy()
    assert len(buildings) > 10 and len(d.pois) > 10
    buildings["dwellings"] = 4
    buildings["tenure"] = "owner_occupied"
    d = d.replace(buildings=buildings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixWarning)
        access = poi_access(d)
    g = walk_graph(d)
    graph = g.to_networkx()
    h = g.snap(d.buildings.geometry, max_distance_m=250)
    checked = 0
    targets = {
        kind: g.snap(d.pois[d.pois["kind"] == kind].geometry, max_distance_m=250)
        for kind in ("school", "daycare", "transit_stop")
    }
    for i in np.flatnonzero(h.valid):
        lengths: dict[int, float] = {}  # per home: its own networkx searches
        ends = ((h.u[i], h.along_m[i]), (h.v[i], g.edge_length_m[h.edge[i]] - h.along_m[i]))
        for node, leg in ends:
            reached = nx.single_source_dijkstra_path_length(graph, int(node), weight="length_m")
            for target, length in reached.items():
                lengths[target] = min(lengths.get(target, np.inf), leg + length)
        for kind, p in targets.items():
            best = np.inf
            for j in np.flatnonzero(p.valid):
                via_u = lengths.get(int(p.u[j]), np.inf) + p.along_m[j]
                rest = g.edge_length_m[p.edge[j]] - p.along_m[j]
                candidate = min(via_u, lengths.get(int(p.v[j]), np.inf) + rest)
                if p.edge[j] == h.edge[i]:
                    candidate = min(candidate, abs(p.along_m[j] - h.along_m[i]))
                best = min(best, candidate + p.offset_m[j])
            expected = best + h.offset_m[i] if np.isfinite(best) else np.nan
            got = access[f"dist_{kind}_m"].iloc[i]
            assert got == pytest.approx(expected, rel=1e-9, nan_ok=True), (kind, i)
            checked += 1
    assert checked > 30


def test_daily_needs_within_800m():
    streets = [street("s", [(0, 0), (2000, 0)])]
    kinds = ("supermarket", "school", "daycare", "health", "transit_stop", "green_space")
    pois = [poi(f"p{i}", kind, 100 + 50 * i, 5) for i, kind in enumerate(kinds)]
    pois.append(poi("far_school", "school", 1900, 5))
    homes = [
        home("near", 100, 15, 10, "owner_occupied"),
        home("far", 1500, 15, 30, "owner_occupied"),
    ]
    boundary = box(X0 - 50, Y0 - 50, X0 + 2100, Y0 + 100)
    result = analyse_mix(make(homes, streets, pois, boundary=boundary))
    h = result.homes.set_index("building_id")
    assert bool(h.loc["near", "daily_needs_800m"])
    assert not h.loc["far", "daily_needs_800m"]
    # health is reported, not essential (standards/mix.yaml access.daily_needs)
    assert h.loc["far", "daily_needs_missing"] == "grocery,daycare,transit,green_space"
    assert h.loc["far", "need_health_m"] == pytest.approx(1500 - 250 + 20)
    # 1500 - 100 along the street, access legs 15 and 5
    assert h.loc["far", "dist_supermarket_m"] == pytest.approx(1400 + 20)
    assert h.loc["far", "dist_school_m"] == pytest.approx(400 + 20)
    assert h.loc["near", "need_grocery_m"] == pytest.approx(20)
    assert result.indicators["dwellings_with_daily_needs_800m_share"].value == pytest.approx(
        10 / 40
    )
    assert result.access["share_by_need"]["school"] == 1.0
    assert math.isnan(h.loc["near", "dist_library_m"])  # no library anywhere


def green_district(landuse_use: str, side_m: float = 100.0, path: bool = False) -> District:
    """A home at x=100 on a street along y=0; a park of side ``side_m`` from x=500, y=10."""
    streets = [street("s", [(0, 0), (2000, 0)])]
    if path:  # a footway into the park: it meets the bottom edge at (550, 10)
        streets.append(street("p", [(550, 0), (550, 60)]))
    d = make([home("h", 100, 15, 10, "owner_occupied")], streets, boundary=BOUNDARY)
    park = box(X0 + 500, Y0 + 10, X0 + 500 + side_m, Y0 + 10 + side_m)
    landuse = frame([dict(landuse_id="park", use=landuse_use, name=None, geometry=park)])
    return d.replace(landuse=landuse)


def test_green_space_is_reached_at_the_polygon_edge():
    # the park's nearest edge point is its corner (500, 10): access leg 15 (home) +
    # 400 along the street + 10 (corner to street) = 425 m; a point in the middle of
    # the park would be 15 + 450 + 60 = 525 m
    access = poi_access(green_district("green")).iloc[0]
    assert access["dist_green_space_m"] == pytest.approx(425.0)
    assert access["need_green_space_m"] == pytest.approx(425.0)
    assert poi_access(green_district("wetland")).iloc[0]["dist_green_space_m"] == pytest.approx(425)
    # not green, or smaller than 0.5 ha (60 x 60 = 3,600 m²): no green space at all
    assert math.isnan(poi_access(green_district("parking")).iloc[0]["dist_green_space_m"])
    assert math.isnan(poi_access(green_district("green", 60.0)).iloc[0]["dist_green_space_m"])


def test_green_space_access_points_entrances_edges_and_inside():
    points = green_space_access_points(green_district("green", path=True))
    assert set(points["landuse_id"]) == {"park"}
    kinds = points["access"].value_counts().to_dict()
    assert kinds["edge"] == 400 // 25  # perimeter 400 m every 25 m
    entrance = points[points["access"] == "entrance"].geometry
    assert [(p.x - X0, p.y - Y0) for p in entrance] == [(550.0, 10.0)]
    inside = points[points["access"] == "inside"].geometry
    assert [(p.x - X0, p.y - Y0) for p in inside] == [(550.0, 60.0)]
    assert len(green_space_access_points(green_district("parking"))) == 0


def test_green_polygons_only_shorten_the_default_districts_green_distances(vollsmose):
    d = vollsmose_gis.default_district()
    with_polygons = vollsmose.homes["dist_green_space_m"].to_numpy()
    points_only = poi_access(d.replace(landuse=d.landuse.iloc[0:0]))["dist_green_space_m"]
    points_only = np.nan_to_num(points_only.to_numpy(), nan=np.inf)
    assert (with_polygons <= points_only + 1e-9).all()
    # the bog and the central green reach 71 % of the dwellings; the bog's one point 27 %
    assert vollsmose.access["share_by_need"]["green_space"] > 0.7
    assert (with_polygons < points_only - 100).mean() > 0.5


def test_a_home_is_always_in_its_own_catchment():
    # 240 m from the street: out and back would be 480 m, more than 400 m
    d = make([home("h", 100, 240, 12, "cooperative")], [street("s", [(0, 0), (500, 0)])])
    c = home_catchments(d, radii_m=[400]).iloc[0]
    assert c["access_m"] == pytest.approx(240)
    assert c["dwellings_400m"] == 12
    assert c["tenure_hill0_400m"] == 1.0


def test_homes_off_the_network_are_reported():
    streets = [street("s", [(0, 0), (500, 0)])]
    homes = [
        home("ok", 100, 20, 10, "owner_occupied"),
        home("remote", 300, 600, 10, "owner_occupied"),
    ]
    with pytest.warns(
        MixWarning, match=r"1 home\(s\) \(1 inside the boundary\) lie farther than 250 m"
    ):
        result = analyse_mix(make(homes, streets))
    h = result.homes.set_index("building_id")
    assert math.isnan(h.loc["remote", "dwellings_800m"])
    assert not h.loc["remote", "daily_needs_800m"]
    assert any("farther than 250 m" in w for w in result.warnings)


# --------------------------------------------------------------------------- bad input


def test_dwellings_without_tenure_are_counted_as_unknown_and_reported():
    d = make([home("h1", 100, 20, 30, "almen_family"), home("h2", 130, 20, 20, None)])
    with pytest.warns(MixWarning, match=r"'h2'.*20 dwellings are counted as 'unknown'"):
        t = tenure_accounting(d)
    assert t.dwellings_by_tenure["unknown"] == 20
    assert t.unknown_tenure_buildings == ("h2",)
    assert t.total_dwellings == 50 and t.share == pytest.approx(0.6)
    with pytest.warns(MixWarning):
        result = analyse_mix(d)
    assert any("'h2'" in w for w in result.warnings)
    assert result.to_dict()["tenure"]["unknown_tenure_buildings"] == ["h2"]
    assert result.diversity["tenure"]["hill0"] == 1.0  # unknown is not a tenure


def test_poi_kind_not_in_the_list_is_an_error_naming_the_poi():
    d = make([home("h", 100, 20, 10, "owner_occupied")], pois=[poi("P7", "casino", 50, 5)])
    with pytest.raises(
        InputError, match=r"layer 'pois', feature 'P7': POI kind 'casino' is not in"
    ):
        analyse_mix(d)
    with pytest.raises(InputError, match="'P7'"):
        poi_access(d)


def test_negative_floor_area_is_an_error_naming_the_building():
    d = make(
        [home("h", 100, 20, 10, "owner_occupied"), building("bad", 130, 20, floor_area_m2=-50.0)]
    )
    with pytest.raises(InputError, match=r"feature 'bad': floor_area_m2 = -50.0 is negative"):
        analyse_mix(d)
    for func in (tenure_accounting, landuse_summary, landuse_floor_areas, home_catchments):
        with pytest.raises(InputError, match="'bad'"):
            func(d)


def test_other_unusable_building_values_are_listed_together():
    d = make(
        [
            home("h", 100, 20, -3, "owner_occupied"),
            building("c", 130, 20, floor_area_m2=100.0, commercial_m2=200.0),
            home("t", 160, 20, 5, "rent_to_own"),
        ]
    )
    with pytest.raises(InputError) as info:
        tenure_accounting(d)
    text = str(info.value)
    assert text.startswith("3 problems in layer 'buildings'")
    assert "'h': dwellings = -3.0 is negative" in text
    assert "'c': commercial_m2 = 200.0 exceeds floor_area_m2 = 100.0" in text
    assert "'t': tenure 'rent_to_own' is not one of" in text


def test_empty_layers():
    d = make([], pois=())
    result = analyse_mix(d)
    assert math.isnan(result.tenure.share)
    assert math.isnan(result.indicators["meets_40pct_rule"].value)
    assert math.isnan(result.indicators["landuse_entropy_800m"].value)
    assert len(result.homes) == 0 and len(result.estates) == 0
    no_pois = analyse_mix(make([home("h", 100, 20, 10, "owner_occupied")]))
    assert no_pois.indicators["dwellings_with_daily_needs_800m_share"].value == 0.0
    json.dumps(no_pois.to_dict())


# --------------------------------------------------------------------------- default district


@pytest.fixture(scope="module")
def vollsmose():
    return analyse_mix(vollsmose_gis.default_district())


def test_default_district_168a_in_the_estates_parcels(vollsmose):
    """The embedded district's rule area is the nine estates' parcels (Settings.rule_area).

    By hand: 3,600 social family dwellings, all in the parcels; no erhvervsareal there
    but day-care 3 (1,200 m², an institution): 1,200 / 75 = 16 dwellings when
    institutions count.  Demolish ⌈3600 − 0.4·3600⌉ = 2160, or ⌈3600 − 0.4·3616⌉ = 2154.
    """
    t = vollsmose.tenure
    assert vollsmose.rule_applies and not t.rule_area_is_boundary
    assert t.dwellings_by_tenure["almen_family"] == 3600 == t.total_dwellings
    assert t.erhvervsareal_m2 == 0.0 and t.institutional_m2 == 1200.0
    assert t.share == 1.0 and not t.meets_rule
    assert (t.demolition_need_min, t.demolition_need_max) == (2154, 2160)
    assert t.demolish_needed == t.convert_needed == 2160
    assert t.share_min == pytest.approx(3600 / 3616)
    assert t.build_non_social_needed == math.ceil(3600 / 0.4 - 3600) == 5400
    assert vollsmose.diversity["tenure"]["hill1"] == 1.0
    assert set(vollsmose.estates.index) == {
        "Bøgeparken", "Egeparken", "Fyrreparken", "Birkeparken", "Granparken",
        "Lærkeparken", "Hybenhaven", "Slåenhaven", "Tjørnehaven",
    }  # fmt: skip
    assert (vollsmose.estates["tenure_hill1"] == 1.0).all()
    # the context outside the boundary is mixed: catchments near the edge see it
    assert vollsmose.catchments["800m"]["tenure_hill1"] > 1.2
    assert vollsmose.landuse.jobs == 478 and not vollsmose.landuse.jobs_balanced
    assert vollsmose.warnings == ()


def test_default_district_offices_count_in_the_study_boundary(vollsmose):
    """Retail 15,600 m² + the former school's offices 16,200 m² = 31,800 m² = 424 dwellings;
    institutions add school 15,400, day-care 4,200, health 8,400, culture 6,600 and sport
    4,800 m²: 71,200 m², ⌊949.3⌋ = 949 dwellings."""
    readings = vollsmose.readings.set_index(["area", "institutions_count"])
    assert list(readings.index) == [
        ("rule area", False),
        ("rule area", True),
        ("study boundary", False),
        ("study boundary", True),
    ]
    boundary = readings.loc[("study boundary", False)]
    assert boundary["erhvervsareal_m2"] == 31_800.0 and boundary["dwelling_equivalents"] == 424
    assert boundary["demolish_needed"] == math.ceil(3600 - 0.4 * 4024) == 1991
    with_institutions = readings.loc[("study boundary", True)]
    assert with_institutions["erhvervsareal_m2"] == 71_200.0
    assert with_institutions["demolish_needed"] == math.ceil(3600 - 0.4 * 4549) == 1781
    assert readings.loc[("rule area", True), "demolish_needed"] == 2154
    # the same district with the study boundary as its rule area: the offices count
    d = vollsmose_gis.default_district()
    own = d.replace(settings=dataclasses.replace(d.settings, rule_area=None))
    t = tenure_accounting(own)
    assert t.erhvervsareal_m2 == 31_800.0 and t.rule_area_is_boundary
    assert (t.demolition_need_min, t.demolition_need_max) == (1781, 1991)
    offices = erhvervsareal(own).set_index("building_id")
    assert offices.loc["tidl-skole", "erhvervsareal_m2"] == 16_200.0
    assert offices.loc["skole-midt", "erhvervsareal_m2"] == 0.0
    assert offices.loc["skole-midt", "institutional_m2"] == 15_400.0
    counted = erhvervsareal(own, institutions_count=True).set_index("building_id")
    assert counted.loc["skole-midt", "erhvervsareal_m2"] == 15_400.0
    assert not offices.loc["tidl-skole", "in_rule_area"] or own.settings.rule_area is None


def test_default_district_indicators(vollsmose):
    values = indicators(vollsmose_gis.default_district())
    assert list(values) == [
        "almen_family_share",
        "meets_40pct_rule",
        "tenure_diversity_hill1",
        "landuse_entropy_800m",
        "jobs_per_dwelling",
        "non_residential_floor_share",
        "dwellings_with_daily_needs_800m_share",
    ]
    assert all(v.theme in THEMES for v in values.values())
    assert all(v.id == key and v.reason == "" for key, v in values.items())
    assert values["almen_family_share"].value == 1.0
    assert values["meets_40pct_rule"].value == 0.0
    assert values["jobs_per_dwelling"].value == pytest.approx(478 / 3600)
    assert 0 < values["landuse_entropy_800m"].value < vollsmose.landuse.landuse_entropy
    # every essential need at once is rarer than the rarest one (grocery, 24 %)
    daily = values["dwellings_with_daily_needs_800m_share"].value
    access = vollsmose.access
    assert access["essential_needs"] == ["grocery", "school", "daycare", "transit", "green_space"]
    assert 0 < daily <= min(access["share_by_need"][n] for n in access["essential_needs"])
    assert daily == pytest.approx(780 / 3600)  # regression figure of the 2026-12 audit
    homes = vollsmose.homes
    assert homes["inside_boundary"].sum() == 117
    assert homes.loc[homes["inside_boundary"], "dwellings"].sum() == 3600
    for name in DIVERSITY_INDICES:
        assert f"tenure_{name}_800m" in homes and f"dwelling_type_{name}_400m" in homes


def test_spec_runs_with_the_rule_options():
    from vollsmose_gis import analysis

    d = vollsmose_gis.default_district()
    run = analysis.run("mix", d, institutions_count=True)
    assert run.parameters["institutions_count"] is True
    mix_result = run.extras["mix"]
    assert mix_result.tenure.institutions_count and mix_result.tenure.demolish_needed == 2154
    assert run.indicators["almen_family_share"].value == pytest.approx(3600 / 3616)
    assert {"mix_homes", "mix_estates", "mix_grid"} <= set(run.layers)
    with pytest.raises(InputError, match="unknown parameter"):
        analysis.run("mix", d, institution_count=True)


def test_summary_names_both_land_use_entropies_and_both_readings(vollsmose):
    """Issue 17: "entropy 0.223 in one line and 0.481 in the table" were two measures."""
    text = "\n".join(vollsmose.summary_lines())
    pooled = vollsmose.landuse.landuse_entropy
    walk = vollsmose.indicators["landuse_entropy_800m"].value
    assert f"study boundary (all floor area pooled): entropy {pooled:.3f}" in text
    assert (
        f"800 m walk of home (mean over dwellings; the indicator landuse_entropy_800m): "
        f"entropy {walk:.3f}" in text
    )
    assert round(pooled, 3) != round(walk, 3)
    measures = vollsmose.to_dict()["landuse_entropy_measures"]
    assert measures == {
        "study_boundary_pooled": pytest.approx(pooled),
        "walk_800m_mean_over_dwellings": pytest.approx(walk),
    }
    assert "2,154–2,160 dwellings must go depending on whether public institutions count" in text
    assert "§ 168 a share 100.0% in the rule area" in text
    assert "every essential need (grocery+school+daycare+transit+green_space) 22%" in text


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_mix_json_and_geopackage(tmp_path):
    path = save_district(small_district(), tmp_path / "d.gpkg")
    out = tmp_path / "mix.gpkg"
    result = runner.invoke(app, ["mix", str(path), "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # whole 75 m² units: the 500 m² shop is 6 dwellings
    assert report["tenure"]["share"] == pytest.approx(40 / (40 + 6))
    # a district built without settings: § 168 a does not apply
    assert report["rule_168a_applies"] is False
    meets = report["indicators"]["meets_40pct_rule"]
    assert meets["value"] is None and meets["reason"].startswith("not applicable")
    assert "Schematic model" in report["provenance"]
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"mix_homes", "mix_estates", "mix_grid", "buildings"} <= layers
    homes = pyogrio.read_dataframe(out, layer="mix_homes")
    assert list(homes["building_id"]) == ["b1"]
    again = runner.invoke(app, ["mix", str(path), "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    assert runner.invoke(app, ["mix", str(path), "-o", str(out), "--overwrite"]).exit_code == 0


def test_cli_mix_table_on_the_default_district():
    result = runner.invoke(app, ["mix"])
    assert result.exit_code == 0, result.output
    assert "§ 168 a share 100.0%" in result.stdout
    assert "does NOT meet the 40% rule" in result.stdout
    assert "Schematic model" in result.stdout


def test_cli_mix_bad_input_exits_2(tmp_path):
    d = small_district()
    b = d.buildings.copy()
    b.loc[0, "floor_area_m2"] = -1.0
    path = save_district(d.replace(buildings=b), tmp_path / "bad.gpkg")
    result = runner.invoke(app, ["mix", str(path)])
    assert result.exit_code == 2
    assert "'b1'" in result.stderr and "floor_area_m2" in result.stderr
