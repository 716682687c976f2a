"""The HTML report in headless Chromium: no console errors, every image loaded, every section there, every
link of the summary and contents landing on its section."""

import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO, call_main
from made_results import make_results

from fer_bench.report.render import render_report

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("FER_BENCH_TEST_ARTIFACTS", REPO / "results" / "test-artifacts"))


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are missing: .ci/run installs them")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,2000",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


@pytest.mark.slow
def test_report_opens_cleanly_in_chromium(browser, smoke_results, tmp_path):
    out, run = smoke_results
    assert run.returncode == 0, run.stderr[-2000:]
    report = tmp_path / "report.html"
    result = call_main("report", out, "-o", report)
    assert result.returncode == 0, result.stderr
    browser.get(report.as_uri())
    widths = browser.execute_script("return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) >= 7 and all(w > 0 for w in widths), widths
    sections = browser.execute_script("return Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert sections == ["spec-smoke", "audit", "anchors", "environment"]
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report.png"))


@pytest.mark.slow
def test_summary_comes_first_and_every_link_lands_in_chromium(browser, tmp_path):
    results = make_results(tmp_path / "results", tmp_path / "specs")
    report = render_report([results], tmp_path / "report.html")
    browser.get(report.as_uri())
    assert browser.execute_script("return document.querySelector('header, section').id") == "summary"
    # Following a link makes its target the page's :target, which is what "resolves" means to a reader.
    landed = browser.execute_script("""return Array.from(document.querySelectorAll('a[href^="#"]')).map(a => {
        a.click();
        const target = document.querySelector(':target');
        return [a.getAttribute('href'), target && target.id];
    });""")
    assert len(landed) == 3 + 6 and all(href == f"#{target}" for href, target in landed), landed
    sections = browser.execute_script("return Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert sections == ["spec-Listed.v2", "spec-order", "spec-unread", "audit", "anchors", "environment"]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    browser.execute_script("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report-summary.png"))
