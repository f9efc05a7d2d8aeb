"""A cart as a checkout reads it, in one statement on the driver (the one-statement checkout).

The same answer as :func:`origin.carts.cart_store.checkout_contents` — the shop's unexpired
cart, its lines in the order they were added, the drift baseline they carry — read with one
``SELECT … LEFT JOIN`` instead of two ORM queries, for :mod:`origin.checkout.one_statement`'s
path. ``None`` where that function answers 404 ``CART_NOT_FOUND``: the caller then takes the
step-by-step path, which answers it.
"""

from __future__ import annotations

from datetime import datetime

from origin.carts.cart_store import CartContents, valid_cart_id
from origin.catalog.line_items import LineRequest
from origin.models.types import UTCDateTime
from origin.sql import Sql, Statements

_CART_WITH_LINES = Sql(
    """
    SELECT c.id, c.revision, l.id, l.sku, l.attributes, l.variant_key, l.quantity, l.price_at_add
    FROM carts AS c LEFT JOIN cart_lines AS l ON l.cart_id = c.id
    WHERE c.id = :cart_id AND c.shop_id = :shop_id AND c.expires_at > :now
    ORDER BY l.created_at, l.id
    """,
    types={"now": UTCDateTime()},
)


async def read_checkout_contents(
    run: Statements, *, shop_id: str, cart_id: str | None, now: datetime
) -> CartContents | None:
    """The cart's lines for checkout (possibly none), or None for no such cart of the shop."""
    if not valid_cart_id(cart_id):
        return None
    rows = await run.fetch(_CART_WITH_LINES, {"cart_id": cart_id, "shop_id": shop_id, "now": now})
    if not rows:
        return None
    lines = [row for row in rows if row[2] is not None]  # a cart without lines joins one NULL row
    return CartContents(
        cart_id=rows[0][0],
        revision=int(rows[0][1]),
        lines=tuple(
            LineRequest(
                sku=sku,
                attributes=dict(attributes),
                variant_key=variant_key,
                quantity=quantity,
                field=f"cart line {line_id}",
            )
            for _, _, line_id, sku, attributes, variant_key, quantity, _ in lines
        ),
        price_at_add_total=sum(row[7] * row[6] for row in lines),
    )
