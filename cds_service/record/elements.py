"""Reading FHIR elements: the cheap checks on plain JSON made before any model is built, and small accessors of
parsed concepts that every selector shares."""

from __future__ import annotations

from typing import Any

from ..fhir.parse import Concept, Unreadable
from ..knowledge import Code

NOT_COUNTING_VERIFICATION = frozenset({"entered-in-error", "refuted"})
FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})
_NO_CODES: frozenset[Code] = frozenset()


def codes_of(concept: Concept | None) -> frozenset[Code]:
    return concept.codes if concept is not None else _NO_CODES


def display_of(concept: Concept | None) -> str:
    return concept.display if concept is not None else ""


def all_codes(concepts: list[Concept] | None) -> frozenset[Code]:
    if not concepts:
        return _NO_CODES
    return frozenset(code for c in concepts for code in c.codes)


def status_code(concept: Concept | None) -> str | None:
    return concept.first_code if concept is not None else None


def reject_older_status_shape(res: dict[str, Any]) -> None:
    """Raise Unreadable for a DSTU2/STU3 status written as a plain string ("resolved"): dropping it would make
    the resource look active, a misreading rather than a lenient reading."""
    for element in ("clinicalStatus", "verificationStatus"):
        if isinstance(res.get(element), str):
            raise Unreadable(f"{element} is a string (a DSTU2/STU3 {res['resourceType']}); send R4 resources")


def to_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
