"""Client JWT checks (CDS Hooks security): real ES384 keys, tokens signed with PyJWT, a bare 401 on any failure."""
from __future__ import annotations

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


def token(aud: object = BASE + PV, key=PRIVATE, alg: str = "ES384", **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | claims
    if alg == "HS256":
        return jwt.encode(payload, "shared-secret-that-is-long-enough-for-hs256", algorithm=alg,
                          headers={"kid": KID})
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": KID, "typ": "JWT"})


@pytest.fixture
def client(settings):
    return create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE)).test_client()


def call(client, bearer: str | None, path: str = PV):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return client.post(path, json=hook_request([lbp()]), headers=headers)


def test_valid_token_is_accepted(client):
    assert call(client, token()).status_code == 200


def test_aud_may_be_an_array(client):
    assert call(client, token(aud=["https://other.example", BASE + PV])).status_code == 200


def test_discovery_and_feedback_need_their_own_aud(client):
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {token(aud=BASE + '/cds-services')}"}
                      ).status_code == 200
    assert client.get("/cds-services").status_code == 401
    feedback = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    ok = client.post(PV + "/feedback", json=feedback,
                     headers={"Authorization": f"Bearer {token(aud=BASE + PV + '/feedback')}"})
    assert ok.status_code == 200


def none_token() -> str:
    return jwt.encode({"iss": ISSUER, "aud": BASE + PV, "exp": int(time.time()) + 60, "iat": int(time.time()),
                       "jti": "x"}, None, algorithm="none", headers={"kid": KID})


@pytest.mark.parametrize("bearer", [
    pytest.param(None, id="no-authorization-header"),
    pytest.param("not-a-jwt", id="garbage"),
    pytest.param(none_token(), id="alg-none-rejected"),
    pytest.param(token(alg="HS256"), id="symmetric-hs256-rejected"),
    pytest.param(token(aud=BASE + "/cds-services/other"), id="aud-for-another-url"),
    pytest.param(token(aud=BASE + PV + "/"), id="aud-with-trailing-slash-is-another-url"),
    pytest.param(token(exp=int(time.time()) - 120), id="expired"),
    pytest.param(token(iat=int(time.time()) + 3600), id="issued-in-the-future"),
    pytest.param(token(iss="https://evil.example"), id="unknown-issuer"),
    pytest.param(token(key=OTHER), id="signed-by-another-key"),
    pytest.param(token(jti=None), id="missing-jti"),
])
def test_bad_tokens_get_a_bare_401(client, bearer):
    response = call(client, bearer)
    assert response.status_code == 401 and response.get_json() == {"error": "unauthorized"}


def test_replayed_jti_is_rejected(client):
    reused = token()
    assert call(client, reused).status_code == 200
    assert call(client, reused).status_code == 401


def test_preflight_and_health_need_no_token(client):
    assert client.options(PV, headers={"Origin": "https://sandbox.cds-hooks.org",
                                       "Access-Control-Request-Method": "POST"}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_without_public_base_url_the_request_url_is_the_audience(settings):
    client = create_app(replace(settings, jwt_jwks=jwks())).test_client()
    assert call(client, token(aud="http://localhost" + PV)).status_code == 200


@pytest.mark.parametrize("content", [
    pytest.param("{", id="not-json"),
    pytest.param(json.dumps({ISSUER: {"keys": []}}), id="issuer-without-keys"),
    pytest.param(json.dumps({ISSUER: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}}), id="shared-secret"),
])
def test_bad_jwks_file_stops_start_up(tmp_path, content):
    path = tmp_path / "jwks.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="BACKPAIN_CDS_JWT_JWKS"):
        Settings.from_env({"BACKPAIN_CDS_JWT_JWKS": str(path)})


def test_jwks_file_is_read_from_the_environment(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks()))
    assert ISSUER in Settings.from_env({"BACKPAIN_CDS_JWT_JWKS": str(path)}).jwt_jwks
