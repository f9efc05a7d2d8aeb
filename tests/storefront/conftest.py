"""The storefront's stack as real processes, and Chromium to shop in it.

Stand-in → gateway → origin (PostgreSQL) → front door, started once per module in the order
their addresses are known; the stand-in delivers its webhooks to the gateway with the front
door's token, as Stripe's reach the platform through the front door. Before each test the
database is emptied and the demo catalog seeded with ``python -m origin seed`` — with its
success/cancel/return URLs pointing at this front door's ports — and the stand-in is reset.
Each shopper is a fresh browser context (its own cookies and sessionStorage).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from origin.models import metadata
from tests.conftest import (
    ROOT_DIR,
    StripeSim,
    gateway_process_env,
    origin_process_env,
    start_stripe_sim,
)
from tests.storefront.browser import CHROMIUM_ARGS, PageWatch, chromium_path
from tests.support import databases
from tests.support.processes import ServiceProcess, free_port, start_process, start_uvicorn

FRONT_DOOR_TOKEN = "storefront-e2e-front-door"
DEMO_CATALOG = ROOT_DIR / "deploy" / "demo-catalog.json"
DEMO_PORTS = {"cochlearfit": 8080, "wardrobe-rent": 8081}
SHOPS = tuple(DEMO_PORTS)
T = TypeVar("T")


def localized_catalog(ports: dict[str, int]) -> dict[str, Any]:
    """The demo catalog with its shop URLs on ``ports`` instead of the defaults."""
    text = DEMO_CATALOG.read_text()
    for shop, port in ports.items():
        text = text.replace(
            f"//{shop}.localhost:{DEMO_PORTS[shop]}/", f"//{shop}.localhost:{port}/"
        )
    catalog: dict[str, Any] = json.loads(text)
    return catalog


def start_front_door(
    gateway_url: str, ports: dict[str, int], log_dir: Path, stripe_js_url: str
) -> ServiceProcess:
    args = ["deploy/front_door.py", "--gateway-url", gateway_url, "--log-level", "warning"]
    args += ["--stripe-js-url", stripe_js_url]
    for shop, port in ports.items():
        args += ["--shop", f"{shop}={port}"]
    first = next(iter(ports.values()))
    env = {"GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR_TOKEN}
    return start_process("front-door", args, port=first, env=env, log_dir=log_dir)


@dataclass
class ShopStack:
    """The running stack; ``ports`` are the storefront ports per shop."""

    sim: StripeSim
    origin: ServiceProcess
    gateway: ServiceProcess
    front_door: ServiceProcess
    ports: dict[str, int]
    database_url: str
    work: Path
    catalog: dict[str, Any] = field(default_factory=dict)

    def url(self, shop: str, path: str = "/") -> str:
        """What a shopper types: the shop's own host name and port."""
        return f"http://{shop}.localhost:{self.ports[shop]}{path}"

    def api(self, shop: str) -> httpx.Client:
        """A client of the shop's front door (what the browser's fetches go through)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.ports[shop]}", timeout=15)

    def seed(self, catalog: dict[str, Any], *extra: str) -> None:
        """``python -m origin seed --file …`` with ``catalog`` (re-seeding changes prices)."""
        path = self.work / "catalog.json"
        path.write_text(json.dumps(catalog))
        env = {**os.environ, "PYTHONPATH": str(ROOT_DIR), "DATABASE_URL": self.database_url}
        subprocess.run(
            [sys.executable, "-m", "origin", "seed", "--file", str(path), *extra],
            cwd=ROOT_DIR, env=env, check=True, capture_output=True,
        )  # fmt: skip
        self.catalog = catalog

    def sim_json(self, path: str) -> Any:
        response = httpx.get(self.sim.url + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def session_creates(self) -> list[dict[str, Any]]:
        """The stand-in's log of ``POST /v1/checkout/sessions`` requests."""
        requests: list[dict[str, Any]] = self.sim_json("/_sim/requests")["data"]
        return [
            r for r in requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"
        ]

    def sessions(self) -> list[dict[str, Any]]:
        sessions: list[dict[str, Any]] = self.sim_json("/_sim/checkout/sessions")["data"]
        return sessions

    def query(self, sql: str) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            connection = await asyncpg.connect(databases.asyncpg_url(self.database_url))
            try:
                return list(await connection.fetch(sql))
            finally:
                await connection.close()

        return run_async(run())


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a thread of its own.

    Playwright's sync API keeps an event loop running on the test's thread, where
    ``asyncio.run`` is refused; the database calls run beside it instead.
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(coroutine))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def _empty_database(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)

    async def run() -> None:
        connection = await asyncpg.connect(databases.asyncpg_url(url))
        try:
            await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    run_async(run())


