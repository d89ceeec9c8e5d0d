"""Council report: figures in words, a real report from a small scoring run, in Chromium."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.browser import browser, png_colours
from tests.factories import X0, Y0, small_district
from vollsmose_gis import InputError, maps, report
from vollsmose_gis.district import Settings
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
    # a Danish district: § 168 a applies, so the report shows its flag
    danish = small_district().replace(settings=Settings(country="DK", rules=("dk_168a",)))
    return score_scenarios([lights, as_is], district=danish, modules=MODULES)


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
    # "0,1 mio. kr." ends the sentence with one full stop, not two
    assert re.search(r"Pris: \d+,\d mio\. kr\.</p>", page) and "kr.." not in page
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
        legend: doc.querySelectorAll('.vg-legend').length,
        paths: doc.querySelectorAll('.leaflet-overlay-pane path').length,
        images: doc.querySelectorAll('img.leaflet-image-layer').length,
        page: frame.getAttribute('srcdoc')
    });
});
return {frames: out, text: document.body.innerText};
"""


MAP_JS = """
return {
    leaflet: window.L ? L.version : null,
    maps: document.querySelectorAll('.leaflet-container').length,
    layers: Array.from(document.querySelectorAll(
        '.leaflet-control-layers-overlays label span span')).map(function (el) {
            return el.textContent.trim(); }),
    legend: document.querySelectorAll('.vg-legend').length,
    paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
    images: document.querySelectorAll('img.leaflet-image-layer').length
};
"""


def drawn_alone(pages: list[str], folder) -> list[dict]:
    """What each map page draws opened on its own in Chromium (:data:`MAP_JS`)."""
    alone = []
    with browser(1280, 600) as chrome:
        for k, text in enumerate(pages):
            (folder / f"map-{k}.html").write_text(text, encoding="utf-8")
            shown = chrome.open(folder / f"map-{k}.html", settle_s=1.0, script=MAP_JS)
            assert shown.errors == []
            alone.append(shown.info)
    return alone


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
    # the script put each page together as Python does, and each map draws what the
    # same page draws on its own (layers, features as SVG paths, raster images)
    pages = embedded_maps(path.read_text(encoding="utf-8"))
    assert [frame["page"] for frame in frames] == pages
    alone = drawn_alone(pages, tmp_path)
    drawn = [{key: frame[key] for key in alone[0]} for frame in frames]
    assert drawn == alone
    assert all(frame["paths"] >= 9 for frame in drawn)  # streets, buildings, lights drawn


# --------------------------------------------------------------------------- ranking


def test_pareto_front_is_the_plans_no_other_beats_on_cost_and_score():
    cost = [0.0, 1.0, 2.0, 2.0, 3.0, float("nan")]
    score = [50.0, 60.0, 55.0, 60.0, 70.0, 99.0]
    # (2, 55) and (2, 60) are beaten by (1, 60); NaN cost is on no front
    assert report.pareto_front(cost, score).tolist() == [True, True, False, False, True, False]
    assert report.pareto_front([1.0, 1.0], [5.0, 5.0]).tolist() == [True, True]  # a tie


def boxes_of(ax):
    renderer = ax.figure.canvas.get_renderer()
    return [(text.get_text(), text.get_window_extent(renderer)) for text in ax.texts]


def test_labels_of_crowded_points_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 100)
    # six plans on one spot, three more within a label's height of it, one far away
    points = [(5.0, 50.0)] * 6 + [(5.1, 51.0), (4.9, 49.0), (5.0, 52.0), (9.0, 90.0)]
    labels = [f"Scenario number {k} with a long name" for k in range(len(points))]
    placed = report.place_labels(ax, points, labels)
    assert [a.get_text() for a in placed] == labels
    boxes = boxes_of(ax)
    assert len(boxes) == len(points)
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1 :]:
            assert not a.overlaps(b), (name_a, name_b)
    # deterministic: the same input gives the same places
    fig2, ax2 = plt.subplots(figsize=(6, 4), dpi=110)
    ax2.set_xlim(0, 10)
    ax2.set_ylim(0, 100)
    report.place_labels(ax2, points, labels)
    assert [b.bounds for _, b in boxes_of(ax2)] == [b.bounds for _, b in boxes]
    plt.close(fig)
    plt.close(fig2)


