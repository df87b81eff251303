"""No prefetch against a real FHIR R4 server (Medplum's engine on loopback): the same cards as full prefetch."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cds_service import create_app
from tests.shared_data import FHIR_DATA, patient_files, read_json, request_for, resources_of

SERVER_DIR = Path(__file__).parents[1] / "fhir_server"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FHIR_DATA.is_dir(), reason=f"shared FHIR data not present at {FHIR_DATA}"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (SERVER_DIR / "node_modules" / "@medplum").is_dir(),
        reason="Medplum not installed: run `npm ci --prefix tests/fhir_server` (scripts/test does)",
    ),
]
PV = "/cds-services/backpain-patient-view"
TOKEN = secrets.token_urlsafe(16)
FILES = patient_files() if FHIR_DATA.is_dir() else []


@pytest.fixture(scope="module")
def medplum():
    """One Medplum process holding every shared patient file, each its own FHIR base; yields {file: base URL}."""
    proc = subprocess.Popen(
        ["node", str(SERVER_DIR / "server.mjs"), "--token", TOKEN, *map(str, FILES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError(f"Medplum wrapper did not start: {line} {proc.stderr.read()}")
        root = f"http://127.0.0.1:{line.split()[1]}/fhir"
        yield {"root": root} | {path: f"{root}/{i}" for i, path in enumerate(FILES)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def client(tmp_path_factory, medplum):
    from cds_service.config import Settings

    # Medplum answers the largest patients' searches (6 MB, thousands of reports) in 2-4 s on two cores: the
    # production read timeout (3 s) is a choice about EHRs, not what this test checks (the same cards either way).
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        as_of=date(2026, 11, 27),
        fhir_server_allowlist=(medplum["root"],),
        fhir_read_timeout=15.0,
        fhir_deadline=20.0,
    )
    return create_app(settings).test_client()


def cards(response) -> list[tuple[str, str, str, object]]:
    assert response.status_code == 200, response.get_json()
    return sorted(
        (
            c["source"]["topic"]["code"],
            c["indicator"],
            c["summary"],
            c.get("extension", {}).get("org.backpain-cds.mme-per-day"),
        )
        for c in response.get_json()["cards"]
    )


def without_prefetch(body: dict, base: str, token: str = TOKEN) -> dict:
    body = {k: v for k, v in body.items() if k != "prefetch"}
    body["fhirServer"] = base
    body["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "backpain-cds",
    }
    return body


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem[:40])
def test_no_prefetch_gives_the_same_cards_as_full_prefetch(medplum, client, path):
    body = request_for(resources_of(read_json(path)))
    with_prefetch = cards(client.post(PV, json=body))
    fetched = client.post(PV, json=without_prefetch(body, medplum[path]))
    assert fetched.get_json()["extension"]["org.backpain-cds.fetched-prefetch"]
    assert cards(fetched) == with_prefetch


def test_cards_are_not_trivially_empty(medplum, client):
    """The comparison above means something: real patients with back pain get cards through the server."""
    path = next(p for p in FILES if p.name == "brenda_jackson_2023.json")
    app_day = replace(client.application.extensions["backpain_cds"].settings, as_of=date(2023, 9, 1))
    day_client = create_app(app_day).test_client()
    found = cards(day_client.post(PV, json=without_prefetch(request_for(resources_of(read_json(path))), medplum[path])))
    assert {"opioid-risk", "opioid-benzodiazepine", "chronic-pain-options"} <= {c[0] for c in found}


def test_wrong_token_is_412_not_empty_cards(medplum, client):
    path = FILES[0]
    response = client.post(
        PV, json=without_prefetch(request_for(resources_of(read_json(path))), medplum[path], token="wrong")
    )
    assert response.status_code == 412 and "refused" in response.get_json()["message"]
