"""The card policy over sequences of real calls through the HTTP API (clinical reference 0.10 item 20, issue 24):
the same unchanged critical card interrupts a clinician once an hour at order hooks, snooze after an override, a
family off at a hook, and the safety floor no policy lowers."""

from __future__ import annotations

import copy
import time
from datetime import timedelta
from pathlib import Path

import pytest

from cds_service import create_app, metrics
from cds_service.config import Settings
from cds_service.policy import parse
from cds_service.store import card_log
from cds_service.store import keys as store_keys
from cds_service.store import policy as store_policy
from cds_service.store.report import as_text, summarise
from tests.fhir_builders import (
    CPT,
    PATIENT_ID,
    SCT,
    TODAY,
    condition,
    dosage,
    hook_request,
    lbp,
    med_request,
    patient,
    service_request,
)

PV = "/cds-services/backpain-patient-view"
OS = "/cds-services/backpain-order-select"
OSIGN = "/cds-services/backpain-order-sign"
OXYCODONE = ("1049621", "oxycodone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
ALPRAZOLAM_05 = ("308048", "alprazolam 0.5 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 100 MG Oral Capsule")
IBUPROFEN = ("197806", "ibuprofen 600 MG Oral Tablet")
MRI = ("72148", "MRI lumbar spine without contrast")
START = 1_796_000_000.0  # epoch seconds on the injected clock
# A patient on oxycodone with a benzodiazepine: the critical opioid-benzodiazepine card; the alprazolam was last
# ordered 400 days ago, so its card line says "N years ago: still taking it?", wording that drifts with the clock.
CHART = [
    lbp(onset_days=200),
    med_request(*OXYCODONE, dosage(1, "TAB", 4, 1, "d"), rid="mr-oxy"),
    med_request(*ALPRAZOLAM, authored_days=400, rid="mr-alp"),
]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def forward(self, minutes: float = 0, days: float = 0) -> None:
        self.now += minutes * 60 + days * 86_400


def draft(code: str, display: str, rid: str = "draft-1") -> dict:
    return med_request(code, display, status="draft", rid=rid)


def for_patient(resources: list[dict], pid: str) -> list[dict]:
    out = copy.deepcopy(resources)
    for resource in out:
        for key in ("subject", "patient"):
            if key in resource:
                resource[key] = {"reference": f"Patient/{pid}"}
    return out


def make_app(tmp_path: Path, policy: dict | None = None):
    app = create_app(Settings(data_dir=tmp_path, as_of=TODAY, card_policy=parse(policy) if policy else None))
    clock = app.extensions["backpain_cds_policy"].clock = Clock()
    return app, clock


@pytest.fixture
def served(tmp_path):
    app, clock = make_app(tmp_path)
    return app.test_client(), clock, app


def call(
    client,
    path: str,
    chart: list[dict] = CHART,
    drafts: list[dict] | None = None,
    user: str = "Practitioner/dr-1",
    pid: str = PATIENT_ID,
) -> dict[str, dict]:
    hook = {PV: "patient-view", OS: "order-select", OSIGN: "order-sign"}[path]
    resources = chart if pid == PATIENT_ID else for_patient(chart, pid)
    body = hook_request(resources, hook, pt=patient(pid=pid), drafts=drafts if hook != "patient-view" else None)
    body["context"]["userId"] = user
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_json()
    return {card["source"]["topic"]["code"]: card for card in response.get_json()["cards"]}


def held(topic: str, rule: str) -> float:
    return metrics.HELD_BACK.labels(topic, rule)._value.get()


def test_two_order_selects_in_a_row_interrupt_once(served):
    client, _, _ = served
    before = held("opioid-benzodiazepine", "repeat")
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*IBUPROFEN)])
    assert held("opioid-benzodiazepine", "repeat") - before == 1


def test_patient_view_always_shows_it_and_counts_as_the_interruption(served):
    client, _, app = served
    assert "opioid-benzodiazepine" in call(client, PV)
    app.extensions["backpain_cds_card_log"].flush()  # patient-view's memory is written off the request path
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" not in call(client, OSIGN, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" in call(client, PV)


def test_patient_view_answers_while_another_process_holds_the_database_and_still_remembers(served):
    """Patient-view reads none of the repeat memory, so it does not wait on the database to write it: the card log's
    writer does, within a second (a clinician opens orders later than that)."""
    client, _, app = served
    engine = app.extensions["backpain_cds_feedback"].engine
    blocker = engine.raw_connection()
    blocker.execute("BEGIN IMMEDIATE")  # another worker's long write
    try:
        started = time.monotonic()
        assert "opioid-benzodiazepine" in call(client, PV)
        assert time.monotonic() - started < 1.5  # it waited 2 s, then gave up, when it wrote in the call
    finally:
        blocker.rollback()  # within the writer's retries (2 s): it writes the memory once the lock is free
        blocker.close()
    app.extensions["backpain_cds_card_log"].flush()
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*GABAPENTIN)])


