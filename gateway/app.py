"""The gateway's ASGI application: ``uvicorn gateway.app:create_app --factory``.

Request path, outermost first (all pure ASGI down to the Starlette app)::

    RequestIdMiddleware      x-request-id on every response and log line; 500 body
    ObserveResponses         gateway_requests_total, request duration
    FrontDoorMiddleware      check 1: x-front-door-token (401)
    CorsMiddleware           preflights answered here; Access-Control-Allow-Origin
    AllowlistDispatch        allowlisted path → its ForwardEndpoint: checks 2-6
    Starlette app            lifespan; /healthz, /readyz, /metrics, else 404

The lifespan owns the network resources: the origin connection pool and the rate
limiter's Redis connections. On SIGTERM uvicorn stops accepting connections and lets
in-flight requests finish before the lifespan closes them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import disable_created_metrics
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from checkout_edge_shared.errors import install_error_handlers
from checkout_edge_shared.logs import RequestIdMiddleware, configure_logging
from checkout_edge_shared.observe import ObserveResponses
from checkout_edge_shared.settings import settings_or_exit
from checkout_edge_shared.workers import refuse_worker_processes
from gateway.cors import CorsMiddleware
from gateway.dispatch import AllowlistDispatch
from gateway.front_door import FrontDoorMiddleware
from gateway.metrics import GatewayMetrics
from gateway.pipeline import ForwardEndpoint
from gateway.probes import healthz, readiness
from gateway.proxy import OriginProxy
from gateway.rate_limit import CircuitBreaker, RateLimiter
from gateway.routes import ALLOWLIST
from gateway.settings import Settings
from gateway.state import GatewayState
from gateway.telemetry import metrics_endpoint, request_observer
from gateway.upstream import UpstreamPool

__all__ = ["create_app"]

log = logging.getLogger("gateway")


def _owned_routes(settings: Settings, metrics: GatewayMetrics) -> list[BaseRoute]:
    token = settings.gateway_metrics_token
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness(settings.gateway_redis_failure_mode), methods=["GET"]),
        Route(
            "/metrics",
            metrics_endpoint(metrics, token.get_secret_value() if token else None),
            methods=["GET"],
        ),
    ]


def _forward_endpoints(settings: Settings, metrics: GatewayMetrics) -> dict[str, ForwardEndpoint]:
    quotas = settings.quotas()
    return {
        rule.path: ForwardEndpoint(
            rule,
            quota=quotas[rule.limit_class],
            max_body_bytes=settings.gateway_max_body_bytes,
            client_ip_header=settings.gateway_client_ip_header,
            shadow=settings.gateway_rate_limit_shadow,
            metrics=metrics,
        )
        for rule in ALLOWLIST
    }


def create_app(settings: Settings | None = None) -> ASGIApp:
    """Build the gateway; settings come from the environment when not given."""
    settings = settings or settings_or_exit(Settings, "gateway")
    configure_logging("gateway", settings.log_level, settings.log_format)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    refuse_worker_processes("gateway")
    metrics = GatewayMetrics()
    metrics.start_series(str(settings.gateway_redis_failure_mode))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[GatewayState]:
        pool = UpstreamPool(
            settings.gateway_origin_url,
            max_connections=settings.gateway_upstream_max_connections,
            timeout=settings.gateway_upstream_timeout_seconds,
        )
        target = settings.redis_target()
        limiter = RateLimiter(
            target=target,
            ceiling=settings.per_ip_ceiling(),
            key_prefix=settings.gateway_redis_key_prefix,
            timeout=settings.gateway_redis_timeout_ms / 1000,
            failure_mode=settings.gateway_redis_failure_mode,
            expected_replicas=settings.gateway_expected_replicas,
            breaker=CircuitBreaker(
                threshold=settings.gateway_redis_breaker_failures,
                cooldown=settings.gateway_redis_breaker_cooldown_seconds,
            ),
            metrics=metrics,
        )
        proxy = OriginProxy(
            pool,
            origin_token=settings.gateway_origin_token.get_secret_value(),
            timeout=settings.gateway_upstream_timeout_seconds,
            metrics=metrics,
        )
        log.info(
            "gateway started",
            extra={
                "origin": settings.gateway_origin_url,
                "rateLimitBackend": target.describe() if target else "memory",
                "failureMode": str(settings.gateway_redis_failure_mode),
                "shadow": settings.gateway_rate_limit_shadow,
            },
        )
        try:
            yield {"proxy": proxy, "limiter": limiter}
        finally:
            await pool.aclose()
            await limiter.aclose()
            log.info("gateway stopped")

    owned = Starlette(routes=_owned_routes(settings, metrics), lifespan=lifespan)
    # An unknown path is a 404, never a redirect to a neighbouring allowlisted one.
    owned.router.redirect_slashes = False
    install_error_handlers(owned)
    # The checks wrap the Starlette app rather than sit inside it: a forwarded request
    # (the hot path) never enters Starlette's own middleware and router, which measured
    # as a tenth of the gateway's cost per request. Lifespan events pass straight through.
    dispatch = AllowlistDispatch(owned, endpoints=_forward_endpoints(settings, metrics))
    cors = CorsMiddleware(dispatch, origins=settings.cors_origins())
    front_door = FrontDoorMiddleware(cors, tokens=settings.front_door_tokens())
    return RequestIdMiddleware(ObserveResponses(front_door, observer=request_observer(metrics)))
