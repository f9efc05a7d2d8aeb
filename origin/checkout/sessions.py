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

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from origin.catalog.snapshot import load_quote
from origin.catalog.values import ShopProfile
from origin.inventory.hold_states import log_transition
from origin.metrics import OriginMetrics
from origin.models import CheckoutIntent, InventoryHold, Shop, metadata
from origin.models.types import utcnow
from origin.payments.session_params import checkout_session_params
from origin.payments.stripe_client import (
    CheckoutSession,
    DefinitiveFailure,
    PaymentProviderFailure,
    StripePayments,
)

log = logging.getLogger("origin.hold_sessions")

_HOLDS = metadata.tables["inventory_holds"]
_OBJECT_SHOPS = metadata.tables["stripe_object_shops"]


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


async def record_session(
    sessions: async_sessionmaker[AsyncSession], hold: InventoryHold, stripe_session: CheckoutSession
) -> None:
    """The session on the hold (first writer wins) and the session→shop map (kept if present).

    On PostgreSQL one statement (the update as a data-modifying CTE of the insert), on its own
    and so atomic without a transaction block; elsewhere the same two statements in one
    short transaction.
    """
    now = utcnow()
    record = (
        _HOLDS.update()
        .where(_HOLDS.c.id == hold.id, _HOLDS.c.stripe_session_id.is_(None))
        .values(
            stripe_session_id=stripe_session.id,
            stripe_session_url=stripe_session.url,
            stripe_client_secret=stripe_session.client_secret,
            stripe_expires_at=stripe_session.expires_at,
            updated_at=now,
        )
    )
    object_shop = {
        "object_id": stripe_session.id,
        "object_type": "checkout.session",
        "shop_id": hold.shop_id,
        "hold_id": hold.id,
        "created_at": now,
    }
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            connection = await session.connection(
                execution_options={"isolation_level": "AUTOCOMMIT"}
            )
            await connection.execute(
                postgresql.insert(_OBJECT_SHOPS)
                .values(**object_shop)
                .on_conflict_do_nothing(index_elements=["object_id"])
                .add_cte(record.returning(_HOLDS.c.id).cte("recorded"))
            )
        else:
            async with session.begin():
                await session.execute(record)
                await session.execute(
                    sqlite.insert(_OBJECT_SHOPS)
                    .values(**object_shop)
                    .on_conflict_do_nothing(index_elements=["object_id"])
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
