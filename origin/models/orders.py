"""Orders, processed Stripe events and the Stripe-object→shop map."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from origin.models.base import timestamp


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: str = Field(primary_key=True, max_length=64)
    shop_id: str = Field(foreign_key="shops.id", max_length=64, index=True)
    hold_id: str = Field(foreign_key="inventory_holds.id", max_length=64, unique=True)
    stripe_session_id: str = Field(max_length=255, unique=True)
    stripe_event_id: str = Field(max_length=255)
    status: str = Field(default="paid", max_length=16)
    currency: str = Field(max_length=3)
    amount_total: int
    deposit_total: int = Field(default=0)
    rental_days: int = Field(default=0)
    customer_email: str | None = Field(default=None, max_length=320)
    needs_attention: bool = Field(default=False)
    attention_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = timestamp()


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(foreign_key="orders.id", max_length=64, index=True)
    sku: str = Field(max_length=64)
    variant_key: str = Field(max_length=1024)
    title: str = Field(max_length=200)
    quantity: int
    unit_amount: int
    line_total: int
    deposit_amount: int = Field(default=0)


class ProcessedStripeEvent(SQLModel, table=True):
    """One row per Stripe event id that took effect; written in the effects' transaction."""

    __tablename__ = "processed_stripe_events"

    event_id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=128)
    shop_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=64)
    processed_at: datetime = timestamp()


class StripeObjectShop(SQLModel, table=True):
    """Which shop a Stripe object belongs to, written when the origin creates it."""

    __tablename__ = "stripe_object_shops"

    object_id: str = Field(primary_key=True, max_length=255)
    object_type: str = Field(max_length=64)
    shop_id: str = Field(foreign_key="shops.id", max_length=64)
    hold_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp()
