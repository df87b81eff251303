"""Durations as a clinician says them (clinical reference 0.9) and cards naming their guideline."""

import pytest

from cds_service.rules._wording import ago
from tests.conftest import cards_for
from tests.fhir_builders import lbp


@pytest.mark.parametrize(
    ("days", "said"),
    [
        pytest.param(0, "today", id="0-days-today"),
        pytest.param(1, "1 day ago", id="1-day-singular"),
        pytest.param(13, "13 days ago", id="13-days-still-days"),
        pytest.param(14, "2 weeks ago", id="14-days-two-weeks"),
        pytest.param(20, "2 weeks ago", id="20-days-whole-weeks"),
        pytest.param(90, "12 weeks ago", id="90-days-12-weeks-still-weeks"),
        pytest.param(91, "3 months ago", id="91-days-13-weeks-becomes-3-months"),
        pytest.param(700, "23 months ago", id="700-days-23-months-still-months"),
        pytest.param(701, "23 months ago", id="701-days-rounds-to-23-months"),
        pytest.param(716, "2 years ago", id="716-days-24-months-becomes-2-years"),
        pytest.param(5022, "13 years ago", id="5022-days-13-years-not-5022-days"),
    ],
)
def test_durations_read_as_a_clinician_says_them(days, said):
    assert ago(days) == said


def test_episode_evidence_says_the_onset_in_weeks():
    card = cards_for([lbp(onset_days=20)])[0]
    assert "(2 weeks ago)" in card.detail and "days ago" not in card.detail


def test_source_label_names_the_guideline_not_the_service(client):
    from tests.fhir_builders import hook_request

    cards = client.post("/cds-services/backpain-patient-view", json=hook_request([lbp()])).get_json()["cards"]
    labels = {c["source"]["topic"]["code"]: c["source"]["label"] for c in cards}
    assert labels["nsaid-first-line"].startswith("ACP 2017")
    assert all(label != "backpain-cds" for label in labels.values())
