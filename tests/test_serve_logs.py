"""The log of a real `backpain-cds serve` as an operator reads it (issue 23, "Start-up and logs")."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from tests.fhir_builders import hook_request, lbp
from tests.served import Served

pytestmark = pytest.mark.slow
PV = "/cds-services/backpain-patient-view"
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def no_prefetch() -> dict:
    body = hook_request([lbp()])
    del body["prefetch"]
    return body  # no fhirServer either: 412


def test_text_log_one_start_up_line_one_time_format_one_line_per_event(tmp_path):
    with Served(tmp_path) as served:
        assert requests.get(served.base + "/healthz", timeout=10).ok
        assert requests.post(served.base + PV, json=no_prefetch(), timeout=10).status_code == 412
        time.sleep(0.3)
        lines = served.log().splitlines()
    start = [line for line in lines if "serving http://" in line]
    assert len(start) == 1 and f"http://127.0.0.1:{served.port}/" in start[0] and "DEMO MODE" in start[0]
    assert not any("Listening at" in line for line in lines)
    assert all(re.match(TIME + r" (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+\[\d+\]: ", line) for line in lines), lines
    # the status as a number of its own: a pid such as [24125] or a port holds the digits too
    assert len([line for line in lines if re.search(r"\b412\b", line)]) == 1, lines
    assert not any("/healthz" in line for line in lines)  # no access log


def test_json_log_every_line_an_object_without_access_lines(tmp_path):
    with Served(tmp_path, log_format="json") as served:
        assert requests.get(served.base + "/healthz", timeout=10).ok
        assert requests.post(served.base + PV, json=no_prefetch(), timeout=10).status_code == 412
        time.sleep(0.3)
        records = [json.loads(line) for line in served.log().splitlines() if line.strip()]
    assert all(re.fullmatch(TIME, r["time"]) for r in records)
    assert [r["status"] for r in records if r.get("event") == "hook"] == [412]
    assert sum("serving http://" in r.get("message", "") for r in records) == 1
    assert not any("/healthz" in json.dumps(r) for r in records)
    assert not any("412" in r.get("message", "") for r in records)  # the hook line alone says it
