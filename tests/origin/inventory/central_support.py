"""Helpers shared by the central-inventory tests (§3.6, COM-401), imported explicitly.

The catalog: three shops selling the same products from their own stock (50 of each
``pool-tee`` size, 7 ``own-cap``), and a central pool holding ``pool-tee`` size m (5) and l (2)
— size xl has no central row. ``alpha`` (may fall back) and ``beta`` (requires central) have
``pool-tee`` allocated; ``gamma`` (requires central) has no allocation at all. A shop's own
stock is deliberately different from the pool's, so an answer shows which one was used.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.catalog.catalog_file import parse_catalog
from origin.catalog.seed import seed_catalog
from origin.db import engine_scope, session_factory
from origin.inventory.central_policy import central_catalog
from origin.models import (
    CentralReservation,
    CentralReservationItem,
    CentralStock,
    HoldItem,
    InventoryHold,
    Variant,
)
from tests.conftest import OriginClient
from tests.support import databases

VALIDATE = "/api/inventory/validate"
CHECKOUT = "/api/checkout-session"
# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/x"
CENTRAL_INITIAL = {"pool-tee|size=m": 5, "pool-tee|size=l": 2}
SHOP_STOCK = 50


def _shop(shop_id: str, requires_central: bool) -> dict[str, Any]:
    return {
        "id": shop_id,
        "name": shop_id.title(),
        "type": "sale",
        "currency": "usd",
        "checkoutMode": "hosted",
        "requiresCentralInventory": requires_central,
        "successUrl": f"https://{shop_id}.example/thanks?session_id={{CHECKOUT_SESSION_ID}}",
        "cancelUrl": f"https://{shop_id}.example/cart",
    }


def _products(shop_id: str) -> list[dict[str, Any]]:
    sizes = [{"attributes": {"size": s}, "stock": SHOP_STOCK} for s in ("m", "l", "xl")]
    return [
        {"shopId": shop_id, "sku": "pool-tee", "title": "Pool tee", "price": 2000,
         "variants": sizes},
        {"shopId": shop_id, "sku": "own-cap", "title": "Own cap", "price": 1500,
         "variants": [{"attributes": {}, "stock": 7}]},
    ]  # fmt: skip


def central_test_catalog() -> dict[str, Any]:
    return {
        "shops": [_shop("alpha", False), _shop("beta", True), _shop("gamma", True)],
        "products": _products("alpha") + _products("beta") + _products("gamma"),
        "central": {
            "allocations": [
                {"shopId": "alpha", "sku": "pool-tee"},
                {"shopId": "beta", "sku": "pool-tee"},
            ],
            "stock": [
                {"sku": "pool-tee", "attributes": {"size": "m"}, "stock": 5},
                {"sku": "pool-tee", "attributes": {"size": "l"}, "stock": 2},
            ],
        },
    }


async def seed_central_database(url: str, catalog: dict[str, Any]) -> None:
    """Seed a separate central database the way an operator would: shops + central section."""
    pool = central_catalog(parse_catalog(json.dumps(catalog)))
    async with (
        engine_scope(url, pool_size=1) as engine,
        session_factory(engine)() as session,
        session.begin(),
    ):
        await seed_catalog(session, pool)


async def drop_database_now(url: str) -> None:
    """``DROP DATABASE … WITH (FORCE)`` from inside a running event loop."""
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(databases.ADMIN_URL, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def tee(size: str, quantity: int) -> dict[str, Any]:
    return {"sku": "pool-tee", "quantity": quantity, "variantAttributes": {"size": size}}


def cap(quantity: int) -> dict[str, Any]:
    return {"sku": "own-cap", "quantity": quantity}


async def validate(origin: OriginClient, shop: str, *items: dict[str, Any]) -> httpx.Response:
    return await origin.request("POST", VALIDATE, shop=shop, json={"items": list(items)})


async def checkout(origin: OriginClient, shop: str, *items: dict[str, Any]) -> httpx.Response:
    """A checkout of its own intent (a fresh Idempotency-Key)."""
    return await origin.request(
        "POST",
        CHECKOUT,
        shop=shop,
        json={"items": list(items)},
        headers={"idempotency-key": uuid.uuid4().hex},
    )


def counter(origin: OriginClient, name: str, **labels: str) -> float:
    value = origin.state.metrics.registry.get_sample_value(f"{name}_total", labels)
    return float(value or 0.0)


def fallbacks(origin: OriginClient, shop: str, env: str = "production") -> float:
    return counter(origin, "inventory_central_fallback", shop=shop, env=env)


def refusals(origin: OriginClient, shop: str, env: str = "production") -> float:
    return counter(origin, "inventory_central_fail_closed", shop=shop, env=env)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"]["code"] == "INVENTORY_UNAVAILABLE"
    assert body["error"]["message"]
    assert int(response.headers["retry-after"]) >= 1


def short_items(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"]["code"] == "INSUFFICIENT_STOCK"
    items: list[dict[str, Any]] = body["items"]
    return items


async def central_ledger(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, tuple[int, int]]:
    """Per central row: (available, Σ quantity held by active and committed holds or, in a
    separate central database, reservations)."""
    async with sessions() as session:
        rows = await session.execute(select(CentralStock.variant_key, CentralStock.available))
        stock = {key: available for key, available in rows}
        held_rows = await session.execute(
            select(CentralStock.variant_key, func.sum(HoldItem.quantity))
            .join(HoldItem, col(HoldItem.central_stock_id) == col(CentralStock.id))
            .join(InventoryHold, col(InventoryHold.id) == col(HoldItem.hold_id))
            .where(
                col(HoldItem.pool) == "central",
                col(InventoryHold.status).in_(("active", "committed")),
            )
            .group_by(col(CentralStock.variant_key))
        )
        held = {key: int(total) for key, total in held_rows}
        reserved_rows = await session.execute(
            select(CentralStock.variant_key, func.sum(CentralReservationItem.quantity))
            .join(
                CentralReservationItem,
                col(CentralReservationItem.central_stock_id) == col(CentralStock.id),
            )
            .join(
                CentralReservation,
                col(CentralReservation.hold_id) == col(CentralReservationItem.hold_id),
            )
            .where(col(CentralReservation.status).in_(("active", "committed")))
            .group_by(col(CentralStock.variant_key))
        )
        for key, total in reserved_rows:
            held[key] = held.get(key, 0) + int(total)
    return {key: (available, held.get(key, 0)) for key, available in stock.items()}


async def assert_conserved(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """initial = available + Σ active + Σ committed, for every central row; returns available."""
    ledger = await central_ledger(sessions)
    assert {key: available + held for key, (available, held) in ledger.items()} == (CENTRAL_INITIAL)
    return {key: available for key, (available, _) in ledger.items()}


async def shop_stock(sessions: async_sessionmaker[AsyncSession], shop: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(Variant.variant_key, Variant.available).where(col(Variant.shop_id) == shop)
        )
        return {key: available for key, available in rows}
