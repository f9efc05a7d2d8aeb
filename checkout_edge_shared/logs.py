"""JSON logging that carries the request id and the trace id.

Every line either service writes — its own, uvicorn's server and access lines, Python
warnings — is one JSON object on stderr. The request id and the W3C trace (see
``checkout_edge_shared/trace.py``) live in context variables set by
:class:`RequestIdMiddleware`; every log
record made while a request is handled (including in tasks it spawns) carries them, and the
response returns both (``x-request-id``, ``traceparent``).

uvicorn configures its loggers before the app exists. Started through
:func:`uvicorn_log_config` (``uvicorn.run(log_config=…)``) its loggers are JSON from the first
line; started as ``uvicorn module:create_app --factory`` they are re-routed to the JSON handler
by :func:`configure_logging` when the app is built, which uvicorn does before its first line.

``LOG_FORMAT=text`` swaps the JSON object for a compact human line
(``checkout_edge_shared/log_text.py``) on the same handler, with the same fields; ``make run``
shows that. uvicorn's ``color_message`` (its message with ANSI colours) is never a field.
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
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkout_edge_shared.log_text import TextFormatter
from checkout_edge_shared.trace import current_trace, reset_trace, set_trace, trace_from_header

__all__ = [
    "JsonFormatter",
    "JsonHandler",
    "RequestIdMiddleware",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "uvicorn_log_config",
    "valid_request_id",
]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Attributes every LogRecord has; anything else passed via ``extra=`` is emitted as a field.
# uvicorn's ``color_message`` is its own message with ANSI colours: never a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


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
        trace = current_trace()
        if trace is not None:
            entry["traceId"] = trace.trace_id
            entry["spanId"] = trace.span_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(_access_fields(record.args))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    """uvicorn's access line as fields: ``(client, method, path, http version, status)``."""
    if len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {"client": client, "method": method, "path": path, "status": status}


def _text_fields() -> dict[str, str]:
    request_id = current_request_id()
    return {"requestId": request_id} if request_id else {}


def line_formatter(service: str, log_format: str = "json") -> logging.Formatter:
    """The formatter of ``log_format``: :class:`JsonFormatter`, or the compact human line
    (``text``, ``checkout_edge_shared/log_text.py``) for people reading a terminal."""
    if log_format == "text":
        return TextFormatter(_STANDARD, _text_fields)
    return JsonFormatter(service)


def json_formatter(service: str, log_format: str = "json", **_uvicorn: Any) -> logging.Formatter:
    """Formatter factory for ``logging.config``; uvicorn may add ``use_colors``, ignored."""
    return line_formatter(service, log_format)


class JsonHandler(logging.StreamHandler[TextIO]):
    """The one handler both services log through (stderr); found again by its class."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)


def uvicorn_log_config(
    service: str, level: str = "INFO", log_format: str = "json"
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``uvicorn.run(log_config=…)``: every line JSON.

    uvicorn's loggers get no handler of their own and propagate to the root's JSON handler;
    the formatter names are uvicorn's (``default``, ``access``) because uvicorn writes
    ``use_colors`` into them when colours are forced.
    """
    level = level.upper()
    formatter = {
        "()": "checkout_edge_shared.logs.json_formatter",
        "service": service,
        "log_format": log_format,
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": dict(formatter), "access": dict(formatter)},
        "handlers": {
            "json": {"class": "checkout_edge_shared.logs.JsonHandler", "formatter": "default"}
        },
        "root": {"handlers": ["json"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def _route_server_logs() -> None:
    """Send uvicorn's own lines through the JSON handler.

    Only loggers uvicorn gave a handler are re-routed: ``--no-access-log`` stays off.
    httpx's line per request is dropped: both services' metrics already count them.
    """
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


def configure_logging(service: str, level: str = "INFO", log_format: str = "json") -> None:
    """Send JSON lines (``log_format="text"``: compact human lines) to stderr; idempotent,
    so tests can build many apps."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, JsonHandler)), None)
    if handler is None:
        handler = JsonHandler()
        root.addHandler(handler)
    handler.setFormatter(line_formatter(service, log_format))
    root.setLevel(level.upper())
    _route_server_logs()
    # Python's warnings would otherwise be plain text on stderr.
    logging.captureWarnings(True)


class RequestIdMiddleware:
    """Keeps a safe incoming ``x-request-id`` or makes one, continues or starts the trace of
    ``traceparent``; returns both on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
        request_id = (
            incoming if incoming is not None and valid_request_id(incoming) else new_request_id()
        )
        trace = trace_from_header(traceparent)
        scope.setdefault("state", {})["request_id"] = request_id
        token = set_request_id(request_id)
        trace_token = set_trace(trace)
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        trace_header = (b"traceparent", trace.header().encode("latin-1"))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # Replaces any x-request-id or traceparent already there (the origin's, say).
                headers = [
                    h
                    for h in message.get("headers", ())
                    if h[0] != b"x-request-id" and h[0] != b"traceparent"
                ]
                headers.append(id_header)
                headers.append(trace_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Rendered here, inside the request id's context, rather than by Starlette's
            # outermost ServerErrorMiddleware, which would lose both the id and the body shape.
            logging.getLogger("checkout_edge_shared.errors").exception("unhandled error")
            if started:
                raise
            await _send_internal_error(send_with_id, request_id)
        finally:
            _request_id.reset(token)
            reset_trace(trace_token)


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
