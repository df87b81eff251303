"""Two replicas on one machine, as two pods: one throwaway PostgreSQL, two `backpain-cds serve` (2 workers each),
HAProxy in front checking /readyz. Replays, feedback, a database outage and a rolling stop, as Kubernetes would
see them."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, text

from tests.fhir_builders import hook_request, lbp
from tests.postgres import MISSING, Cluster
from tests.served import Served, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed (scripts/test installs it)"),
]
ISSUER = "https://ehr.example.org"
PUBLIC = "https://cds.example.org"  # what EHRs call: the balancer's public name, the same for every replica
PV = "/cds-services/backpain-patient-view"
KEY = ec.generate_private_key(ec.SECP384R1())
HAPROXY = """
global
    maxconn 512
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend cds
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 1 rise 1
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
"""


def token(path: str = PV) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "aud": PUBLIC + path, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())},
        KEY,
        algorithm="ES384",
        headers={"kid": "k1", "typ": "JWT"},
    )


def hook(base: str, bearer: str | None = None) -> requests.Response:
    return requests.post(
        base + PV, json=hook_request([lbp()]), timeout=15, headers={"Authorization": f"Bearer {bearer or token()}"}
    )


class Rig:
    def __init__(self, tmp_path) -> None:
        self.pg = Cluster()
        self.pg.start()
        jwks = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1"}
        (tmp_path / "jwks.json").write_text(json.dumps({ISSUER: {"keys": [jwks]}}))
        settings = {
            "database_url": self.pg.url,
            "jwt_jwks": str(tmp_path / "jwks.json"),
            "public_base_url": PUBLIC,
            "drain_seconds": "1",
        }
        # Both replicas start at once against the empty database: both must create (or find) the schema.
        self.a = Served(tmp_path / "a", workers=2, **settings)
        self.b = Served(tmp_path / "b", workers=2, **settings)
        self.a.__enter__()
        self.b.__enter__()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (tmp_path / "haproxy.cfg").write_text(HAPROXY.format(port=self.port, a=self.a.port, b=self.b.port))
        self.haproxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait_for(lambda: hook(self.base).status_code == 200, 10)

    @staticmethod
    def wait_for(condition, seconds: float) -> None:
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up:
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("condition not met in time")

    def close(self) -> None:
        self.haproxy.terminate()
        self.haproxy.wait(timeout=10)
        for replica in (self.a, self.b):
            if replica.proc.poll() is None:
                replica.__exit__()
        self.pg.stop()
        shutil.rmtree(self.pg.root, ignore_errors=True)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = Rig(tmp_path_factory.mktemp("replicas"))
    yield rig
    rig.close()


def test_both_replicas_came_up_against_one_empty_database(rig):
    assert requests.get(rig.a.base + "/readyz", timeout=5).status_code == 200
    assert requests.get(rig.b.base + "/readyz", timeout=5).status_code == 200


def test_a_token_accepted_through_one_replica_is_refused_through_the_other(rig):
    captured = token()
    assert hook(rig.a.base, captured).status_code == 200
    assert hook(rig.b.base, captured).status_code == 401
    assert hook(rig.a.base, captured).status_code == 401


def test_a_thousand_feedback_items_through_the_balancer_are_stored_exactly_once(rig):
    cards = [str(uuid.uuid4()) for _ in range(1000)]

    def post(batch: list[str]) -> int:
        items = [{"card": c, "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"} for c in batch]
        return requests.post(
            rig.base + PV + "/feedback",
            json={"feedback": items},
            timeout=15,
            headers={"Authorization": f"Bearer {token(PV + '/feedback')}"},
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, [cards[i : i + 10] for i in range(0, 1000, 10)]))
    assert statuses == [200] * 100
    engine = create_engine(rig.pg.url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT card_uuid, count(*) FROM feedback GROUP BY card_uuid")).all()
    engine.dispose()
    counts = {card: n for card, n in stored}
    assert all(counts.get(card) == 1 for card in cards)


def test_a_database_outage_takes_both_replicas_out_of_rotation_and_back(rig):
    rig.pg.stop()
    seen = []
    try:
        give_up = time.monotonic() + 10
        while time.monotonic() < give_up:
            response = hook(rig.base)
            from_balancer = "application/json" not in response.headers.get("Content-Type", "")
            seen.append((response.status_code, from_balancer))
            if len(seen) >= 5 and all(s == (503, True) for s in seen[-5:]):
                break
            time.sleep(0.05)
        # every 5xx came from the balancer, or was a replica's own 503 naming the store while its /readyz failed too
        assert not [s for s in seen if s[0] >= 500 and s[0] != 503]
        assert seen[-5:] == [(503, True)] * 5
        for replica in (rig.a, rig.b):
            assert requests.get(replica.base + "/readyz", timeout=5).json()["down"] == ["database"]
            assert requests.get(replica.base + "/healthz", timeout=5).status_code == 200  # alive: not restarted
    finally:
        rig.pg.start()
    rig.wait_for(lambda: hook(rig.base).status_code == 200, 15)
    statuses = [hook(rig.base).status_code for _ in range(10)]
    assert statuses == [200] * 10


def test_sigterm_to_one_replica_under_load_loses_no_request(rig):
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        session = requests.Session()  # kept-alive connection to the balancer, as an EHR keeps one
        while not stop.is_set():
            response = session.post(
                rig.base + PV, json=hook_request([lbp()]), timeout=15, headers={"Authorization": f"Bearer {token()}"}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    rig.a.proc.send_signal(signal.SIGTERM)
    assert rig.a.proc.wait(timeout=20) == 0
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert len(statuses) > 100 and set(statuses) == {200}
    assert hook(rig.base).status_code == 200  # the other replica carries on alone
