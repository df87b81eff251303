"""What the record builder reads from each resource (the facts every rule stands on), element by element."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.hook_request import HookContext
from cds_service.knowledge import load
from cds_service.record.builder import build_record
from tests.fhir_builders import ICD, LOINC, PATIENT_ID, RX, SCT, TODAY, ago, bundle, patient

EGFR = {"coding": [{"system": LOINC, "code": "62238-1", "display": "eGFR CKD-EPI"}]}
ALT = {"coding": [{"system": LOINC, "code": "1742-6", "display": "ALT"}]}
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}


def record(*resources, drafts=(), selections=()):
    context = HookContext(
        user_id="Practitioner/dr-1",
        patient_id=PATIENT_ID,
        draft_orders=tuple({"resource": d} for d in drafts),
        selections=tuple(selections),
    )
    return build_record(load(), context, [bundle([patient(), *resources])], TODAY)


def obs(**elements):
    return {"resourceType": "Observation", "id": "o1", "status": "final", "subject": SUBJECT, "code": EGFR, **elements}


def day(days: int) -> date:
    return date.fromisoformat(ago(days))


@pytest.mark.parametrize(
    ("resource", "when"),
    [
        pytest.param(obs(effectiveDateTime=ago(3)), day(3), id="effective-date-time"),
        pytest.param(obs(effectivePeriod={"start": ago(4), "end": ago(2)}), day(4), id="effective-period-start"),
        pytest.param(obs(issued=ago(5) + "T10:00:00Z"), day(5), id="issued-when-nothing-else"),
        pytest.param(
            obs(effectiveDateTime=ago(3), issued=ago(1) + "T10:00:00Z"), day(3), id="effective-time-wins-over-issued"
        ),
        pytest.param(
            obs(effectivePeriod={"start": ago(4)}, issued=ago(1) + "T10:00:00Z"),
            day(4),
            id="period-start-wins-over-issued",
        ),
    ],
)
def test_an_observation_is_dated_by_its_effective_time_then_issued(resource, when):
    fact = record(resource | {"valueQuantity": {"value": 25}}).latest("egfr", TODAY, 365)
    assert fact.when == when


@pytest.mark.parametrize(
    ("resource", "kept"),
    [
        pytest.param(obs(effectiveDateTime=ago(3), status="amended"), True, id="amended-counts"),
        pytest.param(obs(effectiveDateTime=ago(3), status="corrected"), True, id="corrected-counts"),
        pytest.param(obs(effectiveDateTime=ago(3), status="preliminary"), False, id="preliminary-does-not"),
        pytest.param(obs(effectiveDateTime=ago(3), status="entered-in-error"), False, id="entered-in-error-does-not"),
        pytest.param(obs(), False, id="undated-observation-is-not-kept"),
        pytest.param(
            obs(effectiveDateTime=ago(3), code={"coding": [{"system": LOINC, "code": "2345-7"}]}),
            False,
            id="glucose-is-none-of-ours",
        ),
    ],
)
def test_which_observations_are_kept(resource, kept):
    found = record(resource | {"valueQuantity": {"value": 25}}).latest("egfr", TODAY, 365)
    assert (found is not None) is kept


@pytest.mark.parametrize(
    ("quantity", "value", "unit"),
    [
        pytest.param(
            {"value": 25, "unit": "mL/min", "code": "mL/min/{1.73_m2}"},
            25.0,
            "mL/min/{1.73_m2}",
            id="ucum-code-preferred-to-unit-text",
        ),
        pytest.param({"value": 25.5, "unit": "mL/min"}, 25.5, "mL/min", id="unit-text-when-no-code"),
        pytest.param({"value": 25}, 25.0, None, id="no-unit"),
    ],
)
def test_observation_value_and_unit(quantity, value, unit):
    fact = record(obs(effectiveDateTime=ago(3), valueQuantity=quantity)).latest("egfr", TODAY, 365)
    assert (fact.value, fact.unit, fact.display, fact.id) == (value, unit, "eGFR CKD-EPI", "o1")


@pytest.mark.parametrize(
    ("ranges", "high"),
    [
        pytest.param([{"low": {"value": 7}, "high": {"value": 40}}], 40.0, id="first-range-high"),
        pytest.param([{"low": {"value": 7}}, {"high": {"value": 56}}], None, id="first-range-without-high-gives-none"),
        pytest.param([], None, id="no-range"),
        pytest.param([{"high": 40}], None, id="high-that-is-no-quantity-is-ignored"),
        pytest.param(["40"], None, id="range-that-is-no-object-is-ignored"),
    ],
)
def test_reference_range_upper_limit(ranges, high):
    fact = record(obs(code=ALT, effectiveDateTime=ago(3), valueQuantity={"value": 130}, referenceRange=ranges)).latest(
        "alt", TODAY, 365
    )
    assert fact.reference_high == high


def condition(**elements):
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": SUBJECT,
        "code": {"coding": [{"system": ICD, "code": "M54.50", "display": "Low back pain"}]},
        **elements,
    }


@pytest.mark.parametrize(
    ("elements", "onset", "abated"),
    [
        pytest.param({"onsetDateTime": ago(10)}, day(10), None, id="onset-date-time"),
        pytest.param({"onsetPeriod": {"start": ago(12), "end": ago(11)}}, day(12), None, id="onset-period-start"),
        pytest.param({"recordedDate": ago(9)}, day(9), None, id="recorded-date-when-no-onset"),
        pytest.param(
            {"onsetDateTime": ago(10), "abatementDateTime": ago(2)}, day(10), day(2), id="abatement-date-time"
        ),
        pytest.param(
            {"onsetDateTime": ago(10), "abatementPeriod": {"start": ago(4), "end": ago(3)}},
            day(10),
            day(3),
            id="abatement-period-end",
        ),
    ],
)
def test_condition_dates(elements, onset, abated):
    fact = record(condition(**elements)).conditions[0]
    assert (fact.start, fact.abatement, fact.display, fact.id) == (onset, abated, "Low back pain", "c1")


@pytest.mark.parametrize(
    ("verification", "kept"),
    [
        pytest.param("confirmed", True, id="confirmed"),
        pytest.param("provisional", True, id="provisional-kept"),
        pytest.param("refuted", False, id="refuted-dropped"),
        pytest.param("entered-in-error", False, id="entered-in-error-dropped"),
    ],
)
def test_condition_verification(verification, kept):
    status = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]
    }
    assert bool(record(condition(verificationStatus=status)).conditions) is kept


def test_a_stu3_string_status_is_skipped_and_reported_not_read_as_active():
    built = record(condition(clinicalStatus="resolved"))
    assert not built.conditions
    assert [(s.resource_type, s.id) for s in built.skipped] == [("Condition", "c1")]
    assert "clinicalStatus is a string" in built.skipped[0].reason


OXY = {"coding": [{"system": RX, "code": "1049621", "display": "oxycodone 5 MG Oral Tablet"}]}


def request(**elements):
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "authoredOn": ago(5),
        **elements,
    }


@pytest.mark.parametrize(
    ("elements", "bundled"),
    [
        pytest.param({"medicationCodeableConcept": OXY}, [], id="inline-concept"),
        pytest.param(
            {
                "medicationReference": {"reference": "#med"},
                "contained": [
                    {"resourceType": "Medication", "id": "other", "code": {"text": "x"}},
                    {"resourceType": "Medication", "id": "med", "code": OXY},
                ],
            },
            [],
            id="contained-medication",
        ),
        pytest.param(
            {"medicationReference": {"reference": "Medication/med-9"}},
            [{"resourceType": "Medication", "id": "med-9", "code": OXY}],
            id="bundled-medication",
        ),
        pytest.param(
            {"medicationReference": {"reference": "https://ehr.example/fhir/Medication/med-9"}},
            [{"resourceType": "Medication", "id": "med-9", "code": OXY}],
            id="absolute-reference-to-bundled",
        ),
    ],
)
def test_the_drug_is_found_inline_contained_or_bundled(elements, bundled):
    med = record(request(**elements), *bundled).medications[0]
    assert (med.rxnorm, med.display, med.start, med.status, med.id) == (
        ("1049621",),
        "oxycodone 5 MG Oral Tablet",
        day(5),
        "active",
        "m1",
    )
    assert "opioid-analgesics" in med.classes


@pytest.mark.parametrize(
    "elements",
    [
        pytest.param({"medicationReference": {"reference": "#missing"}}, id="contained-id-not-there"),
        pytest.param({"medicationReference": {"reference": "Medication/unknown"}}, id="bundled-id-not-there"),
        pytest.param({"medicationReference": "Medication/med-9"}, id="reference-that-is-no-object"),
        pytest.param({}, id="no-drug-at-all"),
    ],
)
def test_an_order_whose_drug_cannot_be_found_is_not_a_medication(elements):
    assert not record(request(**elements)).medications


def test_a_statement_is_dated_by_its_period_and_names_what_it_is_based_on():
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": OXY,
        "effectivePeriod": {"start": ago(40), "end": ago(1)},
        "basedOn": [{"reference": "MedicationRequest/m1"}],
        "dosage": [{"text": "1 tab"}],
    }
    med = record(statement).medications[0]
    assert (med.resource_type, med.start, med.end, med.based_on, med.raw_dosage) == (
        "MedicationStatement",
        day(40),
        day(1),
        ("MedicationRequest/m1",),
        {"text": "1 tab"},
    )


def test_a_request_keeps_its_first_dosage_reason_and_dispense_request():
    med = record(
        request(
            medicationCodeableConcept=OXY,
            dosageInstruction=[{"text": "a"}, {"text": "b"}],
            reasonCode=[{"coding": [{"system": SCT, "code": "279039007"}]}],
            dispenseRequest={"numberOfRepeatsAllowed": 2},
        )
    ).medications[0]
    assert med.raw_dosage == {"text": "a"} and med.raw_dispense == {"numberOfRepeatsAllowed": 2}
    assert (SCT, "279039007") in med.reason_codes


@pytest.mark.parametrize(
    ("reference", "kept"),
    [
        pytest.param(f"Patient/{PATIENT_ID}", True, id="relative-reference"),
        pytest.param(f"https://ehr.example/fhir/Patient/{PATIENT_ID}", True, id="absolute-url"),
        pytest.param(f"https://ehr.example/fhir/Patient/{PATIENT_ID}/_history/2", True, id="versioned-reference"),
        pytest.param(f"urn:uuid:{PATIENT_ID}", True, id="urn-uuid"),
        pytest.param("Patient/someone-else", False, id="another-patient"),
        pytest.param("urn:uuid:someone-else", False, id="another-patient-by-uuid"),
        pytest.param("#contained", True, id="contained-reference-kept"),
    ],
)
def test_resources_about_another_patient_are_skipped(reference, kept):
    built = record(condition(subject={"reference": reference}))
    assert bool(built.conditions) is kept
    assert [s.reason for s in built.skipped] == ([] if kept else ["other-patient"])


def test_an_allergy_is_read_through_its_patient_element_and_only_while_active():
    def allergy(status, who=PATIENT_ID):
        return {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": f"Patient/{who}"},
            "code": {"coding": [{"system": RX, "code": "5640"}]},
            "clinicalStatus": {"coding": [{"code": status}]},
        }

    assert [a.codes for a in record(allergy("active")).allergies] == [frozenset({(RX, "5640")})]
    assert record(allergy("resolved")).allergies == []
    assert record(allergy("active", who="other")).allergies == []


def test_imaging_done_is_read_from_reports_and_studies_with_their_dates():
    mri = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148", "display": "MRI lumbar"}]}
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "subject": SUBJECT,
        "code": mri,
        "effectivePeriod": {"start": ago(6)},
    }
    issued = {
        "resourceType": "DiagnosticReport",
        "id": "r2",
        "status": "final",
        "subject": SUBJECT,
        "code": mri,
        "issued": ago(7) + "T09:00:00Z",
    }
    partial = {
        "resourceType": "DiagnosticReport",
        "id": "r3",
        "status": "preliminary",
        "subject": SUBJECT,
        "code": mri,
        "effectiveDateTime": ago(2),
    }
    study = {
        "resourceType": "ImagingStudy",
        "id": "i1",
        "status": "available",
        "subject": SUBJECT,
        "started": ago(8),
        "procedureCode": [mri, {"text": "other"}],
    }
    orders = record(report, issued, partial, study).orders
    assert [(o.resource_type, o.id, o.when, o.display, o.status) for o in orders] == [
        ("DiagnosticReport", "r1", day(6), "MRI lumbar", "final"),
        ("DiagnosticReport", "r2", day(7), "MRI lumbar", "final"),
        ("ImagingStudy", "i1", day(8), "MRI lumbar", "available"),
    ]


def test_a_procedure_is_dated_by_when_it_was_performed():
    mri = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148", "display": "MRI lumbar"}]}
    done = [
        {
            "resourceType": "Procedure",
            "id": "p1",
            "status": "completed",
            "subject": SUBJECT,
            "code": mri,
            "performedDateTime": ago(3),
        },
        {
            "resourceType": "Procedure",
            "id": "p2",
            "status": "completed",
            "subject": SUBJECT,
            "code": mri,
            "performedPeriod": {"start": ago(4), "end": ago(4)},
        },
    ]
    assert [(o.id, o.when) for o in record(*done).orders] == [("p1", day(3)), ("p2", day(4))]


def test_drafts_are_marked_and_only_the_selected_ones_selected():
    drafts = [
        request(id="d1", status="draft", medicationCodeableConcept=OXY),
        request(id="d2", status="draft", medicationCodeableConcept=OXY),
    ]
    meds = record(drafts=drafts, selections=["MedicationRequest/d2"]).medications
    assert [(m.id, m.draft, m.selected) for m in meds] == [("d1", True, False), ("d2", True, True)]


def test_nested_bundles_are_read_in_order_and_a_bad_entry_list_is_reported():
    inner = bundle([condition(id="c2")])
    broken = {"resourceType": "Bundle", "id": "b9", "entry": {"resource": condition(id="c3")}}
    built = record(condition(id="c1"), inner, broken, condition(id="c4"))
    assert [c.id for c in built.conditions] == ["c1", "c2", "c4"]
    assert [(s.resource_type, s.id) for s in built.skipped] == [("Bundle", "b9")]


def test_a_reference_range_whose_high_is_a_bare_number_is_no_500(client):
    from tests.fhir_builders import hook_request, lbp

    alt = obs(code=ALT, effectiveDateTime=ago(3), valueQuantity={"value": 130}, referenceRange=[{"high": 40}])
    response = client.post("/cds-services/backpain-patient-view", json=hook_request([lbp(), alt]))
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param({"reference": {"id": PATIENT_ID}}, id="reference-that-is-an-object"),
        pytest.param({"reference": [f"Patient/{PATIENT_ID}"]}, id="reference-that-is-a-list"),
        pytest.param("Patient/pt-1", id="subject-that-is-a-string"),
    ],
)
def test_an_unreadable_subject_reference_is_kept_not_a_crash(subject):
    assert record(condition(subject=subject)).conditions


@pytest.mark.parametrize("rtype", ["MedicationOrder", "ProcedureRequest", "DiagnosticOrder", "ReferralRequest"])
def test_a_dstu2_or_stu3_resource_is_skipped_and_reported(rtype):
    built = record({"resourceType": rtype, "id": "old-1", "subject": SUBJECT})
    assert [(s.resource_type, s.id) for s in built.skipped] == [(rtype, "old-1")]
    assert "not a FHIR R4 resource" in built.skipped[0].reason


@pytest.mark.parametrize(
    ("status", "current"),
    [
        pytest.param("active", True, id="active"),
        pytest.param("recurrence", True, id="recurrence"),
        pytest.param("relapse", True, id="relapse"),
        pytest.param("remission", False, id="remission"),
        pytest.param("resolved", False, id="resolved"),
        pytest.param("inactive", False, id="inactive"),
    ],
)
def test_which_clinical_statuses_are_current(status, current):
    fact = record(condition(clinicalStatus={"coding": [{"code": status}]})).conditions[0]
    assert fact.is_current(TODAY) is current


@pytest.mark.parametrize(
    "rtype",
    [pytest.param({}, id="resource-type-an-object"), pytest.param(["MedicationRequest"], id="resource-type-a-list")],
)
def test_a_draft_whose_resource_type_is_not_a_string_is_no_500(client, rtype):
    """schemathesis found it through the preview: an unhashable resourceType crashed the selector lookup."""
    from tests.fhir_builders import hook_request, lbp

    body = hook_request([lbp()], hook="order-select", drafts=[{"resourceType": rtype, "id": "d1"}])
    response = client.post("/cds-services/backpain-order-select", json=body)
    assert response.status_code in (200, 400), response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("verification", "counted"),
    [
        pytest.param(None, True, id="allergy-without-verification-counts"),
        pytest.param("confirmed", True, id="confirmed-allergy-counts"),
        pytest.param("unconfirmed", True, id="suspected-allergy-still-counts"),
        pytest.param("refuted", False, id="refuted-allergy-does-not-count"),
        pytest.param("entered-in-error", False, id="allergy-entered-in-error-does-not-count"),
    ],
)
def test_an_allergy_refuted_or_entered_in_error_is_not_read(verification, counted):
    res = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "patient": SUBJECT,
        "code": {"coding": [{"system": RX, "code": "5640"}]},
    }
    if verification:
        res["verificationStatus"] = {"coding": [{"code": verification}]}
    assert [a.codes for a in record(res).allergies] == ([frozenset({(RX, "5640")})] if counted else [])


@pytest.mark.parametrize(
    ("rid", "logged"),
    [
        pytest.param("old-1", "old-1", id="its-id"),
        pytest.param(12, "None", id="an-id-that-is-no-string-is-not-repeated"),
        pytest.param("x" * 70, "x" * 63 + "…", id="a-long-id-cut-to-64-characters"),
    ],
)
def test_a_skipped_resource_is_logged_with_its_type_id_and_reason(caplog, rid, logged):
    with caplog.at_level("WARNING", logger="cds_service.record.builder"):
        built = record({"resourceType": "MedicationOrder", "id": rid, "subject": SUBJECT})
    (skipped,) = built.skipped
    assert (skipped.resource_type, skipped.id) == ("MedicationOrder", rid if isinstance(rid, str) else None)
    messages = [r.getMessage() for r in caplog.records if r.name == "cds_service.record.builder"]
    assert messages == [f"skipped resource MedicationOrder/{logged}: {skipped.reason}"]


def study(*concepts):
    return {
        "resourceType": "ImagingStudy",
        "id": "i1",
        "status": "available",
        "subject": SUBJECT,
        "started": ago(8),
        "procedureCode": list(concepts),
    }


MRI_LUMBAR = {"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}


@pytest.mark.parametrize(
    ("resource", "kept", "skipped"),
    [
        pytest.param(study({"coding": [MRI_LUMBAR]}), [("i1", "", False)], [], id="lumbar-mri-without-display"),
        pytest.param(
            study({"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "73721"}]}),
            [],
            [],
            id="knee-mri-is-no-back-imaging",
        ),
        pytest.param(study({"coding": "72148"}), [], ["unreadable procedureCode"], id="unreadable-code-is-reported"),
        pytest.param(
            {
                "resourceType": "DiagnosticReport",
                "id": "r1",
                "status": "final",
                "subject": SUBJECT,
                "code": {"coding": [MRI_LUMBAR]},
                "effectiveDateTime": ago(3),
            },
            [("r1", "", False)],
            [],
            id="final-report-of-a-lumbar-mri-is-imaging-done-not-a-draft",
        ),
    ],
)
def test_which_imaging_done_is_read(resource, kept, skipped):
    built = record(resource)
    assert [(o.id, o.display, o.draft) for o in built.orders] == kept
    assert [s.reason for s in built.skipped] == skipped


@pytest.mark.parametrize(
    ("elements", "drafted", "read", "skipped"),
    [
        pytest.param({"status": "draft"}, True, [("draft", day(0), ())], [], id="draft-starts-today"),
        pytest.param({"status": "active"}, True, [("active", day(0), ())], [], id="draft-sent-as-active-counts"),
        pytest.param({"status": None}, True, [(None, day(0), ())], [], id="draft-without-status-counts"),
        pytest.param({"status": "completed"}, True, [], [], id="completed-order-among-drafts-is-not-being-ordered"),
        pytest.param(
            {"medicationCodeableConcept": None},
            True,
            [],
            ["draft order without a medication yet"],
            id="draft-without-a-drug-yet-is-reported",
        ),
        pytest.param(
            {"medicationCodeableConcept": {"coding": [{"system": RX, "code": "723"}]}},
            False,
            [],
            [],
            id="amoxicillin-is-in-no-value-set-passed-over-silently",
        ),
        pytest.param(
            {"medicationCodeableConcept": {"coding": [{"system": RX, "code": "1049621", "version": 3}]}},
            False,
            [],
            ["invalid medication code"],
            id="an-invalid-coding-of-one-of-our-drugs-is-reported",
        ),
        pytest.param(
            {"dosageInstruction": [{"text": "one"}]},
            False,
            [("active", day(5), ())],
            [],
            id="a-single-dosage-is-no-list-of-steps",
        ),
    ],
)
def test_which_medication_orders_are_read(elements, drafted, read, skipped):
    res = {k: v for k, v in (request(medicationCodeableConcept=OXY) | elements).items() if v is not None}
    built = record(drafts=[res]) if drafted else record(res)
    assert [(m.status, m.start, m.raw_dosages) for m in built.medications] == read
    assert [s.reason for s in built.skipped] == skipped


def test_a_statement_with_only_an_effective_date_starts_then():
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": OXY,
        "effectiveDateTime": ago(30),
    }
    (med,) = record(statement).medications
    assert (med.start, med.end) == (day(30), None)


def test_the_first_hundred_skipped_resources_are_listed_and_the_rest_counted():
    """A flood of unreadable entries (2 bytes of JSON each) may not make a huge response or log: 100 are listed."""
    built = record(*([0] * 101))
    assert len(built.skipped) == 100
    assert built.skipped_more == 1


@pytest.mark.parametrize(
    ("concept", "statuses", "skipped"),
    [
        pytest.param(OXY, ["active", "active"], [], id="ours-each-order-recorded"),
        pytest.param({"coding": [{"system": RX, "code": "723"}]}, [], [], id="not-ours-each-passed-over"),
        pytest.param(
            {"coding": [{"system": RX, "code": "1049621", "version": 3}]},
            [],
            ["invalid medication code"] * 2,
            id="invalid-each-reported",
        ),
        pytest.param(
            {"coding": [{"system": RX, "code": "1049621", "version": 2**70}]},
            [],
            ["invalid medication code"] * 2,
            id="not-json-shaped-each-reported",
        ),
    ],
)
def test_a_drug_named_again_is_read_as_it_was_the_first_time(concept, statuses, skipped):
    """Renewals repeat a concept: the second order, whose concept the process has classified, reads the same."""
    built = record(request(medicationCodeableConcept=concept), request(id="m2", medicationCodeableConcept=concept))
    assert [m.status for m in built.medications] == statuses
    assert [s.reason for s in built.skipped] == skipped
