"""The central pool in a PostgreSQL database of its own (``CENTRAL_INVENTORY_DATABASE_URL``).

Each test gets a fresh central database, migrated by Alembic and seeded the operator's way
(shops + the catalog's ``central`` section); the origin's run database is seeded with the
whole catalog, so its own ``central_stock`` rows show that nothing is taken from them.
Conservation is asserted in the central database, where the reservations live. Follow-ups
are carried out by calling the worker's pass (:meth:`CentralDatabase.follow_up`) directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.checkout.reaper import reap_once
from origin.db import create_engine, session_factory
from origin.inventory.central_pool import CentralDatabase
from origin.inventory.hold_states import commit_hold, end_hold, insert_hold, new_hold_id
from origin.inventory.stock import StockLine
from origin.models import (
    CentralFollowUp,
    CentralReservation,
    CentralStock,
    CheckoutIntent,
    HoldItem,
    InventoryHold,
)
from origin.models.types import utcnow
from tests.conftest import OriginClient, StripeSim, seed
from tests.origin.inventory.central_support import (
    SHOP_STOCK,
    assert_conserved,
    assert_unavailable,
    cap,
    central_test_catalog,
    checkout,
    counter,
    drop_database_now,
    fallbacks,
    refusals,
    seed_central_database,
    shop_stock,
    short_items,
    tee,
    validate,
)
from tests.support import databases

PRODUCTION_ENFORCED = {"origin_env": "production", "enforce_central_inventory": True}
M = "pool-tee|size=m"


@pytest.fixture
def central_url() -> Iterator[str]:
    url = databases.create_migrated_database("ce_central")
    try:
        yield url
    finally:
        databases.drop_database(url)


@pytest.fixture
async def central_sessions(
    central_url: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the seeded central database (the origin's is seeded too)."""
    catalog = central_test_catalog()
    await seed(sessions, catalog)
    await seed_central_database(central_url, catalog)
    engine = create_engine(central_url, pool_size=2)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def origin(
    origin_factory: Callable[..., Any],
    central_url: str,
    central_sessions: Any,
    stripe_sim: StripeSim,
    sim: httpx.AsyncClient,
) -> OriginClient:
    client: OriginClient = await origin_factory(
        central_inventory_database_url=central_url,
        stripe_api_base=stripe_sim.url,
        stripe_max_network_retries=0,
        stripe_timeout_seconds=3,
        **PRODUCTION_ENFORCED,
    )
    return client


def database(origin: OriginClient) -> CentralDatabase:
    central = origin.state.central.database
    assert isinstance(central, CentralDatabase)
    return central


async def reservation_status(
    sessions: async_sessionmaker[AsyncSession], hold_id: str
) -> str | None:
    async with sessions() as session:
        reservation = await session.get(CentralReservation, hold_id)
        return None if reservation is None else reservation.status


async def queued_followups(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(CentralFollowUp.hold_id))).scalars())


async def held(origin: OriginClient, shop: str, *items: dict[str, Any]) -> str:
    response = await checkout(origin, shop, *items)
    assert response.status_code == 201, response.text
    hold_id: str = response.json()["inventoryReservationId"]
    return hold_id


