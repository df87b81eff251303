"""Tramadol above its label maximum, named on the opioid cards (clinical reference 0.10 item 11)."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from ..knowledge import Knowledge
from ..record.patient_record import MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._mme import daily_mme, identity
from ._nsaid_status import nsaid_status

TRAMADOL = "tramadol"  # its display in the mme-conversion-factors CodeSystem
TRAMADOL_LABEL_MAX_MG = 400  # tramadol label: at most 400 mg/day (0.10 item 11)
TRAMADOL_LABEL_MAX_MG_OLDER = 300  # ... and 300 mg/day from age 75
TRAMADOL_OLDER_AGE = 75
# ... and 200 mg/day, every 12 hours, with creatinine clearance below 30 (label; Beers 2023: reduce the dose). Our
# choice beside 0.10 item 11: the same severe kidney impairment that contraindicates NSAIDs (nsaid_status.kidney).
TRAMADOL_LABEL_MAX_MG_KIDNEY = 200

_sum: Any = sum  # called as Any: compiled, a sum of floats would be checked against the int mypy infers


def is_tramadol(kb: Knowledge, ingredient: str | None) -> bool:
    """The ingredient is tramadol, as the MME factors name it: one test for both uses below."""
    return getattr(kb.mme_factors.get(ingredient or ""), "name", "") == TRAMADOL


def tramadol_orders(kb: Knowledge, opioids: list[MedicationFact]) -> list[MedicationFact]:
    """The orders of tramadol (alone or combined, by its product's or its own ingredient code) among `opioids`,
    each distinct drug looked up once: renewals repeat a drug by the dozen."""
    drugs = {m.rxnorm for m in opioids}
    tramadol = {d for d in drugs if is_tramadol(kb, identity(kb, d)[0])}
    return [m for m in opioids if m.rxnorm in tramadol] if tramadol else []


class Above(NamedTuple):
    """What the opioid cards say of tramadol above its maximum, and the entries it names (the kidney findings)."""

    text: str
    evidence: tuple[Any, ...] = ()


def _above_label_maximum(record: PatientRecord, today: date) -> Above | None:
    """Tramadol above its label maximum, for the opioid cards (0.10 item 11); None when within it or unknown."""
    mme = daily_mme(record, today)
    found = [c for c in mme.contributions if c.mg_per_day is not None and is_tramadol(record.kb, c.ingredient)]
    if not found:
        return None
    mg = round(_sum(c.mg_per_day * (c.orders if c.med.draft else 1) for c in found), 1)  # type: ignore[operator]
    if mg <= TRAMADOL_LABEL_MAX_MG_KIDNEY:  # below every maximum: no need to read age or kidney function
        return None
    if (status := nsaid_status(record, today)).kidney:
        return Above(
            f"Tramadol {mg:g} mg/day is above {TRAMADOL_LABEL_MAX_MG_KIDNEY} mg/day, the label maximum with severely"
            f" reduced kidney function ({status.kidney}): it accumulates, raising the risk of seizures and serotonin"
            " syndrome; dose every 12 hours at most and avoid extended-release tramadol (label; Beers 2023).",
            status.kidney_evidence,
        )
    age = record.age(today)
    older = age is not None and age >= TRAMADOL_OLDER_AGE
    limit = TRAMADOL_LABEL_MAX_MG_OLDER if older else TRAMADOL_LABEL_MAX_MG
    if mg <= limit:
        return None
    return Above(
        f"Tramadol {mg:g} mg/day is above the label maximum of {limit} mg/day"
        f"{' at age 75 or over' if older else ''}: risk of seizures and serotonin syndrome; lower the dose."
    )


above_label_maximum = per_call(_above_label_maximum)
