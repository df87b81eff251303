"""`Card`, `Suggestion`, `Action`, `Indicator`: the one place a card becomes JSON, empty fields dropped."""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .knowledge import Knowledge

OVERRIDE_SYSTEM = "https://backpain-cds.org/fhir/CodeSystem/override-reasons"
MME_EXTENSION = "org.backpain-cds.mme-per-day"
MME_LOWER_BOUND_EXTENSION = "org.backpain-cds.mme-lower-bound"  # the total counts some orders at a floor (0.10 item 3)
# Provenance on every card (CDS Hooks card `extension`; `source.url` is a page for the user, so the rule goes here):
EXT_RULE = "org.backpain-cds.rule"  # canonical url|version of the PlanDefinition that produced the card
EXT_KNOWLEDGE = "org.backpain-cds.knowledge"  # {"version", "digest"} of fhir_profiles/ (knowledge/manifest.py)
EXT_EVIDENCE = "org.backpain-cds.evidence"  # ["Condition/123", "MedicationRequest/d1"]: ids only, no chart text
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

    def __post_init__(self) -> None:
        if len(self.summary) > SUMMARY_MAX:
            raise ValueError(f"summary over {SUMMARY_MAX} characters: {self.summary!r}")


class Cited(tuple[str, ...]):
    """What `cite` returns: references, each once. A Cited cited again is merged whole, and cited alone it is
    returned as it is: a citation several cards share (the episode's, the opioid cards') is worked out once a call."""

    __slots__ = ()

    @property
    def references(self) -> Cited:
        return self


def cite(*items: Any) -> Cited:
    """The references of what a card rests on, each once, in order: facts (anything with a `reference`, such as
    ConditionFact or MedicationFact), things citing several (`references`, such as the Episode, a Citation or a
    Cited), iterables of those, or "Type/id" strings; None, empty parts and facts without an id are left out."""
    base: Cited | None = None  # a leading citation (the episode's, the opioid cards'): kept whole, not re-hashed
    found: dict[str, None] = {}
    for item in items:
        if not item:  # a fact is a non-empty tuple; None, "", () and [] add nothing
            continue
        kind = _KINDS.get(type(item)) or _learn(item)
        if kind == _REFS:
            if base is None and not found:
                base = item.references
            else:
                found.update(dict.fromkeys(item.references))
        elif kind == _MANY:
            _cite(item, found)
        elif kind == _FACT:
            if item.id is not None:
                found[item.reference] = None
        elif kind == _REF:
            found[item] = None
    if base is None:
        return Cited(found)
    return Cited(dict.fromkeys((*base, *found))) if found else base


class Citation:
    """What several cards rest on (the opioid cards: the episode and the current opioids), cited once, when the
    first of them is serialised: `head` is taken whole (the Episode), `facts` each by its reference."""

    __slots__ = ("_references", "facts", "head")

    def __init__(self, head: Any, facts: Iterable[Any]) -> None:
        self.head, self.facts = head, facts
        self._references: Cited | None = None

    @property
    def references(self) -> Cited:
        if self._references is None:
            self._references = references_of(self.facts, self.head.references if self.head else ())
        return self._references


def references_of(facts: Iterable[Any], cited: tuple[str, ...] = ()) -> Cited:
    """`cited` and the references of facts (each with a `reference`), each once: `cite`'s work without its dispatch,
    for the long lists several cards share (a patient's current opioids: 22 orders for Brenda Jackson)."""
    return Cited(dict.fromkeys([*cited, *[fact.reference for fact in facts if fact.id is not None]]))


_FACT, _MANY, _REFS, _REF, _NONE = range(1, 6)  # non-zero: `_KINDS.get(...) or _learn(...)`
_KINDS: dict[type, int] = {list: _MANY, tuple: _MANY, str: _REF, type(None): _NONE, Cited: _REFS}  # learnt once


def _learn(item: Any) -> int:
    kind = _KINDS[type(item)] = (
        _REF
        if isinstance(item, str)
        else _FACT
        if hasattr(type(item), "reference")
        else _REFS
        if hasattr(type(item), "references")
        else _MANY
    )
    return kind


def _cite(items: Iterable[Any], found: dict[str, None]) -> None:
    for item in items:
        kind = _KINDS.get(type(item)) or _learn(item)
        if kind == _FACT:
            if item.id is not None:
                found[item.reference] = None
        elif kind == _REFS:
            found.update(dict.fromkeys(item.references))
        elif kind == _MANY:
            _cite(item, found)
        elif kind == _REF:
            found[item] = None


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # RFC 9562 variant bits 10


class _Random(threading.local):
    """Random bytes from os.urandom, read 4 KiB at a time per thread and again in a forked child: each os.urandom
    call lets go of the GIL, and under load a thread waits up to a switch interval (5 ms) to have it back."""

    def __init__(self) -> None:
        self.pool, self.at, self.pid = b"", 0, 0

    def take16(self) -> bytes:
        if self.at >= len(self.pool) or self.pid != os.getpid():
            self.pool, self.at, self.pid = os.urandom(4096), 0, os.getpid()
        self.at += 16
        return self.pool[self.at - 16 : self.at]


_random = _Random()


def new_uuid() -> str:
    """A random (version 4) UUID string, as `str(uuid.uuid4())` gives, at a fraction of the cost: most of that goes
    to uuid.UUID's constructor and to one os.urandom call each, and a response needs one per card and suggestion."""
    h = _random.take16().hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


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
    topic = knowledge.topics[card.topic]
    out: dict[str, Any] = {"uuid": new_uuid(), "summary": card.summary}
    if card.detail:
        out["detail"] = card.detail
    out["indicator"] = _LABELS[card.indicator]
    # source.label names the guideline the card applies (clinical reference 0.9), not this service
    out["source"] = {
        "label": topic.source_label,
        "url": topic.source_url,
        "topic": {"system": knowledge.topic_system, "code": topic.code, "display": topic.display},
    }
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
        out["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in card.override_reasons
        ]
    out["links"] = [{"label": topic.source_label, "url": topic.source_url, "type": "absolute"}]
    extension = _provenance(card, topic.rule, knowledge)
    if card.mme is not None:
        extension[MME_EXTENSION] = card.mme
        if card.mme_lower_bound:
            extension[MME_LOWER_BOUND_EXTENSION] = True
    if extension:
        out["extension"] = extension
    return out


def _provenance(card: Card, rule: str, knowledge: Knowledge) -> dict[str, Any]:
    """The card's provenance extensions: its rule, the knowledge, and its evidence when it names any (cited here,
    the cards of a call one after another, rather than in each rule)."""
    extension: dict[str, Any] = {EXT_RULE: rule, EXT_KNOWLEDGE: knowledge.identity.json}
    if card.evidence and (references := cite(*card.evidence)):
        extension[EXT_EVIDENCE] = list(references)
    return extension


# Override reasons offered on warning and critical cards (CDS Hooks overrideReasons; codes are ours).
COMMON_OVERRIDES = (
    ("not-applicable", "Not applicable to this patient"),
    ("already-addressed", "Already addressed in the care plan"),
    ("patient-declined", "Patient informed and declined"),
)
