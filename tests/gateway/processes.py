"""Starting real gateway processes for end-to-end tests: ``python -m gateway``, as in production."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.gateway.conftest import FRONT_DOOR_TOKEN, ORIGIN_TOKEN, SHARED_REDIS_URL
from tests.support.processes import ServiceProcess, start_gateway_process


def gateway_env(origin_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR_TOKEN,
        "GATEWAY_ORIGIN_TOKEN": ORIGIN_TOKEN,
        "GATEWAY_ORIGIN_URL": origin_url,
        "GATEWAY_REDIS_URL": SHARED_REDIS_URL,
        "GATEWAY_REDIS_KEY_PREFIX": f"test-gateway-e2e-{uuid.uuid4().hex[:12]}",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


def start_gateway(
    log_dir: Path, env: dict[str, str], *, access_log: bool = False
) -> ServiceProcess:
    # The access-log test wants uvicorn's line per request; the others keep logs short.
    extra = ["--access-log"] if access_log else ["--no-access-log"]
    return start_gateway_process("gateway", env=env, log_dir=log_dir, extra_args=extra)


def start_gateways(log_dir: Path, env: dict[str, str], count: int) -> list[ServiceProcess]:
    """``count`` gateway processes sharing ``env`` (and so one Redis key prefix)."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: start_gateway(log_dir, env), range(count)))
