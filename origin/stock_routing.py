"""Which stock a checkout takes: the shop's own variants (and, later, the central pool).

The single place where a hold's demand is turned into rows of stock to decrement, so that
the central-inventory policy of CONTRACT §3.6 plugs in here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from origin.catalog import CatalogItem
from origin.holds import StockLine
from origin.line_items import LineRequest, merge_lines
from origin.models import Shop


async def stock_lines_for(
    session: AsyncSession,
    *,
    shop: Shop,
    lines: Sequence[LineRequest],
    catalog: Mapping[str, CatalogItem],
) -> list[StockLine]:
    """One demand per variant (two lines of one variant are one demand)."""
    return [
        StockLine(
            pool="shop",
            stock_id=catalog[line.variant_key].variant_id,
            sku=line.sku,
            variant_key=line.variant_key,
            quantity=line.quantity,
        )
        for line in merge_lines(lines)
    ]
