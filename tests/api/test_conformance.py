"""The response check every test runs under really checks (tests.support.conformance)."""

from __future__ import annotations

import json

import httpx

from tests.conftest import OriginClient
from tests.support import conformance
from tests.support.openapi import check_response

CART = {
    "cartId": "Zk3l0N8pQ2rS5tU7vW9xY1zA3bC5dE7f",
    "revision": 1,
    "currency": "usd",
    "lines": [],
    "subtotal": 0,
    "unavailableLines": [],
}
GATEWAY_HEADERS = {
    "content-type": "application/json",
    "x-request-id": "r1",
    "ratelimit-policy": '"cart";q=120;w=60',
    "ratelimit": '"cart";r=119;t=60',
}


def _check(status: int, body: object, headers: dict[str, str] = GATEWAY_HEADERS) -> list[str]:
    return check_response(
        "GET",
        "/api/cart",
        status,
        httpx.Headers(headers),
        json.dumps(body).encode(),
        through_gateway=True,
    )


def test_a_conforming_answer_has_no_problems() -> None:
    assert _check(200, CART) == []


def test_a_missing_field_an_undocumented_status_or_code_and_a_missing_header_are_reported() -> None:
    assert _check(200, {k: v for k, v in CART.items() if k != "revision"}) == [
        "GET /api/cart → 200: body: 'revision' is a required property"
    ]
    assert _check(418, CART) == ["GET /api/cart answered 418, which the document does not list"]
    wrong_code = {"error": {"code": "CART_FULL", "message": "m", "requestId": "r1"}}
    assert any("'CART_FULL' is not one of" in p for p in _check(404, wrong_code))
    without_limits = {"content-type": "application/json", "x-request-id": "r1"}
    assert _check(200, CART, without_limits) == [
        "GET /api/cart → 200: header RateLimit-Policy is required and missing",
        "GET /api/cart → 200: header RateLimit is required and missing",
    ]


def test_answers_outside_the_operations_are_checked_too() -> None:
    not_found = {"error": {"code": "ROUTE_NOT_FOUND", "message": "No route.", "requestId": "r"}}
    headers = httpx.Headers({"content-type": "application/json", "x-request-id": "r"})
    body = json.dumps(not_found).encode()
    assert check_response("GET", "/openapi.json", 404, headers, body, through_gateway=True) == []
    assert check_response("PUT", "/api/cart", 404, headers, body, through_gateway=True) == [
        "PUT /api/cart is not an operation; it answered 404"
    ]


async def test_responses_of_the_in_process_origin_are_checked(origin: OriginClient) -> None:
    before = sum(conformance.RECORD.checked.values())
    response = await origin.request("GET", "/api/order-status", shop="no-such-shop")
    assert response.status_code == 404
    assert sum(conformance.RECORD.checked.values()) == before + 1
