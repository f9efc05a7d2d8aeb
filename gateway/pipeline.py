"""Checks 2-6 of the contract for an allowlisted route, in the contract's order.

(Check 1, the front-door token, is :class:`gateway.front_door.FrontDoorMiddleware`.)

    2. method allowed for the path      405 METHOD_NOT_ALLOWED + Allow
    3. x-shop-id present and well-formed 400 SHOP_ID_REQUIRED / SHOP_ID_INVALID
    4. body within the size limit       413 BODY_TOO_LARGE (also for chunked bodies)
    5. rate limit                       429 RATE_LIMITED + Retry-After
    6. forward to the origin            502 ORIGIN_UNAVAILABLE / 504 ORIGIN_TIMEOUT

The body is read (up to the limit, no further) before the rate limit, so an oversized
request never spends quota and the origin gets an exact Content-Length. Errors are raised
as :class:`checkout_edge_shared.errors.AppError` and rendered by the one handler; responses of
a limited
route carry the IETF RateLimit fields.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from checkout_edge_shared.errors import AppError, TooManyRequests, Unavailable
from gateway.headers import Headers
from gateway.identity import ClientIp, client_ip, shop_id
from gateway.metrics import GatewayMetrics
from gateway.rate_limit import BackendUnavailable, Decision, Quota, RateLimiter
from gateway.routes import RouteRule, ShopRule
from gateway.state import gateway_state

__all__ = ["ForwardEndpoint", "policy_fields", "rate_limit_fields", "read_body"]

log = logging.getLogger("gateway.pipeline")


def _values(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [v.decode("latin-1") for n, v in headers if n == name]


async def read_body(receive: Receive, content_length: str | None, limit: int) -> bytes:
    """The whole request body, refusing with 413 as soon as it exceeds ``limit`` bytes."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(limit: int) -> AppError:
    return AppError(
        f"The request body is larger than {limit} bytes.", code="BODY_TOO_LARGE", status=413
    )


@functools.lru_cache(maxsize=64)
def _policy(quota: Quota) -> tuple[bytes, bytes]:
    return (b"ratelimit-policy", f'"{quota.name}";q={quota.amount};w={quota.window}'.encode())


def policy_fields(quota: Quota) -> Headers:
    """``RateLimit-Policy: "checkout";q=10;w=60`` (IETF httpapi-ratelimit-headers)."""
    return [_policy(quota)]


def rate_limit_fields(decision: Decision, quota: Quota | None) -> Headers:
    """Policy and current state: ``RateLimit: "checkout";r=3;t=41`` for the route's class.

    When the per-IP ceiling is what refused, its policy and state follow the class's
    (``"per-ip";r=0;t=17``), so the client can see which limit it hit.
    """
    fields = [_policy(quota)] if quota is not None else []
    state = b""
    if quota is not None and decision.known and decision.quota.name == quota.name:
        state = b'"%s";r=%d;t=%d' % (
            quota.name.encode(),
            decision.remaining,
            decision.reset_seconds,
        )
    ceiling = next((q for q in decision.refused_by if quota is None or q.name != quota.name), None)
    if ceiling is not None:
        policy = _policy(ceiling)[1]
        fields = (
            [(b"ratelimit-policy", fields[0][1] + b", " + policy)] if fields else [_policy(ceiling)]
        )
        ceiling_state = b'"%s";r=0;t=%d' % (ceiling.name.encode(), decision.retry_after)
        state = state + b", " + ceiling_state if state else ceiling_state
    if state:
        fields.append((b"ratelimit", state))
    return fields


class ForwardEndpoint:
    """The ASGI endpoint of one allowlist row."""

    def __init__(
        self,
        rule: RouteRule,
        *,
        quota: Quota | None,
        max_body_bytes: int,
        client_ip_header: str,
        shadow: bool,
        metrics: GatewayMetrics,
    ) -> None:
        self.rule = rule
        self.quota = quota
        self.max_body_bytes = max_body_bytes
        self.client_ip_header = client_ip_header.encode()
        self.shadow = shadow
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields = policy_fields(self.quota) if self.quota is not None else []
        try:
            shop, body = await self._validate(scope, receive)
            peer = scope["client"][0] if scope.get("client") else None
            ip = client_ip(_values(scope["headers"], self.client_ip_header), peer)
            state = gateway_state(scope)
            if self.quota is not None:  # a class switched off is not limited at all
                fields = await self._rate_limit(state["limiter"], self.quota, shop, ip)
            status = await state["proxy"].forward(
                scope,
                body,
                send,
                route=self.rule.path,
                client_ip=ip.value,
                request_id=scope["state"]["request_id"],
                extra_headers=fields,
            )
            self.metrics.origin_answered(shop, status)
        except AppError as exc:
            # Error responses of a limited route carry the RateLimit fields as well.
            for name, value in fields:
                exc.headers.setdefault(name.decode(), value.decode())
            raise
        except ClientDisconnect:
            log.info("client went away while sending the body", extra={"route": self.rule.path})

    async def _validate(self, scope: Scope, receive: Receive) -> tuple[str | None, bytes]:
        rule = self.rule
        if scope["method"] not in rule.methods:
            raise AppError(
                f"{scope['method']} is not allowed here; use {rule.allow_header}.",
                code="METHOD_NOT_ALLOWED",
                status=405,
                headers={"Allow": rule.allow_header},
            )
        headers = scope["headers"]
        shop = shop_id(_values(headers, b"x-shop-id"), required=rule.shop is ShopRule.REQUIRED)
        lengths = _values(headers, b"content-length")
        body = await read_body(receive, lengths[0] if lengths else None, self.max_body_bytes)
        return shop, body

    async def _rate_limit(
        self, limiter: RateLimiter, quota: Quota, shop: str | None, ip: ClientIp
    ) -> Headers:
        rule = self.rule
        scope: tuple[str, ...] = (rule.limit_class,)
        if rule.keyed_by_shop:
            scope = (rule.limit_class, shop or "")
        try:
            decision = await limiter.check(quota, scope, ip.key)
        except BackendUnavailable as exc:
            raise Unavailable(
                "Rate limiting is unavailable, so checkout is paused; retry shortly.",
                code="RATE_LIMIT_BACKEND_UNAVAILABLE",
                status=503,
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        if decision is None:
            return []
        fields = rate_limit_fields(decision, quota)
        if decision.allowed:
            return fields
        shop_label = self.metrics.shops.label(shop)
        limits = ",".join(q.name for q in decision.refused_by)
        context = {"route": rule.path, "shop": shop, "clientIp": ip.value, "limit": limits}
        if self.shadow:
            self.metrics.shadow_limited.labels(shop_label, rule.path).inc()
            log.info("rate limit would refuse (shadow mode)", extra=context)
            return fields
        self.metrics.rate_limited.labels(shop_label, rule.path).inc()
        log.info("rate limited", extra=context)
        raise TooManyRequests(
            f"Too many requests; retry in {decision.retry_after} seconds.",
            code="RATE_LIMITED",
            headers={
                **{n.decode(): v.decode() for n, v in fields},
                "Retry-After": str(decision.retry_after),
            },
        )
