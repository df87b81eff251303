"""Metrics against the real `backpain-cds serve`: no client can add label values (issue 20, finding 2), /metrics on
its own port, and the samples folder private to one run and gone when it stops (issue 23, "Leftovers")."""

from __future__ import annotations

import json
import os
import signal
import stat
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fhir_builders import hook_request, lbp
from tests.served import Served, free_port

pytestmark = pytest.mark.slow
PUBLIC = "https://cds.example.org"


def metrics_dirs(served: Served) -> set[Path]:
    """The folders the workers keep their metric samples in (the files they hold open)."""
    found = set()
    for pid in served.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = Path(os.readlink(fd))
            if target.suffix == ".db" and "metrics" in target.parent.name:
                found.add(target.parent)
    return found


def production(data: Path, **settings: str) -> Served:
    key = ec.generate_private_key(ec.SECP384R1())
    jwks = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())) | {"kid": "k1"}
    (data / "jwks.json").write_text(json.dumps({"https://ehr.example.org": {"keys": [jwks]}}))
    return Served(data, jwt_jwks=str(data / "jwks.json"), public_base_url=PUBLIC, **settings)


def test_a_thousand_invented_service_ids_add_no_label_and_keep_metrics_small(tmp_path):
    with production(tmp_path) as served:
        session = requests.Session()
        for i in range(1000):
            invented = f"/cds-services/{uuid.uuid4().hex}"
            if i % 2:  # a preflight, and a POST that is refused before its service is looked up
                assert session.options(served.base + invented, timeout=10).status_code < 500
            else:
                assert session.post(served.base + invented, json=hook_request([lbp()]), timeout=10).status_code == 401
        text = session.get(served.base + "/metrics", timeout=10).text
        folders = metrics_dirs(served)
        folder_bytes = sum(f.stat().st_size for folder in folders for f in folder.iterdir())
    services = {line.split('service="')[1].split('"')[0] for line in text.splitlines() if 'service="' in line}
    assert services <= {"unknown", "backpain-patient-view", "backpain-order-select", "backpain-order-sign"}
    assert len(text) < 64_000, len(text)
    assert folders and folder_bytes < 4 * 1024 * 1024, folder_bytes


def test_metrics_on_their_own_port_and_off_the_public_one(tmp_path):
    port = free_port()
    with Served(tmp_path, metrics_port=str(port)) as served:
        assert (
            requests.post(
                served.base + "/cds-services/backpain-patient-view", json=hook_request([lbp()]), timeout=10
            ).status_code
            == 200
        )
        public = requests.get(served.base + "/metrics", timeout=10)
        private = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert public.status_code == 404 and public.headers["Content-Type"] == "application/json"
    assert private.status_code == 200
    assert 'backpain_cds_hook_calls_total{service="backpain-patient-view",status="200"} 1.0' in private.text


def test_the_samples_folder_is_private_to_one_run_and_removed_when_it_stops(tmp_path):
    served = Served(tmp_path)
    with served:
        folders = metrics_dirs(served)
        assert len(folders) == 1
        folder = folders.pop()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        with Served(tmp_path / "other") as other:  # a second run beside it has a folder of its own
            assert metrics_dirs(other) and folder not in metrics_dirs(other)
        served.proc.send_signal(signal.SIGINT)
        served.proc.wait(timeout=20)
    assert not folder.exists()
