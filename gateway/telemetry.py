"""Request metrics for every response, and the ``/metrics`` endpoint."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from gateway.routes import route_label
from shared.errors import Unauthorized

__all__ = ["TelemetryMiddleware", "metrics_endpoint"]


class TelemetryMiddleware:
    """Counts ``gateway_requests_total{route,status}`` and times every request.

    Outside the front-door check, so refused callers are counted too; routes are labelled
    by allowlist path (or ``unmatched``), never by the raw path a client sent.
    """

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = route_label(scope["path"])
            self.metrics.child(self.metrics.requests, route, str(status)).inc()
            self.metrics.child(self.metrics.request_duration, route).observe(
                time.perf_counter() - started
            )


def metrics_endpoint(
    metrics: GatewayMetrics, token: str | None
) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: Prometheus text; needs ``Authorization: Bearer <token>`` if set."""
    expected = f"Bearer {token}".encode() if token else None

    async def endpoint(request: Request) -> Response:
        if expected is not None:
            presented = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(presented, expected):
                raise Unauthorized(
                    "Metrics need 'Authorization: Bearer <GATEWAY_METRICS_TOKEN>'.",
                    code="METRICS_UNAUTHORIZED",
                )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
