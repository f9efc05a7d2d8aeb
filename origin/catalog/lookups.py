"""Lookups in one shop's cached catalog (:class:`~origin.catalog.cache.ShopCatalog`).

Two shops may sell the same SKU at different prices; a :class:`ShopCatalog` holds one shop's
items and coupons only, so a SKU or a coupon of another shop is simply not found. The
functions are pure: the caller has read the catalog (one primary-key read when the cache is
warm) and turns a miss into the contract's error here, the same for every route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checkout_edge_shared.errors import BadRequest, NotFound
from origin.catalog.line_items import LineRequest
from origin.catalog.values import ActiveCoupon, CatalogItem

__all__ = ["CatalogItem", "invalid_coupon", "known_coupon", "known_items"]


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
