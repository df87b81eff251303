"""Daily morphine milligram equivalents (clinical reference 5.4, CDC 2022 factors from fhir_profiles/).

A draft of the same product as a chart order renews it and replaces it (0.10 item 1); an order without a usable dose
or timing but with a known strength is counted at a floor, and the total is then a lower bound (0.10 item 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import orjson
from mypy_extensions import mypyc_attr

from ..citations import computed
from ..knowledge import Knowledge, Product
from ..knowledge.memo import size_of
from ..record.patient_record import MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._dosing import dosage, dosage_json, dose, is_countable, milligrams, per_day, unit
from ._markdown import escape
from ._names import renewals_last_ordered
from ._opioids import current_opioids
from ._renewals import renewal_of, renewed
from ._steps import are_steps, instructions, step_today

RATE_UNITS = {"ug/h", "mcg/h", "ug/hr", "mcg/hr", "mcg/h(r)"}
TWICE_DAILY_MARK = "12 HR"  # a product whose RxNorm name says so is taken twice a day when no timing says otherwise
FLOOR_NOTE = "counted at its floor"
# buprenorphine, meperidine...: they add nothing by rule (5.4 step 8), which is not a dose we failed to read
NO_FACTOR = "not converted: CDC 2022 gives this opioid no MME factor"

_sum: Any = sum  # called as Any: compiled, a sum of floats would be checked against the int mypy infers


class Contribution(NamedTuple):  # a NamedTuple: immutable, and cheaper to make than a frozen dataclass
    """MME/day of one drug and dose. `orders` identical current chart orders of it (renewals left active) count once
    (clinical reference 0.4); identical drafts each count: a draft is what is being added now."""

    med: MedicationFact  # the first of those orders
    ingredient: str
    mme: float | None  # per order; None: could not be computed
    note: str  # how it was computed, or why not
    orders: int = 1
    floor: bool = False  # counted at a floor: no usable dose or timing (0.10 item 3)
    mg_per_day: float | None = None  # of the opioid ingredient (tramadol's label maximum, 0.10 item 11)
    renewal: str = ""  # "renewal of <chart order> (last ordered <date>)[, dose changed]" for a draft
    dated: str = ""  # "last ordered <date>[, N years ago: still taking it?]" for chart orders, as every card says it

    @property
    def daily(self) -> float | None:
        """This contribution to the total: once for folded renewals, once per order for drafts."""
        if self.mme is None:
            return None
        return self.mme * (self.orders if self.med.draft else 1)

    def folded(self) -> str:
        if self.med.draft:
            counted = f"{self.orders} drafts, each counted" if self.orders > 1 else "draft order"
            return f" ({counted}{': ' + self.renewal if self.renewal else ''})"
        folded = (
            f"{self.orders} active orders of the same prescription, counted once: reconcile the medication list"
            if self.orders > 1
            else ""
        )
        notes = "; ".join(n for n in (folded, self.dated) if n)
        return f" ({notes})" if notes else ""


@mypyc_attr(native_class=False)  # compiled, still keeps a __dict__ for `computed`
@dataclass(frozen=True)
class MmeResult:
    total: float | None  # None: no current opioid, or none computable (5.4 step 9)
    contributions: tuple[Contribution, ...]
    partial: bool  # some opioid could not be computed: the total may be an underestimate
    lower_bound: bool = False  # some order was counted at its floor: the true total is at least `total`
    alternatives: tuple[str, ...] = ()  # "if this draft replaces <chart order>, the total is N MME/day"

    @property
    def said(self) -> str:
        """The total as a card says it: "at least 195 MME/day" or "60 MME/day"."""
        return f"{'at least ' if self.lower_bound else ''}{self.total:g} MME/day"

    def explain(self) -> str:
        """The contributions and the total as card markdown lines."""
        return self._explained

    @computed  # two cards show it: worked out once
    def _explained(self) -> str:
        lines = [f"- {escape(c.med.display or 'opioid')}{c.folded()}: {c.note}" for c in self.contributions]
        if self.total is None and self.contributions and not self.partial:  # every one without a factor (5.4 step 8)
            lines.append("- No total daily MME: CDC 2022 gives none of these opioids an MME factor.")
        elif self.total is None:
            lines.append("- Total daily MME could not be computed from the structured dosing.")
        else:
            lines.append(
                f"- **Total: {self.said}**"
                + (" (may be underestimated: some doses could not be computed)" if self.partial else "")
                + (" (orders without a usable dose are counted at their lowest likely use)" if self.lower_bound else "")
            )
        return "\n".join(lines)


def _daily_mme(record: PatientRecord, today: date) -> MmeResult:
    """Sum of MME/day over current opioid analgesics (drafts included), rounded to 1 decimal."""
    same_drug_and_dose: dict[tuple[bool, tuple[str, ...], bytes], list[MedicationFact]] = {}
    group: list[MedicationFact] = []
    last_draft, last_rxnorm, last_raw = None, None, None
    for med in current_opioids(record, today):  # a draft replaces the chart orders it renews (0.10 item 1)
        raw, draft, rxnorm = med.raw_dosages or med.raw_dosage, med.draft, med.rxnorm
        # an order with the very codes and dosage objects of the one before (renewals without a dosage, one after
        # another) joins its group without a key; any other is grouped by its key
        if rxnorm is not last_rxnorm or draft is not last_draft or raw is not last_raw:
            key = (draft, rxnorm, b"null" if raw is None else dosage_json(raw))
            group = same_drug_and_dose.setdefault(key, [])
            last_draft, last_rxnorm, last_raw = draft, rxnorm, raw
        group.append(med)
    contributions = tuple(
        contribution(
            record.kb,
            meds[0],
            len(meds),
            _renewal(record, meds[0], today),
            renewals_last_ordered(record, meds, today),
            today,
        )
        for meds in same_drug_and_dose.values()
    )
    dailies = [c.daily for c in contributions if c.daily is not None]
    unknown = [c for c in contributions if c.mme is None and not c.note.startswith("not converted")]
    if not dailies:
        return MmeResult(None, contributions, bool(unknown))
    total = round(sum(dailies), 1)
    return MmeResult(
        total, contributions, bool(unknown), any(c.floor for c in contributions), _alternatives(contributions, total)
    )


daily_mme = per_call(_daily_mme)


def _renewal(record: PatientRecord, med: MedicationFact, today: date) -> str:
    chart = renewed(record, med, today)
    return renewal_of(chart[0], med) if chart else ""


def _alternatives(contributions: tuple[Contribution, ...], total: float) -> tuple[str, ...]:
    """For a draft of another product of an ingredient already ordered: the total if it replaced that order. A
    renewal already replaces the order it renews (0.10 item 1): it is offered no other."""
    lines = []
    for d in (c for c in contributions if c.med.draft and c.daily is not None and not c.renewal):
        for c in contributions:
            same = c.ingredient == d.ingredient and set(c.med.rxnorm).isdisjoint(d.med.rxnorm)  # another product
            if same and not c.med.draft and c.daily is not None:
                alternative = round(total - c.daily, 1)
                lines.append(
                    f"{escape(d.med.display or 'this draft')}: if this draft replaces "
                    f"{escape(c.med.display or 'the chart order')}, the total is {alternative:g} MME/day."
                )
    return tuple(lines)


def identity(kb: Knowledge, rxnorm: tuple[str, ...]) -> tuple[str | None, Product | None]:
    """The opioid ingredient of a drug's RxNorm codes and, for a known product, its strength; (None, None) when
    neither is known."""
    for code in rxnorm:
        if code in kb.products:
            return kb.products[code].ingredient, kb.products[code]
    return next((code for code in rxnorm if code in kb.opioid_ingredients), None), None


def contribution(
    kb: Knowledge, med: MedicationFact, orders: int = 1, renewal: str = "", dated: str = "", today: date | None = None
) -> Contribution:
    """MME/day of one opioid order (`orders` of them alike), with a one-line note naming dose, frequency and
    factor."""
    ingredient, mme, note, floor, mg = _regimen(kb, med, today)
    return Contribution(med, ingredient, mme, note, orders, floor, mg, renewal, dated)


Worked = tuple[str, float | None, str, bool, float | None]  # ingredient, MME/day, note, at a floor, mg/day


def _regimen(kb: Knowledge, med: MedicationFact, today: date | None) -> Worked:
    """Several dosage instructions (0.10 item 7): the step in effect today (else the highest step), or the sum of
    instructions taken together."""
    dosages = instructions(med)
    if len(dosages) < 2 or today is None:
        return _worked_out(kb, med)
    each = [_worked_out(kb, med._replace(raw_dosage=d)) for d in dosages]
    if are_steps(dosages):
        step = step_today(dosages, med.start, today)
        if step is not None:
            ingredient, mme, note, floor, mg = each[dosages.index(step)]
            return ingredient, mme, f"the step in effect today: {note}", floor, mg
        ingredient, mme, note, floor, mg = max(each, key=lambda w: -1.0 if w[1] is None else w[1])
        return ingredient, mme, f"the step in effect today is unclear, the highest: {note}", floor, mg
    notes = " + ".join(w[2] for w in each)
    if any(w[1] is None for w in each):
        return each[0][0], None, notes, False, None
    mme = _sum(w[1] for w in each)
    mg = None if any(w[4] is None for w in each) else _sum(w[4] for w in each)
    return each[0][0], mme, f"together: {notes}", any(w[3] for w in each), mg


def _floor_per_day(product: Product) -> float:
    """Units a day when the order does not say: 2 for a "12 HR" product, else 1 (0.10 item 3)."""
    return 2.0 if TWICE_DAILY_MARK in product.name.upper() else 1.0


def _no_timing(structured: Any) -> bool:
    timing = structured.timing
    return timing is None or (timing.repeat is None and timing.code is None)


def _worked_out(kb: Knowledge, med: MedicationFact) -> Worked:
    """(ingredient, MME/day or None, note, counted at a floor, mg/day) for one order: it depends only on the product
    codes and the dosage JSON, so it is worked out once per distinct pair in this process (renewals and every call
    for a patient repeat them; the note's five float formats cost more than the look-up). Bounded by bytes."""
    try:
        key = (med.rxnorm, orjson.dumps(med.raw_dosage))
    except TypeError:  # not JSON-shaped: worked out uncached
        return _work_out(kb, med)
    found: Worked | None = kb.mme_worked.get(key)
    if found is None:
        found = _work_out(kb, med)
        kb.mme_worked.put(key, found, size_of(found))
    return found


def _work_out(kb: Knowledge, med: MedicationFact) -> Worked:
    ingredient, product = identity(kb, med.rxnorm)
    factor = kb.mme_factors.get(ingredient or "")
    if ingredient is None:
        return "", None, "ingredient strength unknown; MME not computed", False, None
    if factor is None:
        return ingredient, None, NO_FACTOR, False, None
    transdermal = product is not None and product.form == "transdermal"
    if factor.input_unit == "ug/h" and not transdermal and product is not None:
        return ingredient, None, "not converted (non-transdermal fentanyl has no factor)", False, None
    structured = dosage(med.raw_dosage)
    amount = dose(structured)
    if amount is not None and not amount[0] > 0:  # a data error: say so rather than subtract from the total
        return ingredient, None, "dose is not a positive number; MME not computed", False, None
    if factor.input_unit == "ug/h":  # patches worn x mcg/h x 2.4, whatever the change interval (5.4 step 6)
        if amount is None and product is not None:  # one patch worn: the sig is not needed
            mcg_per_hour: float | None
            mcg_per_hour, how = product.strength * 1000, f"no usable dose: {FLOOR_NOTE}, one patch worn: "
        else:
            mcg_per_hour, how = (_fentanyl_rate(*amount, product) if amount else None), ""
        if mcg_per_hour is None:
            return ingredient, None, "no usable dose or unit; MME not computed", False, None
        mme = mcg_per_hour * factor.factor
        return ingredient, mme, f"{how}{mcg_per_hour:g} mcg/h x {factor.factor:g} = {mme:g} MME/day", bool(how), None
    if amount is None:  # no usable dose: one unit of a known strength, at the timing given or the product's floor
        unit_mg = product.strength if product and product.strength_unit in ("mg", "mg/actuat") else None
        if unit_mg is None:
            return ingredient, None, "no structured dose; MME not computed", False, None
        count = per_day(structured) if structured is not None and not _no_timing(structured) else None
        count = count if count is not None and count > 0 else _floor_per_day(product)  # type: ignore[arg-type]
        return _result(ingredient, unit_mg, count, factor.factor, f"no usable dose: {FLOOR_NOTE}, 1 unit x ")
    mg = milligrams(*amount, product)
    if mg is None:
        return ingredient, None, "dose unit not understood; MME not computed", False, None
    if product is not None and _no_timing(structured):
        return _result(ingredient, mg, _floor_per_day(product), factor.factor, "no timing: ", floor=False)
    daily_count = per_day(structured)
    if daily_count is None or not daily_count > 0:
        if product is None:
            return ingredient, None, "no structured frequency; MME not computed", False, None
        return _result(ingredient, mg, _floor_per_day(product), factor.factor, f"no usable timing: {FLOOR_NOTE}, ")
    return _result(ingredient, mg, daily_count, factor.factor, "", floor=False)


def _result(ingredient: str, mg: float, count: float, factor: float, how: str, floor: bool = True) -> Worked:
    daily = mg * count
    mme = daily * factor
    return (
        ingredient,
        mme,
        f"{how}{mg:g} mg x {count:g}/day = {daily:g} mg/day x {factor:g} = {mme:g} MME/day",
        floor,
        daily,
    )


def _fentanyl_rate(value: float, dose_unit: str, product: Product | None) -> float | None:
    u = unit(dose_unit)
    if u in RATE_UNITS:
        return value
    if product is not None and product.strength_unit == "mg/h" and (is_countable(u) or u == ""):
        return value * product.strength * 1000
    return None
