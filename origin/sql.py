"""Hot-path statements, written once and run by the cheapest driver at hand.

A checkout runs a handful of short statements; through SQLAlchemy each costs about five times
the CPU it costs through asyncpg directly (the execution context, result wrapping, a greenlet
switch), and building a Core construct per request costs as much again. So the statements of
the hot path are :class:`Sql` objects built once at import, with ``:name`` parameters, and a
:class:`Statements` runs them in the caller's transaction:

- on PostgreSQL, on the transaction's own asyncpg connection (asyncpg's prepared-statement
  cache; one round trip per statement, ``executemany`` pipelined into one);
- elsewhere (SQLite for ``make run``), through the session like any other statement.

The transaction stays SQLAlchemy's: it is begun, committed and rolled back by the caller's
session exactly as before. SQLAlchemy begins the server's transaction with the session's first
statement, so until one has run, :func:`statements` goes through the session (a raw statement
would otherwise commit on its own).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]  # (no stubs)
from sqlalchemy import JSON, Table, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.types import TypeEngine

from origin.db import behind_pgbouncer, connection_lost

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """One statement with ``:name`` parameters; ``types`` bind values as the columns do
    (aware datetimes on SQLite, JSON documents)."""

    __slots__ = ("core", "json_names", "names", "native", "source")

    def __init__(self, source: str, *, types: Mapping[str, TypeEngine[Any]] | None = None) -> None:
        self.source = " ".join(source.split())
        self.names: tuple[str, ...] = tuple(dict.fromkeys(_PARAMETER.findall(self.source)))
        position = {name: index for index, name in enumerate(self.names, start=1)}
        self.native = _PARAMETER.sub(lambda m: f"${position[m.group(1)]}", self.source)
        types = dict(types or {})
        self.core = text(self.source).bindparams(
            *(bindparam(name, type_=types[name]) for name in self.names if name in types)
        )
        self.json_names = frozenset(n for n, t in types.items() if isinstance(t, JSON))

    @classmethod
    def insert(cls, table: Table, *, suffix: str = "", skip: Sequence[str] = ()) -> Sql:
        """``INSERT INTO table (every column but skip) VALUES (…) suffix``, typed as the table."""
        columns = [column for column in table.columns if column.name not in skip]
        names = ", ".join(column.name for column in columns)
        values = ", ".join(f":{column.name}" for column in columns)
        return cls(
            f"INSERT INTO {table.name} ({names}) VALUES ({values}) {suffix}",  # noqa: S608
            types={column.name: column.type for column in columns},
        )

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """``params`` in asyncpg's positional order, JSON documents as text."""
        return [
            json.dumps(params[name]) if name in self.json_names else params[name]
            for name in self.names
        ]

    def __repr__(self) -> str:
        return f"Sql({self.source!r})"


class Statements(Protocol):
    async def fetchrow(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row, or None."""
        ...

    async def fetch(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row."""
        ...

    async def execute(self, sql: Sql, params: Mapping[str, Any]) -> int:
        """Run ``sql``; the number of rows it changed."""
        ...

    async def executemany(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None: ...


@contextmanager
def _integrity_errors(sql: Sql) -> Iterator[None]:
    """asyncpg's constraint violation as SQLAlchemy's ``IntegrityError``, as the session
    raises it."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(sql.source, None, exc) from exc


class _Native:
    """asyncpg, on the connection (and in the transaction) SQLAlchemy already holds.

    A constraint violation is raised as SQLAlchemy's ``IntegrityError``, as the session would
    (callers retry a lost race on it); anything else as asyncpg raised it, which
    :func:`origin.db.database_unavailable` reads like SQLAlchemy's wrapping of it.
    """

    __slots__ = ("connection",)

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def fetchrow(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Any] | None:
        with _integrity_errors(sql):
            row: Sequence[Any] | None = await self.connection.fetchrow(
                sql.native, *sql.arguments(params)
            )
        return row

    async def fetch(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        with _integrity_errors(sql):
            rows: Sequence[Sequence[Any]] = await self.connection.fetch(
                sql.native, *sql.arguments(params)
            )
        return rows

    async def execute(self, sql: Sql, params: Mapping[str, Any]) -> int:
        with _integrity_errors(sql):
            status: str = await self.connection.execute(sql.native, *sql.arguments(params))
        # The command tag: "UPDATE 1", "INSERT 0 1", "DELETE 3".
        return int(status.rsplit(" ", 1)[-1])

    async def executemany(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        with _integrity_errors(sql):
            await self.connection.executemany(sql.native, [sql.arguments(row) for row in rows])


class _Session:
    """Through the session: every dialect, every type."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetchrow(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Any] | None:
        return (await self.session.execute(sql.core, dict(params))).first()

    async def fetch(self, sql: Sql, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        return (await self.session.execute(sql.core, dict(params))).all()

    async def execute(self, sql: Sql, params: Mapping[str, Any]) -> int:
        result: Any = await self.session.execute(sql.core, dict(params))
        return int(result.rowcount)

    async def executemany(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.session.execute(sql.core, [dict(row) for row in rows])


async def driver_connection(connection: AsyncConnection) -> Any:
    return (await connection.get_raw_connection()).driver_connection


@asynccontextmanager
async def own_transaction(engine: AsyncEngine) -> AsyncIterator[Statements]:
    """A pooled connection whose statements each commit on their own (PostgreSQL, not behind
    PgBouncer: see :func:`origin.db.behind_pgbouncer`).

    SQLAlchemy never sees these statements fail, so a connection that failed the way a dropped
    one does is invalidated here — with every other connection of the pool, as SQLAlchemy
    does on a disconnect — instead of going back to the pool for the next request to meet.
    (Inside a session's transaction SQLAlchemy notices by itself: its rollback fails.)
    """
    async with engine.connect() as connection:
        try:
            yield _Native(await driver_connection(connection))
        except BaseException as exc:
            if connection_lost(exc):
                await connection.invalidate(exc if isinstance(exc, Exception) else None)
                # The others were opened to the same server: a fresh pool replaces them.
                await engine.dispose(close=False)
            raise


async def statements(session: AsyncSession) -> Statements:
    """Run :class:`Sql` in ``session``'s transaction: natively once the server's transaction
    has begun, through the session before (or on another driver)."""
    connection = await session.connection()
    if connection.dialect.driver != "asyncpg":
        return _Session(session)
    native = await driver_connection(connection)
    return _Native(native) if native.is_in_transaction() else _Session(session)


def own_transaction_engine(engine: AsyncEngine | None) -> AsyncEngine | None:
    """``engine`` when its statements can each commit on their own (:func:`own_transaction`):
    PostgreSQL, not behind PgBouncer (which needs a transaction block around every statement);
    else None (use a session's transaction)."""
    if engine is None or engine.dialect.driver != "asyncpg" or behind_pgbouncer(engine):
        return None
    return engine
