"""The shared moving windows in Redis: one script admits against every window of a request.

A request is checked against its route class's window and its client's per-IP ceiling
(docs/gateway.md, "Rate limiting") in one atomic ``EVALSHA``: admitted only if every window
has room, and then counted in each; a refused request leaves no trace. That is one round
trip per request, on Redis' clock (so processes on different hosts share one timeline).

Storage stays ``limits``' moving-window layout: a list per window, newest timestamp first,
trimmed to the limit, expiring one window after its last admission; keys are
``limits``' ``<prefix>:LIMITER/<identifier>/<amount>/<multiples>/<unit>``. The state in
Redis is readable by ``limits.aio.strategies.MovingWindowRateLimiter``. Identifiers start
with the client's hash tag ``{ip}``, so a request's keys share one Redis Cluster slot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.rate_limit.quota import Quota
from gateway.rate_limit.resp import ReplyError, pack

__all__ = ["ADMIT", "RedisWindow", "WindowState", "window_identifier"]

# For each window i (KEYS[i]; ARGV limit, expiry): full when its limit-th newest entry is
# inside the window. Admission pushes `now` into every window. The last window is the one
# reported in the RateLimit header: its count and oldest entry in the window are found by
# binary search (entries are newest first). For a full window, the oldest entry in it is
# the one at limit-1, already read. Reply: one bulk string, the cheapest to parse:
# "<admitted> <now> <count> <oldest> <full window's oldest>|-..."
ADMIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local n = #KEYS
local full = {}
local admitted = 1
for i = 1, n do
    local limit = tonumber(ARGV[2 * i - 1])
    local entry = redis.call('LINDEX', KEYS[i], limit - 1)
    if entry and tonumber(entry) >= now - tonumber(ARGV[2 * i]) then
        admitted = 0
        full[i] = entry
    else
        full[i] = '-'
    end
end
if admitted == 1 then
    for i = 1, n do
        local limit = tonumber(ARGV[2 * i - 1])
        redis.call('LPUSH', KEYS[i], now)
        redis.call('LTRIM', KEYS[i], 0, limit - 1)
        redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2 * i]))
    end
end
local window_start = now - tonumber(ARGV[2 * n])
local low, high = 0, redis.call('LLEN', KEYS[n]) - 1
local count, oldest = 0, now
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('LINDEX', KEYS[n], mid))
    if value >= window_start then
        count = mid + 1
        oldest = value
        low = mid + 1
    else
        high = mid - 1
    end
end
return admitted .. ' ' .. tostring(now) .. ' ' .. count .. ' ' .. tostring(oldest) .. ' '
    .. table.concat(full, ' ')
"""
_SHA = hashlib.sha1(ADMIT.encode(), usedforsecurity=False).hexdigest()


class RedisClient(Protocol):
    """A single server (:class:`RedisNode`) or a cluster (:class:`RedisCluster`)."""

    def execute(self, key: bytes, command: bytes, *, within: float) -> Awaitable[Any]: ...


@dataclass(frozen=True, slots=True)
class WindowState:
    """One check's result against a request's windows (the last one is reported)."""

    allowed: bool
    count: int  # admissions in the reported window, this one included
    reset_after: float  # seconds until the reported window's oldest admission leaves it
    full: tuple[int, ...] = ()  # indexes of the windows that refused
    wait: float = 0.0  # when refused: seconds until every full window has room


def window_identifier(client: str, scope: Sequence[str]) -> str:
    """``{client}/scope…``: the hash tag keeps all of a client's windows on one slot."""
    return "/".join(("{" + client + "}", *scope))


class RedisWindow:
    """Admits against a request's windows with one ``EVALSHA`` through ``client``."""

    def __init__(self, client: RedisClient, *, key_prefix: str) -> None:
        self._client = client
        self._prefix = key_prefix
        self._suffixes: dict[Quota, str] = {}
        self._tails: dict[tuple[Quota, ...], bytes] = {}

    def key(self, quota: Quota, identifier: str) -> str:
        """``<prefix>:LIMITER/{203.0.113.7}/checkout/cochlearfit/10/1/minute``."""
        suffix = self._suffixes.get(quota)
        if suffix is None:
            # limits' own key_for, asked once per quota: the key is what it would build.
            marker = "\x00"
            suffix = self._suffixes[quota] = quota.item.key_for(marker).split(marker, 1)[1]
        return f"{self._prefix}:LIMITER/{identifier}{suffix}"

    def _command(self, windows: Sequence[tuple[Quota, str]], keys: list[bytes]) -> bytes:
        """``EVALSHA sha n key… limit expiry…`` in RESP; the constant parts built once."""
        quotas = tuple(quota for quota, _ in windows)
        tail = self._tails.get(quotas)
        if tail is None:
            args = [str(v).encode() for quota in quotas for v in (quota.amount, quota.window)]
            tail = self._tails[quotas] = b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        count = b"%d" % len(keys)
        head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$%d\r\n%s\r\n" % (
            3 + 3 * len(keys),
            _SHA.encode(),
            len(count),
            count,
        )
        return head + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys) + tail

    async def hit(self, windows: Sequence[tuple[Quota, str]], *, within: float) -> WindowState:
        """Take one unit in every window or in none; raises for the caller's failure policy
        (:class:`RedisUnavailable`, :class:`ReplyError`)."""
        keys = [self.key(quota, identifier).encode() for quota, identifier in windows]
        command = self._command(windows, keys)
        route = keys[0]
        try:
            reply = await self._client.execute(route, command, within=within)
        except ReplyError as exc:
            if exc.kind != "NOSCRIPT":
                raise
            # First call on this server, or after a restart, failover or SCRIPT FLUSH.
            await self._client.execute(route, pack("SCRIPT", "LOAD", ADMIT), within=within)
            reply = await self._client.execute(route, command, within=within)
        admitted, now_text, count, oldest, *full_entries = reply.split()
        now = float(now_text)
        full = tuple(i for i, entry in enumerate(full_entries) if entry != b"-")
        wait = max((float(full_entries[i]) + windows[i][0].window - now for i in full), default=0.0)
        reset_after = float(oldest) + windows[-1][0].window - now
        return WindowState(admitted == b"1", int(count), reset_after, full, wait)
