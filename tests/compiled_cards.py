"""Every answer our pipeline gives for the shared charts and the demo patients, as one JSON document: patient-view,
and order-sign for some of the chart's own orders and three drafts of ours (an opioid, a benzodiazepine, an
NSAID), each on two days (a demo patient on its own date too). tests/test_compiled.py makes it twice, from the
source and from the compiled build.

Run as `python -m tests.compiled_cards` it prints the document; `cds_service` is whichever sys.path finds first."""

from __future__ import annotations

import copy
import re
import sys
from datetime import date
from typing import Any

import orjson

from cds_service.config import Settings
from cds_service.pipeline import Runtime, run
from cds_service.web.preview import demo_bundle, demo_index
from tests.fhir_builders import dosage, med_request
from tests.shared_data import FHIR_DATA, patient_files, read_json, request_for, resources_of

DRAFTS = ("1049593", "1010600", "197806")  # oxycodone 5 mg (an opioid), alprazolam (a benzodiazepine), ibuprofen
DAYS = (date(2026, 11, 27), date(2023, 9, 1))
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _without_uuids(value: Any) -> Any:
    """Card uuids are new on every call: everything else must match."""
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if not (isinstance(v, str) and _UUID.fullmatch(v))}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def drafted(code: str, patient: str) -> dict[str, Any]:
    """One tablet twice a day of `code`, drafted for this chart's patient."""
    order = med_request(code, dose=dosage(1, "tablet", frequency=2), status="draft", rid=f"draft-{code}")
    return dict(order, subject={"reference": f"Patient/{patient}"})


def _charts() -> list[tuple[str, list[dict[str, Any]], list[date]]]:
    charts = [(p.name, resources_of(read_json(p)), list(DAYS)) for p in patient_files()] if FHIR_DATA.is_dir() else []
    for entry in demo_index():
        resources = resources_of(demo_bundle(entry["id"]))
        charts.append((f"demo {entry['id']}", resources, [date.fromisoformat(entry["asOf"]), *DAYS]))
    return charts


def answers() -> dict[str, Any]:
    runtime = Runtime.create(Settings.from_env({}))
    out: dict[str, Any] = {}
    for name, resources, days in _charts():
        patient = next((r["id"] for r in resources if r.get("resourceType") == "Patient"), None)
        if patient is None:
            continue
        own = [
            r for r in resources if r.get("resourceType") == "MedicationRequest" and r.get("medicationCodeableConcept")
        ]
        drafts = [dict(copy.deepcopy(r), id=f"own-{i}", status="draft") for i, r in enumerate(own[:3])]
        calls = [("patient-view", None)] + [("order-sign", d) for d in drafts + [drafted(c, patient) for c in DRAFTS]]
        for hook, draft in calls:
            body = request_for(resources, hook, [draft] if draft else [])
            service = "backpain-patient-view" if hook == "patient-view" else "backpain-order-sign"
            for day in days:
                key = f"{name} | {hook} {draft['id'] if draft else ''} | {day}"
                out[key] = _without_uuids(run(runtime, service, body, day))
    return out


if __name__ == "__main__":
    import cds_service.rules.red_flags as compiled_or_not

    sys.stdout.buffer.write(orjson.dumps({"module": compiled_or_not.__file__, "answers": answers()}))
