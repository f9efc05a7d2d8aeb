"""The rate limiter the gateway calls: one check per request, Redis never on the slow path.

A check covers the request's windows — its route class (per shop and client IP, or per IP
for webhooks) and the client's per-IP ceiling across all shops and classes — in one Redis
round trip (:mod:`gateway.rate_limit.windows`), against one server or a Cluster.

Each Redis call has a deadline. Failures are counted and feed a circuit breaker; while
Redis is failing (or skipped during the breaker's cool-down) the failure mode decides:

- ``fallback``: in-process windows admit ``amount // expected_replicas`` per window,
  so N replicas together stay near the configured limits;
- ``open``: admit without counting;
- ``closed``: refuse with :class:`BackendUnavailable` (the gateway answers 503).

Every such decision moves ``gateway_ratelimit_fallback_total``. When a probe succeeds
after the cool-down, Redis is used again; no restart is needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.metrics import GatewayMetrics
from gateway.rate_limit.breaker import BreakerState, CircuitBreaker
from gateway.rate_limit.cluster import RedisCluster
from gateway.rate_limit.memory import MemoryWindows
from gateway.rate_limit.quota import Backend, Decision, Quota
from gateway.rate_limit.redis_node import RedisNode, RedisUnavailable
from gateway.rate_limit.redis_url import RedisTarget
from gateway.rate_limit.resp import ReplyError
from gateway.rate_limit.windows import RedisWindow, WindowState, window_identifier

__all__ = ["BackendUnavailable", "FailureMode", "LimiterHealth", "RateLimiter"]

log = logging.getLogger("gateway.rate_limit")

# Readiness asks "is Redis reachable", not "is it fast right now": a longer deadline than
# the per-request one keeps a single slow ping from flapping the probe.
PING_TIMEOUT_SECONDS = 0.5
CEILING_SCOPE = ("ip",)


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


def redis_client(target: RedisTarget, *, connect_timeout: float) -> RedisNode | RedisCluster:
    """The one Redis client for ``target``: a server's connection, or a cluster router."""
    if target.cluster:
        return RedisCluster(target, connect_timeout=connect_timeout)
    host, port = target.nodes[0] if target.nodes else ("localhost", 6379)
    return RedisNode(
        host=host,
        port=port,
        unix_path=target.unix_path,
        tls=target.tls_context(),
        username=target.username,
        password=target.password,
        db=target.db,
        connect_timeout=connect_timeout,
    )


class RateLimiter:
    """Checks a request's windows against Redis (or memory when no Redis is configured)."""

    def __init__(
        self,
        *,
        target: RedisTarget | None,
        key_prefix: str,
        timeout: float,
        failure_mode: FailureMode,
        expected_replicas: int,
        breaker: CircuitBreaker,
        metrics: GatewayMetrics,
        ceiling: Quota | None = None,
    ) -> None:
        self._client = redis_client(target, connect_timeout=timeout) if target else None
        self._redis = RedisWindow(self._client, key_prefix=key_prefix) if self._client else None
        self._memory = MemoryWindows()
        self._ceiling = ceiling
        self._timeout = timeout
        self._failure_mode = failure_mode
        self._replicas = expected_replicas
        self._breaker = breaker
        self._metrics = metrics

    def windows(
        self, quota: Quota | None, scope: Sequence[str], client: str
    ) -> list[tuple[Quota, str]]:
        """The request's windows: the per-IP ceiling first, the reported class last."""
        windows = []
        if self._ceiling is not None:
            windows.append((self._ceiling, window_identifier(client, CEILING_SCOPE)))
        if quota is not None:
            windows.append((quota, window_identifier(client, scope)))
        return windows

    async def check(
        self, quota: Quota | None, scope: Sequence[str], client: str
    ) -> Decision | None:
        """Take one unit in each of the request's windows, or none if any is full.

        ``scope`` names the class window (``("checkout", shop)``) for ``client``'s key.
        ``None`` when the request has no window at all. Raises :class:`BackendUnavailable`
        only in failure mode ``closed``.
        """
        windows = self.windows(quota, scope, client)
        if not windows:
            return None
        if self._redis is None:
            return self._decide(windows, self._memory.hit(windows), Backend.MEMORY)
        if self._breaker.allow():
            try:
                state = await self._redis_hit(self._redis, windows)
            except _RedisFailed as exc:
                self._record_failure(exc.reason)
            else:
                self._record_success()
                return self._decide(windows, state, Backend.REDIS)
        return self._degraded(windows)

    async def health(self) -> LimiterHealth:
        """Ping Redis (if configured) and report the breaker; never raises."""
        if self._client is None:
            return LimiterHealth("memory", True, BreakerState.CLOSED, self._failure_mode)
        try:
            await self._client.ping(within=PING_TIMEOUT_SECONDS)
            reachable = True
        except (RedisUnavailable, ReplyError) as exc:
            log.warning("redis ping failed", extra={"error": str(exc)})
            reachable = False
        return LimiterHealth("redis", reachable, self._breaker.state, self._failure_mode)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _redis_hit(self, redis: RedisWindow, windows: list[tuple[Quota, str]]) -> WindowState:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await redis.hit(windows, within=self._timeout)
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

    def _degraded(self, windows: list[tuple[Quota, str]]) -> Decision:
        mode = self._failure_mode
        if mode is FailureMode.CLOSED:
            self._metrics.ratelimit_fallback.labels(mode, "rejected").inc()
            raise BackendUnavailable(retry_after=max(1, round(self._breaker.cooldown)))
        if mode is FailureMode.OPEN:
            self._metrics.ratelimit_fallback.labels(mode, "allowed").inc()
            quota = windows[-1][0]
            return Decision(quota, True, quota.amount, 0.0, Backend.OPEN)
        shares = [(quota.scaled(self._replicas), identifier) for quota, identifier in windows]
        decision = self._decide(shares, self._memory.hit(shares), Backend.FALLBACK)
        outcome = "allowed" if decision.allowed else "limited"
        self._metrics.ratelimit_fallback.labels(mode, outcome).inc()
        return decision

    @staticmethod
    def _decide(windows: list[tuple[Quota, str]], state: WindowState, backend: Backend) -> Decision:
        quota = windows[-1][0]
        remaining = max(0, quota.amount - state.count)
        return Decision(
            quota,
            state.allowed,
            remaining,
            max(0.0, state.reset_after),
            backend,
            refused_by=tuple(windows[i][0] for i in state.full),
            wait=state.wait,
        )
