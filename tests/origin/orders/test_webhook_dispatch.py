"""Dispatching a verified Stripe event, called directly — no request, no signature (§3.4).

The hold comes from a real checkout through the Stripe stand-in; the events are then handed
to :func:`origin.orders.webhook_dispatch.dispatch` as the route would hand them over.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from origin.models import InventoryHold, Order, ProcessedStripeEvent
from origin.orders.webhook_dispatch import Dispatched, WebhookDeps, dispatch, event_shop
from origin.orders.webhook_input import StripeEvent
from tests.conftest import OriginClient

HEADBAND = {
    "sku": "cf-headband",
    "quantity": 2,
    "variantAttributes": {"size": "m", "color": "navy"},
}
Sessions = async_sessionmaker[AsyncSession]


async def checked_out(origin: OriginClient) -> dict[str, Any]:
    response = await origin.request(
        "POST",
        "/api/checkout-session",
        json={"items": [HEADBAND]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def session_event(event_type: str, checkout: dict[str, Any], **fields: Any) -> StripeEvent:
    """An event about the checkout's session, as Stripe sends it (shop in the metadata)."""
    obj = {
        "id": checkout["sessionId"],
        "object": "checkout.session",
        "amount_total": checkout["amountTotal"],
        "currency": checkout["currency"],
        "metadata": {"shop_id": "testshop", "hold_id": checkout["inventoryReservationId"]},
        **fields,
    }
    return StripeEvent(id="evt_" + uuid.uuid4().hex, type=event_type, obj=obj)


def deps_of(origin: OriginClient) -> WebhookDeps:
    state = origin.state
    return WebhookDeps(state.sessions, state.metrics, state.central.remote_pool)


async def claims(sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(ProcessedStripeEvent.event_id, ProcessedStripeEvent.outcome)
        )
        return {event_id: outcome for event_id, outcome in rows}


async def hold_of(sessions: Sessions, checkout: dict[str, Any]) -> InventoryHold:
    async with sessions() as session:
        hold = await session.get(InventoryHold, checkout["inventoryReservationId"])
        assert hold is not None
        return hold


async def test_an_event_type_nobody_handles_is_ignored_and_claims_nothing(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Sessions
) -> None:
    checkout = await checked_out(shop_origin)
    event = session_event("customer.created", checkout)

    dispatched = await dispatch(event, shop_id="testshop", deps=deps_of(shop_origin))

    assert dispatched == Dispatched("ignored", "unhandled_type")
    assert await claims(sessions) == {}
    assert (await hold_of(sessions, checkout)).status == "active"


async def test_a_second_delivery_of_one_event_id_is_a_duplicate_with_no_second_effect(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Sessions
) -> None:
    checkout = await checked_out(shop_origin)
    paid = session_event("checkout.session.completed", checkout, payment_status="paid")
    deps = deps_of(shop_origin)

    first = await dispatch(paid, shop_id="testshop", deps=deps)
    again = await dispatch(paid, shop_id="testshop", deps=deps)

    assert first == Dispatched("processed", "order_recorded")
    assert again == Dispatched("duplicate", "duplicate")
    assert await claims(sessions) == {paid.id: "order_recorded"}
    async with sessions() as session:
        orders = (await session.execute(select(Order))).scalars().all()
    assert [(o.hold_id, o.stripe_event_id) for o in orders] == [
        (checkout["inventoryReservationId"], paid.id)
    ]


async def test_expired_delivered_after_paid_keeps_the_hold_paid(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Sessions
) -> None:
    checkout = await checked_out(shop_origin)
    deps = deps_of(shop_origin)
    paid = session_event("checkout.session.completed", checkout, payment_status="paid")
    expired = session_event("checkout.session.expired", checkout, status="expired")

    assert await dispatch(paid, shop_id="testshop", deps=deps) == Dispatched(
        "processed", "order_recorded"
    )
    late = await dispatch(expired, shop_id="testshop", deps=deps)

    assert late == Dispatched("processed", "no_change")
    hold = await hold_of(sessions, checkout)
    assert (hold.status, hold.payment_status) == ("committed", "paid")
    assert await claims(sessions) == {paid.id: "order_recorded", expired.id: "no_change"}


async def test_a_session_of_no_hold_of_the_shop_is_ignored_but_claimed(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Sessions
) -> None:
    checkout = await checked_out(shop_origin)
    # Another shop's resolution of the same session: its hold is not that shop's.
    event = session_event("checkout.session.expired", checkout)

    dispatched = await dispatch(event, shop_id="othershop", deps=deps_of(shop_origin))

    assert dispatched == Dispatched("ignored", "unknown_session")
    assert await claims(sessions) == {event.id: "unknown_session"}
    assert (await hold_of(sessions, checkout)).status == "active"


async def test_the_shop_comes_from_metadata_else_the_session_map_and_must_exist(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Sessions
) -> None:
    checkout = await checked_out(shop_origin)
    session_id = checkout["sessionId"]

    assert await event_shop(sessions, {"id": session_id, "metadata": {}}) == "testshop"
    assert await event_shop(sessions, {"id": "cs_x", "metadata": {"shop_id": "othershop"}}) == (
        "othershop"
    )
    assert await event_shop(sessions, {"id": "cs_x", "metadata": {"shop_id": "nope"}}) is None
    assert await event_shop(sessions, {"id": "cs_x"}) is None
