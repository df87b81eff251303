"""Builds the `PatientRecord`: cheap selection on plain JSON, then R4B models for candidates, counting rules applied.

Only resources carrying a code from one of our value sets are parsed; everything else (encounters, claims, the
hundreds of unrelated labs of a long history) is passed over on the plain JSON. Section numbers refer to the
clinical reference.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import orjson

from ..fhir.parse import Concept, Memo, Parsed, Unreadable, concept, parse
from ..hook_request import HookContext
from ..knowledge import RXNORM, Code, Knowledge
from .patient_record import ConditionFact, MedicationFact, ObservationFact, OrderFact, PatientRecord, Skipped

log = logging.getLogger(__name__)

NOT_COUNTING_VERIFICATION = frozenset({"entered-in-error", "refuted"})
FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})
DRAFT_MED_STATUS = frozenset({"draft", "active"})
# The longest look-back any rule applies to an Observation (labs and PHQ screens: 365 days); older ones are
# passed over unparsed. tests/test_record.py checks every rule's window against it.
OBSERVATION_WINDOW_DAYS = 365
_REQUEST_ELEMENTS = ("id", "status", "authoredOn", "reasonCode")
_STATEMENT_ELEMENTS = ("id", "status", "effectivePeriod", "effectiveDateTime", "basedOn", "reasonCode")
_Drug = tuple[Concept, frozenset[str], tuple[str, ...]]  # concept, value-set classes, RxNorm codes
_NOT_OURS, _INVALID = object(), object()  # a drug in none of our value sets; a concept that fails validation
_NO_CODES: frozenset[Code] = frozenset()
# DSTU2/STU3 resource types that mean a client sent the wrong FHIR version (checklist section 9).
WRONG_VERSION_TYPES = frozenset({"MedicationOrder", "ProcedureRequest", "DiagnosticOrder", "ReferralRequest"})


def _codes(concept: Concept | None) -> frozenset[Code]:
    return concept.codes if concept is not None else _NO_CODES


def _display(concept: Concept | None) -> str:
    return concept.display if concept is not None else ""


def _all_codes(concepts: list[Concept] | None) -> frozenset[Code]:
    if not concepts:
        return _NO_CODES
    return frozenset(code for c in concepts for code in c.codes)


def _status_code(concept: Concept | None) -> str | None:
    return concept.first_code if concept is not None else None


def _codings(concept: Any, element: str) -> list[Any]:
    """The `coding` list of a plain-JSON CodeableConcept, without validation: the cheap first filter.

    Raises Unreadable when the element has the wrong shape, so a resource we cannot classify is reported
    rather than silently passed over (it might have been a red flag).
    """
    if concept is None:
        return []
    codings = concept.get("coding", []) if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        raise Unreadable(f"unreadable {element}")
    return codings


def _reject_older_status_shape(res: dict[str, Any]) -> None:
    """Raise Unreadable for a DSTU2/STU3 status written as a plain string ("resolved"): dropping it would make
    the resource look active, a misreading rather than a lenient reading."""
    for element in ("clinicalStatus", "verificationStatus"):
        if isinstance(res.get(element), str):
            raise Unreadable(f"{element} is a string (a DSTU2/STU3 {res['resourceType']}); send R4 resources")


def _raw_observation_date(res: dict[str, Any]) -> str | None:
    """The Observation's date as sent (effectiveDateTime, effectivePeriod.start or issued), unvalidated."""
    period = res.get("effectivePeriod")
    for value in (res.get("effectiveDateTime"), period.get("start") if isinstance(period, dict) else None,
                  res.get("issued")):
        if isinstance(value, str):
            return value
    return None


def _range_high(reference_range: Any) -> float | None:
    """The upper limit of a referenceRange as sent (plain JSON: any shape may come), or None."""
    high = reference_range.get("high") if isinstance(reference_range, dict) else None
    return _float(high.get("value")) if isinstance(high, dict) else None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class _OtherPatient(Exception):
    """The resource is about another patient (clinical reference 0.6): skipped and reported, never read."""


