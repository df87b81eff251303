"""Feedback in a real PostgreSQL server (BACKPAIN_CDS_DATABASE_URL), a throwaway cluster started by the test."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from cds_service import create_app

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None) if Path("/usr/lib/postgresql").is_dir() \
    else None
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BIN is None or not (BIN / "initdb").exists(), reason="PostgreSQL server binaries not installed"),
    pytest.mark.skipif(os.geteuid() == 0 and shutil.which("runuser") is None, reason="root without runuser"),
]
pytest.importorskip("psycopg", reason="psycopg not installed (pip install '.[postgres]')")


def _as_postgres(*cmd: str) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="module")
def postgres_url():
    root = Path(tempfile.mkdtemp(prefix="backpain-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                                f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_feedback_is_stored_in_postgresql(settings, postgres_url):
    app = create_app(replace(settings, database_url=postgres_url))
    card = str(uuid.uuid4())
    item = {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z",
            "acceptedSuggestions": [{"id": "s1"}]}
    response = app.test_client().post("/cds-services/backpain-patient-view/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    stored = app.extensions["backpain_cds_feedback"].for_card(card)
    assert [(f.outcome, f.accepted_suggestions) for f in stored] == [("accepted", [{"id": "s1"}])]
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"
