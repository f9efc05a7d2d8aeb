"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve requests as configured).

Readiness is what a load balancer or Kubernetes probe acts on, so it must not pull every
gateway out of service for something the gateway is configured to ride out:

- origin unreachable → 503: nothing could be forwarded;
- Redis unreachable with failure mode ``fallback`` or ``open`` → 200 with top-level
  ``"redis": "degraded"`` (requests are still served, limited per process or not at all);
- Redis unreachable with failure mode ``closed`` → 503: limited routes answer 503 anyway.

Each dependency check has its own deadline well inside a second, so the probe answers
within 1 s even when the origin or Redis accepts connections and then hangs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import error_body
from gateway.rate_limit import BreakerState, FailureMode, LimiterHealth
from gateway.state import gateway_state

__all__ = ["CHECK_DEADLINE_SECONDS", "healthz", "readiness"]

# Both checks run concurrently; this bounds each, so the answer comes within 1 s.
CHECK_DEADLINE_SECONDS = 0.8

T = TypeVar("T")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _within_deadline(check: Awaitable[T], failed: T) -> T:
    try:
        async with asyncio.timeout(CHECK_DEADLINE_SECONDS):
            return await check
    except TimeoutError:
        return failed


def readiness(failure_mode: FailureMode) -> Callable[[Request], Awaitable[JSONResponse]]:
    """``GET /readyz`` for a gateway whose Redis failure mode is ``failure_mode``."""
    # When even the limiter's own short ping deadline is overrun, Redis counts as down.
    unreachable = LimiterHealth("redis", False, BreakerState.OPEN, failure_mode)

    async def readyz(request: Request) -> JSONResponse:
        state = gateway_state(request.scope)
        health, origin_ok = await asyncio.gather(
            _within_deadline(state["limiter"].health(), unreachable),
            _within_deadline(state["proxy"].origin_reachable(), False),
        )
        return _answer(health, origin_ok)

    return readyz


def _answer(health: LimiterHealth, origin_ok: bool) -> JSONResponse:
    checks: dict[str, Any] = {
        "origin": {"reachable": origin_ok},
        "rateLimit": {
            "backend": health.backend,
            "reachable": health.reachable,
            "breaker": str(health.breaker),
            "failureMode": str(health.failure_mode),
            "degraded": health.degraded,
        },
    }
    redis = "ok" if health.reachable else "degraded"
    if health.backend == "memory":
        redis = "not-configured"
    redis_blocks = not health.reachable and health.failure_mode is FailureMode.CLOSED
    if origin_ok and not redis_blocks:
        status = "degraded" if health.degraded else "ready"
        return JSONResponse({"status": status, "redis": redis, "checks": checks})
    failing = []
    if not origin_ok:
        failing.append("origin unreachable")
    if redis_blocks:
        redis = "unavailable"
        failing.append("Redis unreachable with GATEWAY_REDIS_FAILURE_MODE=closed")
    body = error_body(
        "NOT_READY",
        f"Not ready: {' and '.join(failing)}.",
        {"status": "unready", "redis": redis, "checks": checks},
    )
    return JSONResponse(body, status_code=503)
