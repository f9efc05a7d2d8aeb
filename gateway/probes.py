"""``/healthz`` (the process is alive) and ``/readyz`` (it can do its job)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.state import gateway_state
from shared.errors import error_body

__all__ = ["healthz", "readyz"]


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when Redis (if configured) and the origin are reachable, else 503.

    The body also says whether rate limiting is degraded: the breaker skipping Redis,
    and which failure mode is deciding meanwhile.
    """
    state = gateway_state(request.scope)
    limiter, origin_ok = await asyncio.gather(
        state["limiter"].health(), state["proxy"].origin_reachable()
    )
    checks: dict[str, Any] = {
        "origin": {"reachable": origin_ok},
        "rateLimit": {
            "backend": limiter.backend,
            "reachable": limiter.reachable,
            "breaker": str(limiter.breaker),
            "failureMode": str(limiter.failure_mode),
            "degraded": limiter.degraded,
        },
    }
    if origin_ok and limiter.reachable:
        status = "degraded" if limiter.degraded else "ready"
        return JSONResponse({"status": status, "checks": checks})
    failing = [name for name, ok in (("origin", origin_ok), ("redis", limiter.reachable)) if not ok]
    body = error_body(
        "NOT_READY",
        f"Not ready: {' and '.join(failing)} unreachable.",
        {"status": "unready", "checks": checks},
    )
    return JSONResponse(body, status_code=503)
