"""Metrics at /metrics (every worker counted), the log of issued cards, and `backpain-cds feedback-report`."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import insert, select

from cds_service.knowledge import load
from cds_service.store.card_log import CardLog, IssuedCard
from cds_service.store.report import as_text, summarise
from tests.fhir_builders import dosage, hook_request, lbp, med_request
from tests.served import Served, executable

PV = "/cds-services/backpain-patient-view"
OVERRIDE = "https://backpain-cds.org/fhir/CodeSystem/override-reasons"


def feedback(card: dict, outcome: str, reason: str | None = None) -> dict:
    item = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s"}]
    if reason:
        item["overrideReason"] = {"reason": {"system": OVERRIDE, "code": reason, "display": reason.replace("-", " ")}}
    return item


def test_issued_cards_are_logged_by_uuid_topic_indicator_and_hashes_only(app, client):
    cards = client.post(PV, json=hook_request([lbp()])).get_json()["cards"]
    log = app.extensions["backpain_cds_card_log"]
    log.flush()
    with log.engine.connect() as conn:
        rows = {r.card_uuid: r for r in conn.execute(select(IssuedCard))}
    assert {(rows[c["uuid"]].topic, rows[c["uuid"]].indicator) for c in cards} == {
        (c["source"]["topic"]["code"], c["indicator"]) for c in cards
    }
    assert set(IssuedCard.__table__.columns.keys()) == {
        "card_uuid",
        "service_id",
        "topic",
        "indicator",
        "issued_at",
        "patient_key",
        "digest",
        "knowledge_version",
    }
    assert {rows[c["uuid"]].knowledge_version for c in cards} == {load().identity.version}
    # the patient is there as a keyed hash (the card policy's snooze after override finds it), never as the id
    patient = app.extensions["backpain_cds_policy"].key("patient", "pt-1")
    assert {rows[c["uuid"]].patient_key for c in cards} == {patient}
    assert all(len(rows[c["uuid"]].digest) == 32 for c in cards)


def test_a_card_log_from_before_the_policy_gains_its_new_columns_at_start_up(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    from cds_service.store import database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = create_engine(url)
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE issued_cards (card_uuid VARCHAR(64) PRIMARY KEY, service_id VARCHAR(100), "
                "topic VARCHAR(64), indicator VARCHAR(16), issued_at DATETIME)"
            )
        )
    old.dispose()
    engine = database.connect(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("issued_cards")}
    assert {"patient_key", "digest", "knowledge_version"} <= columns


def test_report_splits_acceptance_by_the_knowledge_version_that_issued_each_card(app, client):
    """A value set change ships as knowledge 1.1.0: the committee compares acceptance before and after it."""
    engine = app.extensions["backpain_cds_feedback"].engine
    issued = [
        ("c-old-1", "1.0.0"),
        ("c-old-2", "1.0.0"),
        ("c-new-1", "1.1.0"),
        ("c-new-2", "1.1.0"),
        ("c-new-3", "1.1.0"),
        ("c-before-the-log-knew", None),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(IssuedCard),
            [
                {
                    "card_uuid": u,
                    "service_id": "backpain-patient-view",
                    "topic": "opioid-high-dose",
                    "indicator": "warning",
                    "issued_at": datetime(2026, 11, 1, tzinfo=UTC),
                    "knowledge_version": v,
                }
                for u, v in issued
            ],
        )
    outcomes = {
        "c-old-1": "overridden",
        "c-old-2": "overridden",
        "c-new-1": "accepted",
        "c-new-2": "accepted",
        "c-new-3": "overridden",
        "c-before-the-log-knew": "accepted",
    }
    items = [feedback({"uuid": u}, outcome) for u, outcome in outcomes.items()]
    assert client.post(PV + "/feedback", json={"feedback": items}).status_code == 200
    summary = summarise(engine)
    assert summary["by_knowledge_version"] == {
        "1.0.0": {"items": 2, "accepted": 0, "overridden": 2, "acceptanceRate": 0.0},
        "1.1.0": {"items": 3, "accepted": 2, "overridden": 1, "acceptanceRate": 0.667},
        "unknown": {"items": 1, "accepted": 1, "overridden": 0, "acceptanceRate": 1.0},
    }
    assert summary["by_topic"]["opioid-high-dose"]["byKnowledgeVersion"]["1.1.0"]["acceptanceRate"] == 0.667
    text = as_text(summary)
    assert re.search(r"^1\.0\.0\s+2\s+0\s+2\s+0%$", text, re.M)
    assert re.search(r"^1\.1\.0\s+3\s+2\s+1\s+67%$", text, re.M)


def test_a_card_log_created_before_knowledge_versions_gains_the_column_and_keeps_its_rows(tmp_path):
    from sqlalchemy import create_engine, text

    from cds_service.store import database

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with create_engine(url).begin() as conn:  # the table as it shipped before
        conn.execute(
            text(
                "CREATE TABLE issued_cards (card_uuid VARCHAR(64) PRIMARY KEY, service_id VARCHAR(100), "
                "topic VARCHAR(64), indicator VARCHAR(16), issued_at DATETIME)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO issued_cards VALUES ('old', 'backpain-patient-view', 'second-line', 'info', "
                "'2026-01-01 00:00:00')"
            )
        )
    engine = database.connect(url)
    log = CardLog(engine)
    log.record(
        "backpain-patient-view",
        [
            {
                "uuid": "new",
                "indicator": "info",
                "source": {"topic": {"code": "x"}},
                "extension": {"org.backpain-cds.knowledge": {"version": "1.0.0"}},
            }
        ],
    )
    log.flush()
    with engine.connect() as conn:
        rows = dict(conn.execute(select(IssuedCard.card_uuid, IssuedCard.knowledge_version)).all())
    assert rows == {"old": None, "new": "1.0.0"}


def test_a_full_card_log_drops_and_counts_instead_of_waiting(app):
    from cds_service import metrics

    log = CardLog(app.extensions["backpain_cds_feedback"].engine, queue_size=2)
    cards = [{"uuid": f"u{i}", "indicator": "info", "source": {"topic": {"code": "second-line"}}} for i in range(5)]
    before = metrics.CARD_LOG_DROPPED._value.get()
    started = time.perf_counter()
    log._pid = __import__("os").getpid()  # no writer thread: the queue stays full
    log.record("backpain-patient-view", cards)
    assert time.perf_counter() - started < 0.05
    assert metrics.CARD_LOG_DROPPED._value.get() - before == 3


def test_the_card_log_writer_outlives_a_batch_that_fails_unexpectedly(app, monkeypatch):
    """A bug in one batch must not end the writer thread for the life of the worker (every later record would be
    dropped, counted, unwritten)."""
    from cds_service.store import card_log

    monkeypatch.setattr(card_log, "FLUSH_SECONDS", 0.01)
    log = CardLog(app.extensions["backpain_cds_feedback"].engine)
    real, failures = log._write, []

    def fails_once(batch):
        if not failures:
            failures.append(batch)
            raise RuntimeError("a bug in the writer")
        return real(batch)

    monkeypatch.setattr(log, "_write", fails_once)
    card = {"indicator": "info", "source": {"topic": {"code": "second-line"}}}
    log.record("backpain-patient-view", [{**card, "uuid": "lost"}])  # the first batch: lost to the bug
    deadline = time.monotonic() + 5
    while not failures and time.monotonic() < deadline:
        time.sleep(0.01)
    log.record("backpain-patient-view", [{**card, "uuid": "after"}])
    while time.monotonic() < deadline:
        with log.engine.connect() as conn:
            if conn.execute(select(IssuedCard.card_uuid)).scalars().all() == ["after"]:
                break
        time.sleep(0.02)
    with log.engine.connect() as conn:
        assert conn.execute(select(IssuedCard.card_uuid)).scalars().all() == ["after"]


def test_the_policy_memory_failing_loses_none_of_the_issued_cards_beside_it(app):
    """The card policy's memory rides in the card log's batches in transactions of its own: a statement of it that
    fails (here its table is gone) drops and counts its own rows, never the issued cards feedback is matched to."""
    from cds_service import metrics

    engine = app.extensions["backpain_cds_feedback"].engine
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE policy_seen")
    log = CardLog(engine)
    log._pid = __import__("os").getpid()  # no writer thread: this test's flush writes
    before = metrics.CARD_LOG_DROPPED._value.get()
    log.record("backpain-patient-view", [{"uuid": "kept", "indicator": "critical", "source": {"topic": {"code": "x"}}}])
    gate = app.extensions["backpain_cds_policy"]
    row = {"user_key": "u", "patient_key": "p", "topic": "x", "digest": "d", "seen_at": 1.0, "expires_at": 2.0}
    log.remember(gate._sql.remember_seen, [row])
    assert log.flush() == 1
    with engine.connect() as conn:
        assert conn.execute(select(IssuedCard.card_uuid)).scalars().all() == ["kept"]
    assert metrics.CARD_LOG_DROPPED._value.get() - before == 1


def test_report_per_topic_counts_rates_and_top_override_reasons(app, client):
    opioid = med_request("1049621", "oxycodone 5 MG", dosage(2, "TAB", 4, 1, "d"))  # 60 MME: a warning card
    cards = client.post(PV, json=hook_request([lbp(), opioid])).get_json()["cards"]
    by_topic = {c["source"]["topic"]["code"]: c for c in cards}
    high, first_line = by_topic["opioid-high-dose"], by_topic["nsaid-first-line"]
    items = [
        feedback(high, "overridden", "patient-declined"),
        feedback(high, "overridden", "patient-declined"),
        feedback(high, "overridden", "not-applicable"),
        feedback(high, "accepted"),
        feedback(first_line, "accepted"),
        {**feedback(first_line, "overridden"), "card": "never-issued"},
    ]
    assert client.post(PV + "/feedback", json={"feedback": items}).status_code == 200
    app.extensions["backpain_cds_card_log"].flush()
    summary = summarise(app.extensions["backpain_cds_feedback"].engine)
    assert summary["items"] == 5
    assert summary["by_topic"]["opioid-high-dose"] == {
        "items": 4,
        "accepted": 1,
        "overridden": 3,
        "acceptanceRate": 0.25,
        "topOverrideReasons": [{"reason": "patient declined", "count": 2}, {"reason": "not applicable", "count": 1}],
        "byKnowledgeVersion": {
            load().identity.version: {"items": 4, "accepted": 1, "overridden": 3, "acceptanceRate": 0.25}
        },
    }
    assert summary["by_topic"]["nsaid-first-line"]["acceptanceRate"] == 1.0
    assert "unknown" not in summary["by_topic"]  # a card we never issued is counted apart, in no rate
    assert summary["unattributed"] == {"items": 1, "accepted": 0, "overridden": 1}


@pytest.mark.slow
def test_metrics_count_calls_on_every_worker_and_the_report_reads_the_store(tmp_path):
    with Served(tmp_path, workers=2) as served:
        statuses = [requests.post(served.base + PV, json=hook_request([lbp()]), timeout=10) for _ in range(40)]
        cards = statuses[0].json()["cards"]
        posted = requests.post(
            served.base + PV + "/feedback",
            timeout=10,
            json={
                "feedback": [feedback(cards[0], "overridden", "already-addressed"), feedback(cards[1], "overridden")]
            },
        )
        assert posted.status_code == 200
        bad = requests.post(served.base + PV, data=b"{", timeout=10)
        assert bad.status_code == 400
        text = requests.get(served.base + "/metrics", timeout=10).text
        time.sleep(1.2)  # the card log writes its batch off the request path
        log = served.log()
        report = subprocess.run(
            [executable(), "feedback-report", "--json"],
            capture_output=True,
            text=True,
            env={"BACKPAIN_CDS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    answered = set(re.findall(r"cds_service\.web\.routes\[(\d+)\]: hook ", log))
    assert len(answered) == 2  # both workers served calls...
    calls = re.search(r'backpain_cds_hook_calls_total\{service="backpain-patient-view",status="200"\} (\S+)', text)
    assert calls and float(calls.group(1)) == 40  # ...and /metrics counted all of them, whichever worker answered
    assert re.search(r'backpain_cds_hook_calls_total\{service="backpain-patient-view",status="400"\} 1\.0', text)
    assert "backpain_cds_hook_duration_seconds_bucket{" in text
    topic = cards[0]["source"]["topic"]["code"]
    assert re.search(rf'backpain_cds_cards_total\{{indicator="\w+",topic="{topic}"\}} 40\.0', text)
    assert 'backpain_cds_feedback_items_total{outcome="overridden",override_reason="already-addressed"} 1.0' in text
    assert report.returncode == 0, report.stderr
    summary = json.loads(report.stdout)
    assert summary["items"] == 2 and summary["by_topic"][topic]["overridden"] == 1


def test_report_since_leaves_out_older_feedback(app, client):
    cards = client.post(PV, json=hook_request([lbp()])).get_json()["cards"]
    old = feedback(cards[0], "overridden") | {"outcomeTimestamp": "2025-01-01T00:00:00Z"}
    client.post(PV + "/feedback", json={"feedback": [old, feedback(cards[0], "accepted")]})
    app.extensions["backpain_cds_card_log"].flush()  # feedback is attributed through the card log
    from datetime import date

    assert summarise(app.extensions["backpain_cds_feedback"].engine, date(2026, 1, 1))["items"] == 1
