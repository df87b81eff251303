"""The schemas of the OpenAPI document (`openapi.py`): what we send and what we accept (CDS Hooks 2.0), every error
body and every response extension, built from our constants so that they cannot drift from the code."""

from __future__ import annotations

from typing import Any

from ..cards import EXT_KNOWLEDGE, EXT_RULE
from ..pipeline import EXT_AS_OF
from ..services import EXT_SERVICE_VERSION
from ..store.feedback import CARD_MAX_CHARS
from .openapi_extensions import CARD_EXTENSIONS, KNOWLEDGE, RESPONSE_EXTENSIONS

JSON = "application/json"
STRING = {"type": "string"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_body(description: str, name: str = "Error") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref(name)}}}


ERRORS = {
    "400": error_body("Bad request: the body is not a valid CDS Hooks request; `field` names what is wrong."),
    "401": error_body(
        "Client JWT missing or invalid (only when BACKPAIN_CDS_JWT_JWKS is set); no reason given.", "Unauthorized"
    ),
    "404": error_body("No such service."),
    "405": error_body("Method not allowed on this path."),
    "412": error_body(
        "Prefetch incomplete and the data could not be fetched from fhirServer; `missingPrefetch` and "
        "`reason` say which and why."
    ),
    "413": error_body("Body over BACKPAIN_CDS_MAX_BODY_BYTES, or more feedback items than allowed."),
    "415": error_body("A Content-Type other than JSON (application/json, application/*+json, or none)."),
    "503": error_body("A store the call needs (replay cache, database) is unavailable: the call fails closed."),
}

