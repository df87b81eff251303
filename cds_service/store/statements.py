"""Statements on the hot path of a hook call, compiled once and run on the pool's own DBAPI connection.

SQLAlchemy builds and compiles them for the engine's dialect (SQLite or PostgreSQL), and its pool hands out the
connection (with its pragmas, checkout ping and watchdog), but the call does not go through SQLAlchemy's execution
layer: for a one-row upsert that layer costs four times the statement itself (about 0.1 ms against 0.025 ms on
SQLite). Driver errors are raised as SQLAlchemy's own (`DBAPIError` and its subclasses), so callers handle one
family of errors whichever path ran.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement compiled for one engine; its parameters given by name, converted as SQLAlchemy would (a
    datetime is stored on SQLite in SQLAlchemy's text format, so its queries read it back)."""

    def __init__(self, engine: Engine, statement: ClauseElement) -> None:
        dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # qmark/format drivers (sqlite3) take a tuple in this order; named/pyformat ones (psycopg) the mapping itself
        self._order = compiled.positiontup
        self.names: tuple[str, ...] = tuple(self._order if self._order is not None else compiled.binds)
        # values the statement was built with (a literal in a WHERE); a bind without one must be given (KeyError)
        self._defaults = {name: value for name, value in compiled.params.items() if value is not None}
        self._convert = {
            name: convert
            for name, bind in compiled.binds.items()
            if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.converted = frozenset(self._convert)

    def params(self, values: Mapping[str, Any]) -> Any:
        return self.driver_row(self.row(values))

    def row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The values in the order of `names`, converted (KeyError when one is missing)."""
        given = {**self._defaults, **values} if self._defaults else values
        convert = self._convert
        return tuple(convert[name](given[name]) if name in convert else given[name] for name in self.names)

    def convert(self, name: str, value: Any) -> Any:
        """One value of bind `name` as the driver takes it."""
        return self._convert[name](value) if name in self._convert else value

    def driver_row(self, row: tuple[Any, ...]) -> Any:
        """A `row` (in the order of `names`, converted) as the driver takes it: itself, or by name."""
        return row if self._order is not None else dict(zip(self.names, row, strict=True))


class Cursor:
    """A DBAPI cursor that runs `Prepared` statements."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def execute(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[tuple]:
        self._raw.execute(prepared.sql, prepared.params(values or {}))
        return self._raw.fetchall() if self._raw.description is not None else []

    def execute_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        self.execute_params(prepared, [prepared.params(row) for row in rows])

    def execute_params(self, prepared: Prepared, params: Sequence[Any]) -> None:
        """`execute_many` with the parameters made beforehand (`Prepared.params`), outside the transaction. (One
        INSERT of many VALUES rows, which lets the interpreter's lock go once, not once a row, cost SQLite 40% more
        CPU a card log row.)"""
        self._raw.executemany(prepared.sql, params)


class Autocommit:
    """One single-row statement run in autocommit mode on a SQLite connection of its own per thread: no pool
    checkout and checkin, no BEGIN and COMMIT around it (the statement is its own transaction), as the floor runs
    its insert. About 0.12 M instructions less per replay-cache insert than `transaction` (0.03 against 0.15).
    SQLite only: its connections are local files, opened once per thread and process (a connection is not used
    across a fork); the engine's pragmas apply (they run on connect). After a driver error other than a constraint
    or a lock, the connection is closed and the next call opens another."""

    def __init__(self, engine: Engine, prepared: Prepared) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("Autocommit runs on SQLite only")
        self.engine = engine
        self.prepared = prepared
        self._dbapi = engine.dialect.loaded_dbapi
        self._local = threading.local()

    def execute(self, values: Mapping[str, Any]) -> None:
        """Run the statement; a driver error is raised as SQLAlchemy's (IntegrityError, OperationalError...)."""
        params = self.prepared.params(values)
        try:
            connection = self._connection()
            connection.execute(self.prepared.sql, params)
        except self._dbapi.Error as exc:
            if not isinstance(exc, self._dbapi.IntegrityError) and "locked" not in str(exc):
                self._discard()
            raise _as_sqlalchemy(self.engine, exc) from exc

    def _connection(self) -> Any:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            fairy = self.engine.raw_connection()  # opened by the pool, so the engine's connect events run
            fairy.detach()  # ours from now on: the pool neither counts it nor hands it out
            local.connection, local.pid = fairy.dbapi_connection, os.getpid()
            local.connection.isolation_level = None  # autocommit: each statement commits itself
        return local.connection

    def _discard(self) -> None:
        connection, self._local.pid = getattr(self._local, "connection", None), None
        if connection is not None:
            with suppress(self._dbapi.Error):
                connection.close()


def _as_sqlalchemy(engine: Engine, exc: Exception) -> StatementError:
    """A driver error as SQLAlchemy's own (IntegrityError, OperationalError...), as its execution layer raises it."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    return DBAPIError.instance(None, None, exc, dbapi_error, connection_invalidated=False, dialect=engine.dialect)


@contextmanager
def transaction(engine: Engine) -> Iterator[Cursor]:
    """A cursor on a pooled connection; committed when the block ends, rolled back (and the error raised as
    SQLAlchemy's) when it fails."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    def as_sqlalchemy(exc: Exception) -> StatementError:
        return _as_sqlalchemy(engine, exc)

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
