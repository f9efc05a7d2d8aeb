"""The central pool in a database of its own (``CENTRAL_INVENTORY_DATABASE_URL``, §3.6).

It cannot share the origin's transaction, so a hold's central stock lives there as a
*reservation* (:mod:`origin.inventory.reservations`) keyed by the origin hold's id.

- **Reserve**: inside the origin's phase-A transaction, after the shop stock was taken, the
  reservation is written and its stock taken in one short central transaction (it commits
  there before the origin's does).
- **Follow**: a transaction that moves a hold queues a follow-up row in the origin's database
  (:mod:`origin.inventory.followups`); :meth:`CentralDatabase.run` turns each into the same move
  of the reservation — ``active`` stays, ``committed`` keeps the stock, ``released``/``expired``
  gives it back. A late payment of an ended hold re-takes the stock at once
  (:meth:`CentralDatabase.retake`), so a shortage flags the order.
- **Sweep**: a periodic pass compares active and recently moved reservations with the
  origin's holds: a reservation whose hold the origin never wrote (its transaction rolled
  back after the reserve) is given back after ``ORPHAN_GRACE``, and holds moved by a process
  that had no follow-up to queue are caught up.

Failures: no connection in time, refused, no database → ``unreachable``; a failing statement
→ ``query_failed`` (docs/central-inventory.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Literal

from sqlalchemy import or_
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_postgres_engine
from sqlmodel import col, select

from origin.catalog.values import ShopProfile
from origin.db import create_engine, session_factory
from origin.inventory.followups import due_followups, mark_done
from origin.inventory.reservations import (
    insert_reservation,
    move_reservation,
    needs_move,
    shop_lines,
)
from origin.inventory.stock import StockLine
from origin.metrics import OriginMetrics
from origin.models import CentralReservation, InventoryHold, Shop
from origin.models.types import utcnow

log = logging.getLogger("origin.central")

Reason = Literal["unreachable", "query_failed", "no_allocation", "no_central_stock"]
# The policy (origin.inventory.central_policy): raises InventoryUnavailable or counts a fallback.
OnUnavailable = Callable[[ShopProfile, Reason, Iterable[str], str], None]

# A reservation whose origin hold is not visible is an orphan only after this long: the
# origin's phase-A transaction commits well within it.
ORPHAN_GRACE = timedelta(minutes=2)
# Moved reservations stay in the sweep this long (a late payment re-takes an ended one).
SWEEP_LOOKBACK = timedelta(hours=1)
SWEEP_BATCH = 500
FOLLOWUP_BATCH = 100
# How often the worker looks for queued follow-ups.
FOLLOWUP_POLL_SECONDS = 0.5


class CentralPoolUnavailable(Exception):
    """The pool could not answer; :mod:`~origin.inventory.central_policy` applies the policy."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def central_engine(url: str, *, timeout: float) -> AsyncEngine:
    """An engine whose every wait (pool, connect, statement, lock) ends within ``timeout``."""
    if not url.startswith("postgresql+asyncpg://"):
        return create_engine(url, pool_size=2)
    millis = str(max(1, int(timeout * 1000)))
    return create_postgres_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,  # a dropped database shows up at checkout of the connection
        pool_timeout=timeout,
        connect_args={
            "timeout": timeout,
            "command_timeout": timeout,
            "server_settings": {"statement_timeout": millis, "lock_timeout": millis},
        },
    )


