"""`backpain-cds feedback-report`: per card topic, how often clinicians accepted or overrode our cards, and why.

Feedback names a card by its uuid only; the card log (`card_log.py`) says which topic each uuid was. Feedback on a
card we have no record of (issued before the log existed, or dropped under overload) counts under "unknown".
"""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from .tables import FeedbackItem, IssuedCard

TOP_REASONS = 3


def summarise(engine: Engine, since: date | None = None) -> dict[str, Any]:
    """{"since", "items", "by_topic": {topic: {items, accepted, overridden, acceptanceRate, topOverrideReasons}}}."""
    query = select(FeedbackItem.outcome, FeedbackItem.override_reason, IssuedCard.topic).outerjoin(
        IssuedCard, IssuedCard.card_uuid == FeedbackItem.card_uuid)
    if since is not None:
        query = query.where(FeedbackItem.outcome_timestamp >= datetime.combine(since, datetime.min.time(), UTC))
    counts: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    with engine.connect() as conn:
        for outcome, override, topic in conn.execute(query):
            topic = topic or "unknown"
            counts.setdefault(topic, Counter())[outcome] += 1
            if outcome == "overridden":
                reasons.setdefault(topic, Counter())[_reason(override)] += 1
    by_topic = {}
    for topic in sorted(counts):
        accepted, overridden = counts[topic]["accepted"], counts[topic]["overridden"]
        by_topic[topic] = {
            "items": accepted + overridden, "accepted": accepted, "overridden": overridden,
            "acceptanceRate": round(accepted / (accepted + overridden), 3),
            "topOverrideReasons": [{"reason": r, "count": n}
                                   for r, n in reasons.get(topic, Counter()).most_common(TOP_REASONS)]}
    return {"since": since.isoformat() if since else None, "items": sum(t["items"] for t in by_topic.values()),
            "by_topic": by_topic}


def _reason(override: Any) -> str:
    reason = override.get("reason") if isinstance(override, dict) else None
    if isinstance(reason, dict):
        return str(reason.get("display") or reason.get("code") or "(no code)")[:80]
    return "(comment only)" if override else "(no reason given)"


def as_text(summary: dict[str, Any]) -> str:
    """The summary as a table a CDS committee reads: one row per topic, its top override reasons below."""
    lines = [f"Feedback since {summary['since'] or 'the beginning'}: {summary['items']} items", "",
             f"{'topic':<28}{'items':>7}{'accepted':>10}{'overridden':>12}{'acceptance':>12}"]
    for topic, row in summary["by_topic"].items():
        lines.append(f"{topic:<28}{row['items']:>7}{row['accepted']:>10}{row['overridden']:>12}"
                     f"{row['acceptanceRate']:>11.0%}")
        lines += [f"    overridden: {r['reason']} ({r['count']})" for r in row["topOverrideReasons"]]
    return "\n".join(lines)
