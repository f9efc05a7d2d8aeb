"""The only module that talks to Stripe (and the only one that sorts its errors).

Checkout Sessions are created, read and expired through the async ``stripe`` client with an
explicitly pinned API version, an explicit idempotency key, explicit retries and a deadline
over the whole call (the client's own retries included). The bytes travel through
:class:`~origin.payments.http.StripeHTTPClient`, which reports every transport failure as
``stripe.APIConnectionError``, as stripe-python's own clients do. Every Stripe failure is
translated into one of two domain exceptions, exactly as docs/api.md §3.3 step 5 classifies
them:

    PaymentProviderFailure
    ├── DefinitiveFailure   401 authentication, 403 permission, 400 invalid request:
    │                       Stripe guarantees no session was created → release the hold
    └── UnknownOutcome      timeout, connection error, 429, 5xx, 409, idempotency conflict:
                            a session may exist → keep the hold, let the retry converge
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import stripe

from origin.metrics import OriginMetrics
from origin.payments.http import StripeHTTPClient
from origin.settings import Settings

log = logging.getLogger("origin.payments")

# Pinned: the wire format (and the name of the embedded UI mode) is this version's.
STRIPE_API_VERSION = "2026-10-28.endive"
# From this version on Stripe calls the embedded-components UI mode `elements`, not `custom`.
ELEMENTS_RENAME_VERSION = "2026-03-25"
# Stripe refuses expires_at less than 30 minutes ahead.
STRIPE_MIN_SESSION_SECONDS = 30 * 60

Classification = Literal[
    "authentication", "permission", "invalid_request", "idempotency", "conflict",
    "rate_limited", "server_error", "connection", "timeout", "other",
]  # fmt: skip


class PaymentProviderFailure(Exception):
    def __init__(self, classification: Classification, message: str) -> None:
        super().__init__(message)
        self.classification = classification


class DefinitiveFailure(PaymentProviderFailure):
    """Stripe answered that it did not create anything."""


class UnknownOutcome(PaymentProviderFailure):
    """We cannot know whether Stripe created the session."""


def embedded_ui_mode(api_version: str = STRIPE_API_VERSION) -> str:
    return "elements" if api_version[:10] >= ELEMENTS_RENAME_VERSION else "custom"


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    url: str | None
    client_secret: str | None
    expires_at: datetime
    amount_total: int | None
    currency: str | None

    @classmethod
    def from_stripe(cls, stripe_obj: stripe.StripeObject | Mapping[str, Any]) -> CheckoutSession:
        # Shallow: every field read here is a scalar, and a recursive copy of the whole
        # session (line items included) was a measurable part of a checkout's CPU.
        obj = (
            stripe_obj.to_dict(recursive=False)
            if isinstance(stripe_obj, stripe.StripeObject)
            else stripe_obj
        )
        return cls(
            id=obj["id"],
            status=obj.get("status") or "open",
            payment_status=obj.get("payment_status") or "unpaid",
            url=obj.get("url"),
            client_secret=obj.get("client_secret"),
            expires_at=datetime.fromtimestamp(int(obj["expires_at"]), UTC),
            amount_total=obj.get("amount_total"),
            currency=obj.get("currency"),
        )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def classify(exc: BaseException) -> PaymentProviderFailure:
    """Translate a stripe-python (or deadline) exception into the domain's two outcomes."""
    message = str(exc) or exc.__class__.__name__
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return UnknownOutcome("timeout", "Stripe did not answer in time")
    if isinstance(exc, stripe.IdempotencyError):
        return UnknownOutcome("idempotency", message)
    if isinstance(exc, stripe.AuthenticationError):
        return DefinitiveFailure("authentication", message)
    if isinstance(exc, stripe.PermissionError):
        return DefinitiveFailure("permission", message)
    if isinstance(exc, stripe.RateLimitError):
        return UnknownOutcome("rate_limited", message)
    if isinstance(exc, stripe.InvalidRequestError):
        return DefinitiveFailure("invalid_request", message)
    if isinstance(exc, stripe.APIConnectionError):
        return UnknownOutcome("connection", message)
    if isinstance(exc, stripe.StripeError):
        status = exc.http_status or 0
        if status == 409:
            return UnknownOutcome("conflict", message)
        if status >= 500 or status == 0:
            return UnknownOutcome("server_error", message)
    return UnknownOutcome("other", message)


