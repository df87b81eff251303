"""Stores CDS Hooks feedback; the only code that touches the database (SQLite by default, any SQLAlchemy URL)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Integer, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from .errors import BadHookRequest

OUTCOMES = frozenset({"accepted", "overridden"})


class Base(DeclarativeBase):
    pass


class FeedbackItem(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    card_uuid: Mapped[str] = mapped_column(String(100), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_suggestions: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@dataclass(frozen=True)
class Feedback:
    card: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: list[dict[str, str]] | None
    override_reason: dict[str, Any] | None


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise BadHookRequest(f"{where}.outcomeTimestamp must be an RFC 3339 string", field=f"{where}.outcomeTimestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadHookRequest(f"{where}.outcomeTimestamp is not a valid timestamp",
                             field=f"{where}.outcomeTimestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_feedback(body: Any) -> list[Feedback]:
    """Validate a feedback body (CDS Hooks section 6); raise BadHookRequest naming the bad field."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise BadHookRequest("the body must be {\"feedback\": [item, ...]} with at least one item", field="feedback")
    items = []
    for i, item in enumerate(body["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise BadHookRequest(f"{where} must be an object", field=where)
        card, outcome = item.get("card"), item.get("outcome")
        if not isinstance(card, str) or not card:
            raise BadHookRequest(f"{where}.card must be the card's uuid", field=f"{where}.card")
        if outcome not in OUTCOMES:
            raise BadHookRequest(f"{where}.outcome must be 'accepted' or 'overridden'", field=f"{where}.outcome")
        accepted = item.get("acceptedSuggestions")
        if outcome == "accepted" and (not isinstance(accepted, list) or not accepted or not all(
                isinstance(s, dict) and isinstance(s.get("id"), str) for s in accepted)):
            raise BadHookRequest(f"{where}.acceptedSuggestions must list the accepted suggestions' ids",
                                 field=f"{where}.acceptedSuggestions")
        override = item.get("overrideReason")
        if override is not None and (not isinstance(override, dict) or not (
                isinstance(override.get("reason"), dict) or isinstance(override.get("userComment"), str))):
            raise BadHookRequest(f"{where}.overrideReason needs a reason Coding or a userComment",
                                 field=f"{where}.overrideReason")
        items.append(Feedback(card, outcome, _timestamp(item.get("outcomeTimestamp"), where),
                              accepted if outcome == "accepted" else None, override))
    return items


class FeedbackStore:
    """Feedback persisted with SQLAlchemy; tables are created on start-up."""

    def __init__(self, database_url: str) -> None:
        if database_url.startswith("sqlite:///"):
            Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        Base.metadata.create_all(self.engine)
        # `serve` builds the app in gunicorn's master and then forks: leave no pooled connection for the workers
        # to share (each opens its own on first use).
        self.engine.dispose()

    def add(self, service_id: str, items: list[Feedback]) -> int:
        with Session(self.engine) as session, session.begin():
            session.add_all(FeedbackItem(service_id=service_id, card_uuid=f.card, outcome=f.outcome,
                                         outcome_timestamp=f.outcome_timestamp,
                                         accepted_suggestions=f.accepted_suggestions,
                                         override_reason=f.override_reason) for f in items)
        return len(items)

    def for_card(self, card_uuid: str) -> list[FeedbackItem]:
        with Session(self.engine) as session:
            return list(session.scalars(select(FeedbackItem).where(FeedbackItem.card_uuid == card_uuid)))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))
