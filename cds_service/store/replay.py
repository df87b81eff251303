"""The client-JWT replay cache: each accepted token's `jti` is claimed once in the shared database, until it expires.

A unique key in the database, not a per-process set, decides: whichever worker or replica sees a token first wins,
every other sight of it is a replay. If the database cannot be written the call fails closed (503), never open.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import cast

from sqlalchemy import Engine, Table, bindparam, delete, insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import ServiceUnavailable
from .database import write
from .statements import Autocommit, Prepared, transaction
from .tables import SeenToken

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 60


class Replayed(Exception):
    """This issuer's `jti` was already claimed by an accepted token."""


class ReplayCache:
    """Claims (issuer, jti) pairs in the database; purges expired rows at most once a minute per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._table = cast(Table, SeenToken.__table__)
        # one statement compiled once, run on the pool's DBAPI connection (`statements.py`): the floor's cost
        self._insert = Prepared(
            engine, insert(self._table).values(token_key=bindparam("token_key"), expires_at=bindparam("expires_at"))
        )
        # on SQLite, as the floor does it: one autocommit statement on a connection of the thread's own
        self._autocommit = Autocommit(engine, self._insert) if engine.dialect.name == "sqlite" else None
        self._next_purge = 0.0
        self._lock = threading.Lock()

    def claim(self, issuer: str, jti: str, keep_until: float) -> None:
        """Record the pair; raise Replayed if it was seen before, ServiceUnavailable if the store fails."""
        row = {
            "token_key": hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest(),
            "expires_at": int(keep_until) + 1,
        }
        now = time.time()

        def insert_row() -> None:
            if self._autocommit is not None:
                self._autocommit.execute(row)
                return
            with transaction(self.engine) as cursor:
                cursor.execute(self._insert, row)

        try:
            write(self.engine, insert_row)
        except IntegrityError:
            raise Replayed() from None
        except SQLAlchemyError as exc:
            log.error("replay cache unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the token store is unavailable; try again", reason="replay-cache") from None
        if now >= self._next_purge:
            self._purge(now)

    def _purge(self, now: float) -> None:
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY_SECONDS

        def delete_expired() -> None:
            with self.engine.begin() as conn:
                conn.execute(delete(self._table).where(self._table.c.expires_at < int(now)))

        try:
            write(self.engine, delete_expired)
        except SQLAlchemyError as exc:  # the token was claimed; expired rows wait for the next purge
            log.warning("replay cache purge failed: %s", type(exc).__name__)
