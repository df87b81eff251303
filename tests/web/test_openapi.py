"""The OpenAPI 3.1 document: valid, every error body we send matches it, and schemathesis against the live service
finds no 5xx and no response outside the document."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

import cds_service
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
        "200",
        "400",
        "401",
        "404",
        "405",
        "412",
        "413",
        "415",
        "503",
    }


AUTOMATIC = {"HEAD", "OPTIONS"}  # Flask adds them to every rule: HEAD answers as GET, OPTIONS is the CORS preflight
README = Path(__file__).resolve().parents[2] / "README.md"


def routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every rule of Flask's URL map: `<service_id>` and `<path:filename>` as `{...}`."""
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in rule.methods - AUTOMATIC}
    return found


def test_every_route_of_the_app_is_in_the_document_and_nothing_else(spec, settings):
    app = create_app(settings)
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert routes(app) == documented
    assert {("/", "get"), ("/preview/evaluate", "post"), ("/openapi.json", "get")} <= documented  # were missing


def test_the_route_walk_sees_a_route_added_later(settings):
    app = create_app(settings)
    app.add_url_rule("/extra/<int:n>", "extra", lambda n: "")
    assert ("/extra/{n}", "get") in routes(app)


def test_the_document_carries_the_package_version(spec):
    assert spec["info"]["version"] == cds_service.__version__


def extension_keys_in_the_code() -> set[str]:
    package = Path(cds_service.__file__).parent
    return {
        key
        for path in package.rglob("*.py")
        for key in re.findall(r"[\"'](org\.backpain-cds\.[a-z0-9.-]+)[\"']", path.read_text())
    }


def test_every_extension_the_service_emits_is_documented_in_the_document_and_the_readme(spec):
    schemas = spec["components"]["schemas"]
    service = schemas["Discovery"]["properties"]["services"]["items"]
    documented = (
        set(schemas["HookResponse"]["properties"]["extension"]["properties"])
        | set(schemas["Card"]["properties"]["extension"]["properties"])
        | set(service["properties"]["extension"]["properties"])
    )
    emitted = extension_keys_in_the_code()
    assert "org.backpain-cds.leniently-read-resources" in emitted  # the key the first user could not look up
    assert emitted <= documented, emitted - documented
    readme = README.read_text()
    assert not {key for key in emitted if f"`{key}`" not in readme}


def test_the_extensions_of_a_response_match_their_schemas(spec, client):
    """A response with every response extension we send: skipped, leniently read and an MME card."""
    opioid = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/pt-1"},
        "authoredOn": "2026-11-20",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049621"}]
        },
    }
    lenient = lbp() | {"id": "c-lenient", "recordedDate": "not a date"}
    unreadable = {"resourceType": "Condition", "id": "c-bad", "code": 7}
    body = hook_request([lbp(), opioid, lenient, unreadable])
    extension = client.post(PV, json=body).get_json()
    body_matches(spec, "HookResponse", extension)
    assert {
        "org.backpain-cds.skipped-resources",
        "org.backpain-cds.skipped",
        "org.backpain-cds.leniently-read-resources",
    } <= set(extension["extension"]), extension["extension"]


def test_responses_match_their_schemas(spec, client, settings):
    body_matches(spec, "Discovery", client.get("/cds-services").get_json())
    opioid = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/pt-1"},
        "authoredOn": "2026-11-20",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049621"}]
        },
    }
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
            [
                exe,
                "run",
                f"{served.base}/openapi.json",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "40",
                "--seed",
                "20261129",
                "--request-timeout",
                "10",
                "--no-color",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert "Traceback" not in served.log()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
