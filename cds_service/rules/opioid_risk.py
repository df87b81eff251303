"""opioid-risk: critical with opioid use disorder or overdose history, else warning for any current opioid
(clinical reference 5.3)."""

from __future__ import annotations

from datetime import date, timedelta

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import NOT_USE_STATUSES, MedicationFact, PatientRecord
from ._episode import Category, episode
from ._markdown import escape
from ._mme import daily_mme
from ._names import condition_label, drug_labels
from ._nsaid_status import LAB_LOOKBACK_DAYS, Level, nsaid_status
from ._opioids import LONG_TERM_DAYS, MOUD, current_opioids, exclusion, opioid_evidence, use_disorder_or_overdose
from ._therapy import Ingredients, covered_until, ingredients, therapy_start
from ._tramadol import above_label_maximum
from ._wording import day

TOPIC = "opioid-risk"
NAIVE_LOOKBACK_DAYS = 90
PHQ9_MODERATE = 10
OLDER_ADULT_AGE = 65


def _is_extended_release(record: PatientRecord, med: MedicationFact) -> bool:
    forms = {record.kb.products[c].form for c in med.rxnorm if c in record.kb.products}
    return any(f.endswith("-er") or f == "transdermal" for f in forms)


def _used_opioids_before(history: list[MedicationFact], start: date, today: date) -> bool:
    """Opioid use in the 90 days before `start`: a chart entry started before it whose use reaches into those days
    (5.3: never call a patient on continuous opioids opioid-naive)."""
    window = start - timedelta(days=NAIVE_LOOKBACK_DAYS)
    return any(m.start < start and covered_until(m, today) >= window for m in history)  # type: ignore[operator]


def _ingredient_name(record: PatientRecord, med: MedicationFact) -> str:
    """ "oxycodone", as the MME factors name it; the drug's own name when no factor names its ingredient."""
    names = [
        record.kb.mme_factors[i].name.split(" (")[0] for i in ingredients(record.kb, med) if i in record.kb.mme_factors
    ]
    return escape(" / ".join(names) or med.display or "opioid")


def _treatment(record: PatientRecord, moud: list[MedicationFact], today: date) -> str:
    """What to do about use disorder: offer treatment, or name `moud`, being ordered or taken (0.10 item 5)."""
    if drafted := [m for m in moud if m.draft]:
        named = ", ".join(drug_labels(record, drafted, "treatment of opioid use disorder", today))
        return f"Treatment being ordered now: {named}; offer naloxone and avoid escalating opioid analgesics."
    if moud:
        named = ", ".join(drug_labels(record, moud, "treatment of opioid use disorder", today))
        return (
            f"On treatment: {named}; plan any opioid analgesic with its prescriber, offer naloxone and avoid "
            "escalating opioid analgesics."
        )
    return (
        "Offer or arrange evidence-based treatment (buprenorphine or methadone) and naloxone; avoid escalating "
        "opioid analgesics."
    )


