"""nsaid-first-line, nsaid-contraindicated, acetaminophen-alternative (clinical reference 4)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, RX, SCT, allergy, condition, lbp, med_request, observation, patient


def topics(*resources, pt=None, **kw):
    return {t: c.indicator for t, c in by_topic(cards_for([lbp(), *resources], pt=pt, **kw)).items()}


@pytest.mark.parametrize(
    ("resources", "first_line", "contraindicated"),
    [
        pytest.param([], Indicator.INFO, None, id="no-risk-nsaid-first-line"),
        pytest.param(
            [observation("62238-1", 29, "mL/min/{1.73_m2}", days=30)],
            None,
            Indicator.WARNING,
            id="egfr-29-contraindicated",
        ),
        pytest.param(
            [observation("62238-1", 30, "mL/min/{1.73_m2}", days=30)], Indicator.INFO, None, id="egfr-30-caution-only"
        ),
        pytest.param(
            [observation("62238-1", 25, "mL/min/{1.73_m2}", days=400)],
            Indicator.INFO,
            None,
            id="egfr-older-than-365-days-ignored",
        ),
        pytest.param(
            [
                observation("62238-1", 25, "mL/min/{1.73_m2}", days=200),
                observation("62238-1", 70, "mL/min/{1.73_m2}", days=10),
            ],
            Indicator.INFO,
            None,
            id="most-recent-egfr-wins-not-the-lowest",
        ),
        pytest.param([condition(ICD, "N18.5", "CKD stage 5")], None, Indicator.WARNING, id="ckd5-contraindicated"),
        pytest.param(
            [condition(ICD, "K25.4", "Gastric ulcer with hemorrhage", status="resolved")],
            None,
            Indicator.WARNING,
            id="resolved-ulcer-history-counts",
        ),
        pytest.param(
            [condition(ICD, "I50.22", "Chronic systolic heart failure")], None, Indicator.WARNING, id="heart-failure"
        ),
        pytest.param([med_request("1364445", "apixaban 5 MG")], None, Indicator.WARNING, id="apixaban-anticoagulant"),
        pytest.param([med_request("309362", "clopidogrel 75 MG")], None, Indicator.WARNING, id="clopidogrel"),
        pytest.param(
            [condition(ICD, "Z3A.24", "24 weeks gestation")], None, Indicator.WARNING, id="pregnancy-condition"
        ),
        pytest.param(
            [observation("82810-3", None, days=30, value_code=(SCT, "77386006"))],
            None,
            Indicator.WARNING,
            id="pregnancy-status-observation",
        ),
        pytest.param([allergy(RX, "5640")], None, Indicator.WARNING, id="ibuprofen-allergy"),
        pytest.param(
            [med_request("197805", "ibuprofen 400 MG"), condition(ICD, "I50.9", "Heart failure")],
            None,
            Indicator.CRITICAL,
            id="active-nsaid-with-contraindication-critical",
        ),
    ],
)
def test_nsaid_status_cards(resources, first_line, contraindicated):
    found = topics(*resources)
    assert found.get("nsaid-first-line") == first_line
    assert found.get("nsaid-contraindicated") == contraindicated


def test_age_65_is_a_caution_not_a_contraindication():
    card = by_topic(cards_for([lbp()], pt=patient(age=65)))["nsaid-first-line"]
    assert "age 65" in card.detail and "caution" in card.summary


def test_age_64_has_no_caution():
    assert "caution" not in by_topic(cards_for([lbp()], pt=patient(age=64)))["nsaid-first-line"].summary


def test_first_line_suggests_ibuprofen_only_when_no_nsaid_is_active():
    assert by_topic(cards_for([lbp()]))["nsaid-first-line"].suggestions
    assert not by_topic(cards_for([lbp(), med_request("197805", "ibuprofen")]))["nsaid-first-line"].suggestions


@pytest.mark.parametrize(
    ("resources", "indicator", "cap"),
    [
        pytest.param([condition(ICD, "I50.9", "HF")], Indicator.INFO, "3,000", id="no-hepatic-risk-info-3000mg"),
        pytest.param(
            [condition(ICD, "I50.9", "HF"), condition(ICD, "K70.30", "Alcoholic cirrhosis")],
            Indicator.WARNING,
            "2,000",
            id="cirrhosis-warning-2000mg",
        ),
        pytest.param(
            [condition(ICD, "I50.9", "HF"), observation("1742-6", 130, "U/L", days=10, high=40)],
            Indicator.WARNING,
            "2,000",
            id="alt-above-3x-upper-limit",
        ),
        pytest.param(
            [condition(ICD, "I50.9", "HF"), observation("1742-6", 110, "U/L", days=10, high=40)],
            Indicator.INFO,
            "3,000",
            id="alt-below-3x-upper-limit",
        ),
        pytest.param(
            [condition(ICD, "I50.9", "HF"), observation("1742-6", 121, "U/L", days=10)],
            Indicator.WARNING,
            "2,000",
            id="alt-over-120-without-range",
        ),
        pytest.param([], None, None, id="nsaids-fine-no-acetaminophen-card"),
    ],
)
def test_acetaminophen_alternative(resources, indicator, cap):
    card = by_topic(cards_for([lbp(), *resources])).get("acetaminophen-alternative")
    assert (card.indicator if card else None) == indicator
    if cap:
        assert cap in card.summary
        order = card.suggestions[0].actions[0].resource
        assert order["dosageInstruction"][0]["maxDosePerPeriod"]["numerator"]["value"] == int(cap.replace(",", ""))


def test_acetaminophen_in_opioid_combination_is_counted():
    card = by_topic(
        cards_for(
            [lbp(), condition(ICD, "I50.9", "HF"), med_request("857002", "acetaminophen 325 MG / hydrocodone 5 MG")]
        )
    )
    assert "hydrocodone" in card["acetaminophen-alternative"].detail
