"""The FHIR fallback under attack: allowlist by URL structure, no redirects, ids checked, bounded bytes and time.

Two real servers on loopback: the EHR's (127.0.0.1, allowlisted) and an attacker's (127.0.0.2, never allowlisted).
The attacker's must never see a request, let alone the bearer token.
"""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
from dataclasses import replace

import pytest

from cds_service import create_app
from cds_service.fhir.allowlist import Allowlist, BadUrl
from tests.fhir_builders import bundle, hook_request, lbp
from tests.fhir_server import ScriptedFhirServer, redirect_to

PV = "/cds-services/backpain-patient-view"
TOKEN = "ehr-bearer-token-never-to-leave"


@pytest.fixture
def ehr():
    with ScriptedFhirServer("127.0.0.1") as server:
        yield server


@pytest.fixture
def attacker():
    try:
        server = ScriptedFhirServer("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound on this machine")
    with server:
        server.routes["/"] = (200, bundle([lbp()]), 0)
        yield server


@pytest.fixture
def client_for(settings):
    def make(*allowed: str, **changes):
        return create_app(replace(settings, fhir_server_allowlist=allowed, **changes)).test_client()

    return make


def request_to(fhir_server: str, missing: str = "conditions", **context) -> dict:
    body = hook_request([lbp()])
    del body["prefetch"][missing]
    body["context"].update(context)
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "scope": "patient/*.read",
        "subject": "backpain-cds",
    }
    return body


@pytest.mark.parametrize(
    ("entry", "url", "allowed"),
    [
        pytest.param("https://fhir.example.org", "https://fhir.example.org/r4", True, id="path-below-the-entry"),
        pytest.param(
            "https://fhir.example.org/r4", "https://fhir.example.org/r4/", True, id="trailing-slash-same-base"
        ),
        pytest.param("https://fhir.example.org", "https://FHIR.example.org:443/r4", True, id="host-case-default-port"),
        pytest.param(
            "https://fhir.example.org",
            "https://fhir.example.org.evil.test/",
            False,
            id="host-that-only-starts-with-the-entry",
        ),
        pytest.param("https://fhir.example.org", "https://fhir.example.org@evil.test/", False, id="userinfo-trick"),
        pytest.param("https://fhir.example.org", "https://user@fhir.example.org/", False, id="any-userinfo-refused"),
        pytest.param("http://127.0.0.1:8080", "http://127.0.0.1:80801", False, id="port-that-only-starts-with-it"),
        pytest.param("https://fhir.example.org", "https://fhir.example.org:8443/", False, id="another-port"),
        pytest.param("https://fhir.example.org", "http://fhir.example.org/", False, id="another-scheme"),
        pytest.param(
            "https://fhir.example.org/r4", "https://fhir.example.org/r4x", False, id="path-prefix-no-boundary"
        ),
        pytest.param("https://fhir.example.org/r4", "https://fhir.example.org/r4/../admin", False, id="dot-segments"),
        pytest.param(
            "https://fhir.example.org/r4", "https://fhir.example.org/r4/%2e%2e/admin", False, id="encoded-dot-segments"
        ),
        pytest.param("https://fhir.example.org", "https://fhir.example.org\\@evil.test/", False, id="backslash-trick"),
        pytest.param("https://fhir.example.org", "https://fhir.example.org /", False, id="white-space"),
        pytest.param("https://fhir.example.org", "ftp://fhir.example.org/", False, id="not-http"),
    ],
)
def test_allowlist_matches_by_url_structure_not_prefix(entry, url, allowed):
    assert (Allowlist.parse((entry,)).match(url) is not None) is allowed


@pytest.mark.parametrize(
    "entry",
    [
        "https://u:p@ehr.example.org",
        "https://ehr.example.org:99999",
        "ehr.example.org/fhir",
        "https://ehr.example.org/fhir?x=1",
    ],
)
def test_bad_allowlist_entry_is_refused(entry):
    with pytest.raises(BadUrl):
        Allowlist.parse((entry,))


@pytest.mark.parametrize(
    "trick",
    [
        pytest.param("{ehr_root}@{attacker_host}/fhir", id="userinfo-points-at-another-host"),
        pytest.param("{ehr}/../../admin", id="dot-segments-leave-the-base"),
        pytest.param("{ehr}x", id="path-prefix-without-boundary"),
        pytest.param("{attacker}", id="another-host"),
        pytest.param("{ehr_root}1/fhir", id="port-that-only-starts-with-the-allowlisted-one"),
    ],
)
def test_fhir_server_tricks_are_412_and_reach_no_server(ehr, attacker, client_for, trick):
    ehr.routes["/"] = (200, bundle([lbp()]), 0)
    url = trick.format(
        ehr=ehr.base, ehr_root=ehr.root, attacker=attacker.base, attacker_host=attacker.root.removeprefix("http://")
    )
    response = client_for(ehr.base).post(PV, json=request_to(url))
    assert response.status_code == 412 and response.get_json()["reason"] == "fhir-server-not-allowed"
    assert attacker.requests == [] and ehr.requests == []


def test_redirect_is_refused_and_the_token_does_not_follow(ehr, attacker, client_for):
    ehr.routes["/fhir/Condition"] = (0, redirect_to(attacker.base + "/Condition?patient=pt-1"), 0)
    response = client_for(ehr.base).post(PV, json=request_to(ehr.base))
    body = response.get_json()
    assert response.status_code == 412 and body["missingPrefetch"] == ["conditions"]
    assert "redirect refused" in body["message"]
    assert attacker.requests == []


