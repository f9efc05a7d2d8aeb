"""Stripe webhooks' effects (docs/api.md §3.4, docs/webhooks.md): a paid checkout becomes one
order with its lines, amounts and customer; async payments, failures and expiries move the hold;
events the origin has no business with are answered 200 and counted as ignored — through the
real origin app on PostgreSQL and the Stripe stand-in (:mod:`tests.origin.orders.webhook_support`).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from origin.models import InventoryHold
from tests.origin.orders.webhook_support import (
    Sessions,
    Shopper,
    cart_lines,
    cart_with,
    forge,
    hold_row,
    lines_of,
    metric,
    orders_of,
    webhook_count,
)
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY, assert_conserved, available


async def test_paid_checkout_becomes_one_order_with_lines_amounts_and_customer(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout(
        items=[HEADBAND_M, {"sku": "clip", "quantity": 3}],
        customerEmail="buyer@example.com",
    )
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event)

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"
    assert order.stripe_session_id == checkout["sessionId"]
    assert order.hold_id == checkout["inventoryReservationId"]
    assert order.stripe_event_id == event["id"]
    assert (order.amount_total, order.currency) == (2 * 3400 + 3 * 999, "usd")
    assert order.customer_email == "buyer@example.com"
    assert not order.needs_attention
    assert order.attention_reason is None
    lines = {line.sku: line for line in await lines_of(sessions, order.id)}
    assert set(lines) == {"cf-headband", "clip"}
    assert (lines["cf-headband"].variant_key, lines["cf-headband"].title) == (
        HEADBAND_M_KEY,
        "Headband",
    )
    assert (lines["cf-headband"].quantity, lines["cf-headband"].unit_amount) == (2, 3400)
    assert (lines["clip"].quantity, lines["clip"].line_total) == (3, 2997)
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("committed", "paid")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    await assert_conserved(sessions, seeded)


async def test_order_email_falls_back_to_the_checkout_intents_email(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout(items=[HEADBAND_M], customerEmail="intent@example.com")
    event = await shopper.pay(checkout["sessionId"])
    without_email = forge(event, customer_email=None, customer_details={"email": None})

    await shopper.delivered(without_email)

    [order] = await orders_of(sessions)
    assert order.customer_email == "intent@example.com"


async def test_order_email_prefers_what_stripe_collected(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout(items=[HEADBAND_M], customerEmail="intent@example.com")
    event = await shopper.pay(checkout["sessionId"])
    details = {**event["data"]["object"]["customer_details"], "email": "card@example.com"}

    await shopper.delivered(forge(event, customer_email=None, customer_details=details))

    [order] = await orders_of(sessions)
    assert order.customer_email == "card@example.com"


async def test_rental_order_records_deposits_rental_days_and_currency(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout(
        shop="rentshop",
        items=[{"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}}],
        rentalDays=4,
    )
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event)

    [order] = await orders_of(sessions)
    assert order.shop_id == "rentshop"
    assert (order.amount_total, order.currency) == (8900 + 25000, "eur")
    assert (order.deposit_total, order.rental_days) == (25000, 4)
    assert not order.needs_attention
    [line] = await lines_of(sessions, order.id)
    assert (line.unit_amount, line.deposit_amount) == (8900, 25000)


async def test_completed_unpaid_waits_for_the_async_payment(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.pay(checkout["sessionId"], later=True))

    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("active", "unpaid")
    assert await orders_of(sessions) == []

    await shopper.delivered(await shopper.settle(checkout["sessionId"], succeed=True))

    [order] = await orders_of(sessions)
    assert order.stripe_session_id == checkout["sessionId"]
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("committed", "paid")


async def test_async_payment_failure_releases_the_hold_and_its_stock(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.pay(checkout["sessionId"], later=True))
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2

    await shopper.delivered(await shopper.settle(checkout["sessionId"], succeed=False))

    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("released", "failed")
    assert held.end_reason == "async_payment_failed"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert await orders_of(sessions) == []
    await assert_conserved(sessions, seeded)


async def test_expired_session_releases_the_hold_and_its_stock_once(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.expire(checkout["sessionId"])

    await shopper.delivered(event)
    await shopper.delivered(forge(event))  # another id, same news: stock is not given twice

    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.payment_status) == ("released", "expired")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    await assert_conserved(sessions, seeded)


async def test_paid_amount_or_currency_unlike_the_checkout_is_flagged_counted_and_logged(
    shopper: Shopper, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("amount below the repriced total", {"amount_total": 6700}),
        ("amount above the repriced total", {"amount_total": 6900}),
        ("another currency", {"currency": "eur"}),
        ("no amount at all", {"amount_total": None}),
    ]
    for count, (case, changes) in enumerate(cases, start=1):
        cart_id = await cart_with(shopper.origin, HEADBAND_M)  # a checkout of its own
        checkout = await shopper.checkout(cartId=cart_id)
        event = forge(await shopper.pay(checkout["sessionId"]), **changes)
        caplog.clear()

        with caplog.at_level(logging.WARNING, logger="origin.orders"):
            await shopper.delivered(event)

        [order] = await orders_of(sessions, checkout["sessionId"])  # a paid order is never lost
        assert order.needs_attention, case
        assert order.attention_reason == "amount_mismatch", case
        if changes.get("amount_total"):
            assert order.amount_total == changes["amount_total"], case  # what was charged
        flagged = metric(
            shopper.origin,
            "orders_needs_attention_total",
            shop="testshop",
            reason="amount_mismatch",
        )
        assert flagged == count, case
        [record] = [r for r in caplog.records if r.getMessage() == "order recorded"]
        assert record.levelno == logging.WARNING, case
        assert record.__dict__["eventId"] == event["id"], case
        assert record.__dict__["needsAttention"] == ["amount_mismatch"], case
        held = await hold_row(sessions, checkout["inventoryReservationId"])
        assert (held.status, held.payment_status) == ("committed", "paid"), case
        assert await cart_lines(shopper.origin, cart_id) == [], case


async def test_matching_amount_in_upper_case_currency_is_not_flagged(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = forge(await shopper.pay(checkout["sessionId"]), currency="USD")

    await shopper.delivered(event)

    [order] = await orders_of(sessions)
    assert not order.needs_attention
    assert order.currency == "usd"


async def test_unknown_event_type_is_answered_200_and_counted_as_ignored(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])
    for event_type in ("payment_intent.succeeded", "charge.refunded", "checkout.session.weird"):
        await shopper.delivered(forge(paid, event_type))
        # Events Stripe sends about other objects carry no shop: still 200, never retried.
        await shopper.delivered(forge(paid, event_type, id="pi_123", metadata={}))
        assert webhook_count(shopper.origin, event_type, "ignored") == 2

    assert await orders_of(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"
    assert metric(shopper.origin, "webhook_tenant_unresolvable_total") == 0


async def test_event_for_a_session_the_shop_never_created_is_ignored(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])
    metadata = {"shop_id": "testshop", "hold_id": "hold_nonexistent"}

    await shopper.delivered(forge(paid, id="cs_test_foreign", metadata=metadata))

    assert await orders_of(sessions) == []
    assert webhook_count(shopper.origin, "checkout.session.completed", "ignored") == 1


async def forget_session(sessions: Sessions, hold_id: str) -> None:
    """As if the origin died between Stripe's answer and recording it on the hold."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id) == hold_id)
            .values(stripe_session_id=None)
        )


