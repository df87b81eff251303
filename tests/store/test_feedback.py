"""Feedback validation: the same input gets the same answer on SQLite and on PostgreSQL, never a 500 from a column."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from cds_service import create_app

PV = "/cds-services/backpain-patient-view"
OVERRIDE = "https://backpain-cds.org/fhir/CodeSystem/override-reasons"


def item(**changes: object) -> dict:
    base = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    return {k: v for k, v in (base | changes).items() if v is not None}


CASES = [
    pytest.param([item()], 200, None, id="one-overridden-item"),
    pytest.param(
        [item(outcomeTimestamp="2026-11-27T10:00:00.123456789+01:00")], 200, None, id="nanoseconds-and-offset-accepted"
    ),
    pytest.param([item(card="c" * 64)], 200, None, id="card-of-64-characters-fits"),
    pytest.param([item(card="c" * 65)], 400, "feedback[0].card", id="card-of-65-characters-too-long"),
    pytest.param([item(card="a\x00b")], 400, "feedback", id="nul-in-card-which-postgresql-refuses"),
    pytest.param([item(overrideReason={"userComment": "x\x00"})], 400, "feedback", id="nul-in-a-comment"),
    pytest.param([item(card=7)], 400, "feedback[0].card", id="card-not-a-string"),
    pytest.param(
        [item(outcomeTimestamp="2026-11-27")],
        400,
        "feedback[0].outcomeTimestamp",
        id="date-without-time-is-not-a-full-date-time",
    ),
    pytest.param(
        [item(outcomeTimestamp="2026-11-27T10:00:00")], 400, "feedback[0].outcomeTimestamp", id="date-time-without-zone"
    ),
    pytest.param(
        [item(outcomeTimestamp="2026-02-30T10:00:00Z")], 400, "feedback[0].outcomeTimestamp", id="impossible-day"
    ),
    pytest.param(
        [item(outcomeTimestamp="0001-01-01T00:00:00+14:00")],
        400,
        "feedback[0].outcomeTimestamp",
        id="before-year-1-in-utc",
    ),
    pytest.param(
        [item(outcomeTimestamp="9999-12-31T23:59:59-14:00")],
        400,
        "feedback[0].outcomeTimestamp",
        id="after-year-9999-in-utc",
    ),
    pytest.param([item(outcomeTimestamp="yesterday")], 400, "feedback[0].outcomeTimestamp", id="not-a-date"),
    pytest.param([item(outcome="liked")], 400, "feedback[0].outcome", id="unknown-outcome"),
    pytest.param([item(outcome="accepted")], 400, "feedback[0].acceptedSuggestions", id="accepted-without-suggestions"),
    pytest.param(
        [item(overrideReason={"reason": "not-a-coding", "userComment": "seen it"})],
        200,
        None,
        id="override-comment-beside-a-reason-that-is-no-coding",
    ),
    pytest.param(
        [item(overrideReason={"reason": {"system": OVERRIDE, "code": ["not-applicable"]}})],
        200,
        None,
        id="override-code-that-is-a-list",
    ),
    pytest.param([item()] * 100, 200, None, id="100-items-allowed"),
    pytest.param([item()] * 101, 413, "feedback", id="101-items-too-many"),
    pytest.param([], 400, "feedback", id="no-items"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def client(request, settings):
    url = request.getfixturevalue("postgres").url if request.param == "postgresql" else settings.database_url
    return create_app(replace(settings, database_url=url)).test_client()


@pytest.mark.parametrize(("items", "status", "field"), CASES)
def test_feedback_is_checked_the_same_on_every_database(client, items, status, field):
    response = client.post(PV + "/feedback", json={"feedback": items})
    assert response.status_code == status, response.get_json()
    assert response.get_json().get("field") == field


def test_feedback_item_limit_is_configurable(settings):
    client = create_app(replace(settings, feedback_max_items=2)).test_client()
    assert client.post(PV + "/feedback", json={"feedback": [item()] * 3}).status_code == 413
    assert client.post(PV + "/feedback", json={"feedback": [item()] * 2}).status_code == 200
