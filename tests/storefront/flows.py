"""What a shopper does, step by step, through the storefront's own pages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.storefront.conftest import ShopStack


def add_to_cart(
    page: Page, stack: ShopStack, shop: str, sku: str, options: dict[str, str], quantity: int = 1
) -> None:
    """Open the product page, choose ``options`` by their visible labels, add to the cart."""
    page.goto(stack.url(shop, f"/product/?sku={sku}"))
    form = page.locator("#add-form")
    for option, value in options.items():
        form.get_by_role("group", name=option).get_by_label(value, exact=True).check()
    form.get_by_label("Quantity").fill(str(quantity))
    form.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".notice-success")).to_contain_text("Added to your cart")


def open_cart(page: Page, stack: ShopStack, shop: str) -> None:
    page.goto(stack.url(shop, "/cart/"))
    expect(page.locator(".cart-line").first).to_be_visible()


def pay_at_hosted_page(page: Page, total: str | None = None) -> None:
    """The stand-in's hosted page (Stripe Checkout in production): check the total, press Pay."""
    page.wait_for_url(re.compile(r"/pay/cs_"))
    button = page.get_by_role("button", name=re.compile(r"^Pay "))
    if total is not None:
        expect(button).to_have_text(f"Pay {total}")
    button.click()


def wait_for_order(page: Page) -> str:
    """The thank-you page once it shows the paid order; returns the order number."""
    page.wait_for_url(re.compile(r"/thank-you/\?session_id=cs_"))
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order_id = page.locator("#order-id").inner_text()
    assert order_id.startswith("ord_")
    return order_id


def cart_count(page: Page) -> str:
    return page.locator("#cart-count").inner_text()
