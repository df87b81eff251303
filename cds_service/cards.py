"""`Card`, `Suggestion`, `Action`, `Indicator`: the one place a card becomes JSON, empty fields dropped; the uuids
of a response (`card_uuid`, `new_uuid`)."""

from __future__ import annotations

import _thread  # noqa: F401  compiled, the threading.local subclass below is looked up in _thread
import enum
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from mypy_extensions import mypyc_attr

from .citations import EXT_EVIDENCE as EXT_EVIDENCE  # re-exported, as the two below
from .citations import with_evidence
from .knowledge import Knowledge
from .knowledge.manifest import EXT_KNOWLEDGE as EXT_KNOWLEDGE  # re-exported: what a card's JSON carries
from .knowledge.manifest import EXT_RULE as EXT_RULE

OVERRIDE_SYSTEM = "https://backpain-cds.org/fhir/CodeSystem/override-reasons"
MME_EXTENSION = "org.backpain-cds.mme-per-day"
MME_LOWER_BOUND_EXTENSION = "org.backpain-cds.mme-lower-bound"  # the total counts some orders at a floor (0.10 item 3)
# Provenance on every card (CDS Hooks card `extension`): EXT_RULE and EXT_KNOWLEDGE (imported above, made in
# knowledge/manifest.py) and EXT_EVIDENCE (citations.py).
SUMMARY_MAX = 139  # CDS Hooks: fewer than 140 characters


class Indicator(enum.IntEnum):
    """Card urgency; ordered so max() picks the highest (critical > warning > info)."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {indicator: indicator.name.lower() for indicator in Indicator}


@dataclass(frozen=True)
class Action:
    type: str  # create | update | delete
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = None


@dataclass(frozen=True)
class Suggestion:
    label: str
    actions: tuple[Action, ...]
    is_recommended: bool | None = None


@mypyc_attr(native_class=False)  # compiled, still has the __dict__ its __init__ sets whole
@dataclass(frozen=True)
class Card:
    """A card before serialisation; `topic` is its family code, `detail` names the evidence."""

    topic: str
    indicator: Indicator
    summary: str
    detail: str
    suggestions: tuple[Suggestion, ...] = ()
    override_reasons: tuple[tuple[str, str], ...] = ()  # (code, display)
    mme: float | None = None
    mme_lower_bound: bool = False  # `mme` is "at least": some orders without a usable dose were counted at a floor
    about_draft: bool = False  # its finding is about a draft order of this call, so order hooks show it (0.7)
    # what it rests on, as the rule holds it (facts, the Episode, a Citation, lists of those): `cite(*evidence)`
    # gives the references (Type/id), worked out only when the card is serialised
    evidence: tuple[Any, ...] = ()

    def __init__(
        self,
        topic: str,
        indicator: Indicator,
        summary: str,
        detail: str,
        suggestions: tuple[Suggestion, ...] = (),
        override_reasons: tuple[tuple[str, str], ...] = (),
        mme: float | None = None,
        mme_lower_bound: bool = False,
        about_draft: bool = False,
        evidence: tuple[Any, ...] = (),
    ) -> None:
        """The fields above, in order and with their defaults (tests/test_cards.py checks it); @dataclass keeps this
        __init__. Its own would set each field of a frozen card with object.__setattr__, which made a card cost
        twice as much to create: here one dict of them all is set at once, and nothing sets a field after."""
        if len(summary) > SUMMARY_MAX:
            raise ValueError(f"summary over {SUMMARY_MAX} characters: {summary!r}")
        object.__setattr__(
            self,
            "__dict__",
            {
                "topic": topic,
                "indicator": indicator,
                "summary": summary,
                "detail": detail,
                "suggestions": suggestions,
                "override_reasons": override_reasons,
                "mme": mme,
                "mme_lower_bound": mme_lower_bound,
                "about_draft": about_draft,
                "evidence": evidence,
            },
        )


# UUID strings for a response: `card_uuid` (time-ordered, version 7) for the cards, `new_uuid` (random, version 4)
# for everything else (suggestions, draft orders), both from random bytes read ahead in batches.
#
# A card's uuid is its key in the card log (store/card_log.py), an index that grows by one entry a card for as long
# as the log is kept. Random keys land all over that index: each insert dirtied a page of it somewhere in the middle,
# and once the index outgrew SQLite's cache each read one back first (13.4 us of CPU a card on a 200,000-card log,
# against 5.1 us in the order issued: benchmarks/card_log.py). A version-7 UUID (RFC 9562) begins with its Unix
# time in milliseconds, so cards land at the index's end, as `issued_at` does; its other 74 bits are random, far
# beyond guessing, enough to tell a card apart and to keep feedback on one unforgeable. What it says beyond a
# random UUID, the millisecond a card was issued, the EHR that received the card already knows.
_VERSION_4 = bytes(0x40 | b & 0x0F for b in range(256))  # byte 6 of a UUID: version 4 in its high nibble
_VARIANT_10 = bytes(0x80 | b & 0x3F for b in range(256))  # byte 8: RFC 9562 variant bits 10
UUIDS_AHEAD = 128  # made at a time per thread: 2 KiB from one os.urandom call


def _uuid_batch(n: int) -> list[str]:
    """`n` random version-4 UUID strings from one os.urandom call, set and formatted by a few passes over the whole
    batch in C: a Python step per UUID (five slices of its hex and an f-string) cost five times as much."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT_10)
    # In groups of 4 hex digits each UUID reads "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-" (40 characters): drop the
    # dashes after its 1st, 6th and 7th groups (each pass shortens the blocks by one), and the dash after its 8th
    # group becomes the space that separates it from the next.
    text = bytearray(raw.hex("-", 2), "ascii") + b"-"
    del text[4::40]
    del text[28::39]
    del text[32::38]
    text[36::37] = b" " * n
    return text.decode("ascii").split()


