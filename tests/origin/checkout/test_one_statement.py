"""Phase A in one statement (origin/checkout/one_statement.py) on the real PostgreSQL.

The statement is taken for checkouts of inline items once the shop's catalog is cached; these
tests warm the cache with one checkout, then check what the statement must keep from the
step-by-step claim: all or nothing on a shortage, a catalog that moved is never priced from
the cache, no deadlock between holds that lock rows in opposite orders, and an intent that
exists is a retry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import OriginClient, load_test_catalog, seed
from tests.origin.support import HEADBAND_M_KEY, all_holds, assert_conserved, available

CHECKOUT = "/api/checkout-session"
HEADBAND_M = {
    "sku": "cf-headband",
    "quantity": 1,
    "variantAttributes": {"size": "m", "color": "navy"},
}
HEADBAND_L = {
    "sku": "cf-headband",
    "quantity": 1,
    "variantAttributes": {"size": "l", "color": "navy"},
}
CLIP = {"sku": "clip", "quantity": 1}


async def checkout(origin: OriginClient, key: str, *items: dict[str, Any]) -> Any:
    return await origin.request(
        "POST", CHECKOUT, json={"items": list(items)}, headers={"Idempotency-Key": key}
    )


async def warm(origin: OriginClient) -> None:
    """One checkout through the step-by-step path caches the shop's catalog."""
    assert (await checkout(origin, "warm-up", CLIP)).status_code == 201
    assert origin.state.catalog.cached("testshop") is not None


async def test_a_short_line_takes_nothing_from_the_other_lines(
    shop_origin: OriginClient, sessions: Any, seeded: Any
) -> None:
    await warm(shop_origin)
    clips_before = await available(sessions, "testshop", "clip")
    scarce = {"sku": "scarce", "quantity": 2}
    response = await checkout(shop_origin, "short", CLIP, scarce)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"]["code"] == "INSUFFICIENT_STOCK"
    assert body["items"] == [
        {"sku": "scarce", "variantKey": "scarce", "requested": 2, "available": 1}
    ]
    # The clip row the statement had already decremented is back; nothing else was written.
    assert await available(sessions, "testshop", "clip") == clips_before
    assert await available(sessions, "testshop", "scarce") == 1
    assert len(await all_holds(sessions)) == 1  # the warm-up's
    async with sessions() as session:
        intents = (await session.execute(text("SELECT count(*) FROM checkout_intents"))).scalar()
    assert intents == 1  # the failed attempt's intent was undone with its stock
    # So the same key may come back with another basket: not a reused key.
    retry = await checkout(shop_origin, "short", CLIP)
    assert retry.status_code == 201, retry.text
    await assert_conserved(sessions, seeded)


async def test_a_catalog_that_moved_is_priced_afresh(
    shop_origin: OriginClient, sessions: Any
) -> None:
    await warm(shop_origin)
    cached = shop_origin.state.catalog.cached("testshop")
    catalog = load_test_catalog()
    for product in catalog["products"]:
        if product["sku"] == "clip" and product["shopId"] == "testshop":
            product["price"] = 1234
    await seed(sessions, catalog)  # moves catalog_version; the origin's cache still holds the old
    assert shop_origin.state.catalog.cached("testshop") is cached
    response = await checkout(shop_origin, "after-seed", CLIP)
    assert response.status_code == 201, response.text
    assert response.json()["amountTotal"] == 1234
    assert shop_origin.state.catalog.cached("testshop").version != cached.version


async def test_holds_locking_rows_in_opposite_orders_never_deadlock(
    shop_origin: OriginClient, sessions: Any, seeded: Any
) -> None:
    await warm(shop_origin)
    forward, backward = (CLIP, HEADBAND_M), (HEADBAND_M, CLIP)
    responses = await asyncio.gather(
        *(checkout(shop_origin, f"order-{i}", *(forward if i % 2 else backward)) for i in range(24))
    )
    assert [r.status_code for r in responses] == [201] * 24, {r.text for r in responses}
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25 - 24
    await assert_conserved(sessions, seeded)


