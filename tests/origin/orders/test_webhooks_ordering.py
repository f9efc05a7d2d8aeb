"""Events in any order, and events for holds the reaper got to first (docs/api.md §3.4, §3.7).

Stripe does not promise delivery order. For each way one session can end, every ordering of
its events is delivered and must end in the same state: hold, stock, order, cart and the
thank-you page's status. State only moves forward; a late ``expired`` never undoes ``paid``.

Each event that the stand-in can produce is real; ``expired`` for a session that was also
completed is forged from the session's own event (Stripe would not send both, the origin
must still survive them), as is a payment that lands after the reaper released the hold.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from origin.checkout.reaper import reap_once
from tests.conftest import OriginClient
from tests.origin.orders.webhook_support import (
    Sessions,
    Shopper,
    cart_lines,
    cart_with,
    expire_in_database,
    forge,
    hold_row,
    metric,
    orders_of,
)
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY, assert_conserved, available


@dataclass(frozen=True)
class Ending:
    """One way a session can end: its events, and where every ordering of them must land."""

    events: tuple[str, ...]
    hold_status: str
    payment_status: str
    page_status: str

    @property
    def paid(self) -> bool:
        return self.page_status == "paid"


ENDINGS = {
    "paid at once": Ending(("completed_paid", "expired"), "committed", "paid", "paid"),
    "paid asynchronously": Ending(
        ("completed_unpaid", "async_succeeded", "expired"), "committed", "paid", "paid"
    ),
    "async payment failed": Ending(
        ("completed_unpaid", "async_failed", "expired"), "released", "failed", "failed"
    ),
    "unpaid, then expired": Ending(
        ("completed_unpaid", "expired"), "released", "expired", "expired"
    ),
}


async def session_events(shopper: Shopper, session_id: str, names: tuple[str, ...]) -> Any:
    """The named events for one session, produced at the stand-in in their natural order."""
    events: dict[str, dict[str, Any]] = {}
    if "completed_paid" in names:
        events["completed_paid"] = await shopper.pay(session_id)
    if "completed_unpaid" in names:
        events["completed_unpaid"] = await shopper.pay(session_id, later=True)
    if "async_succeeded" in names:
        events["async_succeeded"] = await shopper.settle(session_id, succeed=True)
    if "async_failed" in names:
        events["async_failed"] = await shopper.settle(session_id, succeed=False)
    completed = events.get("completed_paid") or events["completed_unpaid"]
    events["expired"] = forge(
        completed, "checkout.session.expired", status="expired", payment_status="unpaid"
    )
    return events


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
async def test_every_ordering_of_a_sessions_events_ends_in_the_same_state(
    shopper: Shopper, sessions: Sessions, seeded: Any, ending: str
) -> None:
    expected = ENDINGS[ending]
    orderings = list(itertools.permutations(expected.events))
    assert len(orderings) in (2, 6)
    for ordering in orderings:
        case = " > ".join(ordering)
        cart_id = await cart_with(shopper.origin, HEADBAND_M)
        checkout = await shopper.checkout(cartId=cart_id)
        session_id, hold_id = checkout["sessionId"], checkout["inventoryReservationId"]
        events = await session_events(shopper, session_id, expected.events)
        stock_before = await available(sessions, "testshop", HEADBAND_M_KEY)

        for name in ordering:
            await shopper.delivered(events[name])
        for name in reversed(ordering):  # and every one of them again: no further effect
            await shopper.delivered(events[name])

        held = await hold_row(sessions, hold_id)
        assert (held.status, held.payment_status) == (
            expected.hold_status,
            expected.payment_status,
        ), case
        stock_after = await available(sessions, "testshop", HEADBAND_M_KEY)
        assert stock_after == stock_before + (0 if expected.paid else 2), case
        orders = await orders_of(sessions, session_id)
        assert len(orders) == (1 if expected.paid else 0), case
        assert not any(order.needs_attention for order in orders), case
        status = await shopper.status(session_id)
        assert status["status"] == expected.page_status, case
        assert ("orderId" in status) == expected.paid, case
        assert (await cart_lines(shopper.origin, cart_id) == []) == expected.paid, case
    await assert_conserved(sessions, seeded)


# -- the reaper got there first --------------------------------------------------------------


async def reap(origin: OriginClient, sessions: Sessions) -> int:
    state = origin.state
    return await reap_once(
        sessions=sessions, payments=state.payments, metrics=state.metrics, remote_pool=None
    )


async def reaped_checkout(
    shopper: Shopper, sessions: Sessions, sim: httpx.AsyncClient, **body: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A checkout whose hold ran out of time and was reaped; and the ``expired`` event."""
    checkout = await shopper.checkout(**body)
    await expire_in_database(sessions, checkout["inventoryReservationId"])
    assert await reap(shopper.origin, sessions) == 1
    records = (await sim.get("/_sim/events")).json()["data"]
    [expired] = [
        r["event"]
        for r in records
        if r["type"] == "checkout.session.expired"
        and r["event"]["data"]["object"]["id"] == checkout["sessionId"]
    ]  # the reaper expired the session at Stripe first
    return checkout, expired


