"""JSON log lines carry the request id of the request they were written in."""

from __future__ import annotations

import json
import logging

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.logs import JsonFormatter, RequestIdMiddleware, current_request_id


def test_formatter_writes_one_json_object_with_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "t", "levelname": "INFO", "msg": "hold %s", "args": ("active",), "shop": "s1"}
    )
    entry = json.loads(JsonFormatter("origin").format(record))
    assert entry["msg"] == "hold active"
    assert entry["service"] == "origin"
    assert entry["shop"] == "s1"
    assert "requestId" not in entry  # outside a request


async def test_log_lines_and_unexpected_errors_carry_the_request_id() -> None:
    seen: list[str | None] = []
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter("test").format(record))

    async def ok(request: Request) -> PlainTextResponse:
        seen.append(current_request_id())
        logging.getLogger("test.handler").warning("inside")
        return PlainTextResponse("ok")

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("unexpected")

    # Installed as both services install it: the outermost of the app's own middleware.
    app = Starlette(
        routes=[Route("/ok", ok), Route("/boom", boom)],
        middleware=[Middleware(RequestIdMiddleware)],
    )
    handler = Capture()
    logging.getLogger().addHandler(handler)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t",
        ) as client:
            response = await client.get("/ok", headers={"x-request-id": "abc.123"})
            failed = await client.get("/boom", headers={"x-request-id": "req-9"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.headers["x-request-id"] == "abc.123"
    assert seen == ["abc.123"]
    assert any(json.loads(line).get("requestId") == "abc.123" for line in lines)
    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "req-9"
    assert failed.json()["error"] == {
        "code": "INTERNAL_ERROR",
        "message": "Something went wrong on our side; retry later.",
        "requestId": "req-9",
    }
    assert any(json.loads(line).get("requestId") == "req-9" for line in lines)


async def test_app_inside_the_request_id_middleware_answers_the_contract_body_on_errors() -> None:
    """The gateway's layout: its Starlette routes sit inside RequestIdMiddleware."""
    from shared.errors import install_error_handlers

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("unexpected")

    inner = Starlette(routes=[Route("/boom", boom)])
    install_error_handlers(inner)
    app = RequestIdMiddleware(inner)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        failed = await client.get("/boom", headers={"x-request-id": "gw-1"})
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert failed.json()["error"]["requestId"] == "gw-1"
    assert failed.headers["x-request-id"] == "gw-1"
