"""One line for a database the origin cannot use: what is wrong with ``DATABASE_URL`` and the fix.

Used where a person reads the answer — ``python -m origin migrate | seed | reap-holds`` and
the origin's start-up — so a database that does not exist, a server that does not answer,
refused credentials or a malformed URL each end in one line naming the variable, never in a
driver traceback. :func:`probe` connects once within a deadline and returns that line (or
``None`` when the database answers); :func:`describe` classifies an exception raised while
using the database and returns ``None`` for anything it does not recognise, so an unexpected
error still surfaces in full.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from origin.db import create_engine

__all__ = ["DatabaseProblem", "describe", "probe"]

PROBE_SECONDS = 5.0

# PostgreSQL SQLSTATEs that mean "this configuration cannot work", not "try again".
_NO_DATABASE = "3D000"
_AUTH = {"28000", "28P01"}


class DatabaseProblem(Exception):
    """The database named by ``variable`` cannot be used; ``str()`` is the one line to print."""


def _sqlstates(exc: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            yield state
        orig = getattr(current, "orig", None)
        current = current.__cause__ or (orig if isinstance(orig, BaseException) else None)


def _where(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def parse(url: str, variable: str = "DATABASE_URL") -> URL:
    """``url`` parsed, or :class:`DatabaseProblem` saying how it is malformed."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseProblem(
            f"{variable} is not a valid database URL ({exc}); expected "
            "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE or "
            "sqlite+aiosqlite:///PATH"
        ) from None
    return parsed


def describe(exc: BaseException, url: str, variable: str = "DATABASE_URL") -> str | None:
    """The one line for ``exc`` raised while using ``url``, or ``None`` if not recognised."""
    if isinstance(exc, DatabaseProblem):
        return str(exc)
    try:
        parsed = parse(url, variable)
    except DatabaseProblem as problem:
        return str(problem)
    if parsed.get_backend_name() == "sqlite":
        if isinstance(exc, OSError) or "unable to open database file" in str(exc):
            return (
                f"{variable}: cannot open the SQLite file {parsed.database!r} ({exc}); "
                "check the path and that its directory is writable"
            )
        return None
    where = _where(parsed)
    states = set(_sqlstates(exc))
    if _NO_DATABASE in states:
        user = f" -U {parsed.username}" if parsed.username else ""
        return (
            f"{variable}: database {parsed.database!r} does not exist on {where}; create it "
            f"with `createdb -h {parsed.host or 'localhost'} -p {parsed.port or 5432}{user} "
            f"{parsed.database}` and run `python -m origin migrate`"
        )
    if states & _AUTH:
        return (
            f"{variable}: PostgreSQL at {where} refused user {parsed.username!r} "
            f"({_first_line(exc)}); check the user and password in the URL"
        )
    if isinstance(exc, socket.gaierror):
        return f"{variable}: unknown host {parsed.host!r}; check the host name in the URL"
    if isinstance(exc, TimeoutError):
        return (
            f"{variable}: PostgreSQL at {where} did not answer within {PROBE_SECONDS:.0f} s; "
            "check the host and port and that the server is running"
        )
    if isinstance(exc, OSError):
        return (
            f"{variable}: cannot reach PostgreSQL at {where} ({_first_line(exc)}); "
            "start the server or fix the host and port in the URL"
        )
    return None


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


async def probe(url: str, variable: str = "DATABASE_URL") -> str | None:
    """Connect once and run ``SELECT 1``: ``None`` when that works, else the one line."""
    try:
        parse(url, variable)
        engine = create_engine(url, pool_size=1)
    except (DatabaseProblem, ArgumentError, ValueError) as exc:
        return describe(exc, url, variable)
    try:
        async with asyncio.timeout(PROBE_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return describe(exc, url, variable) or (
            f"{variable}: the database at {_safe(url)} cannot be used: {_first_line(exc)}"
        )
    finally:
        await engine.dispose()
    return None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<malformed URL>"
