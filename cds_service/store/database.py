"""The database every worker and replica shares: one SQLAlchemy engine per process, tables created at start-up.

SQLite (a file, by default) or PostgreSQL (by URL, when replicas share one). Feedback and the client-JWT replay
cache are its only state; `tables.py` declares every table on `Base`.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from .tables import Base, add_missing_columns

SCHEMA_LOCK = 7_204_311  # pg_advisory_xact_lock key: replicas starting together create the tables one at a time
CONNECT_TIMEOUT_SECONDS = 3
# SQLite's own busy handler sleeps whole milliseconds (1, 2, 5, 10...) when another worker holds the write lock,
# which idles a worker far longer than a commit takes (~0.1 ms). `write` retries at once instead, after a pause
# of 50-300 us, for up to WRITE_RETRY_SECONDS.
WRITE_RETRY_SECONDS = 2.0
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once across workers; synchronous=NORMAL commits without an fsync per
    # transaction (a crash of the process loses nothing; a power cut may lose the last commits), which keeps the
    # replay-cache insert on every hook call well under a millisecond.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=0")  # `write` retries instead
    cursor.close()


def connect(url: str) -> Engine:
    """Open the engine and create any missing table; safe when several replicas start at once."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # A database that does not answer must not hang a call or a readiness probe: connect within a few seconds.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    if url.startswith("sqlite"):
        connect_args = {"timeout": 0}  # the driver's own wait on a locked database: none, `write` retries
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
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
