"""``/readyz``: degraded (200) while the limit can ride out a Redis outage, 503 otherwise.

Each dependency check has a deadline, so the probe answers within a second even when Redis
is frozen or the origin accepts connections and never answers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import PrivateRedis, serve

# The probe's contract is one second; the slack is for a loaded test machine.
PROBE_BOUND_SECONDS = 1.5


@pytest.fixture
def silent_origin() -> Iterator[str]:
    """An address that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("mode", ["fallback", "open"])
async def test_redis_down_with_a_riding_failure_mode_is_ready_and_degraded(
    mode: str, private_redis: PrivateRedis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(gateway_redis_url=private_redis.url, gateway_redis_failure_mode=mode)
    async with serve(create_app(settings)) as client:
        private_redis.stop()
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["redis"] == "degraded"
    assert ready.json()["status"] == "degraded"


async def test_redis_down_with_failure_mode_closed_is_not_ready(
    private_redis: PrivateRedis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        gateway_redis_url=private_redis.url, gateway_redis_failure_mode="closed"
    )
    async with serve(create_app(settings)) as client:
        assert (await client.get("/readyz")).status_code == 200
        private_redis.stop()
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "NOT_READY"
    assert ready.json()["redis"] == "unavailable"


async def test_frozen_redis_does_not_hold_up_the_probe(
    private_redis: PrivateRedis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        gateway_redis_url=private_redis.url, gateway_redis_failure_mode="closed"
    )
    async with serve(create_app(settings)) as client:
        private_redis.pause()
        try:
            started = time.monotonic()
            ready = await client.get("/readyz", timeout=10)
            elapsed = time.monotonic() - started
        finally:
            private_redis.resume()
    assert ready.status_code == 503
    assert elapsed < PROBE_BOUND_SECONDS


async def test_origin_that_never_answers_is_not_ready_within_a_second(
    silent_origin: str, make_settings: Callable[..., Settings]
) -> None:
    async with serve(create_app(make_settings(gateway_origin_url=silent_origin))) as client:
        started = time.monotonic()
        ready = await client.get("/readyz", timeout=10)
        elapsed = time.monotonic() - started
    assert ready.status_code == 503
    assert ready.json()["checks"]["origin"] == {"reachable": False}
    assert elapsed < PROBE_BOUND_SECONDS
