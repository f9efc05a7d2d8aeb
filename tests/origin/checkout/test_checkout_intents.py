"""Checkouts always belong to one buyer (docs/checkout.md, "Idempotency-Key").

Intent = shop + ``Idempotency-Key``; without a key a cart checkout is keyed on the cart and its
revision; inline items without a key are refused. The origin runs in-process on PostgreSQL and
pays through the real Stripe stand-in process.
"""

from __future__ import annotations

from typing import Any

import httpx

from origin.inventory.hold_states import end_hold
from origin.models import InventoryHold
from tests.conftest import OriginClient
from tests.origin.support import (
    HEADBAND_M,
    HEADBAND_M_KEY,
    all_holds,
    assert_conserved,
    available,
    sim_sessions,
)

CHECKOUT = "/api/checkout-session"


async def new_cart(origin: OriginClient, item: dict[str, Any] = HEADBAND_M) -> str:
    response = await origin.request("POST", "/api/cart", json=item)
    assert response.status_code == 200, response.text
    origin.http.cookies.clear()  # each test names its cart explicitly
    cart_id: str = response.json()["cartId"]
    return cart_id


async def checkout_cart(origin: OriginClient, cart_id: str, **body: Any) -> httpx.Response:
    return await origin.request("POST", CHECKOUT, json={"cartId": cart_id, **body})


async def release(sessions: Any, hold_id: str, metrics: Any) -> None:
    async with sessions() as session, session.begin():
        found = await session.get(InventoryHold, hold_id)
        assert found is not None
        assert await end_hold(
            session=session, hold=found, to="released", reason="test", metrics=metrics,
            remote_pool=None,
        )  # fmt: skip


async def test_two_buyers_identical_inline_items_without_a_key_are_both_refused(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    for email in ("alice@example.com", "bob@example.com"):
        response = await shop_origin.request(
            "POST", CHECKOUT, json={"items": [HEADBAND_M], "customerEmail": email}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert await all_holds(sessions) == []
    assert await sim_sessions(sim) == []
    await assert_conserved(sessions, seeded)


async def test_a_cart_id_and_inline_items_together_are_refused_not_one_chosen(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    cart_id = await new_cart(shop_origin)
    response = await shop_origin.request(
        "POST",
        CHECKOUT,
        json={"cartId": cart_id, "items": [HEADBAND_M]},
        headers={"idempotency-key": "both-baskets"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert "items" in error["message"]
    assert await all_holds(sessions) == []
    assert await sim_sessions(sim) == []


async def test_two_buyers_with_their_own_keys_get_their_own_holds_sessions_and_emails(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    answers = {}
    for buyer in ("alice", "bob"):
        response = await shop_origin.request(
            "POST",
            CHECKOUT,
            json={"items": [HEADBAND_M], "customerEmail": f"{buyer}@example.com"},
            headers={"Idempotency-Key": f"{buyer}-attempt-1"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "open"
        answers[buyer] = response.json()
    assert answers["alice"]["sessionId"] != answers["bob"]["sessionId"]
    assert answers["alice"]["inventoryReservationId"] != answers["bob"]["inventoryReservationId"]
    emails = {s["id"]: s["customer_email"] for s in await sim_sessions(sim)}
    assert emails == {
        answers["alice"]["sessionId"]: "alice@example.com",
        answers["bob"]["sessionId"]: "bob@example.com",
    }
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 21
    await assert_conserved(sessions, seeded)


async def test_two_buyers_carts_with_the_same_basket_and_no_key_are_two_checkouts(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    alice, bob = await new_cart(shop_origin), await new_cart(shop_origin)
    first = await checkout_cart(shop_origin, alice, customerEmail="alice@example.com")
    second = await checkout_cart(shop_origin, bob, customerEmail="bob@example.com")
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["sessionId"] != second.json()["sessionId"]
    emails = {s["id"]: s["customer_email"] for s in await sim_sessions(sim)}
    assert emails[second.json()["sessionId"]] == "bob@example.com"
    await assert_conserved(sessions, seeded)


async def test_a_keyless_retry_of_an_unchanged_cart_converges_a_changed_cart_does_not(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    cart_id = await new_cart(shop_origin)
    first = await checkout_cart(shop_origin, cart_id)
    again = await checkout_cart(shop_origin, cart_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["sessionId"] == first.json()["sessionId"]

    changed = await shop_origin.request(
        "POST", "/api/cart", json={"sku": "clip", "quantity": 1}, headers={"x-cart-id": cart_id}
    )
    assert changed.status_code == 200
    shop_origin.http.cookies.clear()
    after_change = await checkout_cart(shop_origin, cart_id)
    assert after_change.status_code == 201, after_change.text
    assert after_change.json()["sessionId"] != first.json()["sessionId"]
    assert after_change.json()["amountTotal"] == 2 * 3400 + 999
    await assert_conserved(sessions, seeded)


async def test_a_hold_that_ended_unpaid_never_blocks_a_new_checkout(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    cart_id = await new_cart(shop_origin)
    keyless = await checkout_cart(shop_origin, cart_id)
    keyed = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers={"Idempotency-Key": "k"}
    )
    metrics = shop_origin.state.metrics
    for first in (keyless, keyed):
        await release(sessions, first.json()["inventoryReservationId"], metrics)
    retried_keyless = await checkout_cart(shop_origin, cart_id)
    retried_keyed = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers={"Idempotency-Key": "k"}
    )
    for first, retried in ((keyless, retried_keyless), (keyed, retried_keyed)):
        assert retried.status_code == 201, retried.text
        assert retried.json()["sessionId"] != first.json()["sessionId"]
        assert retried.json()["status"] == "open"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 21
    await assert_conserved(sessions, seeded)


async def test_the_same_key_for_another_buyers_cart_is_a_reused_key(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    alice, bob = await new_cart(shop_origin), await new_cart(shop_origin)
    key = {"Idempotency-Key": "constant-key-bug"}
    first = await shop_origin.request("POST", CHECKOUT, json={"cartId": alice}, headers=key)
    second = await shop_origin.request("POST", CHECKOUT, json={"cartId": bob}, headers=key)
    assert first.status_code == 201
    assert second.status_code == 422
    assert second.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(await all_holds(sessions)) == 1
