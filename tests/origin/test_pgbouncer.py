"""The origin's engine behind PgBouncer's transaction pooling (``?pgbouncer=true``).

The checkout concurrency tests run through PgBouncer too (checkout/test_checkout_concurrency.py);
these show the hop is real and that the engine options are what makes it work.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from origin.db import create_engine, split_pgbouncer


async def _many_transactions(url: str, count: int = 120) -> list[BaseException | int]:
    """More concurrent clients than PgBouncer has server connections, statements reused."""
    engine = create_engine(url, pool_size=30)

    async def transaction(i: int) -> int:
        async with engine.begin() as connection:
            for _ in range(3):
                await connection.execute(SHOP_COUNT, {"id": str(i)})
            port = (await connection.execute(text("SELECT inet_server_port()"))).scalar_one()
            return int(port)

    try:
        return list(
            await asyncio.gather(*(transaction(i) for i in range(count)), return_exceptions=True)
        )
    finally:
        await engine.dispose()


SHOP_COUNT = text("SELECT count(*) FROM shops WHERE id = :id")


async def test_the_engine_reaches_postgresql_through_pgbouncer(
    pgbouncer_url: str, pg_url: str
) -> None:
    assert f":{urlsplit(pg_url).port or 5432}/" not in pgbouncer_url
    # Answered by the PostgreSQL server behind the bouncer, every time.
    assert await _many_transactions(pgbouncer_url) == [5432] * 120


async def test_without_pgbouncer_mode_prepared_statements_break(pgbouncer_url: str) -> None:
    plain, enabled = split_pgbouncer(pgbouncer_url)
    assert enabled
    outcomes = await _many_transactions(plain)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures, "asyncpg's statement cache went unnoticed behind transaction pooling"
    assert all(isinstance(f, DBAPIError) and "prepared statement" in str(f) for f in failures)
