"""Property-based tests: whatever a client or an EHR sends, the answer is a card list or one of our own 4xx errors.

Hypothesis writes the inputs: arbitrary JSON, near-valid hook requests, JWT headers and claims of any JSON type,
and opioid orders with any dosage at all.
"""

from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service import create_app
from cds_service.cards import to_json
from cds_service.errors import BadHookRequest, PayloadTooLarge, Unauthorized
from cds_service.hook_request import parse_hook_request
from cds_service.knowledge import load
from cds_service.store.database import connect
from cds_service.store.feedback import parse_feedback
from cds_service.store.replay import ReplayCache
from cds_service.web.auth import ClientAuth
from tests.conftest import cards_for
from tests.fhir_builders import hook_request, lbp, med_request
from tests.web.test_auth import BASE, ISSUER, PV, good_header, good_payload, jwks, raw_token

# integers as orjson decodes them (past 64 bits it gives floats), since every body we read comes through it
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KNOWLEDGE = load()
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def near_valid_requests() -> st.SearchStrategy[dict]:
    """A valid request with one field (or a nested one) replaced by arbitrary JSON."""
    paths = [
        ("hook",),
        ("hookInstance",),
        ("context",),
        ("context", "patientId"),
        ("context", "userId"),
        ("context", "encounterId"),
        ("context", "draftOrders"),
        ("context", "selections"),
        ("prefetch",),
        ("prefetch", "patient"),
        ("prefetch", "conditions"),
        ("fhirServer",),
        ("fhirAuthorization",),
    ]

    def replaced(path: tuple[str, ...], value: object) -> dict:
        body = hook_request([lbp()])
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    return st.builds(replaced, st.sampled_from(paths), JSON)


@FAST
@given(body=JSON | near_valid_requests(), hook=st.sampled_from(["patient-view", "order-select", "order-sign"]))
def test_hook_request_parser_raises_only_bad_hook_request(body, hook):
    with contextlib.suppress(BadHookRequest):  # anything else (TypeError, KeyError...) fails the test
        parse_hook_request(body, hook)


@FAST
@given(
    body=JSON
    | st.builds(
        lambda items: {"feedback": items},
        st.lists(
            JSON
            | st.fixed_dictionaries(
                {},
                optional={
                    "card": st.text(min_size=1, max_size=64) | JSON,
                    "outcome": JSON | st.sampled_from(["accepted", "overridden"]),
                    "outcomeTimestamp": st.just("2026-11-27T10:00:00Z") | JSON,
                    "acceptedSuggestions": JSON,
                    "overrideReason": JSON,
                },
            ),
            max_size=3,
        ),
    )
)
def test_feedback_parser_raises_only_our_4xx(body):
    """Found by schemathesis first: an `outcome` that was an object gave a 500 (unhashable dict)."""
    with contextlib.suppress(BadHookRequest, PayloadTooLarge):
        parse_feedback(body, 100)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from cds_service.config import Settings

    return create_app(Settings(data_dir=tmp_path_factory.mktemp("prop"))).test_client()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | near_valid_requests())
def test_any_json_posted_to_a_hook_gets_a_200_or_a_4xx(client, body):
    response = client.post(PV, json=body)
    assert response.status_code in (200, 400, 412), response.get_json()


FEEDBACK_ITEMS = st.fixed_dictionaries(
    {
        "card": st.text(min_size=1, max_size=64),
        "outcome": st.sampled_from(["accepted", "overridden"]),
        "outcomeTimestamp": st.just("2026-11-27T10:00:00Z"),
    },
    optional={
        "acceptedSuggestions": JSON | st.just([{"id": "s"}]),
        "overrideReason": JSON | st.fixed_dictionaries({"reason": JSON, "userComment": st.text(max_size=5)}),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(FEEDBACK_ITEMS, min_size=1, max_size=3))
def test_any_feedback_posted_gets_a_200_or_a_4xx(client, items):
    """Through the web layer too: the metrics label of an override reason once gave a 500 after storing."""
    response = client.post(PV + "/feedback", json={"feedback": items})
    assert response.status_code in (200, 400), response.get_json()


@pytest.fixture(scope="module")
def auth(tmp_path_factory):
    engine = connect(f"sqlite:///{tmp_path_factory.mktemp('jwt')}/replay.sqlite3")
    return ClientAuth(jwks(), ReplayCache(engine))


HEADER_KEYS = st.sampled_from(["alg", "typ", "kid", "jku", "x5u", "crit"])
CLAIM_KEYS = st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "jti", "sub"])


