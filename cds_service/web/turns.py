"""A worker's calls take turns at its one interpreter; a call waiting on a FHIR server gives its turn away.

`serve` runs a call that only computes on the worker's event loop and one that may wait on the EHR's FHIR server on
one of BACKPAIN_CDS_THREADS threads (web/offload.py). Calls that compute gain nothing from running at once: they
share one interpreter, which switches between them every few milliseconds. Under 16 connections that cost a third
more CPU per call. So each call, on the loop or on a thread, holds TURN while it computes (its database statements
included: short, local) and lets it go while FhirClient.fetch waits on the network (`waiting`); the other threads
queue on the lock and cost nothing meanwhile; the loop never queues: it runs a call only when it can take the turn
at once (`take_now`), else the call goes to a thread. Health probes take no turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
TURN = threading.Lock()  # one per process: the master never holds it, so a forked worker starts with it free
_local = threading.local()
NO_TURN = frozenset({"/healthz", "/readyz"})


def taking_turns(app: Wsgi) -> Wsgi:
    """The WSGI app, run under TURN; its response read whole before the turn passes on."""

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in NO_TURN or getattr(_local, "holding", False):
            return app(environ, start_response)  # a probe; or a call on the event loop, which took its turn first
        TURN.acquire()
        with _held():
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()

    return call


def take_now() -> AbstractContextManager[None] | None:
    """The turn for a call run on the event loop, taken only if it is free at once, or None: the loop must never
    wait for it (it would stop reading requests and answering probes while a thread computes). Use it at once in a
    `with`, which gives the turn back."""
    if not TURN.acquire(blocking=False):
        return None
    return _held()


@contextmanager
def _held() -> Iterator[None]:
    """Mark this thread as holding TURN, taken just before; give it back on the way out."""
    _local.holding = True
    try:
        yield
    finally:
        _local.holding = False
        TURN.release()


@contextmanager
def waiting() -> Iterator[None]:
    """Give this thread's turn away while it waits on the network; a no-op outside a call (`evaluate`, tests)."""
    if not getattr(_local, "holding", False):
        yield
        return
    _local.holding = False
    TURN.release()
    try:
        yield
    finally:
        TURN.acquire()
        _local.holding = True
