"""imaging-overuse: lumbar imaging in the first 6 weeks of back pain without red flags (clinical reference 3)."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from ..cards import Action, Card, Indicator, Suggestion
from ..hook_request import HookContext
from ..record.patient_record import OrderFact, PatientRecord
from ._episode import Episode, episode
from ._markdown import escape
from ._orders import delete
from .red_flags import findings

TOPIC = "imaging-overuse"
WINDOW_DAYS = 42  # Choosing Wisely: no imaging in the first six weeks
RADICULAR_MRI_FROM_DAYS = 28  # MRI allowed from 4 weeks with a radicular diagnosis (reference 10.5)
PENDING_STATUSES = frozenset({"active", "on-hold", "draft"})
DONE_STATUSES = {
    "Procedure": {"completed"},
    "DiagnosticReport": {"final", "amended", "corrected"},
    "ImagingStudy": {"available"},
}

OVERRIDES = (
    ("red-flag-on-exam", "Red flag found on examination"),
    ("surgical-candidate", "Surgical or epidural injection candidate"),
    ("persistent-symptoms", "Symptoms persisting despite conservative care"),
    ("not-applicable", "Not applicable to this patient"),
)


def _too_early(record: PatientRecord, ep: Episode, order: OrderFact, days: int | None) -> bool:
    if ep.coded_chronic or days is None or not 0 <= days < WINDOW_DAYS:  # coded chronic: past 12 weeks (1.2)
        return False
    is_mri = any(code in record.kb.vs("lumbar-mri") for code in order.codes)
    return not (is_mri and ep.radicular and days >= RADICULAR_MRI_FROM_DAYS)


def _days_at(ep: Episode, when: date | None, today: date) -> int | None:
    if ep.order_only:
        return 0
    if ep.onset is None:
        return None
    return ((when or today) - ep.onset).days


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return a warning for drafted or pending early imaging, info for imaging already done early, else None."""
    ep = episode(record, today)
    if ep is None or findings(record, ep, today):
        return None
    imaging = record.orders_in("lumbar-imaging")
    drafts = [
        o
        for o in imaging
        if record.is_in_focus(o)
        and o.resource_type == "ServiceRequest"
        and _too_early(record, ep, o, _days_at(ep, today, today))
    ]
    pending = [
        o
        for o in imaging
        if not o.draft
        and o.resource_type == "ServiceRequest"
        and o.status in PENDING_STATUSES
        and o.when is not None
        and ep.onset is not None
        and o.when >= ep.onset
        and _too_early(record, ep, o, _days_at(ep, o.when, today))
    ]
    # One study is often recorded as a Procedure, a report and an ImagingStudy: one line a day.
    done_by_day: dict[date, OrderFact] = {}
    for o in imaging:
        if (
            o.status in DONE_STATUSES.get(o.resource_type, ())
            and o.when is not None
            and _too_early(record, ep, o, _days_at(ep, o.when, today))
        ):
            done_by_day.setdefault(o.when, o)
    done = list(done_by_day.values())
    if not (drafts or pending or done):
        return None
    lines = [f"Back pain: {ep.evidence}. No red flag is recorded.", ""]
    suggestions: list[Suggestion] = []
    for order in drafts:
        lines.append(f"- Draft order: {escape(order.display) or 'lumbar imaging'} at day {_days_at(ep, today, today)}")
        suggestions.append(
            delete(
                f"Remove the {order.display or 'lumbar imaging'} order",
                order.reference,
                "Remove the lumbar imaging draft order",
                recommended=len(drafts) == 1 or None,
            )
        )
    for order in pending:
        lines.append(
            f"- Pending order: {escape(order.display) or 'lumbar imaging'}, ordered {order.when} "
            f"(day {_days_at(ep, order.when, today)} of the episode)"
        )
        revoked = _copy(order.raw) if order.raw is not None and order.id else None
        if revoked is not None:
            revoked["status"] = "revoked"
            suggestions.append(
                Suggestion(
                    f"Cancel the pending {order.display or 'lumbar imaging'} order",
                    (Action("update", "Set the imaging order's status to revoked", resource=revoked),),
                )
            )
    for proc in done:
        lines.append(
            f"- Done: {escape(proc.display) or 'lumbar imaging'} on {proc.when} "
            f"(day {_days_at(ep, proc.when, today)} of the episode)"
        )
    lines += [
        "",
        "Imaging in the first six weeks of back pain without red flags does not improve outcomes; "
        "findings are often incidental. Reserve MRI for red flags or for surgery or epidural injection "
        "candidates whose symptoms persist beyond 4-6 weeks.",
    ]
    if drafts or pending:
        return Card(
            TOPIC,
            Indicator.WARNING,
            "Lumbar imaging in the first 6 weeks without red flags",
            "\n".join(lines),
            suggestions=tuple(suggestions),
            override_reasons=OVERRIDES,
            evidence=(ep, drafts, pending, done),
        )
    lines[-1] += " Avoid repeat imaging unless red flags appear."
    return Card(
        TOPIC,
        Indicator.INFO,
        "Lumbar imaging was done in the first 6 weeks of this episode",
        "\n".join(lines),
        evidence=(ep, done),
    )


def _copy(resource: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of an order as sent, for a suggestion to change; None when it is nested deeper than JSON can be written
    back (orjson reads 1,024 levels and writes 255): such an order is named, not offered for change."""
    try:
        return orjson.loads(orjson.dumps(resource))  # type: ignore[no-any-return]
    except TypeError:
        return None
