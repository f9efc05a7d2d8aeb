"""``POST /api/checkout-session``'s domain: reprice, hold, create the Stripe session.

Phases, never one long transaction (the Stripe-style idempotency-key design):

A. One short transaction claims the intent, reprices from the catalog and takes the stock
   (or finds the intent's hold) — :mod:`origin.checkout.claim`.
B. The Stripe call, with no transaction open and no row locked, under an idempotency key
   derived from the hold, so every retry of the hold asks Stripe for the same session; its
   parameters are built once per call from the hold's typed snapshot.
C. One short transaction records the session on the hold and the session→shop map
   (:mod:`origin.checkout.sessions`).

A crash or timeout between phases is recovered by the next retry of the same intent, which
finds the hold and resumes at B. Which requests are one checkout is
:mod:`origin.checkout.intents`' rule (always one buyer's); see docs/checkout.md.

Errors (all :class:`checkout_edge_shared.errors.AppError`, rendered by the one handler): the
phase-A 4xx of
the request, 409 ``INSUFFICIENT_STOCK`` / ``PRICE_CHANGED``, 503 ``INVENTORY_UNAVAILABLE``,
502 ``PAYMENT_PROVIDER_ERROR`` (definitive Stripe failure, hold released), 503
``PAYMENT_PROVIDER_UNAVAILABLE`` (unknown outcome, hold kept), 503 ``CHECKOUT_BUSY``.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from checkout_edge_shared.errors import AppError, Unavailable
from origin.catalog.values import ShopProfile
from origin.checkout.claim import claim
from origin.checkout.commands import (
    CheckoutCommand,
    CheckoutDeps,
    CheckoutOutcome,
    Created,
    Expired,
)
from origin.checkout.reaper import reap_hold
from origin.checkout.sessions import record_session, session_params
from origin.inventory.hold_states import end_hold, log_transition
from origin.models import InventoryHold
from origin.models.types import utcnow
from origin.payments.stripe_client import DefinitiveFailure, UnknownOutcome

RETRY_AFTER_SECONDS = "2"
# Attempts of phase A when a concurrent request for the same intent wins a unique index.
CLAIM_ATTEMPTS = 5


async def checkout(command: CheckoutCommand, deps: CheckoutDeps) -> CheckoutOutcome:
    """The checkout of ``command``: its hold, with a Stripe session recorded on it."""
    unsettled: str | None = None
    for _ in range(CLAIM_ATTEMPTS):
        try:
            result = await claim(command, deps)
        except IntegrityError:
            # A concurrent request of the same intent won the unique index; read its hold.
            continue
        if isinstance(result, Expired):
            unsettled = await _reap_expired(result.hold, deps, unsettled)
            continue
        if result.hold.stripe_session_id is None:
            await _create_session(deps, result.hold, result.shop, result.customer_email)
        return CheckoutOutcome(result.hold, result.shop, created=isinstance(result, Created))
    raise Unavailable(
        "The checkout is busy with a concurrent request; retry shortly.",
        code="CHECKOUT_BUSY",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _reap_expired(
    hold: InventoryHold, deps: CheckoutDeps, unsettled: str | None
) -> str | None:
    """Expire the intent's timed-out hold (Stripe first) so the intent can start afresh."""
    if hold.id == unsettled:
        # Stripe could not settle the old session (or it is being paid): one Stripe round
        # per request, not one per attempt, so the answer comes before the gateway's timeout.
        raise Unavailable(
            "The previous checkout of this attempt is still open at the payment provider; "
            "retry shortly.",
            code="PAYMENT_PROVIDER_UNAVAILABLE",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    reaped = await reap_hold(
        hold,
        sessions=deps.sessions,
        payments=deps.payments,
        metrics=deps.metrics,
        remote_pool=deps.central.remote_pool,
        now=utcnow(),
    )
    return None if reaped else hold.id


async def _release_after_definitive_failure(deps: CheckoutDeps, hold: InventoryHold) -> None:
    async with deps.sessions() as session, session.begin():
        released = await end_hold(
            session=session,
            hold=hold,
            to="released",
            reason="stripe_definitive_failure",
            metrics=deps.metrics,
            remote_pool=deps.central.remote_pool,
        )
    if released:
        deps.metrics.hold_orphaned.labels(hold.shop_id).inc()


async def _create_session(
    deps: CheckoutDeps, hold: InventoryHold, shop: ShopProfile, customer_email: str | None
) -> None:
    """Phase B (and C): no transaction is open while Stripe is called."""
    try:
        stripe_session = await deps.payments.create_checkout_session(
            session_params(hold, shop, customer_email=customer_email),
            idempotency_key=hold.stripe_idempotency_key,
        )
    except DefinitiveFailure as failure:
        deps.metrics.stripe_classification.labels("definitive").inc()
        if deps.settings.enable_stripe_error_classification:
            await _release_after_definitive_failure(deps, hold)
        raise AppError(
            "The payment provider refused to start this checkout.",
            code="PAYMENT_PROVIDER_ERROR",
            status=502,
            extra={"classification": failure.classification},
        ) from failure
    except UnknownOutcome as failure:
        deps.metrics.stripe_classification.labels("unknown").inc()
        log_transition(
            hold, "kept after unknown Stripe outcome", classification=failure.classification
        )
        raise Unavailable(
            "The payment provider did not answer clearly; your items are held. Retry the "
            "same request shortly.",
            code="PAYMENT_PROVIDER_UNAVAILABLE",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from failure
    await record_session(deps.sessions, hold, stripe_session)
