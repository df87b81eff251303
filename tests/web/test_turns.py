"""A worker's calls take turns at the interpreter, and a call waiting on a FHIR server gives its turn away."""

from __future__ import annotations

import threading
import time

from cds_service.web import turns


def _run_at_once(app, n: int) -> list[bytes]:
    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda: bodies.extend(app({}, lambda *a: None))) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return bodies


def test_calls_on_a_worker_s_threads_compute_one_at_a_time_not_interleaved():
    """Eight calls at once on eight threads each got an eighth of one interpreter, switched every 5 ms, with the
    event loop waiting its own turn to send their answers: the same work took a third more CPU per call."""
    running, most = [0], [0]

    def app(environ, start_response):
        running[0] += 1
        most[0] = max(most[0], running[0])
        deadline = time.perf_counter() + 0.01
        while time.perf_counter() < deadline:  # computing, as rules do
            pass
        running[0] -= 1
        return [b"a", b"b"]

    assert _run_at_once(turns.taking_turns(app), 6) == [b"ab"] * 6
    assert most[0] == 1


def test_a_call_waiting_on_a_fhir_server_lets_the_other_calls_compute():
    """A call without prefetch waits on the EHR's FHIR server for up to its deadline: the worker's other calls
    must be served meanwhile, as before."""
    answered = threading.Event()

    def app(environ, start_response):
        if environ.get("waits"):
            with turns.waiting():  # as FhirClient.fetch does around its queries
                assert answered.wait(5), "the other call was not served while this one waited"
            return [b"waited"]
        answered.set()
        return [b"served"]

    wrapped = turns.taking_turns(app)
    out: list[bytes] = []
    waiter = threading.Thread(target=lambda: out.extend(wrapped({"waits": True}, lambda *a: None)))
    waiter.start()
    time.sleep(0.05)
    assert list(wrapped({}, lambda *a: None)) == [b"served"]
    waiter.join(10)
    assert out == [b"waited"]


def test_waiting_outside_a_call_is_a_no_op():
    with turns.waiting():  # `evaluate` and the tests call the FHIR client without a turn
        pass
    assert not turns.TURN.locked()


def test_the_fhir_client_gives_the_turn_away_while_it_fetches():
    from contextlib import contextmanager

    import pytest

    from cds_service.config import Settings
    from cds_service.errors import PrefetchUnavailable
    from cds_service.fhir.client import FhirClient
    from cds_service.hook_request import parse_hook_request
    from tests.fhir_builders import hook_request

    client, entered = FhirClient(Settings()), []

    @contextmanager
    def recording():
        entered.append(True)
        yield

    client.waiting = recording
    request = parse_hook_request(hook_request([]) | {"fhirServer": "https://fhir.example/r4"}, "patient-view")
    with pytest.raises(PrefetchUnavailable):  # not on the allowlist: refused inside the fetch
        client.fetch(request, {"patient": "Patient/pt-1"})
    assert entered == [True]


def test_health_probes_answer_without_waiting_for_a_turn():
    """A liveness probe must not time out behind a worker's queued calls (Kubernetes would restart it)."""
    wrapped = turns.taking_turns(lambda environ, start_response: [b"ok"])
    with turns.TURN:  # a call is computing
        assert list(wrapped({"PATH_INFO": "/healthz"}, lambda *a: None)) == [b"ok"]
        assert list(wrapped({"PATH_INFO": "/readyz"}, lambda *a: None)) == [b"ok"]
