"""One pure-ASGI hook that sees every HTTP response: status and duration, once per request.

Both services count and time their requests through it (each with its own labels), so the
capture of the status and the timing live in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ObserveResponses", "ResponseObserver"]

ResponseObserver = Callable[[Scope, int, float], None]
"""Called with the request's scope, the response status (500 if none was sent) and seconds."""


class ObserveResponses:
    def __init__(self, app: ASGIApp, *, observer: ResponseObserver) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.observer(scope, status, time.perf_counter() - started)
