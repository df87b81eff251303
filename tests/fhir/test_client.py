"""FHIR fallback through a real HTTP server on loopback: bearer token, parallel fetch, paging, every fault -> 412."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from cds_service import create_app
from tests.fhir_builders import bundle, hook_request, lbp, observation, patient
from tests.fhir_server import ScriptedFhirServer

PV = "/cds-services/backpain-patient-view"
TOKEN = "secret-token-123"


@pytest.fixture
def fhir():
    with ScriptedFhirServer() as server:
        yield server


@pytest.fixture
def client_for(settings):
    def make(server: ScriptedFhirServer, **changes):
        return create_app(replace(settings, fhir_server_allowlist=(server.base,), **changes)).test_client()

    return make


def request_without(keys, server, token=TOKEN):
    body = hook_request([lbp()])
    for key in keys:
        del body["prefetch"][key]
    body["fhirServer"] = server.base
    body["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "backpain-cds",
    }
    return body


def serve_full_record(server, delay=0.0):
    server.routes["/fhir/Patient/"] = (200, patient(), delay)
    server.routes["/fhir/Condition"] = (200, bundle([lbp()]), delay)
    for t in (
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "AllergyIntolerance",
        "ServiceRequest",
        "Procedure",
        "DiagnosticReport",
        "ImagingStudy",
    ):
        server.routes[f"/fhir/{t}"] = (200, bundle([]), delay)


def test_no_prefetch_fetches_every_key_with_bearer_token(fhir, client_for):
    serve_full_record(fhir)
    body = request_without([], fhir)
    del body["prefetch"]
    response = client_for(fhir).post(PV, json=body)
    assert response.status_code == 200
    assert "nsaid-first-line" in {c["source"]["topic"]["code"] for c in response.get_json()["cards"]}
    assert len(fhir.requests) == 10  # every template of discovery
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, h in fhir.requests)
    assert all(h.get("Accept") == "application/fhir+json" for _, h in fhir.requests)
    assert any(p.startswith("/fhir/Condition?patient=pt-1") for p, _ in fhir.requests)


def test_queries_run_in_parallel_not_in_sequence(fhir, client_for):
    serve_full_record(fhir, delay=0.3)
    body = request_without([], fhir)
    del body["prefetch"]
    started = time.perf_counter()
    assert client_for(fhir).post(PV, json=body).status_code == 200
    assert time.perf_counter() - started < 10 * 0.3 / 2  # 10 queries of 0.3 s each


def test_three_page_searchset_is_followed(fhir, client_for):
    def page(n, nxt):
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": observation("8310-5", 36.5 + n, "Cel", days=3 - n)}],
            "link": [{"relation": "next", "url": f"{fhir.base}/page{nxt}"}] if nxt else [],
        }

    fhir.routes["/fhir/Observation"] = (200, page(0, 2), 0)
    fhir.routes["/fhir/page2"] = (200, page(1, 3), 0)
    fhir.routes["/fhir/page3"] = (200, page(2, None), 0)  # 38.5 Cel on the last page: a red flag
    response = client_for(fhir).post(PV, json=request_without(["observations"], fhir))
    assert response.status_code == 200
    assert [p for p, _ in fhir.requests][-2:] == ["/fhir/page2", "/fhir/page3"]
    assert any(c["source"]["topic"]["code"] == "red-flags" for c in response.get_json()["cards"])


def test_page_cap_is_412_not_a_silent_truncation(fhir, client_for):
    fhir.routes["/fhir/Observation"] = (
        200,
        {"resourceType": "Bundle", "entry": [], "link": [{"relation": "next", "url": f"{fhir.base}/Observation?p"}]},
        0,
    )
    response = client_for(fhir, fhir_max_pages=3).post(PV, json=request_without(["observations"], fhir))
    assert response.status_code == 412 and "pages" in response.get_json()["message"]


@pytest.mark.parametrize(
    "pages",
    [
        pytest.param([5], id="one-page-over-the-cap-no-next-link"),
        pytest.param([3, 3], id="two-pages-over-the-cap-together"),
    ],
)
def test_resource_cap_applies_to_every_page_the_first_included(fhir, client_for, pages):
    """Issue 20.7: one page of 900,000 resources was accepted because the cap was checked only before a next page."""
    for n, count in enumerate(pages):
        nxt = [{"relation": "next", "url": f"{fhir.base}/page{n + 1}"}] if n + 1 < len(pages) else []
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": nxt,
            "entry": [{"resource": observation("8310-5", 36.5, "Cel", days=1)}] * count,
        }
        fhir.routes["/fhir/Observation" if n == 0 else f"/fhir/page{n}"] = (200, page, 0)
    response = client_for(fhir, fhir_max_resources=4).post(PV, json=request_without(["observations"], fhir))
    assert response.status_code == 412 and "4 resources" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("route", "reason_part"),
    [
        pytest.param((401, {"resourceType": "OperationOutcome"}, 0), "refused", id="401"),
        pytest.param((403, {"resourceType": "OperationOutcome"}, 0), "refused", id="403"),
        pytest.param((500, {"resourceType": "OperationOutcome"}, 0), "500", id="500"),
        pytest.param((200, b"<html>not json</html>", 0), "not JSON", id="garbage-body"),
        pytest.param((200, {"hello": "world"}, 0), "not a FHIR resource", id="json-not-fhir"),
        pytest.param((200, bundle([]), 3.0), "timed out", id="slow-past-deadline"),
    ],
)
def test_fault_cases_are_412_within_the_deadline(fhir, client_for, route, reason_part):
    fhir.routes["/fhir/Observation"] = route
    client = client_for(fhir, fhir_deadline=1.0, fhir_read_timeout=0.8, fhir_connect_timeout=0.5)
    started = time.perf_counter()
    response = client.post(PV, json=request_without(["observations"], fhir))
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 412
    body = response.get_json()
    assert body["missingPrefetch"] == ["observations"] and reason_part in body["message"]
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("server", "missing", "says"),
    [
        pytest.param("http://127.0.0.1:9", "conditions", "unreachable", id="connection-refused-is-412"),
        pytest.param(
            "http://ehr.example.org",
            "observations",
            "https",
            id="plain-http-off-loopback-is-refused-without-a-connection",
        ),
    ],
)
def test_server_that_cannot_be_used_is_412_saying_why(settings, server, missing, says):
    client = create_app(replace(settings, fhir_server_allowlist=(server + "/",))).test_client()
    body = hook_request([lbp()])
    del body["prefetch"][missing]
    body["fhirServer"] = server + "/fhir"
    response = client.post(PV, json=body)
    assert response.status_code == 412 and says in response.get_json()["message"]


def test_off_allowlist_server_is_never_contacted(fhir, settings):
    client = create_app(replace(settings, fhir_server_allowlist=("https://ehr.example.org/",))).test_client()
    response = client.post(PV, json=request_without(["observations"], fhir))
    assert response.status_code == 412 and fhir.requests == []


def test_null_key_is_not_fetched(fhir, client_for):
    body = request_without(["conditions"], fhir)
    fhir.routes["/fhir/Condition"] = (200, bundle([lbp()]), 0)
    assert body["prefetch"]["observations"] is None
    assert client_for(fhir).post(PV, json=body).status_code == 200
    assert [p.split("?")[0] for p, _ in fhir.requests] == ["/fhir/Condition"]


def test_operation_outcome_key_is_refetched(fhir, client_for):
    body = request_without([], fhir)
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    fhir.routes["/fhir/Condition"] = (200, bundle([lbp()]), 0)
    response = client_for(fhir).post(PV, json=body)
    assert response.status_code == 200
    assert response.get_json()["extension"]["org.backpain-cds.fetched-prefetch"] == ["conditions"]


def test_token_never_reaches_the_log(fhir, client_for, caplog):
    fhir.routes["/fhir/Observation"] = (401, {"resourceType": "OperationOutcome"}, 0)
    with caplog.at_level("DEBUG"):
        client_for(fhir).post(PV, json=request_without(["observations"], fhir))
    assert TOKEN not in caplog.text
