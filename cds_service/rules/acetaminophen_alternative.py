"""acetaminophen-alternative: acetaminophen at a safe maximum when NSAIDs are contraindicated (reference 4.2)."""
from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import episode
from ._markdown import escape
from ._names import drug_labels
from ._nsaid_status import LAB_LOOKBACK_DAYS, Level, nsaid_status
from ._orders import create, draft_medication_request

TOPIC = "acetaminophen-alternative"
USUAL_MAX_MG = 3000  # summary 3,000-4,000 mg; 3,000 mg is also the limit at age >= 65
HEPATIC_MAX_MG = 2000  # AGS 2009: cut the maximum by 50-75 % with hepatic insufficiency or alcohol abuse
ALT_TIMES_UPPER_LIMIT = 3
ALT_LIMIT_WITHOUT_RANGE = 120  # U/L


def hepatic_risks(record: PatientRecord, today: date) -> list[str]:
    risks = [f"liver disease: {escape(c.display)}" for c in record.conditions_in("liver-disease", today, True)]
    risks += [f"alcohol dependence: {escape(c.display)}"
              for c in record.conditions_in("alcohol-dependence", today, True)]
    alt = record.latest("alt", today, LAB_LOOKBACK_DAYS)
    if alt and alt.value is not None:
        limit = ALT_TIMES_UPPER_LIMIT * alt.reference_high if alt.reference_high else ALT_LIMIT_WITHOUT_RANGE
        if alt.value > limit:
            unit = f" {escape(alt.unit)}" if alt.unit else ""
            risks.append(f"ALT {alt.value:g}{unit} on {alt.when} (above {limit:g})")
    return risks


def daily_cap(record: PatientRecord, today: date) -> tuple[int, list[str]]:
    """The acetaminophen daily maximum in mg and the hepatic risks that lowered it."""
    risks = hepatic_risks(record, today)
    return (HEPATIC_MAX_MG if risks else USUAL_MAX_MG), risks


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return warning (hepatic risk, 2,000 mg cap) or info (3,000 mg cap) when NSAIDs are contraindicated."""
    ep = episode(record, today)
    if ep is None or nsaid_status(record, today).level is not Level.CONTRAINDICATED:
        return None
    cap, risks = daily_cap(record, today)
    lines = [f"NSAIDs are contraindicated, so acetaminophen is the drug option: **max {cap:,} mg/day** from all "
             "sources."]
    if risks:
        lines += ["", "**Hepatic risk lowers the maximum:**", *[f"- {r}" for r in risks]]
    combos = [m for m in record.medications_in("acetaminophen", today)]
    if combos:
        lines += ["", "Count current acetaminophen-containing products toward the daily total: "
                  + ", ".join(drug_labels(record, combos, "acetaminophen product", today)) + "."]
    lines += ["", "Note: in ACP 2017, acetaminophen did not beat placebo for acute low back pain; pair it with "
              "staying active and heat."]
    text = f"1 tablet (500 mg) by mouth every 6 hours as needed; max {cap:,} mg/day from all sources"
    order = draft_medication_request(record.kb, "acetaminophen-500", record.patient_id, today,
                                     max_mg_per_day=cap, text=text)
    suggestion = create(f"Order acetaminophen 500 mg as needed (max {cap:,} mg/day)", order,
                        "Create a draft acetaminophen order")
    indicator = Indicator.WARNING if risks else Indicator.INFO
    summary = f"Acetaminophen instead of NSAIDs: max {cap:,} mg/day" + (" (hepatic risk)" if risks else "")
    return Card(TOPIC, indicator, summary, "\n".join(lines), suggestions=(suggestion,),
                override_reasons=COMMON_OVERRIDES if risks else ())
