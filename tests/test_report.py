"""Council report: figures in words, a real report from a small scoring run, in Chromium."""

from __future__ import annotations

import re

import pytest

from tests.browser import browser, png_colours
from tests.factories import X0, Y0, small_district
from vollsmose_gis import InputError, maps, report
from vollsmose_gis.scenario import Scenario
from vollsmose_gis.scoring import score_scenarios

XSS = "<script>alert(1)</script>"

MODULES = ["connectivity", "calming", "lighting", "cctv", "mix"]


@pytest.fixture(scope="module")
def result():
    """Two scenarios on the small district with every module: scored in a few seconds."""
    lights = Scenario.from_dict(
        {
            "name": "Lit path",
            "description": f"A new lit path. {XSS}",
            "year": 2027,
            "interventions": [
                {
                    "type": "add_street",
                    "street_id": "new-path",
                    "name": "New path",
                    "highway": "footway",
                    "geometry": f"LINESTRING ({X0 + 20} {Y0 + 160}, {X0 + 180} {Y0 + 160})",
                },
                {
                    "type": "add_lights",
                    "streets": {"ids": ["new-path", "p1"]},
                    "spacing_m": 20,
                    "lumens": 3000,
                    "height_m": 4.5,
                },
                {
                    "type": "add_cameras",
                    "geometry": f"POINT ({X0 + 100} {Y0 + 150})",
                    "heading_deg": [90],
                    "height_m": 5,
                },
            ],
        }
    )
    as_is = Scenario.from_dict({"name": "As is", "description": "No change."})
    return score_scenarios([lights, as_is], district=small_district(), modules=MODULES)


@pytest.mark.parametrize(
    ("value", "unit", "lang", "expected"),
    [
        (0.14, "share", "en", "14 %"),
        (0.875, "share", "da", "88 %"),
        (0.034, "share", "en", "3.4 %"),
        (1.0, "yes=1/no=0", "en", "yes"),
        (0.0, "yes=1/no=0", "da", "nej"),
        (3612.0, "m", "en", "3.6 km"),
        (412.0, "m", "en", "412 m"),
        (12345.6, "m2", "da", "12\u2009346 m²"),
        (2.345, "lx", "da", "2,3 lx"),
        (1.3849, "ratio", "en", "1.38 ratio"),
        (123456.0, "kWh/year", "en", "123,456 kWh/year"),
        (float("nan"), "share", "en", "–"),
    ],
)
def test_figures_in_words(value, unit, lang, expected):
    assert report.format_value(value, unit, lang) == expected


def test_report_says_what_was_scored(result, tmp_path):
    path = report.write_report(result, tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", page)
    leader = result.scores.iloc[0]
    assert f"{leader['scenario']} scores highest: {leader['overall']:.1f} of 100" in text
    for theme in result.profile.themes:
        assert result.profile.theme_labels[theme] in text
    # the scenarios in plain words: the description (escaped) and the change log
    assert "A new lit path. &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page
    lit = result.results["Lit path"]
    for summary in lit.change_log.to_frame()["summary"]:
        assert str(summary) in text
    # a key figure in words, today -> the best scenario, from the indicator table
    ind = result.indicators
    share = ind[(ind["scenario"] == "Lit path") & (ind["indicator"] == "lit_path_share")]
    base = result.baseline.indicators.set_index("indicator")["value"]["lit_path_share"]
    figure = (
        f"Share of path length lit to its EN 13201 class: "
        f"{report.format_value(base, 'share')} → "
        f"{report.format_value(share['value'].iloc[0], 'share')}"
    )
    assert figure in text
    # every theme's section has its maps (safety: lighting, CCTV, traffic) and the change map
    assert page.count("<iframe") == 1 + 1 + 1 + 3 + 1
    assert "Schematic model built from public figures" in text  # provenance
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # charts
    assert not re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="https?://', page)
    with pytest.raises(FileExistsError):
        report.write_report(result, path)


def test_report_in_danish(result, tmp_path):
    page = report.report_html(result, lang="da")
    assert '<html lang="da">' in page
    assert "Hvilken plan for Testby?" in page
    assert "Det korte svar" in page
    with pytest.raises(InputError, match="lang must be one of"):
        report.report_html(result, lang="de")
    with pytest.raises(InputError):
        report.write_report(result, tmp_path / "r.html", lang="de")
    assert not (tmp_path / "r.html").exists()


def test_write_maps_refuses_to_overwrite(result, tmp_path):
    written = maps.write_maps(result, tmp_path / "maps")
    names = sorted(p.name for p in written)
    assert names == [
        "as-is.html",
        "as-is_before-after.html",
        "as-is_changes.html",
        "baseline.html",
        "lit-path.html",
        "lit-path_before-after.html",
        "lit-path_changes.html",
    ]
    with pytest.raises(FileExistsError, match="7 map file"):
        maps.write_maps(result, tmp_path / "maps")
    assert len(maps.write_maps(result, tmp_path / "maps", overwrite=True)) == 7


FRAMES_JS = """
var out = [];
document.querySelectorAll('iframe.map').forEach(function (frame) {
    var doc = frame.contentDocument;
    out.push({
        leaflet: frame.contentWindow.L ? frame.contentWindow.L.version : null,
        maps: doc.querySelectorAll('.leaflet-container').length,
        layers: Array.from(doc.querySelectorAll(
            '.leaflet-control-layers-overlays label span span')).map(function (el) {
                return el.textContent.trim(); }),
        legend: doc.querySelectorAll('.vg-legend').length
    });
});
return {frames: out, text: document.body.innerText};
"""


@pytest.mark.browser
def test_report_renders_offline_in_chromium(result, tmp_path):
    path = report.write_report(result, tmp_path / "report.html")
    with browser(1280, 2400) as chrome:
        page = chrome.open(path, settle_s=2.0, script=FRAMES_JS)
    assert page.errors == []
    assert page.network_requests == []
    assert page.alert is None
    frames = page.info["frames"]
    assert len(frames) == 7
    for frame in frames:
        assert frame["leaflet"] == "1.9.4"
        assert frame["legend"] == 1
        assert frame["layers"], frame
    dual = frames[0]
    assert dual["maps"] == 2 and "Walking through-movement" in dual["layers"]
    assert "Change in light on the ground" in frames[-1]["layers"]
    assert f"A new lit path. {XSS}" in page.info["text"]  # shown as text, no alert
    assert png_colours(page.screenshot_png) > 50
