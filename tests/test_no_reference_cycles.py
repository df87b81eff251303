"""A hook call's objects are freed by reference counting when it ends: none of ours is left in a reference cycle.

A cycle that reaches the patient record keeps the record, its facts and the call's cards alive until the cyclic GC
next collects, and that collection then walks and frees them all. Compiled with mypyc, a nested function that calls
another nested function keeps both in an environment object that they point back to: a rule's did so, and held the
record (about 200 objects a call for Brenda Jackson's chart, collected at about 4 % of a call's CPU). Plain Python
makes no such cycle, so these fail only against the compiled build: tests/test_compiled.py runs them there.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from cds_service.pipeline import run
from cds_service.web.preview import demo_bundle, demo_index
from tests.compiled_cards import DRAFTS, drafted
from tests.shared_data import request_for, resources_of

DEMO = demo_index()


@contextmanager
def saved_garbage() -> Iterator[list[type]]:
    """The types of the objects the block left unreachable (in cycles), with the cyclic GC off meanwhile; the objects
    are then freed and the GC's state restored."""
    gc.collect()
    enabled, flags = gc.isenabled(), gc.get_debug()
    gc.disable()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    before = len(gc.garbage)
    found: list[type] = []
    try:
        yield found
        gc.collect()
        found.extend(type(o) for o in gc.garbage[before:])
    finally:
        del gc.garbage[before:]
        gc.set_debug(flags)
        if enabled:
            gc.enable()


def ours(types: list[type]) -> list[str]:
    """The names of our types among `types`: builtins in cycles may come from other libraries and threads."""
    return sorted({t.__qualname__ for t in types if t.__module__.startswith("cds_service")})


@pytest.mark.parametrize("entry", DEMO, ids=[entry["id"] for entry in DEMO])
@pytest.mark.parametrize("hook", ["patient-view", "order-sign"])
def test_a_hook_call_leaves_none_of_its_objects_in_a_reference_cycle(runtime, entry, hook):
    """Every demo patient, at patient-view and at order-sign with an opioid, a benzodiazepine and an NSAID drafted."""
    resources = resources_of(demo_bundle(entry["id"]))
    patient = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    drafts = [drafted(code, patient) for code in DRAFTS] if hook == "order-sign" else []
    body = request_for(resources, hook, drafts)
    service = f"backpain-{hook}"
    today = date.fromisoformat(entry["asOf"])
    first = run(runtime, service, body, today)  # lazily built caches and memos are kept, not garbage: filled first
    with saved_garbage() as garbage:
        again = run(runtime, service, body, today)
    assert len(again["cards"]) == len(first["cards"])  # the call did its work: as many cards as the first
    assert ours(garbage) == [], f"left in reference cycles: {ours(garbage)}"


def test_a_call_through_the_app_leaves_none_of_ours_in_a_reference_cycle(client):
    """The same through the WSGI app: the hook path, the card policy, the card log's queue, the log line and metrics
    (the card log's writer thread writes on its own clock, maybe not within the call)."""
    resources = resources_of(demo_bundle(DEMO[0]["id"]))
    body = request_for(resources, "patient-view", [])
    assert client.post("/cds-services/backpain-patient-view", json=body).status_code == 200
    with saved_garbage() as garbage:
        answer = client.post("/cds-services/backpain-patient-view", json=body)
    assert answer.status_code == 200 and answer.get_json()["cards"]
    assert ours(garbage) == [], f"left in reference cycles: {ours(garbage)}"
