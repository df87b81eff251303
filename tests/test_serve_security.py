"""Trust findings against the real service: gunicorn workers, new connections, chunked bodies, real log output,
and a worker's memory while a hostile FHIR server sends a gigabyte."""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fhir_builders import hook_request, lbp
from tests.fhir_server import ScriptedFhirServer
from tests.served import Served, memory_kb

pytestmark = pytest.mark.slow
ISSUER = "https://ehr.example.org"
PUBLIC = "https://cds.example.org"
PV = "/cds-services/backpain-patient-view"
KEY = ec.generate_private_key(ec.SECP384R1())


def token(**claims: object) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "aud": PUBLIC + PV, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims},
        KEY,
        algorithm="ES384",
        headers={"kid": "k1", "typ": "JWT"},
    )


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("secured")
    jwks = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1"}
    (data / "jwks.json").write_text(json.dumps({ISSUER: {"keys": [jwks]}}))
    with Served(data, workers=2, jwt_jwks=str(data / "jwks.json"), public_base_url=PUBLIC) as served:
        yield served


def post_on_new_connection(base: str, bearer: str) -> requests.Response:
    # requests.post without a Session opens a new connection each time: the kernel spreads them over the workers
    return requests.post(
        base + PV, json=hook_request([lbp()]), headers={"Authorization": f"Bearer {bearer}"}, timeout=10
    )


def test_a_token_is_accepted_once_whichever_worker_sees_it(secured):
    for _ in range(5):
        captured = token()
        statuses = [post_on_new_connection(secured.base, captured).status_code for _ in range(12)]
        assert statuses == [200] + [401] * 11


def test_a_token_replayed_at_once_on_many_connections_is_accepted_once(secured):
    captured = token()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: post_on_new_connection(secured.base, captured).status_code, range(16)))
    assert sorted(statuses) == [200] + [401] * 15


def test_both_workers_answered_the_replays(secured):
    """The replay tests above mean something only if both workers served calls: each logs its pid."""
    booted = {
        line.rsplit("pid:", 1)[1].strip() for line in secured.log().splitlines() if "Booting worker with pid:" in line
    }
    answered = set(re.findall(r"cds_service\.web\.routes\[(\d+)\]: hook ", secured.log()))
    assert len(booted) == 2 and answered == booted


