"""The hot path's statements (store/statements.py): same rows as SQLAlchemy's path, its errors, and a rollback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from cds_service.store.database import connect
from cds_service.store.statements import Prepared, transaction
from cds_service.store.tables import IssuedCard, PolicySeen

ROW = {
    "user_key": "u" * 64,
    "patient_key": "p" * 64,
    "topic": "opioid-benzodiazepine",
    "digest": "d" * 32,
    "seen_at": 1.0,
    "expires_at": 2.0,
}


@pytest.fixture
def engine(tmp_path):
    engine = connect(f"sqlite:///{tmp_path}/db.sqlite3")
    yield engine
    engine.dispose()


def test_rows_written_on_the_raw_connection_are_read_back_by_sqlalchemy(engine):
    with transaction(engine) as cursor:
        cursor.execute_many(Prepared(engine, insert(PolicySeen.__table__)), [ROW])
    with engine.connect() as conn:
        assert conn.execute(select(PolicySeen.topic, PolicySeen.seen_at)).all() == [("opioid-benzodiazepine", 1.0)]


def test_named_parameters_reach_the_driver_in_the_statement_s_order(engine):
    with transaction(engine) as cursor:
        cursor.execute_many(Prepared(engine, insert(PolicySeen.__table__)), [ROW])
        read = Prepared(
            engine,
            select(PolicySeen.digest).where(
                PolicySeen.topic == "opioid-benzodiazepine", PolicySeen.user_key == ROW["user_key"]
            ),
        )
        assert cursor.execute(read) == [("d" * 32,)]


def test_a_driver_error_is_sqlalchemy_s_error_and_the_transaction_is_rolled_back(engine):
    upsert = Prepared(engine, insert(PolicySeen.__table__))
    with pytest.raises(IntegrityError), transaction(engine) as cursor:  # one primary key twice in a transaction
        cursor.execute_many(upsert, [ROW])
        cursor.execute_many(upsert, [ROW])
    with engine.connect() as conn:
        assert conn.execute(select(PolicySeen.topic)).all() == []


def test_a_time_written_on_the_raw_connection_is_stored_and_read_back_as_sqlalchemy_s_own(engine):
    """The card log writes its rows on the driver: `issued_at` must be the text SQLAlchemy writes on SQLite (the
    report's `--since` compares it as text), not the driver's own rendering of a datetime."""
    at = datetime(2026, 11, 1, 9, 30, 5, 123456, tzinfo=UTC)
    row = {"card_uuid": "raw", "service_id": "s", "topic": "t", "indicator": "info", "issued_at": at}
    columns = {c: bindparam(c) for c in row}
    with transaction(engine) as cursor:
        cursor.execute_many(Prepared(engine, insert(IssuedCard.__table__).values(columns)), [row])
    with engine.begin() as conn:
        conn.execute(insert(IssuedCard.__table__), [{**row, "card_uuid": "sqlalchemy"}])
        stored = dict(conn.exec_driver_sql("SELECT card_uuid, issued_at FROM issued_cards").all())
        read = dict(conn.execute(select(IssuedCard.card_uuid, IssuedCard.issued_at)).all())
        since = conn.execute(select(IssuedCard.card_uuid).where(IssuedCard.issued_at >= at)).scalars().all()
    assert stored["raw"] == stored["sqlalchemy"]
    assert read["raw"] == read["sqlalchemy"] == at.replace(tzinfo=None)
    assert sorted(since) == ["raw", "sqlalchemy"]


def test_a_row_without_one_of_the_statement_s_columns_is_refused_not_stored_as_null(engine):
    insert_seen = Prepared(engine, insert(PolicySeen.__table__).values({c: bindparam(c) for c in ROW}))
    with pytest.raises(KeyError), transaction(engine) as cursor:
        cursor.execute_many(insert_seen, [{k: v for k, v in ROW.items() if k != "digest"}])
    with engine.connect() as conn:
        assert conn.execute(select(PolicySeen.topic)).all() == []
