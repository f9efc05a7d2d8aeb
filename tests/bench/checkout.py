"""``make bench-checkout``: checkout sessions per second through gateway + origin.

One run measures, on this machine:

1. **many SKUs** — each request checks out one unit of one of 200 SKUs;
2. **one hot SKU** — every request takes one unit of the same variant (the row every hold
   must update: the worst case for lock contention);
3. **the raw ceiling** — the same conditional ``UPDATE … WHERE available >= 1`` plus the hold
   and hold-item INSERTs, in one transaction, driven by asyncpg directly on the hot row.

Everything is real: PostgreSQL (a throw-away database), the Stripe stand-in process, an
origin process and a gateway process (rate limiting off for the checkout class, so the
limiter is not what is measured). The load comes from ``wrk`` (two threads, a Lua script
giving every request its own Idempotency-Key and client IP): a load generator in Python cost
more CPU per checkout than the origin and capped what it measured. CPU per successful
checkout is read for the origin, the gateway, the stand-in, PostgreSQL (every backend) and the
load driver itself. While the hot-SKU load runs, ``pg_stat_activity`` is
sampled every 20 ms for backends waiting on a lock: the hold path takes its row lock only
inside phase A's short transaction, never across the Stripe call, and the samples show it.

Results go to ``tests/bench/results/checkout.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from origin import migrate  # noqa: E402
from tests.bench.checkout_load import raw_ceiling, sample_lock_waits  # noqa: E402
from tests.bench.cpu import CpuMeter, DriverMeter, per_checkout_ms  # noqa: E402
from tests.bench.load import parse_wrk  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.processes import (  # noqa: E402
    ServiceProcess,
    free_port,
    start_gateway_process,
    start_process,
    start_uvicorn,
)

FRONT_DOOR = "bench-front-door"
GATEWAY_TOKEN = "bench-gateway-token"
WEBHOOK_SECRET = "whsec_bench"
SKUS = 200
STRIPE_DELAY_SECONDS = 0.1


def bench_catalog() -> dict[str, Any]:
    products = [
        {"shopId": "bench", "sku": f"sku-{i:03d}", "title": f"Item {i}", "price": 1000 + i,
         "variants": [{"attributes": {}, "stock": 1_000_000}]}
        for i in range(SKUS)
    ]  # fmt: skip
    products.append(
        {"shopId": "bench", "sku": "hot", "title": "Hot item", "price": 2500,
         "variants": [{"attributes": {"size": "m"}, "stock": 1_000_000}]}
    )  # fmt: skip
    return {
        "shops": [
            {"id": "bench", "name": "Bench", "type": "sale", "currency": "usd",
             "checkoutMode": "hosted", "successUrl": "https://bench.example/ok",
             "cancelUrl": "https://bench.example/cart"}
        ],
        "products": products,
    }  # fmt: skip


# Every request is its own checkout: a fresh Idempotency-Key (run, thread, counter) and one of
# 50,000 client IPs. Many SKUs: request n takes one unit of sku-(n mod SKUS); hot: of "hot".
WRK_SCRIPT = """
local threads = 0
local thread_id = 0
local counter = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
init = function(args)
  thread_id = id
end
request = function()
  counter = counter + 1
  local n = counter %% 50000
  wrk.headers["Idempotency-Key"] = "%(run)s-" .. thread_id .. "-" .. counter
  wrk.headers["cf-connecting-ip"] = "10." .. math.floor(n / 65536) .. "." ..
      (math.floor(n / 256) %% 256) .. "." .. (n %% 256)
  local body
  if %(hot)s then
    body = '{"items":[{"sku":"hot","quantity":1,"variantAttributes":{"size":"m"}}]}'
  else
    body = string.format('{"items":[{"sku":"sku-%%03d","quantity":1}]}', counter %% %(skus)d)
  end
  return wrk.format("POST", "/api/checkout-session", nil, body)
