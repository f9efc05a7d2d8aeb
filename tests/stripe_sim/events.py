"""Events: what happened to a session, and every attempt to deliver it."""

import time
from dataclasses import dataclass, field

from .ids import new_id


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST to the webhook endpoint: its answer, or why there was none."""

    attempt: int
    at: float
    status: int | None
    error: str | None
    duration_ms: int

    def to_json(self) -> dict[str, object]:
        """The control API's view of this attempt."""
        return {
            "attempt": self.attempt,
            "at": self.at,
            "status": self.status,
            "error": self.error,
            "durationMs": self.duration_ms,
        }


@dataclass
class EventRecord:
    """An event object and its delivery history."""

    event: dict[str, object]
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The event's ``evt_…`` id."""
        return str(self.event["id"])

    @property
    def delivered(self) -> bool:
        """Whether any attempt was answered 2xx."""
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)

    def to_json(self) -> dict[str, object]:
        """The control API's view: the event, its attempts, and a summary."""
        return {
            "id": self.id,
            "type": self.event["type"],
            "created": self.event["created"],
            "delivered": self.delivered,
            "webhookStatus": self.attempts[-1].status if self.attempts else None,
            "deliveries": [attempt.to_json() for attempt in self.attempts],
            "event": self.event,
        }


def new_event(
    event_type: str,
    data_object: dict[str, object],
    *,
    api_version: str,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, object]:
    """A Stripe ``event`` object; ``request`` names the API request that caused it, if any."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()),
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


class EventLog:
    """Every event of one stand-in, in creation order."""

    def __init__(self) -> None:
        self._events: dict[str, EventRecord] = {}

    def add(self, event: dict[str, object]) -> EventRecord:
        """Record a new event."""
        record = EventRecord(event)
        self._events[record.id] = record
        return record

    def get(self, event_id: str) -> EventRecord | None:
        """The event with this id, if any."""
        return self._events.get(event_id)

    def all(self) -> list[EventRecord]:
        """Every event, oldest first."""
        return list(self._events.values())

    def clear(self) -> None:
        """Forget every event."""
        self._events.clear()
