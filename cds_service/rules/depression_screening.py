"""depression-screening: screen chronic back pain for depression with the PHQ-9 (clinical reference 8)."""

from __future__ import annotations

from datetime import date
from typing import cast

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._already import already_on, current
from ._episode import Category, episode

TOPIC = "depression-screening"
LOOKBACK_DAYS = 365
PHQ9_POSITIVE = 10  # moderate or worse (Kroenke 2001)
PHQ2_POSITIVE = 3


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return a warning for a positive recent screen, info when never screened, else None (chronic pain only)."""
    ep = episode(record, today)
    if ep is None or ep.category is not Category.CHRONIC:
        return None
    phq9 = record.latest("phq9", today, LOOKBACK_DAYS, numeric=True)
    if phq9 and cast(float, phq9.value) >= PHQ9_POSITIVE:  # numeric=True: a number
        # advice knows what the patient takes (0.10 item 14): review a treatment rather than start one
        taken = already_on(record, "antidepressants", "antidepressant", today)
        advice = f"already on {taken}: review that treatment" if taken else "assess and treat it"
        return Card(
            TOPIC,
            Indicator.WARNING,
            f"Positive depression screen: PHQ-9 {phq9.value:g}",
            f"Most recent PHQ-9 {phq9.value:g} on {phq9.when} (10 or more: moderate or worse depression). "
            f"Depression often coexists with chronic back pain; {advice}.",
            evidence=(ep, phq9, current(record, "antidepressants", today) if taken else ()),
        )
    if record.conditions_in("depression", today, current=True) or phq9:
        return None
    phq2 = record.latest("phq2", today, LOOKBACK_DAYS, numeric=True)
    if phq2:
        if cast(float, phq2.value) < PHQ2_POSITIVE:
            return None
        return Card(
            TOPIC,
            Indicator.WARNING,
            f"Positive PHQ-2 ({phq2.value:g}): complete a PHQ-9",
            f"PHQ-2 {phq2.value:g} on {phq2.when} (3 or more is positive). Complete a PHQ-9.",
            evidence=(ep, phq2),
        )
    return Card(
        TOPIC,
        Indicator.INFO,
        "Chronic back pain: screen for depression (PHQ-9)",
        f"Back pain: {ep.evidence} (chronic). No PHQ-9 or PHQ-2 in the last 12 months and no depression "
        "diagnosis. Depression often coexists with chronic back pain; screen with the PHQ-9.",
        evidence=(ep,),
    )
