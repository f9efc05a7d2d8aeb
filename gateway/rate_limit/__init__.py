"""Rate limiting: the only part of the gateway that talks to ``limits`` and Redis.

quota.py    Quota (a parsed limit), Decision, parse_quota
windows.py  the moving windows: RedisWindow (one atomic script), MemoryWindow
breaker.py  CircuitBreaker that keeps a failing Redis off the request path
limiter.py  RateLimiter: deadline, breaker, failure mode, metrics
"""

from gateway.rate_limit.breaker import BreakerState, CircuitBreaker
from gateway.rate_limit.limiter import BackendUnavailable, FailureMode, LimiterHealth, RateLimiter
from gateway.rate_limit.quota import Backend, Decision, Quota, parse_quota

__all__ = [
    "Backend",
    "BackendUnavailable",
    "BreakerState",
    "CircuitBreaker",
    "Decision",
    "FailureMode",
    "LimiterHealth",
    "Quota",
    "RateLimiter",
    "parse_quota",
]
