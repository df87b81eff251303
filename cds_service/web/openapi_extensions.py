"""The response and card extensions of the OpenAPI document (`org.backpain-cds.*`), each described once."""

from __future__ import annotations

from typing import Any

from ..cards import EXT_EVIDENCE, EXT_KNOWLEDGE, EXT_RULE, MME_EXTENSION
from ..pipeline import EXT_AS_OF, EXT_FETCHED, EXT_LENIENT, EXT_SKIPPED, EXT_SKIPPED_DETAIL

KNOWLEDGE = {
    "type": "object",
    "required": ["version", "digest"],
    "description": "the knowledge (fhir_profiles/) applied: its semantic version and content digest, as "
    "`backpain-cds knowledge` prints them",
    "properties": {
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
    },
}

# Our keys in a response's and a card's `extension` (CDS Hooks lets services add their own, namespaced).
RESPONSE_EXTENSIONS: dict[str, dict[str, Any]] = {
    EXT_AS_OF: {
        "type": "string",
        "format": "date",
        "description": "the date the rules were evaluated on (BACKPAIN_CDS_AS_OF, else today); always sent",
    },
    EXT_SKIPPED: {
        "type": "integer",
        "minimum": 1,
        "description": "how many resources were left out as unreadable or of another FHIR version",
    },
    EXT_SKIPPED_DETAIL: {
        "type": "array",
        "description": "the resources left out: type, id and why (never content)",
        "items": {
            "type": "object",
            "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"}, "reason": {"type": "string"}},
        },
    },
    EXT_LENIENT: {
        "type": "integer",
        "minimum": 1,
        "description": "how many resources were used without an optional element that failed validation "
        "(the rest of the resource was read)",
    },
    EXT_FETCHED: {
        "type": "array",
        "items": {"type": "string"},
        "description": "prefetch keys that were absent or failed and were fetched from fhirServer",
    },
}
CARD_EXTENSIONS: dict[str, dict[str, Any]] = {
    EXT_RULE: {
        "type": "string",
        "pattern": r"^https://\S+\|\S+$",
        "description": "canonical url|version of the PlanDefinition whose rule produced the card (every card)",
    },
    EXT_KNOWLEDGE: {"$ref": "#/components/schemas/Knowledge"},
    EXT_EVIDENCE: {
        "type": "array",
        "items": {"type": "string", "pattern": r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$"},
        "description": "relative references (Type/id) to the request's resources, draft orders "
        "included, that the card rests on; ids only, never chart text",
    },
    MME_EXTENSION: {
        "type": "number",
        "minimum": 0,
        "description": "the patient's total morphine milligram equivalents per day (CDC 2022 factors), "
        "drafted doses included, on opioid cards",
    },
    "org.backpain-cds.mme-lower-bound": {
        "type": "boolean",
        "description": "true when the MME total is a lower bound: an opioid order without a usable "
        "dose was counted at its floor (clinical reference 0.10 item 3)",
    },
}
