"""Carts: identifiers and quantities only; ``price_at_add`` is a drift baseline, never charged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from origin.models.base import timestamp


class Cart(SQLModel, table=True):
    """A cart; ``revision`` grows with every change, so a keyless checkout of the cart as it is
    now is a different checkout from one of the cart as it was (docs/checkout.md)."""

    __tablename__ = "carts"

    id: str = Field(primary_key=True, max_length=64)
    shop_id: str = Field(foreign_key="shops.id", max_length=64, index=True)
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    expires_at: datetime = timestamp(index=True)


class CartLine(SQLModel, table=True):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_key"),
        CheckConstraint("quantity >= 1 AND quantity <= 999", name="quantity_range"),
    )

    id: str = Field(primary_key=True, max_length=64)
    cart_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    sku: str = Field(max_length=64)
    variant_key: str = Field(max_length=1024)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quantity: int
    price_at_add: int
    created_at: datetime = timestamp()
