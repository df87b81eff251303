"""opioid-risk: critical with opioid use disorder or overdose history, else warning for any current opioid
(clinical reference 5.3)."""
from __future__ import annotations

from datetime import date, timedelta

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import MedicationFact, PatientRecord
from ._episode import Category, episode
from ._markdown import escape
from ._mme import above_label_maximum, daily_mme
from ._nsaid_status import LAB_LOOKBACK_DAYS
from ._opioids import LONG_TERM_DAYS, current_opioids, exclusion, use_disorder_or_overdose

TOPIC = "opioid-risk"
NAIVE_LOOKBACK_DAYS = 90
PHQ9_MODERATE = 10
OLDER_ADULT_AGE = 65


def _ingredients(record: PatientRecord, rxnorm: tuple[str, ...]) -> set[str]:
    kb = record.kb
    return {kb.products[c].ingredient if c in kb.products else c for c in rxnorm}


def _is_extended_release(record: PatientRecord, med: MedicationFact) -> bool:
    forms = {record.kb.products[c].form for c in med.rxnorm if c in record.kb.products}
    return any(f.endswith("-er") or f == "transdermal" for f in forms)


def _used_opioids_before(history: list[MedicationFact], start: date, today: date) -> bool:
    """Opioid use in the 90 days before `start`: an order started then, or one started earlier and still current
    or ended within those days (5.3: never call a patient on continuous opioids opioid-naive)."""
    window = start - timedelta(days=NAIVE_LOOKBACK_DAYS)
    for m in history:  # every one has a start (talking_points keeps only those)
        started = m.start
        assert started is not None
        if started < start and (started >= window or m.is_current(today) or (m.end is not None and m.end >= window)):
            return True
    return False


def talking_points(record: PatientRecord, opioids: list[MedicationFact], today: date) -> list[str]:
    """Long-term use, new opioid in acute pain, ER/LA start in an opioid-naive patient, and risk factors."""
    points = []
    history = [m for m in record.medications_in("opioid-analgesics", today, current=False)
               if m.start and m.means_use]  # every opioid order or statement that means use
    earliest: dict[tuple[str, ...], date] = {}  # first start per drug
    for m in history:
        if m.start < earliest.get(m.rxnorm, date.max):  # type: ignore[operator]
            earliest[m.rxnorm] = m.start  # type: ignore[assignment]
    ingredients = {rxnorm: _ingredients(record, rxnorm) for rxnorm in {*earliest, *(m.rxnorm for m in opioids)}}
    first_use: dict[str, date] = {}  # per opioid ingredient
    for rxnorm, start in earliest.items():
        for ingredient in ingredients[rxnorm]:
            first_use[ingredient] = min(first_use.get(ingredient, start), start)
    first_orders: dict[tuple[str, ...], MedicationFact] = {}  # one line per drug, not per renewal
    for med in sorted(opioids, key=lambda m: m.start or today):
        first_orders.setdefault(med.rxnorm or (med.display,), med)
    for med in first_orders.values():
        same = [first_use[i] for i in ingredients[med.rxnorm] if i in first_use]
        if med.start:
            same.append(med.start)
        if same and (today - min(same)).days >= LONG_TERM_DAYS:
            points.append(f"Long-term therapy: {escape(med.display)} since {min(same)}; reassess benefits and harms at "
                          "least every 3 months.")
        started = today if med.draft else earliest.get(med.rxnorm, med.start)  # this ER/LA drug's first order
        if (_is_extended_release(record, med) and started is not None
                and (today - started).days <= NAIVE_LOOKBACK_DAYS  # being started: a draft or a first order now
                and not _used_opioids_before(history, started, today)):
            points.append(f"Extended-release/long-acting {escape(med.display)} started in an opioid-naive patient (no "
                          "opioid in the 90 days before): not recommended (CDC 2022 Rec 3); start with "
                          "immediate-release opioids if any.")
    ep = episode(record, today)
    if ep and ep.category is Category.ACUTE and any(
            m.draft or (m.start and ep.onset and m.start >= ep.onset) for m in opioids):
        points.append("New opioid for acute back pain: reserve for severe disabling pain not controlled by "
                      "NSAIDs; immediate-release, lowest dose, a few days' supply.")
    risks = [escape(c.display) for c in record.conditions_in("depression", today, current=True)]
    phq9 = record.latest("phq9", today, LAB_LOOKBACK_DAYS)
    if phq9 and phq9.value is not None and phq9.value >= PHQ9_MODERATE:
        risks.append(f"PHQ-9 {phq9.value:g} on {phq9.when}")
    age = record.age(today)
    if age is not None and age >= OLDER_ADULT_AGE:
        risks.append(f"age {age}")
    for vs in ("sleep-disordered-breathing", "severe-kidney-disease", "liver-disease"):
        risks += [escape(c.display) for c in record.conditions_in(vs, today, current=True)]
    cns = record.medications_in("gabapentinoids", today) + record.medications_in("muscle-relaxants", today)
    risks += [f"{escape(m.display)} (CNS depressant)" for m in cns]
    if risks:
        points.append("Risk factors for opioid harm: " + "; ".join(sorted({r for r in risks if r})) + ".")
    return points


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card for any current opioid analgesic unless excluded (5.1); None otherwise."""
    opioids = current_opioids(record, today)
    if episode(record, today) is None or not opioids or exclusion(record, today):
        return None
    disorder = use_disorder_or_overdose(record, today)
    mme = daily_mme(record, today)
    lines = ["**Current opioids:**", mme.explain(), ""]
    if disorder:
        lines += ["**Opioid use disorder or overdose on record:** " + "; ".join(disorder)  # condition_label escapes + ".",
                  "Offer or arrange evidence-based treatment (buprenorphine or methadone) and naloxone; avoid "
                  "escalating opioid analgesics.", ""]
    over = above_label_maximum(record, today)
    lines += [f"- {p}" for p in ([over] if over else []) + talking_points(record, opioids, today)]
    lines += ["", "Opioids are third-line for back pain: use only for severe disabling pain not controlled by "
              "NSAIDs, with a monitoring plan; continue only with clear benefit."]
    indicator = Indicator.CRITICAL if disorder else Indicator.WARNING
    summary = ("Opioid with opioid use disorder or overdose history" if disorder
               else "Opioid therapy for back pain: review risks and plan")
    return Card(TOPIC, indicator, summary, "\n".join(lines), override_reasons=COMMON_OVERRIDES, mme=mme.total,
                mme_lower_bound=mme.lower_bound)