def late_payment(expired: dict[str, Any]) -> dict[str, Any]:
    """What Stripe would send had the customer's payment beaten the expiry."""
    return forge(expired, "checkout.session.completed", status="complete", payment_status="paid")


async def test_expired_event_for_a_hold_the_reaper_released_changes_nothing(
    shopper: Shopper, sessions: Sessions, sim: httpx.AsyncClient, seeded: Any
) -> None:
    checkout, expired = await reaped_checkout(shopper, sessions, sim)
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25

    await shopper.delivered(expired)

    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("expired", "expired")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25  # given back once
    assert (await shopper.status(checkout["sessionId"]))["status"] == "expired"
    await assert_conserved(sessions, seeded)


async def test_late_payment_for_a_reaped_hold_retakes_the_stock(
    shopper: Shopper, sessions: Sessions, sim: httpx.AsyncClient, seeded: Any
) -> None:
    checkout, expired = await reaped_checkout(shopper, sessions, sim)
    await shopper.delivered(expired)

    await shopper.delivered(late_payment(expired))

    [order] = await orders_of(sessions)
    assert not order.needs_attention
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("committed", "paid")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    status = await shopper.status(checkout["sessionId"])
    assert (status["status"], status["orderId"]) == ("paid", order.id)
    await assert_conserved(sessions, seeded)


async def test_late_payment_whose_stock_is_gone_is_still_recorded_flagged_and_counted(
    shopper: Shopper,
    sessions: Sessions,
    sim: httpx.AsyncClient,
    seeded: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    last_one = {"sku": "scarce", "quantity": 1}
    checkout, expired = await reaped_checkout(shopper, sessions, sim, items=[last_one])
    # Someone else holds the last one in the meantime.
    other = await shopper.checkout(cartId=await cart_with(shopper.origin, last_one))
    assert await available(sessions, "testshop", "scarce") == 0
    payment = late_payment(expired)

    with caplog.at_level(logging.WARNING, logger="origin.orders"):
        await shopper.delivered(payment)

    [order] = await orders_of(sessions)  # a paid order is never lost
    assert order.stripe_session_id == checkout["sessionId"]
    assert (order.needs_attention, order.attention_reason) == (
        True,
        "stock_not_retaken_after_expiry",
    )
    reason = "stock_not_retaken_after_expiry"
    assert metric(shopper.origin, "orders_needs_attention_total", shop="testshop", reason=reason)
    [record] = [r for r in caplog.records if r.getMessage() == "order recorded"]
    assert record.__dict__["eventId"] == payment["id"]
    assert (await hold_row(sessions, other["inventoryReservationId"])).status == "active"
    assert await available(sessions, "testshop", "scarce") == 0  # never below zero
    assert (await shopper.status(checkout["sessionId"]))["status"] == "paid"
    await assert_conserved(sessions, seeded)


async def test_reaper_keeps_a_paid_sessions_hold_for_the_late_webhook(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    """Paid at Stripe, webhook not yet here: the reaper must not give the stock away."""
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])
    await expire_in_database(sessions, checkout["inventoryReservationId"])

    assert await reap(shopper.origin, sessions) == 0
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"

    await shopper.delivered(paid)

    [order] = await orders_of(sessions)
    assert not order.needs_attention
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("committed", "paid")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    await assert_conserved(sessions, seeded)


async def test_webhook_and_reaper_racing_for_one_hold_give_stock_back_at_most_once(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    """The expired event and the reaper both end the hold: one of them gives the stock back."""
    checkout = await shopper.checkout()
    expired = await shopper.expire(checkout["sessionId"])
    await expire_in_database(sessions, checkout["inventoryReservationId"])
    runs: list[Callable[[], Awaitable[Any]]] = [
        lambda: shopper.deliver(expired),
        lambda: reap(shopper.origin, sessions),
    ]

    webhook, reaped = await asyncio.gather(*(run() for run in runs))

    assert webhook.status_code == 200
    assert reaped in (0, 1)
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert held.status in ("released", "expired")
    assert held.payment_status == "expired"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    await assert_conserved(sessions, seeded)
