"""The API requests a stand-in received: what a test reads to prove something ran once."""

import time
from dataclasses import dataclass

from .forms import Params


@dataclass
class LoggedRequest:
    """One ``/v1`` request and what became of it."""

    id: str
    at: float
    method: str
    path: str
    idempotency_key: str | None
    params: Params | str  # the raw body when it could not be decoded
    fault: dict[str, object] | None = None
    status: int | None = None  # None: dropped, or not answered yet
    replayed: bool = False

    def to_json(self) -> dict[str, object]:
        """The control API's view of this request."""
        return {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "idempotencyKey": self.idempotency_key,
            "params": self.params,
            "fault": self.fault,
            "status": self.status,
            "replayed": self.replayed,
        }


class RequestLog:
    """Every API request, oldest first."""

    def __init__(self) -> None:
        self._requests: list[LoggedRequest] = []

    def record(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        idempotency_key: str | None,
        params: Params | str,
    ) -> LoggedRequest:
        """Log a request as it arrives; the caller fills in its outcome."""
        entry = LoggedRequest(request_id, time.time(), method, path, idempotency_key, params)
        self._requests.append(entry)
        return entry

    def all(self) -> list[LoggedRequest]:
        """Every logged request."""
        return list(self._requests)

    def clear(self) -> None:
        """Forget every request."""
        self._requests.clear()
