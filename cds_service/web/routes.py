"""The blueprint: discovery, hook calls, feedback, health, CORS. JSON in, JSON out; errors as JSON."""

from __future__ import annotations

import time
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import metrics
from ..cards import COMMON_OVERRIDES, OVERRIDE_SYSTEM
from ..errors import CdsError, MethodNotAllowed, UnknownService
from ..pipeline import Runtime
from ..store import database
from ..store.feedback import FeedbackStore, parse_feedback
from . import calls
from .auth import ClientAuth
from .body import read_json_body
from .calls import log

bp = Blueprint("cds", __name__)


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
    """A hook call that `calls.HookCalls` did not answer itself (it answers every one for a service we serve)."""
    _runtime().registry.get(service_id)  # 404 before reading a body for an unknown service
    return _json(calls.evaluate(current_app.extensions, service_id, read_json_body(), g))


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
        facts = calls.Facts()
        facts.hook_instance, facts.topics, facts.items = g.get("hook_instance"), g.get("topics"), g.get("items")
        facts.error = g.get("error")
        known = service_id in _runtime().registry.ids
        calls.log_call(_CALLS[endpoint], service_id, known, response.status_code, seconds, facts)
    return response


_CALLS = {"cds.hook": "hook", "cds.feedback": "feedback"}


def _cors(response: Response) -> Response:
    origins = _runtime().settings.cors_origins
    for name, value in calls.cors(origins, request.headers.get("Origin"), request.method == "OPTIONS"):
        if name == "Vary":
            response.headers.add(name, value)
        else:
            response.headers[name] = value
    return response


def _nosniff(response: Response) -> Response:
    """Every response, errors and static files included: browsers must not guess a type other than the declared."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _cds_error(exc: CdsError) -> Response:
    return _json(*calls.cds_error(exc, g, request.endpoint in _CALLS))


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        response = _json(*calls.too_large(_runtime().settings.max_body_bytes, g, request.endpoint in _CALLS))
        response.headers["Connection"] = "close"  # do not let the server read the rest of a huge body to reuse it
        return response
    if exc.code == 405:
        return _cds_error(MethodNotAllowed(f"{request.method} is not allowed on {request.path}"))
    if exc.code == 404:
        return _cds_error(UnknownService(f"no such endpoint: {request.path}"))
    return _json(*calls.http_error(exc))


def _unexpected(exc: Exception) -> Response:
    return _json(*calls.unexpected(request.path))


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
    # hook calls answered before Flask's request machinery, alike (calls.py); everything else by Flask
    app.wsgi_app = calls.HookCalls(app.extensions, app.wsgi_app)  # type: ignore[method-assign]
