"""Shared opioid facts: current opioid analgesics, the 5.1 exclusions, use disorder and overdose history."""

from __future__ import annotations

from datetime import date

from ..citations import Citation
from ..record.patient_record import MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._episode import episode
from ._names import condition_label
from ._renewals import without_renewed

LONG_TERM_DAYS = 91  # continuous use > 90 days: reassess at least every 3 months (CDC 2022 Rec 7)
MOUD = "opioid-use-disorder-treatment"  # the value set of treatments of opioid use disorder


def _opioid_evidence(record: PatientRecord, today: date) -> Citation:
    """The episode and the current opioids: what every opioid card rests on (one Citation a call, shared by the four
    opioid cards, so their 22 orders for Brenda Jackson are cited once)."""
    return Citation(episode(record, today), current_opioids(record, today))


opioid_evidence = per_call(_opioid_evidence)


def _current_opioids(record: PatientRecord, today: date) -> list[MedicationFact]:
    """Current opioid analgesics (5.2), de-duplicated; buprenorphine for opioid use disorder is not one. A chart
    order that a draft of the same product renews is replaced by that draft (0.10 item 1)."""
    found = record.medications_in("opioid-analgesics", today)
    # without a current treatment of opioid use disorder (most records) no order is to be left out: no test per order
    found = [m for m in found if MOUD not in m.classes] if record.medications_in(MOUD, today) else list(found)
    return without_renewed(record.kb, found)


current_opioids = per_call(_current_opioids)


def _current_benzodiazepines(record: PatientRecord, today: date) -> list[MedicationFact]:
    """Current benzodiazepines, a draft in place of the chart orders it renews (0.10 item 1)."""
    return without_renewed(record.kb, record.medications_in("benzodiazepines", today))


current_benzodiazepines = per_call(_current_benzodiazepines)


def is_moud(med: MedicationFact) -> bool:
    """Treatment of opioid use disorder (buprenorphine/naloxone, sublingual buprenorphine...): not an analgesic, and
    a draft of it is not an opioid draft (0.10 items 4, 5)."""
    return MOUD in med.classes


def _exclusion(record: PatientRecord, today: date) -> str | None:
    """Why opioid cards are suppressed (active cancer, sickle cell), or None (5.1); end-of-life care suppresses them
    before any family runs (`_goals.end_of_life_care`)."""
    if record.conditions_in("malignancy", today, current=True):
        return "active cancer"
    if record.conditions_in("sickle-cell-disease", today, current=False):
        return "sickle cell disease"
    return None  # hospice, palliative or end-of-life care: `rules.evaluate` runs no opioid family then (_goals)


exclusion = per_call(_exclusion)


def use_disorder_or_overdose(record: PatientRecord, today: date, facts: list | None = None) -> list[str]:
    """Opioid use disorder or prior overdose, any status (5.3); the Conditions are added to `facts` when given."""
    found = record.conditions_in("opioid-use-disorder", today, current=False) + record.conditions_in(
        "opioid-overdose", today, current=False
    )
    if facts is not None:
        facts += found
    return sorted({condition_label(c, "opioid use disorder or overdose") for c in found})
