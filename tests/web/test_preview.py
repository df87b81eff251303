"""The preview API behind the page: demo patients, pasted Bundles and requests, never a FHIR server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service import create_app
from cds_service.web.preview import demo_bundle, demo_index
from tests.fhir_builders import hook_request, lbp
from tests.web.test_auth import BASE, jwks


def test_demo_patients_are_ours_and_shipped(client):
    demos = client.get("/preview/demo-patients").get_json()
    assert [d["id"] for d in demos] == [d["id"] for d in demo_index()]
    assert {d["hook"] for d in demos} == {"patient-view", "order-select"}
    for demo in demos:
        assert demo_bundle(demo["id"])["entry"][0]["resource"]["resourceType"] == "Patient"


def test_a_pasted_bundle_becomes_a_request_with_every_prefetch_key(client):
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9"}},
            {"resource": lbp() | {"subject": {"reference": "Patient/p9"}}},
        ],
    }
    result = client.post(
        "/preview/evaluate", json={"bundle": bundle, "hook": "patient-view", "asOf": "2026-11-27"}
    ).get_json()
    assert result["status"] == 200 and result["response"]["cards"]
    prefetch = result["request"]["prefetch"]
    assert prefetch["conditions"]["entry"] and prefetch["observations"] is None  # absent types: known empty
    assert result["response"]["extension"]["org.backpain-cds.evaluation-date"] == "2026-11-27"


def test_a_request_missing_prefetch_is_412_without_contacting_any_server(client):
    body = hook_request([lbp()])
    del body["prefetch"]["conditions"]
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    result = client.post("/preview/evaluate", json={"request": body, "hook": "patient-view"}).get_json()
    assert result["status"] == 412 and result["response"]["reason"] == "preview-no-fhir-server"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"hook": "patient-view", "bundle": {"resourceType": "Bundle", "entry": []}},
            "bundle",
            id="bundle-without-patient",
        ),
        pytest.param({"hook": "order-dispatch", "demo": "demo-acute-day-9"}, "hook", id="unknown-hook"),
        pytest.param({"hook": "patient-view", "demo": "demo-acute-day-9", "asOf": "tomorrow"}, "asOf", id="bad-date"),
        pytest.param({"hook": "patient-view", "demo": "nobody"}, "demo", id="unknown-demo"),
        pytest.param({"hook": ["patient-view"], "demo": "demo-acute-day-9"}, "hook", id="hook-a-list-was-a-500"),
        pytest.param({"request": {"hook": {}}}, "hook", id="request-hook-an-object-was-a-500"),
    ],
)
def test_bad_preview_input_is_400_naming_the_field(client, body, field):
    response = client.post("/preview/evaluate", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_preview_is_off_once_client_jwts_are_required(settings):
    client = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE)).test_client()
    assert client.get("/").status_code == 404 and client.get("/preview/demo-patients").status_code == 404
    on = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE, preview=True)).test_client()
    assert on.get("/").status_code == 200


def test_preview_body_has_the_hook_calls_limits(settings):
    client = create_app(replace(settings, max_body_bytes=1000)).test_client()
    big = client.post("/preview/evaluate", data=b" " * 2000, content_type="application/json")
    assert big.status_code == 413
    assert client.post("/preview/evaluate", data=b"{}", content_type="text/plain").status_code == 415


def test_a_pasted_request_is_evaluated_for_its_own_hook(client):
    """A pasted patient-view request failed with "hook 'patient-view' does not match ... 'order-select'" unless the
    hook menu was changed by hand: without "hook" the request's own is used."""
    result = client.post("/preview/evaluate", json={"request": hook_request([lbp()]), "asOf": "2026-11-27"})
    assert result.status_code == 200
    assert result.get_json()["status"] == 200 and result.get_json()["response"]["cards"]


def test_the_page_and_its_icon_are_served_from_here(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/preview/static/favicon.svg"' in page  # no /favicon.ico 404 on every load
    assert client.get("/preview/static/favicon.svg").status_code == 200
    assert client.get("/preview/static/vendor/markdown-it.min.js").status_code == 200
    assert client.get("/preview/static/vendor/LICENSE.markdown-it").status_code == 200


def test_a_bundle_resource_whose_type_is_not_a_string_is_no_500(client):
    """schemathesis found it: an unhashable resourceType crashed the grouping by prefetch key."""
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9"}},
            {"resource": {"resourceType": ["Condition"], "id": "c1"}},
        ],
    }
    response = client.post("/preview/evaluate", json={"bundle": bundle, "hook": "patient-view"})
    assert response.status_code == 200 and response.get_json()["status"] in (200, 400)
