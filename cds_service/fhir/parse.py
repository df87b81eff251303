"""Lenient, honest parsing of candidate resources with fhir.resources R4B element models.

Only the elements the rules read are validated (a whole-resource validation costs ten times more and fails on
things the rules never look at, such as a missing `subject`). A resource is used when its required elements
parse, and skipped, with a reason, when they do not. Nothing here guesses at meaning: an optional element that
fails validation is simply not read, and the resource is counted as leniently read.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, cast

import orjson
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from pydantic import BaseModel, ValidationError

from ..knowledge import Code, normalise
from ..knowledge.memo import Memo as BytesCappedMemo
from ..knowledge.memo import size_of


class Span(NamedTuple):
    """A FHIR Period as the rules read it: its start and end as calendar dates."""

    start: date | None
    end: date | None


_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
# A chart date before this is no date (year 1 is a placeholder, not a history): it is left out, as an invalid one is,
# and what the rules count from it (an onset less N days) stays within the calendar.
FIRST_YEAR = 1800
LAST_YEAR = 9000  # an evaluation date (`asOf`) is before it: years of lookback and supply fit either side


class Unreadable(ValueError):
    """The elements the rules need could not be read; the message names them (never their values)."""


@dataclass(frozen=True, slots=True)
class Concept:
    """A CodeableConcept that passed R4B validation, reduced to what the rules read."""

    codes: frozenset[Code]  # normalised (system, code) pairs
    display: str  # the text, else the first coding's display, else ""
    first_code: str | None  # the first coding's code: how status concepts are read


# Validated concepts by their JSON, shared by all requests of this process: the same statuses, problems and drugs
# come back in every record, and an R4B CodeableConcept costs about 15 us to validate. Bounded by bytes (JSON comes
# from requests, and one concept may be a megabyte of text): an entry is a concept's JSON and its small immutable
# Concept (its codes and display): no model, no resource, no patient reference.
CONCEPT_CACHE_BYTES = 16 * 1024 * 1024
_concepts = BytesCappedMemo(CONCEPT_CACHE_BYTES)  # JSON -> Concept, or None: the JSON failed validation


def concept(value: Any) -> Concept:
    """Validate a CodeableConcept with the R4B model (once per distinct JSON per process) and reduce it to a
    Concept; raise ValueError when it is invalid."""
    try:
        key = orjson.dumps(value)
    except TypeError:  # not JSON-shaped (e.g. integer keys): validate uncached
        return _reduce(value)
    if key in _concepts:
        found = _concepts[key]
    else:
        try:
            found = _reduce(value)
        except ValueError:  # pydantic's ValidationError is a ValueError
            found = None
        _concepts.put(key, found, 0 if found is None else 200 + size_of(found.codes) + len(found.display))
    if found is None:
        raise ValueError("invalid CodeableConcept")
    return found


def _reduce(value: Any) -> Concept:
    model = CodeableConcept.model_validate(value)
    codings = model.coding or []
    codes = frozenset(c for c in (normalise(x.system, x.code) for x in codings) if c is not None)
    display = model.text or next((c.display for c in codings if c.display), "")
    return Concept(codes, display, next((c.code for c in codings if c.code), None))


def to_date(value: Any) -> date | None:
    """A FHIR date/dateTime (string or parsed) as a date; partial dates take the first day; None if unreadable or
    before FIRST_YEAR."""
    if value is None:
        return None
    found = None
    if isinstance(value, date):
        found = value if type(value) is date else cast(datetime, value).date()  # datetime -> date
    elif not isinstance(value, str):
        return None
    elif len(value) >= 10:  # full date or dateTime: the C parser, far cheaper than the regex below
        with contextlib.suppress(ValueError):
            found = date.fromisoformat(value[:10])
    if found is None:
        match = _DATE.match(value)
        if not match:
            return None
        year, month, day = match.groups()
        try:
            found = date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            return None
    return found if found.year >= FIRST_YEAR else None


class Parsed(dict[str, Any]):
    """The elements read from one resource, by name, as `READERS` gives them (dates as dates, concepts as
    Concepts); absent and invalid optional elements are left out, and `lenient` says an invalid one was."""

    __slots__ = ("lenient",)
    lenient: bool


Memo = dict[tuple[type, bytes], Any]  # per-request: (model, element JSON) -> validated model or the error
Reader = Callable[[Any, Memo], Any]  # an element's JSON -> what the rules read; ValueError when it is invalid


def validate(model: type[BaseModel], value: Any, memo: Memo) -> Any:
    """`model.model_validate(value)`, once per distinct element JSON within a request (references repeat within
    a record); raises the same ValidationError for an invalid element."""
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


def _string(value: Any, memo: Memo) -> str:
    if not isinstance(value, str):
        raise Unreadable("not a string")
    return value


def _boolean(value: Any, memo: Memo) -> bool:
    if not isinstance(value, bool):
        raise Unreadable("not a boolean")
    return value


def _date(value: Any, memo: Memo) -> date:
    """A date or dateTime, kept as its calendar date."""
    found = to_date(value)
    if found is None:
        raise Unreadable("not a date")
    return found


def _span(value: Any, memo: Memo) -> Span:
    """A Period's start and end as dates, checked as the dateTime elements are: the R4B model costs 11 us and every
    Period in a record is different (it made Periods a fifth of a large record's time)."""
    if not isinstance(value, dict):
        raise Unreadable("not a Period")
    start, end = value.get("start"), value.get("end")
    span = Span(to_date(start), to_date(end))
    if (start is not None and span.start is None) or (end is not None and span.end is None):
        raise Unreadable("not a date")
    return span


def _concept(value: Any, memo: Memo) -> Concept:
    return concept(value)


def _plain(value: Any, memo: Memo) -> Any:
    return value


def _model(model: type[BaseModel]) -> Reader:
    def read(value: Any, memo: Memo) -> Any:
        return validate(model, value, memo)

    return read


def _list(item: Reader) -> Reader:
    def read(value: Any, memo: Memo) -> list[Any]:
        if not isinstance(value, list):
            raise Unreadable("not an array")
        return [item(v, memo) for v in value]

    return read


# How each element the rules read is read: CodeableConcepts as `Concept`s (R4B-validated, cached), Quantity and
# Reference with their R4B models, dates and Periods as calendar dates, reference ranges as plain JSON. Dosage is
# validated when the MME calculator reads it (rules/_mme.py).
READERS: dict[str, Reader] = {
    "id": _string,
    "status": _string,
    "code": _concept,
    "clinicalStatus": _concept,
    "verificationStatus": _concept,
    "valueCodeableConcept": _concept,
    "valueQuantity": _model(Quantity),
    "onsetPeriod": _span,
    "abatementPeriod": _span,
    "effectivePeriod": _span,
    "performedPeriod": _span,
    "onsetDateTime": _date,
    "abatementDateTime": _date,
    "recordedDate": _date,
    "effectiveDateTime": _date,
    "issued": _date,
    "started": _date,
    "authoredOn": _date,
    "performedDateTime": _date,
    "birthDate": _date,
    "deceasedBoolean": _boolean,
    "deceasedDateTime": _date,
    "reasonCode": _list(_concept),
    "procedureCode": _list(_concept),
    "basedOn": _list(_model(Reference)),
    "reasonReference": _list(_model(Reference)),
    "referenceRange": _list(_plain),
}


def parse(
    raw: dict[str, Any],
    needed: tuple[str, ...],
    required: tuple[str, ...] = (),
    memo: Memo | None = None,
) -> Parsed:
    """Read the `needed` elements of `raw` (only what the rules read), each with its reader in READERS.

    Raises Unreadable when a `required` element is absent or invalid; other invalid elements are left out and
    the result is marked `lenient`, so the count of leniently read resources can be reported.
    """
    values = Parsed()
    values.lenient = False
    memo = {} if memo is None else memo
    for name in needed:
        value = raw.get(name)
        if value is None:
            continue
        reader = READERS[name]
        # The commonest elements (ids, statuses, full dates) are read here, as their readers read them, without the
        # calls: every candidate resource of a record has two or three of them.
        if value.__class__ is str:
            if reader is _string:
                values[name] = value
                continue
            if reader is _date and len(value) >= 10:
                try:
                    found = date.fromisoformat(value[:10])
                except ValueError:
                    pass  # the reader says why
                else:
                    if found.year >= FIRST_YEAR:
                        values[name] = found
                        continue
        try:
            values[name] = reader(value, memo)
        except (ValidationError, ValueError, TypeError):
            if name in required:
                raise Unreadable(f"invalid {name}") from None
            values.lenient = True
    if required:
        missing = [name for name in required if values.get(name) is None]
        if missing:
            raise Unreadable(f"missing {', '.join(missing)}")
    return values
