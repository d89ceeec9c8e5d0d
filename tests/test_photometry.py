"""Photometry: EULUMDAT and IES parsers, symmetry expansion, interpolation, generic curves.

Expected values are read off the files by hand (the road luminaire's stored table is
printed in ../shared/data/photometry/road_luminaire.ldt, one value per line).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from vollsmose_gis import InputError
from vollsmose_gis.photometry import (
    PhotometryFileError,
    TabulatedPhotometry,
    _bilinear,
    generic_photometry,
    read_ies,
    read_ldt,
    read_photometry,
)

GAMMAS = [0, 10, 20, 30, 35, 40, 45, 47.5, 50, 52.5, 55, 57.5, 60, 62.5, 65, 67.5, 70, 72.5,
          75, 77.5, 80, 82.5, 85, 87.5, 90]  # fmt: skip


@pytest.fixture(scope="module")
def road(shared_data: Path) -> TabulatedPhotometry:
    return read_ldt(shared_data / "photometry" / "road_luminaire.ldt")


@pytest.fixture(scope="module")
def road_path(shared_data: Path) -> Path:
    return shared_data / "photometry" / "road_luminaire.ldt"


# --------------------------------------------------------------------------- the real file


def test_ldt_header(road: TabulatedPhotometry) -> None:
    assert road.name == "Road Runner"
    assert road.reference_flux_lm == 33200
    assert road.watts == 276
    assert road.light_output_ratio == pytest.approx(0.8442)
    np.testing.assert_array_equal(road.gamma_angles, GAMMAS)
    assert road.c_angles[0] == 0 and road.c_angles[-1] == 360
    assert road.c_angles.size == 53  # 52 planes + the closing 360° copy of C0


@pytest.mark.parametrize(
    ("c", "gamma", "expected"),
    [
        (90, 0, 184),  # first stored plane (Isym 3 stores C90..C270), first value
        (90, 20, 295),
        (105, 30, 284),
        (165, 60, 533),  # the peak of the distribution
        (180, 70, 396),
        (270, 60, 56),
        (270, 90, 2),  # last value of the file
    ],
)
def test_ldt_values_at_stored_angles(
    road: TabulatedPhotometry, c: float, gamma: float, expected: float
) -> None:
    assert float(road.intensity(c, gamma)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_ldt_symmetry_c90_c270_mirror(road: TabulatedPhotometry, gamma: float) -> None:
    # Isym 3: I(C) = I(180° - C): C0 from C180, C45 from C135, C300 from C240, C355 from C185
    for c, mirror in ((0, 180), (45, 135), (300, 240), (355, 185), (10, 170)):
        assert float(road.intensity(c, gamma)) == float(road.intensity(mirror, gamma))
    assert float(road.intensity(0, 45)) == 220  # row C180, γ 45° of the file


def test_ldt_interpolated_angle(road: TabulatedPhotometry) -> None:
    # C 162.5° between planes 160 and 165, γ 61.25° between 60 and 62.5:
    # bilinear = mean of the four corners (498, 478; 533, 520) = 507.25
    assert float(road.intensity(162.5, 61.25)) == pytest.approx(507.25, abs=1e-9)
    assert float(road.intensity(17.5, 61.25)) == pytest.approx(507.25, abs=1e-9)  # mirrored
    # along γ only: C 90, γ 25 between 295 (20°) and 281 (30°)
    assert float(road.intensity(90, 25)) == pytest.approx(288.0, abs=1e-9)
    # across the wrap-around 355° -> 360° (= C0 = C180): C 357.5, γ 0 = 184
    assert float(road.intensity(357.5, 0)) == pytest.approx(184.0)
    # beyond the measured range (γ > 90°) nothing
    assert float(road.intensity(90, 120)) == 0.0


def test_ldt_flux_matches_its_light_output_ratio(road: TabulatedPhotometry) -> None:
    # integrating the expanded table gives the file's LOR (84.42 %) within 1 %
    assert road.flux_per_klm() / 1000 == pytest.approx(road.light_output_ratio, rel=0.01)


def test_regular_table_equals_bilinear_on_the_file_grid(road: TabulatedPhotometry) -> None:
    rng = np.random.default_rng(1)
    c = rng.uniform(0, 360, 20_000)
    g = rng.uniform(0, 95, 20_000)
    reference = _bilinear(road.c_angles, road.gamma_angles, road.values, c, g)
    np.testing.assert_allclose(road.intensity(c, g), reference, rtol=0, atol=1e-9)


def test_radians_lookup_equals_degrees(road: TabulatedPhotometry) -> None:
    rng = np.random.default_rng(3)
    c = rng.uniform(-math.pi, math.pi, 20_000)
    g = rng.uniform(0, math.pi, 20_000)
    expected = road.intensity(np.degrees(c), np.degrees(g))
    np.testing.assert_allclose(road.intensity_radians(c, g), expected, rtol=1e-12, atol=1e-9)


def test_envelope_bounds_every_intensity(road: TabulatedPhotometry) -> None:
    rng = np.random.default_rng(2)
    c = rng.uniform(0, 360, 20_000)
    g = rng.uniform(0, 90, 20_000)
    low = g - rng.uniform(0, 5, 20_000)
    high = g + rng.uniform(0, 5, 20_000)
    envelope = road.envelope(low, high)
    assert np.all(road.intensity(c, g) <= envelope + 1e-9)
    # tight at the nodes: the range [60°, 62.5°] peaks at 533 cd/klm (C165, γ 60°)
    assert float(road.envelope(np.array([60.5]), np.array([62.0]))[0]) == 533.0
    assert float(road.envelope(np.array([91.0]), np.array([95.0]))[0]) == 0.0


# --------------------------------------------------------------------------- symmetry flags


def ldt_text(isym: int, c_angles: list[float], gammas: list[float], planes: list[list[float]],
             *, flux: float = 1000.0) -> str:  # fmt: skip
    """A minimal EULUMDAT file (one value per line, as the format prescribes)."""
    head = ["Test", "1", str(isym), str(len(c_angles)), "90", str(len(gammas)), "45", "r",
            "Test luminaire", "T1", "t.ldt", "2024", *["100"] * 9, "100", "80", "1", "0", "1",
            "1", "LED", str(flux), "3000", "80", "10", *["0.5"] * 10]  # fmt: skip
    body = [f"{a:g}" for a in c_angles] + [f"{g:g}" for g in gammas]
    body += [f"{v:g}" for plane in planes for v in plane]
    return "\n".join(head + body) + "\n"


C4 = [0.0, 90.0, 180.0, 270.0]
G3 = [0.0, 45.0, 90.0]


def plane(k: int) -> list[float]:
    return [10.0 * (k + 1) + j for j in range(3)]


def test_isym_0_stores_every_plane(tmp_path: Path) -> None:
    path = tmp_path / "s0.ldt"
    path.write_text(ldt_text(0, C4, G3, [plane(k) for k in range(4)]))
    p = read_ldt(path)
    for k, c in enumerate(C4):
        np.testing.assert_allclose(p.intensity(c, np.array(G3)), plane(k))
    assert float(p.intensity(135, 0)) == pytest.approx(25.0)  # between C90 (20) and C180 (30)


def test_isym_1_is_rotationally_symmetric(tmp_path: Path) -> None:
    path = tmp_path / "s1.ldt"
    path.write_text(ldt_text(1, C4, G3, [plane(0)]))
    p = read_ldt(path)
    assert p.rotationally_symmetric
    for c in (0, 37, 90, 200, 359):
        np.testing.assert_allclose(p.intensity(c, np.array(G3)), plane(0))


def test_isym_2_mirrors_about_c0_c180(tmp_path: Path) -> None:
    path = tmp_path / "s2.ldt"
    path.write_text(ldt_text(2, C4, G3, [plane(k) for k in range(3)]))  # C0, C90, C180
    p = read_ldt(path)
    np.testing.assert_allclose(p.intensity(270, np.array(G3)), plane(1))  # C270 = C90
    assert float(p.intensity(300, 45)) == float(p.intensity(60, 45))


def test_isym_3_stores_c90_to_c270(tmp_path: Path) -> None:
    path = tmp_path / "s3.ldt"
    path.write_text(ldt_text(3, C4, G3, [plane(k) for k in range(3)]))  # C90, C180, C270
    p = read_ldt(path)
    np.testing.assert_allclose(p.intensity(90, np.array(G3)), plane(0))
    np.testing.assert_allclose(p.intensity(180, np.array(G3)), plane(1))
    np.testing.assert_allclose(p.intensity(270, np.array(G3)), plane(2))
    np.testing.assert_allclose(p.intensity(0, np.array(G3)), plane(1))  # C0 = C180


def test_isym_4_mirrors_about_both_planes(tmp_path: Path) -> None:
    path = tmp_path / "s4.ldt"
    path.write_text(ldt_text(4, C4, G3, [plane(0), plane(1)]))  # C0, C90
    p = read_ldt(path)
    np.testing.assert_allclose(p.intensity(180, np.array(G3)), plane(0))
    np.testing.assert_allclose(p.intensity(270, np.array(G3)), plane(1))
    assert float(p.intensity(120, 45)) == pytest.approx(float(p.intensity(60, 45)), rel=1e-12)
    assert float(p.intensity(240, 45)) == pytest.approx(float(p.intensity(60, 45)), rel=1e-12)


def test_ldt_decimal_comma_and_conversion_factor(tmp_path: Path) -> None:
    text = ldt_text(1, C4, G3, [[100.0, 50.5, 0.0]]).replace("50.5", "50,5")
    lines = text.splitlines()
    lines[23] = "2"  # line 24: conversion factor
    path = tmp_path / "comma.ldt"
    path.write_text("\n".join(lines) + "\n")
    assert float(read_ldt(path).intensity(0, 45)) == pytest.approx(101.0)


# --------------------------------------------------------------------------- malformed files


def _broken(tmp_path: Path, source: Path, line: int, value: str | None) -> Path:
    lines = source.read_text(encoding="latin-1").splitlines()
    if value is None:
        lines = lines[:line]
    else:
        lines[line - 1] = value
    path = tmp_path / "broken.ldt"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


@pytest.mark.parametrize(
    ("line", "value", "message"),
    [
        (3, "7", "line 3: the symmetry indicator"),
        (4, "many", "line 4: expected a number for the number of C planes"),
        (96, "-5", "line 96: γ angle"),  # second γ angle
        (97, "5", "line 97: γ angle must increase"),
        (130, "abc", "line 130: expected a number for intensity 11"),
        (131, "-3", "line 131: negative luminous intensity"),
        (400, None, "line 401: file ends where intensity"),
    ],
)
def test_malformed_ldt_names_file_and_line(
    tmp_path: Path, road_path: Path, line: int, value: str | None, message: str
) -> None:
    path = _broken(tmp_path, road_path, line, value)
    with pytest.raises(PhotometryFileError, match=message) as info:
        read_ldt(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, InputError)


def test_isym_3_without_c90_plane_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nosym.ldt"
    path.write_text(ldt_text(3, [0, 80, 180, 280], G3, [plane(k) for k in range(3)]))
    with pytest.raises(PhotometryFileError, match="C planes 90° to 270°"):
        read_ldt(path)


def test_missing_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(PhotometryFileError, match="no such file"):
        read_photometry(tmp_path / "nothing.ldt")
    other = tmp_path / "lamp.xyz"
    other.write_text("x")
    with pytest.raises(PhotometryFileError, match="unknown photometry format"):
        read_photometry(other)


# --------------------------------------------------------------------------- IES LM-63

IES = """IESNA:LM-63-2002
[TEST] written by hand for vollsmose-gis tests
[LUMINAIRE] Test lantern
[MANUFAC] nobody
TILT=NONE
1 2000 1.5 3 3 1 2 0.5 0.5 0.2
0.9 1.0 30
0 45 90
0 45 90
100 80 10
100 60 5
100 40 0
"""


def test_ies_quadrant_symmetry_and_normalisation(tmp_path: Path) -> None:
    path = tmp_path / "lantern.ies"
    path.write_text(IES)
    p = read_ies(path)
    k = 1.5 * 0.9 * 1000 / 2000  # multiplier × ballast factor per klm of 1 × 2000 lm
    assert p.name == "Test lantern"
    assert p.reference_flux_lm == 2000 and p.watts == 30
    assert float(p.intensity(0, 45)) == pytest.approx(80 * k)
    assert float(p.intensity(90, 45)) == pytest.approx(40 * k)
    assert float(p.intensity(270, 45)) == pytest.approx(40 * k)  # mirror of 90
    assert float(p.intensity(135, 45)) == pytest.approx(60 * k)  # mirror of 45
    assert float(p.intensity(180, 90)) == pytest.approx(10 * k)  # mirror of 0
    assert float(p.intensity(315, 0)) == pytest.approx(100 * k)
    # bilinear: C 22.5°, γ 22.5° -> mean of 100, 80, 100, 60
    assert float(p.intensity(22.5, 22.5)) == pytest.approx(85 * k)
    assert float(p.intensity(0, 120)) == 0.0
    assert read_photometry(path) is read_photometry(path)  # cached


def test_ies_absolute_photometry_uses_integrated_flux(tmp_path: Path) -> None:
    angles = " ".join(str(a) for a in range(0, 91, 5))
    text = (
        "IESNA:LM-63-2002\n[LUMINAIRE] absolute\nTILT=NONE\n"
        f"1 -1 1 19 1 1 2 0 0 0\n1 1 10\n{angles}\n0\n" + " ".join(["100"] * 19) + "\n"
    )
    path = tmp_path / "absolute.ies"
    path.write_text(text)
    p = read_ies(path)
    # a luminaire emitting its integrated flux gives back the file's 100 cd
    assert float(p.intensity(123, 30)) * p.reference_flux_lm / 1000 == pytest.approx(100.0)
    assert p.light_output_ratio == pytest.approx(1.0)
    assert p.reference_flux_lm == pytest.approx(200 * math.pi, rel=2e-3)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("0.9 1.0 30", "0.9 x 30", r"line 7: expected a number for the ballast-lamp factor"),
        ("1 2000 1.5 3 3 1 2", "1 2000 1.5 3 3 2 2", "line 6: photometric type 2 is not"),
        ("100 40 0\n", "100 40\n", "line 12: file ends where candela value 9"),
        ("0 45 90\n0 45 90", "0 45 90\n0 45 45", "line 9: horizontal angles must increase"),
        ("TILT=NONE", "TILT=lamp.tlt", "line 5: TILT=LAMP.TLT"),
        ("TILT=NONE", "TLT", "no TILT= line"),
    ],
)
def test_malformed_ies_names_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = tmp_path / "bad.ies"
    path.write_text(IES.replace(old, new, 1))
    with pytest.raises(PhotometryFileError, match=message) as info:
        read_ies(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- generic curves


@pytest.mark.parametrize("name", ["street_lantern", "post_top", "bollard", "floodlight"])
def test_generic_curves_emit_their_lumens(name: str) -> None:
    p = generic_photometry(name)
    cutoff = math.radians(p.cutoff_deg)
    flux, _ = integrate.quad(
        lambda g: 2 * math.pi * float(p.intensity(0, math.degrees(g))) * math.sin(g), 0, cutoff
    )
    assert flux == pytest.approx(1000.0, rel=1e-6)
    assert float(p.intensity(45, p.cutoff_deg + 0.1)) == 0.0
    gammas = np.linspace(0, 89, 500)
    low, high = gammas - 3.0, gammas + 1.0
    assert np.all(p.intensity(0, gammas) <= p.envelope(low, high) + 1e-9)
    at_low = p.intensity(0, np.clip(low, 0, None))
    at_high = np.where(low < p.cutoff_deg, p.intensity(0, np.minimum(high, p.cutoff_deg - 1e-9)), 0)
    np.testing.assert_allclose(p.envelope(low, high), np.maximum(at_low, at_high), rtol=1e-6)


def test_street_lantern_is_a_batwing() -> None:
    p = generic_photometry("street_lantern")
    # I = I0 / cos γ: twice the nadir value at 60°
    assert float(p.intensity(0, 60)) == pytest.approx(2 * float(p.intensity(0, 0)))


def test_unknown_generic_curve() -> None:
    with pytest.raises(InputError, match="unknown light distribution 'laser'"):
        generic_photometry("laser")


def test_ies_tilt_include_scales_the_lamp_output_at_its_tilt(tmp_path: Path) -> None:
    tilted = IES.replace("TILT=NONE\n", "TILT=INCLUDE\n1\n3\n0 15 30\n1.0 0.95 0.9\n")
    (tmp_path / "plain.ies").write_text(IES)
    (tmp_path / "tilted.ies").write_text(tilted)
    p = read_ies(tmp_path / "tilted.ies")
    assert p.tilt_angles == (0.0, 15.0, 30.0) and p.tilt_factors == (1.0, 0.95, 0.9)
    assert p.tilt_factor(0) == 1.0 and p.tilt_factor(-15) == pytest.approx(0.95)
    assert p.tilt_factor(22.5) == pytest.approx(0.925) and p.tilt_factor(60) == 0.9
    assert read_ies(tmp_path / "plain.ies").tilt_factor(15) == 1.0
    # the same lamp mounted at 15°: every point gets 0.95 of the light of the table without
    from shapely.geometry import Point

    from tests.factories import X0, Y0, frame, small_district
    from vollsmose_gis import lighting

    def lamp(file: str) -> object:
        lights = frame(
            [
                dict(
                    light_id="L1",
                    lumens=2000.0,
                    height_m=5.0,
                    distribution="photometry_file",
                    maintenance_factor=0.8,
                    watts=20.0,
                    photometry_file=file,
                    rotation_deg=0.0,
                    tilt_deg=15.0,
                    geometry=Point(X0 + 100, Y0 + 100),
                )
            ]
        )
        return small_district(lights=lights)

    points = [(X0 + 100, Y0 + 100), (X0 + 110, Y0 + 103), (X0 + 90, Y0 + 95)]
    plain = lighting.illuminance_at(lamp("plain.ies"), points, photometry_dir=tmp_path)
    scaled = lighting.illuminance_at(lamp("tilted.ies"), points, photometry_dir=tmp_path)
    np.testing.assert_allclose(scaled, 0.95 * plain, rtol=1e-12)
    assert plain.min() > 0


def test_ies_tilt_angles_must_increase(tmp_path: Path) -> None:
    path = tmp_path / "bad.ies"
    path.write_text(IES.replace("TILT=NONE\n", "TILT=INCLUDE\n1\n2\n15 0\n1.0 0.9\n"))
    with pytest.raises(InputError, match=r"bad\.ies.*tilt angles must .*increase strictly"):
        read_ies(path)
