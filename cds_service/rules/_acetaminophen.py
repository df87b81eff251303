"""The acetaminophen daily total across every current product and draft, combinations included, against the daily
maximum (clinical reference 4.2, 0.10 item 11)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from operator import attrgetter

from ..cards import Card
from ..record.patient_record import MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._dosing import dosage, dosage_json, dose, milligrams, per_day
from ._markdown import escape
from ._names import condition_label, drug_labels
from ._nsaid_status import LAB_LOOKBACK_DAYS
from ._renewals import without_renewed

LABEL_MAX_MG = 4000  # label maximum
OLDER_MAX_MG = 3000  # at age >= 65
OLDER_AGE = 65
HEPATIC_MAX_MG = 2000  # AGS 2009: cut the maximum by 50-75 % with hepatic insufficiency or alcohol abuse
ALT_TIMES_UPPER_LIMIT = 3
ALT_LIMIT_WITHOUT_RANGE = 120  # U/L
_RXNORM = attrgetter("rxnorm")


def hepatic_risks(record: PatientRecord, today: date, facts: list | None = None) -> list[str]:
    """Liver disease, alcohol dependence or ALT over 3 x its upper limit (4.2), as card markdown; the entries they
    rest on are added to `facts` when given (card evidence)."""
    liver = record.conditions_in("liver-disease", today, True)
    alcohol = record.conditions_in("alcohol-dependence", today, True)
    if facts is not None:
        facts += liver + alcohol
    risks = [f"liver disease: {condition_label(c, 'liver disease')}" for c in liver]  # dated (0.9)
    risks += [f"alcohol dependence: {condition_label(c, 'alcohol dependence')}" for c in alcohol]
    alt = record.latest("alt", today, LAB_LOOKBACK_DAYS)
    if alt and alt.value is not None:
        limit = ALT_TIMES_UPPER_LIMIT * alt.reference_high if alt.reference_high else ALT_LIMIT_WITHOUT_RANGE
        if alt.value > limit:
            if facts is not None:
                facts.append(alt)
            unit = f" {escape(alt.unit)}" if alt.unit else ""
            risks.append(f"ALT {alt.value:g}{unit} on {alt.when} (above {limit:g})")
    return risks


@dataclass(frozen=True)
class AcetaminophenTotal:
    mg: float  # mg/day over the products whose dose could be read
    maximum: int  # the daily maximum for this patient (the label's when the total is within every maximum)
    why_lower: str  # "" or what lowered the maximum
    products: tuple[MedicationFact, ...]  # every current acetaminophen product counted, drafts included
    unread: tuple[MedicationFact, ...]  # those without a usable structured dose: the total is at least `mg`
    daily: tuple[float | None, ...]  # mg/day of each of `products`, None when unread

    @property
    def above(self) -> bool:
        return self.mg > self.maximum

    def line(self, record: PatientRecord, today: date) -> str:
        """ "Acetaminophen from all products: 4,500 mg/day, above the 4,000 mg/day maximum." (card markdown), and
        with several products each one's part, named as every card names it (0.9)."""
        at_least = "at least " if self.unread else ""
        said = (
            f"**Acetaminophen from all products: {at_least}{self.mg:,g} mg/day, above the {self.maximum:,} "
            f"mg/day maximum{self.why_lower}.**"
        )
        if len(self.products) < 2:  # the one product is the card's own
            return said
        shares = [
            f"- {drug_labels(record, [med], 'acetaminophen product', today)[0]}: "
            + (f"{mg:,g} mg/day" if mg is not None else "no structured dose")
            for med, mg in zip(self.products, self.daily, strict=True)
        ]
        return "\n".join([said, *shares])


def _current_products(record: PatientRecord, today: date) -> list[MedicationFact]:
    """Every current product with acetaminophen in it, drafts included, each once: what the total is taken over."""
    unknown = record.kb.acetaminophen_products.keys().isdisjoint
    # every product of the ConceptMap is plain acetaminophen or an opioid combination: two indexed look-ups; most
    # opioids hold no acetaminophen, which their distinct codes say at once (map and set: no Python step per order)
    opioids = record.medications_in("opioid-analgesics", today)
    lists = [record.medications_in("acetaminophen", today)]
    if not all(map(unknown, set(map(_RXNORM, opioids)))):
        lists.append(opioids)
    return list(
        {
            id(m): m
            for meds in lists
            for m in meds
            if not unknown(m.rxnorm)  # one C call per order: renewals make dozens
        }.values()
    )


current_products = per_call(_current_products)


def _total(record: PatientRecord, today: date) -> AcetaminophenTotal:
    counted: dict[tuple[bool, tuple[str, ...], bytes], MedicationFact] = {}
    # a draft of a chart product renews it and replaces it (0.10 item 1); renewals left active with the same dose
    # count once (0.4); each draft counts
    for med in without_renewed(record.kb, current_products(record, today)):
        counted.setdefault(
            (med.draft, med.rxnorm, dosage_json(med.raw_dosage) + (med.reference.encode() if med.draft else b"")),
            med,
        )
    total, unread, each = 0.0, [], []
    for med in counted.values():
        each.append(daily := _daily_mg(record, med))
        if daily is None:
            unread.append(med)
        else:
            total += daily
    age = record.age(today)
    if total <= HEPATIC_MAX_MG:  # within the lowest maximum: which one applies does not matter
        maximum, why = LABEL_MAX_MG, ""
    elif hepatic_risks(record, today):
        maximum, why = HEPATIC_MAX_MG, " with hepatic risk"
    elif age is not None and age >= OLDER_AGE:
        maximum, why = OLDER_MAX_MG, f" at age {age}"
    else:
        maximum, why = LABEL_MAX_MG, ""
    return AcetaminophenTotal(round(total, 1), maximum, why, tuple(counted.values()), tuple(unread), tuple(each))


acetaminophen_total = per_call(_total)


def _daily_mg(record: PatientRecord, med: MedicationFact) -> float | None:
    product = next(record.kb.acetaminophen_products[c] for c in med.rxnorm if c in record.kb.acetaminophen_products)
    structured = dosage(med.raw_dosage)
    found = dose(structured)
    if found is None or not found[0] > 0:
        return None
    count = per_day(structured)
    mg = milligrams(*found, product)
    if mg is None or count is None or not count > 0:
        return None
    return mg * count


def flag_total(record: PatientRecord, cards: list[Card], today: date) -> list[Card]:
    """Above the daily maximum, every card that names an acetaminophen product says the total (0.10 item 11)."""
    named = {escape(d) for d in {m.display for m in current_products(record, today)} if d}
    if not any(name in card.detail for card in cards for name in named):
        return cards  # no card names a product: the total (doses read, maximum worked out) would change nothing
    total = acetaminophen_total(record, today)
    if not total.products or not total.above:
        return cards
    names = {escape(d) for d in {m.display for m in total.products} if d}
    line = total.line(record, today)
    return [
        replace(card, detail=f"{card.detail}\n\n{line}", evidence=(*card.evidence, total.products))
        if line not in card.detail and any(name in card.detail for name in names)
        else card
        for card in cards
    ]
