"""The council report on paper: the print stylesheet, PDF by headless Chromium, the CLI."""

from __future__ import annotations

import contextlib
import re
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.browser import CHROMIUM, browser
from tests.conftest import skip_or_fail
from tests.test_report import MODULES, result  # noqa: F401 - the scored fixture, reused
from vollsmose_gis import InputError, report
from vollsmose_gis.cli import app

runner = CliRunner()

A4_PT = (595, 842)  # 210 mm x 297 mm at 72 pt per inch


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    """Width and height (pt) of every page of a PDF, from its page objects' MediaBox."""
    pages = re.findall(rb"/Type\s*/Page\b(?!s)(.*?)endobj", data, re.S)
    boxes = []
    for body in pages:
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", body)
        assert box, body[:200]
        x0, y0, x1, y1 = (float(v) for v in box.groups())
        boxes.append((x1 - x0, y1 - y0))
    return boxes


def drawn_lines(data: bytes) -> int:
    """Straight path segments (the ``l`` operator) in a PDF's compressed content streams."""
    count = 0
    for match in re.finditer(rb"<<([^>]*?/FlateDecode[^>]*?)>>\s*stream\r?\n", data, re.S):
        if b"/Image" in match.group(1):
            continue
        end = data.find(b"endstream", match.end())
        try:
            content = zlib.decompressobj().decompress(data[match.end() : end])
        except zlib.error:
            continue
        count += len(re.findall(rb"[\d.]+ [\d.]+ l\n", content))
    return count


def need_chromium() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"headless Chromium not installed ({CHROMIUM})")


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):  # noqa: F811 - the fixture imported above
    return report.write_report(result, tmp_path_factory.mktemp("report") / "report.html")


