"""Measurements for issue 20 (hostile network, round 2): memory a call may take, and a hung database.

    PYTHONPATH=. .venv/bin/python benchmarks/hostile.py [--calls 20] [--skip-postgres]

(as root: the peak RSS is reset before each body through /proc/<pid>/clear_refs). With PYTHONPATH pointing at
another checkout, the served process runs that checkout's code: how the numbers before a change were taken.

Against the real service (`backpain-cds serve`, one gunicorn worker, demo mode), prints:
- the worker's peak RSS (VmHWM) before and after one 10 MB hook call whose conditions Bundle is empty objects
  (`{}`, `{}`, ...), and after the largest such body BACKPAIN_CDS_MAX_JSON_VALUES accepts, and the growth as a
  factor of the body's size;
- the worker's RSS after each of `--calls` distinct large records (thousands of Conditions with codes never seen
  before, long ones among them, so every process-wide cache is offered new keys), and the growth over them;
- with a throwaway PostgreSQL cluster (tests/postgres.py) as the database, paused with SIGSTOP (a hung server, not
  a refusing one): the time to the 503 of a feedback post and of /readyz, and the time of /healthz meanwhile.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fhir_builders import condition, hook_request, lbp
from tests.served import Served, memory_kb

PV = "/cds-services/backpain-patient-view"
SNOMED, ICD10 = "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
MB = 1024 * 1024


def empty_objects_body(size: int = 0, count: int = 0) -> bytes:
    """A hook request of `size` bytes (or with `count` empty objects) whose conditions Bundle holds an array of
    nothing but empty objects."""
    body = hook_request([lbp()])
    head = orjson.dumps(body).replace(b'"conditions":{', b'"conditions":{"x":[' + b"@", 1)
    count = count or (size - len(head)) // 3
    return head.replace(b"@", b"{}," * count + b"{}],", 1)


def large_record(seed: int, conditions: int = 4000) -> dict:
    """A record of never-seen codes: SNOMED codes (some 200 characters long) and ICD-10 codes under M54 (low back
    pain: relevant, so they reach the value-set caches too)."""
    rng = random.Random(seed)
    resources = [lbp()]
    for i in range(conditions):
        if i % 4 == 0:
            code = f"M54.{rng.randrange(10**6)}"
            resources.append(condition(ICD10, code))
        else:
            length = 200 if i % 4 == 1 else 12
            display = "".join(rng.choices(string.ascii_letters, k=400)) if i % 4 == 2 else ""
            resources.append(condition(SNOMED, "".join(rng.choices(string.digits, k=length)), display))
    return hook_request(resources)


def measure_memory(calls: int) -> None:
    with TemporaryDirectory() as data, Served(Path(data), workers=1) as served:
        (worker,) = served.worker_pids()
        session = requests.Session()
        assert session.post(served.base + PV, json=hook_request([lbp()]), timeout=30).status_code == 200
        for name, body in [
            ("largest accepted body of empty objects", empty_objects_body(count=245_000)),
            ("10 MB body of empty objects", empty_objects_body(10 * 1000 * 1000)),
        ]:
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # peak RSS back to the current RSS (needs root)
            before = memory_kb(worker, "VmHWM")
            started = time.perf_counter()
            status = session.post(
                served.base + PV, data=body, headers={"Content-Type": "application/json"}, timeout=120
            ).status_code
            took = time.perf_counter() - started
            peak = memory_kb(worker, "VmHWM")
            grown = (peak - before) * 1024
            print(
                f"{name} ({len(body) / MB:.1f} MiB, {body.count(b'{}')} objects): status {status} in {took:.2f} s;"
                f" worker peak RSS {before / 1024:.0f} -> {peak / 1024:.0f} MiB (+{grown / MB:.0f} MiB ="
                f" {grown / len(body):.1f} x the body)"
            )
        start = memory_kb(worker, "VmRSS")
        sizes, rss = [], []
        for seed in range(calls):
            data = orjson.dumps(large_record(seed))
            sizes.append(len(data))
            response = session.post(
                served.base + PV, data=data, headers={"Content-Type": "application/json"}, timeout=120
            )
            assert response.status_code == 200, response.text[:300]
            rss.append(memory_kb(worker, "VmRSS"))
        print(
            f"{calls} distinct large records ({sum(sizes) / len(sizes) / MB:.1f} MiB each): worker RSS "
            f"{start / 1024:.0f} -> {rss[-1] / 1024:.0f} MiB (+{(rss[-1] - start) / 1024:.0f} MiB; after calls "
            f"1, 5, 10, {calls}: {', '.join(f'{rss[i] / 1024:.0f}' for i in (0, 4, 9, calls - 1))} MiB)"
        )


def measure_paused_postgres() -> None:
    from tests.postgres import MISSING, cluster

    if MISSING:
        print(f"paused PostgreSQL: skipped ({MISSING})")
        return

    def item():
        return {
            "feedback": [
                {
                    "card": str(uuid.uuid4()),
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-27T10:00:00Z",
                }
            ]
        }

    with TemporaryDirectory() as data, cluster() as pg, Served(Path(data), workers=1, database_url=pg.url) as served:
        assert requests.post(served.base + PV + "/feedback", json=item(), timeout=10).status_code == 200
        assert requests.get(served.base + "/readyz", timeout=10).status_code == 200
        with pg.paused():
            results = []
            for name, call in [
                ("feedback post", lambda: requests.post(served.base + PV + "/feedback", json=item(), timeout=120)),
                ("/readyz", lambda: requests.get(served.base + "/readyz", timeout=120)),
                ("/healthz", lambda: requests.get(served.base + "/healthz", timeout=120)),
            ]:
                started = time.perf_counter()
                try:
                    status: object = call().status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                results.append(f"{name} {status} in {time.perf_counter() - started:.2f} s")
        print("paused PostgreSQL (SIGSTOP): " + "; ".join(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    measure_memory(args.calls)
    if not args.skip_postgres:
        measure_paused_postgres()


if __name__ == "__main__":
    main()
