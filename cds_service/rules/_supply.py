"""How long a supply or a dosing step lasts, in calendar days (clinical reference 0.9, 0.10 item 7)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fhir.resources.R4B.duration import Duration

from ..fhir.parse import to_date

DAYS_IN = {"min": 1 / 1440, "h": 1 / 24, "d": 1, "wk": 7, "mo": 30, "a": 365}  # UCUM units of a Duration


def supply_end(dispense: dict[str, Any] | None, authored: date) -> date | None:
    """The last day an order's supply covers: dispenseRequest.validityPeriod.end, else authoredOn +
    expectedSupplyDuration x (1 + numberOfRepeatsAllowed); None when the order says neither."""
    if not dispense:
        return None
    validity = dispense.get("validityPeriod")
    end = to_date(validity.get("end")) if isinstance(validity, dict) else None
    if end is not None:
        return end
    try:
        duration = Duration.model_validate(dispense.get("expectedSupplyDuration"))
    except ValueError:
        return None
    per_unit = DAYS_IN.get(duration.code or duration.unit or "")
    if duration.value is None or per_unit is None or not duration.value > 0:
        return None
    repeats = dispense.get("numberOfRepeatsAllowed", 0)
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 0:
        repeats = 0
    return days_after(authored, float(duration.value) * per_unit * (1 + repeats))


def days_after(start: date, days: float) -> date:
    """`start` plus `days`, or the first or last date there is when that falls outside the calendar (a supply or a
    dosing step of millions of days, as a client may send)."""
    try:
        return start + timedelta(days=days)
    except (OverflowError, ValueError):
        return date.max if days > 0 else date.min
