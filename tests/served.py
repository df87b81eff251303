"""`backpain-cds serve` as a real process under gunicorn, for tests that need real workers, sockets and logs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests


def executable() -> str:
    return shutil.which("backpain-cds") or str(Path(sys.executable).with_name("backpain-cds"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """Starts the service with the given BACKPAIN_CDS_* settings (none inherited) and waits until it answers."""

    def __init__(self, data_dir: Path, workers: int = 2, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")}
        env |= {"BACKPAIN_CDS_DATA_DIR": str(data_dir), "BACKPAIN_CDS_AS_OF": "2026-11-27"}
        env |= {f"BACKPAIN_CDS_{k.upper()}": v for k, v in settings.items()}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [executable(), "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers

    def __enter__(self) -> Served:
        for _ in range(150):
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log()}")
            try:
                requests.get(self.base + "/healthz", timeout=0.5)
                if len(self.worker_pids()) == self.workers:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve did not start: {self.log()}")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's child processes."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                children.append(int(stat.parent.name))
        return sorted(children)


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)
