"""The web page end to end in headless Chromium: pick a clip, type a title, watch progress, see the result."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

pytest_plugins = ["serve_fixtures"]

pytestmark = pytest.mark.timeout(300)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture()
def browser(tmp_path):
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("headless browser test needs Debian chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"  # selenium must not phone home
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1700", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    # An explicit driver path keeps Selenium Manager (which would download) out of the way.
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER, log_output=str(tmp_path / "driver.log")),
                              options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(cond, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"browser: {what} not seen within {timeout_s} s")


def test_upload_and_result_in_headless_chromium(browser, live_server, tmp_path):
    from reelscore.media.synth import make_clip
    from selenium.webdriver.common.by import By

    clip = make_clip(tmp_path / "from_browser.mp4", 4.0, 72, 128, 15, seed=51)
    b = browser
    b.get(live_server.url + "/")
    assert "reelscore" in b.title
    b.find_element(By.ID, "file").send_keys(str(clip))
    _wait(lambda: b.find_element(By.ID, "submit").is_enabled(), 10, "submit enabled after picking a file")
    assert "from_browser.mp4" in b.find_element(By.ID, "drop-text").text
    b.find_element(By.ID, "title").send_keys("Skills for midfielders  football  soccer")
    b.find_element(By.ID, "description").send_keys("Drag to heel | subscribe for more")
    b.find_element(By.ID, "submit").click()

    states = set()

    def finished():
        states.add(b.find_element(By.ID, "status").get_attribute("data-state"))
        return b.find_element(By.ID, "result").get_attribute("data-status") in ("done", "failed")

    _wait(finished, 180, "a finished job")
    assert "busy" in states  # progress was shown while the job ran
    assert b.find_element(By.ID, "result").get_attribute("data-status") == "done", b.find_element(By.ID, "status-text").text
    assert b.find_element(By.ID, "status-text").text == "Done."
    cards = b.find_elements(By.CSS_SELECTOR, "#scores .score")
    assert [c.get_attribute("data-key") for c in cards] == ["ECR", "NAWP", "Quality MOS"]
    for card in cards:  # a number with its provenance, or "not available" with the reason
        value = card.find_element(By.CLASS_NAME, "value").text
        assert value == "not available" or float(value) >= 0
        assert card.find_element(By.CLASS_NAME, "prov").text.strip()
    assert b.find_elements(By.CSS_SELECTOR, "#timeline svg, #timeline .legend")
    _wait(lambda: len(b.find_elements(By.CSS_SELECTOR, "#frames img.loaded")) >= 1, 30, "thumbnails")
    natural = b.execute_script("const i = document.querySelector('#frames img.loaded'); return [i.naturalWidth, i.naturalHeight];")
    assert natural[1] > natural[0] > 0  # a real portrait frame arrived
    assert b.find_elements(By.CSS_SELECTOR, "#audio-tags li") and b.find_elements(By.CSS_SELECTOR, "#semantic li")
    errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"] if hasattr(b, "get_log") else []
    assert errors == [], errors

    shot = Path(os.environ.get("REELSCORE_SCREENSHOT_DIR", tmp_path)) / "serve_browser.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    b.find_element(By.TAG_NAME, "body")  # page settled
    assert b.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
