"""A shop's catalog held in memory between seeds: prices, titles, coupons, central routing.

Every lookup first reads the one ``catalog_version`` counter (a primary-key read); database
triggers move it on every write to the catalog — shops, products, a variant's identity,
coupons, central allocations and rows — whichever process or tool makes it
(``python -m origin seed``, an operator's SQL). A version other than the cached one drops the
whole cache, and the shop is loaded again in the reader's transaction. The counter is read
*before* the catalog, so what is cached under version N is never older than N.

Stock is never cached: ``available`` is read (or updated) by the statement that needs it.
Without the counter row (a database not migrated to 0004) nothing is cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select as core_select
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from origin.catalog.values import ActiveCoupon, CatalogItem, ShopProfile
from origin.models import CentralAllocation, CentralStock, Coupon, Shop, metadata

# Shops kept at once; past it the cache starts over (a bound, not a policy: shops are few).
MAX_SHOPS = 1000


@dataclass(frozen=True, slots=True)
class ShopCatalog:
    """One shop's catalog as of ``version``."""

    version: int | None
    shop: ShopProfile
    items: Mapping[str, CatalogItem]  # by variant key
    coupons: Mapping[str, ActiveCoupon]  # active ones, by upper-case code
    # SKUs the central pool serves for this shop; None when they could not be read.
    allocated_skus: frozenset[str] | None
    central_rows: Mapping[str, int]  # variant key → central_stock id, for allocated SKUs


async def catalog_version(session: AsyncSession) -> int | None:
    row = (await session.execute(text("SELECT version FROM catalog_version WHERE id = 1"))).first()
    return None if row is None else int(row[0])


async def _central_routing(
    session: AsyncSession, shop_id: str
) -> tuple[frozenset[str], dict[str, int]]:
    allocated = frozenset(
        (
            await session.execute(
                select(CentralAllocation.sku).where(col(CentralAllocation.shop_id) == shop_id)
            )
        ).scalars()
    )
    central_rows: dict[str, int] = {}
    if allocated:
        result = await session.execute(
            select(CentralStock.variant_key, CentralStock.id).where(
                col(CentralStock.sku).in_(sorted(allocated))
            )
        )
        central_rows = {key: row_id for key, row_id in result}
    return allocated, central_rows


async def load_shop_catalog(
    session: AsyncSession, shop_id: str, *, version: int | None
) -> ShopCatalog | None:
    """Read one shop's catalog (four queries); None when the shop does not exist."""
    shop = await session.get(Shop, shop_id)
    if shop is None:
        return None
    variants, products = metadata.tables["variants"], metadata.tables["products"]
    variant, product = variants.c, products.c
    rows = await session.execute(
        core_select(
            variant.id, variant.sku, variant.variant_key, variant.attributes,
            product.id, product.title, product.price, product.deposit,
        )
        .join_from(variants, products, product.id == variant.product_id)
        .where(variant.shop_id == shop_id, product.shop_id == shop_id)
    )  # fmt: skip
    items = {
        row.variant_key: CatalogItem(
            variant_id=row[0], product_id=row[4], sku=row.sku, variant_key=row.variant_key,
            attributes=dict(row.attributes), title=row.title, price=row.price,
            deposit=row.deposit,
        )
        for row in rows
    }  # fmt: skip
    coupons = {
        coupon.code: ActiveCoupon(coupon.code, coupon.percent_off, coupon.amount_off)
        for coupon in (
            await session.execute(
                select(Coupon).where(col(Coupon.shop_id) == shop_id, col(Coupon.active).is_(True))
            )
        ).scalars()
    }
    try:
        # A savepoint: routing is the pool's question, and a failing read of it (the policy's
        # "query_failed") must leave this transaction usable; routing then asks live.
        async with session.begin_nested():
            allocated, central_rows = await _central_routing(session, shop_id)
    except SQLAlchemyError:
        allocated, central_rows = None, {}
    return ShopCatalog(
        version=version,
        shop=ShopProfile.of(shop),
        items=items,
        coupons=coupons,
        allocated_skus=allocated,
        central_rows=central_rows,
    )


class CatalogCache:
    """Per-process cache of :class:`ShopCatalog`; owned by the lifespan, passed to routes."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._shops: dict[str, ShopCatalog] = {}
        self.loads = 0  # how many times a shop was read from the database (tests, metrics)

    def knows(self, shop_id: str) -> bool:
        """Whether ``shop_id`` was found at some version (shops are never deleted by a seed)."""
        return shop_id in self._shops

    def cached(self, shop_id: str) -> ShopCatalog | None:
        """``shop_id``'s catalog as last read, without asking the database whether it is still
        current: for a statement that checks its ``version`` itself
        (:mod:`origin.checkout.one_statement`)."""
        return self._shops.get(shop_id)

    async def shop(self, session: AsyncSession, shop_id: str) -> ShopCatalog | None:
        """``shop_id``'s catalog as the database has it now; None for an unknown shop."""
        version = await catalog_version(session)
        if version is None or version != self._version:
            self._shops.clear()
            self._version = version
        cached = self._shops.get(shop_id)
        if cached is not None:
            return cached
        self.loads += 1
        loaded = await load_shop_catalog(session, shop_id, version=version)
        if loaded is not None and version is not None:
            if len(self._shops) >= MAX_SHOPS:
                self._shops.clear()
            self._shops[shop_id] = loaded
        return loaded
