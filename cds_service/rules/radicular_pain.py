"""radicular-pain: advice for sciatica and lumbar radiculopathy (clinical reference 7.3, 10.4)."""

from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import episode
from ._names import condition_label

TOPIC = "radicular-pain"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card for an active radicular diagnosis; None otherwise."""
    ep = episode(record, today)
    if ep is None or not ep.radicular:
        return None
    names = "; ".join(sorted({condition_label(c, "radicular diagnosis") for c in ep.radicular}))  # dated (0.9)
    lines = [
        f"Radicular diagnosis: {names}.",
        "",
        "- Gabapentin may be considered, but evidence is weak (small short-term benefit; pregabalin showed "
        "no benefit for sciatica in a 2017 trial).",
        "- If radicular symptoms persist beyond 4 weeks despite conservative care, MRI and referral for "
        "patients who are surgery or epidural injection candidates.",
        "- Progressive weakness or bladder/bowel symptoms need urgent evaluation.",
    ]
    return Card(
        TOPIC,
        Indicator.INFO,
        "Radicular back pain: conservative care, MRI if it persists past 4 weeks",
        "\n".join(lines),
        evidence=(ep.radicular, ep),
    )
