"""chronic-pain-options: nonpharmacologic and drug options for subacute and chronic back pain (reference 7.2)."""

from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._already import already_on, current
from ._episode import Category, episode
from ._names import drug_labels
from ._nsaid_status import Level, nsaid_status
from ._opioids import opioid_evidence
from ._tramadol import tramadol_orders

TOPIC = "chronic-pain-options"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card from 28 days of back pain; None for acute or unknown duration."""
    ep = episode(record, today)
    if ep is None or ep.category not in (Category.SUBACUTE, Category.CHRONIC):
        return None
    lines = [
        f"Back pain: {ep.evidence} ({ep.category.value}).",
        "",
        "- Exercise therapy (individually tailored, supervised), CBT or progressive relaxation, "
        "mindfulness-based stress reduction, yoga, tai chi, acupuncture, massage, multidisciplinary "
        "rehabilitation.",
    ]
    facts: list = []
    if ep.category is Category.CHRONIC:
        advice, facts = drug_advice(record, today)
        lines += advice
    return Card(
        TOPIC,
        Indicator.INFO,
        f"{ep.category.value.capitalize()} back pain: exercise, CBT and other options",
        "\n".join(lines),
        # a shared citation first: cited as it is, the few others added to it; the opioid cards' opens with the
        # episode (this one: a call has one), which is then not named again
        evidence=(*facts,) if facts and getattr(facts[0], "head", None) is ep else (*facts, ep),
    )


def drug_advice(record: PatientRecord, today: date) -> tuple[list[str], list]:
    """ACP 2017 for chronic pain: an NSAID first (unless contraindicated, 4.1), then duloxetine or tramadol (with
    severe kidney impairment, Beers 2023: no duloxetine, tramadol reduced); a drug already taken is named as taken
    (0.10 item 14), and tramadol is not offered beside another opioid. Returns the lines and what they rest on."""
    nsaid = already_on(record, "nsaids", "NSAID", today)
    duloxetine = already_on(record, "duloxetine", "duloxetine", today)
    opioids = current(record, "opioid-analgesics", today)
    status = nsaid_status(record, today)
    kidney = status.kidney  # Beers 2023 kidney table: avoid duloxetine, reduce tramadol (immediate-release only)
    second = [] if duloxetine or kidney else ["duloxetine"]
    if not opioids:
        second.append("tramadol, immediate-release at a reduced dose" if kidney else "tramadol")
    if status.level is Level.CONTRAINDICATED:  # the NSAID card says why (4.1)
        taken = f"; already on {nsaid}" if nsaid else ""
        lines = [f"- NSAIDs are contraindicated for this patient (see the NSAID card){taken}."]
    elif nsaid:
        lines = [f"- First-line drug, an NSAID: already on {nsaid}."]
    else:
        lines = ["- Drugs if needed: an NSAID first."]
    if duloxetine:
        lines.append(f"- Second-line drug duloxetine: already on {duloxetine}.")
    if tramadol := tramadol_orders(record.kb, opioids):  # named as taken, not as an addition (item 14)
        lines.append(
            f"- Second-line drug tramadol: already on {', '.join(drug_labels(record, tramadol, 'tramadol', today))}."
        )
    drugs = {t.rxnorm for t in tramadol}
    if others := [m for m in opioids if m.rxnorm not in drugs] if tramadol else opioids:
        lines.append(
            f"- Already on an opioid: {', '.join(drug_labels(record, others, 'opioid', today))}"
            + ("." if tramadol else "; tramadol would add another opioid.")
        )
    if second:
        lines.append(f"- Second-line (ACP 2017): {' or '.join(second)}.")
    if kidney:
        lines.append(f"- Kidney function: {kidney}. Beers 2023 advises avoiding duloxetine and reducing tramadol.")
    lines.append("- Evidence for tricyclics is inconsistent and SSRIs are not effective for back pain.")
    named = [*current(record, "nsaids", today), *current(record, "duloxetine", today)]
    return lines, [
        opioid_evidence(record, today) if opioids else (),  # the opioid cards' citation (the episode's too), shared
        status.evidence if kidney or status.level is Level.CONTRAINDICATED else (),
        named,
    ]
