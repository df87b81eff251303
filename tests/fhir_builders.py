"""Small synthetic FHIR R4 JSON for tests (our own patients; no PHI)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from typing import Any

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
TODAY = date(2026, 11, 27)
PATIENT_ID = "pt-1"
_ids = itertools.count(1)


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def patient(age: int = 45, pid: str = PATIENT_ID) -> dict[str, Any]:
    born = date(TODAY.year - age, 1, 1) if date(TODAY.year, 1, 1) <= TODAY else date(TODAY.year - age - 1, 1, 1)
    return {"resourceType": "Patient", "id": pid, "birthDate": born.isoformat()}


def condition(
    system: str,
    code: str,
    display: str = "",
    onset_days: int | None = 10,
    status: str | None = "active",
    verification: str | None = None,
    recorded_days: int | None = None,
    abatement_days: int | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": _id("cond"),
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
    }
    if status:
        res["clinicalStatus"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        }
    if verification:
        res["verificationStatus"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]
        }
    if onset_days is not None:
        res["onsetDateTime"] = ago(onset_days)
    if recorded_days is not None:
        res["recordedDate"] = ago(recorded_days)
    if abatement_days is not None:
        res["abatementDateTime"] = ago(abatement_days)
    return res


def lbp(onset_days: int | None = 10, **kw: Any) -> dict[str, Any]:
    return condition(SCT, "279039007", "Low back pain", onset_days, **kw)


def sciatica(onset_days: int | None = 10, **kw: Any) -> dict[str, Any]:
    return condition(SCT, "23056005", "Sciatica", onset_days, **kw)


def observation(
    code: str,
    value: float | None,
    unit: str = "",
    days: int = 1,
    status: str = "final",
    value_code: tuple[str, str] | None = None,
    high: float | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _id("obs"),
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": ago(days),
    }
    if value is not None:
        res["valueQuantity"] = {"value": value}
        if unit:
            res["valueQuantity"].update(unit=unit, system="http://unitsofmeasure.org", code=unit)
    if value_code:
        res["valueCodeableConcept"] = {"coding": [{"system": value_code[0], "code": value_code[1]}]}
    if high is not None:
        res["referenceRange"] = [{"high": {"value": high, "unit": unit}}]
    return res


def dosage(
    value: float,
    unit: str,
    frequency: float = 1,
    period: float = 1,
    period_unit: str = "d",
    frequency_max: float | None = None,
    dose_high: float | None = None,
) -> dict[str, Any]:
    repeat: dict[str, Any] = {"frequency": frequency, "period": period, "periodUnit": period_unit}
    if frequency_max is not None:
        repeat["frequencyMax"] = frequency_max
    dose: dict[str, Any] = (
        {"doseRange": {"low": {"value": value, "unit": unit}, "high": {"value": dose_high, "unit": unit}}}
        if dose_high is not None
        else {"doseQuantity": {"value": value, "unit": unit}}
    )
    return {"timing": {"repeat": repeat}, "doseAndRate": [dose]}


def med_request(
    code: str,
    display: str = "",
    dose: dict[str, Any] | None = None,
    status: str = "active",
    authored_days: int = 5,
    rid: str | None = None,
    reason: tuple[str, str] | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid or _id("mr"),
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": ago(authored_days),
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display or code}]},
    }
    if dose is not None:
        res["dosageInstruction"] = [dose]
    if reason:
        res["reasonCode"] = [{"coding": [{"system": reason[0], "code": reason[1]}]}]
    return res


def med_statement(
    code: str,
    display: str = "",
    dose: dict[str, Any] | None = None,
    status: str = "active",
    start_days: int = 5,
    end_days: int | None = None,
    based_on: str | None = None,
) -> dict[str, Any]:
    period: dict[str, Any] = {"start": ago(start_days)}
    if end_days is not None:
        period["end"] = ago(end_days)
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": _id("ms"),
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectivePeriod": period,
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display or code}]},
    }
    if dose is not None:
        res["dosage"] = [dose]
    if based_on:
        res["basedOn"] = [{"reference": based_on}]
    return res


def service_request(
    system: str,
    code: str,
    display: str = "",
    status: str = "draft",
    authored_days: int = 0,
    rid: str | None = None,
    reason: tuple[str, str] | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": rid or _id("sr"),
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": ago(authored_days),
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
    }
    if reason:
        res["reasonCode"] = [{"coding": [{"system": reason[0], "code": reason[1]}]}]
    return res


def procedure(system: str, code: str, display: str = "", days: int = 5, status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": _id("proc"),
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "performedDateTime": ago(days),
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
    }


def allergy(system: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": _id("al"),
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": system, "code": code}]},
    }


def bundle(resources: list[dict[str, Any]], type_: str | None = "searchset") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if type_:
        out["type"] = type_
    return out


KEYS_BY_TYPE = {
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "AllergyIntolerance": "allergies",
    "ServiceRequest": "serviceRequests",
    "Procedure": "procedures",
    "DiagnosticReport": "diagnosticReports",
    "ImagingStudy": "imagingStudies",
    "Medication": "medicationRequests",
}


def prefetch_for(resources: list[dict[str, Any]], pt: dict[str, Any] | None = None) -> dict[str, Any]:
    """Prefetch with every key of our discovery templates: resources grouped by type, empty keys as null."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        grouped.setdefault(KEYS_BY_TYPE[r["resourceType"]], []).append(r)
    out: dict[str, Any] = {"patient": pt or patient()}
    for key in sorted(set(KEYS_BY_TYPE.values())):
        out[key] = bundle(grouped[key]) if key in grouped else None
    return out


def hook_request(
    resources: list[dict[str, Any]],
    hook: str = "patient-view",
    pt: dict[str, Any] | None = None,
    drafts: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    prefetch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": (pt or {}).get("id", PATIENT_ID)}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = bundle(drafts or [], type_=None)
    if hook == "order-select":
        context["selections"] = (
            selections if selections is not None else [f"{d['resourceType']}/{d['id']}" for d in drafts or []]
        )
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "context": context,
        "prefetch": prefetch if prefetch is not None else prefetch_for(resources, pt),
    }


def without_display(res: dict[str, Any]) -> dict[str, Any]:
    """The resource with every display taken out of its code's codings (an EHR that sends codes only)."""
    for key in ("medicationCodeableConcept", "code"):
        for coding in res.get(key, {}).get("coding", []):
            coding.pop("display", None)
    return res
