"""Request metrics, the access log (one JSON line per request) and ``/metrics``."""

from __future__ import annotations

import hmac
import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from origin.metrics import OriginMetrics
from origin.state import get_state
from shared.errors import Unauthorized

log = logging.getLogger("origin.access")
# Probes would drown the access log.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestMetricsMiddleware:
    """Counts and times every request by route template (never by raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: OriginMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            label = route.path if isinstance(route, Route) else "unmatched"
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.request_duration.labels(label).observe(elapsed)
            if label not in _QUIET:
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": label,
                        "status": status,
                        "shop": _header(scope, b"x-shop-id"),
                        "durationMs": round(elapsed * 1000, 2),
                    },
                )


async def metrics_endpoint(request: Request) -> Response:
    state = get_state(request)
    token = state.settings.origin_metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(presented.encode(), token.get_secret_value().encode()):
            raise Unauthorized("A metrics token is required.", code="METRICS_UNAUTHORIZED")
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
