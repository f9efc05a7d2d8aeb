"""The per-process catalog cache sees every catalog write, whoever makes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from origin import migrate
from origin.catalog.cache import CatalogCache, catalog_version
from origin.db import create_engine, session_factory
from origin.models import CentralAllocation, Coupon, Product, Variant
from tests.conftest import load_test_catalog, seed
from tests.support import databases

HEADBAND_M = "cf-headband|color=navy|size=m"


async def read(cache: CatalogCache, sessions: async_sessionmaker[AsyncSession], shop: str) -> Any:
    async with sessions() as session, session.begin():
        return await cache.shop(session, shop)


async def set_price(sessions: async_sessionmaker[AsyncSession], price: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Product)
            .where(col(Product.shop_id) == "testshop", col(Product.sku) == "cf-headband")
            .values(price=price)
        )


@pytest.fixture(params=["postgresql", "sqlite"])
async def catalog_sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A seeded database of each kind (the triggers are written per dialect)."""
    if request.param == "postgresql":
        url = await asyncio.to_thread(databases.create_migrated_database, "ce_catalog")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'origin.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, pool_size=2)
    try:
        sessions = session_factory(engine)
        await seed(sessions, load_test_catalog())
        yield sessions
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await asyncio.to_thread(databases.drop_database, url)


async def test_a_shop_is_read_once_until_the_catalog_changes(
    catalog_sessions: async_sessionmaker[AsyncSession],
) -> None:
    cache = CatalogCache()
    first = await read(cache, catalog_sessions, "testshop")
    again = await read(cache, catalog_sessions, "testshop")
    assert again is first
    assert cache.loads == 1
    assert first.shop.currency == "usd"
    assert first.items[HEADBAND_M].price == 3400
    assert set(first.coupons) == {"WELCOME10", "FIVEOFF", "HUGE"}
    assert await read(cache, catalog_sessions, "no-such-shop") is None


async def test_a_price_written_by_anyone_else_is_seen_at_the_next_read(
    catalog_sessions: async_sessionmaker[AsyncSession],
) -> None:
    cache = CatalogCache()
    assert (await read(cache, catalog_sessions, "testshop")).items[HEADBAND_M].price == 3400

    await set_price(catalog_sessions, 3600)  # another process's transaction, plain SQL

    assert (await read(cache, catalog_sessions, "testshop")).items[HEADBAND_M].price == 3600
    assert cache.loads == 2


async def test_a_reseed_from_another_engine_invalidates_every_process(
    catalog_sessions: async_sessionmaker[AsyncSession],
) -> None:
    caches = [CatalogCache(), CatalogCache()]  # two origin processes
    for cache in caches:
        await read(cache, catalog_sessions, "othershop")
    catalog = load_test_catalog()
    catalog["products"][0]["title"] = "Headband, renamed"
    catalog["coupons"] = catalog["coupons"][:1]
    await seed(catalog_sessions, catalog)
    for cache in caches:
        fresh = await read(cache, catalog_sessions, "testshop")
        assert fresh.items[HEADBAND_M].title == "Headband, renamed"
        assert cache.loads == 2


async def test_coupons_and_allocations_move_the_version_but_stock_does_not(
    catalog_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def version() -> int | None:
        async with catalog_sessions() as session:
            return await catalog_version(session)

    before = await version()
    assert before is not None
    async with catalog_sessions() as session, session.begin():
        await session.execute(update(Variant).values(available=Variant.available - 1))
    assert await version() == before

    async with catalog_sessions() as session, session.begin():
        await session.execute(update(Coupon).values(active=False))
    after_coupons = await version()
    assert after_coupons is not None
    assert after_coupons > before

    async with catalog_sessions() as session, session.begin():
        session.add(CentralAllocation(shop_id="testshop", sku="cf-headband"))
    after_allocation = await version()
    assert after_allocation is not None
    assert after_allocation > after_coupons
