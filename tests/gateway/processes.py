"""Starting real gateway processes for end-to-end tests, exactly as CONTRACT.md §1 does."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.gateway.conftest import FRONT_DOOR_TOKEN, ORIGIN_TOKEN, SHARED_REDIS_URL
from tests.support.processes import ServiceProcess, start_uvicorn


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
    # start_uvicorn passes --no-access-log; the access-log test wants uvicorn's default.
    extra = ["--access-log"] if access_log else []
    return start_uvicorn(
        "gateway", "gateway.app:create_app", env=env, log_dir=log_dir, extra_args=extra
    )


def start_gateways(log_dir: Path, env: dict[str, str], count: int) -> list[ServiceProcess]:
    """``count`` gateway processes sharing ``env`` (and so one Redis key prefix)."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: start_gateway(log_dir, env), range(count)))
