"""One write per response (``gateway.response_writes``), on uvicorn's own cycle."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.flow_control import FlowControl

from gateway.response_writes import CoalescingCycle
from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env
from tests.support.processes import ServiceProcess, start_uvicorn


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def cycle(transport: RecordingTransport, *, method: str = "GET", keep_alive: bool = True) -> Any:
    return CoalescingCycle(
        scope={"method": method, "type": "http"},
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}


async def test_head_and_body_go_out_in_one_write() -> None:
    transport = RecordingTransport()
    response = cycle(transport)
    await response.send(START)
    assert transport.writes == []
    await response.send({"type": "http.response.body", "body": b"ok"})
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]


async def test_streamed_body_writes_the_head_with_the_first_piece_only() -> None:
    transport = RecordingTransport()
    response = cycle(transport)
    await response.send({"type": "http.response.start", "status": 200, "headers": []})
    for piece, more in ((b"a", True), (b"bc", True), (b"", False)):
        await response.send({"type": "http.response.body", "body": piece, "more_body": more})
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n",
        b"2\r\nbc\r\n",
        b"0\r\n\r\n",
    ]


async def test_connection_close_flushes_before_closing() -> None:
    transport = RecordingTransport()
    response = cycle(transport, keep_alive=False)
    await response.send(START)
    await response.send({"type": "http.response.body", "body": b"ok"})
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    ]
    assert transport.closed


@pytest.mark.parametrize("status", [204, 304])
async def test_bodyless_responses_and_head(status: int) -> None:
    transport = RecordingTransport()
    response = cycle(transport, method="HEAD")
    await response.send({"type": "http.response.start", "status": status, "headers": []})
    await response.send({"type": "http.response.body", "body": b""})
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 %d " % status)


PROTOCOL = ["--http", "gateway.response_writes:CoalescingProtocol"]


@pytest.mark.e2e
def test_a_gateway_on_the_protocol_forwards_and_streams(
    upstream: ServiceProcess, tmp_path: Path
) -> None:
    gateway = start_uvicorn(
        "gateway",
        "gateway.app:create_app",
        env=gateway_env(upstream.url),
        log_dir=tmp_path,
        extra_args=PROTOCOL,
    )
    shop = front_door(**{"x-shop-id": "writes-shop"})
    try:
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            for _ in range(3):  # keep-alive: each response ends where the next begins
                echoed = client.post("/api/cart", headers=shop, content=b'{"a":1}')
                assert echoed.status_code == 200
                assert echoed.json()["bodyBase64"] == "eyJhIjoxfQ=="
                assert echoed.headers["ratelimit-policy"] == '"cart";q=120;w=60'
            streamed = client.get(
                "/api/cart", headers={**shop, "x-test-mode": "stream", "x-test-chunks": "5"}
            )
            assert streamed.status_code == 200
            assert streamed.headers["transfer-encoding"] == "chunked"
            refused = client.get("/api/cart", headers={"x-shop-id": "writes-shop"})
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "FRONT_DOOR_UNAUTHORIZED"
    finally:
        gateway.stop()
    assert "Exception" not in gateway.log_text()
