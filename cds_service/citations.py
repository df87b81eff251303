"""What a card rests on, as FHIR references ("Condition/123"): `cite` and the shared `Citation`, worked out when a
card is serialised (`with_evidence`, cards.py's `_provenance`), each reference once and in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from .record.patient_record import MedicationFact

EXT_EVIDENCE = "org.backpain-cds.evidence"  # ["Condition/123", "MedicationRequest/d1"]: ids only, no chart text


@mypyc_attr(native_class=False)  # compiled, a list subclass must stay a Python class
class Cited(list[str]):
    """What `cite` returns: references, each once, as the card JSON lists them. A Cited cited again is merged whole,
    and cited alone it is returned as it is, the same list: a citation several cards share (the episode's, the opioid
    cards') is worked out once a call and put in each card as it is. Read it, never change it."""

    seen: set[str] | None = None  # its references as a set, when references_of made one: others look them up there

    @property
    def references(self) -> Cited:
        return self


def cite(*items: Any) -> Cited:
    """The references of what a card rests on, each once, in order: facts (anything with a `reference`, such as
    ConditionFact or MedicationFact), things citing several (`references`, such as the Episode, a Citation or a
    Cited), iterables of those, or "Type/id" strings; None, empty parts and facts without an id are left out."""
    found = with_evidence(items, {}).get(EXT_EVIDENCE, ())
    return found if type(found) is Cited else Cited(found)


T = TypeVar("T")


class computed(Generic[T]):  # lower case: a decorator, like property
    """A value worked out on its first read and kept in the object's __dict__, where later reads find it without a
    call (a property is a call on every read; functools.cached_property takes a lock on the first): for the
    references several cards of a call read (the episode's, the opioid cards' Citation). Use it, not cached_property,
    in compiled modules (pyproject.toml's mypyc hook): mypyc makes a cached_property a plain property, worked out on
    every read; and mark their classes `@mypyc_attr(native_class=False)`, which keeps the __dict__ it writes to."""

    def __init__(self, work: Callable[[Any], T]) -> None:
        self.work = work
        self.name = getattr(work, "__name__", "")  # a compiled method may have none: __set_name__ names it

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name  # kept under the name it is read by, whatever the function is called

    @overload
    def __get__(self, obj: None, cls: type | None = None) -> computed[T]: ...
    @overload
    def __get__(self, obj: object, cls: type | None = None) -> T: ...
    def __get__(self, obj: object | None, cls: type | None = None) -> T | computed[T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.work(obj)
        return value


@mypyc_attr(native_class=False)  # compiled, still keeps a __dict__ for `computed`
class Citation:
    """What several cards rest on (the opioid cards: the episode and the current opioids), cited once, when the
    first of them is serialised: `head` is taken whole (the Episode), then each of `medications`."""

    def __init__(self, head: Any, medications: Sequence[MedicationFact]) -> None:
        self.head = head
        # Any: compiled, a MedicationFact's fields are read by position, whatever fact is in its place
        self.medications: Sequence[Any] = medications

    @computed
    def references(self) -> Cited:
        refs = Cited(self.head.references if self.head else ())
        try:  # MedicationFact.reference spelt here: the property, called for each of 22 orders, costs half again
            refs += [f"{m.resource_type}/{i}" for m in self.medications if (i := m.id) is not None]
        except AttributeError:  # a fact without a resource_type (a Condition): by its own reference
            return references_of(self.medications, self.head.references if self.head else ())
        return refs if len(refs) < 2 else _unique(refs)


def references_of(facts: Sequence[Any], cited: Sequence[str] = ()) -> Cited:
    """`cited` and the references of facts (each with a `reference`), each once: `cite`'s work without its
    dispatch, for a list of facts (the episode's diagnoses and drafts)."""
    refs = Cited(cited)
    for fact in facts:  # a loop, not a comprehension (a call of its own): the episode's are one or two
        if fact.id is not None:
            refs.append(fact.reference)
    return refs if len(refs) < 2 else _unique(refs)


def _unique(refs: Cited) -> Cited:
    """`refs` (several), each once, with the set of them kept (`Cited.seen`)."""
    if len(seen := set(refs)) != len(refs):
        refs = Cited(dict.fromkeys(refs))
    refs.seen = seen
    return refs


# How `cite` takes each type, learnt once; non-zero (`_KINDS.get(...) or _learn(...)`), the facts' kinds lowest.
# _TYPED: a fact whose reference is "{resource_type}/{id}", which `with_evidence` spells without calling the property
_FACT, _TYPED, _MANY, _REFS, _REF, _NONE = range(1, 7)
_KINDS: dict[type, int] = {list: _MANY, tuple: _MANY, str: _REF, type(None): _NONE, Cited: _REFS}
_TYPED_TYPES: set[type] = set()  # the types of _TYPED kind, which a list's facts are looked up in first


def _learn(item: Any) -> int:
    cls = type(item)
    if isinstance(item, str):
        kind = _REF
    elif hasattr(cls, "reference"):
        fields = getattr(cls, "_fields", ())
        typed = "resource_type" in fields and "id" in fields
        kind = _TYPED if typed and item.reference == f"{item.resource_type}/{item.id}" else _FACT
    else:
        kind = _REFS if hasattr(cls, "references") else _MANY
    _KINDS[cls] = kind
    if kind == _TYPED:
        _TYPED_TYPES.add(cls)
    return kind


def with_evidence(evidence: tuple[Any, ...], provenance: dict[str, Any]) -> dict[str, Any]:
    """A copy of `provenance` (a card topic's rule and knowledge extensions) with what `cite(*evidence)` gives under
    EXT_EVIDENCE when it names anything: a leading citation as it is when nothing else is cited (unique already,
    and shared by the cards citing it alone), otherwise a new list, each reference once and in order. cards.py's
    `_provenance` is this function, not a call to it: a card is serialised with no Python call for its evidence
    (each cost more than the rest of the work), and so a _TYPED fact's reference is spelt here, not by its
    property, and a list's facts are taken in this loop."""
    extension = provenance.copy()
    base: Cited | None = None
    found: list[str] = []
    for item in evidence:
        if not item:  # a fact is a non-empty tuple; None, "", () and [] add nothing
            continue
        if (kind := _KINDS.get(type(item)) or _learn(item)) == _MANY:
            for each in item:
                if type(each) in _TYPED_TYPES:  # most are: a set look-up, half the steps of finding the kind
                    if (rid := each.id) is not None:
                        found.append(f"{each.resource_type}/{rid}")
                elif (each_kind := _KINDS.get(type(each)) or _learn(each)) == _FACT:
                    if each.id is not None:
                        found.append(each.reference)
                elif each_kind == _REF:
                    found.append(each)
                else:  # lists, citations, and a _TYPED type the first time it is seen
                    _add(each, each_kind, found)
        elif kind == _REFS and base is None and not found:
            base = item.references
        else:
            _add(item, kind, found)
    if base is None:
        if found:
            distinct = len(found) < 2 or len(set(found)) == len(found)
            extension[EXT_EVIDENCE] = found if distinct else list(dict.fromkeys(found))
    elif not found:
        if base:
            extension[EXT_EVIDENCE] = base
    # what the others add to the citation, looked up in its set (made with it: its references' hashes are known),
    # or in it when short (the episode's one or two); many added are made unique by hashing, a few by looking
    elif len(found) == 1:  # most cards add one entry to a citation: no list of them to build, nor a set of it
        extension[EXT_EVIDENCE] = base if found[0] in (base.seen or base) else base + found
    else:
        seen = base.seen or (base if len(base) < 8 else set(base))
        if len(found) > 8:
            added = [ref for ref in dict.fromkeys(found) if ref not in seen]
        else:
            added = []
            for ref in found:
                if ref not in seen and ref not in added:
                    added.append(ref)
        # list + list: one copy of each, where [*base, *added] iterates a Cited
        extension[EXT_EVIDENCE] = base + added if added else base
    return extension


def _add(item: Any, kind: int, found: list[str]) -> None:
    """Append the references of one item of any kind (duplicates are dropped later)."""
    if kind == _TYPED:
        if item.id is not None:
            found.append(f"{item.resource_type}/{item.id}")
    elif kind == _FACT:
        if item.id is not None:
            found.append(item.reference)
    elif kind == _MANY:
        for each in item:
            _add(each, _KINDS.get(type(each)) or _learn(each), found)
    elif kind == _REFS:
        found.extend(item.references)
    elif kind == _REF:
        found.append(item)
