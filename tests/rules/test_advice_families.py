"""second-line, chronic-pain-options, radicular-pain (7) and depression-screening (8)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, lbp, observation, patient, sciatica


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([lbp(onset_days=84)], None, id="84-days-is-subacute-no-screening"),
        pytest.param([lbp(onset_days=85)], Indicator.INFO, id="85-days-chronic-never-screened-info"),
        pytest.param(
            [lbp(onset_days=100), observation("44261-6", 10, days=30)], Indicator.WARNING, id="phq9-10-moderate-warning"
        ),
        pytest.param([lbp(onset_days=100), observation("44261-6", 9, days=30)], None, id="phq9-9-no-card"),
        pytest.param(
            [lbp(onset_days=100), observation("44261-6", 15, days=300), observation("44261-6", 4, days=20)],
            None,
            id="most-recent-phq9-wins-not-the-highest",
        ),
        pytest.param(
            [lbp(onset_days=100), observation("44261-6", 15, days=400)],
            Indicator.INFO,
            id="phq9-older-than-a-year-means-unscreened",
        ),
        pytest.param(
            [lbp(onset_days=100), observation("55758-7", 3, days=30)],
            Indicator.WARNING,
            id="phq2-3-positive-complete-phq9",
        ),
        pytest.param([lbp(onset_days=100), observation("55758-7", 2, days=30)], None, id="phq2-2-negative"),
        pytest.param(
            [lbp(onset_days=100), condition(ICD, "F32.9", "Major depression")],
            None,
            id="known-depression-no-screen-card",
        ),
        pytest.param(
            [lbp(onset_days=100), condition(ICD, "F32.9", "Major depression"), observation("44261-6", 20, days=30)],
            Indicator.WARNING,
            id="known-depression-with-severe-phq9",
        ),
    ],
)
def test_depression_screening(resources, expected):
    card = by_topic(cards_for(resources)).get("depression-screening")
    assert (card.indicator if card else None) == expected


def test_second_line_mentions_beers_for_older_adults():
    assert "Beers" in by_topic(cards_for([lbp(onset_days=5)], pt=patient(age=70)))["second-line"].detail


def test_chronic_options_add_drug_advice_past_12_weeks():
    assert "duloxetine" in by_topic(cards_for([lbp(onset_days=90)]))["chronic-pain-options"].detail
    assert "duloxetine" not in by_topic(cards_for([lbp(onset_days=50)]))["chronic-pain-options"].detail


@pytest.mark.parametrize(
    ("resources", "fires"),
    [
        pytest.param([sciatica()], True, id="sciatica-radicular-card"),
        pytest.param([condition(ICD, "M54.16", "Radiculopathy, lumbar region")], True, id="icd-radiculopathy"),
        pytest.param([sciatica(status="resolved"), lbp()], False, id="resolved-sciatica-no-card"),
        pytest.param([lbp()], False, id="axial-pain-no-radicular-card"),
    ],
)
def test_radicular_pain(resources, fires):
    card = by_topic(cards_for(resources)).get("radicular-pain")
    assert (card is not None) is fires
    if fires:
        assert card.indicator is Indicator.INFO and "weak" in card.detail
