"""Central inventory: routing, the COM-D03 policy matrix, holds on the shared pool (§3.6).

The plan's COM-401 test contract (TC-01…05) runs against real failures: a central database
URL that refuses connections, a database without the pool's tables (every query fails), a
shop without allocations, a server that accepts connections and never answers — and, in
``test_central_inventory_separate.py``, a PostgreSQL central database dropped mid-run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin import migrate
from origin.checkout.reaper import reap_once
from origin.db import engine_scope, session_factory
from origin.inventory.hold_states import commit_hold, end_hold
from origin.models import CheckoutIntent, HoldItem, InventoryHold
from origin.models.types import utcnow
from tests.conftest import StripeSim, seed
from tests.origin.inventory.central_support import (
    SHOP_STOCK,
    UNREACHABLE_URL,
    assert_conserved,
    assert_unavailable,
    cap,
    central_test_catalog,
    checkout,
    fallbacks,
    refusals,
    shop_stock,
    short_items,
    tee,
    validate,
)
from tests.support import databases

PRODUCTION_ENFORCED = {"origin_env": "production", "enforce_central_inventory": True}
M = "pool-tee|size=m"


@pytest.fixture
async def catalog(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    data = central_test_catalog()
    await seed(sessions, data)
    return data


@pytest.fixture
def paying(stripe_sim: StripeSim, sim: httpx.AsyncClient) -> dict[str, Any]:
    """Settings for an origin that pays through the (reset) Stripe stand-in."""
    return {
        "stripe_api_base": stripe_sim.url,
        "stripe_max_network_retries": 0,
        "stripe_timeout_seconds": 3,
    }


@pytest.fixture
def tableless_database() -> Iterator[str]:
    """A PostgreSQL database that exists but holds no tables: every pool query fails."""
    url = databases.create_database("ce_central_empty")
    try:
        yield url
    finally:
        databases.drop_database(url)


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never says a word (a hung database)."""
    writers: list[asyncio.StreamWriter] = []

    def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/central"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def holds_and_intents(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        holds = len((await session.execute(select(InventoryHold.id))).all())
        intents = len((await session.execute(select(CheckoutIntent.id))).all())
    return holds, intents


# -- COM-401 test contract ------------------------------------------------------------------


async def test_com401_tc01_prod_enforced_required_shop_fails_closed_when_central_unreachable(
    origin_factory: Callable[..., Any],
    catalog: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=UNREACHABLE_URL, **PRODUCTION_ENFORCED
    )

    assert_unavailable(await validate(origin, "beta", tee("m", 1)))
    assert_unavailable(await checkout(origin, "beta", tee("m", 1)))

    assert await holds_and_intents(sessions) == (0, 0)  # nothing held, nothing claimed
    assert set((await shop_stock(sessions, "beta")).values()) == {SHOP_STOCK, 7}
    assert refusals(origin, "beta") == 2
    assert fallbacks(origin, "beta") == 0


async def test_com401_tc02_prod_enforced_optional_shop_falls_back_when_central_unreachable(
    origin_factory: Callable[..., Any],
    catalog: Any,
    paying: dict[str, Any],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=UNREACHABLE_URL, **PRODUCTION_ENFORCED, **paying
    )

    # The pool has 5; the shop has 50 of its own, and that is what is checked and held.
    ok = await validate(origin, "alpha", tee("m", 10))
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    assert short_items(await validate(origin, "alpha", tee("m", 51))) == [
        {"sku": "pool-tee", "variantKey": "pool-tee|size=m", "requested": 51, "available": 50}
    ]
    created = await checkout(origin, "alpha", tee("m", 10))
    assert created.status_code == 201, created.text

    assert (await shop_stock(sessions, "alpha"))["pool-tee|size=m"] == SHOP_STOCK - 10
    async with sessions() as session:
        pools = (await session.execute(select(HoldItem.pool))).scalars().all()
    assert pools == ["shop"]
    assert fallbacks(origin, "alpha") == 3
    assert refusals(origin, "alpha") == 0


