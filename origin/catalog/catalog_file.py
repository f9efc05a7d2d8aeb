"""The catalog file read by ``python -m origin seed`` (docs/api.md §6), validated whole.

A malformed file is rejected before anything is written, with the entry and field named:
``products[2].variants[0].stock: Input should be greater than or equal to 0``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from origin.catalog.variant_keys import VariantKeyError, format_variant_key, normalize_attributes
from origin.request_bodies import field_path

SKU_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
SHOP_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"

Sku = Annotated[str, Field(pattern=SKU_PATTERN)]
ShopId = Annotated[str, Field(pattern=SHOP_ID_PATTERN)]
Amount = Annotated[int, Field(ge=0, strict=True)]


class CatalogError(ValueError):
    """The catalog file is unreadable or invalid; the message names the entry and field."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ShopEntry(_Entry):
    id: ShopId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: Literal["sale", "rental"]
    currency: Annotated[str, Field(pattern=r"^[a-z]{3}$")]
    checkout_mode: Literal["hosted", "custom"] = Field(alias="checkoutMode")
    requires_central_inventory: bool = Field(default=False, alias="requiresCentralInventory")
    success_url: str | None = Field(default=None, alias="successUrl", max_length=2048)
    cancel_url: str | None = Field(default=None, alias="cancelUrl", max_length=2048)
    return_url: str | None = Field(default=None, alias="returnUrl", max_length=2048)

    @model_validator(mode="after")
    def _urls_for_mode(self) -> ShopEntry:
        if self.checkout_mode == "hosted" and not (self.success_url and self.cancel_url):
            raise ValueError("hosted shops need successUrl and cancelUrl")
        if self.checkout_mode == "custom" and not self.return_url:
            raise ValueError("custom shops need returnUrl")
        return self


class VariantEntry(_Entry):
    attributes: dict[str, str] = Field(default_factory=dict)
    stock: Amount

    @model_validator(mode="after")
    def _attributes(self) -> VariantEntry:
        try:
            normalize_attributes(self.attributes)
        except VariantKeyError as exc:
            raise ValueError(str(exc)) from None
        return self


class ProductEntry(_Entry):
    shop_id: ShopId = Field(alias="shopId")
    sku: Sku
    title: Annotated[str, Field(min_length=1, max_length=200)]
    price: Amount
    deposit: Amount = 0
    variants: Annotated[list[VariantEntry], Field(min_length=1)]

    @model_validator(mode="after")
    def _distinct_variants(self) -> ProductEntry:
        keys = [format_variant_key(self.sku, v.attributes) for v in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError("two variants have the same attributes")
        return self


class CouponEntry(_Entry):
    shop_id: ShopId = Field(alias="shopId")
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    percent_off: Annotated[int, Field(gt=0, le=100, strict=True)] | None = Field(
        default=None, alias="percentOff"
    )
    amount_off: Annotated[int, Field(gt=0, strict=True)] | None = Field(
        default=None, alias="amountOff"
    )

    @model_validator(mode="after")
    def _one_discount(self) -> CouponEntry:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percentOff and amountOff")
        return self


class AllocationEntry(_Entry):
    shop_id: ShopId = Field(alias="shopId")
    sku: Sku


class CentralStockEntry(_Entry):
    sku: Sku
    attributes: dict[str, str] = Field(default_factory=dict)
    stock: Amount


class CentralEntry(_Entry):
    allocations: list[AllocationEntry] = Field(default_factory=list)
    stock: list[CentralStockEntry] = Field(default_factory=list)


class Catalog(_Entry):
    shops: list[ShopEntry] = Field(default_factory=list)
    products: list[ProductEntry] = Field(default_factory=list)
    coupons: list[CouponEntry] = Field(default_factory=list)
    central: CentralEntry = Field(default_factory=CentralEntry)


def _check_references(catalog: Catalog, known_shops: set[str]) -> None:
    shops = known_shops | {s.id for s in catalog.shops}
    seen: set[str] = set()
    for i, shop in enumerate(catalog.shops):
        if shop.id in seen:
            raise CatalogError(f"shops[{i}].id: shop {shop.id!r} is listed twice")
        seen.add(shop.id)
    products: set[tuple[str, str]] = set()
    for i, product in enumerate(catalog.products):
        if product.shop_id not in shops:
            raise CatalogError(f"products[{i}].shopId: unknown shop {product.shop_id!r}")
        if (product.shop_id, product.sku) in products:
            raise CatalogError(f"products[{i}].sku: {product.sku!r} is listed twice for its shop")
        products.add((product.shop_id, product.sku))
    coupons: set[tuple[str, str]] = set()
    for i, coupon in enumerate(catalog.coupons):
        if coupon.shop_id not in shops:
            raise CatalogError(f"coupons[{i}].shopId: unknown shop {coupon.shop_id!r}")
        if (coupon.shop_id, coupon.code.upper()) in coupons:
            raise CatalogError(f"coupons[{i}].code: {coupon.code!r} is listed twice")
        coupons.add((coupon.shop_id, coupon.code.upper()))
    for i, allocation in enumerate(catalog.central.allocations):
        if allocation.shop_id not in shops:
            raise CatalogError(
                f"central.allocations[{i}].shopId: unknown shop {allocation.shop_id!r}"
            )
    central_keys: set[str] = set()
    for i, entry in enumerate(catalog.central.stock):
        try:
            key = format_variant_key(entry.sku, entry.attributes)
        except VariantKeyError as exc:
            raise CatalogError(f"central.stock[{i}].attributes: {exc}") from None
        if key in central_keys:
            raise CatalogError(f"central.stock[{i}]: {key!r} is listed twice")
        central_keys.add(key)


def parse_catalog(raw: str | bytes, known_shops: set[str] | None = None) -> Catalog:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"catalog is not valid JSON: {exc}") from None
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(first["loc"]) if first["loc"] else "catalog"
        raise CatalogError(f"{where}: {first['msg']}") from None
    _check_references(catalog, known_shops or set())
    return catalog


def load_catalog(path: Path, known_shops: set[str] | None = None) -> Catalog:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror}") from None
    return parse_catalog(raw, known_shops)
