"""Reservations in the central pool's own database: written, moved, given back.

A :class:`~origin.models.CentralReservation` is the central stock one origin hold took,
keyed by the hold's id. It conserves stock by the same rule as holds — ``initial = available
+ Σ active + Σ committed`` — and every move is a conditional status change (``WHERE status =
:old``) that exactly one caller wins, as in :mod:`origin.inventory.hold_states`. Functions
take the central database's session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from origin.inventory.stock import InsufficientStock, StockLine, give_back_stock, take_stock
from origin.models import CentralReservation, CentralReservationItem, InventoryHold, Variant
from origin.models.types import utcnow

log = logging.getLogger("origin.central")

HELD = frozenset({"active", "committed"})


def needs_move(status: str, target: str) -> bool:
    if status == target:
        return False
    if status in HELD and target in HELD:
        return status == "active"  # active → committed; committed never goes back
    return status in HELD or target in HELD


async def insert_reservation(
    central: AsyncSession, hold: InventoryHold, lines: Sequence[StockLine]
) -> None:
    """Take ``lines`` from the central stock for ``hold`` and record them."""
    now = utcnow()
    central.add(
        CentralReservation(
            hold_id=hold.id, shop_id=hold.shop_id, status="active", created_at=now, updated_at=now
        )
    )
    await central.flush()
    await take_stock(session=central, lines=lines)
    for line in sorted(lines, key=lambda line: line.order_key):
        central.add(
            CentralReservationItem(
                hold_id=hold.id,
                central_stock_id=line.stock_id,
                sku=line.sku,
                variant_key=line.variant_key,
                quantity=line.quantity,
            )
        )
    await central.flush()


async def reserved_lines(central: AsyncSession, hold_id: str) -> list[StockLine]:
    result = await central.execute(
        select(CentralReservationItem)
        .where(col(CentralReservationItem.hold_id) == hold_id)
        .order_by(col(CentralReservationItem.id))
    )
    return [
        StockLine("central", item.central_stock_id, item.sku, item.variant_key, item.quantity)
        for item in result.scalars()
    ]


async def _set_status(central: AsyncSession, hold_id: str, old: str, new: str, reason: str) -> bool:
    now = utcnow()
    values: dict[str, Any] = {"status": new, "updated_at": now}
    if new not in HELD:
        values.update(end_reason=reason, ended_at=now)
    result = await central.execute(
        update(CentralReservation)
        .where(col(CentralReservation.hold_id) == hold_id, col(CentralReservation.status) == old)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def move_reservation(
    central: AsyncSession, reservation: CentralReservation, target: str, reason: str
) -> tuple[bool, InsufficientStock | None]:
    """Move one reservation to ``target``, giving back or re-taking its stock.

    Returns whether this call moved it, and the shortage when a re-take (ended → held) found
    too little stock; the reservation then stays ended, marked ``retake_failed``.
    """
    # Plain values: a rolled-back savepoint expires the ORM object.
    hold_id, shop_id, old = reservation.hold_id, reservation.shop_id, reservation.status
    if not needs_move(old, target):
        return False, None
    lines = await reserved_lines(central, hold_id)
    if old in HELD and target in HELD:
        return await _set_status(central, hold_id, old, target, reason), None
    if old in HELD:
        moved = await _set_status(central, hold_id, old, target, reason)
        if moved:
            await give_back_stock(session=central, lines=lines)
        return moved, None
    try:
        async with central.begin_nested():
            moved = await _set_status(central, hold_id, old, target, reason)
            if moved:
                await take_stock(session=central, lines=lines)
    except InsufficientStock as short:
        await central.execute(
            update(CentralReservation)
            .where(col(CentralReservation.hold_id) == hold_id)
            .values(end_reason="retake_failed", updated_at=utcnow())
        )
        log.error(
            "central stock of a paid hold could not be taken again",
            extra={
                "shop": shop_id,
                "holdId": hold_id,
                "items": [s.to_json() for s in short.shortages],
            },
        )
        return False, short
    return moved, None


async def shop_lines(
    session: AsyncSession, *, shop_id: str, lines: Sequence[StockLine]
) -> list[StockLine]:
    """The same demand on the shop's own variants (the fallback), in the origin's database."""
    result = await session.execute(
        select(Variant.variant_key, Variant.id).where(
            col(Variant.shop_id) == shop_id,
            col(Variant.variant_key).in_([line.variant_key for line in lines]),
        )
    )
    ids: dict[str, int] = {key: variant_id for key, variant_id in result}
    return [
        StockLine("shop", ids[line.variant_key], line.sku, line.variant_key, line.quantity)
        for line in lines
    ]
