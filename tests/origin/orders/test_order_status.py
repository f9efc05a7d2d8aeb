"""``GET /api/order-status`` (docs/api.md §3.5): what the thank-you page polls, per shop."""

from __future__ import annotations

from typing import Any

import httpx

from origin.checkout.reaper import reap_once
from tests.conftest import OriginClient
from tests.origin.orders.webhook_support import Sessions, Shopper, expire_in_database, orders_of
from tests.origin.support import HEADBAND_M

STATUS = "/api/order-status"
# What the thank-you page shows of the checkout: its repriced lines, never the email.
HEADBAND_LINES = [
    {
        "sku": "cf-headband",
        "title": "Headband",
        "variantAttributes": {"color": "navy", "size": "m"},
        "quantity": 2,
        "lineTotal": 6800,
    }
]


async def test_order_status_is_pending_until_the_payment_webhook_arrives(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    paid = await shopper.pay(checkout["sessionId"])  # paid at Stripe, webhook still on its way

    assert await shopper.status(checkout["sessionId"]) == {
        "sessionId": checkout["sessionId"],
        "status": "pending",
        "amountTotal": 6800,
        "currency": "usd",
        "lines": HEADBAND_LINES,
        "depositTotal": 0,
    }

    await shopper.delivered(paid)

    [order] = await orders_of(sessions)
    assert await shopper.status(checkout["sessionId"]) == {
        "sessionId": checkout["sessionId"],
        "status": "paid",
        "orderId": order.id,
        "amountTotal": 6800,
        "currency": "usd",
        "lines": HEADBAND_LINES,
        "depositTotal": 0,
    }


async def test_order_status_stays_pending_while_an_async_payment_settles(
    shopper: Shopper,
) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.pay(checkout["sessionId"], later=True))

    status = await shopper.status(checkout["sessionId"])
    assert status["status"] == "pending"
    assert "orderId" not in status

    await shopper.delivered(await shopper.settle(checkout["sessionId"], succeed=True))
    assert (await shopper.status(checkout["sessionId"]))["status"] == "paid"


async def test_order_status_is_failed_after_the_async_payment_failed(shopper: Shopper) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.pay(checkout["sessionId"], later=True))
    await shopper.delivered(await shopper.settle(checkout["sessionId"], succeed=False))

    status = await shopper.status(checkout["sessionId"])
    assert status["status"] == "failed"
    assert "orderId" not in status


async def test_order_status_is_expired_after_the_session_expired(shopper: Shopper) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.expire(checkout["sessionId"]))

    assert (await shopper.status(checkout["sessionId"]))["status"] == "expired"


async def test_order_status_is_expired_once_the_reaper_released_the_hold(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    await expire_in_database(sessions, checkout["inventoryReservationId"])
    state = shopper.origin.state
    assert (
        await reap_once(
            sessions=sessions, payments=state.payments, metrics=state.metrics, remote_pool=None
        )
        == 1
    )

    assert (await shopper.status(checkout["sessionId"]))["status"] == "expired"


async def test_order_status_of_a_rental_is_in_its_currency_with_deposit(
    shopper: Shopper,
) -> None:
    checkout = await shopper.checkout(
        shop="rentshop",
        items=[
            {"sku": "belt", "quantity": 2},
            {"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}},
        ],
        rentalDays=3,
    )
    await shopper.delivered(await shopper.pay(checkout["sessionId"]))

    status = await shopper.status(checkout["sessionId"], shop="rentshop")
    assert (status["status"], status["currency"]) == ("paid", "eur")
    assert status["amountTotal"] == 2 * 1500 + 8900 + 25000
    assert [(line["sku"], line["quantity"], line["lineTotal"]) for line in status["lines"]] == [
        ("belt", 2, 3000),
        ("dress", 1, 8900),
    ]
    assert status["depositTotal"] == 25000


async def test_session_of_another_shop_is_404_exactly_like_an_unknown_one(
    shopper: Shopper,
) -> None:
    checkout = await shopper.checkout()
    await shopper.delivered(await shopper.pay(checkout["sessionId"]))

    async def ask(session_id: str, shop: str) -> httpx.Response:
        return await shopper.origin.request(
            "GET", STATUS, shop=shop, params={"sessionId": session_id}
        )

    foreign = await ask(checkout["sessionId"], "othershop")
    unknown = await ask("cs_test_never_created", "othershop")

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"] == "SESSION_NOT_FOUND"
    mine, other = foreign.json()["error"]["message"], unknown.json()["error"]["message"]
    assert mine.replace(checkout["sessionId"], "…") == other.replace("cs_test_never_created", "…")
    assert (await ask(checkout["sessionId"], "testshop")).status_code == 200


async def test_order_status_refuses_what_it_cannot_answer(shop_origin: OriginClient) -> None:
    cases: list[tuple[str, str | None, dict[str, Any], int, str]] = [
        ("unknown shop", "no-such-shop", {"sessionId": "cs_test_x"}, 404, "SHOP_NOT_FOUND"),
        ("no shop", None, {"sessionId": "cs_test_x"}, 404, "SHOP_NOT_FOUND"),
        ("no sessionId", "testshop", {}, 400, "INVALID_REQUEST"),
        ("empty sessionId", "testshop", {"sessionId": ""}, 400, "INVALID_REQUEST"),
        ("sessionId too long", "testshop", {"sessionId": "x" * 256}, 400, "INVALID_REQUEST"),
    ]
    for case, shop, params, status, code in cases:
        response = await shop_origin.request("GET", STATUS, shop=shop, params=params)

        assert response.status_code == status, case
        assert response.json()["error"]["code"] == code, case


async def test_order_status_requires_the_gateway_token(shop_origin: OriginClient) -> None:
    response = await shop_origin.http.get(
        STATUS, params={"sessionId": "cs_test_x"}, headers={"x-shop-id": "testshop"}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "GATEWAY_UNAUTHORIZED"


async def test_polling_order_status_changes_nothing(shopper: Shopper, sessions: Sessions) -> None:
    cart = await shopper.origin.request("POST", "/api/cart", json=HEADBAND_M)
    cart_id = cart.json()["cartId"]
    shopper.origin.http.cookies.clear()
    checkout = await shopper.checkout(cartId=cart_id)

    answers = [await shopper.status(checkout["sessionId"]) for _ in range(5)]

    assert all(answer == answers[0] for answer in answers)
    assert await orders_of(sessions) == []
    lines = await shopper.origin.request("GET", "/api/cart", headers={"x-cart-id": cart_id})
    assert len(lines.json()["lines"]) == 1
