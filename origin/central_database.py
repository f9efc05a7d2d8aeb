"""The central pool in a database of its own (``CENTRAL_INVENTORY_DATABASE_URL``, §3.6).

That database is migrated with the origin's schema and seeded with
:func:`origin.central.central_catalog` (shops, allocations, central stock). It cannot share
the origin's transaction, so a hold's central stock lives there as a *mirror hold*: an
``inventory_holds`` row with the origin hold's id and ``hold_items`` of pool ``central``.
That database therefore conserves its stock by the same rule as the origin's —
``initial = available + Σ active + Σ committed`` — and every move is a conditional status
change (``WHERE status = :old``) that exactly one caller wins, as in :mod:`origin.holds`.

- **Reserve**: inside the origin's phase-A transaction, after the shop stock was taken, the
  mirror is written and its stock taken in one short central transaction.
- **Follow**: whenever an origin transaction that touched a hold ends — committed or rolled
  back — the mirror is moved to what the origin now says of the hold: ``active`` stays,
  ``committed`` keeps the stock, ``released``/``expired`` gives it back, and a hold the
  origin never wrote (the origin's transaction rolled back after the reserve) is an orphan
  and is released. A late payment of an ended hold re-takes the mirror's stock at once
  (:meth:`CentralDatabase.retake`), so a shortage flags the order.
- **Sweep**: a periodic pass repeats the follow-up for active and recently moved mirrors, for
  follow-ups lost to a crash, an outage of the central database, or an origin process that
  does not carry this pool (``python -m origin reap-holds``). Orphans wait ``ORPHAN_GRACE``.

Failures are classified for the policy: no connection within the timeout, connection refused,
a database that no longer exists → ``unreachable``; a failing statement → ``query_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import event, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_postgres_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col, select

from origin.db import create_engine, session_factory
from origin.holds import InsufficientStock, StockLine, give_back_stock, hold_items, take_stock
from origin.metrics import OriginMetrics
from origin.models import CheckoutIntent, HoldItem, InventoryHold, Shop, Variant
from origin.models.types import utcnow

log = logging.getLogger("origin.central")

Reason = Literal["unreachable", "query_failed", "no_allocation", "no_central_stock"]
# The policy, applied by origin.central: raises InventoryUnavailable or counts a fallback.
OnUnavailable = Callable[[Shop, Reason, Iterable[str], str], None]

_FOLLOW_KEY = "origin.central_follow"
# A mirror whose origin hold is not visible is an orphan only after this long (the sweep): the
# origin's phase-A transaction commits well within it.
ORPHAN_GRACE = timedelta(minutes=2)
# Moved mirrors stay in the sweep this long (a late payment re-takes an ended mirror).
SWEEP_LOOKBACK = timedelta(hours=1)
SWEEP_BATCH = 500
_HELD = frozenset({"active", "committed"})


class CentralPoolUnavailable(Exception):
    """The pool could not answer; :mod:`origin.central` turns it into a policy decision."""

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
    """The separate database: bounded transactions and mirror holds.

    Implements :class:`origin.holds.SeparateCentralPool` (reserve, retake, follow).
    """

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
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

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
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="central-sweep")

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.drain()
        await self.engine.dispose()

    async def drain(self) -> None:
        """Wait for the follow-ups scheduled so far (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- origin.holds.SeparateCentralPool -------------------------------------------------

    async def reserve(
        self, *, session: AsyncSession, hold: InventoryHold, lines: Sequence[StockLine]
    ) -> list[StockLine]:
        """Reserve ``lines`` as ``hold``'s mirror; on a fallback, the shop-stock lines instead."""
        self.follow(session=session, hold_id=hold.id)  # gives it back if the origin rolls back
        try:
            async with self.transaction() as central:
                await _insert_mirror(central, hold, lines)
        except CentralPoolUnavailable as exc:
            shop = await session.get(Shop, hold.shop_id)
            assert shop is not None
            self._on_unavailable(shop, exc.reason, (line.variant_key for line in lines), exc.detail)
            return await _shop_lines(session, shop_id=hold.shop_id, lines=lines)
        return []

    async def retake(self, *, session: AsyncSession, hold: InventoryHold) -> None:
        """A late payment: take the ended mirror's stock again, or raise InsufficientStock.

        An unreachable pool is not a shortage: the follow-up and the sweep retry the re-take.
        """
        self.follow(session=session, hold_id=hold.id)
        try:
            async with self.transaction() as central:
                mirror = await central.get(InventoryHold, hold.id)
                short = None
                if mirror is not None:
                    _, short = await _move_mirror(central, mirror, "committed", "late_payment")
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

    def follow(self, *, session: AsyncSession, hold_id: str) -> None:
        """Sync ``hold_id``'s mirror with the origin once ``session``'s transaction ends."""
        pending: set[str] | None = session.info.get(_FOLLOW_KEY)
        if pending is None:
            pending = session.info[_FOLLOW_KEY] = set()
            event.listen(session.sync_session, "after_transaction_end", self._transaction_ended)
        pending.add(hold_id)

    def _transaction_ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:
            return  # a savepoint: wait for the outermost transaction
        pending: set[str] = session.info.get(_FOLLOW_KEY) or set()
        hold_ids = sorted(pending)
        pending.clear()
        for hold_id in hold_ids:
            self._spawn(self._follow_up(hold_id))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow_up(self, hold_id: str) -> None:
        try:
            await self.sync_hold(hold_id, orphan_grace=timedelta(0))
        except CentralPoolUnavailable as exc:
            log.warning(
                "central mirror follow-up failed; the sweep will retry",
                extra={"holdId": hold_id, "reason": exc.reason, "detail": exc.detail},
            )
        except Exception:
            log.exception("central mirror follow-up failed", extra={"holdId": hold_id})

    # -- keeping mirrors in line ---------------------------------------------------------

    async def sync_hold(self, hold_id: str, *, orphan_grace: timedelta = ORPHAN_GRACE) -> bool:
        """Move ``hold_id``'s mirror to the origin's status of the hold; True if this moved it.

        A follow-up runs after the origin's transaction ended, so a hold the origin does not
        have was rolled back (``orphan_grace`` 0); the sweep waits ``ORPHAN_GRACE``.
        """
        async with self._origin_sessions() as session:
            row = (
                await session.execute(
                    select(InventoryHold.status, InventoryHold.end_reason).where(
                        col(InventoryHold.id) == hold_id
                    )
                )
            ).first()
        async with self.transaction() as central:
            mirror = await central.get(InventoryHold, hold_id)
            if mirror is None:
                return False
            if row is None:
                if mirror.created_at > utcnow() - orphan_grace:
                    return False
                target, reason = "released", "orphan"
            else:
                target, reason = row[0], row[1] or "origin"
            shop_id = mirror.shop_id
            moved, short = await _move_mirror(central, mirror, target, reason)
        if short is not None:
            self.metrics.central_retake_failed.labels(shop_id).inc()
        return moved

    async def sweep(self, *, orphan_grace: timedelta = ORPHAN_GRACE) -> int:
        """One pass over active and recently moved mirrors; returns how many it moved."""
        since = utcnow() - SWEEP_LOOKBACK
        async with self.transaction() as central:
            result = await central.execute(
                select(InventoryHold.id, InventoryHold.status)
                .where(
                    or_(
                        col(InventoryHold.status) == "active",
                        col(InventoryHold.updated_at) >= since,
                    ),
                    col(InventoryHold.end_reason).is_distinct_from("retake_failed"),
                )
                .order_by(col(InventoryHold.updated_at))
                .limit(SWEEP_BATCH)
            )
            mirrors: dict[str, str] = {row[0]: row[1] for row in result}
        if not mirrors:
            return 0
        async with self._origin_sessions() as session:
            result = await session.execute(
                select(InventoryHold.id, InventoryHold.status).where(
                    col(InventoryHold.id).in_(sorted(mirrors))
                )
            )
            origin: dict[str, str] = {row[0]: row[1] for row in result}
        moved = 0
        for hold_id, status in mirrors.items():
            if _needs_move(status, origin.get(hold_id, "released")):
                moved += await self.sync_hold(hold_id, orphan_grace=orphan_grace)
        return moved

    async def _sweep_forever(self) -> None:
        while True:
            try:
                moved = await self.sweep()
                if moved:
                    log.info("central mirrors synced", extra={"mirrors": moved})
            except asyncio.CancelledError:
                raise
            except CentralPoolUnavailable as exc:
                log.warning(
                    "central sweep skipped: pool unavailable",
                    extra={"reason": exc.reason, "detail": exc.detail},
                )
            except Exception:
                log.exception("central sweep failed; will retry")
            await asyncio.sleep(self.sync_interval)


def _needs_move(status: str, target: str) -> bool:
    if status == target:
        return False
    if status in _HELD and target in _HELD:
        return status == "active"  # active → committed; committed never goes back
    return status in _HELD or target in _HELD


async def _insert_mirror(
    central: AsyncSession, hold: InventoryHold, lines: Sequence[StockLine]
) -> None:
    """The hold's twin in the central database: its intent, its row, its central stock."""
    intent = {
        "id": hold.intent_id,
        "shop_id": hold.shop_id,
        "fingerprint": "central-mirror",
        "created_at": hold.created_at,
    }
    dialect = central.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await central.execute(insert(CheckoutIntent).values(**intent).on_conflict_do_nothing())
    central.add(
        InventoryHold(
            id=hold.id,
            shop_id=hold.shop_id,
            intent_id=hold.intent_id,
            status="active",
            # The origin allows one active hold per intent; a mirror is unique per hold.
            active_key=hold.id,
            stripe_idempotency_key=hold.stripe_idempotency_key,
            expires_at=hold.expires_at,
            currency=hold.currency,
            amount_total=hold.amount_total,
            pricing={"mirrorOf": "origin hold"},
            created_at=hold.created_at,
            updated_at=hold.updated_at,
        )
    )
    await central.flush()
    await take_stock(session=central, lines=lines)
    for line in sorted(lines, key=lambda line: line.order_key):
        central.add(
            HoldItem(
                hold_id=hold.id,
                pool="central",
                central_stock_id=line.stock_id,
                sku=line.sku,
                variant_key=line.variant_key,
                quantity=line.quantity,
            )
        )
    await central.flush()


async def _set_status(central: AsyncSession, hold_id: str, old: str, new: str, reason: str) -> bool:
    now = utcnow()
    values: dict[str, Any] = {
        "status": new,
        "active_key": hold_id if new == "active" else None,
        "updated_at": now,
    }
    if new not in _HELD:
        values.update(end_reason=reason, ended_at=now)
    result = await central.execute(
        update(InventoryHold)
        .where(col(InventoryHold.id) == hold_id, col(InventoryHold.status) == old)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def _move_mirror(
    central: AsyncSession, mirror: InventoryHold, target: str, reason: str
) -> tuple[bool, InsufficientStock | None]:
    """Move one mirror to ``target``, giving back or re-taking its stock.

    Returns whether this call moved it, and the shortage when a re-take (ended → held) found
    too little stock; the mirror then stays ended, marked ``retake_failed``.
    """
    # Plain values: a rolled-back savepoint expires the ORM object.
    hold_id, shop_id, old = mirror.id, mirror.shop_id, mirror.status
    if not _needs_move(old, target):
        return False, None
    items = await hold_items(session=central, hold_id=hold_id)
    if old in _HELD and target in _HELD:
        return await _set_status(central, hold_id, old, target, reason), None
    if old in _HELD:
        moved = await _set_status(central, hold_id, old, target, reason)
        if moved:
            await give_back_stock(session=central, items=items)
        return moved, None
    lines = [
        StockLine("central", item.central_stock_id, item.sku, item.variant_key, item.quantity)
        for item in items
        if item.central_stock_id is not None
    ]
    try:
        async with central.begin_nested():
            moved = await _set_status(central, hold_id, old, target, reason)
            if moved:
                await take_stock(session=central, lines=lines)
    except InsufficientStock as short:
        await central.execute(
            update(InventoryHold)
            .where(col(InventoryHold.id) == hold_id)
            .values(end_reason="retake_failed", updated_at=utcnow())
        )
        log.error(
            "central stock of a paid hold could not be taken again",
            extra={"shop": shop_id, "holdId": hold_id, "items": short.short},
        )
        return False, short
    return moved, None


async def _shop_lines(
    session: AsyncSession, *, shop_id: str, lines: Sequence[StockLine]
) -> list[StockLine]:
    """The same demand on the shop's own variants (the fallback)."""
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
