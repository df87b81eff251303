"""The blueprint: discovery, hook calls, feedback, health, CORS. JSON in, JSON out; errors as JSON."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import metrics, pipeline
from ..cards import COMMON_OVERRIDES, OVERRIDE_SYSTEM
from ..errors import CdsError, MethodNotAllowed, PayloadTooLarge, UnknownService
from ..logs import event, safe
from ..pipeline import Runtime
from ..store import database
from ..store.feedback import FeedbackStore, parse_feedback
from .auth import ClientAuth
from .body import read_json_body

log = logging.getLogger(__name__)
bp = Blueprint("cds", __name__)
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _runtime() -> Runtime:
    return current_app.extensions["backpain_cds"]


def _store() -> FeedbackStore:
    return current_app.extensions["backpain_cds_feedback"]


@bp.get("/cds-services")
def discovery() -> Response:
    return _json(_runtime().registry.discovery())


@bp.post("/cds-services/<service_id>")
def hook(service_id: str) -> Response:
    runtime = _runtime()
    runtime.registry.get(service_id)  # 404 before reading a body for an unknown service
    body = read_json_body()
    g.hook_instance = body.get("hookInstance") if isinstance(body, dict) else None
    result = pipeline.run(runtime, service_id, body)
    cards = result["cards"]
    g.topics = [card["source"]["topic"]["code"] for card in cards]
    for topic, card in zip(g.topics, cards, strict=True):
        metrics.child(metrics.CARDS, topic, card["indicator"]).inc()
    for skipped in result["extension"].get(pipeline.EXT_SKIPPED_DETAIL, ()):
        metrics.child(metrics.SKIPPED, skipped.get("reason", "unknown")).inc()
    gate = current_app.extensions["backpain_cds_policy"]
    patient = gate.key("patient", body["context"]["patientId"])  # valid: the pipeline checked it
    current_app.extensions["backpain_cds_card_log"].record(service_id, cards, patient)
    return _json(result)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    _runtime().registry.get(service_id)
    settings = _runtime().settings
    items = parse_feedback(read_json_body(), settings.feedback_max_items, settings.feedback_max_item_bytes)
    g.items = _store().add(service_id, items)
    current_app.extensions["backpain_cds_policy"].on_feedback(items)  # snooze after override, when configured
    for item in items:
        metrics.child(metrics.FEEDBACK, item.outcome, _override_label(item.override_reason)).inc()
    return _json({})


_OUR_OVERRIDES = frozenset(code for code, _ in COMMON_OVERRIDES)


def _override_label(override: dict[str, Any] | None) -> str:
    """Our override reason code, "other" for any other reason (clients choose those: no label), or "none"."""
    if not override:
        return "none"
    reason = override.get("reason")
    if not isinstance(reason, dict):  # a userComment beside anything else passes validation
        return "other"
    code = reason.get("code")
    ours = reason.get("system") == OVERRIDE_SYSTEM and isinstance(code, str) and code in _OUR_OVERRIDES
    return code if ours else "other"  # type: ignore[return-value]


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API (built once per process)."""
    runtime = _runtime()
    if "openapi" not in current_app.extensions:
        from .openapi import document

        current_app.extensions["openapi"] = orjson.dumps(document(runtime.registry))
    return Response(current_app.extensions["openapi"], mimetype="application/json")


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text exposition, every worker counted (scrape it from inside the cluster); on its own port instead
    when BACKPAIN_CDS_METRICS_PORT is set (`serve` listens there), so a NetworkPolicy can keep it in the cluster."""
    if _runtime().settings.metrics_port is not None:
        raise UnknownService(f"no such endpoint: {request.path}")
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: this process answers. It touches no database, so an outage there restarts nothing."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 when the knowledge is loaded, the database answers and we are not shutting down; else 503
    naming what is down. Draining comes first on SIGTERM, so balancers stop sending before the process stops."""
    down = []
    if current_app.extensions["backpain_cds_lifecycle"].draining:
        down.append("shutting-down")
    if not _runtime().registry.services:
        down.append("knowledge")
    try:
        database.ping(_store().engine)
    except SQLAlchemyError as exc:
        log.warning("readyz: database unavailable (%s)", type(exc).__name__)
        down.append("database")
    if down:
        return _json({"status": "unavailable", "down": down}, 503)
    return _json({"status": "ready", "services": len(_runtime().registry.services)})


