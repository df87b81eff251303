"""The JWKS refetch limit per issuer, shared by every worker and replica through the database, with the keys fetched.

A per-worker limit lets an attacker sending tokens with unknown `kid`s make every worker of every replica fetch an
issuer's JWKS once a minute. Here one claim per issuer per interval is granted across all of them (an UPDATE that
only one caller can win), and the winner stores what it fetched, so the other workers take the new keys from the
database instead of fetching them. When the database fails, each worker falls back to its own limit.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .database import write
from .tables import JwksFetch

log = logging.getLogger(__name__)


def _key(issuer: str) -> str:
    return hashlib.sha256(issuer.encode()).hexdigest()


class SharedJwks:
    """Claims issuers' fetch slots and keeps their fetched JWKS in the shared database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._table = cast(Table, JwksFetch.__table__)

    def claim(self, issuer: str, now: float, interval: float) -> bool | None:
        """True for the one caller that may fetch now (every worker and replica together), False for the others,
        None when the database cannot say (the caller then applies its own limit)."""
        key, table = _key(issuer), self._table

        def take() -> bool:
            with self.engine.begin() as conn:
                won = (
                    conn.execute(
                        update(table)
                        .where(table.c.issuer_key == key, table.c.next_fetch <= now)
                        .values(next_fetch=now + interval)
                    ).rowcount
                    == 1
                )
            if won:
                return True
            try:  # the issuer's first fetch: whoever inserts its row wins
                with self.engine.begin() as conn:
                    conn.execute(insert(table).values(issuer_key=key, next_fetch=now + interval, fresh_until=0.0))
                return True
            except IntegrityError:
                return False

        try:
            return write(self.engine, take)
        except SQLAlchemyError as exc:
            log.warning(
                "JWKS fetch limit: database unavailable (%s); this worker's own limit applies", type(exc).__name__
            )
            return None

    def store(self, issuer: str, jwks: dict[str, Any], fresh_until: float) -> None:
        table = self._table

        def save() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    update(table).where(table.c.issuer_key == _key(issuer)).values(jwks=jwks, fresh_until=fresh_until)
                )

        try:
            write(self.engine, save)
        except SQLAlchemyError as exc:
            log.warning("JWKS not shared: database unavailable (%s)", type(exc).__name__)

    def load(self, issuer: str) -> tuple[dict[str, Any], float] | None:
        """The issuer's JWKS as last fetched by any worker, and until when it is fresh; None when there is none."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(self._table.c.jwks, self._table.c.fresh_until).where(
                        self._table.c.issuer_key == _key(issuer)
                    )
                ).first()
        except SQLAlchemyError as exc:
            log.warning("JWKS not read from the database (%s)", type(exc).__name__)
            return None
        return (row.jwks, row.fresh_until) if row is not None and isinstance(row.jwks, dict) else None
