"""A MedicationRequest of the common shape is read without `parse` (renewals make dozens a call): every other shape
falls back to it, and reads as it always did (dates, ids and statuses, reasons, lenient counts, whose order)."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.hook_request import HookContext
from cds_service.knowledge import load
from cds_service.record.builder import build_record
from tests.fhir_builders import PATIENT_ID, RX, SCT, TODAY, bundle, patient

OXY = {"coding": [{"system": RX, "code": "1049621", "display": "oxycodone 5 MG Oral Tablet"}]}
OWN = {"reference": f"Patient/{PATIENT_ID}"}
BACK = {"coding": [{"system": SCT, "code": "279039007", "display": "Low back pain"}]}


def read(**elements):
    order = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": OWN,
        "authoredOn": "2024-03-05T10:00:00Z",
        "medicationCodeableConcept": OXY,
    }
    order = {k: v for k, v in (order | elements).items() if v is not None}
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    built = build_record(load(), context, [bundle([patient(), order])], TODAY)
    facts = [(m.id, m.status, m.start, m.reason_codes, m.reason_references) for m in built.medications]
    return facts, built.lenient, [s.reason for s in built.skipped]


NONE = frozenset()


@pytest.mark.parametrize(
    ("elements", "facts", "lenient", "skipped"),
    [
        pytest.param({}, [("m1", "active", date(2024, 3, 5), NONE, ())], 0, [], id="common-shape"),
        pytest.param({"authoredOn": "2024-03-05"}, [("m1", "active", date(2024, 3, 5), NONE, ())], 0, [], id="date"),
        pytest.param({"authoredOn": "2024-03"}, [("m1", "active", date(2024, 3, 1), NONE, ())], 0, [], id="partial"),
        pytest.param(
            {"authoredOn": "20240305"}, [("m1", "active", date(2024, 1, 1), NONE, ())], 0, [], id="basic-form"
        ),
        pytest.param({"authoredOn": None}, [("m1", "active", None, NONE, ())], 0, [], id="undated"),
        pytest.param({"authoredOn": "2024-02-30T00:00"}, [("m1", "active", None, NONE, ())], 1, [], id="no-such-day"),
        pytest.param({"authoredOn": "0001-01-01"}, [("m1", "active", None, NONE, ())], 1, [], id="placeholder-year"),
        pytest.param({"authoredOn": 20240305}, [("m1", "active", None, NONE, ())], 1, [], id="number-date"),
        pytest.param({"id": None}, [(None, "active", date(2024, 3, 5), NONE, ())], 0, [], id="no-id"),
        pytest.param({"id": 7}, [(None, "active", date(2024, 3, 5), NONE, ())], 1, [], id="number-id"),
        pytest.param({"status": None}, [("m1", None, date(2024, 3, 5), NONE, ())], 0, [], id="no-status"),
        pytest.param({"status": ["active"]}, [("m1", None, date(2024, 3, 5), NONE, ())], 1, [], id="list-status"),
        pytest.param(
            {"reasonCode": [BACK]},
            [("m1", "active", date(2024, 3, 5), frozenset({(SCT, "279039007")}), ())],
            0,
            [],
            id="reason-code",
        ),
        pytest.param(
            {"reasonReference": [{"reference": "Condition/c1"}]},
            [("m1", "active", date(2024, 3, 5), NONE, ("Condition/c1",))],
            0,
            [],
            id="reason-reference",
        ),
        pytest.param({"reasonCode": "back"}, [("m1", "active", date(2024, 3, 5), NONE, ())], 1, [], id="bad-reason"),
        pytest.param({"subject": None}, [("m1", "active", date(2024, 3, 5), NONE, ())], 0, [], id="no-subject"),
        pytest.param(
            {"subject": {"reference": f"https://ehr.example/fhir/Patient/{PATIENT_ID}"}},
            [("m1", "active", date(2024, 3, 5), NONE, ())],
            0,
            [],
            id="absolute-reference",
        ),
        pytest.param(
            {"subject": {"reference": ["x"]}}, [("m1", "active", date(2024, 3, 5), NONE, ())], 0, [], id="list-ref"
        ),
        pytest.param({"subject": {"reference": "Patient/other"}}, [], 0, ["other-patient"], id="another-patient"),
        pytest.param(
            {"subject": "Patient/other"}, [("m1", "active", date(2024, 3, 5), NONE, ())], 0, [], id="text-subject"
        ),
    ],
)
def test_a_request_is_read_alike_whatever_its_shape(elements, facts, lenient, skipped):
    assert read(**elements) == (facts, lenient, skipped)
