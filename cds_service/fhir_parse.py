"""Lenient, honest parsing of candidate resources with fhir.resources R4B element models.

Only the elements the rules read are validated (a whole-resource validation costs ten times more and fails on
things the rules never look at, such as a missing `subject`). A resource is used when its required elements
parse, and skipped, with a reason, when they do not. Nothing here guesses at meaning: an optional element that
fails validation is simply not read, and the resource is counted as leniently read.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

# Element -> R4B model, for the elements the rules read; `None` marks FHIR date/dateTime primitives (checked with
# to_date) in ELEMENTS and items kept as plain JSON in LIST_ELEMENTS. Dosage is validated lazily (record.py).
ELEMENTS: dict[str, Any] = {
    "code": CodeableConcept, "clinicalStatus": CodeableConcept, "verificationStatus": CodeableConcept,
    "valueCodeableConcept": CodeableConcept, "valueQuantity": Quantity,
    "onsetPeriod": Period, "abatementPeriod": Period, "effectivePeriod": Period, "performedPeriod": Period,
    "onsetDateTime": None, "abatementDateTime": None, "recordedDate": None, "effectiveDateTime": None,
    "issued": None, "started": None, "authoredOn": None, "performedDateTime": None, "birthDate": None,
    "dateAsserted": None,
}
LIST_ELEMENTS: dict[str, Any] = {
    "reasonCode": CodeableConcept, "procedureCode": CodeableConcept, "basedOn": Reference, "referenceRange": None,
}

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class Unreadable(ValueError):
    """The elements the rules need could not be read; the message names them (never their values)."""


def to_date(value: Any) -> date | None:
    """A FHIR date/dateTime (string or parsed) as a date; partial dates take the first day; None if unreadable."""
    if value is None:
        return None
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # datetime -> date
    if not isinstance(value, str):
        return None
    if len(value) >= 10:  # full date or dateTime: the C parser, far cheaper than the regex below
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


class Parsed:
    """Read access to the elements of one resource, from the whole model or from element models."""

    __slots__ = ("lenient", "values")

    def __init__(self, values: dict[str, Any], lenient: bool) -> None:
        self.values = values
        self.lenient = lenient

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def date(self, name: str) -> date | None:
        return to_date(self.values.get(name))


STRING_ELEMENTS = frozenset({"id", "status", "intent"})


Memo = dict[tuple[type, bytes], Any]  # per-request: (model, element JSON) -> validated model or the error


def validate(model: type, value: Any, memo: Memo) -> Any:
    """`model.model_validate(value)`, once per distinct element JSON within a request (a record repeats the
    same statuses and drug concepts many times); raises the same ValidationError for an invalid element."""
    try:
        key = (model, orjson.dumps(value))
    except TypeError:
        return model.model_validate(value)
    found = memo.get(key)
    if found is None:
        try:
            found = model.model_validate(value)
        except (ValidationError, ValueError) as exc:
            found = exc
        memo[key] = found
    if isinstance(found, Exception):
        raise found
    return found


def _element(name: str, value: Any, memo: Memo) -> Any:
    if name in STRING_ELEMENTS:
        if not isinstance(value, str):
            raise Unreadable(name)
        return value
    if name in ELEMENTS:
        model = ELEMENTS[name]
        if model is None:
            if to_date(value) is None:
                raise Unreadable(name)
            return value
        return validate(model, value, memo)
    model = LIST_ELEMENTS[name]
    if not isinstance(value, list):
        raise Unreadable(name)
    return [item if model is None else validate(model, item, memo) for item in value]


def parse(raw: dict[str, Any], needed: tuple[str, ...], required: tuple[str, ...] = (), memo: Memo | None = None,
          ) -> Parsed:
    """Validate the `needed` elements of `raw` with their R4B models (only what the rules read).

    Raises Unreadable when a `required` element is absent or invalid; other invalid elements are left out and
    the result is marked `lenient`, so the count of leniently read resources can be reported.
    """
    values: dict[str, Any] = {}
    lenient = False
    for name in needed:
        if raw.get(name) is None:
            continue
        try:
            values[name] = _element(name, raw[name], {} if memo is None else memo)
        except (ValidationError, ValueError, TypeError):
            if name in required:
                raise Unreadable(f"invalid {name}") from None
            lenient = True
    missing = [name for name in required if values.get(name) is None]
    if missing:
        raise Unreadable(f"missing {', '.join(missing)}")
    return Parsed(values, lenient)
