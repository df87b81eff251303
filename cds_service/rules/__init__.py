"""Clinical rules: pure functions of (record, hook context, evaluation date) -> cards; no I/O, no Flask.

`evaluate` applies the scope gate (clinical reference 0.6), then each family in `FAMILIES` in order.
"""
from __future__ import annotations

from datetime import date

from ..cards import Card
from ..hook_request import HookContext
from ..record import PatientRecord
from . import (
    acetaminophen_alternative,
    chronic_pain_options,
    depression_screening,
    imaging_overuse,
    naloxone,
    not_recommended_treatment,
    nsaid_contraindicated,
    nsaid_first_line,
    opioid_benzodiazepine,
    opioid_high_dose,
    opioid_risk,
    radicular_pain,
    red_flags,
    second_line,
)
from ._episode import episode

ADULT_AGE = 18

FAMILIES = (
    red_flags, imaging_overuse, opioid_benzodiazepine, opioid_high_dose, opioid_risk, naloxone,
    nsaid_contraindicated, not_recommended_treatment, acetaminophen_alternative, nsaid_first_line,
    radicular_pain, depression_screening, second_line, chronic_pain_options,
)


def in_scope(record: PatientRecord, today: date) -> bool:
    """Living adults with back-pain context; a patient of unknown age is evaluated rather than silently skipped."""
    if record.is_deceased(today):
        return False
    age = record.age(today)
    if age is not None and age < ADULT_AGE:
        return False
    return episode(record, today) is not None


def evaluate(record: PatientRecord, context: HookContext, today: date) -> list[Card]:
    """Every card the record warrants, at most one per family, in family order."""
    if not in_scope(record, today):
        return []
    cards = (family.evaluate(record, context, today) for family in FAMILIES)
    return [card for card in cards if card is not None]
