"""Every card our scenarios produce, as the EHR receives it (CDS Hooks 2.0 card JSON): well formed, each suggestion
labelled and each action described, selection behaviour and override reasons where the card offers choices, no
stray placeholder in its text, and its provenance: the rule's url|version, the knowledge version and digest, and
evidence references that resolve to resources of the request. One corpus covers every family at patient-view and
at order-sign."""

import html
import re

import pytest

from cds_service.cards import EXT_EVIDENCE, EXT_KNOWLEDGE, EXT_RULE, to_json
from cds_service.citations import cite
from cds_service.knowledge import load, manifest, profiles_dir
from cds_service.rules._markdown import WORD_JOINER
from tests.conftest import cards_for
from tests.fhir_builders import (
    CPT,
    ICD,
    SCT,
    TODAY,
    condition,
    dosage,
    lbp,
    med_request,
    observation,
    patient,
    procedure,
    service_request,
)

OXY = ("1049621", "oxycodone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
IBUPROFEN_800 = ("197807", "ibuprofen 800 MG Oral Tablet")
NAPROXEN = ("198014", "naproxen 500 MG Oral Tablet")
PREDNISONE = ("312617", "prednisone 5 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 100 MG Oral Capsule")
MRI = (CPT, "72148", "MRI lumbar spine without contrast")
XRAY = (CPT, "72100", "X-ray lumbosacral spine, 2 or 3 views")
TENS = (CPT, "97014", "Electrical stimulation, unattended")


def draft(drug, dose=None, rid="d1"):
    return med_request(*drug, dose, status="draft", rid=rid)


SCENARIOS = {
    "acute-nsaid-draft-above-dose-beside-naproxen": (
        [lbp(onset_days=9), med_request(*NAPROXEN, dosage(1, "TAB", 2))],
        [draft(IBUPROFEN_800, dosage(1, "TAB", 3))],
    ),
    "egfr-25-with-nsaid-draft-and-liver-disease": (
        [lbp(onset_days=9), observation("62238-1", 25, days=20), condition(ICD, "K70.30", "Alcoholic cirrhosis")],
        [draft(IBUPROFEN_800, dosage(1, "TAB", 3))],
    ),
    "heart-failure-with-two-nsaid-drafts": (
        [lbp(onset_days=9), condition(ICD, "I50.9", "Heart failure")],
        [draft(NAPROXEN, rid="n1"), draft(IBUPROFEN_800, rid="i1")],
    ),
    "early-mri-draft": ([lbp(onset_days=10)], [service_request(*MRI, rid="d-mri")]),
    "two-imaging-drafts": (
        [lbp(onset_days=10)],
        [service_request(*MRI, rid="d-mri"), service_request(*XRAY, rid="d-xray")],
    ),
    "pending-and-done-imaging": (
        [lbp(onset_days=20), service_request(*XRAY, status="active", authored_days=10), procedure(*MRI, days=5)],
        [],
    ),
    "cauda-equina-and-cancer": (
        [
            lbp(onset_days=3),
            condition(SCT, "192970008", "Cauda equina syndrome"),
            condition(ICD, "C61", "Prostate cancer"),
        ],
        [],
    ),
    "opioid-120-mme-with-benzodiazepine": (
        [lbp(onset_days=200), med_request(*ALPRAZOLAM, authored_days=400)],
        [draft(OXY, dosage(4, "{pill}", 4))],
    ),
    "opioid-use-disorder": (
        [lbp(onset_days=200), med_request(*OXY, dosage(1, "TAB", 4)), condition(ICD, "F11.20", "Opioid dependence")],
        [],
    ),
    "not-recommended-drafts": (
        [lbp(onset_days=9)],
        [draft(PREDNISONE, rid="d-pred"), draft(ALPRAZOLAM, rid="d-alp"), service_request(*TENS, rid="d-tens")],
    ),
    "sciatica-with-gabapentin-draft": ([condition(SCT, "23056005", "Sciatica", onset_days=30)], [draft(GABAPENTIN)]),
    "chronic-pain-older-adult-no-phq": ([lbp(onset_days=200)], []),
    "positive-phq9": ([lbp(onset_days=200), observation("44261-6", 14, days=10)], []),
}
LABELS = {"info", "warning", "critical"}
PLACEHOLDER = re.compile(r"\bNone\b|XX|  |\(\)|: \.|^\s*-\s*$", re.M)


def cards_of(name, hook):
    """The scenario's cards, worked out inside the test (mutation testing runs only the tests that call the code)."""
    resources, drafts = SCENARIOS[name]
    return cards_for(resources, hook=hook, drafts=drafts, pt=patient(age=70) if "older" in name else patient())


WHERE = [pytest.param(name, hook, id=f"{name}@{hook}") for name in SCENARIOS for hook in ("patient-view", "order-sign")]


def test_the_corpus_covers_every_card_family():
    found = {
        card.topic for name in SCENARIOS for hook in ("patient-view", "order-sign") for card in cards_of(name, hook)
    }
    assert found == set(load().topics)


@pytest.mark.parametrize(("name", "hook"), WHERE)
def test_every_card_is_complete_cds_hooks_json(name, hook):
    for card in cards_of(name, hook):
        check(card)


@pytest.mark.parametrize(("name", "hook"), WHERE)
def test_every_card_names_its_rule_knowledge_and_evidence_in_the_request(name, hook):
    resources, drafts = SCENARIOS[name]
    sent = {f"{r['resourceType']}/{r['id']}" for r in [*resources, *drafts]} | {"Patient/pt-1"}
    kb = load()
    for card in cards_of(name, hook):
        ext = to_json(card, kb)["extension"]
        plan = next(
            a
            for a in manifest.manifest(profiles_dir())["artifacts"]
            if a["resourceType"] == "PlanDefinition" and a["id"] == card.topic
        )
        assert ext[EXT_RULE] == f"{plan['url']}|{plan['version']}"
        assert ext[EXT_KNOWLEDGE] == kb.identity.as_json()
        evidence = ext.get(EXT_EVIDENCE, [])
        assert evidence, f"{card.topic} names no evidence"
        assert set(evidence) <= sent, (card.topic, set(evidence) - sent)
        assert len(set(evidence)) == len(evidence)


def check(card):
    out = to_json(card, load())
    assert out["indicator"] in LABELS
    assert isinstance(out["summary"], str) and 0 < len(out["summary"]) <= 140
    assert isinstance(out["detail"], str) and out["detail"].strip()
    assert not PLACEHOLDER.search(out["summary"]) and not PLACEHOLDER.search(out["detail"]), out["detail"]
    assert out["source"]["topic"]["code"] == card.topic and out["source"]["label"] and out["source"]["url"]
    suggestions = out.get("suggestions", [])
    if suggestions:
        assert out["selectionBehavior"] == ("at-most-one" if len(suggestions) == 1 else "any")
    else:
        assert "selectionBehavior" not in out
    for suggestion in suggestions:
        assert suggestion["label"].strip() and not PLACEHOLDER.search(suggestion["label"])
        assert suggestion.get("isRecommended") in (None, True)
        assert suggestion["actions"]
        for action in suggestion["actions"]:
            assert action["type"] in ("create", "update", "delete") and action["description"].strip()
            if action["type"] == "delete":
                assert re.fullmatch(r"[A-Za-z]+/[A-Za-z0-9\-.]+", action["resourceId"])
            elif action["type"] == "create":
                check_drafted_order(action["resource"])
            else:
                assert action["resource"]["resourceType"] == "ServiceRequest"
                assert action["resource"]["status"] == "revoked"
    if card.indicator.label in ("warning", "critical") and suggestions:
        reasons = out.get("overrideReasons", [])
        assert reasons and all(r["code"] and r["display"] and r["system"] for r in reasons)


@pytest.mark.parametrize(
    ("scenario", "topic", "recommended"),
    [
        pytest.param("early-mri-draft", "imaging-overuse", [True], id="one-imaging-draft-its-removal-recommended"),
        pytest.param("two-imaging-drafts", "imaging-overuse", [None, None], id="two-drafts-the-clinician-chooses"),
        pytest.param(
            "egfr-25-with-nsaid-draft-and-liver-disease",
            "nsaid-contraindicated",
            [True],
            id="one-nsaid-to-replace-recommended",
        ),
        pytest.param(
            "heart-failure-with-two-nsaid-drafts",
            "nsaid-contraindicated",
            [None, None],
            id="two-nsaids-to-replace-neither-preferred",
        ),
        pytest.param("opioid-120-mme-with-benzodiazepine", "naloxone", [True], id="naloxone-recommended"),
    ],
)
def test_which_suggestion_is_recommended(scenario, topic, recommended):
    card = next(c for c in cards_of(scenario, "order-sign") if c.topic == topic)
    assert [s.is_recommended for s in card.suggestions] == recommended
    behaviour = to_json(card, load())["selectionBehavior"]
    assert behaviour == ("at-most-one" if len(recommended) == 1 else "any")


def check_drafted_order(order):
    """A suggested order is a draft proposal for this patient, dated today, from one of our ActivityDefinitions."""
    assert order["resourceType"] == "MedicationRequest"
    assert (order["status"], order["intent"]) == ("draft", "proposal")
    assert order["subject"] == {"reference": "Patient/pt-1"} and order["authoredOn"] == TODAY.isoformat()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", order["id"])
    coding = order["medicationCodeableConcept"]["coding"][0]
    assert coding["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm" and coding["code"]
    (dose,) = order["dosageInstruction"]
    assert dose["text"] and dose["doseAndRate"][0]["doseQuantity"]["value"] > 0
    (canonical,) = order["instantiatesCanonical"]
    url, version = canonical.split("|")
    activity = next(a for a in load().activities.values() if a["url"] == url)
    assert version == activity["version"] and activity["productCodeableConcept"] == order["medicationCodeableConcept"]


# --- Chart text is text (clinical reference 0.10 item 17, issue 20 finding 4) ----------------------------------------
# Every display, text, note and unit of the corpus carries markup; the cards' detail, rendered as an EHR would (GFM,
# linkify on and, worst case, raw HTML on), must hold none of it: no link, image, heading, emphasis around chart text,
# raw HTML or line break from a chart. Our own markup (paragraphs, lists, bold labels) is all that may render.
HOSTILE = (
    "[Open PHISH](https://phish.example/login) ![PIXEL](http://track.example/p.gif) **SHOUT** _EMPH_ "
    "<img src=x onerror=alert(1)><b>HTMLB</b> www.phish.com\n# HEADING  \nBREAK"
)
MARKERS = ("PHISH", "PIXEL", "SHOUT", "EMPH", "HTMLB", "HEADING", "BREAK")
OUR_TAGS = {"p", "ul", "ol", "li", "strong", "em"}


def hostile(value, key=""):
    """The resource with markup in every display, text and note (units too, except where the dose needs them)."""
    if isinstance(value, dict):
        out = {k: hostile(v, k) for k, v in value.items()}
        if key in ("code", "medicationCodeableConcept", "valueCodeableConcept"):
            out["text"] = f"{HOSTILE} {value.get('text', '')}".strip()
        if "resourceType" in value and value["resourceType"] != "Patient":
            out["note"] = [{"text": HOSTILE}]
        return out
    if isinstance(value, list):
        return [hostile(v, key) for v in value]
    if key == "display" and isinstance(value, str):
        return f"{HOSTILE} {value}"
    return value


HOSTILE_UNITS = (  # units that reach a card: a temperature, an ALT, an opioid dose unit MME cannot read
    [
        lbp(onset_days=200),
        observation("8310-5", 39.0, HOSTILE, days=1),
        observation("1742-6", 500, HOSTILE, days=3),
        observation("62238-1", 25, HOSTILE, days=20),
        med_request(*OXY, dosage(1, HOSTILE, 4)),
    ],
    [],
)


def hostile_cards(name, hook):
    resources, drafts = HOSTILE_UNITS if name == "hostile-units" else SCENARIOS[name]
    pt = patient(age=70) if "older" in name else patient()
    return cards_for(hostile(resources), hook=hook, drafts=hostile(drafts), pt=pt)


HOSTILE_WHERE = [
    *WHERE,
    *(pytest.param("hostile-units", hook, id=f"hostile-units@{hook}") for hook in ("patient-view", "order-sign")),
]


def rendered(detail):
    from markdown_it import MarkdownIt

    return (
        MarkdownIt("commonmark", {"html": True, "linkify": True})
        .enable(["table", "strikethrough", "linkify"])
        .render(detail)
    )


def test_the_hostile_corpus_still_covers_every_card_family():
    found = {
        card.topic
        for name in [*SCENARIOS, "hostile-units"]
        for hook in ("patient-view", "order-sign")
        for card in hostile_cards(name, hook)
    }
    assert found == set(load().topics)


@pytest.mark.parametrize(("name", "hook"), HOSTILE_WHERE)
def test_chart_markup_renders_as_text_in_every_card(name, hook):
    pytest.importorskip("markdown_it", reason="pip install '.[test]' brings markdown-it-py")
    for card in hostile_cards(name, hook):
        out = rendered(card.detail)
        tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", out))
        assert tags <= OUR_TAGS, (card.topic, tags - OUR_TAGS, out)
        for inner in re.findall(r"<(strong|em)>(.*?)</\1>", out, re.S):
            assert not any(m in inner[1] for m in MARKERS), (card.topic, inner[1])
        assert "\\" not in html.unescape(re.sub(r"<[^>]+>", "", out)).replace(WORD_JOINER, ""), (card.topic, out)


def test_a_hostile_condition_name_shows_as_its_own_characters():
    pytest.importorskip("markdown_it", reason="pip install '.[test]' brings markdown-it-py")
    red_flags = next(c for c in hostile_cards("cauda-equina-and-cancer", "patient-view") if c.topic == "red-flags")
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered(red_flags.detail))).replace(WORD_JOINER, "")
    flat = HOSTILE.replace("  \n", " ").replace("\n", " ")  # line breaks become spaces: no block can start
    assert f"cauda equina syndrome: {flat} (" in text
    assert red_flags.summary == "Back pain red flag: urgent same-day evaluation needed"  # summary: plain, no chart text


