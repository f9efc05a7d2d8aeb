"""Every error code of docs/api.md §2, through a real gateway process and a real origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateway
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.e2e

SHOP = {"x-shop-id": "errors-shop"}


@pytest.fixture(scope="module")
def gateway(
    upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = gateway_env(
        upstream.url,
        GATEWAY_MAX_BODY_BYTES="64",
        GATEWAY_UPSTREAM_TIMEOUT_SECONDS="0.5",
        CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE="1",
    )
    service = start_gateway(tmp_path_factory.mktemp("errors"), env)
    try:
        yield service
    finally:
        service.stop()


def code(response: httpx.Response) -> tuple[int, str]:
    error = response.json()["error"]
    assert error["requestId"] == response.headers["x-request-id"]
    assert error["message"]
    return response.status_code, error["code"]


def test_each_contract_error_code(gateway: ServiceProcess) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        assert code(client.get("/api/cart")) == (401, "FRONT_DOOR_UNAUTHORIZED")
        assert code(client.get("/api/nope", headers=front_door())) == (404, "ROUTE_NOT_FOUND")
        wrong_method = client.put("/api/checkout-session", headers=front_door(**SHOP))
        assert code(wrong_method) == (405, "METHOD_NOT_ALLOWED")
        assert wrong_method.headers["allow"] == "POST"
        missing = client.post("/api/inventory/validate", headers=front_door())
        assert code(missing) == (400, "SHOP_ID_REQUIRED")
        invalid = client.post("/api/inventory/validate", headers=front_door(**{"x-shop-id": "A"}))
        assert code(invalid) == (400, "SHOP_ID_INVALID")
        large = client.post("/api/cart", headers=front_door(**SHOP), content=b"z" * 65)
        assert code(large) == (413, "BODY_TOO_LARGE")
        assert client.post("/api/checkout-session", headers=front_door(**SHOP)).status_code == 200
        limited = client.post("/api/checkout-session", headers=front_door(**SHOP))
        assert code(limited) == (429, "RATE_LIMITED")
        assert int(limited.headers["retry-after"]) >= 1
        slow = client.get(
            "/api/order-status",
            headers=front_door(**SHOP, **{"x-test-mode": "slow", "x-test-delay": "2"}),
        )
        assert code(slow) == (504, "ORIGIN_TIMEOUT")


def test_origin_unavailable_and_rate_limit_backend_unavailable(tmp_path: Path) -> None:
    env = gateway_env(
        f"http://127.0.0.1:{free_port()}",  # nothing listens there
        GATEWAY_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # nor there
        GATEWAY_REDIS_FAILURE_MODE="closed",
        CHECKOUT_RATE_LIMIT_ENABLED="false",
    )
    service = start_gateway(tmp_path, env)
    try:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            # Not rate limited (switched off): goes to the dead origin.
            unlimited = client.post("/api/checkout-session", headers=front_door(**SHOP))
            assert code(unlimited) == (502, "ORIGIN_UNAVAILABLE")
            # Limited, and Redis is down with failure mode closed.
            cart = client.get("/api/cart", headers=front_door(**SHOP))
            assert code(cart) == (503, "RATE_LIMIT_BACKEND_UNAVAILABLE")
            assert int(cart.headers["retry-after"]) >= 1
    finally:
        service.stop()
