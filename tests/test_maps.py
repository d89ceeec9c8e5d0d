"""Maps: georeferencing of raster overlays, offline pages, escaping, and what a browser shows."""

from __future__ import annotations

import json
import re

import folium
import numpy as np
import pytest
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point

from tests.browser import MAP_STATE_JS, browser, png_colours
from tests.factories import CRS, X0, Y0, frame, small_district
from vollsmose_gis import InputError, analysis, i18n, maps
from vollsmose_gis.io import Raster
from vollsmose_gis.maps import changes, render, style, themes
from vollsmose_gis.scenario import Scenario, apply_scenario

XSS = "<script>alert(1)</script>"
EXTERNAL = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="https?://')

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def district():
    return small_district()


@pytest.fixture(scope="module")
def changed(district):
    """The small district after a scenario: a new lit path, a camera, a demolition."""
    scenario = Scenario.from_dict(
        {
            "name": "Light and watch",
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
                    "streets": {"ids": ["new-path"]},
                    "spacing_m": 25,
                    "lumens": 3000,
                    "height_m": 4.5,
                },
                {
                    "type": "add_cameras",
                    "geometry": f"POINT ({X0 + 100} {Y0 + 150})",
                    "heading_deg": [90],
                    "height_m": 5,
                },
                {"type": "demolish", "buildings": {"ids": ["b2"]}},
            ],
        }
    )
    after, _ = apply_scenario(district, scenario)
    return after.replace(name="Light and watch")


def attribution(page: str) -> str:
    """The credit line the page adds to the map (decoded from its JSON string)."""
    match = re.search(r'addAttribution\(("(?:[^"\\]|\\.)*")\)', page)
    assert match, "no attribution added"
    return json.loads(match.group(1))


def layer_names(page: str) -> list[str]:
    """Names given to the LayerControl (folium renders them as JSON keys)."""
    block = re.search(r"base_layers\s*:\s*\{.*?\},\s*overlays\s*:\s*\{(.*?)\},", page, re.S)
    assert block, "no LayerControl in the page"
    return re.findall(r'"([^"]+)"\s*:', block.group(1))


# --------------------------------------------------------------------------- rasters


def test_overlay_is_warped_to_web_mercator_not_stretched():
    # A raster 600 m wide at Odense with one hot cell at its north-east corner.  Drawn
    # as a plain image stretched over its lat/lon box the cell would land several metres
    # off (UTM grid convergence ~1.2° here); warped to EPSG:3857 it lands on its cell.
    res = 2.0
    x0, y0 = 590_000.0, 6_141_600.0
    array = np.zeros((300, 300), dtype=np.float32)
    array[1, 298] = 100.0  # cell centre x0 + 597, y0 - 3
    raster = Raster(array, from_origin(x0, y0, res, res), CRS)
    warped, ((south, west), (north, east)) = render._warp_to_mercator(raster, categorical=False)
    rows, cols = warped.shape
    r, c = np.argwhere(warped == 100.0).mean(axis=0)
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mx0, my1 = to_merc.transform(west, north)
    mx1, my0 = to_merc.transform(east, south)
    mx = mx0 + (c + 0.5) / cols * (mx1 - mx0)
    my = my1 - (r + 0.5) / rows * (my1 - my0)
    x, y = Transformer.from_crs("EPSG:3857", CRS, always_xy=True).transform(mx, my)
    assert np.hypot(x - (x0 + 597), y - (y0 - 3)) < 2 * res
    # the naive stretch of the UTM grid over its lat/lon box, for comparison
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lons, lats = to_ll.transform([x0, x0 + 600, x0, x0 + 600], [y0, y0, y0 - 600, y0 - 600])
    lon = min(lons) + (298.5 / 300) * (max(lons) - min(lons))
    lat = max(lats) - (1.5 / 300) * (max(lats) - min(lats))
    nx, ny = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(lon, lat)
    assert np.hypot(nx - (x0 + 597), ny - (y0 - 3)) > 5


def test_rasters_on_different_grids_are_aligned_by_position():
    a = Raster(np.arange(16, dtype=np.float32).reshape(4, 4), from_origin(0, 40, 10, 10), CRS)
    b = Raster(np.full((2, 2), 7, dtype=np.float32), from_origin(30, 60, 10, 10), CRS)
    va, vb, transform, _ = changes._aligned(a, b, np.nan)
    assert va.shape == vb.shape == (6, 5)  # x 0..50, y 0..60
    assert transform.c == 0 and transform.f == 60
    # a's top-left cell (0-10, 30-40) is row 2, col 0 of the union; b's (30-40, 50-60) row 0 col 3
    assert va[2, 0] == 0 and va[5, 3] == 15 and np.isnan(va[0, 0])
    assert vb[0, 3] == 7 and vb[1, 4] == 7 and np.isnan(vb[2, 0])