end
"""


def run_wrk(gateway_url: str, script: Path, *, concurrency: int, seconds: float) -> dict[str, Any]:
    """One wrk run (C, two threads: the load driver costs next to nothing) against the gateway."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("make bench-checkout needs wrk (apt-get install wrk)")
    duration = f"-d{max(1, round(seconds))}s"
    command = [
        wrk, "-t2", f"-c{concurrency}", duration, "--latency", "--timeout", "30s",
        "-s", str(script), "-H", "content-type: application/json",
        "-H", f"x-front-door-token: {FRONT_DOOR}", "-H", "x-shop-id: bench", gateway_url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    counts = parse_wrk(result.stdout, result.stderr)
    succeeded = counts.requests - counts.non_2xx
    return {
        "requests": succeeded,
        "errors": counts.non_2xx + counts.socket_errors,
        "seconds": counts.seconds,
        "rps": round(succeeded / counts.seconds, 1),
        "p50_ms": counts.p50_ms,
        "p99_ms": counts.p99_ms,
        "concurrency": concurrency,
    }


async def checkout_load(
    gateway_url: str,
    *,
    hot: bool,
    concurrency: int,
    seconds: float,
    dsn: str,
    pids: Mapping[str, int],
    script_dir: Path,
) -> dict[str, Any]:
    """One scenario; ``pids`` names the processes whose CPU per checkout is reported."""

    def script() -> Path:
        # A new run id per wrk run: warm-up and measured runs never share an intent.
        path = script_dir / f"checkout-{uuid.uuid4().hex[:8]}.lua"
        values = {"run": path.stem, "hot": "true" if hot else "false", "skus": SKUS}
        path.write_text(WRK_SCRIPT % values)
        return path

    await asyncio.to_thread(run_wrk, gateway_url, script(), concurrency=concurrency, seconds=1)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_lock_waits(dsn, stop))
    meters: dict[str, CpuMeter | DriverMeter] = {name: CpuMeter(pid) for name, pid in pids.items()}
    meters["load_driver"] = DriverMeter()
    for meter in meters.values():
        meter.start()
    result = await asyncio.to_thread(
        run_wrk, gateway_url, script(), concurrency=concurrency, seconds=seconds
    )
    for meter in meters.values():
        meter.stop()
    stop.set()
    result["lock_waits"] = await sampler
    result["cpu_ms_per_checkout"] = {
        name: per_checkout_ms(meter.seconds, result["requests"]) for name, meter in meters.items()
    }
    return result


async def seed_bench_database(url: str) -> None:
    """Migrate the throw-away database at ``url`` and seed :func:`bench_catalog` into it."""
    from origin.catalog.catalog_file import parse_catalog
    from origin.catalog.seed import seed_catalog
    from origin.db import create_engine, session_factory

    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        await seed_catalog(session, parse_catalog(json.dumps(bench_catalog())))
    await engine.dispose()


