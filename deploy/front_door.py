"""The development front door: each shop's storefront on its own port, ``/api/*`` to the gateway.

``python deploy/front_door.py --gateway-url URL --shop cochlearfit=8080 --shop wardrobe-rent=8081``
(the token comes from ``GATEWAY_FRONT_DOOR_TOKEN`` or the file ``GATEWAY_FRONT_DOOR_TOKEN_FILE``
names; ``make run`` starts it). What it owns,
playing the part the CDN's front door plays in production (docs/storefront.md):

* The shop is the listening socket's: a request that arrived on port 8080 is CochlearFit's,
  whatever it says. The browser never chooses its shop.
* ``/api/*`` is forwarded to the gateway with ``x-front-door-token``, ``x-shop-id`` (the
  port's shop) and ``cf-connecting-ip`` (the TCP peer of the browser's connection). Whatever
  the client sent under those names — or as ``X-Forwarded-For``, ``Forwarded``,
  ``X-Real-IP``, ``x-client-ip``, ``x-gateway-token`` — is dropped first, with the hop-by-hop
  headers. Bodies and answers pass byte for byte; several ``Set-Cookie`` stay several, and
  the front door keeps no cookie of its own (one shopper's cart never reaches another).
* ``/shop/*`` is the port's shop folder (``deploy/storefront/shops/<shop>/``: its catalog and
  theme); ``/shop/payments.json`` is answered from the command line when ``--stripe-js-url``
  is given (the Stripe stand-in's Stripe.js in development). Everything else is the shared
  static storefront (``deploy/storefront/``).

Failures: the gateway unreachable → 502 ``GATEWAY_UNAVAILABLE``; no answer within
``--timeout`` → 504 ``GATEWAY_TIMEOUT``; a body over 1 MiB → 413 ``BODY_TOO_LARGE`` (all in
the platform's error body). A missing token or a bad ``--shop`` stops start-up with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from checkout_edge_shared.secrets import SecretFileError, read_secret_file

STOREFRONT = Path(__file__).resolve().parent / "storefront"
MAX_BODY_BYTES = 1 << 20
SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "te", "trailer", "transfer-encoding", "upgrade"}
)  # fmt: skip
# Headers only the front door may set: a client sending them is ignored, never believed.
OWNED = frozenset(
    {"host", "content-length", "x-front-door-token", "x-shop-id", "cf-connecting-ip",
     "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "x-real-ip",
     "x-client-ip", "x-gateway-token"}
)  # fmt: skip


@dataclass(frozen=True)
class FrontDoorConfig:
    """What one front door process serves; ``shops`` maps a listening port to its shop."""

    gateway_url: str
    token: str = field(repr=False)
    shops: dict[int, str]
    storefront: Path = STOREFRONT
    stripe_js_url: str | None = None
    publishable_key: str = "pk_test_front_door"
    timeout: float = 15.0


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class GatewayClient(httpx.AsyncClient):
    """An ``AsyncClient`` without a cookie jar: one shopper's ``Set-Cookie`` (their cart)
    goes to their browser only and never rides along with another shopper's request."""

    _NO_COOKIES = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "requestId": uuid.uuid4().hex}}
    return JSONResponse(body, status_code=status)


def shop_of(scope: Scope, config: FrontDoorConfig) -> str | None:
    """The shop of the socket the request arrived on (its local port)."""
    server = scope.get("server")
    return config.shops.get(server[1]) if server else None


def _named_in_connection(headers: Headers | httpx.Headers) -> frozenset[str]:
    """Headers a ``Connection`` header names: hop-by-hop for this connection only."""
    if isinstance(headers, httpx.Headers):
        values = headers.get_list("connection")
    else:
        values = headers.getlist("connection")
    return frozenset(token.strip().lower() for value in values for token in value.split(","))


def forwarded_headers(
    request: Request, shop: str, config: FrontDoorConfig
) -> list[tuple[str, str]]:
    """The request's headers as the gateway receives them."""
    dropped = HOP_BY_HOP | OWNED | _named_in_connection(request.headers)
    kept = [(name, value) for name, value in request.headers.items() if name not in dropped]
    peer = request.client.host if request.client else "127.0.0.1"
    return [
        *kept,
        ("x-front-door-token", config.token),
        ("x-shop-id", shop),
        ("cf-connecting-ip", peer),
    ]