def test_quantile_classes_rank_against_the_reference_only():
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 200.0])
    inside = np.array([True, True, True, True, False, False])
    classes = themes._quantile_classes(values, (0.5, 0.75), reference=inside)
    # quantiles of 1..4: 2.5 and 3.25 -> 1, 2 in class 0; 3 in class 1; 4 and above in 2
    assert classes.tolist() == [0, 0, 1, 2, 2, 2]
    assert themes._quantile_classes(np.zeros(3), (0.5,)).tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize(
    ("theme", "expected"),
    [
        (
            "connectivity",
            [
                "Walking through-movement",
                "Dead ends",
                "Suggested new links",
                "Angular integration (NAIN, 2000 m)",
            ],
        ),
        ("calming", ["Car speeds (V85)", "Speed-calming devices"]),
        (
            "lighting",
            ["Light on the ground (lux)", "Streets and paths lit to their class", "Lamps"],
        ),
        ("cctv", ["Seen by CCTV (DORI level)", "Cameras and their field of view"]),
        ("mix", ["Tenure of the dwellings", "Land use", "Mix of uses within 800 m walk"]),
    ],
)
def test_theme_maps_are_self_contained(district, theme, expected):
    m = maps.theme_map(district, theme)
    assert isinstance(m, folium.Map)
    page = maps.to_html(m)
    assert not EXTERNAL.findall(page), "a CDN asset is left in the page"
    assert "L.version" not in page and 'version="1.9.4"' in page  # Leaflet inlined
    names = layer_names(page)
    assert names[0] == "Streets, buildings and green areas"
    for name in expected:
        assert name in names
    assert "vg-legend" in page
    assert attribution(page) == "Schematic model of Testby, not surveyed data (CC0)"


def test_layer_names_titles_and_attribution_are_escaped(district):
    d = district.replace(name=f"Town {XSS}")
    page = maps.to_html(maps.theme_map(d, "lighting"))
    assert XSS not in page
    assert attribution(page) == (
        "Schematic model of Town &lt;script&gt;alert(1)&lt;/script&gt;, not surveyed data (CC0)"
    )


def test_osm_provenance_is_credited(district):
    from vollsmose_gis import Provenance

    d = district.replace(
        provenance=Provenance(source="extract.osm", licence="ODbL 1.0", kind="openstreetmap")
    )
    assert attribution(maps.to_html(maps.mix_map(d))) == "© OpenStreetMap contributors (ODbL 1.0)"


def test_scenario_map_layers_every_theme(district, changed):
    page = maps.to_html(maps.scenario_map(changed, baseline=district))
    names = layer_names(page)
    for name in (
        "New streets and paths of the scenario",
        "Walking through-movement",
        "Car speeds (V85)",
        "Light on the ground (lux)",
        "Seen by CCTV (DORI level)",
        "Tenure of the dwellings",
    ):
        assert name in names
    # the LayerControl is the last thing added to the map
    assert page.rfind("L.control.layers") > page.rfind("addAttribution") > 0


def test_changes_map_shows_each_kind_of_change(district, changed):
    page = maps.to_html(maps.changes_map(district, changed))
    names = layer_names(page)
    assert names == [
        "Streets, buildings and green areas",
        "Change in light on the ground",
        "Change in CCTV coverage",
        "New and removed streets",
        "Built and demolished buildings",
    ]
    # unchanged district: nothing but the base layer
    assert layer_names(maps.to_html(maps.changes_map(district, district))) == [
        "Streets, buildings and green areas"
    ]


def test_speed_change_is_drawn_per_street(district):
    slower, _ = apply_scenario(
        district,
        Scenario.from_dict(
            {
                "name": "30",
                "interventions": [
                    {"type": "set_speed_limit", "streets": {"ids": ["s1"]}, "maxspeed_kmh": 30}
                ],
            }
        ),
    )
    page = maps.to_html(maps.changes_map(district, slower))
    assert "Change in car speed" in layer_names(page)


def test_before_after_is_a_synchronised_dual_map(district, changed):
    dual = maps.before_after_map(district, changed, theme="lighting")
    assert isinstance(dual, folium.plugins.DualMap)
    page = maps.to_html(dual)
    assert "L.Sync" in page and ".sync(" in page
    assert not EXTERNAL.findall(page)
    assert "Before: Testby" in page and "After: Light and watch" in page


