"""JSON logging that carries the request id.

The request id lives in a context variable set by :class:`RequestIdMiddleware`; every log
record made while a request is handled (including in tasks it spawns) carries it.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "JsonFormatter",
    "RequestIdMiddleware",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "valid_request_id",
]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Attributes every LogRecord has; anything else passed via ``extra=`` is emitted as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


# A random 64-bit prefix per process and a counter: unique across processes like a
# uuid4 (32 hex characters), without a getrandom() system call per request.
_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


def valid_request_id(value: str | None) -> bool:
    return value is not None and bool(_SAFE_ID.match(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr; idempotent, so tests can build many apps."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_checkout_edge", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._checkout_edge = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(level.upper())


class RequestIdMiddleware:
    """Keeps a safe incoming ``x-request-id`` or makes one; returns it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = (
            incoming if incoming is not None and valid_request_id(incoming) else new_request_id()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        token = set_request_id(request_id)
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # Replaces any x-request-id already there (the origin's echo, for one).
                headers = [h for h in message.get("headers", ()) if h[0] != b"x-request-id"]
                headers.append(id_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Rendered here, inside the request id's context, rather than by Starlette's
            # outermost ServerErrorMiddleware, which would lose both the id and the body shape.
            logging.getLogger("shared.errors").exception("unhandled error")
            if started:
                raise
            await _send_internal_error(send_with_id, request_id)
        finally:
            _request_id.reset(token)


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "INTERNAL_ERROR",
                "message": "Something went wrong on our side; retry later.",
                "requestId": request_id,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
