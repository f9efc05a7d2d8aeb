"""Idempotent requests, as Stripe documents them for API v1.

- A ``POST`` with an ``Idempotency-Key`` runs once; later requests with the same key (per API
  key) get the saved status and body back for 24 hours, marked ``Idempotent-Replayed: true``.
- The same key with other parameters, or on another endpoint, is a 400 ``idempotency_error``.
- Only requests whose endpoint began executing are saved: one that fails validation raises
  before anything is saved, so a corrected retry with the same key runs normally. Every error
  the stand-in's endpoints raise is of that kind, so only successes are saved here.
- Keys are at most 255 characters; ``GET`` requests ignore them.

Stripe answers a request that arrives while another with the same key is still running with
409 ``idempotency_key_in_use``; the stand-in instead lets it wait for the first and replays the
result. Either way exactly one object is created.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from .errors import idempotency_endpoint_mismatch, idempotency_params_mismatch, invalid_request
from .forms import Params

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Outcome:
    """A response worth saving: what the endpoint answered, and to which request."""

    status: int
    body: bytes
    request_id: str


@dataclass(frozen=True)
class _Saved:
    endpoint: str
    params: Params
    outcome: Outcome
    saved_at: float


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class IdempotencyStore:
    """Saved outcomes by (API key, idempotency key)."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._saved: dict[tuple[str, str], _Saved] = {}
        self._locks: dict[tuple[str, str], _KeyLock] = {}

    async def run(
        self,
        *,
        api_key: str,
        key: str,
        endpoint: str,
        params: Params,
        action: Callable[[], Awaitable[Outcome]],
    ) -> tuple[Outcome, bool]:
        """Run ``action`` once per key; answer ``(outcome, replayed)``."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_request(
                f"Idempotency keys can be at most {MAX_KEY_LENGTH} characters long.",
                param="Idempotency-Key",
            )
        scope = (api_key, key)
        async with self._exclusive(scope):
            saved = self._lookup(scope)
            if saved is not None:
                if saved.endpoint != endpoint:
                    raise idempotency_endpoint_mismatch(key, saved.endpoint, endpoint)
                if saved.params != params:
                    raise idempotency_params_mismatch(key)
                return saved.outcome, True
            outcome = await action()  # a StripeError here leaves nothing saved
            if 200 <= outcome.status < 300:
                self._saved[scope] = _Saved(endpoint, params, outcome, self._clock())
            return outcome, False

    def clear(self) -> None:
        """Forget every saved outcome."""
        self._saved.clear()

    def _lookup(self, scope: tuple[str, str]) -> _Saved | None:
        saved = self._saved.get(scope)
        if saved is not None and self._clock() - saved.saved_at >= self._ttl:
            del self._saved[scope]
            return None
        return saved

    @asynccontextmanager
    async def _exclusive(self, scope: tuple[str, str]) -> AsyncIterator[None]:
        # Counted so the lock is dropped only when nobody holds or awaits it; dropping it
        # earlier would let a newcomer take a fresh lock beside a waiter of the old one.
        entry = self._locks.setdefault(scope, _KeyLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[scope]
