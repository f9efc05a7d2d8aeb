"""What the lifespan hands to request handlers (Starlette's typed lifespan state)."""

from __future__ import annotations

from typing import TypedDict, cast

from starlette.types import Scope

from gateway.proxy import OriginProxy
from gateway.rate_limit import RateLimiter

__all__ = ["GatewayState", "gateway_state"]


class GatewayState(TypedDict):
    proxy: OriginProxy
    limiter: RateLimiter


def gateway_state(scope: Scope) -> GatewayState:
    return cast(GatewayState, scope["state"])
