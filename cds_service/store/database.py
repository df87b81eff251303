"""The database every worker and replica shares: one SQLAlchemy engine per process, tables created at start-up.

SQLite (a file, by default) or PostgreSQL (by URL, when replicas share one). Feedback and the client-JWT replay
cache are its only state; `tables.py` declares every table on `Base`.
"""

from __future__ import annotations

import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError

from .tables import Base, add_missing_columns

SCHEMA_LOCK = 7_204_311  # pg_advisory_xact_lock key: replicas starting together create the tables one at a time
DEFAULT_TIMEOUT_SECONDS = 3.0  # BACKPAIN_CDS_DATABASE_TIMEOUT
# SQLite's own busy handler sleeps whole milliseconds (1, 2, 5, 10...) when another worker holds the write lock,
# which idles a worker far longer than a commit takes (~0.1 ms). `write` retries at once instead, after a pause
# of 50-300 us, for up to WRITE_RETRY_SECONDS.
WRITE_RETRY_SECONDS = 2.0
# WAL pages before a commit copies them into the database (SQLite's default: 1,000). Random keys (the card log's
# before its uuids were time-ordered, cards.card_uuid) dirty about a page of their index per card; over 4,000 pages
# most index pages recur, and are copied once, not once for each 1,000: a third less CPU a logged card (6.4 against
# 11.4 us on a 100,000-card log). The WAL file then grows to about 16 MB.
WAL_PAGES = 4000
# Each connection's page cache, in KiB (SQLite's default: 2,000 KiB). The card log appends (time-ordered keys) and
# the replay cache's random keys miss a cache of either size once the table outgrows it, so the default only grew
# each worker's RSS, by 4.7 MB over 4,000 calls; with 256 KiB, one step of 1.8 MB in the first few hundred calls
# (benchmarks/hooks.py), then +0.6 MB at most over 3,500. Measured with 256 KiB against the default: the card log's
# writer 4.95 against 4.99 us a card (benchmarks/card_log.py), a replay-cache insert on 300,000 rows 27 against 26 us.
# Reads (the card policy's memory, `feedback-report` over a large log) were not measured.
CACHE_KIB = 256
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once across workers; synchronous=NORMAL commits without an fsync per
    # transaction (a crash of the process loses nothing; a power cut may lose the last commits), which keeps the
    # replay-cache insert on every hook call well under a millisecond.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=0")  # `write` retries instead
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


class _Watchdog:
    """Cuts a PostgreSQL connection held (checked out of the pool) longer than `seconds`.

    A server that hangs (paused, or its host gone silent) rather than refusing still has its kernel accept and
    acknowledge, so no TCP timeout fires, `statement_timeout` never runs, and libpq has no client-side one: the call
    would wait forever. One thread per process shuts such a connection's socket down, so the waiting call fails at
    once (503) and the pool discards the connection.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._held: dict[int, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._pid: int | None = None
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:  # the lock may have been held by the parent's thread at the fork
        self._lock, self._held, self._pid = threading.Lock(), {}, None

    def hold(self, dbapi_connection: Any, *_: Any) -> None:
        if self._pid != os.getpid():  # gunicorn forks after the engine is made: one thread per worker
            with self._lock:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    threading.Thread(target=self._run, name="db-watchdog", daemon=True).start()
        with self._lock:
            self._held[id(dbapi_connection)] = (time.monotonic() + self.seconds, dbapi_connection)

    def release(self, dbapi_connection: Any, *_: Any) -> None:
        with self._lock:
            self._held.pop(id(dbapi_connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(min(self.seconds / 4, 0.25))
            now = time.monotonic()
            with self._lock:
                late = [key for key, (deadline, _) in self._held.items() if deadline <= now]
                cut = [self._held.pop(key)[1] for key in late]
            for dbapi_connection in cut:
                with suppress(Exception):  # already closed, or not a psycopg connection
                    fd = dbapi_connection.pgconn.socket
                    with socket.socket(fileno=os.dup(fd)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)


def _ping_on_checkout(watchdog: _Watchdog) -> Callable[..., None]:
    """pool_pre_ping pings before any checkout event, outside the watchdog; this ping runs under it instead, and a
    dead connection is replaced (DisconnectionError makes the pool connect afresh)."""

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        watchdog.hold(dbapi_connection)
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception:
            watchdog.release(dbapi_connection)
            raise DisconnectionError() from None

    return checkout


class Unusable(Exception):
    """The database cannot be opened or created: `str()` is one line without credentials."""


def connect(url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Engine:
    """Open the engine and create any missing table; safe when several replicas start at once. Raise `Unusable`
    when the folder of a SQLite file cannot be created or the database cannot be opened.

    A database that does not answer must not hang a call or a readiness probe: connecting, each statement
    (`statement_timeout`), waiting for a pooled connection, and holding one (the watchdog) are each bounded by
    `timeout` seconds, so a hung PostgreSQL gives 503 within a few seconds.
    """
    try:
        return _connect(url, timeout)
    except OSError as exc:
        raise Unusable(f"cannot create the folder ({exc.strerror})") from None
    except SQLAlchemyError as exc:  # the driver's first line: host and reason, never the password
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise Unusable(f"cannot open the database ({reason})") from None


def _connect(url: str, timeout: float) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    postgres = url.startswith("postgresql")
    if postgres:  # libpq's connect_timeout is whole seconds, 2 at least
        connect_args: dict[str, Any] = {
            "connect_timeout": max(2, math.ceil(timeout)),
            "options": f"-c statement_timeout={int(timeout * 1000)}",
        }
    else:
        connect_args = {"timeout": 0}  # the driver's own wait on a locked database: none, `write` retries
    # No pool pre-ping: PostgreSQL connections are pinged on checkout under the watchdog (below); a SQLite file
    # cannot drop, and a ping would be a second statement on every replay-cache insert.
    engine = create_engine(url, pool_pre_ping=False, pool_timeout=timeout, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if postgres:
        watchdog = _Watchdog(timeout)
        event.listen(engine, "checkout", _ping_on_checkout(watchdog))
        event.listen(engine, "checkin", watchdog.release)
        event.listen(engine, "close", watchdog.release)
    _create_tables(engine)
    # `serve` builds the app in gunicorn's master and then forks: leave no pooled connection for the workers to
    # share (each opens its own on first use).
    engine.dispose()
    return engine


def _create_tables(engine: Engine) -> None:
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                Base.metadata.create_all(conn)
                add_missing_columns(conn)
            return
        except DBAPIError:  # another process created a table between our check and our CREATE: look again
            if attempt == 2:
                raise
            time.sleep(0.2)


def write(engine: Engine, work: Callable[[], T]) -> T:
    """Run `work` (one short write transaction); on SQLite retry it while another writer holds the lock."""
    if engine.dialect.name != "sqlite":
        return work()
    give_up = time.monotonic() + WRITE_RETRY_SECONDS
    while True:
        try:
            return work()
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() > give_up:
                raise
            time.sleep(random.uniform(0.00005, 0.0003))


def ping(engine: Engine) -> None:
    """Raise a SQLAlchemy error when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(select(1))
