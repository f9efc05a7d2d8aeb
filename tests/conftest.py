"""Fixtures every suite shares: real PostgreSQL, real Redis, the origin app, real processes.

PostgreSQL and Redis are required. When either is unreachable the run stops at once with a
message saying which — those tests are never skipped quietly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from origin.app import create_app
from origin.catalog.catalog_file import parse_catalog
from origin.catalog.seed import seed_catalog
from origin.db import create_engine, session_factory
from origin.models import metadata
from origin.settings import Settings
from tests.support import conformance, databases, tools
from tests.support.pgbouncer import start_pgbouncer
from tests.support.processes import ServiceProcess, free_port, start_process

ROOT_DIR = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
GATEWAY_TOKEN = "test-gateway-token"
WEBHOOK_SECRET = "whsec_test_secret"


def pytest_sessionstart(session: pytest.Session) -> None:
    if absent := tools.missing():
        pytest.exit(tools.missing_line(absent), returncode=4)
    for name, check, where in (
        ("PostgreSQL", databases.check_postgres, databases.ADMIN_URL),
        ("Redis", databases.check_redis, databases.REDIS_URL),
    ):
        try:
            asyncio.run(check())
        except Exception as exc:
            pytest.exit(
                f"{name} is unreachable at {where} ({exc!r}). The suite needs a real {name}; "
                "start it (see README, 'Running the tests') — tests are never skipped for this.",
                returncode=3,
            )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database for this test run, migrated to head by Alembic, dropped at the end."""
    url = databases.create_migrated_database()
    try:
        yield url
    finally:
        databases.drop_database(url)


