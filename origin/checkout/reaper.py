"""The hold reaper (docs/api.md §3.7): expired holds give their stock back, exactly once.

Safe with any number of origin processes reaping at once: candidates are read without locks,
the Stripe session is expired with no transaction open, and the release itself is a
conditional status change (``WHERE status = 'active' AND expires_at < :now``) that exactly
one process wins. A hold whose session Stripe reports complete is kept for the webhook.

A hold with no recorded session is never released blind: the create call is replayed
(:func:`origin.checkout.sessions.replay_create`) and the session it returns is expired first. When
the replay's outcome is unknown the hold and its stock are kept and the next pass tries again
(``reaper_session_replays_total{outcome="failed"}``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from origin.carts import cart_store as carts
from origin.checkout.sessions import NeverCreated, Recovered, replay_create
from origin.inventory.hold_states import SeparateCentralPool, end_hold, log_transition
from origin.metrics import OriginMetrics
from origin.models import InventoryHold
from origin.models.types import utcnow
from origin.payments.stripe_client import PaymentProviderFailure, StripePayments

log = logging.getLogger("origin.reaper")


async def reap_hold(
    hold: InventoryHold,
    *,
    sessions: async_sessionmaker[AsyncSession],
    payments: StripePayments,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
    now: datetime,
) -> bool:
    """Expire one hold past its expiry; True when this call gave its stock back."""
    payment_status = "expired"
    session_id = hold.stripe_session_id
    if session_id is None:
        replayed = await replay_create(hold, sessions=sessions, payments=payments, metrics=metrics)
        if isinstance(replayed, Recovered):
            session_id = replayed.session.id
        elif not isinstance(replayed, NeverCreated):
            return False  # unknown: keep the stock, try again on the next pass
    if session_id is not None:
        try:
            stripe_session = await payments.expire_checkout_session(session_id)
        except PaymentProviderFailure as failure:
            # Stripe's answer is unknown: keep the stock, try again on the next pass.
            log.warning(
                "reaper could not expire the Stripe session; hold kept",
                extra={
                    "shop": hold.shop_id,
                    "holdId": hold.id,
                    "intent": hold.intent_id,
                    "classification": failure.classification,
                },
            )
            return False
        if stripe_session.status == "complete":
            log_transition(hold, "kept for webhook", stripeStatus="complete")
            return False
    async with sessions() as session, session.begin():
        ended = await end_hold(
            session=session,
            hold=hold,
            to="expired",
            reason="ttl",
            metrics=metrics,
            remote_pool=remote_pool,
            only_if_expired_before=now,
        )
        if ended:
            current = await session.get(InventoryHold, hold.id)
            if current is not None and current.payment_status == "pending":
                current.payment_status = payment_status
    if ended:
        metrics.holds_reaped.labels(hold.shop_id).inc()
    return ended


async def reap_once(
    *,
    sessions: async_sessionmaker[AsyncSession],
    payments: StripePayments,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
    batch_size: int = 200,
) -> int:
    """One pass; returns how many holds this pass expired."""
    now = utcnow()
    async with sessions() as session:
        candidates = list(
            (
                await session.execute(
                    select(InventoryHold)
                    .where(InventoryHold.status == "active", InventoryHold.expires_at < now)
                    .order_by(InventoryHold.expires_at)  # type: ignore[arg-type]
                    .limit(batch_size)
                )
            ).scalars()
        )
    reaped = 0
    for hold in candidates:
        if await reap_hold(
            hold,
            sessions=sessions,
            payments=payments,
            metrics=metrics,
            remote_pool=remote_pool,
            now=now,
        ):
            reaped += 1
    if reaped:
        log.info("reaper pass", extra={"expired": reaped, "candidates": len(candidates)})
    return reaped


async def run_reaper(
    *,
    sessions: async_sessionmaker[AsyncSession],
    payments: StripePayments,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
    interval: float,
) -> None:
    """The lifespan's background task: a pass every ``interval`` seconds until cancelled."""
    while True:
        try:
            await reap_once(
                sessions=sessions, payments=payments, metrics=metrics, remote_pool=remote_pool
            )
            metrics.reaper_last_success.set_to_current_time()
            async with sessions() as session, session.begin():
                purged = await carts.purge_expired(session, now=utcnow())
            if purged:
                log.info("expired carts purged", extra={"carts": purged})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reaper pass failed; will retry")
        await asyncio.sleep(interval)
