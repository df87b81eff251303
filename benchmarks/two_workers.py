"""Two worker processes sharing one data directory call the app in-process, as `serve`'s workers do (each call under
the worker's turn), for a few seconds: calls a second, CPU per call (the writer thread
included) and the time spent waiting for SQLite's write lock (`database.write`'s retry sleeps).

    .venv/bin/python benchmarks/two_workers.py [--seconds 5] [--patient "Brenda Jackson"] [--cards 60000]

Production mode: a pinned ES384 key, a fresh client JWT per call (signed beforehand), replay cache and card log in
SQLite (the card log holding --cards older cards, as after a day's use), JSON logs at INFO to /dev/null. No HTTP:
it shows what workers lose to each other through the shared database. Needs ../shared/fhir-data; uses both cores.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.app_profile import production_env  # noqa: E402
from benchmarks.hooks import PATIENTS, Tokens  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

PATH = "/cds-services/backpain-patient-view"
CARD = "INSERT INTO issued_cards VALUES (?, 'backpain-patient-view', 'red-flags', 'warning', '2026-11-27', ?, ?, '1')"


def worker(body: bytes, tokens: list[str], seconds: float, start: Any, out: Any) -> None:
    """One worker: warm up, wait for the start, call for `seconds`, report."""
    from cds_service import create_app
    from cds_service.store import database
    from cds_service.web import turns
    from cds_service.web.serving import _environ

    app = create_app()
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (open for the life of the process)
    waited = [0.0]
    sleep = time.sleep

    class Clock:  # database.write's clock, its sleeps added up
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(s: float) -> None:
            waited[0] += s
            sleep(s)

    database.time = Clock  # type: ignore[assignment]
    fresh = iter(tokens)

    def call() -> None:
        headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {next(fresh)}".encode())]
        scope = {"type": "http", "method": "POST", "path": PATH, "headers": headers, "server": ("127.0.0.1", 9999)}
        status: list[str] = []
        with turns.TURN:
            b"".join(app(_environ(scope, body), lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise SystemExit(f"the call answered {status[0]}")

    for _ in range(50):
        call()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    waited[0] = 0.0
    start.wait()
    calls, end, cpu = 0, time.monotonic() + seconds, time.process_time()
    while time.monotonic() < end:
        call()
        calls += 1
    cpu = time.process_time() - cpu
    rate, per_call = calls / seconds, cpu / calls * 1e6
    out.put(f"{rate:6.0f} calls/s, CPU {per_call:5.0f} us a call, {waited[0] * 1e3:4.0f} ms waiting for the lock")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--patient", default=PATIENTS[0][0], choices=[name for name, _ in PATIENTS])
    parser.add_argument("--cards", type=int, default=60_000)
    parser.add_argument("--workers", type=int, default=2, help="1: the writer thread's cost alone, no other worker")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    tokens = Tokens("http://127.0.0.1:9999")
    os.environ.update(production_env(tmp, tokens))
    from cds_service import create_app

    create_app()  # the tables
    with sqlite3.connect(tmp / "backpain-cds.sqlite3") as db:
        db.executemany(CARD, [(str(uuid.uuid4()), "a" * 64, "b" * 32) for _ in range(args.cards)])
    pattern = dict(PATIENTS)[args.patient]
    body = json.dumps(request_for(resources_of(read_json(sorted(FHIR_DATA.glob(pattern))[0])))).encode()
    need = int(args.seconds * 1500) + 100
    signed = [[tokens.new(tokens.public_base + PATH) for _ in range(need)] for _ in range(args.workers)]
    start, out = multiprocessing.Event(), multiprocessing.Queue()
    workers = [multiprocessing.Process(target=worker, args=(body, t, args.seconds, start, out)) for t in signed]
    for process in workers:
        process.start()
    time.sleep(10)  # both warmed up
    start.set()
    for process in workers:
        process.join()
        print(f"{args.patient}, a worker: {out.get()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
