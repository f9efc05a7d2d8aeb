"""The contract's cart answer: a cart's lines priced from the catalog now (docs/pricing.md).

``priceAtAdd`` is shown as the drift baseline it is; ``unitPrice`` and ``lineTotal`` are the
catalog's. Pure: the caller reads the lines and the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from origin.carts.cart_store import as_request
from origin.catalog.pricing import price_line
from origin.catalog.values import CatalogItem
from origin.models import CartLine


class ShopCurrency(Protocol):
    @property
    def currency(self) -> str: ...


def render(
    *,
    shop: ShopCurrency,
    cart_id: str | None,
    revision: int,
    lines: Sequence[CartLine],
    catalog: Mapping[str, CatalogItem],
) -> dict[str, Any]:
    """The contract's cart answer, priced from ``catalog`` now.

    A line whose variant has left the catalog cannot be priced; it is listed under
    ``unavailableLines`` (so the shopper can be told and remove it) and left out of
    ``subtotal``.
    """
    priced: list[dict[str, Any]] = []
    unavailable: list[dict[str, Any]] = []
    for line in lines:
        item = catalog.get(line.variant_key)
        if item is None:
            unavailable.append(
                {
                    "lineId": line.id,
                    "sku": line.sku,
                    "variantAttributes": dict(line.attributes),
                    "quantity": line.quantity,
                }
            )
            continue
        price = price_line(as_request(line), item, rental=False)
        priced.append(
            {
                "lineId": line.id,
                "sku": line.sku,
                "variantAttributes": dict(line.attributes),
                "title": price.title,
                "quantity": line.quantity,
                "unitPrice": price.unit_price,
                "priceAtAdd": line.price_at_add,
                "lineTotal": price.line_total,
            }
        )
    return {
        "cartId": cart_id,
        "revision": revision,
        "currency": shop.currency,
        "lines": priced,
        "subtotal": sum(line["lineTotal"] for line in priced),
        "unavailableLines": unavailable,
    }