class RecordBuilder:
    """Collects resources from prefetch values and draft orders into one PatientRecord."""

    def __init__(self, kb: Knowledge, context: HookContext, today: date) -> None:
        self.kb = kb
        self.context = context
        self.observations_since = (today - timedelta(days=OBSERVATION_WINDOW_DAYS)).isoformat()
        self.record = PatientRecord(kb, context.patient_id)
        self._medications: dict[str, dict[str, Any]] = {}
        self._own_references = {f"Patient/{context.patient_id}", f"urn:uuid:{context.patient_id}"}
        self._memo: Memo = {}  # validated elements of this request, by JSON
        self._drugs: dict[bytes, Any] = {}  # _Drug, _NOT_OURS or _INVALID, by concept JSON

    # -- entry points ---------------------------------------------------------------------------------------
    def build(self, values: Iterable[Any]) -> PatientRecord:
        resources: list[dict[str, Any]] = []
        for value in values:
            self._flatten(value, resources)
        add = self._add
        for res in resources:
            add(res, False)
        selections = set(self.context.selections)
        self.record.selecting = bool(selections)
        for res in self.context.draft_orders:
            self._add(res, draft=True, selected=f"{res.get('resourceType')}/{res.get('id')}" in selections)
        return self.record

    def _flatten(self, value: Any, found: list[dict[str, Any]]) -> None:
        """Append the resources of a prefetch value to `found`: the resource itself, or the entries of a Bundle
        (nested Bundles too, in document order), and index Medications for the orders that reference them.
        A Bundle whose `entry` is not an array is reported: what it held might have been a red flag."""
        stack = [iter(({"resource": value},))]  # iterators over entries, not recursion: nesting comes from requests
        while stack:
            for entry in stack[-1]:
                item = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(item, dict):
                    continue
                rtype = item.get("resourceType")
                if rtype == "Bundle":
                    entries = item.get("entry", [])
                    if isinstance(entries, list):
                        stack.append(iter(entries))
                        break  # read the nested Bundle's entries, then resume this one
                    self._skip(item, "Bundle.entry is not an array; its resources could not be read")
                elif isinstance(rtype, str):
                    found.append(item)
                    if rtype == "Medication" and isinstance(item.get("id"), str):
                        self._medications[f"Medication/{item['id']}"] = item
            else:
                stack.pop()

    # -- per resource ---------------------------------------------------------------------------------------
    def _add(self, res: dict[str, Any], draft: bool, selected: bool = False) -> None:
        rtype = res.get("resourceType")
        handler = _HANDLERS.get(rtype)  # type: ignore[arg-type]
        if handler is None:
            if rtype in WRONG_VERSION_TYPES:
                self._skip(res, f"{rtype} is not a FHIR R4 resource (DSTU2/STU3); send R4 resources")
            return
        try:
            handler(self, res, draft, selected)
        except _OtherPatient:
            self._skip(res, "other-patient")  # about someone else: using it would put their data on this chart
        except Unreadable as exc:
            self._skip(res, str(exc))

    def _skip(self, res: dict[str, Any], reason: str) -> None:
        rid = res.get("id") if isinstance(res.get("id"), str) else None
        self.record.skipped.append(Skipped(str(res.get("resourceType")), rid, reason))
        log.warning("skipped resource %s/%s: %s", res.get("resourceType"), rid, reason)

    def _owner_check(self, res: dict[str, Any]) -> None:
        """Raise _OtherPatient for a resource about another patient than the context's. Asked of the resources a
        handler is about to read (its first `_parsed`), not of the thousands of a record it passes over."""
        rtype = res.get("resourceType")
        if rtype == "Patient":
            owner = res.get("id")
        else:
            subject = res.get("patient" if rtype == "AllergyIntolerance" else "subject")
            ref = subject.get("reference") if isinstance(subject, dict) else None
            owner = None if not isinstance(ref, str) or ref in self._own_references else _patient_id(subject)
        if owner is not None and owner != self.context.patient_id:
            raise _OtherPatient

    def _parsed(self, res: dict[str, Any], needed: tuple[str, ...], required: tuple[str, ...] = ()) -> Parsed:
        self._owner_check(res)
        parsed = parse(res, needed, required, self._memo)
        self.record.lenient += parsed.lenient
        return parsed

    def _relevant(self, concept: Any, element: str = "code") -> bool:
        """Does this plain-JSON CodeableConcept carry a code from any of our value sets? (Runs once per resource
        of the whole record, hence the plain loop and the direct cache lookup.)"""
        known = self.kb.relevance
        for coding in _codings(concept, element):
            if isinstance(coding, dict):
                key = (coding.get("system"), coding.get("code"))
                try:
                    hit = known.get(key)  # type: ignore[arg-type]
                except TypeError:  # a code sent as an object or array: not one of ours
                    continue
                if hit or (hit is None and self.kb.is_relevant_raw(*key)):
                    return True
        return False

    def _patient(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        """Age and death come from the context's Patient (others were skipped in `_add`); an unreadable deceased
        element is left out, so the patient is treated as alive: cards shown, never silently withheld."""
        parsed = self._parsed(res, ("birthDate", "deceasedBoolean", "deceasedDateTime"))
        self.record.birth_date = parsed.get("birthDate")
        self.record.deceased = parsed.get("deceasedBoolean") is True
        self.record.deceased_on = parsed.get("deceasedDateTime")

    def _condition(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        if not self._relevant(res.get("code")):
            return
        _reject_older_status_shape(res)
        p = self._parsed(res, ("id", "code", "clinicalStatus", "verificationStatus", "onsetDateTime", "onsetPeriod",
                               "recordedDate", "abatementDateTime", "abatementPeriod"), required=("code",))
        if _status_code(p.get("verificationStatus")) in NOT_COUNTING_VERIFICATION:
            return
        onset_period, abatement_period = p.get("onsetPeriod"), p.get("abatementPeriod")
        codes = _codes(p.get("code"))
        self.record.conditions.append(ConditionFact(
            id=p.get("id"), codes=codes, display=_display(p.get("code")),
            clinical_status=_status_code(p.get("clinicalStatus")),
            onset=p.get("onsetDateTime") or (onset_period.start if onset_period else None),
            recorded=p.get("recordedDate"),
            abatement=p.get("abatementDateTime") or (abatement_period.end if abatement_period else None),
            classes=self.kb.classify(codes)))

    def _observation(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        if res.get("status") not in FINAL_OBSERVATION or not self._relevant(res.get("code")):
            return
        when = _raw_observation_date(res)
        if when is None or when[:10] < self.observations_since:  # ISO dates compare as strings
            return  # outside every rule's window: not worth validating
        p = self._parsed(res, ("id", "status", "code", "valueQuantity", "valueCodeableConcept", "effectiveDateTime",
                               "effectivePeriod", "issued", "referenceRange"), required=("code",))
        quantity, period = p.get("valueQuantity"), p.get("effectivePeriod")
        ranges = p.get("referenceRange") or []
        codes = _codes(p.get("code"))
        high = _range_high(ranges[0]) if ranges else None
        self.record.observations.append(ObservationFact(
            id=p.get("id"), codes=codes, display=_display(p.get("code")),
            when=p.get("effectiveDateTime") or (period.start if period else None) or p.get("issued"),
            value=_float(quantity.value) if quantity else None,
            unit=(quantity.code or quantity.unit) if quantity else None,
            value_codes=_codes(p.get("valueCodeableConcept")), reference_high=high, classes=self.kb.classify(codes)))

    def _medication_concept(self, res: dict[str, Any]) -> Any:
        """The raw CodeableConcept naming the drug: inline, or from a contained or bundled Medication (0.5)."""
        if "medicationCodeableConcept" in res:
            return res["medicationCodeableConcept"]
        ref = (res.get("medicationReference") or {}).get("reference") if isinstance(
            res.get("medicationReference"), dict) else None
        if not isinstance(ref, str):
            return None
        if ref.startswith("#"):
            contained = res.get("contained") or []
            med = next((c for c in contained if isinstance(c, dict) and c.get("id") == ref[1:]), None)
        else:
            med = self._medications.get(ref) or self._medications.get("Medication/" + ref.rsplit("/", 1)[-1])
        return med.get("code") if med else None

    def _drug(self, raw: Any) -> _Drug | None:
        """The medication concept with its value-set classes and RxNorm codes, or None when it is none of ours;
        worked out once per distinct concept JSON in a request (a long history repeats the same drug)."""
        try:
            key = orjson.dumps(raw)
        except TypeError:  # not JSON-shaped: let the checks below say why
            key = None
        found = self._drugs.get(key) if key is not None else None
        if found is None:
            found = self._classify_drug(raw)
            if key is not None:
                self._drugs[key] = found
        return found if found is not _NOT_OURS else None

    def _classify_drug(self, raw: Any) -> _Drug | object:
        if not self._relevant(raw, "medication"):  # raises Unreadable for codings of the wrong shape
            return _NOT_OURS
        try:
            medication = concept(raw)
        except ValueError:
            return _INVALID
        rxnorm = tuple(sorted(c for s, c in medication.codes if s == RXNORM))
        return medication, self.kb.classify_medication(rxnorm), rxnorm

    def _medication(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        raw_concept = self._medication_concept(res)
        if raw_concept is None:
            if draft:
                self._skip(res, "draft order without a medication yet")
            return
        found = self._drug(raw_concept)
        if found is None:
            return
        status = res.get("status")
        if draft and status not in DRAFT_MED_STATUS and status is not None:
            return
        if found is _INVALID:
            raise Unreadable("invalid medication code")
        drug, classes, rxnorm = found
        rtype = res["resourceType"]
        based_on: tuple[str, ...] = ()
        end = dispense = None
        if rtype == "MedicationRequest":
            v = self._parsed(res, _REQUEST_ELEMENTS)
            dosages = res.get("dosageInstruction")
            start = v.get("authoredOn")
            dispense = res.get("dispenseRequest") if isinstance(res.get("dispenseRequest"), dict) else None
        else:
            v = self._parsed(res, _STATEMENT_ELEMENTS)
            dosages = res.get("dosage")
            period = v.get("effectivePeriod")
            start = (period.start if period else None) or v.get("effectiveDateTime")
            end = period.end if period else None
            based_on = tuple(r.reference for r in v.get("basedOn", ()) if r.reference)
        first_dosage = dosages[0] if isinstance(dosages, list) and dosages and isinstance(dosages[0], dict) else None
        # Positional, in field order: a keyword call costs twice as much, and renewals make dozens of these per call.
        self.record.medications.append(MedicationFact(
            rtype, v.get("id"), draft, v.get("status"), drug.codes, drug.display, start, end, classes, rxnorm,
            first_dosage, based_on, _all_codes(v.get("reasonCode")), selected, dispense))

    def _order(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        is_procedure = res["resourceType"] == "Procedure"
        if not self._relevant(res.get("code")):
            return
        needed = ("id", "status", "code", "performedDateTime", "performedPeriod") if is_procedure else (
            "id", "status", "code", "authoredOn", "reasonCode")
        p = self._parsed(res, needed, required=("code",))
        period = p.get("performedPeriod")
        when = (p.get("performedDateTime") or (period.start if period else None)) if is_procedure \
            else p.get("authoredOn")
        codes = _codes(p.get("code"))
        self.record.orders.append(OrderFact(
            resource_type=res["resourceType"], id=p.get("id"), draft=draft, status=p.get("status"),
            codes=codes, display=_display(p.get("code")), when=when, reason_codes=_all_codes(p.get("reasonCode")),
            selected=selected, raw=res, classes=self.kb.classify(codes)))

    def _report(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        """A final DiagnosticReport: imaging already done (3.2), dated by its effective time."""
        if res.get("status") not in FINAL_OBSERVATION or not self._relevant(res.get("code")):
            return
        p = self._parsed(res, ("id", "status", "code", "effectiveDateTime", "effectivePeriod", "issued"),
                         required=("code",))
        period = p.get("effectivePeriod")
        codes = _codes(p.get("code"))
        self.record.orders.append(OrderFact(
            resource_type="DiagnosticReport", id=p.get("id"), draft=False, status=p.get("status"), codes=codes,
            display=_display(p.get("code")), classes=self.kb.classify(codes),
            when=p.get("effectiveDateTime") or (period.start if period else None) or p.get("issued")))

    def _imaging_study(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        """An available ImagingStudy with a lumbar procedure code: imaging already done (3.2)."""
        concepts = res.get("procedureCode")
        if not isinstance(concepts, list) or not any(self._relevant(c, "procedureCode") for c in concepts):
            return
        p = self._parsed(res, ("id", "status", "procedureCode", "started"), required=("procedureCode",))
        codes = _all_codes(p.get("procedureCode"))
        display = next((_display(c) for c in p.get("procedureCode") if _display(c)), "")
        self.record.orders.append(OrderFact(
            resource_type="ImagingStudy", id=p.get("id"), draft=False, status=p.get("status"), codes=codes,
            display=display, when=p.get("started"), classes=self.kb.classify(codes)))

    def _allergy(self, res: dict[str, Any], draft: bool, selected: bool) -> None:
        if not self._relevant(res.get("code")):
            return
        _reject_older_status_shape(res)
        p = self._parsed(res, ("code", "clinicalStatus", "verificationStatus"), required=("code",))
        if _status_code(p.get("clinicalStatus")) not in (None, "active"):
            return
        if _status_code(p.get("verificationStatus")) in NOT_COUNTING_VERIFICATION:
            return
        self.record.allergies.append(_codes(p.get("code")))


_HANDLERS = {
    "Patient": RecordBuilder._patient, "Condition": RecordBuilder._condition,
    "Observation": RecordBuilder._observation, "MedicationRequest": RecordBuilder._medication,
    "MedicationStatement": RecordBuilder._medication, "ServiceRequest": RecordBuilder._order,
    "Procedure": RecordBuilder._order, "AllergyIntolerance": RecordBuilder._allergy,
    "DiagnosticReport": RecordBuilder._report, "ImagingStudy": RecordBuilder._imaging_study,
}


def _patient_id(reference: Any) -> str | None:
    """The Patient id a subject/patient Reference names ("Patient/1", an absolute URL, "urn:uuid:1"), or None when
    it names none we can tell (no reference, a contained or conditional one): then the resource is kept."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str):
        return None
    if ref.startswith("urn:uuid:"):
        return ref[9:]
    _, found, rest = ref.rpartition("Patient/")
    return rest.split("/", 1)[0] or None if found else None


def build_record(kb: Knowledge, context: HookContext, values: Iterable[Any], today: date) -> PatientRecord:
    """Build the record from prefetch values (resources or Bundles) plus the context's draft orders, as of
    `today` (Observations older than any rule's window are passed over)."""
    return RecordBuilder(kb, context, today).build(values)
