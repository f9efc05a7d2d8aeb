"""Benchmark: which HTTP/1.1 server protocol the gateway runs under (short wrk runs).

``python -m tests.bench.gateway_server`` compares, each forwarding ``GET /api/cart`` to a
trivial origin with rate limiting on the local Redis (every request admitted):

- ``httptools (stock)``: ``uvicorn gateway.app:create_app --factory --no-proxy-headers`` —
  no head limits (the development command);
- ``python -m gateway``: uvicorn's httptools protocol with the gateway's head limits
  (:mod:`gateway.server`);
- ``h11 + max incomplete``: ``--http h11 --h11-max-incomplete-event-size 16384`` — the
  limit uvicorn offers out of the box (h11 is pure Python; no field-count limit, no head
  deadline, 400 instead of 431).

``wrk -t1``, ``--duration`` seconds per run at 64 connections and at 1 connection, rounds
interleaved; medians printed as a Markdown table. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tests.support.processes import (
    ServiceProcess,
    free_port,
    start_gateway_process,
    start_process,
    start_uvicorn,
)

FRONT_DOOR = "bench-server-front-door"
PATH = "/api/cart"

UVICORN = ["-m", "uvicorn", "gateway.app:create_app", "--factory", "--no-proxy-headers"]
TARGETS: dict[str, list[str] | None] = {
    "httptools (stock)": [*UVICORN, "--http", "httptools"],
    "python -m gateway": None,
    "h11 + max incomplete": [*UVICORN, "--http", "h11", "--h11-max-incomplete-event-size", "16384"],
}


async def trivial_origin(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI origin: 200 and a small JSON body (``/healthz`` included)."""
    if scope["type"] != "http":
        return
    body = b'{"cartId":"c1","lines":[],"subtotal":0}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _start_gateway(
    name: str, command: list[str] | None, env: dict[str, str], log_dir: Path
) -> ServiceProcess:
    if command is None:
        return start_gateway_process(name, env=env, log_dir=log_dir)
    port = free_port()
    args = [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return start_process(name, args, port=port, env=env, log_dir=log_dir)


def wrk(url: str, connections: int, duration: float) -> tuple[float, float]:
    """(requests/s, p50 ms) of one wrk run; non-2xx answers make the run fail."""
    result = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
            "-H", f"x-front-door-token: {FRONT_DOOR}", "-H", "x-shop-id: bench-shop", url,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"non-2xx answers:\n{result.stdout}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", result.stdout)
    assert p50 is not None, result.stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return rate, float(p50.group(1)) * scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        origin = start_uvicorn(
            "origin", "tests.bench.gateway_server:make_origin", env={}, log_dir=log_dir
        )
        env = {
            "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR,
            "GATEWAY_ORIGIN_TOKEN": "bench-origin",
            "GATEWAY_ORIGIN_URL": origin.url,
            "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
            "GATEWAY_REDIS_KEY_PREFIX": f"bench-server-{uuid.uuid4().hex[:8]}",
            "GATEWAY_RATE_LIMIT_CART": "10000/second",
            "LOG_LEVEL": "WARNING",
        }
        gateways = {
            name: _start_gateway(name.split()[0], cmd, env, log_dir)
            for name, cmd in TARGETS.items()
        }
        rates: dict[str, list[float]] = {name: [] for name in TARGETS}
        p50s: dict[str, list[float]] = {name: [] for name in TARGETS}
        try:
            for _ in range(args.rounds):
                for name, gateway in gateways.items():
                    rates[name].append(wrk(gateway.url + PATH, 64, args.duration)[0])
                    p50s[name].append(wrk(gateway.url + PATH, 1, args.duration / 2)[1])
        finally:
            for gateway in gateways.values():
                gateway.stop()
            origin.stop()
    print(f"| server | req/s at 64 conns (median of {args.rounds}) | p50 at 1 conn |")
    print("|---|---|---|")
    for name in TARGETS:
        rate, p50 = statistics.median(rates[name]), statistics.median(p50s[name])
        print(f"| {name} | {rate:,.0f} | {p50:.3f} ms |")
    return 0


def make_origin() -> Any:
    """uvicorn factory for :func:`trivial_origin`."""
    return trivial_origin


if __name__ == "__main__":
    raise SystemExit(main())
