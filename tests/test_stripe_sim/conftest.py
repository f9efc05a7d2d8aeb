"""Fixtures: a webhook receiver, the stand-in started from its command line, stripe clients.

The stand-in runs once per session as ``python -m tests.stripe_sim`` (uvicorn's defaults:
httptools on uvloop); every test starts from ``POST /_sim/reset``. Tests that need another
configuration build one with ``create_app`` under a threaded uvicorn (h11 on asyncio).
"""

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.stripe_sim import SimConfig, create_app

from .support import (
    FRONT_DOOR_HEADER,
    WEBHOOK_SECRET,
    ClientFactory,
    ThreadedServer,
    WebhookReceiver,
    free_port,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    """The webhook endpoint every stand-in in these tests delivers to."""
    hooks = WebhookReceiver()
    with ThreadedServer(hooks.app()) as server:
        hooks.url = server.url + "/hook"
        yield hooks


@pytest.fixture(scope="session")
def sim_url(receiver: WebhookReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in, started exactly as the contract says, with tiny webhook backoff."""
    port = free_port()
    log = tmp_path_factory.mktemp("stripe_sim") / "server.log"
    command = [
        sys.executable, "-m", "tests.stripe_sim", "--port", str(port),
        "--webhook-url", receiver.url,
        "--webhook-secret", WEBHOOK_SECRET,
        "--webhook-header", f"{FRONT_DOOR_HEADER[0]}: {FRONT_DOOR_HEADER[1]}",
        "--webhook-retries", "2", "--webhook-backoff", "0.05", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _wait_until_serving(url: str, process: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"stand-in exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url + "/_sim/faults", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"stand-in did not start:\n{log.read_text()}")


@pytest.fixture
async def control(sim_url: str, receiver: WebhookReceiver) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the stand-in (controls, raw API calls), after a reset of everything."""
    async with httpx.AsyncClient(base_url=sim_url, trust_env=False) as client:
        (await client.post("/_sim/reset")).raise_for_status()
        receiver.reset()
        yield client


@pytest.fixture
async def make_client(sim_url: str) -> AsyncIterator[ClientFactory]:
    """Build real stripe clients aimed at the stand-in; all are closed afterwards."""
    transports: list[stripe.HTTPXClient] = []

    def build(
        *,
        api_key: str = "sk_test_stand_in",
        timeout: float = 5.0,
        retries: int = 0,
        stripe_version: str | None = None,
        base: str | None = None,
    ) -> stripe.StripeClient:
        transport = stripe.HTTPXClient(timeout=timeout)
        transports.append(transport)
        options: dict[str, Any] = {}
        if stripe_version is not None:
            options["stripe_version"] = stripe_version
        return stripe.StripeClient(
            api_key=api_key,
            base_addresses={"api": base or sim_url},
            max_network_retries=retries,
            http_client=transport,
            **options,
        )

    yield build
    for transport in transports:
        await transport.close_async()


@pytest.fixture
async def client(make_client: ClientFactory) -> stripe.StripeClient:
    """A stripe client with the package's default API version and no retries."""
    return make_client()


@pytest.fixture
def other_sim(receiver: WebhookReceiver) -> Callable[..., ThreadedServer]:
    """Start a second stand-in from ``create_app`` with its own config (h11, asyncio loop)."""

    def start(**config: Any) -> ThreadedServer:
        settings: dict[str, Any] = {
            "webhook_url": receiver.url,
            "webhook_secret": WEBHOOK_SECRET,
            "webhook_retries": 2,
            "webhook_backoff": 0.05,
            **config,
        }
        return ThreadedServer(create_app(SimConfig(**settings)), http="h11", loop="asyncio")

    return start
