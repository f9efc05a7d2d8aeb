"""``/api/cart`` and ``/api/order-status`` read the shop and its prices from the catalog cache.

Each request reads the ``catalog_version`` counter (one primary-key read) and nothing else of
the catalog while the cache is warm; any catalog write — a re-seed, an operator's SQL — shows
in the very next answer (docs/api.md §3.1, §3.5; docs/pricing.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from origin.models import Variant
from tests.conftest import OriginClient, load_test_catalog, seed

NAVY_M = {"size": "m", "color": "navy"}
HEADBAND = {"sku": "cf-headband", "quantity": 2, "variantAttributes": NAVY_M}
CLIP = {"sku": "clip", "quantity": 1}
STATUS = "/api/order-status"
# Every table a catalog lookup reads; the cache's counter is not one of them.
_CATALOG_READ = re.compile(
    r"\b(?:FROM|JOIN)\s+\"?(shops|products|variants|coupons|central_allocations|central_stock)\b",
    re.IGNORECASE,
)
_VERSION_READ = re.compile(r"\bFROM\s+catalog_version\b", re.IGNORECASE)


@contextmanager
def statements_on(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` sends to PostgreSQL while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])  # (connection, cursor, statement, parameters, context, many)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def catalog_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if _CATALOG_READ.search(s)]


def version_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if _VERSION_READ.search(s)]


async def cart(
    origin: OriginClient, method: str, cart_id: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"x-cart-id": cart_id} if cart_id else {}
    response = await origin.request(method, "/api/cart", headers=headers, **kwargs)
    origin.http.cookies.clear()  # carts are named explicitly
    return response


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


async def check_out(origin: OriginClient, *, key: str) -> httpx.Response:
    headers = {"Idempotency-Key": key}
    return await origin.request(
        "POST", "/api/checkout-session", json={"items": [HEADBAND]}, headers=headers
    )


def reseeded(**prices: int) -> dict[str, Any]:
    """The test catalog with testshop's products at new ``prices`` (by SKU)."""
    catalog = load_test_catalog()
    for product in catalog["products"]:
        if product["shopId"] == "testshop" and product["sku"] in prices:
            product["price"] = prices[product["sku"]]
    return catalog


async def test_a_warm_cache_answers_every_cart_route_without_a_catalog_query(
    origin: OriginClient, seeded: Any
) -> None:
    assert (await cart(origin, "GET")).status_code == 200  # warms testshop
    loads = origin.state.catalog.loads

    with statements_on(origin.state.engine) as sent:
        added = await cart(origin, "POST", json=HEADBAND)
        cart_id = added.json()["cartId"]
        line_id = added.json()["lines"][0]["lineId"]
        answers = [
            added,
            await cart(origin, "POST", cart_id, json=CLIP),
            await cart(origin, "GET", cart_id),
            await cart(origin, "PATCH", cart_id, json={"lineId": line_id, "quantity": 3}),
            await cart(origin, "DELETE", cart_id, params={"lineId": line_id}),
            await cart(origin, "DELETE", cart_id),
            await cart(origin, "POST", json={"sku": "nope", "quantity": 1}),
        ]

    assert [a.status_code for a in answers] == [200] * 6 + [404]
    assert answers[3].json()["subtotal"] == 3 * 3400 + 999
    assert catalog_reads(sent) == []
    assert len(version_reads(sent)) == len(answers)
    assert origin.state.catalog.loads == loads


async def test_a_warm_cache_answers_order_status_without_a_catalog_query(
    shop_origin: OriginClient, sim: httpx.AsyncClient
) -> None:
    checkout = await check_out(shop_origin, key="a")
    assert checkout.status_code == 201, checkout.text
    session_id = checkout.json()["sessionId"]

    with statements_on(shop_origin.state.engine) as sent:
        known = await shop_origin.request("GET", STATUS, params={"sessionId": session_id})
        unknown = await shop_origin.request("GET", STATUS, params={"sessionId": "cs_test_nope"})

    assert (known.status_code, known.json()["status"]) == (200, "pending")
    assert unknown.json()["error"]["code"] == "SESSION_NOT_FOUND"
    assert catalog_reads(sent) == []
    assert len(version_reads(sent)) == 2


async def test_a_price_changed_by_a_reseed_shows_in_the_next_cart_answer(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cart_id = (await cart(origin, "POST", json=HEADBAND)).json()["cartId"]

    await seed(sessions, reseeded(**{"cf-headband": 3600}))

    [line] = (await cart(origin, "GET", cart_id)).json()["lines"]
    assert (line["unitPrice"], line["priceAtAdd"], line["lineTotal"]) == (3600, 3400, 7200)
    # A line added after the change starts from the new price.
    await seed(sessions, reseeded(**{"cf-headband": 3600, "clip": 1111}))
    added = (await cart(origin, "POST", cart_id, json=CLIP)).json()
    clip = next(line for line in added["lines"] if line["sku"] == "clip")
    assert (clip["unitPrice"], clip["priceAtAdd"]) == (1111, 1111)
    assert added["subtotal"] == 7200 + 1111


async def test_a_variant_gone_from_the_catalog_shows_in_the_next_cart_answer(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A seed never removes a variant; an operator's SQL can, and the cache sees it."""
    cart_id = (await cart(origin, "POST", json=HEADBAND)).json()["cartId"]
    clip_line = (await cart(origin, "POST", cart_id, json=CLIP)).json()["lines"][1]["lineId"]

    async with sessions() as session, session.begin():
        await session.execute(delete(Variant).where(col(Variant.variant_key) == "clip"))

    body = (await cart(origin, "GET", cart_id)).json()
    assert [line["sku"] for line in body["lines"]] == ["cf-headband"]
    assert body["unavailableLines"] == [
        {"lineId": clip_line, "sku": "clip", "variantAttributes": {}, "quantity": 1}
    ]
    assert body["subtotal"] == 6800
    again = await cart(origin, "POST", cart_id, json=CLIP)
    assert error_of(again) == (
        404,
        "UNKNOWN_SKU",
        "this shop sells no SKU 'clip' without attributes.",
    )


async def test_a_shop_is_404_until_a_seed_adds_it_then_found_at_once(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    not_found = (404, "SHOP_NOT_FOUND", "Shop 'newshop' does not exist.")
    for path, params in (("/api/cart", {}), (STATUS, {"sessionId": "cs_x"})):
        response = await origin.request("GET", path, shop="newshop", params=params)
        assert error_of(response) == not_found

    catalog = load_test_catalog()
    catalog["shops"].append({**catalog["shops"][0], "id": "newshop", "currency": "eur"})
    await seed(sessions, catalog)

    empty = await origin.request("GET", "/api/cart", shop="newshop")
    assert (empty.status_code, empty.json()["currency"]) == (200, "eur")
    status = await origin.request("GET", STATUS, shop="newshop", params={"sessionId": "cs_x"})
    assert error_of(status) == (404, "SESSION_NOT_FOUND", "No checkout session 'cs_x'.")


async def test_order_status_keeps_the_charged_snapshot_after_a_price_change(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    checkout = await check_out(shop_origin, key="b")
    session_id = checkout.json()["sessionId"]
    before = await shop_origin.request("GET", STATUS, params={"sessionId": session_id})
    loads = shop_origin.state.catalog.loads

    await seed(sessions, reseeded(**{"cf-headband": 3600}))

    after = await shop_origin.request("GET", STATUS, params={"sessionId": session_id})
    assert shop_origin.state.catalog.loads == loads + 1  # the re-seed was seen …
    assert after.content == before.content  # … and what was charged is what is shown
    assert after.json()["amountTotal"] == 6800