def test_cost_chart_draws_the_pareto_front_with_separate_labels():
    import matplotlib.pyplot as plt
    import pandas as pd

    scores = pd.DataFrame(
        {
            "scenario": ["Combined", "Plan 2030", "Safety", "Today again", "Also free"],
            "overall": [60.0, 55.0, 40.0, 30.0, 30.0],
            "cost_dkk": [90e6, 80e6, 8e6, 0.0, 0.0],
        }
    )
    fig = report.cost_chart(scores, 30.0)
    ax = fig.axes[0]
    step = [line for line in ax.lines if line.get_label().startswith("Pareto front")]
    assert len(step) == 1
    x, y = step[0].get_data()
    # the front: the free plans, Safety, Plan 2030 and Combined (no plan is beaten)
    assert sorted(set(zip(x.tolist(), y.tolist(), strict=True))) == [
        (0.0, 30.0),
        (8.0, 40.0),
        (80.0, 55.0),
        (90.0, 60.0),
    ]
    boxes = boxes_of(ax)
    assert sorted(name for name, _ in boxes) == sorted(scores["scenario"])
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1 :]:
            assert not a.overlaps(b), (name_a, name_b)
    plt.close(fig)
    # a plan another beats is drawn hollow, apart from the front
    worse = pd.concat(
        [scores, pd.DataFrame({"scenario": ["Dear"], "overall": [35.0], "cost_dkk": [50e6]})]
    )
    fig = report.cost_chart(worse, 30.0)
    labels = [c.get_label() for c in fig.axes[0].collections]
    assert any(label.startswith("Another plan is cheaper") for label in labels)
    plt.close(fig)


def cells_of(page: str, table_id: str) -> list[list[str]]:
    """The text of every cell of a table, row by row (header first), unescaped."""
    import html

    block = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert block, table_id
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", block.group(1), re.S)
    cell = r"<t[hd][^>]*>(.*?)</t[hd]>"
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(cell, r, re.S)]
        for r in rows
    ]


def test_ranking_shows_points_per_million_and_the_40pct_flag(result):
    page = report.report_html(result)
    table = cells_of(page, "ranking")
    header = table[0]
    housing = result.profile.theme_labels["mixed housing"]
    assert header[header.index(housing) + 1] == "40 % rule (§ 168 a)"
    assert header[-3:] == ["Cost (M DKK)", "Points per M DKK", "First in"]
    rows = {row[1]: dict(zip(header, row, strict=True)) for row in table[1:]}
    lit = result.scores.set_index("scenario").loc["Lit path"]
    gain = (lit["overall"] - result.baseline.overall) / (lit["cost_dkk"] / 1e6)
    assert rows["Lit path"]["Points per M DKK"] == f"{gain:,.1f}"
    assert rows["As is"]["Points per M DKK"] == "–"  # costs nothing: no ratio
    flags = result.indicators.set_index(["scenario", "indicator"])["value"]
    for name in ("Lit path", "As is"):
        value = flags[(name, "meets_40pct_rule")]
        expected = "not applicable" if value != value else ("yes" if value >= 0.5 else "no")
        assert rows[name]["40 % rule (§ 168 a)"] == expected
    # each of the three states, beside the housing score
    import copy

    flagged = copy.copy(result)
    flagged.scores = result.scores.assign(meets_40pct_rule=["yes", "n/a"])
    table = cells_of(report.report_html(flagged), "ranking")
    column = table[0].index("40 % rule (§ 168 a)")
    assert [row[column] for row in table[1:]] == ["yes", "not applicable"]
    flagged.scores = result.scores.assign(meets_40pct_rule=["no", "yes"])
    table = cells_of(report.report_html(flagged, lang="da"), "ranking")
    column = table[0].index("40 %-reglen (§ 168 a)")
    assert [row[column] for row in table[1:]] == ["nej", "ja"]
    # the flag is not a score: not applicable where the rule cannot be judged
    assert report.format_value(float("nan"), "yes=1/no=0") == "not applicable"
    assert report.format_value(float("nan"), "yes=1/no=0", "da") == "ikke relevant"
    # the Pareto front is named below the chart
    text = re.sub(r"<[^>]+>", " ", page)
    assert "On the Pareto front (no other plan is both cheaper and better):" in text


def with_changes(result, *, notes=None, warnings=None):
    """A copy of a scoring result with other notes and extra module warnings (per plan)."""
    import copy
    import dataclasses

    out = copy.copy(result)
    if notes is not None:
        out.notes = notes
    if warnings:
        results = dict(result.results)
        for name, messages in warnings.items():
            r = results[name]
            lighting = dataclasses.replace(
                r.modules["lighting"], warnings=[*r.modules["lighting"].warnings, *messages]
            )
            results[name] = dataclasses.replace(r, modules={**r.modules, "lighting": lighting})
        out.results = results
    return out