CODING = {
    "type": "object",
    "properties": {"system": {"type": "string"}, "code": {"type": "string"}, "display": {"type": "string"}},
}
SCHEMAS: dict[str, Any] = {
    "Coding": CODING,
    "Error": {
        "type": "object",
        "required": ["error", "message", "operationOutcome"],
        "properties": {
            "error": {"type": "string", "description": "a stable code, e.g. bad-request, prefetch-unavailable"},
            "message": {"type": "string"},
            "field": {"type": "string"},
            "reason": {"type": "string"},
            "missingPrefetch": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer"},
            "service": {"type": "string"},
            "operationOutcome": {
                "type": "object",
                "required": ["resourceType", "issue"],
                "properties": {
                    "resourceType": {"const": "OperationOutcome"},
                    "issue": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "Unauthorized": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {"const": "unauthorized"}},
    },
    "Discovery": {
        "type": "object",
        "required": ["services"],
        "properties": {
            "services": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["id", "hook", "description"],
                    "properties": {
                        "id": {"type": "string"},
                        "hook": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                        "version": {"type": "string"},
                        "hookVersion": {"type": "string"},
                        "usageRequirements": {"type": "string"},
                        "extension": {
                            "type": "object",
                            "properties": {
                                EXT_SERVICE_VERSION: {"type": "string"},
                                EXT_KNOWLEDGE: {"$ref": "#/components/schemas/Knowledge"},
                            },
                        },
                    },
                },
            }
        },
    },
    "Knowledge": KNOWLEDGE,
    "HookRequest": {
        "type": "object",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": {
                "type": "string",
                "enum": ["patient-view", "order-select", "order-sign"],
                "description": "must be the service's own hook",
            },
            "hookInstance": {"type": "string", "minLength": 1},
            "fhirServer": {
                "type": "string",
                "format": "uri",
                "description": "queried for missing prefetch only if on BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST",
            },
            "fhirAuthorization": {
                "type": "object",
                "required": ["access_token"],
                "properties": {
                    "access_token": {"type": "string", "minLength": 1},
                    "token_type": {"const": "Bearer"},
                    "scope": {"type": "string"},
                    "expires_in": {"type": "integer"},
                    "subject": {"type": "string"},
                },
            },
            "context": {
                "type": "object",
                "required": ["userId", "patientId"],
                "properties": {
                    "userId": {"type": "string", "minLength": 1},
                    "patientId": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
                    "encounterId": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
                    "draftOrders": {"type": "object", "description": "a FHIR Bundle (order hooks)"},
                    "selections": {"type": "array", "items": {"type": "string"}},
                },
            },
            "prefetch": {
                "type": "object",
                "description": "key -> FHIR resource or Bundle, or null (known empty)",
                "additionalProperties": {"type": ["object", "null"]},
            },
        },
    },
    "Action": {
        "type": "object",
        "required": ["type", "description"],
        "properties": {
            "type": {"enum": ["create", "update", "delete"]},
            "description": {"type": "string"},
            "resource": {"type": "object"},
            "resourceId": {"type": "string"},
        },
    },
    "Suggestion": {
        "type": "object",
        "required": ["label", "uuid"],
        "properties": {
            "label": {"type": "string"},
            "uuid": {"type": "string", "format": "uuid"},
            "isRecommended": {"type": "boolean"},
            "actions": {"type": "array", "items": ref("Action")},
        },
    },
    "Link": {
        "type": "object",
        "required": ["label", "url", "type"],
        "properties": {
            "label": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "type": {"enum": ["absolute", "smart"]},
            "appContext": {"type": "string"},
        },
    },
    "Card": {
        "type": "object",
        "required": ["uuid", "summary", "indicator", "source"],
        "properties": {
            "uuid": {
                "type": "string",
                "format": "uuid",
                "description": "A version-7 UUID (RFC 9562): the millisecond the card was issued (cards sort by it, "
                "in no particular order within one), then random bits. Name it in feedback.",
            },
            "summary": {"type": "string", "maxLength": 139},
            "detail": {"type": "string", "description": "GitHub-flavoured markdown naming the evidence"},
            "indicator": {"enum": ["info", "warning", "critical"]},
            "source": {
                "type": "object",
                "required": ["label", "topic"],
                "properties": {
                    "label": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                    "icon": {"type": "string"},
                    "topic": CODING,
                },
            },
            "suggestions": {"type": "array", "items": ref("Suggestion")},
            "selectionBehavior": {"enum": ["at-most-one", "any"]},
            "overrideReasons": {"type": "array", "items": CODING},
            "links": {"type": "array", "items": ref("Link")},
            "extension": {"type": "object", "required": [EXT_RULE, EXT_KNOWLEDGE], "properties": CARD_EXTENSIONS},
        },
    },
    "HookResponse": {
        "type": "object",
        "required": ["cards"],
        "properties": {
            "cards": {"type": "array", "items": ref("Card")},
            "systemActions": {"type": "array", "items": ref("Action")},
            "extension": {
                "type": "object",
                "required": [EXT_AS_OF],
                "properties": RESPONSE_EXTENSIONS,
                "description": "evaluation date, skipped, leniently read and fetched data",
            },
        },
    },
    "Feedback": {
        "type": "object",
        "required": ["feedback"],
        "properties": {
            "feedback": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["card", "outcome", "outcomeTimestamp"],
                    "properties": {
                        "card": {"type": "string", "minLength": 1, "maxLength": CARD_MAX_CHARS},
                        "outcome": {"enum": ["accepted", "overridden"]},
                        "outcomeTimestamp": {"type": "string", "format": "date-time"},
                        "acceptedSuggestions": {
                            "type": "array",
                            "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                        },
                        "overrideReason": {
                            "type": "object",
                            "properties": {"reason": CODING, "userComment": {"type": "string"}},
                        },
                    },
                },
            }
        },
    },
    "Empty": {"type": "object", "maxProperties": 0},
    "DemoPatient": {
        "type": "object",
        "required": ["id", "title", "about", "hook", "asOf"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "about": {"type": "string"},
            "hook": {"enum": ["patient-view", "order-select", "order-sign"]},
            "asOf": {"type": "string", "format": "date"},
            "draftOrder": {"type": "object", "description": "a FHIR resource (order hooks)"},
        },
    },
    "PreviewRequest": {
        "type": "object",
        "required": ["hook"],
        "description": "one of `demo`, `bundle` (with `draftOrder` for order hooks) or `request`",
        "properties": {
            "hook": {"enum": ["patient-view", "order-select", "order-sign"]},
            "asOf": {"type": "string", "format": "date"},
            "demo": {"type": "string", "description": "a demo patient id"},
            "bundle": {"type": "object", "description": "a FHIR Bundle of one patient's record"},
            "draftOrder": {"type": "object", "description": "a FHIR resource (order hooks)"},
            "request": {"type": "object", "description": "a whole CDS Hooks request"},
        },
    },
    "PreviewResult": {
        "type": "object",
        "required": ["request", "status", "response"],
        "properties": {
            "request": {"type": "object", "description": "the CDS Hooks request that was evaluated"},
            "status": {"type": "integer", "description": "what a hook call would have answered"},
            "response": {
                "description": "that answer: cards, or an error body",
                "anyOf": [ref("HookResponse"), ref("Error")],
            },
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "Ready": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["ready", "unavailable"]},
            "services": {"type": "integer"},
            "down": {"type": "array", "items": {"enum": ["database", "knowledge", "shutting-down"]}},
        },
    },
}
