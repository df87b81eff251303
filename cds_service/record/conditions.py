"""Selecting conditions, allergies and the patient's own age and death: what red flags, contraindications and
risk factors read (clinical reference 0.3, 0.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .elements import NOT_COUNTING_VERIFICATION, codes_of, display_of, reject_older_status_shape, status_code
from .patient_record import AllergyFact, ConditionFact

if TYPE_CHECKING:
    from .builder import RecordBuilder


def add_patient(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    """Age and death come from the context's Patient (others were skipped in `_add`); an unreadable deceased
    element is left out, so the patient is treated as alive: cards shown, never silently withheld."""
    parsed = b.parsed(res, ("birthDate", "deceasedBoolean", "deceasedDateTime"))
    born = parsed.get("birthDate")
    if born is not None and born > b.today:  # impossible: an unknown age, evaluated (a negative one hid every card)
        born = None
        if not parsed.lenient:
            b.record.lenient += 1
    b.record.birth_date = born
    b.record.deceased = parsed.get("deceasedBoolean") is True
    b.record.deceased_on = parsed.get("deceasedDateTime")


def add_condition(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    if not b.relevant(res.get("code")):
        return
    reject_older_status_shape(res)
    p = b.parsed(
        res,
        (
            "id",
            "code",
            "clinicalStatus",
            "verificationStatus",
            "onsetDateTime",
            "onsetPeriod",
            "recordedDate",
            "abatementDateTime",
            "abatementPeriod",
        ),
        required=("code",),
    )
    if status_code(p.get("verificationStatus")) in NOT_COUNTING_VERIFICATION:
        return
    onset_period, abatement_period = p.get("onsetPeriod"), p.get("abatementPeriod")
    codes = codes_of(p.get("code"))
    b.record.conditions.append(
        ConditionFact(
            id=p.get("id"),
            codes=codes,
            display=display_of(p.get("code")),
            clinical_status=status_code(p.get("clinicalStatus")),
            onset=p.get("onsetDateTime") or (onset_period.start if onset_period else None),
            recorded=p.get("recordedDate"),
            abatement=p.get("abatementDateTime") or (abatement_period.end if abatement_period else None),
            classes=b.kb.classify(codes),
        )
    )


def add_allergy(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    """A counting allergy (active or without a status; not refuted or in error), kept with its name and dates."""
    if not b.relevant(res.get("code")):
        return
    reject_older_status_shape(res)
    p = b.parsed(
        res,
        ("id", "code", "clinicalStatus", "verificationStatus", "recordedDate", "onsetDateTime", "onsetPeriod"),
        required=("code",),
    )
    if status_code(p.get("clinicalStatus")) not in (None, "active"):
        return
    if status_code(p.get("verificationStatus")) in NOT_COUNTING_VERIFICATION:
        return
    onset_period = p.get("onsetPeriod")
    b.record.allergies.append(
        AllergyFact(
            id=p.get("id"),
            codes=codes_of(p.get("code")),
            display=display_of(p.get("code")),
            recorded=p.get("recordedDate"),
            onset=p.get("onsetDateTime") or (onset_period.start if onset_period else None),
        )
    )