def test_next_link_to_another_server_is_refused(ehr, attacker, client_for):
    page = bundle([lbp()]) | {"link": [{"relation": "next", "url": attacker.base + "/Condition?page=2"}]}
    ehr.routes["/fhir/Condition"] = (200, page, 0)
    response = client_for(ehr.base).post(PV, json=request_to(ehr.base))
    assert response.status_code == 412 and "outside the fhirServer base" in response.get_json()["message"]
    assert attacker.requests == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("patientId", "../../admin/x", id="patient-id-path-traversal"),
        pytest.param("patientId", "..", id="patient-id-dot-dot"),
        pytest.param("patientId", "pt-1?_format=xml", id="patient-id-with-a-query"),
        pytest.param("patientId", "pt-1%2F..%2Fadmin", id="patient-id-percent-encoded"),
        pytest.param("patientId", "x" * 65, id="patient-id-over-64-characters"),
        pytest.param("encounterId", "enc/1", id="encounter-id-with-a-slash"),
    ],
)
def test_context_ids_must_be_fhir_ids(ehr, client_for, field, value):
    response = client_for(ehr.base).post(PV, json=request_to(ehr.base, **{field: value}))
    assert response.status_code == 400 and response.get_json()["field"] == f"context.{field}"
    assert ehr.requests == []


def test_patient_id_enters_the_url_as_a_path_segment(ehr, client_for):
    ehr.routes["/fhir/"] = (200, bundle([]), 0)
    ehr.routes["/fhir/Patient/"] = (200, {"resourceType": "Patient", "id": "A-1.b"}, 0)
    body = request_to(ehr.base, missing="patient", patientId="A-1.b")
    assert client_for(ehr.base).post(PV, json=body).status_code == 200
    assert [p for p, _ in ehr.requests] == ["/fhir/Patient/A-1.b"]


@functools.cache
def gzip_bomb() -> bytes:
    """256 MB of JSON (a string of spaces) in about 250 KB of gzip."""
    return gzip.compress(b'{"resourceType": "Bundle", "x": "' + b" " * (256 << 20), compresslevel=1)


def endless(chunk: bytes, pause: float = 0.0, gzipped: bool = False):
    """An answer that never ends (chunked, no length): JSON that is never closed, or gzip of endless spaces."""

    def write(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        if gzipped:
            handler.send_header("Content-Encoding", "gzip")
        handler.end_headers()
        try:
            if gzipped:
                handler.wfile.write(gzip_bomb())
                return
            handler.wfile.write(b'{"resourceType": "Bundle", "entry": [')
            while True:
                handler.wfile.write(chunk)
                handler.wfile.flush()
                time.sleep(pause)
        except OSError:
            handler.close_connection = True  # the client hung up: what we want

    return write


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(endless(b" " * 65536), id="endless-body"),
        pytest.param(endless(b"", gzipped=True), id="gzip-bomb"),
    ],
)
def test_body_past_the_byte_cap_is_412(ehr, client_for, answer):
    ehr.routes["/fhir/Condition"] = (0, answer, 0)
    started = time.monotonic()
    response = client_for(ehr.base, fhir_max_bytes=5_000_000).post(PV, json=request_to(ehr.base))
    assert response.status_code == 412 and "5000000 byte limit" in response.get_json()["message"]
    assert time.monotonic() - started < 4


def test_declared_length_past_the_cap_is_refused_before_reading(ehr, client_for):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(1 << 30))
        handler.end_headers()
        handler.wfile.write(b"{")

    ehr.routes["/fhir/Condition"] = (0, huge, 0)
    response = client_for(ehr.base).post(PV, json=request_to(ehr.base))
    assert response.status_code == 412 and "byte limit" in response.get_json()["message"]


def drip_server() -> tuple[socket.socket, list[float]]:
    """A raw server that sends its headers and then one byte every 2 s; records when each client hung up."""
    listener = socket.create_server(("127.0.0.1", 0))
    hung_up: list[float] = []

    def serve(conn: socket.socket) -> None:
        conn.recv(65536)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n")
            while True:
                conn.sendall(b" ")
                time.sleep(2)
        except OSError:
            hung_up.append(time.monotonic())
        finally:
            conn.close()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, hung_up


def test_slow_drip_servers_are_cut_at_the_deadline_and_starve_nobody(ehr, client_for):
    """Eight servers dripping a byte every 2 s, one call each with no prefetch (ten queries): each call gets its 412
    at the deadline, every one of its connections is cut then, and a healthy call right after them is answered."""
    drips = [drip_server() for _ in range(8)]
    bases = [f"http://127.0.0.1:{listener.getsockname()[1]}/fhir" for listener, _ in drips]
    client = client_for(ehr.base, *bases, fhir_deadline=1.0, fhir_connect_timeout=0.5, fhir_read_timeout=3.0)
    try:
        for base in bases:
            body = request_to(base)
            del body["prefetch"]
            started = time.monotonic()
            response = client.post(PV, json=body)
            assert response.status_code == 412 and "deadline" in response.get_json()["message"]
            assert time.monotonic() - started < 1.5
        ehr.routes["/fhir/Condition"] = (200, bundle([lbp()]), 0)
        started = time.monotonic()
        assert client.post(PV, json=request_to(ehr.base)).status_code == 200
        assert time.monotonic() - started < 1.0
        deadline = time.monotonic() + 6  # a dripping server notices within two of its writes
        while time.monotonic() < deadline and sum(len(hung_up) for _, hung_up in drips) < 80:
            time.sleep(0.2)
        assert [len(hung_up) for _, hung_up in drips] == [10] * 8
    finally:
        for listener, _ in drips:
            listener.close()
