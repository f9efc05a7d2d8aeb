"""Idempotent upsert of a catalog file into the database (``python -m origin seed``).

Seeding twice changes nothing. Existing stock is left alone unless ``reset_stock`` is
given, which refuses while any active hold still holds that variant (resetting it then
would break stock conservation). Everything happens in one transaction: a refusal writes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from origin.audit import rebase_stocked
from origin.catalog.catalog_file import Catalog, CatalogError
from origin.catalog.variant_keys import format_variant_key, normalize_attributes
from origin.models import (
    CentralAllocation,
    CentralReservation,
    CentralReservationItem,
    CentralStock,
    Coupon,
    HoldItem,
    InventoryHold,
    Product,
    Shop,
    Variant,
)
from origin.models.types import utcnow


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    stock_reset: int = 0

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self) -> str:
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "nothing"

        return (
            f"created {fmt(self.created)}; updated {fmt(self.updated)}; "
            f"stock reset on {self.stock_reset} variant(s)"
        )


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set changed attributes only; True when something changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed and hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    return changed


async def _has_active_hold(
    session: AsyncSession, *, variant_id: int | None = None, central_id: int | None = None
) -> bool:
    query = (
        select(HoldItem.id)
        .join(InventoryHold, InventoryHold.id == HoldItem.hold_id)  # type: ignore[arg-type]
        .where(InventoryHold.status == "active")
    )
    if variant_id is not None:
        query = query.where(HoldItem.variant_id == variant_id)
        return (await session.execute(query.limit(1))).first() is not None
    query = query.where(HoldItem.central_stock_id == central_id)
    if (await session.execute(query.limit(1))).first() is not None:
        return True
    # In a separate central database the pool's stock is held by reservations.
    reserved = (
        select(CentralReservationItem.id)
        .join(
            CentralReservation,
            col(CentralReservation.hold_id) == col(CentralReservationItem.hold_id),
        )
        .where(
            col(CentralReservation.status) == "active",
            col(CentralReservationItem.central_stock_id) == central_id,
        )
    )
    return (await session.execute(reserved.limit(1))).first() is not None


async def seed_catalog(
    session: AsyncSession, catalog: Catalog, *, reset_stock: bool = False
) -> SeedReport:
    """Upsert ``catalog``; the caller owns the transaction."""
    report = SeedReport()

    for entry in catalog.shops:
        values: dict[str, Any] = {
            "name": entry.name,
            "type": entry.type,
            "currency": entry.currency,
            "checkout_mode": entry.checkout_mode,
            "requires_central_inventory": entry.requires_central_inventory,
            "success_url": entry.success_url,
            "cancel_url": entry.cancel_url,
            "return_url": entry.return_url,
        }
        shop = await session.get(Shop, entry.id)
        if shop is None:
            session.add(Shop(id=entry.id, **values))
            report.count("shops", created=True)
        elif _apply(shop, values):
            report.count("shops", created=False)
    await session.flush()

    for index, product_entry in enumerate(catalog.products):
        product = (
            await session.execute(
                select(Product).where(
                    Product.shop_id == product_entry.shop_id, Product.sku == product_entry.sku
                )
            )
        ).scalar_one_or_none()
        values = {
            "title": product_entry.title,
            "price": product_entry.price,
            "deposit": product_entry.deposit,
        }
        if product is None:
            product = Product(shop_id=product_entry.shop_id, sku=product_entry.sku, **values)
            session.add(product)
            await session.flush()
            report.count("products", created=True)
        elif _apply(product, values):
            report.count("products", created=False)
        assert product.id is not None

        for v_index, variant_entry in enumerate(product_entry.variants):
            key = format_variant_key(product_entry.sku, variant_entry.attributes)
            variant = (
                await session.execute(
                    select(Variant).where(
                        Variant.shop_id == product_entry.shop_id, Variant.variant_key == key
                    )
                )
            ).scalar_one_or_none()
            if variant is None:
                session.add(
                    Variant(
                        product_id=product.id,
                        shop_id=product_entry.shop_id,
                        sku=product_entry.sku,
                        variant_key=key,
                        attributes=normalize_attributes(variant_entry.attributes),
                        available=variant_entry.stock,
                        stocked=variant_entry.stock,
                    )
                )
                report.count("variants", created=True)
            elif reset_stock and variant.available != variant_entry.stock:
                if await _has_active_hold(session, variant_id=variant.id):
                    raise CatalogError(
                        f"products[{index}].variants[{v_index}]: {key!r} has active holds; "
                        "refusing --reset-stock (wait for them to end or be reaped)"
                    )
                _apply(variant, {"available": variant_entry.stock})
                await session.flush()
                assert variant.id is not None
                await rebase_stocked(session, pool="shop", stock_id=variant.id)
                report.stock_reset += 1

    for coupon_entry in catalog.coupons:
        code = coupon_entry.code.upper()
        coupon = await session.get(Coupon, (coupon_entry.shop_id, code))
        values = {
            "percent_off": coupon_entry.percent_off,
            "amount_off": coupon_entry.amount_off,
            "active": True,
        }
        if coupon is None:
            session.add(Coupon(shop_id=coupon_entry.shop_id, code=code, **values))
            report.count("coupons", created=True)
        elif _apply(coupon, values):
            report.count("coupons", created=False)

    for allocation in catalog.central.allocations:
        if await session.get(CentralAllocation, (allocation.shop_id, allocation.sku)) is None:
            session.add(CentralAllocation(shop_id=allocation.shop_id, sku=allocation.sku))
            report.count("central allocations", created=True)

    for index, stock_entry in enumerate(catalog.central.stock):
        key = format_variant_key(stock_entry.sku, stock_entry.attributes)
        central = (
            await session.execute(select(CentralStock).where(CentralStock.variant_key == key))
        ).scalar_one_or_none()
        if central is None:
            session.add(
                CentralStock(
                    sku=stock_entry.sku,
                    variant_key=key,
                    attributes=normalize_attributes(stock_entry.attributes),
                    available=stock_entry.stock,
                    stocked=stock_entry.stock,
                )
            )
            report.count("central stock", created=True)
        elif reset_stock and central.available != stock_entry.stock:
            if await _has_active_hold(session, central_id=central.id):
                raise CatalogError(
                    f"central.stock[{index}]: {key!r} has active holds; refusing --reset-stock"
                )
            _apply(central, {"available": stock_entry.stock})
            await session.flush()
            assert central.id is not None
            await rebase_stocked(session, pool="central", stock_id=central.id)
            report.stock_reset += 1

    await session.flush()
    return report
