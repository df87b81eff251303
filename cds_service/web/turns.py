"""A worker's calls take turns at its one interpreter; a call waiting on a FHIR server gives its turn away.

`serve` runs a call that only computes on the worker's event loop and one that may wait on the EHR's FHIR server on
one of BACKPAIN_CDS_THREADS threads (web/offload.py). Calls that compute gain nothing from running at once: they
share one interpreter, which switches between them every few milliseconds. Under 16 connections that cost a third
more CPU per call. So each call, on the loop or on a thread, holds TURN while it computes (its database statements
included: short, local) and lets it go while FhirClient.fetch waits on the network (`waiting`); the other threads
queue on the lock and cost nothing meanwhile. Health probes take no turn: they answer at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
TURN = threading.Lock()  # one per process: the master never holds it, so a forked worker starts with it free
_local = threading.local()
NO_TURN = frozenset({"/healthz", "/readyz"})


def taking_turns(app: Wsgi) -> Wsgi:
    """The WSGI app, run under TURN; its response read whole before the turn passes on."""

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in NO_TURN:
            return app(environ, start_response)
        with TURN:
            _local.holding = True
            try:
                result = app(environ, start_response)
                try:
                    return [b"".join(result)]
                finally:
                    if hasattr(result, "close"):
                        result.close()
            finally:
                _local.holding = False

    return call


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
