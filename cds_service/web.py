"""The blueprint: discovery, hook calls, feedback, health, CORS. JSON in, JSON out; errors as JSON."""
from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import pipeline
from .auth import ClientAuth
from .errors import BadHookRequest, CdsError, MethodNotAllowed, PayloadTooLarge, UnknownService
from .feedback import FeedbackStore, parse_feedback
from .pipeline import Runtime

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


def _body() -> Any:
    data = request.get_data(cache=False)
    if not data:
        raise BadHookRequest("the request body is empty; send a JSON object", field="(body)")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadHookRequest(f"the request body is not valid JSON ({exc.msg} at character {exc.pos})",
                             field="(body)") from None


@bp.get("/cds-services")
def discovery() -> Response:
    return _json(_runtime().registry.discovery())


@bp.post("/cds-services/<service_id>")
def hook(service_id: str) -> Response:
    started = time.perf_counter()
    runtime = _runtime()
    runtime.registry.get(service_id)  # 404 before reading a body for an unknown service
    body = _body()
    result = pipeline.run(runtime, service_id, body)
    instance = body.get("hookInstance") if isinstance(body, dict) else None
    log.info("hook service=%s hookInstance=%s cards=%d ms=%.1f", service_id, instance, len(result["cards"]),
             (time.perf_counter() - started) * 1000)
    return _json(result)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    _runtime().registry.get(service_id)
    items = parse_feedback(_body())
    stored = _store().add(service_id, items)
    log.info("feedback service=%s items=%d", service_id, stored)
    return _json({})


@bp.get("/healthz")
def healthz() -> Response:
    _store().ping()
    return _json({"status": "ok", "services": len(_runtime().registry.services)})


def _authenticate() -> None:
    """Before every CDS Hooks call: the client JWT, unless in demo mode. Preflights carry no Authorization."""
    auth: ClientAuth | None = current_app.extensions.get("backpain_cds_auth")
    if auth is None or request.method == "OPTIONS" or not request.path.startswith("/cds-services"):
        return
    base = _runtime().settings.public_base_url
    audience = base.rstrip("/") + request.path if base else request.base_url
    auth.verify(request.headers.get("Authorization"), audience)


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


def _cds_error(exc: CdsError) -> Response:
    if exc.status == 401:
        return _json({"error": exc.code}, 401)  # no detail on why (CDS Hooks security best practice)
    if exc.status >= 500:
        log.error("internal error: %s", exc.code)
    elif exc.status == 412:
        log.warning("412 %s", exc.message)
    return _json(exc.to_json(), exc.status)


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        limit = _runtime().settings.max_body_bytes
        return _cds_error(PayloadTooLarge(f"the request body is over the {limit} byte limit "
                                          "(BACKPAIN_CDS_MAX_BODY_BYTES)", limit=limit))
    if exc.code == 405:
        return _cds_error(MethodNotAllowed(f"{request.method} is not allowed on {request.path}"))
    if exc.code == 404:
        return _cds_error(UnknownService(f"no such endpoint: {request.path}"))
    body = {"error": (exc.name or "error").lower().replace(" ", "-"), "message": exc.description}
    return _json(body, exc.code or 500)


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.path)  # the traceback names code, not request content
    return _json({"error": "internal-error", "message": "internal error; see the service log"}, 500)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_authenticate)
    app.after_request(_cors)
    app.register_error_handler(CdsError, _cds_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
