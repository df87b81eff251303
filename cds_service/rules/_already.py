"""What the patient already takes, so that advice names it instead of suggesting it (clinical reference 0.10 item 14).

Every phrase is card markdown: drugs are named by `drug_labels`, the same name every card of a response uses (0.9).
"""

from __future__ import annotations

from datetime import date

from ..record.patient_record import MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._dosing import amount, dosage_json
from ._names import drug_labels
from ._therapy import Ingredients, ingredients, therapy_start
from ._wording import day


def _current(record: PatientRecord, vs: str, today: date) -> list[MedicationFact]:
    """Current chart medications (not drafts) in value set `vs`."""
    return [m for m in record.medications_in(vs, today) if not m.draft]


current = per_call(_current)


def already_on(
    record: PatientRecord, vs: str, what: str, today: date, excluding: frozenset[int] = frozenset()
) -> str | None:
    """ "duloxetine 30 MG ... (last ordered 2023-05-01), taken since 2022-05-28": what the patient takes of `vs`,
    each drug dated by the start of its own therapy run that reaches today (0.10 item 18), when that run began
    before its latest order. `excluding`: the id()s of orders not to name (those a draft of this call renews)."""
    return record.once(_already_on, vs, what, today, excluding)  # the first-line and chronic-options cards both ask


def _already_on(record: PatientRecord, vs: str, what: str, today: date, excluding: frozenset[int]) -> str | None:
    meds = [m for m in current(record, vs, today) if id(m) not in excluding]
    if not meds:
        return None
    by_drug: dict[Ingredients, list[MedicationFact]] = {}  # a therapy is one ingredient's: never another NSAID's
    for med in meds:
        by_drug.setdefault(ingredients(record.kb, med), []).append(med)
    said = []
    for group in by_drug.values():
        first = therapy_start(record, group[0], today)
        last = max((m.start for m in group if m.start), default=None)
        since = f", taken since {day(first)}" if first is not None and first != last else ""
        said.append(f"{', '.join(drug_labels(record, group, what, today))}{since}")
    return ", ".join(said)


def nsaid_doses(record: PatientRecord, meds: list[MedicationFact]) -> list[str]:
    """The dose of each current NSAID, and when it is above what the guideline advises a dose (section 4)."""
    found: dict[str, None] = {}
    seen: set[tuple[tuple[str, ...], bytes]] = set()
    for med in meds:
        same = (med.rxnorm, dosage_json(med.raw_dosage))  # renewals: the same product and dose say the same
        if same in seen:
            continue
        seen.add(same)
        dose = amount(record.kb, med)
        product = next((record.kb.nsaid_products[c] for c in med.rxnorm if c in record.kb.nsaid_products), None)
        ingredient = dose.ingredient if dose else product.ingredient if product else None
        limit = record.kb.nsaid_limits.get(ingredient or "")
        per_dose = dose.mg if dose else product.strength if product and product.strength_unit == "mg" else None
        text = str(dose) if dose else f"{per_dose:,g} mg a unit, no structured dose" if per_dose else ""
        if limit and per_dose is not None and per_dose > limit.single:
            text += f"{': ' if text else ''}no added benefit above {limit.single:,g} mg a dose"
        if text:
            found[text] = None
    return list(found)
