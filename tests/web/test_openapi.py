"""The OpenAPI 3.1 document: valid, every error body we send matches it, and schemathesis against the live service
finds no 5xx and no response outside the document."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from cds_service import create_app
from tests.fhir_builders import hook_request, lbp
from tests.served import Served

PV = "/cds-services/backpain-patient-view"


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from cds_service.config import Settings
    client = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi"))).test_client()
    return client.get("/openapi.json").get_json()


def body_matches(spec: dict, name: str, body: object) -> None:
    schema = {"$defs": spec["components"]["schemas"], **spec["components"]["schemas"][name]}
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    Draft202012Validator(json.loads(text)).validate(body)


def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec)  # raises naming the first problem
    assert set(spec["paths"]["/cds-services/{service_id}"]["post"]["responses"]) == {
        "200", "400", "401", "404", "405", "412", "413", "415", "503"}


def test_responses_match_their_schemas(spec, client, settings):
    body_matches(spec, "Discovery", client.get("/cds-services").get_json())
    opioid = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
              "subject": {"reference": "Patient/pt-1"}, "authoredOn": "2026-11-20",
              "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                        "code": "1049621"}]}}
    ok = client.post(PV, json=hook_request([lbp(), opioid])).get_json()
    assert ok["cards"]
    body_matches(spec, "HookResponse", ok)
    errors = {
        400: client.post(PV, data=b"{"),
        404: client.post("/cds-services/nope", json={}),
        405: client.get(PV),
        413: client.post(PV, data=b" " * (settings.max_body_bytes + 1), content_type="application/json"),
        415: client.post(PV, data=b"{}", content_type="text/plain"),
    }
    body = hook_request([lbp()])
    del body["prefetch"]["conditions"]
    errors[412] = client.post(PV, json=body)
    for status, response in errors.items():
        assert response.status_code == status
        body_matches(spec, "Error", response.get_json())
    body_matches(spec, "Ready", client.get("/readyz").get_json())


def test_unauthorized_body_matches(spec, settings):
    from tests.web.test_auth import BASE, jwks
    client = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE)).test_client()
    response = client.get("/cds-services")
    assert response.status_code == 401
    body_matches(spec, "Unauthorized", response.get_json())


@pytest.mark.slow
def test_schemathesis_finds_no_5xx_and_no_response_outside_the_document(tmp_path):
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    with Served(tmp_path, workers=2) as served:
        run = subprocess.run(
            [exe, "run", f"{served.base}/openapi.json", "--checks",
             "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
             "--max-examples", "40", "--seed", "20261129", "--request-timeout", "10", "--no-color",
             "--suppress-health-check", "all"],
            capture_output=True, text=True, timeout=600)
        assert "Traceback" not in served.log()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
