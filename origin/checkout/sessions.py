"""The Stripe Checkout Session of a hold: recorded once, and found again when its answer was lost.

A hold asks Stripe for its session under the hold's own idempotency key with parameters that
are a pure function of the hold's typed snapshot, its shop and its intent's email
(:mod:`origin.payments.session_params`). So the create call can be *replayed* at any time
within Stripe's 24 h key window: Stripe answers with the session it made, if it made one.
That is how the reaper finds sessions the origin never recorded (it crashed, or the answer
was lost) before giving stock back (docs/checkout.md, "Holds that time out"):

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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from origin.catalog.snapshot import load_quote
from origin.catalog.values import ShopProfile
from origin.inventory.hold_states import log_transition
from origin.metrics import OriginMetrics
from origin.models import CheckoutIntent, InventoryHold, Shop
from origin.models.types import UTCDateTime, utcnow
from origin.payments.session_params import checkout_session_params
from origin.payments.stripe_client import (
    CheckoutSession,
    DefinitiveFailure,
    PaymentProviderFailure,
    StripePayments,
)
from origin.sql import Sql, own_transaction, own_transaction_engine, statements

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


def session_params(
    hold: InventoryHold, shop: ShopProfile, *, customer_email: str | None
) -> dict[str, object]:
    """Exactly what every create call of ``hold`` sends: its typed snapshot, its shop and its
    intent's email (stored once, on the intent)."""
    return checkout_session_params(
        hold, load_quote(hold.pricing), shop, customer_email=customer_email
    )


_UPDATE_HOLD = (
    "UPDATE inventory_holds SET stripe_session_id = :session_id, stripe_session_url = :url, "
    "stripe_client_secret = :client_secret, stripe_expires_at = :expires_at, updated_at = :now "
    "WHERE id = :hold_id AND stripe_session_id IS NULL"
)
_INSERT_MAP = (
    "INSERT INTO stripe_object_shops (object_id, object_type, shop_id, hold_id, created_at) "
    "VALUES (:session_id, 'checkout.session', :shop_id, :hold_id, :created_at) "
    "ON CONFLICT (object_id) DO NOTHING"
)
_TIMES = {"expires_at": UTCDateTime(), "now": UTCDateTime(), "created_at": UTCDateTime()}
_RECORD = Sql(_UPDATE_HOLD, types=_TIMES)
_MAP = Sql(_INSERT_MAP, types=_TIMES)
# Both as one statement (the update as a data-modifying CTE of the insert): atomic on its own.
_RECORD_AND_MAP = Sql(f"WITH recorded AS ({_UPDATE_HOLD} RETURNING id) {_INSERT_MAP}", types=_TIMES)


async def record_session(
    sessions: async_sessionmaker[AsyncSession], hold: InventoryHold, stripe_session: CheckoutSession
) -> None:
    """The session on the hold (first writer wins) and the session→shop map (kept if present).

    On PostgreSQL one statement in a transaction of its own; elsewhere (and behind PgBouncer)
    the same two statements in one short transaction.
    """
    now = utcnow()
    params = {
        "hold_id": hold.id,
        "shop_id": hold.shop_id,
        "session_id": stripe_session.id,
        "url": stripe_session.url,
        "client_secret": stripe_session.client_secret,
        "expires_at": stripe_session.expires_at,
        "now": now,
        "created_at": now,
    }
    engine = own_transaction_engine(sessions.kw.get("bind"))
    if engine is not None:
        async with own_transaction(engine) as run:
            await run.execute(_RECORD_AND_MAP, params)
    else:
        async with sessions() as session, session.begin():
            run = await statements(session)
            await run.execute(_RECORD, params)
            await run.execute(_MAP, params)
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
        intent = await session.get(CheckoutIntent, hold.intent_id)
    assert shop is not None  # holds reference their shop
    email = intent.customer_email if intent is not None else None
    result: ReplayResult
    try:
        stripe_session = await payments.create_checkout_session(
            session_params(hold, ShopProfile.of(shop), customer_email=email),
            idempotency_key=hold.stripe_idempotency_key,
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
