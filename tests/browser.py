"""Headless Chromium for the HTML tests: open a page offline, collect what a person would see.

Debian's ``chromium`` and ``chromium-driver`` (installed by ``.ci/run``) are driven by
selenium.  Every request to ``http://`` or ``https://`` is blocked through the Chrome
DevTools Protocol (``Network.setBlockedURLs``) and every request the page makes is
recorded from the performance log, so a test can assert that a page renders without
the network.  Without Chromium the tests skip (locally) or fail (CI, through
``tests.conftest.skip_or_fail``).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


@dataclass
class Page:
    """What a page showed: console messages, requests, alerts, a screenshot."""

    console: list[dict[str, Any]]
    requests: list[str]
    alert: str | None
    screenshot_png: bytes
    title: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        """Console messages of level SEVERE (JavaScript errors, failed loads)."""
        return [e["message"] for e in self.console if e.get("level") == "SEVERE"]

    @property
    def network_requests(self) -> list[str]:
        """Requests the page tried to make to http(s) servers."""
        return [u for u in self.requests if u.startswith(("http://", "https://"))]


def png_colours(png: bytes, *, sample: int = 4) -> int:
    """Number of distinct colours of a PNG (every ``sample``-th pixel)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = image.tobytes()
    step = 3 * sample
    return len({pixels[i : i + 3] for i in range(0, len(pixels) - 2, step)})


class Browser:
    """One headless Chromium session; :meth:`open` loads a file with the network blocked."""

    def __init__(self, width: int = 1280, height: int = 860) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.mkdtemp(prefix="vg-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd(
            "Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]}
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        shutil.rmtree(self._profile, ignore_errors=True)

    def open(self, path: Path, *, settle_s: float = 0.8, script: str | None = None) -> Page:
        """Load ``path``, wait for it to render, run ``script`` (its return value goes to
        ``Page.info``), take a screenshot and collect the logs.
        """
        from selenium.common.exceptions import NoAlertPresentException

        driver = self.driver
        driver.get_log("browser")  # drop what earlier pages left
        driver.get_log("performance")
        driver.get(Path(path).resolve().as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.readyState") != "complete":
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(settle_s)  # let Leaflet lay out tiles-free maps and fit bounds
        alert = None
        try:
            alert_box = driver.switch_to.alert
            alert = alert_box.text
            alert_box.dismiss()
        except NoAlertPresentException:
            pass
        info = driver.execute_script(script) if script else {}
        png = base64.b64decode(driver.get_screenshot_as_base64())
        requests = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
        return Page(driver.get_log("browser"), requests, alert, png, driver.title, info or {})


@contextlib.contextmanager
def browser(width: int = 1280, height: int = 860) -> Iterator[Browser]:
    """A headless Chromium, or skip/fail (``skip_or_fail``) when it is not installed."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        skip_or_fail(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER})")
    try:
        import selenium  # noqa: F401
    except ImportError:
        skip_or_fail("selenium is not installed (pip install -e '.[test]')")
    session = Browser(width, height)
    try:
        yield session
    finally:
        session.close()


LAYER_NAMES_JS = """
var out = [];
document.querySelectorAll('.leaflet-control-layers-overlays label span span').forEach(
    function (el) { out.push(el.textContent.trim()); });
return out;
"""

MAP_STATE_JS = """
return {
    leaflet: typeof L !== 'undefined' ? L.version : null,
    maps: document.querySelectorAll('.leaflet-container').length,
    layers: Array.from(document.querySelectorAll(
        '.leaflet-control-layers-overlays label span span')).map(function (el) {
            return el.textContent.trim(); }),
    legends: Array.from(document.querySelectorAll('.vg-legend')).map(function (el) {
        return el.innerText; }),
    titles: Array.from(document.querySelectorAll('.vg-title')).map(function (el) {
        return el.innerText; }),
    attribution: Array.from(document.querySelectorAll('.leaflet-control-attribution')).map(
        function (el) { return el.textContent; }),
    paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
    images: document.querySelectorAll('img.leaflet-image-layer').length,
    scripts_in_body: document.querySelectorAll('.leaflet-tooltip script').length
};
"""