def test_scoring_notes_are_read_beside_the_ranking(result):
    note = f"Lit path includes As is: it ranks first by construction {XSS}"
    page = report.report_html(with_changes(result, notes=[note]))
    block = re.search(r'<div class="notes" id="ranking-notes">(.*?)</div>', page, re.S)
    assert block, "no notes beside the ranking"
    assert "Lit path includes As is: it ranks first by construction &lt;script&gt;" in block[1]
    assert XSS not in page
    assert page.index('id="ranking"') < page.index('id="ranking-notes"') < page.index("<figure")
    assert 'id="ranking-notes"' not in report.report_html(with_changes(result, notes=[]))


def test_module_warnings_reach_the_reader_once_each(result):
    bad = f"lamp data incomplete {XSS}"
    page = report.report_html(
        with_changes(result, warnings={"Lit path": [bad, bad], "As is": [bad, "As is only"]})
    )
    table = cells_of(page, "analysis-notes-table")
    assert table[0] == ["Analysis", "Note", "Plans"]
    rows = {row[1]: row for row in table[1:]}
    # one row per message, whatever the number of plans or repeats
    assert [row[1] for row in table[1:]].count(bad) == 1
    assert rows[bad] == ["lighting", bad, "Lit path, As is"]
    assert rows["As is only"] == ["lighting", "As is only", "As is"]
    # the small district warns in every plan (no street reaches the city centre)
    connectivity = [row for row in table[1:] if row[0] == "connectivity"]
    assert connectivity and all(row[2] == "all plans" for row in connectivity)
    for message in result.baseline.modules["connectivity"].warnings:
        assert message in [row[1] for row in connectivity]
    # shown as text: escaped in the page
    assert XSS not in page and f"lamp data incomplete {html_escape(XSS)}" in page
    assert '<a href="#analysis-notes">Notes from the analyses</a>' in page


def html_escape(text: str) -> str:
    import html

    return html.escape(text)


def test_first_place_under_each_source_of_variation(result):
    page = report.report_html(result)
    table = cells_of(page, "robustness-sources")
    assert table[0] == [
        "Scenario",
        "Goal weights",
        "Indicator weights",
        "Worst and target values",
        "All together",
    ]
    by_source = result.robustness["by_source"]
    rows = {row[0]: row[1:] for row in table[1:]}
    assert list(rows) == list(result.scores["scenario"])
    for name, cells in rows.items():
        for source, cell in zip(by_source["p_first"], cells, strict=True):
            p = by_source["p_first"][source][name]
            best, worst = by_source["rank_interval"][source][name]
            share = f"{p * 100:.0f} %" if p >= 0.1 or p == 0 else f"{p * 100:.1f} %"
            span = f"({best})" if best == worst else f"({best}–{worst})"
            assert cell == f"{share} {span}"
    # a scorer without this analysis: no table, no error
    import copy

    older = copy.copy(result)
    older.robustness = {k: v for k, v in result.robustness.items() if k != "by_source"}
    assert 'id="robustness-sources"' not in report.report_html(older)


def test_map_pages_are_embedded_as_they_are_and_cannot_break_out():
    from html.parser import HTMLParser

    page = (
        '<html><body><p title="a &amp; b">It\'s "quoted"</p>'
        "<script>var s = '</p>' + \"x\";</script>"
        "'><script>alert(1)</script></body></html>"
    )

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Tags()
    parser.feed(f"<iframe srcdoc='{report.srcdoc_attribute(page)}'></iframe><p>after</p>")
    assert [tag for tag, _ in parser.tags] == ["iframe", "p"]  # nothing escaped the attribute
    assert parser.tags[0][1]["srcdoc"] == page  # the browser gets the page as it was
    assert '"' in report.srcdoc_attribute(page)  # double quotes stay one byte


