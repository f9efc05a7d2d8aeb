"""The two moving windows a check can run against: Redis (shared) and in-process memory.

Both use the ``limits`` moving-window strategy, which is exact: a request is admitted only
when fewer than ``amount`` admissions happened in the last ``window`` seconds, and a refused
request leaves no trace. (``limits``' sliding-window *counter* is an approximation that
can admit more than the limit across processes; it is not used.)

The Redis window does the admission and reads the window's state in one atomic script, so
an admitted request costs one round trip; ``limits`` itself would need two (``hit`` and
``get_window_stats``). The script keeps ``limits``' list layout and keys, so the state in
Redis stays readable by ``limits.aio.strategies.MovingWindowRateLimiter``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any, cast

from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.rate_limit.pipeline import PipelinedRedis, ReplyError, pack
from gateway.rate_limit.quota import Quota

__all__ = ["ACQUIRE_AND_COUNT", "MemoryWindow", "RedisWindow", "WindowState", "window_key"]

# Admission follows limits' acquire_moving_window.lua (newest timestamp first, the list
# trimmed to `limit`, EXPIRE of one window); the count and oldest entry are what limits'
# moving_window.lua would return in a second call. Time is Redis' own clock, so processes
# on different hosts share one timeline and clock skew cannot stretch or shrink the window.
ACQUIRE_AND_COUNT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local window_start = now - expiry

local acquired = 0
if amount <= limit then
    local entry = redis.call('LINDEX', key, limit - amount)
    if not (entry and tonumber(entry) >= window_start) then
        for _ = 1, amount do
            redis.call('LPUSH', key, now)
        end
        redis.call('LTRIM', key, 0, limit - 1)
        redis.call('EXPIRE', key, expiry)
        acquired = 1
    end
end

local low, high = 0, redis.call('LLEN', key) - 1
local count, oldest = 0, now
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('LINDEX', key, mid))
    if value >= window_start then
        count = mid + 1
        oldest = value
        low = mid + 1
    else
        high = mid - 1
    end
end
-- One bulk string rather than an array: the cheapest reply for the client to parse.
return acquired .. ' ' .. count .. ' ' .. tostring(oldest) .. ' ' .. tostring(now)
"""


@dataclass(frozen=True, slots=True)
class WindowState:
    """One check's result: admitted or not, admissions in the window, when one leaves."""

    allowed: bool
    count: int
    reset_after: float


def window_key(identity: tuple[str, ...]) -> str:
    """The identifier passed to ``limits``: hash-tagged so a window is on one Cluster slot."""
    return "{" + "/".join(identity) + "}"


class RedisWindow:
    """The shared window in Redis: ``limits``' storage for keys and health, and one
    pipelined connection (:mod:`gateway.rate_limit.pipeline`) for the checks."""

    def __init__(self, url: str, *, key_prefix: str, connect_timeout: float) -> None:
        pool_options: dict[str, Any] = {
            "max_connections": 4,  # health pings only; checks use the pipelined connection
            "socket_connect_timeout": connect_timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        self._pool: ConnectionPool = ConnectionPool.from_url(url, **pool_options)
        storage_options: dict[str, Any] = {"connection_pool": self._pool}
        self._storage = RedisStorage(
            f"async+{url}", implementation="redispy", key_prefix=key_prefix, **storage_options
        )
        bridge = self._storage.bridge
        assert isinstance(bridge, RedispyBridge)
        # limits types its client as a protocol; with implementation="redispy" it is this.
        self._client = cast(Redis, bridge.get_connection())
        self._checks = PipelinedRedis(url, connect_timeout=connect_timeout)
        self._sha = hashlib.sha1(ACQUIRE_AND_COUNT.encode(), usedforsecurity=False).hexdigest()

    def key(self, quota: Quota, identity: tuple[str, ...]) -> str:
        """The Redis key of a window: ``<prefix>:LIMITER/{class/shop/ip}/10/1/minute``."""
        return self._storage.bridge.prefixed_key(quota.item.key_for(window_key(identity)))

    async def hit(self, quota: Quota, identity: tuple[str, ...], *, within: float) -> WindowState:
        """Try to take one unit, with a deadline of ``within`` seconds.

        Raises :class:`RedisUnavailable` (or :class:`ReplyError`) for the caller's
        failure policy.
        """
        command = pack(
            "EVALSHA", self._sha, 1, self.key(quota, identity), quota.amount, quota.window, 1
        )
        try:
            reply = await self._checks.call(command, within=within)
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # First call on this server, or after a restart or SCRIPT FLUSH.
            await self._checks.call(pack("SCRIPT", "LOAD", ACQUIRE_AND_COUNT), within=within)
            reply = await self._checks.call(command, within=within)
        acquired, count, oldest, now = reply.split()
        reset_after = float(oldest) + quota.window - float(now)
        return WindowState(acquired == b"1", int(count), reset_after)

    async def ping(self) -> None:
        await self._client.ping()

    async def aclose(self) -> None:
        await self._checks.aclose()
        await self._client.aclose()
        await self._pool.disconnect()


class MemoryWindow:
    """An in-process window: ``limits``' memory storage with the moving-window strategy."""

    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, quota: Quota, identity: tuple[str, ...]) -> WindowState:
        key = window_key(identity)
        allowed = await self._limiter.hit(quota.item, key)
        stats = await self._limiter.get_window_stats(quota.item, key)
        return WindowState(allowed, quota.amount - stats.remaining, stats.reset_time - time.time())

    async def aclose(self) -> None:
        # limits runs its expiry sweep as a task; stop it with the event loop's owner.
        timer = self._storage.timer
        if timer is not None and not timer.done():
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
