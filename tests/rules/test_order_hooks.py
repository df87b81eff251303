"""Order hooks answer about the orders being written (clinical reference 0.7): critical cards always, others only
when a draft of the call is part of their finding; the advice families are patient-view only."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, ICD, SCT, condition, dosage, lbp, med_request, observation, service_request

OXYCODONE = ("1049621", "oxycodone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
IBUPROFEN = ("197806", "ibuprofen 600 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 100 MG Oral Capsule")
MRI = ("72148", "MRI lumbar spine without contrast")
ADVICE = {"nsaid-first-line", "second-line", "chronic-pain-options", "depression-screening"}


def draft_med(code, display, dose=None, rid="draft-1"):
    return med_request(code, display, dose, status="draft", rid=rid)


def topics(resources, drafts, hook="order-select"):
    return {t: c.indicator for t, c in by_topic(cards_for(resources, hook=hook, drafts=drafts)).items()}


@pytest.mark.parametrize(
    ("resources", "drafts", "shown", "hidden"),
    [
        pytest.param(
            [lbp(onset_days=10)],
            [service_request(CPT, *MRI, rid="d-mri")],
            {"imaging-overuse"},
            ADVICE,
            id="lumbar-mri-draft-gets-the-imaging-card-not-the-advice",
        ),
        pytest.param(
            [lbp(onset_days=10), condition(ICD, "C61", "Prostate cancer")],
            [service_request(CPT, *MRI)],
            {"red-flags"},
            {"imaging-overuse"} | ADVICE,
            id="imaging-draft-gets-the-red-flags-that-justify-it",
        ),
        pytest.param(
            [lbp(onset_days=10), condition(ICD, "C61", "Prostate cancer")],
            [draft_med(*IBUPROFEN)],
            set(),
            {"red-flags"},
            id="cancer-history-warning-not-repeated-beside-an-nsaid-draft",
        ),
        pytest.param(
            [lbp(onset_days=2), condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)],
            [draft_med(*IBUPROFEN)],
            {"red-flags"},
            ADVICE,
            id="critical-red-flag-shown-whatever-the-draft",
        ),
        pytest.param(
            [lbp(onset_days=200), med_request(*ALPRAZOLAM, authored_days=400)],
            [draft_med(*OXYCODONE, dosage(4, "{pill}", 4, 1, "d"))],
            {"opioid-benzodiazepine", "opioid-high-dose", "opioid-risk", "naloxone"},
            ADVICE | {"not-recommended-treatment"},
            id="prescribing-oxycodone-beside-a-chart-benzodiazepine-answers-about-the-opioid-only",
        ),
        pytest.param(
            [lbp(onset_days=200), med_request(*OXYCODONE, dosage(1, "TAB", 4, 1, "d"))],
            [draft_med(*ALPRAZOLAM)],
            {"opioid-benzodiazepine", "not-recommended-treatment"},
            {"opioid-risk"} | ADVICE,
            id="benzodiazepine-draft-beside-a-chart-opioid",
        ),
        pytest.param(
            [lbp(onset_days=200), med_request(*OXYCODONE, dosage(1, "TAB", 4, 1, "d"))],
            [draft_med(*IBUPROFEN)],
            set(),
            {"opioid-risk", "naloxone"} | ADVICE,
            id="nsaid-draft-does-not-repeat-the-chart-opioid-warning",
        ),
        pytest.param(
            [lbp(onset_days=10), observation("62238-1", 25, "mL/min/{1.73_m2}", days=20)],
            [draft_med(*IBUPROFEN)],
            {"nsaid-contraindicated", "acetaminophen-alternative"},
            ADVICE,
            id="nsaid-draft-with-egfr-25-gets-the-contraindication-and-the-alternative",
        ),
        pytest.param(
            [lbp(onset_days=10), observation("62238-1", 25, "mL/min/{1.73_m2}", days=20)],
            [service_request(CPT, *MRI)],
            set(),
            {"nsaid-contraindicated", "acetaminophen-alternative"},
            id="imaging-draft-does-not-repeat-the-nsaid-contraindication",
        ),
        pytest.param(
            [condition(SCT, "23056005", "Sciatica", onset_days=30)],
            [draft_med(*GABAPENTIN)],
            {"radicular-pain"},
            ADVICE,
            id="gabapentinoid-draft-gets-the-radicular-card",
        ),
    ],
)
def test_order_hooks_answer_about_the_orders(resources, drafts, shown, hidden):
    found = topics(resources, drafts)
    assert shown <= set(found), found
    assert not hidden & set(found), found


def test_same_record_at_patient_view_gets_every_card():
    resources = [
        lbp(onset_days=200),
        med_request(*ALPRAZOLAM, authored_days=400),
        med_request(*OXYCODONE, dosage(4, "TAB", 4, 1, "d")),
    ]
    found = topics(resources, [], hook="patient-view")
    assert {"opioid-benzodiazepine", "opioid-risk", "opioid-high-dose", "chronic-pain-options"} <= set(found)


def test_at_order_select_an_unselected_opioid_draft_still_makes_opioid_cards_relevant():
    """All drafts of an order-select are about to be signed together (clinical reference 0.10 item 19)."""
    opioid = draft_med(*OXYCODONE, dosage(1, "TAB", 4, 1, "d"), rid="d-opioid")
    nsaid = draft_med(*IBUPROFEN, rid="d-nsaid")
    found = topics([lbp(onset_days=10)], [opioid, nsaid], hook="order-select")
    assert "opioid-risk" in found  # both selected by default in the builder
    only_nsaid = by_topic(
        cards_for(
            [lbp(onset_days=10)], hook="order-select", drafts=[opioid, nsaid], selections=["MedicationRequest/d-nsaid"]
        )
    )
    assert "opioid-risk" in only_nsaid


def test_an_order_hook_without_drafts_still_gets_the_critical_cards_only():
    found = topics([lbp(onset_days=2), condition(SCT, "192970008", "Cauda equina", onset_days=2)], [])
    assert found == {"red-flags": Indicator.CRITICAL}
