"""Idle and slow clients against the real `backpain-cds serve`: they must cost no worker thread (issue 20, finding 1).

Not timed: each healthy call only has to be answered within a timeout far above its cost, where the gthread model
made it wait for the idle sockets ahead of it.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

import pytest
import requests

from tests.fhir_builders import hook_request, lbp
from tests.served import Served

pytestmark = pytest.mark.slow
PV = "/cds-services/backpain-patient-view"


@contextmanager
def held_sockets(port: int, idle: int, slow: int) -> Iterator[None]:
    """`idle` connections that never send a byte and `slow` that send a request head one byte every second."""
    stop = threading.Event()
    with ExitStack() as stack:
        for _ in range(idle):
            stack.enter_context(socket.create_connection(("127.0.0.1", port)))
        dripping = [stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(slow)]
        for sock in dripping:
            sock.sendall(b"POST /cds-services/backpain-patient-view HTTP/1.1\r\nHost: x\r\n")

        def drip() -> None:
            while not stop.wait(1.0):
                for sock in dripping:
                    with suppress(OSError):
                        sock.sendall(b"X")

        threading.Thread(target=drip, daemon=True).start()
        time.sleep(0.5)  # the server has accepted them all
        try:
            yield
        finally:
            stop.set()


def test_healthy_calls_and_probes_answer_while_idle_and_slowloris_sockets_are_held(tmp_path):
    with Served(tmp_path) as served, held_sockets(served.port, idle=300, slow=32):
        for _ in range(3):
            assert requests.get(served.base + "/healthz", timeout=3).status_code == 200
            assert requests.get(served.base + "/readyz", timeout=3).status_code == 200
            response = requests.post(served.base + PV, json=hook_request([lbp()]), timeout=3)
            assert response.status_code == 200 and response.json()["cards"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_is_prompt_and_clean_while_idle_sockets_are_held(tmp_path, sig):
    served = Served(tmp_path, drain_seconds="0")
    with served, held_sockets(served.port, idle=20, slow=4):
        started = time.monotonic()
        served.proc.send_signal(sig)
        served.proc.wait(timeout=20)
        took = time.monotonic() - started
        log = served.log()
    assert took < 5, (took, log)
    assert "SIGKILL" not in log and "Traceback" not in log, log
