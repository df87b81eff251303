"""A draft of the same NSAID product (same RxNorm code) as a current chart order is a renewal that replaces it, not a
duplicate (clinical reference 0.4, 0.10 item 1); a draft of another NSAID product or ingredient beside a current NSAID
is still a duplicate (two NSAIDs at once). A renewal's dose is still checked against the guideline (section 4).

A clinician found Brenda Jackson's draft ibuprofen 600 mg (RxNorm 197806, the code of her chart order) called a
"Duplicate NSAID" at order-sign, with a button to remove the draft."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, dosage, lbp, med_request, observation, patient

IBUPROFEN_400 = ("197805", "ibuprofen 400 MG Oral Tablet")
IBUPROFEN_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
EGFR_25 = observation("62238-1", 25, "mL/min/{1.73_m2}", days=20)
REPLACE_600 = (
    "Replace ibuprofen 600 MG Oral Tablet by ibuprofen 400 mg every 6 hours as needed, at most 4 a day (1,600 mg/day)"
)


def chart(drug, dose, days=40):
    return med_request(*drug, dose, authored_days=days)


def draft(drug, dose, rid="d-nsaid"):
    return med_request(*drug, dose, status="draft", rid=rid)


def order_sign(resources, drafts):
    return by_topic(cards_for([lbp(onset_days=10), *resources], hook="order-sign", drafts=drafts))


@pytest.mark.parametrize(
    ("resources", "drafted", "summary", "says", "suggestions"),
    [
        pytest.param(
            [chart(IBUPROFEN_400, dosage(1, "TAB", 4))],
            draft(IBUPROFEN_400, dosage(1, "TAB", 4)),
            None,
            [],
            [],
            id="same-code-same-dose-renewal-within-the-guideline-is-nothing-to-warn-about",
        ),
        pytest.param(
            [chart(IBUPROFEN_600, dosage(1, "TAB", 3))],
            draft(IBUPROFEN_600, dosage(1, "TAB", 3)),
            "NSAID order above the guideline dose",
            [
                "Drafted: ibuprofen 600 MG Oral Tablet: 600 mg 3 times a day = 1,800 mg/day; renewal of ibuprofen "
                f"600 MG Oral Tablet (last ordered {ago(40)}).",
                "600 mg a dose is above the 400 mg the guideline advises",
            ],
            [REPLACE_600],
            id="brenda-jackson-ibuprofen-600-renewal-is-no-duplicate-but-its-dose-is-still-above-400",
        ),
        pytest.param(
            [chart(IBUPROFEN_600, None)],
            draft(IBUPROFEN_600, dosage(1, "TAB", 3)),
            "NSAID order above the guideline dose",
            [
                "Drafted: ibuprofen 600 MG Oral Tablet: 600 mg 3 times a day = 1,800 mg/day; renewal of ibuprofen "
                f"600 MG Oral Tablet (last ordered {ago(40)}), which had no structured dose.",
                "600 mg a dose is above the 400 mg the guideline advises",
            ],
            [REPLACE_600],
            id="a-chart-order-without-a-dose-had-no-dose-to-change-as-brenda-jacksons-has-none-and-says-so",
        ),
        pytest.param(
            [chart(IBUPROFEN_400, dosage(1, "TAB", 2))],
            draft(IBUPROFEN_400, dosage(1, "TAB", 9)),
            "NSAID order above the guideline dose",
            [
                f"renewal of ibuprofen 400 MG Oral Tablet (last ordered {ago(40)}), dose changed.",
                "3,600 mg/day is above the 3,200 mg/day maximum",
            ],
            [
                "Replace ibuprofen 400 MG Oral Tablet by ibuprofen 400 mg every 6 hours as needed, at most 4 a day "
                "(1,600 mg/day)"
            ],
            id="same-code-renewal-with-a-higher-dose-says-the-dose-changed-and-is-checked",
        ),
        pytest.param(
            [chart(IBUPROFEN_600, dosage(1, "TAB", 3))],
            draft(IBUPROFEN_400, dosage(1, "TAB", 4)),
            "Duplicate NSAID order",
            [f"- **Duplicate NSAID:** already active: ibuprofen 600 MG Oral Tablet (last ordered {ago(40)})."],
            ["Remove the duplicate ibuprofen 400 MG Oral Tablet draft"],
            id="another-product-of-the-same-ingredient-is-a-second-nsaid-order-still-a-duplicate",
        ),
        pytest.param(
            [chart(NAPROXEN_500, dosage(1, "TAB", 2))],
            draft(IBUPROFEN_400, dosage(1, "TAB", 4)),
            "Duplicate NSAID order",
            [f"- **Duplicate NSAID:** already active: naproxen 500 MG Oral Tablet (last ordered {ago(40)})."],
            ["Remove the duplicate ibuprofen 400 MG Oral Tablet draft"],
            id="another-nsaid-ingredient-is-two-nsaids-at-once-still-a-duplicate",
        ),
        pytest.param(
            [chart(IBUPROFEN_400, dosage(1, "TAB", 4)), chart(NAPROXEN_500, dosage(1, "TAB", 2), days=20)],
            draft(IBUPROFEN_400, dosage(1, "TAB", 4)),
            "Duplicate NSAID order",
            [
                f"renewal of ibuprofen 400 MG Oral Tablet (last ordered {ago(40)}).",
                f"- **Duplicate NSAID:** already active: naproxen 500 MG Oral Tablet (last ordered {ago(20)}).",
            ],
            ["Remove the duplicate ibuprofen 400 MG Oral Tablet draft"],
            id="a-renewal-beside-another-active-nsaid-duplicates-that-one-only",
        ),
    ],
)
def test_a_same_code_nsaid_draft_is_a_renewal_not_a_duplicate(resources, drafted, summary, says, suggestions):
    card = order_sign(resources, [drafted]).get("nsaid-first-line")
    if summary is None:
        assert card is None, card.detail
        return
    assert card.summary == summary
    assert all(s in card.detail for s in says), card.detail
    if "Duplicate" not in summary:
        assert "Duplicate" not in card.detail and "duplicate" not in card.detail, card.detail
    assert [s.label for s in card.suggestions] == suggestions
    cited = set(cite(*card.evidence))  # the card cites the chart orders it names, renewed ones included
    assert {f"MedicationRequest/{r['id']}" for r in resources} <= cited, cited


def test_a_renewal_is_no_duplicate_on_the_contraindicated_card_and_its_dose_is_still_checked():
    card = order_sign(
        [EGFR_25, chart(IBUPROFEN_600, dosage(1, "TAB", 3))], [draft(IBUPROFEN_600, dosage(1, "TAB", 3))]
    )["nsaid-contraindicated"]
    assert "Duplicate" not in card.detail, card.detail
    assert "600 mg a dose is above the 400 mg the guideline advises" in card.detail


def test_a_replacement_that_adds_omeprazole_says_so_in_its_label():
    """At 70 (a GI caution) the replacement creates ibuprofen and omeprazole: its label names both, as the
    patient-view suggestion does (0.10 item 15)."""
    found = by_topic(
        cards_for(
            [lbp(onset_days=10), chart(IBUPROFEN_600, dosage(1, "TAB", 3))],
            hook="order-sign",
            drafts=[draft(IBUPROFEN_600, dosage(1, "TAB", 3))],
            pt=patient(age=70),
        )
    )
    (suggestion,) = found["nsaid-first-line"].suggestions
    created = [a.resource["medicationCodeableConcept"]["text"] for a in suggestion.actions if a.type == "create"]
    assert len(created) == 2 and "omeprazole" in created[1].lower()
    assert suggestion.label == f"{REPLACE_600} with omeprazole 20 mg once daily while taking the NSAID"


def test_a_chart_order_being_renewed_is_not_restated_as_a_second_nsaid_already_taken():
    """The draft renews the chart order (its 'Drafted' line says so): 'Already on an NSAID ... do not add a second
    NSAID' about that same order would contradict it (a second clinician read, Brenda Jackson at order-sign)."""
    card = order_sign([chart(IBUPROFEN_600, dosage(1, "TAB", 3))], [draft(IBUPROFEN_600, dosage(1, "TAB", 3))])[
        "nsaid-first-line"
    ]
    assert "renewal of ibuprofen 600 MG Oral Tablet" in card.detail
    assert "Already on an NSAID" not in card.detail and "second NSAID" not in card.detail


def test_another_nsaid_taken_beside_a_renewal_is_still_named():
    card = order_sign(
        [chart(IBUPROFEN_600, dosage(1, "TAB", 3)), chart(NAPROXEN_500, dosage(1, "TAB", 2))],
        [draft(IBUPROFEN_600, dosage(1, "TAB", 3))],
    )["nsaid-first-line"]
    assert "Already on an NSAID" in card.detail and "naproxen 500 MG Oral Tablet" in card.detail
