"""CPU per Stripe call: stripe-python over ``stripe.HTTPXClient`` vs the origin's own client.

``python -m tests.bench.stripe_http [--calls 2000]`` starts the Stripe stand-in as a process,
then creates ``--calls`` Checkout Sessions one after another through ``stripe.StripeClient``
with each HTTP client in turn (under uvloop, as uvicorn runs the origin) and prints this
process's CPU time per create call (``time.process_time()``: the client side only, the
stand-in's CPU is its own process). A warm-up of 50 calls precedes each measurement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import stripe
import uvloop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from origin.payments.http import StripeHTTPClient  # noqa: E402
from origin.payments.stripe_client import STRIPE_API_VERSION, CheckoutSession  # noqa: E402
from tests.support.processes import free_port, start_process  # noqa: E402

WARM_UP = 50
PARAMS: dict[str, Any] = {
    "mode": "payment",
    "success_url": "https://shop.example/thanks",
    "line_items": [
        {
            "quantity": 2,
            "price_data": {
                "currency": "eur",
                "unit_amount": 2500,
                "product_data": {"name": "Headband"},
            },
        }
    ],
    "metadata": {"shop": "bench"},
}


async def cpu_per_call(http_client: stripe.HTTPClient, base: str, calls: int) -> float:
    """Microseconds of this process's CPU per create call (after a warm-up)."""
    client = stripe.StripeClient(
        "sk_test_bench",
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": base},
        max_network_retries=0,
        http_client=http_client,
    )
    sessions = client.v1.checkout.sessions

    async def create(count: int) -> None:
        for _ in range(count):
            CheckoutSession.from_stripe(await sessions.create_async(params=PARAMS))

    try:
        await create(WARM_UP)
        started = time.process_time()
        await create(calls)
        return (time.process_time() - started) / calls * 1e6
    finally:
        await http_client.close_async()


async def measure(base: str, calls: int) -> dict[str, float]:
    return {
        "stripe.HTTPXClient": await cpu_per_call(stripe.HTTPXClient(timeout=8), base, calls),
        "StripeHTTPClient": await cpu_per_call(StripeHTTPClient(timeout=8), base, calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    # stripe-python's HTTPXClient posts data=<str>, which httpx 0.28 deprecates.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    port = free_port()
    with tempfile.TemporaryDirectory() as logs:
        sim = start_process(
            "stripe-sim",
            ["-m", "tests.stripe_sim", "--port", str(port), "--log-level", "warning",
             "--webhook-url", f"http://127.0.0.1:{free_port()}/", "--webhook-secret", "whsec_b"],
            port=port, env={}, log_dir=Path(logs), health_path="/_sim/faults",
        )  # fmt: skip
        try:
            results = uvloop.run(measure(sim.url, args.calls))
        finally:
            sim.stop()
    for name, micros in results.items():
        print(f"{name:<20} {micros:8.0f} µs CPU per create call ({args.calls} calls)")


if __name__ == "__main__":
    main()
