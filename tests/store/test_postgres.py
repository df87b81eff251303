"""Feedback and the replay cache in a real PostgreSQL server (BACKPAIN_CDS_DATABASE_URL): replicas share it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from cds_service import create_app

pytestmark = pytest.mark.slow


def test_feedback_is_stored_in_postgresql(settings, postgres):
    app = create_app(replace(settings, database_url=postgres.url))
    card = str(uuid.uuid4())
    item = {
        "card": card,
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-27T10:00:00Z",
        "acceptedSuggestions": [{"id": "s1"}],
    }
    response = app.test_client().post("/cds-services/backpain-patient-view/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    stored = app.extensions["backpain_cds_feedback"].for_card(card)
    assert [(f.outcome, f.accepted_suggestions) for f in stored] == [("accepted", [{"id": "s1"}])]
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"
