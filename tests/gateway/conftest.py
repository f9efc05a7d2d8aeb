"""Fixtures for the gateway tests: settings, an in-process gateway, real processes, Redis.

- ``upstream``: the stand-in origin (``tests.gateway.upstream_app``) as a real uvicorn
  process, shared by the session.
- ``make_settings``: explicit :class:`gateway.settings.Settings` for in-process apps, with a
  Redis key prefix of the test's own on the shared local Redis (never flushed).
- ``serve``: runs an app's lifespan and gives an httpx client on it, the way uvicorn would.
- ``private_redis``: a redis-server of the test's own, which tests may stop and restart.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gateway.settings import Settings
from tests.support.processes import ServiceProcess, free_port, start_uvicorn

FRONT_DOOR_TOKEN = "front-door-secret"
ORIGIN_TOKEN = "origin-secret"
SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"
CLIENT_ADDR = ("198.51.100.7", 40000)


def front_door(**headers: str) -> dict[str, str]:
    """Headers of a request that came through the front door."""
    return {"x-front-door-token": FRONT_DOOR_TOKEN, **headers}


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    log_dir = tmp_path_factory.mktemp("upstream")
    service = start_uvicorn(
        "upstream", "tests.gateway.upstream_app:create_app", env={}, log_dir=log_dir
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def key_prefix() -> str:
    return f"test-gateway-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def shared_redis(key_prefix: str) -> Iterator[redis.Redis]:
    """The shared local Redis; deletes this test's keys (and only those) afterwards."""
    client = redis.Redis.from_url(SHARED_REDIS_URL)
    client.ping()
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=f"{key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def make_settings(upstream: ServiceProcess, key_prefix: str) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "gateway_front_door_token": FRONT_DOOR_TOKEN,
            "gateway_origin_token": ORIGIN_TOKEN,
            "gateway_origin_url": upstream.url,
            "gateway_redis_url": SHARED_REDIS_URL,
            "gateway_redis_key_prefix": key_prefix,
            "gateway_upstream_timeout_seconds": 5,
            "log_level": "INFO",
        }
        values.update(overrides)
        return Settings(**values)

    return build


@asynccontextmanager
async def serve(
    app: Any, client_addr: tuple[str, int] = CLIENT_ADDR
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client on it; each request gets the state copy."""
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def with_state(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    transport = httpx.ASGITransport(app=with_state, client=client_addr)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await outbox.get()
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
        await task


class PrivateRedis:
    """A redis-server on a free port in a temp dir, which a test may stop and restart."""

    def __init__(self, directory: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.directory = directory
        self.extra_args = extra_args  # e.g. --requirepass, or TLS (then "--port 0")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Kill the server (SIGKILL): no shutdown, and without persistence, no data kept."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
