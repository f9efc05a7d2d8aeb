"""Rate limits on a real local Redis Cluster (3 masters + 3 replicas).

In process: one EVALSHA per check on the owning master, redirects (ASK while a slot
migrates, MOVED after) followed without losing a window. Through three real gateway
processes: the limits (class and per-IP ceiling) exact across them; a master killed
under load fails over with no 5xx in ``fallback``, and the limit is exact again after.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.metrics import GatewayMetrics
from gateway.rate_limit import (
    Backend,
    CircuitBreaker,
    FailureMode,
    RateLimiter,
    parse_quota,
    parse_redis_target,
)
from gateway.rate_limit.cluster import key_slot
from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateways
from tests.gateway.redis_cluster import LocalCluster
from tests.gateway.test_exactness import burst
from tests.support.processes import ServiceProcess

QUOTA = parse_quota("checkout", "10/minute")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
async def limiter(cluster: LocalCluster, key_prefix: str) -> AsyncIterator[RateLimiter]:
    limiter = RateLimiter(
        target=parse_redis_target(cluster.url),
        ceiling=parse_quota("per-ip", "600/minute"),
        key_prefix=key_prefix,
        timeout=1.0,
        failure_mode=FailureMode.CLOSED,  # a Redis failure must fail the test
        expected_replicas=1,
        breaker=CircuitBreaker(threshold=3, cooldown=1.0),
        metrics=GatewayMetrics(),
    )
    try:
        yield limiter
    finally:
        await limiter.aclose()


async def test_each_check_is_one_evalsha_on_the_owning_master(
    cluster: LocalCluster, limiter: RateLimiter
) -> None:
    clients = [f"198.51.100.{n}" for n in range(12)]
    masters = {cluster.master_of(f"{{{c}}}".encode()) for c in clients}
    assert len(masters) > 1  # the clients really are spread over the masters
    for client in clients:  # connects, learns the slots, loads the script per master
        await limiter.check(QUOTA, ("checkout", "shop"), client)
    before = cluster.commandstats("evalsha")
    decisions = [
        await limiter.check(QUOTA, ("checkout", "shop"), c) for c in clients for _ in range(12)
    ]
    assert cluster.commandstats("evalsha") - before == len(decisions)
    assert all(d.backend is Backend.REDIS for d in decisions)
    admitted = Counter(c for c, d in zip(clients * 12, decisions, strict=False) if d.allowed)
    assert sum(admitted.values()) == 12 * 9  # 10 per client, one taken before counting


async def test_a_migrating_slot_is_followed_through_ask_and_moved(
    cluster: LocalCluster, limiter: RateLimiter, key_prefix: str
) -> None:
    client = "192.0.2.200"
    keys = [
        f"{key_prefix}:LIMITER/{{{client}}}/checkout/shop/10/1/minute".encode(),
        f"{key_prefix}:LIMITER/{{{client}}}/ip/600/1/minute".encode(),
    ]
    assert key_slot(keys[0]) == key_slot(keys[1])
    slot = key_slot(keys[0])

    async def admitted(count: int) -> int:
        decisions = [await limiter.check(QUOTA, ("checkout", "shop"), client) for _ in range(count)]
        return sum(d.allowed for d in decisions)

    assert await admitted(3) == 3
    source = cluster.master_of(keys[0])
    target = next(m for m in cluster.masters() if m != source)
    src, dst = cluster.client(source), cluster.client(target)
    try:
        src_id, dst_id = (
            src.execute_command("CLUSTER", "MYID"),
            dst.execute_command("CLUSTER", "MYID"),
        )
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        assert await admitted(2) == 2  # keys still on the source: served there
        src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        asks_before = dst.info("commandstats").get("cmdstat_asking", {}).get("calls", 0)
        assert await admitted(2) == 2  # -ASK: the target serves them after ASKING
        assert dst.info("commandstats")["cmdstat_asking"]["calls"] - asks_before == 2
        for port in cluster.masters():
            node = cluster.client(port)
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
            node.close()
        # -MOVED once, then straight to the new owner; the window came along: 3 of 6 left.
        assert await admitted(6) == 3
        assert cluster.master_of(keys[0]) == target
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="module")
def cluster_gateways(
    cluster: LocalCluster, upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServiceProcess]]:
    env = gateway_env(
        upstream.url,
        GATEWAY_REDIS_URL=cluster.url,
        CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE="25",
        GATEWAY_RATE_LIMIT_PER_IP="40/minute",
        GATEWAY_REDIS_TIMEOUT_MS="1000",
        GATEWAY_REDIS_FAILURE_MODE="closed",
    )
    services = start_gateways(tmp_path_factory.mktemp("cluster-gw"), env, 3)
    try:
        yield services
    finally:
        for service in services:
            service.stop()


@pytest.mark.e2e
async def test_three_gateways_on_the_cluster_admit_exactly_the_limits(
    cluster_gateways: list[ServiceProcess],
) -> None:
    headers = front_door(**{"x-shop-id": "cluster-shop", "cf-connecting-ip": "203.0.113.91"})
    results = await burst(cluster_gateways, "/api/checkout-session", [headers] * 60, "POST")
    assert Counter(status for _, status, _, _ in results) == {200: 25, 429: 35}
    # Invented shops from one IP: the per-IP ceiling holds across them and the processes.
    rotating = [
        front_door(**{"x-shop-id": f"invented-{n}", "cf-connecting-ip": "203.0.113.92"})
        for n in range(120)
    ]
    results = await burst(cluster_gateways, "/api/cart", rotating, "GET")
    assert Counter(status for _, status, _, _ in results) == {200: 40, 429: 80}


def ip_on_master(cluster: LocalCluster, master: int, exclude: set[str]) -> str:
    for n in range(1, 255):
        for m in range(1, 255):
            ip = f"10.{n}.{m}.7"
            if ip not in exclude and cluster.master_of(f"{{{ip}}}".encode()) == master:
                return ip
    raise AssertionError("no address maps to that master")


def breaker_open(gateway: ServiceProcess) -> bool:
    text = httpx.get(gateway.url + "/metrics", headers=front_door(), timeout=5).text
    return "gateway_ratelimit_breaker_open 1.0" in text


@pytest.mark.e2e
async def test_master_killed_under_load_fails_over_without_5xx_then_exact_again(
    tmp_path: Path, upstream: ServiceProcess
) -> None:
    cluster = LocalCluster(tmp_path / "cluster")
    cluster.start()
    env = gateway_env(
        upstream.url,
        GATEWAY_REDIS_URL=cluster.url,
        GATEWAY_RATE_LIMIT_CART="31/minute",  # fallback's share, 31 // 3 each, admits 30
        GATEWAY_EXPECTED_REPLICAS="3",
        GATEWAY_REDIS_FAILURE_MODE="fallback",
        GATEWAY_REDIS_TIMEOUT_MS="500",
        GATEWAY_REDIS_BREAKER_COOLDOWN_SECONDS="1",
    )
    (tmp_path / "gw").mkdir()
    gateways: list[ServiceProcess] = []
    try:
        gateways = start_gateways(tmp_path / "gw", env, 3)
        victim = cluster.masters()[0]
        statuses: Counter[int] = Counter()
        stop = asyncio.Event()

        async def load(index: int) -> None:
            async with httpx.AsyncClient(base_url=gateways[index % 3].url, timeout=10) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    ip = f"10.200.{index}.{n % 250}"
                    headers = front_door(**{"x-shop-id": "failover", "cf-connecting-ip": ip})
                    statuses[(await http.get("/api/cart", headers=headers)).status_code] += 1

        workers = [asyncio.ensure_future(load(i)) for i in range(6)]
        await asyncio.sleep(1.5)
        killed_at = time.monotonic()
        cluster.kill(victim)
        await asyncio.to_thread(cluster.wait_healthy, 60)
        failed_over = time.monotonic() - killed_at
        # Keep the load on until every gateway is back on Redis (its breaker closed).
        deadline = time.monotonic() + 30
        while any(await asyncio.gather(*(asyncio.to_thread(breaker_open, g) for g in gateways))):
            assert time.monotonic() < deadline, "a gateway did not go back to Redis"
            await asyncio.sleep(0.2)
        recovered = time.monotonic() - killed_at
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)
        assert statuses, "no load was sent"
        assert not [s for s in statuses if s >= 500], statuses
        print(
            f"failover: {failed_over:.1f}s to a healthy cluster, {recovered:.1f}s to Redis "
            f"again on every gateway; statuses under load {dict(statuses)}"
        )
        # After the failover the limit is exact again, on the promoted master's slots too.
        new_masters = cluster.masters()
        assert victim not in new_masters
        for master in new_masters:
            ip = ip_on_master(cluster, master, set())
            headers = front_door(**{"x-shop-id": "after", "cf-connecting-ip": ip})
            results = await burst(gateways, "/api/cart", [headers] * 60, "GET")
            assert Counter(status for _, status, _, _ in results) == {200: 31, 429: 29}, master
    finally:
        for gateway in gateways:
            gateway.stop()
        cluster.stop()
