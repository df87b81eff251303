"""The OpenAPI 3.1 document served at /openapi.json: every route of the app (discovery, the three hooks, feedback,
health, metrics, the card preview page and its API, this document), every error body and every response extension.

Built from the service registry and our limits, so the document cannot drift from what the service does; the
schemas describe what we send and what we accept (CDS Hooks 2.0), and tests validate the document and run
schemathesis against the live service with it.
"""

from __future__ import annotations

from typing import Any

from ..cards import EXT_KNOWLEDGE
from ..knowledge.manifest import service_version
from ..services import HOOK_VERSION, SPEC_VERSION, Registry
from .openapi_schemas import ERRORS, JSON, SCHEMAS, STRING, error_body, ref


def document(registry: Registry) -> dict[str, Any]:
    """The OpenAPI 3.1 document for this deployment's services."""
    ids = [s.id for s in registry.services]
    service_id = {"name": "service_id", "in": "path", "required": True, "schema": {"type": "string", "enum": ids}}

    def errors(*codes: str) -> dict[str, Any]:
        return {code: ERRORS[code] for code in codes}

    def json_body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {JSON: {"schema": ref(name)}}}

    preview_off = {"404": error_body("The preview is off (BACKPAIN_CDS_PREVIEW; off once client JWTs are required).")}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "backpain-cds",
            "version": service_version(),
            "x-backpain-cds-knowledge": registry.extension[EXT_KNOWLEDGE],
            "description": f"CDS Hooks {SPEC_VERSION} service (hooks version {HOOK_VERSION}) for low back pain "
            "care. With BACKPAIN_CDS_JWT_JWKS set, every /cds-services call needs the EHR's "
            "signed JWT as a bearer token.",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"clientJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "paths": {
            "/cds-services": {
                "get": {
                    "operationId": "discovery",
                    "summary": "Discovery: the services and their prefetch templates",
                    "security": [{"clientJwt": []}, {}],
                    "responses": {
                        "200": {"description": "The services", "content": {JSON: {"schema": ref("Discovery")}}},
                        **errors("401", "405"),
                    },
                }
            },
            "/cds-services/{service_id}": {
                "post": {
                    "operationId": "callHook",
                    "summary": "Call a hook: patient-view, order-select or order-sign",
                    "parameters": [service_id],
                    "security": [{"clientJwt": []}, {}],
                    "requestBody": json_body("HookRequest"),
                    "responses": {
                        "200": {
                            "description": "Cards (possibly none)",
                            "content": {JSON: {"schema": ref("HookResponse")}},
                        },
                        **errors("400", "401", "404", "405", "412", "413", "415", "503"),
                    },
                }
            },
            "/cds-services/{service_id}/feedback": {
                "post": {
                    "operationId": "feedback",
                    "summary": "Feedback on cards: accepted or overridden, with reasons",
                    "parameters": [service_id],
                    "security": [{"clientJwt": []}, {}],
                    "requestBody": json_body("Feedback"),
                    "responses": {
                        "200": {"description": "Stored", "content": {JSON: {"schema": ref("Empty")}}},
                        **errors("400", "401", "404", "405", "413", "415", "503"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "liveness",
                    "summary": "Liveness: the process answers (no database)",
                    "responses": {
                        "200": {"description": "Alive", "content": {JSON: {"schema": ref("Health")}}},
                        **errors("405"),
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readiness",
                    "summary": "Readiness: knowledge loaded, database answers, not draining",
                    "responses": {
                        "200": {"description": "Ready", "content": {JSON: {"schema": ref("Ready")}}},
                        "503": {
                            "description": "Not ready; `down` names what",
                            "content": {JSON: {"schema": ref("Ready")}},
                        },
                        **errors("405"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}},
                        **errors("405"),
                    },
                }
            },
            "/": {
                "get": {
                    "operationId": "previewPage",
                    "summary": "The card preview page (demo mode; BACKPAIN_CDS_PREVIEW)",
                    "responses": {
                        "200": {"description": "The page", "content": {"text/html": {"schema": STRING}}},
                        **preview_off,
                        **errors("405"),
                    },
                }
            },
            "/preview/static/{filename}": {
                "get": {
                    "operationId": "previewAsset",
                    "summary": "The preview page's scripts, styles and icon (served here)",
                    "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The file", "content": {"*/*": {"schema": STRING}}},
                        "404": error_body("No such file, or the preview is off."),
                        **errors("405"),
                    },
                }
            },
            "/preview/demo-patients": {
                "get": {
                    "operationId": "previewDemoPatients",
                    "summary": "The demo patients (synthetic, written by us)",
                    "responses": {
                        "200": {
                            "description": "The demo patients",
                            "content": {JSON: {"schema": {"type": "array", "items": ref("DemoPatient")}}},
                        },
                        **preview_off,
                        **errors("405"),
                    },
                }
            },
            "/preview/evaluate": {
                "post": {
                    "operationId": "previewEvaluate",
                    "summary": "Evaluate a demo patient, a FHIR Bundle or a CDS Hooks request offline (stores nothing, "
                    "contacts no FHIR server)",
                    "requestBody": json_body("PreviewRequest"),
                    "responses": {
                        "200": {
                            "description": "The request evaluated and what a hook call would answer",
                            "content": {JSON: {"schema": ref("PreviewResult")}},
                        },
                        **preview_off,
                        **errors("400", "405", "413", "415"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics, every worker counted",
                    "responses": {
                        "200": {
                            "description": "Text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **errors("405"),
                    },
                }
            },
        },
    }