@pytest.mark.parametrize("shop", ["alpha", "beta"])
async def test_com401_tc03_dev_enforced_falls_back_whatever_the_shop_flag(
    origin_factory: Callable[..., Any], catalog: Any, shop: str
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=UNREACHABLE_URL,
        origin_env="development",
        enforce_central_inventory=True,
    )

    ok = await validate(origin, shop, tee("m", 10))

    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    assert fallbacks(origin, shop, env="development") == 1
    assert refusals(origin, shop, env="development") == 0


async def test_com401_tc04_prod_enforced_required_shop_without_allocation_fails_closed(
    origin_factory: Callable[..., Any],
    catalog: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED)  # the pool in the origin's database

    # gamma has no allocation at all; beta asks for a SKU not allocated to it.
    assert_unavailable(await validate(origin, "gamma", tee("m", 1)))
    assert_unavailable(await checkout(origin, "gamma", tee("m", 1)))
    assert_unavailable(await validate(origin, "beta", tee("m", 1), cap(1)))

    assert await holds_and_intents(sessions) == (0, 0)
    assert (refusals(origin, "gamma"), refusals(origin, "beta")) == (2, 1)
    assert await assert_conserved(sessions) == {"pool-tee|size=m": 5, "pool-tee|size=l": 2}


async def test_com401_tc05_prod_enforced_optional_shop_falls_back_when_allocation_query_fails(
    origin_factory: Callable[..., Any],
    catalog: Any,
    tableless_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=tableless_database, **PRODUCTION_ENFORCED
    )

    ok = await validate(origin, "alpha", tee("m", 10))
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    assert fallbacks(origin, "alpha") == 1
    # The same failure for a shop that requires the pool is a refusal.
    assert_unavailable(await validate(origin, "beta", tee("m", 1)))
    assert refusals(origin, "beta") == 1
    reasons = {r.reason for r in caplog.records if hasattr(r, "shop")}  # type: ignore[attr-defined]
    assert reasons == {"query_failed"}


# -- the rest of the policy matrix ------------------------------------------------------


async def test_production_without_enforcement_falls_back_even_for_a_required_shop(
    origin_factory: Callable[..., Any], catalog: Any
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=UNREACHABLE_URL,
        origin_env="production",
        enforce_central_inventory=False,
    )

    ok = await validate(origin, "beta", tee("m", 10))

    assert ok.status_code == 200, ok.text
    assert (fallbacks(origin, "beta"), refusals(origin, "beta")) == (1, 0)


async def test_missing_allocation_falls_back_counted_where_allowed(
    origin_factory: Callable[..., Any], catalog: Any
) -> None:
    development = await origin_factory(origin_env="development", enforce_central_inventory=True)

    ok = await validate(development, "gamma", tee("m", 10))

    assert ok.status_code == 200, ok.text
    assert fallbacks(development, "gamma", env="development") == 1


async def test_unallocated_sku_of_an_optional_shop_is_plain_shop_stock_not_a_fallback(
    origin_factory: Callable[..., Any], catalog: Any
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED)

    ok = await validate(origin, "alpha", cap(7))
    short = await validate(origin, "alpha", cap(8))

    assert ok.status_code == 200, ok.text
    assert short_items(short) == [
        {"sku": "own-cap", "variantKey": "own-cap", "requested": 8, "available": 7}
    ]
    assert fallbacks(origin, "alpha") == 0


async def test_allocated_variant_without_a_central_row_is_unavailable(
    origin_factory: Callable[..., Any], catalog: Any
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED)

    assert_unavailable(await validate(origin, "beta", tee("xl", 1)))
    ok = await validate(origin, "alpha", tee("xl", SHOP_STOCK))

    assert ok.status_code == 200, ok.text
    assert (refusals(origin, "beta"), fallbacks(origin, "alpha")) == (1, 1)


