"""A verified Stripe event's effects: its shop, its claim, its handler (docs/api.md §3.4).

The route (:mod:`origin.orders.webhook_routes`) verifies and parses the request; from a
:class:`~origin.orders.webhook_input.StripeEvent` on, everything is here and never sees the web:

- :func:`event_shop` — the shop from the object's ``metadata.shop_id``, else from the
  Stripe-object→shop map written when the session was created; only a shop that exists.
- :func:`dispatch` — the event id is claimed (``processed_stripe_events`` primary key) in the
  same transaction as the effects: a concurrent duplicate waits on that row and then finds it
  taken (:class:`Dispatched` ``duplicate``); a failed attempt rolls its claim back, so Stripe's
  retry still takes effect. A handler from :data:`HANDLERS` applies the effects under a row
  lock on the hold, so events of one session (and the reaper) take turns however they are
  delivered. A type nobody handles, or a session of no hold of the shop, is ``ignored``.

Hold state only moves forward: a late ``expired`` never undoes ``paid`` (see
:data:`PAYMENT_PROGRESS`). Errors of the effects (a lost database) propagate, claim rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.inventory.hold_states import SeparateCentralPool, end_hold
from origin.metrics import OriginMetrics
from origin.models import InventoryHold, ProcessedStripeEvent, Shop, StripeObjectShop
from origin.orders.paid_orders import record_paid_order
from origin.orders.webhook_input import StripeEvent

__all__ = [
    "HANDLERS",
    "PAYMENT_PROGRESS",
    "Dispatched",
    "EventContext",
    "Outcome",
    "WebhookDeps",
    "advance_payment_status",
    "dispatch",
    "event_shop",
    "handles",
]

Outcome = Literal["processed", "duplicate", "ignored"]

# A hold's payment status only ever moves up this scale: paid beats everything, a failed
# async payment is not turned into "expired" by the session's later expiry, and "unpaid"
# (waiting for an async payment) never goes back to "pending".
PAYMENT_PROGRESS = {"pending": 0, "unpaid": 1, "expired": 2, "failed": 3, "paid": 4}

# A handler's result that means "nothing of ours": the event is counted as ignored.
UNKNOWN_SESSION = "unknown_session"


@dataclass(frozen=True, slots=True)
class WebhookDeps:
    """What dispatching needs from the process: the origin's sessions, its metrics and the
    central pool's own database, when it has one (holds moved here queue follow-ups)."""

    sessions: async_sessionmaker[AsyncSession]
    metrics: OriginMetrics
    remote_pool: SeparateCentralPool | None


@dataclass(frozen=True, slots=True)
class EventContext:
    event: StripeEvent
    shop_id: str
    metrics: OriginMetrics
    remote_pool: SeparateCentralPool | None


@dataclass(frozen=True, slots=True)
class Dispatched:
    """``outcome`` for ``webhook_events_total``; ``result`` the finer one, stored and logged."""

    outcome: Outcome
    result: str


class _Duplicate(Exception):
    """The event id was already claimed by an earlier (or concurrent) delivery."""


Handler = Callable[[AsyncSession, EventContext], Awaitable[str]]


def advance_payment_status(hold: InventoryHold, status: str) -> None:
    """Record what Stripe said about the payment, unless the hold already knows better."""
    if PAYMENT_PROGRESS[status] > PAYMENT_PROGRESS.get(hold.payment_status, 0):
        hold.payment_status = status


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


async def _locked_hold(session: AsyncSession, ctx: EventContext) -> InventoryHold | None:
    """The hold behind a Checkout Session, scoped to the resolved shop, locked for this event.

    By session id first; by ``metadata.hold_id`` when the origin crashed before it recorded
    the session on the hold (the session exists at Stripe, our row doesn't know it yet).
    The lock is taken before any stock row is touched, the order every other writer of
    holds uses (checkout, reaper).
    """
    session_id = ctx.event.obj.get("id")
    if not isinstance(session_id, str) or not session_id:
        return None  # (== None would be IS NULL: any hold still waiting for its session)
    query = select(InventoryHold).where(col(InventoryHold.shop_id) == ctx.shop_id)
    hold = (
        await session.execute(
            query.where(col(InventoryHold.stripe_session_id) == session_id).with_for_update()
        )
    ).scalar_one_or_none()
    hold_id = _metadata(ctx.event.obj).get("hold_id")
    if hold is None and isinstance(hold_id, str):
        hold = (
            await session.execute(query.where(col(InventoryHold.id) == hold_id).with_for_update())
        ).scalar_one_or_none()
        if hold is not None and hold.stripe_session_id is None:
            hold.stripe_session_id = session_id
            await session.flush()
    return hold


