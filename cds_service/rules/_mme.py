"""Daily morphine milligram equivalents (clinical reference 5.4, CDC 2022 factors from fhir_profiles/)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import orjson

from ..knowledge import Knowledge, Product
from ..record.patient_record import MedicationFact, PatientRecord
from ._dosing import dosage, dose, is_countable, milligrams, per_day, unit
from ._markdown import escape
from ._opioids import current_opioids

RATE_UNITS = {"ug/h", "mcg/h", "ug/hr", "mcg/hr", "mcg/h(r)"}

@dataclass(frozen=True)
class Contribution:
    """MME/day of one drug and dose. `orders` identical current chart orders of it (renewals left active) count once
    (clinical reference 0.4); identical drafts each count: a draft is what is being added now."""

    med: MedicationFact  # the first of those orders
    ingredient: str
    mme: float | None  # per order; None: could not be computed
    note: str  # how it was computed, or why not
    orders: int = 1

    @property
    def daily(self) -> float | None:
        """This contribution to the total: once for folded renewals, once per order for drafts."""
        if self.mme is None:
            return None
        return self.mme * (self.orders if self.med.draft else 1)

    def folded(self) -> str:
        if self.orders == 1:
            return " (draft order)" if self.med.draft else ""
        if self.med.draft:
            return f" ({self.orders} drafts, each counted)"
        return (f" ({self.orders} active orders of the same prescription, counted once: reconcile the medication "
                "list)")


@dataclass(frozen=True)
class MmeResult:
    total: float | None  # None: no current opioid, or none computable (5.4 step 9)
    contributions: tuple[Contribution, ...]
    partial: bool  # some opioid could not be computed: the total may be an underestimate

    def explain(self) -> str:
        lines = [f"- {escape(c.med.display) or 'opioid'}{c.folded()}: {c.note}" for c in self.contributions]
        if self.total is None:
            lines.append("- Total daily MME could not be computed from the structured dosing.")
        else:
            lines.append(f"- **Total: {self.total:g} MME/day**" + (
                " (may be underestimated: some doses could not be computed)" if self.partial else ""))
        return "\n".join(lines)


def daily_mme(record: PatientRecord, today: date) -> MmeResult:
    """Sum of MME/day over current opioid analgesics (drafts included), rounded to 1 decimal."""
    return record.once(_daily_mme, today)


def _daily_mme(record: PatientRecord, today: date) -> MmeResult:
    same_drug_and_dose: dict[tuple[bool, tuple[str, ...], bytes], list[MedicationFact]] = {}
    for med in current_opioids(record, today):  # drafts never fold into chart orders (reference 0.4)
        same_drug_and_dose.setdefault((med.draft, med.rxnorm, orjson.dumps(med.raw_dosage)), []).append(med)
    contributions = tuple(contribution(record.kb, meds[0], orders=len(meds)) for meds in same_drug_and_dose.values())
    computed = [c.daily for c in contributions if c.daily is not None]
    unknown = [c for c in contributions if c.mme is None and not c.note.startswith("not converted")]
    if not computed:
        return MmeResult(None, contributions, bool(unknown))
    return MmeResult(round(sum(computed), 1), contributions, bool(unknown))


def _identity(kb: Knowledge, med: MedicationFact) -> tuple[str | None, Product | None]:
    """The opioid ingredient and, for a known product, its strength; (None, None) when neither is known."""
    for code in med.rxnorm:
        if code in kb.products:
            return kb.products[code].ingredient, kb.products[code]
    return next((code for code in med.rxnorm if code in kb.opioid_ingredients), None), None


def contribution(kb: Knowledge, med: MedicationFact, orders: int = 1) -> Contribution:
    """MME/day of one opioid order (`orders` of them alike), with a one-line note naming dose, frequency and
    factor."""
    return Contribution(med, *_worked_out(kb, med), orders)


def _worked_out(kb: Knowledge, med: MedicationFact) -> tuple[str, float | None, str]:
    """(ingredient, MME/day or None, note) for one order."""
    ingredient, product = _identity(kb, med)
    factor = kb.mme_factors.get(ingredient or "")
    if ingredient is None:
        return "", None, "ingredient strength unknown; MME not computed"
    if factor is None:
        return ingredient, None, "not converted (no CDC 2022 MME factor, e.g. buprenorphine)"
    transdermal = product is not None and product.form == "transdermal"
    if factor.input_unit == "ug/h" and not transdermal and product is not None:
        return ingredient, None, "not converted (non-transdermal fentanyl has no factor)"
    structured = dosage(med.raw_dosage)
    amount = dose(structured)
    if amount is None:
        return ingredient, None, "no structured dose; MME not computed"
    value, dose_unit = amount
    if not value > 0:  # a negative or zero dose is a data error: say so rather than subtract from the total
        return ingredient, None, "dose is not a positive number; MME not computed"
    if factor.input_unit == "ug/h":  # patches worn x mcg/h x 2.4, whatever the change interval (5.4 step 6)
        mcg_per_hour = _fentanyl_rate(value, dose_unit, product)
        if mcg_per_hour is None:
            return ingredient, None, f"dose unit '{escape(dose_unit)}' not understood; MME not computed"
        mme = mcg_per_hour * factor.factor
        return ingredient, mme, f"{mcg_per_hour:g} mcg/h x {factor.factor:g} = {mme:g} MME/day"
    mg = milligrams(value, dose_unit, product)
    daily_count = per_day(structured)
    if daily_count is not None and not daily_count > 0:
        daily_count = None
    if mg is None or daily_count is None:
        why = "dose unit not understood" if mg is None else "no structured frequency"
        return ingredient, None, f"{why}; MME not computed"
    daily = mg * daily_count
    mme = daily * factor.factor
    return ingredient, mme, f"{mg:g} mg x {daily_count:g}/day = {daily:g} mg/day x {factor.factor:g} = {mme:g} MME/day"


def _fentanyl_rate(value: float, dose_unit: str, product: Product | None) -> float | None:
    u = unit(dose_unit)
    if u in RATE_UNITS:
        return value
    if product is not None and product.strength_unit == "mg/h" and (is_countable(u) or u == ""):
        return value * product.strength * 1000
    return None


