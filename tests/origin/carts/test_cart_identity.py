"""One rule names the cart on every route, and every change moves the cart's revision.

Cookie, ``x-cart-id`` header and (checkout) body ``cartId`` must agree, else 400
``CART_ID_CONFLICT`` — once the cart API showed one cart while checkout charged another.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from origin.models import CheckoutIntent, InventoryHold
from origin.models.types import utcnow
from origin.orders.paid_orders import clear_cart
from tests.conftest import OriginClient
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY, all_holds, available

CLIP = {"sku": "clip", "quantity": 1}


async def new_cart(origin: OriginClient, item: dict[str, Any]) -> tuple[str, str]:
    """A cart id and the id of its one line; the client's cookie jar is left empty."""
    response = await origin.request("POST", "/api/cart", json=item)
    assert response.status_code == 200, response.text
    origin.http.cookies.clear()
    body = response.json()
    return body["cartId"], body["lines"][0]["lineId"]


def cookie(cart_id: str) -> dict[str, str]:
    return {"cookie": f"cart_id={cart_id}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/cart", None),
        ("POST", "/api/cart", CLIP),
        ("PATCH", "/api/cart", {"lineId": "ln_x", "quantity": 1}),
        ("DELETE", "/api/cart", None),
        ("POST", "/api/checkout-session", {}),
        ("POST", "/api/checkout/session", {}),
    ],
)
async def test_cookie_a_and_header_b_is_400_on_every_route_and_nothing_changes(
    shop_origin: OriginClient,
    sessions: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    cart_a, _ = await new_cart(shop_origin, HEADBAND_M)
    cart_b, _ = await new_cart(shop_origin, CLIP)
    response = await shop_origin.request(
        method, path, json=body, headers={**cookie(cart_a), "x-cart-id": cart_b}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "CART_ID_CONFLICT"
    for cart_id, revision in ((cart_a, 1), (cart_b, 1)):
        unchanged = await shop_origin.request("GET", "/api/cart", headers={"x-cart-id": cart_id})
        assert unchanged.json()["revision"] == revision
    assert await all_holds(sessions) == []
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25


async def test_body_cart_id_differing_from_the_cookie_is_400(shop_origin: OriginClient) -> None:
    cart_a, _ = await new_cart(shop_origin, HEADBAND_M)
    cart_b, _ = await new_cart(shop_origin, CLIP)
    response = await shop_origin.request(
        "POST", "/api/checkout-session", json={"cartId": cart_b}, headers=cookie(cart_a)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CART_ID_CONFLICT"


async def test_the_same_cart_named_everywhere_is_that_cart(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    cart_id, _ = await new_cart(shop_origin, HEADBAND_M)
    both = {**cookie(cart_id), "x-cart-id": cart_id}
    shown = await shop_origin.request("GET", "/api/cart", headers=both)
    assert shown.json()["cartId"] == cart_id
    charged = await shop_origin.request(
        "POST", "/api/checkout-session", json={"cartId": cart_id}, headers=both
    )
    assert charged.status_code == 201, charged.text
    assert charged.json()["amountTotal"] == shown.json()["subtotal"] == 6800


async def test_every_change_increases_the_revision_in_every_answer(
    origin: OriginClient, seeded: Any, sessions: Any
) -> None:
    cart_id, line_id = await new_cart(origin, HEADBAND_M)
    header = {"x-cart-id": cart_id}
    seen = [1]

    async def call(method: str, **kwargs: Any) -> None:
        response = await origin.request(method, "/api/cart", headers=header, **kwargs)
        assert response.status_code == 200, response.text
        seen.append(response.json()["revision"])

    await call("GET")  # reading is no change
    await call("POST", json=HEADBAND_M)  # merge
    await call("POST", json=CLIP)  # add
    await call("PATCH", json={"lineId": line_id, "quantity": 5})
    await call("DELETE", params={"lineId": line_id})
    await call("DELETE")
    assert seen == [1, 1, 2, 3, 4, 5, 6]

    async with sessions() as session, session.begin():
        # The webhook's clear after payment is a change too.
        intent = CheckoutIntent(id="i", shop_id="testshop", fingerprint="f", cart_id=cart_id)
        hold = InventoryHold(
            id="h", shop_id="testshop", intent_id="i", stripe_idempotency_key="k",
            currency="usd", amount_total=0, expires_at=utcnow(),
        )  # fmt: skip
        assert await clear_cart(session=session, hold=hold, intent=intent)
    await call("GET")
    assert seen[-1] == 7
