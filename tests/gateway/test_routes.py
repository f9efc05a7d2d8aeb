"""The allowlist table is the contract's table (docs/api.md §2), row for row."""

from __future__ import annotations

import pytest

from gateway.routes import (
    ALLOWLIST,
    FRONT_DOOR_EXEMPT,
    LimitClass,
    ShopRule,
    find_rule,
    route_label,
)

CONTRACT_TABLE = {
    "/api/checkout-session": ({"POST"}, ShopRule.REQUIRED, LimitClass.CHECKOUT),
    "/api/checkout/session": ({"POST"}, ShopRule.REQUIRED, LimitClass.CHECKOUT),
    "/api/cart": ({"GET", "POST", "PATCH", "DELETE"}, ShopRule.REQUIRED, LimitClass.CART),
    "/api/inventory/validate": ({"POST"}, ShopRule.REQUIRED, LimitClass.INVENTORY),
    "/api/order-status": ({"GET"}, ShopRule.REQUIRED, LimitClass.STATUS),
    "/api/stripe-webhook": ({"POST"}, ShopRule.OPTIONAL, LimitClass.WEBHOOK),
}


def test_allowlist_is_exactly_the_contract_table() -> None:
    table = {rule.path: (set(rule.methods), rule.shop, rule.limit_class) for rule in ALLOWLIST}
    assert table == CONTRACT_TABLE


def test_legacy_checkout_alias_shares_the_checkout_class() -> None:
    legacy, current = find_rule("/api/checkout/session"), find_rule("/api/checkout-session")
    assert legacy is not None
    assert current is not None
    assert legacy.limit_class is current.limit_class is LimitClass.CHECKOUT


@pytest.mark.parametrize(
    "path",
    [
        "/api/cart/",
        "/api/cart/items",
        "/api/CART",
        "/api",
        "/api/checkout-session/../cart",
        "/api/stripe-webhook?x=1",
        "/healthz",
        "",
    ],
)
def test_only_exact_paths_are_allowlisted(path: str) -> None:
    assert find_rule(path) is None


def test_only_webhooks_are_keyed_without_the_shop() -> None:
    keyed = {rule.path: rule.keyed_by_shop for rule in ALLOWLIST}
    assert keyed.pop("/api/stripe-webhook") is False
    assert all(keyed.values())


def test_allow_header_lists_the_rows_methods() -> None:
    cart = find_rule("/api/cart")
    assert cart is not None
    assert cart.allow_header == "DELETE, GET, PATCH, POST"


def test_metrics_labels_are_bounded_to_known_paths() -> None:
    assert route_label("/api/cart") == "/api/cart"
    assert route_label("/metrics") == "/metrics"
    assert route_label("/wp-admin/setup.php") == "unmatched"
    assert route_label("/api/cart/" + "x" * 500) == "unmatched"


def test_only_probes_and_the_scrape_skip_the_front_door() -> None:
    assert frozenset({"/healthz", "/readyz", "/metrics"}) == FRONT_DOOR_EXEMPT
