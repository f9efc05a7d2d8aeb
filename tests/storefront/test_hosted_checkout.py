"""CochlearFit in a real browser: hosted checkout through front door → gateway → origin →
Stripe stand-in → webhook → thank-you page (COM-302, COM-303 TC-01…03)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.storefront.browser import screenshot
from tests.storefront.conftest import ShopStack, Shopper, new_shopper
from tests.storefront.flows import (
    add_to_cart,
    cart_count,
    open_cart,
    pay_at_hosted_page,
    wait_for_order,
)

pytestmark = pytest.mark.e2e
SHOP = "cochlearfit"
NAVY_M = {"Size": "M", "Color": "Navy"}


def _cart_lines(stack: ShopStack, page_cookies: list[dict[str, str]]) -> list[object]:
    cookie = next(c["value"] for c in page_cookies if c["name"] == "cart_id")
    with stack.api(SHOP) as api:
        answer = api.get("/api/cart", headers={"x-cart-id": cookie})
    assert answer.status_code == 200, answer.text
    lines: list[object] = answer.json()["lines"]
    return lines


def test_buy_a_headband_then_reload_the_thank_you_page(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("headband")

    page.goto(stack.url(SHOP))
    expect(page.get_by_role("heading", name="CochlearFit", level=1)).to_be_visible()
    expect(page.locator(".product-card")).to_have_count(3)
    expect(page.locator(".product-card").first).to_contain_text("$34.00")
    screenshot(page, shots, "01-product-list")
    page.get_by_role("link", name="Sport Headband for Cochlear Implants").click()
    expect(page.get_by_role("heading", name="Sport Headband for Cochlear Implants")).to_be_visible()
    screenshot(page, shots, "02-product")

    add_to_cart(page, stack, SHOP, "cf-headband", NAVY_M, quantity=2)
    assert cart_count(page) == "2"
    open_cart(page, stack, SHOP)
    expect(page.locator("#subtotal")).to_have_text("$68.00")
    screenshot(page, shots, "03-cart")

    page.get_by_role("button", name="Pay securely").click()
    pay_at_hosted_page(page)
    screenshot(page, shots, "04-hosted-payment")
    order_id = wait_for_order(page)
    expect(page.locator("#order-total")).to_have_text("$68.00")
    expect(page.locator("#cart-count")).to_have_text("0")
    screenshot(page, shots, "05-thank-you")

    page.reload()
    assert wait_for_order(page) == order_id
    expect(page.locator("#cart-count")).to_have_text("0")
    assert _cart_lines(stack, page.context.cookies()) == []
    orders = stack.query("SELECT id, amount_total FROM orders")
    assert [(o["id"], o["amount_total"]) for o in orders] == [(order_id, 6800)]
    assert len(stack.session_creates()) == 1
    for watch in shopper.watches:
        watch.assert_clean()
