"""Carts (docs/api.md §3.1, plan item COM-402): identifiers and quantities, one shop each.

A cart line stores what the customer chose — SKU, variant attributes, quantity — and
``priceAtAdd``, the unit price shown when the line was first added. ``priceAtAdd`` is the
checkout's drift baseline and is never charged; every answer prices the cart from the
catalog now.

* **Ownership.** Every lookup carries the shop, so another shop's cart id is simply not
  found — indistinguishable from an id that never existed.
* **Expiry.** A cart lives ``CART_TTL_SECONDS`` after its last write; an expired cart is
  not found either (and a POST with its id starts a new cart). :func:`purge_expired`
  deletes them.
* **Concurrency.** Writers lock the cart row (``FOR UPDATE``) so writes to one cart queue;
  adding a line that is already there merges it in one ``INSERT … ON CONFLICT`` whose
  ``WHERE`` keeps the merged quantity within 1…999.
* **Revision.** Every change (add, merge, patch, delete, the clear after payment) increases
  ``revision`` by one in SQL (``revision = revision + 1``), so no concurrent writer's step is
  lost; every answer carries it. A keyless checkout is keyed on it (docs/checkout.md).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from checkout_edge_shared.errors import BadRequest, Conflict, NotFound
from origin.catalog.line_items import MAX_QUANTITY, LineRequest
from origin.models import Cart, CartLine

__all__ = [
    "MAX_CART_LINES",
    "CartContents",
    "add_line",
    "as_request",
    "checkout_contents",
    "clear",
    "create_cart",
    "find_cart",
    "lines_of",
    "purge_expired",
    "record_change",
    "remove_line",
    "require_cart",
    "set_quantity",
    "valid_cart_id",
]

MAX_CART_LINES = 100
# What new_cart_id produces (32 characters) and a little room; anything else is not a cart.
_CART_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def valid_cart_id(cart_id: str | None) -> bool:
    return cart_id is not None and _CART_ID.fullmatch(cart_id) is not None


def _new_cart_id() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits: a cart id is a bearer credential


def _new_line_id() -> str:
    return "ln_" + secrets.token_urlsafe(12)


async def find_cart(
    session: AsyncSession, *, shop_id: str, cart_id: str | None, now: datetime, lock: bool = False
) -> Cart | None:
    """The shop's unexpired cart ``cart_id``, locked for writing when ``lock``."""
    if not valid_cart_id(cart_id):
        return None
    query = select(Cart).where(
        col(Cart.id) == cart_id, col(Cart.shop_id) == shop_id, col(Cart.expires_at) > now
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def require_cart(
    session: AsyncSession, *, shop_id: str, cart_id: str | None, now: datetime, lock: bool = False
) -> Cart:
    """:func:`find_cart` or 404 ``CART_NOT_FOUND`` (unknown, another shop's, or expired)."""
    cart = await find_cart(session, shop_id=shop_id, cart_id=cart_id, now=now, lock=lock)
    if cart is None:
        raise NotFound("No such cart; it may have expired.", code="CART_NOT_FOUND")
    return cart


async def create_cart(
    session: AsyncSession, *, shop_id: str, now: datetime, ttl_seconds: int
) -> Cart:
    cart = Cart(
        id=_new_cart_id(),
        shop_id=shop_id,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(cart)
    await session.flush()
    return cart


async def record_change(
    session: AsyncSession, *, cart: Cart, now: datetime, ttl_seconds: int | None
) -> int:
    """A change: ``revision + 1`` and, when ``ttl_seconds``, another TTL; returns the revision."""
    values: dict[str, Any] = {"revision": col(Cart.revision) + 1, "updated_at": now}
    if ttl_seconds is not None:
        values["expires_at"] = now + timedelta(seconds=ttl_seconds)
    result = await session.execute(
        update(Cart)
        .where(col(Cart.id) == cart.id)
        .values(**values)
        .returning(col(Cart.revision))
        .execution_options(synchronize_session=False)
    )
    revision = int(result.scalar_one())
    for name, value in {**values, "revision": revision}.items():
        set_committed_value(cart, name, value)
    return revision


async def _upsert_line(session: AsyncSession, values: dict[str, Any]) -> str | None:
    """Insert the line or add to the existing one; None when the sum would exceed 999."""
    merged = col(CartLine.quantity) + values["quantity"]
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(CartLine).values(**values)
        statement = pg.on_conflict_do_update(
            index_elements=["cart_id", "variant_key"],
            set_={"quantity": merged},
            where=merged <= MAX_QUANTITY,
        ).returning(col(CartLine.id))
    else:
        lite = sqlite.insert(CartLine).values(**values)
        statement = lite.on_conflict_do_update(
            index_elements=["cart_id", "variant_key"],
            set_={"quantity": merged},
            where=merged <= MAX_QUANTITY,
        ).returning(col(CartLine.id))
    return (await session.execute(statement)).scalar_one_or_none()


async def add_line(
    session: AsyncSession, *, cart: Cart, line: LineRequest, price_at_add: int, now: datetime
) -> str:
    """Add ``line`` or merge it into the identical one; returns the line id.

    A merged line keeps its first ``priceAtAdd``: the baseline is what the customer saw
    when they first chose the item. The caller holds the cart row lock.
    """
    others = await session.scalar(
        select(func.count())
        .select_from(CartLine)
        .where(col(CartLine.cart_id) == cart.id, col(CartLine.variant_key) != line.variant_key)
    )
    if (others or 0) >= MAX_CART_LINES:
        raise Conflict(f"A cart holds at most {MAX_CART_LINES} different items.", code="CART_FULL")
    values = {
        "id": _new_line_id(),
        "cart_id": cart.id,
        "sku": line.sku,
        "variant_key": line.variant_key,
        "attributes": line.attributes,
        "quantity": line.quantity,
        "price_at_add": price_at_add,
        "created_at": now,
    }
    line_id = await _upsert_line(session, values)
    if line_id is None:
        raise BadRequest(
            f"quantity: the cart already holds this item; one line holds at most {MAX_QUANTITY}."
        )
    return line_id


async def set_quantity(session: AsyncSession, *, cart_id: str, line_id: str, quantity: int) -> None:
    """Set a line's quantity; 0 removes it. 404 ``LINE_NOT_FOUND`` for another cart's line."""
    if quantity == 0:
        await remove_line(session, cart_id=cart_id, line_id=line_id)
        return
    updated = await session.execute(
        update(CartLine)
        .where(col(CartLine.id) == line_id, col(CartLine.cart_id) == cart_id)
        .values(quantity=quantity)
        .returning(col(CartLine.id))
    )
    if updated.scalar_one_or_none() is None:
        raise _line_not_found(line_id)


async def remove_line(session: AsyncSession, *, cart_id: str, line_id: str) -> None:
    removed = await session.execute(
        delete(CartLine)
        .where(col(CartLine.id) == line_id, col(CartLine.cart_id) == cart_id)
        .returning(col(CartLine.id))
    )
    if removed.scalar_one_or_none() is None:
        raise _line_not_found(line_id)


def _line_not_found(line_id: str) -> NotFound:
    return NotFound(f"lineId: this cart has no line {line_id!r}.", code="LINE_NOT_FOUND")


async def clear(session: AsyncSession, *, cart_id: str) -> None:
    """Empty the cart (it keeps its id); the caller records the change."""
    await session.execute(delete(CartLine).where(col(CartLine.cart_id) == cart_id))


async def lines_of(session: AsyncSession, *, cart_id: str) -> list[CartLine]:
    result = await session.execute(
        select(CartLine)
        .where(col(CartLine.cart_id) == cart_id)
        .order_by(col(CartLine.created_at), col(CartLine.id))
    )
    return list(result.scalars())


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired carts (their lines cascade); returns how many."""
    result = await session.execute(
        delete(Cart).where(col(Cart.expires_at) <= now).returning(col(Cart.id))
    )
    return len(result.scalars().all())


def as_request(line: CartLine) -> LineRequest:
    return LineRequest(
        sku=line.sku,
        attributes=dict(line.attributes),
        variant_key=line.variant_key,
        quantity=line.quantity,
        field=f"cart line {line.id}",
    )


@dataclass(frozen=True, slots=True)
class CartContents:
    """What the checkout prices: the cart's lines and the drift baseline they carry."""

    cart_id: str
    revision: int
    lines: tuple[LineRequest, ...]
    price_at_add_total: int


async def checkout_contents(
    session: AsyncSession, *, shop_id: str, cart_id: str | None, now: datetime
) -> CartContents:
    """The cart's lines for checkout; 404 ``CART_NOT_FOUND``. May be empty: the caller decides."""
    cart = await require_cart(session, shop_id=shop_id, cart_id=cart_id, now=now)
    lines = await lines_of(session, cart_id=cart.id)
    return CartContents(
        cart_id=cart.id,
        revision=cart.revision,
        lines=tuple(as_request(line) for line in lines),
        price_at_add_total=sum(line.price_at_add * line.quantity for line in lines),
    )
