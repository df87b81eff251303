"""Which cards we issued: uuid, service, topic, indicator, the keyed hash of the patient and the digest of the
card's findings (no patient data), so feedback naming only a card's uuid can be attributed to its topic
(`report.py`) and an override can snooze its family for its patient (`policy.py`); which cards the card policy
held back, by family and rule; and the card policy's memory of what a patient-view call showed, and the purge of
its expired rows (`remember`).

Recording must not slow a hook call: the request thread appends the call's rows to a bounded deque (one call, no
thread woken); a daemon thread per worker writes what gathered every FLUSH_SECONDS, in batches. Under overload, or
while the database is down, records are dropped, never waited for, and each drop is counted (`/metrics`:
backpain_cds_card_log_dropped_total).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Executable

from .. import metrics
from ..cards import EXT_KNOWLEDGE, MME_EXTENSION
from ..policy.decide import digest
from .database import write
from .tables import HeldBackCard, IssuedCard

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BATCH = 500
FLUSH_SECONDS = 0.5
Row = tuple[Table | Executable, dict[str, Any]]  # a table to insert the row into, or a statement to run with it


class CardLog:
    """A bounded deque of issued cards and the thread that writes them; the thread starts in each worker."""

    def __init__(self, engine: Engine, queue_size: int = QUEUE_SIZE) -> None:
        self.engine = engine
        self._rows: deque[Row] = deque()
        self._size = queue_size
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # held by whoever drains and writes: flush() waits for a batch in hand

    def record(self, service_id: str, cards: list[dict], patient_key: str | None = None) -> None:
        """Keep the response's cards for the writer; drop (and count) what does not fit. Never blocks."""
        now = datetime.now(UTC)
        table = cast(Table, IssuedCard.__table__)
        rows: list[Row] = []
        for card in cards:
            topic, extension = card["source"]["topic"]["code"], card.get("extension") or {}
            rows.append(
                (
                    table,
                    {
                        "card_uuid": card["uuid"],
                        "service_id": service_id,
                        "topic": topic,
                        "indicator": card["indicator"],
                        "issued_at": now,
                        "patient_key": patient_key,
                        "knowledge_version": (extension.get(EXT_KNOWLEDGE) or {}).get("version"),
                        # hashed by the writer thread, off the request path
                        "digest": (
                            topic,
                            card["indicator"],
                            card.get("summary", ""),
                            card.get("detail", ""),
                            extension.get(MME_EXTENSION),
                        ),
                    },
                )
            )
        self._put(rows)

    def held_back(self, service_id: str, topic: str, rule: str) -> None:
        """Keep one card the policy held back (for `feedback-report`). Never blocks."""
        self._put(
            [
                (
                    cast(Table, HeldBackCard.__table__),
                    {"service_id": service_id, "topic": topic, "rule": rule, "held_at": datetime.now(UTC)},
                )
            ]
        )

    def remember(self, statement: Executable, rows: list[dict[str, Any]]) -> None:
        """Keep rows for `statement` (the card policy's upsert of what a clinician was shown, its purge), run in the
        writer's next batch in the order kept, in a transaction of its own. Never blocks; dropped and counted like
        the rest."""
        self._put([(statement, row) for row in rows])

    def _put(self, rows: list[Row]) -> None:
        if self._pid != os.getpid():
            self._start()
        room = max(0, self._size - len(self._rows))  # threads racing here may overshoot by one call's rows
        self._rows.extend(rows[:room])  # one append of the call's rows; the writer wakes on its own clock
        if len(rows) > room:
            metrics.CARD_LOG_DROPPED.inc(len(rows) - room)

    def flush(self) -> int:
        """Write what is kept now, in batches, after the writer thread's batch in hand; return how many this call
        wrote (what could not be written was dropped and counted)."""
        written = 0
        with self._writing:
            while batch := self._drain(BATCH):
                written += self._write(batch)
        return written

    def _write(self, batch: list[Row]) -> int:
        """The cards' records in one transaction; each statement `remember`ed in its own, so that the card policy's
        memory failing (a deadlock between workers on PostgreSQL) never loses the records feedback is matched to."""
        by_target: dict[Table | Executable, list[dict[str, Any]]] = {}
        for target, row in batch:
            if isinstance(row.get("digest"), tuple):
                row = {**row, "digest": digest(*row["digest"])}
            by_target.setdefault(target, []).append(row)
        records = [(insert(target), rows) for target, rows in by_target.items() if isinstance(target, Table)]
        written = self._in_one_transaction(records) if records else 0
        for target, rows in by_target.items():
            if not isinstance(target, Table):
                written += self._in_one_transaction([(target, rows)])
        return written

    def _in_one_transaction(self, statements: Sequence[tuple[Executable, list[dict[str, Any]]]]) -> int:
        """Run the statements in one transaction; return the rows written, or drop and count them."""

        def run() -> None:
            with self.engine.begin() as conn:
                for statement, rows in statements:
                    conn.execute(statement, rows)

        count = sum(len(rows) for _, rows in statements)
        try:
            write(self.engine, run)
            return count
        except SQLAlchemyError as exc:
            log.warning("card log: %d records dropped (%s)", count, type(exc).__name__)
            metrics.CARD_LOG_DROPPED.inc(count)
            return 0

    def _start(self) -> None:
        """Start this process's writer (after gunicorn's fork: threads do not survive it)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._rows = deque()  # rows kept by the parent before the fork are the parent's to write
            threading.Thread(target=self._run, name="card-log", daemon=True).start()
            atexit.register(self.flush)  # a worker's graceful exit writes what it still holds

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def _drain(self, most: int) -> list[Row]:
        items: list[Row] = []
        while self._rows and len(items) < most:
            items.append(self._rows.popleft())
        return items
