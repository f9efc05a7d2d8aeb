"""Migration 0004 moves a separate central database's mirror holds into reservations and back.

Before 0004 that database kept a hold's central stock as a *mirror hold*: an
``inventory_holds`` row with the origin hold's id, an intent whose fingerprint is
``central-mirror``, pricing ``{"mirrorOf": "origin hold"}`` and ``hold_items`` of pool
``central``; ending it gave the stock back, committing kept it. The rows below are written as
that code wrote them (``_insert_mirror`` / ``_move_mirror`` of the pre-0004 central database
module), on a throw-away database of each kind at revision 0003.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from origin import migrate
from origin.audit import audit_stock
from origin.db import engine_scope, session_factory
from origin.models import metadata
from tests.support import databases

T0 = datetime(2026, 11, 29, 12, 0, 0).astimezone()
M, L = "tee|size=m", "tee|size=l"
STOCKED = {M: 10, L: 4}
MIRROR_PRICING = {"mirrorOf": "origin hold"}


@dataclass(frozen=True)
class Mirror:
    """A mirror hold as the old code left it: its final status and its central items."""

    hold_id: str
    intent_id: str
    status: str
    end_reason: str | None
    items: tuple[tuple[str, int], ...]  # (variant key, quantity)
    minutes: int  # when it was written, after T0

    @property
    def created_at(self) -> datetime:
        return T0 + timedelta(minutes=self.minutes)

    @property
    def updated_at(self) -> datetime:
        return self.created_at + timedelta(seconds=30)


MIRRORS = (
    # An intent's first hold expired, its retry holds again: two mirrors, one intent.
    Mirror("hold_expired", "int_a", "expired", "ttl", ((L, 1),), 0),
    Mirror("hold_active", "int_a", "active", None, ((M, 2), (L, 1)), 20),
    Mirror("hold_released", "int_b", "released", "payment_failed", ((M, 1),), 5),
    Mirror("hold_committed", "int_c", "committed", None, ((M, 3),), 10),
)
HELD = ("active", "committed")


def table(name: str) -> Table:
    return metadata.tables[name]


async def write_catalog(db: AsyncConnection) -> dict[str, int]:
    """A shop, its own cap (for the ordinary hold) and two central rows; their ids by key."""
    await db.execute(
        insert(table("shops")).values(
            id="alpha", name="Alpha", type="sale", currency="usd", checkout_mode="hosted",
            requires_central_inventory=True, created_at=T0, updated_at=T0,
        )
    )  # fmt: skip
    product = await db.execute(
        insert(table("products"))
        .values(shop_id="alpha", sku="cap", title="Cap", price=1500, deposit=0,
                created_at=T0, updated_at=T0)
        .returning(table("products").c.id)
    )  # fmt: skip
    await db.execute(
        insert(table("variants")).values(
            product_id=product.scalar_one(), shop_id="alpha", sku="cap", variant_key="cap",
            attributes={}, available=6, stocked=7, created_at=T0, updated_at=T0,
        )
    )  # fmt: skip
    ids: dict[str, int] = {}
    for key, stocked in STOCKED.items():
        row = await db.execute(
            insert(table("central_stock"))
            .values(sku="tee", variant_key=key, attributes={"size": key[-1]},
                    available=stocked, stocked=stocked, created_at=T0, updated_at=T0)
            .returning(table("central_stock").c.id)
        )  # fmt: skip
        ids[key] = row.scalar_one()
    return ids


async def write_mirror(db: AsyncConnection, mirror: Mirror, stock_ids: dict[str, int]) -> None:
    """``_insert_mirror`` (intent ON CONFLICT DO NOTHING, take stock, items), then the status
    move of ``_move_mirror``: an ended mirror gave its stock back, a committed one kept it."""
    intents = table("checkout_intents")
    known = await db.execute(select(intents.c.id).where(intents.c.id == mirror.intent_id))
    if known.first() is None:
        await db.execute(
            insert(intents).values(
                id=mirror.intent_id, shop_id="alpha", fingerprint="central-mirror",
                created_at=mirror.created_at,
            )
        )  # fmt: skip
    await db.execute(
        insert(table("inventory_holds")).values(
            id=mirror.hold_id, shop_id="alpha", intent_id=mirror.intent_id, status="active",
            active_key=mirror.hold_id, stripe_idempotency_key=f"checkout-edge-{mirror.hold_id}",
            expires_at=mirror.created_at + timedelta(minutes=30), currency="usd",
            amount_total=2000 * sum(q for _, q in mirror.items), deposit_total=0, rental_days=0,
            price_changed=False, pricing=MIRROR_PRICING, payment_status="pending",
            created_at=mirror.created_at, updated_at=mirror.created_at,
        )
    )  # fmt: skip
    for key, quantity in mirror.items:
        await move_stock(db, stock_ids[key], -quantity)
        await db.execute(
            insert(table("hold_items")).values(
                hold_id=mirror.hold_id, pool="central", central_stock_id=stock_ids[key],
                sku="tee", variant_key=key, quantity=quantity,
            )
        )  # fmt: skip
    if mirror.status == "active":
        return
    ended = mirror.status not in HELD
    await db.execute(
        update(table("inventory_holds"))
        .where(table("inventory_holds").c.id == mirror.hold_id)
        .values(status=mirror.status, active_key=None, updated_at=mirror.updated_at,
                end_reason=mirror.end_reason, ended_at=mirror.updated_at if ended else None)
    )  # fmt: skip
    if ended:
        for key, quantity in mirror.items:
            await move_stock(db, stock_ids[key], quantity)


async def move_stock(db: AsyncConnection, stock_id: int, delta: int) -> None:
    stock = table("central_stock")
    await db.execute(
        update(stock).where(stock.c.id == stock_id).values(available=stock.c.available + delta)
    )


async def write_ordinary_hold(db: AsyncConnection) -> None:
    """An origin checkout's own hold (a real fingerprint, shop stock): 0004 leaves it alone."""
    variant_id = (await db.execute(select(table("variants").c.id))).scalar_one()
    await db.execute(
        insert(table("checkout_intents")).values(
            id="int_own", shop_id="alpha", fingerprint="9f" * 32, idempotency_key="attempt-1",
            created_at=T0,
        )
    )  # fmt: skip
    await db.execute(
        insert(table("inventory_holds")).values(
            id="hold_own", shop_id="alpha", intent_id="int_own", status="active",
            active_key="int_own", stripe_idempotency_key="checkout-edge-hold_own",
            expires_at=T0 + timedelta(minutes=30), currency="usd", amount_total=1500,
            deposit_total=0, rental_days=0, price_changed=False,
            pricing={"currency": "usd", "total": 1500}, payment_status="pending",
            stripe_session_id="cs_test_own", created_at=T0, updated_at=T0,
        )
    )  # fmt: skip
    await db.execute(
        insert(table("hold_items")).values(
            hold_id="hold_own", pool="shop", variant_id=variant_id, sku="cap", variant_key="cap",
            quantity=1,
        )
    )  # fmt: skip


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


