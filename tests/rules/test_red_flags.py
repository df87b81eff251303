"""red-flags (clinical reference 2)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, lbp, med_request, observation


def red_flag(resources):
    card = by_topic(cards_for([lbp(onset_days=10), *resources])).get("red-flags")
    return card.indicator if card else None


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([], None, id="uncomplicated-back-pain-no-red-flag"),
        pytest.param(
            [condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2000)],
            Indicator.CRITICAL,
            id="cauda-equina-any-onset-critical",
        ),
        pytest.param(
            [condition(ICD, "R33.9", "Retention of urine", onset_days=5)],
            Indicator.CRITICAL,
            id="new-urinary-retention-critical",
        ),
        pytest.param(
            [condition(SCT, "165232002", "Urinary incontinence", onset_days=40)],
            Indicator.CRITICAL,
            id="incontinence-30-days-before-onset-still-new",
        ),
        pytest.param(
            [condition(SCT, "165232002", "Urinary incontinence", onset_days=41)],
            None,
            id="incontinence-31-days-before-onset-long-standing-no-card",
        ),
        pytest.param(
            [condition(SCT, "165232002", "Urinary incontinence", onset_days=None)],
            Indicator.CRITICAL,
            id="undated-incontinence-counts-as-new",
        ),
        pytest.param([condition(ICD, "M21.371", "Foot drop", onset_days=3)], Indicator.CRITICAL, id="new-foot-drop"),
        pytest.param([condition(SCT, "386661006", "Fever", onset_days=1)], Indicator.CRITICAL, id="fever-condition"),
        pytest.param(
            [condition(SCT, "386661006", "Fever", onset_days=1, status="resolved")],
            None,
            id="resolved-fever-not-current",
        ),
        pytest.param([observation("8310-5", 38.0, "Cel", days=2)], Indicator.CRITICAL, id="temp-38.0-is-fever"),
        pytest.param([observation("8310-5", 37.9, "Cel", days=2)], None, id="temp-37.9-no-fever"),
        pytest.param([observation("8310-5", 100.4, "[degF]", days=2)], Indicator.CRITICAL, id="temp-100.4F-is-fever"),
        pytest.param([observation("8310-5", 39.0, "Cel", days=8)], None, id="fever-8-days-ago-outside-7-day-window"),
        pytest.param(
            [observation("8310-5", 39.0, "Cel", days=1, status="preliminary")],
            None,
            id="preliminary-temperature-does-not-count",
        ),
        pytest.param([condition(ICD, "M46.26", "Vertebral osteomyelitis")], Indicator.CRITICAL, id="spinal-infection"),
        pytest.param(
            [condition(ICD, "C61", "Prostate cancer", status="resolved")],
            Indicator.WARNING,
            id="cancer-history-counts-at-any-status",
        ),
        pytest.param([condition(ICD, "C44.91", "Basal cell carcinoma")], None, id="skin-c44-excluded"),
        pytest.param([condition(ICD, "Z85.3", "History of breast cancer")], Indicator.WARNING, id="z85-history"),
        pytest.param(
            [condition(ICD, "C50.911", "Breast cancer", verification="entered-in-error")],
            None,
            id="entered-in-error-cancer-ignored",
        ),
        pytest.param(
            [condition(ICD, "R63.4", "Abnormal weight loss", onset_days=100)],
            Indicator.WARNING,
            id="recent-weight-loss",
        ),
        pytest.param(
            [condition(ICD, "R63.4", "Abnormal weight loss", onset_days=200)], None, id="weight-loss-over-6-months-ago"
        ),
        pytest.param([condition(ICD, "B20", "HIV", status="inactive")], Indicator.WARNING, id="hiv-history-concept"),
        pytest.param(
            [condition(ICD, "F11.20", "Opioid dependence", onset_days=300, status="remission")],
            Indicator.WARNING,
            id="drug-use-recorded-in-last-12-months",
        ),
        pytest.param(
            [condition(ICD, "F11.20", "Opioid dependence", onset_days=400, status="remission")],
            None,
            id="old-drug-use-in-remission-not-a-red-flag",
        ),
        pytest.param(
            [condition(ICD, "M81.0", "Osteoporosis", status="inactive")], Indicator.WARNING, id="osteoporosis"
        ),
        pytest.param([condition(ICD, "Z79.52", "Long term steroids")], Indicator.WARNING, id="z79.52-steroids"),
        pytest.param(
            [med_request("312617", "prednisone 5 MG", authored_days=95)],
            Indicator.WARNING,
            id="prednisone-96-days-in-last-year",
        ),
        pytest.param(
            [med_request("312617", "prednisone 5 MG", authored_days=60)], None, id="prednisone-61-days-not-long-term"
        ),
        pytest.param(
            [condition(ICD, "S32.009A", "Lumbar fracture", onset_days=90)],
            Indicator.WARNING,
            id="fracture-80-days-before-onset",
        ),
        pytest.param(
            [condition(ICD, "S32.009A", "Lumbar fracture", onset_days=120)],
            None,
            id="fracture-110-days-before-onset-outside-window",
        ),
        pytest.param(
            [condition(ICD, "C61", "Prostate cancer"), condition(ICD, "G83.4", "Cauda equina")],
            Indicator.CRITICAL,
            id="tier-a-beats-tier-b",
        ),
    ],
)
def test_red_flag_indicator(resources, expected):
    assert red_flag(resources) == expected


def test_detail_names_the_evidence():
    card = by_topic(
        cards_for(
            [
                lbp(),
                observation("8310-5", 38.6, "Cel", days=1),
                condition(ICD, "C61", "Malignant neoplasm of prostate", onset_days=800),
            ]
        )
    )["red-flags"]
    assert "38.6" in card.detail and "Malignant neoplasm of prostate" in card.detail
    assert card.override_reasons


def test_age_over_50_alone_is_not_a_red_flag():
    from tests.fhir_builders import patient

    assert "red-flags" not in by_topic(cards_for([lbp()], pt=patient(age=70)))
