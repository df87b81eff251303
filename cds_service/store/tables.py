"""The schema of the shared database: every table we keep, declared on one metadata that `database` creates.

No patient data: card uuids, topics, feedback outcomes and reasons, and hashes of client token ids.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CARD_MAX_CHARS = 64  # a uuid is 36; the column holds 64


class Base(DeclarativeBase):
    pass


class IssuedCard(Base):
    __tablename__ = "issued_cards"

    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


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


class SeenToken(Base):
    __tablename__ = "seen_tokens"

    # sha256 of issuer and jti: a fixed width whatever the client sends, and no token content at rest
    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch seconds; the row goes after this
