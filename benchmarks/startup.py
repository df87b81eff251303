"""Start-up to the first answer: `backpain-cds serve` started -> first 200 from /healthz, several times.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--workers 2]

Prints each run's wall-clock time and the CPU seconds the gunicorn master had spent by then: on an idle machine the
two are close; on a shared, loaded one the wall clock grows and the CPU time says what start-up itself costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def once(exe: str, workers: int) -> tuple[float, float]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")}
    env["BACKPAIN_CDS_DATA_DIR"] = tempfile.mkdtemp()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 60:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    return time.perf_counter() - started, cpu_seconds(proc.pid)
            except requests.ConnectionError:
                time.sleep(0.01)
        raise RuntimeError("serve did not answer within 60 s")
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(env["BACKPAIN_CDS_DATA_DIR"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    exe = shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))
    results = [once(exe, args.workers) for _ in range(args.runs)]
    for wall, cpu in results:
        print(f"first answer after {wall:.2f} s; master CPU {cpu:.2f} s")
    walls = sorted(w for w, _ in results)
    print(
        f"wall {walls[0]:.2f}-{walls[-1]:.2f} s over {args.runs} runs; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