async def test_separate_central_database_is_validated_and_held_there(
    origin: OriginClient,
    central_sessions: async_sessionmaker[AsyncSession],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert short_items(await validate(origin, "beta", tee("m", 6)))[0]["available"] == 5

    hold_id = await held(origin, "alpha", tee("m", 3), cap(1))

    assert (await assert_conserved(central_sessions))[M] == 2
    assert await reservation_status(central_sessions, hold_id) == "active"
    # The origin's own copy of the pool is never touched; its hold keeps only shop stock.
    assert (await assert_conserved(sessions))[M] == 5
    async with sessions() as session:
        pools = (await session.execute(select(HoldItem.pool, HoldItem.variant_key))).all()
    assert [tuple(row) for row in pools] == [("shop", "own-cap")]
    assert short_items(await validate(origin, "beta", tee("m", 3)))[0]["available"] == 2

    async with origin.state.sessions() as session, session.begin():
        hold = await session.get(InventoryHold, hold_id)
        assert hold is not None
        assert await end_hold(
            session=session, hold=hold, to="released", reason="test",
            metrics=origin.state.metrics, remote_pool=database(origin),
        )  # fmt: skip
    # The follow-up was committed with the release; the reservation moves when it runs.
    assert await queued_followups(sessions) == [hold_id]
    assert await reservation_status(central_sessions, hold_id) == "active"
    assert await database(origin).follow_up() == 1

    assert await queued_followups(sessions) == []
    assert await reservation_status(central_sessions, hold_id) == "released"
    assert (await assert_conserved(central_sessions))[M] == 5
    assert (fallbacks(origin, "alpha"), fallbacks(origin, "beta")) == (0, 0)


class OriginFailed(Exception):
    """Raised inside the origin's transaction after the central reservation was made."""


async def test_reservation_is_given_back_when_the_origin_transaction_rolls_back(
    origin: OriginClient,
    central_sessions: async_sessionmaker[AsyncSession],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with central_sessions() as session:
        row_id = (
            await session.execute(select(CentralStock.id).where(col(CentralStock.variant_key) == M))
        ).scalar_one()
    hold_id = new_hold_id()

    async def hold_then_fail() -> None:
        async with origin.state.sessions() as session, session.begin():
            session.add(CheckoutIntent(id="intent-rollback", shop_id="alpha", fingerprint="f"))
            await session.flush()
            hold = InventoryHold(
                id=hold_id, shop_id="alpha", intent_id="intent-rollback",
                active_key="intent-rollback", stripe_idempotency_key=f"checkout-edge-{hold_id}",
                expires_at=utcnow() + timedelta(minutes=30), currency="usd", amount_total=4000,
            )  # fmt: skip
            lines = [StockLine("central", row_id, "pool-tee", M, 2)]
            await insert_hold(
                session=session, hold=hold, lines=lines, metrics=origin.state.metrics,
                remote_pool=database(origin),
            )  # fmt: skip
            assert (await assert_conserved(central_sessions))[M] == 3  # reserved over there
            raise OriginFailed

    with pytest.raises(OriginFailed):
        await hold_then_fail()

    # Within the grace a reservation may belong to a transaction still running: kept.
    assert await database(origin).sweep() == 0
    assert await reservation_status(central_sessions, hold_id) == "active"
    assert await database(origin).sweep(orphan_grace=timedelta(0)) == 1

    assert await reservation_status(central_sessions, hold_id) == "released"
    assert (await assert_conserved(central_sessions))[M] == 5
    async with sessions() as session:
        assert await session.get(InventoryHold, hold_id) is None


async def test_mirrors_follow_payment_expiry_and_late_payment(
    origin: OriginClient, central_sessions: async_sessionmaker[AsyncSession]
) -> None:
    state = origin.state
    paid = await held(origin, "alpha", tee("m", 2))
    late_ok = await held(origin, "beta", tee("m", 1))
    late_short = await held(origin, "alpha", tee("m", 2))
    assert (await assert_conserved(central_sessions))[M] == 0

    async with state.sessions() as session, session.begin():
        hold = await session.get(InventoryHold, paid)
        assert hold is not None
        outcome = await commit_hold(
            session=session, hold=hold, metrics=state.metrics, remote_pool=database(origin)
        )
        assert outcome == "committed"
    async with state.sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id).in_([late_ok, late_short]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert await reap_once(
        sessions=state.sessions, payments=state.payments, metrics=state.metrics,
        remote_pool=database(origin),
    )  # fmt: skip
    await database(origin).follow_up()
    assert [await reservation_status(central_sessions, h) for h in (paid, late_ok, late_short)] == [
        "committed",
        "expired",
        "expired",
    ]
    assert (await assert_conserved(central_sessions))[M] == 3

    await held(origin, "beta", tee("m", 2))  # another customer buys what was given back
    outcomes = []
    for hold_id in (late_ok, late_short):
        async with state.sessions() as session, session.begin():
            hold = await session.get(InventoryHold, hold_id)
            assert hold is not None
            outcomes.append(
                await commit_hold(
                    session=session, hold=hold, metrics=state.metrics,
                    remote_pool=database(origin),
                )
            )  # fmt: skip
    await database(origin).follow_up()

    assert outcomes == ["retaken", "not_retaken"]  # the order of the second one is flagged
    assert await reservation_status(central_sessions, late_ok) == "committed"
    assert await reservation_status(central_sessions, late_short) == "expired"
    assert counter(origin, "inventory_central_retake_failed", shop="alpha") == 1
    assert (await assert_conserved(central_sessions))[M] == 0


async def test_sweep_brings_in_line_a_reservation_whose_hold_queued_no_follow_up(
    origin: OriginClient,
    central_sessions: async_sessionmaker[AsyncSession],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    hold_id = await held(origin, "alpha", tee("m", 4))
    # A process that does not know the pool has a database of its own queues nothing.
    async with sessions() as session, session.begin():
        hold = await session.get(InventoryHold, hold_id)
        assert hold is not None
        assert await end_hold(
            session=session, hold=hold, to="expired", reason="ttl",
            metrics=origin.state.metrics, remote_pool=None,
        )  # fmt: skip
    assert await database(origin).follow_up() == 0
    assert await reservation_status(central_sessions, hold_id) == "active"

    assert await database(origin).sweep() == 1
    assert await database(origin).sweep() == 0

    assert await reservation_status(central_sessions, hold_id) == "expired"
    assert (await assert_conserved(central_sessions))[M] == 5


async def test_central_database_dropped_mid_run_turns_to_the_policy(
    origin: OriginClient,
    central_url: str,
    central_sessions: async_sessionmaker[AsyncSession],
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert (await validate(origin, "beta", tee("m", 5))).status_code == 200
    assert short_items(await validate(origin, "beta", tee("m", 6)))[0]["available"] == 5

    await drop_database_now(central_url)

    assert_unavailable(await validate(origin, "beta", tee("m", 1)))
    assert_unavailable(await checkout(origin, "beta", tee("m", 1)))
    ok = await validate(origin, "alpha", tee("m", 10))
    assert ok.status_code == 200, ok.text
    await held(origin, "alpha", tee("m", 10))

    async with sessions() as session:
        holds = (await session.execute(select(InventoryHold.shop_id, HoldItem.pool).join(
            HoldItem, col(HoldItem.hold_id) == col(InventoryHold.id)))).all()  # fmt: skip
    assert [tuple(row) for row in holds] == [("alpha", "shop")]
    assert (await shop_stock(sessions, "alpha"))[M] == SHOP_STOCK - 10
    assert (refusals(origin, "beta"), fallbacks(origin, "alpha")) == (2, 2)
    decisions = [r for r in caplog.records if hasattr(r, "shop") and hasattr(r, "reason")]
    assert {r.reason for r in decisions} == {"unreachable"}  # type: ignore[attr-defined]
    assert all("does not exist" in r.detail for r in decisions)  # type: ignore[attr-defined]


async def test_follow_up_exists_only_when_the_hold_moved(
    origin: OriginClient,
    central_sessions: async_sessionmaker[AsyncSession],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    hold_id = await held(origin, "alpha", tee("m", 1))
    assert await queued_followups(sessions) == []  # a reservation alone needs no follow-up

    async def release_then_fail() -> None:
        async with origin.state.sessions() as session, session.begin():
            hold = await session.get(InventoryHold, hold_id)
            assert hold is not None
            assert await end_hold(
                session=session, hold=hold, to="released", reason="test",
                metrics=origin.state.metrics, remote_pool=database(origin),
            )  # fmt: skip
            raise OriginFailed

    with pytest.raises(OriginFailed):
        await release_then_fail()

    assert await queued_followups(sessions) == []  # rolled back with the release
    assert await database(origin).follow_up() == 0
    assert await reservation_status(central_sessions, hold_id) == "active"
    assert (await assert_conserved(central_sessions))[M] == 4
