"""``POST /api/stripe-webhook``: verify, resolve the tenant, then the domain (docs/api.md §3.4).

1. The signature is checked over the raw bytes before anything is parsed (400
   ``INVALID_SIGNATURE``); ``STRIPE_WEBHOOK_SECRET`` may hold several secrets (rotation).
   The timestamp must lie within 300 s of now, in both directions; a signed body that is
   not a usable Stripe event is a 400, never a 500 (:mod:`origin.orders.webhook_input`).
2. The shop comes from the event (:func:`~origin.orders.webhook_dispatch.event_shop`).
   Unresolvable → 503 ``TENANT_UNRESOLVABLE`` so Stripe retries (an event type nobody handles
   is answered 200 instead: retrying it for days would change nothing). A request
   ``x-shop-id`` that differs → 403 ``TENANT_MISMATCH`` (with
   ``WEBHOOK_TENANT_ASSERTION_ENABLED=false``: counted and logged, not refused).
3. Deduplication and the effects are :func:`~origin.orders.webhook_dispatch.dispatch`'s.

Every event that passed the signature check and was not refused is answered 200
``{received: true}`` and counted in ``webhook_events_total{type, outcome}`` as
``processed``, ``duplicate`` or ``ignored``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import Forbidden, Unavailable
from origin.orders.webhook_dispatch import WebhookDeps, dispatch, event_shop, handles
from origin.orders.webhook_input import parse_event, verify_signature
from origin.state import OriginState, get_state
from origin.web import SHOP_HEADER

log = logging.getLogger("origin.webhooks")


def _assert_tenant(
    state: OriginState, request: Request, shop_id: str, fields: dict[str, str]
) -> None:
    claimed = request.headers.get(SHOP_HEADER)
    if not claimed or claimed == shop_id:
        return
    enforced = state.settings.webhook_tenant_assertion_enabled
    state.metrics.webhook_tenant_mismatch.inc()
    log.warning(
        "webhook tenant mismatch",
        extra={**fields, "shop": shop_id, "claimedShop": claimed, "enforced": enforced},
    )
    if enforced:
        raise Forbidden(
            "The event belongs to another shop than this request names.",
            code="TENANT_MISMATCH",
        )


async def stripe_webhook(request: Request) -> JSONResponse:
    state = get_state(request)
    metrics = state.metrics
    raw = await request.body()
    verify_signature(raw, request.headers.get("stripe-signature"), state.settings.webhook_secrets)
    event = parse_event(raw)
    fields = {"eventId": event.id, "eventType": event.type}

    shop_id = await event_shop(state.sessions, event.obj)
    if shop_id is None and handles(event.type):
        metrics.webhook_tenant_unresolvable.inc()
        log.warning("webhook tenant unresolvable", extra=fields)
        raise Unavailable(
            "The event's shop could not be resolved yet; retry later.",
            code="TENANT_UNRESOLVABLE",
        )
    if shop_id is not None:
        _assert_tenant(state, request, shop_id, fields)

    deps = WebhookDeps(state.sessions, metrics, state.central.remote_pool)
    dispatched = await dispatch(event, shop_id=shop_id, deps=deps)
    metrics.webhook_events.labels(event.type, dispatched.outcome).inc()
    log.info(
        "webhook %s",
        dispatched.outcome,
        extra={
            **fields,
            "shop": shop_id,
            "outcome": dispatched.outcome,
            "result": dispatched.result,
        },
    )
    return JSONResponse({"received": True})
