"""The limit is exact across gateway processes sharing one Redis (docs/api.md §2).

Three real gateway processes, concurrent bursts spread over all of them: together they
admit exactly the limit, never one more.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateways
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

PROCESSES = 3


@pytest.fixture(scope="module")
def gateways(
    upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServiceProcess]]:
    env = gateway_env(
        upstream.url,
        CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE="25",
        GATEWAY_RATE_LIMIT_CART="40/minute",
        # Timeouts under a test burst on 2 cores must not push decisions into fallback.
        GATEWAY_REDIS_TIMEOUT_MS="1000",
        GATEWAY_REDIS_FAILURE_MODE="closed",
    )
    services = start_gateways(tmp_path_factory.mktemp("exact"), env, PROCESSES)
    try:
        yield services
    finally:
        for service in services:
            service.stop()


async def burst(
    gateways: list[ServiceProcess], path: str, headers_for: list[dict[str, str]], method: str
) -> list[tuple[int, int, dict[str, str], httpx.Response]]:
    """Send one request per entry of ``headers_for``, round-robin over the gateways, at once."""
    limits = httpx.Limits(max_connections=50)
    clients = [httpx.AsyncClient(base_url=g.url, limits=limits, timeout=20) for g in gateways]
    try:
        # Open the connections first, so the burst reaches every process at once rather
        # than one process after another as their connections come up.
        await asyncio.gather(*(c.get("/healthz") for c in clients for _ in range(50)))
        responses = await asyncio.gather(
            *(
                clients[i % len(clients)].request(method, path, headers=headers)
                for i, headers in enumerate(headers_for)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return [
        (i % len(clients), r.status_code, h, r)
        for i, (h, r) in enumerate(zip(headers_for, responses, strict=True))
    ]


async def test_three_processes_together_admit_exactly_the_limit(
    gateways: list[ServiceProcess],
) -> None:
    headers = front_door(**{"x-shop-id": "exact-shop", "cf-connecting-ip": "203.0.113.77"})
    # 20 per process: no single process could admit all 25 on its own.
    results = await burst(gateways, "/api/checkout-session", [headers] * 60, "POST")
    statuses = Counter(status for _, status, _, _ in results)
    assert statuses == {200: 25, 429: 35}
    # The admissions really were spread over the processes.
    assert len({gateway for gateway, status, _, _ in results if status == 200}) > 1
    for _, status, _, response in results:
        if status == 429:
            assert int(response.headers["retry-after"]) >= 1
    # A second, larger burst in the same window gets nothing more, from any process.
    again = await burst(gateways, "/api/checkout-session", [headers] * 150, "POST")
    assert {status for _, status, _, _ in again} == {429}


async def test_concurrent_shops_each_get_exactly_their_own_limit(
    gateways: list[ServiceProcess],
) -> None:
    shops = ["shop-one", "shop-two", "shop-three"]
    headers_for = [
        front_door(**{"x-shop-id": shop, "cf-connecting-ip": "203.0.113.78"})
        for _ in range(60)
        for shop in shops
    ]
    results = await burst(gateways, "/api/cart", headers_for, "GET")
    admitted = Counter(h["x-shop-id"] for _, status, h, _ in results if status == 200)
    assert admitted == dict.fromkeys(shops, 40)
