"""Configuration of one stand-in instance, built by the command line or by a test."""

from dataclasses import dataclass

from .versions import DEFAULT_API_VERSION


@dataclass(frozen=True)
class SimConfig:
    """Everything a stand-in needs to know when it starts.

    ``webhook_url`` may be ``None`` in tests that do not care about delivery: events are
    then recorded but never sent.
    """

    webhook_url: str | None
    webhook_secret: str
    webhook_headers: tuple[tuple[str, str], ...] = ()
    #: Further attempts after a failed first delivery; Stripe retries for days, tests cannot.
    webhook_retries: int = 3
    #: Delay before the first retry in seconds; it doubles for every further one.
    webhook_backoff: float = 2.0
    webhook_timeout: float = 10.0
    #: The account's default API version, used when a request carries no Stripe-Version.
    default_api_version: str = DEFAULT_API_VERSION
    #: How often open sessions past their ``expires_at`` are expired (seconds).
    expiry_sweep_interval: float = 1.0
    idempotency_ttl: float = 24 * 60 * 60
