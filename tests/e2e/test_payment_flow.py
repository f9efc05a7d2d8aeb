"""A paid checkout end to end through real processes (docs/api.md §3.3–§3.5, COM-202/302/303).

The stand-in delivers its webhooks to the real gateway, as Stripe would through the front
door; the gateway forwards them to the real origin on PostgreSQL. The test only does what a
shopper and Stripe do: check out through the gateway, pay at the stand-in, and poll
``/api/order-status`` through the gateway until the order appears.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.models import InventoryHold, Order
from tests.e2e.conftest import HEADBAND, Stack

pytestmark = pytest.mark.e2e


async def poll_until_paid(shop: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        response = await shop.get("/api/order-status", params={"sessionId": session_id})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if (body["status"] == "paid" and body.get("orderId")) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


def metric_value(text: str, name: str, **labels: str) -> float:
    rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(f"{name}{{{rendered}}}" if labels else name) + r" ([0-9.e+]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_stand_in_pays_and_the_order_appears_through_the_gateway(
    stack: Stack,
    shop: httpx.AsyncClient,
    stripe: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cart = await shop.post("/api/cart", json=HEADBAND)
    assert cart.status_code == 200, cart.text
    cart_id = cart.json()["cartId"]
    checkout = await shop.post(
        "/api/checkout-session", json={"cartId": cart_id, "customerEmail": "e2e@example.com"}
    )
    assert checkout.status_code == 201, checkout.text
    session_id = checkout.json()["sessionId"]
    pending = await shop.get("/api/order-status", params={"sessionId": session_id})
    assert pending.json()["status"] == "pending"

    paid = await stripe.post(f"/_sim/checkout/sessions/{session_id}/pay", json={})
    assert paid.status_code == 200, paid.text
    assert paid.json()["webhookStatus"] == 200, stack.gateway.log_text()[-2000:]

    status = await poll_until_paid(shop, session_id)
    assert status["status"] == "paid", status
    assert status["orderId"].startswith("ord_")
    assert (status["amountTotal"], status["currency"]) == (6800, "usd")
    emptied = await shop.get("/api/cart", headers={"x-cart-id": cart_id})
    assert emptied.json()["lines"] == []  # COM-303: the thank-you page finds the cart empty
    async with sessions() as session:
        [order] = (await session.execute(select(Order))).scalars().all()
        hold = await session.get(InventoryHold, checkout.json()["inventoryReservationId"])
    assert (order.id, order.shop_id, order.customer_email) == (
        status["orderId"],
        "testshop",
        "e2e@example.com",
    )
    assert hold is not None
    assert hold.status == "committed"
    # Another shop asking about this session is told it does not exist.
    foreign = await shop.get(
        "/api/order-status", params={"sessionId": session_id}, headers={"x-shop-id": "othershop"}
    )
    assert foreign.status_code == 404


async def test_ten_concurrent_redeliveries_through_the_gateway_make_one_order(
    stack: Stack,
    shop: httpx.AsyncClient,
    stripe: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    checkout = await shop.post(
        "/api/checkout-session", json={"items": [HEADBAND]}, headers={"Idempotency-Key": "k1"}
    )
    assert checkout.status_code == 201, checkout.text
    session_id = checkout.json()["sessionId"]
    paid = await stripe.post(f"/_sim/checkout/sessions/{session_id}/pay", json={})
    event_id = paid.json()["event"]["id"]
    assert paid.json()["webhookStatus"] == 200
    before = await origin_webhook_counts(stack)

    resends = await asyncio.gather(
        *(stripe.post(f"/_sim/events/{event_id}/resend") for _ in range(10))
    )

    assert [r.json()["webhookStatus"] for r in resends] == [200] * 10
    async with sessions() as session:
        query = select(Order).where(col(Order.stripe_session_id) == session_id)
        orders = (await session.execute(query)).scalars().all()
    assert len(orders) == 1
    after = await origin_webhook_counts(stack)
    assert after["duplicate"] - before["duplicate"] == 10
    assert after["processed"] == before["processed"]


async def origin_webhook_counts(stack: Stack) -> dict[str, float]:
    """``webhook_events_total`` of the origin process for completed events, by outcome."""
    async with httpx.AsyncClient(base_url=stack.origin.url) as client:
        text = (await client.get("/metrics")).text
    completed = "checkout.session.completed"
    return {
        outcome: metric_value(text, "webhook_events_total", outcome=outcome, type=completed)
        for outcome in ("processed", "duplicate")
    }
