"""nsaid-contraindicated: critical when an NSAID is drafted or active despite a contraindication, else warning
(clinical reference 4.1-4.2)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, Action, Card, Indicator, Suggestion
from ..hook_request import HookContext
from ..record.patient_record import PatientRecord
from ._acetaminophen import AcetaminophenTotal, acetaminophen_total
from ._episode import episode
from ._names import drug_labels
from ._nsaid_drafts import drafted_nsaids, replaceable_nsaid_drafts
from ._nsaid_status import Level, nsaid_status
from ._orders import draft_medication_request
from .acetaminophen_alternative import daily_cap

TOPIC = "nsaid-contraindicated"


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return the card when NSAID status is contraindicated; None otherwise."""
    ep = episode(record, today)
    status = nsaid_status(record, today)
    if ep is None or status.level is not Level.CONTRAINDICATED:
        return None
    nsaids = record.medications_in("nsaids", today)
    lines = ["**NSAIDs are contraindicated:**", *[f"- {r}" for r in status.reasons]]
    suggestions: list[Suggestion] = []
    cap, _ = daily_cap(record, today)
    taken = acetaminophen_total(record, today)
    enough = bool(taken.products) and taken.mg >= cap  # no more acetaminophen: the other card says so (0.10 item 11)
    if nsaids:
        lines.append(
            "\nNSAID in play: "
            + ", ".join(drug_labels(record, nsaids, "NSAID", today, lambda m: "draft order" if m.draft else "active"))
            + "."
        )
        for drafted in drafted_nsaids(record, today):
            lines += drafted.findings()  # its name and dose are in the line above
        for med in replaceable_nsaid_drafts(record, today):
            remove = Action("delete", "Remove the NSAID draft order", resource_id=med.reference)
            if taken.products:  # a replacement for the whole maximum beside what is taken would pass it
                suggestions.append(
                    Suggestion(
                        f"Remove {med.display or 'the NSAID'} (acetaminophen already {_taken(taken)})",
                        (remove,),
                        is_recommended=True if len(nsaids) == 1 else None,
                    )
                )
                continue
            replacement = draft_medication_request(
                record.kb, "acetaminophen-500", record.patient_id, today, max_mg_per_day=cap
            )
            suggestions.append(
                Suggestion(
                    f"Replace {med.display or 'the NSAID'} with acetaminophen (max {cap:,} mg/day)",
                    (remove, Action("create", "Create a draft acetaminophen order", resource=replacement)),
                    is_recommended=True if len(nsaids) == 1 else None,
                )
            )
    if enough:
        where = "at or above" if taken.unread else "at" if taken.mg == cap else "above"
        lines.append(
            f"\nAcetaminophen is already {_taken(taken)}, {where} its {cap:,} mg/day maximum here: use "
            "nonpharmacologic care."
        )
    else:
        lines.append("\nUse acetaminophen within its daily maximum, or nonpharmacologic care, instead.")
    indicator = Indicator.CRITICAL if nsaids else Indicator.WARNING
    summary = "NSAID ordered despite a contraindication" if nsaids else "Avoid NSAIDs for this patient"
    return Card(
        TOPIC,
        indicator,
        summary,
        "\n".join(lines),
        suggestions=tuple(suggestions),
        override_reasons=COMMON_OVERRIDES,
        evidence=(ep, status.evidence, nsaids),
    )


def _taken(taken: AcetaminophenTotal) -> str:
    """ "at 2,000 mg/day", "at least 3,000 mg/day" (a dose unread), "taken, dose not recorded" (none read)."""
    if len(taken.unread) == len(taken.products):
        return "taken, dose not recorded"
    return f"{'at least' if taken.unread else 'at'} {taken.mg:,g} mg/day"
