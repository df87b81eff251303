"""How cards name medications: each drug once, with its count of orders and when it was last ordered (0.9).

Records keep renewals active (Brenda Jackson's has eleven active orders of one oxycodone product); listing each
would bury the card's point under repeated lines. An active order last written more than 12 months ago whose supply
window does not reach today still counts (the chart says active), but the card asks whether the patient still
takes it. A draft is named with its dose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from ..record.patient_record import ConditionFact, MedicationFact, PatientRecord
from ._dosing import amount
from ._markdown import escape
from ._renewals import renewal_of, renewed
from ._supply import supply_end
from ._wording import ago, day

STALE_AFTER_DAYS = 365


def _draft(med: MedicationFact) -> str:
    return "draft" if med.draft else ""


def drug_labels(
    record: PatientRecord,
    meds: Iterable[MedicationFact],
    fallback: str,
    today: date,
    state: Callable[[MedicationFact], str] = _draft,
) -> list[str]:
    """One label per distinct (name, state), in first-seen order, as card markdown (the name escaped):
    "Chlordiazepoxide 25 MG Oral Tablet (11 orders, last ordered 2017-03-02, 9 years ago: still taking it?)",
    "ibuprofen 800 MG Oral Tablet (draft: 800 mg 3 times a day = 2,400 mg/day)"."""
    meds = list(meds)  # a copy: kept below, to be compared with the next call's
    # Keyed by the first order (a key of every order's id cost 7 K instructions for 22), answered only for a list
    # equal to the one kept: the same facts (`==` on a list tries identity first: no field is compared) or facts
    # with the same values, which get the same labels. Several cards name the same drugs (Brenda Jackson: 22 orders)
    key = (drug_labels, id(meds[0]) if meds else 0, fallback, state, today)
    known = record.memo.get(key)
    if known is not None and known[0] == meds:
        return known[1]  # type: ignore[no-any-return]
    labels = _labels(record, meds, fallback, today, state)
    record.memo[key] = (meds, labels)
    return labels


def _labels(
    record: PatientRecord,
    meds: list[MedicationFact],
    fallback: str,
    today: date,
    state: Callable[[MedicationFact], str],
) -> list[str]:
    groups: dict[tuple[str, str], list[MedicationFact]] = {}
    if state is _draft:  # the usual state, spelt out: renewals make dozens of these per label, one after another
        group: list[MedicationFact] = []
        last_display, last_draft = None, None
        for med in meds:
            display, draft = med.display, med.draft
            if display is not last_display or draft is not last_draft:  # else a renewal: the group before it
                group = groups.setdefault((display, "draft" if draft else ""), [])
                last_display, last_draft = display, draft
            group.append(med)
    else:
        for med in meds:
            groups.setdefault((med.display, state(med)), []).append(med)
    labels = []
    for (display, med_state), group in groups.items():
        name = escape(display) or fallback  # once per name: renewals repeat it by the dozen
        drafted = [amount(record.kb, m) for m in group if m.draft] if med_state else ()  # only drafts have one
        doses = ", ".join(dict.fromkeys(str(a) for a in drafted if a is not None)) if drafted else ""
        notes = [
            n
            for n in (
                f"{med_state}: {doses}" if med_state and doses else med_state,
                f"{len(group)} orders" if len(group) > 1 else "",
                renewals_last_ordered(record, group, today),
                _renewal(record, group[0], today) if med_state == "draft" else "",
            )
            if n
        ]
        labels.append(f"{name} ({', '.join(notes)})" if notes else name)
    return labels


def _renewal(record: PatientRecord, draft: MedicationFact, today: date) -> str:
    """ "renewal of <chart order> (last ordered <date>)" when the draft renews a current chart entry, in the words and
    of the entry the dose cards name (0.9, 0.10 item 1); "" for a new drug."""
    chart = renewed(record, draft, today)
    return renewal_of(chart[0], draft) if chart else ""


def renewals_last_ordered(record: PatientRecord, meds: list[MedicationFact], today: date) -> str:
    """`last_ordered`, worked out once per record for a group of orders: the MME total and the drug labels name the
    same groups (Brenda Jackson's eleven oxycodone renewals, grouped alike, in separate lists)."""
    key = (last_ordered, id(meds[0]) if meds else 0, today)  # as `drug_labels` keeps its answers
    known = record.memo.get(key)
    if known is not None and known[0] == meds:
        return known[1]  # type: ignore[no-any-return]
    said = last_ordered(meds, today)
    record.memo[key] = (list(meds), said)
    return said


def last_ordered(meds: Iterable[MedicationFact], today: date) -> str:
    """When the chart last ordered or recorded this drug, and whether that may be stale (0.9), worded the same on
    every card (0.10 item 9): "last ordered 2017-07-22, 9 years ago: still taking it?"; "" for drafts only."""
    last, last_start = None, None  # the first of the latest dated chart entries, as max() picks it, in one pass
    for m in meds:
        start = m.start
        if start is not None and not m.draft and (last_start is None or start > last_start):
            last, last_start = m, start
    if last is None or last_start is None:
        return ""
    verb = "ordered" if last.resource_type == "MedicationRequest" else "recorded"
    days = (today - last_start).days
    said = f"last {verb} {day(last_start)}"
    return f"{said}, {ago(days)}: still taking it?" if may_be_stale(last, today) else said


def may_be_stale(med: MedicationFact, today: date) -> bool:
    """An active request last ordered over 12 months ago whose supply window does not reach today (0.9)."""
    if med.resource_type != "MedicationRequest" or med.status != "active" or med.draft or med.start is None:
        return False
    if (today - med.start).days <= STALE_AFTER_DAYS:
        return False
    end = supply_end(med.raw_dispense, med.start)
    return end is None or end < today


def condition_label(c: ConditionFact, fallback: str) -> str:
    """A condition as a card names it, escaped for markdown, with its onset or recorded date (0.9):
    "Chronic systolic heart failure (onset 2013-02-28)"."""
    name = escape(c.display or fallback)
    if c.onset is not None:
        return f"{name} (onset {day(c.onset)})"
    return f"{name} (recorded {day(c.recorded)})" if c.recorded is not None else name
