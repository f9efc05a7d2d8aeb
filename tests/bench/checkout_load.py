"""The load driver of ``make bench-checkout``: workers, latencies, lock-wait sampling, and the
raw hot-row ceiling (the hold's SQL alone, driven by asyncpg)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(
    call: Callable[[int], Awaitable[int]], *, concurrency: int, seconds: float
) -> dict[str, Any]:
    """Run ``call`` from ``concurrency`` workers; a call answers its HTTP-like status."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    counter = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors, counter
        while time.monotonic() < deadline:
            counter += 1
            started = time.perf_counter()
            status = await call(counter)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status in (200, 201):
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "concurrency": concurrency,
        "statuses": statuses,
    }


async def sample_lock_waits(dsn: str, stop: asyncio.Event) -> dict[str, Any]:
    """How many backends wait on a lock, sampled every 20 ms while the load runs."""
    connection = await asyncpg.connect(dsn)
    samples: list[int] = []
    try:
        while not stop.is_set():
            waiting = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            samples.append(int(waiting))
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    return {
        "samples": len(samples),
        "mean_backends_waiting_on_lock": round(statistics.fmean(samples), 3) if samples else 0,
        "max_backends_waiting_on_lock": max(samples, default=0),
        "share_of_samples_with_a_lock_wait": round(
            sum(1 for s in samples if s) / len(samples), 3
        ) if samples else 0,
    }  # fmt: skip


async def raw_ceiling(dsn: str, *, concurrency: int, seconds: float) -> dict[str, Any]:
    """The hold's SQL alone, on the hot row: the most this database can do for it."""
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    variant_id = await pool.fetchval("SELECT id FROM variants WHERE sku = 'hot'")
    await pool.execute(
        "INSERT INTO checkout_intents (id, shop_id, fingerprint, created_at) "
        "VALUES ('bench-intent', 'bench', 'f', now()) ON CONFLICT DO NOTHING"
    )

    async def call(i: int) -> int:
        hold_id = f"raw_{uuid.uuid4().hex}"
        async with pool.acquire() as connection, connection.transaction():
            taken = await connection.execute(
                "UPDATE variants SET available = available - 1, updated_at = now() "
                "WHERE id = $1 AND available >= 1",
                variant_id,
            )
            if taken != "UPDATE 1":
                return 409
            await connection.execute(
                "INSERT INTO inventory_holds (id, shop_id, intent_id, status, active_key, "
                "stripe_idempotency_key, expires_at, currency, amount_total, deposit_total, "
                "rental_days, price_changed, pricing, payment_status, created_at, updated_at) "
                "VALUES ($1, 'bench', 'bench-intent', 'active', $1, $1, now() + interval "
                "'30 minutes', 'usd', 2500, 0, 0, false, '{}', 'pending', now(), now())",
                hold_id,
            )
            await connection.execute(
                "INSERT INTO hold_items (hold_id, pool, variant_id, sku, variant_key, quantity) "
                "VALUES ($1, 'shop', $2, 'hot', 'hot|size=m', 1)",
                hold_id,
                variant_id,
            )
        return 201

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_lock_waits(dsn, stop))
    result = await drive(call, concurrency=concurrency, seconds=seconds)
    stop.set()
    result["lock_waits"] = await sampler
    await pool.close()
    return result