def ref(name, code=None, rid=None):
    """The reference of the scenario's resource with this code (or id)."""
    resources, drafts = SCENARIOS[name]
    for r in [*resources, *drafts]:
        codings = (r.get("code") or r.get("medicationCodeableConcept") or {}).get("coding", [])
        if r["id"] == rid or any(c["code"] == code for c in codings):
            return f"{r['resourceType']}/{r['id']}"
    raise KeyError(code or rid)


LBP = "279039007"


@pytest.mark.parametrize(
    ("name", "hook", "topic", "rests_on"),
    [
        pytest.param(
            "cauda-equina-and-cancer",
            "patient-view",
            "red-flags",
            [LBP, "192970008", "C61"],
            id="red-flags-rests-on-the-back-pain-and-each-flag",
        ),
        pytest.param(
            "early-mri-draft",
            "order-sign",
            "imaging-overuse",
            [LBP, "72148"],
            id="imaging-overuse-names-the-drafted-mri",
        ),
        pytest.param(
            "pending-and-done-imaging",
            "patient-view",
            "imaging-overuse",
            [LBP, "72100", "72148"],
            id="imaging-overuse-names-the-pending-order-and-the-study-done",
        ),
        pytest.param(
            "positive-phq9",
            "patient-view",
            "depression-screening",
            [LBP, "44261-6"],
            id="depression-screening-names-the-phq9-it-read",
        ),
        pytest.param(
            "opioid-120-mme-with-benzodiazepine",
            "order-sign",
            "opioid-benzodiazepine",
            [LBP, OXY[0], ALPRAZOLAM[0]],
            id="opioid-benzodiazepine-names-both-drugs",
        ),
        pytest.param(
            "egfr-25-with-nsaid-draft-and-liver-disease",
            "order-sign",
            "nsaid-contraindicated",
            [LBP, "62238-1", IBUPROFEN_800[0]],
            id="nsaid-contraindicated-names-the-egfr-and-the-draft",
        ),
        pytest.param(
            "egfr-25-with-nsaid-draft-and-liver-disease",
            "patient-view",
            "acetaminophen-alternative",
            [LBP, "62238-1", "K70.30"],
            id="acetaminophen-cap-names-the-liver-disease-that-lowered-it",
        ),
        pytest.param(
            "not-recommended-drafts",
            "order-sign",
            "not-recommended-treatment",
            [LBP, PREDNISONE[0], ALPRAZOLAM[0], "97014"],
            id="not-recommended-names-each-draft",
        ),
        pytest.param(
            "opioid-use-disorder",
            "patient-view",
            "opioid-risk",
            [LBP, OXY[0], "F11.20"],
            id="opioid-risk-names-the-opioid-and-the-use-disorder",
        ),
    ],
)
def test_each_card_names_exactly_the_entries_it_rests_on(name, hook, topic, rests_on):
    card = next(c for c in cards_of(name, hook) if c.topic == topic)
    assert set(cite(*card.evidence)) == {ref(name, code) for code in rests_on}