def test_patient_view_memory_written_late_never_replaces_a_newer_interruption(served, monkeypatch):
    """Patient-view's memory reaches the database after the writer's next batch; an order hook may have interrupted
    in between. The hour counts from the newer interruption, not from the older patient-view."""
    monkeypatch.setattr(card_log, "FLUSH_SECONDS", 3600)  # the writer waits for this test's flush
    client, clock, app = served
    assert "opioid-benzodiazepine" in call(client, PV)  # remembered later
    clock.forward(minutes=10)
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)])  # not yet seen: interrupts
    app.extensions["backpain_cds_card_log"].flush()  # the patient-view's row, 10 minutes older, arrives now
    clock.forward(minutes=55)  # 65 minutes after the patient-view, 55 after the order-select
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*IBUPROFEN)])


def test_patient_view_hashes_no_card_text_in_the_call_and_its_memory_still_matches_the_order_hook(served, monkeypatch):
    """A patient-view compares no digest (it reads no memory): the card log's writer hashes the findings it
    remembers, off the call, to the same digest an order hook compares."""
    monkeypatch.setattr(card_log, "FLUSH_SECONDS", 3600)  # the writer waits for this test's flush
    client, _, app = served
    hashed_in_call: list[str] = []
    real = store_policy.digest
    monkeypatch.setattr(store_policy, "digest", lambda *args: hashed_in_call.append(args[0]) or real(*args))
    assert "opioid-benzodiazepine" in call(client, PV)
    assert hashed_in_call == []
    app.extensions["backpain_cds_card_log"].flush()
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*GABAPENTIN)])  # the same findings: held
    assert "opioid-benzodiazepine" in hashed_in_call  # the order hook did compare digests


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        pytest.param(59, False, id="59-minutes-later-still-within-the-hour"),
        pytest.param(61, True, id="61-minutes-later-the-card-interrupts-again"),
    ],
)
def test_the_repeat_window_is_an_hour(served, minutes, shown):
    client, clock, _ = served
    call(client, OS, drafts=[draft(*GABAPENTIN)])
    clock.forward(minutes=minutes)
    assert ("opioid-benzodiazepine" in call(client, OS, drafts=[draft(*IBUPROFEN)])) is shown


def test_a_changed_finding_shows_it_again_at_once(served):
    client, _, _ = served
    call(client, OS, drafts=[draft(*GABAPENTIN)])
    second_benzo = [*CHART, med_request(*ALPRAZOLAM_05, authored_days=3, rid="mr-alp-2")]
    assert "opioid-benzodiazepine" in call(client, OS, second_benzo, drafts=[draft(*IBUPROFEN)])


def test_a_higher_tier_shows_it_again_at_once(served):
    client, _, _ = served
    cauda = [lbp(onset_days=2), condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)]
    sciatica_only = [lbp(onset_days=2), condition(SCT, "23056005", "Sciatica", onset_days=2)]
    assert "red-flags" not in call(client, OS, sciatica_only, drafts=[draft(*IBUPROFEN)])
    assert call(client, OS, cauda, drafts=[draft(*IBUPROFEN)])["red-flags"]["indicator"] == "critical"
    assert "red-flags" not in call(client, OS, cauda, drafts=[draft(*GABAPENTIN)])


def test_wording_that_drifts_with_the_clock_is_not_a_change(tmp_path):
    today, _ = make_app(tmp_path)
    first = call(today.test_client(), PV)["opioid-benzodiazepine"]["detail"]
    today.extensions["backpain_cds_card_log"].flush()
    # 40 days on, on the same database: the alprazolam line reads "14 months ago", not "13 months ago"
    later = create_app(Settings(data_dir=tmp_path, as_of=TODAY + timedelta(days=40)))
    later.extensions["backpain_cds_policy"].clock = Clock()
    cards = call(later.test_client(), OS, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" not in cards
    body = hook_request(CHART, "patient-view")
    again = later.test_client().post(PV, json=body).get_json()["cards"]
    detail = next(c["detail"] for c in again if c["source"]["topic"]["code"] == "opioid-benzodiazepine")
    assert detail != first and "months ago" in detail


def test_another_clinician_and_another_patient_are_interrupted_once_each(served):
    client, _, _ = served
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)], user="Practitioner/dr-2")
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)], pid="pt-2")
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*IBUPROFEN)], pid="pt-2")
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*IBUPROFEN)], user="Practitioner/dr-2")


