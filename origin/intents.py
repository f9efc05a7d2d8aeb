"""Checkout intents: which requests are "the same checkout".

The intent key is a hash of the shop and the client's ``Idempotency-Key`` when it sends one,
else of the shop and the normalised request. The fingerprint is a hash of the whole
normalised request: the same ``Idempotency-Key`` with another fingerprint is a reused key
(422 ``IDEMPOTENCY_KEY_REUSED``, IETF idempotency-key draft).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from origin.catalog.line_items import LineRequest
from origin.models import CheckoutIntent
from shared.errors import Unprocessable


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IntentKey:
    id: str
    fingerprint: str
    idempotency_key: str | None


def intent_key(
    *,
    shop_id: str,
    idempotency_key: str | None,
    cart_id: str | None,
    lines: Sequence[LineRequest],
    coupon_code: str | None,
    rental_days: int | None,
    expected_total: int | None,
    customer_email: str | None,
    idempotent_holds: bool = True,
) -> IntentKey:
    """Identical retries get the same key.

    Without an ``Idempotency-Key`` the cart's current lines are part of the request: a
    customer who changes the cart and checks out again starts a new checkout rather than
    converging on the hold of the old contents. With ``idempotent_holds`` off (the plan's
    rollout flag) every request is its own intent — the pre-COM-102 behaviour.
    """
    request = {
        "cart": cart_id,
        "lines": sorted([line.variant_key, line.quantity] for line in lines),
        "coupon": coupon_code.strip().upper() if coupon_code else None,
        "rentalDays": rental_days,
    }
    fingerprint = _digest(
        {**request, "expectedTotal": expected_total, "customerEmail": customer_email}
    )
    if not idempotent_holds:
        basis: Any = {"shop": shop_id, "nonce": uuid.uuid4().hex}
    elif idempotency_key is not None:
        basis = {"shop": shop_id, "idempotencyKey": idempotency_key}
    else:
        basis = {"shop": shop_id, "request": request}
    return IntentKey(_digest(basis), fingerprint, idempotency_key)


async def claim_intent(
    *,
    session: AsyncSession,
    shop_id: str,
    key: IntentKey,
    cart_id: str | None,
    customer_email: str | None,
) -> CheckoutIntent:
    """The intent row, inserted if new; 422 when an Idempotency-Key is reused for another body.

    A concurrent first request for the same intent makes the INSERT fail at flush; the
    caller's retry then reads the row.
    """
    intent = await session.get(CheckoutIntent, key.id)
    if intent is None:
        intent = CheckoutIntent(
            id=key.id,
            shop_id=shop_id,
            idempotency_key=key.idempotency_key,
            fingerprint=key.fingerprint,
            cart_id=cart_id,
            customer_email=customer_email,
        )
        session.add(intent)
        await session.flush()
        return intent
    if key.idempotency_key is not None and intent.fingerprint != key.fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new checkout.",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return intent
