"""Redis failing mid-run: deadline, breaker, the three failure modes, and recovery.

Each test runs its own redis-server and stops, freezes or restarts it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from gateway.app import create_app
from gateway.metrics import GatewayMetrics
from gateway.rate_limit import (
    Backend,
    BackendUnavailable,
    CircuitBreaker,
    FailureMode,
    RateLimiter,
    parse_quota,
    parse_redis_target,
)
from gateway.settings import Settings
from tests.gateway.conftest import PrivateRedis, front_door, serve

COOLDOWN = 0.3
QUOTA = parse_quota("checkout", "6/minute")
WHO = (("checkout", "shop-a"), "203.0.113.1")


def make_limiter(
    server: PrivateRedis, mode: FailureMode, metrics: GatewayMetrics, replicas: int = 1
) -> RateLimiter:
    return RateLimiter(
        target=parse_redis_target(server.url),
        key_prefix="failures",
        timeout=0.05,
        failure_mode=mode,
        expected_replicas=replicas,
        breaker=CircuitBreaker(threshold=3, cooldown=COOLDOWN),
        metrics=metrics,
    )


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def wait_for_redis_again(limiter: RateLimiter, quota_name: str = "probe") -> None:
    deadline = time.monotonic() + 5
    quota = parse_quota(quota_name, "1000/minute")
    while time.monotonic() < deadline:
        try:
            if (await limiter.check(quota, ("probe",), "probe")).backend is Backend.REDIS:
                return
        except BackendUnavailable:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the limiter did not go back to Redis")


async def test_fallback_limits_in_process_at_the_replica_share_then_recovers(
    private_redis: PrivateRedis,
) -> None:
    metrics = GatewayMetrics()
    limiter = make_limiter(private_redis, FailureMode.FALLBACK, metrics, replicas=2)
    assert (await limiter.check(QUOTA, *WHO)).backend is Backend.REDIS
    private_redis.stop()

    started = time.monotonic()
    decisions = [await limiter.check(QUOTA, *WHO) for _ in range(8)]
    assert time.monotonic() - started < 1.0
    assert {d.backend for d in decisions} == {Backend.FALLBACK}
    # 6 per minute over 2 expected replicas: each process admits 3 on its own.
    assert [d.allowed for d in decisions] == [True] * 3 + [False] * 5
    assert decisions[0].quota.amount == 3
    errors = sample(metrics, "gateway_ratelimit_backend_errors_total", reason="error")
    assert errors == 3  # then the breaker stopped calling Redis
    assert (
        sample(metrics, "gateway_ratelimit_fallback_total", mode="fallback", decision="allowed")
        == 3
    )
    assert (
        sample(metrics, "gateway_ratelimit_fallback_total", mode="fallback", decision="limited")
        == 5
    )
    assert sample(metrics, "gateway_ratelimit_breaker_open") == 1
    assert (await limiter.health()).degraded

    private_redis.start()
    await wait_for_redis_again(limiter)
    decision = await limiter.check(QUOTA, *WHO)
    assert decision.backend is Backend.REDIS
    assert decision.allowed  # the restarted Redis has an empty window
    assert sample(metrics, "gateway_ratelimit_breaker_open") == 0
    assert not (await limiter.health()).degraded
    await limiter.aclose()


async def test_open_mode_admits_everything_while_redis_is_down(
    private_redis: PrivateRedis,
) -> None:
    metrics = GatewayMetrics()
    limiter = make_limiter(private_redis, FailureMode.OPEN, metrics)
    private_redis.stop()
    decisions = [await limiter.check(QUOTA, *WHO) for _ in range(10)]
    assert all(d.allowed and d.backend is Backend.OPEN for d in decisions)
    assert (
        sample(metrics, "gateway_ratelimit_fallback_total", mode="open", decision="allowed") == 10
    )
    private_redis.start()
    await wait_for_redis_again(limiter)
    await limiter.aclose()


async def test_closed_mode_refuses_while_redis_is_down(private_redis: PrivateRedis) -> None:
    metrics = GatewayMetrics()
    limiter = make_limiter(private_redis, FailureMode.CLOSED, metrics)
    private_redis.stop()
    for _ in range(5):
        with pytest.raises(BackendUnavailable):
            await limiter.check(QUOTA, *WHO)
    assert (
        sample(metrics, "gateway_ratelimit_fallback_total", mode="closed", decision="rejected") == 5
    )
    private_redis.start()
    await wait_for_redis_again(limiter)
    assert (await limiter.check(QUOTA, *WHO)).allowed
    await limiter.aclose()


async def test_a_hung_redis_costs_at_most_the_deadline(private_redis: PrivateRedis) -> None:
    metrics = GatewayMetrics()
    limiter = make_limiter(private_redis, FailureMode.FALLBACK, metrics)
    await limiter.check(QUOTA, *WHO)
    private_redis.pause()
    try:
        durations = []
        for _ in range(6):
            started = time.monotonic()
            decision = await limiter.check(QUOTA, *WHO)
            durations.append(time.monotonic() - started)
            assert decision.backend is Backend.FALLBACK
        # Three calls wait out the 50 ms deadline; then the breaker skips Redis entirely.
        assert max(durations) < 0.2
        assert max(durations[3:]) < 0.01
        assert sample(metrics, "gateway_ratelimit_backend_errors_total", reason="timeout") == 3
    finally:
        private_redis.resume()
    await wait_for_redis_again(limiter)
    await limiter.aclose()


async def test_readyz_reports_degraded_rate_limiting_and_recovery(
    private_redis: PrivateRedis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        gateway_redis_url=private_redis.url,
        gateway_redis_breaker_cooldown_seconds=COOLDOWN,
        gateway_expected_replicas=5,
        checkout_rate_limit_requests_per_minute=10,
    )
    headers = front_door(**{"x-shop-id": "shop-a"})
    async with serve(create_app(settings)) as client:
        assert (await client.get("/readyz")).json()["status"] == "ready"
        private_redis.stop()
        statuses = [
            (await client.post("/api/checkout-session", headers=headers)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 429, 429]  # 10 / 5 replicas = 2 per process
        # Fallback keeps serving: ready, with Redis reported degraded (not pulled by probes).
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["redis"] == "degraded"
        rate_limit = ready.json()["checks"]["rateLimit"]
        assert rate_limit == {
            "backend": "redis",
            "reachable": False,
            "breaker": "open",
            "failureMode": "fallback",
            "degraded": True,
        }
        private_redis.start()
        await asyncio.sleep(COOLDOWN + 0.05)
        response = await client.post("/api/checkout-session", headers=headers)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"checkout";q=10;w=60'
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
