"""Servers and helpers shared by the stand-in's tests."""

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stripe._encode import _api_encode

WEBHOOK_SECRET = "whsec_test_stand_in_secret"
FRONT_DOOR_HEADER = ("x-front-door-token", "door-secret")

#: stripe-python's HTTPXClient sends its form body as ``data=<str>``, which httpx 0.28
#: deprecates; with warnings as errors the client would turn every request into an
#: APIConnectionError. Not ours to fix, so it is ignored where the stripe client runs.
IGNORE_STRIPE_HTTPX_DEPRECATION = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


ClientFactory = Callable[..., stripe.StripeClient]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThreadedServer:
    """uvicorn serving an app from a background thread on a free 127.0.0.1 port."""

    def __init__(self, app: Any, **config: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        # No websockets: nothing here needs them, and their import may warn.
        settings = {"lifespan": "on", "log_level": "warning", "ws": "none", **config}
        self._server = uvicorn.Server(uvicorn.Config(app, **settings))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> "ThreadedServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server at {self.url} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    status: int


class WebhookReceiver:
    """A webhook endpoint that records deliveries and can be told to fail."""

    def __init__(self) -> None:
        self.url = ""  # set once its server runs
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._failures: list[int] = []

    def app(self) -> Starlette:
        """The endpoint, at ``POST /hook``."""
        return Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer ``status`` to the next ``count`` deliveries."""
        with self._lock:
            self._failures.extend([status] * count)

    def reset(self) -> None:
        """Forget deliveries and pending failures."""
        with self._lock:
            self._deliveries.clear()
            self._failures.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first."""
        with self._lock:
            return list(self._deliveries)

    async def wait_for(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until ``count`` deliveries arrived; return them."""
        await eventually(lambda: len(self.deliveries) >= count, within)
        return self.deliveries

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            self._deliveries.append(Delivery(dict(request.headers), body, status))
        if status != 200:
            return JSONResponse({"error": "told to fail"}, status_code=status)
        return JSONResponse({"received": True})


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` until true; fail the test if it never is."""
    try:
        async with asyncio.timeout(within):
            # The condition lives in another thread or process: nothing to await but time.
            while not check():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"condition not met within {within} s")


def session_params(**overrides: Any) -> dict[str, Any]:
    """Valid params for a hosted payment session, as the origin would send them."""
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://shop.example/thank-you?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cart",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 3400,
                    "product_data": {"name": "Headband"},
                },
            },
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1500,
                    "product_data": {"name": "Deposit", "description": "refundable"},
                },
            },
        ],
        "metadata": {"shop_id": "cochlearfit", "hold_id": "hold_1", "rentalDays": "0"},
        "customer_email": "buyer@example.com",
        "expires_at": int(time.time()) + 3600,
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def encode_like_stripe(params: dict[str, Any]) -> str:
    """Exactly what stripe-python puts on the wire for v1 requests."""
    encoded = urlencode(list(_api_encode(params)))
    return encoded.replace("%5B", "[").replace("%5D", "]")
