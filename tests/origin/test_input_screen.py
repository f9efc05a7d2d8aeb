"""One screen at the origin's input boundary: control characters, unpaired surrogates and
bytes that are not UTF-8 in any string a route reads — body field, query parameter or
header — are a 400 ``INVALID_REQUEST``, never a 500 (PostgreSQL cannot store a NUL).

Every string field and query parameter of every route is fed each kind of bad text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import OriginClient

# In JSON bodies: json.dumps writes "\ud800" as an escape, as a hostile client would.
BAD_TEXT = {"nul": "\x00", "c0": "\x1b", "newline": "\n", "del": "\x7f", "surrogate": "\ud800"}
# In a query string, percent-encoded (a lone surrogate can only be invalid UTF-8 there).
BAD_QUERY = {"nul": "%00", "c0": "%01", "tab": "%09", "surrogate": "%ED%A0%80", "not-utf8": "%FF"}
# In a header value, raw bytes (what reaches the origin through the gateway's parser).
BAD_HEADER = {"nul": b"\x00", "c0": b"\x1f", "surrogate": b"\xed\xa0\x80", "not-utf8": b"\xff"}

Body = Callable[[str], dict[str, Any]]
ITEM = {"sku": "clip", "quantity": 1}


def item(**changes: Any) -> dict[str, Any]:
    return {**ITEM, **changes}


# (route, method, path, body with the bad text placed in one string field)
BODY_FIELDS: list[tuple[str, str, str, Body]] = [
    ("cart-add.sku", "POST", "/api/cart", lambda bad: item(sku="clip" + bad)),
    (
        "cart-add.variantAttributes-value",
        "POST",
        "/api/cart",
        lambda bad: item(variantAttributes={"size": "m" + bad}),
    ),
    (
        "cart-add.variantAttributes-key",
        "POST",
        "/api/cart",
        lambda bad: item(variantAttributes={"si" + bad: "m"}),
    ),
    ("cart-add.variantKey", "POST", "/api/cart", lambda bad: item(variantKey="clip|size=m" + bad)),
    ("cart-patch.lineId", "PATCH", "/api/cart", lambda bad: {"lineId": "l" + bad, "quantity": 1}),
    (
        "validate.items.sku",
        "POST",
        "/api/inventory/validate",
        lambda bad: {"items": [item(sku="clip" + bad)]},
    ),
    (
        "validate.items.variantAttributes",
        "POST",
        "/api/inventory/validate",
        lambda bad: {"items": [item(variantAttributes={"size": bad})]},
    ),
    (
        "validate.items.variantKey",
        "POST",
        "/api/inventory/validate",
        lambda bad: {"items": [item(variantKey="clip" + bad)]},
    ),
    (
        "validate.shopId",
        "POST",
        "/api/inventory/validate",
        lambda bad: {"items": [ITEM], "shopId": "testshop" + bad},
    ),
    ("checkout.cartId", "POST", "/api/checkout-session", lambda bad: {"cartId": "c" + bad}),
    (
        "checkout.couponCode",
        "POST",
        "/api/checkout-session",
        lambda bad: {"items": [ITEM], "couponCode": "SAVE" + bad},
    ),
    (
        "checkout.customerEmail",
        "POST",
        "/api/checkout-session",
        lambda bad: {"items": [ITEM], "customerEmail": f"a{bad}@shop.example"},
    ),
    (
        "checkout.items.sku",
        "POST",
        "/api/checkout-session",
        lambda bad: {"items": [item(sku="clip" + bad)]},
    ),
    (
        "checkout-alias.couponCode",
        "POST",
        "/api/checkout/session",
        lambda bad: {"items": [ITEM], "couponCode": bad},
    ),
]

# (route, method, path with a {bad} placeholder in one query parameter)
QUERY_PARAMETERS: list[tuple[str, str, str]] = [
    ("cart-delete.lineId", "DELETE", "/api/cart?lineId=l{bad}"),
    ("order-status.sessionId", "GET", "/api/order-status?sessionId=cs_{bad}"),
    ("cart-get.unknown-name", "GET", "/api/cart?x{bad}=1"),
]

# (route, method, path, header that carries the bad bytes)
HEADERS: list[tuple[str, str, str, str]] = [
    ("cart-get.x-shop-id", "GET", "/api/cart", "x-shop-id"),
    ("cart-get.x-cart-id", "GET", "/api/cart", "x-cart-id"),
    ("cart-get.cookie", "GET", "/api/cart", "cookie"),
    ("checkout.idempotency-key", "POST", "/api/checkout-session", "idempotency-key"),
    ("checkout.x-cart-id", "POST", "/api/checkout-session", "x-cart-id"),
    ("order-status.x-shop-id", "GET", "/api/order-status?sessionId=cs_1", "x-shop-id"),
    ("webhook.stripe-signature", "POST", "/api/stripe-webhook", "stripe-signature"),
    ("webhook.x-shop-id", "POST", "/api/stripe-webhook", "x-shop-id"),
]


def assert_invalid_request(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST", response.text


@pytest.mark.parametrize("kind", BAD_TEXT)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(m, p, b, id=name) for name, m, p, b in BODY_FIELDS],
)
async def test_bad_text_in_a_body_field_is_400(
    origin: OriginClient, seeded: Any, method: str, path: str, body: Body, kind: str
) -> None:
    content = json.dumps(body(BAD_TEXT[kind])).encode()
    headers = {"content-type": "application/json", "idempotency-key": "screen-test"}
    response = await origin.request(method, path, content=content, headers=headers)
    assert_invalid_request(response)


@pytest.mark.parametrize("kind", BAD_QUERY)
@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(m, p, id=name) for name, m, p in QUERY_PARAMETERS]
)
async def test_bad_text_in_a_query_parameter_is_400(
    origin: OriginClient, seeded: Any, method: str, path: str, kind: str
) -> None:
    response = await origin.request(method, path.format(bad=BAD_QUERY[kind]))
    assert_invalid_request(response)


@pytest.mark.parametrize("kind", BAD_HEADER)
@pytest.mark.parametrize(
    ("method", "path", "header"), [pytest.param(m, p, h, id=name) for name, m, p, h in HEADERS]
)
async def test_bad_bytes_in_a_header_are_400(
    origin: OriginClient, seeded: Any, method: str, path: str, header: str, kind: str
) -> None:
    value = b"cart_id=c" + BAD_HEADER[kind] if header == "cookie" else b"v" + BAD_HEADER[kind]
    headers = [(b"x-gateway-token", b"test-gateway-token"), (header.encode(), value)]
    if header != "x-shop-id":
        headers.append((b"x-shop-id", b"testshop"))
    response = await origin.http.request(method, path, headers=headers, content=b"{}")
    assert_invalid_request(response)


async def test_non_ascii_text_passes_the_screen(origin: OriginClient, seeded: Any) -> None:
    headers = [
        (b"x-gateway-token", b"test-gateway-token"),
        (b"x-shop-id", b"testshop"),
        (b"x-cart-id", "café-ünïcode\tcart".encode()),
    ]
    response = await origin.http.request("GET", "/api/cart?note=caf%C3%A9", headers=headers)
    assert "INVALID_REQUEST" not in response.text, response.text
