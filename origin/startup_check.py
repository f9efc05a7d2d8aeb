"""The origin does not start on a database it cannot use.

:class:`DatabaseStartupCheck` sits in front of the application's lifespan: when the server
asks the application to start, it first connects to each configured database once
(``origin/db_diagnosis.py``). A database that does not exist, an unreachable server, refused
credentials or a malformed URL answers the server with ``lifespan.startup.failed`` carrying
one line naming the variable and the fix — uvicorn logs that line and exits — instead of a
traceback from the first request. When every database answers, the lifespan proceeds
unchanged; HTTP requests pass straight through.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from origin.db_diagnosis import probe

__all__ = ["DatabaseStartupCheck"]


class DatabaseStartupCheck:
    def __init__(self, app: ASGIApp, *, databases: dict[str, str]) -> None:
        """``databases`` maps the variable's name to its URL."""
        self.app = app
        self.databases = databases

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "lifespan.startup":
            for variable, url in self.databases.items():
                problem = await probe(url, variable)
                if problem is not None:
                    await send({"type": "lifespan.startup.failed", "message": f"origin: {problem}"})
                    return
        replayed = False

        async def receive_again() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, receive_again, send)
