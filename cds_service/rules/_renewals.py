"""What a renewal is (a draft of the product of a chart order, clinical reference 0.10 item 1) and how every
card names it (0.9)."""

from __future__ import annotations

from datetime import date

from ..knowledge import Knowledge
from ..record.patient_record import MedicationFact, PatientRecord
from ._dosing import regimen
from ._markdown import escape
from ._steps import are_steps
from ._wording import day


def same_product(kb: Knowledge, a: MedicationFact, b: MedicationFact) -> bool:
    """The same RxNorm codes, or a product code in common (generic and brand sent together); a shared ingredient
    code (an EHR may send "oxycodone" beside the product) makes no two products one (0.10 item 1)."""
    if not a.rxnorm or not b.rxnorm:  # a drug known only by its name is no product to renew
        return False
    if a.rxnorm == b.rxnorm:
        return True
    known = (kb.products, kb.nsaid_products, kb.acetaminophen_products)
    return any(c in b.rxnorm for c in a.rxnorm if any(c in table for table in known))


def renewed(record: PatientRecord, draft: MedicationFact, today: date) -> list[MedicationFact]:
    """The current chart entries of the product `draft` renews, most recent first: of the de-duplicated record
    (0.4: a statement beside its request counts once, as the request), so every card names the same one."""
    if not draft.draft or not draft.rxnorm:
        return []
    chart = [m for m in record.deduplicated() if not m.draft and same_product(record.kb, m, draft)]
    return sorted((m for m in chart if m.is_current(today)), key=lambda m: m.start or date.min, reverse=True)


def without_renewed(kb: Knowledge, meds: list[MedicationFact]) -> list[MedicationFact]:
    """`meds` without the chart orders that a draft among them renews: the draft replaces them in every count and
    list (0.10 item 1)."""
    drafts = [m for m in meds if m.draft]
    if not drafts:  # most records
        return meds
    return [m for m in meds if m.draft or not any(same_product(kb, m, d) for d in drafts)]


def renewal_of(chart: MedicationFact, draft: MedicationFact) -> str:
    """ "renewal of oxycodone 10 MG ER (last ordered 2020-07-21)[, dose changed]". "Dose changed" only when both doses
    can be read and differ: each instruction's amount and timing, not its sig text, unit spelling or, for
    instructions taken together, their order."""
    # "ordered": `renewed` reads the de-duplicated record, where the draft itself drops a statement of its product
    when = f" (last ordered {day(chart.start)})" if chart.start else ""
    before, after = _dose(chart), _dose(draft)
    if before is not None and after is not None and before != after:
        change = ", dose changed"
    elif before is None and after is not None:  # counted at its floor before: why the total moves (0.10 item 3)
        change = ", which had no structured dose"
    else:
        change = ""
    return f"renewal of {escape(chart.display) or 'the chart order'}{when}{change}"


def _dose(med: MedicationFact) -> tuple[tuple[float, str, float], ...] | None:
    raws = med.raw_dosages or ((med.raw_dosage,) if med.raw_dosage is not None else ())
    found = regimen(raws)
    if found is None or (len(raws) > 1 and are_steps(raws)):  # steps: their order is their meaning
        return found
    return tuple(sorted(found))  # instructions taken together (0.10 item 7): in any order, the same dose
