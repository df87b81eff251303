"""A process's life under gunicorn: ready, then draining after SIGTERM, then a graceful stop.

On SIGTERM the master first sets the shared `draining` flag (shared memory, seen by every worker it forked), so
`/readyz` answers 503 while calls are still served for BACKPAIN_CDS_DRAIN_SECONDS: long enough for a load balancer
or Kubernetes to stop sending new ones. Then gunicorn stops gracefully: no new connections, calls in flight (with
their FHIR fetches, bounded by the deadline) finish, workers exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from typing import Any

from gunicorn.arbiter import Arbiter

log = logging.getLogger(__name__)


class Lifecycle:
    """The draining flag, in memory shared with the workers forked after it was made."""

    def __init__(self) -> None:
        self._draining = multiprocessing.Value("b", 0, lock=False)

    @property
    def draining(self) -> bool:
        return bool(self._draining.value)

    def start_draining(self) -> None:
        self._draining.value = 1


class DrainingArbiter(Arbiter):
    """gunicorn's master, with SIGTERM turned into: drain for `drain_seconds`, then the usual graceful stop."""

    def __init__(self, app: Any, lifecycle: Lifecycle, drain_seconds: float) -> None:
        super().__init__(app)
        self.lifecycle = lifecycle
        self.drain_seconds = drain_seconds
        self.stop_at: float | None = None

    def handle_term(self) -> None:
        if self.stop_at is None:
            log.info("SIGTERM: draining for %.1f s (readyz 503), then a graceful stop", self.drain_seconds)
            self.lifecycle.start_draining()
            self.stop_at = time.monotonic() + self.drain_seconds

    def manage_workers(self) -> None:
        if self.stop_at is not None and time.monotonic() >= self.stop_at:
            raise StopIteration  # the main loop's way to a graceful halt()
        super().manage_workers()
