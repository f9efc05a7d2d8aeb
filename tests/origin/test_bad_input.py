"""Bad input on every cart and inventory endpoint: always a 4xx with the contract's error
body (and the field named), never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkout_edge_shared.errors import AppError
from origin.catalog.line_items import LineItemIn
from origin.inventory.validation import ValidateBody, parse_validate_request
from origin.request_bodies import parse_body
from tests.conftest import GATEWAY_TOKEN, OriginClient

HUGE_INT = "9" * 5000  # beyond Python's int-from-string limit
DEEP = "[" * 100_000


def raw(text: str) -> bytes:
    return text.encode()


def assert_4xx(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message", "requestId"}
    assert body["error"]["code"] == code
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    if field is not None:
        assert body["error"]["message"].startswith(f"{field}:"), body["error"]["message"]


# Bodies wrong for any endpoint that takes a JSON object.
NOT_AN_OBJECT: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not-json", b"sku=clip&quantity=1"),
    ("truncated", b'{"sku": "clip", '),
    ("array", b'[{"sku": "clip", "quantity": 1}]'),
    ("string", b'"clip"'),
    ("null", b"null"),
    ("number", b"1"),
    ("not-utf8", b'{"sku": "\xff\xfe"}'),
    ("deep-nesting", raw(DEEP)),
]

ADD_CASES: list[tuple[str, bytes | Any, int, str, str | None]] = [
    ("empty-object", {}, 400, "INVALID_REQUEST", "sku"),
    ("sku-missing", {"quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("quantity-missing", {"sku": "clip"}, 400, "INVALID_REQUEST", "quantity"),
    ("sku-number", {"sku": 5, "quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("sku-empty", {"sku": "", "quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("sku-too-long", {"sku": "a" * 65, "quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("sku-bad-chars", {"sku": "clip|x", "quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("sku-array", {"sku": ["clip"], "quantity": 1}, 400, "INVALID_REQUEST", "sku"),
    ("quantity-string", {"sku": "clip", "quantity": "1"}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-float", {"sku": "clip", "quantity": 1.0}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-fraction", {"sku": "clip", "quantity": 1.5}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-bool", {"sku": "clip", "quantity": True}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-null", {"sku": "clip", "quantity": None}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-zero", {"sku": "clip", "quantity": 0}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-negative", {"sku": "clip", "quantity": -1}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-1000", {"sku": "clip", "quantity": 1000}, 400, "INVALID_REQUEST", "quantity"),
    ("quantity-huge", {"sku": "clip", "quantity": 10**30}, 400, "INVALID_REQUEST", "quantity"),
    (
        "quantity-5000-digits",
        raw('{"sku": "clip", "quantity": ' + HUGE_INT + "}"),
        400,
        "INVALID_REQUEST",
        None,
    ),
    ("quantity-inf", raw('{"sku": "clip", "quantity": 1e400}'), 400, "INVALID_REQUEST", "quantity"),
    ("quantity-nan", raw('{"sku": "clip", "quantity": NaN}'), 400, "INVALID_REQUEST", "quantity"),
    (
        "attributes-array",
        {"sku": "clip", "quantity": 1, "variantAttributes": ["m"]},
        400,
        "INVALID_REQUEST",
        "variantAttributes",
    ),
    (
        "attributes-number-value",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"size": 1}},
        400,
        "INVALID_REQUEST",
        "variantAttributes.size",
    ),
    (
        "attributes-empty-key",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"": "m"}},
        400,
        "INVALID_REQUEST",
        'variantAttributes[""] key',
    ),
    (
        "attributes-case-duplicates",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"Size": "m", "size": "l"}},
        400,
        "INVALID_REQUEST",
        "variantAttributes",
    ),
    (
        "attributes-nul",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"size": "m\u0000"}},
        400,
        "INVALID_REQUEST",
        "variantAttributes.size",
    ),
    (
        "attributes-surrogate",
        raw('{"sku": "clip", "quantity": 1, "variantAttributes": {"size": "\\ud800"}}'),
        400,
        "INVALID_REQUEST",
        "variantAttributes.size",
    ),
    (
        "variant-key-surrogate",
        raw('{"sku": "clip", "quantity": 1, "variantKey": "clip|size=\\udfff"}'),
        400,
        "INVALID_REQUEST",
        "variantKey",
    ),
    (
        "attributes-too-many",
        {"sku": "clip", "quantity": 1, "variantAttributes": {f"k{i}": "v" for i in range(21)}},
        400,
        "INVALID_REQUEST",
        "variantAttributes",
    ),
    (
        "attributes-value-too-long",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"size": "m" * 257}},
        400,
        "INVALID_REQUEST",
        "variantAttributes.size",
    ),
    (
        "variant-key-number",
        {"sku": "clip", "quantity": 1, "variantKey": 5},
        400,
        "INVALID_REQUEST",
        "variantKey",
    ),
    (
        "variant-key-malformed",
        {"sku": "clip", "quantity": 1, "variantKey": "clip|size"},
        400,
        "INVALID_REQUEST",
        "variantKey",
    ),
    (
        "variant-key-other-sku",
        {"sku": "clip", "quantity": 1, "variantKey": "scarce"},
        400,
        "VARIANT_KEY_MISMATCH",
        "variantKey",
    ),
    ("price-field", {"sku": "clip", "quantity": 1, "price": 1}, 400, "INVALID_REQUEST", "price"),
    ("unknown-sku", {"sku": "nope", "quantity": 1}, 404, "UNKNOWN_SKU", None),
    (
        "unknown-variant",
        {"sku": "clip", "quantity": 1, "variantAttributes": {"size": "m"}},
        404,
        "UNKNOWN_SKU",
        None,
    ),
]


def _send(body: bytes | Any) -> dict[str, Any]:
    return {"content": body} if isinstance(body, bytes) else {"json": body}


@pytest.mark.parametrize(("name", "body"), NOT_AN_OBJECT)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/cart"), ("PATCH", "/api/cart"), ("POST", "/api/inventory/validate")],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    origin: OriginClient, seeded: Any, method: str, path: str, name: str, body: bytes
) -> None:
    headers = {"content-type": "application/json", "x-cart-id": "C" * 32}
    response = await origin.request(method, path, content=body, headers=headers)
    assert_4xx(response, 400, "INVALID_REQUEST", None)


@pytest.mark.parametrize(
    ("name", "body", "status", "code", "field"), ADD_CASES, ids=[c[0] for c in ADD_CASES]
)
async def test_bad_cart_additions(
    origin: OriginClient,
    seeded: Any,
    name: str,
    body: bytes | Any,
    status: int,
    code: str,
    field: str | None,
) -> None:
    response = await origin.request("POST", "/api/cart", **_send(body))
    assert_4xx(response, status, code, field)
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("name", "body", "status", "code", "field"), ADD_CASES, ids=[c[0] for c in ADD_CASES]
)
async def test_bad_validation_items(
    origin: OriginClient,
    seeded: Any,
    name: str,
    body: bytes | Any,
    status: int,
    code: str,
    field: str | None,
) -> None:
    # The same line item, as the third of three: errors name it items[2].
    good = '{"sku": "clip", "quantity": 1}'
    item = body.decode() if isinstance(body, bytes) else json.dumps(body)
    wrapped = raw(f'{{"items": [{good}, {good}, {item}]}}')
    response = await origin.request("POST", "/api/inventory/validate", content=wrapped)
    expected_field = None if field is None else f"items[2].{field}"
    if code == "UNKNOWN_SKU":
        expected_field = "items[2]"
    assert_4xx(response, status, code, expected_field)


VALIDATE_CASES: list[tuple[str, Any, str | None]] = [
    ("empty-object", {}, "items"),
    ("items-null", {"items": None}, "items"),
    ("items-object", {"items": {"sku": "clip", "quantity": 1}}, "items"),
    ("items-empty", {"items": []}, "items"),
    ("items-too-many", {"items": [{"sku": "clip", "quantity": 1}] * 101}, "items"),
    ("item-number", {"items": [1]}, "items[0]"),
    ("item-array", {"items": [["clip", 1]]}, "items[0]"),
    ("shop-id-number", {"shopId": 5, "items": [{"sku": "clip", "quantity": 1}]}, "shopId"),
    ("extra-field", {"items": [{"sku": "clip", "quantity": 1}], "cart": "x"}, "cart"),
]


@pytest.mark.parametrize(
    ("name", "body", "field"), VALIDATE_CASES, ids=[c[0] for c in VALIDATE_CASES]
)
async def test_bad_validation_bodies(
    origin: OriginClient, seeded: Any, name: str, body: Any, field: str | None
) -> None:
    response = await origin.request("POST", "/api/inventory/validate", json=body)
    assert_4xx(response, 400, "INVALID_REQUEST", field)


PATCH_CASES: list[tuple[str, Any, str]] = [
    ("empty-object", {}, "lineId"),
    ("line-id-missing", {"quantity": 1}, "lineId"),
    ("quantity-missing", {"lineId": "ln_x"}, "quantity"),
    ("line-id-number", {"lineId": 5, "quantity": 1}, "lineId"),
    ("line-id-empty", {"lineId": "", "quantity": 1}, "lineId"),
    ("line-id-too-long", {"lineId": "x" * 65, "quantity": 1}, "lineId"),
    ("quantity-negative", {"lineId": "ln_x", "quantity": -1}, "quantity"),
    ("quantity-1000", {"lineId": "ln_x", "quantity": 1000}, "quantity"),
    ("quantity-float", {"lineId": "ln_x", "quantity": 2.0}, "quantity"),
    ("quantity-bool", {"lineId": "ln_x", "quantity": False}, "quantity"),
    ("quantity-string", {"lineId": "ln_x", "quantity": "2"}, "quantity"),
    ("extra-field", {"lineId": "ln_x", "quantity": 1, "sku": "clip"}, "sku"),
]


async def _cart(origin: OriginClient) -> str:
    response = await origin.request("POST", "/api/cart", json={"sku": "clip", "quantity": 1})
    origin.http.cookies.clear()
    cart_id: str = response.json()["cartId"]
    return cart_id


@pytest.mark.parametrize(("name", "body", "field"), PATCH_CASES, ids=[c[0] for c in PATCH_CASES])
async def test_bad_patches(
    origin: OriginClient, seeded: Any, name: str, body: Any, field: str
) -> None:
    cart_id = await _cart(origin)
    response = await origin.request("PATCH", "/api/cart", json=body, headers={"x-cart-id": cart_id})
    assert_4xx(response, 400, "INVALID_REQUEST", field)


async def test_patch_of_an_unknown_line_is_404(origin: OriginClient, seeded: Any) -> None:
    cart_id = await _cart(origin)
    response = await origin.request(
        "PATCH",
        "/api/cart",
        json={"lineId": "ln_nope", "quantity": 1},
        headers={"x-cart-id": cart_id},
    )
    assert_4xx(response, 404, "LINE_NOT_FOUND", "lineId")


@pytest.mark.parametrize(
    ("line_id", "status", "code"),
    [
        ("", 400, "INVALID_REQUEST"),
        ("x" * 65, 400, "INVALID_REQUEST"),
        ("ln_nope", 404, "LINE_NOT_FOUND"),
    ],
)
async def test_bad_deletes(
    origin: OriginClient, seeded: Any, line_id: str, status: int, code: str
) -> None:
    cart_id = await _cart(origin)
    response = await origin.request(
        "DELETE", "/api/cart", params={"lineId": line_id}, headers={"x-cart-id": cart_id}
    )
    assert_4xx(response, status, code, "lineId")


@pytest.mark.parametrize(
    "cart_id", ["short", "x" * 5000, "../../etc/passwd", "'; DROP TABLE carts; --", "ü" * 40]
)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_garbage_cart_ids_are_not_found(
    origin: OriginClient, seeded: Any, cart_id: str, method: str
) -> None:
    kwargs: dict[str, Any] = (
        {"json": {"lineId": "ln_x", "quantity": 1}} if method == "PATCH" else {}
    )
    # Raw bytes: a header is not necessarily ASCII on the wire.
    headers = {
        b"x-gateway-token": GATEWAY_TOKEN.encode(),
        b"x-shop-id": b"testshop",
        b"x-cart-id": cart_id.encode(),
    }
    response = await origin.http.request(method, "/api/cart", headers=headers, **kwargs)
    assert_4xx(response, 404, "CART_NOT_FOUND", None)


async def test_other_methods_on_the_cart_are_405(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request("PUT", "/api/cart", json={})
    assert_4xx(response, 405, "METHOD_NOT_ALLOWED", None)


# -- the parsers, fuzzed ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
item_like = st.fixed_dictionaries(
    {},
    optional={
        "sku": st.one_of(st.sampled_from(["clip", "cf-headband", ""]), json_values),
        "quantity": st.one_of(st.integers(-5, 1005), json_values),
        "variantAttributes": st.one_of(
            st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3), json_values
        ),
        "variantKey": st.one_of(st.sampled_from(["clip", "clip|a=b", "x|"]), json_values),
    },
)


@settings(max_examples=300)
@given(st.one_of(json_values, st.fixed_dictionaries({"items": st.lists(item_like, max_size=3)})))
def test_validation_parser_only_ever_raises_app_errors(data: Any) -> None:
    try:
        lines = parse_validate_request(data, shop_id="testshop")
    except AppError as exc:
        status = exc.status
    else:
        assert 1 <= len(lines) <= 100
        assert all(1 <= line.quantity <= 999 for line in lines)
        return
    assert 400 <= status < 500


@settings(max_examples=300)
@given(st.one_of(item_like, json_values))
def test_line_item_parser_only_ever_raises_app_errors(data: Any) -> None:
    try:
        line = parse_body(LineItemIn, data).resolve()
    except AppError as exc:
        status = exc.status
    else:
        assert 1 <= line.quantity <= 999
        return
    assert 400 <= status < 500


def test_validate_body_model_is_strict() -> None:
    with pytest.raises(AppError):
        parse_body(ValidateBody, {"items": [{"sku": "clip", "quantity": "1"}]})
