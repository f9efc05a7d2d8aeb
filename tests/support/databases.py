"""Throw-away PostgreSQL databases for a test run, built by Alembic (never ``create_all``)."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from origin import migrate


def admin_url(configured: str) -> str:
    """The admin URL in asyncpg's form; ``TEST_POSTGRES_URL`` may use either spelling.

    ``DATABASE_URL`` names the driver (``postgresql+asyncpg://``) and asyncpg wants the plain
    ``postgresql://``; a user who copies one into the other must not be told that PostgreSQL
    is unreachable.
    """
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if configured.startswith(prefix):
            return "postgresql://" + configured.removeprefix(prefix)
    return configured


ADMIN_URL = admin_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(plain_url: str) -> str:
    return plain_url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database(prefix: str = "ce_test") -> str:
    """Create an empty database; returns its SQLAlchemy (asyncpg) URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return sqlalchemy_url(_with_database(ADMIN_URL, name))


def create_migrated_database(prefix: str = "ce_test") -> str:
    url = create_database(prefix)
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def check_postgres() -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    await connection.close()


async def check_redis() -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()
