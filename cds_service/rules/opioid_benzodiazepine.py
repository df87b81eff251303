"""opioid-benzodiazepine: critical for an opioid together with a benzodiazepine (clinical reference 5.6)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import episode
from ._mme import daily_mme
from ._names import drug_labels
from ._opioids import current_benzodiazepines, current_opioids, exclusion, opioid_evidence

TOPIC = "opioid-benzodiazepine"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card when a current opioid and a current benzodiazepine coexist, unless excluded (5.1)."""
    if episode(record, today) is None or exclusion(record, today):
        return None
    opioids = current_opioids(record, today)
    benzos = current_benzodiazepines(record, today)
    if not opioids or not benzos:
        return None
    detail = (
        f"Opioid: {', '.join(drug_labels(record, opioids, 'opioid', today))}.\n"
        f"Benzodiazepine: {', '.join(drug_labels(record, benzos, 'benzodiazepine', today))}.\n\n"
        "Together they raise the risk of fatal respiratory depression (FDA boxed warning). Avoid co-"
        "prescribing; if both are needed, taper one (usually the benzodiazepine, gradually) and offer "
        "naloxone."
    )
    mme = daily_mme(record, today)
    return Card(
        TOPIC,
        Indicator.CRITICAL,
        "Opioid with a benzodiazepine: overdose risk",
        detail,
        override_reasons=COMMON_OVERRIDES,
        mme=mme.total,
        mme_lower_bound=mme.lower_bound,
        evidence=(opioid_evidence(record, today), benzos),
    )
