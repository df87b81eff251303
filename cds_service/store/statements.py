"""Statements on the hot path of a hook call, compiled once and run on the pool's own DBAPI connection.

SQLAlchemy builds and compiles them for the engine's dialect (SQLite or PostgreSQL), and its pool hands out the
connection (with its pragmas, checkout ping and watchdog), but the call does not go through SQLAlchemy's execution
layer: for a one-row upsert that layer costs four times the statement itself (about 0.1 ms against 0.025 ms on
SQLite). Driver errors are raised as SQLAlchemy's own (`DBAPIError` and its subclasses), so callers handle one
family of errors whichever path ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement compiled for one engine; its parameters given by name. `statement` is kept for a caller
    that runs it through SQLAlchemy instead (the card log's writer, with many rows)."""

    def __init__(self, engine: Engine, statement: ClauseElement) -> None:
        self.statement: Any = statement  # an Executable too (an insert, an upsert, a select)
        compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))
        self.sql = str(compiled)
        # qmark/format drivers (sqlite3) take a tuple in this order; named/pyformat ones (psycopg) the mapping itself
        self._order = compiled.positiontup
        self._defaults = compiled.params  # values the statement was built with (a literal in a WHERE)

    def params(self, values: Mapping[str, Any]) -> Any:
        given = {**self._defaults, **values} if self._defaults else values
        return tuple(given[name] for name in self._order) if self._order is not None else dict(given)


class Cursor:
    """A DBAPI cursor that runs `Prepared` statements."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def execute(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[tuple]:
        self._raw.execute(prepared.sql, prepared.params(values or {}))
        return self._raw.fetchall() if self._raw.description is not None else []

    def execute_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        self._raw.executemany(prepared.sql, [prepared.params(row) for row in rows])


@contextmanager
def transaction(engine: Engine) -> Iterator[Cursor]:
    """A cursor on a pooled connection; committed when the block ends, rolled back (and the error raised as
    SQLAlchemy's) when it fails."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    def as_sqlalchemy(exc: Exception) -> StatementError:
        return DBAPIError.instance(None, None, exc, dbapi_error, connection_invalidated=False, dialect=engine.dialect)

    try:
        connection = engine.raw_connection()  # unlike engine.connect(), a failed connect comes out as the driver's
    except dbapi_error as exc:
        raise as_sqlalchemy(exc) from exc
    try:
        cursor = connection.cursor()
        try:
            yield Cursor(cursor)
            connection.commit()
        except dbapi_error as exc:
            with suppress(dbapi_error):  # a lost connection cannot roll back either: the first error is the news
                connection.rollback()
            raise as_sqlalchemy(exc) from exc
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
