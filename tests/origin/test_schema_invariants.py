"""The database itself refuses what would lose money: negative stock, two active holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from origin.models import CheckoutIntent, InventoryHold
from origin.models.types import utcnow


async def test_available_stock_cannot_go_negative(
    sessions: async_sessionmaker[AsyncSession], seeded: Any
) -> None:
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(text("UPDATE variants SET available = available - 1000"))


def _hold(hold_id: str, status: str, active_key: str | None) -> InventoryHold:
    return InventoryHold(
        id=hold_id,
        shop_id="testshop",
        intent_id="intent-1",
        status=status,
        active_key=active_key,
        stripe_idempotency_key=f"key-{hold_id}",
        expires_at=utcnow() + timedelta(minutes=30),
        currency="usd",
        amount_total=100,
    )


async def test_only_one_active_hold_per_shop_and_intent(
    sessions: async_sessionmaker[AsyncSession], seeded: Any
) -> None:
    async with sessions() as session, session.begin():
        session.add(CheckoutIntent(id="intent-1", shop_id="testshop", fingerprint="f"))
        await session.flush()
        session.add(_hold("h1", "released", None))
        session.add(_hold("h2", "expired", None))
        session.add(_hold("h3", "active", "intent-1"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(_hold("h4", "active", "intent-1"))


async def test_active_key_must_match_status(
    sessions: async_sessionmaker[AsyncSession], seeded: Any
) -> None:
    async with sessions() as session, session.begin():
        session.add(CheckoutIntent(id="intent-1", shop_id="testshop", fingerprint="f"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(_hold("h5", "committed", "intent-1"))
