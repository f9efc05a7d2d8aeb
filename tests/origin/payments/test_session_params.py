"""A hold's Checkout Session parameters (:mod:`origin.payments.session_params`): pure, so a
retry resends them byte for byte; their lines always add up to exactly the hold's total.

Quotes are real ones, priced by :func:`origin.catalog.pricing.quote`. That the parameters
reach the Stripe stand-in as built is tested through the checkout in
``tests/origin/checkout/test_checkout.py`` (COM-204, the coupon test).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from origin.catalog.line_items import LineRequest
from origin.catalog.pricing import Quote, quote
from origin.catalog.values import CatalogItem, ShopProfile
from origin.catalog.variant_keys import format_variant_key
from origin.models import Coupon, InventoryHold
from origin.payments.session_params import (
    STRIPE_EXPIRY_FLOOR,
    allocate_discount,
    checkout_session_params,
    line_items,
)
from origin.payments.stripe_client import embedded_ui_mode

CREATED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

SALE = ShopProfile(
    id="testshop", name="Test shop", type="sale", currency="usd", checkout_mode="hosted",
    requires_central_inventory=False, success_url="https://testshop.example/thanks",
    cancel_url="https://testshop.example/cart", return_url=None,
)  # fmt: skip
RENTAL = ShopProfile(
    id="rentshop", name="Rent shop", type="rental", currency="eur", checkout_mode="custom",
    requires_central_inventory=False, success_url=None, cancel_url=None,
    return_url="https://rentshop.example/return?session_id={CHECKOUT_SESSION_ID}",
)  # fmt: skip


def item(sku: str, price: int, deposit: int = 0) -> CatalogItem:
    return CatalogItem(
        variant_id=1, product_id=1, sku=sku, variant_key=format_variant_key(sku),
        attributes={}, title=sku.title(), price=price, deposit=deposit,
    )  # fmt: skip


CATALOG = {"headband": item("headband", 3400), "clip": item("clip", 999)}
RENTALS = {"dress": item("dress", 8900, deposit=25000), "belt": item("belt", 1500)}


def priced(
    shop: ShopProfile,
    catalog: dict[str, CatalogItem],
    quantities: dict[str, int],
    coupon: Coupon | None = None,
) -> Quote:
    lines = [
        LineRequest(sku=sku, attributes={}, variant_key=sku, quantity=quantity)
        for sku, quantity in quantities.items()
    ]
    days = 4 if shop.type == "rental" else None
    return quote(shop=shop, lines=lines, catalog=catalog, coupon=coupon, rental_days=days)


def hold_for(q: Quote, shop: ShopProfile, ttl: timedelta = timedelta(hours=1)) -> InventoryHold:
    return InventoryHold(
        id="hold_1", shop_id=shop.id, intent_id="intent_1", stripe_idempotency_key="key_1",
        currency=q.currency, amount_total=q.total, deposit_total=q.deposit_total,
        rental_days=q.rental_days, created_at=CREATED, expires_at=CREATED + ttl,
    )  # fmt: skip


def charged(items: list[dict[str, Any]]) -> int:
    """What Stripe will charge for these lines."""
    return sum(i["price_data"]["unit_amount"] * i["quantity"] for i in items)


# -- the discount, spread over the lines ---------------------------------------------------


@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=20).flatmap(
        lambda lines: st.tuples(st.just(lines), st.integers(0, sum(lines)))
    )
)
def test_discount_shares_sum_exactly_never_exceed_a_line_and_stay_proportional(
    case: tuple[list[int], int],
) -> None:
    lines, discount = case
    shares = allocate_discount(lines, discount)

    assert sum(shares) == discount
    assert all(0 <= share <= line for share, line in zip(shares, lines, strict=True))
    total = sum(lines)
    if total:  # each share is its exact proportion, rounded down or up
        assert all(
            abs(share - Fraction(line * discount, total)) < 1
            for share, line in zip(shares, lines, strict=True)
        )


def test_remainder_cents_go_to_the_largest_fractions_then_the_largest_lines() -> None:
    # 980 over 6800 + 2997: exact shares 680.2… and 299.79…, so the one cent left goes to
    # the second line; equal fractions break towards the larger line, then the first.
    assert allocate_discount([6800, 2997], 980) == [680, 300]
    assert allocate_discount([1, 3], 2) == [0, 2]  # exact 0.5 and 1.5
    assert allocate_discount([1, 1, 1], 2) == [1, 1, 0]


@pytest.mark.parametrize(("lines", "discount"), [([500, 300], 0), ([500, 300], -5), ([0, 0], 3)])
def test_no_discount_or_nothing_to_discount_gives_zero_shares(
    lines: list[int], discount: int
) -> None:
    assert allocate_discount(lines, discount) == [0] * len(lines)


# -- the lines Stripe is sent ----------------------------------------------------------------


def test_without_a_discount_each_variant_is_one_line_at_its_unit_price() -> None:
    q = priced(SALE, CATALOG, {"headband": 2, "clip": 3})

    items = line_items(q)

    assert [(i["price_data"]["unit_amount"], i["quantity"]) for i in items] == [(3400, 2), (999, 3)]
    assert [i["price_data"]["product_data"] for i in items] == [
        {"name": "Headband", "metadata": {"sku": "headband"}},
        {"name": "Clip", "metadata": {"sku": "clip"}},
    ]
    assert {i["price_data"]["currency"] for i in items} == {"usd"}
    assert charged(items) == q.total == 9797


def test_with_a_discount_each_line_is_sent_once_at_its_discounted_total() -> None:
    coupon = Coupon(shop_id="testshop", code="WELCOME10", percent_off=10)
    q = priced(SALE, CATALOG, {"headband": 2, "clip": 3}, coupon)

    items = line_items(q)

    assert q.discount == 980
    names = [i["price_data"]["product_data"]["name"] for i in items]
    assert names == ["Headband × 2", "Clip × 3"]
    assert [(i["price_data"]["unit_amount"], i["quantity"]) for i in items] == [
        (6800 - 680, 1),
        (2997 - 300, 1),
    ]
    assert charged(items) == q.total == 8817


def test_rental_deposits_are_extra_lines_per_sku_and_never_discounted() -> None:
    coupon = Coupon(shop_id="rentshop", code="HALF", percent_off=50)
    q = priced(RENTAL, RENTALS, {"dress": 1, "belt": 2}, coupon)

    items = line_items(q)

    deposits = [i for i in items if i["price_data"]["product_data"]["name"].startswith("Deposit")]
    assert [(i["price_data"]["unit_amount"], i["quantity"]) for i in deposits] == [(25000, 1)]
    assert deposits[0]["price_data"]["product_data"]["name"] == "Deposit: Dress"
    assert charged(deposits) == q.deposit_total
    assert charged(items) == q.total == (8900 + 2 * 1500) // 2 + 25000


@given(
    st.dictionaries(st.sampled_from(["dress", "belt"]), st.integers(1, 50), min_size=1),
    st.integers(0, 20),
    st.one_of(st.none(), st.integers(1, 100), st.integers(1, 10**6)),
    st.booleans(),
)
def test_what_stripe_charges_is_always_exactly_the_quotes_total(
    quantities: dict[str, int], extra: int, off: int | None, percent: bool
) -> None:
    catalog = {sku: replace(i, price=i.price + extra) for sku, i in RENTALS.items()}
    coupon = None
    if off is not None and percent:
        coupon = Coupon(shop_id="rentshop", code="C", percent_off=min(off, 100))
    elif off is not None:
        coupon = Coupon(shop_id="rentshop", code="C", amount_off=off)
    for shop in (RENTAL, replace(SALE, currency="eur")):
        q = priced(shop, catalog, quantities, coupon)
        items = line_items(q)
        assert charged(items) == q.total
        assert all(i["price_data"]["unit_amount"] >= 0 for i in items)


# -- the session ---------------------------------------------------------------------------


def test_hosted_shop_session_sends_its_urls_and_the_holds_metadata() -> None:
    q = priced(SALE, CATALOG, {"headband": 2})
    hold = hold_for(q, SALE)

    params = checkout_session_params(hold, q, SALE, customer_email="buyer@example.com")

    assert params["mode"] == "payment"
    assert params["line_items"] == line_items(q)
    assert params["client_reference_id"] == "hold_1"
    assert params["metadata"] == {
        "shop_id": "testshop", "hold_id": "hold_1", "intent": "intent_1",
        "rentalDays": "0", "depositTotal": "0",
    }  # fmt: skip
    assert (params["success_url"], params["cancel_url"]) == (SALE.success_url, SALE.cancel_url)
    assert "ui_mode" not in params
    assert "return_url" not in params
    assert params["customer_email"] == "buyer@example.com"


def test_custom_shop_session_is_embedded_and_returns_to_the_shop() -> None:
    q = priced(RENTAL, RENTALS, {"dress": 1})
    hold = hold_for(q, RENTAL)

    params = checkout_session_params(hold, q, RENTAL, customer_email=None)

    assert params["ui_mode"] == embedded_ui_mode() == "elements"
    assert params["return_url"] == RENTAL.return_url
    assert "success_url" not in params
    assert "cancel_url" not in params
    assert "customer_email" not in params
    assert params["metadata"]["rentalDays"] == "4"
    assert params["metadata"]["depositTotal"] == "25000"


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        (timedelta(minutes=15), CREATED + STRIPE_EXPIRY_FLOOR),  # Stripe's 30-minute minimum
        (timedelta(hours=2), CREATED + timedelta(hours=2)),
    ],
)
def test_session_expires_with_the_hold_but_never_before_stripes_minimum(
    ttl: timedelta, expected: datetime
) -> None:
    q = priced(SALE, CATALOG, {"clip": 1})
    params = checkout_session_params(hold_for(q, SALE, ttl), q, SALE, customer_email=None)
    assert params["expires_at"] == int(expected.timestamp())


def test_the_same_hold_gets_the_same_parameters_on_every_call() -> None:
    """Stripe answers ``idempotency_error`` to a reused key with other parameters."""
    coupon = Coupon(shop_id="testshop", code="WELCOME10", percent_off=10)
    q = priced(SALE, CATALOG, {"headband": 2, "clip": 3}, coupon)
    hold = hold_for(q, SALE)

    first = checkout_session_params(hold, q, SALE, customer_email="a@example.com")
    second = checkout_session_params(hold, q, SALE, customer_email="a@example.com")

    assert first == second
