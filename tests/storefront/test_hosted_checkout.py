"""CochlearFit in a real browser: hosted checkout through front door → gateway → origin →
Stripe stand-in → webhook → thank-you page (COM-302, COM-303 TC-01…03)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.storefront.browser import screenshot
from tests.storefront.conftest import (
    Shopper,
    ShopStack,
    new_shopper,
    side_door,
)
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
    page.wait_for_url(re.compile(r"/pay/cs_"))
    screenshot(page, shots, "04-hosted-payment")
    pay_at_hosted_page(page, total="68.00 USD")
    order_id = wait_for_order(page)
    expect(page.locator("#order-total")).to_have_text("$68.00")
    expect(page.locator(".order-lines tbody tr")).to_have_text(
        ["Sport Headband for Cochlear Implants (Color Navy, Size M)2$68.00"]
    )
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


def test_coupon_is_checked_and_the_discounted_total_charged(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("coupon")
    add_to_cart(page, stack, SHOP, "cf-headband", NAVY_M, quantity=2)
    open_cart(page, stack, SHOP)

    page.get_by_label("Coupon code (optional)").fill("BOGUS")
    page.get_by_role("button", name="Pay securely").click()
    expect(page.get_by_role("alert")).to_contain_text("That coupon code is not valid")
    expect(page.get_by_role("heading", name="Coupon not accepted")).to_be_focused()

    page.get_by_label("Coupon code (optional)").fill("WELCOME10")
    page.get_by_role("button", name="Pay securely").click()
    pay_at_hosted_page(page, total="61.20 USD")
    wait_for_order(page)
    expect(page.locator("#order-total")).to_have_text("$61.20")
    expect(page.locator(".order-lines tbody tr")).to_have_text(
        ["Sport Headband for Cochlear Implants (Color Navy, Size M)2$68.00", "Discount−$6.80"]
    )
    (session,) = stack.sessions()
    assert session["amount_total"] == 6120
    shopper.watches[0].assert_clean(provoked=[(400, "/api/checkout-session")])


def test_price_changed_after_add_to_cart_is_shown_and_confirmed(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("price-changed")
    add_to_cart(page, stack, SHOP, "cf-headband", NAVY_M)
    catalog = stack.catalog
    headband = next(p for p in catalog["products"] if p["sku"] == "cf-headband")
    headband["price"] = 3900
    stack.seed(catalog)  # the shop owner changes the price after the shopper added it

    open_cart(page, stack, SHOP)
    expect(page.locator(".cart-line")).to_contain_text("$39.00 each (was $34.00 when added)")
    page.get_by_role("button", name="Pay securely").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The new total is $39.00")
    screenshot(page, shots, "06-price-changed")
    assert stack.session_creates() == []  # nothing was started at the old price

    page.get_by_role("button", name="Confirm the new total $39.00").click()
    pay_at_hosted_page(page, total="39.00 USD")
    wait_for_order(page)
    expect(page.locator("#order-total")).to_have_text("$39.00")
    shopper.watches[0].assert_clean(provoked=[(409, "/api/checkout-session")])


def test_double_click_on_pay_starts_one_checkout(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper]
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("double-click")
    add_to_cart(page, stack, SHOP, "cf-clip-pack", {})
    open_cart(page, stack, SHOP)

    page.get_by_role("button", name="Pay securely").dblclick()
    pay_at_hosted_page(page)
    wait_for_order(page)

    assert len(stack.sessions()) == 1
    creates = stack.session_creates()
    assert len({c["idempotencyKey"] for c in creates}) == 1
    holds = stack.query("SELECT count(*) AS n FROM inventory_holds")
    assert holds[0]["n"] == 1
    shopper.watches[0].assert_clean()


def test_payment_provider_unavailable_then_retry_continues_the_same_checkout(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("provider-unavailable")
    add_to_cart(page, stack, SHOP, "cf-headband", NAVY_M)
    open_cart(page, stack, SHOP)
    # Stripe makes the session, then the answer is lost: the outcome is unknown to the shop.
    fault = {"count": 1, "status": 500, "afterCreate": True}
    httpx.post(stack.sim.url + "/_sim/faults", json=fault, timeout=10).raise_for_status()

    page.get_by_role("button", name="Pay securely").click()
    expect(page.get_by_role("alert")).to_contain_text("Your items are held for you")
    screenshot(page, shots, "07-payment-provider-unavailable")
    page.get_by_role("button", name="Try again").click()
    page.wait_for_url(re.compile(r"/pay/cs_"))

    (session,) = stack.sessions()
    assert page.url.endswith(f"/pay/{session['id']}")
    pay_at_hosted_page(page)
    wait_for_order(page)
    creates = stack.session_creates()
    assert len(creates) == 2
    assert creates[0]["idempotencyKey"] == creates[1]["idempotencyKey"]
    holds = stack.query("SELECT count(*) AS n FROM inventory_holds")
    assert holds[0]["n"] == 1
    shopper.watches[0].assert_clean(provoked=[(503, "/api/checkout-session")])


def test_thank_you_page_of_an_unpaid_checkout_waits_and_keeps_the_cart(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper]
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("unpaid-thank-you")
    add_to_cart(page, stack, SHOP, "cf-clip-pack", {}, quantity=3)
    open_cart(page, stack, SHOP)
    page.get_by_role("button", name="Pay securely").click()
    page.wait_for_url(re.compile(r"/pay/cs_"))
    (session,) = stack.sessions()

    page.goto(stack.url(SHOP, f"/thank-you/?session_id={session['id']}"))
    expect(page.get_by_role("heading", name="Waiting for your payment")).to_be_visible()
    assert len(_cart_lines(stack, page.context.cookies())) == 1
    assert stack.query("SELECT count(*) AS n FROM orders")[0]["n"] == 0
    shopper.watches[0].assert_clean()


def test_rate_limited_checkout_says_when_to_try_again(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], tmp_path: Path, shots: Path
) -> None:
    one_a_minute = {"CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE": "1"}
    with side_door(stack, SHOP, tmp_path, gateway_env=one_a_minute) as shop_url:
        shopper = new_shopper(shoppers, browser)
        page = shopper.page("rate-limited")
        page.goto(shop_url + "/product/?sku=cf-clip-pack")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator(".notice-success")).to_be_visible()
        page.goto(shop_url + "/cart/")
        # Someone on the same address used this minute's checkout already.
        api = shop_url.replace(f"{SHOP}.localhost", "127.0.0.1")
        used = httpx.post(api + "/api/checkout-session", json={}, timeout=10)
        assert used.status_code == 400, used.text

        page.get_by_role("button", name="Pay securely").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(re.compile(r"You can try again in \d+ seconds?\."))
        expect(page.get_by_role("button", name="Try again")).to_be_disabled()
        screenshot(page, shots, "12-rate-limited")
        shopper.watches[0].assert_clean(provoked=[(429, "/api/checkout-session")])


def test_price_changed_under_enforce_and_proceed_asks_before_paying_the_new_total(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], tmp_path: Path
) -> None:
    """The default policy (and make run's): the checkout goes on, flagged ``priceChanged``."""
    proceed = {"CHECKOUT_REPRICE_POLICY": "enforce_and_proceed", "STRIPE_MAX_NETWORK_RETRIES": "0"}
    with side_door(stack, SHOP, tmp_path, origin_env=proceed) as shop_url:
        shopper = new_shopper(shoppers, browser)
        page = shopper.page("price-changed-proceed")
        page.goto(shop_url + "/product/?sku=cf-clip-pack")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator(".notice-success")).to_be_visible()
        catalog = stack.catalog
        clips = next(p for p in catalog["products"] if p["sku"] == "cf-clip-pack")
        clips["price"] = 1500
        stack.seed(catalog)

        page.goto(shop_url + "/cart/")
        page.get_by_role("button", name="Pay securely").click()
        expect(page.get_by_role("alert")).to_contain_text("The new total is $15.00.")
        assert page.url == shop_url + "/cart/"  # not sent to pay before agreeing
        page.get_by_role("button", name="Continue with the new total $15.00").click()
        pay_at_hosted_page(page, total="15.00 USD")
        page.wait_for_url(re.compile(r"/thank-you/"))
        shopper.watches[0].assert_clean()


