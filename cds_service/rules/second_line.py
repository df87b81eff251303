"""second-line: options for acute back pain that does not improve in 1-2 weeks (clinical reference 7.1)."""

from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._already import already_on
from ._episode import Category, episode

TOPIC = "second-line"
BEERS_AGE = 65


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card for acute back pain (< 28 days); None otherwise or when duration is unknown."""
    ep = episode(record, today)
    if ep is None or ep.category is not Category.ACUTE:
        return None
    lines = [
        f"Back pain: {ep.evidence} (acute).",
        "",
        "If there is no improvement after 1-2 weeks:",
        "- superficial heat, massage, acupuncture, or spinal manipulation by a trained clinician;",
    ]
    relaxant = already_on(record, "muscle-relaxants", "muscle relaxant", today)
    if relaxant:  # named as taken, not suggested (0.10 item 14)
        lines.append(f"- already on a muscle relaxant: {relaxant}; keep it time-limited (all are sedating).")
    else:
        lines.append("- a time-limited skeletal muscle relaxant (all are sedating; none is better than another).")
    age = record.age(today)
    if age is not None and age >= BEERS_AGE:
        lines.append(f"- At age {age}, muscle relaxants are potentially inappropriate (Beers criteria).")
    return Card(
        TOPIC,
        Indicator.INFO,
        "Acute back pain: second-line options if no better in 1-2 weeks",
        "\n".join(lines),
        evidence=(ep,),
    )