async def _paid(session: AsyncSession, ctx: EventContext) -> str:
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    order = await record_paid_order(
        session=session,
        hold=hold,
        stripe_session=ctx.event.obj,
        event_id=ctx.event.id,
        metrics=ctx.metrics,
        remote_pool=ctx.remote_pool,
    )
    if order.stripe_event_id != ctx.event.id:
        return "order_exists"
    return "order_flagged" if order.needs_attention else "order_recorded"


async def _completed(session: AsyncSession, ctx: EventContext) -> str:
    if ctx.event.obj.get("payment_status") in ("paid", "no_payment_required"):
        return await _paid(session, ctx)
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    advance_payment_status(hold, "unpaid")  # waits for the async payment events
    return "awaiting_async_payment"


async def _ended(session: AsyncSession, ctx: EventContext, *, status: str, reason: str) -> str:
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    released = await end_hold(
        session=session,
        hold=hold,
        to="released",
        reason=reason,
        metrics=ctx.metrics,
        remote_pool=ctx.remote_pool,
    )
    advance_payment_status(hold, status)
    return "hold_released" if released else "no_change"


async def _expired(session: AsyncSession, ctx: EventContext) -> str:
    return await _ended(session, ctx, status="expired", reason="session_expired")


async def _async_failed(session: AsyncSession, ctx: EventContext) -> str:
    return await _ended(session, ctx, status="failed", reason="async_payment_failed")


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _paid,
    "checkout.session.expired": _expired,
    "checkout.session.async_payment_failed": _async_failed,
}


def handles(event_type: str) -> bool:
    """Whether some handler acts on ``event_type`` (any other type is ignored)."""
    return event_type in HANDLERS


async def event_shop(sessions: async_sessionmaker[AsyncSession], obj: dict[str, Any]) -> str | None:
    """``metadata.shop_id``, else the session→shop map; only a shop that exists counts."""
    async with sessions() as session:
        shop_id = _metadata(obj).get("shop_id")
        if not shop_id and isinstance(obj.get("id"), str):
            mapped = await session.get(StripeObjectShop, obj["id"])
            shop_id = mapped.shop_id if mapped is not None else None
        if isinstance(shop_id, str) and await session.get(Shop, shop_id) is not None:
            return shop_id
    return None


async def dispatch(event: StripeEvent, *, shop_id: str | None, deps: WebhookDeps) -> Dispatched:
    """Claim ``event`` and apply its handler for ``shop_id`` in one transaction.

    ``shop_id`` is None only for a type nobody handles (the caller refuses a handled event
    whose shop is unknown, so that Stripe retries it).
    """
    handler = HANDLERS.get(event.type)
    if handler is None or shop_id is None:
        return Dispatched("ignored", "unhandled_type")
    ctx = EventContext(event, shop_id, deps.metrics, deps.remote_pool)
    try:
        async with deps.sessions() as session, session.begin():
            claim = ProcessedStripeEvent(
                event_id=event.id, type=event.type, shop_id=shop_id, outcome="claimed"
            )
            session.add(claim)
            try:
                # A concurrent duplicate blocks here until the first commits, then fails.
                await session.flush()
            except IntegrityError:
                raise _Duplicate from None
            result = await handler(session, ctx)
            claim.outcome = result
    except _Duplicate:
        return Dispatched("duplicate", "duplicate")
    return Dispatched("ignored" if result == UNKNOWN_SESSION else "processed", result)
