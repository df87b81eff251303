"""The card preview page in a real browser: Debian's Chromium driven by Playwright, against the real `serve`.

Each demo patient shows the cards and indicators the guideline calls for; a hostile condition name renders as text;
the page fits a 390 px phone and a 1280 px laptop (no element wider than the screen, no region over another), works
from the keyboard, keeps what was typed across mode changes, and renders escaped chart text as its characters.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cds_service.rules._markdown import WORD_JOINER, escape
from cds_service.web.preview import demo_bundle
from tests.fhir_builders import hook_request, lbp
from tests.served import Served

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium not installed (scripts/test does)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install '.[test]')")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'

EXPECTED = [
    pytest.param(
        "demo-acute-day-9",
        {("nsaid-first-line", "info"), ("second-line", "info")},
        id="acute-day-9-first-line-advice-no-alarm",
    ),
    pytest.param("demo-cauda-equina", {("red-flags", "critical")}, id="cauda-equina-critical-red-flag"),
    pytest.param(
        "demo-egfr-25",
        {("nsaid-contraindicated", "warning"), ("acetaminophen-alternative", "info")},
        id="egfr-25-no-nsaid-acetaminophen-instead",
    ),
    pytest.param(
        "demo-chronic-opioids",
        {("opioid-high-dose", "critical"), ("opioid-benzodiazepine", "critical"), ("naloxone", "warning")},
        id="120-mme-with-benzodiazepine-critical-and-naloxone",
    ),
    pytest.param("demo-mri-day-10", {("imaging-overuse", "warning")}, id="mri-on-day-10-is-imaging-overuse"),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """(the served base URL, a Chromium browser)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with Served(tmp_path_factory.mktemp("preview"), workers=1) as served, sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        yield served.base, chromium
        chromium.close()


def open_page(browser, width: int, height: int = 900):
    """A fresh page at this viewport, loaded (the first demo patient's cards shown); its errors and every request."""
    base, chromium = browser
    page = chromium.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    requests: list[tuple[str, int]] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda response: requests.append((response.url, response.status)))
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready=true]")
    return page, errors, requests


@pytest.fixture(scope="module")
def browser_page(browser):
    page, errors, _ = open_page(browser, 1500, 1000)
    yield page, errors
    page.close()


def run_and_read(page) -> set[tuple[str, str]]:
    page.evaluate("document.getElementById('cards').replaceChildren()")
    page.click("#run")
    page.wait_for_selector("#cards .card, #cards .error")
    return {
        (c.get_attribute("data-topic"), c.get_attribute("data-indicator"))
        for c in page.query_selector_all("#cards .card")
    }


def test_the_page_says_demo_and_loads_nothing_from_elsewhere(browser):
    page, errors, requests = open_page(browser, 1280)
    assert "demo" in page.inner_text("header").lower()
    assert len(page.query_selector_all("#demo option")) == 5
    assert all(
        src.startswith("/preview/static/")
        for src in page.eval_on_selector_all(
            "script[src], link[href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))"
        )
    )
    base = browser[0]
    assert all(url.startswith(base + "/") for url, _ in requests), requests
    assert [(url, status) for url, status in requests if status >= 400] == []  # the favicon was a 404 on every load
    assert page.query_selector_all("#cards .card")  # it opens on the first demo patient's cards
    assert errors == []
    page.close()


LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const node of document.querySelectorAll("body *")) {
    if (node.closest("pre, table")) continue;  // scrolled inside their own box
    const box = node.getBoundingClientRect();
    const outside = box.right > width + 0.5 || box.left < -0.5;
    if (box.width && outside) wide.push(`${node.tagName}#${node.id}.${node.className}`);
  }
  const region = (id) => { const b = document.getElementById(id).getBoundingClientRect();
                           return {top: b.top + scrollY, bottom: b.bottom + scrollY, left: b.left, right: b.right}; };
  return {width, scrollWidth: document.documentElement.scrollWidth, wide,
          regions: Object.fromEntries(["controls", "results", "raw"].map((id) => [id, region(id)])),
          cardWidth: document.querySelector("#cards .card").getBoundingClientRect().width,
          height: document.documentElement.scrollHeight};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_fits_the_screen_with_no_region_over_another(browser, width):
    """At 390 px the page was 572 px wide, the cards and request columns 0 px, "Cards (8)" over "Request", and
    one word a line (13,970 px tall)."""
    page, errors, _ = open_page(browser, width)
    page.select_option("#demo", "demo-chronic-opioids")
    assert run_and_read(page)
    layout = page.evaluate(LAYOUT)
    page.screenshot(path=str(ARTIFACTS / f"preview-{width}px.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"preview-{width}px-first-screen.png"))  # what the screen shows first
    assert layout["scrollWidth"] <= width and layout["wide"] == [], layout
    regions = layout["regions"]
    for a, b in [("controls", "results"), ("controls", "raw"), ("results", "raw")]:
        assert not overlaps(regions[a], regions[b]), (a, b, regions)
    assert layout["cardWidth"] >= min(width - 40, 400)  # cards get room to read, not a sliver
    if width < 760:
        assert regions["results"]["bottom"] <= regions["controls"]["top"]  # cards first on a phone
        assert layout["height"] < 9000, layout["height"]
    else:
        assert regions["controls"]["right"] <= regions["results"]["left"]  # controls beside the cards
    assert errors == []
    page.close()


def test_every_control_has_a_label_and_a_demo_runs_from_the_keyboard(browser):
    page, errors, _ = open_page(browser, 1280)
    unlabelled = page.eval_on_selector_all(
        "input, select, textarea, button",
        "els => els.filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()))"
        ".map(e => e.id || e.name)",
    )
    assert unlabelled == []
    focused = []
    for _ in range(12):  # tab from the top of the page to the demo menu
        page.keyboard.press("Tab")
        focused.append(page.evaluate("(e => e.id || `${e.name}=${e.value}`)(document.activeElement)"))
        if focused[-1] == "demo":
            break
    assert focused[-1] == "demo", focused
    assert "source=demo" in focused  # the patient source radios come first, reachable by Tab
    page.evaluate("document.getElementById('cards').replaceChildren()")
    for _ in range(3):  # the fourth patient: chronic pain on 120 MME/day with a benzodiazepine
        page.keyboard.press("ArrowDown")
    assert page.input_value("#demo") == "demo-chronic-opioids"
    for _ in range(10):  # hook, draft, the date's three fields, then the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "run":
            break
    assert page.evaluate("document.activeElement.id") == "run"
    page.keyboard.press("Enter")
    page.wait_for_selector("#cards .card")
    topics = {c.get_attribute("data-topic") for c in page.query_selector_all("#cards .card")}
    assert {"opioid-high-dose", "opioid-benzodiazepine"} <= topics
    assert errors == []
    page.close()


def test_indicator_is_a_colour_and_the_topic_a_readable_name(browser_page):
    page, errors = browser_page
    page.check("input[name=source][value=demo]")
    page.select_option("#demo", "demo-chronic-opioids")
    run_and_read(page)
    card = page.query_selector("#cards .card[data-topic=opioid-benzodiazepine]")
    assert card.query_selector(".indicator").inner_text() == "Critical"
    assert card.query_selector(".topic").inner_text() == "Opioid with benzodiazepine"
    assert "OPIOID-BENZODIAZEPINE" not in card.inner_text()
    colours = {
        c.get_attribute("data-indicator"): c.query_selector(".indicator").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        for c in page.query_selector_all("#cards .card")
    }
    assert len(set(colours.values())) == len(colours) >= 2, colours  # critical and warning look different
    assert errors == []


def test_a_pasted_request_is_evaluated_for_its_own_hook(browser_page):
    """It failed with "hook 'patient-view' does not match this service's hook 'order-select'" unless the hook
    menu was changed by hand."""
    page, errors = browser_page
    page.check("input[name=source][value=demo]")
    page.select_option("#demo", "demo-mri-day-10")  # an order-select demo: the menu says order-select
    assert page.input_value("#hook") == "order-select"
    page.check("input[name=source][value=request]")
    page.fill("#pasted", json.dumps(hook_request([lbp()])))
    assert page.input_value("#hook") == "patient-view"
    shown = run_and_read(page)
    assert ("nsaid-first-line", "info") in shown
    assert errors == []


def test_changing_mode_or_patient_never_discards_what_was_typed(browser):
    """Choosing a demo patient while in Bundle mode silently replaced the hook, date and draft."""
    page, errors, _ = open_page(browser, 1280)
    page.check("input[name=source][value=demo]")
    page.select_option("#demo", "demo-mri-day-10")
    page.fill("#draft", '{"resourceType": "ServiceRequest", "id": "edited"}')
    page.fill("#as-of", "2026-12-01")
    page.check("input[name=source][value=bundle]")
    bundle = json.dumps(demo_bundle("demo-egfr-25"))
    page.fill("#pasted", bundle)
    page.select_option("#hook", "order-sign")
    page.check("input[name=source][value=demo]")
    assert "kept" in page.inner_text("#kept")
    page.select_option("#demo", "demo-acute-day-9")
    page.select_option("#demo", "demo-mri-day-10")
    assert page.input_value("#draft") == '{"resourceType": "ServiceRequest", "id": "edited"}'
    assert page.input_value("#as-of") == "2026-12-01"
    page.check("input[name=source][value=bundle]")
    assert page.input_value("#pasted") == bundle and page.input_value("#hook") == "order-sign"
    request = json.dumps(hook_request([lbp()]))
    page.fill("#pasted", request)  # a request pasted in Bundle mode: it says so, and the text goes with the user
    assert "looks like a CDS Hooks request" in page.inner_text("#pasted-help")
    page.check("input[name=source][value=request]")
    assert page.input_value("#pasted") == request
    page.check("input[name=source][value=bundle]")  # ... and nothing else moves
    page.fill("#pasted", bundle)
    page.check("input[name=source][value=request]")
    assert page.input_value("#pasted") == request
    page.check("input[name=source][value=bundle]")
    assert page.input_value("#pasted") == bundle
    assert errors == []
    page.close()


CHART_TEXT = [
    pytest.param("**not bold** _not em_ `not code`", id="emphasis-and-code"),
    pytest.param("[click](https://evil.example) ![x](https://evil.example/x.png)", id="link-and-image"),
    pytest.param("see https://evil.example or www.evil.example or a@evil.example or evil.com", id="autolinks"),
    pytest.param("# not a heading", id="heading"),
    pytest.param("- not a list", id="list"),
    pytest.param("1. not an ordered list", id="ordered-list"),
    pytest.param("| a | b |", id="table-row"),
    pytest.param("~~not struck~~ &amp; &lt;b&gt;", id="strikethrough-and-entities"),
    pytest.param(HOSTILE, id="html"),
    pytest.param(r"a \ backslash and \* escape", id="backslashes"),
    pytest.param("1.5 mg of x.y", id="decimals-stay-as-typed"),
]


@pytest.mark.parametrize("text", CHART_TEXT)
def test_escaped_chart_text_shows_as_its_own_characters(browser_page, text):
    """rules/_markdown.escape's backslashes and word joiners, through the page's markdown-it, show the chart text
    exactly as typed (word joiners are invisible) and make no markup."""
    page, errors = browser_page
    rendered = page.evaluate(
        "t => { const d = window.cardMarkdown(t); return {text: d.textContent.trim(), "
        "tags: [...d.querySelectorAll('*')].map(e => e.tagName)}; }",
        escape(text),
    )
    assert rendered["text"].replace(WORD_JOINER, "") == text
    assert set(rendered["tags"]) <= {"P"}, rendered["tags"]
    assert page.evaluate("window.__xss") is None
    assert errors == []


def test_card_markdown_is_rendered_as_gfm_with_safe_links_only(browser_page):
    page, errors = browser_page
    rendered = page.evaluate(
        "t => window.cardMarkdown(t).innerHTML",
        "**Why**: see [CDC 2022](https://www.cdc.gov/"
        "mmwr/volumes/71/rr/rr7103a1.htm)\n\n- one\n- two\n\n[bad](javascript:alert(1))",
    )
    assert "<strong>Why</strong>" in rendered and "<li>one</li>" in rendered
    link = 'href="https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm" target="_blank" rel="noopener noreferrer"'
    assert link in rendered
    assert "javascript:" not in rendered.replace("[bad](javascript:alert(1))", "")
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


def test_each_card_shows_its_rule_knowledge_version_and_evidence_under_it(browser_page):
    page, errors = browser_page
    page.check("input[name=source][value=demo]")
    page.select_option("#demo", "demo-cauda-equina")
    run_and_read(page)
    response = json.loads(page.inner_text("#response-json"))
    for card in response["cards"]:
        shown = page.inner_text(f"#cards .card[data-topic={card['source']['topic']['code']}] .provenance")
        ext = card["extension"]
        assert f"Rule: {ext['org.backpain-cds.rule']}" in shown
        assert f"knowledge {ext['org.backpain-cds.knowledge']['version']}" in shown
        assert f"Evidence: {', '.join(ext['org.backpain-cds.evidence'])}" in shown
    assert errors == []


def test_a_hostile_condition_name_renders_as_text(browser_page):
    page, errors = browser_page
    bundle = demo_bundle("demo-cauda-equina")
    bundle = json.loads(json.dumps(bundle))
    retention = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "R33.9"
    )
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
