"""Request plumbing shared by the origin's routes: JSON bodies, the shop, the gateway token."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from origin.models import Shop
from origin.request_bodies import field_path
from shared.errors import BadRequest, NotFound, Unauthorized, error_response

SHOP_HEADER = "x-shop-id"

# C0 and C1 control characters (NUL included) and lone surrogates (a JSON "\\ud800" is not
# UTF-8 text): refused in every string a request carries (docs/api.md, "3. Origin", Input).
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or 400 ``INVALID_REQUEST`` saying what is wrong."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None
    except ValueError as exc:
        # e.g. an integer of more than 4300 digits: valid JSON, but not acceptable.
        raise BadRequest(f"The request body is not acceptable JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    where = _control_character_path(data)
    if where is not None:
        raise BadRequest(f"{where}: must not contain control characters.")
    return data


def _control_character_path(data: object) -> str | None:
    """The field path of the first string or key in ``data`` that is not plain text."""
    stack: list[tuple[object, tuple[int | str, ...]]] = [(data, ())]  # no recursion limit
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str) and _NOT_TEXT.search(value):
            return field_path(loc)
        if isinstance(value, dict):
            for key, item in value.items():
                if _NOT_TEXT.search(key):
                    return field_path((*loc, key))
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, index)) for index, item in enumerate(value))
    return None


def checked_text(value: str | None, name: str, *, header: bool = False) -> str | None:
    """``value`` when it is plain text, else 400 ``INVALID_REQUEST`` naming ``name``.

    Header values arrive decoded as Latin-1, so they are checked as the UTF-8 they must be;
    a query value that was not UTF-8 arrives with U+FFFD in place of the bad bytes.
    """
    if value is None:
        return None
    text = value
    if header:
        try:
            text = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise BadRequest(f"{name}: must be UTF-8 text.") from None
    if _NOT_TEXT.search(text) or "\ufffd" in text:
        raise BadRequest(f"{name}: must not contain control characters or invalid UTF-8.")
    return value


async def resolve_shop(request: Request, session: AsyncSession) -> Shop:
    """The shop named by ``x-shop-id``; 404 ``SHOP_NOT_FOUND`` before anything else is read."""
    shop_id = request.headers.get(SHOP_HEADER, "")
    shop = await session.get(Shop, shop_id) if shop_id else None
    if shop is None:
        raise NotFound(f"Shop {shop_id!r} does not exist.", code="SHOP_NOT_FOUND")
    return shop


class GatewayTokenMiddleware:
    """Every ``/api/*`` request must carry ``x-gateway-token`` (401 ``GATEWAY_UNAUTHORIZED``)."""

    def __init__(self, app: ASGIApp, *, tokens: tuple[str, ...]) -> None:
        self.app = app
        # Several tokens during a rotation; every one is compared (constant time each).
        self.tokens = tuple(t.encode() for t in tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            presented = next((v for k, v in scope["headers"] if k == b"x-gateway-token"), b"")
            matches = [hmac.compare_digest(presented, token) for token in self.tokens]
            if not any(matches):
                response = error_response(
                    Unauthorized(
                        "This service only accepts requests from the gateway.",
                        code="GATEWAY_UNAUTHORIZED",
                    )
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
