"""Each Stripe event takes effect at most once (docs/api.md §3.4 step 3): redeliveries and
concurrent deliveries make one order, and an attempt that fails does not spend the event id.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from origin.models import InventoryHold
from tests.origin.orders.webhook_support import (
    Sessions,
    Shopper,
    forge,
    hold_row,
    lines_of,
    metric,
    orders_of,
    processed,
    webhook_count,
)
from tests.origin.support import HEADBAND_M_KEY, assert_conserved, available


async def test_redelivered_event_takes_effect_once(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    for _ in range(3):
        await shopper.delivered(event)  # fresh signature each time, like a Stripe retry

    assert len(await orders_of(sessions)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    completed = "checkout.session.completed"
    assert webhook_count(shopper.origin, completed, "processed") == 1
    assert webhook_count(shopper.origin, completed, "duplicate") == 2
    await assert_conserved(sessions, seeded)


async def test_ten_concurrent_deliveries_of_one_event_make_one_order(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    responses = await asyncio.gather(*(shopper.deliver(event) for _ in range(10)))

    assert [r.status_code for r in responses] == [200] * 10
    [order] = await orders_of(sessions)
    assert len(await lines_of(sessions, order.id)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    completed = "checkout.session.completed"
    assert webhook_count(shopper.origin, completed, "processed") == 1
    assert webhook_count(shopper.origin, completed, "duplicate") == 9
    [row] = await processed(sessions)
    assert (row.event_id, row.shop_id) == (event["id"], "testshop")
    await assert_conserved(sessions, seeded)


async def test_concurrent_distinct_paid_events_for_one_session_make_one_order(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    """Different event ids, same payment: the hold, not the event id, guards the order."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    copies = [event] + [forge(event) for _ in range(4)]

    responses = await asyncio.gather(*(shopper.deliver(e) for e in copies))

    assert [r.status_code for r in responses] == [200] * 5
    assert len(await orders_of(sessions)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    assert len(await processed(sessions)) == 5
    await assert_conserved(sessions, seeded)


async def test_second_paid_session_for_one_hold_flags_its_order_instead_of_vanishing(
    shopper: Shopper, sessions: Sessions
) -> None:
    """One hold, one order: a payment of another session for it is flagged for a refund."""
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])
    await shopper.delivered(paid)

    await shopper.delivered(forge(paid, id="cs_test_another_session_of_the_hold"))

    [order] = await orders_of(sessions)
    assert order.stripe_session_id == checkout["sessionId"]
    assert (order.needs_attention, order.attention_reason) == (True, "second_payment_for_hold")
    reason = "second_payment_for_hold"
    assert metric(shopper.origin, "orders_needs_attention_total", shop="testshop", reason=reason)


async def test_event_id_is_not_spent_when_processing_fails(
    shopper: Shopper, sessions: Sessions
) -> None:
    """The claim and the effects commit together: a failed attempt leaves the retry to work."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    hold_id = checkout["inventoryReservationId"]
    pricing = (await hold_row(sessions, hold_id)).pricing

    async def set_pricing(value: dict[str, Any]) -> None:
        async with sessions() as session, session.begin():
            await session.execute(
                update(InventoryHold).where(col(InventoryHold.id) == hold_id).values(pricing=value)
            )

    await set_pricing({"lines": [{"sku": "cf-headband"}]})  # a line no order can be made of
    response = await shopper.deliver(event)
    assert response.status_code == 500
    assert await processed(sessions) == []
    assert await orders_of(sessions) == []
    assert (await hold_row(sessions, hold_id)).status == "active"

    await set_pricing(pricing)
    await shopper.delivered(event)  # Stripe's retry
    assert len(await orders_of(sessions)) == 1
