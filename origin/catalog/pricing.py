"""Pricing: what lines cost now, and whether what the client expected drifted from it.

Pure functions — no I/O, no clock, no floats. Every amount is an ``int`` of minor units of
the shop's currency; percentages are :class:`~decimal.Decimal` and are turned into whole
minor units in exactly two documented places (coupon percent, drift percent). The rules,
written out for people in ``docs/pricing.md``:

* ``unitPrice`` is the catalog price; ``lineTotal = unitPrice × quantity``;
  ``subtotal = Σ lineTotal``. Nothing a client or a cart says about price is used.
* A coupon discounts the subtotal, never deposits. ``percentOff`` is applied once to the
  subtotal and rounded half-up to a minor unit; ``amountOff`` is capped at the subtotal.
  The discount is never negative and never exceeds the subtotal.
* Rental shops charge each line's deposit per unit (``depositTotal``); a product's price is
  the fee for the whole rental and ``rentalDays`` (1…90, required) is recorded, not
  multiplied. Sale shops charge no deposit and record ``rentalDays`` 0.
* ``total = subtotal − discount + depositTotal`` is the amount charged (Stripe's
  ``amount_total``), so ``total ≥ depositTotal ≥ 0``.
* Drift (docs/api.md §3.3 step 1, arithmetic in :mod:`origin.catalog.drift`): an ``expectedTotal``
  is compared with ``total``; the cart's ``Σ priceAtAdd × quantity`` with ``subtotal``
  (the same basis — neither contains discounts or deposits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from checkout_edge_shared.errors import BadRequest, Conflict, NotFound
from checkout_edge_shared.money import percent_of
from origin.catalog.drift import (
    Baseline,
    DriftDecision,
    DriftPolicy,
    drift,
    policy_outcome,
    tolerance,
)
from origin.catalog.line_items import LineRequest
from origin.catalog.lookups import CatalogItem

__all__ = [
    "MAX_RENTAL_DAYS",
    "Baseline",
    "CouponTerms",
    "DriftDecision",
    "DriftPolicy",
    "PricedLine",
    "Quote",
    "Repriced",
    "ShopTerms",
    "coupon_discount",
    "decide_drift",
    "price_changed_error",
    "price_line",
    "quote",
    "rental_days_for",
    "reprice",
]

MAX_RENTAL_DAYS = 90


class ShopTerms(Protocol):
    """What pricing needs of a shop (:class:`origin.models.Shop` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def currency(self) -> str: ...


class CouponTerms(Protocol):
    """What pricing needs of a coupon (:class:`origin.models.Coupon` has it)."""

    @property
    def code(self) -> str: ...
    @property
    def percent_off(self) -> int | None: ...
    @property
    def amount_off(self) -> int | None: ...


# -- lines, coupons, deposits ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    variant_key: str
    variant_attributes: Mapping[str, str]
    title: str
    quantity: int
    unit_price: int
    line_total: int
    deposit: int  # per unit; 0 for sale shops
    deposit_total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "variantKey": self.variant_key,
            "variantAttributes": dict(self.variant_attributes),
            "title": self.title,
            "quantity": self.quantity,
            "unitPrice": self.unit_price,
            "lineTotal": self.line_total,
            "deposit": self.deposit,
            "depositTotal": self.deposit_total,
        }


def price_line(line: LineRequest, item: CatalogItem, *, rental: bool) -> PricedLine:
    """One line priced from its catalog item; deposits only when ``rental``."""
    deposit = item.deposit if rental else 0
    return PricedLine(
        sku=item.sku,
        variant_key=item.variant_key,
        variant_attributes=dict(item.attributes),
        title=item.title,
        quantity=line.quantity,
        unit_price=item.price,
        line_total=item.price * line.quantity,
        deposit=deposit,
        deposit_total=deposit * line.quantity,
    )


def coupon_discount(subtotal: int, coupon: CouponTerms | None) -> int:
    """The discount on ``subtotal``: 0 ≤ discount ≤ subtotal.

    ``percentOff`` is rounded half-up once, on the subtotal (10 % of 1005 is 101), not per
    line, so the discount never depends on how the lines are split.
    """
    if coupon is None or subtotal <= 0:
        return 0
    if coupon.percent_off is not None:
        discount = percent_of(subtotal, Decimal(coupon.percent_off))
    else:
        discount = coupon.amount_off or 0
    return min(max(discount, 0), subtotal)


