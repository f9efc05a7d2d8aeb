"""The async engine and sessions. The engine is created by the lifespan, never at import.

Waiting for the database is bounded (PostgreSQL): connecting by ``connect_timeout``, each
statement by ``statement_timeout`` (server-side, and client-side for a server that stopped
answering), waiting for a pooled connection by ``pool_timeout``. When the database is
unreachable, stalled or timing out, :func:`database_unavailable` says so and the origin
answers 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` (``origin.app``), never a 500.

Pooled connections are checked before use only when they sat idle for
:data:`PING_AFTER_IDLE_SECONDS` (:func:`ping_idle_connections`): a connection in steady use
proves itself on every statement, and a database that dropped it during an outage raises a
disconnect error that makes SQLAlchemy replace every pooled connection at once. Pinging on
every checkout (``pool_pre_ping``) cost three round trips per transaction — a third of a
checkout's statements.

PgBouncer: a PostgreSQL URL ending in ``?pgbouncer=true`` (the query parameter is removed
before connecting) makes the engine safe behind PgBouncer's transaction pooling, where
consecutive transactions of one client connection may run on different server connections:
no prepared-statement cache in asyncpg or SQLAlchemy (a cached statement would not exist on
the next server connection) and a unique name for every statement prepared within a
transaction (so two clients' statements never collide on one server connection). It costs
a round trip per statement, which is why it is not the default (docs/deploy.md).
"""

from __future__ import annotations

import os
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # (no stubs; only its exception classes)
from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# A connection idle longer than this is pinged before use (a database restart, a firewall
# dropping idle flows); one used more recently is trusted.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "checkout_edge_idle_since"


def _ensure_sqlite_dir(url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    path = url[len(prefix) :] if url.startswith(prefix) else ""
    if path and path != ":memory:":
        Path(os.path.dirname(path) or ".").mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of the driver's implicit,
    # deferred transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; the busy timeout makes writers queue
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Deferred transactions that read and then write deadlock each other on SQLite ("database
    # is locked" without waiting). BEGIN IMMEDIATE takes the write lock up front, so
    # concurrent checkouts in one process queue behind the busy timeout instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _mark_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _forget_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # A new connection (also a replacement on an old record) has just proved itself.
    record.info.pop(_IDLE_SINCE, None)


def _ping_if_idle(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    idle_since = record.info.pop(_IDLE_SINCE, None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The pool discards this connection and checks out another (or connects anew).
        raise sa_exc.DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping pooled connections before use, but only those idle for
    :data:`PING_AFTER_IDLE_SECONDS` (see the module docstring)."""
    pool = engine.sync_engine
    event.listen(pool, "checkin", _mark_idle)
    event.listen(pool, "connect", _forget_idle)
    event.listen(pool, "checkout", _ping_if_idle)


def split_pgbouncer(url: str) -> tuple[str, bool]:
    """``url`` without its ``pgbouncer`` query parameter, and whether that asked for PgBouncer.

    ``ValueError`` when the parameter is neither ``true`` nor ``false``, or not on PostgreSQL.
    """
    parsed = make_url(url)
    value = parsed.query.get("pgbouncer")
    if value is None:
        return url, False
    if value not in ("true", "false"):
        raise ValueError("the pgbouncer= query parameter must be true or false")
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("pgbouncer= applies to postgresql+asyncpg:// URLs only")
    bare = parsed.difference_update_query(["pgbouncer"])
    return bare.render_as_string(hide_password=False), value == "true"


# Engines whose connections go through PgBouncer's transaction pooling.
_BEHIND_PGBOUNCER: weakref.WeakSet[Any] = weakref.WeakSet()


def behind_pgbouncer(engine: AsyncEngine | Engine) -> bool:
    """Whether ``engine`` was made for PgBouncer (``?pgbouncer=true``): a statement outside a
    transaction block may then be parsed on one server connection and run on another, so
    every statement must run inside one."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    return sync in _BEHIND_PGBOUNCER


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 2.0,
    pool_timeout: float = 10.0,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """The engine for ``url``; ``statement_timeout`` ``None`` leaves statements unbounded
    (migrations and seeding may legitimately run long)."""
    url, pgbouncer = split_pgbouncer(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if statement_timeout is not None:
        connect_args["command_timeout"] = statement_timeout
        if not pgbouncer:
            # PgBouncer refuses unknown start-up parameters; behind it the client-side
            # command_timeout alone bounds a statement.
            connect_args["server_settings"] = {
                "statement_timeout": str(int(statement_timeout * 1000))
            }
    if pgbouncer:
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    engine = create_async_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
    )
    ping_idle_connections(engine)
    if pgbouncer:
        _BEHIND_PGBOUNCER.add(engine.sync_engine)
    return engine


# Errors that mean "the database cannot answer now", not "this request is wrong".
# Driver errors after which the connection is no use: closed, reset, refused, never answered.
_LOST_DRIVER_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,  # refused, rejected, failed, not now
    asyncpg.exceptions.InterfaceError,  # among others: the connection is gone
    asyncpg.exceptions.AdminShutdownError,
)
# ... and those after which the database, not the request, is at fault.
_UNAVAILABLE_DRIVER_ERRORS = (
    *_LOST_DRIVER_ERRORS,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
)


# Everything asyncpg raises (its errors are not OSError or SQLAlchemy's).
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresError,
    asyncpg.exceptions.InterfaceError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc``, raised by asyncpg itself, leaves its connection unusable."""
    return isinstance(exc, _LOST_DRIVER_ERRORS)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable, stalled or timing out."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.InterfaceError | sa_exc.OperationalError):
        return True  # pool wait, dropped connection, server-side trouble
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, _UNAVAILABLE_DRIVER_ERRORS)
    return isinstance(exc, _UNAVAILABLE_DRIVER_ERRORS)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def engine_scope(url: str, *, pool_size: int = 10) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=pool_size)
    try:
        yield engine
    finally:
        await engine.dispose()
