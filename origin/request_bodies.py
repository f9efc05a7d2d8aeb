"""Request bodies: read the JSON, validate it against a model, name the failing field.

Every origin endpoint that takes a body validates it here, so a bad request is always a
400 ``INVALID_REQUEST`` whose message names the field the way a client wrote it —
``items[2].quantity: Input should be less than or equal to 999.`` — and never a 500.
Models derive from :class:`StrictBody`: unknown fields are refused (a client that sends a
``price`` learns at once that it is not accepted) and types are not coerced (``"2"``,
``2.0`` and ``true`` are not quantities).

Strings are screened before any model sees them (:func:`screen_strings` for JSON bodies,
:func:`screen_text` for query parameters and headers, applied by
:class:`origin.web.InputScreenMiddleware`): a control character (C0, DEL, C1 — NUL
included) or an unpaired surrogate anywhere → 400 ``INVALID_REQUEST`` naming where. Such
text has no business in ids, codes or emails, and PostgreSQL cannot store a NUL; without
the screen it surfaced as a 500 from the database driver. Bytes that are not UTF-8 are
refused where they are decoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from checkout_edge_shared.errors import BadRequest

__all__ = ["StrictBody", "field_path", "parse_body", "screen_strings", "screen_text", "unsafe_text"]

M = TypeVar("M", bound=BaseModel)

# How many field errors one message lists; the rest are counted.
_MAX_LISTED = 3

# Pydantic's wording where it would leak Python names ("instance of LineItemIn").
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be an array",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
UNSAFE_MESSAGE = "must not contain control characters or unpaired surrogates"


class StrictBody(BaseModel):
    """Base of every request model: no unknown fields, no type coercion, camelCase aliases."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("items", 2, "quantity")`` → ``items[2].quantity``; an empty location is ``body``.

    Map keys that are not plain names are quoted (``variantAttributes["a b"]``); pydantic's
    ``[key]`` marker (the key itself failed) becomes `` key``.
    """
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " key"
        elif _NAME.fullmatch(part):
            path = f"{path}.{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path or "body"


def _describe(error: ErrorDetails, prefix: str) -> str:
    message = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        message = str(error["ctx"]["error"])  # without pydantic's "Value error, " prefix
    return f"{field_path(error['loc'], prefix)}: {message}"


def parse_body(model: type[M], data: object, *, prefix: str = "") -> M:
    """``data`` validated as ``model``, or 400 ``INVALID_REQUEST`` naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        listed = "; ".join(_describe(error, prefix) for error in errors[:_MAX_LISTED])
        more = len(errors) - _MAX_LISTED
        suffix = f" (and {more} more)" if more > 0 else ""
        raise BadRequest(f"{listed}{suffix}.") from None


def unsafe_text(value: str) -> bool:
    """Whether ``value`` holds a control character or an unpaired surrogate."""
    return _UNSAFE.search(value) is not None


def screen_text(value: str, where: str) -> None:
    """400 ``INVALID_REQUEST`` (``where: must not contain …``) for unsafe text."""
    if _UNSAFE.search(value) is not None:
        raise BadRequest(f"{where}: {UNSAFE_MESSAGE}.")


def screen_strings(data: object, *, prefix: str = "") -> None:
    """Every string of a parsed JSON document, keys included, through :func:`screen_text`.

    Iterative, so a deeply nested document cannot exhaust the stack here.
    """
    stack: list[tuple[object, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            screen_text(value, field_path(loc, prefix))
        elif isinstance(value, dict):
            for key, item in value.items():
                screen_text(key, field_path((*loc, "[key]"), prefix) if loc else "body key")
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(value))
