"""Wardrobe Rent in a real browser: custom checkout mode with the Stripe.js stand-in, rental
days and deposits, and the last unit bought by another shopper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.storefront.browser import screenshot
from tests.storefront.conftest import Shopper, ShopStack, new_shopper
from tests.storefront.flows import add_to_cart, open_cart, wait_for_order

pytestmark = pytest.mark.e2e
SHOP = "wardrobe-rent"


def pay_with_stripe_js(page: Page, total: str) -> None:
    """The payment step of custom mode: Stripe.js's form mounted in the storefront's page."""
    expect(page.get_by_label("Card number")).to_be_visible()
    page.get_by_role("button", name=f"Pay {total}").click()


def test_rent_a_dress_the_deposit_is_shown_and_charged(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("rent-a-dress")
    page.goto(stack.url(SHOP))
    expect(page.locator(".product-card").first).to_contain_text("€250.00 refundable deposit")
    screenshot(page, shots, "08-rental-list")

    add_to_cart(page, stack, SHOP, "wr-evening-dress", {"Size": "38"})
    open_cart(page, stack, SHOP)
    expect(page.locator("#subtotal")).to_have_text("€89.00")
    expect(page.locator("#deposits")).to_have_text("€250.00")
    page.get_by_label("Rental days").fill("4")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.locator("#payment-total")).to_have_text(
        "Total to pay now: €339.00, including €250.00 refundable deposit."
    )
    expect(page.get_by_role("heading", name="Payment", exact=True)).to_be_focused()
    screenshot(page, shots, "09-rental-payment")
    pay_with_stripe_js(page, "€339.00")
    wait_for_order(page)
    expect(page.locator("#order-total")).to_have_text("€339.00")
    expect(page.locator(".order-lines tbody tr")).to_have_text(
        ["Silk Evening Dress (Size 38)1€89.00", "Refundable deposit€250.00"]
    )
    expect(page.locator("#cart-count")).to_have_text("0")
    screenshot(page, shots, "10-rental-thank-you")

    (session,) = stack.sessions()
    assert session["amount_total"] == 33900
    assert session["metadata"]["depositTotal"] == "25000"
    assert session["metadata"]["rentalDays"] == "4"
    assert session["ui_mode"] in ("custom", "elements")
    (order,) = stack.query("SELECT amount_total FROM orders")
    assert order["amount_total"] == 33900
    shopper.watches[0].assert_clean()


def test_last_unit_bought_by_another_shopper_is_shown_as_sold_out(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    catalog = stack.catalog
    coat = next(p for p in catalog["products"] if p["sku"] == "wr-wool-coat")
    coat["variants"][0]["stock"] = 1
    stack.seed(catalog, "--reset-stock")
    first, second = new_shopper(shoppers, browser), new_shopper(shoppers, browser)
    late, quick = first.page("late-shopper"), second.page("quick-shopper")

    add_to_cart(late, stack, SHOP, "wr-wool-coat", {"Size": "M"})
    add_to_cart(quick, stack, SHOP, "wr-wool-coat", {"Size": "M"})
    open_cart(quick, stack, SHOP)
    quick.get_by_role("button", name="Continue to payment").click()
    pay_with_stripe_js(quick, "€165.00")
    wait_for_order(quick)

    open_cart(late, stack, SHOP)
    late.get_by_role("button", name="Continue to payment").click()
    expect(late.get_by_role("alert")).to_contain_text("Camel Wool Coat (Size M): sold out")
    expect(late.locator(".cart-line .stock-warning")).to_have_text("Sold out")
    screenshot(late, shots, "11-sold-out")
    late.get_by_role("button", name="Update my cart to what is left").click()
    expect(late.get_by_text("Your cart is empty.")).to_be_visible()

    (row,) = stack.query("SELECT count(*) AS n FROM orders")
    assert row["n"] == 1
    first.watches[0].assert_clean(provoked=[(409, "/api/checkout-session")])
    second.watches[0].assert_clean()
    assert re.search(r"/thank-you/", quick.url)
