"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol with bounded heads
(and one write per response, :mod:`gateway.response_writes`).

uvicorn's own httptools protocol puts no limit on a request head and never times one out:
httptools keeps an unfinished header line in memory however long it grows, and a
connection that sends nothing (or one byte now and then) holds its file descriptor
forever. This protocol keeps uvicorn's request handling and adds, per connection:

- **Head size.** Bytes received while a head is incomplete are counted before they reach
  the parser; the parser never sees more than ``max_header_bytes`` of one head. A head
  that does not end within them → 431 ``REQUEST_HEADERS_TOO_LARGE`` and the connection is
  closed (a client still sending may see the close first). More than ``max_fields``
  header fields → the same 431.
- **Head deadline.** A head must be complete within ``header_timeout`` seconds of its
  first byte (or of the connection opening); else the connection is closed. Idle
  keep-alive connections are closed by uvicorn after ``timeout_keep_alive`` (5 s).
- **Connection bound.** Above ``max_connections`` open connections, a new connection
  evicts the connection that has waited longest for a head (never one with a request in
  progress); with none to evict, the new one is closed. So slow clients can never use
  up the process's file descriptors and requests that complete their heads keep being
  served.

The limits are checked in ``data_received`` before the parser runs, so they cost a
comparison per read on the hot path. Bytes of a pipelined head that arrive in the same
read as the end of the previous request are not counted, so one head may buffer up to
one socket read (256 KiB) past the limit — bounded, never growing.

Started by ``python -m gateway`` (see :mod:`gateway.__main__`); ``uvicorn ... --http
gateway.server:GatewayHttpProtocol`` uses the default limits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from checkout_edge_shared.logs import new_request_id
from gateway.response_writes import CoalescingProtocol

__all__ = ["GatewayHttpProtocol", "HeadLimits", "refusal"]

log = logging.getLogger("gateway.server")

KEEPALIVE_SECONDS = 5
_EVICTION_LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """What one gateway process allows its clients (see docs/gateway.md)."""

    max_header_bytes: int = 16384
    max_fields: int = 100
    header_timeout: float = 10.0
    max_connections: int = 1000


class _HeadTooLarge(Exception):
    pass


def refusal(status: int, reason: bytes, code: str, message: str) -> bytes:
    """A complete ``Connection: close`` response with the contract's error body."""
    request_id = new_request_id()
    body = json.dumps(
        {"error": {"code": code, "message": message, "requestId": request_id}}
    ).encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"x-request-id: %s\r\nconnection: close\r\n\r\n%s"
        % (status, reason, len(body), request_id.encode(), body)
    )


class GatewayHttpProtocol(CoalescingProtocol):
    """uvicorn's httptools protocol (coalescing writes) with the limits of :class:`HeadLimits`."""

    _last_eviction_log = 0.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or HeadLimits()
        self.in_head = True  # the next bytes belong to a request head
        self.head_bytes = 0
        self.head_fields = 0
        self.heads_completed = 0
        self.waiting_since = 0.0
        self.head_timer: asyncio.TimerHandle | None = None

    # Connection life

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.waiting_since = time.monotonic()
        self._arm_head_timer()
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    @property
    def idle(self) -> bool:
        """Waiting for a request head, with no request in progress."""
        return self.in_head and (self.cycle is None or self.cycle.response_complete)

    def _make_room(self) -> None:
        # Connections already closing still count until their connection_lost runs.
        alive = [c for c in self.connections if not c.transport.is_closing()]
        if len(alive) <= self.limits.max_connections:
            return
        victims = [
            c for c in alive if c is not self and isinstance(c, GatewayHttpProtocol) and c.idle
        ]
        victim = min(victims, key=_waiting_since) if victims else self
        victim.transport.close()
        now = time.monotonic()
        if now - GatewayHttpProtocol._last_eviction_log > _EVICTION_LOG_INTERVAL:
            GatewayHttpProtocol._last_eviction_log = now
            log.warning(
                "connection limit reached; closing the connection idle longest",
                extra={"maxConnections": self.limits.max_connections},
            )

    # Head deadline

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.in_head and not self.transport.is_closing():
            self.transport.close()

    # Reading

    def data_received(self, data: bytes) -> None:
        if not self.in_head:
            super().data_received(data)
            return
        self._unset_keepalive_if_required()
        self._arm_head_timer()
        try:
            self._feed_head(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _HeadTooLarge):
                self._bad_request()
                return
            self._refuse_head()
        except _HeadTooLarge:
            self._refuse_head()
        except httptools.HttpParserError:
            self._bad_request()
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()

    def _feed_head(self, data: bytes) -> None:
        room = self.limits.max_header_bytes - self.head_bytes
        if len(data) <= room:
            self.head_bytes += len(data)
            self.parser.feed_data(data)
            return
        # Only what fits within the limit goes to the parser; the rest only if the head
        # ended within it (then the rest is body or the next request).
        completed = self.heads_completed
        self.head_bytes += room
        if room:
            self.parser.feed_data(data[:room])
        if self.heads_completed == completed:
            raise _HeadTooLarge
        self.parser.feed_data(data[room:])

    def _bad_request(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    def _refuse_head(self) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        self.transport.write(
            refusal(
                431,
                b"Request Header Fields Too Large",
                "REQUEST_HEADERS_TOO_LARGE",
                f"The request head is larger than {self.limits.max_header_bytes} bytes or "
                f"has more than {self.limits.max_fields} header fields.",
            )
        )
        self.transport.close()

    # Parser callbacks (the hot path: keep them to a counter and a flag)

    def on_message_begin(self) -> None:
        self.in_head = True
        self.head_fields = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_fields += 1
        if self.head_fields > self.limits.max_fields:
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.heads_completed += 1
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.in_head = True
        self.head_bytes = 0
        self.waiting_since = time.monotonic()


def _waiting_since(connection: GatewayHttpProtocol) -> float:
    return connection.waiting_since