def embedded_maps(page: str) -> list[str]:
    """The map pages of a report, put together as a browser reads them: the attributes
    unescaped by Python's HTML parser, every ``mark + number + ";"`` replaced by that
    piece (the report's inline script does the same in the browser).
    """
    from html.parser import HTMLParser

    class Maps(HTMLParser):
        def __init__(self):
            super().__init__()
            self.mark, self.pieces, self.pages = None, [], []

        def handle_starttag(self, tag, attrs):
            found = dict(attrs)
            if found.get("id") == "vg-maps":
                self.mark = found["data-vg-mark"]
            if "data-vg-piece" in found:
                self.pieces.append(found["data-vg-piece"])
            if tag == "iframe" and "data-vg-page" in found:
                self.pages.append(found["data-vg-page"])

    parser = Maps()
    parser.feed(page)
    assert parser.mark is not None and len(parser.mark) == 1
    out = []
    for text in parser.pages:
        head, *rest = text.split(parser.mark)
        parts = [head]
        for part in rest:
            number, _, tail = part.partition(";")
            parts += [parser.pieces[int(number)], tail]
        out.append("".join(parts))
    return out


def without_ids(page: str) -> str:
    """A folium page with its random element names (``map_<32 hex>``...) made equal."""
    return re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_ID", page)


def test_shared_pieces_give_every_page_back():
    big_js = "var leaflet = 1; // " + "x" * report.SHARED_PIECE_MIN
    big_css = ".a { color: red; }" + " " * report.SHARED_PIECE_MIN
    features = ", ".join(
        f'{{"id": "{k}", "type": "Feature", "properties": {{"t": "a \'b\' & c"}}, '
        f'"geometry": {{"type": "Point", "coordinates": [{k}, 1]}}}}'
        for k in range(300)
    )
    streets = f'{{"type": "FeatureCollection", "features": [{features}]}}'
    other = streets.replace('"coordinates": [7, 1]', '"coordinates": [8, 1]')
    small = '{"type": "FeatureCollection", "features": []}'
    assert len(streets) >= report.SHARED_PIECE_MIN
    pages = [
        f"<style>{big_css}</style><script>{big_js}</script>"
        f"<script>var a = L.geoJson({streets}); var s = {small};</script>",
        f"<style>{big_css}</style><script >{big_js}</script>"
        f"<script>var b = L.geoJson({streets}); var c = L.geoJson({other}); var s = {small};"
        f"</script>",
        f"<script>{big_js}</script><p>only Leaflet, and the GeoJSON nobody else has</p>"
        f"<script>var d = {other[:-1]}, 1]}};</script>",
    ]
    pieces, layouts = report.share_pieces(pages)
    # the script body and the style (3 and 2 pages), and the GeoJSON of two pages; not
    # the GeoJSON only one page draws, nor the short one, nor a value that is not JSON
    assert pieces == sorted([big_css, big_js, streets], key=len, reverse=True)
    for page, layout in zip(pages, layouts, strict=True):
        assert "".join(p if isinstance(p, str) else pieces[p] for p in layout) == page
    css, js, geo = (pieces.index(text) for text in (big_css, big_js, streets))
    assert [[p for p in layout if isinstance(p, int)] for layout in layouts] == [
        [css, js, geo],
        [css, js, geo],
        [js],
    ]
    # a script holding a shared GeoJSON, itself shared, is one piece (the outer one)
    script = f"var a = {streets};"
    pieces, layouts = report.share_pieces([f"<script>{script}</script>"] * 2)
    assert pieces == [script] and layouts == [["<script>", 0, "</script>"]] * 2
    # through the report's attributes and back, as the browser reads them
    maps = report.embed_maps(pages)
    mark = maps["mark"]
    assert mark == "\ue000" and not any(mark in page for page in pages)
    html = (
        "".join(f"<iframe data-vg-page='{text}'></iframe>" for text in maps["pages"])
        + f'<div id="vg-maps" data-vg-mark="{mark}">'
        + "".join(f"<div data-vg-piece='{piece}'></div>" for piece in maps["pieces"])
        + "</div>"
    )
    assert embedded_maps(html) == pages
    # a page holding the first private-use character: the mark is the next one
    marked = [page + "\ue000" for page in pages]
    assert report.embed_maps(marked)["mark"] == "\ue001"


def test_report_carries_what_its_maps_share_once(result):
    page = report.report_html(result)
    pages = embedded_maps(page)
    assert len(pages) == 7 and page.count("<iframe") == 7
    # the pages as the maps module draws them (names aside: folium draws random ones)
    leader = str(result.scores.iloc[0]["scenario"])
    changes = maps.page_html("changes", result.baseline, result.results[leader])
    assert without_ids(pages[-1]) == without_ids(changes)
    for text in pages:
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # Leaflet once, not once a map
    leaflet = "Leaflet 1.9.4, a JS library for interactive maps"
    assert sum(leaflet in text for text in pages) == 7
    assert page.count(leaflet) == 1
    # the whole report: little more than its pages' distinct large texts, far less than
    # the seven pages whole
    assert len(page) < 0.6 * sum(len(text) for text in pages)
    # double quotes (GeoJSON) stay one byte: no &#34; or \" escaping
    assert "&#34;" not in page and '\\"type\\"' not in page


