"""Which of a response's cards the policy holds back, and why: a pure function of the cards, the hook, what this
clinician was shown, what is snoozed for this patient, and the time. The store (`store/policy.py`) supplies the
memory; this module never touches it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import FLOOR, CardPolicy

if TYPE_CHECKING:
    from ..cards import Card

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
OFF, SNOOZE, REPEAT = "off", "snooze", "repeat"
RULES = (OFF, SNOOZE, REPEAT)
# Wording that drifts with the clock ("last ordered 2017-03-02, 9 years ago", "onset 2026-11-20 (1 week ago)") is
# not a finding: it is left out of the digest, so a card does not count as changed because a day passed. What goes
# is what r"\b\d+ (?:day|week|month|year)s? ago\b|\btoday\b" matches, found by two patterns that open with a literal,
# which `re` looks for with a fast search; that one opens with \b\d and is tried at every character (45 ns each,
# on every card of every call). "N units ago" is matched in the reversed text.
_AGO_REVERSED = re.compile(r"oga (?<!\woga )s?(?:yad|keew|htnom|raey) \d+\b")
_TODAY = re.compile(r"today(?<!\wtoday)\b")


def without_drift(text: str) -> str:
    """`text` without its relative durations ("9 years ago", "today")."""
    if "ago" in text:
        text = _AGO_REVERSED.sub("", text[::-1])[::-1]
    return _TODAY.sub("", text) if "today" in text else text


class Candidate(NamedTuple):
    """A card as the policy sees it: its family, indicator, the digest of its findings, whether a draft is part
    of its finding (clinical reference 0.7). A tuple: made for every card of every call, it costs a tenth of a
    frozen dataclass (0.6 against 4.4 us for 7 cards)."""

    topic: str
    indicator: str
    digest: str
    about_draft: bool


def digest(topic: str, indicator: str, summary: str, detail: str, mme: float | None) -> str:
    """The card's findings, hashed: family, tier, and the facts the card states (every drug with its dates, every
    condition, the MME) without the relative durations. A new drug, a new dose or a higher tier changes it."""
    text = "\x1f".join((topic, indicator, without_drift(summary), without_drift(detail), repr(mme)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def on_floor(card: Candidate) -> bool:
    """The safety floor: a Tier A red flag, opioid with benzodiazepine, a critical NSAID contraindication."""
    return card.topic in FLOOR and FLOOR[card.topic] in (None, card.indicator)


def repeat_applies(hook: str, card: Candidate) -> bool:
    """0.10 item 20 is about critical cards at an order hook that concern none of the drafts."""
    return hook in ORDER_HOOKS and card.indicator == "critical" and not card.about_draft


def hold_back(
    policy: CardPolicy,
    hook: str,
    cards: Sequence[Candidate],
    seen: Mapping[str, tuple[str, float]],
    snoozed: Mapping[str, tuple[str, float]],
    now: float,
) -> list[str | None]:
    """Per card, the rule that holds it back ("off", "snooze", "repeat") or None to return it.

    `seen`: family -> (digest, when) this clinician was last shown it for this patient; `snoozed`: family ->
    (digest, until) after an override. Times are epoch seconds. Patient-view always returns the safety floor.
    """
    out: list[str | None] = []
    for card in cards:
        family = policy.of(card.topic)
        last, snooze = seen.get(card.topic), snoozed.get(card.topic)
        if hook == "patient-view" and on_floor(card):
            out.append(None)
        elif hook in family.off_at:
            out.append(OFF)
        elif snooze and snooze[0] == card.digest and now < snooze[1]:
            out.append(SNOOZE)
        elif (
            repeat_applies(hook, card)
            and family.repeat_window_minutes
            and last
            and last[0] == card.digest
            and now - last[1] < family.repeat_window_minutes * 60
        ):
            out.append(REPEAT)
        else:
            out.append(None)
    return out


def seen_rows(
    policy: CardPolicy, user: str, patient: str, candidates: list[Candidate], held: list[str | None], now: float
) -> list[dict[str, Any]]:
    """The critical cards shown: the repeat rule's memory, one row per clinician, patient and family."""
    return [
        {
            "user_key": user,
            "patient_key": patient,
            "topic": c.topic,
            "digest": c.digest,
            "seen_at": now,
            "expires_at": now + policy.of(c.topic).repeat_window_minutes * 60,
        }
        for c, rule in zip(candidates, held, strict=True)
        if rule is None and c.indicator == "critical" and policy.of(c.topic).repeat_window_minutes
    ]


def with_findings(cards: Sequence[Card], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Memory rows whose digest the card log's writer works out (`digest`'s arguments in place of the digest): it
    hashes the card's whole text, off the call, as it does for every issued card."""
    by_topic = {card.topic: card for card in cards}  # at most one card per family in a response
    for row in rows:
        card = by_topic[row["topic"]]
        row["digest"] = (card.topic, card.indicator.label, card.summary, card.detail, card.mme)
    return rows
