"""Request metrics, the access log (one JSON line per request) and ``/metrics``."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from checkout_edge_shared.errors import Unauthorized
from checkout_edge_shared.observe import ResponseObserver
from checkout_edge_shared.secrets import bearer_matches
from origin.metrics import OriginMetrics
from origin.state import get_state

log = logging.getLogger("origin.access")
# Probes would drown the access log.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_observer(metrics: OriginMetrics) -> ResponseObserver:
    """Counts and times every request by route template (never by raw path), and writes
    the access log line (probes excepted)."""

    def observe(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        label = route.path if isinstance(route, Route) else "unmatched"
        metrics.requests.labels(label, str(status)).inc()
        metrics.request_duration.labels(label).observe(seconds)
        shop = scope.get("state", {}).get("shop_id")
        if shop is not None:
            metrics.shop_requests.labels(shop, label, str(status)).inc()
        if label not in _QUIET:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": label,
                    "status": status,
                    "shop": _header(scope, b"x-shop-id"),
                    "durationMs": round(seconds * 1000, 2),
                },
            )

    return observe


async def metrics_endpoint(request: Request) -> Response:
    state = get_state(request)
    token = state.settings.origin_metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "").encode("latin-1")
        if not bearer_matches(presented, token.get_secret_value().encode()):
            raise Unauthorized("A metrics token is required.", code="METRICS_UNAUTHORIZED")
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
