"""The priced snapshot a hold charges, as stored: one serialiser, both ways.

A hold keeps the :class:`~origin.catalog.pricing.Quote` it was created with in its ``pricing``
JSON column; everything after the checkout — the Stripe parameters of a retried or replayed
call, the order's lines, the order-status answer — reads it back through
:func:`load_quote`, never by string keys. The stored shape (``currency``, ``lines[]`` with
``sku``, ``variantKey``, ``variantAttributes``, ``title``, ``quantity``, ``unitPrice``,
``lineTotal``, ``deposit``, ``depositTotal``; ``subtotal``, ``discount``, ``couponCode``,
``depositTotal``, ``rentalDays``, ``total``) is the one rows already hold. A snapshot that
does not parse raises :class:`SnapshotError` (a ``ValueError``): a corrupt row is a bug to
see, not something to charge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from origin.catalog.pricing import PricedLine, Quote


class SnapshotError(ValueError):
    """A stored snapshot is not a quote."""


def dump_quote(quote: Quote) -> dict[str, Any]:
    """The JSON stored in ``inventory_holds.pricing``."""
    return {
        "currency": quote.currency,
        "lines": [
            {
                "sku": line.sku,
                "variantKey": line.variant_key,
                "variantAttributes": dict(line.variant_attributes),
                "title": line.title,
                "quantity": line.quantity,
                "unitPrice": line.unit_price,
                "lineTotal": line.line_total,
                "deposit": line.deposit,
                "depositTotal": line.deposit_total,
            }
            for line in quote.lines
        ],
        "subtotal": quote.subtotal,
        "discount": quote.discount,
        "couponCode": quote.coupon_code,
        "depositTotal": quote.deposit_total,
        "rentalDays": quote.rental_days,
        "total": quote.total,
    }


def _line(data: Mapping[str, Any]) -> PricedLine:
    return PricedLine(
        sku=str(data["sku"]),
        variant_key=str(data["variantKey"]),
        variant_attributes={str(k): str(v) for k, v in dict(data["variantAttributes"]).items()},
        title=str(data["title"]),
        quantity=int(data["quantity"]),
        unit_price=int(data["unitPrice"]),
        line_total=int(data["lineTotal"]),
        deposit=int(data.get("deposit", 0)),
        deposit_total=int(data.get("depositTotal", 0)),
    )


def load_quote(data: Mapping[str, Any]) -> Quote:
    """The stored snapshot as a :class:`Quote`, or :class:`SnapshotError`."""
    try:
        coupon = data.get("couponCode")
        return Quote(
            currency=str(data["currency"]),
            rental_days=int(data.get("rentalDays", 0)),
            lines=tuple(_line(line) for line in data["lines"]),
            subtotal=int(data["subtotal"]),
            discount=int(data.get("discount", 0)),
            coupon_code=None if coupon is None else str(coupon),
            deposit_total=int(data.get("depositTotal", 0)),
            total=int(data["total"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"not a priced snapshot: {exc!r}") from exc
