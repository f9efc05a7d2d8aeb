"""The thank-you flow (plan item COM-303): a paid checkout empties the shop's cart, an unpaid,
failed or expired one keeps it, and revisiting the thank-you page has no second effect.
"""

from __future__ import annotations

from typing import Any

from tests.origin.orders.webhook_support import (
    Sessions,
    Shopper,
    cart_lines,
    cart_with,
    forge,
    orders_of,
)
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY, assert_conserved, available


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
