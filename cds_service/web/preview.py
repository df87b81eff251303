"""The card preview page at `/`: our demo patients, or a pasted CDS Hooks request or FHIR Bundle, evaluated on a chosen
date and shown as an EHR would show the cards, beside the raw request and response.

It evaluates only what is posted to it, stores nothing, never contacts a FHIR server, and goes through the same
`pipeline.run` as a real hook call. It is on in demo mode and off once client JWTs are required, unless
BACKPAIN_CDS_PREVIEW says otherwise. Everything the page loads is served from `static/`: no CDN.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import orjson
from flask import Blueprint, Response, current_app
from werkzeug.exceptions import NotFound

from .. import pipeline
from ..errors import BadHookRequest, CdsError, PrefetchUnavailable
from ..fhir.parse import FIRST_YEAR, LAST_YEAR
from ..hook_request import ORDER_HOOKS
from ..pipeline import Runtime
from .body import read_json_body

bp = Blueprint("preview", __name__, static_folder="static", static_url_path="/preview/static")
SERVICE_FOR_HOOK = {
    "patient-view": "backpain-patient-view",
    "order-select": "backpain-order-select",
    "order-sign": "backpain-order-sign",
}


class _NoFhirServer:
    """The preview's FHIR client: it has none, so missing prefetch is named, never fetched."""

    def fetch(self, hook_request: Any, queries: dict[str, str]) -> dict[str, Any]:
        raise PrefetchUnavailable(
            "the preview evaluates only the data it is given; these prefetch keys are missing",
            missingPrefetch=sorted(queries),
            reason="preview-no-fhir-server",
        )


@cache
def demo_index() -> list[dict[str, Any]]:
    """Our demo patients (synthetic, written by us): id, title, about, hook, asOf, and a draft order for order hooks."""
    return orjson.loads(resources.files(__package__).joinpath("demo/index.json").read_bytes())


@cache
def demo_bundle(patient_id: str) -> dict[str, Any]:
    return orjson.loads(resources.files(__package__).joinpath(f"demo/{patient_id}.json").read_bytes())


def request_from_bundle(runtime: Runtime, bundle: Any, hook: str, draft: Any = None) -> dict[str, Any]:
    """A CDS Hooks request whose prefetch answers every template from a FHIR Bundle of one patient's record (keys
    with nothing in the Bundle are null: known empty). Raise BadHookRequest when it is not such a Bundle."""
    entries = bundle.get("entry") if isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle" else None
    if not isinstance(entries, list):
        raise BadHookRequest("paste a FHIR Bundle whose entry array holds the patient's resources", field="bundle")
    found = [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    patient = next((r for r in found if r.get("resourceType") == "Patient"), None)
    if patient is None or not isinstance(patient.get("id"), str):
        raise BadHookRequest("the Bundle needs a Patient resource with an id", field="bundle")
    service = runtime.registry.get(SERVICE_FOR_HOOK[hook])
    key_for_type = {template.split("?")[0]: key for key, template in service.prefetch.items() if "?" in template}
    key_for_type["Medication"] = key_for_type["MedicationRequest"]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for resource in found:
        rtype = resource.get("resourceType")
        key = key_for_type.get(rtype) if isinstance(rtype, str) else None
        if key:
            grouped.setdefault(key, []).append({"resource": resource})
    prefetch: dict[str, Any] = {key: None for key in service.prefetch}
    prefetch["patient"] = patient
    prefetch |= {
        key: {"resourceType": "Bundle", "type": "searchset", "entry": entries} for key, entries in grouped.items()
    }
    context: dict[str, Any] = {"userId": "Practitioner/preview-user", "patientId": patient["id"]}
    if hook in ORDER_HOOKS:
        drafts = [draft] if isinstance(draft, dict) else []
        context["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]}
        if hook == "order-select":
            context["selections"] = [f"{d.get('resourceType')}/{d.get('id')}" for d in drafts]
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@bp.before_request
def _enabled() -> None:
    """Every route of the preview, its static files included, is 404 while the preview is off."""
    if not current_app.extensions["backpain_cds"].settings.serves_preview:
        raise NotFound()


@bp.get("/")
def page() -> Response:
    response = bp.send_static_file("preview.html")
    # A meta CSP cannot carry frame-ancestors: no site may frame the page (clickjacking); the meta's policy stays.
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"  # the same for browsers without CSP level 2
    return response


@bp.get("/preview/demo-patients")
def demo_patients() -> Response:
    return _json(demo_index())


@bp.post("/preview/evaluate")
def evaluate() -> Response:
    """{"hook", "asOf", and "request" (a CDS Hooks request) or "demo" (a demo patient id) or "bundle" (a FHIR Bundle,
    with "draftOrder" for order hooks)} -> {"request", "status", "response"}. With a request, "hook" defaults to
    the request's own."""
    runtime: Runtime = current_app.extensions["backpain_cds"]
    body = read_json_body()  # the same limits as a hook call: size, JSON only
    if not isinstance(body, dict):
        raise BadHookRequest("send a JSON object", field="(body)")
    hook = body.get("hook")
    if hook is None and isinstance(body.get("request"), dict):  # a pasted CDS Hooks request names its own hook
        hook = body["request"].get("hook")
    if not isinstance(hook, str) or hook not in SERVICE_FOR_HOOK:
        raise BadHookRequest("hook must be patient-view, order-select or order-sign", field="hook")
    try:
        as_of = date.fromisoformat(body.get("asOf") or runtime.today().isoformat())
    except (TypeError, ValueError):
        raise BadHookRequest("asOf must be a date YYYY-MM-DD", field="asOf") from None
    if not FIRST_YEAR <= as_of.year < LAST_YEAR:  # the rules count days back and forth from it
        raise BadHookRequest(f"asOf must be a date from {FIRST_YEAR} to {LAST_YEAR - 1}", field="asOf")
    if isinstance(body.get("demo"), str):
        entry = next((d for d in demo_index() if d["id"] == body["demo"]), None)
        if entry is None:
            raise BadHookRequest("no such demo patient", field="demo")
        draft = body.get("draftOrder", entry.get("draftOrder"))  # the page may have edited the demo's draft
        hook_request = request_from_bundle(runtime, demo_bundle(entry["id"]), hook, draft)
    elif "bundle" in body:
        hook_request = request_from_bundle(runtime, body["bundle"], hook, body.get("draftOrder"))
    elif isinstance(body.get("request"), dict):
        hook_request = body["request"]
    else:
        raise BadHookRequest("send a demo patient id, a FHIR Bundle or a CDS Hooks request", field="request")
    # no FHIR server, and no card policy: the preview shows what the rules say and remembers nothing
    offline = dataclasses.replace(runtime, fhir=_NoFhirServer(), gate=None)  # type: ignore[arg-type]
    try:
        result, status = pipeline.run(offline, SERVICE_FOR_HOOK[hook], hook_request, as_of), 200
    except CdsError as exc:
        result, status = exc.to_json(), exc.status
    try:  # the page shows the request it evaluated: one nested past what JSON can be written (255) cannot be shown
        return _json({"request": hook_request, "status": status, "response": result})
    except TypeError:
        raise BadHookRequest("the request is nested too deep to show (at most 255 levels)", field="request") from None
