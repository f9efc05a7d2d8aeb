"""Checkouts belong to one buyer, through real processes (docs/checkout.md).

Storefront → gateway → origin on PostgreSQL → Stripe stand-in, whose webhooks come back
through the gateway. Each buyer is its own HTTP client with its own cookie jar and address.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.e2e.conftest import FRONT_DOOR, HEADBAND, Stack
from tests.e2e.test_payment_flow import poll_until_paid
from tests.origin.support import HEADBAND_M_KEY, all_holds, assert_conserved, available

pytestmark = pytest.mark.e2e

CHECKOUT = "/api/checkout-session"
ONE = {**HEADBAND, "quantity": 1}


def buyer(stack: Stack, number: int) -> httpx.AsyncClient:
    """A shopper's browser: its own cookies, its own address (the front door's header)."""
    headers = {
        "x-front-door-token": FRONT_DOOR,
        "x-shop-id": "testshop",
        "cf-connecting-ip": f"10.11.{number // 200}.{number % 200 + 1}",
    }
    return httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=60)


async def pay(stripe: httpx.AsyncClient, shop: httpx.AsyncClient, session_id: str) -> None:
    paid = await stripe.post(f"/_sim/checkout/sessions/{session_id}/pay", json={})
    assert paid.json()["webhookStatus"] == 200, paid.text
    assert (await poll_until_paid(shop, session_id))["status"] == "paid"


async def test_flash_sale_of_200_buyers_with_own_carts_and_no_key_sells_exactly_25(
    stack: Stack,
    stripe: httpx.AsyncClient,
    seeded: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    gate = asyncio.Semaphore(50)  # bounded so one origin on a shared machine answers in time

    async def shop(number: int) -> httpx.Response:
        async with gate, buyer(stack, number) as client:
            cart = await client.post("/api/cart", json=ONE)
            assert cart.status_code == 200, cart.text
            return await client.post(CHECKOUT, json={})  # the cookie names the cart

    responses = await asyncio.gather(*(shop(n) for n in range(200)))

    statuses = [r.status_code for r in responses]
    assert (statuses.count(201), statuses.count(409)) == (25, 175), sorted(set(statuses))
    sold = [r.json() for r in responses if r.status_code == 201]
    assert len({s["sessionId"] for s in sold}) == 25
    assert len({s["inventoryReservationId"] for s in sold}) == 25
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 0
    assert len(await all_holds(sessions)) == 25
    await assert_conserved(sessions, seeded)


async def test_a_paid_cart_refilled_and_checked_out_gets_a_new_session(
    stack: Stack, stripe: httpx.AsyncClient, seeded: Any
) -> None:
    async with buyer(stack, 1) as client:
        before = (await client.post("/api/cart", json=HEADBAND)).json()
        first = await client.post(CHECKOUT, json={"customerEmail": "carol@example.com"})
        assert first.status_code == 201, first.text
        await pay(stripe, client, first.json()["sessionId"])
        emptied = (await client.get("/api/cart")).json()
        assert emptied["lines"] == []
        assert emptied["revision"] > before["revision"]

        refilled = await client.post("/api/cart", json=HEADBAND)
        assert refilled.json()["cartId"] == before["cartId"]  # the 30-day cookie's cart
        second = await client.post(CHECKOUT, json={"customerEmail": "carol@example.com"})
        assert second.status_code == 201, second.text
        assert second.json()["sessionId"] != first.json()["sessionId"]
        assert second.json()["status"] == "open"


@pytest.mark.parametrize("basket", ["cart", "inline"])
async def test_same_key_retry_after_payment_gets_the_paid_session_and_holds_nothing(
    stack: Stack,
    stripe: httpx.AsyncClient,
    seeded: Any,
    sessions: async_sessionmaker[AsyncSession],
    basket: str,
) -> None:
    key = {"Idempotency-Key": f"attempt-{basket}"}
    async with buyer(stack, 2) as client:
        if basket == "cart":
            await client.post("/api/cart", json=HEADBAND)
        body = {} if basket == "cart" else {"items": [HEADBAND]}
        first = await client.post(CHECKOUT, json=body, headers=key)
        assert first.status_code == 201, first.text
        await pay(stripe, client, first.json()["sessionId"])
        stock = await available(sessions, "testshop", HEADBAND_M_KEY)
        holds = len(await all_holds(sessions))

        retry = await client.post(CHECKOUT, json=body, headers=key)

    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "paid"
    assert retry.json()["sessionId"] == first.json()["sessionId"]
    assert retry.json()["inventoryReservationId"] == first.json()["inventoryReservationId"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == stock == 23
    assert len(await all_holds(sessions)) == holds
    await assert_conserved(sessions, seeded)


async def test_order_status_shows_the_checkouts_lines_without_the_email(
    stack: Stack, stripe: httpx.AsyncClient, seeded: Any
) -> None:
    async with buyer(stack, 3) as client:
        await client.post("/api/cart", json=HEADBAND)
        checkout = await client.post(CHECKOUT, json={"customerEmail": "dan@example.com"})
        session_id = checkout.json()["sessionId"]
        await pay(stripe, client, session_id)
        status = await client.get("/api/order-status", params={"sessionId": session_id})
    body = status.json()
    assert body["lines"] == [
        {
            "sku": "cf-headband",
            "title": "Headband",
            "variantAttributes": {"color": "navy", "size": "m"},
            "quantity": 2,
            "lineTotal": 6800,
        }
    ]
    assert body["depositTotal"] == 0
    assert "dan@example.com" not in status.text
