"""Reads the third-party FHIR data in ../shared/fhir-data and turns it into hook requests for our templates."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.fhir_builders import KEYS_BY_TYPE, bundle

FHIR_DATA = Path(__file__).resolve().parents[2] / "shared" / "fhir-data"
PATIENT_FOLDERS = (
    "ahrq-pain-mgmt-summary",
    "ahrq-cql-services",
    "smart-synthea-r4",
    "synthea-bulk-2025-per-patient",
    "inferno-uscore",
)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file; upstream CDC files carry a stray '}' that closes `prefetch` early, so collect `item*`."""
    text = path.read_text(encoding="utf-8")
    data, _ = json.JSONDecoder().raw_decode(text)
    stray = {k: data.pop(k) for k in list(data) if k.startswith("item")}
    if stray and isinstance(data.get("prefetch"), dict):
        data["prefetch"].update(stray)
    return data


def resources_of(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if "resourceType" not in value and isinstance(value.get("resource"), dict):  # a stray Bundle entry upstream
        return resources_of(value["resource"])
    if value.get("resourceType") == "Bundle":
        return [inner for entry in value.get("entry") or [] for inner in resources_of(entry.get("resource"))]
    return [value]


def patient_files() -> list[Path]:
    return sorted(p for folder in PATIENT_FOLDERS for p in (FHIR_DATA / folder).glob("*.json"))


def _template_codes() -> frozenset[tuple[str, str]]:
    """The system|code pairs our Observation template asks for (an EHR answers with only these)."""
    from cds_service.knowledge import load
    from cds_service.services import prefetch_templates

    query = prefetch_templates(load())["observations"]
    codes = next(p for p in query.split("?", 1)[1].split("&") if p.startswith("code=")).removeprefix("code=")
    return frozenset(tuple(c.split("|", 1)) for c in codes.split(","))  # type: ignore[misc]


def _asked_for(resource: dict[str, Any], codes: frozenset[tuple[str, str]]) -> bool:
    if resource.get("resourceType") != "Observation":
        return True
    codings = (resource.get("code") or {}).get("coding") or []
    return any((c.get("system"), c.get("code")) in codes for c in codings if isinstance(c, dict))


def request_for(
    resources: list[dict[str, Any]], hook: str = "patient-view", draft_orders: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A hook request whose prefetch answers our own discovery templates from these resources, as an EHR would
    (the Observation template's code filter applied)."""
    patient = next(r for r in resources if r.get("resourceType") == "Patient")
    codes = _template_codes()
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in set(KEYS_BY_TYPE.values())}
    for r in resources:
        if r.get("resourceType") in KEYS_BY_TYPE and _asked_for(r, codes):
            grouped[KEYS_BY_TYPE[r["resourceType"]]].append(r)
    prefetch: dict[str, Any] = {"patient": patient, **{k: bundle(v) for k, v in grouped.items()}}
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": patient.get("id", "unknown")}
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in draft_orders or []],
        }
    if hook == "order-select":
        context["selections"] = [f"{d['resourceType']}/{d.get('id')}" for d in draft_orders or []]
    return {"hookInstance": str(uuid.uuid4()), "hook": hook, "context": context, "prefetch": prefetch}
