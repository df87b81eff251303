"""`backpain-cds feedback-report`: per card topic, cards issued, cards the card policy held back (by rule), and how
often clinicians accepted or overrode our cards, and why; acceptance also per knowledge version.

Feedback names a card by its uuid only; the card log (`card_log.py`) says which topic and knowledge version each uuid
was, and which service issued it. Feedback on a card the log does not show that service issuing (invented by a client,
issued before the log existed, or dropped from the log under overload) is counted apart, under "unattributed", and
never in an acceptance rate. Attribution is decided here, when the report is read, not when feedback arrives: the card
log writes asynchronously (within about half a second), so a check at feedback time would race with it. Everything a
client sent (override reasons) is printed as printable text: terminal escapes are shown escaped. Acceptance is also
split by knowledge version; a card logged before the log recorded versions counts under "unknown".
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ..logs import safe
from .tables import FeedbackItem, HeldBackCard, IssuedCard

TOP_REASONS = 3


def summarise(engine: Engine, since: date | None = None) -> dict[str, Any]:
    """{"since", "items", "by_topic": {topic: {items, accepted, overridden, acceptanceRate, topOverrideReasons,
    byKnowledgeVersion}}, "by_knowledge_version": {version: {items, accepted, overridden, acceptanceRate}},
    "cards": {topic: {issued, heldBack: {rule: n}}}, "unattributed": {items, accepted, overridden}} (feedback on
    cards the log does not show us issuing)."""
    query = select(
        FeedbackItem.outcome, FeedbackItem.override_reason, IssuedCard.topic, IssuedCard.knowledge_version
    ).outerjoin(
        IssuedCard,
        (IssuedCard.card_uuid == FeedbackItem.card_uuid) & (IssuedCard.service_id == FeedbackItem.service_id),
    )
    start = datetime.combine(since, datetime.min.time(), UTC) if since is not None else None
    issued_query = select(IssuedCard.topic, func.count()).group_by(IssuedCard.topic)
    held_query = select(HeldBackCard.topic, HeldBackCard.rule, func.count()).group_by(
        HeldBackCard.topic, HeldBackCard.rule
    )
    if start is not None:
        query = query.where(FeedbackItem.outcome_timestamp >= start)
        issued_query = issued_query.where(IssuedCard.issued_at >= start)
        held_query = held_query.where(HeldBackCard.held_at >= start)
    counts: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    by_version: dict[str, dict[str, Counter[str]]] = {}  # topic (or "" for all topics) -> version -> outcomes
    cards: dict[str, dict[str, Any]] = {}
    unattributed: Counter[str] = Counter()
    with engine.connect() as conn:
        for topic, n in conn.execute(issued_query):
            cards.setdefault(topic, {"issued": 0, "heldBack": {}})["issued"] = n
        for topic, rule, n in conn.execute(held_query):
            cards.setdefault(topic, {"issued": 0, "heldBack": {}})["heldBack"][rule] = n
        for outcome, override, topic, version in conn.execute(query):
            if topic is None:  # not a card this service issued, as far as the card log knows
                unattributed[outcome] += 1
                continue
            version = version or "unknown"
            counts.setdefault(topic, Counter())[outcome] += 1
            for key in (topic, ""):
                by_version.setdefault(key, {}).setdefault(version, Counter())[outcome] += 1
            if outcome == "overridden":
                reasons.setdefault(topic, Counter())[_reason(override)] += 1
    by_topic = {}
    for topic in sorted(counts):
        by_topic[topic] = _rates(counts[topic]) | {
            "topOverrideReasons": [
                {"reason": r, "count": n} for r, n in reasons.get(topic, Counter()).most_common(TOP_REASONS)
            ],
            "byKnowledgeVersion": _by_version(by_version[topic]),
        }
    return {
        "since": since.isoformat() if since else None,
        "items": sum(t["items"] for t in by_topic.values()),
        "by_topic": by_topic,
        "by_knowledge_version": _by_version(by_version.get("", {})),
        "cards": dict(sorted(cards.items())),
        "unattributed": {
            "items": unattributed.total(),
            "accepted": unattributed["accepted"],
            "overridden": unattributed["overridden"],
        },
    }


def _rates(outcomes: Counter[str]) -> dict[str, Any]:
    accepted, overridden = outcomes["accepted"], outcomes["overridden"]
    return {
        "items": accepted + overridden,
        "accepted": accepted,
        "overridden": overridden,
        "acceptanceRate": round(accepted / (accepted + overridden), 3),
    }


def _by_version(versions: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
    return {version: _rates(versions[version]) for version in sorted(versions)}


def _reason(override: Any) -> str:
    reason = override.get("reason") if isinstance(override, dict) else None
    if isinstance(reason, dict):
        return str(reason.get("display") or reason.get("code") or "(no code)")[:80]
    return "(comment only)" if override else "(no reason given)"


def as_text(summary: dict[str, Any]) -> str:
    """The summary as a table a CDS committee reads: one row per topic, its top override reasons below."""
    lines = [
        f"Feedback since {summary['since'] or 'the beginning'}: {summary['items']} items",
        "",
        f"{'topic':<28}{'items':>7}{'accepted':>10}{'overridden':>12}{'acceptance':>12}",
    ]
    for topic, row in summary["by_topic"].items():
        lines.append(
            f"{safe(topic, 28):<28}{row['items']:>7}{row['accepted']:>10}{row['overridden']:>12}"
            f"{row['acceptanceRate']:>11.0%}"
        )
        lines += [f"    overridden: {safe(r['reason'], 80)} ({r['count']})" for r in row["topOverrideReasons"]]
    apart = summary["unattributed"]
    if apart["items"]:
        lines += [
            "",
            f"Not counted above: {apart['items']} items on cards the card log does not show this service "
            f"issuing ({apart['accepted']} accepted, {apart['overridden']} overridden)",
        ]
    lines += [
        "",
        "Cards issued and held back by the card policy (off at a hook, snoozed after an override, an unchanged repeat)",
        f"{'topic':<28}{'issued':>8}{'held back':>11}{'off':>6}{'snooze':>8}{'repeat':>8}"
        f"{'overridden':>12}{'acceptance':>12}",
    ]
    for topic, row in summary["cards"].items():
        held = row["heldBack"]
        fb = summary["by_topic"].get(topic)
        rate = f"{fb['acceptanceRate']:>11.0%}" if fb else f"{'-':>11}"
        lines.append(
            f"{safe(topic, 28):<28}{row['issued']:>8}{sum(held.values()):>11}{held.get('off', 0):>6}"
            f"{held.get('snooze', 0):>8}{held.get('repeat', 0):>8}{fb['overridden'] if fb else 0:>12} "
            f"{rate}"
        )
    lines += ["", f"{'knowledge version':<28}{'items':>7}{'accepted':>10}{'overridden':>12}{'acceptance':>12}"]
    for version, row in summary["by_knowledge_version"].items():
        lines.append(
            f"{safe(version, 28):<28}{row['items']:>7}{row['accepted']:>10}{row['overridden']:>12}"
            f"{row['acceptanceRate']:>11.0%}"
        )
    return "\n".join(lines)
