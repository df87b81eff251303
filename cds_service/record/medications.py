"""Selecting medication orders and statements: the drug named inline or by a contained or bundled Medication (0.5),
classified once per distinct concept, with the dosing and supply the rules read (MME, dose limits, staleness)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from ..fhir.parse import FIRST_YEAR, Concept, Unreadable, concept
from ..knowledge import RXNORM
from ..knowledge.memo import size_of
from .elements import all_codes
from .patient_record import MedicationFact

if TYPE_CHECKING:
    from .builder import RecordBuilder

DRAFT_MED_STATUS = frozenset({"draft", "active"})
_REQUEST_ELEMENTS = ("id", "status", "authoredOn", "reasonCode", "reasonReference")
_STATEMENT_ELEMENTS = (
    "id",
    "status",
    "effectivePeriod",
    "effectiveDateTime",
    "basedOn",
    "reasonCode",
    "reasonReference",
)
Drug = tuple[Concept, frozenset[str], tuple[str, ...]]  # concept, value-set classes, RxNorm codes
NO_REASONS: frozenset[tuple[str, str]] = frozenset()
_new_fact = tuple.__new__
NOT_OURS, INVALID = object(), object()  # a drug in none of our value sets; a concept that fails validation
_dumps = orjson.dumps
_known_drugs_get = dict.get  # Knowledge.drugs is a Memo, a dict: its answers by concept JSON, read without a method


def _medication_concept(b: RecordBuilder, res: dict[str, Any]) -> Any:
    """The raw CodeableConcept naming the drug: inline, or from a contained or bundled Medication (0.5)."""
    if "medicationCodeableConcept" in res:
        return res["medicationCodeableConcept"]
    ref = (
        (res.get("medicationReference") or {}).get("reference")
        if isinstance(res.get("medicationReference"), dict)
        else None
    )
    if not isinstance(ref, str):
        return None
    if ref.startswith("#"):
        contained = res.get("contained") or []
        med = next((c for c in contained if isinstance(c, dict) and c.get("id") == ref[1:]), None)
    else:
        med = b.medications.get(ref) or b.medications.get("Medication/" + ref.rsplit("/", 1)[-1])
    return med.get("code") if med else None


def _drug(b: RecordBuilder, raw: Any, key: bytes | None = None) -> Drug | object | None:
    """The medication concept with its value-set classes and RxNorm codes (or INVALID), None when it is none of
    ours; worked out once per distinct concept JSON in this process (a long history repeats the same drug, and
    every record of a practice names the same few hundred): the answer depends only on the JSON and the knowledge.
    A concept of the wrong shape raises Unreadable, every time (exceptions are not kept). `key`: `raw`'s JSON, when
    the caller has it already."""
    if key is None:
        try:
            key = orjson.dumps(raw)
        except TypeError:  # not JSON-shaped: let the checks below say why
            key = None
    memo = b.kb.drugs
    found = memo.get(key) if key is not None else None
    if found is None:
        found = _classify_drug(b, raw)
        if key is not None:
            memo.put(key, found, _size(found))
    return found if found is not NOT_OURS else None


def _size(found: Drug | object) -> int:
    """Bytes an answer holds beyond the shared sentinels and value-set names: the concept's codes and display."""
    if found is NOT_OURS or found is INVALID:
        return 0
    medication, _, rxnorm = found  # type: ignore[misc]
    return 200 + size_of(medication.codes) + len(medication.display) + size_of(rxnorm)


def _classify_drug(b: RecordBuilder, raw: Any) -> Drug | object:
    if not b.relevant(raw, "medication"):  # raises Unreadable for codings of the wrong shape
        return NOT_OURS
    try:
        medication = concept(raw)
    except ValueError:
        return INVALID
    rxnorm = tuple(sorted(c for s, c in medication.codes if s == RXNORM))
    return medication, b.kb.classify_medication(rxnorm), rxnorm


