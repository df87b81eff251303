"""Draft FHIR R4 resources for suggestions, from the ActivityDefinitions in fhir_profiles/."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from ..cards import Action, Suggestion, new_uuid
from ..knowledge import Knowledge


def draft_medication_request(
    kb: Knowledge, activity: str, patient_id: str, today: date, max_mg_per_day: float | None = None
) -> dict[str, Any]:
    """A draft MedicationRequest for the patient, built from ActivityDefinition `activity`.

    With `max_mg_per_day`, from the variant of `activity` (an ActivityDefinition of the same product) whose daily
    maximum is that many mg: its dose, timing, quantity and text are written for that maximum. A maximum is never
    changed under a dose and timing that cannot reach it, nor under a text that says another (0.10 item 15)."""
    template = kb.activities[activity] if max_mg_per_day is None else variant(kb, activity, max_mg_per_day)
    dosage, product, dispense = orjson.loads(_template_parts(template))  # fresh copies, cheaper than deepcopy
    order = {
        "resourceType": "MedicationRequest",
        "id": new_uuid(),
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": today.isoformat(),
        "medicationCodeableConcept": product,
        "dosageInstruction": [dosage],
        "instantiatesCanonical": [f"{template['url']}|{template['version']}"],
    }
    if dispense:
        order["dispenseRequest"] = dispense
    return order


def variant(kb: Knowledge, activity: str, max_mg_per_day: float) -> dict[str, Any]:
    """The ActivityDefinition of `activity`'s product whose maximum is `max_mg_per_day` mg a day (`activity` first)."""
    base = kb.activities[activity]
    for template in (base, *kb.activities.values()):
        same = template["productCodeableConcept"] == base["productCodeableConcept"]
        if same and _max_mg_per_day(template) == max_mg_per_day:
            return template
    raise KeyError(f"no ActivityDefinition of {activity!r}'s product at {max_mg_per_day:g} mg/day")


def _max_mg_per_day(template: dict[str, Any]) -> float | None:
    most = template["dosage"][0].get("maxDosePerPeriod")
    if not most or (most["numerator"].get("code"), most["denominator"].get("code")) != ("mg", "d"):
        return None
    return most["numerator"].get("value") if most["denominator"].get("value") == 1 else None


_PARTS: dict[str, bytes] = {}  # ActivityDefinition canonical URL -> its dosage, product and dispense as JSON
SUPPLY_DURATION = "https://backpain-cds.org/fhir/StructureDefinition/expected-supply-duration"


def _template_parts(template: dict[str, Any]) -> bytes:
    key = f"{template['url']}|{template['version']}"
    if key not in _PARTS:
        dispense: dict[str, Any] = {}  # ActivityDefinition.quantity, and our extension for the days it lasts
        if "quantity" in template:
            dispense["quantity"] = template["quantity"]
        for ext in template.get("extension", []):
            if ext.get("url") == SUPPLY_DURATION:
                dispense["expectedSupplyDuration"] = ext["valueDuration"]
        _PARTS[key] = orjson.dumps([template["dosage"][0], template["productCodeableConcept"], dispense])
    return _PARTS[key]


def create(label: str, resource: dict[str, Any], description: str, recommended: bool | None = None) -> Suggestion:
    return Suggestion(label, (Action("create", description, resource=resource),), recommended)


def delete(label: str, reference: str, description: str, recommended: bool | None = None) -> Suggestion:
    return Suggestion(label, (Action("delete", description, resource_id=reference),), recommended)
