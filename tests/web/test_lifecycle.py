"""Liveness, readiness and the graceful drain: what Kubernetes and a load balancer see of a replica."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine

from tests.fhir_builders import bundle, hook_request, lbp, patient
from tests.fhir_server import ScriptedFhirServer
from tests.served import Served

PV = "/cds-services/backpain-patient-view"
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1: the database is down


@pytest.fixture
def db_down(app):
    store = app.extensions["backpain_cds_feedback"]
    store.engine = create_engine(NOWHERE, connect_args={"connect_timeout": 1})
    return app.test_client()


def test_ready_when_knowledge_and_database_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_liveness_does_not_touch_the_database(db_down):
    """A database outage must not make Kubernetes restart healthy pods in a loop."""
    assert db_down.get("/healthz").status_code == 200


def test_not_ready_while_the_database_is_down_naming_it(db_down):
    response = db_down.get("/readyz")
    assert response.status_code == 503 and response.get_json()["down"] == ["database"]


def test_feedback_while_the_database_is_down_is_503_not_500(db_down):
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    response = db_down.post(PV + "/feedback", json={"feedback": [item]})
    assert response.status_code == 503 and response.get_json()["error"] == "unavailable"


def test_not_ready_while_draining(app, client):
    app.extensions["backpain_cds_lifecycle"].start_draining()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["down"] == ["shutting-down"]
    assert client.post(PV, json=hook_request([lbp()])).status_code == 200  # still serving while draining


@pytest.mark.slow
def test_sigterm_drains_then_stops_without_losing_a_call_in_flight(tmp_path):
    with ScriptedFhirServer() as fhir:
        fhir.routes["/fhir/Patient/"] = (200, patient(), 1.0)  # every query takes a second
        fhir.routes["/fhir/"] = (200, bundle([lbp()]), 1.0)
        with Served(tmp_path, workers=2, fhir_server_allowlist=fhir.base, drain_seconds="1.5") as served:
            body = hook_request([lbp()]) | {"fhirServer": fhir.base}
            del body["prefetch"]
            results = []
            slow = threading.Thread(
                target=lambda: results.append(requests.post(served.base + PV, json=body, timeout=10).status_code)
            )
            slow.start()
            time.sleep(0.3)  # the call is in flight, waiting on the FHIR server
            stopped_at = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            assert requests.get(served.base + "/readyz", timeout=2).status_code == 503  # out of rotation first
            assert requests.post(served.base + PV, json=hook_request([lbp()]), timeout=5).status_code == 200
            slow.join()
            served.proc.wait(timeout=15)
            took = time.monotonic() - stopped_at
    assert results == [200]
    assert served.proc.returncode == 0 and 1.5 <= took < 1.5 + 1 + 5
