"""The proxy end to end: real gateway and stand-in origin processes, real sockets."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateway
from tests.gateway.upstream_app import GZIP_PAYLOAD
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.e2e

SHOP = {"x-shop-id": "e2e-shop"}
WEBHOOK_SECRET = b"whsec_test"


@pytest.fixture(scope="module")
def gateway(
    upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = gateway_env(
        upstream.url, GATEWAY_MAX_BODY_BYTES="1024", GATEWAY_UPSTREAM_TIMEOUT_SECONDS="1"
    )
    service = start_gateway(tmp_path_factory.mktemp("e2e"), env, access_log=True)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def client(gateway: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        yield client


def stripe_signature(body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(WEBHOOK_SECRET, signed, hashlib.sha256).hexdigest()}"


async def test_signed_webhook_body_reaches_the_origin_byte_for_byte(
    client: httpx.AsyncClient,
) -> None:
    # Odd spacing, key order, escapes and non-ASCII: any re-encoding would break the signature.
    body = '{"id": "evt_1",  "data":{"object":{"amount":3400, "name":"Zoë \\u00e9"}}}\n'.encode()
    signature = stripe_signature(body, 1_700_000_000)
    response = await client.post(
        "/api/stripe-webhook",
        headers=front_door(**{"stripe-signature": signature, "content-type": "application/json"}),
        content=body,
    )
    assert response.status_code == 200
    echoed = response.json()
    received = base64.b64decode(echoed["bodyBase64"])
    assert received == body
    assert dict(echoed["headers"])["stripe-signature"] == signature
    assert stripe_signature(received, 1_700_000_000) == signature
    assert dict(echoed["headers"])["content-length"] == str(len(body))


async def test_binary_body_with_every_byte_value_passes_unchanged(
    client: httpx.AsyncClient,
) -> None:
    body = bytes(range(256)) * 3
    response = await client.post("/api/cart", headers=front_door(**SHOP), content=body)
    assert response.json()["bodySha256"] == hashlib.sha256(body).hexdigest()


async def test_chunked_body_without_length_is_forwarded_with_its_length(
    client: httpx.AsyncClient,
) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b'{"items":', b"[]", b"}"):
            yield piece

    response = await client.post(
        "/api/inventory/validate", headers=front_door(**SHOP), content=pieces()
    )
    assert response.status_code == 200
    echoed = response.json()
    assert base64.b64decode(echoed["bodyBase64"]) == b'{"items":[]}'
    headers = dict(echoed["headers"])
    assert headers["content-length"] == "12"
    assert "transfer-encoding" not in headers


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100

    response = await client.post("/api/cart", headers=front_door(**SHOP), content=pieces())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BODY_TOO_LARGE"


async def test_declared_length_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/cart", headers=front_door(**SHOP), content=b"y" * 1025)
    assert response.status_code == 413


async def test_gzip_response_passes_untouched(client: httpx.AsyncClient) -> None:
    expected = gzip.compress(json.dumps(GZIP_PAYLOAD).encode(), mtime=0)
    headers = front_door(**SHOP, **{"x-test-mode": "gzip", "accept-encoding": "gzip"})
    async with client.stream("GET", "/api/cart", headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(expected))
    assert raw == expected


async def test_no_accept_encoding_is_added_on_the_way(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/cart", headers={**front_door(**SHOP), "accept-encoding": "identity"}
    )
    headers = dict(response.json()["headers"])
    assert headers["accept-encoding"] == "identity"
    assert "user-agent" in headers  # the client's own, passed on


async def test_hop_by_hop_response_headers_are_dropped(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cart", headers=front_door(**SHOP, **{"x-test-mode": "hop"}))
    assert response.text == "hop"
    assert response.headers["x-kept"] == "yes"
    for name in ("x-secret-hop", "keep-alive", "proxy-authenticate"):
        assert name not in response.headers
    assert response.headers.get_list("server") == ["uvicorn"]
    assert len(response.headers.get_list("date")) == 1


async def test_set_cookie_reaches_the_client_and_is_not_kept(client: httpx.AsyncClient) -> None:
    headers = front_door(**SHOP, **{"x-test-mode": "cookie"})
    first = await client.get("/api/cart", headers=headers)
    assert "cart_id=c-123" in first.headers["set-cookie"]
    # A different client must not receive the first one's cookie from the gateway's pool.
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        echoed = (await other.get("/api/cart", headers=front_door(**SHOP))).json()
    assert "cookie" not in dict(echoed["headers"])


async def test_streamed_response_passes_through(client: httpx.AsyncClient) -> None:
    headers = front_door(**SHOP, **{"x-test-mode": "stream", "x-test-chunks": "50"})
    response = await client.get("/api/cart", headers=headers)
    assert response.text == "".join(f"chunk-{i};" for i in range(50))


async def test_slow_origin_is_504_within_the_upstream_timeout(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await client.get(
        "/api/order-status",
        headers=front_door(**SHOP, **{"x-test-mode": "slow", "x-test-delay": "3"}),
    )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "ORIGIN_TIMEOUT"
    assert time.monotonic() - started < 2.5


async def test_origin_down_is_502_with_request_id(tmp_path: Path) -> None:
    dead_origin = f"http://127.0.0.1:{free_port()}"
    service = start_gateway(tmp_path, gateway_env(dead_origin))
    try:
        async with httpx.AsyncClient(base_url=service.url) as client:
            response = await client.get(
                "/api/order-status", headers=front_door(**SHOP, **{"x-request-id": "trace-502"})
            )
            ready = await client.get("/readyz")
    finally:
        service.stop()
    assert response.status_code == 502
    assert response.json()["error"] == {
        "code": "ORIGIN_UNAVAILABLE",
        "message": "The checkout service is unreachable right now; retry shortly.",
        "requestId": "trace-502",
    }
    assert response.headers["x-request-id"] == "trace-502"
    assert ready.status_code == 503
    assert ready.json()["checks"]["origin"] == {"reachable": False}


async def test_access_log_lines_are_json_with_the_request_id(
    client: httpx.AsyncClient, gateway: ServiceProcess
) -> None:
    await client.get("/api/order-status", headers=front_door(**SHOP, **{"x-request-id": "acc-1"}))
    await asyncio.sleep(0.2)
    lines = [json.loads(line) for line in gateway.log_text().splitlines() if '"acc-1"' in line]
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access
    assert access[0]["requestId"] == "acc-1"
    assert "/api/order-status" in access[0]["msg"]


def test_sigterm_lets_in_flight_requests_finish_and_refuses_new_connections(
    upstream: ServiceProcess, tmp_path: Path
) -> None:
    service = start_gateway(tmp_path, gateway_env(upstream.url))
    result: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            result["response"] = client.get(
                "/api/order-status",
                headers=front_door(**SHOP, **{"x-test-mode": "slow", "x-test-delay": "1.5"}),
            )

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.5)  # the request is now waiting on the origin
    service.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", service.port), timeout=1).close()
    worker.join(10)
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert service.proc.wait(10) in {0, -signal.SIGTERM}
    assert "gateway stopped" in service.log_text()
    assert result["response"].status_code == 200
    assert result["response"].json()["path"] == "/api/order-status"
