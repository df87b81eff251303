"""How cards name what the chart holds (clinical reference 0.9, 4.2, 5.1): a long-term opioid without an MME factor by
its own name, a condition by its onset or else its recorded date, an ALT against 3 x its own upper limit, and an
entered-in-error naloxone order passed over, not taken as the end of the search."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request, observation, without_display

BELBUCA = ("1716065", "buprenorphine 0.3 MG Buccal Film")
OXY = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 4))
NALOXONE = ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")


def lines(resources, topic, onset=200):
    return by_topic(cards_for([lbp(onset_days=onset), *resources]))[topic].detail.splitlines()


@pytest.mark.parametrize(
    ("med", "line"),
    [
        pytest.param(
            med_request(*BELBUCA, dosage(1, "{film}", 2), authored_days=120),
            "- Long-term therapy: buprenorphine 0.3 MG Buccal Film since 2026-07-30; reassess benefits and harms at "
            "least every 3 months.",
            id="buprenorphine-has-no-mme-factor-named-by-its-product",
        ),
        pytest.param(
            without_display(med_request(BELBUCA[0], "", dosage(1, "{film}", 2), authored_days=120)),
            "- Long-term therapy: opioid since 2026-07-30; reassess benefits and harms at least every 3 months.",
            id="unnamed-buprenorphine-named-opioid",
        ),
    ],
)
def test_long_term_therapy_names_the_drug(med, line):
    assert line in lines([med], "opioid-risk")


def test_a_condition_without_onset_is_dated_by_when_it_was_recorded():
    depression = condition(ICD, "F32.9", "Depression", onset_days=None, recorded_days=40)
    apnea = condition(ICD, "G47.33", "Sleep apnea", onset_days=None)
    assert "- Risk factors for opioid harm: Depression (recorded 2026-10-18); Sleep apnea." in lines(
        [OXY, depression, apnea], "opioid-risk"
    )


@pytest.mark.parametrize(
    ("alt", "summary", "named"),
    [
        pytest.param(
            100, "max 2,000 mg/day (hepatic risk)", ["- ALT 100 U/L on 2026-11-17 (above 90)"], id="alt-100-above-3x-30"
        ),
        pytest.param(80, "max 3,000 mg/day", [], id="alt-80-within-3x-its-upper-limit-of-30"),
    ],
)
def test_alt_above_3_times_its_own_upper_limit_is_a_hepatic_risk(alt, summary, named):
    card = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE, observation("1742-6", alt, "U/L", days=10, high=30)]))[
        "acetaminophen-alternative"
    ]
    assert card.summary.endswith(summary)
    assert [x for x in card.detail.splitlines() if "ALT" in x] == named


@pytest.mark.parametrize(
    ("naloxone", "offered"),
    [
        pytest.param(
            [med_request(*NALOXONE, status="entered-in-error"), med_request(*NALOXONE)],
            False,
            id="an-order-in-error-beside-a-current-one-naloxone-is-on-hand",
        ),
        pytest.param([med_request(*NALOXONE, status="entered-in-error")], True, id="only-an-order-in-error-offered"),
    ],
)
def test_an_entered_in_error_naloxone_order_is_passed_over(naloxone, offered):
    found = by_topic(
        cards_for([lbp(onset_days=200), med_request("1049621", "oxycodone 5 MG", dosage(3, "TAB", 4)), *naloxone])
    )
    assert ("naloxone" in found) is offered