def test_bad_options_are_refused(district, tmp_path):
    with pytest.raises(InputError, match="unknown map theme 'roads'"):
        maps.theme_map(district, "roads")
    with pytest.raises(InputError, match="lang must be one of"):
        maps.theme_map(district, "mix", lang="fr")
    with pytest.raises(InputError, match="links must be >= 0"):
        maps.theme_map(district, "connectivity", links=-1)
    with pytest.raises(InputError, match="District or a ScenarioResult"):
        maps.theme_map("district.gpkg", "mix")  # type: ignore[arg-type]
    target = tmp_path / "m.html"
    maps.save_map(maps.mix_map(district), target)
    with pytest.raises(FileExistsError):
        maps.save_map(maps.mix_map(district), target)
    maps.save_map(maps.mix_map(district, lang="da"), target, overwrite=True)
    assert "Boligernes ejerform" in target.read_text(encoding="utf-8")


def test_no_car_street_falls_back_to_posted_limits(district):
    paths_only = district.replace(streets=district.streets[~district.streets["car"].astype(bool)])
    page = maps.to_html(maps.calming_map(paths_only))
    assert "Posted speed limits" in page


def test_external_assets_of_other_elements_are_kept_with_a_warning(district, caplog):
    m = maps.mix_map(district)
    folium.Marker([55.4, 10.4], icon=folium.Icon(icon="info-sign")).add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    with caplog.at_level("WARNING", logger="vollsmose_gis.maps"):
        page = maps.to_html(m)
    assert "Control.FullScreen" in page  # the plugin's CDN asset stays, and is reported
    assert "keeping external asset" in caplog.text


# --------------------------------------------------------------------------- browser


def xss_district():
    """The small district with a building and a street named with a script tag."""
    base = small_district()
    buildings = base.buildings.copy()
    buildings.loc[buildings["building_id"] == "b1", "name"] = XSS
    streets = base.streets.copy()
    streets.loc[streets["street_id"] == "s1", "name"] = XSS
    return base.replace(buildings=buildings, streets=streets)


HOVER_JS = """
var found = null;
Object.keys(window).forEach(function (key) {
    var layer = window[key];
    if (found || !layer || !layer.eachLayer || !layer.getTooltip || !layer.getTooltip()) return;
    layer.eachLayer(function (child) {
        if (!found && child.feature && child.feature.properties.t &&
            child.feature.properties.t.indexOf('alert(1)') >= 0 && child._path) {
            found = child;
        }
    });
});
if (!found) return null;
var box = found._path.getBoundingClientRect();
return [box.left + box.width / 2, box.top + box.height / 2];
"""


@pytest.mark.browser
def test_maps_render_offline_in_chromium(tmp_path, district, changed):
    pages = {
        "lighting": (maps.lighting_map(district), ["Light on the ground (lux)"]),
        "connectivity": (maps.connectivity_map(district), ["Walking through-movement"]),
        "calming": (maps.calming_map(district), ["Car speeds (V85)"]),
        "cctv": (maps.cctv_map(district), ["Seen by CCTV (DORI level)"]),
        "mix": (maps.mix_map(district), ["Tenure of the dwellings"]),
        "scenario": (
            maps.scenario_map(changed, baseline=district),
            ["New streets and paths of the scenario", "Seen by CCTV (DORI level)"],
        ),
        "dual": (
            maps.before_after_map(district, changed, theme="cctv"),
            ["Cameras and their field of view"],
        ),
        "changes": (maps.changes_map(district, changed), ["Change in light on the ground"]),
    }
    with browser() as chrome:
        for name, (m, expected) in pages.items():
            path = maps.save_map(m, tmp_path / f"{name}.html")
            page = chrome.open(path, script=MAP_STATE_JS)
            assert page.errors == [], (name, page.errors)
            assert page.network_requests == [], (name, page.network_requests)
            assert page.alert is None
            state = page.info
            assert state["leaflet"] == "1.9.4", name
            assert state["maps"] == (2 if name == "dual" else 1)
            for layer in expected:
                assert layer in state["layers"], (name, state["layers"])
            assert state["legends"] and all(text.strip() for text in state["legends"]), name
            assert "District boundary" in state["legends"][0]
            assert state["paths"] > 5, name  # vector features were drawn
            assert any("not surveyed data" in a for a in state["attribution"])
            assert png_colours(page.screenshot_png) > 50, f"{name}: screenshot is (nearly) blank"
        raster_page = chrome.open(tmp_path / "lighting.html", script=MAP_STATE_JS)
        assert raster_page.info["images"] == 1  # the illuminance overlay