@FAST
@given(
    header_changes=st.dictionaries(HEADER_KEYS, JSON, max_size=3),
    claim_changes=st.dictionaries(CLAIM_KEYS, JSON, max_size=3),
)
def test_jwt_checks_raise_only_unauthorized(auth, header_changes, claim_changes):
    bearer = raw_token(good_header(**header_changes), good_payload(**claim_changes))
    with contextlib.suppress(Unauthorized):
        auth.verify(f"Bearer {bearer}", BASE + PV)


@FAST
@given(authorization=st.none() | st.text(max_size=200) | st.builds(lambda s: f"Bearer {s}", st.text(max_size=200)))
def test_any_authorization_header_is_a_claims_dict_or_unauthorized(auth, authorization):
    with pytest.raises(Unauthorized):
        auth.verify(authorization, BASE + PV)


def test_the_property_tests_start_from_a_token_that_passes(auth):
    assert auth.verify(f"Bearer {raw_token(good_header(), good_payload())}", BASE + PV)["iss"] == ISSUER


NUMBERS = st.integers(-10, 10**6) | st.floats(-1e6, 1e12, allow_nan=False) | st.text(max_size=5)
UNITS = st.sampled_from(["mg", "ug", "TAB", "{pill}", "mL", "mcg/h", "patch", "g", "", "wk", "x"]) | st.text(max_size=6)
DOSES = (
    st.fixed_dictionaries({"doseQuantity": st.fixed_dictionaries({"value": NUMBERS, "unit": UNITS})})
    | st.fixed_dictionaries({"doseRange": st.fixed_dictionaries({"high": st.fixed_dictionaries({"value": NUMBERS})})})
    | st.fixed_dictionaries({"rateQuantity": st.fixed_dictionaries({"value": NUMBERS, "code": UNITS})})
)
REPEATS = st.fixed_dictionaries(
    {},
    optional={
        "frequency": NUMBERS,
        "frequencyMax": NUMBERS,
        "period": NUMBERS,
        "periodUnit": UNITS,
        "timeOfDay": st.lists(st.sampled_from(["08:00:00", "nope"]), max_size=3),
    },
)
DOSAGES = (
    st.fixed_dictionaries(
        {},
        optional={
            "doseAndRate": st.lists(DOSES, max_size=2),
            "timing": st.fixed_dictionaries(
                {},
                optional={
                    "repeat": REPEATS,
                    "code": st.fixed_dictionaries(
                        {
                            "coding": st.lists(
                                st.fixed_dictionaries({"code": st.sampled_from(["BID", "Q4H", "QOD", "xx"])}),
                                max_size=2,
                            )
                        }
                    ),
                },
            ),
        },
    )
    | JSON
)
OPIOID_PRODUCTS = st.sampled_from(["1049621", "1049683", "7804", "197696", "245134", "1595730", "4337"])


@FAST
@given(code=OPIOID_PRODUCTS, dosage=DOSAGES)
def test_any_opioid_dosage_gives_cards_without_raising(code, dosage):
    for card in cards_for([lbp(), med_request(code, "opioid", dosage)]):
        assert card.mme is None or 0 <= card.mme < float("inf"), card.detail
        orjson.dumps(to_json(card, KNOWLEDGE))  # and it becomes JSON


def test_the_dosage_property_reaches_the_mme_code():
    """The strategy's products are opioids with strengths: a plain dose gives a number, so MME code ran."""
    dose = {
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}],
        "timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}},
    }
    assert any(card.mme for card in cards_for([lbp(), med_request("1049621", "oxycodone 5 MG", dose)]))