@mypyc_attr(native_class=False)  # compiled as a native class, a threading.local subclass crashes
class _Uuids(threading.local):
    """Random UUIDs made ahead, a batch per thread from one os.urandom call: each call lets go of the GIL (under load
    a thread waits up to a switch interval, 5 ms, to have it back), and `_uuid_batch` formats the batch for less
    than a call per UUID would cost. A forked child drops what its parent had made (`os.register_at_fork`)."""

    def __init__(self) -> None:
        self.ready: list[str] = []

    def take(self) -> str:
        if not (ready := self.ready):
            ready.extend(_uuid_batch(UUIDS_AHEAD))
        return ready.pop()


_uuids = _Uuids()
_take = _uuids.take  # looked up once: each attribute of a thread-local is found through its per-thread dict
os.register_at_fork(after_in_child=lambda: _uuids.ready.clear())  # the forking thread is the child's only one


def new_uuid() -> str:
    """A random (version 4) UUID string, as `str(uuid.uuid4())` gives, at a fraction of the cost: most of that goes
    to uuid.UUID's constructor and to one os.urandom call each, and a response needs one per card and suggestion."""
    return _take()


_prefix: tuple[int, str] = (-1, "")  # the last millisecond a card uuid was made in, and its first 15 characters


def card_uuid() -> str:
    """A version-7 UUID string (RFC 9562): the time in milliseconds (48 bits), then 74 random bits, those of a
    version-4 UUID from the batch, whose version digit (its 15th character) this one's replaces. Cards of the same
    millisecond share their first 15 characters, worked out once."""
    global _prefix
    ms, prefix = _prefix
    if (now := time.time_ns() // 1_000_000) != ms:
        digits = f"{now:012x}"
        prefix = f"{digits[:8]}-{digits[8:]}-7"
        _prefix = (now, prefix)  # one assignment: a thread reading it sees the old pair or the new, never half
    return prefix + _take()[15:]


def _drop_empty(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v not in (None, "", [], {})}


def _action_json(action: Action) -> dict[str, Any]:
    return _drop_empty(
        {
            "type": action.type,
            "description": action.description,
            "resource": action.resource,
            "resourceId": action.resource_id,
        }
    )


def to_json(card: Card, knowledge: Knowledge) -> dict[str, Any]:
    """Serialise a card per CDS Hooks 2.0: fresh uuids, topic Coding in source, no null or empty fields."""
    source, links, provenance = knowledge.card_sources[card.topic]
    out: dict[str, Any] = {"uuid": card_uuid(), "summary": card.summary}
    if card.detail:
        out["detail"] = card.detail
    out["indicator"] = _LABELS[card.indicator]
    # source.label names the guideline the card applies (clinical reference 0.9), not this service
    out["source"] = source
    if card.suggestions:
        out["suggestions"] = [
            _drop_empty(
                {
                    "label": s.label,
                    "uuid": new_uuid(),
                    "isRecommended": s.is_recommended,
                    "actions": [_action_json(a) for a in s.actions],
                }
            )
            for s in card.suggestions
        ]
        # one suggestion: take it or not; several are each about a different order, so any of them
        out["selectionBehavior"] = "at-most-one" if len(card.suggestions) == 1 else "any"
    if card.override_reasons:
        out["overrideReasons"] = _override_json(card.override_reasons)
    out["links"] = links
    extension = _provenance(card.evidence, provenance)
    if card.mme is not None:
        extension[MME_EXTENSION] = card.mme
        if card.mme_lower_bound:
            extension[MME_LOWER_BOUND_EXTENSION] = True
    if extension:
        out["extension"] = extension
    return out


_OVERRIDES_JSON: dict[tuple[tuple[str, str], ...], list[dict[str, str]]] = {}  # the rules' few constant tuples


def _override_json(reasons: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """`overrideReasons` as JSON, made once per set of reasons (a few constants) and shared: read, never change."""
    if (found := _OVERRIDES_JSON.get(reasons)) is None:
        found = [{"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in reasons]
        if len(_OVERRIDES_JSON) < 64:  # bounded, should a rule ever make them per call
            _OVERRIDES_JSON[reasons] = found
    return found


# The card's provenance extensions: its topic's rule and knowledge (`provenance`, copied), and its evidence when it
# names any (cited here, the cards of a call one after another, rather than in each rule). The function itself, not
# a call to it: a Python call per card cost more than most cards' evidence (benchmarks/in_process.py --provenance
# replaces it to measure what provenance costs).
_provenance = with_evidence


# Override reasons offered on warning and critical cards (CDS Hooks overrideReasons; codes are ours).
COMMON_OVERRIDES = (
    ("not-applicable", "Not applicable to this patient"),
    ("already-addressed", "Already addressed in the care plan"),
    ("patient-declined", "Patient informed and declined"),
)
