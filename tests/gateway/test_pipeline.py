"""The contract's checks, in order, with every error code of §2 (in-process gateway).

The gateway runs in this process (its lifespan driven like uvicorn drives it) against the
stand-in origin process and the local Redis, under a key prefix of the test's own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from checkout_edge_shared.logs import JsonFormatter
from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import FRONT_DOOR_TOKEN, ORIGIN_TOKEN, front_door, serve

pytestmark = pytest.mark.usefixtures("shared_redis")

SHOP = {"x-shop-id": "cochlearfit"}


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "requestId"}
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    code: str = body["error"]["code"]
    return code


async def test_missing_or_wrong_front_door_token_is_401_before_anything_else(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        for headers in ({}, {"x-front-door-token": "wrong"}, {"x-front-door-token": ""}):
            # An unknown path, a wrong method and a missing shop: the 401 comes first.
            for method, path in (("GET", "/nope"), ("PUT", "/api/cart"), ("POST", "/api/cart")):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401
                assert error_code(response) == "FRONT_DOOR_UNAUTHORIZED"


async def test_probes_are_exempt_from_the_front_door(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert ready.json()["redis"] == "ok"
        assert (await client.get("/metrics")).status_code == 200  # Prometheus has no token


async def test_every_rotated_front_door_token_is_accepted(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(gateway_front_door_token=f"old-one,{FRONT_DOOR_TOKEN}"))
    async with serve(app) as client:
        for token in ("old-one", FRONT_DOOR_TOKEN):
            response = await client.get(
                "/api/order-status", headers={"x-front-door-token": token, **SHOP}
            )
            assert response.status_code == 200


async def test_unknown_path_is_404_route_not_found(make_settings: Callable[..., Settings]) -> None:
    async with serve(create_app(make_settings())) as client:
        for path in ("/api/cart/", "/api/admin", "/", "/api/checkout-session/x"):
            response = await client.post(path, headers=front_door(**SHOP))
            assert response.status_code == 404, path
            assert error_code(response) == "ROUTE_NOT_FOUND"


async def test_known_path_wrong_method_is_405_with_allow(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.get("/api/checkout-session", headers=front_door())
        assert response.status_code == 405
        assert error_code(response) == "METHOD_NOT_ALLOWED"
        assert response.headers["allow"] == "POST"
        response = await client.put("/api/cart", headers=front_door())
        assert response.headers["allow"] == "DELETE, GET, PATCH, POST"
        response = await client.head("/api/order-status", headers=front_door())
        assert response.status_code == 405


async def test_shop_id_missing_or_malformed_is_400(make_settings: Callable[..., Settings]) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.post("/api/checkout-session", headers=front_door())
        assert response.status_code == 400
        assert error_code(response) == "SHOP_ID_REQUIRED"
        response = await client.post(
            "/api/checkout-session", headers=front_door(**{"x-shop-id": "Bad_Shop"})
        )
        assert response.status_code == 400
        assert error_code(response) == "SHOP_ID_INVALID"


async def test_webhook_does_not_need_a_shop_but_rejects_a_bad_one(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.post("/api/stripe-webhook", headers=front_door(), content=b"{}")
        assert response.status_code == 200
        response = await client.post(
            "/api/stripe-webhook", headers=front_door(**{"x-shop-id": "x"}), content=b"{}"
        )
        assert error_code(response) == "SHOP_ID_INVALID"


async def test_body_over_the_limit_is_413_and_spends_no_quota(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(gateway_max_body_bytes=100, checkout_rate_limit_requests_per_minute=1)
    async with serve(create_app(settings)) as client:
        for _ in range(3):
            response = await client.post(
                "/api/checkout-session", headers=front_door(**SHOP), content=b"x" * 101
            )
            assert response.status_code == 413
            assert error_code(response) == "BODY_TOO_LARGE"
        exact = await client.post(
            "/api/checkout-session", headers=front_door(**SHOP), content=b"x" * 100
        )
        assert exact.status_code == 200
        assert exact.json()["bodyLength"] == 100


async def test_rate_limited_request_is_429_with_retry_after_and_fields(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(checkout_rate_limit_requests_per_minute=2)
    async with serve(create_app(settings)) as client:
        first = await client.post("/api/checkout-session", headers=front_door(**SHOP))
        assert first.headers["ratelimit-policy"] == '"checkout";q=2;w=60'
        assert first.headers["ratelimit"] == '"checkout";r=1;t=60'
        await client.post("/api/checkout-session", headers=front_door(**SHOP))
        refused = await client.post("/api/checkout-session", headers=front_door(**SHOP))
        assert refused.status_code == 429
        assert error_code(refused) == "RATE_LIMITED"
        retry_after = int(refused.headers["retry-after"])
        assert refused.headers["ratelimit-policy"] == '"checkout";q=2;w=60'
        remaining, reset = parse_ratelimit(refused.headers["ratelimit"])
        assert remaining == 0
        assert 1 <= reset <= retry_after <= 60


async def test_every_response_of_a_limited_route_has_the_policy(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        for response in (
            await client.get("/api/cart", headers=front_door(**SHOP)),
            await client.get("/api/cart", headers=front_door()),  # 400
            await client.put("/api/cart", headers=front_door(**SHOP)),  # 405
        ):
            assert response.headers["ratelimit-policy"] == '"cart";q=120;w=60'


async def test_closed_failure_mode_with_redis_down_is_503(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        gateway_redis_url="redis://127.0.0.1:1/0", gateway_redis_failure_mode="closed"
    )
    async with serve(create_app(settings)) as client:
        response = await client.post("/api/checkout-session", headers=front_door(**SHOP))
        assert response.status_code == 503
        assert error_code(response) == "RATE_LIMIT_BACKEND_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["rateLimit"]["reachable"] is False


async def test_origin_unreachable_is_502(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(gateway_origin_url="http://127.0.0.1:1")
    async with serve(create_app(settings)) as client:
        response = await client.get("/api/order-status", headers=front_door(**SHOP))
        assert response.status_code == 502
        assert error_code(response) == "ORIGIN_UNAVAILABLE"
        assert response.headers["ratelimit-policy"] == '"status";q=120;w=60'
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert error_code(ready) == "NOT_READY"


async def test_origin_too_slow_is_504(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(gateway_upstream_timeout_seconds=0.3)
    async with serve(create_app(settings)) as client:
        response = await client.get(
            "/api/order-status",
            headers=front_door(**SHOP, **{"x-test-mode": "slow", "x-test-delay": "2"}),
        )
        assert response.status_code == 504
        assert error_code(response) == "ORIGIN_TIMEOUT"


async def test_forwarded_request_carries_gateway_headers_only(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.post(
            "/api/inventory/validate?x=1&y=%2F",
            headers=front_door(
                **SHOP,
                **{
                    "cf-connecting-ip": "203.0.113.50",
                    "x-gateway-token": "forged",
                    "x-client-ip": "10.9.9.9",
                    "x-request-id": "client-chosen-id",
                    "connection": "x-drop-me",
                    "x-drop-me": "1",
                },
            ),
            content=b'{"items": []}',
        )
        assert response.status_code == 200
        echoed = response.json()
        headers = dict(echoed["headers"])
        names = [name for name, _ in echoed["headers"]]
        assert headers["x-gateway-token"] == ORIGIN_TOKEN
        assert names.count("x-gateway-token") == 1
        assert headers["x-client-ip"] == "203.0.113.50"
        assert headers["x-request-id"] == "client-chosen-id"
        assert response.headers["x-request-id"] == "client-chosen-id"
        assert "x-front-door-token" not in headers
        assert "x-drop-me" not in headers
        assert echoed["query"] == "x=1&y=%2F"


async def test_unsafe_request_id_is_replaced(make_settings: Callable[..., Settings]) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.get(
            "/api/order-status", headers=front_door(**SHOP, **{"x-request-id": "bad id<>"})
        )
        made = response.headers["x-request-id"]
        assert made != "bad id<>"
        assert dict(response.json()["headers"])["x-request-id"] == made


async def test_metrics_need_the_bearer_token_when_set(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(gateway_metrics_token="m-token"))) as client:
        denied = await client.get("/metrics", headers=front_door())
        assert denied.status_code == 401
        assert error_code(denied) == "METRICS_UNAUTHORIZED"
        # Scrapers reach the gateway inside the cluster: no front-door token needed.
        allowed = await client.get("/metrics", headers={"authorization": "Bearer m-token"})
        assert allowed.status_code == 200
        assert "gateway_requests_total" in allowed.text


async def test_metrics_without_a_token_set_skip_the_front_door(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert "gateway_requests_total" in response.text


async def test_metrics_count_requests_and_rate_limits(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(checkout_rate_limit_requests_per_minute=1)
    async with serve(create_app(settings)) as client:
        for _ in range(3):
            await client.post("/api/checkout/session", headers=front_door(**SHOP))
        await client.get("/wp-login.php", headers=front_door())
        text = (await client.get("/metrics", headers=front_door())).text
    samples = metric_samples(text)
    assert (
        samples['checkout_rate_limited_total{route="/api/checkout/session",shop="cochlearfit"}']
        == 2
    )
    assert samples['gateway_requests_total{route="/api/checkout/session",status="429"}'] == 2
    assert samples['gateway_requests_total{route="/api/checkout/session",status="200"}'] == 1
    assert samples['gateway_requests_total{route="unmatched",status="404"}'] == 1
    assert samples['gateway_redis_call_duration_seconds_count{outcome="ok"}'] == 3
    assert (
        'gateway_upstream_duration_seconds_count{outcome="response",route="/api/checkout/session"}'
        in samples
    )


class JsonLines(logging.Handler):
    """Formats records as they are emitted, inside the request's context."""

    def __init__(self) -> None:
        super().__init__()
        self.formatter_ = JsonFormatter("gateway")
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.formatter_.format(record)))


