"""One language (issue 22 §3): the Danish report in Danish, the English one in English.

The change log, the scorer's notes, indicator labels, units, descriptions and money
come out in the report's language; a sentence never ends with two full stops.  The
stop lists below are the English phrases found in the Danish report of the main job
before this was fixed (``vollsmose-gis score scenarios/ --lang da``), and Danish words
for the English report.  What may stay in the other language is named: scenario and
place names (proper names), ids, the district's provenance (the source's own words,
quoted) and the analyses' technical notes, which the page marks ``lang="en"``.
"""

from __future__ import annotations

import dataclasses
import html
import re
import textwrap
import types
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import box

from tests.browser import browser
from tests.factories import X0, Y0, small_district
from tests.test_report import result  # noqa: F401  (the scored fixture, reused)
from vollsmose_gis import report
from vollsmose_gis.i18n import Message, indicator_label, t
from vollsmose_gis.indicators import label_of
from vollsmose_gis.scenario import Scenario, ScenarioError, apply_scenario, load_scenario
from vollsmose_gis.scoring import scoring_notes

# English phrases of the Danish report before the fix (change log, notes, labels, units)
ENGLISH = [
    "added",
    "removed",
    "street",
    "streets",
    "segment",
    "device",
    "schematic model",
    "scenario",
    "dwelling",
    "dwellings",
    "cameras",
    "camera",
    "lights",
    "lamps",
    "Notes",
    "today",
    "built",
    "demolished",
    "includes",
    "construction",
    "per km",
    "ratio",
    "share",
    "length",
    "path",
    "paths",
    "Cost",
    "Year",
    "lit",
]
# Danish words that must not leak into the English report
DANISH = [
    "og",
    "med",
    "af",
    "til",
    "boliger",
    "vejstykke",
    "opsat",
    "nedrevet",
    "etableret",
    "fartdæmper",
    "kameraer",
    "lamper",
    "omfatter",
    "Bemærkninger",
    "I dag",
    "km/t",
    "pr.",
    "mio. kr.",
    "Pris",
    "skematisk",
]
DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)|\.\s\.|kr\.\.")


# --------------------------------------------------------------------------- change log


def run(tmp_path: Path, interventions: str):
    path = tmp_path / "plan.yaml"
    path.write_text(
        "name: Plan\ninterventions:\n" + textwrap.dedent(interventions), encoding="utf-8"
    )
    return apply_scenario(small_district(), load_scenario(path))


def test_change_log_in_english_and_danish(tmp_path):
    _, log = run(
        tmp_path,
        f"""\
      - type: remove_street
        streets: {{ids: [p1]}}
      - type: add_street
        geometry: LINESTRING ({X0 + 100} {Y0 + 100}, {X0 + 100} {Y0 + 200})
        highway: footway
      - type: set_speed_limit
        streets: {{ids: [s1]}}
        maxspeed_kmh: 30
        lanes: 1
      - type: build
        geometry: {box(X0 + 20, Y0 + 150, X0 + 80, Y0 + 170).wkt}
        building_id: new-1
        floors: 4
        dwellings: 30
        tenure: owner_occupied
        commercial_m2: 300
        jobs: 5
      - type: convert_tenure
        buildings: {{ids: [new-1]}}
        to: private_rental
      - type: demolish
        buildings: {{ids: [b1]}}
      - type: change_landuse
        landuse: {{ids: [l1]}}
        use: square
      - type: change_landuse
        geometry: POLYGON (({X0} {Y0}, {X0 + 10} {Y0}, {X0 + 10} {Y0 + 10}, {X0} {Y0}))
        use: retail
      - type: add_lights
        streets: {{ids: [s1]}}
        spacing_m: 40
        lumens: 2500
        height_m: 4
      - type: add_cameras
        geometry: MULTIPOINT (({X0 + 5} {Y0 + 5}), ({X0 + 195} {Y0 + 5}))
        heading_deg: [45, 315]
      - type: add_calming
        geometry: POINT ({X0 + 60} {Y0 + 103})
        kind: table
      - type: add_poi
        geometry: POINT ({X0 + 150} {Y0 + 150})
        kind: daycare
      - type: extend_rule_area
        geometry: {box(X0 + 200, Y0, X0 + 250, Y0 + 100).wkt}
        reason:
          en: the site joins the estate
          da: grunden indgår i boligområdet
    """,
    )
    thin = "\u2009"  # Danish thousands separator (i18n.number)
    # p1 and the new footway are 100 m; s1 (200 m) gets lamps at 20, 60, …, 180 m;
    # the triangle is 10 x 10 / 2 = 50 m²; the rule area grows by 50 x 100 = 5,000 m²
    assert log.summaries("en") == [
        "removed 1 street segment, 100 m",
        "added 1 footpath segment, 100 m",
        "1 street segment set to 30 km/h, 1 lane",
        "built 1 building: 30 dwellings (owner-occupied), 300 m² commercial, 5 jobs",
        "30 dwellings in 1 building converted to private rental",
        "demolished 1 building with 40 dwellings (40 social family)",
        "1 area changed to square",
        "1 new area for shops and services, 50 m²",
        "added 5 lamps (2,500 lm at 4 m)",
        "added 2 cameras",
        "added 1 calming device",
        "added 1 place of the kind “day care”",
        "rule area extended by 5,000 m² (the site joins the estate)",
    ]
    assert log.summaries("da") == [
        "1 vejstykke fjernet, 100 m",
        "1 nyt stykke gangsti, 100 m",
        "1 vejstykke sat til 30 km/t og 1 spor",
        "1 bygning opført: 30 boliger (ejerbolig), 300 m² erhverv, 5 arbejdspladser",
        "30 boliger i 1 bygning: ejerform ændret til privat udlejning",
        "1 bygning med 40 boliger nedrevet (heraf 40 almene familieboliger)",
        "1 areal ændret til torv",
        "1 nyt areal til butikker og service, 50 m²",
        f"5 lamper opsat (2{thin}500 lm i 4 m højde)",
        "2 kameraer opsat",
        "1 fartdæmper etableret",
        "1 nyt sted af typen “daginstitution”",
        f"regelområdet udvidet med 5{thin}000 m² (grunden indgår i boligområdet)",
    ]
    # the English summaries stay the table's (CLI, changes.csv)
    assert list(log.to_frame()["summary"]) == log.summaries("en")


