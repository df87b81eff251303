"""A hook call from the WSGI environ to its answer without Flask's request machinery (`HookCalls`), and what it
shares with the Flask routes (routes.py) so that both answer alike: the evaluation, the error bodies, the one log
line and metrics of a call, CORS and `nosniff`.

A POST to /cds-services/<a service we serve> is every hook call; Flask's request context, routing, before- and
after-request functions and Response object cost about 0.4 M instructions a call (as much as a third of the
evaluation of a small record), for nothing such a call needs. `HookCalls` answers exactly those requests and hands
every other one to Flask: the same checks in the same order (client JWT, Content-Type, size, JSON), the same
bodies, status, headers, log line and metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from .. import metrics, pipeline
from ..errors import CdsError, PayloadTooLarge
from ..logs import event, safe
from .auth import ClientAuth
from .body import read_json

log = logging.getLogger("cds_service.web.routes")  # every call's line under one logger, whichever path answered
HOOKS = "/cds-services/"
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Facts:
    """What a call's log line says beside its status and time (Flask's path keeps them on `g`)."""

    __slots__ = ("error", "hook_instance", "items", "topics")

    def __init__(self) -> None:
        self.hook_instance: Any = None
        self.topics: list[str] | None = None
        self.items: Any = None
        self.error: str | None = None


def evaluate(extensions: dict[str, Any], service_id: str, body: Any, facts: Any) -> dict[str, Any]:
    """The hook call's response body; its cards counted and kept in the card log. `facts` (a `Facts`, or Flask's
    `g`) gets the hookInstance and the cards' topics."""
    facts.hook_instance = body.get("hookInstance") if isinstance(body, dict) else None
    result = pipeline.run(extensions["backpain_cds"], service_id, body)
    cards = result["cards"]
    facts.topics = [card["source"]["topic"]["code"] for card in cards]
    for topic, card in zip(facts.topics, cards, strict=True):
        metrics.child(metrics.CARDS, topic, card["indicator"]).inc()
    for skipped in result["extension"].get(pipeline.EXT_SKIPPED_DETAIL, ()):
        metrics.child(metrics.SKIPPED, skipped.get("reason", "unknown")).inc()
    patient = extensions["backpain_cds_policy"].key("patient", body["context"]["patientId"])  # checked by run
    extensions["backpain_cds_card_log"].record(service_id, cards, patient)
    return result


def cds_error(exc: CdsError, facts: Any, in_call: bool) -> tuple[dict[str, Any], int]:
    """The body and status of one of our errors; `facts.error` says why, for the call's log line."""
    if exc.status == 401:
        return {"error": exc.code}, 401  # no detail on why (CDS Hooks security best practice)
    if exc.status >= 500:
        log.error("internal error: %s", exc.code)
    elif exc.status == 412 and not in_call:
        log.warning("412 %s", safe(exc.message, 500))
    facts.error = exc.message  # the call's one log line says why (made safe there)
    return exc.to_json(), exc.status


def too_large(limit: int, facts: Any, in_call: bool) -> tuple[dict[str, Any], int]:
    """A body over BACKPAIN_CDS_MAX_BODY_BYTES (the response then closes the connection)."""
    message = f"the request body is over the {limit} byte limit (BACKPAIN_CDS_MAX_BODY_BYTES)"
    return cds_error(PayloadTooLarge(message, limit=limit), facts, in_call)


def http_error(exc: HTTPException) -> tuple[dict[str, Any], int]:
    """Any other HTTP error werkzeug raised: its name as the code, its description as the message."""
    return {"error": (exc.name or "error").lower().replace(" ", "-"), "message": exc.description}, exc.code or 500


def unexpected(path: str) -> tuple[dict[str, Any], int]:
    """A bug: logged with its traceback (call it in the `except` block), answered without detail."""
    log.exception("unexpected error on %s", safe(path))  # the traceback names code, not request content
    return {"error": "internal-error", "message": "internal error; see the service log"}, 500


def log_call(kind: str, service_id: str, known: bool, status: int, seconds: float, facts: Any) -> None:
    """The one line of a hook or feedback call (no PHI), and a hook call's metrics under a service id we serve or
    "unknown": a client cannot add a label value."""
    if kind == "hook":
        metrics.hook_call(service_id if known else metrics.UNKNOWN_SERVICE, status, seconds)
    event(
        log,
        logging.INFO,
        kind,
        service=service_id,
        hookInstance=facts.hook_instance,
        status=status,
        ms=round(seconds * 1000, 1),
        topics=facts.topics,
        items=facts.items,
        error=facts.error,
    )


def cors(origins: tuple[str, ...], origin: str | None, preflight: bool) -> list[tuple[str, str]]:
    """The CORS headers of a response to `origin` (none for an origin not allowed)."""
    if "*" in origins:
        headers = [("Access-Control-Allow-Origin", "*")]
    elif origin and origin in origins:
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    else:
        return []
    if preflight:  # Flask answers preflights itself (200, no auth); we add the CORS grants
        headers += [
            ("Access-Control-Allow-Methods", CORS_METHODS),
            ("Access-Control-Allow-Headers", CORS_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ]
    return headers


class HookCalls:
    """WSGI middleware before the Flask app (`app.wsgi_app`): answers hook calls itself, hands on the rest."""

    def __init__(self, extensions: dict[str, Any], app: Wsgi) -> None:
        self.app = app
        self.extensions = extensions
        runtime = extensions["backpain_cds"]
        self.ids = runtime.registry.ids
        self.settings = runtime.settings
        self.auth: ClientAuth | None = extensions.get("backpain_cds_auth")
        # The audience is the configured public URL plus the path: never the Host header, which the caller controls.
        self.audience_base = self.settings.public_base_url.rstrip("/")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(HOOKS) or path[len(HOOKS) :] not in self.ids:
            return self.app(environ, start_response)
        started = time.perf_counter()
        facts = Facts()
        result, status, close = self._answer(environ, path, facts)
        try:
            content = orjson.dumps(result)
        except Exception:  # a bug: our own answer could not be written
            result, status = unexpected(path)
            content = orjson.dumps(result)
        try:
            log_call("hook", path[len(HOOKS) :], True, status, time.perf_counter() - started, facts)
        except Exception:  # the cards are worked out and safe to send: a full metrics directory must not lose them
            log.exception("hook call answered; its log line or metrics failed")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        if close:  # do not let the server read the rest of a huge body to reuse the connection
            headers.append(("Connection", "close"))
        headers.append(("X-Content-Type-Options", "nosniff"))
        headers += cors(self.settings.cors_origins, environ.get("HTTP_ORIGIN"), False)
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}", headers)
        return [content]

    def _answer(self, environ: dict[str, Any], path: str, facts: Facts) -> tuple[dict[str, Any], int, bool]:
        """The body and status of the call, and whether to close the connection after it."""
        settings = self.settings
        try:
            if self.auth is not None:
                self.auth.verify(environ.get("HTTP_AUTHORIZATION"), self.audience_base + path)
            body = read_json(environ, settings.max_body_bytes, settings.max_json_values)
            return evaluate(self.extensions, path[len(HOOKS) :], body, facts), 200, False
        except CdsError as exc:
            return *cds_error(exc, facts, True), False
        except RequestEntityTooLarge:
            return *too_large(settings.max_body_bytes, facts, True), True
        except HTTPException as exc:
            return *http_error(exc), False
        except Exception:
            return *unexpected(path), False