async def test_request_log_lines_carry_the_request_id(
    make_settings: Callable[..., Settings],
) -> None:
    capture = JsonLines()
    logging.getLogger().addHandler(capture)
    try:
        settings = make_settings(
            checkout_rate_limit_requests_per_minute=1, gateway_origin_url="http://127.0.0.1:1"
        )
        async with serve(create_app(settings)) as client:
            for _ in range(2):
                await client.post(
                    "/api/checkout-session",
                    headers=front_door(**SHOP, **{"x-request-id": "rid-42"}),
                )
    finally:
        logging.getLogger().removeHandler(capture)
    # Not the gateway's start/stop lines, nor the test client's own (httpx).
    request_lines = [line for line in capture.lines if line["logger"] not in {"gateway", "httpx"}]
    messages = {line["msg"] for line in request_lines}
    assert {"origin unavailable", "rate limited"} <= messages
    assert all(line.get("requestId") == "rid-42" for line in request_lines)


def parse_ratelimit(value: str) -> tuple[int, int]:
    params = dict(part.split("=") for part in value.split(";")[1:])
    return int(params["r"]), int(params["t"])


def metric_samples(text: str) -> dict[str, float]:
    samples: dict[str, Any] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_unexpected_error_is_a_500_contract_body_with_the_request_id(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("gateway.rate_limit.RateLimiter.check", broken)
    async with serve(create_app(make_settings())) as client:
        response = await client.get(
            "/api/order-status", headers=front_door(**SHOP, **{"x-request-id": "rid-500"})
        )
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "INTERNAL_ERROR",
            "message": "Something went wrong on our side; retry later.",
            "requestId": "rid-500",
        }
    }
