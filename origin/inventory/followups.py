"""The outbox that makes a separate central database follow the origin's holds.

A transaction that moves a hold whose central stock lives in another database (ends it,
commits it, re-takes it) also writes a :class:`~origin.models.CentralFollowUp` row for it — in
the same transaction, so the row exists exactly when the move does. A worker
(:meth:`origin.inventory.central_pool.CentralDatabase.run`) reads due rows, brings each
reservation in line with the hold, and deletes the row only if nobody queued it again
meanwhile. Nothing is lost to a crash between the commit and the follow-up; a follow-up that
fails stays queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from origin.models import CentralFollowUp
from origin.models.types import utcnow


@dataclass(frozen=True, slots=True)
class QueuedFollowUp:
    hold_id: str
    queued_at: datetime


async def queue_followup(session: AsyncSession, hold_id: str) -> None:
    """Queue (or re-queue) ``hold_id`` in ``session``'s transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CentralFollowUp).values(hold_id=hold_id, queued_at=utcnow())
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["hold_id"], set_={"queued_at": statement.excluded.queued_at}
        )
    )


async def due_followups(session: AsyncSession, *, limit: int) -> list[QueuedFollowUp]:
    """The oldest queued follow-ups."""
    result = await session.execute(
        select(CentralFollowUp.hold_id, CentralFollowUp.queued_at)
        .order_by(col(CentralFollowUp.queued_at))
        .limit(limit)
    )
    return [QueuedFollowUp(hold_id, queued_at) for hold_id, queued_at in result]


async def mark_done(session: AsyncSession, done: Sequence[QueuedFollowUp]) -> None:
    """Delete the rows handled, unless queued again after they were read."""
    for followup in done:
        await session.execute(
            delete(CentralFollowUp).where(
                col(CentralFollowUp.hold_id) == followup.hold_id,
                col(CentralFollowUp.queued_at) <= followup.queued_at,
            )
        )