async def test_silent_central_database_is_unavailable_within_the_timeout(
    origin_factory: Callable[..., Any], catalog: Any, silent_server: str
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=silent_server,
        central_inventory_timeout_seconds=0.5,
        **PRODUCTION_ENFORCED,
    )

    started = time.monotonic()
    refused = await validate(origin, "beta", tee("m", 1))
    fell_back = await validate(origin, "alpha", tee("m", 1))
    elapsed = time.monotonic() - started

    assert_unavailable(refused)
    assert fell_back.status_code == 200, fell_back.text
    assert elapsed < 3, f"two central lookups took {elapsed:.1f}s"
    assert (refusals(origin, "beta"), fallbacks(origin, "alpha")) == (1, 1)


async def test_fallback_and_refusal_are_logged_with_shop_env_and_reason(
    origin_factory: Callable[..., Any], catalog: Any, caplog: pytest.LogCaptureFixture
) -> None:
    origin = await origin_factory(
        central_inventory_database_url=UNREACHABLE_URL, **PRODUCTION_ENFORCED
    )

    with caplog.at_level("WARNING", logger="origin.central"):
        await validate(origin, "alpha", tee("m", 1))
        await validate(origin, "beta", tee("m", 1))

    records = [r for r in caplog.records if hasattr(r, "shop")]
    assert [(r.shop, r.env, r.reason) for r in records] == [  # type: ignore[attr-defined]
        ("alpha", "production", "unreachable"),
        ("beta", "production", "unreachable"),
    ]
    assert "fallback" in records[0].getMessage()
    assert "fail closed" in records[1].getMessage()


# -- the shared pool in the origin's database ---------------------------------------------


async def test_allocated_sku_is_validated_against_the_pool_shared_by_shops(
    origin_factory: Callable[..., Any], catalog: Any
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED)

    assert short_items(await validate(origin, "alpha", tee("m", 6))) == [
        {"sku": "pool-tee", "variantKey": "pool-tee|size=m", "requested": 6, "available": 5}
    ]
    ok = await validate(origin, "beta", tee("m", 5), tee("l", 2))
    assert ok.status_code == 200, ok.text
    assert (fallbacks(origin, "alpha"), fallbacks(origin, "beta")) == (0, 0)


async def test_checkout_holds_central_stock_shared_across_shops_and_conserves_it(
    origin_factory: Callable[..., Any],
    catalog: Any,
    paying: dict[str, Any],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED, **paying)

    first = await checkout(origin, "alpha", tee("m", 3), cap(2))
    assert first.status_code == 201, first.text
    assert short_items(await checkout(origin, "beta", tee("m", 3))) == [
        {"sku": "pool-tee", "variantKey": "pool-tee|size=m", "requested": 3, "available": 2}
    ]
    second = await checkout(origin, "beta", tee("m", 2), tee("l", 2))
    assert second.status_code == 201, second.text

    assert await assert_conserved(sessions) == {"pool-tee|size=m": 0, "pool-tee|size=l": 0}
    assert await shop_stock(sessions, "beta") == {
        "pool-tee|size=m": SHOP_STOCK, "pool-tee|size=l": SHOP_STOCK,
        "pool-tee|size=xl": SHOP_STOCK, "own-cap": 7,
    }  # fmt: skip
    assert (await shop_stock(sessions, "alpha"))["own-cap"] == 5
    async with sessions() as session:
        items = (
            await session.execute(
                select(HoldItem.hold_id, HoldItem.pool, HoldItem.variant_key).order_by(
                    col(HoldItem.id)
                )
            )
        ).all()
    first_id = first.json()["inventoryReservationId"]
    assert {(pool, key) for hold_id, pool, key in items if hold_id == first_id} == {
        ("central", "pool-tee|size=m"),
        ("shop", "own-cap"),
    }