def rental_days_for(shop: ShopTerms, rental_days: int | None) -> int:
    """``rentalDays`` as recorded: 1…90 and required for rental shops, 0 for sale shops.

    A sale shop ignores a ``rentalDays`` it is sent (storefront code is often shared
    between shop types); a rental shop refuses a missing or out-of-range one.
    """
    if shop.type != "rental":
        return 0
    if type(rental_days) is not int or not 1 <= rental_days <= MAX_RENTAL_DAYS:
        raise BadRequest(
            f"rentalDays: rental shops need a whole number of days from 1 to {MAX_RENTAL_DAYS}."
        )
    return rental_days


# -- the quote ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """Lines priced from the catalog now; ``total`` is the amount charged."""

    currency: str
    rental_days: int
    lines: tuple[PricedLine, ...]
    subtotal: int
    discount: int
    coupon_code: str | None
    deposit_total: int
    total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "lines": [line.to_json() for line in self.lines],
            "subtotal": self.subtotal,
            "discount": self.discount,
            "couponCode": self.coupon_code,
            "depositTotal": self.deposit_total,
            "rentalDays": self.rental_days,
            "total": self.total,
        }


def _item(line: LineRequest, catalog: Mapping[str, CatalogItem]) -> CatalogItem:
    item = catalog.get(line.variant_key)
    if item is None:
        raise NotFound(line.named(f"this shop sells no {line.variant_key!r}."), code="UNKNOWN_SKU")
    return item


def quote(
    *,
    shop: ShopTerms,
    lines: Sequence[LineRequest],
    catalog: Mapping[str, CatalogItem],
    coupon: CouponTerms | None = None,
    rental_days: int | None = None,
) -> Quote:
    """Price ``lines`` from ``catalog`` (as :func:`~origin.catalog.lookups.known_items` returns)."""
    days = rental_days_for(shop, rental_days)
    rental = shop.type == "rental"
    priced = tuple(price_line(line, _item(line, catalog), rental=rental) for line in lines)
    subtotal = sum(line.line_total for line in priced)
    deposit_total = sum(line.deposit_total for line in priced)
    discount = coupon_discount(subtotal, coupon)
    return Quote(
        currency=shop.currency,
        rental_days=days,
        lines=priced,
        subtotal=subtotal,
        discount=discount,
        coupon_code=coupon.code if coupon is not None else None,
        deposit_total=deposit_total,
        total=subtotal - discount + deposit_total,
    )


# -- drift and the checkout's step 1 -----------------------------------------------


def decide_drift(baseline: Baseline | None, repriced: Quote, policy: DriftPolicy) -> DriftDecision:
    """Apply §3.3 step 1 to a quote. Without a baseline nothing can have drifted."""
    by_subtotal = baseline is not None and baseline.basis == "subtotal"
    compared = repriced.subtotal if by_subtotal else repriced.total
    limit = tolerance(compared, policy.abs_minor(repriced.currency), policy.pct)
    distance = 0 if baseline is None else drift(baseline.amount, compared)
    exceeded = distance > limit
    price_changed, reject, count = policy_outcome(policy.mode, exceeded)
    return DriftDecision(
        baseline=None if baseline is None else baseline.amount,
        repriced=compared,
        drift=distance,
        tolerance=limit,
        exceeded=exceeded,
        price_changed=price_changed,
        reject=reject,
        count_metric=count,
    )


@dataclass(frozen=True, slots=True)
class Repriced:
    quote: Quote
    drift: DriftDecision


def reprice(
    *,
    shop: ShopTerms,
    lines: Sequence[LineRequest],
    catalog: Mapping[str, CatalogItem],
    policy: DriftPolicy,
    coupon: CouponTerms | None = None,
    rental_days: int | None = None,
    baseline: Baseline | None = None,
) -> Repriced:
    """The checkout's step 1: the quote to charge and the drift decision about it."""
    priced = quote(shop=shop, lines=lines, catalog=catalog, coupon=coupon, rental_days=rental_days)
    return Repriced(quote=priced, drift=decide_drift(baseline, priced, policy))


def price_changed_error(repriced: Repriced) -> Conflict:
    """409 ``PRICE_CHANGED`` carrying the repriced lines and total (``enforce_and_reject``)."""
    return Conflict(
        "Prices changed since the cart was priced; review the new total and try again.",
        code="PRICE_CHANGED",
        extra={"priceChanged": True, **repriced.quote.to_json()},
    )
