"""Checkout (docs/api.md §3.3): repricing, idempotent holds, modes — through the real app.

The origin runs in-process on PostgreSQL and pays through the real Stripe stand-in process.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from origin.models import InventoryHold, Product
from tests.conftest import OriginClient
from tests.origin.support import (
    HEADBAND_M,
    HEADBAND_M_KEY,
    all_holds,
    assert_conserved,
    available,
    sim_session_creates,
    sim_sessions,
)

CHECKOUT = "/api/checkout-session"
# One checkout attempt: inline items need an Idempotency-Key (docs/checkout.md).
KEY = {"Idempotency-Key": "attempt-1"}


def metric(origin: OriginClient, name: str, **labels: str) -> float:
    value = origin.state.metrics.registry.get_sample_value(name, labels or None)
    return float(value or 0.0)


async def set_price(sessions: async_sessionmaker[AsyncSession], sku: str, price: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Product)
            .where(col(Product.shop_id) == "testshop", col(Product.sku) == sku)
            .values(price=price)
        )


async def cart_with(origin: OriginClient, item: dict[str, Any]) -> str:
    response = await origin.request("POST", "/api/cart", json=item)
    assert response.status_code == 200, response.text
    cart_id: str = response.json()["cartId"]
    return cart_id


# -- the happy path ------------------------------------------------------------------------


async def test_checkout_creates_hold_and_hosted_session(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sessionId"].startswith("cs_test_")
    assert body["url"].endswith("/pay/" + body["sessionId"])
    assert body["amountTotal"] == 6800
    assert body["currency"] == "usd"
    assert body["priceChanged"] is False
    assert body["inventoryReservationId"].startswith("hold_")
    assert body["expiresAt"].endswith("Z")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["amount_total"] == 6800
    assert stripe_session["metadata"]["shop_id"] == "testshop"
    assert stripe_session["metadata"]["hold_id"] == body["inventoryReservationId"]
    await assert_conserved(sessions, seeded)


async def test_two_lines_of_one_variant_are_one_demand(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    big = {**HEADBAND_M, "variantAttributes": {"size": "l", "color": "navy"}, "quantity": 3}
    response = await shop_origin.request("POST", CHECKOUT, json={"items": [big, big]}, headers=KEY)
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "INSUFFICIENT_STOCK"
    assert body["items"] == [
        {"sku": "cf-headband", "variantKey": "cf-headband|color=navy|size=l",
         "requested": 6, "available": 5}
    ]  # fmt: skip
    assert await all_holds(sessions) == []
    assert await available(sessions, "testshop", "cf-headband|color=navy|size=l") == 5


async def test_insufficient_stock_rolls_back_every_line(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    items = [HEADBAND_M, {"sku": "scarce", "quantity": 2}]
    response = await shop_origin.request("POST", CHECKOUT, json={"items": items}, headers=KEY)
    assert response.status_code == 409
    assert [i["sku"] for i in response.json()["items"]] == ["scarce"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert await sim_session_creates(sim) == []
    assert metric(shop_origin, "inventory_insufficient_stock_total", shop="testshop",
                  route="checkout") == 1  # fmt: skip


async def test_unknown_shop_holds_nothing(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    response = await shop_origin.request(
        "POST", CHECKOUT, shop="nope", json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SHOP_NOT_FOUND"
    assert await all_holds(sessions) == []


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("bad JSON", b"{bad", KEY),
        ("bad body", b'{"items": []}', KEY),
        ("bad Idempotency-Key", b'{"items": []}', {"idempotency-key": ""}),
        ("inline items without a key", b'{"items": [{"sku": "clip", "quantity": 1}]}', {}),
    ],
)
async def test_unknown_shop_is_404_before_the_request_is_read(
    shop_origin: OriginClient, case: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await shop_origin.request(
        "POST", CHECKOUT, shop="nope", content=body, headers=headers
    )
    assert response.status_code == 404, case
    assert response.json()["error"]["code"] == "SHOP_NOT_FOUND", case


async def test_legacy_alias_is_the_same_handler(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    first = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    alias = await shop_origin.request(
        "POST", "/api/checkout/session", json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert alias.status_code == 200
    assert alias.json()["sessionId"] == first.json()["sessionId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "items"),
        ({"items": []}, "items"),
        ({"items": [{**HEADBAND_M, "quantity": 0}]}, "items[0].quantity"),
        ({"items": [HEADBAND_M], "expectedTotal": -1}, "expectedTotal"),
        ({"items": [HEADBAND_M], "expectedTotal": "68.00"}, "expectedTotal"),
        ({"items": [HEADBAND_M], "customerEmail": "not-an-email"}, "customerEmail"),
        ({"items": [HEADBAND_M], "price": 1}, "price"),
    ],
)
async def test_bad_checkout_bodies_are_400_naming_the_field(
    shop_origin: OriginClient, sim: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await shop_origin.request("POST", CHECKOUT, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert field in response.json()["error"]["message"]


async def test_unknown_sku_is_404(shop_origin: OriginClient, sim: httpx.AsyncClient) -> None:
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [{"sku": "ghost", "quantity": 1}]}, headers=KEY
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UNKNOWN_SKU"


async def test_empty_cart_is_400(shop_origin: OriginClient, sim: httpx.AsyncClient) -> None:
    cart_id = await cart_with(shop_origin, HEADBAND_M)
    await shop_origin.request("DELETE", "/api/cart", headers={"x-cart-id": cart_id})
    response = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CART_EMPTY"


async def test_another_shops_cart_is_404(shop_origin: OriginClient, sim: httpx.AsyncClient) -> None:
    cart_id = await cart_with(shop_origin, HEADBAND_M)
    response = await shop_origin.request(
        "POST", CHECKOUT, shop="othershop", json={"cartId": cart_id}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CART_NOT_FOUND"


# -- COM-101: repricing --------------------------------------------------------------------


async def test_com101_tc01_stale_cart_price_is_repriced_and_reported(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    cart_id = await cart_with(shop_origin, HEADBAND_M)  # priceAtAdd 3400
    await set_price(sessions, "cf-headband", 3900)
    response = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert response.status_code == 201
    body = response.json()
    assert body["priceChanged"] is True
    assert body["amountTotal"] == 7800
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["amount_total"] == 7800


async def test_com101_tc02_drift_within_tolerance_proceeds_unflagged(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    # 6800 repriced; tolerance max(10, 1% = 68) → a client that expected 6740 is within it.
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M], "expectedTotal": 6740}, headers=KEY
    )
    assert response.status_code == 201
    assert response.json()["priceChanged"] is False
    assert metric(shop_origin, "cart_reprice_drift_total", shop="testshop",
                  mode="enforce_and_proceed") == 0  # fmt: skip


async def test_com101_tc03_enforce_and_reject_answers_409_price_changed(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, checkout_reprice_policy="enforce_and_reject"
    )
    response = await origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M], "expectedTotal": 6000}, headers=KEY
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "PRICE_CHANGED"
    assert body["total"] == 6800
    assert body["lines"][0]["unitPrice"] == 3400
    assert await all_holds(sessions) == []
    assert await sim_session_creates(sim) == []


async def test_com101_tc04_drift_counts_metric_with_shop_and_mode(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, seeded: Any
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, checkout_reprice_policy="log_only"
    )
    response = await origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M], "expectedTotal": 1000}, headers=KEY
    )
    assert response.status_code == 201
    assert response.json()["priceChanged"] is False  # log_only hides it but counts it
    assert response.json()["amountTotal"] == 6800  # the charge is always the repriced total
    assert metric(origin, "cart_reprice_drift_total", shop="testshop", mode="log_only") == 1


async def test_coupon_discount_reaches_stripe_exactly(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    items = [HEADBAND_M, {"sku": "clip", "quantity": 3}]  # 6800 + 2997 = 9797
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": items, "couponCode": "welcome10"}, headers=KEY
    )
    assert response.status_code == 201
    assert response.json()["amountTotal"] == 9797 - 980  # 10 % of 9797 = 979.7 → 980
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["amount_total"] == 8817


# -- COM-102: idempotent holds -------------------------------------------------------------


async def test_com102_tc01_same_key_same_hold_stock_taken_once(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    headers = {"Idempotency-Key": "order-123"}
    first = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=headers
    )
    second = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=headers
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["inventoryReservationId"] == second.json()["inventoryReservationId"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    assert len(await all_holds(sessions)) == 1


async def test_com102_tc02_concurrent_same_key_one_hold(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    headers = {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(
            shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=headers)
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["inventoryReservationId"] for r in responses}) == 1
    assert len(await all_holds(sessions)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    await assert_conserved(sessions, seeded)


async def test_com102_tc03_expired_hold_is_replaced_and_stock_taken_once(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    first = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    old_id = first.json()["inventoryReservationId"]
    await _age_hold(sessions, old_id)
    second = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert second.status_code == 201
    assert second.json()["inventoryReservationId"] != old_id
    assert second.json()["sessionId"] != first.json()["sessionId"]
    statuses = {h.id: h.status for h in await all_holds(sessions)}
    assert statuses[old_id] == "expired"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    expired = [s for s in await sim_sessions(sim) if s["id"] == first.json()["sessionId"]]
    assert expired[0]["status"] == "expired"  # Stripe's session expired before the release
    await assert_conserved(sessions, seeded)


async def _age_hold(sessions: async_sessionmaker[AsyncSession], hold_id: str) -> None:
    from datetime import timedelta

    from origin.models.types import utcnow

    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id) == hold_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_com102_tc04_idempotent_hit_counts_metric(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    for _ in range(3):
        await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert metric(shop_origin, "inventory_hold_idempotent_hit_total", shop="testshop") == 2


async def test_com102_tc05_identical_posts_same_hold_same_session_no_double_decrement(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    cart_id = await cart_with(shop_origin, HEADBAND_M)
    first = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    second = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert first.json()["inventoryReservationId"] == second.json()["inventoryReservationId"]
    assert first.json()["sessionId"] == second.json()["sessionId"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    assert len(await sim_sessions(sim)) == 1


async def test_phase1_gate_retry_with_same_idempotency_key_returns_same_stripe_session(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    headers = {"Idempotency-Key": "gate"}
    ids = set()
    for _ in range(3):
        response = await shop_origin.request(
            "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=headers
        )
        ids.add(response.json()["sessionId"])
    assert len(ids) == 1
    creates = await sim_session_creates(sim)
    assert len(creates) == 1  # converged retries are answered from the hold, not Stripe


async def test_same_idempotency_key_with_other_body_is_422_and_holds_nothing(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=headers)
    other = {**HEADBAND_M, "quantity": 1}
    response = await shop_origin.request("POST", CHECKOUT, json={"items": [other]}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(await all_holds(sessions)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23


async def test_changed_cart_is_a_new_checkout(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    cart_id = await cart_with(shop_origin, HEADBAND_M)
    first = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    await shop_origin.request(
        "POST", "/api/cart", json={"sku": "clip", "quantity": 1}, headers={"x-cart-id": cart_id}
    )
    second = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert second.status_code == 201
    assert second.json()["sessionId"] != first.json()["sessionId"]
    assert second.json()["amountTotal"] == 6800 + 999


async def test_idempotent_holds_flag_off_makes_every_request_a_new_hold(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    origin = await origin_factory(stripe_api_base=stripe_sim.url, enable_idempotent_holds=False)
    for _ in range(2):
        response = await origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
        assert response.status_code == 201
    assert len(await all_holds(sessions)) == 2
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 21
    await assert_conserved(sessions, seeded)


# -- COM-204: sale and rental --------------------------------------------------------------


async def test_com204_tc01_sale_shop_session_has_no_deposit_lines(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M], "rentalDays": 3}, headers=KEY
    )
    [create] = await sim_session_creates(sim)
    names = [item["price_data"]["product_data"]["name"] for item in create["params"]["line_items"]]
    assert names == ["Headband"]


async def test_com204_tc02_sale_metadata_has_zero_rental_days_and_deposit(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M], "rentalDays": 3}, headers=KEY
    )
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["metadata"]["rentalDays"] == "0"
    assert stripe_session["metadata"]["depositTotal"] == "0"


async def test_com204_tc03_rental_flow_keeps_deposits_and_custom_mode(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    items = [{"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}},
             {"sku": "belt", "quantity": 2}]  # fmt: skip
    response = await shop_origin.request(
        "POST", CHECKOUT, shop="rentshop", json={"items": items, "rentalDays": 4}, headers=KEY
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert "url" not in body
    assert body["clientSecret"].startswith(body["sessionId"] + "_secret")
    # Fee for the whole rental (not × days) plus the dress's deposit; the belt has none.
    assert body["amountTotal"] == 8900 + 2 * 1500 + 25000
    assert body["currency"] == "eur"
    [create] = await sim_session_creates(sim)
    assert create["params"]["ui_mode"] == "elements"
    assert create["params"]["return_url"].startswith("https://rentshop.example/return")
    deposit_lines = [
        i for i in create["params"]["line_items"]
        if i["price_data"]["product_data"]["name"].startswith("Deposit")
    ]  # fmt: skip
    assert len(deposit_lines) == 1
    assert deposit_lines[0]["price_data"]["unit_amount"] == "25000"
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["metadata"]["rentalDays"] == "4"
    assert stripe_session["metadata"]["depositTotal"] == "25000"


async def test_rental_shop_requires_rental_days(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    response = await shop_origin.request(
        "POST",
        CHECKOUT,
        shop="rentshop",
        json={"items": [{"sku": "belt", "quantity": 1}]},
        headers=KEY,
    )
    assert response.status_code == 400
    assert "rentalDays" in response.json()["error"]["message"]
