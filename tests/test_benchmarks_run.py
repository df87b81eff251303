"""The card-policy benchmark checks the policy's behaviour before it times it (a patient-view's memory makes the
next order-select hold the card back); a change of that behaviour must fail here, not on the next manual run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_card_policy_benchmark_runs_to_its_table():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "policy.py"), "--calls", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "patient-view, critical card shown (remembered by the card log), SQLite" in done.stdout
