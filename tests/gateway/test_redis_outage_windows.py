"""Admissions per window across a Redis kill and a restart without persistence, through two
real gateway processes (``tests/bench/redis_outage.py`` measures; docs/gateway.md explains).

Bounds allow one admission of slack: windows are counted on the client's clock, the limit
on Redis' (or each process's) clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.redis_outage import measure, start_gateways
from tests.gateway.conftest import PrivateRedis
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

LIMIT = 10
WINDOW = 2


def test_limit_is_exact_while_redis_is_up_and_bounded_during_and_after_an_outage(
    private_redis: PrivateRedis, upstream: ServiceProcess, tmp_path: Path
) -> None:
    gateways = start_gateways(tmp_path, upstream, private_redis, limit=LIMIT, window=WINDOW)
    try:
        run = measure(
            gateways, private_redis, limit=LIMIT, window=WINDOW, rate=15, up=6, outage=6, after=6
        )
    finally:
        for gateway in gateways:
            gateway.stop()
    most = run.max_in_any_window
    assert run.server_errors == 0, run
    assert LIMIT <= most["redis up"] <= LIMIT + 1, run
    # Each of the two processes admits its share (limit // 2) from its own window.
    assert most["redis down"] <= LIMIT + 1, run
    assert most["redis down"] >= LIMIT // 2, run
    # Forgotten fallback windows and an emptied Redis: up to twice the limit, never more.
    assert most["after restart"] <= 2 * LIMIT + 1, run
