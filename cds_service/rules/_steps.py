"""Several dosage instructions on one order (clinical reference 0.10 item 7): steps, or one regimen taken together.

Instructions with different `sequence` values, or whose `timing.repeat.boundsPeriod`s do not overlap, are steps: the
step in effect today counts (its boundsPeriod, or its boundsDuration counted from the order's start or the previous
step's end). Otherwise they apply together and their daily doses add up ("1 tablet in the morning and 2 at bedtime").
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

from ..fhir.parse import to_date
from ..record.patient_record import MedicationFact
from ._supply import DAYS_IN, days_after

Instruction = dict[str, Any]


def instructions(med: MedicationFact) -> tuple[Instruction, ...]:
    return med.raw_dosages or ((med.raw_dosage,) if med.raw_dosage else ())


def _repeat(d: Instruction) -> dict[str, Any]:
    timing = d.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    return repeat if isinstance(repeat, dict) else {}


def _period(d: Instruction) -> tuple[date | None, date | None]:
    bounds = _repeat(d).get("boundsPeriod")
    if not isinstance(bounds, dict):
        return None, None
    return to_date(bounds.get("start")), to_date(bounds.get("end"))


def _days(d: Instruction) -> float | None:
    bounds = _repeat(d).get("boundsDuration")
    if not isinstance(bounds, dict) or not isinstance(bounds.get("value"), (int, float)):
        return None
    per_unit = DAYS_IN.get(bounds.get("code") or bounds.get("unit") or "")
    return None if per_unit is None else float(bounds["value"]) * per_unit


def are_steps(dosages: tuple[Instruction, ...]) -> bool:
    """Different sequence numbers, or bounds periods that do not overlap."""
    # a number or text (as some EHRs write it) is a step number; an object or a list is none
    if len({s if isinstance(s := d.get("sequence"), (int, float, str)) else None for d in dosages}) > 1:
        return True
    periods = [_period(d) for d in dosages]
    if len(periods) < 2 or any(start is None or end is None for start, end in periods):
        return False
    spans = sorted(periods)  # type: ignore[type-var]
    return all(a[1] < b[0] for a, b in pairwise(spans))  # type: ignore[operator]


def _sequence(dosage: Instruction) -> int:
    value = dosage.get("sequence")
    return value if isinstance(value, int) else 0


def step_today(dosages: tuple[Instruction, ...], start: date | None, today: date) -> Instruction | None:
    """The step in effect today; None when that cannot be told (the caller takes the highest daily dose)."""
    cursor = start
    for d in sorted(dosages, key=_sequence):
        begin, end = _period(d)
        days = _days(d)
        if begin is None and cursor is not None and days is not None:
            begin, end = cursor, days_after(cursor, days)
        if begin is not None and begin <= today and (end is None or today < end or (days is None and today <= end)):
            return d
        cursor = end
    return None
