"""not-recommended-treatment (clinical reference 6): what it lists, as the card says it, and what it leaves out."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, SCT, ago, lbp, med_request, service_request

PREDNISONE = ("312617", "prednisone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
AMITRIPTYLINE = ("856845", "amitriptyline hydrochloride 10 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 100 MG Oral Capsule")
TENS = (CPT, "97014", "Electrical stimulation, unattended")
STEROIDS = "systemic corticosteroids are no better than placebo for back pain, with or without sciatica."
TENS_WHY = "TENS and traction have no proven benefit for back pain."


def listed(resources, hook="patient-view", drafts=(), onset=9):
    card = by_topic(cards_for([lbp(onset_days=onset), *resources], hook=hook, drafts=list(drafts))).get(
        "not-recommended-treatment"
    )
    return None if card is None else [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(
    ("resources", "lines"),
    [
        pytest.param(
            [med_request(*PREDNISONE, authored_days=5)],
            [f"{PREDNISONE[1]} (last ordered {ago(5)}): {STEROIDS}"],
            id="prednisone-started-in-the-episode",
        ),
        pytest.param(
            [med_request(*PREDNISONE, authored_days=9)],
            [f"{PREDNISONE[1]} (last ordered {ago(9)}): {STEROIDS}"],
            id="prednisone-started-on-the-onset-day",
        ),
        pytest.param([med_request(*PREDNISONE, authored_days=10)], None, id="prednisone-from-before-the-episode"),
        pytest.param(
            [med_request(*PREDNISONE, authored_days=100, reason=(SCT, "279039007"))],
            [f"{PREDNISONE[1]} (last ordered {ago(100)}): {STEROIDS}"],
            id="older-prednisone-ordered-for-back-pain",
        ),
        pytest.param(
            [med_request(*PREDNISONE, authored_days=100, reason=(SCT, "38341003"))],
            None,
            id="older-prednisone-ordered-for-something-else",
        ),
        pytest.param(
            [med_request(*ALPRAZOLAM, authored_days=3)],
            [
                f"{ALPRAZOLAM[1]} (last ordered {ago(3)}): "
                "benzodiazepines carry abuse and tolerance risks and are no better "
                "than muscle relaxants."
            ],
            id="benzodiazepine",
        ),
        pytest.param(
            [med_request(*AMITRIPTYLINE, authored_days=3)],
            [f"{AMITRIPTYLINE[1]} (last ordered {ago(3)}): antidepressants are not recommended for acute back pain."],
            id="antidepressant-in-acute-pain",
        ),
        pytest.param(
            [med_request(*GABAPENTIN, authored_days=3)],
            [
                f"{GABAPENTIN[1]} (last ordered {ago(3)}): "
                "antiseizure drugs are not recommended for acute axial back pain."
            ],
            id="gabapentin-in-acute-axial-pain",
        ),
        pytest.param(
            [service_request(*TENS, status="active", authored_days=2)],
            [f"{TENS[2]} (current): {TENS_WHY}"],
            id="pending-tens-order",
        ),
        pytest.param(
            [service_request(*TENS, status="on-hold", authored_days=2)],
            [f"{TENS[2]} (current): {TENS_WHY}"],
            id="tens-order-on-hold",
        ),
        pytest.param([service_request(*TENS, status="completed", authored_days=2)], None, id="completed-tens-order"),
        pytest.param(
            [service_request(*TENS, status="draft", authored_days=2)],
            [f"{TENS[2]} (current): {TENS_WHY}"],
            id="tens-draft-left-in-the-chart",
        ),
        pytest.param([service_request(*TENS, status="active", authored_days=20)], None, id="tens-ordered-before-onset"),
    ],
)
def test_what_patient_view_lists(resources, lines):
    assert listed(resources) == lines


def test_antidepressants_and_gabapentinoids_are_listed_in_acute_pain_only():
    chronic = [med_request(*AMITRIPTYLINE, authored_days=3), med_request(*GABAPENTIN, authored_days=3)]
    assert listed(chronic, onset=200) is None


def test_an_order_hook_lists_its_drafts_only_each_with_a_removal():
    drafts = [med_request(*PREDNISONE, status="draft", rid="d-pred"), service_request(*TENS, rid="d-tens")]
    chart = [med_request(*ALPRAZOLAM, authored_days=3)]
    card = by_topic(cards_for([lbp(onset_days=9), *chart], hook="order-sign", drafts=drafts))[
        "not-recommended-treatment"
    ]
    assert [line[2:] for line in card.detail.splitlines() if line.startswith("- ")] == [
        f"{PREDNISONE[1]} (draft): {STEROIDS}",
        f"{TENS[2]} (draft order): {TENS_WHY}",
    ]
    assert [(s.label, s.actions[0].resource_id) for s in card.suggestions] == [
        (f"Remove {PREDNISONE[1]}", "MedicationRequest/d-pred"),
        (f"Remove {TENS[2]}", "ServiceRequest/d-tens"),
    ]
    assert card.summary == f"Not recommended for back pain: {TENS[2]}, {PREDNISONE[1]}"


def test_a_summary_that_would_be_too_long_counts_the_treatments_instead():
    names = [f"{'x' * 30} {i} steroid" for i in range(5)]
    drafts = [med_request("312617", name, status="draft", rid=f"d{i}") for i, name in enumerate(names)]
    card = by_topic(cards_for([lbp(onset_days=9)], hook="order-sign", drafts=drafts))["not-recommended-treatment"]
    assert card.summary == "5 treatments not recommended for back pain"


@pytest.mark.parametrize(
    ("length", "counted"),
    [
        pytest.param(139, False, id="a-139-character-summary-is-kept"),
        pytest.param(140, True, id="a-140-character-summary-is-replaced"),
    ],
)
def test_summary_length_limit(length, counted):
    prefix = "Not recommended for back pain: "
    name = "p" * (length - len(prefix))
    card = by_topic(
        cards_for(
            [lbp(onset_days=9)], hook="order-sign", drafts=[med_request("312617", name, status="draft", rid="d1")]
        )
    )["not-recommended-treatment"]
    assert card.summary == ("1 treatment not recommended for back pain" if counted else prefix + name)
