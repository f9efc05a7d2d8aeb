"""The Stripe Checkout Session of a hold: recorded once, and found again when its answer was lost.

A hold asks Stripe for its session under the hold's own idempotency key with parameters that
are a pure function of the hold and its shop (:mod:`origin.stripe_params`). So the create call
can be *replayed* at any time within Stripe's 24 h key window: Stripe answers with the session
it made, if it made one. That is how the reaper finds sessions the origin never recorded (it
crashed, or the answer was lost) before giving stock back (docs/checkout.md, "Holds that time
out"):

- ``Recovered`` — Stripe returned the session; it is recorded on the hold like a normal answer.
- ``NeverCreated`` — Stripe refused the replay as an invalid request. Stripe saves no result for
  a request that fails validation, and a key with a saved result is answered from it before
  any validation; so nothing was ever created under this key.
- ``ReplayFailed`` — anything else (timeout, 5xx, authentication, a key conflict): unknown, the
  caller keeps the hold and tries again later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from origin.holds import log_transition
from origin.metrics import OriginMetrics
from origin.models import InventoryHold, Shop, StripeObjectShop
from origin.models.types import utcnow
from origin.payments import (
    CheckoutSession,
    DefinitiveFailure,
    PaymentProviderFailure,
    StripePayments,
)
from origin.stripe_params import checkout_session_params

log = logging.getLogger("origin.hold_sessions")


@dataclass(frozen=True, slots=True)
class Recovered:
    session: CheckoutSession


@dataclass(frozen=True, slots=True)
class NeverCreated:
    classification: str


@dataclass(frozen=True, slots=True)
class ReplayFailed:
    classification: str


ReplayResult = Recovered | NeverCreated | ReplayFailed


def session_params(hold: InventoryHold, shop: Shop) -> dict[str, object]:
    """Exactly what the first create call of ``hold`` sent."""
    return checkout_session_params(hold, shop, customer_email=hold.pricing.get("customerEmail"))


async def record_session(
    sessions: async_sessionmaker[AsyncSession], hold: InventoryHold, stripe_session: CheckoutSession
) -> None:
    """The session on the hold (first writer wins) and the session→shop map."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(
                col(InventoryHold.id) == hold.id,
                col(InventoryHold.stripe_session_id).is_(None),
            )
            .values(
                stripe_session_id=stripe_session.id,
                stripe_session_url=stripe_session.url,
                stripe_client_secret=stripe_session.client_secret,
                stripe_expires_at=stripe_session.expires_at,
                updated_at=utcnow(),
            )
        )
        if await session.get(StripeObjectShop, stripe_session.id) is None:
            session.add(
                StripeObjectShop(
                    object_id=stripe_session.id,
                    object_type="checkout.session",
                    shop_id=hold.shop_id,
                    hold_id=hold.id,
                )
            )
    hold.stripe_session_id = stripe_session.id
    hold.stripe_session_url = stripe_session.url
    hold.stripe_client_secret = stripe_session.client_secret
    log_transition(hold, "session recorded", sessionId=stripe_session.id)


async def replay_create(
    hold: InventoryHold,
    *,
    sessions: async_sessionmaker[AsyncSession],
    payments: StripePayments,
    metrics: OriginMetrics,
) -> ReplayResult:
    """Ask Stripe again, same key and parameters, for the session of a hold that has none."""
    async with sessions() as session:
        shop = await session.get(Shop, hold.shop_id)
    assert shop is not None  # holds reference their shop
    result: ReplayResult
    try:
        stripe_session = await payments.create_checkout_session(
            session_params(hold, shop), idempotency_key=hold.stripe_idempotency_key
        )
    except DefinitiveFailure as failure:
        if failure.classification == "invalid_request":
            result = NeverCreated(failure.classification)
        else:
            result = ReplayFailed(failure.classification)
    except PaymentProviderFailure as failure:
        result = ReplayFailed(failure.classification)
    else:
        await record_session(sessions, hold, stripe_session)
        result = Recovered(stripe_session)
    outcome = {Recovered: "recovered", NeverCreated: "never_created", ReplayFailed: "failed"}[
        type(result)
    ]
    metrics.session_replays.labels(hold.shop_id, outcome).inc()
    log.log(
        logging.WARNING if isinstance(result, ReplayFailed) else logging.INFO,
        "replayed the create call of a hold without a recorded session",
        extra={
            "shop": hold.shop_id,
            "holdId": hold.id,
            "intent": hold.intent_id,
            "outcome": outcome,
        },
    )
    return result
