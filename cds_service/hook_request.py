"""Posted JSON -> frozen `HookRequest`, or `BadHookRequest` naming the field; raw request dicts stop here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import BadHookRequest

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
# FHIR id syntax. Ids go into FHIR query URLs; "." and ".." match it but are path segments, so they are refused too.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class FhirAuthorization:
    """The EHR's bearer token for this request only; never logged, never stored (repr hides it)."""

    access_token: str
    token_type: str
    scope: str

    def __repr__(self) -> str:
        return f"FhirAuthorization(token_type={self.token_type!r}, scope={self.scope!r}, access_token=<hidden>)"


@dataclass(frozen=True)
class HookContext:
    """The hook's context: who, which patient, and for order hooks the draft orders and selections."""

    user_id: str
    patient_id: str
    encounter_id: str | None = None
    draft_orders: tuple[Any, ...] = ()  # the entries of context.draftOrders, as sent (the record builder reads them)
    selections: tuple[str, ...] = ()  # "Type/id" of the orders being chosen (order-select)
    hook: str = "patient-view"  # order hooks answer only about the orders being written (clinical reference 0.7)


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    context: HookContext
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] | None = None


def _string(obj: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadHookRequest(f"{where}{key} is required and must be a non-empty string", field=f"{where}{key}")
    return value


def _fhir_id(obj: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = _string(obj, key, where, required)
    if value is not None and (not _FHIR_ID.fullmatch(value) or value in (".", "..")):
        raise BadHookRequest(f"{where}{key} must be a FHIR id (1-64 of A-Z a-z 0-9 - .)", field=f"{where}{key}")
    return value


def _draft_entries(bundle: Any) -> tuple[Any, ...]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadHookRequest("context.draftOrders must be a FHIR Bundle", field="context.draftOrders")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BadHookRequest("context.draftOrders.entry must be an array", field="context.draftOrders.entry")
    # Every entry is kept: the record builder reads them as it reads prefetch Bundles, and reports what it cannot read
    # (half-filled drafts, which the sandbox sends while the user types, are skipped there too).
    return tuple(entries)


def parse_hook_request(body: Any, expected_hook: str) -> HookRequest:
    """Validate a decoded request body for a service of `expected_hook`; raise BadHookRequest naming the field."""
    if not isinstance(body, dict):
        raise BadHookRequest("the request body must be a JSON object", field="(body)")
    hook = _string(body, "hook", "")
    if hook != expected_hook:
        raise BadHookRequest(f"hook {hook!r} does not match this service's hook {expected_hook!r}", field="hook")
    hook_instance = _string(body, "hookInstance", "")
    context = body.get("context")
    if not isinstance(context, dict):
        raise BadHookRequest("context is required and must be an object", field="context")
    draft_orders: tuple[Any, ...] = ()
    selections: tuple[str, ...] = ()
    if hook in ORDER_HOOKS:
        if "draftOrders" not in context:
            raise BadHookRequest("context.draftOrders is required for order hooks", field="context.draftOrders")
        draft_orders = _draft_entries(context["draftOrders"])
    if hook == "order-select":
        raw = context.get("selections")
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            raise BadHookRequest("context.selections must be an array of 'Type/id' strings", field="context.selections")
        selections = tuple(raw)
    ctx = HookContext(
        user_id=_string(context, "userId", "context."),  # type: ignore[arg-type]
        patient_id=_fhir_id(context, "patientId", "context."),  # type: ignore[arg-type]
        encounter_id=_fhir_id(context, "encounterId", "context.", required=False),
        draft_orders=draft_orders,
        selections=selections,
        hook=hook,  # type: ignore[arg-type]
    )
    fhir_server = _string(body, "fhirServer", "", required=False)
    auth = body.get("fhirAuthorization")
    authorization = None
    if auth is not None:
        if not isinstance(auth, dict):
            raise BadHookRequest("fhirAuthorization must be an object", field="fhirAuthorization")
        if fhir_server is None:
            raise BadHookRequest("fhirServer is required when fhirAuthorization is present", field="fhirServer")
        token_type = auth.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise BadHookRequest("fhirAuthorization.token_type must be 'Bearer'", field="fhirAuthorization.token_type")
        scope = auth.get("scope") or ""  # absent or null: no scope
        if not isinstance(scope, str):
            raise BadHookRequest("fhirAuthorization.scope must be a string", field="fhirAuthorization.scope")
        authorization = FhirAuthorization(
            access_token=_string(auth, "access_token", "fhirAuthorization."),  # type: ignore[arg-type]
            token_type="Bearer",
            scope=scope,
        )
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise BadHookRequest("prefetch must be an object of key -> FHIR resource or null", field="prefetch")
    return HookRequest(hook, hook_instance, ctx, fhir_server, authorization, prefetch)  # type: ignore[arg-type]
