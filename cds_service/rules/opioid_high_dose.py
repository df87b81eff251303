"""opioid-high-dose: warning from 50 MME/day, critical from 90 (clinical reference 5.5)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import episode
from ._mme import daily_mme
from ._opioids import exclusion, opioid_evidence
from ._tramadol import above_label_maximum

TOPIC = "opioid-high-dose"
WARNING_AT_MME = 50  # CDC 2022: pause and reassess before >= 50 MME/day
CRITICAL_AT_MME = 90  # CDC opioid CDS REC 04/05 "taper now"; HEDIS HDO


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card, or None below 50 MME/day, with no computable total, or when excluded (5.1). A lower bound
    decides the tier: at least N at or above a threshold is truly at or above it (0.10 item 3)."""
    if episode(record, today) is None or exclusion(record, today):
        return None
    mme = daily_mme(record, today)
    if mme.total is None or mme.total < WARNING_AT_MME:
        return None
    critical = mme.total >= CRITICAL_AT_MME
    # a new opioid being ordered at this dose: lower the draft (nothing to taper yet); a renewal continues a therapy,
    # which is tapered, never cut abruptly (CDC 2022 Rec 5)
    drafted = any(c.med.draft and c.daily and not c.renewal for c in mme.contributions)
    advice = (
        "At 90 MME/day or more, avoid starting or raising to this dose: lower the drafted dose (CDC 2022 Rec 4); "
        "offer naloxone."
        if critical and drafted
        else "At 90 MME/day or more, work with the patient to taper to a safer dose; offer naloxone."
        if critical
        else "At 50 MME/day or more, pause and reassess benefits and risks before any increase; offer naloxone."
    )
    over = above_label_maximum(record, today)
    replacing = "".join(f"\n- {line}" for line in (*mme.alternatives, *([over.text] if over else [])))
    detail = f"{mme.explain()}{replacing}\n\n{advice}"
    return Card(
        TOPIC,
        Indicator.CRITICAL if critical else Indicator.WARNING,
        f"High opioid dose: {mme.said}",
        detail,
        override_reasons=COMMON_OVERRIDES,
        mme=mme.total,
        mme_lower_bound=mme.lower_bound,
        evidence=(opioid_evidence(record, today), over.evidence if over else ()),
    )