async def test_session_event_without_a_session_id_touches_no_hold(
    shopper: Shopper, sessions: Sessions
) -> None:
    """A hold whose session is not recorded yet must not match an event that names none."""
    waiting = await shopper.checkout()
    await forget_session(sessions, waiting["inventoryReservationId"])
    paid = await shopper.pay(waiting["sessionId"])
    nameless = forge(paid, metadata={"shop_id": "testshop"})
    del nameless["data"]["object"]["id"]

    await shopper.delivered(nameless)
    await shopper.delivered(forge(nameless, "checkout.session.expired"))

    assert await orders_of(sessions) == []
    assert (await hold_row(sessions, waiting["inventoryReservationId"])).status == "active"
    assert webhook_count(shopper.origin, "checkout.session.completed", "ignored") == 1


async def test_paid_event_finds_a_hold_whose_session_was_never_recorded(
    shopper: Shopper, sessions: Sessions
) -> None:
    """The origin crashed after Stripe created the session: metadata.hold_id finds the hold."""
    checkout = await shopper.checkout()
    await forget_session(sessions, checkout["inventoryReservationId"])

    await shopper.delivered(await shopper.pay(checkout["sessionId"]))

    [order] = await orders_of(sessions)
    assert order.hold_id == checkout["inventoryReservationId"]
    held = await hold_row(sessions, checkout["inventoryReservationId"])
    assert (held.status, held.stripe_session_id) == ("committed", checkout["sessionId"])
    assert (await shopper.status(checkout["sessionId"]))["status"] == "paid"


async def test_webhook_metrics_have_type_and_outcome_labels_only_of_the_three_outcomes(
    shopper: Shopper,
) -> None:
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])
    await shopper.delivered(paid)
    await shopper.delivered(paid)
    await shopper.delivered(forge(paid, "invoice.paid"))

    text = (await shopper.origin.http.get("/metrics")).text
    samples = [line for line in text.splitlines() if line.startswith("webhook_events_total{")]
    # Handled types' series exist from the start at 0 (docs/observability.md); the rest moved.
    assert (
        'webhook_events_total{outcome="processed",type="checkout.session.expired"} 0.0' in samples
    )
    samples = [line for line in samples if not line.endswith(" 0.0")]
    assert sorted(samples) == [
        'webhook_events_total{outcome="duplicate",type="checkout.session.completed"} 1.0',
        'webhook_events_total{outcome="ignored",type="invoice.paid"} 1.0',
        'webhook_events_total{outcome="processed",type="checkout.session.completed"} 1.0',
    ]
    assert "webhook_tenant_mismatch_total 0.0" in text
    assert "webhook_tenant_unresolvable_total 0.0" in text
