"""The banner ``make run`` prints once the stack is up: where everything is, and a curl.

It shows no secret: database and Redis URLs are masked, and the curl reads the front-door
token from a file (``curl -H @file``) instead of carrying it.
"""

from __future__ import annotations

import json
from pathlib import Path

from .dev_config import mask_url
from .services import Service

__all__ = ["banner"]


def banner(
    *,
    services: list[Service],
    gateway: str,
    database_url: str,
    redis_url: str,
    redis_problem: str | None,
    secrets_file: Path,
    header_file: Path,
) -> list[str]:
    """The lines printed once everything is up; ``services`` in table order."""
    state = "running, degraded: Redis unreachable" if redis_problem else "running"
    lines = [f"checkout-edge is {state} (Ctrl-C stops everything)"]
    for service in reversed(services):  # the front of the stack first
        lines += [f"  {label:<16} {value}" for label, value in service.banner]
    lines.append(f"  {'database':<16} {mask_url(database_url)}")
    if redis_url:
        lines.append(f"  {'redis':<16} {mask_url(redis_url)}")
    lines.append(f"  {'secrets':<16} {secrets_file}")
    item = {
        "sku": "cf-headband",
        "quantity": 1,
        "variantAttributes": {"size": "m", "color": "navy"},
    }
    body = json.dumps({"items": [item]})
    return [
        *lines,
        "",
        "Try it through the gateway (the front-door token is read from a file):",
        f"  curl -s -X POST {gateway}/api/inventory/validate -H @{header_file} "
        f"-H 'x-shop-id: cochlearfit' -H 'content-type: application/json' -d '{body}'",
    ]
