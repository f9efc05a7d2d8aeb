"""The stock and order audit (docs/observability.md): on a live database, without waiting.

It finds units that vanished or appeared, and orders/holds/sessions that disagree; it prints
them and exits 1 from the command line; the background refresh publishes the same findings
as gauges; and it never waits for a checkout's row lock.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from origin.audit import audit_orders, audit_stock
from origin.catalog.catalog_file import parse_catalog
from origin.catalog.seed import seed_catalog
from origin.checkout.reaper import reap_once
from origin.monitor import MonitorScope, refresh
from tests.conftest import ROOT_DIR, OriginClient, load_test_catalog
from tests.origin.support import HEADBAND_M, HEADBAND_M_KEY
from tests.support import databases

LOSE_TWO = "UPDATE variants SET available = available - 2"
SCOPE = MonitorScope(
    pools=("shop", "central"), reprice_mode="enforce_and_proceed", env="development"
)


async def checkout(origin: OriginClient, key: str) -> dict[str, Any]:
    response = await origin.request(
        "POST",
        "/api/checkout-session",
        json={"items": [HEADBAND_M]},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def execute(
    sessions: async_sessionmaker[AsyncSession], statement: str, **params: Any
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text(statement), params)


async def audit(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[Any], list[Any]]:
    async with sessions() as session, session.begin():
        imbalances = await audit_stock(session, pools=("shop", "central"))
    async with sessions() as session, session.begin():
        violations = await audit_orders(session)
    return imbalances, violations


def run_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "origin", "audit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT_DIR,
        timeout=60,
        check=False,
    )


async def test_live_holds_and_reaped_holds_add_up(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession], pg_url: str
) -> None:
    ended = await checkout(shop_origin, "a")
    await execute(
        sessions,
        "UPDATE inventory_holds SET expires_at = expires_at - interval '2 hours' WHERE id = :id",
        id=ended["inventoryReservationId"],
    )
    state = shop_origin.state
    assert (
        await reap_once(
            sessions=sessions, payments=state.payments, metrics=state.metrics, remote_pool=None
        )
        == 1
    )
    await checkout(shop_origin, "b")
    assert await audit(sessions) == ([], [])
    result = run_cli(pg_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("audit ok")


async def test_lost_units_are_printed_by_variant_and_exit_1(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession], pg_url: str
) -> None:
    await checkout(shop_origin, "a")
    await execute(
        sessions,
        f"{LOSE_TWO} WHERE shop_id = 'testshop' AND variant_key = :key",
        key=HEADBAND_M_KEY,
    )
    [imbalance], violations = await audit(sessions)
    assert violations == []
    assert (imbalance.shop_id, imbalance.variant_key, imbalance.held, imbalance.missing) == (
        "testshop",
        HEADBAND_M_KEY,
        2,
        2,
    )
    result = run_cli(pg_url)
    assert result.returncode == 1
    assert (
        f"shop stock testshop {HEADBAND_M_KEY}: stocked 25 but available 21 + held 2 + sold 0 = 23 "
        "(+2 missing)"
    ) in result.stdout
    assert "1 stock row(s) do not add up" in result.stderr


async def test_orders_holds_and_sessions_that_disagree_are_violations(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sold = await checkout(shop_origin, "a")
    # A hold committed with no order written: stock still adds up (held → sold).
    await execute(
        sessions,
        "UPDATE inventory_holds SET status = 'committed', active_key = NULL WHERE id = :id",
        id=sold["inventoryReservationId"],
    )
    imbalances, violations = await audit(sessions)
    assert imbalances == []
    assert [(v.kind, v.shop_id, v.subject) for v in violations] == [
        ("committed_hold_without_order", "testshop", sold["inventoryReservationId"])
    ]


async def test_the_audit_does_not_wait_for_a_checkouts_row_lock(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession], pg_url: str
) -> None:
    await checkout(shop_origin, "a")
    connection = await asyncpg.connect(databases.asyncpg_url(pg_url))
    try:
        locked = connection.transaction()
        await locked.start()
        await connection.execute("SELECT * FROM variants FOR UPDATE")
        await connection.execute("SELECT * FROM inventory_holds FOR UPDATE")
        # A checkout in the middle of its transaction holds these locks; the audit reads past.
        assert await asyncio.wait_for(audit(sessions), timeout=10) == ([], [])
        await locked.rollback()
    finally:
        await connection.close()


async def test_reset_stock_rebases_the_baseline_on_what_was_sold(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sold = await checkout(shop_origin, "a")
    await execute(
        sessions,
        "UPDATE inventory_holds SET status = 'committed', active_key = NULL WHERE id = :id",
        id=sold["inventoryReservationId"],
    )
    catalog = load_test_catalog()
    catalog["products"][0]["variants"][0]["stock"] = 7
    async with sessions() as session, session.begin():
        await seed_catalog(session, parse_catalog(json.dumps(catalog)), reset_stock=True)
    imbalances, _ = await audit(sessions)
    assert imbalances == []
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT available, stocked FROM variants "
                    "WHERE shop_id = 'testshop' AND variant_key = :k"
                ),
                {"k": HEADBAND_M_KEY},
            )
        ).one()
    assert tuple(row) == (7, 9)  # 7 on the shelf, 2 sold before the reset


async def test_the_refresh_publishes_units_held_and_findings_as_gauges(
    shop_origin: OriginClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    metrics = shop_origin.state.metrics
    await checkout(shop_origin, "a")
    report = await refresh(sessions, metrics, SCOPE)
    assert report.ok
    assert metrics.units_held.labels("testshop")._value.get() == 2
    assert metrics.units_held.labels("othershop")._value.get() == 0
    assert metrics.audit_last_success._value.get() > 0
    await execute(
        sessions,
        "UPDATE variants SET available = available + 5 WHERE shop_id = 'testshop' "
        "AND variant_key = :k",
        k=HEADBAND_M_KEY,
    )
    report = await refresh(sessions, metrics, SCOPE)
    assert [i.missing for i in report.imbalances] == [-5]
    assert metrics.conservation_imbalances.labels("shop")._value.get() == 1
    # Every existing shop's series exist, at 0, for the alerts' first event.
    text_metrics = (await shop_origin.http.get("/metrics")).text
    assert (
        'orders_needs_attention_total{reason="amount_mismatch",shop="rentshop"} 0.0' in text_metrics
    )
    expired = 'reason="expired_at_stripe",shop="othershop",to="released"'
    assert f"inventory_hold_transitions_total{{{expired}}} 0.0" in text_metrics
