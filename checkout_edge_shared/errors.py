"""The error family and the one handler that renders the contract's error body.

Every error either service answers has the body
``{"error": {"code", "message", "requestId"}}``, optionally with extra top-level keys
(the per-line availability of ``INSUFFICIENT_STOCK``, the repriced lines of
``PRICE_CHANGED``). Domain code raises; only :func:`install_error_handlers` builds responses.

    AppError                      (status, code, message, extra, headers)
    ├── BadRequest                400  (INVALID_REQUEST unless another code is given)
    ├── Unauthorized              401
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── Conflict                  409
    ├── Unprocessable             422
    ├── TooManyRequests           429
    └── Unavailable               502 / 503 / 504 (status given explicitly)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from checkout_edge_shared.logs import current_request_id

__all__ = [
    "AppError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "error_body",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("checkout_edge_shared.errors")


class AppError(Exception):
    status: int = 500
    default_code: str = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status is not None:
            self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class BadRequest(AppError):
    status = 400
    default_code = "INVALID_REQUEST"


class Unauthorized(AppError):
    status = 401
    default_code = "UNAUTHORIZED"


class Forbidden(AppError):
    status = 403
    default_code = "FORBIDDEN"


class NotFound(AppError):
    status = 404
    default_code = "NOT_FOUND"


class Conflict(AppError):
    status = 409
    default_code = "CONFLICT"


class Unprocessable(AppError):
    status = 422
    default_code = "UNPROCESSABLE"


class TooManyRequests(AppError):
    status = 429
    default_code = "RATE_LIMITED"


class Unavailable(AppError):
    status = 503
    default_code = "UNAVAILABLE"


def error_body(code: str, message: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = dict(extra or {})
    body["error"] = {"code": code, "message": message, "requestId": current_request_id()}
    return body


def error_response(error: AppError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.extra),
        status_code=error.status,
        headers=error.headers,
    )


_HTTP_CODES = {
    404: ("ROUTE_NOT_FOUND", "No such route."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed on this route."),
}


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if exc.status >= 500:
        log.warning("request failed", extra={"code": exc.code, "status": exc.status})
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("INTERNAL_ERROR", "Something went wrong on our side; retry later."),
        status_code=500,
    )


def install_error_handlers(app: Starlette) -> None:
    """Register the one rendering of errors for a service.

    Unexpected exceptions are rendered by
    :class:`checkout_edge_shared.logs.RequestIdMiddleware` where it
    sits inside the app (the origin); the ``Exception`` handler covers an app that sits
    inside it instead (the gateway's own routes), whose outermost Starlette layer would
    otherwise answer in plain text.
    """
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
