"""Request metrics for every response, and the ``/metrics`` endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from checkout_edge_shared.errors import Unauthorized
from checkout_edge_shared.observe import ResponseObserver
from checkout_edge_shared.secrets import bearer_matches
from gateway.metrics import GatewayMetrics
from gateway.routes import route_label

__all__ = ["metrics_endpoint", "request_observer"]


def request_observer(metrics: GatewayMetrics) -> ResponseObserver:
    """Counts ``gateway_requests_total{route,status}`` and times every request.

    Installed outside the front-door check, so refused callers are counted too; routes are
    labelled by allowlist path (or ``unmatched``), never by the raw path a client sent.
    """

    def observe(scope: Scope, status: int, seconds: float) -> None:
        route = route_label(scope["path"])
        metrics.child(metrics.requests, route, str(status)).inc()
        metrics.child(metrics.request_duration, route).observe(seconds)

    return observe


def metrics_endpoint(
    metrics: GatewayMetrics, token: str | None
) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: Prometheus text; needs ``Authorization: Bearer <token>`` if set."""
    expected = token.encode() if token else None

    async def endpoint(request: Request) -> Response:
        if expected is not None:
            presented = request.headers.get("authorization", "").encode("latin-1")
            if not bearer_matches(presented, expected):
                raise Unauthorized(
                    "Metrics need 'Authorization: Bearer <GATEWAY_METRICS_TOKEN>'.",
                    code="METRICS_UNAUTHORIZED",
                )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
