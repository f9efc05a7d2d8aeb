"""Hostile and broken clients against a real ``python -m gateway`` process, over raw sockets.

Heads larger than ``GATEWAY_MAX_HEADER_BYTES`` or with more than 100 fields are refused
(431) without being buffered; heads not complete within ``GATEWAY_HEADER_TIMEOUT_SECONDS``
and idle keep-alive connections are closed; 1,000 slow clients against a gateway limited
to 1024 open files neither keep their connections nor starve normal requests. The
figures come from ``tests/bench/hostile_clients.py`` (``python -m tests.bench.hostile_clients``
prints them); the bounds here leave room for a loaded machine.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.hostile_clients import (
    FRONT_DOOR,
    slow_connections,
    start_stack,
    unfinished_heads,
)
from tests.gateway.processes import gateway_env, start_gateway
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 2.0
# Closing happens at the deadline; the slack is for a machine busy with other tests.
CLOSE_SLACK = 3.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    origin, gateway = start_stack(tmp_path_factory.mktemp("hostile"), HEADER_TIMEOUT)
    try:
        yield gateway
    finally:
        gateway.stop()
        origin.stop()


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` and read until the gateway closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the gateway may close before all is sent
            sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def head(*fields: bytes, path: bytes = b"/api/order-status?sessionId=cs_1") -> bytes:
    lines = [b"GET " + path + b" HTTP/1.1", b"host: gateway", *fields, b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


AUTHED = (b"x-front-door-token: " + FRONT_DOOR.encode(), b"x-shop-id: shop-a")


def test_head_within_the_limits_is_served(gateway: ServiceProcess) -> None:
    fields = [b"x-pad-%d: %s" % (i, b"p" * 140) for i in range(95)]  # ~15 KB, 100 fields
    response = exchange(gateway.port, head(*AUTHED, *fields))
    assert response.startswith(b"HTTP/1.1 200 "), response[:200]


def head_of_exactly(size: int) -> bytes:
    """An authenticated request head of ``size`` bytes (padded in one header)."""
    bare = head(*AUTHED, b"x-pad: ")
    return head(*AUTHED, b"x-pad: " + b"p" * (size - len(bare)))


def test_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431(
    gateway: ServiceProcess,
) -> None:
    assert len(head_of_exactly(16384)) == 16384
    assert exchange(gateway.port, head_of_exactly(16384)).startswith(b"HTTP/1.1 200 ")
    assert exchange(gateway.port, head_of_exactly(16385)).startswith(b"HTTP/1.1 431 ")


def test_head_and_body_in_one_read_beyond_the_limit_are_served(gateway: ServiceProcess) -> None:
    # The head ends within the limit; the body after it in the same read is not head.
    body = b'{"items": []}' + b" " * 30_000
    request = (
        b"POST /api/cart HTTP/1.1\r\nhost: gw\r\n" + b"\r\n".join(AUTHED)
        + b"\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%s" % (len(body), body)
    )  # fmt: skip
    assert exchange(gateway.port, request).startswith(b"HTTP/1.1 200 ")


def test_chunked_body_with_expect_continue_is_served(gateway: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/cart HTTP/1.1\r\nhost: gw\r\n" + b"\r\n".join(AUTHED)
            + b"\r\ntransfer-encoding: chunked\r\nexpect: 100-continue\r\n"
            b"connection: close\r\n\r\n"
        )  # fmt: skip
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n')
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 "), response[:300]


def test_head_over_the_size_limit_is_431_even_without_a_token(gateway: ServiceProcess) -> None:
    response = exchange(gateway.port, head(b"x-big: " + b"a" * 20_000))
    assert response.startswith(b"HTTP/1.1 431 "), response[:200]
    assert b'"code": "REQUEST_HEADERS_TOO_LARGE"' in response


def test_head_with_more_than_100_fields_is_431(gateway: ServiceProcess) -> None:
    fields = [b"x-f-%d: 1" % i for i in range(101)]
    response = exchange(gateway.port, head(*AUTHED, *fields))
    assert response.startswith(b"HTTP/1.1 431 "), response[:200]


def test_head_arriving_in_small_pieces_is_served(gateway: ServiceProcess) -> None:
    data = head(*AUTHED)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        for i in range(0, len(data), 7):
            sock.sendall(data[i : i + 7])
        response = sock.recv(65536)  # the status line comes in the first read
    assert response.startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_are_all_answered(gateway: ServiceProcess) -> None:
    one = head(*AUTHED).replace(b"connection: close\r\n", b"")
    response = exchange(gateway.port, one * 3 + head(*AUTHED))
    assert response.count(b"HTTP/1.1 200 ") == 4


def test_silent_connection_is_closed_after_the_header_timeout(gateway: ServiceProcess) -> None:
    started = time.monotonic()
    assert exchange(gateway.port, b"") == b""
    assert HEADER_TIMEOUT - 0.5 < time.monotonic() - started < HEADER_TIMEOUT + CLOSE_SLACK


def test_unfinished_head_is_closed_after_the_header_timeout(gateway: ServiceProcess) -> None:
    started = time.monotonic()
    assert exchange(gateway.port, b"GET /healthz HTTP/1.1\r\nhost: gw\r\nx-slo") == b""
    assert time.monotonic() - started < HEADER_TIMEOUT + CLOSE_SLACK


def test_idle_keep_alive_connection_is_closed_after_5_seconds(gateway: ServiceProcess) -> None:
    request = b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as sock:
        sock.sendall(request)
        response = b""
        while not response.endswith(b'{"status":"ok"}'):
            response += sock.recv(65536)
        assert response.startswith(b"HTTP/1.1 200 ")
        answered = time.monotonic()
        assert sock.recv(65536) == b""
        assert 4.5 < time.monotonic() - answered < 5 + CLOSE_SLACK


def test_unfinished_64mb_heads_leave_memory_flat(gateway: ServiceProcess) -> None:
    figures = unfinished_heads(gateway.port, gateway.proc.pid, connections=8)
    assert figures.growth_mb < 20, figures
    # The gateway stopped reading at the limit; the client got the rest into socket buffers.
    assert figures.accepted_bytes_max < 64 * 1024 * 1024


async def test_a_thousand_slow_clients_are_closed_and_others_served(
    gateway: ServiceProcess,
) -> None:
    figures = await slow_connections(gateway.port, count=1000, header_timeout=HEADER_TIMEOUT)
    assert figures.closed == figures.connections, figures
    assert figures.slowest_close_seconds < HEADER_TIMEOUT + CLOSE_SLACK, figures
    assert figures.normal_ok == figures.normal_requests, figures


def test_over_the_connection_bound_the_longest_waiting_connection_makes_room(
    upstream: ServiceProcess, tmp_path: Path
) -> None:
    env = gateway_env(
        upstream.url, GATEWAY_MAX_CONNECTIONS="16", GATEWAY_FRONT_DOOR_TOKEN=FRONT_DOOR
    )
    service = start_gateway(tmp_path, env)
    waiting: list[socket.socket] = []
    try:
        waiting.extend(socket.create_connection(("127.0.0.1", service.port)) for _ in range(16))
        time.sleep(0.3)  # all accepted; the first is the one that has waited longest
        response = exchange(service.port, head(*AUTHED))
        assert response.startswith(b"HTTP/1.1 200 "), response[:200]
        waiting[0].settimeout(5)
        assert waiting[0].recv(1) == b""  # closed to make room
        waiting[-1].setblocking(False)
        with pytest.raises(BlockingIOError):
            waiting[-1].recv(1)  # still open
    finally:
        for sock in waiting:
            sock.close()
        service.stop()
