"""The catalog's values as the domain reads them: frozen, detached from any session.

:class:`ShopProfile` is what every route knows of the shop it serves; :class:`CatalogItem`
a sellable variant priced now; :class:`ActiveCoupon` an active coupon. Built from rows by
:mod:`origin.catalog.cache` (and :func:`ShopProfile.of`); never written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from origin.models import Shop


@dataclass(frozen=True, slots=True)
class ShopProfile:
    id: str
    name: str
    type: str  # sale | rental
    currency: str
    checkout_mode: str  # hosted | custom
    requires_central_inventory: bool
    success_url: str | None
    cancel_url: str | None
    return_url: str | None

    @classmethod
    def of(cls, shop: Shop) -> ShopProfile:
        return cls(
            id=shop.id,
            name=shop.name,
            type=shop.type,
            currency=shop.currency,
            checkout_mode=shop.checkout_mode,
            requires_central_inventory=shop.requires_central_inventory,
            success_url=shop.success_url,
            cancel_url=shop.cancel_url,
            return_url=shop.return_url,
        )


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """A sellable variant as the catalog prices it now (minor units of the shop's currency).

    ``price`` is the sale price, or for a rental shop the fee for the whole rental;
    ``deposit`` is per unit and only charged by rental shops. Stock is deliberately absent:
    availability is :mod:`origin.inventory.validation`'s question.
    """

    variant_id: int
    product_id: int
    sku: str
    variant_key: str
    attributes: Mapping[str, str]
    title: str
    price: int
    deposit: int


@dataclass(frozen=True, slots=True)
class ActiveCoupon:
    """An active coupon: exactly one of ``percent_off`` and ``amount_off`` is set."""

    code: str
    percent_off: int | None
    amount_off: int | None
