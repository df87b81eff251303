"""Which records suppress the opioid cards (clinical reference 5.1): active cancer, sickle cell disease at any
status, hospice, palliative or end-of-life care while current or ordered."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, ICD, PATIENT_ID, SCT, ago, dosage, lbp, med_request, procedure, service_request

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
OPIOID_FAMILIES = {"opioid-risk", "opioid-high-dose", "opioid-benzodiazepine", "naloxone"}


def cond(code, system=ICD, status="active", abated=None):
    res = {
        "resourceType": "Condition",
        "id": f"c-{code}-{status}",
        "subject": SUBJECT,
        "onsetDateTime": ago(100),
        "code": {"coding": [{"system": system, "code": code, "display": code}]},
    }
    if status:
        res["clinicalStatus"] = {"coding": [{"code": status}]}
    if abated is not None:
        res["abatementDateTime"] = ago(abated)
    return res


def hospice_order(kind, status):
    if kind == "Procedure":
        return procedure(SCT, "385763009", "Hospice care", status=status)
    return service_request(SCT, "385763009", "Hospice care", status=status, authored_days=3)


@pytest.mark.parametrize(
    ("resource", "excluded"),
    [
        pytest.param(cond("C50.911"), True, id="active-breast-cancer"),
        pytest.param(cond("C50.911", status="resolved"), False, id="cancer-in-remission-does-not-exclude"),
        pytest.param(cond("C50.911", status=None, abated=30), False, id="cancer-abated-does-not-exclude"),
        pytest.param(cond("D57.00"), True, id="sickle-cell-crisis"),
        pytest.param(cond("D57.1", status="inactive"), True, id="sickle-cell-at-any-status"),
        pytest.param(cond("Z51.5"), True, id="palliative-care-encounter"),
        pytest.param(cond("Z51.5", status="resolved"), False, id="palliative-care-that-ended"),
        pytest.param(cond("Z51.5", status=None, abated=2), False, id="palliative-care-abated"),
        pytest.param(hospice_order("ServiceRequest", "active"), True, id="hospice-ordered"),
        pytest.param(hospice_order("ServiceRequest", "revoked"), False, id="hospice-order-revoked"),
        pytest.param(
            hospice_order("ServiceRequest", "completed"), False, id="hospice-request-completed-is-no-order-now"
        ),
        pytest.param(hospice_order("Procedure", "in-progress"), True, id="hospice-in-progress"),
        pytest.param(hospice_order("Procedure", "completed"), True, id="hospice-care-given"),
        pytest.param(hospice_order("Procedure", "not-done"), False, id="hospice-not-done"),
        pytest.param(procedure(CPT, "72148", "MRI lumbar"), False, id="another-procedure-excludes-nothing"),
    ],
)
def test_opioid_cards_are_suppressed_for(resource, excluded):
    found = by_topic(
        cards_for(
            [
                lbp(onset_days=200),
                med_request("1049621", "oxycodone 5 MG", dosage(4, "TAB", 4)),
                med_request("308047", "alprazolam 0.25 MG"),
                resource,
            ]
        )
    )
    assert (not OPIOID_FAMILIES & set(found)) is excluded, set(found)
