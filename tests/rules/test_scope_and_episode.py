"""Scope gate (0.6) and episode timing (1.2)."""
import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, lbp, patient


@pytest.mark.parametrize(("age", "expect_cards"), [
    pytest.param(17, False, id="age-17-minor-out-of-scope-no-cards"),
    pytest.param(18, True, id="age-18-adult-in-scope"),
])
def test_adults_only(age, expect_cards):
    assert bool(cards_for([lbp()], pt=patient(age=age))) is expect_cards


@pytest.mark.parametrize("resources", [
    pytest.param([], id="no-conditions-no-back-pain-context"),
    pytest.param([condition(SCT, "38341003", "Hypertension")], id="unrelated-condition-only"),
    pytest.param([lbp(verification="entered-in-error")], id="entered-in-error-back-pain-does-not-count"),
    pytest.param([lbp(verification="refuted")], id="refuted-back-pain-does-not-count"),
    pytest.param([lbp(status="resolved")], id="resolved-back-pain-is-not-current"),
    pytest.param([lbp(status=None, abatement_days=3)], id="abated-back-pain-is-not-current"),
    pytest.param([condition(ICD, "C61", "Prostate cancer"), condition(SCT, "386661006", "Fever")],
                 id="red-flag-material-without-back-pain-gives-nothing"),
])
def test_no_back_pain_context_means_no_cards(resources):
    assert cards_for(resources) == []


@pytest.mark.parametrize(("onset", "topic"), [
    pytest.param(27, "second-line", id="27-days-is-acute"),
    pytest.param(28, "chronic-pain-options", id="28-days-is-subacute"),
])
def test_duration_boundary(onset, topic):
    assert topic in by_topic(cards_for([lbp(onset_days=onset)]))


def test_earliest_onset_among_back_pain_conditions_defines_the_episode():
    cards = by_topic(cards_for([lbp(onset_days=5), condition(ICD, "M54.50", "LBP", onset_days=100)]))
    assert "chronic-pain-options" in cards and "second-line" not in cards


def test_recorded_date_used_when_onset_missing():
    cards = by_topic(cards_for([lbp(onset_days=None, recorded_days=40)]))
    assert "chronic-pain-options" in cards


def test_undated_chronic_code_implies_chronic():
    cards = by_topic(cards_for([condition(SCT, "278860009", "Chronic low back pain", onset_days=None)]))
    assert "chronic-pain-options" in cards and "depression-screening" in cards


def test_undated_plain_code_skips_duration_cards():
    cards = by_topic(cards_for([lbp(onset_days=None)]))
    assert "nsaid-first-line" in cards
    assert not {"second-line", "chronic-pain-options", "depression-screening"} & set(cards)


def test_icd_code_without_dot_matches():
    assert cards_for([condition(ICD, "M5450", "LBP")])