@pytest.fixture(scope="session")
def pgbouncer_url(pg_url: str) -> Iterator[str]:
    """The run's database reached through a real PgBouncer in transaction pooling
    (``?pgbouncer=true``: the origin's engine options for it, see origin/db.py)."""
    bouncer = start_pgbouncer(databases.ADMIN_URL)
    try:
        yield bouncer.url_for(pg_url)
    finally:
        bouncer.stop()


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the run's database; every table is emptied before the test."""
    engine = create_engine(pg_url, pool_size=5)
    # The catalog version counter stays: it only ever grows, like in production.
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "catalog_version")
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(pg_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(pg_engine)


def load_test_catalog(name: str = "catalog.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


async def seed(sessions: async_sessionmaker[AsyncSession], catalog: dict[str, Any]) -> None:
    async with sessions() as session, session.begin():
        await seed_catalog(session, parse_catalog(json.dumps(catalog)))


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """The test catalog (tests/fixtures/catalog.json) seeded into the clean database."""
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    return catalog


def origin_process_env(
    database_url: str, stripe_api_base: str = "http://127.0.0.1:9", **extra: str
) -> dict[str, str]:
    """Environment of an origin started as a real process (``start_uvicorn``)."""
    return {
        "DATABASE_URL": database_url,
        "ORIGIN_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "STRIPE_SECRET_KEY": "sk_test_checkout_edge",
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HOLD_REAPER_ENABLED": "false",
        # See origin_settings: lock queues on this shared machine outlast production's bound.
        "ORIGIN_DB_STATEMENT_TIMEOUT_SECONDS": "30",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def gateway_process_env(origin_url: str, front_door: str, **extra: str) -> dict[str, str]:
    """Environment of a gateway process in front of ``origin_url`` (in-process limits)."""
    return {
        "GATEWAY_FRONT_DOOR_TOKEN": front_door,
        "GATEWAY_ORIGIN_URL": origin_url,
        "GATEWAY_ORIGIN_TOKEN": GATEWAY_TOKEN,
        "GATEWAY_REDIS_URL": "",
        **extra,
    }


def origin_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "origin_gateway_token": GATEWAY_TOKEN,
        "stripe_secret_key": "sk_test_checkout_edge",
        "stripe_api_base": "http://127.0.0.1:9",  # nothing listens: tests that pay set it
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "hold_reaper_enabled": False,
        # Flash-sale tests queue 200 checkouts on one row of a 2-core machine shared with
        # other suites: lock waits there can pass the production default (5 s), which would
        # answer 503. Outage tests set their own short timeouts.
        "db_statement_timeout_seconds": 30,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_origin_settings(pg_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return origin_settings(pg_url, **overrides)

    return make


class OriginClient:
    """An in-process origin (lifespan running) and an httpx client that speaks to it."""

    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app = app
        self.http = client

    @property
    def state(self) -> Any:
        return self.app.state.origin

    async def request(
        self,
        method: str,
        path: str,
        *,
        shop: str | None = "testshop",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = {"x-gateway-token": GATEWAY_TOKEN}
        if shop is not None:
            all_headers["x-shop-id"] = shop
        all_headers.update(headers or {})
        return await self.http.request(method, path, headers=all_headers, **kwargs)


async def start_origin(settings: Settings) -> tuple[OriginClient, Any]:
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://origin.test"
    )
    return OriginClient(app, client), lifespan


@pytest.fixture
async def origin_factory(pg_engine: AsyncEngine, pg_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Build in-process origins with overridden settings; all are shut down after the test."""
    started: list[tuple[OriginClient, Any]] = []

    async def make(**overrides: Any) -> OriginClient:
        database_url = overrides.pop("database_url", pg_url)
        pair = await start_origin(origin_settings(database_url, **overrides))
        started.append(pair)
        return pair[0]

    yield make
    for client, lifespan in reversed(started):
        await client.http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def origin(origin_factory: Callable[..., Any]) -> OriginClient:
    client: OriginClient = await origin_factory()
    return client


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


@dataclass
class StripeSim:
    """The Stripe stand-in as a real process (``python -m tests.stripe_sim``)."""

    url: str
    process: ServiceProcess

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


def start_stripe_sim(log_dir: Path, *, webhook_url: str, extra: list[str] | None = None) -> Any:
    port = free_port()
    args = [
        "-m", "tests.stripe_sim", "--port", str(port), "--webhook-url", webhook_url,
        "--webhook-secret", WEBHOOK_SECRET, "--webhook-retries", "0",
        "--log-level", "warning", *(extra or []),
    ]  # fmt: skip
    process = start_process(
        "stripe-sim", args, port=port, env={}, log_dir=log_dir, health_path="/_sim/faults"
    )
    return StripeSim(process.url, process)


@pytest.fixture(scope="session")
def stripe_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripeSim]:
    """One stand-in for the run; webhooks go nowhere (tests deliver recorded events)."""
    sim = start_stripe_sim(
        tmp_path_factory.mktemp("stripe-sim"), webhook_url=f"http://127.0.0.1:{free_port()}/"
    )
    try:
        yield sim
    finally:
        sim.process.stop()


@pytest.fixture
async def sim(stripe_sim: StripeSim) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the stand-in's controls, after resetting all of its state.

    Afterwards it waits for requests still running at the stand-in (a delay fault outlives
    the client that gave up on it), so they cannot land in the next test's fresh state.
    """
    async with stripe_sim.client() as client:
        (await client.post("/_sim/reset")).raise_for_status()
        yield client
        for _ in range(200):
            log = (await client.get("/_sim/requests")).json()["data"]
            # A dropped request never gets a status; only wait for ones still being served.
            running = [e for e in log if e["status"] is None and not (e["fault"] or {}).get("drop")]
            if not running:
                break
            await asyncio.sleep(0.05)


@pytest.fixture
async def shop_origin(
    origin_factory: Callable[..., Any],
    stripe_sim: StripeSim,
    seeded: dict[str, Any],
    sim: httpx.AsyncClient,
) -> OriginClient:
    """An origin on the seeded test catalog that pays through the (reset) stand-in."""
    client: OriginClient = await origin_factory(
        stripe_api_base=stripe_sim.url, stripe_max_network_retries=0, stripe_timeout_seconds=3
    )
    return client


def pytest_configure(config: pytest.Config) -> None:
    conformance.install()


@pytest.fixture(autouse=True)
def _responses_conform_to_openapi() -> Iterator[None]:
    """Every response of a real origin or gateway this test saw matches docs/openapi.yaml."""
    conformance.RECORD.take_problems()
    yield
    problems = conformance.RECORD.take_problems()
    assert not problems, "responses contradict docs/openapi.yaml:\n" + "\n".join(problems[:20])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    checked = conformance.RECORD.checked
    if checked:
        kinds = len(checked)
        terminalreporter.write_line(
            f"openapi: {sum(checked.values())} responses checked against docs/openapi.yaml "
            f"({kinds} distinct method/path/status)"
        )
