"""The ibuprofen order a card suggests is complete and consistent, with a proton-pump inhibitor where the card advises
one (clinical reference 0.10 item 15): 400 mg every 6 hours as needed with food, at most 4 a day (1,600 mg/day),
28 tablets for 7 days; omeprazole 20 mg once daily beside it with a GI caution."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, lbp, med_request, observation, patient

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def suggested(resources, age=45):
    card = by_topic(cards_for(resources, pt=patient(age=age)))["nsaid-first-line"]
    (suggestion,) = card.suggestions
    return suggestion, [a.resource for a in suggestion.actions]


def test_the_ibuprofen_order_adds_up():
    _, (order,) = suggested([lbp(onset_days=9)])
    (dose,) = order["dosageInstruction"]
    per_dose = dose["doseAndRate"][0]["doseQuantity"]
    repeat = dose["timing"]["repeat"]
    a_day = repeat["frequency"] * 24 / repeat["period"]
    assert (per_dose["value"], per_dose["code"], a_day) == (1, "TAB", 4) and dose["asNeededBoolean"] is True
    assert dose["maxDosePerPeriod"]["numerator"]["value"] == 1600 == 400 * a_day  # the timing can reach the max
    assert "with food" in dose["text"] and "at most 4 tablets (1,600 mg) a day" in dose["text"]
    dispense = order["dispenseRequest"]
    assert dispense["quantity"]["value"] == 28 == a_day * dispense["expectedSupplyDuration"]["value"]
    assert (dispense["expectedSupplyDuration"]["value"], dispense["expectedSupplyDuration"]["code"]) == (7, "d")


@pytest.mark.parametrize(
    ("resources", "age", "with_ppi"),
    [
        pytest.param([lbp(onset_days=9)], 45, False, id="no-caution-ibuprofen-alone"),
        pytest.param([lbp(onset_days=9)], 65, True, id="age-65-gi-risk-omeprazole-beside-it"),
        pytest.param(
            [lbp(onset_days=9), med_request("596930", "duloxetine 30 MG Delayed Release Oral Capsule")],
            45,
            True,
            id="snri-bleeding-risk-omeprazole-beside-it",
        ),
        pytest.param(
            [lbp(onset_days=9), med_request("312617", "prednisone 5 MG Oral Tablet", authored_days=40)],
            45,
            True,
            id="systemic-corticosteroid-omeprazole-beside-it",
        ),
        pytest.param(
            [lbp(onset_days=9), med_request("243670", "aspirin 81 MG Oral Tablet")],
            45,
            True,
            id="low-dose-aspirin-omeprazole-beside-it",
        ),
        pytest.param(
            [lbp(onset_days=9), observation("62238-1", 45, days=20)],
            45,
            False,
            id="egfr-45-kidney-caution-is-not-a-gi-risk-no-ppi",
        ),
        pytest.param(
            [lbp(onset_days=9), condition(ICD, "I25.10", "Coronary artery disease")],
            45,
            False,
            id="cardiovascular-caution-is-not-a-gi-risk-no-ppi",
        ),
    ],
)
def test_a_gi_caution_adds_omeprazole_to_the_same_suggestion(resources, age, with_ppi):
    suggestion, orders = suggested(resources, age)
    codes = [o["medicationCodeableConcept"]["coding"][0]["code"] for o in orders]
    assert codes == (["197805", "198051"] if with_ppi else ["197805"])
    assert ("omeprazole" in suggestion.label) is with_ppi
    if with_ppi:
        (dose,) = orders[1]["dosageInstruction"]
        assert dose["timing"]["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d"}
        assert dose["doseAndRate"][0]["doseQuantity"]["value"] == 1 and "20 mg" in dose["text"]
        assert orders[1]["dispenseRequest"]["quantity"]["value"] == 7


def test_no_card_promises_a_maximum_the_order_cannot_reach():
    card = by_topic(cards_for([lbp(onset_days=9)]))["nsaid-first-line"]
    assert "3,200" not in card.detail + card.suggestions[0].label
    assert "1,600 mg/day" in card.suggestions[0].label
