"""What a card says about a drafted NSAID (clinical reference 0.9): its dose against the guideline's (section 4), and
whether it duplicates an NSAID already active."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..record.patient_record import MedicationFact, PatientRecord
from ._dosing import Amount, amount
from ._markdown import escape
from ._names import drug_labels


@dataclass(frozen=True)
class DraftedNsaid:
    med: MedicationFact
    dose: Amount | None
    above_guideline: list[str]  # how the dose exceeds what the guideline advises, if it does
    duplicates: list[str]  # labels of the active NSAID orders beside it

    def findings(self) -> list[str]:
        """The card lines on its dose and duplication, if either is a concern."""
        found = [f"- **{reason}**" for reason in self.above_guideline]
        if self.duplicates:
            found.append(f"- **Duplicate NSAID:** already active: {'; '.join(self.duplicates)}.")
        return found

    def lines(self) -> list[str]:
        """The draft named with its dose, then its findings."""
        dose = f": {self.dose}" if self.dose else " (no structured dose)"
        return [f"Drafted: {escape(self.med.display) or 'NSAID'}{dose}.", *self.findings()]


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
        found.append(DraftedNsaid(med, dose, above, drug_labels(record, active, "NSAID", today)))
    return found
