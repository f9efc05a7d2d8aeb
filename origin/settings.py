"""The origin's settings, all from environment variables (docs/api.md §3).

Each secret may be given as ``NAME_FILE`` instead (:mod:`checkout_edge_shared.secrets`): the
tokens, the
Stripe key and webhook secret, and the database URLs (which may carry passwords).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from checkout_edge_shared.money import minor_from_major
from checkout_edge_shared.secrets import parse_tokens
from checkout_edge_shared.settings import BaseServiceSettings
from origin.db import split_pgbouncer

STRIPE_SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")

RepricePolicy = Literal["log_only", "enforce_and_proceed", "enforce_and_reject"]


class DatabaseSettings(BaseServiceSettings):
    """What the command line (migrate, seed) needs: only the databases."""

    file_settings: ClassVar[frozenset[str]] = frozenset(
        {"database_url", "central_inventory_database_url"}
    )

    database_url: str = "sqlite+aiosqlite:///./var/origin.db"
    central_inventory_database_url: str | None = None

    @field_validator("database_url", "central_inventory_database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        try:
            make_url(value)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(
                f"not a valid database URL ({exc}); expected "
                "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE"
            ) from None
        split_pgbouncer(value)  # a malformed ?pgbouncer= stops start-up, not the first query
        return value


class Settings(DatabaseSettings):
    origin_gateway_token: SecretStr
    origin_env: Literal["development", "production"] = "development"
    origin_metrics_token: SecretStr | None = None
    log_level: str = "INFO"
    # ``json`` (one object per line, for log shippers) or ``text`` (``make run``).
    log_format: Literal["json", "text"] = "json"

    stripe_secret_key: SecretStr
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr
    stripe_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    stripe_max_network_retries: int = Field(default=1, ge=0, le=5)

    checkout_reprice_policy: RepricePolicy = "enforce_and_proceed"
    checkout_reprice_drift_abs: Decimal = Field(default=Decimal("0.10"), ge=0)
    checkout_reprice_drift_pct: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)
    enable_idempotent_holds: bool = True
    enable_stripe_error_classification: bool = True
    webhook_tenant_assertion_enabled: bool = True
    enforce_central_inventory: bool = False
    # A separate central database must never stall checkout: connect and statements are
    # bounded by this, after which the pool counts as unavailable (§3.6).
    central_inventory_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # How often holds mirrored in a separate central database are brought in line with the
    # origin's (a backstop for the immediate follow-up after each transaction).
    central_inventory_sync_interval_seconds: float = Field(default=30.0, gt=0)

    inventory_hold_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    hold_reaper_interval_seconds: float = Field(default=30.0, gt=0)
    hold_reaper_enabled: bool = True
    cart_ttl_seconds: int = Field(default=30 * 86400, ge=60)
    db_pool_size: int = Field(
        default=10, ge=1, validation_alias=AliasChoices("ORIGIN_DB_POOL_SIZE")
    )
    # Bounds on waiting for the database (origin.db): an outage answers 503 well inside
    # the gateway's upstream timeout instead of hanging.
    db_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, validation_alias=AliasChoices("ORIGIN_DB_CONNECT_TIMEOUT_SECONDS")
    )
    # A burst queues for pooled connections; past this it is told to retry (503), still
    # inside the gateway's upstream timeout.
    db_pool_timeout_seconds: float = Field(
        default=8.0, gt=0, le=60, validation_alias=AliasChoices("ORIGIN_DB_POOL_TIMEOUT_SECONDS")
    )
    db_statement_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("ORIGIN_DB_STATEMENT_TIMEOUT_SECONDS"),
    )

    @field_validator("stripe_webhook_secret", "origin_gateway_token")
    @classmethod
    def _token_list(cls, value: SecretStr) -> SecretStr:
        parse_tokens(value.get_secret_value(), several=True)
        return value

    @field_validator("stripe_secret_key")
    @classmethod
    def _one_token(cls, value: SecretStr) -> SecretStr:
        parse_tokens(value.get_secret_value(), several=False)
        # A publishable key (pk_…) is accepted by nothing the origin calls: refused here, at
        # start-up, instead of turning every checkout into a 502. The stand-in checks the
        # prefix like Stripe does, so the rule holds for it too.
        if not value.get_secret_value().startswith(STRIPE_SECRET_KEY_PREFIXES):
            raise ValueError(
                "must be a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_test_…, "
                "rk_live_…), not a publishable key (pk_…)"
            )
        return value

    @field_validator("origin_metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty means "no token", as if unset
        parse_tokens(value.get_secret_value(), several=False)
        return value

    @field_validator("checkout_reprice_drift_abs")
    @classmethod
    def _whole_minor_units(cls, value: Decimal) -> Decimal:
        minor_from_major(value)  # raises when finer than a cent
        return value

    @property
    def gateway_tokens(self) -> tuple[str, ...]:
        return parse_tokens(self.origin_gateway_token.get_secret_value(), several=True)

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        return parse_tokens(self.stripe_webhook_secret.get_secret_value(), several=True)

    @property
    def drift_abs_minor(self) -> int:
        """``CHECKOUT_REPRICE_DRIFT_ABS`` in minor units (two-decimal currencies)."""
        return minor_from_major(self.checkout_reprice_drift_abs)
