"""Per prefetch key: present, `null`, OperationOutcome or absent, and what each means (checklist section 3)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ..errors import BadHookRequest
from ..hook_request import HookRequest
from ..services import Service

_TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")
# Only FHIR ids may enter a query (hook_request.py checked their syntax); each is percent-encoded where it goes.
_CONTEXT_FIELDS = {"patientId": "patient_id", "encounterId": "encounter_id"}


class PrefetchState(enum.Enum):
    PRESENT = "present"  # a resource or searchset Bundle: use it
    EMPTY = "empty"  # null: the client ran the query and found nothing; do not re-query
    OUTCOME = "operation-outcome"  # the client's query failed: data missing, fetch it ourselves
    ABSENT = "absent"  # the client did not or could not run it: fetch it ourselves
    INVALID = "invalid"  # not a FHIR resource at all (a string, a list): treat as missing


# The members as module names: a member read through its Enum class costs some 750 instructions more than a global
# (Python 3.11), and every prefetch key of every call asks for two or three.
_PRESENT, _EMPTY, _OUTCOME, _ABSENT, _INVALID = (
    PrefetchState.PRESENT,
    PrefetchState.EMPTY,
    PrefetchState.OUTCOME,
    PrefetchState.ABSENT,
    PrefetchState.INVALID,
)


def value_of(prefetch: Mapping[str, Any], key: str) -> Any:
    """A prefetch value as sent; of one sent as a Bundle entry ({"response": ..., "resource": {...}}, as upstream CDC
    opioid guideline test requests do), its resource."""
    value = prefetch[key]
    if isinstance(value, dict) and "resourceType" not in value and isinstance(value.get("resource"), dict):
        return value["resource"]
    return value


def state_of(prefetch: Mapping[str, Any] | None, key: str) -> PrefetchState:
    if prefetch is None or key not in prefetch:
        return _ABSENT
    value = value_of(prefetch, key)
    if value is None:
        return _EMPTY
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return _INVALID
    if value["resourceType"] == "OperationOutcome":
        return _OUTCOME
    return _PRESENT


def fill_template(template: str, request: HookRequest) -> str | None:
    """The query with `{{context.x}}` tokens filled in, or None when a token has no value in this context."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        attr = _CONTEXT_FIELDS.get(match.group(1))
        found = getattr(request.context, attr) if attr else None
        if not found:
            missing = True
            return ""
        return quote(found, safe="")

    query = _TOKEN.sub(value, template)
    return None if missing else query


Fetcher = Callable[[HookRequest, dict[str, str]], dict[str, Any]]


def resolve(service: Service, request: HookRequest, fetch: Fetcher) -> tuple[dict[str, Any], list[str]]:
    """Return (key -> value for every template, keys that had to be fetched).

    Present and null keys are used as sent; absent, OperationOutcome and invalid keys are fetched from the
    EHR's FHIR server through `fetch`, which raises PrefetchUnavailable when it cannot get them.
    """
    values: dict[str, Any] = {}
    to_fetch: dict[str, str] = {}
    for key, template in service.prefetch.items():
        state = state_of(request.prefetch, key)
        if state is _PRESENT:
            values[key] = value_of(request.prefetch, key)  # type: ignore[arg-type]
            if template.startswith("Patient/") and values[key].get("id") != request.context.patient_id:
                raise BadHookRequest(
                    f"prefetch.{key} is a Patient with another id than context.patientId: every "
                    "card would be about the wrong person",
                    field=f"prefetch.{key}",
                )
        elif state is _EMPTY:
            values[key] = None
        else:
            query = fill_template(template, request)
            if query is not None:
                to_fetch[key] = query
    if to_fetch:
        values.update(fetch(request, to_fetch))
    return values, sorted(to_fetch)
