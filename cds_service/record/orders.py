"""Selecting orders and imaging: ServiceRequests and Procedures (drafts too), final DiagnosticReports and available
ImagingStudies, which tell imaging ordered from imaging already done (clinical reference 3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .elements import FINAL_OBSERVATION, all_codes, codes_of, display_of
from .patient_record import OrderFact

if TYPE_CHECKING:
    from .builder import RecordBuilder


def add_order(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    is_procedure = res["resourceType"] == "Procedure"
    if not b.relevant(res.get("code")):
        return
    needed = (
        ("id", "status", "code", "performedDateTime", "performedPeriod")
        if is_procedure
        else ("id", "status", "code", "authoredOn", "reasonCode")
    )
    p = b.parsed(res, needed, required=("code",))
    period = p.get("performedPeriod")
    when = (p.get("performedDateTime") or (period.start if period else None)) if is_procedure else p.get("authoredOn")
    codes = codes_of(p.get("code"))
    b.record.orders.append(
        OrderFact(
            resource_type=res["resourceType"],
            id=p.get("id"),
            draft=draft,
            status=p.get("status"),
            codes=codes,
            display=display_of(p.get("code")),
            when=when,
            reason_codes=all_codes(p.get("reasonCode")),
            selected=selected,
            raw=res,
            classes=b.kb.classify(codes),
        )
    )


def add_report(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    """A final DiagnosticReport: imaging already done (3.2), dated by its effective time."""
    if res.get("status") not in FINAL_OBSERVATION or not b.relevant(res.get("code")):
        return
    p = b.parsed(res, ("id", "status", "code", "effectiveDateTime", "effectivePeriod", "issued"), required=("code",))
    period = p.get("effectivePeriod")
    codes = codes_of(p.get("code"))
    b.record.orders.append(
        OrderFact(
            resource_type="DiagnosticReport",
            id=p.get("id"),
            draft=False,
            status=p.get("status"),
            codes=codes,
            display=display_of(p.get("code")),
            classes=b.kb.classify(codes),
            when=p.get("effectiveDateTime") or (period.start if period else None) or p.get("issued"),
        )
    )


def add_imaging_study(b: RecordBuilder, res: dict[str, Any], draft: bool, selected: bool) -> None:
    """An available ImagingStudy with a lumbar procedure code: imaging already done (3.2)."""
    concepts = res.get("procedureCode")
    if not isinstance(concepts, list) or not any(b.relevant(c, "procedureCode") for c in concepts):
        return
    p = b.parsed(res, ("id", "status", "procedureCode", "started"), required=("procedureCode",))
    codes = all_codes(p.get("procedureCode"))
    display = next((display_of(c) for c in cast(list[Any], p.get("procedureCode")) if display_of(c)), "")
    b.record.orders.append(
        OrderFact(
            resource_type="ImagingStudy",
            id=p.get("id"),
            draft=False,
            status=p.get("status"),
            codes=codes,
            display=display,
            when=p.get("started"),
            classes=b.kb.classify(codes),
        )
    )
