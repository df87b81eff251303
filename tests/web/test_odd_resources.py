"""Odd values inside prefetch and draft orders, found by a fuzz of the hook endpoint (about 136,000 mutated requests):
a resource we cannot read is skipped and reported, a red flag is never silently lost, and nothing is a 500.

Each case is named for what a client sent and why the answer must hold up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from tests.fhir_builders import (
    SCT,
    bundle,
    condition,
    dosage,
    hook_request,
    lbp,
    med_request,
    observation,
    patient,
    service_request,
)

PV, OS = "/cds-services/backpain-patient-view", "/cds-services/backpain-order-sign"
OXY = ("1049621", "oxycodone 5 MG Oral Tablet")
CPT = "http://www.ama-assn.org/go/cpt"
SKIPPED = "org.backpain-cds.skipped-resources"


def cauda_equina() -> dict[str, Any]:
    return condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)


def _status_object_on_an_observation() -> dict[str, Any]:
    body = hook_request([lbp(9), observation("8310-5", 39.2, "Cel", days=1)])
    body["prefetch"]["observations"]["entry"][0]["resource"]["status"] = {"x": 1}
    return body


def _status_list_on_a_report() -> dict[str, Any]:
    body = hook_request([lbp(9)])
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": ["final"],
        "code": {"coding": [{"system": CPT, "code": "72148"}]},
    }
    body["prefetch"]["diagnosticReports"] = {"resourceType": "Bundle", "entry": [{"resource": report}]}
    return body


def _status_list_on_a_draft() -> dict[str, Any]:
    draft = med_request(*OXY, dosage(1, "TAB", 4), status="draft", rid="d1")
    draft["status"] = ["draft"]
    return hook_request([lbp(9)], "order-sign", drafts=[draft])


def _contained_a_number() -> dict[str, Any]:
    order = med_request(*OXY, dosage(1, "TAB", 4))
    del order["medicationCodeableConcept"]
    order["medicationReference"], order["contained"] = {"reference": "#m1"}, 5
    return hook_request([lbp(200), order])


def _sequence_an_object() -> dict[str, Any]:
    order = med_request(*OXY, dosage(1, "TAB", 4))
    order["dosageInstruction"].append(dosage(2, "TAB", 4))
    order["dosageInstruction"][0]["sequence"] = {}
    return hook_request([lbp(200), order])


def _onset_in_year_one() -> dict[str, Any]:
    back = lbp(9)
    back["onsetDateTime"] = "0001-01-01"
    return hook_request([back, cauda_equina()])


def _supply_of_millions_of_days() -> dict[str, Any]:
    order = med_request(*OXY, dosage(1, "TAB", 4), authored_days=400)
    order["dispenseRequest"] = {"expectedSupplyDuration": {"value": 3_000_000, "unit": "d"}}
    return hook_request([lbp(200), order])


def _repeats_beyond_any_calendar() -> dict[str, Any]:
    order = med_request(*OXY, dosage(1, "TAB", 4), authored_days=400)
    order["dispenseRequest"] = {"expectedSupplyDuration": {"value": 30, "unit": "d"}, "numberOfRepeatsAllowed": 2**62}
    return hook_request([lbp(200), order])


def _a_step_of_millions_of_days() -> dict[str, Any]:
    order = med_request(*OXY, dosage(1, "TAB", 4))
    order["dosageInstruction"].append(dosage(2, "TAB", 4))
    first, second = order["dosageInstruction"]
    first["sequence"], second["sequence"] = 1, 2
    first["timing"]["repeat"]["boundsDuration"] = {"value": 3_000_000, "unit": "d"}
    return hook_request([lbp(200), order])


def _deep_extension_on_a_red_flag() -> dict[str, Any]:
    flag = cauda_equina()
    chain: dict[str, Any] = {"url": "http://x", "valueString": "v"}
    for _ in range(120):  # about 4 KB: far inside every size limit, deeper than the models can recurse
        chain = {"url": "http://x", "extension": [chain]}
    flag["code"]["extension"] = [chain]
    return hook_request([lbp(9), flag])


CRASHES: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
    ("an Observation status sent as an object is skipped, not a 500", PV, _status_object_on_an_observation),
    ("a DiagnosticReport status sent as a list is skipped, not a 500", PV, _status_list_on_a_report),
    ("a draft's status sent as a list is skipped, not a 500", OS, _status_list_on_a_draft),
    ("contained sent as a number is skipped, not a 500", PV, _contained_a_number),
    ("a dosage sequence sent as an object is no step number, not a 500", PV, _sequence_an_object),
    ("an onset in year 1 is no date, and the red flag beside it still shows", PV, _onset_in_year_one),
    ("a supply of millions of days reaches the last date there is, not a 500", PV, _supply_of_millions_of_days),
    ("2**62 repeats reach the last date there is, not a 500", PV, _repeats_beyond_any_calendar),
    ("a dosing step of millions of days ends on the last date there is, not a 500", PV, _a_step_of_millions_of_days),
    ("a red flag whose code nests extensions 120 deep is skipped and reported", PV, _deep_extension_on_a_red_flag),
]


@pytest.mark.parametrize("url, make", [(url, make) for _, url, make in CRASHES], ids=[c[0] for c in CRASHES])
def test_an_odd_value_is_never_a_500(client, url, make):
    response = client.post(url, json=make())
    assert response.status_code == 200, response.get_json()


def test_the_red_flag_beside_an_impossible_onset_is_shown(client):
    cards = client.post(PV, json=_onset_in_year_one()).get_json()["cards"]
    assert "red-flags" in [c["source"]["topic"]["code"] for c in cards]


def test_a_red_flag_the_models_cannot_read_is_reported_as_skipped(client):
    body = client.post(PV, json=_deep_extension_on_a_red_flag()).get_json()
    assert body["extension"][SKIPPED] == 1


@pytest.mark.parametrize(
    "resource_type",
    [None, ["Condition"], 5, {}],
    ids=["missing", "a list", "a number", "an object"],
)
def test_a_bundled_resource_without_a_string_type_is_reported_never_silently_dropped(client, resource_type):
    """A cauda equina Condition whose resourceType is missing or not a string cannot be read; dropping it without a
    word would hide a red flag."""
    body = hook_request([lbp(9), cauda_equina()])
    resource = body["prefetch"]["conditions"]["entry"][1]["resource"]
    if resource_type is None:
        del resource["resourceType"]
    else:
        resource["resourceType"] = resource_type
    answer = client.post(PV, json=body).get_json()
    assert answer["extension"][SKIPPED] == 1
    assert answer["extension"]["org.backpain-cds.skipped"][0]["reason"].startswith("resourceType")


@pytest.mark.parametrize("birth_date", ["2026-11-28", "9999-12-31"], ids=["tomorrow", "year 9999"])
def test_a_birth_date_after_today_is_an_unknown_age_so_the_red_flag_still_shows(client, birth_date):
    """A negative age read as under 18 took every card away, the Tier A red flag too; an impossible birth date is
    an unknown age (evaluated, as the scope gate does for a missing one) and is reported as leniently read."""
    person = patient()
    person["birthDate"] = birth_date
    answer = client.post(PV, json=hook_request([lbp(9), cauda_equina()], pt=person)).get_json()
    assert "red-flags" in [c["source"]["topic"]["code"] for c in answer["cards"]]
    assert answer["extension"]["org.backpain-cds.leniently-read-resources"] == 1


def test_a_dose_beyond_floating_point_is_unreadable_not_infinite(client):
    """1e308 tablets four times a day overflows to infinity: no card may say "inf MME/day"; the order counts as one
    without a usable dose (at least its floor), as any other unreadable dose does."""
    answer = client.post(PV, json=hook_request([lbp(200), med_request(*OXY, dosage(1e308, "TAB", 4))])).get_json()
    text = repr(answer["cards"])
    assert "inf" not in text.replace("info", "")
    assert all(c.get("extension", {}).get("org.backpain-cds.mme-per-day", 0) is not None for c in answer["cards"]), (
        answer["cards"]
    )


def test_a_draft_whose_resource_type_nests_a_thousand_deep_is_skipped(client):
    """Its text was made to compare with the selections: a RecursionError, a 500."""
    draft = service_request(CPT, "72148", "MRI", rid="d1")
    draft["resourceType"] = "@nested@"
    text = orjson.dumps(hook_request([lbp(9)], "order-sign", drafts=[draft])).decode()
    data = text.replace('"@nested@"', "[" * 1000 + "]" * 1000)  # written as text: no serialiser goes this deep
    response = client.post(OS, data=data, content_type="application/json")
    assert response.status_code == 200
    assert response.get_json()["extension"][SKIPPED] == 1


def test_preview_refuses_a_date_before_any_chart(client):
    request = {"demo": "demo-cauda-equina", "hook": "patient-view", "asOf": "0001-01-01"}
    response = client.post("/preview/evaluate", json=request)
    assert response.status_code == 400
    assert response.get_json()["field"] == "asOf"


def test_a_pending_order_is_still_read_when_its_sibling_is_odd(client):
    """Skipping one odd resource leaves the rest of its Bundle read: the MRI ordered beside it still counts."""
    mri = service_request(CPT, "72148", "MRI lumbar spine", status="active", authored_days=2, rid="sr1")
    body = hook_request([lbp(9), mri, observation("8310-5", 39.2, "Cel", days=1)])
    body["prefetch"]["observations"]["entry"][0]["resource"]["status"] = ["final"]
    answer = client.post(PV, json=body).get_json()
    assert answer["extension"][SKIPPED] == 1


def _nested(body: dict[str, Any], marker: str, depth: int) -> bytes:
    """The body as JSON text with `marker` replaced by an array `depth` deep: no serialiser writes one this deep."""
    return orjson.dumps(body).replace(f'"{marker}"'.encode(), b"[" * depth + b"]" * depth)


def test_a_dosage_nested_deeper_than_json_can_be_written_is_no_usable_dose(client):
    """orjson reads 1,024 levels and writes 255: comparing renewals by their dosage's JSON raised (a 500)."""
    order = med_request(*OXY, dosage(1, "TAB", 4))
    order["dosageInstruction"][0]["note"] = "@deep@"
    response = client.post(
        PV, data=_nested(hook_request([lbp(200), order]), "@deep@", 300), content_type="application/json"
    )
    assert response.status_code == 200
    assert "opioid-risk" in [c["source"]["topic"]["code"] for c in response.get_json()["cards"]]