def _authenticate() -> None:
    """Before every CDS Hooks call: the client JWT, unless in demo mode. Preflights carry no Authorization."""
    auth: ClientAuth | None = current_app.extensions.get("backpain_cds_auth")
    if auth is None or request.method == "OPTIONS" or not request.path.startswith("/cds-services"):
        return
    # The audience is the configured public URL plus the path: never the Host header, which the caller controls.
    audience = _runtime().settings.public_base_url.rstrip("/") + request.path
    auth.verify(request.headers.get("Authorization"), audience)


def _start_timer() -> None:
    g.started = time.perf_counter()


def _log_call(response: Response) -> Response:
    """One line per hook and feedback call: service, hookInstance, status, time, card topics (or why it failed); no
    PHI. Metrics count it under a service id we serve, or "unknown": a client cannot add a label value. Preflights
    (OPTIONS) are neither calls nor counted."""
    endpoint = request.endpoint
    if endpoint in _CALLS and request.method != "OPTIONS":
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        service_id = request.view_args["service_id"]  # type: ignore[index]
        if endpoint == "cds.hook":
            known = service_id in _runtime().registry.ids
            metrics.hook_call(service_id if known else metrics.UNKNOWN_SERVICE, response.status_code, seconds)
        event(
            log,
            logging.INFO,
            _CALLS[endpoint],
            service=service_id,
            hookInstance=g.get("hook_instance"),
            status=response.status_code,
            ms=round(seconds * 1000, 1),
            topics=g.get("topics"),
            items=g.get("items"),
            error=g.get("error"),
        )
    return response


_CALLS = {"cds.hook": "hook", "cds.feedback": "feedback"}


def _cors(response: Response) -> Response:
    origins = _runtime().settings.cors_origins
    origin = request.headers.get("Origin")
    if "*" in origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    else:
        return response
    if request.method == "OPTIONS":  # Flask answers preflights itself (200, no auth); we add the CORS grants
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _nosniff(response: Response) -> Response:
    """Every response, errors and static files included: browsers must not guess a type other than the declared."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _cds_error(exc: CdsError) -> Response:
    if exc.status == 401:
        return _json({"error": exc.code}, 401)  # no detail on why (CDS Hooks security best practice)
    if exc.status >= 500:
        log.error("internal error: %s", exc.code)
    elif exc.status == 412 and request.endpoint not in _CALLS:
        log.warning("412 %s", safe(exc.message, 500))
    g.error = exc.message  # the call's one log line says why (made safe there)
    return _json(exc.to_json(), exc.status)


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        limit = _runtime().settings.max_body_bytes
        response = _cds_error(
            PayloadTooLarge(
                f"the request body is over the {limit} byte limit (BACKPAIN_CDS_MAX_BODY_BYTES)", limit=limit
            )
        )
        response.headers["Connection"] = "close"  # do not let the server read the rest of a huge body to reuse it
        return response
    if exc.code == 405:
        return _cds_error(MethodNotAllowed(f"{request.method} is not allowed on {request.path}"))
    if exc.code == 404:
        return _cds_error(UnknownService(f"no such endpoint: {request.path}"))
    body = {"error": (exc.name or "error").lower().replace(" ", "-"), "message": exc.description}
    return _json(body, exc.code or 500)


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on %s", safe(request.path))  # the traceback names code, not request content
    return _json({"error": "internal-error", "message": "internal error; see the service log"}, 500)


def register(app: Flask) -> None:
    from . import preview

    app.register_blueprint(bp)
    app.register_blueprint(preview.bp)
    app.before_request(_start_timer)
    app.before_request(_authenticate)
    app.after_request(_cors)
    app.after_request(_nosniff)
    app.after_request(_log_call)
    app.register_error_handler(CdsError, _cds_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
