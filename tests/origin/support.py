"""Helpers for checkout tests: stock, holds, the stand-in's view, conservation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.models import HoldItem, InventoryHold, Variant

HEADBAND_M = {
    "sku": "cf-headband",
    "quantity": 2,
    "variantAttributes": {"size": "m", "color": "navy"},
}
HEADBAND_M_KEY = "cf-headband|color=navy|size=m"


async def available(sessions: async_sessionmaker[AsyncSession], shop: str, key: str) -> int:
    async with sessions() as session:
        variant = (
            await session.execute(
                select(Variant).where(col(Variant.shop_id) == shop, col(Variant.variant_key) == key)
            )
        ).scalar_one()
        return variant.available


async def all_holds(sessions: async_sessionmaker[AsyncSession]) -> list[InventoryHold]:
    async with sessions() as session:
        return list(
            (
                await session.execute(select(InventoryHold).order_by(col(InventoryHold.created_at)))
            ).scalars()
        )


async def hold(sessions: async_sessionmaker[AsyncSession], hold_id: str) -> InventoryHold:
    async with sessions() as session:
        found = await session.get(InventoryHold, hold_id)
        assert found is not None
        return found


async def sim_session_creates(sim: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every create request the stand-in received (faulted and replayed ones included)."""
    requests = (await sim.get("/_sim/requests")).json()["data"]
    return [r for r in requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]


async def sim_sessions(sim: httpx.AsyncClient) -> list[dict[str, Any]]:
    sessions: list[dict[str, Any]] = (await sim.get("/_sim/checkout/sessions")).json()["data"]
    return sessions


async def assert_conserved(
    sessions: async_sessionmaker[AsyncSession], catalog: dict[str, Any]
) -> None:
    """docs/api.md §3.7: initial = available + Σ active holds + Σ committed holds, per variant."""
    from origin.catalog.variant_keys import format_variant_key

    initial = {
        (p["shopId"], format_variant_key(p["sku"], v["attributes"])): v["stock"]
        for p in catalog["products"]
        for v in p["variants"]
    }
    async with sessions() as session:
        variants = {
            v.id: (v.shop_id, v.variant_key, v.available)
            for v in (await session.execute(select(Variant))).scalars()
        }
        held: dict[int, int] = defaultdict(int)
        rows = await session.execute(
            select(HoldItem, InventoryHold)
            .join(InventoryHold, col(InventoryHold.id) == col(HoldItem.hold_id))
            .where(
                col(InventoryHold.status).in_(("active", "committed")), col(HoldItem.pool) == "shop"
            )
        )
        for item, _ in rows:
            assert item.variant_id is not None
            held[item.variant_id] += item.quantity
    for variant_id, (shop, key, avail) in variants.items():
        assert avail >= 0
        assert initial[(shop, key)] == avail + held[variant_id], (
            shop,
            key,
            avail,
            held[variant_id],
        )
