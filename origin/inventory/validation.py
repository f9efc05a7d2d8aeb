"""Inventory validation (docs/api.md §3.2, plan items COM-201/COM-203): one contract for all.

Request, canonical: ``{items: [{sku, quantity, variantAttributes?}]}`` with the shop from
``x-shop-id``. Still accepted: a body ``shopId`` (the old multi-tenant shape), which must
equal the header (else 400 ``SHOP_ID_MISMATCH``, never silently one of the two), and a
per-line ``variantKey`` (deprecated), which must agree with ``variantAttributes`` when both
are sent (400 ``VARIANT_KEY_MISMATCH``, see :mod:`origin.catalog.line_items`).

Answer: ``{ok: true}``; 404 ``UNKNOWN_SKU`` for a SKU or variant the shop does not sell
(as the cart answers); 409 ``INSUFFICIENT_STOCK`` listing each short variant as
``{sku, variantKey, requested, available}``, quantities of identical variants summed; or
503 ``INVENTORY_UNAVAILABLE`` when the shop must sell from the central pool and it is
unavailable (§3.6, :mod:`origin.inventory.central_policy`).

Validation reads stock; it holds nothing, so its answer is advice — the checkout's hold
is what takes stock atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from checkout_edge_shared.errors import BadRequest
from origin.catalog.cache import ShopCatalog
from origin.catalog.line_items import LineItems, LineRequest, merge_lines, resolve_items
from origin.catalog.lookups import known_items
from origin.inventory.central_policy import CentralInventory, VariantRef
from origin.inventory.stock import InsufficientStock, Shortage
from origin.models import Variant
from origin.request_bodies import StrictBody, parse_body

__all__ = [
    "Shortage",
    "ValidateBody",
    "available_stock",
    "find_shortages",
    "insufficient_stock",
    "parse_validate_request",
    "shortages_for",
]


class ValidateBody(StrictBody):
    shop_id: str | None = Field(default=None, alias="shopId")
    items: LineItems


def parse_validate_request(data: object, *, shop_id: str) -> list[LineRequest]:
    """The request's lines, with COM-201's fail-closed rules applied."""
    body = parse_body(ValidateBody, data)
    if body.shop_id is not None and body.shop_id != shop_id:
        raise BadRequest(
            f"shopId: {body.shop_id!r} differs from the x-shop-id header {shop_id!r}.",
            code="SHOP_ID_MISMATCH",
        )
    return resolve_items(body.items)


async def available_stock(
    session: AsyncSession,
    *,
    central: CentralInventory,
    catalog: ShopCatalog,
    variants: Iterable[VariantRef],
) -> dict[str, int]:
    """How many of each variant the shop can still hold now, by variant key.

    The one place that answers "how many are available" for a shop: a variant the central
    pool serves for this shop (§3.6) reads the pool's row, shared with every shop its SKU is
    allocated to; any other variant reads the shop's own ``Variant.available``. The pool's
    policy applies here: 503 ``INVENTORY_UNAVAILABLE`` or a counted fallback.
    """
    wanted = list(variants)
    keys = sorted({variant.variant_key for variant in wanted})
    if not keys:
        return {}
    shop = catalog.shop
    routing = await central.route(session, shop=shop, variants=wanted, catalog=catalog)
    stock = {key: row.available for key, row in routing.central.items()}
    own = [key for key in keys if key not in stock]
    if own:
        rows = await session.execute(
            select(Variant.variant_key, Variant.available).where(
                col(Variant.shop_id) == shop.id, col(Variant.variant_key).in_(own)
            )
        )
        stock.update({key: available for key, available in rows})
    return stock


def find_shortages(lines: Sequence[LineRequest], stock: Mapping[str, int]) -> list[Shortage]:
    """Variants asked for beyond their stock, each once with its summed quantity."""
    return [
        Shortage(line.sku, line.variant_key, line.quantity, stock.get(line.variant_key, 0))
        for line in merge_lines(lines)
        if line.quantity > stock.get(line.variant_key, 0)
    ]


async def shortages_for(
    session: AsyncSession,
    *,
    central: CentralInventory,
    catalog: ShopCatalog,
    lines: Sequence[LineRequest],
) -> list[Shortage]:
    """404 ``UNKNOWN_SKU`` for lines the shop does not sell; else what is short (maybe none)."""
    known_items(catalog.items, lines)
    stock = await available_stock(
        session,
        central=central,
        catalog=catalog,
        variants=(VariantRef(line.sku, line.variant_key) for line in lines),
    )
    return find_shortages(lines, stock)


def insufficient_stock(shortages: Sequence[Shortage]) -> InsufficientStock:
    """409 ``INSUFFICIENT_STOCK`` with ``ok: false`` and the short lines (§3.2, §3.3 step 3)."""
    names = ", ".join(f"{s.variant_key} ({s.available} of {s.requested})" for s in shortages)
    return InsufficientStock(shortages, message=f"Not enough stock for {names}.")
