"""Stripe webhooks (docs/api.md §3.4; plan items COM-202, COM-303): verify, resolve the tenant,
deduplicate, dispatch — through the real origin app on PostgreSQL.

Events are real: the stand-in pays, settles or expires a session and records the event; the
test posts that event's bytes to the origin signed with the test secret (the stand-in's own
deliveries go nowhere in these tests). Where Stripe would never send a combination (a paid
event for a session the reaper expired), the test forges it from a recorded event and says so.

This module also holds the helpers the other webhook and order-status tests use.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.models import (
    InventoryHold,
    Order,
    OrderLine,
    ProcessedStripeEvent,
    StripeObjectShop,
)
from origin.models.types import utcnow
from tests.conftest import WEBHOOK_SECRET, OriginClient
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY, assert_conserved, available

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

    async def delivered(self, event: dict[str, Any], **kwargs: Any) -> None:
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


@pytest.fixture
def shopper(shop_origin: OriginClient, sim: httpx.AsyncClient) -> Shopper:
    return Shopper(shop_origin, sim)


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


# -- signature ----------------------------------------------------------------------------


async def test_paid_event_with_a_valid_signature_is_received(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    response = await shopper.deliver(event)

    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert len(await orders_of(sessions)) == 1


async def test_wrong_secret_or_stale_signature_is_400_invalid_signature_and_changes_nothing(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    now = int(time.time())

    for case, secret, timestamp in (
        ("wrong secret", "whsec_someone_else", now),
        ("stale: 301 s old", WEBHOOK_SECRET, now - 301),
        ("an hour old", WEBHOOK_SECRET, now - 3600),
    ):
        response = await shopper.deliver(event, secret=secret, timestamp=timestamp)
        assert response.status_code == 400, case
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE", case

    assert await orders_of(sessions) == []
    assert await processed(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"


async def test_signature_within_the_300_second_tolerance_is_accepted(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event, timestamp=int(time.time()) - 280)

    assert len(await orders_of(sessions)) == 1


async def test_missing_or_malformed_signature_header_is_400(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    payload = encode(await shopper.pay(checkout["sessionId"]))

    for signature in (None, "", "t=1700000000", "v1=abc", "garbage", "t=x,v1=abc", "t=,v1="):
        headers = {} if signature is None else {"stripe-signature": signature}
        response = await shopper.origin.request(
            "POST", WEBHOOK, shop=None, headers=headers, content=payload
        )
        assert response.status_code == 400, signature
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE", signature

    assert await orders_of(sessions) == []


async def test_tampered_body_is_400_even_with_a_signature_of_the_original(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    original = encode(event)
    tampered = original.replace(b'"amount_total": 6800', b'"amount_total": 1')
    assert tampered != original

    response = await shopper.deliver(original, body=tampered)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert await orders_of(sessions) == []


async def test_body_reformatted_after_signing_is_rejected(
    shopper: Shopper, sessions: Sessions
) -> None:
    """The signature covers the raw bytes: the same JSON re-serialised no longer matches."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    response = await shopper.deliver(
        encode(event), body=json.dumps(event, separators=(",", ":")).encode()
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_body_that_is_not_utf8_is_rejected_as_an_invalid_signature(
    shopper: Shopper, sessions: Sessions
) -> None:
    """U+FFFD signed, 0xFF sent: a lenient decode would make both the same text."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    event["data"]["object"]["metadata"]["note"] = "\ufffd"
    signed = json.dumps(event, indent=2, ensure_ascii=False).encode("utf-8")
    sent = signed.replace("\ufffd".encode(), b"\xff")

    response = await shopper.deliver(signed, body=sent)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_any_of_the_rotated_secrets_verifies(
    origin_factory: Any,
    stripe_sim: Any,
    seeded: Any,
    sim: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url,
        stripe_webhook_secret="whsec_old_secret, whsec_new_secret",
    )
    rotating = Shopper(origin, sim)
    for signed_with in ("whsec_old_secret", "whsec_new_secret"):
        checkout = await rotating.checkout(cartId=await cart_with(origin, HEADBAND_M))
        event = await rotating.pay(checkout["sessionId"])

        assert (await rotating.deliver(event, secret=WEBHOOK_SECRET)).status_code == 400
        await rotating.delivered(event, secret=signed_with)

        assert len(await orders_of(sessions, checkout["sessionId"])) == 1, signed_with


async def test_header_with_several_v1_signatures_passes_when_any_matches(
    shopper: Shopper, sessions: Sessions
) -> None:
    """Stripe signs with every active secret during a rotation on its side."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    payload = encode(event)
    now = int(time.time())
    other = sign(payload, "whsec_rolled_secret", now).split(",")[1]
    header = f"{sign(payload, WEBHOOK_SECRET, now)},{other}"

    await shopper.delivered(payload, signature=header)

    assert len(await orders_of(sessions)) == 1