@pytest.fixture(scope="module")
def stack_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    """The stack for a module, on a database of its own."""
    work = tmp_path_factory.mktemp("storefront-stack")
    database_url = databases.create_migrated_database("ce_storefront")
    gateway_port = free_port()
    ports = {shop: free_port() for shop in SHOPS}
    started: list[ServiceProcess] = []
    try:
        sim = start_stripe_sim(
            work,
            webhook_url=f"http://127.0.0.1:{gateway_port}/api/stripe-webhook",
            extra=["--webhook-header", f"x-front-door-token: {FRONT_DOOR_TOKEN}"],
        )
        started.append(sim.process)
        origin_env = origin_process_env(
            database_url,
            sim.url,
            CHECKOUT_REPRICE_POLICY="enforce_and_reject",
            STRIPE_MAX_NETWORK_RETRIES="0",
        )
        origin = start_uvicorn("origin", "origin.app:create_app", env=origin_env, log_dir=work)
        started.append(origin)
        gateway_env = gateway_process_env(
            origin.url, FRONT_DOOR_TOKEN, CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE="1000"
        )
        gateway = start_uvicorn(
            "gateway", "gateway.app:create_app", port=gateway_port, env=gateway_env, log_dir=work
        )
        started.append(gateway)
        front_door = start_front_door(gateway.url, ports, work, f"{sim.url}/js/stripe.js")
        started.append(front_door)
        yield ShopStack(sim, origin, gateway, front_door, ports, database_url, work)
    finally:
        for process in reversed(started):
            process.stop()
        databases.drop_database(database_url)


@contextlib.contextmanager
def side_door(
    stack: ShopStack,
    shop: str,
    log_dir: Path,
    *,
    origin_env: dict[str, str] | None = None,
    gateway_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Another way in to the same database, configured otherwise: yields the shop's URL.

    A gateway (and, with ``origin_env``, an origin) of its own behind a front door of its
    own, for behaviour that depends on settings (a stricter rate limit, another reprice
    policy). The stand-in and its webhooks stay the module's.
    """
    started: list[ServiceProcess] = []
    try:
        origin_url = stack.origin.url
        if origin_env is not None:
            env = origin_process_env(stack.database_url, stack.sim.url, **origin_env)
            origin = start_uvicorn("side-origin", "origin.app:create_app", env=env, log_dir=log_dir)
            started.append(origin)
            origin_url = origin.url
        env = gateway_process_env(origin_url, FRONT_DOOR_TOKEN, **(gateway_env or {}))
        gateway = start_uvicorn("side-gateway", "gateway.app:create_app", env=env, log_dir=log_dir)
        started.append(gateway)
        port = free_port()
        stripe_js = stack.sim.url + "/js/stripe.js"
        started.append(start_front_door(gateway.url, {shop: port}, log_dir, stripe_js))
        yield f"http://{shop}.localhost:{port}"
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
def stack(stack_base: ShopStack) -> ShopStack:
    """The module's stack with an empty database, the demo catalog seeded, the stand-in reset."""
    _empty_database(stack_base.database_url)
    stack_base.seed(localized_catalog(stack_base.ports))
    httpx.post(stack_base.sim.url + "/_sim/reset", timeout=10).raise_for_status()
    return stack_base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Shopper:
    """One person in their own browser context, with a watch on every page they open."""

    context: BrowserContext
    watches: list[PageWatch]

    def page(self, name: str) -> Page:
        watch = PageWatch(name)
        self.watches.append(watch)
        page = watch.attach(self.context.new_page())
        page.set_default_timeout(20_000)
        return page


@pytest.fixture
def shoppers(browser: Browser) -> Iterator[list[Shopper]]:
    """Make shoppers with ``new_shopper(shoppers)``; their contexts close after the test."""
    made: list[Shopper] = []
    yield made
    for shopper in made:
        shopper.context.close()


def new_shopper(made: list[Shopper], browser: Browser, **options: Any) -> Shopper:
    shopper = Shopper(browser.new_context(viewport={"width": 1280, "height": 900}, **options), [])
    made.append(shopper)
    return shopper


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where this test's screenshots go (under its own output directory)."""
    return tmp_path / "screenshots"
