"""Rate limits on Redis Cluster: each command to the master that owns its key's slot.

Keys are hash-tagged (docs/gateway.md, "Keys"), so the keys one check touches share a
slot and the check stays one ``EVALSHA`` to one master: one round trip per request.

The slot map comes from ``CLUSTER SLOTS`` (asked of any known node: seeds, then every node
the last map named), fetched on first use and again after anything that says it changed:

- ``-MOVED slot host:port``: the slot moved for good; the command goes there at once and
  the map is refreshed in the background;
- ``-ASK slot host:port``: the slot is being migrated and this key is already on the
  target; the command goes there once, preceded by ``ASKING`` in the same write;
- a node that fails or times out, ``-CLUSTERDOWN``, ``-TRYAGAIN``: the call fails (the
  limiter's failure mode decides) and the map is refreshed, so after a failover the
  promoted replica is found without a restart.

Refreshes run one at a time and at most every :data:`MIN_REFRESH_INTERVAL` seconds.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
from typing import Any

from gateway.rate_limit.redis_node import RedisNode, RedisUnavailable
from gateway.rate_limit.redis_url import RedisTarget
from gateway.rate_limit.resp import ReplyError, pack

__all__ = ["SLOTS", "RedisCluster", "key_slot"]

log = logging.getLogger("gateway.rate_limit.cluster")

SLOTS = 16384
MAX_REDIRECTS = 3
MIN_REFRESH_INTERVAL = 0.25
REFRESH_TIMEOUT_SECONDS = 1.0
_CLUSTER_SLOTS = pack("CLUSTER", "SLOTS")

Address = tuple[str, int]


def key_slot(key: bytes) -> int:
    """The key's cluster slot: CRC16 (XMODEM) of its hash tag, or of the whole key."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return binascii.crc_hqx(key, 0) % SLOTS


def _redirect_address(text: str, fallback_host: str) -> Address:
    host, _, port = text.rpartition(":")
    return (host or fallback_host), int(port)


class RedisCluster:
    """Routes each command by key to the owning master; follows redirects and failovers."""

    def __init__(self, target: RedisTarget, *, connect_timeout: float) -> None:
        self._target = target
        self._tls = target.tls_context()
        self._connect_timeout = connect_timeout
        self._seeds: list[Address] = list(target.nodes)
        self._known: list[Address] = []
        self._slots: list[Address | None] = [None] * SLOTS
        self._nodes: dict[Address, RedisNode] = {}
        self._refreshing: asyncio.Task[bool] | None = None
        self._last_refresh = -MIN_REFRESH_INTERVAL
        self.ready = False

    async def execute(self, key: bytes, command: bytes, *, within: float) -> Any:
        """Send ``command`` to the master of ``key``'s slot; the deadline covers redirects."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        slot = key_slot(key)
        if not self.ready:
            await self._first_map(deadline)
        address = self._slots[slot]
        if address is None:
            self._schedule_refresh()
            raise RedisUnavailable("error", f"no master serves slot {slot}")
        asking = False
        for _ in range(MAX_REDIRECTS + 1):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RedisUnavailable("timeout", "following cluster redirects")
            try:
                return await self.node(address).call(command, within=remaining, asking=asking)
            except ReplyError as exc:
                kind = exc.kind
                if kind not in ("MOVED", "ASK"):
                    if kind in ("CLUSTERDOWN", "TRYAGAIN", "LOADING", "READONLY", "MASTERDOWN"):
                        self._schedule_refresh()
                        raise RedisUnavailable("error", str(exc)) from exc
                    raise
                _, moved_slot, where = str(exc).split()
                address = _redirect_address(where, address[0])
                asking = kind == "ASK"
                if not asking:
                    self._slots[int(moved_slot)] = address
                    self._schedule_refresh()
            except RedisUnavailable:
                self._schedule_refresh()
                raise
        raise RedisUnavailable("error", "too many cluster redirects")

    async def ping(self, *, within: float) -> None:
        """PING every master; raises unless all answer (and the slot map is complete)."""
        loop = asyncio.get_running_loop()
        if not self.ready:
            await self._first_map(loop.time() + within)
        if any(address is None for address in self._slots):
            raise RedisUnavailable("error", "some slots have no master")
        masters = set(self._slots)
        await asyncio.gather(
            *(self.node(m).call(pack("PING"), within=within) for m in masters if m is not None)
        )

    def node(self, address: Address) -> RedisNode:
        found = self._nodes.get(address)
        if found is None:
            target = self._target
            found = self._nodes[address] = RedisNode(
                host=address[0],
                port=address[1],
                tls=self._tls,
                username=target.username,
                password=target.password,
                connect_timeout=self._connect_timeout,
            )
        return found

    async def aclose(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
        await asyncio.gather(*(node.aclose() for node in self._nodes.values()))

    async def _first_map(self, deadline: float) -> None:
        task = self._schedule_refresh(force=True)
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(task)
        except TimeoutError:
            raise RedisUnavailable("timeout", "discovering the cluster's slots") from None
        if not self.ready:
            raise RedisUnavailable("error", "no cluster node answered CLUSTER SLOTS")

    def _schedule_refresh(self, *, force: bool = False) -> asyncio.Task[bool]:
        loop = asyncio.get_running_loop()
        task = self._refreshing
        if task is not None and not task.done():
            return task
        if not force and loop.time() - self._last_refresh < MIN_REFRESH_INTERVAL and task:
            return task
        self._last_refresh = loop.time()
        task = self._refreshing = asyncio.ensure_future(self._refresh())
        return task

    async def _refresh(self) -> bool:
        candidates = list(dict.fromkeys([*self._known, *self._seeds]))
        for address in candidates:
            try:
                reply = await self.node(address).call(
                    _CLUSTER_SLOTS, within=REFRESH_TIMEOUT_SECONDS
                )
            except (RedisUnavailable, ReplyError) as exc:
                log.info(
                    "cluster node did not give its slots",
                    extra={"node": address, "error": str(exc)},
                )
                continue
            self._apply(reply, address[0])
            return True
        log.warning("no cluster node answered CLUSTER SLOTS", extra={"tried": candidates})
        return False

    def _apply(self, reply: list[Any], fallback_host: str) -> None:
        slots: list[Address | None] = [None] * SLOTS
        known: list[Address] = []
        for entry in reply:
            start, end, master, *replicas = entry
            owner = ((master[0] or b"").decode() or fallback_host, int(master[1]))
            slots[start : end + 1] = [owner] * (end + 1 - start)
            known.append(owner)
            known += [((r[0] or b"").decode() or fallback_host, int(r[1])) for r in replicas]
        changed = slots != self._slots
        self._slots = slots
        self._known = list(dict.fromkeys(known))
        if changed and self.ready:
            masters = sorted({owner for owner in slots if owner is not None})
            log.info("cluster slot map changed", extra={"masters": masters})
        self.ready = True
