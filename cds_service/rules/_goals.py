"""Goals of care: hospice, palliative or end-of-life care (clinical reference 5.1, 0.10 item 12)."""

from __future__ import annotations

from datetime import date

from ..record.patient_record import PatientRecord
from ..record.per_call import per_call

CARE_IN_PROGRESS = {"ServiceRequest": frozenset({"active"}), "Procedure": frozenset({"in-progress", "completed"})}


def _end_of_life_care(record: PatientRecord, today: date) -> bool:
    """An active hospice, palliative or terminal-care Condition, an active order for it, or such care under way."""
    if record.conditions_in("end-of-life-care", today, current=True):
        return True
    return any(
        order.status in CARE_IN_PROGRESS.get(order.resource_type, ()) for order in record.orders_in("end-of-life-care")
    )


end_of_life_care = per_call(_end_of_life_care)