class ApiProxy:
    """``/api/*`` → the gateway, as the shop of the port it arrived on."""

    def __init__(self, config: FrontDoorConfig, client: GatewayClient) -> None:
        self.config = config
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.forward(Request(scope, receive))
        await response(scope, receive, send)

    async def forward(self, request: Request) -> Response:
        shop = shop_of(request.scope, self.config)
        if shop is None:
            return _error(404, "SHOP_NOT_SERVED", "No shop is served on this port.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, "BODY_TOO_LARGE", "The request body is too large.")
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query = request.url.query
        url = self.config.gateway_url.rstrip("/") + path + (f"?{query}" if query else "")
        outgoing = self.client.build_request(
            request.method, url, headers=forwarded_headers(request, shop, self.config),
            content=bytes(body),
        )  # fmt: skip
        try:
            upstream = await self.client.send(outgoing, stream=True)
            try:
                content = b"".join([chunk async for chunk in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
        except httpx.TimeoutException:
            return _error(504, "GATEWAY_TIMEOUT", "The shop's server did not answer in time.")
        except httpx.HTTPError:
            return _error(502, "GATEWAY_UNAVAILABLE", "The shop's server cannot be reached.")
        dropped = HOP_BY_HOP | {"content-length"} | _named_in_connection(upstream.headers)
        response = Response(content, status_code=upstream.status_code)
        response.raw_headers = [
            (name, value)
            for name, value in upstream.headers.raw
            if name.lower().decode("latin-1") not in dropped
        ] + [(b"content-length", str(len(content)).encode())]
        return response


def _route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette keeps the full path in ``path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class ShopFiles:
    """``/shop/*``: the folder of the port's shop; ``payments.json`` from the command line."""

    def __init__(self, config: FrontDoorConfig) -> None:
        self.config = config
        self.folders = {
            shop: StaticFiles(directory=config.storefront / "shops" / shop, check_dir=False)
            for shop in config.shops.values()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shop = shop_of(scope, self.config)
        if shop is None:
            response: Response = _error(404, "SHOP_NOT_SERVED", "No shop is served on this port.")
        elif _route_path(scope) == "/payments.json" and self.config.stripe_js_url:
            response = JSONResponse(
                {
                    "stripeJsUrl": self.config.stripe_js_url,
                    "publishableKey": self.config.publishable_key,
                }
            )
        else:
            await self.folders[shop](scope, receive, send)
            return
        await response(scope, receive, send)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "shop": shop_of(request.scope, request.app.state.config)})


def create_app(config: FrontDoorConfig) -> Starlette:
    """The front door's ASGI app (one app for every port; the port picks the shop)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # trust_env off: a proxy from the environment must not carry local API calls.
        async with GatewayClient(timeout=config.timeout, trust_env=False) as client:
            proxy.client = client
            yield

    proxy = ApiProxy(config, GatewayClient())  # replaced by the lifespan's client
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Mount("/api", app=proxy),
            Mount("/shop", app=ShopFiles(config)),
            Mount("/", app=StaticFiles(directory=config.storefront, html=True)),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    return app


def _shop_port(text: str) -> tuple[int, str]:
    shop, equals, port = text.partition("=")
    if not equals or not SHOP_ID.match(shop) or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected SHOP=PORT, e.g. cochlearfit=8080; got {text!r}")
    return int(port), shop


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy/front_door.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument(
        "--shop",
        type=_shop_port,
        action="append",
        required=True,
        metavar="SHOP=PORT",
        help="serve SHOP's storefront on PORT (repeatable)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stripe-js-url", help="Stripe.js for custom checkout (the stand-in's)")
    parser.add_argument("--stripe-publishable-key", default="pk_test_front_door")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def _front_door_token() -> str:
    """The first front-door token, from the variable or the file ``…_FILE`` names."""
    name = "GATEWAY_FRONT_DOOR_TOKEN"
    path = os.environ.get(f"{name}_FILE")
    raw = read_secret_file(f"{name}_FILE", path) if path else os.environ.get(name, "")
    return raw.split(",")[0].strip()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        token = _front_door_token()
    except SecretFileError as exc:
        print(f"front door: {exc}", file=sys.stderr)
        return 2
    if not token:
        print(
            "front door: GATEWAY_FRONT_DOOR_TOKEN (or GATEWAY_FRONT_DOOR_TOKEN_FILE) is not set",
            file=sys.stderr,
        )
        return 2
    config = FrontDoorConfig(
        gateway_url=args.gateway_url,
        token=token,
        shops=dict(args.shop),
        stripe_js_url=args.stripe_js_url,
        publishable_key=args.stripe_publishable_key,
        timeout=args.timeout,
    )
    sockets = []
    for port in config.shops:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, port))
        sockets.append(sock)
    # proxy_headers off: the client address must be the socket peer, never X-Forwarded-For.
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            proxy_headers=False,
            log_level=args.log_level,
            ws="none",
            lifespan="on",
        )
    )
    asyncio.run(server.serve(sockets=sockets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
