"""Client JWT checks (CDS Hooks security): real ES384 keys, tokens signed with PyJWT, a bare 401 on any failure."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service import create_app
from cds_service.config import Settings
from cds_service.errors import ConfigError
from tests.fhir_builders import hook_request, lbp

ISSUER = "https://ehr.example.org"
KID = "key-1"
BASE = "https://cds.example.org"
PV = "/cds-services/backpain-patient-view"
PRIVATE = ec.generate_private_key(ec.SECP384R1())
OTHER = ec.generate_private_key(ec.SECP384R1())


def jwks() -> dict:
    key = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(PRIVATE.public_key())) | {"kid": KID, "alg": "ES384"}
    return {ISSUER: {"keys": [key]}}


def token(
    aud: object = BASE + PV, key=PRIVATE, alg: str = "ES384", header: dict | None = None, **claims: object
) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | claims
    payload = {k: v for k, v in payload.items() if v is not DROP}
    if alg == "HS256":
        return jwt.encode(payload, "shared-secret-that-is-long-enough-for-hs256", algorithm=alg, headers={"kid": KID})
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": KID, "typ": "JWT"} | (header or {}))


DROP = object()


def raw_token(header: object, payload: object, key=PRIVATE) -> str:
    """A token whose header and payload are any JSON at all, signed with our key (PyJWT would refuse to build it)."""

    def part(value: object) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(payload)
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA384).sign(signing_input, key)
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def good_header(**changes: object) -> dict:
    return {"alg": "ES384", "typ": "JWT", "kid": KID} | changes


def good_payload(**changes: object) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": BASE + PV, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | changes


@pytest.fixture
def client(settings):
    return create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE)).test_client()


def call(client, bearer: str | None, path: str = PV, host: str | None = None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if host:
        headers["Host"] = host
    return client.post(path, json=hook_request([lbp()]), headers=headers)


def test_valid_token_is_accepted(client):
    assert call(client, token()).status_code == 200


def test_aud_may_be_an_array(client):
    assert call(client, token(aud=["https://other.example", BASE + PV])).status_code == 200


def test_discovery_and_feedback_need_their_own_aud(client):
    assert (
        client.get(
            "/cds-services", headers={"Authorization": f"Bearer {token(aud=BASE + '/cds-services')}"}
        ).status_code
        == 200
    )
    assert client.get("/cds-services").status_code == 401
    feedback = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    ok = client.post(
        PV + "/feedback", json=feedback, headers={"Authorization": f"Bearer {token(aud=BASE + PV + '/feedback')}"}
    )
    assert ok.status_code == 200


def none_token() -> str:
    return jwt.encode(
        {"iss": ISSUER, "aud": BASE + PV, "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "x"},
        None,
        algorithm="none",
        headers={"kid": KID},
    )


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(lambda: None, id="no-authorization-header"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: none_token(), id="alg-none-rejected"),
        pytest.param(lambda: token(alg="HS256"), id="symmetric-hs256-rejected"),
        pytest.param(lambda: token(aud=BASE + "/cds-services/other"), id="aud-for-another-url"),
        pytest.param(lambda: token(aud=BASE + PV + "/"), id="aud-with-trailing-slash-is-another-url"),
        pytest.param(lambda: token(exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda: token(iat=int(time.time()) + 3600), id="issued-in-the-future"),
        pytest.param(lambda: token(iss="https://evil.example"), id="unknown-issuer"),
        pytest.param(lambda: token(key=OTHER), id="signed-by-another-key"),
        pytest.param(lambda: token(jti=DROP), id="missing-jti"),
        pytest.param(lambda: token(jti=""), id="empty-jti"),
        pytest.param(lambda: token(jti=12345), id="jti-not-a-string"),
        pytest.param(lambda: token(exp=int(time.time()) + 10 * 365 * 86400), id="valid-for-ten-years"),
        pytest.param(lambda: token(exp=int(time.time()) + 300 + 61 + 5), id="exp-past-5-minutes-plus-leeway"),
        pytest.param(lambda: token(iat=int(time.time()) - 300 - 61 - 5), id="iat-older-than-5-minutes-plus-leeway"),
        pytest.param(lambda: token(iat=int(time.time()) + 65), id="iat-just-past-the-leeway-in-the-future"),
        pytest.param(
            lambda: token(header={"jku": "https://evil.example/jwks.json"}), id="jku-not-configured-for-issuer"
        ),
        # the key is chosen from the header and claims read before PyJWT checks the token: each part must parse
        pytest.param(lambda: token() + ".extra", id="four-segments"),
        pytest.param(lambda: "!!!!" + token()[token().index(".") :], id="header-not-base64url"),
        pytest.param(lambda: "bm90IGpzb24" + token()[token().index(".") :], id="header-base64-of-not-json"),
        pytest.param(lambda: token().replace(".", ".\u00e9", 1), id="non-ascii-in-the-claims"),
        pytest.param(lambda: "." + token().split(".", 1)[1], id="empty-header"),
        pytest.param(
            lambda: base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=") + "." + token().split(".", 1)[1],
            id="header-nested-5000-deep",
        ),
    ],
)
def test_bad_tokens_get_a_bare_401(client, bearer):
    response = call(client, bearer())  # made now, not at collection: the leeway cases are seconds from the edge
    assert response.status_code == 401 and response.get_json() == {"error": "unauthorized"}


def test_a_claim_cut_mid_emoji_is_taken_as_pyjwt_takes_it(client):
    """JavaScript's JSON.stringify writes a string cut inside an emoji as a lone UTF-16 surrogate escape; PyJWT parses
    it, and so does the read that chooses the key (orjson would refuse it: a 401 for a valid token)."""
    assert call(client, token(sub="patient-app \ud83d")).status_code == 200


def test_exp_at_5_minutes_plus_leeway_is_accepted(client):
    assert call(client, token(exp=int(time.time()) + 300 + 55)).status_code == 200


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        pytest.param(good_header(alg=["ES384"]), good_payload(), id="alg-is-a-list"),
        pytest.param(good_header(alg={"x": 1}), good_payload(), id="alg-is-an-object"),
        pytest.param(good_header(kid=["key-1"]), good_payload(), id="kid-is-a-list"),
        pytest.param(good_header(kid=7), good_payload(), id="kid-is-a-number"),
        pytest.param(good_header(typ=["JWT"]), good_payload(), id="typ-is-a-list"),
        pytest.param(good_header(jku=["https://x"]), good_payload(), id="jku-is-a-list"),
        pytest.param(["ES384"], good_payload(), id="header-is-a-list"),
        pytest.param(good_header(), good_payload(iss=[ISSUER]), id="iss-is-a-list"),
        pytest.param(good_header(), good_payload(iss={"a": ISSUER}), id="iss-is-an-object"),
        pytest.param(good_header(), good_payload(aud={"u": BASE + PV}), id="aud-is-an-object"),
        pytest.param(good_header(), good_payload(aud=[1, None]), id="aud-list-of-non-strings"),
        pytest.param(good_header(), good_payload(exp=[1]), id="exp-is-a-list"),
        pytest.param(good_header(), good_payload(exp="soon"), id="exp-is-a-string"),
        pytest.param(good_header(), good_payload(iat={"t": 1}), id="iat-is-an-object"),
        pytest.param(good_header(), good_payload(iat=True), id="iat-is-a-boolean"),
        pytest.param(good_header(), good_payload(exp=1e308), id="exp-is-huge"),
        pytest.param(good_header(), good_payload(jti=["a"]), id="jti-is-a-list"),
        pytest.param(good_header(), good_payload(jti={"a": 1}), id="jti-is-an-object"),
        pytest.param(good_header(), ["not", "an", "object"], id="payload-is-a-list"),
    ],
)
def test_malformed_header_or_claims_are_a_bare_401_never_a_500(client, header, payload):
    response = call(client, raw_token(header, payload))
    assert response.status_code == 401 and response.get_json() == {"error": "unauthorized"}


def test_raw_token_helper_signs_a_token_we_accept(client):
    """The malformed-token cases above differ from this one only in the field they break."""
    assert call(client, raw_token(good_header(), good_payload())).status_code == 200


def test_replayed_jti_is_rejected(client):
    reused = token()
    assert call(client, reused).status_code == 200
    assert call(client, reused).status_code == 401


def test_preflight_and_health_need_no_token(client):
    assert (
        client.options(
            PV, headers={"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST"}
        ).status_code
        == 200
    )
    assert client.get("/healthz").status_code == 200


def test_jwt_without_public_base_url_stops_start_up():
    """The audience comes from configuration only: a Host header is the caller's to choose."""
    with pytest.raises(ConfigError, match="BACKPAIN_CDS_PUBLIC_BASE_URL is required"):
        Settings(jwt_jwks=jwks())


