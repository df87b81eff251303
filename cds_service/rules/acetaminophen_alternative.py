"""acetaminophen-alternative: acetaminophen at a safe maximum when NSAIDs are contraindicated (reference 4.2)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Card, Indicator, Suggestion
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._acetaminophen import acetaminophen_total, hepatic_risks
from ._episode import episode
from ._names import drug_labels
from ._nsaid_drafts import replaceable_nsaid_drafts
from ._nsaid_status import Level, nsaid_status
from ._orders import create, draft_medication_request, variant
from .red_flags import urgent

TOPIC = "acetaminophen-alternative"
USUAL_MAX_MG = 3000  # summary 3,000-4,000 mg; 3,000 mg is also the limit at age >= 65
HEPATIC_MAX_MG = 2000  # AGS 2009: cut the maximum by 50-75 % with hepatic insufficiency or alcohol abuse


def daily_cap(record: PatientRecord, today: date, facts: list | None = None) -> tuple[int, list[str]]:
    """The acetaminophen daily maximum in mg and the hepatic risks that lowered it (their facts into `facts`)."""
    risks = hepatic_risks(record, today, facts)
    return (HEPATIC_MAX_MG if risks else USUAL_MAX_MG), risks


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return warning (hepatic risk, 2,000 mg cap) or info (3,000 mg cap) when NSAIDs are contraindicated."""
    ep = episode(record, today)
    status = nsaid_status(record, today)
    if ep is None or status.level is not Level.CONTRAINDICATED:
        return None
    hepatic: list = []
    cap, risks = daily_cap(record, today, hepatic)
    taken = acetaminophen_total(record, today)
    enough = bool(taken.products) and taken.mg >= cap  # then no more acetaminophen is suggested (0.10 item 11)
    option = "; the acetaminophen maximum here is **" if enough else ", so acetaminophen is the drug option: **max "
    lines = [f"NSAIDs are contraindicated{option}{cap:,} mg/day** from all sources."]
    if risks:
        lines += ["", "**Hepatic risk lowers the maximum:**", *[f"- {r}" for r in risks]]
    if taken.products:
        named = ", ".join(drug_labels(record, taken.products, "acetaminophen product", today))
        taking = "taken or being ordered" if any(m.draft for m in taken.products) else "already taken"
        if len(taken.unread) == len(taken.products):
            lines += [
                "",
                f"Acetaminophen {taking}, to count toward the daily total: {named} (no structured dose).",
            ]
        else:
            at_least = "at least " if taken.unread else ""
            lines += [
                "",
                f"Acetaminophen {taking}, counted toward the daily total: {named}: {at_least}{taken.mg:,g} mg/day.",
            ]
        if taken.above:
            lines.append(taken.line(record, today))
        if enough and taken.mg > cap:  # to be lowered, not only not added to
            lines.append(
                f"That is above the {cap:,} mg/day advised here: bring acetaminophen from all products down to at "
                f"most {cap:,} mg/day and add none; nonpharmacologic care instead."
            )
        elif enough:
            lines.append(
                f"That is already the {cap:,} mg/day advised here: no more acetaminophen; nonpharmacologic care "
                "instead."
            )
        elif taken.unread:
            lines.append("Count its dose before adding acetaminophen.")
        elif any("opioid-analgesics" in m.classes for m in taken.products):  # more of it would be more opioid
            lines.append(
                f"Up to {cap - taken.mg:,g} mg/day more stays within the {cap:,} mg/day maximum, as plain "
                "acetaminophen: never by raising the opioid combination."
            )
        else:
            lines.append(
                f"Up to {cap - taken.mg:,g} mg/day more stays within the {cap:,} mg/day maximum: adjust the current "
                "order rather than adding another."
            )
    # no conservative care beside a Tier A red flag (item 13), nor "pair it" when no more acetaminophen is advised
    pair = "." if enough or urgent(record, today) else "; pair it with staying active and heat."
    lines += ["", f"Note: in ACP 2017, acetaminophen did not beat placebo for acute low back pain{pair}"]
    # the NSAID card replaces a drafted NSAID with acetaminophen: one order a response, not two of the maximum each
    replacing = bool(replaceable_nsaid_drafts(record, today))
    suggestions: tuple[Suggestion, ...] = ()
    if not taken.products and not replacing:  # nor beside acetaminophen already taken: together past the maximum
        # the order written for this maximum (3,000 or 2,000 mg/day), and its label what that order does (0.10 item 15)
        order = draft_medication_request(record.kb, "acetaminophen-500", record.patient_id, today, max_mg_per_day=cap)
        title = variant(record.kb, "acetaminophen-500", cap)["title"]
        suggestions = (create(f"Order {title}", order, "Create a draft acetaminophen order"),)
    indicator = Indicator.WARNING if risks or taken.above else Indicator.INFO
    summary = f"Acetaminophen instead of NSAIDs: max {cap:,} mg/day" + (" (hepatic risk)" if risks else "")
    if enough:
        summary = f"NSAIDs contraindicated; acetaminophen already at {taken.mg:,g} mg/day: no more"
    return Card(
        TOPIC,
        indicator,
        summary,
        "\n".join(lines),
        suggestions=suggestions,
        override_reasons=COMMON_OVERRIDES if risks or taken.above else (),
        evidence=(ep, status.evidence, hepatic, taken.products),
    )
