"""The schema of the shared database: every table we keep, declared on one metadata that `database` creates.

No patient data: card uuids, topics, feedback outcomes and reasons, hashes of client token ids, and the card
policy's memory under keyed hashes (HMAC) of patient and user ids (`policy.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, DateTime, Float, Integer, String, func, inspect, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CARD_MAX_CHARS = 64  # a uuid is 36; the column holds 64
KEY_CHARS = 64  # an HMAC-SHA256 in hex
DIGEST_CHARS = 32


class Base(DeclarativeBase):
    pass


class IssuedCard(Base):
    __tablename__ = "issued_cards"

    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # added for the card policy (issue 24): feedback on a card finds its patient (hashed) and its findings
    patient_key: Mapped[str | None] = mapped_column(String(KEY_CHARS), nullable=True)
    digest: Mapped[str | None] = mapped_column(String(DIGEST_CHARS), nullable=True)
    # the knowledge version that issued it (`backpain-cds knowledge`); NULL for cards logged before it was recorded
    knowledge_version: Mapped[str | None] = mapped_column(String(32), nullable=True)


class FeedbackItem(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    card_uuid: Mapped[str] = mapped_column(String(CARD_MAX_CHARS), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_suggestions: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class JwksFetch(Base):
    """Per trusted issuer: when its JWKS URL may next be fetched (by any worker of any replica) and the keys fetched."""

    __tablename__ = "jwks_fetches"

    issuer_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the issuer: a fixed width
    next_fetch: Mapped[float] = mapped_column(Float)  # epoch seconds
    fresh_until: Mapped[float] = mapped_column(Float)  # epoch seconds; 0 before any successful fetch
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # public keys only


class SeenToken(Base):
    __tablename__ = "seen_tokens"

    # sha256 of issuer and jti: a fixed width whatever the client sends, and no token content at rest
    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch seconds; the row goes after this


class PolicySeen(Base):
    """The card policy's repeat rule: which findings (digest) of a family this clinician was last shown for this
    patient, and when (epoch seconds). The row goes after `expires_at`."""

    __tablename__ = "policy_seen"

    user_key: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)
    patient_key: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_CHARS))
    seen_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class PolicySnooze(Base):
    """Snooze after override: the family stays silent for this patient until `expires_at` while its findings
    (digest) are those of the overridden card."""

    __tablename__ = "policy_snoozes"

    patient_key: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_CHARS))
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class HeldBackCard(Base):
    """A card the policy held back, by family and rule (off, snooze, repeat): what `feedback-report` counts."""

    __tablename__ = "held_back_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(16))
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


_ADDED_COLUMNS = {
    "issued_cards": (
        ("patient_key", f"VARCHAR({KEY_CHARS})"),
        ("digest", f"VARCHAR({DIGEST_CHARS})"),
        ("knowledge_version", "VARCHAR(32)"),
    )
}


def add_missing_columns(conn: Connection) -> None:
    """Columns added to a table after its first release (create_all makes only missing tables): ALTER them in."""
    inspector = inspect(conn)
    for table, columns in _ADDED_COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name, sql_type in columns:
            if name not in have:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))