@pytest.mark.slow
@pytest.mark.browser
def test_example_report_is_small_and_draws_its_maps_as_before(tmp_path):
    """The report of the example (scenarios/ on Vollsmose, about 20 s): 7.2 MB with each
    map page whole (Leaflet and the shared layers seven times), 3.2 MB with the shared
    pieces once.  The bound, 3.6 MB, is the measured size with room for the district's
    data to grow a little; the pages put back together are all of the 7 MB.
    """
    from pathlib import Path

    from vollsmose_gis.job import run_job
    from vollsmose_gis.scenario import load_scenarios

    scenarios = load_scenarios(Path(__file__).parents[1] / "scenarios")
    run_job(scenarios, tmp_path / "out", maps=False)
    path = tmp_path / "out" / "report.html"
    text = path.read_text(encoding="utf-8")
    size = path.stat().st_size
    pages = embedded_maps(text)
    assert len(pages) == 7
    whole = sum(len(page.encode("utf-8")) for page in pages)
    assert whole > 6_500_000  # what the report held before, less its ~0.2 MB of text
    assert size < 3_600_000
    assert size < 0.55 * whole
    with browser(1280, 2400) as chrome:
        shown = chrome.open(path, settle_s=3.0, script=FRAMES_JS)
    assert shown.errors == [] and shown.network_requests == []
    frames = shown.info["frames"]
    assert [frame["page"] for frame in frames] == pages
    alone = drawn_alone(pages, tmp_path)
    assert [{key: frame[key] for key in alone[0]} for frame in frames] == alone
    assert sum(frame["images"] for frame in alone) > 0  # rasters (lux) drawn too
    assert all(frame["paths"] > 1000 for frame in alone)


def test_map_pages_with_any_name_are_embedded_as_they_are(result):
    import copy
    from html.parser import HTMLParser

    # a name that would end a script, an attribute (either quote), open a comment
    evil = f"Lit path '</script>{XSS}<!-- & \""
    renamed = copy.copy(result)
    renamed.results = {
        (evil if name == "Lit path" else name): r for name, r in result.results.items()
    }
    renamed.scores = result.scores.replace({"scenario": {"Lit path": evil}})
    page = report.report_html(renamed)
    assert XSS not in page

    class Scripts(HTMLParser):
        def __init__(self):
            super().__init__()
            self.scripts, self.titles = [], []

        def handle_starttag(self, tag, attrs):
            if tag == "script":
                self.scripts.append(dict(attrs).get("type"))
            if tag == "iframe":
                self.titles.append(dict(attrs)["title"])

    parser = Scripts()
    parser.feed(page)
    # the maps' script, its call after each map, the live weights' data and script
    assert parser.scripts == [None] + [None] * 7 + ["application/json", None]
    pages = embedded_maps(page)
    assert len(pages) == 7
    # the name is the title of its maps' frames, as text
    assert any(title.endswith(f": {evil}") for title in parser.titles), parser.titles
    assert all(text.startswith("<!DOCTYPE html>") for text in pages)


# --------------------------------------------------------------------------- live weights


@pytest.fixture(scope="module")
def three(result):
    """The two plans of ``result`` and one that trades safety for mixed housing.

    The modules of the first two are cached by content, so this scores in about a second.
    """
    owner = Scenario.from_dict(
        {
            "name": "Owner flats",
            "interventions": [
                {"type": "convert_tenure", "buildings": {"ids": ["b1"]}, "to": "owner_occupied"}
            ],
        }
    )
    plans = [r.scenario for r in result.results.values()] + [owner]
    return score_scenarios(plans, district=result.baseline.district, modules=MODULES)


