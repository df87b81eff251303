"""What an EHR's FHIR server or a client's fhirServer can get wrong, found by a fuzz of the no-prefetch path: a page
we cannot read is a 412 that says so, never a red flag lost in silence, and an odd URL is refused, never a 500."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cds_service import create_app
from tests.fhir.test_security import PV, request_to
from tests.fhir_builders import SCT, bundle, condition, lbp
from tests.fhir_server import ScriptedFhirServer


@pytest.fixture
def ehr():
    with ScriptedFhirServer("127.0.0.1") as server:
        yield server


def cauda_equina() -> dict[str, Any]:
    return condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)


def _first_page(next_link: Any) -> dict[str, Any]:
    return bundle([lbp()]) | {"link": next_link}


PAGES = [
    (
        "page 2's entry is an object, not an array",
        lambda nxt: (_first_page([nxt]), {"resourceType": "Bundle", "entry": {"resource": cauda_equina()}}),
    ),
    ("page 2 is a bare Condition, not a Bundle", lambda nxt: (_first_page([nxt]), cauda_equina())),
    ("Bundle.link is an object, not an array", lambda nxt: (_first_page(nxt), bundle([cauda_equina()]))),
    (
        "the next link's url is a list",
        lambda nxt: (_first_page([nxt | {"url": [nxt["url"]]}]), bundle([cauda_equina()])),
    ),
    (
        "the next link's relation is a list",
        lambda nxt: (_first_page([nxt | {"relation": ["next"]}]), bundle([cauda_equina()])),
    ),
]


@pytest.mark.parametrize("pages", [p for _, p in PAGES], ids=[name for name, _ in PAGES])
def test_a_page_we_cannot_read_is_a_412_never_a_lost_red_flag(ehr, settings, pages):
    """The red flag is on the second page: a Bundle we cannot page through, or a page we cannot read, stopped the
    search early and answered 200 without it (the prefetch path reports the same shapes)."""
    first, second = pages({"relation": "next", "url": ehr.base + "/page-2"})
    ehr.routes["/fhir/Condition"] = (200, first, 0)
    ehr.routes["/fhir/page-2"] = (200, second, 0)
    client = create_app(replace(settings, fhir_server_allowlist=(ehr.base,))).test_client()
    response = client.post(PV, json=request_to(ehr.base))
    assert response.status_code == 412, response.get_json()
    assert response.get_json()["missingPrefetch"] == ["conditions"]


def test_the_red_flag_on_a_second_page_is_found(ehr, settings):
    """The control: a well-formed second page is read."""
    ehr.routes["/fhir/Condition"] = (200, _first_page([{"relation": "next", "url": ehr.base + "/page-2"}]), 0)
    ehr.routes["/fhir/page-2"] = (200, bundle([cauda_equina()]), 0)
    client = create_app(replace(settings, fhir_server_allowlist=(ehr.base,))).test_client()
    cards = client.post(PV, json=request_to(ehr.base)).get_json()["cards"]
    assert "red-flags" in [c["source"]["topic"]["code"] for c in cards]


@pytest.mark.parametrize("server", ["https://[fhir.example.org/fhir", "https://[127.0.0.1]/fhir"])
def test_a_fhir_server_url_that_cannot_be_split_is_refused_not_a_500(settings, server):
    client = create_app(replace(settings, fhir_server_allowlist=("https://fhir.example.org/fhir",))).test_client()
    response = client.post(PV, json=request_to(server))
    assert response.status_code == 412
    assert response.get_json()["reason"] == "fhir-server-not-allowed"


@pytest.mark.parametrize("scope", [["patient/*.read"], {"x": 1}, 5], ids=["a list", "an object", "a number"])
def test_a_fhir_authorization_scope_that_is_not_text_is_a_400(client, scope):
    """It was made text with str(): a list 990 deep raised RecursionError (a 500)."""
    body = request_to("https://fhir.example.org/fhir")
    body["fhirAuthorization"]["scope"] = scope
    response = client.post(PV, json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == "fhirAuthorization.scope"


def test_a_null_scope_is_no_scope(client):
    """Lenient where nothing is at stake: a client sending "scope": null lost every card to a 400."""
    body = request_to("https://fhir.example.org/fhir")
    body["fhirAuthorization"]["scope"] = None
    body["prefetch"]["conditions"] = bundle([lbp()])  # nothing to fetch: only the request's reading is tested
    assert client.post(PV, json=body).status_code == 200