def test_a_token_up_to_the_documented_16_kib_reaches_the_app(secured):
    """gunicorn refused any header over 8,190 bytes (a JSON 431, no log line), so the app's own limit of 16 KiB
    (web/auth.py MAX_TOKEN_CHARS, in the README) could never be reached: tokens of 8-16 KiB were refused unseen."""
    from cds_service.web.auth import MAX_TOKEN_CHARS

    big = token(pad="x" * (MAX_TOKEN_CHARS * 3 // 4 - 600))  # base64url: 4 characters for 3 bytes
    assert 12_000 < len(big) <= MAX_TOKEN_CHARS
    assert post_on_new_connection(secured.base, big).status_code == 200
    too_big = token(pad="x" * (MAX_TOKEN_CHARS * 3 // 4))
    assert len(too_big) > MAX_TOKEN_CHARS
    assert post_on_new_connection(secured.base, too_big).status_code in (401, 431)  # the app's or gunicorn's no


def test_chunked_body_over_the_limit_is_413(tmp_path):
    with Served(tmp_path, workers=1, max_body_bytes="100000") as served:
        small = requests.post(
            served.base + PV,
            data=iter([json.dumps(hook_request([lbp()])).encode()]),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert small.status_code == 200  # chunked, no Content-Length, under the limit

        def chunks():
            for _ in range(2000):  # 20 MB, never read past the limit
                yield b" " * 10000

        response = requests.post(
            served.base + PV, data=chunks(), headers={"Content-Type": "application/json"}, timeout=10
        )
        assert response.status_code == 413 and response.json()["error"] == "payload-too-large"


def test_json_logs_are_one_object_per_line_and_cannot_be_forged(tmp_path):
    with Served(tmp_path, workers=1, log_format="json") as served:
        forged = "abc\n2026-11-29 00:00:00 INFO forged: admin logged in"
        for instance in (forged, "x" * 5_000_000):
            body = hook_request([lbp()]) | {"hookInstance": instance}
            assert requests.post(served.base + PV, json=body, timeout=30).status_code == 200
        time.sleep(0.3)
        lines = [line for line in served.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, gunicorn's own included, is one JSON object
    hooks = [r for r in records if r.get("event") == "hook"]
    assert len(hooks) == 2
    assert {"time", "level", "event", "service", "hookInstance", "status", "ms", "topics"} <= hooks[0].keys()
    assert hooks[0]["status"] == 200 and "nsaid-first-line" in hooks[0]["topics"]
    assert all(len(r["hookInstance"]) <= 200 for r in hooks)
    assert max(len(line) for line in lines) < 10_000


def test_text_log_escapes_a_newline_in_hook_instance(tmp_path):
    with Served(tmp_path, workers=1) as served:
        body = hook_request([lbp()]) | {"hookInstance": "abc\nINFO forged line"}
        assert requests.post(served.base + PV, json=body, timeout=10).status_code == 200
        time.sleep(0.3)
        log = served.log()
    assert "hookInstance=abc\\nINFO forged line" in log
    assert not any(line.startswith("INFO forged") for line in log.splitlines())


def gigabyte(handler) -> None:
    """A FHIR server answering with 1 GiB of JSON that never closes, chunked (no length to refuse up front)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/fhir+json")
    handler.end_headers()
    block = b" " * (1 << 20)
    try:
        handler.wfile.write(b'{"resourceType": "Bundle", "entry": [')
        for _ in range(1024):
            handler.wfile.write(block)
    except OSError:
        handler.close_connection = True


def test_a_gigabyte_from_the_fhir_server_leaves_the_worker_memory_bounded(tmp_path):
    with ScriptedFhirServer() as fhir:
        fhir.routes["/fhir/"] = (0, gigabyte, 0)
        with Served(tmp_path, workers=1, fhir_server_allowlist=fhir.base) as served:
            (worker,) = served.worker_pids()
            body = hook_request([lbp()])
            assert requests.post(served.base + PV, json=body, timeout=10).status_code == 200
            before = memory_kb(worker, "VmHWM")
            del body["prefetch"]
            body["fhirServer"] = fhir.base
            started = time.monotonic()
            response = requests.post(served.base + PV, json=body, timeout=30)
            took = time.monotonic() - started
            peak, now = memory_kb(worker, "VmHWM"), memory_kb(worker, "VmRSS")
    assert response.status_code == 412 and "byte limit" in response.json()["message"]
    # all ten queries share one 50 MB allowance: the peak grows by about that, and the memory is given back
    assert peak - before < 160_000, (before, peak)
    assert now - before < 60_000, (before, now)
    assert took < 4.5


def test_a_dripping_fhir_server_is_cut_at_the_deadline_and_costs_the_worker_no_memory(tmp_path):
    from tests.fhir.test_security import drip_server

    listener, hung_up = drip_server()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
    try:
        with Served(tmp_path, workers=1, fhir_server_allowlist=base, fhir_deadline="1.5") as served:
            (worker,) = served.worker_pids()
            body = hook_request([lbp()])
            assert requests.post(served.base + PV, json=body, timeout=10).status_code == 200
            before = memory_kb(worker, "VmHWM")
            del body["prefetch"]
            body["fhirServer"] = base
            started = time.monotonic()
            response = requests.post(served.base + PV, json=body, timeout=30)
            took = time.monotonic() - started
            peak = memory_kb(worker, "VmHWM")
            give_up = time.monotonic() + 6
            while len(hung_up) < 10 and time.monotonic() < give_up:
                time.sleep(0.2)
    finally:
        listener.close()
    assert response.status_code == 412 and "deadline" in response.json()["message"]
    assert took < 2.0  # the deadline, not the drip, decides
    assert len(hung_up) == 10  # every one of the call's ten connections was cut
    assert peak - before < 20_000, (before, peak)
