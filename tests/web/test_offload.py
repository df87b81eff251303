"""A worker runs calls that only compute on its event loop and hands a thread only the calls that may wait on the
EHR's FHIR server (web/offload.py, web/serving.py)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from contextlib import nullcontext
from pathlib import Path

import orjson
import pytest

from cds_service.config import Settings
from cds_service.knowledge import load
from cds_service.services import Registry
from cds_service.store.database import connect
from cds_service.store.replay import ReplayCache
from cds_service.web import offload, turns
from cds_service.web.auth import ClientAuth
from cds_service.web.body import PARSED
from cds_service.web.offload import on_loop
from cds_service.web.serving import BufferedWsgi
from tests.fhir_builders import hook_request, lbp

LIMIT, VALUES = 64 * 1024, 10_000
HOOK = "/cds-services/backpain-patient-view"


def _hook(**changes) -> bytes:
    body = hook_request([lbp()])
    for key, value in changes.items():
        if value is ...:
            del body["prefetch"][key]
        else:
            body["prefetch"][key] = value
    return orjson.dumps(body)


def _no_prefetch() -> bytes:
    body = hook_request([lbp()])
    del body["prefetch"]
    return orjson.dumps(body)


CASES = [
    # (reason, method, path, body, runs on the loop)
    ("discovery only reads the registry", "GET", "/cds-services", b"", True),
    ("a health probe is answered at once", "GET", "/healthz", b"", True),
    ("every prefetch key sent: nothing to fetch", "POST", HOOK, _hook(), True),
    ("a null key means the EHR found nothing: not re-queried", "POST", HOOK, _hook(allergies=None), True),
    ("no prefetch at all: every key is fetched", "POST", HOOK, _no_prefetch(), False),
    ("one key left out: it is fetched", "POST", HOOK, _hook(allergies=...), False),
    (
        "an OperationOutcome in a key: the EHR's query failed, it is fetched",
        "POST",
        HOOK,
        _hook(allergies={"resourceType": "OperationOutcome", "issue": []}),
        False,
    ),
    ("a key that is not a resource is fetched", "POST", HOOK, _hook(allergies="nothing"), False),
    (
        "prefetch that is not an object is a 400 at once",
        "POST",
        HOOK,
        b'{"hook": "patient-view", "prefetch": []}',
        True,
    ),
    ("a body that is not JSON is a 400 at once", "POST", HOOK, b'{"hook": ', True),
    ("an empty body is a 400 at once", "POST", HOOK, b"", True),
    ("a body over the byte limit is a 413 at once", "POST", HOOK, b" " * (LIMIT + 1), True),
    ("a body of too many JSON values is a 413 at once", "POST", HOOK, b"[" + b"0," * VALUES + b"0]", True),
    ("feedback is only stored", "POST", HOOK + "/feedback", b'{"feedback": []}', True),
    ("an unknown service is a 404", "POST", "/cds-services/nope", _no_prefetch(), True),
    ("the preview names missing prefetch, it never fetches", "POST", "/preview/evaluate", _no_prefetch(), True),
]


def _on_loop(database_url: str = "", issuers: dict | None = None):
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()), database_url=database_url, max_body_bytes=LIMIT, max_json_values=VALUES
    )
    auth = ClientAuth(issuers, ReplayCache(connect(settings.database_url))) if issuers is not None else None
    return on_loop(settings, Registry(load()), auth)


def _computes_only(tokens_required: bool = False):
    return offload._computes_only(Registry(load()), LIMIT, VALUES, tokens_required)


@pytest.mark.parametrize(("method", "path", "body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_only_calls_that_may_wait_on_a_fhir_server_leave_the_loop(method, path, body, expected):
    assert _computes_only()({"REQUEST_METHOD": method, "PATH_INFO": path}, body) is expected


def test_the_body_decoded_to_look_at_prefetch_is_handed_to_the_app_not_decoded_again():
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": HOOK}
    body = _hook()
    assert _computes_only()(environ, body)
    assert environ[PARSED] == orjson.loads(body)


def test_a_body_is_not_decoded_for_a_caller_without_a_token_when_tokens_are_required():
    """Decoding costs more than the 401 the app answers at once: an anonymous caller must not buy it."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": HOOK}
    assert _computes_only(tokens_required=True)(environ, _no_prefetch())
    assert PARSED not in environ
    with_token = {"REQUEST_METHOD": "POST", "PATH_INFO": HOOK, "HTTP_AUTHORIZATION": "Bearer x.y.z"}
    assert not _computes_only(tokens_required=True)(with_token, _no_prefetch())  # a real caller: placed as usual


def _post(path: str = HOOK) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path}


def test_a_call_on_the_loop_holds_the_turn_while_it_runs_and_gives_it_back():
    held = _on_loop()(_post(), _hook())
    assert held is not None and turns.TURN.locked()
    with held:
        assert turns.TURN.locked()
    assert not turns.TURN.locked()


def test_the_loop_never_waits_for_a_turn_a_thread_holds_the_call_goes_to_a_thread():
    """Waiting would stop the worker reading requests and answering probes while the thread computes."""
    place = _on_loop()
    with turns.TURN:  # a thread computing a record it fetched
        assert place(_post(), _hook()) is None
        assert place({"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}, b"") is not None  # probes: no turn


def test_a_large_record_goes_to_a_thread_the_loop_is_not_held_for_long():
    body = _hook() + b" " * offload.INLINE_MAX_BYTES  # still a complete prefetch, now over the inline size
    assert _computes_only()(_post(), body)
    assert _on_loop()(_post(), body) is None
    assert not turns.TURN.locked()


PINNED = {"https://ehr.example": {"keys": []}}
FETCHED = {"https://ehr.example": {"jwks_url": "https://ehr.example/jwks"}}


@pytest.mark.parametrize(
    ("database_url", "issuers", "loop"),
    [
        ("", None, True),
        ("", PINNED, True),
        ("postgresql://cds@db/cds", None, False),
        ("", FETCHED, False),
    ],
    ids=[
        "demo mode on SQLite: nothing waits on the network but a FHIR fetch",
        "client keys pinned: verifying a token never fetches",
        "PostgreSQL: a hung database would hold the loop and the probes behind it",
        "keys from a jwks_url: a refresh waits on the issuer",
    ],
)
def test_every_call_runs_on_a_thread_where_any_call_may_wait_on_the_network(database_url, issuers, loop):
    assert (_on_loop(database_url, issuers) is not None) is loop


def _serve(app: BufferedWsgi, path: str) -> tuple[int, bytes]:
    """One request through the ASGI side of BufferedWsgi, as gunicorn's asyncio worker makes it."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-type", b"application/json")]}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def test_a_call_that_only_computes_runs_on_the_loop_thread_and_one_that_may_fetch_on_a_pool_thread():
    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [threading.current_thread().name.encode()]

    def computes_only(environ, body):
        return nullcontext() if environ["PATH_INFO"] == "/computes" else None

    app = BufferedWsgi(wsgi, threads=2, max_body_bytes=LIMIT, on_loop=computes_only)
    assert _serve(app, "/computes") == (200, threading.current_thread().name.encode())  # asyncio.run: this thread
    status, thread = _serve(app, "/fetches")
    assert status == 200 and thread.startswith(b"call")
