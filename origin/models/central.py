"""The central pool's own bookkeeping: reservations in its database, follow-ups in the origin's.

When ``CENTRAL_INVENTORY_DATABASE_URL`` puts the pool in a database of its own, a hold's
central stock is a :class:`CentralReservation` there (keyed by the origin hold's id) with its
:class:`CentralReservationItem` rows; it conserves stock by the same rule as holds —
``initial = available + Σ active + Σ committed``. A :class:`CentralFollowUp` is the outbox row
the origin writes in the transaction that moves a hold, so the reservation follows the hold
even if the process dies right after the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from origin.models.base import timestamp

RESERVATION_STATUSES = ("active", "committed", "released", "expired")


class CentralReservation(SQLModel, table=True):
    """Central stock taken for one origin hold (in the central pool's database)."""

    __tablename__ = "central_reservations"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'committed', 'released', 'expired')", name="status"),
    )

    hold_id: str = Field(primary_key=True, max_length=64)
    shop_id: str = Field(max_length=64, index=True)
    status: str = Field(default="active", max_length=16)
    end_reason: str | None = Field(default=None, max_length=64)
    ended_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(index=True)


class CentralReservationItem(SQLModel, table=True):
    __tablename__ = "central_reservation_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    hold_id: str = Field(foreign_key="central_reservations.hold_id", max_length=64, index=True)
    central_stock_id: int = Field(foreign_key="central_stock.id", index=True)
    sku: str = Field(max_length=64)
    variant_key: str = Field(max_length=1024)
    quantity: int


class CentralFollowUp(SQLModel, table=True):
    """Outbox (origin database): this hold moved; bring its central reservation in line."""

    __tablename__ = "central_followups"

    hold_id: str = Field(primary_key=True, max_length=64)
    queued_at: datetime = timestamp(index=True)
