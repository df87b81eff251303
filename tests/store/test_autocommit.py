"""The replay cache's autocommit insert on SQLite (store/statements.py `Autocommit`): committed at once, errors as
SQLAlchemy's, a broken connection replaced, one connection per thread."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from cds_service.store.database import connect
from cds_service.store.statements import Autocommit, Prepared
from cds_service.store.tables import SeenToken


@pytest.fixture
def engine(tmp_path):
    engine = connect(f"sqlite:///{tmp_path}/db.sqlite3")
    yield engine
    engine.dispose()


def _claims(engine) -> Autocommit:
    table = SeenToken.__table__
    statement = insert(table).values(token_key=bindparam("token_key"), expires_at=bindparam("expires_at"))
    return Autocommit(engine, Prepared(engine, statement))


def test_a_row_is_committed_as_soon_as_it_is_inserted(engine):
    _claims(engine).execute({"token_key": "a" * 64, "expires_at": 5})
    with engine.connect() as conn:  # another connection sees it: no transaction left open
        assert conn.execute(select(SeenToken.token_key)).scalars().all() == ["a" * 64]


def test_a_duplicate_is_sqlalchemy_s_integrity_error_and_the_connection_stays(engine):
    claims = _claims(engine)
    claims.execute({"token_key": "a" * 64, "expires_at": 5})
    kept = claims._local.connection
    with pytest.raises(IntegrityError):
        claims.execute({"token_key": "a" * 64, "expires_at": 5})
    assert claims._local.connection is kept


def test_after_another_error_the_connection_is_replaced(engine):
    claims = _claims(engine)
    claims.execute({"token_key": "a" * 64, "expires_at": 5})
    broken = claims._local.connection
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE seen_tokens RENAME TO away"))
    with pytest.raises(OperationalError):
        claims.execute({"token_key": "b" * 64, "expires_at": 5})
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE away RENAME TO seen_tokens"))
    claims.execute({"token_key": "c" * 64, "expires_at": 5})
    assert claims._local.connection is not broken


def test_each_thread_has_its_own_connection_outside_the_pool(engine):
    claims = _claims(engine)
    seen = []

    def claim(key: str) -> None:
        claims.execute({"token_key": key, "expires_at": 5})
        seen.append(claims._local.connection)

    for key in ("x" * 64, "y" * 64, "z" * 64):  # one after another: a thread locked out would be retried by `write`
        thread = threading.Thread(target=claim, args=(key,))
        thread.start()
        thread.join()
    assert len({id(c) for c in seen}) == 3  # the threads' connections (kept alive by `seen`) differ
    assert engine.pool.checkedout() == 0  # detached from the pool: no pooled connection held


def test_it_is_for_sqlite_only():
    from sqlalchemy import create_engine

    with pytest.raises(ValueError, match="SQLite"):
        Autocommit(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), None)  # type: ignore[arg-type]
