"""Builds the `PatientRecord`: cheap selection on plain JSON, then R4B models for candidates, counting rules applied.

Only resources carrying a code from one of our value sets are parsed; everything else (encounters, claims, the
hundreds of unrelated labs of a long history) is passed over on the plain JSON. Each resource type's selector
lives in a module named for what it selects (conditions, medications, observations, orders); this one walks the
prefetch, checks whose resource it is and reports what it skipped. Section numbers refer to the clinical reference.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..fhir.parse import Memo, Parsed, Unreadable, parse
from ..hook_request import HookContext
from ..knowledge import Knowledge
from ..logs import safe
from .conditions import add_allergy, add_condition, add_patient
from .medications import add_medication
from .observations import OBSERVATION_WINDOW_DAYS, add_observation
from .orders import add_imaging_study, add_order, add_report
from .patient_record import PatientRecord, Skipped

log = logging.getLogger(__name__)

MAX_SKIPPED_LISTED = 100  # skipped resources listed in a response and logged, per call; the rest are counted
# DSTU2/STU3 resource types that mean a client sent the wrong FHIR version (checklist section 9).
WRONG_VERSION_TYPES = frozenset({"MedicationOrder", "ProcedureRequest", "DiagnosticOrder", "ReferralRequest"})


class _OtherPatient(Exception):
    """The resource is about another patient (clinical reference 0.6): skipped and reported, never read."""


class RecordBuilder:
    """Collects resources from prefetch values and draft orders into one PatientRecord."""

    def __init__(self, kb: Knowledge, context: HookContext, today: date) -> None:
        self.kb = kb
        self.context = context
        self.today = today  # a draft starts today, whatever authoredOn it carries (0.10 item 2)
        self.observations_since = (today - timedelta(days=OBSERVATION_WINDOW_DAYS)).isoformat()
        self.record = PatientRecord(kb, context.patient_id)
        self.medications: dict[str, dict[str, Any]] = {}  # bundled Medications, by reference
        self._own_references = {f"Patient/{context.patient_id}", f"urn:uuid:{context.patient_id}"}
        self._memo: Memo = {}  # validated elements of this request, by JSON

    def build(self, values: Iterable[Any]) -> PatientRecord:
        found: list[tuple[Selector, dict[str, Any]]] = []
        for value in values:
            self._flatten(value, found)
        add = self._add
        for select, res in found:
            add(select, res, False, False)
        selections = set(self.context.selections)
        self.record.selecting = bool(selections)
        drafts: list[tuple[Selector, dict[str, Any]]] = []
        self._flatten({"resourceType": "Bundle", "entry": list(self.context.draft_orders)}, drafts)
        for select, res in drafts:  # an id that is not text is never a selection's
            rid = res.get("id")
            add(select, res, True, isinstance(rid, str) and f"{res['resourceType']}/{rid}" in selections)
        return self.record

    def _flatten(self, value: Any, found: list[tuple[Selector, dict[str, Any]]]) -> None:
        """Append the resources of a prefetch value (or of the draft orders) that a selector reads to `found`, each
        with its selector: the resource itself, or the entries of a Bundle (nested Bundles too, in document order),
        and index Medications for the orders that reference them. A Bundle whose `entry` is not an array, an entry
        whose resource is not an object and a resource whose type is not text are reported: what they held might
        have been a red flag; so is a DSTU2/STU3 type, in its place among the resources read."""
        # iterators over entries, not recursion: nesting comes from requests. Of Any: entries are as sent
        stack: list[Iterator[Any]] = [iter(({"resource": value},))]
        selectors = SELECTORS
        while stack:
            for entry in stack[-1]:
                item = entry.get("resource") if isinstance(entry, dict) else entry
                if not isinstance(item, dict):
                    if isinstance(entry, dict) and item is None and "resourceType" in entry:
                        self.skip(entry, "a Bundle entry holds a resource without its 'resource' member")
                    elif item is not None:  # an entry with no resource at all (a deleted one) holds nothing
                        self.skip({}, "a Bundle entry's resource is not a JSON object")
                    continue
                rtype = item.get("resourceType")
                if not isinstance(rtype, str):  # unreadable, and it might have been a red flag: reported
                    self.skip(item, "resourceType is missing or not a string")
                elif (select := selectors.get(rtype)) is not None:  # most resources: one look-up, then the next
                    found.append((select, item))
                elif rtype == "Bundle":
                    entries = item.get("entry", [])
                    if isinstance(entries, list):
                        stack.append(iter(entries))
                        break  # read the nested Bundle's entries, then resume this one
                    self.skip(item, "Bundle.entry is not an array; its resources could not be read")
                elif rtype == "Medication":
                    if isinstance(item.get("id"), str):
                        self.medications[f"Medication/{item['id']}"] = item
                elif rtype in WRONG_VERSION_TYPES:
                    found.append((_wrong_version, item))
            else:
                stack.pop()

    def _add(self, select: Selector, res: dict[str, Any], draft: bool, selected: bool) -> None:
        """Read one resource with its selector; what cannot be read is skipped and reported."""
        try:
            select(self, res, draft, selected)
        except _OtherPatient:
            self.skip(res, "other-patient")  # about someone else: using it would put their data on this chart
        except Unreadable as unreadable:  # its own name: compiled, one name holds one type
            self.skip(res, str(unreadable))
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # a shape no selector expects
            if self._listing():  # where, so that a bug in a selector shows; never the message: it may quote the chart
                raised = traceback.extract_tb(exc.__traceback__)[-1]
                log.warning(
                    "reading %s raised %s at %s:%s",
                    res["resourceType"],
                    type(exc).__name__,
                    Path(raised.filename).name,
                    raised.lineno,
                )
            self.skip(res, f"{res['resourceType']} could not be read: an element has an unexpected type, size or depth")

    def _listing(self) -> bool:
        """Whether a skipped resource is still listed and logged: a flood of them (an entry of 2 bytes each) is
        counted, not listed, so that a small request cannot make a huge response or log."""
        return len(self.record.skipped) < MAX_SKIPPED_LISTED

    def skip(self, res: dict[str, Any], reason: str) -> None:
        if not self._listing():
            self.record.skipped_more += 1
            return
        rid = res.get("id") if isinstance(res.get("id"), str) else None
        rtype = res.get("resourceType")
        kind = rtype if isinstance(rtype, str) else ""  # not echoed when it is not text (it could be megabytes)
        self.record.skipped.append(Skipped(kind, rid, reason))
        log.warning("skipped resource %s/%s: %s", safe(kind, 64), safe(rid, 64), safe(reason))
        if not self._listing():
            log.warning("further skipped resources of this call are counted, not listed or logged")

    def parsed(self, res: dict[str, Any], needed: tuple[str, ...], required: tuple[str, ...] = ()) -> Parsed:
        """The `needed` elements of a resource of this patient, validated; raises _OtherPatient or Unreadable.

        Whose resource it is is asked here, of the resources a selector is about to read, not of the thousands of
        a record it passes over: one about another patient than the context's raises _OtherPatient."""
        rtype = res.get("resourceType")
        if rtype == "Patient":
            owner = res.get("id")
        else:
            subject = res.get("patient" if rtype == "AllergyIntolerance" else "subject")
            ref = subject.get("reference") if isinstance(subject, dict) else None
            owner = None if not isinstance(ref, str) or ref in self._own_references else _patient_id(subject)
        if owner is not None and owner != self.context.patient_id:
            raise _OtherPatient
        result = parse(res, needed, required, self._memo)
        self.record.lenient += result.lenient
        return result

    def relevant(self, concept: Any, element: str = "code") -> bool:
        """Does this plain-JSON CodeableConcept carry a code from any of our value sets? (Runs once per resource
        of the whole record, hence the plain loop and the direct cache lookup.) Raises Unreadable when the element
        has the wrong shape: a resource we cannot classify is reported, not passed over (it might be a red flag)."""
        if concept is None:
            return False
        found = concept.get("coding", []) if isinstance(concept, dict) else None
        if not isinstance(found, list):
            raise Unreadable(f"unreadable {element}")
        known = self.kb.relevance
        for coding in found:
            if isinstance(coding, dict):
                key = (coding.get("system"), coding.get("code"))
                try:
                    hit = known.get(key)  # type: ignore[arg-type]
                except TypeError:  # a code sent as an object or array: not one of ours
                    continue
                if hit or (hit is None and self.kb.is_relevant_raw(*key)):
                    return True
        return False


Selector = Callable[[RecordBuilder, dict[str, Any], bool, bool], None]
SELECTORS: dict[str, Selector] = {
    "Patient": add_patient,
    "Condition": add_condition,
    "AllergyIntolerance": add_allergy,
    "Observation": add_observation,
    "MedicationRequest": add_medication,
    "MedicationStatement": add_medication,
    "ServiceRequest": add_order,
    "Procedure": add_order,
    "DiagnosticReport": add_report,
    "ImagingStudy": add_imaging_study,
}


def _wrong_version(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    """A DSTU2/STU3 resource type: a client sent the wrong FHIR version (checklist section 9)."""
    b.skip(res, f"{res['resourceType']} is not a FHIR R4 resource (DSTU2/STU3); send R4 resources")


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
