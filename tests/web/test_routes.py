"""Every endpoint and error path through the Flask test client."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from cds_service import create_app
from tests.fhir_builders import hook_request, lbp, observation

PV = "/cds-services/backpain-patient-view"


def test_discovery_lists_three_services_with_2_0_templates(client):
    body = client.get("/cds-services").get_json()
    hooks = {s["hook"]: s for s in body["services"]}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    for service in body["services"]:
        assert service["id"] and service["description"] and service["title"]
        for template in service["prefetch"].values():
            assert "{{context.patientId}}" in template and "{{Patient.id}}" not in template
            assert "sort:desc" not in template and not template.startswith(("/", "http"))
        assert {
            "Condition",
            "Observation",
            "MedicationRequest",
            "MedicationStatement",
            "ServiceRequest",
            "Procedure",
        } <= {t.split("?")[0] for t in service["prefetch"].values()}


def test_discovery_names_the_service_and_knowledge_versions(client):
    from cds_service.knowledge import load
    from cds_service.knowledge.manifest import service_version

    for service in client.get("/cds-services").get_json()["services"]:
        assert service["version"] == "2.0.1"  # the CDS Hooks version we implement
        assert service["extension"] == {
            "org.backpain-cds.service-version": service_version(),
            "org.backpain-cds.knowledge": load().identity.as_json(),
        }
    assert client.get("/openapi.json").get_json()["info"]["x-backpain-cds-knowledge"] == load().identity.as_json()


def test_hook_returns_cards_with_conformant_shape(client):
    response = client.post(PV, json=hook_request([lbp()]))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert cards
    uuids = set()
    for card in cards:
        assert len(card["summary"]) < 140 and card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] and card["source"]["url"].startswith("https://")
        assert card["source"]["topic"]["code"] and card["source"]["topic"]["system"]
        assert ("suggestions" in card) == ("selectionBehavior" in card)
        for value in card.values():
            assert value not in (None, "", [], {})
        uuids.add(card["uuid"])
        for suggestion in card.get("suggestions", []):
            uuids.add(suggestion["uuid"])
    assert all(uuid.UUID(u).version in (4, 7) and str(uuid.UUID(u)) == u for u in uuids), "canonical form"
    assert {uuid.UUID(c["uuid"]).version for c in cards} == {7}, "cards: time-ordered (the card log's key)"
    suggested = [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    assert suggested and {uuid.UUID(u).version for u in suggested} == {4}, "suggestions: random"
    again = client.post(PV, json=hook_request([lbp()])).get_json()["cards"]
    assert not uuids & {c["uuid"] for c in again}, "uuids must be fresh per response"


def test_nsaid_first_line_card_for_active_low_back_pain(client):
    cards = client.post(PV, json=hook_request([lbp()])).get_json()["cards"]
    assert "nsaid-first-line" in {c["source"]["topic"]["code"] for c in cards}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(lambda b: b.pop("hook"), "hook", id="missing-hook"),
        pytest.param(lambda b: b.update(hook="order-sign"), "hook", id="wrong-hook-for-service"),
        pytest.param(lambda b: b.pop("hookInstance"), "hookInstance", id="missing-hookInstance"),
        pytest.param(lambda b: b.pop("context"), "context", id="missing-context"),
        pytest.param(lambda b: b["context"].pop("patientId"), "context.patientId", id="missing-patientId"),
        pytest.param(lambda b: b.update(prefetch=[]), "prefetch", id="prefetch-not-an-object"),
        pytest.param(
            lambda b: b.update(fhirAuthorization={"access_token": "x"}),
            "fhirServer",
            id="authorization-without-fhirServer",
        ),
    ],
)
def test_bad_request_names_the_field(client, mutate, field):
    body = hook_request([lbp()])
    mutate(body)
    response = client.post(PV, json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["error"] == "bad-request"


@pytest.mark.parametrize(
    "data", [b"{not json", b"[1, 2]", b"", b'"text"'], ids=["malformed", "array", "empty", "string"]
)
def test_non_object_bodies_are_400(client, data):
    response = client.post(PV, data=data, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["message"]


def test_order_select_requires_selections_and_draft_orders(client):
    body = hook_request([lbp()], hook="order-select")
    del body["context"]["selections"]
    assert client.post("/cds-services/backpain-order-select", json=body).status_code == 400
    body = hook_request([lbp()], hook="order-sign")
    del body["context"]["draftOrders"]
    assert client.post("/cds-services/backpain-order-sign", json=body).get_json()["field"] == "context.draftOrders"


def test_unknown_service_is_404_json(client):
    response = client.post("/cds-services/nope", json=hook_request([lbp()]))
    assert response.status_code == 404 and response.get_json()["error"] == "unknown-service"


def test_wrong_method_is_405_json(client):
    response = client.get(PV)
    assert response.status_code == 405 and response.get_json()["error"] == "method-not-allowed"
    assert client.delete("/cds-services").status_code == 405


def test_body_over_limit_is_413(settings):
    client = create_app(replace(settings, max_body_bytes=1000)).test_client()
    response = client.post(PV, json=hook_request([observation("8310-5", 37, "Cel")] * 20))
    assert response.status_code == 413 and response.get_json()["error"] == "payload-too-large"


def test_null_prefetch_key_is_known_empty_and_not_fetched(client):
    body = hook_request([lbp()])
    assert body["prefetch"]["observations"] is None
    assert client.post(PV, json=body).status_code == 200  # no fhirServer, yet no 412


def test_absent_key_without_fhir_server_is_412_naming_the_key(client):
    body = hook_request([lbp()])
    del body["prefetch"]["observations"]
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert response.get_json()["missingPrefetch"] == ["observations"]


def test_operation_outcome_key_is_missing_data_not_empty(client):
    body = hook_request([lbp()])
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    assert client.post(PV, json=body).status_code == 412


def test_fhir_server_off_allowlist_is_412_naming_the_setting(client):
    body = hook_request([lbp()])
    del body["prefetch"]["observations"]
    body["fhirServer"] = "https://ehr.example.org/fhir"
    response = client.post(PV, json=body)
    assert response.status_code == 412 and "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST" in response.get_json()["message"]


def test_bad_resource_in_prefetch_is_skipped_and_reported(client):
    body = hook_request([lbp()])
    body["prefetch"]["conditions"]["entry"].append(
        {"resource": {"resourceType": "Condition", "id": "broken", "code": {"coding": "not-a-list"}}}
    )
    body["prefetch"]["medicationRequests"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "MedicationOrder", "id": "dstu2"}}],
    }
    response = client.post(PV, json=body)
    assert response.status_code == 200
    ext = response.get_json()["extension"]
    assert ext["org.backpain-cds.skipped-resources"] == 2
    assert {s["id"] for s in ext["org.backpain-cds.skipped"]} == {"broken", "dstu2"}


def test_bundle_whose_entry_is_not_an_array_is_reported_not_a_500(client):
    body = hook_request([lbp()])
    body["prefetch"]["medicationRequests"] = {"resourceType": "Bundle", "id": "odd-bundle", "entry": 5}
    response = client.post(PV, json=body)
    assert response.status_code == 200
    assert response.get_json()["extension"]["org.backpain-cds.skipped"] == [
        {
            "resourceType": "Bundle",
            "id": "odd-bundle",
            "reason": "Bundle.entry is not an array; its resources could not be read",
        }
    ]


def test_leniently_parsed_resource_still_fires_red_flag(client):
    fever = {
        "resourceType": "Condition",
        "id": "no-subject",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "386661006"}]},
        "bogusField": 1,
    }
    cards = client.post(PV, json=hook_request([lbp(), fever])).get_json()["cards"]
    assert any(c["source"]["topic"]["code"] == "red-flags" and c["indicator"] == "critical" for c in cards)


def test_stu3_string_status_is_reported_not_read_as_active(client):
    stu3 = {
        "resourceType": "Condition",
        "id": "stu3",
        "clinicalStatus": "resolved",
        "subject": {"reference": "Patient/pt-1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "386661006"}]},
    }
    body = client.post(PV, json=hook_request([lbp(), stu3])).get_json()
    assert not any(c["source"]["topic"]["code"] == "red-flags" for c in body["cards"])
    assert body["extension"]["org.backpain-cds.skipped"] == [
        {
            "resourceType": "Condition",
            "id": "stu3",
            "reason": "clinicalStatus is a string (a DSTU2/STU3 Condition); send R4 resources",
        }
    ]


def test_invalid_drug_concept_is_skipped_and_reported_not_a_500(client):
    from tests.fhir_builders import med_request

    broken = med_request("1049621", "oxycodone", rid="bad-drug")
    broken["medicationCodeableConcept"]["coding"][0]["display"] = 7  # a relevant code, an invalid concept
    response = client.post(PV, json=hook_request([lbp(), broken]))
    assert response.status_code == 200
    assert response.get_json()["extension"]["org.backpain-cds.skipped"] == [
        {"resourceType": "MedicationRequest", "id": "bad-drug", "reason": "invalid medication code"}
    ]


def test_codes_of_the_wrong_json_type_are_not_a_500(client):
    odd = lbp() | {"id": "odd"}
    odd["code"]["coding"].insert(0, {"system": ["x"], "code": {"not": "a string"}})
    response = client.post(PV, json=hook_request([odd]))
    assert response.status_code == 200  # the whole code element is invalid: skipped and reported
    assert response.get_json()["extension"]["org.backpain-cds.skipped"] == [
        {"resourceType": "Condition", "id": "odd", "reason": "invalid code"}
    ]


def test_lenient_reads_are_counted(client):
    odd = lbp() | {"recordedDate": "last week"}  # an optional element we read is invalid: used without it, counted
    body = client.post(PV, json=hook_request([odd])).get_json()
    assert body["cards"] and body["extension"]["org.backpain-cds.leniently-read-resources"] == 1


def feedback_item(**kw):
    item = {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-27T10:00:00Z",
        "overrideReason": {"reason": {"code": "not-applicable", "system": "https://x"}},
    }
    item.update(kw)
    return item


def test_feedback_is_persisted(app, client):
    accepted = feedback_item(outcome="accepted", acceptedSuggestions=[{"id": "s1"}])
    response = client.post(PV + "/feedback", json={"feedback": [feedback_item(), accepted]})
    assert response.status_code == 200 and response.get_json() == {}
    stored = app.extensions["backpain_cds_feedback"].for_card(accepted["card"])
    assert stored[0].outcome == "accepted" and stored[0].accepted_suggestions == [{"id": "s1"}]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        pytest.param("application/json", 200, id="json"),
        pytest.param("application/json; charset=utf-8", 200, id="json-with-charset"),
        pytest.param("application/fhir+json", 200, id="any-plus-json"),
        pytest.param(None, 200, id="no-content-type-read-as-json-some-ehrs-omit-it"),
        pytest.param("text/plain", 415, id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", 415, id="form"),
        pytest.param("multipart/form-data; boundary=x", 415, id="multipart"),
        pytest.param("application/jsonx", 415, id="not-quite-json"),
    ],
)
def test_declared_content_type_must_be_json(client, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(PV, data=json.dumps(hook_request([lbp()])), headers=headers)
    assert response.status_code == status
    if status == 415:
        assert response.get_json()["error"] == "unsupported-media-type"


def test_feedback_for_unknown_service_is_404(client):
    assert client.post("/cds-services/nope/feedback", json={"feedback": [feedback_item()]}).status_code == 404


@pytest.mark.parametrize("path", ["/cds-services", PV, PV + "/feedback"])
def test_cors_preflight_on_all_paths(client, path):
    response = client.options(
        path,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert 200 <= response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_allowlist_echoes_origin_also_on_errors(settings):
    client = create_app(replace(settings, cors_origins=("http://localhost:8080",))).test_client()
    ok = client.get("/cds-services", headers={"Origin": "http://localhost:8080"})
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    error = client.post("/cds-services/nope", json={}, headers={"Origin": "http://localhost:8080"})
    assert error.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    other = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_healthz(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
