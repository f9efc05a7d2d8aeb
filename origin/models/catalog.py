"""Shops, products, variants with their stock, coupons, and the central pool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from origin.models.base import timestamp


class Shop(SQLModel, table=True):
    __tablename__ = "shops"
    __table_args__ = (
        CheckConstraint("type IN ('sale', 'rental')", name="type"),
        CheckConstraint("checkout_mode IN ('hosted', 'custom')", name="checkout_mode"),
    )

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    type: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    checkout_mode: str = Field(max_length=16)
    requires_central_inventory: bool = Field(default=False)
    success_url: str | None = Field(default=None, max_length=2048)
    cancel_url: str | None = Field(default=None, max_length=2048)
    return_url: str | None = Field(default=None, max_length=2048)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "sku"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("deposit >= 0", name="deposit_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shops.id", max_length=64)
    sku: str = Field(max_length=64)
    title: str = Field(max_length=200)
    price: int
    deposit: int = Field(default=0)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Variant(SQLModel, table=True):
    """A sellable variant and the shop's own stock of it.

    ``available`` is what can still be held; the CHECK is the last line of defence against
    overselling should any code path ever subtract without its ``available >= :q`` guard.
    """

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("shop_id", "variant_key"),
        CheckConstraint("available >= 0", name="available_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    shop_id: str = Field(foreign_key="shops.id", max_length=64)
    sku: str = Field(max_length=64)
    variant_key: str = Field(max_length=1024)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    available: int
    # The conservation baseline: available + held + sold always adds up to it (origin/audit.py).
    stocked: int
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Coupon(SQLModel, table=True):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name="exactly_one_discount"
        ),
        CheckConstraint(
            "percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)", name="percent_range"
        ),
        CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount_positive"),
    )

    shop_id: str = Field(foreign_key="shops.id", primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=64)
    percent_off: int | None = Field(default=None)
    amount_off: int | None = Field(default=None)
    active: bool = Field(default=True)
    created_at: datetime = timestamp()


class CentralStock(SQLModel, table=True):
    """Stock in the pool shared by every shop a SKU is allocated to (COM-401)."""

    __tablename__ = "central_stock"
    __table_args__ = (CheckConstraint("available >= 0", name="available_non_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, index=True)
    variant_key: str = Field(max_length=1024, unique=True)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    available: int
    # The conservation baseline: available + held + sold always adds up to it (origin/audit.py).
    stocked: int
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class CentralAllocation(SQLModel, table=True):
    """Routes a shop's SKU to the central pool."""

    __tablename__ = "central_allocations"

    shop_id: str = Field(foreign_key="shops.id", primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    created_at: datetime = timestamp()


class CatalogVersion(SQLModel, table=True):
    """One counter for the whole catalog, moved by database triggers on every catalog change.

    Processes cache catalog lookups under the version they read; a seed (or any write to
    shops, products, variants' identity, coupons, allocations or central rows) in any
    process moves the counter, so every cache sees it at its next read.
    """

    __tablename__ = "catalog_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)
