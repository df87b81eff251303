"""Every card our scenarios produce, as the EHR receives it (CDS Hooks 2.0 card JSON): well formed, each suggestion
labelled and each action described, selection behaviour and override reasons where the card offers choices, and
no stray placeholder in its text. One corpus covers every family at patient-view and at order-sign."""
import re

import pytest

from cds_service.cards import to_json
from cds_service.knowledge import load
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
        [lbp(onset_days=9), med_request(*NAPROXEN, dosage(1, "TAB", 2))], [draft(IBUPROFEN_800, dosage(1, "TAB", 3))]),
    "egfr-25-with-nsaid-draft-and-liver-disease": (
        [lbp(onset_days=9), observation("62238-1", 25, days=20), condition(ICD, "K70.30", "Alcoholic cirrhosis")],
        [draft(IBUPROFEN_800, dosage(1, "TAB", 3))]),
    "heart-failure-with-two-nsaid-drafts": (
        [lbp(onset_days=9), condition(ICD, "I50.9", "Heart failure")],
        [draft(NAPROXEN, rid="n1"), draft(IBUPROFEN_800, rid="i1")]),
    "early-mri-draft": ([lbp(onset_days=10)], [service_request(*MRI, rid="d-mri")]),
    "two-imaging-drafts": ([lbp(onset_days=10)], [service_request(*MRI, rid="d-mri"),
                                                  service_request(*XRAY, rid="d-xray")]),
    "pending-and-done-imaging": ([lbp(onset_days=20), service_request(*XRAY, status="active", authored_days=10),
                                 procedure(*MRI, days=5)], []),
    "cauda-equina-and-cancer": ([lbp(onset_days=3), condition(SCT, "192970008", "Cauda equina syndrome"),
                                 condition(ICD, "C61", "Prostate cancer")], []),
    "opioid-120-mme-with-benzodiazepine": (
        [lbp(onset_days=200), med_request(*ALPRAZOLAM, authored_days=400)],
        [draft(OXY, dosage(4, "{pill}", 4))]),
    "opioid-use-disorder": ([lbp(onset_days=200), med_request(*OXY, dosage(1, "TAB", 4)),
                             condition(ICD, "F11.20", "Opioid dependence")], []),
    "not-recommended-drafts": ([lbp(onset_days=9)], [draft(PREDNISONE, rid="d-pred"), draft(ALPRAZOLAM, rid="d-alp"),
                                                     service_request(*TENS, rid="d-tens")]),
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
    found = {card.topic for name in SCENARIOS for hook in ("patient-view", "order-sign")
             for card in cards_of(name, hook)}
    assert found == set(load().topics)


@pytest.mark.parametrize(("name", "hook"), WHERE)
def test_every_card_is_complete_cds_hooks_json(name, hook):
    for card in cards_of(name, hook):
        check(card)


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


@pytest.mark.parametrize(("scenario", "topic", "recommended"), [
    pytest.param("early-mri-draft", "imaging-overuse", [True], id="one-imaging-draft-its-removal-recommended"),
    pytest.param("two-imaging-drafts", "imaging-overuse", [None, None], id="two-drafts-the-clinician-chooses"),
    pytest.param("egfr-25-with-nsaid-draft-and-liver-disease", "nsaid-contraindicated", [True],
                 id="one-nsaid-to-replace-recommended"),
    pytest.param("heart-failure-with-two-nsaid-drafts", "nsaid-contraindicated", [None, None],
                 id="two-nsaids-to-replace-neither-preferred"),
    pytest.param("opioid-120-mme-with-benzodiazepine", "naloxone", [True], id="naloxone-recommended"),
])
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
