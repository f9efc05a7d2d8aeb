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

from checkout_edge_shared.logs import JsonFormatter, RequestIdMiddleware, current_request_id


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
    from checkout_edge_shared.errors import install_error_handlers

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


async def test_traceparent_is_continued_in_a_new_span_or_started_and_returned() -> None:
    seen: list[str] = []

    async def ok(request: Request) -> PlainTextResponse:
        from checkout_edge_shared.trace import current_trace

        trace = current_trace()
        assert trace is not None
        seen.append(trace.trace_id)
        return PlainTextResponse("ok")

    app = RequestIdMiddleware(Starlette(routes=[Route("/ok", ok)]))
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        continued = await client.get("/ok", headers={"traceparent": incoming})
        started = await client.get("/ok")
        malformed = await client.get("/ok", headers={"traceparent": "00-" + "0" * 32 + "-x-01"})
    version, trace_id, span, flags = continued.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span != "00f067aa0ba902b7"
    assert len(span) == 16
    assert seen[0] == trace_id
    fresh = [r.headers["traceparent"].split("-")[1] for r in (started, malformed)]
    assert seen[1:] == fresh  # a new trace each time, the one the handler logged under
    assert fresh[0] != fresh[1]
    assert all(len(t) == 32 and t != "0" * 32 for t in fresh)


def test_uvicorn_log_config_makes_uvicorn_lines_json() -> None:
    import io
    import logging.config

    from checkout_edge_shared.logs import JsonHandler, uvicorn_log_config

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logging.config.dictConfig(uvicorn_log_config("origin", "info"))
        stream = io.StringIO()
        handler = next(h for h in root.handlers if isinstance(h, JsonHandler))
        handler.setStream(stream)
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/healthz", "1.1", 200
        )
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access"]
    assert lines[0]["msg"] == "Started server process [42]"
    assert lines[0]["service"] == "origin"
    assert {k: lines[1][k] for k in ("method", "path", "status")} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
    }