@pytest.mark.parametrize(
    ("message", "lang", "expected"),
    [
        # plural by the count, numbers by the language: 1 is singular, 0 and 1,027 plural
        (
            Message("change.demolished", {"n": 16, "dwellings": 1027, "social": 1}),
            "da",
            "16 bygninger med 1\u2009027 boliger nedrevet (heraf 1 almen familiebolig)",
        ),
        (
            Message("change.demolished", {"n": 1, "dwellings": 0, "social": 0}),
            "en",
            "demolished 1 building with 0 dwellings (0 social family)",
        ),
        (
            Message("change.calming_planned", {"n": 27, "kmh": 30.0}),
            "da",
            "27 fartdæmpere etableret (placeret af planlæggeren, mål 30 km/t)",
        ),
        (
            Message("change.lights_added", {"n": 170, "lumens": 3000.0, "height": 4.5}),
            "da",
            "170 lamper opsat (3\u2009000 lm i 4,5 m højde)",
        ),
        (
            Message("change.streets_added", {"n": 2, "m": 1250.4, "highway": "living_street"}),
            "en",
            "added 2 living_street segments, 1,250 m",
        ),
        (
            Message(
                "change.streets_added",
                {"n": 2, "m": 1250.4, "highway": "living_street"},
                {"highway": "highway"},
            ),
            "da",
            "2 nye stykker opholds- og legeområde, 1\u2009250 m",
        ),
        # a list of names is joined in the language
        (
            Message("note.includes", {"name": "Alle", "included": ["A", "B", "C"]}),
            "da",
            "Alle omfatter A, B og C: planen samler deres tiltag og scorer derfor pr. "
            "konstruktion mindst lige så godt; sammenlign den på prisen.",
        ),
        (
            Message("note.includes", {"name": "Both", "included": ["A", "B"]}),
            "en",
            "Both includes A and B: it combines their interventions, so it scores at least "
            "as well by construction; compare it on cost.",
        ),
    ],
)
def test_messages_count_and_format_for_the_language(message, lang, expected):
    assert message.text(lang) == expected


def test_a_sentence_ends_with_one_full_stop():
    # the value's own stop ends the sentence: "… kr." + "." is "… kr."
    assert t("report.scenario.cost", "da", cost="8,0 mio. kr.") == "Pris: 8,0 mio. kr."
    assert t("report.scenario.cost", "en", cost="8.0 M DKK") == "Cost: 8.0 M DKK."
    # the money of the report, whole sentences
    assert t("report.scenario.cost", "da", cost=report._money(8e6, "da")) == "Pris: 8,0 mio. kr."
    assert t("report.scenario.cost", "da", cost=report._money(0.0, "da")) == "Pris: 0 kr."


