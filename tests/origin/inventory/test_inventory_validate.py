"""``POST /api/inventory/validate`` (docs/api.md §3.2; plan items COM-201 and COM-203).

Contract tests through the real origin app. The plan's "CMS endpoint" (shop in the body)
and "tenant endpoint" (shop from ``x-shop-id``) are one endpoint here that accepts both.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from origin.models import Variant
from tests.conftest import OriginClient

PATH = "/api/inventory/validate"
NAVY_M = {"size": "m", "color": "navy"}
NAVY_L = {"size": "l", "color": "navy"}


async def validate(origin: OriginClient, body: Any, shop: str = "testshop") -> httpx.Response:
    return await origin.request("POST", PATH, shop=shop, json=body)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    return body


# -- COM-201 --------------------------------------------------------------------------------


async def test_com201_tc01_body_shop_id_with_canonical_items_is_ok(
    origin: OriginClient, seeded: Any
) -> None:
    body = {
        "shopId": "testshop",
        "items": [{"sku": "cf-headband", "quantity": 2, "variantAttributes": NAVY_M}],
    }
    response = await validate(origin, body)
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_com201_tc02_canonical_items_with_shop_from_header_is_ok(
    origin: OriginClient, seeded: Any
) -> None:
    body = {"items": [{"sku": "cf-headband", "quantity": 2, "variantAttributes": NAVY_M}]}
    response = await validate(origin, body)
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_com201_tc03_header_and_body_shop_differ_is_400(
    origin: OriginClient, seeded: Any
) -> None:
    body = {"shopId": "othershop", "items": [{"sku": "clip", "quantity": 1}]}
    error = assert_error(await validate(origin, body), 400, "SHOP_ID_MISMATCH")
    assert error["error"]["message"].startswith("shopId:")


async def test_com201_tc04_variant_key_and_attributes_disagree_is_400(
    origin: OriginClient, seeded: Any
) -> None:
    body = {
        "items": [
            {
                "sku": "cf-headband",
                "quantity": 1,
                "variantAttributes": NAVY_M,
                "variantKey": "cf-headband|color=navy|size=l",
            }
        ]
    }
    error = assert_error(await validate(origin, body), 400, "VARIANT_KEY_MISMATCH")
    assert error["error"]["message"].startswith("items[0].variantKey:")


# -- COM-203 --------------------------------------------------------------------------------


async def test_com203_tc01_cms_shape_with_shop_id_in_body_is_ok(
    origin: OriginClient, seeded: Any
) -> None:
    body = {
        "shopId": "othershop",
        "items": [{"sku": "cf-headband", "quantity": 3, "variantAttributes": NAVY_M}],
    }
    response = await validate(origin, body, shop="othershop")
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_com203_tc02_tenant_shape_is_ok(origin: OriginClient, seeded: Any) -> None:
    body = {
        "items": [
            {"sku": "cf-headband", "quantity": 25, "variantAttributes": NAVY_M},
            {"sku": "clip", "quantity": 100},
            {"sku": "scarce", "quantity": 1, "variantAttributes": {}},
        ]
    }
    response = await validate(origin, body)
    assert (response.status_code, response.json()) == (200, {"ok": True})


@pytest.mark.parametrize(
    "item",
    [
        {"sku": "cf-headband", "quantity": 1, "variantKey": "cf-headband|color=navy|size=m"},
        {
            "sku": "cf-headband",
            "quantity": 1,
            "variantKey": "cf-headband|color=navy|size=m",
            "variantAttributes": {"Size": "M", "color": "navy"},
        },
        {"sku": "clip", "quantity": 1, "variantKey": "clip"},
    ],
)
async def test_com203_tc03_deprecated_variant_key_still_accepted_when_consistent(
    origin: OriginClient, seeded: Any, item: dict[str, Any]
) -> None:
    response = await validate(origin, {"items": [item]})
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_com203_tc04_header_and_body_shop_mismatch_is_400(
    origin: OriginClient, seeded: Any
) -> None:
    body = {"shopId": "testshop", "items": [{"sku": "cf-headband", "quantity": 1}]}
    assert_error(await validate(origin, body, shop="othershop"), 400, "SHOP_ID_MISMATCH")


@pytest.mark.parametrize(
    "item",
    [
        {
            "sku": "cf-headband",
            "quantity": 1,
            "variantAttributes": NAVY_M,
            "variantKey": "cf-headband|color=navy|size=l",
        },
        {
            "sku": "cf-headband",
            "quantity": 1,
            "variantAttributes": {},
            "variantKey": "cf-headband|size=m",
        },
        {"sku": "clip", "quantity": 1, "variantKey": "cf-headband|color=navy|size=m"},
    ],
)
async def test_com203_tc05_variant_key_and_attributes_mismatch_is_400(
    origin: OriginClient, seeded: Any, item: dict[str, Any]
) -> None:
    assert_error(await validate(origin, {"items": [item]}), 400, "VARIANT_KEY_MISMATCH")


# -- the other answers ----------------------------------------------------------------------


async def test_short_stock_is_409_with_per_line_availability(
    origin: OriginClient, seeded: Any
) -> None:
    body = {
        "items": [
            {"sku": "clip", "quantity": 2},
            {"sku": "scarce", "quantity": 2},
            {"sku": "cf-headband", "quantity": 6, "variantAttributes": NAVY_L},
        ]
    }
    response = await validate(origin, body)
    error = assert_error(response, 409, "INSUFFICIENT_STOCK")
    assert error["ok"] is False
    assert error["items"] == [
        {
            "sku": "cf-headband",
            "variantKey": "cf-headband|color=navy|size=l",
            "requested": 6,
            "available": 5,
        },
        {"sku": "scarce", "variantKey": "scarce", "requested": 2, "available": 1},
    ]
    metrics = (await origin.http.get("/metrics")).text
    assert 'inventory_insufficient_stock_total{route="validate",shop="testshop"} 1.0' in metrics


async def test_identical_variants_are_summed_before_comparing(
    origin: OriginClient, seeded: Any
) -> None:
    body = {
        "items": [
            {"sku": "cf-headband", "quantity": 3, "variantAttributes": NAVY_L},
            {"sku": "cf-headband", "quantity": 3, "variantKey": "cf-headband|color=navy|size=l"},
        ]
    }
    error = assert_error(await validate(origin, body), 409, "INSUFFICIENT_STOCK")
    assert [(i["requested"], i["available"]) for i in error["items"]] == [(6, 5)]
    exact = {"items": [{**body["items"][0], "quantity": 2}, {**body["items"][1], "quantity": 3}]}
    assert (await validate(origin, exact)).status_code == 200


async def test_stock_is_the_requesting_shops(origin: OriginClient, seeded: Any) -> None:
    body = {"items": [{"sku": "cf-headband", "quantity": 4, "variantAttributes": NAVY_M}]}
    assert (await validate(origin, body)).status_code == 200
    error = assert_error(await validate(origin, body, shop="othershop"), 409, "INSUFFICIENT_STOCK")
    assert error["items"][0]["available"] == 3


@pytest.mark.parametrize(
    ("item", "index"),
    [
        ({"sku": "nope", "quantity": 1}, 1),
        ({"sku": "cf-headband", "quantity": 1, "variantAttributes": {"size": "xs"}}, 1),
        ({"sku": "dress", "quantity": 1, "variantAttributes": {"size": "38"}}, 1),
    ],
)
async def test_unknown_sku_or_variant_is_404_unknown_sku(
    origin: OriginClient, seeded: Any, item: dict[str, Any], index: int
) -> None:
    body = {"items": [{"sku": "clip", "quantity": 1}, item]}
    error = assert_error(await validate(origin, body), 404, "UNKNOWN_SKU")
    assert error["error"]["message"].startswith(f"items[{index}]:")


async def test_validation_holds_nothing(
    origin: OriginClient, seeded: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await validate(origin, {"items": [{"sku": "scarce", "quantity": 1}]})
    async with sessions() as session:
        available = await session.scalar(
            select(Variant.available).where(
                col(Variant.shop_id) == "testshop", col(Variant.sku) == "scarce"
            )
        )
    assert available == 1


async def test_without_the_gateway_token_is_401(origin: OriginClient, seeded: Any) -> None:
    response = await origin.http.post(
        PATH, json={"items": [{"sku": "clip", "quantity": 1}]}, headers={"x-shop-id": "testshop"}
    )
    assert_error(response, 401, "GATEWAY_UNAUTHORIZED")


async def test_unknown_shop_is_404_whatever_the_body(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request("POST", PATH, shop="no-such-shop", content=b"not json")
    assert_error(response, 404, "SHOP_NOT_FOUND")


async def test_other_methods_are_405(origin: OriginClient, seeded: Any) -> None:
    response = await origin.request("GET", PATH)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
