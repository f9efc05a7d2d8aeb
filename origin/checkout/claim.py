"""Phase A of a checkout: claim the intent, reprice, take the stock — one short transaction.

On the hot path every lookup the catalog can answer comes from the per-shop cache (one
primary-key read of the catalog version), the intent is claimed by one ``INSERT … ON
CONFLICT DO NOTHING`` (a new intent has no hold to look for), and the hold, its stock and
its items are three Core statements (:func:`origin.inventory.hold_states.insert_hold`).
Concurrent requests of one intent queue on the intent's and the active hold's unique keys
and converge on the winner's hold. Nothing here calls Stripe.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from checkout_edge_shared.errors import AppError, BadRequest, NotFound
from origin.carts.cart_identity import one_cart_id
from origin.carts.cart_store import CartContents, checkout_contents
from origin.carts.checkout_read import read_checkout_contents
from origin.catalog.cache import ShopCatalog
from origin.catalog.line_items import LineRequest, resolve_items
from origin.catalog.lookups import known_coupon, known_items
from origin.catalog.pricing import Baseline, DriftPolicy, Repriced, price_changed_error, reprice
from origin.catalog.snapshot import dump_quote
from origin.checkout import one_statement
from origin.checkout.commands import CheckoutCommand, CheckoutDeps, Claim, Created, Expired, Reused
from origin.checkout.intents import CartRef, IntentKey, claim_intent, intent_key
from origin.inventory.hold_states import insert_hold, log_transition, new_hold_id
from origin.inventory.routing import local_stock_lines, stock_lines_for
from origin.inventory.stock import InsufficientStock
from origin.models import InventoryHold
from origin.models.types import utcnow
from origin.sql import own_transaction, own_transaction_engine


async def _latest_hold(session: AsyncSession, shop_id: str, intent_id: str) -> InventoryHold | None:
    """The intent's active hold, else its committed one (a paid intent stays paid)."""
    query = (
        select(InventoryHold)
        .where(
            col(InventoryHold.shop_id) == shop_id,
            col(InventoryHold.intent_id) == intent_id,
            col(InventoryHold.status).in_(("active", "committed")),
        )
        .order_by(col(InventoryHold.created_at).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _shop(session: AsyncSession, deps: CheckoutDeps, shop_id: str) -> ShopCatalog:
    catalog = await deps.catalog.shop(session, shop_id) if shop_id else None
    if catalog is None:
        raise NotFound(f"Shop {shop_id!r} does not exist.", code="SHOP_NOT_FOUND")
    return catalog


async def claim(command: CheckoutCommand, deps: CheckoutDeps) -> Claim:
    """Phase A. Raises the checkout's 4xx/503 domain errors; IntegrityError on a lost race."""
    created = await _claim_in_one_statement(command, deps)
    if created is not None:
        return created
    async with deps.sessions() as session, session.begin():
        catalog = await _shop(session, deps, command.shop_id)
        shop = catalog.shop
        cart_id = one_cart_id(command.cart_ids)
        cart: CartContents | None = None
        items = resolve_items(command.items) if command.items is not None else None
        if items is None:
            if cart_id is None:
                raise BadRequest("Send items, or a cartId (body, cart_id cookie or x-cart-id).")
            cart = await checkout_contents(session, shop_id=shop.id, cart_id=cart_id, now=utcnow())
        key = _intent_key(deps, command, shop.id, items, cart)
        intent = await claim_intent(
            session=session,
            shop_id=shop.id,
            key=key,
            cart_id=cart.cart_id if cart is not None else None,
            customer_email=command.customer_email,
        )
        existing = None if intent.new else await _latest_hold(session, shop.id, key.id)
        if existing is not None:
            if existing.status == "active" and existing.expires_at <= utcnow():
                return Expired(existing)
            deps.metrics.hold_idempotent_hit.labels(shop.id).inc()
            log_transition(existing, "reused", idempotentHit=True)
            return Reused(existing, shop, intent.customer_email)
        # Only now: a paid checkout's retry finds its hold even though its cart was emptied.
        lines = _lines(items, cart)
        if not lines:
            raise BadRequest("The cart is empty.", code="CART_EMPTY")
        hold = await _take(session, deps, command, catalog, lines, cart, key.id)
        return Created(hold, shop, intent.customer_email)


def _intent_key(
    deps: CheckoutDeps,
    command: CheckoutCommand,
    shop_id: str,
    items: list[LineRequest] | None,
    cart: CartContents | None,
) -> IntentKey:
    return intent_key(
        shop_id=shop_id,
        idempotency_key=command.idempotency_key,
        cart=CartRef(cart.cart_id, cart.revision) if cart is not None else None,
        items=items,
        coupon_code=command.coupon_code,
        rental_days=command.rental_days,
        expected_total=command.expected_total,
        customer_email=command.customer_email,
        idempotent_holds=deps.settings.enable_idempotent_holds,
    )


def _lines(items: list[LineRequest] | None, cart: CartContents | None) -> list[LineRequest]:
    if items is not None:
        return items
    return list(cart.lines) if cart is not None else []


async def _claim_in_one_statement(command: CheckoutCommand, deps: CheckoutDeps) -> Created | None:
    """A new intent: claim, stock and hold in one statement (:mod:`.one_statement`), priced
    from the cached catalog that statement checks is current.

    None when that does not apply — no cached catalog, central stock, SQLite or PgBouncer, no
    such cart or an empty one, a request the repricing refuses, an intent that already
    exists, a catalog that moved: the step-by-step claim then answers (it looks for an existing
    intent's hold before it reprices). The request's 400s come in the same order as there.
    """
    catalog = deps.catalog.cached(command.shop_id)
    engine = own_transaction_engine(deps.engine)
    if catalog is None or catalog.version is None or engine is None:
        return None
    if not deps.central.routes_locally(catalog):  # (so no pool in a database of its own)
        return None
    shop = catalog.shop
    cart_id = one_cart_id(command.cart_ids)  # 400 CART_ID_CONFLICT, as the step-by-step path
    items = resolve_items(command.items) if command.items is not None else None
    if items is None and cart_id is None:
        return None
    async with own_transaction(engine) as run:
        cart = None
        if items is None:
            cart = await read_checkout_contents(run, shop_id=shop.id, cart_id=cart_id, now=utcnow())
            if cart is None:
                return None
        key = _intent_key(deps, command, shop.id, items, cart)  # 400 for items without a key
        lines = _lines(items, cart)
        if not lines:
            return None
        try:
            repriced = _reprice(deps, command, catalog, lines, cart)
        except AppError:
            return None
        if repriced.drift.reject:
            return None
        hold = _new_hold(deps, shop.id, repriced, key.id)
        try:
            claimed = await one_statement.claim_and_hold(
                run,
                catalog_version=catalog.version,
                key=key,
                cart_id=cart.cart_id if cart is not None else None,
                customer_email=command.customer_email,
                hold=hold,
                lines=local_stock_lines(catalog, lines),
            )
        except InsufficientStock:
            deps.metrics.insufficient_stock.labels(shop.id, "checkout").inc()
            raise
    if claimed is not one_statement.Claimed.NEW:
        return None
    _check_drift(deps, shop.id, repriced)  # counts the drift of the hold just written
    deps.metrics.holds_created.labels(shop.id, "shop").inc()
    log_transition(hold, "active", amountTotal=hold.amount_total)
    return Created(hold, shop, command.customer_email)


def _reprice(
    deps: CheckoutDeps,
    command: CheckoutCommand,
    catalog: ShopCatalog,
    lines: list[LineRequest],
    cart: CartContents | None,
) -> Repriced:
    """``lines`` priced from the catalog (400 for an unknown variant or coupon); no effects."""
    coupon = known_coupon(catalog.coupons, command.coupon_code) if command.coupon_code else None
    return reprice(
        shop=catalog.shop,
        lines=lines,
        catalog=known_items(catalog.items, lines),
        policy=DriftPolicy.from_settings(deps.settings),
        coupon=coupon,
        rental_days=command.rental_days,
        baseline=Baseline.choose(
            expected_total=command.expected_total,
            price_at_add_total=cart.price_at_add_total if cart is not None else None,
        ),
    )


def _check_drift(deps: CheckoutDeps, shop_id: str, repriced: Repriced) -> None:
    """Count a drift the policy counts; 409 ``PRICE_CHANGED`` when it refuses the request."""
    if repriced.drift.count_metric:
        deps.metrics.reprice_drift.labels(shop_id, deps.settings.checkout_reprice_policy).inc()
    if repriced.drift.reject:
        raise price_changed_error(repriced)


def _new_hold(
    deps: CheckoutDeps, shop_id: str, repriced: Repriced, intent_id: str
) -> InventoryHold:
    quote = repriced.quote
    hold_id = new_hold_id()
    now = utcnow()
    return InventoryHold(
        id=hold_id,
        shop_id=shop_id,
        intent_id=intent_id,
        status="active",
        active_key=intent_id,
        stripe_idempotency_key=f"checkout-edge-{hold_id}",
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=deps.settings.inventory_hold_ttl_seconds),
        currency=quote.currency,
        amount_total=quote.total,
        deposit_total=quote.deposit_total,
        rental_days=quote.rental_days,
        price_changed=repriced.drift.price_changed,
        pricing=dump_quote(quote),
    )


async def _take(
    session: AsyncSession,
    deps: CheckoutDeps,
    command: CheckoutCommand,
    catalog: ShopCatalog,
    lines: list[LineRequest],
    cart: CartContents | None,
    intent_id: str,
) -> InventoryHold:
    """Reprice ``lines`` and hold their stock as a new hold of ``intent_id``."""
    repriced = _reprice(deps, command, catalog, lines, cart)
    _check_drift(deps, catalog.shop.id, repriced)
    hold = _new_hold(deps, catalog.shop.id, repriced, intent_id)
    try:
        await insert_hold(
            session=session,
            hold=hold,
            lines=await stock_lines_for(
                session, central=deps.central, catalog=catalog, lines=lines
            ),
            metrics=deps.metrics,
            remote_pool=deps.central.remote_pool,
        )
    except InsufficientStock:
        deps.metrics.insufficient_stock.labels(catalog.shop.id, "checkout").inc()
        raise
    log_transition(hold, "active", amountTotal=hold.amount_total)
    return hold