@pytest.mark.parametrize(
    ("value", "unit", "lang", "expected"),
    [
        (63.84, "per km2", "da", "63,84 pr. km²"),
        (63.84, "per km2", "en", "63.84 per km²"),
        (1.37, "ratio", "da", "1,37"),
        (37.79, "km/h", "da", "37,79 km/t"),
        (64342.0, "kWh/year", "da", "64\u2009342 kWh/år"),
        (0.13, "jobs per dwelling", "da", "0,13 job pr. bolig"),
        (3.24, "effective number of tenures", "da", "3,24 effektivt antal ejerformer"),
        (12.5, "per 1,000 residents", "da", "12,50 pr. 1.000 indbyggere"),
        (1.0, "cameras", "da", "1 kamera"),
        (10.0, "cameras", "da", "10 kameraer"),
        (10.0, "cameras", "en", "10 cameras"),
    ],
)
def test_units_in_the_language(value, unit, lang, expected):
    assert report.format_value(value, unit, lang) == expected


def test_indicator_labels_from_the_catalogue():
    # the catalogue's Danish label; a run parameter (the target speed) carried over
    assert (
        indicator_label(
            "share_length_within_target", "Street length with modelled V85 ≤ 40 km/h", "da"
        )
        == "Vejlængde med modelleret V85 ≤ 40 km/t"
    )
    assert (
        indicator_label(
            "meets_40pct_rule", "Meets the § 168 a rule (social family dwellings ≤ 35%)", "da"
        )
        == "Opfylder § 168 a (almene familieboliger ≤ 35 %)"
    )
    # a module's own wording is not replaced by a label that would say something else
    plain = "Social family dwellings, share of all dwellings (plain count; § 168 a does not apply)"
    assert indicator_label("almen_family_share", plain, "da") == plain
    assert indicator_label("meets_40pct_rule", "anything", "en") == "anything"


def test_scoring_notes_in_english_and_danish():
    lamp = {"type": "add_cameras", "geometry": f"POINT ({X0 + 5} {Y0 + 5})"}
    poi = {"type": "add_poi", "geometry": f"POINT ({X0 + 9} {Y0 + 9})", "kind": "shop"}
    plans = {
        "Both": Scenario.from_dict({"name": "Both", "interventions": [lamp, poi]}),
        "Camera": Scenario.from_dict({"name": "Camera", "interventions": [lamp]}),
        "Shop": Scenario.from_dict({"name": "Shop", "interventions": [poi]}),
    }
    results = {name: types.SimpleNamespace(scenario=s) for name, s in plans.items()}
    scores = pd.DataFrame(
        {"scenario": list(plans), "mixed housing": [50.0, float("nan"), float("nan")]}
    )
    notes = scoring_notes(scores, results)
    assert [n.text("en") for n in notes] == [
        "Both includes Camera and Shop: it combines their interventions, so it scores at "
        "least as well by construction; compare it on cost.",
        "The goal “mixed housing and residents” could not be measured for Camera and Shop "
        "(its indicators are NaN: data missing or rules not applicable); the overall score "
        "there rests on the other goals.",
    ]
    assert [n.text("da") for n in notes] == [
        "Both omfatter Camera og Shop: planen samler deres tiltag og scorer derfor pr. "
        "konstruktion mindst lige så godt; sammenlign den på prisen.",
        "Målet “blandede boliger og beboere” kunne ikke måles for Camera og Shop "
        "(indikatorerne mangler værdier: data mangler, eller reglerne gælder ikke); den "
        "samlede score bygger dér på de øvrige mål.",
    ]


# --------------------------------------------------------------------------- descriptions


def scenario_file(tmp_path: Path, description: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"name: Plan\n{description}interventions: []\n", encoding="utf-8")
    return path


def test_description_per_language(tmp_path):
    both = load_scenario(
        scenario_file(tmp_path, "description:\n  en: New streets.\n  da: Nye veje.\n")
    )
    assert both.description_in("da") == "Nye veje."
    assert both.description_in("en") == "New streets."
    only_danish = load_scenario(scenario_file(tmp_path, "description: {da: Nye veje.}\n"))
    assert only_danish.description_in("en") == "Nye veje."  # the other language, no error
    plain = load_scenario(scenario_file(tmp_path, "description: New streets.\n"))
    assert plain.description_in("da") == plain.description_in("en") == "New streets."


