"""The analysis contract: registry, specs, warnings as data, the catalogue, plans."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from vollsmose_gis import analysis
from vollsmose_gis._errors import InputError
from vollsmose_gis.analysis import AnalysisSpec, ModuleResult, new_ids
from vollsmose_gis.calming import CalmingWarning
from vollsmose_gis.indicators import THEMES, catalogue, catalogue_markdown, indicator
from vollsmose_gis.scenario import load_scenarios
from vollsmose_gis.scoring import load_profile, score_scenarios
from vollsmose_gis.sources.vollsmose import default_district

REPO = Path(__file__).resolve().parents[1]


def test_registry_lists_every_module_with_a_spec() -> None:
    names = analysis.module_names()
    assert names == ["connectivity", "calming", "lighting", "cctv", "mix", "followup", "safety"]
    # plan scoring runs the physical analyses; follow-up reads statistics and safety
    # describes today's evidence, not plans
    assert analysis.scored_module_names() == names[:5]
    for name, spec in analysis.specs().items():
        assert isinstance(spec, AnalysisSpec)
        assert spec.name == name
        assert set(spec.themes) <= set(THEMES)
        assert spec.reads or not spec.scored, name  # follow-up reads statistics, not layers


def test_unknown_module_and_parameter_are_refused() -> None:
    with pytest.raises(InputError, match="unknown module 'nope'"):
        analysis.get("nope")
    with pytest.raises(InputError, match=r"calming: unknown parameter\(s\) \['speed'\]"):
        analysis.run("calming", default_district(), speed=3)


def test_every_indicator_a_module_returns_is_in_the_catalogue() -> None:
    d = default_district()
    seen = set()
    for name in analysis.module_names():
        result = analysis.run(name, d)
        assert result.name == name
        assert "schematic model" in result.provenance.lower()
        for key, ind in result.indicators.items():
            entry = catalogue()[key]
            assert ind.id == key
            assert entry["module"] == name
            assert entry["unit"] == ind.unit, key
            assert (entry["direction"] == "higher") == ind.higher_is_better, key
            assert entry["theme"] == ind.theme, key
            seen.add(key)
    assert seen == set(catalogue()), "catalogue rows no module returns"


def test_catalogue_rows_are_complete_and_the_docs_page_is_current() -> None:
    for key, entry in catalogue().items():
        assert entry["formula"] and entry["formula"] != "TODO", key
        assert entry["label"]["en"] and entry["label"]["da"], key
    page = (REPO / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert page == catalogue_markdown(), "regenerate: python -m vollsmose_gis.indicators"


def test_indicator_factory_takes_unit_direction_theme_from_the_catalogue() -> None:
    ind = indicator("lit_path_share", 0.5)
    assert (ind.unit, ind.higher_is_better, ind.theme, ind.id) == (
        "share",
        True,
        "safety and security",
        "lit_path_share",
    )


def test_warnings_are_captured_as_data_once() -> None:
    def compute(district: object) -> ModuleResult:
        for _ in range(3):
            warnings.warn("no target street", CalmingWarning, stacklevel=1)
        return ModuleResult({})

    spec = AnalysisSpec("demo", (), ("streets",), compute)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes to the caller
        result = spec.run(default_district())
    assert result.warnings == ["no target street"]


def test_cache_key_covers_parameters() -> None:
    spec = analysis.get("calming")
    d = default_district()
    assert spec.cache_key(d) == spec.cache_key(d, {"target_kmh": 30.0})
    assert spec.cache_key(d) != spec.cache_key(d, {"target_kmh": 40.0})


def test_new_ids_skip_existing() -> None:
    assert new_ids("L", 3, existing={"new-L-002"}) == ["new-L-001", "new-L-003", "new-L-004"]


def test_example_scores_identical_to_the_stored_table() -> None:
    """A refactoring changes how modules are called, not what they compute.

    The stored table is regenerated only when a model or the profile changes on purpose
    (the commit says which); every weighted indicator must then still discriminate:
    below 90 in the baseline and above 2 in at least one plan.
    """
    result = score_scenarios(load_scenarios([REPO / "scenarios"]), profile=load_profile())
    stored = pd.read_csv(
        REPO / "tests" / "data" / "example_scores.csv", keep_default_na=False, na_values=[""]
    )
    pd.testing.assert_frame_equal(
        result.scores.reset_index(drop=True), stored, check_dtype=False, rtol=1e-9
    )
    weighted = result.indicators[result.indicators["weight"] > 0]
    best = weighted.groupby("indicator")["score"].max()
    base = result.baseline.indicators.set_index("indicator")["score"]
    assert (base[best.index] < 90).all(), base[best.index][base[best.index] >= 90]
    assert (best > 2).all(), best[best <= 2]


def test_district_and_result_read_well_in_a_notebook() -> None:
    d = default_district()
    html = d._repr_html_()
    assert "Vollsmose" in html and "country DK" in html and ">1,043<" in html
    assert "Schematic model" in html
    page = d.explore().get_root().render()
    assert "Schematic model built from public figures" in page
    assert "tile.openstreetmap" not in page.lower()  # offline by default
    result = analysis.run("mix", d)
    assert "almen_family_share" in result._repr_html_()
    assert result.to_dict()["module"] == "mix"
