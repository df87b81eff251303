"""The card log's rows as the request thread makes them (tuples in the INSERT's order) and as the writer stores
them: in key order, each with the digest of its findings and SQLAlchemy's own time text, on SQLite's WAL settings."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, text

from cds_service.cards import EXT_KNOWLEDGE, MME_EXTENSION
from cds_service.policy.decide import digest
from cds_service.store import card_log
from cds_service.store.card_log import CardLog
from cds_service.store.database import WAL_PAGES, connect
from cds_service.store.statements import Prepared
from cds_service.store.tables import HeldBackCard, IssuedCard

MME = 90.0


@pytest.fixture
def engine(tmp_path):
    engine = connect(f"sqlite:///{tmp_path}/db.sqlite3")
    yield engine
    engine.dispose()


def card(uuid: str, topic: str, detail: str) -> dict:
    return {
        "uuid": uuid,
        "indicator": "warning",
        "summary": f"{topic} summary",
        "detail": detail,
        "source": {"topic": {"code": topic}},
        "extension": {EXT_KNOWLEDGE: {"version": "1.2.3"}, MME_EXTENSION: MME},
    }


def test_records_made_as_tuples_are_stored_whole_in_key_order_with_their_digests(engine):
    log = CardLog(engine)
    log._pid = __import__("os").getpid()  # no writer thread: this test's flush writes
    uuids = [f"{n:04x}-uuid" for n in range(300)]
    random.Random(7).shuffle(uuids)
    before = datetime.now(UTC).replace(tzinfo=None)
    for n, uuid in enumerate(uuids):  # the same findings on many calls are hashed once a batch, to the same digest
        log.record("backpain-patient-view", [card(uuid, "opioid-risk", f"detail {n % 3}, 9 years ago")], "p" * 64)
    log.held_back("backpain-order-sign", "naloxone", "repeat")
    assert log.flush() == 301
    with engine.connect() as conn:
        rows = conn.execute(select(IssuedCard).order_by(text("rowid"))).all()
        held = conn.execute(select(HeldBackCard.service_id, HeldBackCard.topic, HeldBackCard.rule)).all()
    assert [r.card_uuid for r in rows] == sorted(uuids)  # written in the order of the key's index
    by_uuid = {r.card_uuid: r for r in rows}
    for n, uuid in enumerate(uuids):
        row = by_uuid[uuid]
        assert (row.service_id, row.topic, row.indicator, row.patient_key, row.knowledge_version) == (
            "backpain-patient-view",
            "opioid-risk",
            "warning",
            "p" * 64,
            "1.2.3",
        )
        detail = f"detail {n % 3}, 9 years ago"
        assert row.digest == digest("opioid-risk", "warning", "opioid-risk summary", detail, MME)
        assert before <= row.issued_at <= datetime.now(UTC).replace(tzinfo=None)  # read back as SQLAlchemy's
    assert held == [("backpain-order-sign", "naloxone", "repeat")]


def test_a_table_whose_columns_the_tuples_do_not_match_is_refused_at_start(engine, monkeypatch):
    monkeypatch.setattr(card_log, "ISSUED", (*card_log.ISSUED[:-2], "knowledge_version", "digest"))
    with pytest.raises(RuntimeError, match="issued_cards"):
        CardLog(engine)


def test_a_row_is_given_in_the_statement_s_order_converted_or_by_name(engine):
    statement = Prepared(engine, insert(HeldBackCard.__table__).values({c: bindparam(c) for c in card_log.HELD_BACK}))
    at = datetime(2026, 11, 27, 10, 0, 0, 5, tzinfo=UTC)
    row = statement.row({"rule": "off", "topic": "t", "held_at": at, "service_id": "s"})
    assert statement.names == card_log.HELD_BACK
    assert row == ("s", "t", "off", statement.convert("held_at", at)) and isinstance(row[3], str)  # SQLite's text
    assert statement.driver_row(row) is row  # sqlite3 takes the tuple; a named driver takes a mapping
    assert statement.params({"rule": "off", "topic": "t", "held_at": at, "service_id": "s"}) == row
    with pytest.raises(KeyError):
        statement.row({"rule": "off", "topic": "t", "held_at": at})


def test_every_sqlite_connection_copies_its_wal_into_the_database_every_4000_pages(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_PAGES == 4000
