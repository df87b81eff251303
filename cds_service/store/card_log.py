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
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, insert
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..cards import EXT_KNOWLEDGE, MME_EXTENSION
from ..policy.decide import digest
from .database import write
from .statements import Prepared, transaction
from .tables import HeldBackCard, IssuedCard

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BATCH = 500
FLUSH_SECONDS = 0.5
# A statement and one row of it: its values in the statement's order (`Prepared.names`, converted), or by name
Row = tuple[Prepared, Any]
# The columns of the records, in the order of their INSERTs (the tables' order, checked at start): the request thread
# writes a record as this tuple, its time converted once a call and its findings (`digest`'s arguments) in place of
# their digest, which the writer works out.
ISSUED = ("card_uuid", "service_id", "topic", "indicator", "issued_at", "patient_key", "digest", "knowledge_version")
HELD_BACK = ("service_id", "topic", "rule", "held_at")


class CardLog:
    """A bounded deque of issued cards and the thread that writes them; the thread starts in each worker."""

    def __init__(self, engine: Engine, queue_size: int = QUEUE_SIZE) -> None:
        self.engine = engine
        self._rows: deque[Row] = deque()
        self._size = queue_size
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # held by whoever drains and writes: flush() waits for a batch in hand
        self._issued = _insert(engine, cast(Table, IssuedCard.__table__), ISSUED, "issued_at")
        self._held_back = _insert(engine, cast(Table, HeldBackCard.__table__), HELD_BACK, "held_at")

    def record(self, service_id: str, cards: list[dict], patient_key: str | None = None) -> None:
        """Keep the response's cards for the writer; drop (and count) what does not fit. Never blocks."""
        issued, issued_at = self._issued, self._issued.convert("issued_at", datetime.now(UTC))
        rows: list[Row] = []
        for card in cards:
            topic, indicator = card["source"]["topic"]["code"], card["indicator"]
            extension = card.get("extension") or {}
            # hashed by the writer thread, off the request path
            findings = (topic, indicator, card.get("summary", ""), card.get("detail", ""), extension.get(MME_EXTENSION))
            version = (extension.get(EXT_KNOWLEDGE) or {}).get("version")
            row = (card["uuid"], service_id, topic, indicator, issued_at, patient_key, findings, version)
            rows.append((issued, row))
        self._put(rows)

    def held_back(self, service_id: str, topic: str, rule: str) -> None:
        """Keep one card the policy held back (for `feedback-report`). Never blocks."""
        self._put([(self._held_back, (service_id, topic, rule, self._held_back.convert("held_at", datetime.now(UTC))))])

    def remember(self, statement: Prepared, rows: list[dict[str, Any]]) -> None:
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
        memory failing (a deadlock between workers on PostgreSQL) never loses the records feedback is matched to.
        A card's findings are hashed once a batch: its record and the policy's memory of it carry the same text."""
        by_statement: dict[Prepared, list[Any]] = {}
        for statement, row in batch:
            by_statement.setdefault(statement, []).append(row)
        digests: dict[tuple[Any, ...], str] = {}
        if issued := by_statement.get(self._issued):
            # in key order: a card's uuid begins with its millisecond (cards.card_uuid), the rest random; sorted, a
            # batch walks the key's index once, at its end
            issued.sort(key=itemgetter(0))
        records = {self._issued, self._held_back}
        written = self._in_one_transaction([(s, rows) for s, rows in by_statement.items() if s in records], digests)
        for statement, rows in by_statement.items():
            if statement not in records:
                written += self._in_one_transaction([(statement, rows)], digests)
        return written

    def _in_one_transaction(
        self, statements: Sequence[tuple[Prepared, list[Any]]], digests: dict[tuple[Any, ...], str]
    ) -> int:
        """Run the statements in one transaction on the driver (`statements.py`), their parameters made before it
        opens: SQLAlchemy's execution layer did per-row work in this thread, whose CPU and GIL the worker's calls
        share (without it, two workers under wrk served 12-28% more of Brenda Jackson's calls a second)."""
        count = sum(len(rows) for _, rows in statements)
        if not count:
            return 0
        try:
            ready = [(statement, _params(statement, rows, digests)) for statement, rows in statements]
        except (KeyError, TypeError, ValueError) as exc:  # a row without a column, a value its type cannot take
            return _dropped(count, exc)

        def run() -> None:
            with transaction(self.engine) as cursor:
                for statement, params in ready:
                    cursor.execute_params(statement, params)

        try:
            write(self.engine, run)  # retried while SQLite is locked
            return count
        except SQLAlchemyError as exc:
            return _dropped(count, exc)

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
            try:
                self.flush()
            except Exception:  # a bug here must not end the writer for the life of the worker
                log.exception("card log: batch not written")

    def _drain(self, most: int) -> list[Row]:
        items: list[Row] = []
        while self._rows and len(items) < most:
            items.append(self._rows.popleft())
        return items


def _insert(engine: Engine, table: Table, columns: tuple[str, ...], converted: str) -> Prepared:
    """Every column of `table` but its autoincremented id, given by name; no RETURNING on PostgreSQL. `columns` must
    be their order and `converted` the one column the driver cannot take as is (the rows are made as tuples)."""
    names = [c.name for c in table.columns if c is not table.autoincrement_column]
    statement = Prepared(engine, insert(table).inline().values({name: bindparam(name) for name in names}))
    if statement.names != columns or not statement.converted <= {converted}:
        raise RuntimeError(f"{table.name}: the card log's rows do not match its INSERT ({statement.names})")
    return statement


def _params(statement: Prepared, rows: list[Any], digests: dict[tuple[Any, ...], str]) -> list[Any]:
    """The rows as the driver takes them: a row by name made a tuple, findings in a `digest` column hashed (once a
    batch for the same findings)."""
    slot = statement.names.index("digest") if "digest" in statement.names else None
    out = []
    for row in rows:
        if type(row) is not tuple:
            row = statement.row(row)
        if slot is not None and isinstance(findings := row[slot], tuple):
            if (hashed := digests.get(findings)) is None:
                hashed = digests[findings] = digest(*findings)
            row = (*row[:slot], hashed, *row[slot + 1 :])
        out.append(statement.driver_row(row))
    return out


def _dropped(count: int, exc: Exception) -> int:
    log.warning("card log: %d records dropped (%s)", count, type(exc).__name__)
    metrics.CARD_LOG_DROPPED.inc(count)
    return 0
