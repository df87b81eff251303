"""The acetaminophen and naloxone orders the cards suggest are complete and consistent, as the ibuprofen order is
(clinical reference 0.10 item 15, 4.2): the dose and frequency reach exactly the daily maximum the card states (3,000
mg/day; 2,000 with hepatic risk), the order carries a quantity and days' supply, and the label and dosage text say
what the order does. The naloxone order dispenses one carton of two sprays (5.7)."""

import re

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request, observation, patient

HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
CIRRHOSIS = condition(ICD, "K70.30", "Alcoholic cirrhosis of liver without ascites")
TABLET_MG = 500  # acetaminophen 500 MG Oral Tablet, the product every suggested acetaminophen order uses
OXY = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"))  # 30 MME/day
ALPRAZOLAM = med_request("308047", "alprazolam 0.25 MG", authored_days=400)  # a benzodiazepine: overdose risk


def check_acetaminophen_order(order, said, cap):
    """The order's dose and timing reach `cap` mg/day, its maximum and quantity agree, and `said` (the label or the
    dosage text) names the same dose, interval and maximum."""
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "198440"
    (dose,) = order["dosageInstruction"]
    per_dose = dose["doseAndRate"][0]["doseQuantity"]
    repeat = dose["timing"]["repeat"]
    assert (per_dose["code"], repeat["periodUnit"], dose["asNeededBoolean"]) == ("TAB", "h", True)
    a_day = repeat["frequency"] * 24 / repeat["period"]
    tablets_a_day = per_dose["value"] * a_day
    assert dose["maxDosePerPeriod"]["numerator"]["value"] == cap == TABLET_MG * tablets_a_day  # timing reaches it
    assert (dose["maxDosePerPeriod"]["numerator"]["code"], dose["maxDosePerPeriod"]["denominator"]["code"]) == (
        "mg",
        "d",
    )
    dispense = order["dispenseRequest"]
    supply = dispense["expectedSupplyDuration"]
    assert (supply["value"], supply["code"]) == (7, "d")
    assert dispense["quantity"]["code"] == "TAB" and dispense["quantity"]["value"] == tablets_a_day * 7
    per_dose_mg = per_dose["value"] * TABLET_MG
    for text in (dose["text"], *said):
        assert f"{per_dose_mg:,} mg" in text and f"every {repeat['period']} hours" in text, text
        assert f"{cap:,} mg" in text, text
        amounts = set(re.findall(r"\b[0-9]{1,3}(?:,[0-9]{3})* mg", text))
        assert amounts <= {f"{per_dose_mg:,} mg", f"{cap:,} mg", f"{TABLET_MG} mg"}, text  # no other maximum
    assert f"at most {tablets_a_day:g} tablets ({cap:,} mg) a day" in dose["text"]


@pytest.mark.parametrize(
    ("chart", "age", "cap"),
    [
        pytest.param([HEART_FAILURE], 45, 3000, id="no-hepatic-risk-card-says-3000-order-reaches-3000"),
        pytest.param([HEART_FAILURE], 70, 3000, id="age-70-card-still-says-3000-the-limit-at-65-order-reaches-3000"),
        pytest.param([HEART_FAILURE, CIRRHOSIS], 45, 2000, id="cirrhosis-card-says-2000-order-reaches-2000-not-3000"),
        pytest.param(
            [HEART_FAILURE, observation("1742-6", 130, "U/L", days=10, high=40)],
            45,
            2000,
            id="alt-above-3x-limit-hepatic-risk-order-reaches-2000",
        ),
        pytest.param(
            [observation("62238-1", 25, days=20)],
            45,
            3000,
            id="egfr-25-as-the-demo-patient-order-reaches-the-3000-the-card-says",
        ),
    ],
)
def test_the_acetaminophen_alternative_order_adds_up_to_the_maximum_the_card_states(chart, age, cap):
    card = by_topic(cards_for([lbp(onset_days=9), *chart], pt=patient(age=age)))["acetaminophen-alternative"]
    assert f"max {cap:,} mg/day" in card.summary and f"**max {cap:,} mg/day**" in card.detail
    (suggestion,) = card.suggestions
    (action,) = suggestion.actions
    check_acetaminophen_order(action.resource, (suggestion.label,), cap)


@pytest.mark.parametrize(
    ("chart", "cap"),
    [
        pytest.param([HEART_FAILURE], 3000, id="nsaid-draft-replaced-by-the-3000-order"),
        pytest.param([HEART_FAILURE, CIRRHOSIS], 2000, id="hepatic-risk-nsaid-draft-replaced-by-the-2000-order"),
    ],
)
def test_the_acetaminophen_that_replaces_an_nsaid_draft_adds_up_to_its_maximum(chart, cap):
    draft = med_request("197806", "ibuprofen 600 MG Oral Tablet", dosage(1, "TAB", 3), status="draft", rid="d-ibu")
    cards = by_topic(cards_for([lbp(onset_days=9), *chart], hook="order-sign", drafts=[draft]))
    (suggestion,) = cards["nsaid-contraindicated"].suggestions
    _, create = suggestion.actions
    assert f"max {cap:,} mg/day" in suggestion.label
    check_acetaminophen_order(create.resource, (), cap)


def test_the_naloxone_order_dispenses_one_carton_of_two_sprays():
    card = by_topic(cards_for([lbp(), OXY, ALPRAZOLAM]))["naloxone"]
    (suggestion,) = card.suggestions
    order = suggestion.actions[0].resource
    (dose,) = order["dosageInstruction"]
    per_dose = dose["doseAndRate"][0]["doseQuantity"]
    quantity = order["dispenseRequest"]["quantity"]
    assert quantity["value"] == 2 and (quantity["unit"], quantity["code"]) == (per_dose["unit"], per_dose["code"])
    assert suggestion.label == "Prescribe naloxone 4 mg nasal spray, 2 sprays (1 carton)"
    assert "1 spray" in dose["text"] and per_dose["value"] == 1  # a dose is one spray: 2 sprays are 2 doses
