"""In-process cost of one patient-view call (pipeline.run: parse, build the record, rules, JSON), against the same
calls through an older checkout, alternating in fresh interpreters on this machine.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/in_process.py --against /tmp/before [--rounds 3]
    .venv/bin/python benchmarks/in_process.py --provenance [--rounds 30]

Prints per patient the p50 of each checkout and their ratio, and the time to load the knowledge in a fresh process.
Each child freezes the GC after loading and sets its young-generation threshold (as `backpain-cds serve` does), for
both checkouts alike.
With --provenance: in one process, the same calls with card provenance (the families' `cite` and the card
extensions) and with it switched off, alternating in short batches so that the host's load moves both alike; prints
the p50 of each (this thread's CPU time, which other processes on a busy host do not inflate) and the difference per
call in microseconds. Needs ../shared/fhir-data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hooks import PATIENTS  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
from cds_service import knowledge
knowledge.load()
out = {"load_ms": (time.perf_counter() - started) * 1000}
from datetime import date
from cds_service.config import Settings
from cds_service.pipeline import Runtime, run
runtime = Runtime.create(Settings.from_env({}))
import gc
gc.freeze()  # as `serve` does after loading: the collector does not walk the knowledge on every collection
gc.set_threshold(10_000, 10, 10)  # and its young-generation threshold
for name, path, n in json.loads(sys.argv[2]):
    body = json.load(open(path))
    for _ in range(20):
        run(runtime, "backpain-patient-view", body, date(2026, 11, 27))
    times = []
    for _ in range(n):
        t = time.perf_counter()
        run(runtime, "backpain-patient-view", body, date(2026, 11, 27))
        times.append(time.perf_counter() - t)
    out[name] = statistics.median(times) * 1000
print(json.dumps(out))
"""


def provenance_cost(rounds: int) -> None:
    """p50 per call with and without card provenance, alternating batches in this process; the difference in us."""
    import gc
    import time
    from datetime import date

    from cds_service import cards, citations
    from cds_service.config import Settings
    from cds_service.pipeline import Runtime, run

    runtime = Runtime.create(Settings.from_env({}))
    gc.freeze()  # as `serve` does after loading: the collector does not walk the knowledge on every collection
    gc.set_threshold(10_000, 10, 10)  # and its young-generation threshold
    # every module that cites (the rules, and cards itself for the functions' own calls)
    citing = [
        m
        for name, m in sys.modules.items()
        if name.startswith("cds_service") and (hasattr(m, "cite") or hasattr(m, "references_of"))
    ]
    on = (citations.cite, citations.references_of, cards._provenance)
    off = ((lambda *items: citations.Cited()), (lambda *args: citations.Cited()), (lambda *args: {}))

    def switch(enabled: bool) -> None:
        cite, references_of, provenance = on if enabled else off
        for module in citing:
            if hasattr(module, "cite"):
                module.cite = cite  # type: ignore[attr-defined]
            if hasattr(module, "references_of"):
                module.references_of = references_of  # type: ignore[attr-defined]
        cards._provenance = provenance  # type: ignore[assignment]

    print(f"{'':16} {'with p50':>10} {'without':>10} {'added/call':>11} {'min added':>10}")
    for name, pattern in PATIENTS:
        body = request_for(resources_of(read_json(sorted(FHIR_DATA.glob(pattern))[0])))
        batch = 5 if len(json.dumps(body)) > 1_000_000 else 40
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for enabled in (True, False):
                switch(enabled)
                for _ in range(batch):
                    t = time.thread_time()  # CPU time of this thread: a busy host's other processes do not count
                    run(runtime, "backpain-patient-view", body, date(2026, 11, 27))
                    times[enabled].append(time.thread_time() - t)
        switch(True)
        with_, without = statistics.median(times[True]) * 1e6, statistics.median(times[False]) * 1e6
        least = (min(times[True]) - min(times[False])) * 1e6  # the quietest call of each: least moved by the host
        print(f"{name:16} {with_:8.1f}us {without:8.1f}us {with_ - without:9.1f}us {least:8.1f}us")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="a checkout of the older code")
    parser.add_argument("--provenance", action="store_true", help="cost of card provenance per call (no --against)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.provenance:
        provenance_cost(args.rounds)
        return 0
    if args.against is None:
        parser.error("--against is required (or --provenance)")
    work = Path(tempfile.mkdtemp())
    bodies = []
    for name, pattern in PATIENTS:
        path = sorted(FHIR_DATA.glob(pattern))[0]
        target = work / f"{name.split()[0]}.json"
        target.write_text(json.dumps(request_for(resources_of(read_json(path)))))
        bodies.append((name, str(target), 60 if path.stat().st_size > 1_000_000 else 400))
    results: dict[str, dict[str, list[float]]] = {"this": {}, "against": {}}
    for _ in range(args.rounds):
        for label, root in (("this", ROOT), ("against", args.against)):
            line = (
                subprocess.run(
                    [sys.executable, "-c", CHILD, str(root), json.dumps(bodies)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            for key, value in json.loads(line).items():
                results[label].setdefault(key, []).append(value)
    print(f"{'':16} {'this p50':>10} {'against':>10} {'ratio':>7}   per round")
    for key in results["this"]:
        mine, theirs = results["this"][key], results["against"][key]
        rounds = ", ".join(f"{a / b:.2f}" for a, b in zip(mine, theirs, strict=True))
        print(
            f"{key:16} {statistics.median(mine):10.3f} {statistics.median(theirs):10.3f} "
            f"{statistics.median(mine) / statistics.median(theirs):6.2f}x   {rounds}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
