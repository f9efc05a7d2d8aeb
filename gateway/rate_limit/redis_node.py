"""One pipelined connection to one Redis server: the gateway's only Redis client.

Why not redis-py (measured with ``tests/bench/gateway.py``):

- Its deadline, like any ``asyncio.timeout`` around an awaited reply, counts the time the
  waiting coroutine spends queued behind other requests on a busy event loop; at
  saturation that alone passed 50 ms and moved a healthy gateway to its fallback. Here
  replies are parsed in ``data_received`` and resolve their futures there; a deadline only
  fails a call whose reply had not arrived by the first I/O poll after it expired.
- Its per-command machinery (pool lock, retry wrapper, RESP3 parsing in coroutines) cost
  about as much CPU as the rest of a forwarded request. Here concurrent calls share one
  connection: commands queued in one loop turn go out in one write, and replies are matched
  in order (Redis answers a connection's commands in order).

Set-up on connect: TLS (``rediss://``), ``AUTH [user] password`` and ``SELECT db``, sent
pipelined before any command; a refused AUTH or SELECT fails the call with its reason.
Failures: :class:`RedisUnavailable` (``timeout`` or ``error``) for the caller's failure
policy, :class:`ReplyError` for an error reply. Tested in
``tests/gateway/test_redis_node.py`` (framing, TLS, AUTH, database, reconnect, deadlines).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, cast

from gateway.rate_limit.resp import Incomplete, ReplyError, pack, parse

__all__ = ["RedisNode", "RedisUnavailable"]

# A connection whose oldest command has waited this long without a reply is taken for
# dead (a peer that vanished without closing) and replaced on the next call.
STALE_AFTER_SECONDS = 1.0
# Bound on commands awaiting replies, so a Redis that stopped answering cannot make the
# queue (and the memory behind it) grow without limit.
MAX_PENDING = 10_000


class RedisUnavailable(Exception):
    """The call failed: ``reason`` is ``timeout`` or ``error``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class _Protocol(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []
        self._pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        pos = 0
        try:
            while self._pending:
                value, pos = parse(self._buffer, pos)
                future, _ = self._pending.popleft()
                if future.done():  # its caller gave up (deadline); the reply is dropped
                    continue
                if isinstance(value, ReplyError):
                    future.set_exception(value)
                else:
                    future.set_result(value)
        except Incomplete:
            pass
        except ValueError as exc:
            self.abort(RedisUnavailable("error", f"protocol error: {exc}"))
            return
        del self._buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all(RedisUnavailable("error", f"connection lost: {exc!r}"))

    def send(self, command: bytes) -> asyncio.Future[Any]:
        if self.closed:
            raise RedisUnavailable("error", "connection closed")
        if len(self._pending) >= MAX_PENDING:
            raise RedisUnavailable("error", "too many commands awaiting replies")
        future: asyncio.Future[Any] = self._loop.create_future()
        if not self._pending and self._transport is not None:
            # Nothing in flight, nothing to batch with: write now (the latency of one
            # request on an idle gateway).
            self._transport.write(command)
        else:
            if not self._outgoing:
                # Under load, everything queued during this loop turn goes in one write.
                self._loop.call_soon(self._flush)
            self._outgoing.append(command)
        self._pending.append((future, time.monotonic()))
        return future

    def stale(self) -> bool:
        return bool(self._pending) and time.monotonic() - self._pending[0][1] > STALE_AFTER_SECONDS

    def abort(self, error: RedisUnavailable) -> None:
        self._fail_all(error)
        if self._transport is not None:
            self._transport.abort()

    def _flush(self) -> None:
        if self._outgoing and self._transport is not None and not self.closed:
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _fail_all(self, error: RedisUnavailable) -> None:
        self.closed = True
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(error)


def _retrieve(task: asyncio.Task[_Protocol]) -> None:
    # A failed connect is reported to the callers awaiting it; this keeps asyncio from
    # also logging it as "never retrieved" when they had all given up already.
    if not task.cancelled():
        task.exception()


def _discard(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # an ASKING reply nobody awaits


class RedisNode:
    """Sends commands to one server over one shared connection, reconnecting when lost."""

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        unix_path: str | None = None,
        tls: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        connect_timeout: float,
    ) -> None:
        self.address = (host, port)
        self._unix_path = unix_path
        self._tls = tls
        self._setup: list[bytes] = []
        if password is not None:
            credentials = [username, password] if username else [password]
            self._setup.append(pack("AUTH", *credentials))
        if db:
            self._setup.append(pack("SELECT", db))
        self._connect_timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None

    async def call(self, command: bytes, *, within: float, asking: bool = False) -> Any:
        """Send ``command`` (see :func:`pack`) and return its reply.

        ``asking`` sends ``ASKING`` first, in the same write (a Cluster ``-ASK`` redirect).
        Raises :class:`RedisUnavailable` or :class:`ReplyError`. The deadline, ``within``
        seconds, covers connecting and the reply (not an asyncio timeout: see above).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connected(deadline)
        if asking:
            protocol.send(b"*1\r\n$6\r\nASKING\r\n").add_done_callback(_discard)
        future = protocol.send(command)
        timer = loop.call_at(deadline, self._expire, loop, protocol, future, 2)
        try:
            return await future
        finally:
            timer.cancel()

    def execute(self, key: bytes, command: bytes, *, within: float) -> Awaitable[Any]:
        """:meth:`call` (a single server holds every key; the same shape as a cluster's).

        Not a coroutine of its own: one frame less per rate-limit check."""
        return self.call(command, within=within)

    async def ping(self, *, within: float) -> None:
        await self.call(b"*1\r\n$4\r\nPING\r\n", within=within)

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._protocol is not None:
            self._protocol.abort(RedisUnavailable("error", "closed"))
            self._protocol = None

    async def _connected(self, deadline: float) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and not protocol.closed:
            return protocol
        task = self._connecting
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            # Connected after the caller that started it had given up.
            protocol = task.result()
            if not protocol.closed:
                self._protocol = protocol
                return protocol
        if task is None or task.done():
            task = self._connecting = asyncio.ensure_future(self._connect())
            task.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout_at(deadline):
                # Shielded: the connection outlives a caller whose deadline passed.
                self._protocol = await asyncio.shield(task)
        except TimeoutError:
            raise RedisUnavailable("timeout", "connecting") from None
        except OSError as exc:
            raise RedisUnavailable("error", f"connecting: {exc!r}") from exc
        return self._protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout):
            if self._unix_path is not None:
                _, protocol = await loop.create_unix_connection(
                    lambda: _Protocol(loop), self._unix_path
                )
            else:
                host, port = self.address
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(loop), host, port, ssl=self._tls
                )
            try:
                await asyncio.gather(*(protocol.send(command) for command in self._setup))
            except ReplyError as exc:
                protocol.abort(RedisUnavailable("error", str(exc)))
                raise RedisUnavailable("error", f"setting up the connection: {exc}") from exc
        return protocol

    @staticmethod
    def _expire(
        loop: asyncio.AbstractEventLoop, protocol: _Protocol, future: asyncio.Future[Any], hops: int
    ) -> None:
        # The deadline passed. Decide only after the loop has polled for I/O once more
        # (two call_soon hops, on asyncio's loop and on uvloop alike): a reply that arrived
        # while this process was busy elsewhere still counts as in time.
        if future.done():
            return
        if hops:
            loop.call_soon(RedisNode._expire, loop, protocol, future, hops - 1)
            return
        if protocol.stale():
            protocol.abort(RedisUnavailable("timeout", "no reply; connection replaced"))
        else:
            future.set_exception(RedisUnavailable("timeout", "no reply in time"))
