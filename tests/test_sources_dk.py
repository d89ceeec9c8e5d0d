"""The importer of the Danish registers (BBR, GeoDanmark, DAR), issue 22 §4.

The files in tests/data/dk are hand-made (tests/data/dk/make_files.py) with field names
as in BBR 2.x (BBR_Bygning, BBR_Enhed), GeoDanmark 6 (Bygning, Vejmidte) and DAR
(Husnummer + Adressepunkt position).  Expected values are worked out by hand from the
code lists in vollsmose_gis/standards/dk_mapping.yaml.
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from vollsmose_gis import analysis
from vollsmose_gis._errors import InputError
from vollsmose_gis.cli import app
from vollsmose_gis.io import load_district
from vollsmose_gis.sources.dk import DkCodeWarning, import_dk, import_dk_with_report
from vollsmose_gis.validation import validate_district

DATA = Path(__file__).parent / "data" / "dk"
BBR = DATA / "bbr_bygning.csv"
UNITS = DATA / "bbr_enhed.csv"
FOOTPRINTS = DATA / "geodanmark_bygning.gml"
ROADS = DATA / "geodanmark_vejmidte.gpkg"
ADDRESSES = DATA / "dar_husnummer.csv"
runner = CliRunner()


def bid(n: int) -> str:
    return f"b0000000-0000-4000-8000-{n:012d}"


def full(**options):
    return import_dk_with_report(
        bbr=options.pop("bbr", BBR), units=options.pop("units", UNITS),
        buildings=options.pop("buildings", FOOTPRINTS), roads=options.pop("roads", ROADS),
        addresses=options.pop("addresses", ADDRESSES), **options,
    )  # fmt: skip


@pytest.fixture(scope="module")
def imported():
    return full(rules=("dk_168a",))


def test_bbr_codes_become_use_tenure_dwellings_and_floor_areas(imported) -> None:
    b = imported.district.buildings.set_index("building_id")
    expected = {
        # 140 + ejerforhold 20 (alment boligselskab) + 24 units of Boligtype 1
        bid(1): ("residential", "almen_family", 24, "flat", 4, 2400.0, 0.0),
        # 140 + 41 (privat andelsboligforening)
        bid(2): ("residential", "cooperative", 12, "flat", 3, 1440.0, 0.0),
        # 120 (parcelhus) + 10 (privatperson): a house, owner-occupied
        bid(3): ("residential", "owner_occupied", 1, "detached", 1, 140.0, 0.0),
        # 150 (kollegium) + 20 + enh046 25 (almen ungdomsbolig), Boligtype 3
        bid(4): ("residential", "almen_youth", 8, "flat", 2, 400.0, 0.0),
        # 321 (kontor) + 30; units of Boligtype E are no dwellings
        bid(5): ("office", None, 0, None, 2, 1200.0, 1200.0),
        # 140 with byg040 150 m² of shop: mixed; 4 × støtte 10 vs 2 × støtte 40 -> family
        bid(6): ("mixed", "almen_family", 6, "flat", 3, 1350.0, 150.0),
    }
    for building, (use, tenure, dwellings, kind, floors, floor_m2, commercial) in expected.items():
        row = b.loc[building]
        assert row["use"] == use, building
        assert (None if pd.isna(row["tenure"]) else row["tenure"]) == tenure, building
        assert row["dwellings"] == dwellings, building
        assert (None if pd.isna(row["dwelling_type"]) else row["dwelling_type"]) == kind
        assert row["floors"] == floors and row["floor_area_m2"] == floor_m2
        assert row["commercial_m2"] == commercial
        assert not row["dwellings_estimated"]
    # the footprint without a BBR building, and nothing else
    lonely = b.loc["geodanmark:f0000000-0000-4000-8000-000000000007"]
    assert lonely["use"] == "other" and lonely["dwellings"] == 0 and pd.isna(lonely["tenure"])
    assert len(b) == 7
    # footprints are GeoDanmark's polygons: F1 is 50 m × 12 m
    assert b.loc[bid(1)].geometry.area == pytest.approx(600.0)
    assert b.loc[bid(1), "year_built"] == 1968
    # names from DAR: the Husnummer's vejnavn + husnummertekst, where DAR has one
    assert b.loc[bid(3), "name"] == "Vollsmose Allé 12"
    assert b.loc[bid(6), "name"] == "Vollsmose Allé 14A"
    assert pd.isna(b.loc[bid(1), "name"])


def test_each_join_route_is_used_and_the_shed_without_footprint_is_counted(imported) -> None:
    report = imported.report
    join = next(n for n in report.notes if n.startswith("Join BBR"))
    # B1, B4, B5 by bygning_id; B2 by its byg404Koordinat; B3 (adgangTilBygning) and
    # B6 (its husnummer) by the DAR address point
    assert join == (
        "Join BBR -> GeoDanmark: 3 by bygning_id, 1 by the point byg404Koordinat inside a "
        "footprint, 2 by the point of its DAR address inside a footprint."
    )
    assert report.dropped == {
        "buildings: BBR building without dwellings or footprint (shed, carport…)": 1
    }
    assert not report.unknown_codes
    assert (
        f"1 BBR building(s) hold dwellings of several tenures; each takes the tenure of most "
        f"of its dwellings: {bid(6)} {{'almen_family': 4, 'almen_elderly': 2}}." in report.notes
    )


def test_vejmidte_become_streets_with_class_and_modes(imported) -> None:
    s = imported.district.streets.set_index("vejkategori")
    assert s.loc["Fordelingsrute", "highway"] == "tertiary"
    assert s.loc["Lille vej", "highway"] == "residential"
    path = s.loc["Hoved sti"]
    # trafikart "Sti": walking and cycling, no cars
    assert (path["highway"], path["car"], path["walk"], path["bike"]) == ("path", False, True, True)
    # class defaults of highways.yaml: tertiary 50 km/h, 2 lanes, 7 m
    row = s.loc["Fordelingsrute"]
    assert (row["maxspeed_kmh"], row["lanes"], row["width_m"]) == (50.0, 2, 7.0)
    assert row["car"] and row["walk"] and row["bike"]
    assert set(s["vejmyndighed"]) == {"Odense Kommune"}
    assert s.loc["Fordelingsrute"].geometry.length == pytest.approx(330.0)


def test_district_validates_and_the_mix_gives_the_hand_computed_social_share(imported) -> None:
    d = validate_district(imported.district, strict=True)
    assert d.settings.country == "DK" and d.settings.rules == ("dk_168a",)
    result = analysis.run("mix", d)
    # § 168 a: F / (T + E): F = 24 + 6 social family dwellings (B1, B6); T = 24 + 12 + 1
    # + 8 + 6 = 51 dwellings; E = floor((1200 m² office B5 + 150 m² shop in B6) / 75) = 18
    assert result.indicators["almen_family_share"].value == pytest.approx(30 / 69)
    assert result.indicators["meets_40pct_rule"].value == 0.0
    # without the rule: the plain share of dwellings, 30 / 51
    plain = analysis.run("mix", d.replace(settings=d.settings.__class__(country="DK")))
    assert plain.indicators["almen_family_share"].value == pytest.approx(30 / 51)


def test_provenance_names_registers_dates_licences_and_specifications(imported) -> None:
    p = imported.district.provenance
    assert p.kind == "surveyed"
    for text in ("bbr_bygning.csv", "bbr_enhed.csv", "geodanmark_bygning.gml",
                 "geodanmark_vejmidte.gpkg", "dar_husnummer.csv", "BBR 2.4.4",
                 "GeoDanmark specifikation 6.0.1", "BBR 2026-11-02 (registreringFra)",
                 "GeoDanmark 2026-06-01 (registreringFra)"):  # fmt: skip
        assert text in p.source, text
    assert p.date == "2026-11-02"  # the newest register date
    assert p.licence.startswith("BBR: Frie grunddata") and "GeoDanmark:" in p.licence
    assert "DAR:" in p.licence
    assert "Dropped: buildings: BBR building without dwellings" in p.notes


def test_without_units_dwellings_are_estimated_and_flagged() -> None:
    d = import_dk(bbr=BBR, buildings=FOOTPRINTS, addresses=ADDRESSES)
    b = d.buildings.set_index("building_id")
    # 140 without units: round(byg039 2400 m² / 85 m²) = round(28.2) = 28
    assert b.loc[bid(1), "dwellings"] == 28 and b.loc[bid(1), "dwellings_estimated"]
    assert b.loc[bid(3), "dwellings"] == 1  # a house
    assert b.loc[bid(6), "dwellings"] == round(1200 / 85)  # mixed: byg039 1200 m²
    assert b.loc[bid(5), "dwellings"] == 0 and not b.loc[bid(5), "dwellings_estimated"]
    assert d.streets.empty


def test_geopackage_footprints_give_the_same_buildings_as_gml(tmp_path, imported) -> None:
    gpkg = tmp_path / "bygning.gpkg"
    frame = gpd.read_file(FOOTPRINTS)
    # Datafordeleren's GeoDanmark names the BBR link BBRUUID; lower-case names, as many
    # downloads write them
    frame = frame.rename(columns={"bygning_id": "BBRUUID"})
    frame.columns = [c.lower() if c != "geometry" else c for c in frame.columns]
    frame.to_file(gpkg, layer="bygning")
    again = full(buildings=gpkg, rules=("dk_168a",)).district.buildings
    columns = ["building_id", "use", "tenure", "dwellings", "floor_area_m2", "commercial_m2"]
    pd.testing.assert_frame_equal(
        again[columns].reset_index(drop=True),
        imported.district.buildings[columns].reset_index(drop=True),
    )


# ----------------------------------------------------------------------- bad input


def _edit_csv(path: Path, target: Path, **changes) -> Path:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    frame.to_csv(target, index=False)
    return target


def test_missing_required_column_names_file_and_column(tmp_path) -> None:
    frame = pd.read_csv(BBR, dtype=str).drop(columns=["byg066Ejerforhold"])
    frame.to_csv(tmp_path / "bbr.csv", index=False)
    with pytest.raises(InputError, match=r"BBR buildings file .*bbr\.csv: required column\(s\) "
                       r"byg066Ejerforhold missing"):  # fmt: skip
        full(bbr=tmp_path / "bbr.csv")
    roads = gpd.read_file(ROADS).drop(columns=["vejkategori"])
    roads.to_file(tmp_path / "vej.gpkg")
    with pytest.raises(InputError, match=r"vej\.gpkg: required column\(s\) vejkategori"):
        full(roads=tmp_path / "vej.gpkg")


def test_unknown_codes_are_named_and_counted_warn_or_error(tmp_path) -> None:
    bbr = _edit_csv(BBR, tmp_path / "bbr.csv", byg021BygningensAnvendelse=(4, "777"),
                    byg066Ejerforhold=(1, "55"))  # fmt: skip
    with pytest.warns(DkCodeWarning, match=r"byg021BygningensAnvendelse '777' ×1.*"
                      r"byg066Ejerforhold '55' ×1"):  # fmt: skip
        result = full(bbr=bbr)
    b = result.district.buildings.set_index("building_id")
    assert b.loc[bid(5), "use"] == "other"  # the documented fallback
    assert pd.isna(b.loc[bid(2), "tenure"]) and b.loc[bid(2), "dwellings"] == 12
    assert result.report.unknown_codes == {
        "byg021BygningensAnvendelse '777'": 1,
        "byg066Ejerforhold '55'": 1,
    }
    with pytest.raises(InputError, match="byg021BygningensAnvendelse '777'"):
        full(bbr=bbr, unknown_codes="error")


def test_geometry_in_a_geographic_or_wrong_crs_is_refused(tmp_path) -> None:
    footprints = gpd.read_file(FOOTPRINTS)
    footprints.to_crs("EPSG:4326").to_file(tmp_path / "geo.gpkg")
    with pytest.raises(InputError, match=r"geo\.gpkg: geometry is in a geographic CRS"):
        full(buildings=tmp_path / "geo.gpkg")
    # degrees written into a file that declares EPSG:25832
    wrong = footprints.to_crs("EPSG:4326").set_crs("EPSG:25832", allow_override=True)
    wrong.to_file(tmp_path / "wrong.gpkg")
    with pytest.raises(InputError, match=r"outside the area of use of EPSG:25832 — they look "
                       "like degrees"):  # fmt: skip
        full(buildings=tmp_path / "wrong.gpkg")
    with pytest.raises(InputError, match="not projected"):
        full(crs="EPSG:4326")


def test_a_bbr_building_with_dwellings_but_no_footprint_is_refused(tmp_path) -> None:
    footprints = gpd.read_file(FOOTPRINTS)
    footprints[footprints["bygning_id"] != bid(1)].to_file(tmp_path / "b.gpkg")
    with pytest.raises(InputError, match=rf"1 BBR building\(s\) .* {bid(1)} \(24 dwellings"):
        full(buildings=tmp_path / "b.gpkg")
    result = full(buildings=tmp_path / "b.gpkg", allow_missing_footprints=True)
    assert (
        result.report.dropped["buildings: BBR building with dwellings/floor space, no footprint"]
        == 1
    )
    assert result.district.buildings["dwellings"].sum() == 51 - 24


def test_empty_files_and_bad_wkt_are_refused(tmp_path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"BBR buildings file .*empty\.csv: is empty"):
        full(bbr=tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text(BBR.read_text(encoding="utf-8").splitlines()[0] + "\n")
    with pytest.raises(InputError, match=r"header\.csv: holds no rows"):
        full(bbr=tmp_path / "header.csv")
    bad = _edit_csv(BBR, tmp_path / "bad.csv", byg404Koordinat=(1, "POINT (592020"))
    with pytest.raises(InputError, match=r"bad\.csv: row 3, column byg404Koordinat"):
        full(bbr=bad)
    with pytest.raises(InputError, match="no such file"):
        full(units=tmp_path / "missing.csv")


def test_code_values_are_read_whatever_their_spelling() -> None:
    from vollsmose_gis.sources.dk.read import code

    assert [code(v) for v in (140, 140.0, " 140 ", "140.0", "", None, math.nan, "E")] == [
        "140", "140", "140", "140", None, None, None, "E"
    ]  # fmt: skip


# ----------------------------------------------------------------------------- CLI


def test_cli_writes_a_district_that_validate_accepts(tmp_path) -> None:
    out = tmp_path / "district.gpkg"
    argv = ["import-dk", "--bbr", str(BBR), "--units", str(UNITS), "--buildings",
            str(FOOTPRINTS), "--roads", str(ROADS), "--addresses", str(ADDRESSES),
            "--rule", "dk_168a", "-o", str(out)]  # fmt: skip
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "buildings" in result.output and "Danish registers" in result.output
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0, checked.output
    d = load_district(out)
    assert d.buildings["dwellings"].sum() == 51
    assert d.provenance.date == "2026-11-02" and d.settings.rules == ("dk_168a",)
    # the boundary written is the convex hull of the data: every footprint lies in it
    assert shapely.covers(d.boundary, d.buildings.geometry.to_numpy()).all()


def test_cli_prints_a_name_and_path_with_brackets_verbatim(tmp_path) -> None:
    # rich markup would raise on "[/b]" after the GeoPackage is written, and drop "[x]"
    out = tmp_path / "[x]" / "d.gpkg"
    out.parent.mkdir()
    argv = ["import-dk", "--bbr", str(BBR), "--units", str(UNITS), "--buildings",
            str(FOOTPRINTS), "--addresses", str(ADDRESSES), "--name", "Estate [/b] [x]",
            "-o", str(out)]  # fmt: skip
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("Estate [/b] [x] -> "), first
    assert load_district(out).name == "Estate [/b] [x]"
    assert f"{out}" in "".join(result.stdout.splitlines()[:3])


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path) -> None:
    bbr = tmp_path / "bbr.csv"
    shutil.copy(BBR, bbr)
    frame = pd.read_csv(bbr, dtype=str).drop(columns=["byg021BygningensAnvendelse"])
    frame.to_csv(bbr, index=False)
    out = tmp_path / "district.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(
            app, ["import-dk", "--bbr", str(bbr), "--buildings", str(FOOTPRINTS), "-o", str(out)]
        )
    assert result.exit_code == 2
    assert "byg021BygningensAnvendelse" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [bbr]


def test_transliterated_lower_case_fields_and_one_multi_layer_geodanmark_file(tmp_path) -> None:
    """Exports that write ø/æ/å as oe/ae/aa, in any case, and one GeoPackage of all objects."""
    units = pd.read_csv(UNITS, dtype=str, keep_default_na=False)
    units = units.rename(columns={"enh046OffentligStøtte": "enh046offentligstoette",
                                  "enh023Boligtype": "ENH023BOLIGTYPE"})  # fmt: skip
    units.to_csv(tmp_path / "enhed.csv", index=False, sep=";")
    geodanmark = tmp_path / "geodanmark.gpkg"
    gpd.read_file(FOOTPRINTS).to_file(geodanmark, layer="Bygning")
    gpd.read_file(ROADS).to_file(geodanmark, layer="Vejmidte")
    result = full(units=tmp_path / "enhed.csv", buildings=geodanmark, roads=geodanmark)
    b = result.district.buildings.set_index("building_id")
    assert b.loc[bid(4), "tenure"] == "almen_youth"  # read from enh046 (støtte 25)
    assert b["dwellings"].sum() == 51
    assert len(result.district.streets) == 3
    gpd.read_file(ROADS).to_file(geodanmark, layer="gammel_Vejmidte")
    with pytest.raises(InputError, match=r"holds the layers .*none \(or more than one\) is "
                       "named 'Vejmidte'"):  # fmt: skip
        full(buildings=geodanmark, roads=geodanmark)


def test_vejmidte_status_and_unknown_values(tmp_path) -> None:
    roads = gpd.read_file(ROADS)
    roads.loc[0, "status"] = "Under anlæg"
    roads.loc[1, "vejkategori"] = "Privat fællesvej"
    roads.loc[2, "trafikart"] = "Ridning"
    roads.to_file(tmp_path / "vej.gpkg")
    with pytest.warns(DkCodeWarning, match=r"trafikart 'Ridning' ×1; vejkategori 'Privat "
                      r"fællesvej' ×1"):  # fmt: skip
        result = full(roads=tmp_path / "vej.gpkg")
    s = result.district.streets.set_index("vejkategori")
    assert len(s) == 2  # the projected road is dropped
    assert result.report.dropped["streets: Vejmidte with status 'Under anlæg' (not current)"] == 1
    assert s.loc["Privat fællesvej", "highway"] == "road"  # the documented fallback
    # an unknown trafikart keeps the class defaults of a path: walk and bike
    assert (s.loc["Hoved sti", "walk"], s.loc["Hoved sti", "bike"]) == (True, True)


def test_the_mapping_names_only_district_categories() -> None:
    """Every use, tenure and highway class the mapping produces exists in the schema."""
    import yaml

    import vollsmose_gis.standards as standards

    folder = Path(standards.__file__).parent
    mapping = yaml.safe_load((folder / "dk_mapping.yaml").read_text(encoding="utf-8"))
    categories = yaml.safe_load((folder / "categories.yaml").read_text(encoding="utf-8"))
    highways = yaml.safe_load((folder / "highways.yaml").read_text(encoding="utf-8"))["classes"]
    bbr = mapping["bbr"]
    assert set(bbr["building_use"].values()) <= set(categories["uses"])
    tenures = {t for kinds in bbr["tenure"].values() for t in kinds.values()}
    tenures |= set(bbr["tenure_by_subsidy"].values()) | set(bbr["almen_by_use"].values())
    assert tenures <= set(categories["tenures"])
    assert set(bbr["dwelling_type"]) <= set(categories["dwelling_types"])
    assert set(mapping["geodanmark"]["roads"]["highway"].values()) <= set(highways)
    assert set(bbr["poi_kind"].values()) <= set(categories["poi_kinds"])
    # a code in two dwelling types, or a single-family code that is not residential
    codes = [c for kind in bbr["dwelling_type"].values() for c in kind]
    assert len(codes) == len(set(codes))
    assert {bbr["building_use"][c] for c in bbr["single_family"]} == {"residential"}


def test_a_shapefile_with_field_names_cut_to_ten_characters(tmp_path) -> None:
    """GeoDanmark shapefile downloads write vejkategor, vejmyndigh (DBF's 10 characters)."""
    roads = gpd.read_file(ROADS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's own note that it truncates the names
        roads.to_file(tmp_path / "vejmidte.shp")
    assert "vejkategor" in gpd.read_file(tmp_path / "vejmidte.shp").columns
    s = full(roads=tmp_path / "vejmidte.shp").district.streets
    assert sorted(s["highway"]) == ["path", "residential", "tertiary"]
    assert set(s["vejmyndighed"]) == {"Odense Kommune"}


def test_bbr_as_a_geopackage_of_points_gives_the_same_district(tmp_path, imported) -> None:
    frame = pd.read_csv(BBR, dtype=str, keep_default_na=False)
    points = gpd.GeoSeries.from_wkt(frame.pop("byg404Koordinat").replace("", None))
    gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:25832").to_file(
        tmp_path / "bbr.gpkg", layer="BBR_Bygning"
    )
    again = full(bbr=tmp_path / "bbr.gpkg", rules=("dk_168a",)).district.buildings
    columns = ["building_id", "use", "tenure", "dwellings", "floors", "floor_area_m2"]
    pd.testing.assert_frame_equal(
        again[columns].reset_index(drop=True),
        imported.district.buildings[columns].reset_index(drop=True),
    )


def test_a_given_boundary_is_the_study_area_and_degrees_are_refused(tmp_path) -> None:
    wkt = (
        "POLYGON ((591990 6139990, 592240 6139990, 592240 6140060, 591990 6140060, 591990 6139990))"
    )
    d = full(boundary=wkt).district
    assert d.boundary.area == pytest.approx(250 * 70)
    gpd.GeoDataFrame(geometry=[shapely.from_wkt(wkt)], crs="EPSG:25832").to_crs(
        "EPSG:4326"
    ).to_file(tmp_path / "area.gpkg")
    # a boundary file in degrees is reprojected to the district CRS
    assert full(boundary=tmp_path / "area.gpkg").district.boundary.area == pytest.approx(
        250 * 70, rel=1e-6
    )
    with pytest.raises(InputError, match="look like degrees"):
        full(boundary="POLYGON ((10.4 55.4, 10.5 55.4, 10.5 55.5, 10.4 55.4))")


def test_several_bbr_buildings_on_one_footprint_are_summed(tmp_path) -> None:
    # B2's BBR point moved into F1, which is B1's footprint (by bygning_id)
    bbr = _edit_csv(BBR, tmp_path / "bbr.csv", byg404Koordinat=(1, "POINT (592025 6140006)"))
    result = full(bbr=bbr)
    b = result.district.buildings.set_index("geodanmark_id")
    both = b.loc["f0000000-0000-4000-8000-000000000001"]
    assert both["building_id"] == "geodanmark:f0000000-0000-4000-8000-000000000001"
    assert both["bbr_id"] == f"{bid(1)},{bid(2)}"
    # 24 social family + 12 cooperative dwellings: the tenure of most, summed areas
    assert (both["dwellings"], both["tenure"], both["use"]) == (36, "almen_family", "residential")
    assert (both["floor_area_m2"], both["floors"]) == (2400.0 + 1440.0, 4)
    assert "1 footprint(s) hold several BBR buildings (summed)." in result.report.notes
    # F2 is left without a BBR building
    assert b.loc["f0000000-0000-4000-8000-000000000002", "use"] == "other"


def test_a_units_own_use_code_decides_youth_or_elderly_housing(tmp_path) -> None:
    units = pd.read_csv(UNITS, dtype=str, keep_default_na=False)
    of_b4 = units["bygning"] == bid(4)
    # B4 is a kollegium (byg021 150); without subsidy codes its units would be youth
    # housing by the building's use, but they are registered as 160 (bolig i
    # døgninstitution): elderly housing
    units.loc[of_b4, "enh046OffentligStøtte"] = ""
    units.loc[of_b4, "enh020EnhedensAnvendelse"] = "160"
    units.to_csv(tmp_path / "enhed.csv", index=False)
    b = full(units=tmp_path / "enhed.csv").district.buildings.set_index("building_id")
    assert b.loc[bid(4), "tenure"] == "almen_elderly"
    units.loc[of_b4, "enh020EnhedensAnvendelse"] = "150"
    units.to_csv(tmp_path / "enhed.csv", index=False)
    b = full(units=tmp_path / "enhed.csv").district.buildings.set_index("building_id")
    assert b.loc[bid(4), "tenure"] == "almen_youth"


def test_dar_husnummer_and_adressepunkt_as_two_files(tmp_path, imported) -> None:
    """Datafordeleren delivers one file per entity: Husnummer -> adgangspunkt -> Adressepunkt."""
    husnummer = pd.read_csv(ADDRESSES, dtype=str, keep_default_na=False)
    husnummer["adgangspunkt"] = [f"d0000000-0000-4000-8000-00000000000{i}" for i in (3, 6)]
    points = {"id_lokalId": husnummer["adgangspunkt"], "position": husnummer["position"]}
    pd.DataFrame(points).to_csv(tmp_path / "adressepunkt.csv", index=False)
    husnummer.drop(columns=["position"]).to_csv(tmp_path / "husnummer.csv", index=False)
    result = full(
        addresses=tmp_path / "husnummer.csv", address_points=tmp_path / "adressepunkt.csv"
    )
    join = next(n for n in result.report.notes if n.startswith("Join BBR"))
    assert join.endswith("2 by the point of its DAR address inside a footprint.")
    b = result.district.buildings.set_index("building_id")
    assert b.loc[bid(3), "tenure"] == "owner_occupied" and b.loc[bid(3), "name"] == (
        "Vollsmose Allé 12"
    )
    with pytest.raises(InputError, match=r"husnummer\.csv: no position; give the DAR "
                       "Adressepunkt file"):  # fmt: skip
        full(addresses=tmp_path / "husnummer.csv")


def test_service_buildings_are_also_pois_inside_their_footprint(tmp_path, imported) -> None:
    p = imported.district.pois
    # only B5 (321 kontor) has a service use in the fixture
    assert p[["poi_id", "kind"]].values.tolist() == [[f"bbr:{bid(5)}", "workplace"]]
    b = imported.district.buildings.set_index("building_id")
    assert b.loc[bid(5)].geometry.contains(p.geometry.iloc[0])
    bbr = _edit_csv(BBR, tmp_path / "bbr.csv", byg021BygningensAnvendelse=(4, "441"))
    d = full(bbr=bbr).district
    assert d.buildings.set_index("building_id").loc[bid(5), "use"] == "daycare"
    assert d.pois["kind"].tolist() == ["daycare"]


def test_only_current_registrations_are_read_and_history_is_refused(tmp_path) -> None:
    # B2 demolished (status 10, not 6/7): dropped and counted; its footprint stays
    bbr = _edit_csv(BBR, tmp_path / "bbr.csv", status=(1, "10"))
    result = full(bbr=bbr)
    assert result.report.dropped["buildings: BBR building with status '10' (not current)"] == 1
    b = result.district.buildings.set_index("geodanmark_id")
    assert b.loc["f0000000-0000-4000-8000-000000000002", "use"] == "other"
    # its 12 units are not of a building in the file any more
    assert result.report.dropped["buildings: BBR unit of a building not in the BBR file"] == 12
    assert result.district.buildings["dwellings"].sum() == 51 - 12
    # two registrations of one building: the history, not the current state
    rows = BBR.read_text(encoding="utf-8").splitlines()
    (tmp_path / "twice.csv").write_text("\n".join([*rows, rows[1]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"id_lokalId \['{bid(1)}'\] occur more than once"):
        full(bbr=tmp_path / "twice.csv")


def test_cli_unknown_codes_error_exits_2(tmp_path) -> None:
    bbr = _edit_csv(BBR, tmp_path / "bbr.csv", byg066Ejerforhold=(0, "99"))
    out = tmp_path / "district.gpkg"
    argv = ["import-dk", "--bbr", str(bbr), "--units", str(UNITS), "--buildings",
            str(FOOTPRINTS), "--addresses", str(ADDRESSES), "--unknown-codes", "error",
            "-o", str(out)]  # fmt: skip
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert "byg066Ejerforhold '99' ×1" in result.output
    assert not out.exists()


def test_a_point_in_two_overlapping_footprints_takes_the_lower_index() -> None:
    from vollsmose_gis.sources.dk.mapping import _containing

    # footprint 1 lies west of footprint 0, so the tree holds it first and its
    # query yields 1 before 0 for a point in both; the first footprint must win
    footprints = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(-5, 0, 5, 10)], crs="EPSG:25832"
    )
    points = [shapely.Point(2, 5), None, shapely.Point(-3, 5), shapely.Point(50, 50)]
    assert _containing(footprints, points).tolist() == [0, -1, 1, -1]
    # and the same with the footprints' order swapped
    swapped = gpd.GeoDataFrame(geometry=footprints.geometry[::-1].to_list(), crs="EPSG:25832")
    assert _containing(swapped, points).tolist() == [0, -1, 0, -1]
