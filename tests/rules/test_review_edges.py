"""Edges a review of this stop's changes found (issue 19): a refill coded generic-and-brand is a renewal, the room
left under the acetaminophen maximum is never to be taken by raising an opioid combination, an unread dose is not
"0 mg/day", a chart order being renewed is not restated as taken, reordered instructions are the same dose, and kidney
advice names what it rests on."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, ago, condition, dosage, lbp, med_request, observation, patient

OXY_ER = ("1049502", "12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet")
OXYCONTIN = "1049504"
IBUPROFEN_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
APAP_500 = ("198440", "acetaminophen 500 MG Oral Tablet")
OXY_APAP = ("1049221", "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet")
HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
Q12H = dosage(1, "TAB", 1, 12, "h")


def also_coded(order, code):
    """The order with a second RxNorm coding (EHRs send the generic and the branded product together)."""
    coding = order["medicationCodeableConcept"]["coding"]
    coding.append({**coding[0], "code": code})
    return order


def sign(chart, drafts, age=45):
    return by_topic(cards_for([lbp(onset_days=200), *chart], hook="order-sign", drafts=drafts, pt=patient(age=age)))


@pytest.mark.parametrize(
    ("chart_codes", "draft_codes"),
    [
        pytest.param((OXY_ER[0], OXYCONTIN), (OXY_ER[0],), id="chart-generic-and-brand-draft-generic"),
        pytest.param((OXY_ER[0],), (OXY_ER[0], OXYCONTIN), id="chart-generic-draft-generic-and-brand"),
    ],
)
def test_an_opioid_refill_sharing_a_code_with_the_chart_order_renews_it_not_doubles_it(chart_codes, draft_codes):
    chart = med_request(*OXY_ER, Q12H, authored_days=20)
    draft = med_request(*OXY_ER, Q12H, status="draft", rid="d-1")
    for code in chart_codes[1:]:
        also_coded(chart, code)
    for code in draft_codes[1:]:
        also_coded(draft, code)
    found = sign([chart], [draft])
    assert found["opioid-risk"].mme == 30  # 10 mg twice a day x 1.5, once: not 60
    assert "renewal of" in found["opioid-risk"].detail


def test_an_nsaid_refill_sharing_a_code_with_the_chart_order_is_no_duplicate():
    chart = also_coded(med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), authored_days=20), "1000001")
    found = sign([chart], [med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), status="draft", rid="d-1")])
    assert "Duplicate" not in found["nsaid-first-line"].detail
    assert "renewal of ibuprofen 600 MG Oral Tablet" in found["nsaid-first-line"].detail


def test_a_renewed_nsaid_is_not_restated_as_taken_beside_another_nsaid():
    chart = [
        med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), authored_days=20),
        med_request(*NAPROXEN_500, dosage(1, "TAB", 2), authored_days=20),
    ]
    card = sign(chart, [med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), status="draft", rid="d-1")])[
        "nsaid-first-line"
    ]
    (line,) = [x for x in card.detail.splitlines() if x.startswith("- Already on an NSAID")]
    assert "naproxen 500 MG Oral Tablet" in line and "ibuprofen" not in line


@pytest.mark.parametrize(
    ("taken", "said"),
    [
        pytest.param(
            [med_request(*APAP_500, dosage(2, "TAB", 2))],
            "Up to 1,000 mg/day more stays within the 3,000 mg/day maximum: adjust the current order rather than "
            "adding another.",
            id="plain-acetaminophen-its-order-may-be-adjusted",
        ),
        pytest.param(
            [med_request(*OXY_APAP, dosage(1, "TAB", 4))],
            "Up to 1,700 mg/day more stays within the 3,000 mg/day maximum, as plain acetaminophen: never by "
            "raising the opioid combination.",
            id="percocet-the-room-left-is-never-taken-by-raising-the-opioid",
        ),
    ],
)
def test_the_room_left_under_the_acetaminophen_maximum(taken, said):
    card = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE, *taken]))["acetaminophen-alternative"]
    assert said in card.detail.splitlines()


@pytest.mark.parametrize(
    ("taken", "label", "last"),
    [
        pytest.param(
            [med_request(*APAP_500)],
            "Remove ibuprofen 600 MG Oral Tablet (acetaminophen already taken, dose not recorded)",
            "Use acetaminophen within its daily maximum, or nonpharmacologic care, instead.",
            id="an-unread-dose-is-not-0-mg",
        ),
        pytest.param(
            [med_request(*APAP_500, dosage(2, "TAB", 3)), med_request(*OXY_APAP)],
            "Remove ibuprofen 600 MG Oral Tablet (acetaminophen already at least 3,000 mg/day)",
            "Acetaminophen is already at least 3,000 mg/day, at or above its 3,000 mg/day maximum here: use "
            "nonpharmacologic care.",
            id="3000-read-plus-an-unread-product-is-at-least-3000",
        ),
    ],
)
def test_acetaminophen_taken_as_the_nsaid_card_says_it(taken, label, last):
    draft = med_request(*IBUPROFEN_600, status="draft", rid="d-ibu")
    card = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE, *taken], hook="order-sign", drafts=[draft]))[
        "nsaid-contraindicated"
    ]
    assert [s.label for s in card.suggestions] == [label]
    assert card.detail.split("\n\n")[-1] == last


def test_the_same_instructions_in_another_order_are_the_same_dose():
    morning, twice = dosage(1, "TAB", 1), dosage(1, "TAB", 2)
    chart = med_request(*IBUPROFEN_600, authored_days=20) | {"dosageInstruction": [morning, twice]}
    draft = med_request(*IBUPROFEN_600, status="draft", rid="d-1") | {"dosageInstruction": [twice, morning]}
    detail = sign([chart], [draft])["nsaid-first-line"].detail
    assert "renewal of ibuprofen 600 MG Oral Tablet" in detail and "dose changed" not in detail


def test_kidney_advice_names_the_finding_it_rests_on_and_cites_it():
    """CKD 4 with a recent eGFR of 45: 'eGFR below 30' would be false; the card names the condition and cites it."""
    ckd4 = condition(ICD, "N18.4", "Chronic kidney disease, stage 4", onset_days=400) | {"id": "ckd4"}
    card = by_topic(cards_for([lbp(onset_days=200), ckd4, observation("62238-1", 45, days=5)], pt=patient(age=45)))[
        "chronic-pain-options"
    ]
    assert "eGFR below 30" not in card.detail
    assert f"Chronic kidney disease, stage 4 (onset {ago(400)})" in card.detail
    assert "Condition/ckd4" in cite(*card.evidence)


SUBOXONE = ("1010600", "buprenorphine 2 MG / naloxone 0.5 MG Sublingual Film")
OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")


@pytest.mark.parametrize(
    ("moud", "risk"),
    [
        pytest.param(
            med_request(*SUBOXONE, dosage(1, "{film}", 1), authored_days=30),
            f"opioid use disorder treatment: {SUBOXONE[1]} (last ordered {ago(30)})",
            id="a-current-moud-is-a-use-disorder-finding-for-naloxone-0.10-item-5",
        ),
        pytest.param(
            med_request(*SUBOXONE, dosage(1, "{film}", 1), status="stopped", authored_days=400),
            None,
            id="a-moud-stopped-a-year-ago-is-not-current",
        ),
    ],
)
def test_a_current_moud_makes_an_opioid_a_naloxone_risk(moud, risk):
    found = by_topic(cards_for([lbp(onset_days=9), moud, med_request(*OXY_5, dosage(1, "TAB", 2))]))
    if risk is None:
        assert "naloxone" not in found
    else:
        assert f"- {risk}" in found["naloxone"].detail.splitlines()
        assert "MedicationRequest/" + moud["id"] in cite(*found["naloxone"].evidence)


def test_one_response_offers_one_acetaminophen_order():
    """The NSAID card replaces the drafted NSAID with acetaminophen: the acetaminophen card offers no second order
    (both accepted would be 6,000 mg/day)."""
    draft = med_request(*IBUPROFEN_600, status="draft", rid="d-ibu")
    found = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE], hook="order-sign", drafts=[draft]))
    created = [
        a.resource["medicationCodeableConcept"]["text"]
        for c in found.values()
        for s in c.suggestions
        for a in s.actions
        if a.type == "create"
    ]
    assert len([t for t in created if "acetaminophen" in t.lower()]) == 1
    assert found["acetaminophen-alternative"].suggestions == ()


@pytest.mark.parametrize(
    ("chart", "drafts", "advice"),
    [
        pytest.param(
            [med_request(*OXY_5, dosage(3, "TAB", 6))],
            [],
            "At 90 MME/day or more, work with the patient to taper to a safer dose; offer naloxone.",
            id="a-chart-dose-of-135-mme-is-tapered",
        ),
        pytest.param(
            [],
            [med_request(*OXY_5, dosage(3, "TAB", 6), status="draft", rid="d-1")],
            "At 90 MME/day or more, avoid starting or raising to this dose: lower the drafted dose (CDC 2022 "
            "Rec 4); offer naloxone.",
            id="a-drafted-135-mme-is-lowered-there-is-nothing-to-taper-yet",
        ),
        pytest.param(
            [med_request(*OXY_5, dosage(3, "TAB", 6), authored_days=30)],
            [med_request(*OXY_5, dosage(3, "TAB", 6), status="draft", rid="d-1")],
            "At 90 MME/day or more, work with the patient to taper to a safer dose; offer naloxone.",
            id="a-refill-of-135-mme-continues-a-therapy-which-is-tapered-never-cut-abruptly",
        ),
    ],
)
def test_high_dose_advice_fits_a_draft_or_a_chart_dose(chart, drafts, advice):
    hook = "order-sign" if drafts else "patient-view"
    card = by_topic(cards_for([lbp(onset_days=9), *chart], hook=hook, drafts=drafts))["opioid-high-dose"]
    assert card.detail.split("\n\n")[-1] == advice


@pytest.mark.parametrize(
    ("resources", "after"),
    [
        pytest.param([], "not controlled by NSAIDs, with a monitoring plan", id="nsaids-come-first"),
        pytest.param(
            [HEART_FAILURE],
            "not controlled by other care (NSAIDs are contraindicated), with a monitoring plan",
            id="beside-avoid-nsaids-the-opioid-card-does-not-send-the-patient-back-to-nsaids",
        ),
    ],
)
def test_what_opioids_come_after(resources, after):
    card = by_topic(cards_for([lbp(onset_days=200), *resources, med_request(*OXY_5, dosage(1, "TAB", 2))]))
    assert after in card["opioid-risk"].detail


def test_a_drafted_acetaminophen_is_being_ordered_not_already_taken():
    drafts = [
        med_request(*APAP_500, dosage(2, "TAB", 4), status="draft", rid="d-apap"),
        med_request(*IBUPROFEN_600, status="draft", rid="d-ibu"),
    ]
    card = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE], hook="order-sign", drafts=drafts))[
        "acetaminophen-alternative"
    ]
    assert "Acetaminophen taken or being ordered, counted toward the daily total:" in card.detail
    assert "already taken" not in card.detail


def test_a_shared_ingredient_code_makes_no_two_opioid_products_one():
    """An EHR may send the ingredient (RxNorm 7804 oxycodone) beside the product: an IR draft beside a chart ER order
    is another product, summed, not a renewal that replaces it (0.10 item 1)."""
    chart = also_coded(med_request(*OXY_ER, Q12H, authored_days=20), "7804")
    draft = also_coded(med_request(*OXY_5, dosage(1, "TAB", 4), status="draft", rid="d-1"), "7804")
    found = sign([chart], [draft])
    assert found["opioid-risk"].mme == 60  # ER 10 mg twice a day (30) + IR 5 mg 4 times a day (30)
    assert "renewal of" not in found["opioid-risk"].detail
