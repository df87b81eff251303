"""An allergy is kept as a fact, like a condition: its id (to cite it), codes, the name the chart gives it (the
code's text, else its first coding's display) and its recorded and onset dates (clinical reference 0.9)."""

from datetime import date

import pytest

from cds_service.hook_request import HookContext
from cds_service.knowledge import load
from cds_service.record.builder import build_record
from cds_service.record.patient_record import AllergyFact
from tests.fhir_builders import PATIENT_ID, RX, TODAY, bundle, patient

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}

ASPIRIN = {"system": RX, "code": "1191", "display": "Aspirin"}


def record(*resources):
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID, draft_orders=(), selections=())
    return build_record(load(), context, [bundle([patient(), *resources])], TODAY)


def allergy(code, **elements):
    return {"resourceType": "AllergyIntolerance", "id": "a1", "patient": SUBJECT, "code": code, **elements}


@pytest.mark.parametrize(
    ("resource", "fact"),
    [
        pytest.param(
            allergy({"coding": [ASPIRIN], "text": "Aspirin"}, recordedDate="1996-12-27T04:21:52-05:00"),
            AllergyFact("a1", frozenset({(RX, "1191")}), "Aspirin", date(1996, 12, 27), None),
            id="augustus-aspirin-recorded-date-time-kept-as-its-day",
        ),
        pytest.param(
            allergy({"coding": [ASPIRIN], "text": "ASA (hives)"}, onsetDateTime="2019-05-02"),
            AllergyFact("a1", frozenset({(RX, "1191")}), "ASA (hives)", None, date(2019, 5, 2)),
            id="text-names-it-before-the-display-onset-date-time-kept",
        ),
        pytest.param(
            allergy({"coding": [ASPIRIN]}, onsetPeriod={"start": "2010-03-04"}, recordedDate="2011-01-01"),
            AllergyFact("a1", frozenset({(RX, "1191")}), "Aspirin", date(2011, 1, 1), date(2010, 3, 4)),
            id="no-text-the-display-names-it-onset-period-start-kept",
        ),
        pytest.param(
            allergy({"coding": [{"system": RX, "code": "1191"}]}),
            AllergyFact("a1", frozenset({(RX, "1191")}), "", None, None),
            id="no-name-no-date-kept-as-codes-alone",
        ),
    ],
)
def test_an_allergy_keeps_its_name_and_dates(resource, fact):
    (found,) = record(resource).allergies
    assert found == fact and found.reference == "AllergyIntolerance/a1"
