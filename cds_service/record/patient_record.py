"""The `PatientRecord`: what the rules see of one patient, as small frozen facts, and the queries they ask.

Only counting resources are here (clinical reference 0.3); `record_builder` makes them from plain JSON. Section
numbers refer to the clinical reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from ..knowledge import Code, Knowledge

T = TypeVar("T")

CURRENT_CLINICAL = frozenset({"active", "recurrence", "relapse"})
_UNKNOWN = object()  # not worked out yet (PatientRecord.once)
_RESOURCE_TYPE = attrgetter("resource_type")


@dataclass(frozen=True)
class Skipped:
    """A resource we could not use, reported by type, id and reason (never its content)."""

    resource_type: str
    id: str | None
    reason: str


# The facts are NamedTuples: immutable like frozen dataclasses, and four times cheaper to create (a record of
# renewals makes dozens per call).
class ConditionFact(NamedTuple):
    id: str | None
    codes: frozenset[Code]
    display: str
    clinical_status: str | None
    onset: date | None
    recorded: date | None
    abatement: date | None
    classes: frozenset[str]  # names of the value sets its codes are in

    @property
    def reference(self) -> str:
        return f"Condition/{self.id}"

    @property
    def start(self) -> date | None:
        return self.onset or self.recorded

    def is_current(self, today: date) -> bool:
        """Current-state rule (0.3): active/recurrence/relapse, or no status and no past abatement."""
        if self.abatement is not None and self.abatement <= today:
            return False
        return self.clinical_status in CURRENT_CLINICAL or self.clinical_status is None


class AllergyFact(NamedTuple):
    """A counting AllergyIntolerance: its substance as the chart names it, and its dates (0.9)."""

    id: str | None
    codes: frozenset[Code]
    display: str
    recorded: date | None
    onset: date | None

    @property
    def reference(self) -> str:
        return f"AllergyIntolerance/{self.id}"


class ObservationFact(NamedTuple):
    id: str | None
    codes: frozenset[Code]
    display: str
    when: date | None
    value: float | None
    unit: str | None
    value_codes: frozenset[Code]
    reference_high: float | None
    classes: frozenset[str]  # names of the value sets its codes are in

    @property
    def reference(self) -> str:
        return f"Observation/{self.id}"


# Orders and statements that say a drug was not, or not yet, taken (cancelled, never started, recorded in error).
NOT_USE_STATUSES = frozenset({"entered-in-error", "cancelled", "draft", "not-taken", "intended"})


class MedicationFact(NamedTuple):
    """A MedicationRequest, MedicationStatement or draft order, with its RxNorm identity (0.5)."""

    resource_type: str
    id: str | None
    draft: bool
    status: str | None
    codes: frozenset[Code]
    display: str
    start: date | None
    end: date | None
    classes: frozenset[str]  # names of the medication value sets this drug is in
    rxnorm: tuple[str, ...] = ()  # the RxNorm codes among `codes`
    raw_dosage: dict[str, Any] | None = None  # the first dosage as sent; rules validate it when they read it
    based_on: tuple[str, ...] = ()
    reason_codes: frozenset[Code] = frozenset()
    selected: bool = False
    raw_dispense: dict[str, Any] | None = None  # a request's dispenseRequest as sent; read only when an order is old
    raw_dosages: tuple[dict[str, Any], ...] = ()  # every dosage instruction, when there are several (0.10 item 7)
    reason_references: tuple[str, ...] = ()  # reasonReference: the Conditions it is ordered for (0.10 item 18)

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def means_use(self) -> bool:
        """A chart record of the drug being taken at some time: not a draft, not one of NOT_USE_STATUSES."""
        return not self.draft and self.status not in NOT_USE_STATUSES

    def is_current(self, today: date) -> bool:
        """Current (0.3): drafts; active requests; active statements whose period has not ended (`_current` below
        says the same of a list: keep the two alike)."""
        if self.draft:
            return True
        if self.status != "active":
            return False
        return self.resource_type != "MedicationStatement" or self.end is None or self.end >= today


class OrderFact(NamedTuple):
    """A ServiceRequest (record or draft), or a Procedure, DiagnosticReport or ImagingStudy already done."""

    resource_type: str
    id: str | None
    draft: bool
    status: str | None
    codes: frozenset[Code]
    display: str
    when: date | None
    classes: frozenset[str]  # names of the value sets its codes are in
    reason_codes: frozenset[Code] = frozenset()
    selected: bool = False
    raw: dict[str, Any] | None = None  # the resource as sent (draft orders: suggestions edit a copy)

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass
class PatientRecord:
    """What the rules see of one patient: counting resources only, as small frozen facts."""

    kb: Knowledge
    patient_id: str
    birth_date: date | None = None
    deceased: bool = False  # Patient.deceasedBoolean true
    deceased_on: date | None = None  # Patient.deceasedDateTime
    conditions: list[ConditionFact] = field(default_factory=list)
    observations: list[ObservationFact] = field(default_factory=list)
    medications: list[MedicationFact] = field(default_factory=list)
    orders: list[OrderFact] = field(default_factory=list)
    allergies: list[AllergyFact] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # at most MAX_SKIPPED_LISTED; the rest are only counted
    skipped_more: int = 0
    lenient: int = 0
    selecting: bool = False  # order-select: context.selections names the drafts being chosen
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)  # derived values shared by rule families

    def is_deceased(self, today: date) -> bool:
        return self.deceased or (self.deceased_on is not None and self.deceased_on <= today)

    def age(self, today: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

    # -- queries the rules use -------------------------------------------------------------------------------
    # Each fact carries the names of the value sets it is in (worked out when the record is built), so a query is
    # a dictionary lookup in an index of the facts by value set, built on first use.
    def _in(self, kind: str, facts: list[Any], vs: str) -> Sequence[Any]:
        index = self.memo.get(kind)
        if index is None:
            index = {}
            for fact in facts:
                for name in fact.classes:
                    index.setdefault(name, []).append(fact)
            self.memo[kind] = index
        found = index.get(vs)
        if found is None:
            if vs not in self.kb.value_sets:
                raise KeyError(f"no value set {vs!r}")  # a misspelt name must fail, not silently match nothing
            found = index[vs] = ()  # checked once: rules ask about the same empty value sets again and again
        return found

    def once(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(self, *args), worked out once per hook call: several families ask the same question."""
        key = (fn, args)  # the tuple the call made: cheaper than unpacking it into a new one, (fn, *args)
        found = self.memo.get(key, _UNKNOWN)  # one look-up when known (most calls); None is an answer
        if found is _UNKNOWN:
            found = self.memo[key] = fn(self, *args)
        return found

    def conditions_in(self, vs: str, today: date, current: bool) -> list[ConditionFact]:
        """Counting Conditions in value set `vs`; `current` applies the current-state rule, else any status."""
        # _in's look-up, inline (the rules ask some forty times a call): _in builds the index, and says a name is
        # misspelt, when the index does not know the value set
        index = self.memo.get("conditions-by-class")
        found = index.get(vs) if index is not None else None
        if found is None and (index is None or vs not in self.kb.value_sets):
            found = self._in("conditions-by-class", self.conditions, vs)
        if not found:  # the common answer: most value sets asked about match nothing in a record
            return []
        return [c for c in found if c.is_current(today)] if current else list(found)

    def observations_in(self, vs: str) -> list[ObservationFact]:
        """Counting Observations in `vs`, most recent first (undated last)."""
        found = self._in("observations-by-class", self.observations, vs)
        if not found:  # the common answer: no sort (and no key function made) for nothing
            return []
        return sorted(found, key=lambda o: o.when or date.min, reverse=True)

    def latest(self, vs: str, today: date, days: int, numeric: bool = False) -> ObservationFact | None:
        """The most recent counting Observation in `vs` dated within `days` before today (not in the future);
        with `numeric`, only those with a numeric value. None when there is none."""
        for obs in self.observations_in(vs):
            if obs.when and 0 <= (today - obs.when).days <= days and (not numeric or obs.value is not None):
                return obs
        return None

    def medications_in(self, vs: str, today: date, current: bool = True) -> list[MedicationFact]:
        """De-duplicated medications whose drug or ingredient is in `vs`; current ones only unless asked."""
        key = ("medications", vs, today, current)  # several families ask for the current opioids
        known = self.memo.get(key)
        if known is None:  # _in's look-up inline, as in conditions_in
            index = self.memo.get("medications-by-class")
            found = index.get(vs) if index is not None else None
            if found is None and (index is None or vs not in self.kb.value_sets):
                found = self._in("medications-by-class", self.deduplicated(), vs)
            if not found:
                known = self.memo[key] = []
            else:
                known = self.memo[key] = _current(found, today) if current else list(found)
        return known

    def is_in_focus(self, item: MedicationFact | OrderFact) -> bool:
        """A draft this hook call is about: every draft, at order-select selected or not, since all of them are
        about to be signed together (clinical reference 0.10 item 19)."""
        return item.draft

    def drafts(self) -> list[MedicationFact | OrderFact]:
        """Every usable draft order of this hook call."""
        return [m for m in self.medications if m.draft] + [o for o in self.orders if o.draft]

    def orders_in(self, vs: str, resource_type: str | None = None) -> list[OrderFact]:
        found = self._in("orders-by-class", self.orders, vs)
        return [o for o in found if resource_type is None or o.resource_type == resource_type]

    def deduplicated(self) -> list[MedicationFact]:
        """Medications with duplicates removed (0.4): a statement `basedOn` a request in the payload, or an active
        statement with the same RxNorm code as an active request, counts once (the request is kept)."""
        if "deduplicated" in self.memo:
            return self.memo["deduplicated"]
        if "MedicationStatement" not in map(_RESOURCE_TYPE, self.medications):  # no Python step per order
            self.memo["deduplicated"] = self.medications  # nothing to de-duplicate
            return self.medications
        requests = [m for m in self.medications if m.resource_type == "MedicationRequest"]
        request_refs = {m.reference for m in requests}
        active_codes = {c for m in requests if m.status == "active" or m.draft for c in m.rxnorm}
        kept = []
        for med in self.medications:
            if med.resource_type == "MedicationStatement" and (
                request_refs.intersection(med.based_on)
                or (med.status == "active" and active_codes.intersection(med.rxnorm))
            ):
                continue
            kept.append(med)
        self.memo["deduplicated"] = kept
        return kept


def _current(meds: Sequence[MedicationFact], today: date) -> list[MedicationFact]:
    """The current ones (`MedicationFact.is_current`, spelt out: one call less per order, and renewals make dozens)."""
    return [
        m
        for m in meds
        if m.draft
        or (m.status == "active" and (m.resource_type != "MedicationStatement" or m.end is None or m.end >= today))
    ]
