"""Routing asks the pool about the SKU each line carries, never one parsed from its key (§3.6).

A SKU cannot contain the key separator ``|`` (``origin.catalog.variant_keys``), so a key's
SKU always equals its line's; these tests give routing a SKU that differs from the one in the
key to show which of the two decides.
"""

from __future__ import annotations

from typing import Any

from origin.catalog.line_items import LineRequest
from origin.inventory.central_policy import Routing, VariantRef
from origin.inventory.routing import stock_lines_for
from tests.conftest import OriginClient, seed
from tests.origin.inventory.central_support import central_test_catalog, fallbacks

M = "pool-tee|size=m"  # alpha has pool-tee allocated, and the pool holds this row


async def test_route_asks_the_allocations_about_the_sku_it_is_given(
    origin: OriginClient, sessions: Any
) -> None:
    await seed(sessions, central_test_catalog())
    state = origin.state
    async with state.sessions() as session, session.begin():
        catalog = await state.catalog.shop(session, "alpha")
        assert catalog is not None

        async def route(sku: str) -> Routing:
            variants = [VariantRef(sku=sku, variant_key=M)]
            routing: Routing = await state.central.route(
                session, shop=catalog.shop, variants=variants, catalog=catalog
            )
            return routing

        allocated = await route("pool-tee")
        unallocated = await route("own-cap")  # alpha's own SKU: not the pool's

    assert set(allocated.central) == {M}
    assert allocated.central[M].available == 5
    assert unallocated.central == {}
    # Plain shop stock: not a fallback.
    assert fallbacks(origin, "alpha", env=state.settings.origin_env) == 0


async def test_checkout_lines_take_the_pool_chosen_by_each_lines_sku(
    origin: OriginClient, sessions: Any
) -> None:
    await seed(sessions, central_test_catalog())
    state = origin.state

    def line(sku: str) -> LineRequest:
        return LineRequest(sku=sku, attributes={"size": "m"}, variant_key=M, quantity=1)

    async with state.sessions() as session, session.begin():
        catalog = await state.catalog.shop(session, "alpha")
        assert catalog is not None
        lines = {
            sku: await stock_lines_for(
                session, central=state.central, catalog=catalog, lines=[line(sku)]
            )
            for sku in ("pool-tee", "own-cap")
        }

    [pooled], [own] = lines["pool-tee"], lines["own-cap"]
    assert (pooled.pool, pooled.sku) == ("central", "pool-tee")
    assert (own.pool, own.sku, own.stock_id) == ("shop", "own-cap", catalog.items[M].variant_id)
