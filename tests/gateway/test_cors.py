"""CORS: preflights answered by the gateway after the front-door check; allowed origins per shop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.app import create_app
from gateway.cors import parse_cors_origins
from gateway.settings import Settings
from tests.gateway.conftest import front_door, serve

SHOP_A = "https://shop-a.example"
SHOP_A_WWW = "https://www.shop-a.example"
SHOP_B = "https://shop-b.example"
ORIGINS = f"shop-a={SHOP_A}|{SHOP_A_WWW};shop-b={SHOP_B}"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "x-shop-id"}


def test_origins_parse_per_shop() -> None:
    assert parse_cors_origins(ORIGINS) == {
        "shop-a": frozenset({SHOP_A, SHOP_A_WWW}),
        "shop-b": frozenset({SHOP_B}),
    }
    assert parse_cors_origins("") == {}


@pytest.mark.parametrize(
    "value",
    ["shop-a", "shop-a=", "Shop=https://a.example", "a=https://a.example/path", "a=ftp://x"],
)
def test_malformed_origins_stop_start_up(
    value: str, make_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(ValueError, match="gateway_cors_origins"):
        make_settings(gateway_cors_origins=value)


async def test_preflight_from_a_listed_origin_is_answered_without_forwarding(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_cors_origins=ORIGINS))) as client:
        response = await client.options("/api/cart", headers=front_door(origin=SHOP_B, **PREFLIGHT))
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SHOP_B
    assert response.headers["access-control-allow-methods"] == "DELETE, GET, PATCH, POST"
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"x-shop-id", "x-cart-id", "idempotency-key", "content-type"}
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"
    assert "ratelimit-policy" not in response.headers  # no rate-limit check, no forwarding
    assert response.content == b""


async def test_preflight_from_an_unlisted_origin_is_403_without_cors_headers(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_cors_origins=ORIGINS))) as client:
        response = await client.options(
            "/api/checkout-session", headers=front_door(origin="https://evil.example", **PREFLIGHT)
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CORS_ORIGIN_NOT_ALLOWED"
    assert not any(name.startswith("access-control-") for name in response.headers)


async def test_without_cors_origins_every_preflight_is_403(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.options("/api/cart", headers=front_door(origin=SHOP_A, **PREFLIGHT))
    assert response.status_code == 403


async def test_preflight_still_needs_the_front_door_token(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_cors_origins=ORIGINS))) as client:
        response = await client.options("/api/cart", headers={"origin": SHOP_A, **PREFLIGHT})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "FRONT_DOOR_UNAUTHORIZED"


async def test_options_without_preflight_headers_is_an_ordinary_405(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_cors_origins=ORIGINS))) as client:
        response = await client.options("/api/cart", headers=front_door(origin=SHOP_A))
    assert response.status_code == 405


async def test_actual_request_gets_allow_origin_only_for_its_own_shops_origins(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_cors_origins=ORIGINS))) as client:
        own = await client.get(
            "/api/order-status", headers=front_door(origin=SHOP_A_WWW, **{"x-shop-id": "shop-a"})
        )
        other = await client.get(
            "/api/order-status", headers=front_door(origin=SHOP_B, **{"x-shop-id": "shop-a"})
        )
        refused = await client.get("/api/order-status", headers=front_door(origin=SHOP_A))
    assert own.status_code == 200
    assert own.headers["access-control-allow-origin"] == SHOP_A_WWW
    assert own.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in own.headers["access-control-expose-headers"]
    assert own.headers["vary"] == "Origin"
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    assert refused.status_code == 400  # no x-shop-id: no shop, so no origin is listed
    assert "access-control-allow-origin" not in refused.headers
