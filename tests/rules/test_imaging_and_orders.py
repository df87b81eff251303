"""imaging-overuse (3), not-recommended-treatment (6) and order-hook drafts."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import (
    CPT,
    ICD,
    SCT,
    ago,
    condition,
    dosage,
    lbp,
    med_request,
    procedure,
    sciatica,
    service_request,
)

MRI = ("72148", "MRI lumbar spine without contrast")
XRAY = ("72100", "X-ray lumbosacral spine")


def draft(code=MRI, rid="sr-mri", reason=None):
    return service_request(CPT, code[0], code[1], rid=rid, reason=reason)


def imaging(resources, drafts=(), hook="order-sign"):
    card = by_topic(cards_for(list(resources), hook=hook, drafts=list(drafts))).get("imaging-overuse")
    return card


@pytest.mark.parametrize(
    ("resources", "drafts", "expected"),
    [
        pytest.param([lbp(onset_days=10)], [draft()], Indicator.WARNING, id="mri-day-10-no-red-flag-overuse"),
        pytest.param([lbp(onset_days=41)], [draft()], Indicator.WARNING, id="day-41-still-inside-6-weeks"),
        pytest.param([lbp(onset_days=42)], [draft()], None, id="day-42-six-weeks-reached"),
        pytest.param(
            [lbp(onset_days=10), condition(ICD, "C61", "Prostate cancer")],
            [draft()],
            None,
            id="red-flag-suppresses-overuse",
        ),
        pytest.param([sciatica(onset_days=28)], [draft()], None, id="radicular-mri-from-28-days-allowed"),
        pytest.param([sciatica(onset_days=27)], [draft()], Indicator.WARNING, id="radicular-mri-at-27-days-overuse"),
        pytest.param(
            [sciatica(onset_days=30)],
            [draft(XRAY, "sr-x")],
            Indicator.WARNING,
            id="radicular-exception-is-for-mri-only",
        ),
        pytest.param([lbp(onset_days=None)], [draft()], None, id="unknown-duration-not-flagged"),
        pytest.param(
            [], [draft(reason=(ICD, "M54.50"))], Indicator.WARNING, id="order-reason-only-context-onset-today"
        ),
        pytest.param([], [draft()], None, id="no-back-pain-context-no-card"),
    ],
)
def test_imaging_overuse_at_order_time(resources, drafts, expected):
    card = imaging(resources, drafts)
    assert (card.indicator if card else None) == expected


def test_suggestion_deletes_exactly_that_draft():
    card = imaging([lbp(onset_days=10)], [draft(rid="abc")])
    (suggestion,) = card.suggestions
    (action,) = suggestion.actions
    assert action.type == "delete" and action.resource_id == "ServiceRequest/abc"
    assert card.override_reasons and "day 10" in card.detail


def test_red_flag_card_shows_beside_imaging_order():
    cards = by_topic(
        cards_for([lbp(), condition(SCT, "192970008", "Cauda equina")], hook="order-sign", drafts=[draft()])
    )
    assert "red-flags" in cards and "imaging-overuse" not in cards


def test_patient_view_pending_order_warns_with_revoke_update():
    pending = service_request(CPT, *MRI, status="active", authored_days=5, rid="sr-pending")
    card = imaging([lbp(onset_days=10), pending], hook="patient-view")
    assert card.indicator is Indicator.WARNING
    action = card.suggestions[0].actions[0]
    assert action.type == "update" and action.resource["status"] == "revoked" and action.resource["id"] == "sr-pending"


def test_patient_view_completed_order_is_not_pending():
    done = service_request(CPT, *MRI, status="completed", authored_days=5)
    assert imaging([lbp(onset_days=10), done], hook="patient-view") is None


def test_patient_view_imaging_done_early_is_info():
    card = imaging([lbp(onset_days=30), procedure(CPT, *MRI, days=25)], hook="patient-view")
    assert card.indicator is Indicator.INFO and "Avoid repeat imaging" in card.detail


def report(code=("24968-0", "MR Lumbar spine"), days=25, status="final"):
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr-1",
        "status": status,
        "effectiveDateTime": ago(days),
        "subject": {"reference": "Patient/pt-1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": code[0], "display": code[1]}]},
    }


def study(days=25, status="available"):
    return {
        "resourceType": "ImagingStudy",
        "id": "is-1",
        "status": status,
        "started": ago(days) + "T09:00:00Z",
        "subject": {"reference": "Patient/pt-1"},
        "procedureCode": [{"coding": [{"system": CPT, "code": "72148", "display": "MRI lumbar spine"}]}],
    }


@pytest.mark.parametrize(
    ("resource", "fires"),
    [
        pytest.param(report(), True, id="final-lumbar-mri-report-day-5-of-episode"),
        pytest.param(report(status="preliminary"), False, id="preliminary-report-not-counted"),
        pytest.param(study(), True, id="available-imaging-study-with-lumbar-mri-code"),
        pytest.param(study(status="cancelled"), False, id="cancelled-study-not-counted"),
    ],
)
def test_imaging_done_from_reports_and_studies(resource, fires):
    card = imaging([lbp(onset_days=30), resource], hook="patient-view")
    assert (card is not None and card.indicator is Indicator.INFO) is fires


def test_one_study_recorded_three_ways_is_one_line():
    card = imaging([lbp(onset_days=30), procedure(CPT, *MRI, days=25), report(), study()], hook="patient-view")
    assert card.detail.count("- Done:") == 1


def test_imaging_done_after_six_weeks_is_fine():
    assert imaging([lbp(onset_days=60), procedure(CPT, *MRI, days=5)], hook="patient-view") is None


PREDNISONE = ("312617", "prednisone 5 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 300 MG Oral Capsule")
DULOXETINE = ("596930", "duloxetine 30 MG")


@pytest.mark.parametrize(
    ("resources", "drafts", "fires"),
    [
        pytest.param(
            [lbp(onset_days=10)],
            [med_request(*PREDNISONE, status="draft")],
            True,
            id="steroid-draft-for-acute-back-pain",
        ),
        pytest.param(
            [lbp(onset_days=100)], [med_request(*PREDNISONE, status="draft")], True, id="steroid-at-any-duration"
        ),
        pytest.param(
            [lbp(onset_days=10), med_request(*PREDNISONE, authored_days=300)],
            [],
            False,
            id="steroid-started-before-the-episode-for-another-reason",
        ),
        pytest.param(
            [lbp(onset_days=10), med_request(*PREDNISONE, authored_days=5)],
            [],
            True,
            id="steroid-started-during-the-episode",
        ),
        pytest.param(
            [lbp(onset_days=10)], [med_request(*GABAPENTIN, status="draft")], True, id="gabapentin-for-acute-axial-pain"
        ),
        pytest.param(
            [sciatica(onset_days=10)],
            [med_request(*GABAPENTIN, status="draft")],
            False,
            id="gabapentin-allowed-with-radicular-diagnosis",
        ),
        pytest.param(
            [lbp(onset_days=40)], [med_request(*DULOXETINE, status="draft")], False, id="duloxetine-fine-once-subacute"
        ),
        pytest.param(
            [lbp(onset_days=10)], [med_request(*DULOXETINE, status="draft")], True, id="antidepressant-in-acute-pain"
        ),
        pytest.param(
            [lbp(onset_days=10)], [service_request(CPT, "97012", "Mechanical traction")], True, id="traction-order"
        ),
        pytest.param(
            [lbp(onset_days=10)],
            [med_request("197805", "ibuprofen", status="draft")],
            False,
            id="ibuprofen-is-recommended",
        ),
    ],
)
def test_not_recommended_treatment(resources, drafts, fires):
    hook = "order-sign" if drafts else "patient-view"  # at order hooks only drafts are listed (reference 0.7)
    card = by_topic(cards_for(resources, hook=hook, drafts=drafts)).get("not-recommended-treatment")
    assert (card is not None) is fires
    if fires and drafts:
        assert card.indicator is Indicator.WARNING
        assert card.suggestions[0].actions[0].resource_id == f"{drafts[0]['resourceType']}/{drafts[0]['id']}"


def test_drafted_opioid_adds_to_mme_total():
    current = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"))  # 30
    drafted = med_request("7052", "morphine", dosage(30, "mg", 1, 1, "d"), status="draft")  # +30
    card = by_topic(cards_for([lbp(), current], hook="order-sign", drafts=[drafted]))["opioid-high-dose"]
    assert card.mme == 60 and card.indicator is Indicator.WARNING


def test_drafted_nsaid_with_contraindication_is_critical_with_replace_suggestion():
    drafted = med_request("197805", "ibuprofen 400 MG Oral Tablet", status="draft", rid="ibu")
    card = by_topic(cards_for([lbp(), med_request("1364445", "apixaban 5 MG")], hook="order-select", drafts=[drafted]))[
        "nsaid-contraindicated"
    ]
    assert card.indicator is Indicator.CRITICAL
    (suggestion,) = card.suggestions
    assert [a.type for a in suggestion.actions] == ["delete", "create"]
    assert suggestion.actions[0].resource_id == "MedicationRequest/ibu" and suggestion.is_recommended


def test_half_filled_sandbox_draft_is_skipped_not_an_error():
    """The sandbox sends the form while the user types: no drug yet. Nothing to say about it (and the first-line
    advice is patient-view only), but no error either."""
    half = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": "Patient/pt-1"},
    }
    assert cards_for([lbp()], hook="order-select", drafts=[half]) == []
    assert "nsaid-first-line" in by_topic(cards_for([lbp()]))


def test_sandbox_pama_shape_cpt_code_and_snomed_reason_in_untyped_bundle():
    """The CDS Hooks sandbox PAMA screen: draft ServiceRequest with CPT 72148 and SNOMED reasonCode, Bundle without
    type; the reason alone gives back-pain context (onset today), so the MRI is overuse."""
    order = service_request(CPT, "72148", "MRI lumbar", rid="sandbox-sr", reason=(SCT, "279039007"))
    card = imaging([], [order], hook="order-select")
    assert card.indicator is Indicator.WARNING
    assert card.suggestions[0].actions[0].resource_id == "ServiceRequest/sandbox-sr"


def test_sandbox_rx_view_draft_with_dose_and_rate_counts_toward_mme():
    draft_mr = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/pt-1"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1049683",
                    "display": "oxycodone 10 MG",
                }
            ]
        },
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
            }
        ],
    }
    cards = by_topic(cards_for([lbp()], hook="order-select", drafts=[draft_mr]))
    assert cards["opioid-high-dose"].mme == 90 and cards["opioid-high-dose"].indicator is Indicator.CRITICAL


def test_order_select_speaks_of_every_draft_selected_or_not():
    """Two imaging drafts in the session, one being selected: both are about to be signed together, so the card
    speaks of both (clinical reference 0.10 item 19)."""
    chosen, other = draft(MRI, "sr-chosen"), draft(XRAY, "sr-other")
    card = by_topic(
        cards_for(
            [lbp(onset_days=10)], hook="order-select", drafts=[chosen, other], selections=["ServiceRequest/sr-chosen"]
        )
    )["imaging-overuse"]
    assert sorted(a.resource_id for s in card.suggestions for a in s.actions) == [
        "ServiceRequest/sr-chosen",
        "ServiceRequest/sr-other",
    ]


def test_order_sign_checks_every_draft():
    card = imaging([lbp(onset_days=10)], [draft(MRI, "sr-a"), draft(XRAY, "sr-b")], hook="order-sign")
    assert sorted(a.resource_id for s in card.suggestions for a in s.actions) == [
        "ServiceRequest/sr-a",
        "ServiceRequest/sr-b",
    ]


def test_unselected_drafts_count_as_drafts_of_this_call():
    """Drafts from earlier in the session are signed together with the selected one (clinical reference 0.10 item
    19): the opioid adds to MME and makes its cards relevant, and the prednisone gets a removal suggestion too."""
    opioid = med_request("7052", "morphine", dosage(60, "mg", 1, 1, "d"), status="draft", rid="mr-opioid")
    steroid = med_request(*PREDNISONE, status="draft", rid="mr-steroid")
    benzo = med_request("197591", "diazepam 5 MG", status="draft", rid="mr-benzo")
    cards = by_topic(
        cards_for(
            [lbp()], hook="order-select", drafts=[opioid, steroid, benzo], selections=["MedicationRequest/mr-benzo"]
        )
    )
    assert cards["opioid-benzodiazepine"].mme == 60 and cards["opioid-high-dose"].mme == 60
    removals = [a.resource_id for s in cards["not-recommended-treatment"].suggestions for a in s.actions]
    assert sorted(removals) == ["MedicationRequest/mr-benzo", "MedicationRequest/mr-steroid"]