def test_a_card_about_a_draft_is_always_returned(served):
    client, _, _ = served
    benzo_draft = [draft(*ALPRAZOLAM_05)]  # a benzodiazepine drafted beside the chart opioid: the card is about it
    assert "opioid-benzodiazepine" in call(client, OS, drafts=benzo_draft)
    assert "opioid-benzodiazepine" in call(client, OS, drafts=benzo_draft)


def test_defaults_keep_every_patient_view_card(served):
    client, _, _ = served
    assert call(client, PV).keys() == call(client, PV).keys()


SNOOZE_NALOXONE = {
    "families": {
        "naloxone": {"snooze_reasons": ["patient-declined"], "snooze_days": 30},
        "opioid-benzodiazepine": {"snooze_reasons": ["patient-declined"], "snooze_days": 30},
    }
}


def override(client, app, card: dict, reason: object) -> None:
    app.extensions["backpain_cds_card_log"].flush()  # the card log writes off the request path
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-27T10:00:00Z",
        "overrideReason": {
            "reason": {"system": "https://backpain-cds.org/fhir/CodeSystem/override-reasons", "code": reason}
        },
    }
    assert client.post(PV + "/feedback", json={"feedback": [item]}).status_code == 200


def test_snooze_after_an_override_silences_the_family_for_that_patient(tmp_path):
    app, clock = make_app(tmp_path, SNOOZE_NALOXONE)
    client = app.test_client()
    card = call(client, PV)["naloxone"]
    override(client, app, card, "patient-declined")
    assert "naloxone" not in call(client, PV)
    assert "naloxone" not in call(client, PV, user="Practitioner/dr-2")  # the patient's, whoever looks
    assert "naloxone" in call(client, PV, pid="pt-2")
    clock.forward(days=29)
    assert "naloxone" not in call(client, PV)
    clock.forward(days=2)
    assert "naloxone" in call(client, PV)
    app.extensions["backpain_cds_card_log"].flush()
    summary = summarise(app.extensions["backpain_cds_feedback"].engine)
    assert summary["cards"]["naloxone"]["heldBack"] == {"snooze": 3}
    assert summary["cards"]["naloxone"]["issued"] == 3
    assert "naloxone" in as_text(summary)


def test_a_snooze_ends_when_the_findings_change(tmp_path):
    app, _ = make_app(tmp_path, SNOOZE_NALOXONE)
    client = app.test_client()
    override(client, app, call(client, PV)["naloxone"], "patient-declined")
    second_benzo = [*CHART, med_request(*ALPRAZOLAM_05, authored_days=3, rid="mr-alp-2")]
    assert "naloxone" in call(client, PV, second_benzo)


def test_an_override_with_a_reason_not_listed_snoozes_nothing(tmp_path):
    app, _ = make_app(tmp_path, SNOOZE_NALOXONE)
    client = app.test_client()
    override(client, app, call(client, PV)["naloxone"], "not-applicable")
    assert "naloxone" in call(client, PV)


@pytest.mark.parametrize("code", [{"x": 1}, ["patient-declined"]], ids=["an object", "a list"])
def test_an_override_reason_code_that_is_not_text_is_kept_but_snoozes_nothing(tmp_path, code):
    """Feedback keeps a reason of an odd shape (lenient, as for EHRs), but with a snooze policy the code was looked
    up in the family's set of reasons: a 500 after the row was stored, and a retry stored it twice."""
    app, _ = make_app(tmp_path, SNOOZE_NALOXONE)
    client = app.test_client()
    card = call(client, PV)["naloxone"]
    override(client, app, card, code)  # asserts a 200
    assert len(app.extensions["backpain_cds_feedback"].for_card(card["uuid"])) == 1
    assert "naloxone" in call(client, PV)


def test_the_safety_floor_holds_against_a_policy_that_switches_it_off(tmp_path):
    every_hook = ["patient-view", "order-select", "order-sign"]
    app, _ = make_app(
        tmp_path,
        {
            "families": {
                "opioid-benzodiazepine": {
                    "off_at": every_hook,
                    "snooze_reasons": ["patient-declined"],
                    "snooze_days": 30,
                },
                "red-flags": {"off_at": every_hook},
                "nsaid-contraindicated": {"off_at": every_hook},
            }
        },
    )
    client = app.test_client()
    card = call(client, PV)["opioid-benzodiazepine"]
    override(client, app, card, "patient-declined")
    assert "opioid-benzodiazepine" in call(client, PV)  # neither off nor snoozed at patient-view
    assert "opioid-benzodiazepine" not in call(client, OS, drafts=[draft(*GABAPENTIN)])  # off where it may be
    cauda = [lbp(onset_days=2), condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)]
    assert call(client, PV, cauda)["red-flags"]["indicator"] == "critical"
    egfr_25 = [
        lbp(onset_days=10),
        {
            "resourceType": "Observation",
            "id": "egfr",
            "status": "final",
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "62238-1"}]},
            "effectiveDateTime": "2026-11-07",
            "valueQuantity": {"value": 25, "unit": "mL/min/{1.73_m2}"},
        },
    ]
    assert (
        call(client, PV, [*egfr_25, med_request(*IBUPROFEN, dosage(1, "TAB", 3, 1, "d"))])["nsaid-contraindicated"][
            "indicator"
        ]
        == "critical"
    )


