"""Signed webhook delivery with retries.

The signature is Stripe's: header ``Stripe-Signature: t=<unix time>,v1=<hex>``, where the hex
is HMAC-SHA256, keyed with the endpoint secret, of ``"{t}.{raw body}"``. Each attempt is signed
afresh, so a resend carries a new timestamp. A first attempt that is not answered 2xx is
retried in the background after ``backoff``, ``2 * backoff``, … seconds, ``retries`` times at
most (Stripe retries for up to three days; a stand-in cannot wait that long).
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any

import httpx

from .config import SimConfig
from .events import DeliveryAttempt, EventRecord

logger = logging.getLogger(__name__)


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``payload`` signed at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def succeeded(status: int | None) -> bool:
    """Whether an endpoint's answer counts as delivered."""
    return status is not None and 200 <= status < 300


class WebhookSender:
    """Delivers events to the configured endpoint and keeps retrying those that fail."""

    def __init__(self, config: SimConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._tasks: set[asyncio.Task[object]] = set()

    async def deliver(self, record: EventRecord) -> int | None:
        """Attempt delivery now; schedule retries if it fails. Answers the endpoint's status."""
        if self._config.webhook_url is None:
            return None  # recorded only: nowhere to deliver to
        status = await self._attempt(record)
        if not succeeded(status) and self._config.webhook_retries > 0:
            self._spawn(self._retry(record))
        return status

    def deliver_later(self, record: EventRecord) -> None:
        """Deliver without waiting, as Stripe does for events caused by API requests."""
        self._spawn(self.deliver(record))

    async def aclose(self) -> None:
        """Stop pending retries (at shutdown or reset)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _retry(self, record: EventRecord) -> None:
        for retry in range(self._config.webhook_retries):
            await asyncio.sleep(self._config.webhook_backoff * 2**retry)
            if succeeded(await self._attempt(record)):
                return

    async def _attempt(self, record: EventRecord) -> int | None:
        url = self._config.webhook_url
        assert url is not None  # deliver() checked
        # Stripe sends pretty-printed JSON; receivers must verify these exact bytes.
        payload = json.dumps(record.event, indent=2).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(
                payload, self._config.webhook_secret, int(time.time())
            ),
            **dict(self._config.webhook_headers),
        }
        started = time.time()
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(
                url, content=payload, headers=headers, timeout=self._config.webhook_timeout
            )
            status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        record.attempts.append(
            DeliveryAttempt(
                attempt=len(record.attempts) + 1,
                at=started,
                status=status,
                error=error,
                duration_ms=int((time.time() - started) * 1000),
            )
        )
        if not succeeded(status):
            logger.info("webhook %s for %s failed: %s", record.id, url, error or status)
        return status

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
