"""Which cards we issued: uuid, service, topic, indicator, the keyed hash of the patient and the digest of the
card's findings (no patient data), so feedback naming only a card's uuid can be attributed to its topic
(`report.py`) and an override can snooze its family for its patient (`policy.py`); and which cards the card
policy held back, by family and rule.

Recording must not slow a hook call: the request thread only puts a tuple on a bounded queue; a daemon thread per
worker writes batches. Under overload, or while the database is down, records are dropped, never waited for, and
each drop is counted (`/metrics`: backpain_cds_card_log_dropped_total).
"""
from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..cards import MME_EXTENSION
from ..policy.decide import digest
from .database import write
from .tables import HeldBackCard, IssuedCard

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BATCH = 500
FLUSH_SECONDS = 0.5
Row = tuple[Table, dict[str, Any]]


class CardLog:
    """A bounded queue of issued cards and the thread that writes them; the thread starts in each worker."""

    def __init__(self, engine: Engine, queue_size: int = QUEUE_SIZE) -> None:
        self.engine = engine
        self._queue: queue.Queue[Row] = queue.Queue(queue_size)
        self._pid: int | None = None
        self._lock = threading.Lock()

    def record(self, service_id: str, cards: list[dict], patient_key: str | None = None) -> None:
        """Queue the response's cards; drop (and count) what does not fit. Never blocks."""
        now = datetime.now(UTC)
        for card in cards:
            topic = card["source"]["topic"]["code"]
            mme = (card.get("extension") or {}).get(MME_EXTENSION)
            self._put((cast(Table, IssuedCard.__table__), {
                "card_uuid": card["uuid"], "service_id": service_id, "topic": topic, "indicator": card["indicator"],
                "issued_at": now, "patient_key": patient_key,
                # hashed by the writer thread, off the request path
                "digest": (topic, card["indicator"], card.get("summary", ""), card.get("detail", ""), mme)}))

    def held_back(self, service_id: str, topic: str, rule: str) -> None:
        """Queue one card the policy held back (for `feedback-report`). Never blocks."""
        self._put((cast(Table, HeldBackCard.__table__), {"service_id": service_id, "topic": topic, "rule": rule,
                                            "held_at": datetime.now(UTC)}))

    def _put(self, row: Row) -> None:
        if self._pid != os.getpid():
            self._start()
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            metrics.CARD_LOG_DROPPED.inc()

    def flush(self) -> int:
        """Write what is queued now, in batches, and wait for the writer thread's batch in hand; return how many
        this call wrote (what could not be written was dropped and counted)."""
        written = 0
        while batch := self._drain(BATCH):
            written += self._write(batch)
        self._queue.join()
        return written

    def _write(self, batch: list[Row]) -> int:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row in batch:
            if isinstance(row.get("digest"), tuple):
                row = {**row, "digest": digest(*row["digest"])}
            by_table.setdefault(table, []).append(row)

        def insert_rows() -> None:
            with self.engine.begin() as conn:
                for table, rows in by_table.items():
                    conn.execute(insert(table), rows)

        try:
            write(self.engine, insert_rows)
            return len(batch)
        except SQLAlchemyError as exc:
            log.warning("card log: %d records dropped (%s)", len(batch), type(exc).__name__)
            metrics.CARD_LOG_DROPPED.inc(len(batch))
            return 0
        finally:
            for _ in batch:
                self._queue.task_done()

    def _start(self) -> None:
        """Start this process's writer (after gunicorn's fork: threads do not survive it)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="card-log", daemon=True).start()
            atexit.register(self.flush)  # a worker's graceful exit writes what it still holds

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                continue
            self._write([first, *self._drain(BATCH - 1)])

    def _drain(self, most: int) -> list[Row]:
        items: list[Row] = []
        while len(items) < most:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items