async def test_oversell_is_impossible_when_buyers_race_for_the_last_units(
    shop_origin: OriginClient, sessions: Any, seeded: Any
) -> None:
    await warm(shop_origin)
    responses = await asyncio.gather(
        *(checkout(shop_origin, f"race-{i}", HEADBAND_L) for i in range(12))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [409] * 7, codes
    assert await available(sessions, "testshop", "cf-headband|color=navy|size=l") == 0
    await assert_conserved(sessions, seeded)


async def test_a_retry_of_an_existing_intent_gets_its_hold(
    shop_origin: OriginClient, sessions: Any
) -> None:
    await warm(shop_origin)
    first = await checkout(shop_origin, "again", CLIP)
    second = await checkout(shop_origin, "again", CLIP)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["sessionId"] == second.json()["sessionId"]
    assert len(await all_holds(sessions)) == 2  # the warm-up's and this one


async def test_checkout_edge_require_aborts_the_calling_statement(
    pg_engine: Any, seeded: Any
) -> None:
    async with pg_engine.connect() as connection:
        assert (await connection.execute(text("SELECT checkout_edge_require(true, 'x')"))).scalar()
    with pytest.raises(DBAPIError, match="nothing to see"):
        async with pg_engine.connect() as connection:
            await connection.execute(text("SELECT checkout_edge_require(false, 'nothing to see')"))


class StatementsThroughSqlAlchemy:
    """Counts the statements the origin runs through SQLAlchemy (the one-statement path runs
    none: it is on the driver)."""

    def __init__(self, origin: OriginClient) -> None:
        self.engine = origin.state.engine.sync_engine
        self.seen: list[str] = []

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.seen.append(statement)


async def test_a_warm_checkout_of_items_or_of_a_cart_runs_no_step_by_step_statement(
    shop_origin: OriginClient, sessions: Any, seeded: Any
) -> None:
    await warm(shop_origin)
    cart = await shop_origin.request("POST", "/api/cart", json={"sku": "clip", "quantity": 3})
    assert cart.status_code in (200, 201), cart.text
    cart_id = cart.json()["cartId"]
    with StatementsThroughSqlAlchemy(shop_origin) as seen:
        by_items = await checkout(shop_origin, "items-fast", CLIP)
        by_cart = await shop_origin.request(
            "POST", CHECKOUT, json={"cartId": cart_id}, headers={"Idempotency-Key": "cart-fast"}
        )
    assert (by_items.status_code, by_cart.status_code) == (201, 201), by_cart.text
    assert seen == []
    assert by_cart.json()["amountTotal"] == 3 * 999
    async with sessions() as session:
        intent_cart, items = (
            await session.execute(
                text(
                    "SELECT i.cart_id, (SELECT sum(quantity) FROM hold_items WHERE hold_id = h.id) "
                    "FROM inventory_holds h JOIN checkout_intents i ON i.id = h.intent_id "
                    "WHERE h.id = :hold"
                ),
                {"hold": by_cart.json()["inventoryReservationId"]},
            )
        ).one()
    assert (intent_cart, items) == (cart_id, 3)
    await assert_conserved(sessions, seeded)


async def test_a_cart_short_of_stock_holds_nothing_and_its_retry_converges(
    shop_origin: OriginClient, sessions: Any, seeded: Any
) -> None:
    await warm(shop_origin)
    cart = await shop_origin.request("POST", "/api/cart", json={"sku": "scarce", "quantity": 2})
    cart_id, line_id = cart.json()["cartId"], cart.json()["lines"][0]["lineId"]
    first = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert first.status_code == 409, first.text
    assert await available(sessions, "testshop", "scarce") == 1
    patched = await shop_origin.request(
        "PATCH",
        "/api/cart",
        json={"lineId": line_id, "quantity": 1},
        headers={"x-cart-id": cart_id},
    )
    assert patched.status_code == 200, patched.text
    second = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    again = await shop_origin.request("POST", CHECKOUT, json={"cartId": cart_id})
    assert (second.status_code, again.status_code) == (201, 200), again.text
    assert second.json()["sessionId"] == again.json()["sessionId"]
    assert await available(sessions, "testshop", "scarce") == 0
    await assert_conserved(sessions, seeded)
