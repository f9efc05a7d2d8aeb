"""The origin's front matter: health, the gateway token, shop resolution, malformed bodies."""

from __future__ import annotations

from typing import Any

from tests.conftest import OriginClient


async def test_healthz_needs_no_token(origin: OriginClient) -> None:
    response = await origin.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_reachable(origin: OriginClient) -> None:
    response = await origin.http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_readyz_is_503_when_database_unreachable(origin_factory: Any) -> None:
    origin = await origin_factory(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    response = await origin.http.get("/readyz")
    assert response.status_code == 503


async def test_api_without_gateway_token_is_401(origin: OriginClient, seeded: Any) -> None:
    response = await origin.http.get(
        "/api/order-status", params={"sessionId": "cs_x"}, headers={"x-shop-id": "testshop"}
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "GATEWAY_UNAUTHORIZED"
    assert body["error"]["requestId"] == response.headers["x-request-id"]


async def test_api_with_wrong_gateway_token_is_401(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request(
        "GET",
        "/api/order-status",
        params={"sessionId": "cs_x"},
        headers={"x-gateway-token": "nope"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "GATEWAY_UNAUTHORIZED"


async def test_unknown_shop_is_404_shop_not_found(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request(
        "GET", "/api/order-status", shop="no-such-shop", params={"sessionId": "cs_x"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SHOP_NOT_FOUND"


async def test_missing_shop_header_is_404_shop_not_found(origin: OriginClient) -> None:
    response = await origin.request(
        "GET", "/api/order-status", shop=None, params={"sessionId": "cs_x"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SHOP_NOT_FOUND"


async def test_incoming_request_id_is_kept_and_bad_one_replaced(origin: OriginClient) -> None:
    kept = await origin.http.get("/healthz", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await origin.http.get("/healthz", headers={"x-request-id": "bad id;" * 30})
    assert replaced.headers["x-request-id"] != "bad id"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_metrics_exposes_request_counters(origin: OriginClient) -> None:
    await origin.http.get("/healthz")
    text = (await origin.http.get("/metrics")).text
    assert 'origin_requests_total{route="/healthz",status="200"}' in text


async def test_order_status_of_unknown_session_is_404(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request("GET", "/api/order-status", params={"sessionId": "cs_nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SESSION_NOT_FOUND"


async def test_order_status_requires_session_id(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request("GET", "/api/order-status")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


async def test_gateway_token_rotation_accepts_each_listed_token(
    origin_factory: Any, seeded: Any
) -> None:
    origin = await origin_factory(origin_gateway_token="old-token,new-token")
    for token in ("old-token", "new-token"):
        response = await origin.request(
            "GET",
            "/api/order-status",
            params={"sessionId": "cs_x"},
            headers={"x-gateway-token": token},
        )
        assert response.status_code == 404  # past the token check: the session is unknown
    refused = await origin.request(
        "GET",
        "/api/order-status",
        params={"sessionId": "cs_x"},
        headers={"x-gateway-token": "old-token,new-token"},
    )
    assert refused.status_code == 401
