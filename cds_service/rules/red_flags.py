"""red-flags: critical for cauda equina, new neurologic deficit, fever or spinal infection; warning for
cancer, infection or fracture risk factors (clinical reference section 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import ConditionFact, MedicationFact, ObservationFact, PatientRecord
from ._episode import Episode, episode
from ._markdown import escape
from ._names import drug_labels
from ._wording import day

TOPIC = "red-flags"
NEW_FINDING_DAYS_BEFORE_ONSET = 30  # "new" = recorded no earlier than 30 days before episode onset
FEVER_CELSIUS = 38.0
FEVER_LOOKBACK_DAYS = 7
WEIGHT_LOSS_DAYS = 183  # onset within 6 months
DRUG_USE_DAYS = 365  # substance use disorder counts when active or recorded in the last 12 months
STEROID_DAYS_NEEDED = 90  # CMS166: >= 90 days of systemic corticosteroids in 12 months
TRAUMA_DAYS_BEFORE_ONSET = 90

TIER_A_NEW = (
    ("urinary-retention", "new urinary retention"),
    ("incontinence", "new incontinence"),
    ("saddle-anaesthesia", "new saddle anaesthesia"),
    ("motor-deficit", "new motor deficit"),
)


@dataclass(frozen=True)
class Finding:
    tier: Indicator
    text: str  # card markdown: chart text in it is escaped
    facts: tuple[ConditionFact | ObservationFact | MedicationFact, ...] = ()  # what it rests on (card evidence)


FAHRENHEIT = frozenset({"[degf]", "degf", "°f", "f"})  # units as sent, lower-cased
CELSIUS = frozenset({"cel", "c", "degc", "°c"})
MAX_BODY_CELSIUS = 45  # a body temperature in an unknown unit: Celsius up to here...
MAX_BODY_FAHRENHEIT = 113  # ... Fahrenheit up to here (45 °C), and no temperature above


def _temperature(temp: ObservationFact) -> tuple[float, str] | None:
    """(degrees Celsius, the reading as a clinician writes it: "38.6 °C", "101.5 °F (38.6 °C)", not the UCUM codes
    "Cel", "[degF]"); None when it cannot be read. No unit is Celsius; another unit (kelvin, a typo) is read as
    Celsius up to MAX_BODY_CELSIUS, then as Fahrenheit up to MAX_BODY_FAHRENHEIT, and not at all above (310 K is no
    fever)."""
    value, unit = temp.value, (temp.unit or "").lower()
    if value is None or not math.isfinite(value):
        return None
    if unit in FAHRENHEIT or (unit and unit not in CELSIUS and MAX_BODY_CELSIUS < value <= MAX_BODY_FAHRENHEIT):
        celsius = (value - 32) / 9 * 5  # not * 5 first: 1e308 °F would overflow to inf
        return celsius, f"{value:g} °F ({round(celsius, 1):g} °C)"
    if unit in CELSIUS:
        return value, f"{value:g} °C"
    if unit and value > MAX_BODY_CELSIUS:  # neither scale gives a body temperature
        return None
    return value, " ".join(part for part in (f"{value:g}", escape(temp.unit or "")) if part)


def _dated(c: ConditionFact) -> str:
    return (escape(c.display) or "condition") + (f" ({day(c.start)})" if c.start else "")


def findings(record: PatientRecord, ep: Episode, today: date) -> list[Finding]:
    """Every red flag in the record, Tier A (critical) and Tier B (warning); shared with imaging-overuse."""
    return record.once(_findings, ep, today)


def urgent(record: PatientRecord, today: date) -> bool:
    """A Tier A red flag: the card is critical, and advice to wait with conservative care would contradict its
    same-day work-up (0.10 item 13)."""
    ep = episode(record, today)
    return ep is not None and any(f.tier is Indicator.CRITICAL for f in findings(record, ep, today))


def _findings(record: PatientRecord, ep: Episode, today: date) -> list[Finding]:
    found: list[Finding] = []
    crit, warn = Indicator.CRITICAL, Indicator.WARNING

    def add(tier: Indicator, label: str, conditions: list[ConditionFact]) -> None:
        if conditions:
            found.extend(Finding(tier, f"{label}: {_dated(c)}", (c,)) for c in conditions)

    add(crit, "cauda equina syndrome", record.conditions_in("cauda-equina", today, current=True))
    new_from = ep.onset - timedelta(days=NEW_FINDING_DAYS_BEFORE_ONSET) if ep.onset else None
    for vs, label in TIER_A_NEW:  # long-standing findings (e.g. stress incontinence) must not fire critical
        add(
            crit,
            label,
            [
                c
                for c in record.conditions_in(vs, today, current=True)
                if c.start is None or new_from is None or c.start >= new_from
            ],
        )
    add(crit, "fever", record.conditions_in("fever", today, current=True))
    temp = record.latest("body-temperature", today, FEVER_LOOKBACK_DAYS)
    if temp and (read := _temperature(temp)) and read[0] >= FEVER_CELSIUS:
        found.append(Finding(crit, f"temperature {read[1]} on {temp.when}", (temp,)))
    add(crit, "spinal infection", record.conditions_in("spinal-infection", today, current=True))

    add(
        warn,
        "cancer",
        record.conditions_in("malignancy", today, current=False)
        + record.conditions_in("cancer-history", today, current=False),
    )
    add(
        warn,
        "unexplained weight loss",
        [
            c
            for c in record.conditions_in("weight-loss", today, current=True)
            if c.start is None or (today - c.start).days <= WEIGHT_LOSS_DAYS
        ],
    )
    add(warn, "immunosuppression", record.conditions_in("immunosuppression", today, current=False))
    add(
        warn,
        "injection or illicit drug use",
        [
            c
            for c in record.conditions_in("drug-use-disorder", today, current=False)
            if c.is_current(today) or (c.start is not None and (today - c.start).days <= DRUG_USE_DAYS)
        ],
    )
    add(warn, "osteoporosis", record.conditions_in("osteoporosis", today, current=False))
    add(warn, "long-term systemic steroids", record.conditions_in("long-term-steroids", today, current=True))
    steroid_days, steroids = _steroid_days(record, today)
    if steroid_days >= STEROID_DAYS_NEEDED:  # named with the drugs and their dates (0.10 item 9)
        names = "; ".join(drug_labels(record, steroids, "corticosteroid", today))
        found.append(
            Finding(
                warn,
                f"systemic corticosteroids for {steroid_days} days in the last 12 months: {names}",
                tuple(steroids),
            )
        )
    trauma_from = (ep.onset or today) - timedelta(days=TRAUMA_DAYS_BEFORE_ONSET)
    add(
        warn,
        "recent trauma or vertebral fracture",
        [
            c
            for c in record.conditions_in("spinal-trauma", today, current=False)
            if c.start is None or trauma_from <= c.start <= today
        ],
    )
    return found


def _steroid_days(record: PatientRecord, today: date) -> tuple[int, list[MedicationFact]]:
    """Days covered by systemic glucocorticoid use in the last 365 days (overlaps counted once), and the drugs."""
    window_start = today - timedelta(days=365)
    spans = []
    used = []
    for med in record.medications_in("systemic-glucocorticoids", today, current=False):
        if not med.means_use or med.start is None:
            continue
        end = med.end or (today if med.is_current(today) else med.start)
        start, end = max(med.start, window_start), min(end, today)
        if end >= start:
            used.append(med)
            spans.append((start, end))
    days, reached = 0, None  # the union of the spans, in order: each day once, without a set of up to 366 dates
    for start, end in sorted(spans):
        if reached is not None:
            if end <= reached:
                continue
            start = max(start, reached + timedelta(days=1))
        days += (end - start).days + 1
        reached = end
    return days, used


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card at the highest tier found, or None without red flags."""
    ep = episode(record, today)
    if ep is None:
        return None
    found = findings(record, ep, today)
    if not found:
        return None
    indicator = max(f.tier for f in found)
    tier_a = [f.text for f in found if f.tier is Indicator.CRITICAL]
    tier_b = [f.text for f in found if f.tier is Indicator.WARNING]
    if indicator is Indicator.CRITICAL:
        summary = "Back pain red flag: urgent same-day evaluation needed"
        advice = (
            "Evaluate today. Suspected cauda equina, progressive neurologic deficit or spinal infection needs "
            "emergency MRI and specialist referral; do not wait out a conservative trial."
        )
    else:
        summary = "Back pain with risk factors for cancer, infection or fracture"
        advice = (
            "These risk factors justify early work-up (imaging and labs as indicated) rather than routine "
            "conservative care alone."
        )
    detail = [f"Back pain: {ep.evidence}.", ""]
    if tier_a:
        detail += ["**Urgent findings:**", *[f"- {t}" for t in tier_a], ""]
    if tier_b:
        detail += ["**Risk factors:**", *[f"- {t}" for t in tier_b], ""]
    detail.append(advice)
    return Card(
        TOPIC,
        indicator,
        summary,
        "\n".join(detail),
        override_reasons=COMMON_OVERRIDES,
        evidence=(ep, [f.facts for f in found]),
    )