async def rows(db: AsyncConnection, name: str, *columns: str) -> set[tuple[Any, ...]]:
    """``columns`` of every row of ``name``; JSON values as their sorted-key text."""
    t = table(name)
    result = await db.execute(select(*(t.c[c] for c in columns)))
    return {tuple(_hashable(v) for v in r) for r in result}


def central_items(
    mirrors: Sequence[Mirror], stock_ids: dict[str, int]
) -> set[tuple[str, int, str, str, int]]:
    return {
        (m.hold_id, stock_ids[key], "tee", key, quantity)
        for m in mirrors
        for key, quantity in m.items
    }


async def held_in_mirrors(db: AsyncConnection) -> dict[str, int]:
    """Units of each central row that active and committed mirror holds carry (at 0003)."""
    result = await db.execute(
        text(
            "SELECT i.variant_key, SUM(i.quantity) FROM hold_items i "
            "JOIN inventory_holds h ON h.id = i.hold_id "
            "WHERE i.pool = 'central' AND h.status IN ('active', 'committed') "
            "GROUP BY i.variant_key"
        )
    )
    return {key: int(total) for key, total in result}


async def available(db: AsyncConnection) -> dict[str, int]:
    return {k: a for k, a in await rows(db, "central_stock", "variant_key", "available")}


@dataclass(frozen=True)
class Before:
    """The database at 0003 with the old rows written, and what they looked like."""

    url: str
    stock_ids: dict[str, int]
    available: dict[str, int]
    own_hold: set[tuple[Any, ...]]


HOLD_COLUMNS = tuple(table("inventory_holds").c.keys())
RESERVATION_COLUMNS = ("hold_id", "shop_id", "status", "end_reason", "created_at", "updated_at")
ITEM_COLUMNS = ("hold_id", "central_stock_id", "sku", "variant_key", "quantity")
# What 0004 makes of each mirror: its status, end reason and times, item for item.
RESERVATIONS = {
    (m.hold_id, "alpha", m.status, m.end_reason, m.created_at,
     m.created_at if m.status == "active" else m.updated_at)
    for m in MIRRORS
}  # fmt: skip


