"""Checkout intents: which requests are "the same checkout" — always one buyer's.

- With an ``Idempotency-Key``: the intent is shop + key. The fingerprint hashes the request
  as sent (cart id or inline items, coupon, rental days, expected total, email): the same key
  with another fingerprint is a reused key (422 ``IDEMPOTENCY_KEY_REUSED``, IETF
  idempotency-key draft). The cart's contents are not part of it, so a retry after payment
  (the cart was emptied) still finds its paid checkout.
- Without a key, a cart checkout's intent is shop + cart id + cart ``revision`` + the
  normalised request (coupon, rental days): retries of the cart as it is converge, a changed
  or re-filled cart is a new checkout. A cart id is one buyer's bearer credential.
- Inline ``items`` without a key → 400 ``IDEMPOTENCY_KEY_REQUIRED``: two buyers' identical
  baskets must never be one checkout, and nothing else in such a request tells buyers apart.

See docs/checkout.md for what a storefront does with this.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from checkout_edge_shared.errors import BadRequest, Unprocessable
from origin.catalog.line_items import LineRequest
from origin.models import metadata
from origin.models.types import utcnow
from origin.sql import Sql, statements

_INTENTS = metadata.tables["checkout_intents"]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IntentKey:
    id: str
    fingerprint: str
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class CartRef:
    """The cart a keyless checkout is keyed on, as it is now."""

    cart_id: str
    revision: int


def intent_key(
    *,
    shop_id: str,
    idempotency_key: str | None,
    cart: CartRef | None,
    items: Sequence[LineRequest] | None,
    coupon_code: str | None,
    rental_days: int | None,
    expected_total: int | None,
    customer_email: str | None,
    idempotent_holds: bool = True,
) -> IntentKey:
    """The intent of one checkout request (``cart`` for cart checkouts, else ``items``).

    With ``idempotent_holds`` off (the plan's rollout flag) every request is its own intent —
    the pre-COM-102 behaviour; inline items still need a key.
    """
    if items is not None and idempotency_key is None:
        raise BadRequest(
            "Checking out inline items needs an Idempotency-Key header: generate one per "
            "checkout attempt and keep it until the attempt ends.",
            code="IDEMPOTENCY_KEY_REQUIRED",
        )
    normalised = {
        "coupon": coupon_code.strip().upper() if coupon_code else None,
        "rentalDays": rental_days,
    }
    fingerprint = _digest(
        {
            **normalised,
            "cart": cart.cart_id if cart is not None else None,
            "items": sorted([line.variant_key, line.quantity] for line in items or ()),
            "expectedTotal": expected_total,
            "customerEmail": customer_email,
        }
    )
    if not idempotent_holds:
        basis: Any = {"shop": shop_id, "nonce": uuid.uuid4().hex}
    elif idempotency_key is not None:
        basis = {"shop": shop_id, "idempotencyKey": idempotency_key}
    else:
        assert cart is not None  # a keyless request without items is a cart checkout
        basis = {
            "shop": shop_id,
            "cart": cart.cart_id,
            "revision": cart.revision,
            "request": normalised,
        }
    return IntentKey(_digest(basis), fingerprint, idempotency_key)


@dataclass(frozen=True, slots=True)
class ClaimedIntent:
    """The intent row as this request found it: ``new`` when this request inserted it.

    ``customer_email`` is the one place a checkout's email is stored; a resumed or replayed
    Stripe call sends exactly it.
    """

    id: str
    customer_email: str | None
    new: bool


_CLAIM = Sql.insert(_INTENTS, suffix="ON CONFLICT (id) DO NOTHING RETURNING id")
_CLAIMED = Sql("SELECT fingerprint, customer_email FROM checkout_intents WHERE id = :id")


async def claim_intent(
    *,
    session: AsyncSession,
    shop_id: str,
    key: IntentKey,
    cart_id: str | None,
    customer_email: str | None,
) -> ClaimedIntent:
    """The intent row, inserted if new; 422 when an Idempotency-Key is reused for another body.

    One ``INSERT … ON CONFLICT DO NOTHING``: a concurrent first request of the same intent
    waits for the winner's transaction and then reads its row.
    """
    run = await statements(session)
    inserted = await run.fetchrow(
        _CLAIM,
        {
            "id": key.id,
            "shop_id": shop_id,
            "idempotency_key": key.idempotency_key,
            "fingerprint": key.fingerprint,
            "cart_id": cart_id,
            "customer_email": customer_email,
            "created_at": utcnow(),
        },
    )
    if inserted is not None:
        return ClaimedIntent(key.id, customer_email, new=True)
    found = await run.fetchrow(_CLAIMED, {"id": key.id})
    assert found is not None  # the conflicting row exists: intents are never deleted
    fingerprint, email = found
    if key.idempotency_key is not None and fingerprint != key.fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new checkout.",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return ClaimedIntent(key.id, email, new=False)