def test_a_family_off_at_a_hook_is_held_back_there_only_and_counted(tmp_path):
    app, _ = make_app(tmp_path, {"families": {"imaging-overuse": {"off_at": ["order-select"]}}})
    client = app.test_client()
    before = held("imaging-overuse", "off")
    mri = [service_request(CPT, *MRI, rid="d-mri")]
    assert "imaging-overuse" not in call(client, OS, [lbp(onset_days=10)], drafts=mri)
    assert "imaging-overuse" in call(client, OSIGN, [lbp(onset_days=10)], drafts=mri)
    assert held("imaging-overuse", "off") - before == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'backpain_cds_cards_held_back_total{rule="off",topic="imaging-overuse"}' in text


def test_state_survives_a_restart_and_holds_no_ids(tmp_path):
    app, _ = make_app(tmp_path)
    call(app.test_client(), OS, drafts=[draft(*GABAPENTIN)])
    again, _ = make_app(tmp_path)  # a new process on the same database and data directory
    assert "opioid-benzodiazepine" not in call(again.test_client(), OS, drafts=[draft(*IBUPROFEN)])
    app.extensions["backpain_cds_card_log"].flush()
    dump = "\n".join(app.extensions["backpain_cds_feedback"].engine.raw_connection().iterdump())
    assert PATIENT_ID not in dump and "dr-1" not in dump and "policy_seen" in dump


def test_expired_memory_is_purged(served):
    client, clock, app = served
    call(client, OS, drafts=[draft(*GABAPENTIN)])
    engine = app.extensions["backpain_cds_feedback"].engine
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM policy_seen").scalar() == 1
    clock.forward(minutes=61)
    app.extensions["backpain_cds_policy"].purge(clock())
    app.extensions["backpain_cds_card_log"].flush()  # the card log's writer deletes it
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM policy_seen").scalar() == 0


def test_without_its_memory_the_policy_fails_open_and_the_call_succeeds(served):
    client, _, app = served
    with app.extensions["backpain_cds_feedback"].engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE policy_seen")
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*GABAPENTIN)])
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*IBUPROFEN)])


def test_the_preview_page_shows_what_the_rules_say_and_remembers_nothing(served):
    client, _, _ = served
    body = hook_request(CHART, "order-select", drafts=[draft(*GABAPENTIN)])
    for _ in range(2):
        answer = client.post("/preview/evaluate", json={"hook": "order-select", "request": body}).get_json()
        assert "opioid-benzodiazepine" in {c["source"]["topic"]["code"] for c in answer["response"]["cards"]}
    assert "opioid-benzodiazepine" in call(client, OS, drafts=[draft(*IBUPROFEN)])


def test_a_patient_view_call_hashes_its_patient_once_and_the_card_log_keeps_the_policy_s_key(served, monkeypatch):
    """The policy and the card log both need the patient's keyed hash: it is worked out once a call (the thread
    keeps its last few), and both carry the same one."""
    client, _, app = served
    hashed: list[bytes] = []
    real = store_keys.hmac.new
    monkeypatch.setattr(
        store_keys.hmac, "new", lambda key, msg, digestmod: hashed.append(msg) or real(key, msg, digestmod)
    )
    call(client, PV, pid="hash-once")
    assert hashed.count(b"patient\x00hash-once") == 1
    gate = app.extensions["backpain_cds_policy"]
    app.extensions["backpain_cds_card_log"].flush()
    with gate.engine.connect() as conn:
        keys = {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT patient_key FROM policy_seen")}
        logged = {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT patient_key FROM issued_cards")}
    expected = real(gate.key._secret, b"patient\x00hash-once", "sha256").hexdigest()
    assert expected in keys and expected in logged
    for n in range(6):  # a few others later, the first is no longer kept, and is hashed again, alike
        gate.key("patient", f"other-{n}")
    assert gate.key("patient", "hash-once") == expected and hashed.count(b"patient\x00hash-once") == 2
