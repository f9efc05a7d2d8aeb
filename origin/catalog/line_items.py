"""The line item every caller sends: ``{sku, quantity, variantAttributes?, variantKey?}``.

One shape for the cart (``POST /api/cart``), inventory validation (docs/api.md §3.2) and the
checkout's inline ``items`` (§3.3). A line names a variant by ``variantAttributes``; the
deprecated ``variantKey`` is still accepted and, when both are given, they must agree
(400 ``VARIANT_KEY_MISMATCH``, COM-201's fail-closed rule). A line never carries a price.

Validation happens in two steps so that each failure has its own code:

1. :class:`LineItemIn` (a pydantic model) checks shapes and bounds — 400 ``INVALID_REQUEST``.
2. :meth:`LineItemIn.resolve` applies the conflict rule and yields a :class:`LineRequest`,
   the resolved form the domain works with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from checkout_edge_shared.errors import BadRequest
from origin.catalog.catalog_file import SKU_PATTERN
from origin.catalog.variant_keys import format_variant_key, normalize_attributes, parse_variant_key
from origin.request_bodies import StrictBody

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_LINE_ITEMS",
    "MAX_QUANTITY",
    "MAX_VARIANT_KEY_LENGTH",
    "LineItemIn",
    "LineItems",
    "LineRequest",
    "Quantity",
    "Sku",
    "merge_lines",
    "resolve_items",
]

MAX_QUANTITY = 999
MAX_LINE_ITEMS = 100
MAX_ATTRIBUTES = 20
# The width of the ``variant_key`` columns.
MAX_VARIANT_KEY_LENGTH = 1024

Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
AttributeName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AttributeValue = Annotated[str, StringConstraints(max_length=256)]


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A resolved line: which variant, how many. ``field`` names it in error messages."""

    sku: str
    attributes: dict[str, str]
    variant_key: str
    quantity: int
    field: str = ""

    def named(self, detail: str) -> str:
        """``detail`` prefixed with where this line came from, for error messages."""
        return f"{self.field}: {detail}" if self.field else detail


class LineItemIn(StrictBody):
    sku: Sku
    quantity: Quantity
    variant_attributes: (
        Annotated[dict[AttributeName, AttributeValue], Field(max_length=MAX_ATTRIBUTES)] | None
    ) = Field(default=None, alias="variantAttributes")
    variant_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_VARIANT_KEY_LENGTH)] | None
    ) = Field(default=None, alias="variantKey")

    @field_validator("variant_attributes")
    @classmethod
    def _representable(
        cls, value: dict[str, str] | None, info: ValidationInfo
    ) -> dict[str, str] | None:
        if value is None:
            return None
        attributes = normalize_attributes(value)
        sku = info.data.get("sku")
        if sku is not None and len(format_variant_key(sku, attributes)) > MAX_VARIANT_KEY_LENGTH:
            raise ValueError(f"makes a variant key longer than {MAX_VARIANT_KEY_LENGTH}")
        return attributes

    @field_validator("variant_key")
    @classmethod
    def _parsable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_variant_key(value)  # VariantKeyError is a ValueError: a field error
        return value

    def resolve(self, field: str = "") -> LineRequest:
        """The line with its variant settled; 400 ``VARIANT_KEY_MISMATCH`` on a conflict."""
        attributes = self.variant_attributes
        if self.variant_key is not None:
            key_sku, key_attributes = parse_variant_key(self.variant_key)
            where = f"{field}.variantKey" if field else "variantKey"
            if key_sku != self.sku:
                raise BadRequest(
                    f"{where}: names SKU {key_sku!r} but sku is {self.sku!r}.",
                    code="VARIANT_KEY_MISMATCH",
                )
            if attributes is not None and attributes != key_attributes:
                raise BadRequest(
                    f"{where}: {self.variant_key!r} disagrees with variantAttributes "
                    f"(which make {format_variant_key(self.sku, attributes)!r}).",
                    code="VARIANT_KEY_MISMATCH",
                )
            attributes = key_attributes
        attributes = attributes or {}
        return LineRequest(
            sku=self.sku,
            attributes=attributes,
            variant_key=format_variant_key(self.sku, attributes),
            quantity=self.quantity,
            field=field,
        )


LineItems = Annotated[list[LineItemIn], Field(min_length=1, max_length=MAX_LINE_ITEMS)]
"""The ``items`` array of a request body: 1…100 line items."""


def resolve_items(items: Sequence[LineItemIn], field: str = "items") -> list[LineRequest]:
    """Resolve each item; errors name it as ``items[i]``."""
    return [item.resolve(f"{field}[{index}]") for index, item in enumerate(items)]


def merge_lines(lines: Iterable[LineRequest]) -> list[LineRequest]:
    """One line per variant, quantities summed, in variant-key order.

    Stock is compared against the total asked for a variant, however many lines ask for
    it; the merged quantity may exceed :data:`MAX_QUANTITY` (the bound is per request
    line). The first line's ``field`` is kept for messages.
    """
    merged: dict[str, LineRequest] = {}
    for line in lines:
        seen = merged.get(line.variant_key)
        merged[line.variant_key] = (
            line if seen is None else replace(seen, quantity=seen.quantity + line.quantity)
        )
    return [merged[key] for key in sorted(merged)]
