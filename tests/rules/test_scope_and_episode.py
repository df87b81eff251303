"""Scope gate (0.6) and episode timing (1.2)."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, lbp, patient


@pytest.mark.parametrize(
    ("age", "expect_cards"),
    [
        pytest.param(17, False, id="age-17-minor-out-of-scope-no-cards"),
        pytest.param(18, True, id="age-18-adult-in-scope"),
    ],
)
def test_adults_only(age, expect_cards):
    assert bool(cards_for([lbp()], pt=patient(age=age))) is expect_cards


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([], id="no-conditions-no-back-pain-context"),
        pytest.param([condition(SCT, "38341003", "Hypertension")], id="unrelated-condition-only"),
        pytest.param([lbp(verification="entered-in-error")], id="entered-in-error-back-pain-does-not-count"),
        pytest.param([lbp(verification="refuted")], id="refuted-back-pain-does-not-count"),
        pytest.param([lbp(status="resolved")], id="resolved-back-pain-is-not-current"),
        pytest.param([lbp(status=None, abatement_days=3)], id="abated-back-pain-is-not-current"),
        pytest.param(
            [condition(ICD, "C61", "Prostate cancer"), condition(SCT, "386661006", "Fever")],
            id="red-flag-material-without-back-pain-gives-nothing",
        ),
    ],
)
def test_no_back_pain_context_means_no_cards(resources):
    assert cards_for(resources) == []


@pytest.mark.parametrize(
    ("onset", "topic"),
    [
        pytest.param(27, "second-line", id="27-days-is-acute"),
        pytest.param(28, "chronic-pain-options", id="28-days-is-subacute"),
    ],
)
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


@pytest.mark.parametrize(
    ("deceased", "expect_cards"),
    [
        pytest.param({"deceasedBoolean": True}, False, id="deceased-true-no-cards-for-the-dead"),
        pytest.param({"deceasedBoolean": False}, True, id="deceased-false-is-alive"),
        pytest.param({"deceasedDateTime": "2026-11-27"}, False, id="died-today-no-cards"),
        pytest.param({"deceasedDateTime": "2020-05-01T10:00:00Z"}, False, id="died-years-ago-no-cards"),
        pytest.param({"deceasedDateTime": "2026-11-28"}, True, id="death-date-after-today-not-yet-deceased"),
        pytest.param({"deceasedBoolean": "yes"}, True, id="unreadable-deceased-shows-cards-rather-than-hide-them"),
    ],
)
def test_deceased_patients_get_no_cards(deceased, expect_cards):
    assert bool(cards_for([lbp()], pt=patient() | deceased)) is expect_cards


@pytest.mark.parametrize(
    ("reference", "used"),
    [
        pytest.param("Patient/pt-1", True, id="this-patient-relative-reference"),
        pytest.param("https://ehr.example.org/fhir/Patient/pt-1", True, id="this-patient-absolute-reference"),
        pytest.param("Patient/pt-1/_history/3", True, id="this-patient-versioned-reference"),
        pytest.param("Patient/someone-else", False, id="another-patients-red-flag-is-skipped"),
        pytest.param("urn:uuid:someone-else", False, id="another-patient-by-bundle-uuid"),
        pytest.param("https://ehr.example.org/fhir/Patient/pt-10", False, id="id-that-only-starts-with-ours"),
        pytest.param(None, True, id="no-reference-kept-cannot-tell-whose"),
    ],
)
def test_resources_about_another_patient_are_skipped_and_reported(reference, used):
    cauda = condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)
    cauda["subject"] = {"reference": reference} if reference else {"display": "somebody"}
    from cds_service.hook_request import parse_hook_request
    from cds_service.knowledge import load
    from cds_service.record.builder import build_record
    from tests.fhir_builders import TODAY, hook_request

    request = parse_hook_request(hook_request([lbp(), cauda]), "patient-view")
    record = build_record(load(), request.context, request.prefetch.values(), TODAY)
    assert ("red-flags" in by_topic(cards_for([lbp(), cauda]))) is used
    assert (
        ("Condition", cauda["id"], "other-patient") in {(s.resource_type, s.id, s.reason) for s in record.skipped}
    ) is not used


def test_prefetch_patient_with_another_id_is_a_400(client):
    body = hook_request_for_other_patient()
    response = client.post("/cds-services/backpain-patient-view", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == "prefetch.patient"


def hook_request_for_other_patient() -> dict:
    from tests.fhir_builders import hook_request

    body = hook_request([lbp()])
    body["prefetch"]["patient"] = patient(pid="pt-2")
    return body


def _episode_topics(resources, hook="patient-view", drafts=()):
    return set(by_topic(cards_for(resources, hook=hook, drafts=list(drafts))))


@pytest.mark.parametrize(
    ("resources", "present", "absent"),
    [
        pytest.param(
            [condition(SCT, "278862001", "Acute low back pain", onset_days=None)],
            {"second-line"},
            {"chronic-pain-options"},
            id="undated-acute-code-implies-acute",
        ),
        pytest.param(
            [
                condition(SCT, "278860009", "Chronic low back pain", onset_days=None),
                condition(SCT, "278862001", "Acute low back pain", onset_days=None),
            ],
            {"chronic-pain-options"},
            {"second-line"},
            id="chronic-code-wins-over-acute-when-both-are-undated",
        ),
        pytest.param(
            [lbp(onset_days=-5)],
            set(),
            {"second-line", "chronic-pain-options"},
            id="onset-in-the-future-gives-no-duration",
        ),
        pytest.param(
            [lbp(onset_days=-5), lbp(onset_days=100)],
            {"chronic-pain-options"},
            {"second-line"},
            id="a-future-onset-is-passed-over-for-a-dated-one",
        ),
        pytest.param(
            [condition(SCT, "23056005", "Sciatica", onset_days=10)],
            {"radicular-pain", "second-line"},
            set(),
            id="sciatica-alone-is-back-pain-context-and-radicular",
        ),
        pytest.param(
            [condition(SCT, "23056005", "Sciatica", onset_days=10, status="resolved"), lbp(onset_days=10)],
            {"second-line"},
            {"radicular-pain"},
            id="resolved-sciatica-is-not-radicular-now",
        ),
        pytest.param(
            [condition(SCT, "23056005", "Sciatica", onset_days=10, status=None, abatement_days=2), lbp(onset_days=10)],
            {"second-line"},
            {"radicular-pain"},
            id="abated-sciatica-is-not-radicular",
        ),
    ],
)
def test_episode_category_and_radicular_context(resources, present, absent):
    found = _episode_topics(resources)
    assert present <= found and not absent & found, found


@pytest.mark.parametrize(
    ("reason", "gets_card"),
    [
        pytest.param((SCT, "279039007"), True, id="imaging-draft-for-low-back-pain-opens-an-episode"),
        pytest.param((SCT, "23056005"), True, id="imaging-draft-for-sciatica-opens-an-episode"),
        pytest.param((SCT, "38341003"), False, id="imaging-draft-for-hypertension-does-not"),
        pytest.param(None, False, id="imaging-draft-without-reason-does-not"),
    ],
)
def test_an_order_for_back_pain_is_context_enough_at_an_order_hook(reason, gets_card):
    from tests.fhir_builders import CPT, service_request

    draft = service_request(CPT, "72148", "MRI lumbar spine", rid="d-mri", reason=reason)
    found = by_topic(cards_for([], hook="order-sign", drafts=[draft]))
    assert ("imaging-overuse" in found) is gets_card
    if gets_card:
        assert "at day 0" in found["imaging-overuse"].detail
