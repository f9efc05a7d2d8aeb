"""The Checkout Session a hold asks Stripe for — a pure function of the hold and its shop.

Pure so that a retry of the same hold sends byte-for-byte the same parameters (Stripe
answers ``idempotency_error`` to the same key with other parameters). Lines are built with
``price_data`` from the repriced catalog snapshot (ADR 0006); the session's ``amount_total``
is exactly the hold's ``amount_total``:

- without a discount, one line per variant: ``unit_amount`` × ``quantity``;
- with a discount, Stripe's line items cannot carry it, so each line is sent as quantity 1
  at its discounted line total (name ``Title × q``); the discount is spread over the lines
  in proportion to their totals, remainders to the largest lines, so the sum is exact;
- rental shops add one deposit line per SKU with a deposit (never discounted).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from origin.catalog.pricing import Quote
from origin.catalog.values import ShopProfile
from origin.models import InventoryHold
from origin.payments.stripe_client import embedded_ui_mode

# Stripe refuses sessions expiring less than 30 minutes ahead; the margin covers the time a
# retry may take to resend identical parameters (they must not depend on "now").
STRIPE_EXPIRY_FLOOR = timedelta(minutes=35)


def session_expires_at(hold: InventoryHold) -> datetime:
    return max(hold.expires_at, hold.created_at + STRIPE_EXPIRY_FLOOR)


def allocate_discount(line_totals: list[int], discount: int) -> list[int]:
    """Split ``discount`` over lines proportionally; Σ result == discount, each ≤ its line."""
    total = sum(line_totals)
    if discount <= 0 or total <= 0:
        return [0] * len(line_totals)
    shares = [line * discount // total for line in line_totals]
    remainder = discount - sum(shares)
    by_fraction = sorted(
        range(len(line_totals)),
        key=lambda i: (-(line_totals[i] * discount % total), -line_totals[i], i),
    )
    for i in by_fraction[:remainder]:
        shares[i] += 1
    return shares


def _line(currency: str, name: str, unit_amount: int, quantity: int, sku: str) -> dict[str, Any]:
    return {
        "price_data": {
            "currency": currency,
            "unit_amount": unit_amount,
            "product_data": {"name": name[:250], "metadata": {"sku": sku}},
        },
        "quantity": quantity,
    }


def line_items(quote: Quote) -> list[dict[str, Any]]:
    currency = quote.currency
    items: list[dict[str, Any]] = []
    if quote.discount:
        shares = allocate_discount([line.line_total for line in quote.lines], quote.discount)
        for line, share in zip(quote.lines, shares, strict=True):
            name = f"{line.title} × {line.quantity}"
            items.append(_line(currency, name, line.line_total - share, 1, line.sku))
    else:
        for line in quote.lines:
            items.append(_line(currency, line.title, line.unit_price, line.quantity, line.sku))
    for line in quote.lines:
        if line.deposit:
            items.append(
                _line(currency, f"Deposit: {line.title}", line.deposit, line.quantity, line.sku)
            )
    return items


def checkout_session_params(
    hold: InventoryHold, quote: Quote, shop: ShopProfile, *, customer_email: str | None
) -> dict[str, Any]:
    """The parameters of ``hold``'s session: built once per Stripe call from the typed
    snapshot, identical for every call of the hold."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": line_items(quote),
        "expires_at": int(session_expires_at(hold).timestamp()),
        "client_reference_id": hold.id,
        "metadata": {
            "shop_id": shop.id,
            "hold_id": hold.id,
            "intent": hold.intent_id,
            "rentalDays": str(hold.rental_days),
            "depositTotal": str(hold.deposit_total),
        },
    }
    if shop.checkout_mode == "custom":
        params["ui_mode"] = embedded_ui_mode()
        params["return_url"] = shop.return_url
    else:
        params["success_url"] = shop.success_url
        params["cancel_url"] = shop.cancel_url
    if customer_email:
        params["customer_email"] = customer_email
    return params
