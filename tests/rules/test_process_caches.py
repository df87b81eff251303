"""The answers kept across requests (drug classes, dosages, escaped chart text) give what working them out again
gives, remember nothing a request could use to grow them without bound, and keep no exception."""

from __future__ import annotations

from cds_service.hook_request import HookContext
from cds_service.knowledge import load
from cds_service.record.builder import build_record
from cds_service.rules import _dosing, _markdown
from cds_service.rules._dosing import dosage
from cds_service.rules._markdown import escape
from tests.fhir_builders import PATIENT_ID, RX, TODAY, ago, bundle, patient

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
SIG = {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}], "timing": {"code": {"text": "q8h"}}}


def order(rid: str, concept: object) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "authoredOn": ago(5),
        "medicationCodeableConcept": concept,
    }


def build(*resources):
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    return build_record(load(), context, [bundle([patient(), *resources])], TODAY)


def test_a_drug_of_the_wrong_shape_is_reported_by_every_request_not_only_the_first():
    bad = {"coding": {"system": RX, "code": "1049621"}}  # an object where an array belongs
    for _ in range(2):
        built = build(order("m1", bad))
        assert not built.medications
        assert [(s.id, s.reason) for s in built.skipped] == [("m1", "unreadable medication")]


def test_a_drug_classified_by_an_earlier_request_reads_the_same_in_the_next():
    oxy = {"coding": [{"system": RX, "code": "1049621", "display": "oxycodone 5 MG Oral Tablet"}]}
    first, second = build(order("m1", oxy)).medications, build(order("m2", oxy)).medications
    assert [(m.id, m.rxnorm, m.display, m.classes) for m in second] == [
        ("m2", first[0].rxnorm, first[0].display, first[0].classes)
    ]
    assert "opioid-analgesics" in second[0].classes


def test_a_dosage_reads_the_same_every_time_and_an_invalid_one_never_gives_a_dose():
    assert dosage(dict(SIG)) == dosage(dict(SIG)) is not None
    invalid = {"doseAndRate": [{"doseQuantity": {"value": "one"}}]}
    assert dosage(invalid) is None and dosage(invalid) is None


def test_a_huge_dosage_or_chart_text_is_answered_but_not_kept():
    huge_sig = {**SIG, "text": "x" * (_dosing.DOSAGE_CACHE_BYTES // 32)}
    kept = len(_dosing._dosages)
    assert dosage(huge_sig) is not None
    assert len(_dosing._dosages) == kept
    huge_text = "a.b " * (_markdown.ESCAPE_CACHE_BYTES // 16)
    kept = len(_markdown._escaped)
    assert escape(huge_text).startswith("a.\u2060b")
    assert len(_markdown._escaped) == kept


def test_escaped_text_is_the_same_the_second_time():
    for text in ("Oxycodone 2.5 MG Oral Tablet", "# heading\nnext", "see www.example.com", "plain"):
        assert escape(text) == escape(text) == _markdown._escape(text)


def test_the_day_count_wording_does_not_depend_on_what_was_asked_before():
    from cds_service.rules._wording import ago as said

    assert [said(d) for d in (0, 1, 9, 14, 100, 5022, 1)] == [
        "today",
        "1 day ago",
        "9 days ago",
        "2 weeks ago",
        "3 months ago",
        "13 years ago",
        "1 day ago",
    ]


def test_a_medication_fact_holds_every_field_in_order():
    from cds_service.record.patient_record import MedicationFact

    oxy = {"coding": [{"system": RX, "code": "1049621", "display": "oxycodone 5 MG Oral Tablet"}]}
    (fact,) = build({**order("m1", oxy), "reasonReference": [{"reference": "Condition/c1"}]}).medications
    assert len(fact) == len(MedicationFact._fields) and fact == MedicationFact(*fact)
    assert (fact.resource_type, fact.id, fact.status, fact.reason_references) == (
        "MedicationRequest",
        "m1",
        "active",
        ("Condition/c1",),
    )