async def test_concurrent_checkouts_of_two_shops_never_oversell_the_pool(
    origin_factory: Callable[..., Any],
    catalog: Any,
    paying: dict[str, Any],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED, **paying)

    answers = await asyncio.gather(
        *(checkout(origin, shop, tee("m", 1)) for shop in ["alpha", "beta"] * 4)
    )

    assert sorted(r.status_code for r in answers) == [201] * 5 + [409] * 3
    assert await assert_conserved(sessions) == {"pool-tee|size=m": 0, "pool-tee|size=l": 2}


async def _hold(session: AsyncSession, hold_id: str) -> InventoryHold:
    hold = await session.get(InventoryHold, hold_id)
    assert hold is not None
    return hold


async def test_release_expiry_and_payment_keep_central_stock_conserved(
    origin_factory: Callable[..., Any],
    catalog: Any,
    paying: dict[str, Any],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    origin = await origin_factory(**PRODUCTION_ENFORCED, **paying)
    state = origin.state
    ids = []
    for shop, quantity in (("alpha", 1), ("beta", 1), ("alpha", 2), ("beta", 1)):
        response = await checkout(origin, shop, tee("m", quantity))
        assert response.status_code == 201, response.text
        ids.append(response.json()["inventoryReservationId"])
    released, reaped, paid, late = ids
    assert await assert_conserved(sessions) == {"pool-tee|size=m": 0, "pool-tee|size=l": 2}

    async with state.sessions() as session, session.begin():
        hold = await _hold(session, released)
        assert await end_hold(
            session=session,
            hold=hold,
            to="released",
            reason="test",
            metrics=state.metrics,
            remote_pool=None,
        )
    assert (await assert_conserved(sessions))["pool-tee|size=m"] == 1

    async with state.sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id).in_([reaped, late]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    expired = await reap_once(
        sessions=state.sessions, payments=state.payments, metrics=state.metrics, remote_pool=None
    )
    assert expired == 2
    assert (await assert_conserved(sessions))["pool-tee|size=m"] == 3

    async with state.sessions() as session, session.begin():
        assert (
            await commit_hold(
                session=session,
                hold=await _hold(session, paid),
                metrics=state.metrics,
                remote_pool=None,
            )
            == "committed"
        )
        # A payment after expiry takes the central stock again while there is some.
        assert (
            await commit_hold(
                session=session,
                hold=await _hold(session, late),
                metrics=state.metrics,
                remote_pool=None,
            )
            == "retaken"
        )
    assert await assert_conserved(sessions) == {"pool-tee|size=m": 2, "pool-tee|size=l": 2}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'origin.db'}"
    migrate.upgrade(url)
    return url


async def test_pool_in_a_sqlite_origin_database_holds_and_survives_a_failing_query(
    origin_factory: Callable[..., Any], sqlite_url: str, paying: dict[str, Any]
) -> None:
    async with engine_scope(sqlite_url) as engine:
        sqlite_sessions = session_factory(engine)
        await seed(sqlite_sessions, central_test_catalog())
        origin = await origin_factory(database_url=sqlite_url, **PRODUCTION_ENFORCED, **paying)
        assert (await checkout(origin, "alpha", tee("m", 2))).status_code == 201
        assert (await assert_conserved(sqlite_sessions))[M] == 3

        # The pool's allocation query now fails inside the checkout's own transaction: the
        # savepoint keeps that transaction usable for the fallback.
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE central_allocations"))
        assert_unavailable(await validate(origin, "beta", tee("m", 1)))
        assert (await checkout(origin, "alpha", tee("m", 10))).status_code == 201

        assert (await shop_stock(sqlite_sessions, "alpha"))[M] == SHOP_STOCK - 10
        assert (await assert_conserved(sqlite_sessions))[M] == 3
        assert (refusals(origin, "beta"), fallbacks(origin, "alpha")) == (1, 1)
