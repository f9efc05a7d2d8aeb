"""Helpers for the webhook and order-status tests: a shopper who checks out through the origin
and pays at the Stripe stand-in, signed deliveries, forged events, and the rows they leave.

Events are real: the stand-in pays, settles or expires a session and records the event; the
test posts that event's bytes to the origin signed with the test secret (the stand-in's own
deliveries go nowhere in these tests). Where Stripe would never send a combination (a paid
event for a session the reaper expired), the test forges it from a recorded event and says so.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import stripe
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.models import InventoryHold, Order, OrderLine, ProcessedStripeEvent
from origin.models.types import utcnow
from tests.conftest import WEBHOOK_SECRET, OriginClient
from tests.origin.support import HEADBAND_M

WEBHOOK = "/api/stripe-webhook"
CHECKOUT = "/api/checkout-session"
Sessions = async_sessionmaker[AsyncSession]


# -- helpers shared by the webhook and order-status tests -------------------------------------


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload`` (stripe-python's own test helper)."""
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, int(time.time()) if timestamp is None else timestamp
    )


def encode(event: dict[str, Any]) -> bytes:
    """The event as Stripe sends it: pretty-printed JSON."""
    return json.dumps(event, indent=2).encode("utf-8")


def forge(
    event: dict[str, Any], event_type: str | None = None, **session_changes: Any
) -> dict[str, Any]:
    """A new event (new id) from a recorded one: another type and/or a changed session.

    For what Stripe never sends on its own: combinations and orderings the origin must
    still survive (a late ``expired``, a payment for a reaped hold, a tampered amount).
    """
    forged = copy.deepcopy(event)
    forged["id"] = "evt_forged_" + uuid.uuid4().hex[:16]
    if event_type is not None:
        forged["type"] = event_type
    forged["data"]["object"].update(session_changes)
    return forged


def metric(origin: OriginClient, name: str, **labels: str) -> float:
    value = origin.state.metrics.registry.get_sample_value(name, labels or None)
    return float(value or 0.0)


def webhook_count(origin: OriginClient, event_type: str, outcome: str) -> float:
    return metric(origin, "webhook_events_total", type=event_type, outcome=outcome)


@dataclass
class Shopper:
    """Checks out through the origin and pays at the stand-in; delivers events by hand."""

    origin: OriginClient
    sim: httpx.AsyncClient

    async def checkout(self, shop: str = "testshop", **body: Any) -> dict[str, Any]:
        """A new checkout attempt (its own Idempotency-Key)."""
        body = body or {"items": [HEADBAND_M]}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        response = await self.origin.request("POST", CHECKOUT, shop=shop, json=body, headers=key)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def _control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.sim.post(path, json=body)
        assert response.status_code == 200, response.text
        event_id = response.json()["event"]["id"]
        return await self.recorded(event_id)

    async def recorded(self, event_id: str) -> dict[str, Any]:
        """The event as the stand-in recorded it (``GET /_sim/events``)."""
        for record in (await self.sim.get("/_sim/events")).json()["data"]:
            if record["id"] == event_id:
                event: dict[str, Any] = record["event"]
                return event
        raise AssertionError(f"the stand-in recorded no event {event_id}")

    async def pay(self, session_id: str, *, later: bool = False) -> dict[str, Any]:
        """``checkout.session.completed``: paid, or unpaid awaiting an async payment."""
        return await self._control(f"/_sim/checkout/sessions/{session_id}/pay", {"async": later})

    async def settle(self, session_id: str, *, succeed: bool) -> dict[str, Any]:
        return await self._control(
            f"/_sim/checkout/sessions/{session_id}/async", {"succeed": succeed}
        )

    async def expire(self, session_id: str) -> dict[str, Any]:
        return await self._control(f"/_sim/checkout/sessions/{session_id}/expire", {})

    async def deliver(
        self,
        event: dict[str, Any] | bytes,
        *,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
        shop: str | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST the event's bytes signed as Stripe signs them (``body`` replaces what is sent)."""
        payload = event if isinstance(event, bytes) else encode(event)
        headers = {"stripe-signature": signature or sign(payload, secret, timestamp)}
        return await self.origin.request(
            "POST",
            WEBHOOK,
            shop=shop,
            headers=headers,
            content=payload if body is None else body,
        )

    async def delivered(self, event: dict[str, Any] | bytes, **kwargs: Any) -> None:
        response = await self.deliver(event, **kwargs)
        assert response.status_code == 200, response.text
        assert response.json() == {"received": True}

    async def status(self, session_id: str, shop: str = "testshop") -> dict[str, Any]:
        response = await self.origin.request(
            "GET", "/api/order-status", shop=shop, params={"sessionId": session_id}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


async def orders_of(sessions: Sessions, session_id: str | None = None) -> list[Order]:
    async with sessions() as session:
        query = select(Order).order_by(col(Order.created_at))
        if session_id is not None:
            query = query.where(col(Order.stripe_session_id) == session_id)
        return list((await session.execute(query)).scalars())


async def lines_of(sessions: Sessions, order_id: str) -> list[OrderLine]:
    async with sessions() as session:
        query = select(OrderLine).where(col(OrderLine.order_id) == order_id)
        return list((await session.execute(query.order_by(col(OrderLine.id)))).scalars())


async def hold_row(sessions: Sessions, hold_id: str) -> InventoryHold:
    async with sessions() as session:
        found = await session.get(InventoryHold, hold_id)
        assert found is not None
        return found


async def processed(sessions: Sessions) -> list[ProcessedStripeEvent]:
    async with sessions() as session:
        return list((await session.execute(select(ProcessedStripeEvent))).scalars())


async def cart_with(origin: OriginClient, item: dict[str, Any], shop: str = "testshop") -> str:
    response = await origin.request("POST", "/api/cart", shop=shop, json=item)
    assert response.status_code == 200, response.text
    origin.http.cookies.clear()  # tests name their carts explicitly
    cart_id: str = response.json()["cartId"]
    return cart_id


async def cart_lines(origin: OriginClient, cart_id: str, shop: str = "testshop") -> list[Any]:
    response = await origin.request("GET", "/api/cart", shop=shop, headers={"x-cart-id": cart_id})
    assert response.status_code == 200, response.text
    assert response.json()["cartId"] == cart_id
    lines: list[Any] = response.json()["lines"]
    return lines


async def expire_in_database(sessions: Sessions, hold_id: str) -> None:
    """Move the hold's expiry into the past, as if its TTL had run out."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id) == hold_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
