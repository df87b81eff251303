"""nsaid-first-line: NSAID with advice to stay active when NSAIDs are safe (clinical reference 4.2).

A patient-view card, except that a drafted NSAID above the guideline's dose or beside another active NSAID makes it a
warning about that draft, shown at order hooks too (0.9). A draft of the same product as a chart order renews it: no
duplicate (0.10 item 1)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Action, Card, Indicator, Suggestion
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._already import already_on, current, nsaid_doses
from ._episode import episode
from ._names import drug_labels
from ._nsaid_drafts import DraftedNsaid, drafted_nsaids
from ._nsaid_status import Level, NsaidStatus, nsaid_status
from ._orders import draft_medication_request

TOPIC = "nsaid-first-line"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return an info card when NSAID status is ok or caution; None when contraindicated."""
    ep = episode(record, today)
    status = nsaid_status(record, today)
    if ep is None or status.level is Level.CONTRAINDICATED:
        return None
    drafted = drafted_nsaids(record, today)
    concerns = [d for d in drafted if d.above_guideline or d.duplicates]
    taking = current(record, "nsaids", today)
    renewed = frozenset(id(m) for d in drafted for m in d.renewed)  # renewed now: the draft's own line names them
    lines = [line for d in concerns for line in (*d.lines(), "")]
    lines += [
        f"Back pain: {ep.evidence}. No NSAID contraindication is recorded.",
        "",
        "- Stay active and avoid bed rest; superficial heat and reassurance help.",
    ]
    # advice names what the patient takes and offers no second NSAID (0.10 item 14); not about the order a draft
    # of this call renews (0.10 item 1): the draft's line names it
    if still := [m for m in taking if id(m) not in renewed]:
        doses = "".join(f"; {d}" for d in nsaid_doses(record, still))
        lines.append(
            f"- Already on an NSAID: {already_on(record, 'nsaids', 'NSAID', today, renewed)}{doses}. Keep to the "
            "lowest dose for the shortest time; do not add a second NSAID."
        )
    elif not taking:
        lines.append(
            "- If a drug is wanted: ibuprofen 400 mg every 6 hours as needed with food (at most 4 a day, "
            "1,600 mg/day; no added benefit above 400 mg a dose) or naproxen 250-500 mg twice daily, lowest "
            "dose for the shortest time."
        )
    if status.level is Level.CAUTION:
        ppi = ", with a proton-pump inhibitor" if status.gi_risk else ""  # what the suggestion creates (item 15)
        if status.gi_risk and (taken := current(record, "omeprazole", today)):  # nor a second one (item 14)
            ppi += f": already on {', '.join(drug_labels(record, taken, 'omeprazole', today))}"
        lines += [
            "",
            f"**Use with caution** (lowest dose, shortest course{ppi}):",
            *[f"- {c}" for c in status.cautions],
        ]
    suggestions: tuple[Suggestion, ...] = ()
    if concerns:
        suggestions = tuple(_instead(record, d, today) for d in concerns if d.med.id)
    elif not record.medications_in("nsaids", today):  # nor beside a drafted one
        suggestions = (
            Suggestion(
                f"Order {_ibuprofen_label(record, status, today)}",
                _ibuprofen(record, status, today),
            ),
        )
    summary = (
        "Already on an NSAID: lowest dose, shortest course, stay active"
        if taking
        else "First line: NSAID plus staying active"
    ) + (" (with cautions)" if status.cautions else "")
    if concerns:
        duplicate = "Duplicate NSAID order" if any(d.duplicates for d in concerns) else "NSAID order"
        summary = duplicate + (" above the guideline dose" if any(d.above_guideline for d in concerns) else "")
    return Card(
        TOPIC,
        Indicator.WARNING if concerns else Indicator.INFO,
        summary,
        "\n".join(lines),
        suggestions=suggestions,
        override_reasons=COMMON_OVERRIDES if concerns else (),
        about_draft=bool(concerns),
        evidence=(
            ep,
            [d.med for d in concerns],
            status.evidence,
            [m for m in record.medications_in("nsaids", today) if not m.draft]
            if any(d.duplicates for d in concerns)
            else [m for d in concerns for m in d.renewed],  # the chart orders a renewal names
        ),
    )


def _instead(record: PatientRecord, drafted: DraftedNsaid, today: date) -> Suggestion:
    """Remove a duplicate draft; replace one above the guideline dose (a renewal too) by ibuprofen 400 mg."""
    name = drafted.med.display or "the NSAID draft"
    remove = Action("delete", "Remove the NSAID draft order", resource_id=drafted.med.reference)
    if drafted.duplicates:
        return Suggestion(f"Remove the duplicate {name} draft", (remove,))
    return Suggestion(
        f"Replace {name} by {_ibuprofen_label(record, nsaid_status(record, today), today)}",
        (remove, *_ibuprofen(record, nsaid_status(record, today), today)),
    )


def _title(record: PatientRecord, activity: str) -> str:
    return record.kb.activities[activity]["title"]


def _with_ppi(record: PatientRecord, status: NsaidStatus, today: date) -> bool:
    """Omeprazole goes with the ibuprofen order for a GI caution, unless the patient already takes it."""
    return status.gi_risk and not current(record, "omeprazole", today)


def _ibuprofen_label(record: PatientRecord, status: NsaidStatus, today: date) -> str:
    """What `_ibuprofen` orders, as a suggestion's label says it: omeprazole too with a GI caution."""
    ppi = f" with {_title(record, 'omeprazole-20')}" if _with_ppi(record, status, today) else ""
    return _title(record, "ibuprofen-400") + ppi


def _ibuprofen(record: PatientRecord, status: NsaidStatus, today: date) -> tuple[Action, ...]:
    """The ibuprofen order of the ActivityDefinition, and omeprazole beside it with a GI caution (0.10 item 15)."""
    orders = [("ibuprofen-400", "Create a draft ibuprofen 400 mg order")]
    if _with_ppi(record, status, today):
        orders.append(("omeprazole-20", "Create a draft omeprazole 20 mg order (GI protection with the NSAID)"))
    return tuple(
        Action("create", description, resource=draft_medication_request(record.kb, activity, record.patient_id, today))
        for activity, description in orders
    )
