"""`run`: one hook call end to end. Web and CLI both come through here; read this file first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from . import rules
from .cards import Card, to_json
from .config import Settings
from .fhir.client import FhirClient
from .fhir.prefetch import resolve
from .hook_request import ORDER_HOOKS, HookContext, parse_hook_request
from .knowledge import Knowledge, load
from .record.builder import build_record
from .record.patient_record import PatientRecord
from .services import Registry

EXT_SKIPPED = "org.backpain-cds.skipped-resources"
EXT_SKIPPED_DETAIL = "org.backpain-cds.skipped"
EXT_FETCHED = "org.backpain-cds.fetched-prefetch"
EXT_LENIENT = "org.backpain-cds.leniently-read-resources"
EXT_AS_OF = "org.backpain-cds.evaluation-date"


class CardGate(Protocol):
    """The card policy (store/policy.py): which of the cards the rules made are returned."""

    def apply(
        self, service_id: str, context: HookContext, cards: Sequence[Card], about_draft: Sequence[bool]
    ) -> list[Card]: ...


@dataclass(frozen=True)
class Runtime:
    """What a hook call needs besides its request: settings, knowledge, services, FHIR client, and the card policy
    (the app sets it; `evaluate` from the command line runs without it)."""

    settings: Settings
    knowledge: Knowledge
    registry: Registry
    fhir: FhirClient
    gate: CardGate | None = None

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        knowledge = load()
        return cls(settings, knowledge, Registry(knowledge), FhirClient(settings))

    def today(self) -> date:
        """The evaluation date: BACKPAIN_CDS_AS_OF when set, else today."""
        return self.settings.as_of or date.today()


def run(runtime: Runtime, service_id: str, body: Any, today: date | None = None) -> dict[str, Any]:
    """Evaluate a decoded hook request for a service; raise a CdsError subclass on bad input or missing data."""
    service = runtime.registry.get(service_id)
    request = parse_hook_request(body, service.hook)
    values, fetched = resolve(service, request, runtime.fhir.fetch)
    today = today or runtime.today()
    record = build_record(runtime.knowledge, request.context, values.values(), today)
    cards = rules.evaluate(record, request.context, today)
    if runtime.gate is not None:  # the one place the card policy acts: after the rules, before serialisation
        drafted = rules.drafted_classes(record) if request.context.hook in ORDER_HOOKS else set()
        cards = runtime.gate.apply(
            service_id, request.context, cards, [rules.concerns_a_draft(card, drafted) for card in cards]
        )
    return respond([to_json(card, runtime.knowledge) for card in cards], record, fetched, today)


def respond(cards: list[dict[str, Any]], record: PatientRecord, fetched: list[str], today: date) -> dict[str, Any]:
    """The response body; its `extension` says what was skipped or fetched, so integrators can see it."""
    extension: dict[str, Any] = {EXT_AS_OF: today.isoformat()}
    if record.skipped:
        extension[EXT_SKIPPED] = len(record.skipped) + record.skipped_more
        extension[EXT_SKIPPED_DETAIL] = [
            {k: v for k, v in (("resourceType", s.resource_type), ("id", s.id), ("reason", s.reason)) if v}
            for s in record.skipped
        ]
    if record.lenient:
        extension[EXT_LENIENT] = record.lenient  # used without an invalid optional element
    if fetched:
        extension[EXT_FETCHED] = fetched
    return {"cards": cards, "extension": extension}
