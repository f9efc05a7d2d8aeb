"""Figures for hostile clients against a real gateway process: oversized and slow heads.

``python -m tests.bench.hostile_clients`` starts a stand-in origin and a gateway
(``python -m gateway``, open-file limit 1024 like the machine of the original finding)
and prints, as JSON:

- ``unfinished_heads``: the gateway's RSS before, at its peak and after 8 connections
  that each send an unfinished 64 MB header line without a front-door token;
- ``slow_connections``: 1,000 connections that send a partial head and then one header
  line per second: the share closed within ``GATEWAY_HEADER_TIMEOUT_SECONDS`` + 2 s, and
  the latency of normal requests (new connection each) served meanwhile.

The same functions are the measurements of ``tests/gateway/test_hostile_clients.py``,
which asserts their bounds. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.support.processes import ServiceProcess, start_gateway_process, start_uvicorn

FRONT_DOOR = "hostile-front-door"
MB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def limit_open_files(limit: int = 1024) -> None:
    """For ``preexec_fn``: the open-file limit of the original finding's machine."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@dataclass
class UnfinishedHeads:
    connections: int
    bytes_each: int
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    accepted_bytes_max: int  # the most bytes the gateway took from one connection

    @property
    def growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_before_mb


def unfinished_heads(
    port: int, pid: int, connections: int = 8, size: int = 64 * MB
) -> UnfinishedHeads:
    """``connections`` clients each sending a ``size``-byte header line that never ends."""
    before = rss_bytes(pid)
    peak = before
    accepted: list[int] = []
    done = threading.Event()

    def send_one() -> None:
        chunk = b"a" * (64 * 1024)
        sent = 0
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            try:
                sock.sendall(b"GET /api/cart HTTP/1.1\r\nhost: gateway\r\nx-filler: ")
                while sent < size:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the gateway closed the connection: what we want
        accepted.append(sent)

    threads = [threading.Thread(target=send_one) for _ in range(connections)]
    for thread in threads:
        thread.start()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for thread in threads:
        thread.join(120)
    time.sleep(0.3)
    done.set()
    sampler.join()
    after = rss_bytes(pid)
    return UnfinishedHeads(
        connections=connections,
        bytes_each=size,
        rss_before_mb=round(before / MB, 1),
        rss_peak_mb=round(max(peak, after) / MB, 1),
        rss_after_mb=round(after / MB, 1),
        accepted_bytes_max=max(accepted, default=0),
    )


@dataclass
class SlowConnections:
    connections: int
    header_timeout: float
    closed: int
    closed_within_timeout_plus_2s: int
    slowest_close_seconds: float
    normal_requests: int
    normal_ok: int
    normal_p50_ms: float
    normal_p99_ms: float

    @property
    def share_closed_in_time(self) -> float:
        return self.closed_within_timeout_plus_2s / self.connections


async def _slow_client(port: int, give_up: float) -> float | None:
    """Seconds from connecting until the gateway closed the connection (None: never)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()
    writer.write(b"GET /api/cart HTTP/1.1\r\nhost: gateway\r\n")
    try:
        while time.monotonic() - opened < give_up:
            try:
                data = await asyncio.wait_for(reader.read(1024), timeout=1.0)
            except TimeoutError:
                writer.write(b"x-slow: 1\r\n")  # one more header line, never the end
                continue
            if not data:
                return time.monotonic() - opened
        return None
    except OSError:
        return time.monotonic() - opened
    finally:
        writer.close()


async def _normal_request(port: int) -> tuple[bool, float]:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        writer.write(
            b"GET /api/order-status?sessionId=cs_1 HTTP/1.1\r\nhost: gateway\r\n"
            b"x-front-door-token: " + FRONT_DOOR.encode() + b"\r\nx-shop-id: shop-a\r\n"
            b"connection: close\r\n\r\n"
        )
        response = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    except (OSError, TimeoutError):
        return False, time.monotonic() - started
    return response.startswith(b"HTTP/1.1 200"), time.monotonic() - started


async def slow_connections(
    port: int, *, count: int = 1000, header_timeout: float, normal: int = 50
) -> SlowConnections:
    """``count`` slow clients; meanwhile ``normal`` ordinary requests, 0.1 s apart."""
    give_up = header_timeout + 15
    slow = [asyncio.create_task(_slow_client(port, give_up)) for _ in range(count)]
    await asyncio.sleep(0.5)
    results = []
    for _ in range(normal):
        results.append(await _normal_request(port))
        await asyncio.sleep(0.1)
    closes = await asyncio.gather(*slow, return_exceptions=True)
    closed = [c for c in closes if isinstance(c, float)]
    latencies = sorted(seconds * 1000 for ok, seconds in results if ok)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return SlowConnections(
        connections=count,
        header_timeout=header_timeout,
        closed=len(closed),
        closed_within_timeout_plus_2s=sum(1 for c in closed if c <= header_timeout + 2),
        slowest_close_seconds=round(max(closed, default=0.0), 2),
        normal_requests=normal,
        normal_ok=len(latencies),
        normal_p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        normal_p99_ms=round(p99, 1),
    )


def start_stack(log_dir: Path, header_timeout: float) -> tuple[ServiceProcess, ServiceProcess]:
    """The stand-in origin and a gateway limited to 1024 open files (in-process limits)."""
    origin = start_uvicorn(
        "upstream", "tests.gateway.upstream_app:create_app", env={}, log_dir=log_dir
    )
    gateway = start_gateway_process(
        "gateway",
        env={
            "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR,
            "GATEWAY_ORIGIN_TOKEN": "hostile-origin",
            "GATEWAY_ORIGIN_URL": origin.url,
            "GATEWAY_HEADER_TIMEOUT_SECONDS": str(header_timeout),
            "GATEWAY_RATE_LIMIT_STATUS": "10000/minute",
            "LOG_LEVEL": "WARNING",
        },
        log_dir=log_dir,
        preexec_fn=limit_open_files,
    )
    return origin, gateway


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--slow", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.slow + 512)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        origin, gateway = start_stack(Path(tmp), args.header_timeout)
        try:
            heads = unfinished_heads(gateway.port, gateway.proc.pid)
            slow = asyncio.run(
                slow_connections(gateway.port, count=args.slow, header_timeout=args.header_timeout)
            )
        finally:
            gateway.stop()
            origin.stop()
    figures = {
        "unfinished_heads": {**asdict(heads), "growth_mb": round(heads.growth_mb, 1)},
        "slow_connections": {**asdict(slow), "share_closed_in_time": slow.share_closed_in_time},
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
