"""Inventory holds: stock taken by the database, exactly once, and given back exactly once.

Every function takes ``*, session`` and never commits; the caller owns the transaction.

- Stock is taken and given back by :mod:`origin.inventory.stock` (conditional updates in a
  fixed order); a shortage rolls back everything this hold took.
- One *active* hold per (shop, intent) is enforced by the unique ``active_key``; a concurrent
  duplicate fails its INSERT and the caller reads the winner's hold instead.
- Ending a hold is a conditional status change (``WHERE status = 'active'``); only the one
  transaction that changes the row gives the stock back, however many race.
- The central pool (pool ``central``) is taken the same way when it lives in the origin's
  database. When ``CENTRAL_INVENTORY_DATABASE_URL`` puts it elsewhere, the caller passes that
  :class:`SeparateCentralPool` (:mod:`origin.inventory.central_pool`) as ``remote_pool``: the
  hold's central stock is then reserved there in a transaction of its own (which commits in that
  database before the caller's transaction does), and every later move of the hold queues a
  follow-up row in the caller's transaction (:mod:`origin.inventory.followups`) that a worker
  turns into the same move over there. ``remote_pool=None`` means the pool has no database
  of its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from origin.inventory.followups import queue_followup
from origin.inventory.stock import (
    InsufficientStock,
    StockLine,
    give_back_stock,
    held_lines,
    now_param,
    rowcount,
    take_stock,
    time_param,
)
from origin.metrics import OriginMetrics
from origin.models import InventoryHold, metadata
from origin.models.types import utcnow
from origin.sql import Sql, statements

log = logging.getLogger("origin.holds")

EndStatus = Literal["released", "expired"]
_HOLDS = metadata.tables["inventory_holds"]
_HOLD_ITEMS = metadata.tables["hold_items"]
_INSERT_HOLD = Sql.insert(_HOLDS)
_INSERT_HOLD_ITEM = Sql.insert(_HOLD_ITEMS, skip=("id",))


class SeparateCentralPool(Protocol):
    """The central pool in a database of its own (``CENTRAL_INVENTORY_DATABASE_URL``).

    Its stock cannot be taken in the caller's transaction: it is reserved in a transaction of
    its own keyed by the hold id; follow-up rows queued by the hold's later moves bring the
    reservation in line (a hold never written — the caller rolled back — is given back by
    the pool's sweep).
    """

    async def reserve(
        self, *, session: AsyncSession, hold: InventoryHold, lines: Sequence[StockLine]
    ) -> list[StockLine]:
        """Reserve ``lines`` for ``hold`` (commits in the pool's database); returns shop-stock
        lines to take instead when the pool is unavailable and the policy falls back."""
        ...

    async def retake(self, *, hold: InventoryHold) -> None:
        """A late payment: take the hold's central stock again (commits in the pool's
        database) or raise :class:`InsufficientStock`."""
        ...


def new_hold_id() -> str:
    return "hold_" + uuid.uuid4().hex


def log_transition(hold: InventoryHold, to: str, **fields: Any) -> None:
    log.info(
        "hold %s",
        to,
        extra={"shop": hold.shop_id, "holdId": hold.id, "intent": hold.intent_id, **fields},
    )


async def find_active_hold(
    *, session: AsyncSession, shop_id: str, intent_id: str
) -> InventoryHold | None:
    query = select(InventoryHold).where(
        InventoryHold.shop_id == shop_id, InventoryHold.active_key == intent_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def insert_hold(
    *,
    session: AsyncSession,
    hold: InventoryHold,
    lines: Sequence[StockLine],
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
) -> InventoryHold:
    """Claim the (shop, intent) slot, then take the stock, then record what was taken.

    The INSERT comes first so that concurrent retries of one intent queue on the unique
    index and never touch stock; the loser sees ``IntegrityError`` at flush. Central lines go
    to ``remote_pool`` when given (see the module docstring).
    """
    # Prepared statements (origin.sql): the ORM's unit of work, or a Core construct built per
    # request, costs more CPU than these rows are worth.
    run = await statements(session)
    await run.execute(_INSERT_HOLD, {name: getattr(hold, name) for name in _INSERT_HOLD.names})
    remote = remote_pool
    local = [line for line in lines if remote is None or line.pool == "shop"]
    reserved = [line for line in lines if remote is not None and line.pool == "central"]
    await take_stock(session=session, lines=local)
    if remote is not None and reserved:
        # Last, so that a shortage of shop stock never reaches the other database.
        fallback = await remote.reserve(session=session, hold=hold, lines=reserved)
        if fallback:
            await take_stock(session=session, lines=fallback)
            local += fallback
            reserved = []
    items = [
        {
            "hold_id": hold.id,
            "pool": line.pool,
            "variant_id": line.stock_id if line.pool == "shop" else None,
            "central_stock_id": line.stock_id if line.pool == "central" else None,
            "sku": line.sku,
            "variant_key": line.variant_key,
            "quantity": line.quantity,
        }
        for line in sorted(local, key=lambda line: line.order_key)
    ]
    if items:
        await run.executemany(_INSERT_HOLD_ITEM, items)
    pools = {line.pool for line in local} | ({"central"} if reserved else set())
    metrics.holds_created.labels(hold.shop_id, ",".join(sorted(pools))).inc()
    return hold


_END_HOLD = (
    "UPDATE inventory_holds SET status = :to, active_key = NULL, end_reason = :reason, "
    "ended_at = :now, updated_at = :now WHERE id = :id AND status = 'active'"
)
# The reaper's variant: a retry that extended nothing can't be reaped early by a stale read.
_END_HOLD_IF_EXPIRED = _END_HOLD + " AND expires_at < :cutoff"


async def end_hold(
    *,
    session: AsyncSession,
    hold: InventoryHold,
    to: EndStatus,
    reason: str,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
    only_if_expired_before: datetime | None = None,
) -> bool:
    """Move an active hold to ``to`` and give its stock back; False if it was not active.

    With ``remote_pool``, a follow-up is queued in this transaction for its reservation.
    """
    now = utcnow()
    params: dict[str, Any] = {
        "id": hold.id,
        "to": to,
        "reason": reason,
        "now": now_param(session),
    }
    statement = _END_HOLD
    if only_if_expired_before is not None:
        statement = _END_HOLD_IF_EXPIRED
        params["cutoff"] = time_param(session, only_if_expired_before)
    result = await session.execute(text(statement), params)
    if rowcount(result) == 0:
        return False
    await give_back_stock(session=session, lines=await held_lines(session=session, hold_id=hold.id))
    if remote_pool is not None:
        await queue_followup(session, hold.id)
    hold.status, hold.active_key, hold.end_reason, hold.ended_at = to, None, reason, now
    metrics.hold_ended(hold.shop_id, to, reason)
    log_transition(hold, to, reason=reason)
    return True


CommitOutcome = Literal["committed", "retaken", "not_retaken", "already_committed"]


async def commit_hold(
    *,
    session: AsyncSession,
    hold: InventoryHold,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
) -> CommitOutcome:
    """Payment arrived: keep the stock for good.

    An active hold is committed as is. A hold that already ended (expired, released) has given
    its stock back, so the stock is taken again if it can be; if not, the caller records the
    order anyway and flags it (a paid order is never lost). With ``remote_pool``, a follow-up
    is queued in this transaction, and a late payment re-takes the central stock at once.
    """
    result = await session.execute(
        text(
            "UPDATE inventory_holds SET status = 'committed', active_key = NULL, "
            "ended_at = :now, updated_at = :now WHERE id = :id AND status = 'active'"
        ),
        {"id": hold.id, "now": now_param(session)},
    )
    if remote_pool is not None:
        await queue_followup(session, hold.id)
    if rowcount(result) == 1:
        hold.status, hold.active_key = "committed", None
        metrics.hold_ended(hold.shop_id, "committed", "paid")
        log_transition(hold, "committed")
        return "committed"
    await session.refresh(hold)
    if hold.status == "committed":
        return "already_committed"
    lines = await held_lines(session=session, hold_id=hold.id)
    savepoint = await session.begin_nested()
    try:
        await take_stock(session=session, lines=lines)
        if remote_pool is not None:
            await remote_pool.retake(hold=hold)
    except InsufficientStock:
        await savepoint.rollback()
        log_transition(hold, "late payment could not re-take stock", status=hold.status)
        return "not_retaken"
    await savepoint.commit()
    await session.execute(
        text(
            "UPDATE inventory_holds SET status = 'committed', active_key = NULL, "
            "end_reason = :reason, updated_at = :now WHERE id = :id AND status = :old"
        ),
        {"id": hold.id, "old": hold.status, "reason": "late_payment", "now": now_param(session)},
    )
    hold.status = "committed"
    metrics.hold_ended(hold.shop_id, "committed", "paid_after_expiry")
    log_transition(hold, "committed", reason="late_payment_retaken")
    return "retaken"
