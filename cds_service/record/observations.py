"""Selecting final Observations (labs, vital signs, screening scores) inside the longest window any rule reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .elements import FINAL_OBSERVATION, codes_of, display_of, to_float
from .patient_record import ObservationFact

if TYPE_CHECKING:
    from .builder import RecordBuilder

# The longest look-back any rule applies to an Observation (labs and PHQ screens: 365 days); older ones are
# passed over unparsed. tests/record/test_patient_record.py checks every rule's window against it.
OBSERVATION_WINDOW_DAYS = 365


def _raw_observation_date(res: dict[str, Any]) -> str | None:
    """The Observation's date as sent (effectiveDateTime, effectivePeriod.start or issued), unvalidated."""
    period = res.get("effectivePeriod")
    for value in (
        res.get("effectiveDateTime"),
        period.get("start") if isinstance(period, dict) else None,
        res.get("issued"),
    ):
        if isinstance(value, str):
            return value
    return None


def _range_high(reference_range: Any) -> float | None:
    """The upper limit of a referenceRange as sent (plain JSON: any shape may come), or None."""
    high = reference_range.get("high") if isinstance(reference_range, dict) else None
    return to_float(high.get("value")) if isinstance(high, dict) else None


def add_observation(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    if res.get("status") not in FINAL_OBSERVATION or not b.relevant(res.get("code")):
        return
    when = _raw_observation_date(res)
    if when is None or when[:10] < b.observations_since:  # ISO dates compare as strings
        return  # outside every rule's window: not worth validating
    p = b.parsed(
        res,
        (
            "id",
            "status",
            "code",
            "valueQuantity",
            "valueCodeableConcept",
            "effectiveDateTime",
            "effectivePeriod",
            "issued",
            "referenceRange",
        ),
        required=("code",),
    )
    quantity, period = p.get("valueQuantity"), p.get("effectivePeriod")
    ranges = p.get("referenceRange") or []
    codes = codes_of(p.get("code"))
    high = _range_high(ranges[0]) if ranges else None
    b.record.observations.append(
        ObservationFact(
            id=p.get("id"),
            codes=codes,
            display=display_of(p.get("code")),
            when=p.get("effectiveDateTime") or (period.start if period else None) or p.get("issued"),
            value=to_float(quantity.value) if quantity else None,
            unit=(quantity.code or quantity.unit) if quantity else None,
            value_codes=codes_of(p.get("valueCodeableConcept")),
            reference_high=high,
            classes=b.kb.classify(codes),
        )
    )
