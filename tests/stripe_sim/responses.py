"""Responses in Stripe's style: pretty-printed JSON, errors in Stripe's shape."""

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from .errors import StripeError


def stripe_json(
    content: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response indented as Stripe indents its answers."""
    return Response(
        json_bytes(content), status_code=status, headers=headers, media_type="application/json"
    )


def json_bytes(content: Any) -> bytes:
    """The body :func:`stripe_json` sends, for callers that need the bytes themselves."""
    return json.dumps(content, indent=2).encode("utf-8")


def error_response(error: StripeError) -> Response:
    """The answer for ``error``: its status, headers and ``{"error": {…}}`` body."""
    return stripe_json(error.body(), status=error.status, headers=error.headers)
