"""The card policy's cost per hook call (issue 24), in-process, on SQLite (WAL file, as `serve` uses it) and, when
PostgreSQL's server is installed, on a throwaway local cluster:

    .venv/bin/python benchmarks/policy.py [--calls 3000]

Times `PolicyGate.apply` (the one step `pipeline.run` adds) for a patient on oxycodone with a benzodiazepine, in
each case the policy meets: a patient-view that shows a critical card (its memory queued for the card log's
writer: no database in the call), an order-select that holds the unchanged card back (one read), an order-select by
a new clinician each time (a read and an upsert), a snooze policy at patient-view (the snooze read as well), and a
call with no critical card (no database). Beside them, in the same run, the whole `pipeline.run` of the same
order-select without the policy: the floor the policy's cost is read against. Prints p50 and p95 in milliseconds,
and the p50 of the CPU time the calling thread spent (a loaded host moves it least).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cds_service import rules  # noqa: E402
from cds_service.config import Settings  # noqa: E402
from cds_service.fhir.prefetch import resolve  # noqa: E402
from cds_service.hook_request import parse_hook_request  # noqa: E402
from cds_service.pipeline import Runtime, run  # noqa: E402
from cds_service.policy import parse  # noqa: E402
from cds_service.record.builder import build_record  # noqa: E402
from cds_service.store.card_log import CardLog  # noqa: E402
from cds_service.store.database import connect  # noqa: E402
from cds_service.store.policy import PolicyGate  # noqa: E402
from tests.fhir_builders import TODAY, hook_request, lbp  # noqa: E402
from tests.test_card_policy import CHART, GABAPENTIN, draft  # noqa: E402

SECRET = b"b" * 64
SNOOZE = {"defaults": {"snooze_reasons": ["patient-declined"], "snooze_days": 30}}


def cards_of(runtime: Runtime, body: dict, service_id: str) -> tuple:
    service = runtime.registry.get(service_id)
    request = parse_hook_request(body, service.hook)
    values, _ = resolve(service, request, lambda r, q: {})
    record = build_record(runtime.knowledge, request.context, values.values(), TODAY)
    cards = rules.evaluate(record, request.context, TODAY)
    drafted = rules.drafted_classes(record)
    return request.context, cards, [rules.concerns_a_draft(c, drafted) for c in cards]


def timed(fn, n: int) -> tuple[float, float, float]:
    """p50 and p95 wall time, and p50 of this thread's CPU time (what a loaded host moves least), in ms."""
    for _ in range(min(200, n // 10)):
        fn(0)
    times, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.thread_time()
        fn(i)
        cpu.append((time.thread_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], statistics.median(cpu)


def measure(label: str, url: str, runtime: Runtime, n: int) -> list[tuple[str, float, float, float]]:
    engine = connect(url)
    log = CardLog(engine)
    gate = PolicyGate(engine, parse({}), SECRET, log)
    snoozing = PolicyGate(engine, parse(SNOOZE), SECRET, log)
    pv = cards_of(runtime, hook_request(CHART, "patient-view"), "backpain-patient-view")
    os_ = cards_of(runtime, hook_request(CHART, "order-select", drafts=[draft(*GABAPENTIN)]), "backpain-order-select")
    quiet = cards_of(
        runtime, hook_request([lbp()], "order-select", drafts=[draft(*GABAPENTIN)]), "backpain-order-select"
    )
    assert any(c.topic == "opioid-benzodiazepine" for c in os_[1])
    gate.apply("backpain-patient-view", *pv)  # the clinician has seen it: order-selects below hold it back
    log.flush()  # patient-view's memory is written by the card log's writer
    assert not any(c.topic == "opioid-benzodiazepine" for c in gate.apply("backpain-order-select", *os_))
    cases = [
        (
            "patient-view, critical card shown (remembered by the card log)",
            lambda i: gate.apply("backpain-patient-view", *pv),
        ),
        ("order-select, unchanged card held back", lambda i: gate.apply("backpain-order-select", *os_)),
        (
            "order-select, a new clinician: shown and remembered",
            lambda i: gate.apply(
                "backpain-order-select", replace(os_[0], user_id=f"Practitioner/{i}-{time.time_ns()}"), *os_[1:]
            ),
        ),
        ("patient-view with a snooze policy (snooze read too)", lambda i: snoozing.apply("backpain-patient-view", *pv)),
        ("order-select, no critical card (no database)", lambda i: gate.apply("backpain-order-select", *quiet)),
    ]
    out = [(f"{name}, {label}", *timed(fn, n)) for name, fn in cases]
    log.flush()
    engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    runtime = Runtime.create(Settings(data_dir=tmp, as_of=TODAY))
    body = hook_request(CHART, "order-select", drafts=[draft(*GABAPENTIN)])
    floor = timed(lambda i: run(runtime, "backpain-order-select", body, TODAY), max(300, args.calls // 5))
    results = [("whole pipeline.run of that order-select, no policy (floor)", *floor)]
    results += measure("SQLite", f"sqlite:///{tmp}/policy-bench.sqlite3", runtime, args.calls)
    pg = None
    try:
        from tests.postgres import MISSING, Cluster

        if MISSING:
            print(f"(PostgreSQL not measured: {MISSING})")
        else:
            pg = Cluster()
            pg.start()
            results += measure("PostgreSQL", pg.url, runtime, args.calls)
    finally:
        if pg is not None:
            pg.stop()
    width = max(len(r[0]) for r in results)
    print(f"{'':{width}}  {'p50 ms':>8} {'p95 ms':>8} {'p50/floor':>10} {'CPU p50 ms':>11}")
    for name, p50, p95, cpu in results:
        print(f"{name:{width}}  {p50:8.3f} {p95:8.3f} {p50 / floor[0]:9.1%} {cpu:11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