async def test_signed_body_that_is_not_a_stripe_event_is_400_invalid_request(
    shopper: Shopper,
) -> None:
    for body in (b'{"hello": "world"}', b"[1, 2]", b"not json", b'{"id": "evt_1"}'):
        response = await shopper.deliver(body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "INVALID_REQUEST", body


# -- tenant (COM-202) -----------------------------------------------------------------------


async def test_com202_tc01_event_of_another_shop_than_x_shop_id_is_403_and_counted(
    shopper: Shopper, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    with caplog.at_level(logging.WARNING, logger="origin.webhooks"):
        response = await shopper.deliver(event, shop="othershop")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TENANT_MISMATCH"
    assert metric(shopper.origin, "webhook_tenant_mismatch_total") == 1
    # Nothing processed, and the event id is not spent: the right delivery still works.
    assert await orders_of(sessions) == []
    assert await processed(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"
    [record] = [r for r in caplog.records if r.getMessage() == "webhook tenant mismatch"]
    assert record.__dict__["eventId"] == event["id"]
    assert record.__dict__["shop"] == "testshop"
    assert record.__dict__["claimedShop"] == "othershop"

    await shopper.delivered(event, shop="testshop")
    assert len(await orders_of(sessions)) == 1


async def test_com202_tc02_event_of_the_same_shop_as_x_shop_id_is_processed(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event, shop="testshop")

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"
    assert metric(shopper.origin, "webhook_tenant_mismatch_total") == 0
    assert webhook_count(shopper.origin, "checkout.session.completed", "processed") == 1


async def test_com202_tc03_unresolvable_tenant_is_503_not_400_and_counted(
    shopper: Shopper, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    """No ``metadata.shop_id`` and no session→shop row: Stripe must retry, never drop it."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    anonymous = forge(event, metadata={}, id="cs_test_unknown_to_the_origin")

    with caplog.at_level(logging.WARNING, logger="origin.webhooks"):
        response = await shopper.deliver(anonymous)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TENANT_UNRESOLVABLE"
    assert metric(shopper.origin, "webhook_tenant_unresolvable_total") == 1
    assert await processed(sessions) == []
    [record] = [r for r in caplog.records if r.getMessage() == "webhook tenant unresolvable"]
    assert record.__dict__["eventId"] == anonymous["id"]


async def test_tenant_falls_back_to_the_session_shop_map_without_metadata(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    without_metadata = forge(event, metadata={})

    await shopper.delivered(without_metadata)

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"
    assert order.hold_id == checkout["inventoryReservationId"]


async def test_unresolvable_event_is_processed_when_stripe_retries_after_the_map_exists(
    shopper: Shopper, sessions: Sessions
) -> None:
    """503 keeps the event alive: the retry after the map row is written takes effect."""
    checkout = await shopper.checkout()
    event = forge(await shopper.pay(checkout["sessionId"]), metadata={})
    async with sessions() as session, session.begin():
        mapped = await session.get(StripeObjectShop, checkout["sessionId"])
        assert mapped is not None
        saved = mapped.model_dump()
        await session.execute(
            delete(StripeObjectShop).where(col(StripeObjectShop.object_id) == checkout["sessionId"])
        )

    assert (await shopper.deliver(event)).status_code == 503
    async with sessions() as session, session.begin():
        session.add(StripeObjectShop(**saved))
    await shopper.delivered(event)

    assert len(await orders_of(sessions)) == 1


async def test_metadata_naming_an_unknown_shop_is_unresolvable(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    metadata = {**event["data"]["object"]["metadata"], "shop_id": "no-such-shop"}

    response = await shopper.deliver(forge(event, metadata=metadata))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TENANT_UNRESOLVABLE"
    assert await orders_of(sessions) == []


async def test_metadata_naming_another_shop_never_touches_this_shops_hold(
    shopper: Shopper, sessions: Sessions
) -> None:
    """A session of testshop whose metadata claims othershop: no order for either shop."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    metadata = {**event["data"]["object"]["metadata"], "shop_id": "othershop"}

    await shopper.delivered(forge(event, metadata=metadata))

    assert await orders_of(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"
    assert webhook_count(shopper.origin, "checkout.session.completed", "ignored") == 1


async def test_tenant_assertion_disabled_processes_a_mismatch_but_still_counts_it(
    origin_factory: Any,
    stripe_sim: Any,
    seeded: Any,
    sim: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    """``WEBHOOK_TENANT_ASSERTION_ENABLED=false`` is the plan's monitoring mode."""
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, webhook_tenant_assertion_enabled=False
    )
    monitoring = Shopper(origin, sim)
    checkout = await monitoring.checkout()
    event = await monitoring.pay(checkout["sessionId"])

    await monitoring.delivered(event, shop="othershop")

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"  # the resolved shop, never the claimed one
    assert metric(origin, "webhook_tenant_mismatch_total") == 1


# -- at most once (deduplication) -----------------------------------------------------------


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


# -- effects --------------------------------------------------------------------------------


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


# -- the thank-you flow (COM-303) -----------------------------------------------------------


async def test_com303_tc01_paid_checkout_empties_the_cart(
    shopper: Shopper, sessions: Sessions
) -> None:
    cart_id = await cart_with(shopper.origin, HEADBAND_M)
    checkout = await shopper.checkout(cartId=cart_id)
    assert len(await cart_lines(shopper.origin, cart_id)) == 1

    await shopper.delivered(await shopper.pay(checkout["sessionId"]))

    assert await cart_lines(shopper.origin, cart_id) == []  # same cart id, now empty
    assert (await shopper.status(checkout["sessionId"]))["status"] == "paid"


async def test_com303_tc02_unpaid_checkout_keeps_the_cart(
    shopper: Shopper, sessions: Sessions
) -> None:
    cart_id = await cart_with(shopper.origin, HEADBAND_M)
    checkout = await shopper.checkout(cartId=cart_id)

    await shopper.delivered(await shopper.pay(checkout["sessionId"], later=True))
    assert len(await cart_lines(shopper.origin, cart_id)) == 1
    assert (await shopper.status(checkout["sessionId"]))["status"] == "pending"

    await shopper.delivered(await shopper.settle(checkout["sessionId"], succeed=False))
    assert len(await cart_lines(shopper.origin, cart_id)) == 1  # failed: still theirs to buy
    assert (await shopper.status(checkout["sessionId"]))["status"] == "failed"


async def test_com303_tc02_expired_checkout_keeps_the_cart(
    shopper: Shopper, sessions: Sessions
) -> None:
    cart_id = await cart_with(shopper.origin, HEADBAND_M)
    checkout = await shopper.checkout(cartId=cart_id)

    await shopper.delivered(await shopper.expire(checkout["sessionId"]))

    assert len(await cart_lines(shopper.origin, cart_id)) == 1
    assert (await shopper.status(checkout["sessionId"]))["status"] == "expired"


async def test_com303_tc03_revisiting_the_thank_you_page_has_no_second_effect(
    shopper: Shopper, sessions: Sessions, seeded: Any
) -> None:
    """Polls and re-deliveries after the cart was emptied leave the customer's new cart alone."""
    cart_id = await cart_with(shopper.origin, HEADBAND_M)
    checkout = await shopper.checkout(cartId=cart_id)
    paid = await shopper.pay(checkout["sessionId"])
    await shopper.delivered(paid)
    first = await shopper.status(checkout["sessionId"])
    # Back in the shop, the customer starts a new cart under the same id.
    again = await shopper.origin.request(
        "POST", "/api/cart", json={"sku": "clip", "quantity": 1}, headers={"x-cart-id": cart_id}
    )
    assert again.status_code == 200, again.text

    for _ in range(3):
        assert await shopper.status(checkout["sessionId"]) == first  # the page polls again
    await shopper.delivered(paid)  # Stripe retries the same event
    await shopper.delivered(forge(paid))  # or something else says "paid" again

    [line] = await cart_lines(shopper.origin, cart_id)
    assert line["sku"] == "clip"
    assert [o.id for o in await orders_of(sessions)] == [first["orderId"]]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 2
    await assert_conserved(sessions, seeded)


async def test_paid_checkout_does_not_touch_another_shops_cart_of_the_same_id(
    shopper: Shopper, sessions: Sessions
) -> None:
    cart_id = await cart_with(shopper.origin, HEADBAND_M)
    checkout = await shopper.checkout(cartId=cart_id)
    other_cart = await cart_with(shopper.origin, HEADBAND_M, shop="othershop")

    await shopper.delivered(await shopper.pay(checkout["sessionId"]))

    assert await cart_lines(shopper.origin, cart_id) == []
    assert len(await cart_lines(shopper.origin, other_cart, shop="othershop")) == 1
