"""What a card rests on, as FHIR references ("Condition/123"): `cite` and the shared `Citation`, worked out when a
card is serialised (cards.py), each reference once and in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Cited(list[str]):
    """What `cite` returns: references, each once, as the card JSON lists them. A Cited cited again is merged whole,
    and cited alone it is returned as it is, the same list: a citation several cards share (the episode's, the opioid
    cards') is worked out once a call and put in each card as it is. Read it, never change it."""

    __slots__ = ()

    @property
    def references(self) -> Cited:
        return self


def cite(*items: Any) -> Cited:
    """The references of what a card rests on, each once, in order: facts (anything with a `reference`, such as
    ConditionFact or MedicationFact), things citing several (`references`, such as the Episode, a Citation or a
    Cited), iterables of those, or "Type/id" strings; None, empty parts and facts without an id are left out."""
    found = gather(items)
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


def references_of(facts: Sequence[Any], cited: Sequence[str] = ()) -> Cited:
    """`cited` and the references of facts (each with a `reference`), each once: `cite`'s work without its dispatch,
    for the long lists several cards share (a patient's current opioids: 22 orders for Brenda Jackson)."""
    refs = Cited(cited)
    refs += (len(facts) > 3 and _typed_references(facts)) or [f.reference for f in facts if f.id is not None]
    return refs if len(refs) < 2 or len(set(refs)) == len(refs) else Cited(dict.fromkeys(refs))


def _typed_references(facts: Sequence[Any]) -> list[str] | None:
    """The references of facts all of one _TYPED type, those without an id left out, made in one comprehension (no
    property call each: the call costs more than the string); None when they are not such facts."""
    if len(kinds := {*map(type, facts)}) != 1:
        return None
    if (at := _TYPE_AND_ID.get(cls := kinds.pop())) is None:
        if cls in _KINDS or _learn(facts[0]) != _TYPED:
            return None
        at = _TYPE_AND_ID[cls]
    kind, id_ = at
    return [f"{f[kind]}/{f[id_]}" for f in facts if f[id_] is not None]


# How `cite` takes each type, learnt once; non-zero (`_KINDS.get(...) or _learn(...)`), the facts' kinds lowest.
# _TYPED: a fact whose reference is "{resource_type}/{id}", which _typed_references makes for a list of them without
# the property
_FACT, _TYPED, _MANY, _REFS, _REF, _NONE = range(1, 7)
_KINDS: dict[type, int] = {list: _MANY, tuple: _MANY, str: _REF, type(None): _NONE, Cited: _REFS}
_TYPE_AND_ID: dict[type, tuple[int, int]] = {}  # _TYPED types: where their resource_type and id are


def _learn(item: Any) -> int:
    cls = type(item)
    if isinstance(item, str):
        kind = _REF
    elif hasattr(cls, "reference"):
        fields = getattr(cls, "_fields", ())
        typed = "resource_type" in fields and "id" in fields
        kind = _TYPED if typed and item.reference == f"{item.resource_type}/{item.id}" else _FACT
        if kind == _TYPED:
            _TYPE_AND_ID[cls] = (fields.index("resource_type"), fields.index("id"))
    else:
        kind = _REFS if hasattr(cls, "references") else _MANY
    _KINDS[cls] = kind
    return kind


def gather(items: tuple[Any, ...]) -> Cited | list[str]:
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
        return extra if len(extra) < 2 or len(set(extra)) == len(extra) else list(dict.fromkeys(extra))
    if not extra:
        return base
    if len(extra) > 4:  # more than a few added to a citation: hashed, not each looked for in it
        return list(dict.fromkeys([*base, *extra]))
    found = base.copy()  # a plain list
    for ref in extra:
        if ref not in found:
            found.append(ref)
    return found


def _add(item: Any, kind: int, found: list[str]) -> None:
    """Append the references of one item of any kind (duplicates are dropped later); the facts of a list are taken
    in the loop, not by a call each."""
    if kind <= _TYPED:
        if item.id is not None:
            found.append(item.reference)
    elif kind == _MANY:
        for each in item:
            if (each_kind := _KINDS.get(type(each)) or _learn(each)) <= _TYPED:
                if each.id is not None:
                    found.append(each.reference)
            else:
                _add(each, each_kind, found)
    elif kind == _REFS:
        found.extend(item.references)
    elif kind == _REF:
        found.append(item)
