"""The stand-in as a Starlette app: ``create_app(config)``.

Routes: the API (``api.py``), the controls (``controls.py``), the hosted page
(``pay_page.py``) and the Stripe.js stand-in (``stripe_js.py``). Resources live in the
lifespan: the ``httpx.AsyncClient`` that delivers webhooks, the :class:`Simulator` holding
all state, and the sweep that expires sessions past ``expires_at``.
Run it with lifespan on (uvicorn's default); without it there is no state to serve from.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import api, controls, pay_page, stripe_js
from .config import SimConfig
from .edge import ApiEdge
from .errors import StripeError
from .responses import error_response
from .simulator import SimState, Simulator


def create_app(config: SimConfig) -> Starlette:
    """Build a stand-in serving the Stripe API subset, the controls, the payment page and
    the Stripe.js stand-in."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[SimState]:
        # trust_env off: a proxy from the environment must not swallow local webhooks.
        async with httpx.AsyncClient(trust_env=False) as http:
            sim = Simulator(config, http)
            sweep = asyncio.create_task(sim.sweep_forever())
            try:
                yield {"sim": sim}
            finally:
                sweep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweep
                await sim.aclose()

    return Starlette(
        routes=[*api.routes(), *controls.routes(), *pay_page.routes(), *stripe_js.routes()],
        middleware=[Middleware(ApiEdge)],
        exception_handlers={StripeError: _render_stripe_error},
        lifespan=lifespan,
    )


async def _render_stripe_error(request: Request, exc: Exception) -> Response:
    """The one place where a :class:`StripeError` becomes an HTTP answer."""
    if not isinstance(exc, StripeError):  # pragma: no cover - registered for StripeError only
        raise exc
    return error_response(exc)
