"""The state of one stand-in and the things that happen to sessions outside the API.

One :class:`Simulator` lives for the lifespan of the app and is handed to handlers as
lifespan state (``request.state["sim"]``). Everything runs on one event loop, and no method
awaits between reading and changing a session, so concurrent requests cannot interleave
inside a change.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypedDict

import httpx

from .config import SimConfig
from .errors import invalid_request
from .events import EventLog, EventRecord, new_event
from .faults import FaultQueue
from .idempotency import IdempotencyStore
from .request_log import RequestLog
from .sessions import CheckoutSession, SessionStore
from .versions import ApiVersion, parse_api_version
from .webhooks import WebhookSender

logger = logging.getLogger(__name__)


class SimState(TypedDict):
    """Lifespan state of the app."""

    sim: "Simulator"


class Simulator:
    """Sessions, idempotency, faults, events and the request log of one stand-in."""

    def __init__(
        self, config: SimConfig, http: httpx.AsyncClient, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.clock = clock
        self.sessions = SessionStore()
        self.idempotency = IdempotencyStore(config.idempotency_ttl, clock)
        self.faults = FaultQueue()
        self.events = EventLog()
        self.requests = RequestLog()
        self.webhooks = WebhookSender(config, http)
        #: Each session's events are rendered in the API version it was created with.
        self._versions: dict[str, ApiVersion] = {}

    def add_session(self, session: CheckoutSession, version: ApiVersion) -> None:
        """Keep a session created by the API under ``version``."""
        self.sessions.add(session)
        self._versions[session.id] = version

    def record_event(
        self,
        event_type: str,
        session: CheckoutSession,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> EventRecord:
        """Create and log an event whose ``data.object`` is the session as GET shows it."""
        version = self._versions.get(session.id) or parse_api_version(
            None, self.config.default_api_version
        )
        event = new_event(
            event_type,
            session.to_stripe(version),
            api_version=version.name,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        return self.events.add(event)

    async def pay(self, session_id: str, *, paid_later: bool) -> tuple[EventRecord, int | None]:
        """The customer pays: complete the session and deliver ``checkout.session.completed``."""
        session = self._open_session(session_id)
        session.complete(paid_later=paid_later)
        return await self._deliver(self.record_event("checkout.session.completed", session))

    async def settle(self, session_id: str, *, succeeded: bool) -> tuple[EventRecord, int | None]:
        """An asynchronous payment settles; deliver ``…async_payment_succeeded`` / ``_failed``."""
        session = self.sessions.get(session_id)
        session.settle(succeeded=succeeded)
        outcome = "succeeded" if succeeded else "failed"
        event = self.record_event(f"checkout.session.async_payment_{outcome}", session)
        return await self._deliver(event)

    async def expire(self, session_id: str) -> tuple[EventRecord, int | None]:
        """Expire an open session now and deliver ``checkout.session.expired``."""
        session = self.sessions.get(session_id)
        if not session.expire():
            raise invalid_request("This Checkout Session has already expired.", param="session")
        return await self._deliver(self.record_event("checkout.session.expired", session))

    def expire_overdue(self, now: float | None = None) -> list[EventRecord]:
        """Expire open sessions past ``expires_at``; their events go out in the background."""
        records = []
        for session in self.sessions.overdue(self.clock() if now is None else now):
            session.expire()
            record = self.record_event("checkout.session.expired", session)
            self.webhooks.deliver_later(record)
            records.append(record)
        return records

    async def sweep_forever(self) -> None:
        """Expire overdue sessions every ``expiry_sweep_interval`` seconds, like Stripe does."""
        while True:
            await asyncio.sleep(self.config.expiry_sweep_interval)
            try:
                self.expire_overdue()
            except Exception:  # keep sweeping; one bad session must not stop expiry
                logger.exception("expiry sweep failed")

    async def reset(self) -> None:
        """Forget everything, as if freshly started."""
        await self.webhooks.aclose()
        self.sessions.clear()
        self.idempotency.clear()
        self.faults.clear()
        self.events.clear()
        self.requests.clear()
        self._versions.clear()

    async def aclose(self) -> None:
        """Stop background deliveries."""
        await self.webhooks.aclose()

    def _open_session(self, session_id: str) -> CheckoutSession:
        # A session past its expiry that the sweep has not reached yet is expired, not payable.
        self.expire_overdue()
        return self.sessions.get(session_id)

    async def _deliver(self, record: EventRecord) -> tuple[EventRecord, int | None]:
        return record, await self.webhooks.deliver(record)