@pytest.mark.browser
def test_script_in_a_feature_name_shows_as_text(tmp_path):
    path = maps.save_map(maps.mix_map(xss_district()), tmp_path / "xss.html")
    with browser() as chrome:
        page = chrome.open(path, script=HOVER_JS)
        assert page.alert is None and page.errors == []
        x, y = page.info if isinstance(page.info, list) else (None, None)
        assert x is not None, "the feature named with a script tag was not drawn"
        driver = chrome.driver
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        tooltip = driver.execute_script(
            "var t = document.querySelector('.leaflet-tooltip');"
            "return t ? [t.textContent, t.querySelectorAll('script').length] : null;"
        )
        assert tooltip is not None, "hovering the feature opened no tooltip"
        text, scripts = tooltip
        assert XSS in text  # shown as text ...
        assert scripts == 0  # ... not as an element
        from selenium.common.exceptions import NoAlertPresentException

        with pytest.raises(NoAlertPresentException):
            _ = driver.switch_to.alert.text


def test_points_and_lines_of_a_layer_share_its_tooltip_labels():
    layer = render._geojson(
        frame(
            [
                dict(name="a", geometry=Point(X0, Y0)),
                dict(name="b", geometry=LineString([(X0, Y0), (X0 + 5, Y0)])),
            ]
        ),
        [style._line("#000000", 1)] * 2,
        [render._tip("A", [("Kind", 'x"<y>')]), render._tip("B", [("Kind", None)])],
    )
    assert layer is not None
    props = [f["properties"] for f in layer.data["features"]]
    assert props == [{"t": "A", "f1": "x&quot;&lt;y&gt;"}, {"t": "B", "f1": ""}]


def test_empty_layers_draw_nothing():
    empty = frame([dict(name="a", geometry=Point(X0, Y0))]).iloc[:0]
    assert render._geojson(empty, [], []) is None


