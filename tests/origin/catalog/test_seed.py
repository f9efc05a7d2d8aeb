"""``python -m origin seed``: idempotent, exact errors, nothing written on refusal."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from origin.catalog.catalog_file import CatalogError, parse_catalog
from origin.catalog.seed import seed_catalog
from origin.models import (
    CheckoutIntent,
    Coupon,
    HoldItem,
    InventoryHold,
    Product,
    Shop,
    Variant,
)
from origin.models.types import utcnow
from tests.conftest import ROOT_DIR, load_test_catalog, seed


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        return {
            "shops": [
                (s.id, s.name, s.updated_at)
                for s in (await session.execute(select(Shop).order_by(Shop.id))).scalars()
            ],
            "products": [
                (p.shop_id, p.sku, p.price, p.updated_at)
                for p in (await session.execute(select(Product).order_by(Product.id))).scalars()
            ],
            "variants": [
                (v.variant_key, v.available, v.updated_at)
                for v in (await session.execute(select(Variant).order_by(Variant.id))).scalars()
            ],
            "coupons": (await session.execute(select(func.count()).select_from(Coupon))).scalar(),
        }


async def _clip(session: AsyncSession) -> Variant:
    return (await session.execute(select(Variant).where(Variant.sku == "clip"))).scalar_one()


async def test_seeding_twice_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    first = await _snapshot(sessions)
    await seed(sessions, catalog)
    assert await _snapshot(sessions) == first
    assert len(first["variants"]) == sum(len(p["variants"]) for p in catalog["products"])


async def test_reseed_keeps_stock_but_updates_prices(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    async with sessions() as session, session.begin():
        variant = await _clip(session)
        variant.available = 7
    changed = copy.deepcopy(catalog)
    changed["products"][1]["price"] = 1099
    await seed(sessions, changed)
    async with sessions() as session:
        variant = await _clip(session)
        product = (
            await session.execute(
                select(Product).where(Product.sku == "clip", Product.shop_id == "testshop")
            )
        ).scalar_one()
    assert variant.available == 7
    assert product.price == 1099


async def test_reset_stock_restores_file_stock(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    async with sessions() as session, session.begin():
        (await _clip(session)).available = 7
    async with sessions() as session, session.begin():
        report = await seed_catalog(session, parse_catalog(json.dumps(catalog)), reset_stock=True)
    assert report.stock_reset == 1
    async with sessions() as session:
        variant = await _clip(session)
    assert variant.available == 100


async def test_reset_stock_refused_while_variant_has_active_hold(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    async with sessions() as session, session.begin():
        variant = await _clip(session)
        variant.available = 99
        session.add(CheckoutIntent(id="i1", shop_id="testshop", fingerprint="f"))
        await session.flush()
        session.add(
            InventoryHold(
                id="h1",
                shop_id="testshop",
                intent_id="i1",
                status="active",
                active_key="i1",
                stripe_idempotency_key="k1",
                expires_at=utcnow() + timedelta(minutes=30),
                currency="usd",
                amount_total=999,
            )
        )
        await session.flush()
        session.add(
            HoldItem(
                hold_id="h1", variant_id=variant.id, sku="clip", variant_key="clip", quantity=1
            )
        )
    with pytest.raises(CatalogError, match="active holds"):
        async with sessions() as session, session.begin():
            await seed_catalog(session, parse_catalog(json.dumps(catalog)), reset_stock=True)
    async with sessions() as session:
        variant = await _clip(session)
    assert variant.available == 99


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["shops"][0].update(id="Bad Shop"), "shops[0].id"),
        (lambda c: c["shops"][0].pop("currency"), "shops[0].currency: Field required"),
        (lambda c: c["products"][0].update(price=-1), "products[0].price"),
        (lambda c: c["products"][0].update(price=12.5), "products[0].price"),
        (
            lambda c: c["products"][1]["variants"][0].update(stock="10"),
            "products[1].variants[0].stock",
        ),
        (lambda c: c["products"][0].update(shopId="ghost"), "products[0].shopId: unknown shop"),
        (lambda c: c["products"][0].update(sku="has space"), "products[0].sku"),
        (lambda c: c["coupons"][0].update(amountOff=5), "coupons[0]"),
        (lambda c: c["products"].append(copy.deepcopy(c["products"][0])), "products[6].sku"),
        (lambda c: c["shops"][0].update(checkoutMode="embedded"), "shops[0].checkoutMode"),
        (lambda c: c["products"][0].update(colour="red"), "products[0].colour"),
    ],
)
def test_malformed_catalog_names_entry_and_field(mutate: Any, message: str) -> None:
    catalog = load_test_catalog()
    mutate(catalog)
    with pytest.raises(CatalogError) as excinfo:
        parse_catalog(json.dumps(catalog))
    assert message in str(excinfo.value)


def test_catalog_that_is_not_json_is_rejected() -> None:
    with pytest.raises(CatalogError, match="not valid JSON"):
        parse_catalog("{nope")


def _cli(
    args: list[str], database_url: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT_DIR), **(extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "origin", *args],
        env=env,
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_migrate_and_seed_on_sqlite_writes_nothing_for_bad_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert _cli(["migrate"], url).returncode == 0
    bad = load_test_catalog()
    bad["products"][2]["variants"][0]["stock"] = -5
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    result = _cli(["seed", "--file", str(bad_file)], url)
    assert result.returncode == 2
    assert "products[2].variants[0].stock" in result.stderr
    assert "nothing was written" in result.stderr
    good = _cli(["seed", "--file", str(ROOT_DIR / "deploy" / "demo-catalog.json")], url)
    assert good.returncode == 0, good.stderr
    assert "created" in good.stdout
    again = _cli(["seed", "--file", str(ROOT_DIR / "deploy" / "demo-catalog.json")], url)
    assert "created nothing; updated nothing" in again.stdout


def test_cli_rejects_malformed_database_url(tmp_path: Path) -> None:
    result = _cli(["migrate"], "mysql://nope")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr


def test_cli_migrates_and_seeds_a_separate_central_database(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path / 'origin.db'}"
    central = tmp_path / "central.db"
    catalog = load_test_catalog()
    catalog["central"] = {
        "allocations": [{"shopId": "testshop", "sku": "clip"}],
        "stock": [{"sku": "clip", "attributes": {}, "stock": 40}],
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    env_extra = {"CENTRAL_INVENTORY_DATABASE_URL": f"sqlite+aiosqlite:///{central}"}
    assert _cli(["migrate"], url, env_extra).returncode == 0
    result = _cli(["seed", "--file", str(path)], url, env_extra)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(central) as connection:
        stock = connection.execute("SELECT variant_key, available FROM central_stock").fetchall()
        products = connection.execute("SELECT count(*) FROM products").fetchone()
    assert stock == [("clip", 40)]
    assert products == (0,)  # the central database holds the pool, not the catalog
