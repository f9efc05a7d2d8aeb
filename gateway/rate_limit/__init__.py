"""Rate limiting: the only part of the gateway that talks to ``limits`` and Redis.

quota.py       Quota (a parsed limit), Decision, parse_quota
limiter.py     RateLimiter: a request's windows, deadline, breaker, failure mode, metrics
windows.py     RedisWindow: every window of a request in one atomic script (limits' layout)
memory.py      MemoryWindows: the same semantics in process (no Redis, or fallback)
breaker.py     CircuitBreaker that keeps a failing Redis off the request path
redis_url.py   RedisTarget: GATEWAY_REDIS_URL / GATEWAY_REDIS_CLUSTER_NODES, parsed
redis_node.py  RedisNode: the one Redis client (pipelined connection, TLS, AUTH, SELECT)
cluster.py     RedisCluster: slot routing over RedisNodes, MOVED/ASK, failover
resp.py        the RESP2 wire format
"""

from gateway.rate_limit.breaker import BreakerState, CircuitBreaker
from gateway.rate_limit.limiter import BackendUnavailable, FailureMode, LimiterHealth, RateLimiter
from gateway.rate_limit.quota import Backend, Decision, Quota, parse_quota
from gateway.rate_limit.redis_url import RedisTarget, parse_redis_target

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
    "RedisTarget",
    "parse_quota",
    "parse_redis_target",
]
