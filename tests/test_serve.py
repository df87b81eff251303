"""The real `backpain-cds serve` under gunicorn, spoken to over HTTP, with a real SQLite file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fhir_builders import hook_request, lbp

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    port = _free_port()
    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")},
        "BACKPAIN_CDS_DATA_DIR": str(data),
        "BACKPAIN_CDS_AS_OF": "2026-11-27",
    }
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/healthz", timeout=0.5)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield base, data, proc
    proc.terminate()
    proc.wait(timeout=10)


def test_gunicorn_serves_discovery_hook_and_feedback(server):
    base, data, _proc = server
    assert requests.get(base + "/cds-services", timeout=5).json()["services"]
    response = requests.post(base + "/cds-services/backpain-patient-view", json=hook_request([lbp()]), timeout=5)
    assert response.status_code == 200
    card = response.json()["cards"][0]
    feedback = {
        "feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]
    }
    assert requests.post(base + "/cds-services/backpain-patient-view/feedback", json=feedback, timeout=5).ok
    assert (data / "backpain-cds.sqlite3").stat().st_size > 0
    bad = requests.post(base + "/cds-services/backpain-patient-view", data=b"{", timeout=5)
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/json"


def test_a_port_already_in_use_stops_start_up_with_a_clear_message(tmp_path):
    """Workers listen with SO_REUSEPORT; without the check a second instance would silently share the port."""
    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")},
        "BACKPAIN_CDS_DATA_DIR": str(tmp_path),
    }
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as a running instance's workers do
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([exe, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "in use" in done.stderr


def test_bad_setting_stops_start_up_with_a_clear_message(tmp_path):
    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    env = {**os.environ, "BACKPAIN_CDS_DATA_DIR": str(tmp_path), "BACKPAIN_CDS_FHIR_DEADLNE": "3"}
    result = subprocess.run([exe, "serve"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "BACKPAIN_CDS_FHIR_DEADLNE" in result.stderr


def _exe() -> str:
    return shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))


def _env(**settings: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")} | settings


def _serve_fails(port: int, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_exe(), "serve", "--port", str(port)], env=_env(**settings), capture_output=True, text=True, timeout=60
    )


def test_a_data_directory_that_cannot_be_created_stops_start_up_with_one_line():
    result = _serve_fails(_free_port(), BACKPAIN_CDS_DATA_DIR="/proc/nope")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()  # one line naming the setting, no traceback
    assert "BACKPAIN_CDS_DATA_DIR=/proc/nope" in line and "No such file or directory" in line
    report = subprocess.run(
        [_exe(), "feedback-report"],
        env=_env(BACKPAIN_CDS_DATA_DIR="/proc/nope"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 2 and len(report.stderr.splitlines()) == 1 and "BACKPAIN_CDS_DATA_DIR" in report.stderr


def test_a_database_that_cannot_be_opened_stops_start_up_with_one_line(tmp_path):
    """Nothing listens on the port: the line names the setting and the reason, never the password."""
    url = f"postgresql+psycopg://cds:s3cret-pw@127.0.0.1:{_free_port()}/cds"
    result = _serve_fails(_free_port(), BACKPAIN_CDS_DATA_DIR=str(tmp_path), BACKPAIN_CDS_DATABASE_URL=url)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "BACKPAIN_CDS_DATABASE_URL" in line and "refused" in line and "s3cret-pw" not in line


def test_the_database_url_can_come_from_a_file(tmp_path):
    """BACKPAIN_CDS_DATABASE_URL_FILE: the URL (a password in it) read from a mounted Secret, not the environment;
    a file that cannot be read is a one-line error naming that setting."""
    secret = tmp_path / "url"
    secret.write_text(f"postgresql+psycopg://cds:s3cret-pw@127.0.0.1:{_free_port()}/cds\n")
    result = _serve_fails(_free_port(), BACKPAIN_CDS_DATA_DIR=str(tmp_path), BACKPAIN_CDS_DATABASE_URL_FILE=str(secret))
    assert result.returncode == 2 and "refused" in result.stderr and "s3cret-pw" not in result.stderr
    missing = _serve_fails(_free_port(), BACKPAIN_CDS_DATABASE_URL_FILE=str(tmp_path / "absent"))
    assert missing.returncode == 2
    (line,) = missing.stderr.splitlines()
    assert "BACKPAIN_CDS_DATABASE_URL_FILE" in line and "No such file or directory" in line
    both = _serve_fails(_free_port(), BACKPAIN_CDS_DATABASE_URL_FILE=str(secret), BACKPAIN_CDS_DATABASE_URL="x")
    assert both.returncode == 2 and "not both" in both.stderr


def test_evaluate_cli_same_path_as_http(tmp_path):
    import json

    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    request_file = tmp_path / "req.json"
    request_file.write_text(json.dumps(hook_request([lbp(onset_days=10)])))
    env = {**os.environ, "BACKPAIN_CDS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [exe, "evaluate", str(request_file), "--as-of", "2026-11-27"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    topics = {c["source"]["topic"]["code"] for c in json.loads(result.stdout)["cards"]}
    assert {"nsaid-first-line", "second-line"} <= topics
    (tmp_path / "bad.json").write_text("{")
    bad = subprocess.run([exe, "evaluate", str(tmp_path / "bad.json")], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr


def test_evaluate_cli_fetches_missing_prefetch_from_an_allowlisted_server(tmp_path):
    """`evaluate` with no prefetch goes through the same FHIR client as HTTP, with the bearer token."""
    import json

    from tests.fhir_builders import bundle, patient
    from tests.fhir_server import ScriptedFhirServer

    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    with ScriptedFhirServer() as fhir:
        fhir.routes["/fhir/Patient/"] = (200, patient(), 0)
        fhir.routes["/fhir/Condition"] = (200, bundle([lbp(onset_days=10)]), 0)
        for kind in (
            "Observation",
            "MedicationRequest",
            "MedicationStatement",
            "AllergyIntolerance",
            "ServiceRequest",
            "Procedure",
            "DiagnosticReport",
            "ImagingStudy",
        ):
            fhir.routes[f"/fhir/{kind}"] = (200, bundle([]), 0)
        body = hook_request([])
        del body["prefetch"]
        body["fhirServer"] = fhir.base
        body["fhirAuthorization"] = {
            "access_token": "cli-token",
            "token_type": "Bearer",
            "scope": "patient/*.read",
            "subject": "backpain-cds",
            "expires_in": 300,
        }
        (tmp_path / "req.json").write_text(json.dumps(body))
        env = {**os.environ, "BACKPAIN_CDS_DATA_DIR": str(tmp_path), "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST": fhir.base}
        result = subprocess.run(
            [exe, "evaluate", str(tmp_path / "req.json"), "--as-of", "2026-11-27"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert "nsaid-first-line" in {c["source"]["topic"]["code"] for c in json.loads(result.stdout)["cards"]}
    assert {h.get("Authorization") for _, h in fhir.requests} == {"Bearer cli-token"}


def test_one_worker_answers_other_calls_and_probes_while_a_call_waits_on_a_slow_fhir_server(tmp_path):
    """Calls with their prefetch run on the worker's event loop; a call without it waits on the EHR's FHIR server on
    a thread. Were that call run on the loop too, the worker would answer nothing else until the server did."""
    import json
    import threading

    from tests.fhir_builders import bundle, patient
    from tests.fhir_server import ScriptedFhirServer
    from tests.served import Served

    with ScriptedFhirServer() as fhir:
        fhir.routes["/fhir/Patient/"] = (200, patient(), 2)  # the EHR's server takes 2 s to answer
        fhir.routes["/fhir/"] = (200, bundle([]), 2)
        with Served(tmp_path, workers=1, fhir_server_allowlist=fhir.base, fhir_deadline="8") as served:
            hook = served.base + "/cds-services/backpain-patient-view"
            waiting = hook_request([])
            del waiting["prefetch"]
            waiting["fhirServer"] = fhir.base
            slow: list[requests.Response] = []
            caller = threading.Thread(target=lambda: slow.append(requests.post(hook, json=waiting, timeout=20)))
            caller.start()
            deadline = time.monotonic() + 10
            while not fhir.requests:  # the slow call is now waiting on the FHIR server
                assert time.monotonic() < deadline, "the call without prefetch never queried the FHIR server"
                time.sleep(0.02)
            started = time.perf_counter()
            assert requests.get(served.base + "/healthz", timeout=2).ok
            fast = requests.post(hook, json=hook_request([lbp()]), timeout=2)
            assert fast.status_code == 200 and fast.json()["cards"]
            assert time.perf_counter() - started < 1.5, "the worker waited with the slow call"
            caller.join(20)
            assert slow and slow[0].status_code == 200, slow and json.dumps(slow[0].json())[:300]
