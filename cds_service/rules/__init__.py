"""Clinical rules: pure functions of (record, hook context, evaluation date) -> cards; no I/O, no Flask.

`evaluate` applies the scope gate (clinical reference 0.6), then each family in `FAMILIES` in order; hospice care
and an urgent red flag narrow which families speak (0.10 items 12 and 13).
"""

from __future__ import annotations

from datetime import date

from ..cards import Card, Indicator
from ..hook_request import ORDER_HOOKS, HookContext
from ..record.patient_record import MedicationFact, OrderFact, PatientRecord
from . import (
    acetaminophen_alternative,
    chronic_pain_options,
    depression_screening,
    imaging_overuse,
    naloxone,
    not_recommended_treatment,
    nsaid_contraindicated,
    nsaid_first_line,
    opioid_benzodiazepine,
    opioid_high_dose,
    opioid_risk,
    radicular_pain,
    red_flags,
    second_line,
)
from ._acetaminophen import flag_total
from ._episode import episode
from ._goals import end_of_life_care
from ._opioids import is_moud

ADULT_AGE = 18

# Order hooks answer about the orders being written (clinical reference 0.7): a card is returned when it is critical,
# or when a draft of the hook call is in one of its family's value sets below. A family not listed is patient-view
# only; not-recommended-treatment lists only drafts at order hooks, so whatever card it makes is about them. A card
# of a patient-view family is shown too when it says it is about a draft (`Card.about_draft`): nsaid-first-line does
# for a drafted NSAID above the guideline's dose or beside an active NSAID (0.9).
DRAFTS_THAT_MATTER: dict[str, tuple[str, ...]] = {
    imaging_overuse.TOPIC: ("lumbar-imaging", "lumbar-mri"),
    red_flags.TOPIC: ("lumbar-imaging", "lumbar-mri"),  # red flags are what make imaging appropriate
    radicular_pain.TOPIC: ("gabapentinoids", "lumbar-mri"),
    opioid_risk.TOPIC: ("opioid-analgesics",),
    opioid_high_dose.TOPIC: ("opioid-analgesics",),
    opioid_benzodiazepine.TOPIC: ("opioid-analgesics", "benzodiazepines"),
    naloxone.TOPIC: ("opioid-analgesics", "benzodiazepines"),
    nsaid_contraindicated.TOPIC: ("nsaids",),
    acetaminophen_alternative.TOPIC: ("nsaids",),
}
ABOUT_DRAFTS_ONLY = frozenset({not_recommended_treatment.TOPIC})

FAMILIES = (
    red_flags,
    imaging_overuse,
    opioid_benzodiazepine,
    opioid_high_dose,
    opioid_risk,
    naloxone,
    nsaid_contraindicated,
    not_recommended_treatment,
    acetaminophen_alternative,
    nsaid_first_line,
    radicular_pain,
    depression_screening,
    second_line,
    chronic_pain_options,
)

# With an urgent (Tier A) red flag, advice to wait or to start conservative care contradicts the same-day work-up
# (0.10 item 13); imaging-overuse already stays silent beside any red flag. Drug-safety cards stay.
WAIT_AND_SEE = frozenset(
    {
        nsaid_first_line.TOPIC,
        second_line.TOPIC,
        chronic_pain_options.TOPIC,
        depression_screening.TOPIC,
        radicular_pain.TOPIC,
    }
)


def in_scope(record: PatientRecord, today: date) -> bool:
    """Living adults with back-pain context; a patient of unknown age is evaluated rather than silently skipped."""
    if record.is_deceased(today):
        return False
    age = record.age(today)
    if age is not None and age < ADULT_AGE:
        return False
    return episode(record, today) is not None


def _relevant_classes(draft: MedicationFact | OrderFact) -> frozenset[str]:
    """A MOUD draft (buprenorphine/naloxone...) is not an opioid analgesic draft: treating opioid use disorder is what
    the guideline wants, so it makes no opioid-family card relevant (0.10 item 5)."""
    if isinstance(draft, MedicationFact) and is_moud(draft):
        return draft.classes - {"opioid-analgesics"}
    return draft.classes


def evaluate(record: PatientRecord, context: HookContext, today: date) -> list[Card]:
    """Every card the record warrants, at most one per family, in family order; at an order hook only the critical
    ones and those a draft of this call is part of."""
    if not in_scope(record, today):
        return []
    if end_of_life_care(record, today):  # goals of care differ: only harm from an NSAID taken or ordered (item 12)
        card = nsaid_contraindicated.evaluate(record, context, today)
        return [card] if card is not None and card.indicator is Indicator.CRITICAL else []
    cards: list[Card] = []
    urgent = False
    for family in FAMILIES:  # red-flags comes first, so an urgent one is known before any advice is worked out
        if urgent and family.TOPIC in WAIT_AND_SEE:
            continue
        card = family.evaluate(record, context, today)
        if card is not None:
            cards.append(card)
            urgent = urgent or (card.topic == red_flags.TOPIC and card.indicator is Indicator.CRITICAL)
    cards = flag_total(record, cards, today)  # above its maximum, acetaminophen is named with its total (item 11)
    if context.hook not in ORDER_HOOKS:
        return cards
    drafted = drafted_classes(record)
    return [card for card in cards if card.indicator is Indicator.CRITICAL or concerns_a_draft(card, drafted)]


def drafted_classes(record: PatientRecord) -> set[str]:
    """The value sets the drafts of this call fall in (every draft counts, selected or not: 0.10 item 19)."""
    return {vs for draft in record.drafts() if record.is_in_focus(draft) for vs in _relevant_classes(draft)}


def concerns_a_draft(card: Card, drafted: set[str]) -> bool:
    """A draft of this call is part of the card's finding (0.7 (b)); the card policy never holds such a card back
    as a repeat (0.10 item 20)."""
    return (
        card.topic in ABOUT_DRAFTS_ONLY
        or card.about_draft
        or bool(drafted.intersection(DRAFTS_THAT_MATTER.get(card.topic, ())))
    )
