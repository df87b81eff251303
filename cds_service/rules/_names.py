"""How cards name medications: each drug once, with its count of orders when several are current.

Records keep renewals active (Brenda Jackson's has eleven active orders of one oxycodone product); listing each
would bury the card's point under repeated lines.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from ..record import MedicationFact


def _draft(med: MedicationFact) -> str:
    return "draft" if med.draft else ""


def drug_labels(meds: Iterable[MedicationFact], fallback: str,
                state: Callable[[MedicationFact], str] = _draft) -> list[str]:
    """One label per distinct (name, state), in first-seen order: "Oxycodone 10 MG Oral Capsule (11 orders)"."""
    counts = Counter([(med.display or fallback, state(med)) for med in meds])
    labels = []
    for (name, med_state), n in counts.items():
        notes = ", ".join(s for s in (med_state, f"{n} orders" if n > 1 else "") if s)
        labels.append(f"{name} ({notes})" if notes else name)
    return labels