def test_unknown_language_of_a_description_names_the_file(tmp_path):
    path = scenario_file(tmp_path, "description:\n  en: New streets.\n  de: Neue Straßen.\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert "description (line 3)" in message
    assert "languages must be among ['en', 'da'], got ['de', 'en']" in message


def test_the_example_scenarios_carry_danish_descriptions():
    folder = Path(__file__).resolve().parents[1] / "scenarios"
    for path in sorted(folder.glob("*.yaml")):
        scenario = load_scenario(path)
        danish, english = scenario.description_in("da"), scenario.description_in("en")
        assert danish and english and danish != english, path.name


# --------------------------------------------------------------------------- the report


class _VisibleText(HTMLParser):
    """Text a reader sees: no scripts or styles, nor passages marked in another language."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []
        self.frames: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        other = values.get("lang") not in (None, self.lang) and tag != "html"
        hidden = tag in ("script", "style") or other
        if tag not in ("meta", "link", "br", "img", "input", "hr"):
            self.stack.append((tag, hidden))
        if "srcdoc" in values:
            self.frames.append(values["srcdoc"] or "")
        if values.get("title") and not self.hidden:
            self.parts.append(values["title"])

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    @property
    def hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(page: str, lang: str) -> tuple[str, list[str]]:
    from tests.test_report import embedded_maps

    parser = _VisibleText(lang)
    parser.feed(page)
    # the map frames' pages, put together from the pieces they share (as the browser does)
    return "\n".join(parser.parts), parser.frames + embedded_maps(page)


def leaks(text: str, words: list[str], allowed: list[str]) -> list[str]:
    """The words of ``words`` found in ``text`` once the allowed phrases are blanked."""
    for phrase in sorted(allowed, key=len, reverse=True):
        text = text.replace(phrase, " ")
    return [
        w
        for w in words
        if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, flags=re.IGNORECASE)
    ]


def in_both_languages(result):  # noqa: F811
    """The scored fixture with descriptions in both languages (as the example files) and
    a note beside the ranking."""
    descriptions = {
        "Lit path": {"en": "A new lit path.", "da": "En ny, oplyst sti."},
        "As is": {"en": "No change.", "da": "Ingen ændring."},
    }
    # a note beside the ranking, as the scorer writes it (scoring.scoring_notes)
    note = Message("note.includes", {"name": "Lit path", "included": ["As is"]})
    out = dataclasses.replace(
        result, results=dict(result.results), notes=[note.text("en")], messages=[note]
    )
    for name, text in descriptions.items():
        r = out.results[name]
        out.results[name] = dataclasses.replace(
            r, scenario=dataclasses.replace(r.scenario, description=text)
        )
    return out


def proper_names(result) -> list[str]:  # noqa: F811
    """What may stay as it is in either language: names, ids, the quoted provenance."""
    prov = result.baseline.district.provenance
    names = [*result.results, result.baseline.district.name, "New path", "Testby"]
    quoted = [prov.source, prov.licence, str(prov.date), prov.attribution or "", prov.notes]
    return [n for n in [*names, *quoted] if n]


def test_danish_report_is_in_danish(result):  # noqa: F811
    scored = in_both_languages(result)
    page = report.report_html(scored, lang="da")
    text, frames = visible_text(page, "da")
    assert leaks(text, ENGLISH, proper_names(scored)) == []
    assert not DOUBLE_STOP.search(text), DOUBLE_STOP.search(text)
    # what the fixture changed, in Danish, and its description, in Danish
    lit = scored.results["Lit path"]
    for line in lit.change_log.summaries("da"):
        assert html.escape(line, quote=False) in page
    assert "1 nyt stykke gangsti, 160 m" in text
    assert "En ny, oplyst sti." in text and "A new lit path." not in text
    # the note beside the ranking (Lit path includes As is, by construction)
    assert "Lit path omfatter As is: planen samler deres tiltag" in text
    # indicator labels from the catalogue, with Danish units
    assert label_of("lit_path_share", "da") in text
    assert label_of("lit_path_share", "en") not in text
    # the analyses' notes are marked as English technical notes, and said so in Danish
    assert 'lang="en"' in page
    assert t("report.warnings.h", "da") in text
    assert len(frames) == page.count("<iframe")


def test_english_report_is_in_english(result):  # noqa: F811
    scored = in_both_languages(result)
    page = report.report_html(scored, lang="en")
    text, _ = visible_text(page, "en")
    assert leaks(text, DANISH, proper_names(scored)) == []
    assert not DOUBLE_STOP.search(text), DOUBLE_STOP.search(text)
    assert "added 1 footpath segment, 160 m" in text
    assert "A new lit path." in text and "En ny, oplyst sti." not in text
    assert "Lit path includes As is: it combines their interventions" in text


MAP_TEXT_JS = """
var out = [];
document.querySelectorAll('iframe').forEach(function (frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.body) { out.push('!no access'); return; }
    out.push(doc.body.innerText);
    doc.querySelectorAll('.leaflet-control-layers label').forEach(function (el) {
        out.push(el.textContent);
    });
});
return {texts: out};
"""


def test_danish_maps_are_in_danish(result, tmp_path):  # noqa: F811
    scored = in_both_languages(result)
    path = report.write_report(scored, tmp_path / "report.html", lang="da")
    with browser() as chrome:
        shown = chrome.open(path, settle_s=1.5, script=MAP_TEXT_JS)
    texts = shown.info["texts"]
    assert texts and "!no access" not in texts
    text = "\n".join(texts)
    assert "Områdets afgrænsning" in text  # a layer name of every map, in Danish
    assert leaks(text, ENGLISH, proper_names(scored)) == []
