"""The rate limiter the gateway calls: one check per request, Redis never on the slow path.

Each Redis call has a deadline. Failures are counted and feed a circuit breaker; while
Redis is failing (or skipped during the breaker's cool-down) the failure mode decides:

- ``fallback``: an in-process window admits ``amount // expected_replicas`` per window,
  so N replicas together stay near the configured limit;
- ``open``: admit without counting;
- ``closed``: refuse with :class:`BackendUnavailable` (the gateway answers 503).

Every such decision moves ``gateway_ratelimit_fallback_total``. When a probe succeeds
after the cool-down, Redis is used again; no restart is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from redis.exceptions import RedisError

from gateway.metrics import GatewayMetrics
from gateway.rate_limit.breaker import BreakerState, CircuitBreaker
from gateway.rate_limit.pipeline import RedisUnavailable, ReplyError
from gateway.rate_limit.quota import Backend, Decision, Quota
from gateway.rate_limit.windows import MemoryWindow, RedisWindow, WindowState

__all__ = ["BackendUnavailable", "FailureMode", "LimiterHealth", "RateLimiter"]

log = logging.getLogger("gateway.rate_limit")

# Readiness asks "is Redis reachable", not "is it fast right now": a longer deadline than
# the per-request one keeps a single slow ping from flapping the probe.
PING_TIMEOUT_SECONDS = 0.5


class FailureMode(StrEnum):
    FALLBACK = "fallback"
    OPEN = "open"
    CLOSED = "closed"


class BackendUnavailable(Exception):
    """Redis is failing and the failure mode is ``closed``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate-limit backend unavailable")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LimiterHealth:
    """What ``/readyz`` reports about rate limiting."""

    backend: str
    reachable: bool
    breaker: BreakerState
    failure_mode: FailureMode

    @property
    def degraded(self) -> bool:
        return not self.reachable or self.breaker is not BreakerState.CLOSED


class _RedisFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimiter:
    """Checks quotas against Redis (or memory when no Redis is configured)."""

    def __init__(
        self,
        *,
        redis_url: str,
        key_prefix: str,
        timeout: float,
        failure_mode: FailureMode,
        expected_replicas: int,
        breaker: CircuitBreaker,
        metrics: GatewayMetrics,
    ) -> None:
        self._redis = (
            RedisWindow(redis_url, key_prefix=key_prefix, connect_timeout=timeout)
            if redis_url
            else None
        )
        self._memory = MemoryWindow()
        self._timeout = timeout
        self._failure_mode = failure_mode
        self._replicas = expected_replicas
        self._breaker = breaker
        self._metrics = metrics

    async def check(self, quota: Quota, identity: tuple[str, ...]) -> Decision:
        """Take one unit of ``quota`` for ``identity``; refused requests take nothing.

        Raises :class:`BackendUnavailable` only in failure mode ``closed``.
        """
        if self._redis is None:
            return self._decide(quota, await self._memory.hit(quota, identity), Backend.MEMORY)
        if self._breaker.allow():
            try:
                state = await self._redis_hit(self._redis, quota, identity)
            except _RedisFailed as exc:
                self._record_failure(exc.reason)
            else:
                self._record_success()
                return self._decide(quota, state, Backend.REDIS)
        return await self._degraded(quota, identity)

    async def health(self) -> LimiterHealth:
        """Ping Redis (if configured) and report the breaker; never raises."""
        if self._redis is None:
            return LimiterHealth("memory", True, BreakerState.CLOSED, self._failure_mode)
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                await self._redis.ping()
            reachable = True
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("redis ping failed", extra={"error": repr(exc)})
            reachable = False
        return LimiterHealth("redis", reachable, self._breaker.state, self._failure_mode)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
        await self._memory.aclose()

    async def _redis_hit(
        self, redis: RedisWindow, quota: Quota, identity: tuple[str, ...]
    ) -> WindowState:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await redis.hit(quota, identity, within=self._timeout)
        except RedisUnavailable as exc:
            outcome = exc.reason
            raise _RedisFailed(outcome) from exc
        except ReplyError as exc:  # e.g. a script error: Redis answers but cannot serve
            outcome = "error"
            log.warning("redis refused the rate-limit script", extra={"error": str(exc)})
            raise _RedisFailed(outcome) from exc
        finally:
            self._metrics.child(self._metrics.redis_call_duration, outcome).observe(
                time.perf_counter() - started
            )

    def _record_failure(self, reason: str) -> None:
        self._metrics.ratelimit_backend_errors.labels(reason).inc()
        if self._breaker.record_failure():
            self._metrics.ratelimit_breaker_open.set(1)
            log.warning(
                "redis failing; rate limiting degraded",
                extra={
                    "reason": reason,
                    "failureMode": str(self._failure_mode),
                    "retryInSeconds": self._breaker.cooldown,
                },
            )

    def _record_success(self) -> None:
        if self._breaker.state is not BreakerState.CLOSED:
            log.info("redis reachable again; rate limiting on redis")
            self._metrics.ratelimit_breaker_open.set(0)
        self._breaker.record_success()

    async def _degraded(self, quota: Quota, identity: tuple[str, ...]) -> Decision:
        mode = self._failure_mode
        if mode is FailureMode.CLOSED:
            self._metrics.ratelimit_fallback.labels(mode, "rejected").inc()
            raise BackendUnavailable(retry_after=max(1, round(self._breaker.cooldown)))
        if mode is FailureMode.OPEN:
            self._metrics.ratelimit_fallback.labels(mode, "allowed").inc()
            return Decision(quota, True, quota.amount, 0.0, Backend.OPEN)
        share = quota.scaled(self._replicas)
        decision = self._decide(share, await self._memory.hit(share, identity), Backend.FALLBACK)
        outcome = "allowed" if decision.allowed else "limited"
        self._metrics.ratelimit_fallback.labels(mode, outcome).inc()
        return decision

    @staticmethod
    def _decide(quota: Quota, state: WindowState, backend: Backend) -> Decision:
        remaining = max(0, quota.amount - state.count)
        return Decision(quota, state.allowed, remaining, max(0.0, state.reset_after), backend)
