"""Reading a structured dose (FHIR R4 Dosage): amount per administration, administrations per day, milligrams.

Shared by the MME calculator (clinical reference 5.4) and the cards that name a drafted dose (0.9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fhir.resources.R4B.dosage import Dosage

from ..knowledge import Knowledge, Product
from ..knowledge.memo import Memo
from ..record.patient_record import MedicationFact

HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1, "d": 24, "wk": 168, "mo": 720, "a": 8760}
# HL7 v3 GTSAbbreviation timing codes -> administrations per day (5.4 step 3).
TIMING_CODES = {
    "QD": 1,
    "BID": 2,
    "TID": 3,
    "QID": 4,
    "Q4H": 6,
    "Q6H": 4,
    "Q8H": 3,
    "Q12H": 2,
    "QOD": 0.5,
    "AM": 1,
    "PM": 1,
    "QAM": 1,
    "QPM": 1,
    "QHS": 1,
}
MASS_TO_MG = {"mg": 1.0, "ug": 0.001, "mcg": 0.001, "g": 1000.0, "milligram": 1.0, "microgram": 0.001}
# Countable units (5.4 step 4): UCUM "1" and any UCUM annotation ({pill}, as the CDS Hooks sandbox sends, {tbl},
# {patch}...: see `is_countable`), HL7 v3 orderableDrugForm codes, and the plain words, case-insensitive.
COUNT_UNITS = {
    "1",
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "pill",
    "pills",
    "patch",
    "patches",
    "film",
    "films",
    "each",
    "ea",
    "unit",
    "units",
    "spray",
    "lozenge",
    "suppository",
    "ertab",
    "ercap",
    "chewtab",
    "ortab",
    "drtab",
    "sltab",
    "tpatch",
    "supp",
    "loz",
    "troche",
}
VOLUME_TO_ML = {"ml": 1.0, "l": 1000.0}
# Beyond these a number is a data error, not a dose: read as no usable dose (the order counts as one without a
# structured dose), so no product of them can overflow to infinity on a card.
MAX_AMOUNT = 1_000_000  # per administration, in the unit sent
MAX_PER_DAY = 10_000  # administrations a day


# Validated dosages by their JSON, shared by all requests of this process, as fhir/parse.py keeps concepts: an R4B
# Dosage costs more to validate than the rest of a card (its timing, ranges and codings are all models), and
# prescriptions repeat the same few sigs ("1 tablet every 8 hours"). Bounded by bytes (JSON comes from requests; a
# model is estimated at DOSAGE_BYTES_PER_JSON_BYTE times its JSON). The rules only read the models, never change them.
DOSAGE_CACHE_BYTES = 8 * 1024 * 1024
DOSAGE_BYTES_PER_JSON_BYTE = 8
_dosages = Memo(DOSAGE_CACHE_BYTES)  # JSON -> Dosage, or None: the JSON failed validation
_UNSET = object()


def dosage_json(raw: Any) -> bytes:
    """A dosage's JSON as sent, which renewals are compared by; one nested deeper than JSON can be written (orjson
    reads 1,024 levels, writes 255) is equal to no other."""
    try:
        return orjson.dumps(raw)
    except TypeError:
        return b"unwritable %d" % id(raw)


def dosage(raw: dict[str, Any] | None) -> Dosage | None:
    """The first dosage as an R4B Dosage; None when absent or invalid (then no dose can be computed)."""
    if raw is None:
        return None
    try:
        key = orjson.dumps(raw)
    except TypeError:  # not JSON-shaped (e.g. integer keys): validate uncached
        return _validated(raw)
    found = _dosages.get(key, _UNSET)
    if found is _UNSET:
        found = _validated(raw)
        _dosages.put(key, found, DOSAGE_BYTES_PER_JSON_BYTE * len(key))
    return found  # type: ignore[return-value]


def _validated(raw: Any) -> Dosage | None:
    try:
        return Dosage.model_validate(raw)
    except (ValueError, RecursionError):
        return None


def dose(structured: Any) -> tuple[float, str] | None:
    """The amount per administration and its unit as sent (a range's high end, else a rate); None if absent or
    beyond MAX_AMOUNT."""
    if structured is None:
        return None
    for dr in structured.doseAndRate or ():
        quantity = dr.doseQuantity or (dr.doseRange.high if dr.doseRange else None) or dr.rateQuantity
        if quantity is not None and quantity.value is not None:
            value = float(quantity.value)
            return (value, (quantity.code or quantity.unit or "").strip()) if abs(value) <= MAX_AMOUNT else None
    return None


def unit(text: str) -> str:
    return text.lower().strip()


def is_countable(u: str) -> bool:
    """A unit that counts dose units (tablets, patches...): see COUNT_UNITS; `u` is lower-cased."""
    return u in COUNT_UNITS or (len(u) > 2 and u[0] == "{" and u[-1] == "}")


def milligrams(value: float, dose_unit: str, product: Product | None) -> float | None:
    """The amount in mg: a mass as it is, a count or volume through the product's strength; None otherwise."""
    u = unit(dose_unit)
    if u in MASS_TO_MG:
        return value * MASS_TO_MG[u]
    if product is None:
        return None
    if u in VOLUME_TO_ML and product.strength_unit == "mg/mL":
        return value * VOLUME_TO_ML[u] * product.strength
    if (is_countable(u) or u == "") and product.strength_unit in ("mg", "mg/actuat"):  # a spray: mg per actuation
        return value * product.strength
    return None


def per_day(structured: Any) -> float | None:
    """Administrations per day from the timing (5.4 step 3); None when the timing says nothing usable."""
    count = _per_day(structured)
    return count if count is None or count <= MAX_PER_DAY else None


def _per_day(structured: Any) -> float | None:
    timing = structured.timing
    if timing is None:
        return 1.0  # doseAndRate without timing: once a day (MME IG default)
    repeat = timing.repeat
    if repeat is not None:
        if repeat.period:
            hours = HOURS.get(repeat.periodUnit or "d")
            if hours is None:  # not a unit of time: the model takes any code there
                return None
            frequency = repeat.frequencyMax or repeat.frequency or 1
            return float(frequency) * 24 / (float(repeat.period) * hours)
        if repeat.timeOfDay:
            return float(len(repeat.timeOfDay))
        if repeat.frequency:
            return float(repeat.frequencyMax or repeat.frequency)
    if timing.code is not None:
        for coding in timing.code.coding or ():
            if coding.code and coding.code.upper() in TIMING_CODES:
                return float(TIMING_CODES[coding.code.upper()])
    return None if repeat is not None or timing.code is not None else 1.0


def regimen(raws: tuple[dict[str, Any], ...]) -> tuple[tuple[float, str, float], ...] | None:
    """Each instruction's amount, unit and administrations a day, as read (a count unit is any count: "TAB" is
    "tablet"); None when there is none or one cannot be read. Two orders with the same regimen give the same dose,
    whatever their sig text or unit spelling."""
    found = []
    for raw in raws:
        structured = dosage(raw)
        amount_ = dose(structured)
        count = per_day(structured) if structured is not None else None
        if amount_ is None or count is None:
            return None
        u = unit(amount_[1])
        found.append((amount_[0], "count" if is_countable(u) else u, round(count, 6)))
    return tuple(found) or None


@dataclass(frozen=True)
class Amount:
    """A drug's dose as ordered: mg of its ingredient per administration, and per day when the timing says."""

    ingredient: str | None
    mg: float
    per_day: float | None

    @property
    def daily_mg(self) -> float | None:
        return None if self.per_day is None else self.mg * self.per_day

    def __str__(self) -> str:
        """ "800 mg 3 times a day = 2,400 mg/day", or "800 mg a dose" when the frequency is unknown."""
        if self.per_day is None:
            return f"{self.mg:,g} mg a dose"
        how_often = TIMES.get(self.per_day) or f"{self.per_day:g} times a day"
        return f"{self.mg:,g} mg {how_often} = {self.daily_mg:,g} mg/day"


TIMES = {1: "once a day", 2: "twice a day", 0.5: "every other day"}


def amount(kb: Knowledge, med: MedicationFact) -> Amount | None:
    """The ordered dose of an opioid or NSAID in mg of its ingredient; None without a positive structured dose."""
    product = next((p for c in med.rxnorm for p in (kb.products.get(c), kb.nsaid_products.get(c)) if p), None)
    structured = dosage(med.raw_dosage)
    found = dose(structured)
    if found is None or not found[0] > 0:
        return None
    mg = milligrams(*found, product)
    if mg is None:
        return None
    count = per_day(structured)
    ingredient = (
        product.ingredient
        if product
        else next((c for c in med.rxnorm if c in kb.nsaid_limits or c in kb.opioid_ingredients), None)
    )  # coded by ingredient
    return Amount(ingredient, mg, count if count is not None and count > 0 else None)
