"""Is the gateway's Redis reachable? Asked of the gateway itself (``/readyz``).

With ``GATEWAY_REDIS_URL`` set and Redis down, the gateway still serves (limits per process
with failure mode ``fallback``, none with ``open``, 503 on limited routes with ``closed``);
the launcher must say so before its banner instead of claiming all is well. The gateway's
readiness answer is the authority: it reports ``"redis": "degraded"`` (or ``"unavailable"``
with ``closed``) and its rate-limit check's ``reachable``/``failureMode``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["redis_problem"]


def _readiness(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (127.0.0.1)
            body = response.read()
    except urllib.error.HTTPError as exc:  # 503: not ready, still a readiness body
        body = exc.read()
    except OSError:
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def redis_problem(gateway_url: str, redis_url: str) -> str | None:
    """One line when the configured Redis is unreachable, else ``None``."""
    answer = _readiness(gateway_url + "/readyz")
    if answer is None:
        return None
    # 200 and 503 answers alike carry ``redis`` and ``checks`` at the top level.
    checks = answer.get("checks")
    rate = checks.get("rateLimit") if isinstance(checks, dict) else None
    if not isinstance(rate, dict) or rate.get("backend") != "redis":
        return None
    if rate.get("reachable", True) and answer.get("redis") not in ("degraded", "unavailable"):
        return None
    mode = rate.get("failureMode", "fallback")
    effect = {
        "fallback": "each gateway process limits on its own until it is back",
        "open": "requests are not rate-limited until it is back",
        "closed": "rate-limited routes answer 503 until it is back",
    }.get(str(mode), "rate limiting is degraded")
    return (
        f"Redis at {redis_url} (GATEWAY_REDIS_URL) is unreachable; {effect} "
        f"(GATEWAY_REDIS_FAILURE_MODE={mode}). Start Redis or unset GATEWAY_REDIS_URL."
    )