SET_WEIGHTS_JS = """
var weights = arguments[0];
weights.forEach(function (w, k) {
    var input = document.getElementById('weight-' + (k + 1));
    input.value = String(w);
    input.dispatchEvent(new Event('input'));
});
if (arguments[1]) { document.getElementById('weights-reset').click(); }
return {
    rows: Array.from(document.querySelectorAll('#ranking tbody tr')).map(function (tr) {
        return Array.from(tr.cells).map(function (td) { return td.textContent; }); }),
    lead: document.querySelector('#ranking tbody tr.lead td:nth-child(2)').textContent,
    status: document.getElementById('weights-status').hidden
        ? null : document.getElementById('weights-status').textContent,
    controls: document.getElementById('live-weights').offsetHeight,
    markers: Array.from(document.querySelectorAll('#live-chart circle')).map(function (c) {
        return {plan: c.getAttribute('data-plan'), front: c.getAttribute('class') === 'front',
                cy: parseFloat(c.getAttribute('cy')), label: c.textContent}; })
};
"""


@pytest.mark.browser
def test_live_weights_rerank_as_the_scorer_does(three, tmp_path):
    themes = list(three.profile.themes)
    assert themes == [
        "connected district",
        "mixed housing",
        "mixed use and jobs",
        "safety and security",
    ]
    # the plans' order in the scorer's ranking at the profile's weights (0.25 each)
    assert list(three.scores["scenario"]) == ["Owner flats", "Lit path", "As is"]
    settings = [
        [1.0, 3.0, 1.0, 0.5],  # housing weighs most: the same order, other numbers
        [1.0, 0.0, 1.0, 2.0],  # housing zeroed: Lit path first; As is ties Owner flats
        [0.0, 0.0, 0.0, 1.0],  # only safety
    ]
    expected = []
    for weights in settings:
        profile = three.profile.with_theme_weights(dict(zip(themes, weights, strict=True)))
        scored = score_scenarios(
            [r.scenario for r in three.results.values()],
            district=three.baseline.district,
            profile=profile,
            modules=MODULES,
        )
        expected.append(scored)
    # the weight settings do what they say: the order changes, a tie is broken by the
    # scorer's order (As is before Owner flats: both 15.2 without housing)
    assert list(expected[1].scores["scenario"]) == ["Lit path", "As is", "Owner flats"]
    tied = expected[1].scores.set_index("scenario")["overall"]
    assert tied["As is"] == tied["Owner flats"]
    path = report.write_report(three, tmp_path / "report.html")
    page_text = path.read_text(encoding="utf-8")
    data = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page_text, re.S
    )
    assert data and "<" not in data[1]
    with browser(1280, 1600) as chrome:
        page = chrome.open(path, settle_s=0.5)
        assert page.errors == [] and page.network_requests == []
        driver = chrome.driver
        server = cells_of(page_text, "ranking")[1:]
        at_profile = driver.execute_script(SET_WEIGHTS_JS, [0.25] * 4, False)
        assert at_profile["rows"] == server  # the script draws the table the server drew
        assert at_profile["status"] is None and at_profile["controls"] > 0
        for weights, scored in zip(settings, expected, strict=True):
            shown = driver.execute_script(SET_WEIGHTS_JS, weights, False)
            rows = shown["rows"]
            assert [row[1] for row in rows] == list(scored.scores["scenario"])
            for row, want in zip(rows, scored.scores.to_dict("records"), strict=True):
                assert row[0] == str(want["rank"])
                assert row[2] == f"{want['overall']:.1f}"
                per_m = want["delta_per_mdkk"]
                assert row[-2] == (f"{per_m:,.1f}" if per_m == per_m else "–")
            assert shown["lead"] == scored.scores["scenario"].iloc[0]
            # the cost-score chart at these weights: the scorer's Pareto front filled, each
            # plan at its overall score (y 250 px = 0, 30 px = 100), labelled with its rank
            markers = {m["plan"]: m for m in shown["markers"]}
            assert sorted(markers) == sorted(scored.scores["scenario"])
            for want in scored.scores.to_dict("records"):
                marker = markers[want["scenario"]]
                assert marker["front"] == bool(want["pareto"]), want["scenario"]
                assert marker["cy"] == pytest.approx(250 - want["overall"] / 100 * 220)
                assert marker["label"].startswith(f"{want['rank']}. {want['scenario']}: ")
            assert shown["status"].startswith("Ranked at weights other than the profile's:")
        # all weights zero: refused as the library refuses it, the table stays as it was
        zero = driver.execute_script(SET_WEIGHTS_JS, [0, 0, 0, 0], False)
        assert zero["rows"] == rows
        assert "sum to zero" in driver.find_element("id", "weights-zero").text
        back = driver.execute_script(SET_WEIGHTS_JS, [], True)
        assert back["rows"] == server and back["status"] is None
        assert driver.get_log("browser") == []