@pytest.mark.parametrize("depth", [300, 1000])
def test_a_pending_imaging_order_nested_too_deep_is_named_without_a_cancel_suggestion(client, depth):
    """The cancel suggestion carries a copy of the order: one nested past what JSON can be written back (or past the
    recursion of a deep copy) cannot be offered; the card still names the pending order."""
    mri = service_request(CPT, "72148", "MRI lumbar spine", status="active", authored_days=2, rid="sr1")
    mri["note"] = "@deep@"
    data = _nested(hook_request([lbp(10), mri]), "@deep@", depth)
    response = client.post(PV, data=data, content_type="application/json")
    assert response.status_code == 200
    imaging = [c for c in response.get_json()["cards"] if c["source"]["topic"]["code"] == "imaging-overuse"]
    assert imaging and "Pending order" in imaging[0]["detail"]
    assert "suggestions" not in imaging[0]


def test_a_preview_request_nested_too_deep_to_echo_is_a_400(client):
    body = {"request": {**hook_request([lbp(9)]), "x": "@deep@"}}
    response = client.post("/preview/evaluate", data=_nested(body, "@deep@", 300), content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.get_json()["message"]


def test_a_feedback_item_nested_too_deep_to_measure_is_a_400(client):
    item = {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z", "extra": "@deep@"}
    data = _nested({"feedback": [item]}, "@deep@", 300)
    response = client.post(PV + "/feedback", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["field"] == "feedback[0]"


ODD_ENTRIES = [
    ("the resource is a list", lambda r: {"resource": [r]}),
    ("the resource is JSON text", lambda r: {"resource": orjson.dumps(r).decode()}),
    ("the entry is the bare resource", lambda r: r),
    ("the entry is a list", lambda r: [r]),
]


@pytest.mark.parametrize("odd", [o for _, o in ODD_ENTRIES], ids=[name for name, _ in ODD_ENTRIES])
def test_a_prefetch_entry_whose_resource_we_cannot_read_is_reported(client, odd):
    """A red flag wrapped the wrong way was dropped without a word."""
    body = hook_request([lbp(9)])
    body["prefetch"]["conditions"]["entry"].append(odd(cauda_equina()))
    answer = client.post(PV, json=body).get_json()
    assert answer["extension"][SKIPPED] == 1


def test_an_entry_with_no_resource_at_all_is_passed_over(client):
    """A search Bundle may carry entries without a resource (an OperationOutcome's place, a deleted entry): nothing
    to read and nothing lost."""
    body = hook_request([lbp(9)])
    body["prefetch"]["conditions"]["entry"].append({"fullUrl": "urn:uuid:0c0c0c0c-0000-4000-8000-000000000000"})
    assert SKIPPED not in client.post(PV, json=body).get_json()["extension"]


@pytest.mark.parametrize("odd", [o for _, o in ODD_ENTRIES], ids=[name for name, _ in ODD_ENTRIES])
def test_a_draft_order_we_cannot_read_is_reported(client, odd):
    """An MRI drafted at order-sign, wrapped the wrong way, was dropped without a word (no imaging card)."""
    mri = service_request(CPT, "72148", "MRI lumbar spine", rid="d1")
    body = hook_request([lbp(9)], "order-sign", drafts=[mri])
    body["context"]["draftOrders"]["entry"] = [odd(mri)]
    answer = client.post(OS, json=body).get_json()
    assert answer["extension"][SKIPPED] == 1


def test_drafts_in_a_nested_bundle_are_read(client):
    """A Bundle of drafts inside draftOrders: its drafts are read as the prefetch's nested Bundles are."""
    mri = service_request(CPT, "72148", "MRI lumbar spine", rid="d1")
    body = hook_request([lbp(9)], "order-sign", drafts=[mri])
    body["context"]["draftOrders"]["entry"] = [{"resource": {"resourceType": "Bundle", "entry": [{"resource": mri}]}}]
    answer = client.post(OS, json=body).get_json()
    assert "imaging-overuse" in [c["source"]["topic"]["code"] for c in answer["cards"]]


def test_a_flood_of_unreadable_entries_is_counted_not_listed_or_logged_one_by_one(client, caplog):
    """Each entry that is not an object (2 bytes of JSON) added a detail to the response and a warning to the log:
    a 1.2 MB request made a 24 MB response and 400,000 log lines. The count is whole; the list and the log stop."""
    body = hook_request([lbp(9)])
    body["prefetch"]["conditions"]["entry"] += [0] * 5000
    with caplog.at_level("WARNING", logger="cds_service.record.builder"):
        answer = client.post(PV, json=body).get_json()
    assert answer["extension"][SKIPPED] == 5000
    assert len(answer["extension"]["org.backpain-cds.skipped"]) == 100
    assert len([r for r in caplog.records if r.name == "cds_service.record.builder"]) <= 101


def test_a_resource_a_reader_fails_on_is_logged_with_the_exception_and_where_not_its_message(client, caplog):
    """The catch that turns a reader's TypeError into a skipped resource must not hide a bug: the log names the
    exception's class and the line that raised it (never its message, which may quote the chart)."""
    body = _status_object_on_an_observation()
    body["prefetch"]["observations"]["entry"][0]["resource"]["status"] = {"secret chart text": 1}
    with caplog.at_level("WARNING", logger="cds_service.record.builder"):
        client.post(PV, json=body)
    lines = [r.getMessage() for r in caplog.records if r.name == "cds_service.record.builder"]
    assert any("TypeError" in line and "observations.py:" in line for line in lines), lines
    assert not any("secret" in line for line in lines)


@pytest.mark.parametrize("sequences", [(1, 2), ("1", "2"), (1.0, 2.0)], ids=["integers", "text", "decimals"])
def test_dosing_steps_numbered_as_text_or_decimals_are_still_steps(client, sequences):
    """4 tablets 4 times a day for the first 1,000 days, then 1 tablet 4 times a day: in effect today is the first
    step (120 MME/day), never the two added up (150). An object there is no number; text and decimals are."""
    first = dosage(4, "TAB", 4) | {"sequence": sequences[0]}
    first["timing"]["repeat"]["boundsDuration"] = {"value": 1000, "unit": "d"}
    order = med_request(*OXY, first, authored_days=100)
    order["dosageInstruction"] = [first, dosage(1, "TAB", 4) | {"sequence": sequences[1]}]
    cards = client.post(PV, json=hook_request([lbp(120), order])).get_json()["cards"]
    high = [c for c in cards if c["source"]["topic"]["code"] == "opioid-high-dose"]
    assert high and high[0]["extension"]["org.backpain-cds.mme-per-day"] == 120


def test_a_prefetch_value_wrapped_as_a_bundle_entry_is_read(client):
    """Some upstream CDS test requests (the CDC opioid guideline's) send a prefetch value as a Bundle entry,
    {"response": ..., "resource": {...}}: its resource is read, not reported as a resource without a type."""
    body = hook_request([lbp(9)])
    body["prefetch"]["conditions"] = {"response": {"status": "200 OK"}, "resource": bundle([lbp(9), cauda_equina()])}
    answer = client.post(PV, json=body).get_json()
    assert "red-flags" in [c["source"]["topic"]["code"] for c in answer["cards"]]
    assert SKIPPED not in answer["extension"]
