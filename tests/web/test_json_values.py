"""Issue 20.5: the memory a call may take is bounded by its body: JSON values are counted before parsing, in a
request body and in all FHIR responses of one call, because parsed JSON costs memory per value, not per byte
(a 10 MB body of empty objects took 300 MB in a worker)."""

from __future__ import annotations

from dataclasses import replace

import orjson

from cds_service import create_app
from cds_service.fhir.http_fetch import json_values
from tests.fhir.test_security import PV, request_to
from tests.fhir_builders import bundle, hook_request, lbp
from tests.fhir_server import ScriptedFhirServer


def _values(document: object) -> int:
    if isinstance(document, dict):
        return 1 + sum(_values(v) for v in document.values())
    if isinstance(document, list):
        return 1 + sum(_values(v) for v in document)
    return 1


def test_json_values_never_undercount():
    for document in [{}, [], [[]], 7, [1, 2, 3], {"a": 1, "b": [{}, {"b": "x,y"}]}, hook_request([lbp()])]:
        assert json_values(orjson.dumps(document)) >= _values(document)


def test_json_values_never_exceed_one_per_byte_plus_one():
    """Why a body shorter than the limit is not counted (web/body.py)."""
    for data in [b"", b"{", b",,,,", b"[[[[", b'{"a":[{},{}]}', orjson.dumps(hook_request([lbp()]))]:
        assert json_values(data) <= len(data) + 1


def test_the_value_limit_holds_at_the_body_length_where_counting_starts(settings):
    """A body exactly as long as the limit is counted; one with one byte fewer cannot hold more values."""
    from cds_service.errors import PayloadTooLarge
    from cds_service.web.body import decode

    assert decode(b"[" + b"0," * 4 + b"0]", 12) == [0] * 5  # 12 bytes, 6 values: within
    for body, most in [(b"[" * 11, 11), (b"[" * 11 + b"]" * 11, 11)]:  # 11 and 22 bytes, 12 values each
        try:
            decode(body, most)
        except PayloadTooLarge:
            continue
        raise AssertionError(f"{body!r} holds more than {most} values and was not refused")


def test_a_body_of_many_empty_objects_is_413_before_parsing(settings):
    client = create_app(replace(settings, max_json_values=10_000)).test_client()
    body = orjson.dumps(hook_request([lbp()])).replace(
        b'"conditions":{', b'"conditions":{"x":[' + b"{}," * 20_000 + b"{}],", 1
    )
    response = client.post(PV, data=body, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["limit"] == 10_000
    assert client.post(PV, json=hook_request([lbp()])).status_code == 200


def test_fhir_responses_of_many_values_are_412(settings):
    with ScriptedFhirServer("127.0.0.1") as ehr:
        ehr.routes["/fhir/Condition"] = (200, bundle([lbp()]) | {"x": [{}] * 20_000}, 0)
        client = create_app(replace(settings, fhir_server_allowlist=(ehr.base,), max_json_values=10_000)).test_client()
        response = client.post(PV, json=request_to(ehr.base))
    assert response.status_code == 412 and "10000 JSON value limit" in response.get_json()["message"]
