"""The rate limiter on the real local Redis: exact moving window, one round trip."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

import pytest
import redis
import uvloop
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

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
from gateway.rate_limit.redis_node import RedisNode
from gateway.rate_limit.resp import pack
from gateway.rate_limit.windows import ADMIT, RedisWindow
from tests.gateway.conftest import SHARED_REDIS_URL, PrivateRedis

pytestmark = pytest.mark.usefixtures("shared_redis")


def make_limiter(
    url: str,
    key_prefix: str,
    metrics: GatewayMetrics | None = None,
    ceiling: str | None = None,
) -> RateLimiter:
    return RateLimiter(
        target=parse_redis_target(url),
        ceiling=parse_quota("per-ip", ceiling) if ceiling else None,
        key_prefix=key_prefix,
        timeout=0.5,  # generous: these tests are about semantics, not deadlines
        failure_mode=FailureMode.CLOSED,  # a Redis failure must fail the test, not fall back
        expected_replicas=1,
        breaker=CircuitBreaker(threshold=3, cooldown=1.0),
        metrics=metrics or GatewayMetrics(),
    )


@pytest.fixture
async def limiter(key_prefix: str) -> AsyncIterator[RateLimiter]:
    limiter = make_limiter(SHARED_REDIS_URL, key_prefix)
    try:
        yield limiter
    finally:
        await limiter.aclose()


async def admitted(limiter: RateLimiter, spec: str, count: int, who: str = "ip-1") -> int:
    quota = parse_quota("test", spec)
    decisions = [await limiter.check(quota, ("test",), who) for _ in range(count)]
    assert all(d.backend is Backend.REDIS for d in decisions)
    return sum(d.allowed for d in decisions)


async def test_concurrent_checks_never_admit_more_than_the_limit(limiter: RateLimiter) -> None:
    quota = parse_quota("test", "10/minute")
    decisions = await asyncio.gather(*(limiter.check(quota, ("test",), "ip") for _ in range(60)))
    assert sum(d.allowed for d in decisions) == 10
    assert min(d.remaining for d in decisions) == 0


async def test_window_slides_rather_than_resetting(limiter: RateLimiter) -> None:
    started = time.monotonic()
    assert await admitted(limiter, "4/2 seconds", 2) == 2
    await asyncio.sleep(1.0)
    assert await admitted(limiter, "4/2 seconds", 3) == 2  # 4 in the last 2 s
    await asyncio.sleep(max(0.0, started + 2.15 - time.monotonic()))
    # The first two have left the window; the two from t=1s have not. A fixed window
    # would have reset here and admitted all three.
    assert await admitted(limiter, "4/2 seconds", 3) == 2


async def test_refused_requests_do_not_consume_quota(limiter: RateLimiter) -> None:
    started = time.monotonic()
    assert await admitted(limiter, "2/2 seconds", 2) == 2
    await asyncio.sleep(0.5)
    assert await admitted(limiter, "2/2 seconds", 20) == 0
    await asyncio.sleep(max(0.0, started + 2.1 - time.monotonic()))
    assert await admitted(limiter, "2/2 seconds", 3) == 2


async def test_reset_is_when_the_oldest_admission_leaves(limiter: RateLimiter) -> None:
    quota = parse_quota("test", "2/10 seconds")
    first = await limiter.check(quota, ("test",), "ip")
    assert (first.remaining, first.reset_seconds) == (1, 10)
    await asyncio.sleep(1.1)
    await limiter.check(quota, ("test",), "ip")
    refused = await limiter.check(quota, ("test",), "ip")
    assert not refused.allowed
    assert refused.remaining == 0
    assert 8.0 < refused.reset_after <= 8.95
    assert refused.retry_after == refused.reset_seconds == 9


async def test_keys_share_the_clients_hash_tag_and_are_readable_by_limits(
    key_prefix: str, shared_redis: redis.Redis
) -> None:
    limiter = make_limiter(SHARED_REDIS_URL, key_prefix, ceiling="600/minute")
    quota = parse_quota("checkout", "10/minute")
    for _ in range(3):
        await limiter.check(quota, ("checkout", "cochlearfit"), "203.0.113.7")
    await limiter.aclose()
    keys = sorted(k.decode() for k in shared_redis.scan_iter(match=f"{key_prefix}:*"))
    assert keys == [
        f"{key_prefix}:LIMITER/{{203.0.113.7}}/checkout/cochlearfit/10/1/minute",
        f"{key_prefix}:LIMITER/{{203.0.113.7}}/ip/600/1/minute",
    ]
    assert len({key_slot(k.encode()) for k in keys}) == 1  # one Cluster slot, one script
    # limits' own strategy reads the same windows from the same keys.
    storage = RedisStorage(
        f"async+{SHARED_REDIS_URL}", implementation="redispy", key_prefix=key_prefix
    )
    strategy = MovingWindowRateLimiter(storage)
    stats = await strategy.get_window_stats(quota.item, "{203.0.113.7}/checkout/cochlearfit")
    assert stats.remaining == 7
    ceiling = parse_quota("per-ip", "600/minute")
    assert (await strategy.get_window_stats(ceiling.item, "{203.0.113.7}/ip")).remaining == 597
    await storage.bridge.get_connection().aclose()


async def test_the_per_ip_ceiling_holds_across_invented_shops(key_prefix: str) -> None:
    limiter = make_limiter(SHARED_REDIS_URL, key_prefix, ceiling="5/minute")
    quota = parse_quota("cart", "100/minute")
    decisions = [
        await limiter.check(quota, ("cart", f"invented-{n}"), "203.0.113.9") for n in range(12)
    ]
    await limiter.aclose()
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 7
    refused = decisions[-1]
    assert [q.name for q in refused.refused_by] == ["per-ip"]
    assert 59 <= refused.retry_after <= 60
    # The class windows of the refused requests were not touched: each shop's is fresh.
    assert refused.remaining == 100


async def test_a_full_class_window_leaves_the_ceiling_untouched(key_prefix: str) -> None:
    limiter = make_limiter(SHARED_REDIS_URL, key_prefix, ceiling="5/minute")
    quota = parse_quota("checkout", "2/minute")
    decisions = [await limiter.check(quota, ("checkout", "shop"), "ip") for _ in range(6)]
    other_shop = [await limiter.check(quota, ("checkout", "other"), "ip") for _ in range(4)]
    await limiter.aclose()
    assert [d.allowed for d in decisions] == [True, True, False, False, False, False]
    assert [q.name for q in decisions[-1].refused_by] == ["checkout"]
    # Refusals by the class did not spend the ceiling: 3 of 5 are left for another shop.
    assert [d.allowed for d in other_shop] == [True, True, False, False]


async def test_each_check_of_both_windows_is_one_redis_round_trip(
    private_redis: PrivateRedis, key_prefix: str
) -> None:
    limiter = make_limiter(private_redis.url, key_prefix, ceiling="7/minute")
    quota = parse_quota("test", "5/minute")
    await limiter.check(quota, ("test",), "warm-up")  # loads the script once
    admin = private_redis.client()
    before = admin.info("commandstats")
    for n in range(20):  # 7 admitted; refused by the class (a), then by the ceiling (b)
        await limiter.check(quota, ("test", "a" if n < 10 else "b"), "ip")
    after = admin.info("commandstats")
    await limiter.aclose()
    admin.close()
    calls = {
        name: after[name]["calls"] - before.get(name, {"calls": 0})["calls"]
        for name in after
        if after[name]["calls"] != before.get(name, {"calls": 0})["calls"]
    }
    calls.pop("cmdstat_info", None)
    assert calls.pop("cmdstat_evalsha") == 20
    # What remains ran inside the script, not as round trips of their own.
    assert set(calls) <= {
        f"cmdstat_{c}" for c in ("time", "lindex", "lpush", "ltrim", "expire", "llen")
    }


async def deadline_survives_a_blocked_loop(key_prefix: str) -> None:
    node = RedisNode(host="127.0.0.1", port=6379, connect_timeout=1.0)
    window = RedisWindow(node, key_prefix=key_prefix)
    quota = parse_quota("test", "10/minute")
    try:
        await window.hit([(quota, "{warm-up}")], within=1.0)  # connected, script loaded
        call = asyncio.ensure_future(window.hit([(quota, "{ip}")], within=0.05))
        # Two turns: the call queues its command, then the flush writes it; no I/O poll
        # happens between the write and the block below.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        # The process is busy for 4x the deadline while Redis answers at once: the reply
        # was in time, and must not be counted as a Redis failure.
        time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop is the point
        assert (await call).allowed
    finally:
        await node.aclose()


async def test_a_busy_event_loop_does_not_fail_a_timely_reply(key_prefix: str) -> None:
    await deadline_survives_a_blocked_loop(key_prefix)


def test_a_busy_uvloop_does_not_fail_a_timely_reply(key_prefix: str) -> None:
    uvloop.run(deadline_survives_a_blocked_loop(key_prefix))


WINDOW_SHA = hashlib.sha1(ADMIT.encode(), usedforsecurity=False).hexdigest()


def test_the_prebuilt_command_is_the_packed_evalsha() -> None:
    window = RedisWindow(RedisNode(connect_timeout=1.0), key_prefix="p")
    ceiling, cart = parse_quota("per-ip", "600/minute"), parse_quota("cart", "120/minute")
    for windows in ([(ceiling, "{1.2.3.4}/ip"), (cart, "{1.2.3.4}/cart/s")], [(cart, "{x}/c")]):
        keys = [window.key(q, i).encode() for q, i in windows]
        args = [v for q, _ in windows for v in (q.amount, q.window)]
        expected = pack("EVALSHA", WINDOW_SHA, len(keys), *keys, *args)
        assert window._command(windows, keys) == expected
