"""``python -m gateway --host H --port P``: the gateway under uvicorn with every server option.

Installed, the same command is ``checkout-edge-gateway``; ``--version`` prints the version.

The one production start command. It runs ``gateway.app:create_app`` with:

- the bounded-head protocol :class:`gateway.server.GatewayHttpProtocol` (head size and
  field count, head deadline, connection bound — from ``GATEWAY_MAX_HEADER_BYTES``,
  ``GATEWAY_HEADER_TIMEOUT_SECONDS``, ``GATEWAY_MAX_CONNECTIONS``);
- proxy headers off: uvicorn would otherwise take the client address from
  ``X-Forwarded-For`` for loopback peers, and the rate limit keys on that address;
- idle keep-alive connections closed after 5 s; no WebSocket support;
- on SIGTERM, in-flight requests get ``GATEWAY_UPSTREAM_TIMEOUT_SECONDS`` + 5 s to finish.

The open-file limit is raised to its hard maximum; when the connection bound would not
fit under it (with room for upstream connections, Redis and logs), the bound is lowered
to fit and the start-up log says so. Invalid settings stop start-up with one line, as
``create_app`` does. ``uvicorn gateway.app:create_app --factory --no-proxy-headers``
still works for development, without the head limits.
"""

from __future__ import annotations

import argparse
import functools
import math
import resource

import uvicorn

from checkout_edge_shared import version
from checkout_edge_shared.logs import uvicorn_log_config
from checkout_edge_shared.settings import settings_or_exit
from gateway.server import KEEPALIVE_SECONDS, GatewayHttpProtocol, HeadLimits
from gateway.settings import Settings

# Descriptors kept free for what is not a client connection: the upstream pool's share
# is added to this (Redis, the listening socket, log files, the event loop's own).
_RESERVED_DESCRIPTORS = 64


def connection_bound(settings: Settings) -> tuple[int, int]:
    """(configured bound fitted under the open-file limit, that limit), raising it first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    room = soft - _RESERVED_DESCRIPTORS - settings.gateway_upstream_max_connections
    return max(16, min(settings.gateway_max_connections, room)), soft


def parse_args(
    argv: list[str] | None = None, prog: str = "python -m gateway"
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="uvicorn's line per request (on by default, as with uvicorn)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, *, prog: str = "python -m gateway") -> None:
    args = parse_args(argv, prog)
    settings = settings_or_exit(Settings, "gateway")
    max_connections, nofile = connection_bound(settings)
    limits = HeadLimits(
        max_header_bytes=settings.gateway_max_header_bytes,
        header_timeout=settings.gateway_header_timeout_seconds,
        max_connections=max_connections,
    )
    if max_connections < settings.gateway_max_connections:
        print(
            f"gateway: GATEWAY_MAX_CONNECTIONS lowered to {max_connections} to fit the "
            f"open-file limit ({nofile})",
            flush=True,
        )
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        http=functools.partial(GatewayHttpProtocol, limits=limits),  # type: ignore[arg-type]
        ws="none",
        proxy_headers=False,
        timeout_keep_alive=KEEPALIVE_SECONDS,
        # Long enough for a forwarded request to end with the origin's answer or the 504.
        timeout_graceful_shutdown=math.ceil(settings.gateway_upstream_timeout_seconds) + 5,
        access_log=args.access_log,
        # JSON (or LOG_FORMAT=text) from the first line
        log_config=uvicorn_log_config("gateway", settings.log_level, settings.log_format),
    )


def cli() -> None:
    """Console script ``checkout-edge-gateway``: the same command as ``python -m gateway``."""
    main(prog="checkout-edge-gateway")


if __name__ == "__main__":
    main()
