"""What a card says about a drafted NSAID (clinical reference 0.9): its dose against the guideline's (section 4), and
whether it duplicates an NSAID already active. A draft of the same product (RxNorm code) as a current chart order is
a renewal that replaces it, not a duplicate (0.4, 0.10 item 1); another NSAID product or ingredient beside a current
NSAID is a duplicate (two NSAIDs at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..record.patient_record import MedicationFact, PatientRecord
from ._dosing import Amount, amount
from ._markdown import escape
from ._names import drug_labels
from ._renewals import renewal_of, same_product


@dataclass(frozen=True)
class DraftedNsaid:
    med: MedicationFact
    dose: Amount | None
    above_guideline: list[str]  # how the dose exceeds what the guideline advises, if it does
    duplicates: list[str]  # labels of the active NSAID orders beside it (not the ones it renews)
    renewed: tuple[MedicationFact, ...] = ()  # the current chart orders of the same product, most recent first

    def findings(self) -> list[str]:
        """The card lines on its dose and duplication, if either is a concern."""
        found = [f"- **{reason}**" for reason in self.above_guideline]
        if self.duplicates:
            found.append(f"- **Duplicate NSAID:** already active: {'; '.join(self.duplicates)}.")
        return found

    def lines(self) -> list[str]:
        """The draft named with its dose, then its findings."""
        dose = f": {self.dose}" if self.dose else " (no structured dose)"
        renewal = f"; {self.renewal()}" if self.renewed else ""
        return [f"Drafted: {escape(self.med.display) or 'NSAID'}{dose}{renewal}.", *self.findings()]

    def renewal(self) -> str:
        return renewal_of(self.renewed[0], self.med)


def drafted_nsaids(record: PatientRecord, today: date) -> list[DraftedNsaid]:
    """The NSAID drafts being ordered in this call, each with what the guideline says of its dose."""
    nsaids = record.medications_in("nsaids", today)
    active = [m for m in nsaids if not m.draft]
    found = []
    for med in nsaids:
        if not record.is_in_focus(med):  # a draft of this call (at order-select, a selected one)
            continue
        dose = amount(record.kb, med)
        limit = record.kb.nsaid_limits.get(dose.ingredient or "") if dose else None
        above = []
        if dose and limit and dose.mg > limit.single:
            above.append(
                f"{dose.mg:,g} mg a dose is above the {limit.single:,g} mg the guideline advises ({limit.advice})."
            )
        if dose and limit and dose.daily_mg is not None and dose.daily_mg > limit.daily:
            above.append(f"{dose.daily_mg:,g} mg/day is above the {limit.daily:,g} mg/day maximum.")
        renewed = [m for m in active if same_product(record.kb, m, med)]  # same product: it replaces them (0.10 item 1)
        others = [m for m in active if not same_product(record.kb, m, med)]
        renewed.sort(key=lambda m: m.start or date.min, reverse=True)
        found.append(DraftedNsaid(med, dose, above, drug_labels(record, others, "NSAID", today), tuple(renewed)))
    return found


def replaceable_nsaid_drafts(record: PatientRecord, today: date) -> list[MedicationFact]:
    """The NSAID drafts of this call that a card may remove or replace (they have an id to name): the NSAID card
    replaces them with acetaminophen, so the acetaminophen card orders none of its own beside them."""
    return [m for m in record.medications_in("nsaids", today) if record.is_in_focus(m) and m.id]
