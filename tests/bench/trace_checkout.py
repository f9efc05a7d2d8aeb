"""Print the SQL statements (and round trips) of one checkout on PostgreSQL, and the origin's
CPU per checkout measured in-process over ``--count`` sequential checkouts.

A development aid for the hot path (``python -m tests.bench.trace_checkout``): it runs the
origin in-process (no gateway, no uvicorn), so its CPU figure includes the test client's and
is only comparable with itself; ``make bench-checkout`` is the measurement of record.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from tests.bench.checkout import seed_bench_database, start_stand_in  # noqa: E402
from tests.conftest import origin_settings, start_origin  # noqa: E402
from tests.support import databases  # noqa: E402


async def main_async(args: argparse.Namespace) -> None:
    url = await asyncio.to_thread(databases.create_database, "ce_trace")
    log_dir = Path(tempfile.mkdtemp(prefix="trace-checkout-"))
    sim = None
    try:
        await seed_bench_database(url)
        sim = start_stand_in(log_dir)
        client, lifespan = await start_origin(origin_settings(url, stripe_api_base=sim.url))
        statements: list[str] = []
        sync_engine = client.state.engine.sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _record(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
            statements.append(" ".join(statement.split())[:160])

        async def one(sku: str) -> int:
            response = await client.request(
                "POST",
                "/api/checkout-session",
                shop="bench",
                json={"items": [{"sku": sku, "quantity": 1}]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            return response.status_code

        for i in range(20):  # warm caches
            assert await one(f"sku-{i:03d}") == 201
        statements.clear()
        assert await one("sku-100") == 201
        print(f"{len(statements)} statements through SQLAlchemy in one checkout:")
        for statement in statements:
            print("  ", statement)
        event.remove(sync_engine, "before_cursor_execute", _record)
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        started = time.process_time()
        for i in range(args.count):
            assert await one(f"sku-{i % 200:03d}") == 201
        spent = time.process_time() - started
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        per_checkout = spent / args.count * 1000
        print(f"in-process CPU per checkout: {per_checkout:.2f} ms ({args.count} runs)")
        await client.http.aclose()
        await lifespan.__aexit__(None, None, None)
    finally:
        if sim is not None:
            sim.stop()
        await asyncio.to_thread(databases.drop_database, url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--profile", help="write a cProfile of the timed loop to this file")
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