def test_cli_map(tmp_path, district):
    from typer.testing import CliRunner

    from vollsmose_gis import save_district
    from vollsmose_gis.cli import app

    gpkg = tmp_path / "town.gpkg"
    save_district(district, gpkg)
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(
        "name: Slow\ninterventions:\n  - type: set_speed_limit\n"
        "    streets: {ids: [s1]}\n    maxspeed_kmh: 30\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    out = tmp_path / "m.html"
    ok = runner.invoke(app, ["map", str(gpkg), "--theme", "mix", "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "Tenure of the dwellings" in layer_names(out.read_text(encoding="utf-8"))
    again = runner.invoke(app, ["map", str(gpkg), "--theme", "mix", "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    bad = runner.invoke(app, ["map", str(gpkg), "--theme", "roads", "-o", str(tmp_path / "x.html")])
    assert bad.exit_code == 2 and "--theme must be one of" in bad.output
    view = runner.invoke(
        app, ["map", str(gpkg), "--view", "changes", "-o", str(tmp_path / "y.html")]
    )
    assert view.exit_code == 2 and "give a scenario YAML" in view.output
    changes = tmp_path / "changes.html"
    run = runner.invoke(
        app, ["map", str(scenario), "-d", str(gpkg), "--view", "changes", "-o", str(changes)]
    )
    assert run.exit_code == 0, run.output
    assert "Change in car speed" in layer_names(changes.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- package


# Every name `vollsmose_gis.maps` offered as one module (before the split into a package).
OLD_PUBLIC = [
    "LANGUAGES",
    "THEMES",
    "before_after_map",
    "calming_map",
    "cctv_map",
    "changes_map",
    "connectivity_map",
    "lighting_map",
    "mix_map",
    "save_map",
    "scenario_map",
    "theme_map",
    "to_html",
    "write_maps",
]
OLD_HELPERS = [
    "_t", "_number", "_check_lang", "_texts", "_category", "_geojson", "_tip", "_line",
    "_fill", "_dot", "_warp_to_mercator", "_aligned", "_quantile_classes", "_dual",
    "_Ctx", "_Legend", "_Layer", "_CSS", "_LUX_EDGES", "_DORI_COLOURS", "_inline_assets",
    "_camera_sectors", "_change_layers", "_THEME_LAYERS", "_cached", "Tip",
]  # fmt: skip


def test_old_import_paths_still_work():
    for name in OLD_PUBLIC:
        assert callable(getattr(maps, name)) or name in ("LANGUAGES", "THEMES"), name
    # every old public name kept; added since: the on-request themes, the drawing
    # session and its pages
    assert sorted(maps.__all__) == sorted(
        [*OLD_PUBLIC, "MAP_ONLY_THEMES", "drawing_session", "page_html"]
    )
    for name in OLD_HELPERS:
        assert getattr(maps, name) is not None, name
    from vollsmose_gis.maps import _t, _warp_to_mercator

    assert _t("map.today", "da") == "I dag (basis)"
    assert _warp_to_mercator is render._warp_to_mercator
    assert maps.THEMES == ("connectivity", "calming", "lighting", "cctv", "mix")
    with pytest.raises(AttributeError, match="no attribute '_nothing_here'"):
        _ = maps._nothing_here


def test_the_message_table_is_public():
    assert i18n.t("map.today") == "Today (baseline)"
    assert i18n.t("map.today", "da") == "I dag (basis)"
    assert i18n.t("map.before", "da", name="Plan") == "Før: Plan"
    assert i18n.number(12345.6, 1, "da") == "12\u2009345,6"
    assert i18n.number(12345.6, 1) == "12,345.6"
    assert i18n.number(float("nan")) == i18n.number("x") == "–"
    assert i18n.category("use", "retail", "da") == "Butikker og service"
    assert i18n.category("use", "moonbase", "en") == "moonbase"
    assert i18n.has("report.title") and not i18n.has("report.nothing")
    assert i18n.check_lang("da") == "da"
    with pytest.raises(InputError, match="lang must be one of"):
        i18n.check_lang("fr")
    # every text has both languages
    missing = [k for k, v in i18n.texts().items() if not {"en", "da"} <= set(v)]
    assert missing == []


def test_report_and_maps_share_only_public_helpers():
    import ast
    from pathlib import Path

    import vollsmose_gis

    root = Path(vollsmose_gis.__file__).parent
    for path in [root / "report.py", *sorted((root / "maps").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            inside_maps = path.parent.name == "maps" and node.module.startswith(
                "vollsmose_gis.maps"
            )
            if node.module.startswith("vollsmose_gis") and not inside_maps:
                private = [
                    a.name for a in node.names if a.name.startswith("_") and a.name[1] != "_"
                ]
                assert private == [], f"{path.name} imports {private} from {node.module}"
            # module results come through analysis.run, not the scorer's old entry point
            assert "run_module" not in [a.name for a in node.names], path.name


def test_maps_get_module_results_through_analysis_run(district):
    analysis.clear_cache()
    maps.to_html(maps.lighting_map(district))
    maps.to_html(maps.lighting_map(district.replace(name="Same content")))
    assert analysis.module_runs["lighting"] == 1  # the second map reused the cached result
    lit = district.lights.copy()
    lit["lumens"] = lit["lumens"] * 2
    page = maps.to_html(maps.lighting_map(district.replace(lights=lit)))
    assert analysis.module_runs["lighting"] == 2
    assert "Light on the ground (lux)" in layer_names(page)


def test_derived_frames_are_cached_by_what_their_module_reads(district, monkeypatch):
    from vollsmose_gis import connectivity

    calls = []
    real = connectivity.suggest_links

    def counting(d, **kwargs):
        calls.append(d.name)
        return real(d, **kwargs)

    monkeypatch.setattr(connectivity, "suggest_links", counting)
    themes._CACHE.clear()
    assert "lights" not in analysis.get("connectivity").reads
    maps.connectivity_map(district)
    brighter = district.lights.copy()
    brighter["lumens"] = brighter["lumens"] * 3
    maps.connectivity_map(district.replace(lights=brighter, name="lamps changed"))
    assert calls == [district.name]  # lamps are not read by connectivity: reused
    streets = district.streets.copy()
    streets.loc[streets["street_id"] == "p1", "walk"] = False
    maps.connectivity_map(district.replace(streets=streets, name="streets changed"))
    assert calls == [district.name, "streets changed"]


def shown_layers(page: str) -> list[str]:
    """Names of the LayerControl entries that are on when the page opens (every map)."""
    names = []
    for block in re.findall(r"overlays\s*:\s*\{(.*?)\},", page, re.S):
        for name, var in re.findall(r'"([^"]+)"\s*:\s*(feature_group_\w+)', block):
            if f"{var}.addTo(" in page:
                names.append(name)
    return names


def test_before_after_can_open_on_land_use(district, changed):
    tenure = shown_layers(maps.to_html(maps.before_after_map(district, changed, theme="mix")))
    use = shown_layers(
        maps.to_html(maps.before_after_map(district, changed, theme="mix", focus="use"))
    )
    assert tenure.count("Tenure of the dwellings") == 2 and "Land use" not in tenure
    assert use.count("Land use") == 2 and "Tenure of the dwellings" not in use
    with pytest.raises(InputError, match="focus must be"):
        maps.before_after_map(district, changed, theme="mix", focus="tenure")


def test_each_raster_overlay_is_encoded_once_and_shared(district, changed):
    render._OVERLAYS.clear()
    render.overlay_encodings.clear()
    pages = [
        maps.to_html(maps.lighting_map(district)),
        maps.to_html(maps.scenario_map(district)),
        maps.to_html(maps.before_after_map(district, district.replace(name="Copy"), theme="all")),
    ]
    # one illuminance and one DORI raster (same content on all pages): encoded once each
    assert render.overlay_encodings == {"lux": 1, "dori": 1}
    images = [set(re.findall(r'"data:image/png;base64,[^"]+"', page)) for page in pages]
    assert len(images[0]) == 1 and images[0] < images[1] and images[1] == images[2]
    # other content, another image; the change of light is encoded once for two pages
    maps.to_html(maps.lighting_map(changed))
    assert render.overlay_encodings["lux"] == 2
    maps.to_html(maps.changes_map(district, changed))
    maps.to_html(maps.changes_map(district, changed))
    assert render.overlay_encodings["delta_lux"] == 1
    assert render.overlay_encodings["lux"] == 2


def test_raster_digest_is_the_content():
    a = Raster(np.arange(6, dtype=np.float32).reshape(2, 3), from_origin(0, 20, 10, 10), CRS)
    same = Raster(a.array.copy(), from_origin(0, 20, 10, 10), CRS)
    moved = Raster(a.array.copy(), from_origin(10, 20, 10, 10), CRS)
    other = Raster(a.array + 1, from_origin(0, 20, 10, 10), CRS)
    assert render.raster_digest(a) == render.raster_digest(same)
    assert len({render.raster_digest(r) for r in (a, moved, other)}) == 3


def test_the_safety_map_shows_evidence_aggregated_and_says_it_is_illustrative():
    from vollsmose_gis.sources.vollsmose import default_district

    page = maps.to_html(maps.theme_map(default_district(), "safety"))
    names = layer_names(page)
    for name in (
        "Incident density along the streets",
        "Significant hot spots (Gi*, FDR)",
        "Incidents per cell (cells under 5 hidden)",
        "Safety-walk marks",
    ):
        assert name in names
    assert "ILLUSTRATIVE evidence" in page
    from vollsmose_gis import analysis

    cells = analysis.run("safety", default_district()).layers["safety_incidents_aggregated"]
    assert (cells["count"] >= 5).all()  # no cell small enough to point at a person
    assert "safety" not in maps.THEMES  # drawn on request, not in every scenario map


# --------------------------------------------------------------------------- shared layers

GEOJSON_COUNTS_JS = """
var counts = [];
Object.keys(window).forEach(function (key) {
    var layer = window[key];
    if (layer instanceof L.GeoJSON) { counts.push(layer.getLayers().length); }
});
return {counts: counts, paths: document.querySelectorAll('.leaflet-overlay-pane path').length};
"""


def test_a_shared_layer_is_the_geojson_geopandas_writes(district):
    import geopandas as gpd
    import shapely

    buildings = district.buildings
    tips = [render._tip(f"{n} <b>", [("Use", u), ("Homes", None)]) for n, u in
            zip(buildings["building_id"], buildings["use"], strict=True)]  # fmt: skip
    layer = render._geojson(buildings, [style._fill("#123456")] * len(buildings), tips)
    assert layer is not None
    # reference: GeoDataFrame.to_json of the frame in WGS84, coordinates rounded to 6
    # decimals by Python's round, the tooltip texts escaped by hand
    wgs84 = buildings.geometry.to_crs(4326).to_numpy()
    rounded = shapely.transform(
        wgs84, lambda xy: np.array([[round(x, 6), round(y, 6)] for x, y in xy])
    )
    reference = gpd.GeoDataFrame(
        {
            "t": [f"{n} &lt;b&gt;" for n in buildings["building_id"]],
            "f1": [str(u) for u in buildings["use"]],
            "f2": [""] * len(buildings),
        },
        geometry=rounded,
        crs=4326,
    ).to_json()
    # the same JSON value (GEOS writes the geometries without spaces)
    assert json.loads(layer.features.data) == json.loads(reference)
    assert json.loads(layer.features.styles) == {
        "s": [style._fill("#123456")],
        "i": [0] * len(buildings),
    }


def test_a_layer_is_serialised_once_for_every_page_that_draws_it(district, changed):
    render._FEATURES.clear()
    render.feature_serialisations.clear()
    first = maps.to_html(maps.mix_map(district))
    made = render.feature_serialisations["layer"]
    second = maps.to_html(maps.mix_map(district.replace(name="Same content")))
    assert render.feature_serialisations["layer"] == made  # nothing serialised again
    assert render.feature_serialisations["shared"] == made
    texts = [f.data for f in render._FEATURES.values()]
    assert texts and all(text in first and text in second for text in texts)
    # the scenario changes buildings (one demolished): that layer is serialised anew,
    # the green areas are shared
    maps.to_html(maps.mix_map(changed))
    assert made < render.feature_serialisations["layer"] < 2 * made


def test_overlays_are_indexed_png_with_the_palette_colours():
    import base64
    import io

    from PIL import Image

    classes = np.array([[0, 1, -1], [2, 2, 0]])
    palette = [(255, 0, 0, 150), (0, 128, 0, 210), (0, 0, 255, 255)]
    url = render._class_png(classes, palette)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.mode == "P"
    expected = [
        [(255, 0, 0, 150), (0, 128, 0, 210), (0, 0, 0, 0)],
        [(0, 0, 255, 255), (0, 0, 255, 255), (255, 0, 0, 150)],
    ]
    assert np.asarray(image.convert("RGBA")).tolist() == [[list(p) for p in r] for r in expected]


@pytest.mark.browser
def test_a_shared_layer_still_draws_its_features_in_chromium(tmp_path, district):
    render._FEATURES.clear()
    maps.to_html(maps.mix_map(district))  # first page: the layers are serialised
    m = maps.mix_map(district.replace(name="Same content"))  # second: all shared
    groups = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    layers = [g for group in groups for g in group._children.values()]
    layers += [c for c in m._children.values() if isinstance(c, render._GeoJson)]  # boundary
    drawn = [layer.features.count for layer in layers if isinstance(layer, render._GeoJson)]
    assert render.feature_serialisations["shared"] >= len(drawn)
    path = maps.save_map(m, tmp_path / "shared.html")
    with browser() as chrome:
        page = chrome.open(path, script=GEOJSON_COUNTS_JS)
    assert page.errors == []
    assert sorted(page.info["counts"]) == sorted(drawn)
    assert page.info["paths"] > 5


# --------------------------------------------------------------------------- safety: overlooked


@pytest.fixture(scope="module")
def safety_map():
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    return d, analysis.run("safety", d), maps.theme_map(d, "safety")


def _layer(m, name):
    for group in m._children.values():
        if getattr(group, "layer_name", None) == name:
            return group, [g for g in group._children.values() if isinstance(g, render._GeoJson)]
    raise AssertionError(f"no layer {name!r}")


def test_the_safety_map_shows_overlooked_paths_by_day_and_by_night(safety_map):
    import shapely

    district, result, m = safety_map
    samples = result.layers["safety_overlooked"]
    length = samples["length_m"].to_numpy()
    page = maps.to_html(m)
    for when, column in (("day", "overlooked_day"), ("night", "overlooked_night")):
        group, (layer,) = _layer(m, f"Overlooked paths, {'by ' + when}")
        assert group.show is False  # on request: they would hide the incident density
        styles = json.loads(layer.features.styles)
        colours = [styles["s"][i]["color"] for i in styles["i"]]
        seen = samples[column].to_numpy(dtype=bool)
        assert layer.features.count == len(samples)
        assert colours.count(themes._SEEN) == seen.sum()
        assert colours.count(themes._UNSEEN) == (~seen).sum()
        assert [c == themes._SEEN for c in colours] == seen.tolist()  # piece by piece
        share = f"{100 * length[seen].sum() / length.sum():.0f} % of the path length"
        assert share in page
    # each piece is the stretch of its street centred on the sample, as long as it
    pieces = themes._path_pieces(district, samples)
    assert (shapely.get_type_id(pieces) == 1).all()
    middle = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    assert np.abs(shapely.distance(middle, samples.geometry.to_numpy())).max() < 1e-6
    assert np.abs(shapely.length(pieces) - length).max() < 1e-6
    assert page.count("ILLUSTRATIVE evidence") >= 6  # in the overlooked legends too


def test_the_overlooked_layers_speak_danish():
    from vollsmose_gis.sources.vollsmose import default_district

    m = maps.theme_map(default_district(), "safety", lang="da")
    for name in ("Overvågede stier, om dagen", "Overvågede stier, om natten"):
        _layer(m, name)
    (controls,) = [c for c in m._children.values() if isinstance(c, render._Controls)]
    assert "af stiernes længde" in controls.legend_html
    assert "ikke overvåget" in controls.legend_html


@pytest.mark.browser
def test_overlooked_paths_render_in_chromium(tmp_path, safety_map):
    _, result, m = safety_map
    n = len(result.layers["safety_overlooked"])
    path = maps.save_map(m, tmp_path / "safety.html")
    toggle_night = """
    var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');
    labels.forEach(function (label) {
        if (label.textContent.trim() === 'Overlooked paths, by night') {
            label.querySelector('input').click();
        }
    });
    return document.querySelectorAll('.leaflet-overlay-pane path').length;
    """
    with browser() as chrome:
        page = chrome.open(path, script=MAP_STATE_JS)
        assert page.errors == [] and page.network_requests == []
        assert "Overlooked paths, by day" in page.info["layers"]
        assert "Overlooked paths, by night" in page.info["layers"]
        counts = chrome.driver.execute_script(GEOJSON_COUNTS_JS)
        assert counts["counts"].count(n) == 2  # both layers hold every piece
        before = counts["paths"]
        after = chrome.driver.execute_script(toggle_night)
        assert after - before == n  # turning on "by night" draws its n pieces
        legends = chrome.driver.execute_script(MAP_STATE_JS)["legends"]
        assert any("Overlooked paths, by night" in text for text in legends)


def test_a_page_is_drawn_once_per_drawing_session(district, changed, tmp_path):
    from vollsmose_gis.maps import pages

    # element ids are random: two drawings of one page differ in them
    outside = [maps.page_html("changes", district, changed) for _ in range(2)]
    assert outside[0] != outside[1]
    with maps.drawing_session():
        first = maps.page_html("changes", district, changed)
        assert maps.page_html("changes", district, changed) is first
        # other options or other objects: another page
        assert maps.page_html("changes", district, changed, lang="da") is not first
        assert maps.page_html("changes", district, changed.replace(name="X")) is not first
        assert maps.page_html("before_after", district, changed, theme="mix") is not first
        with pytest.raises(InputError, match="unknown map page 'atlas'"):
            maps.page_html("atlas", district)
        # a list option (themes=[...]) counts by value, it is not held weakly
        mine = maps.page_html("scenario", changed, themes=["mix"], baseline=district)
        assert maps.page_html("scenario", changed, themes=["mix"], baseline=district) is mine
        assert maps.page_html("scenario", changed, themes=("mix",), baseline=district) is mine
        assert maps.page_html("scenario", changed, themes=["cctv"], baseline=district) is not mine
    assert pages._PAGES is None  # nothing kept after the session


def test_a_scored_plan_lends_its_catchments_to_the_mix_map(district):
    from vollsmose_gis.scoring import score_scenarios

    result = score_scenarios([Scenario(name="Today")], district=district, modules=["mix"])
    themes._CACHE.clear()
    render._FEATURES.clear()
    scored = maps.mix_map(result.results["Today"])
    assert not [k for k in themes._CACHE if k[0] == "catchments"]  # nothing computed
    bare = maps.mix_map(district)  # a bare district computes them
    assert [k for k in themes._CACHE if k[0] == "catchments"]

    def catchment_data(m):
        (group,) = [
            c
            for c in m._children.values()
            if getattr(c, "layer_name", "") == "Mix of uses within 800 m walk"
        ]
        (layer,) = group._children.values()
        return layer.features.data

    assert catchment_data(scored) is catchment_data(bare)  # the same features, one string


def test_real_evidence_is_not_called_illustrative_on_the_safety_map():
    from vollsmose_gis.sources.vollsmose import default_district

    d = default_district()
    incidents, walk = d.incidents.copy(), d.safety_walk.copy()
    incidents["illustrative"] = False
    walk["illustrative"] = False
    m = maps.theme_map(d.replace(incidents=incidents, safety_walk=walk), "safety")
    (controls,) = [c for c in m._children.values() if isinstance(c, render._Controls)]
    assert "ILLUSTRATIVE" not in controls.legend_html
    assert "Overlooked and lit to its EN 13201 class" in controls.legend_html
