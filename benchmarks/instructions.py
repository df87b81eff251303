"""Instructions per patient-view call (pipeline.run: parse, build the record, rules, JSON) counted by callgrind, in
this checkout and an older one: unlike time, the count does not move with the host's load.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/instructions.py --against /tmp/before [--calls 10]

In each checkout and for each patient: 12 warm-up calls (first-call caches; the interpreter specialises code run 8+
times), then `--calls` calls inside functools.reduce, the only code callgrind counts
(`--toggle-collect=functools_reduce`). Prints millions of instructions per call and the ratio. Needs valgrind and
../shared/fhir-data; takes about 30 s per patient and checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hooks import PATIENTS  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

CHILD = """
import functools, gc, json, sys
from datetime import date
sys.path.insert(0, sys.argv[1])
from cds_service.config import Settings
from cds_service.pipeline import Runtime, run
runtime = Runtime.create(Settings.from_env({}))
gc.freeze()  # as `serve` does after loading, with its young-generation threshold
gc.set_threshold(10_000, 10, 10)
body, day, n = json.load(open(sys.argv[2])), date(2026, 11, 27), int(sys.argv[3])
for _ in range(12):
    run(runtime, "backpain-patient-view", body, day)
functools.reduce(lambda _, __: run(runtime, "backpain-patient-view", body, day), range(n), None)
"""


def count(root: Path, body: Path, calls: int, work: Path) -> float:
    """Millions of instructions per call of pipeline.run in the checkout at `root`."""
    out = work / "callgrind.out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--toggle-collect=functools_reduce",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-c",
            CHILD,
            str(root),
            str(body),
            str(calls),
        ],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        check=True,
    )
    total = int(re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE).group(1))  # type: ignore[union-attr]
    return total / calls / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="a checkout of the older code")
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    print(f"{'':16} {'this M':>8} {'against':>8} {'ratio':>7}")
    for name, pattern in PATIENTS:
        body = work / f"{name.split()[0]}.json"
        body.write_text(json.dumps(request_for(resources_of(read_json(sorted(FHIR_DATA.glob(pattern))[0])))))
        mine, theirs = (count(root, body, args.calls, work) for root in (ROOT, args.against))
        print(f"{name:16} {mine:8.3f} {theirs:8.3f} {mine / theirs:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
