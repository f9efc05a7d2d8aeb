"""One write per response: uvicorn's httptools protocol, sending the head with the body.

uvicorn writes a response's head as soon as ``http.response.start`` arrives and the body
with each ``http.response.body``: two ``write()`` system calls for every response, though
the gateway's responses are mostly one small body sent right after the head. On loopback
each write also runs the receiver's TCP path, so the second one measured as a tenth of a
forwarded request's CPU (docs/gateway.md, "Performance"). Here the head is held until the
first body message and both go out in one write; nothing else of uvicorn's handling
(framing, keep-alive, flow control, errors) changes, because uvicorn's own ``send`` still
produces the bytes — only the transport it writes to collects them first.

Used by the start command: ``--http gateway.response_writes:CoalescingProtocol``. If the
application fails after the head and before any body, the head is never sent and uvicorn
closes the connection — the client sees no response rather than a truncated one.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["CoalescingCycle", "CoalescingProtocol"]


class _Collecting:
    """Stands in for the transport while uvicorn's ``send`` writes: keeps the bytes."""

    def __init__(self, transport: Any, data: bytes = b"") -> None:
        self.transport = transport
        self.data = data

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        # uvicorn closes a non-keep-alive connection inside send: flush first.
        if self.data:
            self.transport.write(self.data)
            self.data = b""
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class CoalescingCycle(RequestResponseCycle):
    """A request/response cycle whose response head waits for the first body bytes."""

    _pending_head = b""

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            real = self.transport
            collecting = _Collecting(real)
            self.transport = collecting  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = real
            self._pending_head = collecting.data
            return
        head = self._pending_head
        if not head:
            await super().send(message)
            return
        self._pending_head = b""
        real = self.transport
        collecting = _Collecting(real, head)
        self.transport = collecting  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = real
            if collecting.data and not self.disconnected:
                real.write(collecting.data)


class CoalescingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`CoalescingCycle` for each request."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # The cycle was just made and its task not yet run: its class can still change.
        if type(self.cycle) is RequestResponseCycle:
            self.cycle.__class__ = CoalescingCycle
