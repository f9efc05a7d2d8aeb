"""Who is calling: the shop (``x-shop-id``) and the client IP used to key rate limits.

The client IP comes only from the header the front door sets (``GATEWAY_CLIENT_IP_HEADER``)
or, without it, from the socket peer; ``X-Forwarded-For``, ``Forwarded`` and ``X-Real-IP``
are client-controlled and never used (``python -m gateway`` also turns off uvicorn's
proxy-header handling, which would rewrite the peer from them). A client-IP header that is
not exactly one valid address did not come from the front door: 400 ``CLIENT_IP_INVALID``,
never a fallback to the peer (a bypass: the peer is the front door, shared by everyone).
IPv6 clients are keyed by their /64 — one subscriber usually holds a whole /64, and keying
single addresses would let a client rotate addresses to escape its limit.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from checkout_edge_shared.errors import BadRequest

__all__ = ["SHOP_ID_PATTERN", "ClientIp", "client_ip", "shop_id"]

log = logging.getLogger("gateway.identity")

SHOP_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_UNKNOWN = "unknown"


def shop_id(values: Sequence[str], *, required: bool) -> str | None:
    """The validated shop id from the request's ``x-shop-id`` values.

    Missing → 400 ``SHOP_ID_REQUIRED`` when ``required``; malformed, or several different
    values → 400 ``SHOP_ID_INVALID``.
    """
    if not values:
        if required:
            raise BadRequest(
                "The x-shop-id header is required on this route.", code="SHOP_ID_REQUIRED"
            )
        return None
    value = values[0]
    if any(other != value for other in values[1:]) or not SHOP_ID_PATTERN.fullmatch(value):
        raise BadRequest(
            "The x-shop-id header must be 2-64 characters of a-z, 0-9 and '-', "
            "starting with a letter or digit.",
            code="SHOP_ID_INVALID",
        )
    return value


@dataclass(frozen=True, slots=True)
class ClientIp:
    """A client address: ``value`` is forwarded as ``x-client-ip``, ``key`` keys limits."""

    value: str
    key: str


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ClientIp | None:
    # Cached: the same clients come back, and parsing an address is a visible cost.
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            v4 = str(address.ipv4_mapped)
            return ClientIp(v4, v4)
        network = ipaddress.IPv6Network((address, 64), strict=False)
        return ClientIp(str(address), str(network))
    return ClientIp(str(address), str(address))


def client_ip(header_values: Sequence[str], peer: str | None) -> ClientIp:
    """The client IP from the front door's header, else the socket peer.

    Raises 400 ``CLIENT_IP_INVALID`` when the header is present but not exactly one valid
    IP address.
    """
    if header_values:
        if len(header_values) == 1 and (parsed := _parse(header_values[0])) is not None:
            return parsed
        # The front door sets exactly one valid address; anything else did not come from it.
        log.warning("malformed client ip header", extra={"values": list(header_values)[:4]})
        raise BadRequest(
            "The client IP header must hold exactly one IP address.", code="CLIENT_IP_INVALID"
        )
    if peer is not None and (parsed := _parse(peer)) is not None:
        return parsed
    return ClientIp(_UNKNOWN, _UNKNOWN)
