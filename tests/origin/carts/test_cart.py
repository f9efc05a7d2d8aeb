"""The cart API (docs/api.md §3.1; plan item COM-402) through the real origin app."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.carts import cart_store as carts
from origin.catalog.variant_keys import format_variant_key
from origin.models import Cart, CartLine, Product, Variant
from origin.models.types import utcnow
from tests.conftest import OriginClient, load_test_catalog, seed

NAVY_M = {"size": "m", "color": "navy"}
HEADBAND = {"sku": "cf-headband", "quantity": 2, "variantAttributes": NAVY_M}
HEADBAND_KEY = "cf-headband|color=navy|size=m"


async def add(
    origin: OriginClient, body: Any, *, cart_id: str | None = None, shop: str = "testshop"
) -> httpx.Response:
    headers = {"x-cart-id": cart_id} if cart_id else {}
    return await origin.request("POST", "/api/cart", shop=shop, json=body, headers=headers)


async def new_cart(origin: OriginClient, body: Any = HEADBAND, shop: str = "testshop") -> str:
    response = await add(origin, body, shop=shop)
    assert response.status_code == 200, response.text
    origin.http.cookies.clear()  # tests name their carts explicitly
    cart_id: str = response.json()["cartId"]
    return cart_id


async def call(
    origin: OriginClient, method: str, cart_id: str, shop: str = "testshop", **kwargs: Any
) -> httpx.Response:
    return await origin.request(
        method, "/api/cart", shop=shop, headers={"x-cart-id": cart_id}, **kwargs
    )


async def test_post_creates_a_cart_priced_from_the_catalog(
    origin: OriginClient, seeded: Any
) -> None:
    response = await add(origin, HEADBAND)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"cartId", "currency", "lines", "subtotal"}
    assert len(body["cartId"]) >= 32
    assert body["currency"] == "usd"
    [line] = body["lines"]
    assert line["lineId"]
    assert {k: v for k, v in line.items() if k != "lineId"} == {
        "sku": "cf-headband",
        "variantAttributes": {"color": "navy", "size": "m"},
        "title": "Headband",
        "quantity": 2,
        "unitPrice": 3400,
        "priceAtAdd": 3400,
        "lineTotal": 6800,
    }
    assert body["subtotal"] == 6800


async def test_the_cart_cookie_is_http_only_same_site_lax(
    origin: OriginClient, seeded: Any
) -> None:
    response = await add(origin, HEADBAND)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"cart_id={response.json()['cartId']};")
    attributes = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes
    assert f"Max-Age={30 * 86400}" in attributes
    assert "Secure" not in attributes


async def test_the_cart_cookie_is_secure_in_production(origin_factory: Any, seeded: Any) -> None:
    origin = await origin_factory(origin_env="production")
    response = await add(origin, HEADBAND)
    assert "Secure" in [part.strip() for part in response.headers["set-cookie"].split(";")]


async def test_the_cart_is_found_by_cookie_or_by_header(origin: OriginClient, seeded: Any) -> None:
    first = await add(origin, HEADBAND)
    cart_id = first.json()["cartId"]
    by_cookie = await origin.request("GET", "/api/cart")  # the client sends the cookie back
    assert by_cookie.json()["cartId"] == cart_id
    origin.http.cookies.clear()
    by_header = await call(origin, "GET", cart_id)
    assert by_header.status_code == 200
    assert by_header.json()["cartId"] == cart_id


async def test_identical_lines_merge(origin: OriginClient, seeded: Any) -> None:
    cart_id = await new_cart(origin)
    again = await add(
        origin,
        {"sku": "cf-headband", "quantity": 3, "variantAttributes": {"Color": "NAVY", "size": "m"}},
        cart_id=cart_id,
    )
    assert again.json()["cartId"] == cart_id
    [line] = again.json()["lines"]
    assert (line["quantity"], line["lineTotal"]) == (5, 17000)
    by_key = await add(
        origin, {"sku": "cf-headband", "quantity": 1, "variantKey": HEADBAND_KEY}, cart_id=cart_id
    )
    assert [(ln["lineId"], ln["quantity"]) for ln in by_key.json()["lines"]] == [
        (line["lineId"], 6)
    ]


async def test_other_variants_are_other_lines(origin: OriginClient, seeded: Any) -> None:
    cart_id = await new_cart(origin)
    response = await add(
        origin,
        {"sku": "cf-headband", "quantity": 1, "variantAttributes": {"size": "l", "color": "navy"}},
        cart_id=cart_id,
    )
    response = await add(origin, {"sku": "clip", "quantity": 3}, cart_id=cart_id)
    body = response.json()
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [
        ("cf-headband", 2),
        ("cf-headband", 1),
        ("clip", 3),
    ]
    assert body["subtotal"] == 6800 + 3400 + 2997


async def test_a_merge_beyond_999_is_refused_and_changes_nothing(
    origin: OriginClient, seeded: Any
) -> None:
    cart_id = await new_cart(origin, {"sku": "clip", "quantity": 999})
    response = await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert response.json()["error"]["message"].startswith("quantity:")
    assert (await call(origin, "GET", cart_id)).json()["lines"][0]["quantity"] == 999


async def test_concurrent_adds_of_one_item_all_count(origin: OriginClient, seeded: Any) -> None:
    cart_id = await new_cart(origin, {"sku": "clip", "quantity": 1})
    responses = await asyncio.gather(
        *(add(origin, {"sku": "clip", "quantity": 2}, cart_id=cart_id) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    [line] = (await call(origin, "GET", cart_id)).json()["lines"]
    assert line["quantity"] == 21


async def test_patch_sets_a_quantity_and_zero_removes_the_line(
    origin: OriginClient, seeded: Any
) -> None:
    cart_id = await new_cart(origin)
    added = await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    headband, clip = added.json()["lines"]
    patched = await call(origin, "PATCH", cart_id, json={"lineId": clip["lineId"], "quantity": 7})
    assert patched.status_code == 200
    assert [ln["quantity"] for ln in patched.json()["lines"]] == [2, 7]
    assert patched.json()["subtotal"] == 6800 + 7 * 999
    removed = await call(origin, "PATCH", cart_id, json={"lineId": clip["lineId"], "quantity": 0})
    assert [ln["lineId"] for ln in removed.json()["lines"]] == [headband["lineId"]]
    again = await call(origin, "PATCH", cart_id, json={"lineId": clip["lineId"], "quantity": 1})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "LINE_NOT_FOUND"


async def test_delete_removes_one_line_or_empties_the_cart(
    origin: OriginClient, seeded: Any
) -> None:
    cart_id = await new_cart(origin)
    added = await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    headband, clip = added.json()["lines"]
    one = await call(origin, "DELETE", cart_id, params={"lineId": headband["lineId"]})
    assert [ln["lineId"] for ln in one.json()["lines"]] == [clip["lineId"]]
    missing = await call(origin, "DELETE", cart_id, params={"lineId": headband["lineId"]})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "LINE_NOT_FOUND"
    emptied = await call(origin, "DELETE", cart_id)
    assert emptied.status_code == 200
    assert (emptied.json()["cartId"], emptied.json()["lines"], emptied.json()["subtotal"]) == (
        cart_id,
        [],
        0,
    )


async def test_get_without_a_cart_is_an_empty_cart_and_creates_nothing(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await origin.request("GET", "/api/cart")
    assert response.status_code == 200
    assert response.json() == {
        "cartId": None,
        "revision": 0,
        "currency": "usd",
        "lines": [],
        "subtotal": 0,
        "unavailableLines": [],
    }
    assert "set-cookie" not in response.headers
    async with sessions() as session:
        assert (await session.execute(select(Cart))).first() is None


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_cart_is_404_cart_not_found(
    origin: OriginClient, seeded: Any, method: str
) -> None:
    kwargs: dict[str, Any] = (
        {"json": {"lineId": "ln_x", "quantity": 1}} if method == "PATCH" else {}
    )
    response = await call(origin, method, "A" * 32, **kwargs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CART_NOT_FOUND"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_another_shops_cart_is_404_as_if_it_did_not_exist(
    origin: OriginClient, seeded: Any, method: str
) -> None:
    cart_id = await new_cart(origin)
    line_id = (await call(origin, "GET", cart_id)).json()["lines"][0]["lineId"]
    kwargs: dict[str, Any] = (
        {"json": {"lineId": line_id, "quantity": 1}} if method == "PATCH" else {}
    )
    foreign = await call(origin, method, cart_id, shop="othershop", **kwargs)
    unknown = await call(origin, method, "B" * 32, shop="othershop", **kwargs)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"] == "CART_NOT_FOUND"
    assert foreign.json()["error"]["message"] == unknown.json()["error"]["message"]
    # The owner's cart is untouched.
    assert (await call(origin, "GET", cart_id)).json()["lines"][0]["quantity"] == 2


async def test_posting_to_another_shops_cart_starts_a_new_one(
    origin: OriginClient, seeded: Any
) -> None:
    cart_id = await new_cart(origin)
    response = await add(origin, HEADBAND, cart_id=cart_id, shop="othershop")
    assert response.status_code == 200
    assert response.json()["cartId"] != cart_id
    origin.http.cookies.clear()  # the new cart's cookie would contradict the header
    assert (await call(origin, "GET", cart_id)).json()["lines"][0]["quantity"] == 2


async def test_the_same_sku_is_priced_by_each_shop(origin: OriginClient, seeded: Any) -> None:
    ours = (await add(origin, HEADBAND)).json()
    origin.http.cookies.clear()
    theirs = (await add(origin, HEADBAND, shop="othershop")).json()
    assert (ours["lines"][0]["unitPrice"], ours["lines"][0]["title"]) == (3400, "Headband")
    assert (theirs["lines"][0]["unitPrice"], theirs["lines"][0]["title"]) == (
        4100,
        "Other Headband",
    )


async def test_a_sku_of_another_shop_only_is_unknown(origin: OriginClient, seeded: Any) -> None:
    response = await add(
        origin, {"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UNKNOWN_SKU"


async def test_rental_shop_cart_is_in_its_currency(origin: OriginClient, seeded: Any) -> None:
    response = await add(
        origin,
        {"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}},
        shop="rentshop",
    )
    body = response.json()
    assert (body["currency"], body["subtotal"], body["lines"][0]["unitPrice"]) == (
        "eur",
        8900,
        8900,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "nope", "quantity": 1},
        {"sku": "cf-headband", "quantity": 1},
        {"sku": "cf-headband", "quantity": 1, "variantAttributes": {"size": "xl", "color": "navy"}},
        {"sku": "clip", "quantity": 1, "variantAttributes": {"size": "m"}},
    ],
)
async def test_unknown_sku_or_variant_is_404_and_creates_nothing(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession], body: Any
) -> None:
    response = await add(origin, body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UNKNOWN_SKU"
    assert "set-cookie" not in response.headers
    async with sessions() as session:
        assert (await session.execute(select(Cart))).first() is None


async def test_com402_cart_stores_identifiers_and_quantities_only(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    refused = await add(origin, {**HEADBAND, "price": 1})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("price:")
    cart_id = await new_cart(origin)
    async with sessions() as session:
        [row] = (await session.execute(select(CartLine))).scalars().all()
    assert row.cart_id == cart_id
    assert (row.sku, row.variant_key, row.attributes, row.quantity, row.price_at_add) == (
        "cf-headband",
        HEADBAND_KEY,
        {"color": "navy", "size": "m"},
        2,
        3400,
    )


async def test_com402_price_at_add_is_a_baseline_and_the_catalog_price_is_shown(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cart_id = await new_cart(origin)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Product)
            .where(col(Product.shop_id) == "testshop", col(Product.sku) == "cf-headband")
            .values(price=3600)
        )
    [line] = (await call(origin, "GET", cart_id)).json()["lines"]
    assert (line["unitPrice"], line["priceAtAdd"], line["lineTotal"]) == (3600, 3400, 7200)
    # Merging keeps the first baseline: it is what the customer saw first.
    merged = await add(origin, {**HEADBAND, "quantity": 1}, cart_id=cart_id)
    assert merged.json()["lines"][0]["priceAtAdd"] == 3400
    contents = await _contents(sessions, cart_id)
    assert contents.price_at_add_total == 3 * 3400


async def _contents(sessions: async_sessionmaker[AsyncSession], cart_id: str) -> carts.CartContents:
    async with sessions() as session:
        return await carts.checkout_contents(
            session, shop_id="testshop", cart_id=cart_id, now=utcnow()
        )


async def test_a_line_whose_variant_left_the_catalog_does_not_break_the_cart(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cart_id = await new_cart(origin)
    await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    async with sessions() as session, session.begin():
        await session.execute(
            delete(Variant).where(
                col(Variant.shop_id) == "testshop", col(Variant.variant_key) == HEADBAND_KEY
            )
        )
    response = await call(origin, "GET", cart_id)
    assert response.status_code == 200
    body = response.json()
    assert [ln["sku"] for ln in body["lines"]] == ["clip"]
    assert body["subtotal"] == 999
    [gone] = body["unavailableLines"]
    assert (gone["sku"], gone["quantity"]) == ("cf-headband", 2)
    removed = await call(origin, "PATCH", cart_id, json={"lineId": gone["lineId"], "quantity": 0})
    assert removed.status_code == 200
    assert removed.json()["unavailableLines"] == []


async def test_an_expired_cart_is_gone_and_a_post_starts_a_new_one(
    origin_factory: Any, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    origin = await origin_factory(cart_ttl_seconds=120)
    cart_id = await new_cart(origin)
    async with sessions() as session:
        cart = await session.get(Cart, cart_id)
    assert cart is not None
    assert timedelta(seconds=110) < cart.expires_at - utcnow() <= timedelta(seconds=120)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Cart)
            .where(col(Cart.id) == cart_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await call(origin, "GET", cart_id)).status_code == 404
    response = await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    assert response.status_code == 200
    assert response.json()["cartId"] != cart_id
    assert [ln["sku"] for ln in response.json()["lines"]] == ["clip"]


async def test_writes_keep_the_cart_alive(
    origin_factory: Any, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    origin = await origin_factory(cart_ttl_seconds=3600)
    cart_id = await new_cart(origin)
    soon = utcnow() + timedelta(seconds=5)
    async with sessions() as session, session.begin():
        await session.execute(update(Cart).where(col(Cart.id) == cart_id).values(expires_at=soon))
    await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    async with sessions() as session:
        cart = await session.get(Cart, cart_id)
    assert cart is not None
    assert cart.expires_at - utcnow() > timedelta(seconds=3500)


async def test_purge_deletes_expired_carts_and_their_lines_only(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    live = await new_cart(origin)
    dead = await new_cart(origin)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Cart).where(col(Cart.id) == dead).values(expires_at=utcnow() - timedelta(days=1))
        )
    async with sessions() as session, session.begin():
        assert await carts.purge_expired(session, now=utcnow()) == 1
    async with sessions() as session:
        remaining = (await session.execute(select(CartLine.cart_id))).scalars().all()
        assert await session.get(Cart, dead) is None
    assert remaining == [live]


async def test_a_full_cart_refuses_new_items_but_merges(
    origin: OriginClient, seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(carts, "MAX_CART_LINES", 2)
    cart_id = await new_cart(origin)
    await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    full = await add(origin, {"sku": "scarce", "quantity": 1}, cart_id=cart_id)
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "CART_FULL"
    merged = await add(origin, {"sku": "clip", "quantity": 1}, cart_id=cart_id)
    assert merged.status_code == 200


async def test_checkout_contents_gives_lines_and_baseline(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cart_id = await new_cart(origin)
    await add(origin, {"sku": "clip", "quantity": 3}, cart_id=cart_id)
    contents = await _contents(sessions, cart_id)
    assert contents.cart_id == cart_id
    assert [(ln.variant_key, ln.quantity) for ln in contents.lines] == [
        (HEADBAND_KEY, 2),
        ("clip", 3),
    ]
    assert contents.price_at_add_total == 2 * 3400 + 3 * 999


async def test_awkward_attributes_work_end_to_end(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Seed, cart and validation all key the variant through origin.catalog.variant_keys."""
    catalog = load_test_catalog()
    odd = {"Fit|Cut": "A=B%C", "colour": "Navy Blue"}
    catalog["products"].append(
        {
            "shopId": "testshop",
            "sku": "odd.item_1",
            "title": "Odd",
            "price": 101,
            "variants": [{"attributes": odd, "stock": 2}],
        }
    )
    await seed(sessions, catalog)
    key = format_variant_key("odd.item_1", odd)
    assert key == "odd.item_1|colour=navy blue|fit%7Ccut=a%3Db%25c"
    added = await add(origin, {"sku": "odd.item_1", "quantity": 2, "variantAttributes": odd})
    assert added.status_code == 200, added.text
    assert added.json()["lines"][0]["variantAttributes"] == {
        "colour": "navy blue",
        "fit|cut": "a=b%c",
    }
    by_key = {"items": [{"sku": "odd.item_1", "quantity": 2, "variantKey": key}]}
    ok = await origin.request("POST", "/api/inventory/validate", json=by_key)
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    by_key["items"][0]["quantity"] = 3
    short = await origin.request("POST", "/api/inventory/validate", json=by_key)
    assert short.json()["items"] == [
        {"sku": "odd.item_1", "variantKey": key, "requested": 3, "available": 2}
    ]
