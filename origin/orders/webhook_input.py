"""What a webhook request must be before it is handled: signed, recent, a usable event.

- **Signature.** ``Stripe-Signature`` is verified over the raw bytes against any of the
  (rotating) secrets, with a 300 s tolerance in both directions: Stripe's library only
  refuses old timestamps, and a signature dated in the future would stay replayable until
  that date plus the tolerance. Any failure → 400 ``INVALID_SIGNATURE``.
- **Parsing.** A signed body that is not a usable Stripe event → 400 ``INVALID_REQUEST``,
  never a 500: JSON nested too deeply for the parser, an event id or type that is not
  1–255 characters of clean text, a ``data.object.id`` likewise, or a NUL / unpaired
  surrogate anywhere (free text such as an address may hold newlines; NUL and unpaired
  surrogates never occur in a real event and PostgreSQL cannot store them).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from checkout_edge_shared.errors import BadRequest
from origin.payments.stripe_client import InvalidSignature, verify_webhook
from origin.request_bodies import unsafe_text

__all__ = ["StripeEvent", "parse_event", "verify_signature"]

log = logging.getLogger("origin.webhooks")

_UNSTORABLE = re.compile("[\\x00\\ud800-\\udfff]")


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    obj: dict[str, Any]


SIGNATURE_TOLERANCE_SECONDS = 300
MAX_ID_LENGTH = 255


def _signed_in_future(header: str, now: float) -> bool:
    """Whether any ``t=`` of the header lies beyond the tolerance ahead of ``now``."""
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and int(value) > now + SIGNATURE_TOLERANCE_SECONDS:
            return True
    return False


def verify_signature(raw: bytes, header: str | None, secrets: tuple[str, ...]) -> None:
    """400 ``INVALID_SIGNATURE`` unless the header signs ``raw`` recently (±300 s)."""
    try:
        if header and _signed_in_future(header, time.time()):
            raise InvalidSignature("timestamp more than 300 s in the future")
        verify_webhook(raw, header, secrets, tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except InvalidSignature as exc:
        log.warning("webhook signature rejected", extra={"reason": str(exc)[:200]})
        raise BadRequest(
            "The Stripe-Signature header is missing, stale or does not match.",
            code="INVALID_SIGNATURE",
        ) from None


def _clean_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and not unsafe_text(value)


def parse_event(raw: bytes) -> StripeEvent:
    """The event in a verified body, or 400 ``INVALID_REQUEST``."""
    try:
        event = json.loads(raw)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
    except RecursionError:
        raise BadRequest("The webhook body is nested too deeply.") from None
    except (ValueError, KeyError, TypeError):
        raise BadRequest("The webhook body is not a Stripe event.") from None
    if not (_clean_id(event_id) and _clean_id(event_type)):
        raise BadRequest(
            "The webhook body is not a Stripe event: id and type must be 1-255 characters of text."
        )
    if not isinstance(obj, dict):
        raise BadRequest("The webhook body is not a Stripe event: data.object is required.")
    if obj.get("id") is not None and not _clean_id(obj["id"]):
        raise BadRequest("The webhook body is not a Stripe event: data.object.id is malformed.")
    # Free text (names, addresses) may hold newlines; NUL and unpaired surrogates never
    # occur in a real event and cannot be stored.
    if _unstorable(event):
        raise BadRequest("The webhook body holds a NUL or an unpaired surrogate.")
    return StripeEvent(event_id, event_type, obj)


def _unstorable(document: object) -> bool:
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
