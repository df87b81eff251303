"""nsaid-first-line: NSAID with advice to stay active when NSAIDs are safe (clinical reference 4.2)."""
from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import HookContext
from ..record import PatientRecord
from ._episode import episode
from ._nsaid_status import Level, nsaid_status
from ._orders import create, draft_medication_request

TOPIC = "nsaid-first-line"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card when NSAID status is ok or caution; None when contraindicated."""
    ep = episode(record, today)
    status = nsaid_status(record, today)
    if ep is None or status.level is Level.CONTRAINDICATED:
        return None
    lines = [f"Back pain: {ep.evidence}. No NSAID contraindication is recorded.", "",
             "- Stay active and avoid bed rest; superficial heat and reassurance help.",
             "- If a drug is wanted: ibuprofen 400 mg every 4-6 h with food (max 3,200 mg/day; no added benefit "
             "above 400 mg a dose) or naproxen 250-500 mg twice daily, lowest dose for the shortest time."]
    if status.level is Level.CAUTION:
        lines += ["", "**Use with caution** (lowest dose, shortest course, consider a proton-pump inhibitor):",
                  *[f"- {c}" for c in status.cautions]]
    suggestions = ()
    if not record.medications_in("nsaids", today):
        order = draft_medication_request(record.kb, "ibuprofen-400", record.patient_id, today)
        suggestions = (create("Order ibuprofen 400 mg as needed (max 3,200 mg/day)", order,
                              "Create a draft ibuprofen 400 mg order"),)
    summary = "First line: NSAID plus staying active" + (" (with cautions)" if status.cautions else "")
    return Card(TOPIC, Indicator.INFO, summary, "\n".join(lines), suggestions=suggestions)
