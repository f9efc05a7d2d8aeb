"""The gateway's configuration, read from the environment and validated at start-up.

A missing or malformed variable stops start-up with one line naming it (see
:func:`checkout_edge_shared.settings.load_settings`); rate limits in the ``limits`` notation
are parsed
here, so a typo in ``GATEWAY_RATE_LIMIT_CART`` is a start-up error, not a surprise later.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from checkout_edge_shared.secrets import parse_tokens
from checkout_edge_shared.settings import BaseServiceSettings
from gateway.cors import parse_cors_origins
from gateway.rate_limit import FailureMode, Quota, RedisTarget, parse_quota, parse_redis_target
from gateway.routes import LimitClass

__all__ = ["Settings"]

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")


class Settings(BaseServiceSettings):
    """Every ``GATEWAY_*`` / ``CHECKOUT_*`` variable; see docs/gateway.md for the table.

    Each secret may be given as ``NAME_FILE`` instead (:mod:`checkout_edge_shared.secrets`).
    """

    # A Redis URL may carry a password.
    file_settings: ClassVar[frozenset[str]] = frozenset({"gateway_redis_url"})

    gateway_front_door_token: SecretStr
    gateway_origin_url: str = "http://127.0.0.1:8001"
    gateway_origin_token: SecretStr
    gateway_redis_url: str = ""
    gateway_redis_cluster_nodes: str = ""
    gateway_redis_failure_mode: FailureMode = FailureMode.FALLBACK
    gateway_redis_timeout_ms: int = Field(default=50, ge=1, le=10_000)
    gateway_redis_key_prefix: str = Field(default="checkout-edge", pattern=r"^[A-Za-z0-9:._-]+$")
    gateway_redis_breaker_failures: int = Field(default=3, ge=1, le=1000)
    gateway_redis_breaker_cooldown_seconds: float = Field(default=2.0, gt=0, le=300)
    gateway_expected_replicas: int = Field(default=1, ge=1, le=1000)
    gateway_rate_limit_shadow: bool = False
    gateway_max_body_bytes: int = Field(default=65536, ge=1, le=64 * 1024 * 1024)
    gateway_upstream_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    gateway_upstream_max_connections: int = Field(default=100, ge=1, le=10_000)
    gateway_client_ip_header: str = "cf-connecting-ip"
    gateway_metrics_token: SecretStr | None = None
    # The server's own limits (gateway.server, applied by ``python -m gateway``) and CORS.
    gateway_max_header_bytes: int = Field(default=16384, ge=1024, le=1024 * 1024)
    gateway_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    gateway_max_connections: int = Field(default=1000, ge=16, le=1_000_000)
    gateway_cors_origins: str = ""
    checkout_rate_limit_enabled: bool = True
    checkout_rate_limit_requests_per_minute: int = Field(default=10, ge=1, le=10_000)
    gateway_rate_limit_cart: str = "120/minute"
    gateway_rate_limit_inventory: str = "60/minute"
    gateway_rate_limit_status: str = "120/minute"
    gateway_rate_limit_webhook: str = "600/minute"
    gateway_rate_limit_per_ip: str = "600/minute"
    log_level: str = "INFO"
    # ``json`` (one object per line, for log shippers) or ``text`` (``make run``).
    log_format: Literal["json", "text"] = "json"

    @field_validator("gateway_front_door_token")
    @classmethod
    def _front_door_tokens(cls, value: SecretStr) -> SecretStr:
        parse_tokens(value.get_secret_value(), several=True)
        return value

    @field_validator("gateway_origin_token")
    @classmethod
    def _origin_token(cls, value: SecretStr) -> SecretStr:
        parse_tokens(value.get_secret_value(), several=False)
        return value

    @field_validator("gateway_metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty means "no token", as if unset
        parse_tokens(value.get_secret_value(), several=False)
        return value

    @field_validator("gateway_origin_url")
    @classmethod
    def _origin_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8001")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("must be the origin's base URL, without a path or query")
        return value.rstrip("/")

    @field_validator("gateway_redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parse_redis_target(value)
        return value.strip()

    @field_validator("gateway_redis_cluster_nodes")
    @classmethod
    def _redis_cluster_nodes(cls, value: str) -> str:
        parse_redis_target("", value)
        return value.strip()

    @model_validator(mode="after")
    def _one_redis(self) -> Settings:
        if self.gateway_redis_url and self.gateway_redis_cluster_nodes:
            raise ValueError("GATEWAY_REDIS_URL and GATEWAY_REDIS_CLUSTER_NODES: set one, not both")
        return self

    @field_validator("gateway_client_ip_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEADER_NAME.fullmatch(value):
            raise ValueError("must be an HTTP header name such as cf-connecting-ip")
        return value

    @field_validator(
        "gateway_rate_limit_cart",
        "gateway_rate_limit_inventory",
        "gateway_rate_limit_status",
        "gateway_rate_limit_webhook",
        "gateway_rate_limit_per_ip",
    )
    @classmethod
    def _limit(cls, value: str) -> str:
        parse_quota("check", value)
        return value

    @field_validator("gateway_cors_origins")
    @classmethod
    def _cors_origins(cls, value: str) -> str:
        parse_cors_origins(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in logging.getLevelNamesMapping():
            raise ValueError("must be a logging level such as INFO or DEBUG")
        return value

    def cors_origins(self) -> dict[str, frozenset[str]]:
        """Browser origins allowed per shop (``GATEWAY_CORS_ORIGINS``; empty: none)."""
        return parse_cors_origins(self.gateway_cors_origins)

    def redis_target(self) -> RedisTarget | None:
        """Where the shared windows live; ``None`` for in-process windows."""
        return parse_redis_target(self.gateway_redis_url, self.gateway_redis_cluster_nodes)

    def per_ip_ceiling(self) -> Quota:
        """``GATEWAY_RATE_LIMIT_PER_IP``: one client IP across all shops and classes."""
        return parse_quota("per-ip", self.gateway_rate_limit_per_ip)

    def front_door_tokens(self) -> list[bytes]:
        """All accepted front-door tokens (several during a rotation)."""
        tokens = parse_tokens(self.gateway_front_door_token.get_secret_value(), several=True)
        return [t.encode() for t in tokens]

    def quotas(self) -> dict[LimitClass, Quota | None]:
        """The quota of each limit class; ``None`` for a class that is not limited."""
        checkout = None
        if self.checkout_rate_limit_enabled:
            checkout = parse_quota(
                LimitClass.CHECKOUT, f"{self.checkout_rate_limit_requests_per_minute}/minute"
            )
        return {
            LimitClass.CHECKOUT: checkout,
            LimitClass.CART: parse_quota(LimitClass.CART, self.gateway_rate_limit_cart),
            LimitClass.INVENTORY: parse_quota(
                LimitClass.INVENTORY, self.gateway_rate_limit_inventory
            ),
            LimitClass.STATUS: parse_quota(LimitClass.STATUS, self.gateway_rate_limit_status),
            LimitClass.WEBHOOK: parse_quota(LimitClass.WEBHOOK, self.gateway_rate_limit_webhook),
        }
