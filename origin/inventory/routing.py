"""Which stock a checkout takes: the shop's own variants or the central pool (docs/api.md §3.6).

The single place where a hold's demand is turned into rows of stock to decrement. A variant
the central pool serves for the shop (``CentralInventory.route`` in
:mod:`~origin.inventory.central_policy`, policy applied: it may refuse with 503
``INVENTORY_UNAVAILABLE`` or fall back, counted) becomes a ``central`` line on its
``central_stock`` row; every other variant a ``shop`` line.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from origin.catalog.cache import ShopCatalog
from origin.catalog.line_items import LineRequest, merge_lines
from origin.inventory.central_policy import CentralInventory, VariantRef
from origin.inventory.stock import StockLine


async def stock_lines_for(
    session: AsyncSession,
    *,
    central: CentralInventory,
    catalog: ShopCatalog,
    lines: Sequence[LineRequest],
) -> list[StockLine]:
    """One demand per variant (two lines of one variant are one demand)."""
    merged = merge_lines(lines)
    routing = await central.route(
        session,
        shop=catalog.shop,
        variants=(VariantRef(line.sku, line.variant_key) for line in merged),
        catalog=catalog,
    )
    return [
        StockLine(
            pool="central",
            stock_id=routing.central[line.variant_key].id,
            sku=line.sku,
            variant_key=line.variant_key,
            quantity=line.quantity,
        )
        if line.variant_key in routing.central
        else _own_stock(catalog, line)
        for line in merged
    ]


def local_stock_lines(catalog: ShopCatalog, lines: Sequence[LineRequest]) -> list[StockLine]:
    """:func:`stock_lines_for` of a shop whose stock is all its own
    (:meth:`CentralInventory.routes_locally`): no query, one shop line per variant."""
    return [_own_stock(catalog, line) for line in merge_lines(lines)]


def _own_stock(catalog: ShopCatalog, line: LineRequest) -> StockLine:
    return StockLine(
        pool="shop",
        stock_id=catalog.items[line.variant_key].variant_id,
        sku=line.sku,
        variant_key=line.variant_key,
        quantity=line.quantity,
    )
