"""Therapies: the run of orders and statements of one ingredient with no gap over 90 days (clinical reference 0.10
item 18). It gives when a drug was started (not-recommended-treatment: "started for this episode", 6.1) and how long
it has been taken continuously (long-term opioid therapy, 5.3). A draft starts today (0.10 item 2)."""

from __future__ import annotations

from datetime import date
from operator import attrgetter

from ..knowledge import Knowledge
from ..record.patient_record import NOT_USE_STATUSES, MedicationFact, PatientRecord
from ._supply import supply_end

GAP_DAYS = 90  # a longer gap between one entry (or its supply) and the next starts a new therapy
_START = attrgetter("start")

Ingredients = tuple[str, ...]


def ingredients(kb: Knowledge, med: MedicationFact) -> Ingredients:
    """The drug's ingredient codes where a product map knows them (opioids, NSAIDs), else its own codes; a drug
    without an RxNorm code is known by its name."""
    codes = med.rxnorm
    if len(codes) == 1:  # the common case, asked once per opioid order by several cards: no set, no sort
        product = kb.products.get(codes[0]) or kb.nsaid_products.get(codes[0])
        return (product.ingredient,) if product is not None else codes
    found = {
        (kb.products.get(c) or kb.nsaid_products.get(c)).ingredient  # type: ignore[union-attr]
        if c in kb.products or c in kb.nsaid_products
        else c
        for c in med.rxnorm
    }
    return tuple(sorted(found)) or (med.display,)


def covered_until(med: MedicationFact, today: date) -> date:
    """The last day an entry says the drug was taken: today while it is current (a draft, an active order), else
    the end of its period or supply window, else its own date."""
    assert med.start is not None
    if med.is_current(today):
        return today
    end = med.end if med.resource_type == "MedicationStatement" else supply_end(med.raw_dispense, med.start)
    return max(med.start, end) if end is not None else med.start


def therapy_start(record: PatientRecord, med: MedicationFact, today: date) -> date | None:
    """First date of the run of `med`'s ingredients that reaches today; None when no run does (all ended)."""
    return record.once(_therapy_starts, today).get(ingredients(record.kb, med))


def _therapy_starts(record: PatientRecord, today: date) -> dict[Ingredients, date]:
    # One dictionary step per entry, grouped by RxNorm codes (renewals repeat them by the dozen); an entry's date
    # and status are read in the walk below, which stops at the first entry that reaches today
    by_codes: dict[tuple[str, ...], list[MedicationFact]] = {}
    group: list[MedicationFact] = []
    last_codes = None
    for med in record.medications:  # duplicates (a statement of an order) do not change a run
        if med.start is not None:
            codes = med.rxnorm
            if codes is not last_codes:  # else a renewal after its order (the same codes object): the same group
                group = by_codes.setdefault(codes, [])
                last_codes = codes
            group.append(med)
    by_drug: dict[Ingredients, list[MedicationFact]] = {}
    kb = record.kb
    for codes, meds in by_codes.items():
        if codes:
            by_drug.setdefault(ingredients(kb, meds[0]), []).extend(meds)
        else:  # a drug without codes is known by its name (ingredients()): each its own
            for med in meds:
                by_drug.setdefault(ingredients(kb, med), []).append(med)
    starts = {}
    for drug, meds in by_drug.items():
        run_start, covered = date.min, date.min
        for med in sorted(meds, key=_START):
            start = med.start
            assert start is not None
            if start > today:
                break  # sorted: the rest start later still
            if not med.draft and med.status in NOT_USE_STATUSES:  # med.draft or med.means_use, spelt out
                continue
            if run_start == date.min or (start - covered).days > GAP_DAYS:
                run_start = start
            until = covered_until(med, today)
            if until > covered:
                covered = until
                if covered >= today:  # reaches today: the later entries (started by today) extend this run
                    break
        if (today - covered).days <= GAP_DAYS:
            starts[drug] = run_start
    return starts
