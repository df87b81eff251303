"""`Card`, `Suggestion`, `Action`, `Indicator`: the one place a card becomes JSON, empty fields dropped."""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
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
    found = _gather(items)
    return found if type(found) is Cited else Cited(found)


class Citation:
    """What several cards rest on (the opioid cards: the episode and the current opioids), cited once, when the
    first of them is serialised: `head` is taken whole (the Episode), `facts` each by its reference."""

    __slots__ = ("_references", "facts", "head")

    def __init__(self, head: Any, facts: Sequence[Any]) -> None:
        self.head, self.facts = head, facts
        self._references: Cited | None = None

    @property
    def references(self) -> Cited:
        if self._references is None:
            self._references = references_of(self.facts, self.head.references if self.head else ())
        return self._references


def references_of(facts: Sequence[Any], cited: tuple[str, ...] = ()) -> Cited:
    """`cited` and the references of facts (each with a `reference`), each once: `cite`'s work without its dispatch,
    for the long lists several cards share (a patient's current opioids: 22 orders for Brenda Jackson)."""
    refs = (len(facts) > 3 and _typed_references(facts)) or [f.reference for f in facts if f.id is not None]
    if cited:
        refs = [*cited, *refs]
    return Cited(refs if len(refs) < 2 or len(set(refs)) == len(refs) else dict.fromkeys(refs))


def _typed_references(facts: Sequence[Any]) -> list[str] | None:
    """The references of facts all of one _TYPED type, each with an id, joined in C (no attribute or property
    lookups in Python: each costs more than the string); None when they are not such facts."""
    if len(kinds := {*map(type, facts)}) != 1:
        return None
    if (getter := _TYPE_AND_ID.get(cls := kinds.pop())) is None:
        if cls in _KINDS or _learn(facts[0]) != _TYPED:
            return None
        getter = _TYPE_AND_ID[cls]
    try:
        return list(map("/".join, map(getter, facts)))
    except TypeError:  # an id that is None (not cited) or not a string
        return None


# How `cite` takes each type, learnt once; non-zero (`_KINDS.get(...) or _learn(...)`). _TYPED: a fact whose
# reference is "{resource_type}/{id}", which _typed_references makes for a list of them without the property
_FACT, _TYPED, _MANY, _REFS, _REF, _NONE = range(1, 7)
_KINDS: dict[type, int] = {list: _MANY, tuple: _MANY, str: _REF, type(None): _NONE, Cited: _REFS}
_TYPE_AND_ID: dict[type, itemgetter] = {}  # _TYPED types: their (resource_type, id) as a tuple


def _learn(item: Any) -> int:
    cls = type(item)
    if isinstance(item, str):
        kind = _REF
    elif hasattr(cls, "reference"):
        fields = getattr(cls, "_fields", ())
        typed = "resource_type" in fields and "id" in fields
        kind = _TYPED if typed and item.reference == f"{item.resource_type}/{item.id}" else _FACT
        if kind == _TYPED:
            _TYPE_AND_ID[cls] = itemgetter(fields.index("resource_type"), fields.index("id"))
    else:
        kind = _REFS if hasattr(cls, "references") else _MANY
    _KINDS[cls] = kind
    return kind


def _gather(items: tuple[Any, ...]) -> Cited | list[str]:
    """`cite`'s work: a leading citation as it is when nothing else is cited (it is unique already), otherwise a
    new list, each reference once and in order."""
    if len(items) == 1 and _KINDS.get(type(items[0])) == _REFS:  # the common card: the episode or the opioids alone
        return items[0].references
    base: Cited | None = None
    extra: list[str] = []
    for item in items:
        if not item:  # a fact is a non-empty tuple; None, "", () and [] add nothing
            continue
        kind = _KINDS.get(type(item)) or _learn(item)
        if kind == _REFS and base is None and not extra:
            base = item.references
        else:
            _add(item, kind, extra)
    if base is None:
        return extra if len(set(extra)) == len(extra) else list(dict.fromkeys(extra))
    if not extra:
        return base
    if len(extra) > 4:  # more than a few added to a citation: hashed, not each looked for in it
        return list(dict.fromkeys([*base, *extra]))
    found = list(base)
    for ref in extra:
        if ref not in found:
            found.append(ref)
    return found


def _add(item: Any, kind: int, found: list[str]) -> None:
    """Append the references of one item of any kind (duplicates are dropped later)."""
    if kind in (_FACT, _TYPED):
        if item.id is not None:
            found.append(item.reference)
    elif kind == _MANY:
        for each in item:
            _add(each, _KINDS.get(type(each)) or _learn(each), found)
    elif kind == _REFS:
        found.extend(item.references)
    elif kind == _REF:
        found.append(item)


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
    if card.evidence and (references := _gather(card.evidence)):
        extension[EXT_EVIDENCE] = references if type(references) is list else list(references)
    return extension


# Override reasons offered on warning and critical cards (CDS Hooks overrideReasons; codes are ours).
COMMON_OVERRIDES = (
    ("not-applicable", "Not applicable to this patient"),
    ("already-addressed", "Already addressed in the care plan"),
    ("patient-declined", "Patient informed and declined"),
)