class StripePayments:
    """Owned by the origin's lifespan; one HTTP client for all calls."""

    def __init__(self, settings: Settings, metrics: OriginMetrics) -> None:
        self.metrics = metrics
        self.timeout = settings.stripe_timeout_seconds
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.http = StripeHTTPClient(timeout=settings.stripe_timeout_seconds)
        self.client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            stripe_version=STRIPE_API_VERSION,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=settings.stripe_max_network_retries,
            http_client=self.http,
        )
        # Resolved once: the client builds its service objects lazily on attribute access.
        self.sessions = self.client.v1.checkout.sessions

    async def aclose(self) -> None:
        await self.http.close_async()

    async def _call(self, operation: str, call: Any) -> Any:
        """Run one Stripe call; every call logs a line with Stripe's ``Request-Id``, which
        Stripe's support asks for when a call went wrong."""
        started = time.perf_counter()
        try:
            # The deadline covers the client's own retries, so the answer always comes back
            # before the gateway's upstream timeout.
            async with asyncio.timeout(self.timeout):
                result = await call
        except (stripe.StripeError, TimeoutError) as exc:
            failure = classify(exc)
            log.warning(
                "stripe call failed",
                extra={
                    "operation": operation,
                    "classification": failure.classification,
                    "stripeRequestId": getattr(exc, "request_id", None),
                    "httpStatus": getattr(exc, "http_status", None),
                    "durationMs": _ms_since(started),
                    "error": str(exc)[:300],
                },
            )
            raise failure from exc
        finally:
            self.metrics.stripe_duration.labels(operation).observe(time.perf_counter() - started)
        response = result if isinstance(result, stripe.StripeResponse) else None
        response = response or getattr(result, "last_response", None)
        log.info(
            "stripe call",
            extra={
                "operation": operation,
                "stripeRequestId": getattr(response, "request_id", None),
                "httpStatus": getattr(response, "code", None),
                "durationMs": _ms_since(started),
            },
        )
        return result

    async def create_checkout_session(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> CheckoutSession:
        # stripe-python's raw request: the same encoding, retries, idempotency key and error
        # classes as ``sessions.create_async``, without turning the answer into StripeObjects
        # (a tenth of a checkout's CPU) — the fields read here are plain JSON.
        response = await self._call(
            "create_session",
            self.client.raw_request_async(
                "post", "/v1/checkout/sessions", idempotency_key=idempotency_key, **params
            ),
        )
        return CheckoutSession.from_stripe(response.data)

    async def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        obj = await self._call("retrieve_session", self.sessions.retrieve_async(session_id))
        return CheckoutSession.from_stripe(obj)

    async def expire_checkout_session(self, session_id: str) -> CheckoutSession:
        """Expire an open session; a session that is no longer open is returned as it is."""
        try:
            obj = await self._call("expire_session", self.sessions.expire_async(session_id))
        except DefinitiveFailure as failure:
            if failure.classification != "invalid_request":
                raise
            # Stripe refuses to expire a session that is complete (or already expired).
            return await self.retrieve_checkout_session(session_id)
        return CheckoutSession.from_stripe(obj)


class InvalidSignature(Exception):
    """The webhook's ``Stripe-Signature`` is missing, malformed, stale or matches no secret."""


def verify_webhook(
    payload: bytes, signature_header: str | None, secrets: tuple[str, ...], *, tolerance: int = 300
) -> None:
    """Verify Stripe's signature over the raw bytes against any of the (rotating) secrets."""
    if not signature_header:
        raise InvalidSignature("missing Stripe-Signature header")
    try:
        # Stripe signs UTF-8 text. A strict decode, so that a byte a lenient decode would read
        # as a signed U+FFFD cannot pass as the signed body.
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("the body is not UTF-8 text") from None
    last_error = "no webhook secret configured"
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance)
        except (stripe.SignatureVerificationError, ValueError, IndexError) as exc:
            last_error = str(exc)
            continue
        return
    raise InvalidSignature(last_error)
