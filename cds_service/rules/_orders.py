"""Draft FHIR R4 resources for suggestions, from the ActivityDefinitions in fhir_profiles/."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from ..cards import Action, Suggestion, new_uuid
from ..knowledge import Knowledge


def draft_medication_request(
    kb: Knowledge,
    activity: str,
    patient_id: str,
    today: date,
    max_mg_per_day: float | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """A draft MedicationRequest for the patient, built from ActivityDefinition `activity`."""
    template = kb.activities[activity]
    dosage, product, dispense = orjson.loads(_template_parts(template))  # fresh copies, cheaper than deepcopy
    if max_mg_per_day is not None:
        dosage["maxDosePerPeriod"]["numerator"]["value"] = max_mg_per_day
    if text is not None:
        dosage["text"] = text
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