def talking_points(record: PatientRecord, opioids: list[MedicationFact], today: date) -> list[str]:
    """One story (0.10 item 8): long-term therapy (continuous use of an ingredient >= 91 days, named with its first
    date), or else a new opioid for acute pain and an ER/LA start in an opioid-naive patient; then risk factors."""
    long_term, starts = [], []
    one_per_drug: dict[Ingredients, MedicationFact] = {}  # renewals: one question each, the earliest order
    known: dict[tuple[str, ...], Ingredients] = {}  # ingredients by RxNorm codes: renewals repeat them
    for med in opioids[::-1]:  # a slice: mypyc 2.4.1 fails on reversed() here (an internal error)
        codes = med.rxnorm
        drug = known.get(codes) if codes else None
        if drug is None:
            drug = known[codes] = ingredients(record.kb, med)
        one_per_drug[drug] = med
    for med in one_per_drug.values():
        started = therapy_start(record, med, today) or today
        line = f"Long-term therapy: {_ingredient_name(record, med)} since {day(started)}"
        if (today - started).days >= LONG_TERM_DAYS and line not in long_term:
            long_term.append(line)
        starts.append((med, started))
    points = [f"{line}; reassess benefits and harms at least every 3 months." for line in long_term]
    ep = episode(record, today)
    if not long_term:  # the chart's opioid history is needed only here: long-term therapy is the common story
        history = [  # every chart opioid order or statement that means use (m.means_use, spelt out: renewals)
            m
            for m in record.medications_in("opioid-analgesics", today, current=False)
            if m.start and not m.draft and m.status not in NOT_USE_STATUSES
        ]
        first = {m.rxnorm: min(o.start for o in history if o.rxnorm == m.rxnorm) for m in history}  # type: ignore
        naive = []  # an ER/LA product being started: a draft, or its first order in the last 90 days
        for med in (m for m in opioids if _is_extended_release(record, m)):
            started = today if med.draft else (first.get(med.rxnorm) or med.start or today)
            if (today - started).days <= NAIVE_LOOKBACK_DAYS and not _used_opioids_before(history, started, today):
                naive.append(med)
        for name in dict.fromkeys(escape(med.display or "opioid") for med in naive):
            points.append(
                f"Extended-release/long-acting {name} started in an opioid-naive "
                "patient (no opioid in the 90 days before): not recommended (CDC 2022 Rec 3); start with "
                "immediate-release opioids if any."
            )
        if (
            ep
            and ep.category is Category.ACUTE
            and any(
                ep.onset and started >= ep.onset and not _used_opioids_before(history, started, today)
                for _, started in starts
            )
        ):
            points.append(
                f"New opioid for acute back pain: reserve for severe disabling pain not controlled by "
                f"{_first_line(record, today)}; immediate-release, lowest dose, a few days' supply."
            )
    risks = [condition_label(c, "depression") for c in record.conditions_in("depression", today, current=True)]
    phq9 = record.latest("phq9", today, LAB_LOOKBACK_DAYS)
    if phq9 and phq9.value is not None and phq9.value >= PHQ9_MODERATE:
        risks.append(f"PHQ-9 {phq9.value:g} on {phq9.when}")
    age = record.age(today)
    if age is not None and age >= OLDER_ADULT_AGE:
        risks.append(f"age {age}")
    for vs, name in (
        ("sleep-disordered-breathing", "sleep apnea"),
        ("severe-kidney-disease", "kidney disease"),
        ("liver-disease", "liver disease"),
    ):
        risks += [condition_label(c, name) for c in record.conditions_in(vs, today, current=True)]
    cns = record.medications_in("gabapentinoids", today) + record.medications_in("muscle-relaxants", today)
    risks += [f"{label}: CNS depressant" for label in drug_labels(record, cns, "CNS depressant", today)]
    if risks:
        points.append("Risk factors for opioid harm: " + "; ".join(sorted({r for r in risks if r})) + ".")
    return points


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card for any current opioid analgesic unless excluded (5.1); None otherwise. Cough and cold
    products alone are no "opioid therapy for back pain" (0.10 item 6); beside an analgesic they are named."""
    opioids = current_opioids(record, today)
    if episode(record, today) is None or exclusion(record, today):
        return None
    if all("opioid-cough-cold" in m.classes for m in opioids):
        return None
    facts: list = []
    disorder = use_disorder_or_overdose(record, today, facts)
    moud = record.medications_in(MOUD, today) if disorder else []  # named below, so cited
    mme = daily_mme(record, today)
    paragraphs = [f"**Current opioids:**\n{mme.explain()}"]
    if disorder:
        paragraphs.append(
            "**Opioid use disorder or overdose on record:** "
            + "; ".join(disorder)
            + ".\n"  # escaped
            + _treatment(record, moud, today)
        )
    over = above_label_maximum(record, today)
    if points := ([over.text] if over else []) + talking_points(record, opioids, today):
        paragraphs.append("\n".join(f"- {p}" for p in points))
    paragraphs.append(
        "Opioids are third-line for back pain: use only for severe disabling pain not controlled by "
        f"{_first_line(record, today)}, with a monitoring plan; continue only with clear benefit."
    )
    indicator = Indicator.CRITICAL if disorder else Indicator.WARNING
    summary = (
        "Opioid with opioid use disorder or overdose history"
        if disorder
        else "Opioid therapy for back pain: review risks and plan"
    )
    return Card(
        TOPIC,
        indicator,
        summary,
        "\n\n".join(paragraphs),
        override_reasons=COMMON_OVERRIDES,
        mme=mme.total,
        mme_lower_bound=mme.lower_bound,
        evidence=(
            opioid_evidence(record, today),
            facts,
            over.evidence if over else (),
            moud,
        ),
    )


def _first_line(record: PatientRecord, today: date) -> str:
    """What opioids come after: NSAIDs, or other care where the NSAID card says to avoid them (4.1)."""
    return (
        "other care (NSAIDs are contraindicated)"
        if nsaid_status(record, today).level is Level.CONTRAINDICATED
        else "NSAIDs"
    )
