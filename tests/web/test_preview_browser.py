"""The card preview page in a real browser: Debian's Chromium driven by Playwright, against the real `serve`.

Each demo patient shows the cards and indicators the guideline calls for; a hostile condition name renders as text;
screenshots go to tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cds_service.web.preview import demo_bundle
from tests.served import Served

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium not installed (scripts/test does)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install '.[test]')")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'

EXPECTED = [
    pytest.param("demo-acute-day-9", {("nsaid-first-line", "info"), ("second-line", "info")},
                 id="acute-day-9-first-line-advice-no-alarm"),
    pytest.param("demo-cauda-equina", {("red-flags", "critical")}, id="cauda-equina-critical-red-flag"),
    pytest.param("demo-egfr-25", {("nsaid-contraindicated", "warning"), ("acetaminophen-alternative", "info")},
                 id="egfr-25-no-nsaid-acetaminophen-instead"),
    pytest.param("demo-chronic-opioids", {("opioid-high-dose", "critical"), ("opioid-benzodiazepine", "critical"),
                                          ("naloxone", "warning")},
                 id="120-mme-with-benzodiazepine-critical-and-naloxone"),
    pytest.param("demo-mri-day-10", {("imaging-overuse", "warning")}, id="mri-on-day-10-is-imaging-overuse"),
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    with Served(tmp_path_factory.mktemp("preview"), workers=1) as served, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served.base + "/")
        page.wait_for_selector("body[data-ready=true]")
        yield page, errors
        browser.close()


def run_and_read(page) -> set[tuple[str, str]]:
    page.evaluate("document.getElementById('cards').replaceChildren()")
    page.click("#run")
    page.wait_for_selector("#cards .card, #cards .error")
    return {(c.get_attribute("data-topic"), c.get_attribute("data-indicator"))
            for c in page.query_selector_all("#cards .card")}


def test_the_page_says_demo_and_loads_nothing_from_elsewhere(browser_page):
    page, errors = browser_page
    assert "demo" in page.inner_text("header").lower()
    assert len(page.query_selector_all("#demo option")) == 5
    assert all(src.startswith("/preview/static/") for src in page.eval_on_selector_all(
        "script[src], link[href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))"))
    assert errors == []


@pytest.mark.parametrize(("demo", "expected"), EXPECTED)
def test_each_demo_patient_shows_its_cards(browser_page, demo, expected):
    page, errors = browser_page
    page.check("input[name=source][value=demo]")
    page.select_option("#demo", demo)
    shown = run_and_read(page)
    page.screenshot(path=str(ARTIFACTS / f"preview-{demo}.png"), full_page=True)
    assert expected <= shown, shown
    assert json.loads(page.inner_text("#response-json"))["cards"]  # the raw response is shown beside the cards
    assert json.loads(page.inner_text("#request-json"))["hook"] == page.input_value("#hook")
    assert errors == []


def test_a_hostile_condition_name_renders_as_text(browser_page):
    page, errors = browser_page
    bundle = demo_bundle("demo-cauda-equina")
    bundle = json.loads(json.dumps(bundle))
    retention = next(e["resource"] for e in bundle["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0]
                     .get("code") == "R33.9")
    retention["code"]["coding"][0]["display"] = HOSTILE
    page.check("input[name=source][value=bundle]")
    page.fill("#pasted", json.dumps(bundle))
    page.select_option("#hook", "patient-view")
    page.fill("#draft", "")
    shown = run_and_read(page)
    page.screenshot(path=str(ARTIFACTS / "preview-hostile-text.png"), full_page=True)
    assert ("red-flags", "critical") in shown
    red_flags = page.query_selector("#cards .card[data-topic=red-flags]")
    assert HOSTILE in red_flags.inner_text()  # shown, as text
    assert red_flags.query_selector("img, script") is None
    assert page.evaluate("window.__xss") is None
    assert errors == []