class CentralDatabase:
    """The separate database (a ``SeparateCentralPool`` of origin.inventory.hold_states)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout: float,
        sync_interval: float,
        metrics: OriginMetrics,
        origin_sessions: async_sessionmaker[AsyncSession],
        on_unavailable: OnUnavailable,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        self.sync_interval = sync_interval
        self.metrics = metrics
        self._sessions = session_factory(engine)
        self._origin_sessions = origin_sessions
        self._on_unavailable = on_unavailable
        self._worker: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction in the central database, all of it within the timeout."""
        try:
            async with asyncio.timeout(self.timeout), self._sessions() as central:
                try:
                    await central.connection()
                except Exception as exc:  # whatever prevents a connection: refused, no database
                    raise CentralPoolUnavailable("unreachable", describe(exc)) from exc
                try:
                    yield central
                    await central.commit()
                except (SQLAlchemyError, OSError) as exc:
                    lost = isinstance(exc, OSError) or (
                        isinstance(exc, DBAPIError) and exc.connection_invalidated
                    )
                    reason: Reason = "unreachable" if lost else "query_failed"
                    raise CentralPoolUnavailable(reason, describe(exc)) from exc
        except TimeoutError as exc:
            detail = f"no answer within {self.timeout}s"
            raise CentralPoolUnavailable("unreachable", detail) from exc

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self.run(), name="central-followups")

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.engine.dispose()

    # -- origin.inventory.hold_states.SeparateCentralPool ---------------------------------

    async def reserve(
        self, *, session: AsyncSession, hold: InventoryHold, lines: Sequence[StockLine]
    ) -> list[StockLine]:
        """Reserve ``lines`` for ``hold``; on a fallback, the shop-stock lines instead."""
        try:
            async with self.transaction() as central:
                await insert_reservation(central, hold, lines)
        except CentralPoolUnavailable as exc:
            row = await session.get(Shop, hold.shop_id)
            assert row is not None
            self._on_unavailable(
                ShopProfile.of(row), exc.reason, (line.variant_key for line in lines), exc.detail
            )
            return await shop_lines(session, shop_id=hold.shop_id, lines=lines)
        return []

    async def retake(self, *, hold: InventoryHold) -> None:
        """A late payment: take the ended reservation's stock again, or raise InsufficientStock.

        An unreachable pool is not a shortage: the queued follow-up retries the re-take.
        """
        try:
            async with self.transaction() as central:
                reservation = await central.get(CentralReservation, hold.id)
                short = None
                if reservation is not None:
                    _, short = await move_reservation(
                        central, reservation, "committed", "late_payment"
                    )
        except CentralPoolUnavailable as exc:
            log.warning(
                "central pool unavailable for a late payment; the follow-up will re-take",
                extra={
                    "shop": hold.shop_id,
                    "holdId": hold.id,
                    "reason": exc.reason,
                    "detail": exc.detail,
                },
            )
            return
        if short is not None:
            self.metrics.central_retake_failed.labels(hold.shop_id).inc()
            raise short

    # -- keeping reservations in line -----------------------------------------------------

    async def sync_hold(self, hold_id: str, *, orphan_grace: timedelta = ORPHAN_GRACE) -> bool:
        """Move ``hold_id``'s reservation to the origin's status of the hold; True if moved."""
        async with self._origin_sessions() as session:
            row = (
                await session.execute(
                    select(InventoryHold.status, InventoryHold.end_reason).where(
                        col(InventoryHold.id) == hold_id
                    )
                )
            ).first()
        async with self.transaction() as central:
            reservation = await central.get(CentralReservation, hold_id)
            if reservation is None:
                return False
            if row is None:
                if reservation.created_at > utcnow() - orphan_grace:
                    return False
                target, reason = "released", "orphan"
            else:
                target, reason = row[0], row[1] or "origin"
            shop_id = reservation.shop_id
            moved, short = await move_reservation(central, reservation, target, reason)
        if short is not None:
            self.metrics.central_retake_failed.labels(shop_id).inc()
        return moved

    async def follow_up(self) -> int:
        """Handle the queued follow-ups (oldest first); returns how many were handled."""
        handled = 0
        while True:
            async with self._origin_sessions() as session:
                due = await due_followups(session, limit=FOLLOWUP_BATCH)
            if not due:
                return handled
            for followup in due:
                await self.sync_hold(followup.hold_id, orphan_grace=timedelta(0))
            async with self._origin_sessions() as session, session.begin():
                await mark_done(session, due)
            handled += len(due)

    async def sweep(self, *, orphan_grace: timedelta = ORPHAN_GRACE) -> int:
        """One pass over active and recently moved reservations; returns how many it moved."""
        since = utcnow() - SWEEP_LOOKBACK
        async with self.transaction() as central:
            result = await central.execute(
                select(CentralReservation.hold_id, CentralReservation.status)
                .where(
                    or_(
                        col(CentralReservation.status) == "active",
                        col(CentralReservation.updated_at) >= since,
                    ),
                    col(CentralReservation.end_reason).is_distinct_from("retake_failed"),
                )
                .order_by(col(CentralReservation.updated_at))
                .limit(SWEEP_BATCH)
            )
            reservations: dict[str, str] = {row[0]: row[1] for row in result}
        if not reservations:
            return 0
        async with self._origin_sessions() as session:
            result = await session.execute(
                select(InventoryHold.id, InventoryHold.status).where(
                    col(InventoryHold.id).in_(sorted(reservations))
                )
            )
            origin: dict[str, str] = {row[0]: row[1] for row in result}
        moved = 0
        for hold_id, status in reservations.items():
            if needs_move(status, origin.get(hold_id, "released")):
                moved += await self.sync_hold(hold_id, orphan_grace=orphan_grace)
        return moved

    async def run(self) -> None:
        """The lifespan's worker: follow-ups, and a sweep every ``sync_interval``; retries."""
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            try:
                await self.follow_up()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self.sync_interval
                    moved = await self.sweep()
                    if moved:
                        log.info("central reservations synced", extra={"reservations": moved})
            except asyncio.CancelledError:
                raise
            except CentralPoolUnavailable as exc:
                log.warning(
                    "central follow-up skipped: pool unavailable",
                    extra={"reason": exc.reason, "detail": exc.detail},
                )
            except Exception:
                log.exception("central follow-up failed; will retry")
            await asyncio.sleep(FOLLOWUP_POLL_SECONDS)
