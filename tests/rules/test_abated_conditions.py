"""A condition that abated (abatement date past, no status) no longer counts where the current-state rule applies
(clinical reference 0.3): the same condition still active is named on the card it drives."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request

OXY = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 4))


@pytest.mark.parametrize(
    ("code", "display", "topic", "chart"),
    [
        pytest.param("N18.30", "Chronic kidney disease, stage 3", "nsaid-first-line", [], id="ckd-3-an-nsaid-caution"),
        pytest.param(
            "Z79.01", "Long term (current) use of anticoagulants", "nsaid-contraindicated", [], id="anticoagulant-use"
        ),
        pytest.param(
            "Z79.02", "Long term (current) use of antiplatelets", "nsaid-contraindicated", [], id="antiplatelet-use"
        ),
        pytest.param("M46.26", "Osteomyelitis of vertebra", "red-flags", [], id="spinal-infection-a-red-flag"),
        pytest.param("R63.4", "Abnormal weight loss", "red-flags", [], id="weight-loss-a-red-flag"),
        pytest.param("Z79.52", "Long term use of systemic steroids", "red-flags", [], id="long-term-steroids-red-flag"),
        pytest.param("F32.9", "Major depressive disorder", "opioid-risk", [OXY], id="depression-an-opioid-risk"),
        pytest.param("G47.33", "Obstructive sleep apnea", "opioid-risk", [OXY], id="sleep-apnea-an-opioid-risk"),
        pytest.param("N18.4", "Chronic kidney disease, stage 4", "opioid-risk", [OXY], id="ckd-4-an-opioid-risk"),
    ],
)
@pytest.mark.parametrize("abated", [None, 2], ids=["still-active-counts", "abated-2-days-ago-does-not"])
def test_an_abated_condition_no_longer_counts(code, display, topic, chart, abated):
    resource = condition(ICD, code, display, onset_days=30, status=None if abated else "active", abatement_days=abated)
    card = by_topic(cards_for([lbp(onset_days=9), resource, *chart])).get(topic)
    assert (card is not None and display in card.detail) is (abated is None)
