"""Issuers' keys by JWKS URL: cached, refetched on an unknown kid at most once a minute, kept while the URL is down,
fetched only from the configured URL (`jku` must equal it), over a real loopback HTTP server."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service import create_app
from cds_service.fhir.http_fetch import FetchError
from cds_service.web.jwks import IssuerKeys, cache_seconds
from tests.fhir_builders import hook_request, lbp
from tests.fhir_server import ScriptedFhirServer, redirect_to

ISSUER = "https://ehr.example.org"
BASE = "https://cds.example.org"
PV = "/cds-services/backpain-patient-view"
KEYS = {kid: ec.generate_private_key(ec.SECP384R1()) for kid in ("old", "new", "stranger")}


def jwk(kid: str) -> dict:
    return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEYS[kid].public_key())) | {"kid": kid, "alg": "ES384"}


def token(kid: str, jku: str | None = None) -> str:
    now = int(time.time())
    header = {"kid": kid, "typ": "JWT"} | ({"jku": jku} if jku else {})
    return jwt.encode(
        {"iss": ISSUER, "aud": BASE + PV, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())},
        KEYS[kid],
        algorithm="ES384",
        headers=header,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeFetch:
    """Stands in for the HTTP fetch in the timing tests: serves `jwks`, or fails while `down`."""

    def __init__(self, *kids: str, max_age: float = 3600) -> None:
        self.jwks = {"keys": [jwk(k) for k in kids]}
        self.max_age = max_age
        self.down = False
        self.calls = 0

    def __call__(self, url: str) -> tuple[dict, float]:
        self.calls += 1
        if self.down:
            raise FetchError("the server is unreachable (ConnectionError)")
        return self.jwks, self.max_age


def issuer_keys(fetch: FakeFetch, clock: Clock) -> IssuerKeys:
    return IssuerKeys(ISSUER, {"jwks_url": "https://ehr.example.org/jwks"}, fetch=fetch, clock=clock)


def test_keys_are_fetched_once_and_cached():
    fetch, clock = FakeFetch("old"), Clock()
    keys = issuer_keys(fetch, clock)
    assert keys.key("old") is not None and keys.key("old") is not None
    assert fetch.calls == 1


def test_unknown_kid_refetches_at_most_once_a_minute():
    fetch, clock = FakeFetch("old"), Clock()
    keys = issuer_keys(fetch, clock)
    keys.key("old")
    clock.now += 61
    assert keys.key("rotated") is None and fetch.calls == 2
    assert keys.key("rotated") is None and fetch.calls == 2  # a flood of unknown kids: no second fetch
    clock.now += 59
    assert keys.key("rotated") is None and fetch.calls == 2
    fetch.jwks = {"keys": [jwk("old"), jwk("new")]}
    clock.now += 2
    assert keys.key("new") is not None and fetch.calls == 3  # the issuer rotated: its new key is picked up


def test_cached_keys_keep_working_while_the_url_is_down():
    fetch, clock = FakeFetch("old", max_age=60), Clock()
    keys = issuer_keys(fetch, clock)
    keys.key("old")
    fetch.down = True
    clock.now += 3600
    assert keys.key("old") is not None and fetch.calls == 2


def test_stale_keys_are_refetched_after_max_age():
    fetch, clock = FakeFetch("old", max_age=120), Clock()
    keys = issuer_keys(fetch, clock)
    keys.key("old")
    clock.now += 119
    keys.key("old")
    assert fetch.calls == 1
    clock.now += 2
    keys.key("old")
    assert fetch.calls == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("max-age=600", 600, id="max-age-honoured"),
        pytest.param("public, max-age=5", 60, id="below-a-minute-raised-to-a-minute"),
        pytest.param("max-age=99999999", 86400, id="above-a-day-cut-to-a-day"),
        # int() refuses over 4,300 digits (ValueError): the stale keys were dropped instead of kept while refreshing
        pytest.param("max-age=" + "9" * 5000, 86400, id="five-thousand-digits-a-day"),
        pytest.param("max-age=0000000000600", 600, id="leading-zeros-read-as-the-number"),
        pytest.param(None, 3600, id="absent-an-hour"),
        pytest.param("no-store", 60, id="no-store-a-minute"),
    ],
)
def test_cache_control_is_honoured_within_bounds(header, seconds):
    assert cache_seconds(header) == seconds


@pytest.fixture
def jwks_server():
    with ScriptedFhirServer() as server:
        server.routes["/jwks"] = (200, {"keys": [jwk("old")]}, 0)
        yield server


@pytest.fixture
def client(settings, jwks_server):
    issuers = {ISSUER: {"jwks_url": jwks_server.root + "/jwks"}}
    return create_app(replace(settings, jwt_jwks=issuers, public_base_url=BASE)).test_client()


def call(client, bearer: str):
    return client.post(PV, json=hook_request([lbp()]), headers={"Authorization": f"Bearer {bearer}"})


def test_token_is_verified_with_keys_from_the_jwks_url(client, jwks_server):
    assert call(client, token("old")).status_code == 200
    assert call(client, token("old")).status_code == 200
    assert [p for p, _ in jwks_server.requests] == ["/jwks"]


def test_jku_equal_to_the_configured_url_is_accepted(client, jwks_server):
    assert call(client, token("old", jku=jwks_server.root + "/jwks")).status_code == 200


def test_jku_elsewhere_is_refused_and_never_fetched(client, jwks_server):
    with ScriptedFhirServer() as elsewhere:
        elsewhere.routes["/"] = (200, {"keys": [jwk("stranger")]}, 0)
        response = call(client, token("stranger", jku=elsewhere.root + "/jwks"))
        assert response.status_code == 401 and elsewhere.requests == []


def test_redirecting_jwks_url_gives_no_keys(settings):
    with ScriptedFhirServer() as server, ScriptedFhirServer() as elsewhere:
        elsewhere.routes["/"] = (200, {"keys": [jwk("old")]}, 0)
        server.routes["/jwks"] = (0, redirect_to(elsewhere.root + "/jwks"), 0)
        app = create_app(
            replace(settings, jwt_jwks={ISSUER: {"jwks_url": server.root + "/jwks"}}, public_base_url=BASE)
        )
        assert call(app.test_client(), token("old")).status_code == 401
        assert elsewhere.requests == []


def test_pinned_keys_with_a_jwks_url_fetch_only_unknown_kids(settings, jwks_server):
    """The offline set-up for the CDS Hooks sandbox: its key pinned, its jku named so its tokens match."""
    issuers = {ISSUER: {"keys": [jwk("new")], "jwks_url": jwks_server.root + "/jwks"}}
    client = create_app(replace(settings, jwt_jwks=issuers, public_base_url=BASE)).test_client()
    assert call(client, token("new", jku=jwks_server.root + "/jwks")).status_code == 200
    assert jwks_server.requests == []


def test_the_refetch_limit_is_per_issuer_across_workers(settings, jwks_server):
    """Issue 20.11: the limit was per worker, so tokens with unknown kids made every worker of every replica fetch.
    Two apps on one database stand for two workers: one fetch between them, and the second takes the keys the
    first fetched from the database."""
    issuers = {ISSUER: {"jwks_url": jwks_server.root + "/jwks"}}
    first, second = (
        create_app(replace(settings, jwt_jwks=issuers, public_base_url=BASE)).test_client() for _ in range(2)
    )
    assert call(first, token("old")).status_code == 200
    assert call(second, token("old")).status_code == 200  # the keys the first worker fetched
    assert call(second, token("stranger")).status_code == 401  # an unknown kid: the issuer was fetched just now
    assert call(first, token("stranger")).status_code == 401
    assert [p for p, _ in jwks_server.requests] == ["/jwks"]


def test_a_rotated_key_fetched_by_one_worker_serves_the_others(settings, jwks_server):
    issuers = {ISSUER: {"jwks_url": jwks_server.root + "/jwks"}}
    first, second = (create_app(replace(settings, jwt_jwks=issuers, public_base_url=BASE)) for _ in range(2))
    jwks_server.routes["/jwks"] = (200, {"keys": [jwk("old"), jwk("new")]}, 0)
    assert call(first.test_client(), token("new")).status_code == 200
    assert call(second.test_client(), token("new")).status_code == 200
    assert len(jwks_server.requests) == 1
