"""chronic-pain-options: nonpharmacologic and drug options for subacute and chronic back pain (reference 7.2)."""
from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._episode import Category, episode

TOPIC = "chronic-pain-options"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card from 28 days of back pain; None for acute or unknown duration."""
    ep = episode(record, today)
    if ep is None or ep.category not in (Category.SUBACUTE, Category.CHRONIC):
        return None
    lines = [f"Back pain: {ep.evidence} ({ep.category.value}).", "",
             "- Exercise therapy (individually tailored, supervised), CBT or progressive relaxation, "
             "mindfulness-based stress reduction, yoga, tai chi, acupuncture, massage, multidisciplinary "
             "rehabilitation."]
    if ep.category is Category.CHRONIC:
        lines.append("- Drugs if needed: an NSAID first; duloxetine or tramadol second-line (ACP 2017). Evidence "
                     "for tricyclics is inconsistent and SSRIs are not effective for back pain.")
    return Card(TOPIC, Indicator.INFO, f"{ep.category.value.capitalize()} back pain: exercise, CBT and other options",
                "\n".join(lines))
