"""Catalog lookups, always scoped to one shop.

Two shops may sell the same SKU at different prices, so every query here filters by shop —
on the variant *and* on its product — and a SKU of another shop is simply not found.
Lookups for many lines are one query. Prices come from here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from checkout_edge_shared.errors import BadRequest, NotFound
from origin.catalog.line_items import LineRequest
from origin.catalog.values import ActiveCoupon, CatalogItem
from origin.models import Coupon, Product, Variant

__all__ = [
    "CatalogItem",
    "find_coupon",
    "invalid_coupon",
    "items_by_key",
    "known_coupon",
    "known_items",
    "require_coupon",
    "require_items",
]


async def items_by_key(
    session: AsyncSession, *, shop_id: str, variant_keys: Iterable[str]
) -> dict[str, CatalogItem]:
    """The shop's variants among ``variant_keys``, by key; unknown keys are absent."""
    keys = sorted(set(variant_keys))
    if not keys:
        return {}
    rows = await session.execute(
        select(Variant, Product)
        .join(Product, col(Product.id) == col(Variant.product_id))
        .where(
            col(Variant.shop_id) == shop_id,
            col(Product.shop_id) == shop_id,
            col(Variant.variant_key).in_(keys),
        )
    )
    items: dict[str, CatalogItem] = {}
    for variant, product in rows:
        assert variant.id is not None
        assert product.id is not None
        items[variant.variant_key] = CatalogItem(
            variant_id=variant.id,
            product_id=product.id,
            sku=variant.sku,
            variant_key=variant.variant_key,
            attributes=dict(variant.attributes),
            title=product.title,
            price=product.price,
            deposit=product.deposit,
        )
    return items


async def require_items(
    session: AsyncSession, *, shop_id: str, lines: Sequence[LineRequest]
) -> dict[str, CatalogItem]:
    """The catalog item of every line, or 404 ``UNKNOWN_SKU`` naming the first unknown one."""
    items = await items_by_key(
        session, shop_id=shop_id, variant_keys=(line.variant_key for line in lines)
    )
    return known_items(items, lines)


def known_items(
    items: Mapping[str, CatalogItem], lines: Sequence[LineRequest]
) -> dict[str, CatalogItem]:
    """``items`` of the lines' variants, or 404 ``UNKNOWN_SKU`` naming the first unknown one."""
    for line in lines:
        if line.variant_key not in items:
            variant = f" with {line.attributes}" if line.attributes else " without attributes"
            raise NotFound(
                line.named(f"this shop sells no SKU {line.sku!r}{variant}."),
                code="UNKNOWN_SKU",
            )
    return {line.variant_key: items[line.variant_key] for line in lines}


async def find_coupon(session: AsyncSession, *, shop_id: str, code: str) -> Coupon | None:
    """The shop's active coupon ``code`` (codes are case-insensitive, stored upper-case)."""
    result = await session.execute(
        select(Coupon).where(
            col(Coupon.shop_id) == shop_id,
            col(Coupon.code) == code.strip().upper(),
            col(Coupon.active).is_(True),
        )
    )
    return result.scalar_one_or_none()


def known_coupon(
    coupons: Mapping[str, ActiveCoupon], code: str, *, field: str = "couponCode"
) -> ActiveCoupon:
    """The shop's active coupon ``code`` from its cached catalog, or 400 ``INVALID_COUPON``."""
    coupon = coupons.get(code.strip().upper())
    if coupon is None:
        raise invalid_coupon(code, field)
    return coupon


def invalid_coupon(code: str, field: str) -> BadRequest:
    return BadRequest(
        f"{field}: {code!r} is not an active coupon of this shop.", code="INVALID_COUPON"
    )


async def require_coupon(
    session: AsyncSession, *, shop_id: str, code: str, field: str = "couponCode"
) -> Coupon:
    """The coupon, or 400 ``INVALID_COUPON``: charging more than the customer was promised
    without telling them is worse than refusing the checkout."""
    coupon = await find_coupon(session, shop_id=shop_id, code=code)
    if coupon is None:
        raise invalid_coupon(code, field)
    return coupon