# --------------------------------------------------------------------------- safety


@pytest.fixture(scope="module")
def evidence(result):
    """The plans of ``result`` on the small district with incidents and two marks.

    Four incidents (one in 2023, three in 2024 — one row stands for two); the district's
    40 dwellings at 2.3 residents each make 92 residents.  Mark m1 lies by the new path
    of "Lit path", m2 by the footway p1 that the plan lights.
    """
    from shapely.geometry import Point

    from tests.factories import frame

    dated = [("2023-03-01", 1), ("2024-05-01", 2), ("2024-07-01", 1)]
    incidents = frame(
        [
            {"incident_id": f"i{k}", "date": date, "kind": "vandalism", "weight": 1.0,
             "count": count, "geometry": Point(X0 + 50 + k, Y0 + 100)}
            for k, (date, count) in enumerate(dated)
        ]
    )  # fmt: skip
    marks = frame(
        [
            {"mark_id": "m1", "reason": "dark", "date": "2024-10-01", "note": None,
             "geometry": Point(X0 + 100, Y0 + 158)},
            {"mark_id": "m2", "reason": "hidden_corners", "date": "2024-10-01", "note": None,
             "geometry": Point(X0 + 100, Y0 + 102)},
        ]
    )  # fmt: skip
    district = result.baseline.district.replace(incidents=incidents, safety_walk=marks)
    plans = [r.scenario for r in result.results.values()]
    return score_scenarios(plans, district=district, modules=MODULES)


def test_safety_section_from_the_evidence(evidence, result):
    from vollsmose_gis import analysis
    from vollsmose_gis.safety.audit import raster_at

    page = report.report_html(evidence)
    assert '<a href="#safety">Safety</a>' in page
    assert 'id="safety-illustrative"' not in page  # real (test) evidence: no label
    # incidents by year per 1,000 residents: 1 and 3 incidents over 92 residents
    assert cells_of(page, "safety-years") == [
        ["Year", "Incidents", "Per 1,000 residents"],
        ["2023", "1", "10.87"],
        ["2024", "3", "32.61"],
    ]
    indicators = {row[0]: row[1] for row in cells_of(page, "safety-indicators")[1:]}
    label = "Incidents per 1,000 residents in the latest year with dated incidents (2024)"
    assert indicators[label] == "32.61 per 1,000 residents"
    danish = cells_of(report.report_html(evidence, lang="da"), "safety-indicators")
    assert [
        "Hændelser pr. 1.000 indbyggere i det seneste år med daterede hændelser",
        "32,61 pr. 1.000 indbyggere",
    ] in [row[:2] for row in danish]
    # today no lamp lights the marks, no camera sees them, the street at m2 has V85 50 km/h
    audit = cells_of(page, "safety-audit")
    assert audit[0] == [
        "Mark", "Reason", "Light", "Cameras (DORI)", "Overlooked by day",
        "Overlooked at night", "Traffic speed (V85)",
    ]  # fmt: skip
    assert audit[1] == ["m1", "Dark, poorly lit", "0.0 lx", "not seen", "no", "no", "–"]
    assert audit[2][:4] == ["m2", "Hidden corners, no view ahead", "0.0 lx", "not seen"]
    danish_audit = cells_of(report.report_html(evidence, lang="da"), "safety-audit")
    assert danish_audit[1][:4] == ["m1", "Mørkt, dårligt oplyst", "0,0 lx", "ikke set"]
    base = evidence.baseline.modules["calming"].layers["calming_speeds"]
    assert audit[2][-1] == f"{base.set_index('street_id')['v85_max_kmh']['s1']:.0f} km/h"
    # per plan: the lit path lights both marks (2 of 2 changed, both lit to class); As is
    # changes nothing
    plans = {row[0]: row[1:] for row in cells_of(page, "safety-plans")[1:]}
    assert list(plans) == ["Today (baseline)", "Lit path", "As is"]
    assert plans["Today (baseline)"][:3] == ["–", "0 %", "0 %"]
    assert plans["Lit path"][:2] == ["2 / 2", "100 %"]
    assert plans["As is"][:2] == ["0 / 2", "0 %"]
    lit = analysis.run("lighting", evidence.results["Lit path"].district)
    lux = raster_at(
        lit.rasters["illuminance"], np.array([[X0 + 100, Y0 + 158], [X0 + 100, Y0 + 102]])
    )
    assert lux.min() > 0.5
    assert "Lit path: changes at 2 of 2 marks" in page
    changes = re.search(r'<table class="safety-changes">(.*?)</table>', page, re.S)[1]
    rows = cells_of(f'<table id="x">{changes}</table>', "x")
    assert [row[2] for row in rows[1:]] == [f"0.0 lx → {v:.1f} lx" for v in lux]
    assert "As is: changes at" not in page
    # the plan's paths overlooked at night: as the whole safety analysis finds them on
    # the plan (the report computes only the surveillance part of it)
    full = analysis.run("safety", evidence.results["Lit path"].district)
    night = full.indicators["safety_path_overlooked_night_share"].value
    assert plans["Lit path"][3] == report.format_value(night, "share")
    assert 0 < night < 1
    # no evidence in the district: no section
    assert 'id="safety"' not in report.report_html(result)


