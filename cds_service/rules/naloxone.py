"""naloxone: warning for an opioid with an overdose risk factor and no naloxone on record (reference 5.7)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import episode
from ._mme import MmeResult, daily_mme
from ._names import condition_label, drug_labels
from ._opioids import MOUD, current_benzodiazepines, current_opioids, exclusion, opioid_evidence
from ._orders import create, draft_medication_request

TOPIC = "naloxone"
MME_RISK = 50
NALOXONE_LOOKBACK_DAYS = 730  # a naloxone order within 24 months counts as on record
# Any overdose, not only of an opioid, is a risk factor (CDC 2022 Rec 8; clinical reference 0.10 item 10).
HISTORY_RISKS = (
    ("opioid-overdose", "prior opioid overdose"),
    ("drug-overdose", "prior drug overdose"),
    ("opioid-use-disorder", "opioid use disorder"),
    ("drug-use-disorder", "drug use disorder"),
    ("alcohol-use-disorder", "alcohol use disorder"),
)


def has_naloxone(record: PatientRecord, today: date) -> bool:
    for med in record.medications_in("naloxone", today, current=False):
        if med.status == "entered-in-error":
            continue
        if med.is_current(today):
            return True
        recent_order = med.start and (today - med.start).days <= NALOXONE_LOOKBACK_DAYS
        if med.resource_type == "MedicationRequest" and recent_order:
            return True
    return False


def risk_factors(record: PatientRecord, today: date, mme: MmeResult, facts: list | None = None) -> list[str]:
    """Overdose risk factors, each as the card names it; their facts are added to `facts` when given."""
    facts = [] if facts is None else facts
    risks = []
    if mme.total is not None and mme.total >= MME_RISK:  # a lower bound at or above 50 is truly at or above it
        risks.append(mme.said)
    benzos = current_benzodiazepines(record, today)
    facts += benzos
    risks += [f"benzodiazepine: {label}" for label in drug_labels(record, benzos, "benzodiazepine", today)]
    named: set[int] = set()  # a condition in two of these sets (F11.20) is named once
    for vs, label in HISTORY_RISKS:
        for c in record.conditions_in(vs, today, current=False):
            if id(c) not in named:
                named.add(id(c))
                facts.append(c)
                risks.append(condition_label(c, label))
    moud = [m for m in record.medications_in(MOUD, today) if not m.draft]
    facts += moud  # a current treatment of opioid use disorder is a use-disorder finding (0.10 item 5)
    risks += [f"opioid use disorder treatment: {label}" for label in drug_labels(record, moud, "MOUD", today)]
    sleep = record.conditions_in("sleep-disordered-breathing", today, current=True)
    facts += sleep
    risks += [condition_label(c, "sleep apnea") for c in sleep]
    return list(dict.fromkeys(r for r in risks if r))


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card with a suggestion to prescribe naloxone, or None (no opioid, no risk, naloxone on record)."""
    if episode(record, today) is None or exclusion(record, today) or not current_opioids(record, today):
        return None
    mme = daily_mme(record, today)
    facts: list = []
    risks = risk_factors(record, today, mme, facts)
    if not risks or has_naloxone(record, today):
        return None
    detail = (
        "No naloxone is on record, and overdose risk is raised:\n"
        + "\n".join(f"- {r}" for r in risks)
        + "\n\nOffer naloxone and teach the patient and household how to use it."
    )
    # The order dispenses dispenseRequest.quantity 2 sprays, the usual carton of two single-dose 4 mg devices: one
    # for the first dose and one to repeat in the other nostril if the patient does not respond (the sig). Sprays, not
    # "1 package": the dose's own unit, so the quantity reads without a package size that an RxNorm SCD does not fix.
    # No days' supply: a rescue drug is kept until it is used or expires.
    order = draft_medication_request(record.kb, "naloxone-nasal-4mg", record.patient_id, today)
    label = f"Prescribe {record.kb.activities['naloxone-nasal-4mg']['title']}"
    suggestion = create(label, order, "Create a draft naloxone order", recommended=True)
    return Card(
        TOPIC,
        Indicator.WARNING,
        "Offer naloxone: opioid with overdose risk factors",
        detail,
        suggestions=(suggestion,),
        override_reasons=COMMON_OVERRIDES,
        mme=mme.total,
        mme_lower_bound=mme.lower_bound,
        evidence=(opioid_evidence(record, today), facts),
    )