def test_host_header_does_not_change_the_audience(client):
    assert call(client, token(aud="http://evil.example" + PV), host="evil.example").status_code == 401


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{", id="not-json"),
        pytest.param(json.dumps({ISSUER: {"keys": []}}), id="issuer-without-keys"),
        pytest.param(json.dumps({ISSUER: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}}), id="shared-secret"),
        pytest.param(json.dumps({ISSUER: {}}), id="neither-keys-nor-jwks-url"),
        pytest.param(json.dumps({ISSUER: {"jwks_url": "http://ehr.example.org/jwks"}}), id="jwks-url-plain-http"),
        pytest.param(json.dumps({ISSUER: {"jwks_url": "https://u@ehr.example.org/jwks"}}), id="jwks-url-with-userinfo"),
        pytest.param(json.dumps({ISSUER: {"jwks_url": 42}}), id="jwks-url-not-a-string"),
    ],
)
def test_bad_jwks_file_stops_start_up(tmp_path, content):
    path = tmp_path / "jwks.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="BACKPAIN_CDS_JWT_JWKS"):
        Settings.from_env({"BACKPAIN_CDS_JWT_JWKS": str(path), "BACKPAIN_CDS_PUBLIC_BASE_URL": BASE})


def test_jwks_file_is_read_from_the_environment(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks()))
    settings = Settings.from_env({"BACKPAIN_CDS_JWT_JWKS": str(path), "BACKPAIN_CDS_PUBLIC_BASE_URL": BASE})
    assert ISSUER in settings.jwt_jwks
