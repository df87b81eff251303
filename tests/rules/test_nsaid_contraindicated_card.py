"""nsaid-contraindicated as the clinician sees it (clinical reference 4.1-4.2, 0.10 item 11): which NSAIDs are in
play and in what state, and for each NSAID draft one suggestion: replace it with acetaminophen capped at this patient's
maximum, or only remove it when the acetaminophen already taken reaches that maximum; recommended when it is the
only NSAID."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request

HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
CIRRHOSIS = condition(ICD, "K70.30", "Alcoholic cirrhosis of liver without ascites")
IBUPROFEN = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN = ("198014", "naproxen 500 MG Oral Tablet")
APAP_500 = ("198440", "acetaminophen 500 MG Oral Tablet")


def ibuprofen_draft(rid="d-ibu"):
    return med_request(*IBUPROFEN, dosage(1, "TAB", 3), status="draft", rid=rid)


def card(chart, drafts=(), hook="order-sign"):
    return by_topic(cards_for([lbp(onset_days=9), *chart], hook=hook, drafts=list(drafts)))["nsaid-contraindicated"]


@pytest.mark.parametrize(
    ("chart", "summary", "in_play"),
    [
        pytest.param([HEART_FAILURE], "Avoid NSAIDs for this patient", None, id="no-nsaid-a-warning-to-avoid-them"),
        pytest.param(
            [HEART_FAILURE, med_request(*IBUPROFEN, dosage(1, "TAB", 3))],
            "NSAID ordered despite a contraindication",
            "NSAID in play: ibuprofen 600 MG Oral Tablet (active, last ordered 2026-11-22).",
            id="active-chart-nsaid-named-as-active",
        ),
    ],
)
def test_the_card_says_which_nsaid_is_in_play(chart, summary, in_play):
    found = card(chart, hook="patient-view")
    assert found.summary == summary
    assert ("NSAID in play" in found.detail) is (in_play is not None)
    if in_play:
        assert in_play in found.detail.splitlines()
    assert found.suggestions == ()  # nothing drafted: nothing to remove from this order


@pytest.mark.parametrize(
    ("chart", "drafts", "labels", "recommended", "max_mg"),
    [
        pytest.param(
            [HEART_FAILURE],
            [ibuprofen_draft()],
            ["Replace ibuprofen 600 MG Oral Tablet with acetaminophen (max 3,000 mg/day)"],
            True,
            3000,
            id="heart-failure-the-only-nsaid-replaced-by-acetaminophen-up-to-3000",
        ),
        pytest.param(
            [HEART_FAILURE, CIRRHOSIS],
            [ibuprofen_draft()],
            ["Replace ibuprofen 600 MG Oral Tablet with acetaminophen (max 2,000 mg/day)"],
            True,
            2000,
            id="heart-failure-with-cirrhosis-acetaminophen-replacement-capped-at-2000",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 2))],
            [ibuprofen_draft()],
            ["Remove ibuprofen 600 MG Oral Tablet (acetaminophen already at 2,000 mg/day)"],
            True,
            None,
            id="2000-acetaminophen-taken-a-3000-replacement-beside-it-would-reach-5000-so-only-removed",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 3))],
            [ibuprofen_draft()],
            ["Remove ibuprofen 600 MG Oral Tablet (acetaminophen already at 3,000 mg/day)"],
            True,
            None,
            id="3000-acetaminophen-taken-reaches-the-cap-only-removed",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 3))],
            [ibuprofen_draft(), med_request(*NAPROXEN, dosage(1, "TAB", 2), status="draft", rid="d-nap")],
            [
                "Remove ibuprofen 600 MG Oral Tablet (acetaminophen already at 3,000 mg/day)",
                "Remove naproxen 500 MG Oral Tablet (acetaminophen already at 3,000 mg/day)",
            ],
            None,
            None,
            id="two-nsaid-drafts-each-removed-neither-recommended-over-the-other",
        ),
        pytest.param(
            [HEART_FAILURE],
            [ibuprofen_draft(), med_request(*NAPROXEN, dosage(1, "TAB", 2), status="draft", rid="d-nap")],
            [
                "Replace ibuprofen 600 MG Oral Tablet with acetaminophen (max 3,000 mg/day)",
                "Replace naproxen 500 MG Oral Tablet with acetaminophen (max 3,000 mg/day)",
            ],
            None,
            3000,
            id="two-nsaid-drafts-each-replaced-neither-recommended",
        ),
    ],
)
def test_each_nsaid_draft_is_replaced_or_removed(chart, drafts, labels, recommended, max_mg):
    found = card(chart, drafts)
    assert found.summary == "NSAID ordered despite a contraindication"
    assert [s.label for s in found.suggestions] == labels
    for suggestion, draft in zip(found.suggestions, drafts, strict=True):
        assert suggestion.is_recommended is recommended
        delete, *create = suggestion.actions
        assert (delete.type, delete.resource_id) == ("delete", f"MedicationRequest/{draft['id']}")
        if max_mg is None:
            assert create == []
        else:
            (order,) = [a.resource for a in create]
            assert order["dosageInstruction"][0]["maxDosePerPeriod"]["numerator"]["value"] == max_mg