def start_stand_in(log_dir: Path) -> ServiceProcess:
    """The Stripe stand-in, its webhooks sent nowhere (nothing here pays)."""
    port = free_port()
    return start_process(
        "stripe-sim",
        ["-m", "tests.stripe_sim", "--port", str(port), "--webhook-url",
         f"http://127.0.0.1:{free_port()}/", "--webhook-secret", WEBHOOK_SECRET,
         "--webhook-retries", "0", "--log-level", "warning"],
        port=port, env={}, log_dir=log_dir, health_path="/_sim/faults",
    )  # fmt: skip


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = await asyncio.to_thread(databases.create_database, "ce_bench")
    dsn = databases.asyncpg_url(url)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    processes = []
    try:
        await seed_bench_database(url)
        sim = start_stand_in(log_dir)
        processes.append(sim)
        origin = start_uvicorn(
            "origin",
            "origin.app:create_app",
            env={
                "DATABASE_URL": url, "ORIGIN_GATEWAY_TOKEN": GATEWAY_TOKEN,
                "STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_API_BASE": sim.url,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "HOLD_REAPER_ENABLED": "false",
                "LOG_LEVEL": args.log_level, "ORIGIN_DB_POOL_SIZE": str(args.concurrency),
                # Several workers are refused in production (docs/observability.md).
                "CHECKOUT_EDGE_ALLOW_WORKERS": "1",
            },
            log_dir=log_dir,
            extra_args=["--workers", str(args.origin_workers)],
        )  # fmt: skip
        processes.append(origin)
        gateway = start_gateway_process(
            "gateway",
            env={
                "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR, "GATEWAY_ORIGIN_URL": origin.url,
                "GATEWAY_ORIGIN_TOKEN": GATEWAY_TOKEN,
                "GATEWAY_REDIS_URL": os.environ.get("BENCH_REDIS_URL", databases.REDIS_URL),
                "GATEWAY_REDIS_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
                "CHECKOUT_RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": args.log_level,
            },
            log_dir=log_dir,
        )  # fmt: skip
        processes.append(gateway)

        results: dict[str, Any] = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "settings": {
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "origin_workers": args.origin_workers,
                "log_level": args.log_level,
            },
        }
        pids = {
            "origin": origin.proc.pid,
            "gateway": gateway.proc.pid,
            "stripe_sim": sim.proc.pid,
            # The rest of the machine's work per checkout: PostgreSQL (its postmaster and every
            # backend; other databases' work on this server counts too). The load driver (this
            # process and its wrk runs) is metered apart: the services are its children too.
            "postgres": await postmaster_pid(dsn),
        }
        load = {
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "dsn": dsn,
            "pids": pids,
            "script_dir": log_dir,
        }
        results["many_skus"] = await checkout_load(gateway.url, hot=False, **load)
        results["hot_sku"] = await checkout_load(gateway.url, hot=True, **load)
        # The same hot row with every Stripe call 100 ms slower. Were the row lock held
        # across the call, this row could not pass 10 checkouts/s; it is not, so the rate
        # stays with the CPU-bound figure above and only the latency grows.
        if not args.skip_slow_stripe:
            async with httpx.AsyncClient(base_url=sim.url) as control:
                fault = {"count": 1_000_000, "delay": STRIPE_DELAY_SECONDS}
                (await control.post("/_sim/faults", json=fault)).raise_for_status()
                results["hot_sku_stripe_plus_100ms"] = await checkout_load(
                    gateway.url, hot=True, **load
                )
                (await control.delete("/_sim/faults")).raise_for_status()
        for process in processes:
            process.stop()
        processes.clear()
        results["raw_ceiling_hot_row"] = await raw_ceiling(
            dsn, concurrency=args.concurrency, seconds=args.seconds
        )
        ceiling = results["raw_ceiling_hot_row"]["rps"]
        results["hot_sku_share_of_raw_ceiling"] = round(results["hot_sku"]["rps"] / ceiling, 3)
        return results
    finally:
        for process in processes:
            process.stop()
        await asyncio.to_thread(databases.drop_database, url)


async def postmaster_pid(dsn: str) -> int:
    """PostgreSQL's postmaster: the parent of any backend (this connection's, here)."""
    connection = await asyncpg.connect(dsn)
    try:
        backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
        # Read while the backend lives.
        stat = await asyncio.to_thread(Path(f"/proc/{backend}/stat").read_text)
    finally:
        await connection.close()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def print_table(results: Mapping[str, Any]) -> None:
    print(
        f"{'scenario':<27}{'rps':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'lock wait':>10}"
        f"{'CPU ms/checkout: origin':>25}{'gateway':>9}{'stand-in':>10}{'postgres':>10}"
        f"{'driver':>8}"
    )
    for name in ("many_skus", "hot_sku", "hot_sku_stripe_plus_100ms", "raw_ceiling_hot_row"):
        r = results.get(name)
        if r is None:
            continue
        cpu = r.get("cpu_ms_per_checkout", {})
        print(
            f"{name:<27}{r['rps']:>8}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['errors']:>7}"
            f"{r['lock_waits']['mean_backends_waiting_on_lock']:>10}"
            f"{cpu.get('origin', ''):>25}{cpu.get('gateway', ''):>9}{cpu.get('stripe_sim', ''):>10}"
            f"{cpu.get('postgres', ''):>10}{cpu.get('load_driver', ''):>8}"
        )
    share = results["hot_sku_share_of_raw_ceiling"]
    print(f"hot SKU / raw ceiling: {share:.1%} (goal ≥ 25%)")
    origin_ms = results["hot_sku"]["cpu_ms_per_checkout"]["origin"]
    print(f"origin CPU per checkout (hot SKU): {origin_ms} ms (goal ≤ 3 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--skip-slow-stripe", action="store_true", help="leave out the Stripe +100 ms scenario"
    )
    parser.add_argument(
        "--origin-workers", type=int, default=1, help="uvicorn worker processes of the origin"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="LOG_LEVEL of origin and gateway (INFO: a JSON line per hold transition and call)",
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    out = ROOT / "tests" / "bench" / "results" / "checkout.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