def test_a_keyboard_only_shopper_on_a_phone_can_choose_add_change_and_remove(
    stack: ShopStack, browser: Browser, shoppers: list[Shopper], shots: Path
) -> None:
    shopper = new_shopper(shoppers, browser)
    page = shopper.page("keyboard-phone")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(stack.url(SHOP, "/product/?sku=cf-headband"))
    expect(page.locator("#add-form")).to_be_visible()

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the first size, inside the main content
    expect(page.get_by_role("group", name="Size").get_by_label("S", exact=True)).to_be_focused()
    page.keyboard.press("ArrowRight")  # size M
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")  # colour Black
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add to cart")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")

    page.goto(stack.url(SHOP, "/cart/"))
    line = page.locator(".cart-line")
    expect(line).to_contain_text("Sport Headband for Cochlear Implants (Color Black, Size M)")
    expect(page.locator("#subtotal")).to_have_text("$68.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.get_by_role("spinbutton", name=re.compile("^Quantity"))).to_have_value("2")
    screenshot(page, shots, "13-cart-on-a-phone")

    quantity = page.get_by_role("spinbutton", name=re.compile("^Quantity"))
    quantity.fill("3")
    quantity.press("Tab")
    expect(page.locator("#subtotal")).to_have_text("$102.00")
    expect(page.locator("#cart-count")).to_have_text("3")
    expect(page.get_by_role("spinbutton", name=re.compile("^Quantity"))).to_be_focused()
    page.get_by_role("button", name=re.compile("^Remove Sport Headband")).press("Enter")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")
    shopper.watches[0].assert_clean()
