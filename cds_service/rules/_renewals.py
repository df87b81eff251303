"""How a card names a draft that renews a chart order (clinical reference 0.10 item 1), alike on every card (0.9)."""

from __future__ import annotations

from ..record.patient_record import MedicationFact
from ._dosing import regimen
from ._markdown import escape
from ._steps import are_steps


def renewal_of(chart: MedicationFact, draft: MedicationFact) -> str:
    """ "renewal of oxycodone 10 MG ER (last ordered 2020-07-21)[, dose changed]". "Dose changed" only when both doses
    can be read and differ: each instruction's amount and timing, not its sig text, unit spelling or, for
    instructions taken together, their order."""
    when = f" (last ordered {chart.start})" if chart.start else ""
    before, after = _dose(chart), _dose(draft)
    changed = before is not None and after is not None and before != after
    return f"renewal of {escape(chart.display) or 'the chart order'}{when}{', dose changed' if changed else ''}"


def _dose(med: MedicationFact) -> tuple[tuple[float, str, float], ...] | None:
    raws = med.raw_dosages or ((med.raw_dosage,) if med.raw_dosage is not None else ())
    found = regimen(raws)
    if found is None or (len(raws) > 1 and are_steps(raws)):  # steps: their order is their meaning
        return found
    return tuple(sorted(found))  # instructions taken together (0.10 item 7): in any order, the same dose
