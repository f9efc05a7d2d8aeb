"""The origin's ASGI application: ``uvicorn origin.app:create_app --factory``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import disable_created_metrics
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout_edge_shared.errors import Unavailable, error_response, install_error_handlers
from checkout_edge_shared.logs import RequestIdMiddleware, configure_logging
from checkout_edge_shared.observe import ObserveResponses
from checkout_edge_shared.settings import settings_or_exit
from checkout_edge_shared.workers import refuse_worker_processes
from origin.carts.cart_routes import CartEndpoint
from origin.catalog.cache import CatalogCache
from origin.checkout.checkout_routes import checkout_session
from origin.checkout.reaper import run_reaper
from origin.db import DRIVER_ERRORS, create_engine, database_unavailable, session_factory
from origin.inventory.central_policy import CentralInventory
from origin.inventory.inventory_routes import validate_inventory
from origin.metrics import OriginMetrics
from origin.monitor import monitor_scope, run_monitor
from origin.observability import metrics_endpoint, request_observer
from origin.orders.order_routes import order_status
from origin.orders.webhook_dispatch import HANDLERS
from origin.orders.webhook_routes import stripe_webhook
from origin.payments.stripe_client import StripePayments
from origin.settings import Settings
from origin.startup_check import DatabaseStartupCheck
from origin.state import OriginState, get_state
from origin.web import GatewayTokenMiddleware, InputScreenMiddleware

log = logging.getLogger("origin")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


# The database check's own deadline: /readyz answers within 1 s even when it hangs.
READINESS_DEADLINE_SECONDS = 0.8
RETRY_AFTER_SECONDS = "5"


async def readyz(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        async with asyncio.timeout(READINESS_DEADLINE_SECONDS):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        log.warning("readiness check timed out", extra={"deadline": READINESS_DEADLINE_SECONDS})
        return JSONResponse({"status": "unavailable", "database": "timeout"}, status_code=503)
    except Exception as exc:
        log.warning("readiness check failed", extra={"error": repr(exc)})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def database_error(request: Request, exc: Exception) -> Response:
    """503 ``SERVICE_UNAVAILABLE`` + ``Retry-After`` when the database cannot answer now."""
    if not database_unavailable(exc):
        raise exc  # a real bug: the 500 path renders and logs it
    log.warning("database unavailable", extra={"error": repr(exc)[:300]})
    return error_response(
        Unavailable(
            "The checkout service's database is unavailable; retry shortly.",
            code="SERVICE_UNAVAILABLE",
            status=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    )


def api_routes() -> list[Route]:
    return [
        Route("/api/order-status", order_status, methods=["GET"]),
        Route("/api/cart", CartEndpoint, methods=["GET", "POST", "PATCH", "DELETE"]),
        Route("/api/inventory/validate", validate_inventory, methods=["POST"]),
    ]


def payment_routes() -> list[Route]:
    return [
        Route("/api/checkout-session", checkout_session, methods=["POST"]),
        # The legacy alias: the same handler, and the gateway gives it the same bucket.
        Route("/api/checkout/session", checkout_session, methods=["POST"]),
        Route("/api/stripe-webhook", stripe_webhook, methods=["POST"]),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or settings_or_exit(Settings, "origin")
    configure_logging("origin", settings.log_level, settings.log_format)
    refuse_worker_processes("origin")
    disable_created_metrics()  # type: ignore[no-untyped-call]
    metrics = OriginMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            connect_timeout=settings.db_connect_timeout_seconds,
            pool_timeout=settings.db_pool_timeout_seconds,
            statement_timeout=settings.db_statement_timeout_seconds,
        )
        payments = StripePayments(settings, metrics)
        sessions = session_factory(engine)
        central = CentralInventory.open(settings, metrics, sessions=sessions)
        state = OriginState(
            settings=settings,
            metrics=metrics,
            engine=engine,
            sessions=sessions,
            payments=payments,
            central=central,
            catalog=CatalogCache(),
        )
        app.state.origin = state
        tasks: list[asyncio.Task[None]] = []
        if settings.hold_reaper_enabled:
            tasks.append(
                asyncio.create_task(
                    run_reaper(
                        sessions=state.sessions,
                        payments=payments,
                        metrics=metrics,
                        remote_pool=central.remote_pool,
                        interval=settings.hold_reaper_interval_seconds,
                    ),
                    name="hold-reaper",
                )
            )
            tasks.append(
                asyncio.create_task(
                    run_monitor(
                        state.sessions,
                        metrics,
                        monitor_scope(settings, separate_central=central.database is not None),
                        interval=settings.hold_reaper_interval_seconds,
                    ),
                    name="stock-audit",
                )
            )
        central.start()
        log.info("origin started", extra={"env": settings.origin_env})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await central.aclose()
            await payments.aclose()
            await engine.dispose()

    metrics.start_request_series(
        (route.path for route in [*api_routes(), *payment_routes()]), event_types=HANDLERS
    )
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *api_routes(),
        *payment_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            # Only the origin's own database: a separate central pool may be down at start-up
            # (shops that need it fail closed, docs/central-inventory.md).
            Middleware(DatabaseStartupCheck, databases={"DATABASE_URL": settings.database_url}),
            Middleware(RequestIdMiddleware),
            Middleware(ObserveResponses, observer=request_observer(metrics)),
            Middleware(GatewayTokenMiddleware, tokens=settings.gateway_tokens),
            Middleware(InputScreenMiddleware),
        ],
    )
    install_error_handlers(app)
    # asyncpg's own errors too: the hot path's statements run on the driver (origin.sql).
    for unavailable in (SQLAlchemyError, OSError, TimeoutError, *DRIVER_ERRORS):
        app.add_exception_handler(unavailable, database_error)
    return app
