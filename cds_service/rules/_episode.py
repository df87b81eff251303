"""The back-pain episode: context, onset, duration and category (clinical reference section 1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from mypy_extensions import mypyc_attr

from ..citations import Cited, computed, references_of
from ..record.patient_record import ConditionFact, MedicationFact, OrderFact, PatientRecord
from ..record.per_call import per_call
from ._markdown import escape
from ._wording import ago, day

CHRONIC_CODE = frozenset({"chronic-back-pain-code"})
ACUTE_BELOW_DAYS = 28  # ACP 2017: acute < 4 weeks
CHRONIC_ABOVE_DAYS = 84  # ACP 2017: chronic > 12 weeks


class Category(enum.Enum):
    ACUTE = "acute"
    SUBACUTE = "subacute"
    CHRONIC = "chronic"


@mypyc_attr(native_class=False)  # compiled, still keeps a __dict__ for `computed`
@dataclass(frozen=True)
class Episode:
    """`onset`/`days` are None when no date is usable; `category` may still be implied by the code (1.2)."""

    conditions: tuple[ConditionFact, ...]
    onset: date | None
    days: int | None
    category: Category | None
    order_only: bool  # context comes only from a draft order's reasonCode: onset = today
    radicular: tuple[ConditionFact, ...]
    coded_chronic: bool = False  # a chronic back-pain code (1.2): chronic even when dated recently
    # order_only: the drafts giving back pain as the reason (not compared: facts of drafts hold their raw JSON)
    drafts: tuple[MedicationFact | OrderFact, ...] = field(default=(), compare=False)

    # Hashed by identity: a call has one Episode (episode() is memoised), and the red-flag findings are looked up by
    # it three times a call; hashing its fields (conditions, dates, an Enum's pure-Python __hash__) cost more than
    # the look-up. Equal Episodes still compare equal; two of them would only miss each other's memo.
    def __hash__(self) -> int:  # a method: mypyc compiles no `__hash__ = object.__hash__`
        return object.__hash__(self)

    @computed
    def references(self) -> Cited:
        """What the episode rests on, for a card's evidence (`cite`): its Conditions, or the drafts' references.
        Worked out once, when a card first cites it, and then read from the Episode's __dict__ (`computed`)."""
        return references_of(self.conditions + self.drafts)

    @property
    def chronic_days_unknown(self) -> bool:
        """Coded chronic but dated under 12 weeks ago: the pain's true start is before the date we have."""
        return self.coded_chronic and (self.days is None or self.days <= CHRONIC_ABOVE_DAYS)

    @computed  # several cards open with it
    def evidence(self) -> str:
        """The diagnoses and onset, as card markdown (chart text escaped)."""
        if self.order_only:
            return "low back pain given as the reason for a draft order"
        names = "; ".join(sorted({escape(d) or "back pain diagnosis" for d in {c.display for c in self.conditions}}))
        when = f", onset {day(self.onset)} ({ago(self.days or 0)})" if self.onset else ", onset date unknown"
        if self.chronic_days_unknown and self.onset:
            when = f", recorded {day(self.onset)} ({ago(self.days or 0)}), coded as chronic"
        return names + when


def category_for(days: int) -> Category:
    if days < ACUTE_BELOW_DAYS:
        return Category.ACUTE
    return Category.CHRONIC if days > CHRONIC_ABOVE_DAYS else Category.SUBACUTE


def _episode(record: PatientRecord, today: date) -> Episode | None:
    """Return the current episode, or None without back-pain context (0.6 gate: then no cards at all)."""
    lbp = record.conditions_in("low-back-pain", today, current=True)
    radicular = record.conditions_in("radicular-back-pain", today, current=True)
    conditions = tuple(lbp + radicular)
    if not conditions:
        reasons = record.kb.vs("low-back-pain"), record.kb.vs("radicular-back-pain")
        drafted = tuple(o for o in record.drafts() if any(code in vs for code in o.reason_codes for vs in reasons))
        if not drafted:
            return None
        return Episode((), today, 0, Category.ACUTE, True, (), drafts=drafted)
    # A code that says chronic means pain for more than 12 weeks, whatever the dates: charts often date the coding,
    # not the pain (0.10 item 16). Other codes follow their dates.
    coded_chronic = any(c.classes.intersection(CHRONIC_CODE) for c in conditions)
    starts = [c.start for c in conditions if c.start is not None and c.start <= today]
    if starts:
        onset = min(starts)
        days = (today - onset).days
        category = Category.CHRONIC if coded_chronic else category_for(days)
        return Episode(conditions, onset, days, category, False, tuple(radicular), coded_chronic)
    acute = record.kb.vs("acute-back-pain-code")
    implied = (
        Category.CHRONIC
        if coded_chronic
        else Category.ACUTE
        if any(code in acute for c in conditions for code in c.codes)
        else None
    )
    return Episode(conditions, None, None, implied, False, tuple(radicular), coded_chronic)


episode = per_call(_episode)