def test_safety_section_of_the_default_district_is_labelled_illustrative():
    from vollsmose_gis.sources.vollsmose import default_district

    district = default_district()
    assert len(district.incidents) and len(district.safety_walk)
    scored = score_scenarios([Scenario(name="As is")], district=district, modules=["lighting"])
    for lang, heading, label in (
        ("en", "Safety", "ILLUSTRATIVE — generated evidence, not real incident data"),
        ("da", "Tryghed", "ILLUSTRATIVE data — genererede, ikke virkelige hændelser"),
    ):
        page = report.report_html(scored, lang=lang)
        section = re.search(r'<section id="safety">(.*?)</section>', page, re.S)
        assert section, lang
        assert f"<h2>{heading}</h2>" in section[1]
        warning = re.search(r'<p class="warning" id="safety-illustrative">([^<]*)</p>', section[1])
        assert warning and label in warning[1], lang
        assert 'id="safety-audit"' in section[1] and 'id="safety-years"' in section[1]


def test_live_weights_data_cannot_end_its_script(result):
    import copy
    import json

    renamed = copy.copy(result)
    evil = f"Lit path </script>{XSS}<!--"
    renamed.results = {
        (evil if name == "Lit path" else name): r for name, r in result.results.items()
    }
    renamed.scores = result.scores.replace({"scenario": {"Lit path": evil}})
    page = report.report_html(renamed)
    block = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert block and "<" not in block[1] and ">" not in block[1] and "&" not in block[1]
    data = json.loads(block[1])
    assert [plan["name"] for plan in data["plans"]] == [evil, "As is"]
    assert data["weights"] == [0.25] * 4
    assert XSS not in page


@pytest.mark.browser
def test_live_weights_leave_out_goals_that_were_not_measured(three, tmp_path):
    """A goal not measured for a plan is left out of its overall score (the other weights
    count in full), a plan with no measured goal ranks last with no score — as
    :func:`vollsmose_gis.scoring._overall` and the scorer's stable sort do.
    """
    import dataclasses
    import math

    from vollsmose_gis.scoring import _overall

    results = dict(three.results)
    owner = results["Owner flats"]
    results["Owner flats"] = dataclasses.replace(
        owner, theme_scores={**owner.theme_scores, "safety and security": math.nan}
    )
    results["As is"] = dataclasses.replace(
        results["As is"], theme_scores=dict.fromkeys(three.profile.themes, math.nan)
    )
    gap = dataclasses.replace(three, results=results)
    path = report.write_report(gap, tmp_path / "report.html")
    themes = list(three.profile.themes)
    with browser(1280, 1600) as chrome:
        chrome.open(path, settle_s=0.3)
        for weights in ([0.25] * 4, [1.0, 0.5, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0]):
            shown = chrome.driver.execute_script(SET_WEIGHTS_JS, weights, False)["rows"]
            w = dict(zip(themes, weights, strict=True))
            overall = {name: _overall(r.theme_scores, w) for name, r in results.items()}
            order = sorted(
                results, key=lambda n: -overall[n] if math.isfinite(overall[n]) else math.inf
            )  # stable: ties and NaN keep the scorer's order
            assert [row[1] for row in shown] == order
            for row in shown:
                value = overall[row[1]]
                assert row[2] == (f"{value:.1f}" if math.isfinite(value) else "–")
        # only safety weighted: Owner flats has no safety score, so nothing is left; the
        # two plans without a score come last, in the scorer's order
        assert [row[:3] for row in shown] == [
            ["1", "Lit path", f"{overall['Lit path']:.1f}"],
            ["2", "As is", "–"],
            ["3", "Owner flats", "–"],
        ]