def add_medication(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    # The common case spelt out, without the calls (renewals make dozens of orders a call): an inline concept whose
    # JSON the process has already classified; anything else goes through _medication_concept and _drug.
    inline = res.get("medicationCodeableConcept")
    try:
        key = _dumps(inline) if type(inline) is dict else None
    except TypeError:  # not JSON-shaped: _drug says why
        key = None
    found = _known_drugs_get(b.kb.drugs, key) if key is not None else None
    if found is None:
        raw_concept = _medication_concept(b, res)
        if raw_concept is None:
            if draft:
                b.skip(res, "draft order without a medication yet")
            return
        found = _drug(b, raw_concept, key if raw_concept is inline else None)  # its JSON made once
        if found is None:
            return
    elif found is NOT_OURS:
        return
    status = res.get("status")
    if draft and status not in DRAFT_MED_STATUS and status is not None:
        return
    if found is INVALID:
        raise Unreadable("invalid medication code")
    known: Drug = found  # type: ignore[assignment]  # a Drug now; typing.cast() would be a call per order
    drug, classes, rxnorm = known
    rtype = res["resourceType"]
    based_on: tuple[str, ...] = ()
    end = dispense = start = None
    if rtype == "MedicationRequest":
        # The common order read here, as `parsed` reads it, without its two calls and dictionary (renewals make dozens
        # a call): this patient's, a text id and status, a full authoredOn date, no reasons. Anything else (and a
        # date before FIRST_YEAR) is read by `parsed`, which says what is skipped or lenient.
        subject, rid, authored = res.get("subject"), res.get("id"), res.get("authoredOn")
        if (
            type(authored) is str
            and len(authored) >= 10
            and type(subject) is dict
            and type(ref := subject.get("reference")) is str
            and ref in b._own_references
            and type(rid) is str
            and type(status) is str
            and "reasonCode" not in res
            and "reasonReference" not in res
        ):
            try:
                start = date.fromisoformat(authored[:10])
            except ValueError:
                start = None  # `parsed` reads it as its reader does
        if start is not None and start.year >= FIRST_YEAR:
            reasons = references = None
        else:
            v = b.parsed(res, _REQUEST_ELEMENTS)
            rid, status, start = v.get("id"), v.get("status"), v.get("authoredOn")
            reasons, references = v.get("reasonCode"), v.get("reasonReference")
        dosages = res.get("dosageInstruction")
        dispense = res.get("dispenseRequest")
        if not isinstance(dispense, dict):
            dispense = None
    else:
        v = b.parsed(res, _STATEMENT_ELEMENTS)
        rid, status = v.get("id"), v.get("status")
        dosages = res.get("dosage")
        period = v.get("effectivePeriod")
        start = (period.start if period else None) or v.get("effectiveDateTime")
        end = period.end if period else None
        based_on = tuple(r.reference for r in v.get("basedOn", ()) if r.reference)
        reasons, references = v.get("reasonCode"), v.get("reasonReference")
    if draft:  # being ordered now: its start is today for long-term, opioid-naive, new and 6.1 (0.10 item 2)
        start = b.today
    first_dosage = dosages[0] if isinstance(dosages, list) and dosages and isinstance(dosages[0], dict) else None
    # Positional, in field order, through tuple.__new__ (what the NamedTuple's generated __new__ calls, without its
    # Python frame of 17 arguments): renewals make dozens of these per call. Most orders give one dosage and no
    # reason: the tuples below are only built when there is something to hold.
    b.record.medications.append(
        _new_fact(
            MedicationFact,
            (
                rtype,
                rid,
                draft,
                status,
                drug.codes,
                drug.display,
                start,
                end,
                classes,
                rxnorm,
                first_dosage,
                based_on,
                all_codes(reasons) if reasons else NO_REASONS,
                selected,
                dispense,
                tuple(d for d in dosages if isinstance(d, dict))
                if isinstance(dosages, list) and len(dosages) > 1
                else (),
                tuple(r.reference for r in references if r.reference) if references else (),
            ),
        )
    )
