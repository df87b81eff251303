"""not-recommended-treatment: steroids, benzodiazepines, early antidepressants or antiseizure drugs, TENS and
traction started for this episode (clinical reference section 6)."""

from __future__ import annotations

from datetime import date

from ..cards import COMMON_OVERRIDES, SUMMARY_MAX, Card, Indicator, Suggestion
from ..hook_request import ORDER_HOOKS, HookContext
from ..record.patient_record import MedicationFact, OrderFact, PatientRecord
from ._episode import Category, Episode, episode
from ._markdown import escape
from ._names import drug_labels
from ._nsaid_status import Level, nsaid_status
from ._orders import delete
from ._therapy import therapy_start
from .red_flags import urgent

TOPIC = "not-recommended-treatment"
PENDING = frozenset({"active", "on-hold", "draft"})


def _for_episode(record: PatientRecord, ep: Episode, item: MedicationFact | OrderFact, today: date) -> bool:
    """Started for this back pain (0.10 item 18): ordered for it; else not when ordered for another condition
    (alprazolam for anxiety); else a draft, or a therapy (the run of its ingredient with no gap over 90 days) that
    started on or after the episode's onset: renewing a drug taken since before the back pain does not count."""
    reasons = record.kb.vs("low-back-pain"), record.kb.vs("radicular-back-pain")
    if any(code in vs for code in item.reason_codes for vs in reasons):
        return True
    refs = item.reason_references if isinstance(item, MedicationFact) else ()
    if refs and any(c.id and ref.endswith(f"Condition/{c.id}") for c in ep.conditions for ref in refs):
        return True
    if item.reason_codes or refs:  # a reason, and not back pain: the order is for that condition
        return False
    if item.draft:
        return True
    start = (therapy_start(record, item, today) or item.start) if isinstance(item, MedicationFact) else item.when
    return ep.onset is not None and start is not None and start >= ep.onset


class _Scope:
    """Which items the card names: chart entries at patient-view only; at an order hook, the drafts in focus (other
    drafts of an order-select are context only). A class, not nested functions: compiled, a nested function that
    calls another nested function keeps both in an environment object that they point back to, a reference cycle;
    theirs held the record, so each call's record and facts waited for the cyclic GC instead of being freed when the
    call ended."""

    def __init__(self, record: PatientRecord, ep: Episode, today: date, at_order_hook: bool) -> None:
        self.record, self.ep, self.today, self.at_order_hook = record, ep, today, at_order_hook

    def includes(self, item: MedicationFact | OrderFact) -> bool:
        if not item.draft:
            return not self.at_order_hook and _for_episode(self.record, self.ep, item, self.today)
        return self.record.is_in_focus(item) and _for_episode(self.record, self.ep, item, self.today)

    def meds(self, vs: str) -> list[MedicationFact]:
        return [m for m in self.record.medications_in(vs, self.today) if self.includes(m)]


def evaluate(record: PatientRecord, context: HookContext, today: date) -> Card | None:
    """Return one warning listing every not-recommended item, with a removal suggestion per draft; else None."""
    ep = episode(record, today)
    if ep is None:
        return None
    items: list[tuple[MedicationFact | OrderFact, str]] = []

    # at an order hook only the drafts: the chart's treatments are not repeated there
    scope = _Scope(record, ep, today, context.hook in ORDER_HOOKS)
    meds = scope.meds
    items += [
        (m, "systemic corticosteroids are no better than placebo for back pain, with or without sciatica")
        for m in meds("systemic-glucocorticoids")
    ]
    items += [
        (m, "benzodiazepines carry abuse and tolerance risks and are no better than muscle relaxants")
        for m in meds("benzodiazepines")
    ]
    if ep.category is Category.ACUTE:
        items += [(m, "antidepressants are not recommended for acute back pain") for m in meds("antidepressants")]
        if not ep.radicular:  # gabapentinoids stay an option with a radicular diagnosis (reference 7.3, 10.4)
            items += [
                (m, "antiseizure drugs are not recommended for acute axial back pain") for m in meds("gabapentinoids")
            ]
    orders = [
        o
        for o in record.orders_in("not-recommended-procedures", "ServiceRequest")
        if (o.draft or o.status in PENDING) and scope.includes(o)
    ]
    items += [(o, "TENS and traction have no proven benefit for back pain") for o in orders]
    if not items:
        return None
    lines = [f"Back pain: {ep.evidence}.", ""]
    suggestions: list[Suggestion] = []
    for item, why in items:  # a drug named as on every other card (0.10 item 9)
        name = (
            drug_labels(record, [item], "treatment", today)[0]
            if isinstance(item, MedicationFact)
            else f"{escape(item.display or 'treatment')} ({'draft order' if item.draft else 'current'})"
        )
        lines.append(f"- {name}: {why}.")
        if item.draft and item.id:
            suggestions.append(
                delete(f"Remove {item.display or 'this order'}", item.reference, "Remove the draft order")
            )
    if not urgent(record, today):  # beside a Tier A red flag, conservative care waits for its work-up (item 13)
        nsaids = "" if nsaid_status(record, today).level is Level.CONTRAINDICATED else " NSAIDs,"  # "Avoid NSAIDs"
        lines += [
            "",
            f"Prefer staying active, heat,{nsaids} and for persisting pain exercise therapy, spinal manipulation, "
            "acupuncture or CBT.",
        ]
    summary = "Not recommended for back pain: " + ", ".join(sorted({i.display or "treatment" for i, _ in items}))
    if len(summary) > SUMMARY_MAX:
        summary = f"{len(items)} treatment{'s' if len(items) > 1 else ''} not recommended for back pain"
    return Card(
        TOPIC,
        Indicator.WARNING,
        summary,
        "\n".join(lines),
        suggestions=tuple(suggestions),
        override_reasons=COMMON_OVERRIDES,
        evidence=(ep, [item for item, _ in items]),
    )
