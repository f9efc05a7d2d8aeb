"""Checkout intents, inventory holds and the items they hold.

A hold's lifecycle is ``active`` → ``committed`` (paid) | ``released`` (definitive failure,
expired or failed payment) | ``expired`` (reaped). ``active_key`` equals the intent id while
the hold is active and is NULL once it has ended; the unique constraint on
``(shop_id, active_key)`` therefore allows exactly one *active* hold per shop and intent on
both PostgreSQL and SQLite (NULLs never collide), while ended holds stay as history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from origin.models.base import timestamp

HOLD_STATUSES = ("active", "committed", "released", "expired")


class CheckoutIntent(SQLModel, table=True):
    """What the client asked for, keyed by a hash of shop + Idempotency-Key or request."""

    __tablename__ = "checkout_intents"

    id: str = Field(primary_key=True, max_length=64)
    shop_id: str = Field(foreign_key="shops.id", max_length=64, index=True)
    idempotency_key: str | None = Field(default=None, max_length=255)
    fingerprint: str = Field(max_length=64)
    cart_id: str | None = Field(default=None, max_length=64)
    customer_email: str | None = Field(default=None, max_length=320)
    created_at: datetime = timestamp()


class InventoryHold(SQLModel, table=True):
    __tablename__ = "inventory_holds"
    __table_args__ = (
        UniqueConstraint("shop_id", "active_key", name="uq_inventory_holds_active_intent"),
        CheckConstraint("status IN ('active', 'committed', 'released', 'expired')", name="status"),
        CheckConstraint(
            "(status = 'active') = (active_key IS NOT NULL)", name="active_key_iff_active"
        ),
        Index("ix_inventory_holds_status_expires_at", "status", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    shop_id: str = Field(foreign_key="shops.id", max_length=64)
    intent_id: str = Field(foreign_key="checkout_intents.id", max_length=64, index=True)
    status: str = Field(default="active", max_length=16)
    active_key: str | None = Field(default=None, max_length=64)
    stripe_idempotency_key: str = Field(max_length=255, unique=True)
    expires_at: datetime = timestamp()
    # Priced snapshot this hold charges: the webhook checks Stripe's amount against it.
    currency: str = Field(max_length=3)
    amount_total: int
    deposit_total: int = Field(default=0)
    rental_days: int = Field(default=0)
    price_changed: bool = Field(default=False)
    pricing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Recorded in phase C, after the Stripe call.
    stripe_session_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_session_url: str | None = Field(default=None, max_length=4096)
    stripe_client_secret: str | None = Field(default=None, max_length=4096)
    stripe_expires_at: datetime | None = timestamp(nullable=True)
    # pending | paid | unpaid | expired | failed, as Stripe last told us.
    payment_status: str = Field(default="pending", max_length=16)
    end_reason: str | None = Field(default=None, max_length=64)
    ended_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class HoldItem(SQLModel, table=True):
    """Stock taken by a hold, per variant, from the shop's stock or the central pool."""

    __tablename__ = "hold_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("pool IN ('shop', 'central')", name="pool"),
        CheckConstraint(
            "(variant_id IS NULL) <> (central_stock_id IS NULL)", name="one_stock_source"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    hold_id: str = Field(foreign_key="inventory_holds.id", max_length=64, index=True)
    pool: str = Field(default="shop", max_length=16)
    variant_id: int | None = Field(default=None, foreign_key="variants.id", index=True)
    central_stock_id: int | None = Field(default=None, foreign_key="central_stock.id", index=True)
    sku: str = Field(max_length=64)
    variant_key: str = Field(max_length=1024)
    quantity: int
