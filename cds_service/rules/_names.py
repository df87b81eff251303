"""How cards name medications: each drug once, with its count of orders and when it was last ordered (0.9).

Records keep renewals active (Brenda Jackson's has eleven active orders of one oxycodone product); listing each
would bury the card's point under repeated lines. An active order last written more than 12 months ago still counts
(the chart says active) but the card asks whether the patient still takes it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from ..record import MedicationFact
from ._wording import ago

STALE_AFTER_DAYS = 365


def _draft(med: MedicationFact) -> str:
    return "draft" if med.draft else ""


def drug_labels(meds: Iterable[MedicationFact], fallback: str, today: date,
                state: Callable[[MedicationFact], str] = _draft) -> list[str]:
    """One label per distinct (name, state), in first-seen order:
    "Chlordiazepoxide 25 MG Oral Tablet (11 orders, last ordered 2017-03-02, 9 years ago: still taking it?)"."""
    groups: dict[tuple[str, str], list[MedicationFact]] = {}
    for med in meds:
        groups.setdefault((med.display or fallback, state(med)), []).append(med)
    labels = []
    for (name, med_state), group in groups.items():
        notes = [med_state, f"{len(group)} orders" if len(group) > 1 else ""]
        dated = [m for m in group if m.start is not None and not m.draft]
        if dated:
            last = max(dated, key=lambda m: m.start)  # type: ignore[arg-type, return-value]
            verb = "ordered" if last.resource_type == "MedicationRequest" else "recorded"
            days = (today - last.start).days  # type: ignore[operator]
            stale = (last.resource_type == "MedicationRequest" and last.status == "active"
                     and days > STALE_AFTER_DAYS)
            notes.append(f"last {verb} {last.start}" + (f", {ago(days)}: still taking it?" if stale else ""))
        labels.append(f"{name} ({', '.join(n for n in notes if n)})" if any(notes) else name)
    return labels
