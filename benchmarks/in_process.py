"""In-process cost of one patient-view call (pipeline.run: parse, build the record, rules, JSON), against the same
calls through an older checkout, on this machine.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/in_process.py --against /tmp/before [--rounds 3] [--batches 40] [--no-provenance]
    .venv/bin/python benchmarks/in_process.py --provenance [--rounds 30]

Each round starts a fresh interpreter per checkout; the two take turns, a batch of calls each (20, or 5 for a body
over 1 MB: tens of milliseconds), which of them goes first alternating, so that the host's speed, which moves by half
within minutes on a shared VM, moves both alike. Prints per patient the p50 of each checkout, their ratio, and the
median of the ratios of each pair of adjacent batches (the steadier figure); and the time to load the knowledge in a
fresh process. --no-provenance switches card provenance (issue 25) off in this checkout only, to compare the rest
with code older than it. For a count of instructions, which the host's load does not move at all, see instructions.py.
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
import json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
from cds_service import knowledge
knowledge.load()
load_ms = (time.perf_counter() - started) * 1000
from datetime import date
from cds_service.config import Settings
from cds_service.pipeline import Runtime, run
runtime = Runtime.create(Settings.from_env({}))
if sys.argv[2:] == ["no-provenance"]:  # this checkout with card provenance (issue 25) off, as older code has none
    from cds_service import cards
    cards._provenance = lambda *args: {}
import gc
gc.freeze()  # as `serve` does after loading: the collector does not walk the knowledge on every collection
gc.set_threshold(10_000, 10, 10)  # and its young-generation threshold
print(json.dumps(load_ms), flush=True)
bodies = {}
for line in sys.stdin:  # one batch a line: [path, calls]; answers the wall time of each call, in ms
    path, n = json.loads(line)
    if path not in bodies:
        bodies[path] = json.load(open(path))
        for _ in range(20):
            run(runtime, "backpain-patient-view", bodies[path], date(2026, 11, 27))
    body, times = bodies[path], []
    for _ in range(n):
        t = time.perf_counter()
        run(runtime, "backpain-patient-view", body, date(2026, 11, 27))
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps(times), flush=True)
"""


class Child:
    """A fresh interpreter on one checkout that runs batches of calls when asked, so that two checkouts take turns
    batch by batch (tens of milliseconds apart) and a change of the host's speed moves both alike."""

    def __init__(self, root: Path, *flags: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.load_ms = float(self._answer())

    def _answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the child on {self.process.args[3]} ended (exit {self.process.wait()})")
        return line

    def batch(self, path: str, calls: int) -> list[float]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([path, calls]) + "\n")
        self.process.stdin.flush()
        return json.loads(self._answer())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


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
    parser.add_argument(
        "--no-provenance", action="store_true", help="this checkout without card provenance (older code has none)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh interpreters per checkout (and --provenance's)")
    parser.add_argument("--batches", type=int, default=40, help="batches per patient and round, taken in turn")
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
        bodies.append((name, str(target), 5 if path.stat().st_size > 1_000_000 else 20))
    times: dict[str, dict[str, list[float]]] = {"this": {}, "against": {}}
    paired: dict[str, list[float]] = {}  # per pair of adjacent batches: this p50 / against p50
    load: dict[str, list[float]] = {"this": [], "against": []}
    for _ in range(args.rounds):
        flags = ("no-provenance",) if args.no_provenance else ()
        children = {"this": Child(ROOT, *flags), "against": Child(args.against)}
        try:
            for label, child in children.items():
                load[label].append(child.load_ms)
            for name, path, calls in bodies:
                for turn in range(args.batches):
                    order = ("this", "against") if turn % 2 == 0 else ("against", "this")  # neither always first
                    got = {label: children[label].batch(path, calls) for label in order}
                    for label, batch in got.items():
                        times[label].setdefault(name, []).extend(batch)
                    paired.setdefault(name, []).append(
                        statistics.median(got["this"]) / statistics.median(got["against"])
                    )
        finally:
            for child in children.values():
                child.close()
    print(f"{'':16} {'this p50':>10} {'against':>10} {'ratio':>7} {'paired':>7}   (ms; paired: median of batch pairs)")
    print(
        f"{'load_ms':16} {statistics.median(load['this']):10.1f} {statistics.median(load['against']):10.1f} "
        f"{statistics.median(load['this']) / statistics.median(load['against']):6.2f}x"
    )
    for name, _, _ in bodies:
        mine, theirs = statistics.median(times["this"][name]), statistics.median(times["against"][name])
        print(f"{name:16} {mine:10.3f} {theirs:10.3f} {mine / theirs:6.2f}x {statistics.median(paired[name]):6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
