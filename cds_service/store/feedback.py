"""Validates and stores CDS Hooks feedback in the shared database (SQLite by default, PostgreSQL by URL).

Validation is strict and database-independent: every limit a column has (length, NUL, timestamp range) is checked
here, so the same input gets the same 400 on SQLite and on PostgreSQL, never a 500 from a column.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import BadHookRequest, PayloadTooLarge, ServiceUnavailable
from .database import write
from .tables import CARD_MAX_CHARS, FeedbackItem

log = logging.getLogger(__name__)

OUTCOMES = frozenset({"accepted", "overridden"})
# RFC 3339 date-time ("full-date T full-time", offset required), as CDS Hooks' outcomeTimestamp is defined
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Feedback:
    card: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: list[dict[str, str]] | None
    override_reason: dict[str, Any] | None


def _timestamp(value: Any, where: str) -> datetime:
    field = f"{where}.outcomeTimestamp"
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise BadHookRequest(
            f"{field} must be an RFC 3339 date-time with a time zone, e.g. 2026-11-27T10:00:00Z", field=field
        )
    try:  # fractions beyond microseconds are cut; the value is kept in UTC
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.upper().replace("Z", "+00:00")))
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadHookRequest(f"{field} is not a valid date-time", field=field) from None


def _has_nul(value: Any) -> bool:
    """True when a NUL character hides in any string, key or value (PostgreSQL text columns refuse it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_feedback(body: Any, max_items: int, max_item_bytes: int = 4096) -> list[Feedback]:
    """Validate a feedback body (CDS Hooks section 6); raise BadHookRequest naming the bad field, or
    PayloadTooLarge past `max_items` items or for an item over `max_item_bytes` as JSON."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise BadHookRequest('the body must be {"feedback": [item, ...]} with at least one item', field="feedback")
    if len(body["feedback"]) > max_items:
        raise PayloadTooLarge(
            f"at most {max_items} feedback items per post (BACKPAIN_CDS_FEEDBACK_MAX_ITEMS); "
            f"this one has {len(body['feedback'])}",
            field="feedback",
            limit=max_items,
        )
    for i, item in enumerate(body["feedback"]):  # what we store per item is bounded, not only the whole body
        try:
            size = len(orjson.dumps(item))
        except TypeError:  # nested deeper than JSON can be written (orjson reads 1,024 levels, writes 255)
            where = f"feedback[{i}]"
            raise BadHookRequest(f"{where} is nested too deep (at most 255 levels)", field=where) from None
        if size > max_item_bytes:
            raise PayloadTooLarge(
                f"feedback[{i}] is over the {max_item_bytes} byte limit per item "
                "(BACKPAIN_CDS_FEEDBACK_MAX_ITEM_BYTES)",
                field=f"feedback[{i}]",
                limit=max_item_bytes,
            )
    if _has_nul(body["feedback"]):
        raise BadHookRequest("feedback must not contain NUL characters", field="feedback")
    items = []
    for i, item in enumerate(body["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise BadHookRequest(f"{where} must be an object", field=where)
        card, outcome = item.get("card"), item.get("outcome")
        if not isinstance(card, str) or not card or len(card) > CARD_MAX_CHARS:
            raise BadHookRequest(
                f"{where}.card must be the card's uuid (1 to {CARD_MAX_CHARS} characters)", field=f"{where}.card"
            )
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise BadHookRequest(f"{where}.outcome must be 'accepted' or 'overridden'", field=f"{where}.outcome")
        accepted = item.get("acceptedSuggestions")
        if outcome == "accepted" and (
            not isinstance(accepted, list)
            or not accepted
            or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in accepted)
        ):
            raise BadHookRequest(
                f"{where}.acceptedSuggestions must list the accepted suggestions' ids",
                field=f"{where}.acceptedSuggestions",
            )
        override = item.get("overrideReason")
        if override is not None and (
            not isinstance(override, dict)
            or not (isinstance(override.get("reason"), dict) or isinstance(override.get("userComment"), str))
        ):
            raise BadHookRequest(
                f"{where}.overrideReason needs a reason Coding or a userComment", field=f"{where}.overrideReason"
            )
        items.append(
            Feedback(
                card,
                outcome,
                _timestamp(item.get("outcomeTimestamp"), where),
                accepted if outcome == "accepted" else None,
                override,
            )
        )
    return items


class FeedbackStore:
    """Feedback persisted with SQLAlchemy in the shared database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, service_id: str, items: list[Feedback]) -> int:
        """Store the items in one transaction; raise ServiceUnavailable (503) when the database cannot take them."""

        def insert_rows() -> None:
            with Session(self.engine) as session, session.begin():
                session.add_all(
                    FeedbackItem(
                        service_id=service_id,
                        card_uuid=f.card,
                        outcome=f.outcome,
                        outcome_timestamp=f.outcome_timestamp,
                        accepted_suggestions=f.accepted_suggestions,
                        override_reason=f.override_reason,
                    )
                    for f in items
                )

        try:
            write(self.engine, insert_rows)
        except SQLAlchemyError as exc:
            log.error("feedback not stored: %s", type(exc).__name__)
            raise ServiceUnavailable("the feedback store is unavailable; try again", reason="database") from None
        return len(items)

    def for_card(self, card_uuid: str) -> list[FeedbackItem]:
        with Session(self.engine) as session:
            return list(session.scalars(select(FeedbackItem).where(FeedbackItem.card_uuid == card_uuid)))
