"""NSAID risk status, computed once per evaluation: ok, caution or contraindicated (clinical reference 4.1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from ..record.patient_record import AllergyFact, ConditionFact, MedicationFact, PatientRecord
from ..record.per_call import per_call
from ._markdown import escape
from ._names import condition_label, drug_labels

EGFR_SEVERE_BELOW = 30  # Beers 2023 / KDIGO: avoid NSAIDs below 30 mL/min/1.73 m2
EGFR_CAUTION_BELOW = 60  # KDIGO: no prolonged NSAID therapy below 60
LAB_LOOKBACK_DAYS = 365
PREGNANCY_LOOKBACK_DAYS = 42 * 7  # [PMS] 42-week pregnancy lookback
CAUTION_AGE = 65


class Level(enum.Enum):
    OK = "ok"
    CAUTION = "caution"
    CONTRAINDICATED = "contraindicated"


@dataclass(frozen=True)
class NsaidStatus:
    level: Level
    reasons: tuple[str, ...]  # contraindications, each naming its evidence (card markdown, chart text escaped)
    cautions: tuple[str, ...]
    gi_risk: bool = False  # a caution for which the card advises a proton-pump inhibitor (0.10 item 15)
    evidence: tuple[Any, ...] = ()  # the entries behind the reasons and cautions (facts, `cite` takes them)
    kidney: str = ""  # eGFR below 30 or CKD 4-5, as the reason names it: Beers 2023 also limits duloxetine, tramadol
    kidney_evidence: tuple[Any, ...] = ()  # the entries `kidney` names (a card that says it cites them)


def _named(record: PatientRecord, items: list, what: str, today: date) -> str:
    """Conditions and drugs as every card names them, each with its date (0.9): "Heart failure (onset 2019-04-02)",
    "apixaban 5 MG Oral Tablet (last ordered 2026-10-01)"."""
    conditions = [condition_label(i, what) for i in items if isinstance(i, ConditionFact)]
    drugs = drug_labels(record, [i for i in items if isinstance(i, MedicationFact)], what, today)
    return ", ".join(sorted(dict.fromkeys([*conditions, *drugs])))


def _status(record: PatientRecord, today: date) -> NsaidStatus:
    reasons: list[str] = []
    cautions: list[str] = []
    facts: list = []

    def named(items: list, what: str) -> str:
        facts.extend(items)
        return _named(record, items, what, today)

    egfr = record.latest("egfr", today, LAB_LOOKBACK_DAYS, numeric=True)
    if egfr and cast(float, egfr.value) < EGFR_CAUTION_BELOW:  # numeric=True: a number
        facts.append(egfr)
    kidney_reasons: list[str] = []  # severe kidney impairment: a contraindication, and it limits other drugs
    kidney_facts: list[Any] = []
    if egfr and cast(float, egfr.value) < EGFR_SEVERE_BELOW:
        kidney_reasons.append(f"eGFR {egfr.value:g} on {egfr.when} (below {EGFR_SEVERE_BELOW})")
        kidney_facts.append(egfr)
    if kidney := record.conditions_in("severe-kidney-disease", today, current=True):
        kidney_reasons.append(f"severe kidney disease: {named(kidney, 'CKD 4-5')}")
        kidney_facts += kidney
    reasons += kidney_reasons
    if gi := record.conditions_in("gi-bleed-ulcer", today, current=False):
        reasons.append(f"history of peptic ulcer or GI bleeding: {named(gi, 'ulcer')}")
    if hf := record.conditions_in("heart-failure", today, current=True):
        reasons.append(f"heart failure: {named(hf, 'heart failure')}")
    anticoag = record.medications_in("anticoagulants", today) + record.conditions_in(
        "anticoagulant-use", today, current=True
    )
    if anticoag:
        reasons.append(f"anticoagulant: {named(anticoag, 'anticoagulant')}")
    antiplatelet = record.medications_in("p2y12-antiplatelets", today) + record.conditions_in(
        "antiplatelet-use", today, current=True
    )
    if antiplatelet:
        reasons.append(f"P2Y12 antiplatelet: {named(antiplatelet, 'antiplatelet')}")
    if pregnancy := _pregnancy(record, today, facts):
        reasons.append(pregnancy)
    if allergies := _nsaid_allergies(record):  # named as the chart names them, with their dates (0.9)
        facts.extend(a for a, _ in allergies)
        reasons.append("NSAID or aspirin allergy: " + ", ".join(sorted({label for _, label in allergies})))

    age = record.age(today)
    if age is not None and age >= CAUTION_AGE:
        facts.append(f"Patient/{record.patient_id}")
        cautions.append(f"age {age} (Beers: avoid chronic use; consider a proton-pump inhibitor)")
    if egfr and EGFR_SEVERE_BELOW <= cast(float, egfr.value) < EGFR_CAUTION_BELOW:
        cautions.append(f"eGFR {egfr.value:g} on {egfr.when}")
    elif ckd3 := record.conditions_in("ckd-stage-3", today, current=True):
        cautions.append(f"{named(ckd3, 'CKD stage 3')}")
    if cvd := record.conditions_in("cardiovascular-disease", today, current=False):
        cautions.append(f"cardiovascular disease: {named(cvd, 'cardiovascular disease')}")
    gi_risk = age is not None and age >= CAUTION_AGE
    for vs, label in (
        ("aspirin", "low-dose aspirin"),
        ("systemic-glucocorticoids", "systemic corticosteroid"),
        ("ssri-snri", "SSRI/SNRI"),
    ):
        if meds := record.medications_in(vs, today):  # named as every card names a drug (0.9)
            facts.extend(meds)
            cautions.append(f"{label}: {', '.join(drug_labels(record, meds, label, today))}")
            gi_risk = True  # bleeding risk with an NSAID: a proton-pump inhibitor beside it
    level = Level.CONTRAINDICATED if reasons else Level.CAUTION if cautions else Level.OK
    kidney_said = "; ".join(kidney_reasons)
    return NsaidStatus(level, tuple(reasons), tuple(cautions), gi_risk, tuple(facts), kidney_said, tuple(kidney_facts))


nsaid_status = per_call(_status)


def _nsaid_allergies(record: PatientRecord) -> list[tuple[AllergyFact, str]]:
    """The allergies to an NSAID or aspirin, each with its card label: "Aspirin (recorded 1996-12-27)"."""
    if not record.allergies:
        return []
    nsaids, aspirin = record.kb.vs("nsaids"), record.kb.vs("aspirin")
    found = []
    for a in record.allergies:
        is_aspirin = any(code in aspirin for code in a.codes)
        if is_aspirin or any(code in nsaids for code in a.codes):
            name = escape(a.display or ("aspirin" if is_aspirin else "NSAID"))
            when = f" (recorded {a.recorded})" if a.recorded else f" (onset {a.onset})" if a.onset else ""
            found.append((a, name + when))
    return found


def _pregnancy(record: PatientRecord, today: date, facts: list) -> str | None:
    if conditions := record.conditions_in("pregnancy", today, current=True):
        facts.extend(conditions)
        return f"pregnancy: {_named(record, conditions, 'pregnant', today)}"
    status = record.latest("pregnancy-status", today, PREGNANCY_LOOKBACK_DAYS)
    pregnant = record.kb.vs("pregnant-finding")
    if status and any(code in pregnant for code in status.value_codes):
        facts.append(status)
        return f"pregnancy status recorded on {status.when}"
    positive = record.kb.vs("positive-result")
    hcg = record.latest("hcg-test", today, PREGNANCY_LOOKBACK_DAYS)
    if hcg and any(code in positive for code in hcg.value_codes):
        facts.append(hcg)
        return f"positive pregnancy test on {hcg.when}"
    return None
