"""Draft FHIR R4 resources for suggestions, from the ActivityDefinitions in fhir_profiles/."""
from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from ..cards import Action, Suggestion
from ..knowledge import Knowledge


def draft_medication_request(kb: Knowledge, activity: str, patient_id: str, today: date,
                             max_mg_per_day: float | None = None, text: str | None = None) -> dict[str, Any]:
    """A draft MedicationRequest for the patient, built from ActivityDefinition `activity`."""
    template = kb.activities[activity]
    dosage = copy.deepcopy(template["dosage"][0])
    if max_mg_per_day is not None:
        dosage["maxDosePerPeriod"]["numerator"]["value"] = max_mg_per_day
    if text is not None:
        dosage["text"] = text
    return {
        "resourceType": "MedicationRequest",
        "id": str(uuid.uuid4()),
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": today.isoformat(),
        "medicationCodeableConcept": copy.deepcopy(template["productCodeableConcept"]),
        "dosageInstruction": [dosage],
        "instantiatesCanonical": [f"{template['url']}|{template['version']}"],
    }


def create(label: str, resource: dict[str, Any], description: str, recommended: bool | None = None) -> Suggestion:
    return Suggestion(label, (Action("create", description, resource=resource),), recommended)


def delete(label: str, reference: str, description: str, recommended: bool | None = None) -> Suggestion:
    return Suggestion(label, (Action("delete", description, resource_id=reference),), recommended)