@pytest.mark.browser
def test_report_prints_to_an_a4_pdf_with_its_maps(page, tmp_path):
    need_chromium()
    pdf = report.print_pdf(page, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    sizes = pdf_pages(data)
    # every section starts a page: question, answer, scenarios, robustness, four goals,
    # the change map, the analyses' notes, the method
    assert len(sizes) >= 11
    assert {(round(w), round(h)) for w, h in sizes} == {A4_PT}
    # the maps (Leaflet in iframes) are printed as vectors: the same report with the maps
    # hidden draws a few dozen straight segments (table rules, charts are images), with
    # them thousands (streets, building outlines, boundaries)
    hidden = tmp_path / "no-maps.html"
    hidden.write_text(
        page.read_text(encoding="utf-8").replace('class="map"', 'class="map" hidden'),
        encoding="utf-8",
    )
    without = report.print_pdf(hidden, tmp_path / "no-maps.pdf").read_bytes()
    assert drawn_lines(without) < 200
    assert drawn_lines(data) > drawn_lines(without) + 1000
    with pytest.raises(FileExistsError):
        report.print_pdf(page, pdf)
    assert pdf.read_bytes() == data


PRINT_JS = """
function style(el, key) { return getComputedStyle(el).getPropertyValue(key); }
return {
    controls: style(document.getElementById('live-weights'), 'display'),
    nav: style(document.querySelector('nav'), 'display'),
    answer: style(document.getElementById('answer'), 'break-before'),
    question: style(document.getElementById('question'), 'break-before'),
    row: style(document.querySelector('#ranking tbody tr'), 'break-inside'),
    map: style(document.querySelector('iframe.map'), 'break-inside'),
    map_height: document.querySelector('iframe.map').getBoundingClientRect().height
};
"""


@pytest.mark.browser
def test_print_stylesheet_hides_the_controls_and_keeps_rows_whole(page):
    with browser(688, 1000) as chrome:
        screen = chrome.open(page, settle_s=0.3, script=PRINT_JS).info
        chrome.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        printed = chrome.driver.execute_script(PRINT_JS)
    assert screen["controls"] == "block" and screen["answer"] == "auto"
    assert printed["controls"] == "none" and printed["nav"] == "none"
    assert printed["answer"] == "page" and printed["question"] == "auto"
    assert printed["row"] == "avoid" and printed["map"] == "avoid"
    assert printed["map_height"] == pytest.approx(115 / 25.4 * 96 + 2, abs=0.5)  # 115 mm, border


def test_missing_chromium_is_named_and_nothing_is_written(page, tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    missing = tmp_path / "no" / "chromium"
    with pytest.raises(InputError, match=r"Chromium not found at .*apt install chromium"):
        report.print_pdf(page, target, chromium=missing)
    assert not target.exists()
    # the same through the environment, the CLI (exit 2) and the main job
    monkeypatch.setenv(report.CHROMIUM_ENV, str(missing))
    with pytest.raises(InputError, match=r"VOLLSMOSE_GIS_CHROMIUM"):
        report.find_chromium()
    out = runner.invoke(app, ["report", str(page), "--pdf", "-o", str(target)])
    assert out.exit_code == 2
    assert "apt install chromium" in " ".join(out.output.split())
    assert not target.exists()
    from vollsmose_gis.job import run_job
    from vollsmose_gis.scenario import Scenario

    with pytest.raises(InputError, match="Chromium not found"):
        run_job([Scenario(name="As is")], tmp_path / "out", pdf=True)
    assert not (tmp_path / "out").exists()  # refused before any work
    scenario = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
    out = runner.invoke(app, ["score", str(scenario), "-o", str(tmp_path / "out"), "--pdf"])
    assert out.exit_code == 2 and "Chromium not found" in " ".join(out.output.split())
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process may not write to: read-only by mode, or for root (who
    writes through modes) one the kernel refuses (``/proc/sys``)."""
    import os

    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    return Path("/proc/sys")


def chromium_processes(marker: str) -> list[int]:
    """The processes whose command line names ``marker`` (read from ``/proc``)."""
    import os

    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:  # gone meanwhile
            pass
    return found


def stopped_with_every_child(folder: Path) -> None:
    """A timeout stops Chromium's whole process tree: its zygote, renderers and GPU
    process, and Chromium itself when a launcher script started it without ``exec``."""
    import os
    import signal
    import tempfile
    import time

    folder.mkdir()
    page = folder / "hang.html"  # never finishes loading, so never prints
    page.write_text("<p>busy</p><script>while (true) {}</script>", encoding="utf-8")
    launcher = folder / "chromium-launcher"
    launcher.write_text(f'#!/bin/sh\n"{CHROMIUM}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    profiles = folder / "tmp"  # Chromium's user-data-dir is made here: a unique path
    profiles.mkdir()
    saved = tempfile.tempdir
    tempfile.tempdir = str(profiles)
    try:
        for browser in (CHROMIUM, launcher):
            with pytest.raises(InputError, match="did not finish printing"):
                report.print_pdf(page, folder / "hang.pdf", chromium=browser, timeout_s=3)
            deadline = time.monotonic() + 5
            while (left := chromium_processes(str(folder))) and time.monotonic() < deadline:
                time.sleep(0.1)
            for pid in left:  # leave nothing running, even when the check fails
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            assert left == [], f"Chromium processes left after the timeout ({browser})"
    finally:
        tempfile.tempdir = saved
    assert not (folder / "hang.pdf").exists()


def test_unwritable_or_missing_output_is_refused(page, tmp_path):
    need_chromium()
    import os

    folder = unwritable_folder(tmp_path)
    assert not os.access(folder, os.W_OK)
    with pytest.raises(InputError, match="no write permission"):
        report.print_pdf(page, folder / "report.pdf")
    assert not (folder / "report.pdf").exists()
    if folder.is_relative_to(tmp_path):
        folder.chmod(0o700)
        folder.rmdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InputError, match="does not exist"):
        report.print_pdf(page, blocker / "report.pdf")
    with pytest.raises(InputError, match="no such file"):
        report.print_pdf(tmp_path / "missing.html", tmp_path / "report.pdf")
    # Chromium stopped at the timeout: an InputError, the old PDF kept, no temporary left
    old = tmp_path / "report.pdf"
    old.write_bytes(b"%PDF-1.4 old")
    with pytest.raises(InputError, match="did not finish printing"):
        report.print_pdf(page, old, overwrite=True, timeout_s=0.001)
    assert old.read_bytes() == b"%PDF-1.4 old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "report.pdf"]
    stopped_with_every_child(tmp_path / "hang")
    out = runner.invoke(app, ["report", str(page), "-o", str(tmp_path / "x.pdf")])
    assert out.exit_code == 2 and "add --pdf" in out.output


@pytest.mark.browser
def test_cli_prints_beside_the_report(page, tmp_path):
    need_chromium()
    copy = tmp_path / "council.html"
    copy.write_bytes(page.read_bytes())
    out = runner.invoke(app, ["report", str(copy), "--pdf"])
    assert out.exit_code == 0, out.output
    pdf = tmp_path / "council.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert f"wrote {pdf}" in " ".join(out.output.split())
    again = runner.invoke(app, ["report", str(copy), "--pdf"])
    assert again.exit_code == 2 and "--overwrite" in again.output


@pytest.mark.browser
def test_main_job_writes_the_pdf_beside_the_report(result, tmp_path):  # noqa: F811
    need_chromium()
    from vollsmose_gis.job import run_job

    plans = [r.scenario for r in result.results.values()]
    job = run_job(
        plans, tmp_path / "out", district=result.baseline.district, modules=MODULES, pdf=True
    )
    pdf = tmp_path / "out" / "report.pdf"
    assert pdf in job.written and (tmp_path / "out" / "report.html") in job.written
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(pdf_pages(data)) >= 11
