"""RESP2, the Redis wire format, for what the rate limiter sends and receives.

Commands are arrays of bulk strings (:func:`pack`); replies are any of the five RESP2 types
(:func:`parse`), an error reply becoming a :class:`ReplyError` *value* so a pipeline of
replies can be matched to its callers in order.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Incomplete", "ReplyError", "pack", "parse"]


class ReplyError(Exception):
    """Redis answered with an error reply (``-ERR …``, ``-NOSCRIPT …``, ``-MOVED …``)."""

    @property
    def kind(self) -> str:
        """The error's first word: ``NOSCRIPT``, ``MOVED``, ``ASK``, ``CLUSTERDOWN``…"""
        return str(self).split(" ", 1)[0]


class Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


def pack(*args: bytes | str | int | float) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def parse(buffer: bytearray, pos: int) -> tuple[Any, int]:
    """One reply starting at ``pos``: (value, next position); :class:`Incomplete` if cut.

    Raises ``ValueError`` for bytes that are not RESP2.
    """
    end = buffer.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    kind, line = buffer[pos], bytes(buffer[pos + 1 : end])
    if kind == 36:  # '$' first: the rate limiter's reply is one bulk string
        size = int(line)
        if size < 0:
            return None, end + 2
        if len(buffer) < end + 4 + size:
            raise Incomplete
        return bytes(buffer[end + 2 : end + 2 + size]), end + 4 + size
    if kind == 43:  # '+'
        return line, end + 2
    if kind == 45:  # '-'
        return ReplyError(line.decode(errors="replace")), end + 2
    if kind == 58:  # ':'
        return int(line), end + 2
    if kind == 42:  # '*'
        count = int(line)
        items, pos = [], end + 2
        for _ in range(max(count, 0)):
            item, pos = parse(buffer, pos)
            items.append(item)
        return (items if count >= 0 else None), pos
    raise ValueError(f"unexpected RESP reply type {chr(kind)!r}")