@pytest.fixture(params=["postgresql", "sqlite"])
async def before(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Before]:
    """A throw-away database of each kind at 0003 (the SQL of 0004 runs on both) holding the
    mirrors and the ordinary hold; the pool adds up there: stocked = available + Σ held."""
    if request.param == "postgresql":
        url = await asyncio.to_thread(databases.create_database, "ce_mig0004")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    try:
        await asyncio.to_thread(migrate.upgrade, url, "0003")
        async with engine_scope(url, pool_size=1) as engine, engine.begin() as db:
            stock_ids = await write_catalog(db)
            for mirror in MIRRORS:
                await write_mirror(db, mirror, stock_ids)
            await write_ordinary_hold(db)
            now = await available(db)
            held = await held_in_mirrors(db)
            assert {key: now[key] + held.get(key, 0) for key in STOCKED} == STOCKED
            own_hold = {
                r for r in await rows(db, "inventory_holds", *HOLD_COLUMNS) if r[0] == "hold_own"
            }
        yield Before(url, stock_ids, now, own_hold)
    finally:
        if request.param == "postgresql":
            await asyncio.to_thread(databases.drop_database, url)


async def test_upgrade_turns_each_mirror_into_a_reservation_and_leaves_other_holds(
    before: Before,
) -> None:
    await asyncio.to_thread(migrate.upgrade, before.url)

    async with engine_scope(before.url, pool_size=1) as engine:
        async with engine.begin() as db:
            assert await rows(db, "central_reservations", *RESERVATION_COLUMNS) == RESERVATIONS
            assert await rows(db, "central_reservations", "hold_id", "ended_at") == {
                (m.hold_id, None if m.status in HELD else m.updated_at) for m in MIRRORS
            }
            assert await rows(db, "central_reservation_items", *ITEM_COLUMNS) == central_items(
                MIRRORS, before.stock_ids
            )
            # The mirrors, their items and intents are gone; the ordinary hold is untouched.
            assert await rows(db, "inventory_holds", *HOLD_COLUMNS) == before.own_hold
            assert await rows(db, "hold_items", "hold_id", "pool") == {("hold_own", "shop")}
            assert await rows(db, "checkout_intents", "id") == {("int_own",)}
            # No follow-up is invented: the sweep compares active reservations with the holds.
            assert await rows(db, "central_followups", "hold_id") == set()
            assert await available(db) == before.available
        async with session_factory(engine)() as session, session.begin():
            assert await audit_stock(session, pools=("shop", "central")) == []


async def test_downgrade_restores_the_mirrors_and_upgrading_again_round_trips(
    before: Before,
) -> None:
    await asyncio.to_thread(migrate.upgrade, before.url)
    await asyncio.to_thread(migrate.downgrade, before.url, "0003")

    async with engine_scope(before.url, pool_size=1) as engine, engine.begin() as db:
        holds = await rows(db, "inventory_holds", *HOLD_COLUMNS)
        assert {r for r in holds if r[0] == "hold_own"} == before.own_hold
        mirrors = await rows(
            db, "inventory_holds",
            "id", "shop_id", "status", "active_key", "end_reason", "ended_at", "created_at",
            "updated_at", "pricing",
        )  # fmt: skip
        assert {r for r in mirrors if r[0] != "hold_own"} == {
            (m.hold_id, "alpha", m.status, m.hold_id if m.status == "active" else None,
             m.end_reason, None if m.status in HELD else m.updated_at, m.created_at,
             m.created_at if m.status == "active" else m.updated_at, _hashable(MIRROR_PRICING))
            for m in MIRRORS
        }  # fmt: skip
        intents = await rows(db, "checkout_intents", "id", "fingerprint")
        assert {i for i, f in intents if f == "central-mirror"} == {m.hold_id for m in MIRRORS}
        items = await rows(db, "hold_items", *ITEM_COLUMNS)
        assert {r for r in items if r[0] != "hold_own"} == central_items(MIRRORS, before.stock_ids)
        held = await held_in_mirrors(db)
        assert await available(db) == before.available
        assert {key: before.available[key] + held.get(key, 0) for key in STOCKED} == STOCKED

    await asyncio.to_thread(migrate.upgrade, before.url)

    async with engine_scope(before.url, pool_size=1) as engine, engine.begin() as db:
        assert await rows(db, "central_reservations", *RESERVATION_COLUMNS) == RESERVATIONS
        assert await rows(db, "central_reservation_items", *ITEM_COLUMNS) == central_items(
            MIRRORS, before.stock_ids
        )
        assert await rows(db, "inventory_holds", *HOLD_COLUMNS) == before.own_hold
        assert await rows(db, "checkout_intents", "id") == {("int_own",)}
