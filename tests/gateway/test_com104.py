"""COM-104 (commerce-core readiness plan): rate limiting of checkout, test contract TC-01…03.

Through a real gateway process (started as docs/api.md §1 starts it) in front of the
stand-in origin, on the local Redis, with the plan's defaults: 10 checkout requests per
minute per ``cf-connecting-ip`` + ``x-shop-id``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateway
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

IP = "203.0.113.10"


@pytest.fixture(scope="module")
def gateway(
    upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    service = start_gateway(tmp_path_factory.mktemp("com104"), gateway_env(upstream.url))
    try:
        yield service
    finally:
        service.stop()


def checkout(
    client: httpx.Client, shop: str, path: str = "/api/checkout-session"
) -> httpx.Response:
    return client.post(
        path,
        headers=front_door(**{"cf-connecting-ip": IP, "x-shop-id": shop}),
        json={"items": [{"sku": "cf-headband", "quantity": 1}]},
    )


def test_com104_tc01_eleventh_checkout_per_minute_from_same_ip_and_shop_is_429(
    gateway: ServiceProcess,
) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        statuses = [checkout(client, "tc01-shop").status_code for _ in range(10)]
        assert statuses == [200] * 10
        eleventh = checkout(client, "tc01-shop")
        # The legacy alias shares the bucket: it is refused too.
        alias = checkout(client, "tc01-shop", path="/api/checkout/session")
    assert eleventh.status_code == 429
    assert eleventh.json()["error"]["code"] == "RATE_LIMITED"
    retry_after = int(eleventh.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert eleventh.headers["ratelimit-policy"] == '"checkout";q=10;w=60'
    assert eleventh.headers["ratelimit"].startswith('"checkout";r=0;t=')
    assert alias.status_code == 429


def test_com104_tc02_requests_below_threshold_are_forwarded_normally(
    gateway: ServiceProcess,
) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        responses = [checkout(client, "tc02-shop") for _ in range(5)]
    for sent, response in enumerate(responses, start=1):
        assert response.status_code == 200
        echoed = response.json()
        assert echoed["path"] == "/api/checkout-session"
        assert echoed["bodyLength"] > 0
        assert dict(echoed["headers"])["x-shop-id"] == "tc02-shop"
        name, remaining, reset = response.headers["ratelimit"].split(";")
        assert (name, remaining) == ('"checkout"', f"r={10 - sent}")
        assert reset in {"t=59", "t=60"}


def test_com104_tc03_other_shop_from_same_ip_is_limited_independently(
    gateway: ServiceProcess,
) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        first_shop = [checkout(client, "tc03-shop-a").status_code for _ in range(11)]
        other_shop = [checkout(client, "tc03-shop-b").status_code for _ in range(11)]
    assert first_shop == [200] * 10 + [429]
    assert other_shop == [200] * 10 + [429]
