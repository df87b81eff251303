"""Daily morphine milligram equivalents (clinical reference 5.4, CDC 2022 factors from fhir_profiles/)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from fhir.resources.R4B.dosage import Dosage

from ..knowledge import Knowledge, Product
from ..record import MedicationFact, PatientRecord
from ._opioids import current_opioids

HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1, "d": 24, "wk": 168, "mo": 720, "a": 8760}
# HL7 v3 GTSAbbreviation timing codes -> administrations per day (5.4 step 3).
TIMING_CODES = {"QD": 1, "BID": 2, "TID": 3, "QID": 4, "Q4H": 6, "Q6H": 4, "Q8H": 3, "Q12H": 2, "QOD": 0.5,
                "AM": 1, "PM": 1, "QAM": 1, "QPM": 1, "QHS": 1}
MASS_TO_MG = {"mg": 1.0, "ug": 0.001, "mcg": 0.001, "g": 1000.0, "milligram": 1.0, "microgram": 0.001}
RATE_UNITS = {"ug/h", "mcg/h", "ug/hr", "mcg/hr", "mcg/h(r)"}
# Countable units (5.4 step 4): UCUM "1" and any UCUM annotation ({pill}, as the CDS Hooks sandbox sends, {tbl},
# {patch}...: see `_is_countable`), HL7 v3 orderableDrugForm codes, and the plain words, case-insensitive.
COUNT_UNITS = {"1", "tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules", "pill", "pills",
               "patch", "patches", "film", "films", "each", "ea", "unit", "units", "spray", "lozenge", "suppository",
               "ertab", "ercap", "chewtab", "ortab", "drtab", "sltab", "tpatch", "supp", "loz", "troche"}
VOLUME_TO_ML = {"ml": 1.0, "l": 1000.0}


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
            return ""
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
        lines = [f"- {c.med.display or 'opioid'}{c.folded()}: {c.note}" for c in self.contributions]
        if self.total is None:
            lines.append("- Total daily MME could not be computed from the structured dosing.")
        else:
            lines.append(f"- **Total: {self.total:g} MME/day**" + (
                " (may be underestimated: some doses could not be computed)" if self.partial else ""))
        return "\n".join(lines)


def daily_mme(record: PatientRecord, today: date) -> MmeResult:
    """Sum of MME/day over current opioid analgesics (drafts included), rounded to 1 decimal."""
    key = ("mme", today)
    if key not in record.memo:
        record.memo[key] = _daily_mme(record, today)
    return record.memo[key]


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
    dosage = _dosage(med.raw_dosage)
    dose = _dose(dosage)
    if dose is None:
        return ingredient, None, "no structured dose; MME not computed"
    value, unit = dose
    if not value > 0:  # a negative or zero dose is a data error: say so rather than subtract from the total
        return ingredient, None, "dose is not a positive number; MME not computed"
    if factor.input_unit == "ug/h":  # patches worn x mcg/h x 2.4, whatever the change interval (5.4 step 6)
        mcg_per_hour = _fentanyl_rate(value, unit, product)
        if mcg_per_hour is None:
            return ingredient, None, f"dose unit '{unit}' not understood; MME not computed"
        mme = mcg_per_hour * factor.factor
        return ingredient, mme, f"{mcg_per_hour:g} mcg/h x {factor.factor:g} = {mme:g} MME/day"
    mg = _milligrams(value, unit, product)
    per_day = _per_day(dosage)
    if per_day is not None and not per_day > 0:
        per_day = None
    if mg is None or per_day is None:
        why = "dose unit not understood" if mg is None else "no structured frequency"
        return ingredient, None, f"{why}; MME not computed"
    daily = mg * per_day
    mme = daily * factor.factor
    return ingredient, mme, f"{mg:g} mg x {per_day:g}/day = {daily:g} mg/day x {factor.factor:g} = {mme:g} MME/day"


def _dosage(raw: dict[str, Any] | None) -> Dosage | None:
    """The first dosage as an R4B Dosage; None when absent or invalid (then no dose can be computed)."""
    if raw is None:
        return None
    try:
        return Dosage.model_validate(raw)
    except ValueError:
        return None


def _dose(dosage: Any) -> tuple[float, str] | None:
    if dosage is None:
        return None
    for dr in dosage.doseAndRate or ():
        quantity = dr.doseQuantity or (dr.doseRange.high if dr.doseRange else None) or dr.rateQuantity
        if quantity is not None and quantity.value is not None:
            return float(quantity.value), (quantity.code or quantity.unit or "").strip()
    return None


def _unit(unit: str) -> str:
    return unit.lower().strip()


def _is_countable(unit: str) -> bool:
    """A unit that counts dose units (tablets, patches...): see COUNT_UNITS; `unit` is lower-cased."""
    return unit in COUNT_UNITS or (len(unit) > 2 and unit[0] == "{" and unit[-1] == "}")


def _milligrams(value: float, unit: str, product: Product | None) -> float | None:
    u = _unit(unit)
    if u in MASS_TO_MG:
        return value * MASS_TO_MG[u]
    if product is None:
        return None
    if u in VOLUME_TO_ML and product.strength_unit == "mg/mL":
        return value * VOLUME_TO_ML[u] * product.strength
    if (_is_countable(u) or u == "") and product.strength_unit in ("mg", "mg/actuat"):  # a spray: mg per actuation
        return value * product.strength
    return None


def _fentanyl_rate(value: float, unit: str, product: Product | None) -> float | None:
    u = _unit(unit)
    if u in RATE_UNITS:
        return value
    if product is not None and product.strength_unit == "mg/h" and (_is_countable(u) or u == ""):
        return value * product.strength * 1000
    return None


def _per_day(dosage: Any) -> float | None:
    timing = dosage.timing
    if timing is None:
        return 1.0  # doseAndRate without timing: once a day (MME IG default)
    repeat = timing.repeat
    if repeat is not None:
        if repeat.period:
            frequency = repeat.frequencyMax or repeat.frequency or 1
            hours = float(repeat.period) * HOURS.get(repeat.periodUnit or "d", 24)
            return float(frequency) * 24 / hours if hours else None
        if repeat.timeOfDay:
            return float(len(repeat.timeOfDay))
        if repeat.frequency:
            return float(repeat.frequencyMax or repeat.frequency)
    if timing.code is not None:
        for coding in timing.code.coding or ():
            if coding.code and coding.code.upper() in TIMING_CODES:
                return float(TIMING_CODES[coding.code.upper()])
    return None if repeat is not None or timing.code is not None else 1.0
