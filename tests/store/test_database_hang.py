"""Issue 20.6: a PostgreSQL that hangs (paused with SIGSTOP: its kernel still accepts and acknowledges) gives 503
within BACKPAIN_CDS_DATABASE_TIMEOUT-bounded steps, never a call that waits forever; /healthz does not touch it.

The bound below (30 s) only keeps a regression from hanging the suite; the time to 503 is measured by
benchmarks/hostile.py, not asserted here.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import pytest

from cds_service import create_app
from tests.postgres import MISSING, cluster

pytestmark = pytest.mark.slow
FEEDBACK = "/cds-services/backpain-patient-view/feedback"


def item() -> dict:
    return {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}


def answered_within(seconds: float, call) -> object:
    """The call's result, or pytest.fail when it has not returned after `seconds` (it is then left to finish)."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if not result:
        pytest.fail(f"no answer within {seconds} s: the call hangs on the paused database")
    return result[0]


@pytest.fixture
def own_cluster():
    """A cluster of this test's own: pausing the session's would stall every other PostgreSQL test."""
    if MISSING:
        pytest.skip(MISSING)
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install '.[postgres]')")
    with cluster() as pg:
        yield pg


def test_a_hung_database_is_503_and_liveness_does_not_wait(settings, own_cluster):
    app = create_app(replace(settings, database_url=own_cluster.url, database_timeout=1.0))
    client = app.test_client()
    assert client.post(FEEDBACK, json={"feedback": [item()]}).status_code == 200  # a pooled connection exists
    with own_cluster.paused():
        stored = answered_within(30, lambda: client.post(FEEDBACK, json={"feedback": [item()]}))
        assert stored.status_code == 503 and stored.get_json()["reason"] == "database"
        ready = answered_within(30, lambda: client.get("/readyz"))
        assert ready.status_code == 503 and "database" in ready.get_json()["down"]
        assert answered_within(30, lambda: client.get("/healthz")).status_code == 200
    assert answered_within(30, lambda: client.post(FEEDBACK, json={"feedback": [item()]})).status_code == 200
