"""The Stripe boundary's pure parts (:mod:`origin.payments.stripe_client`): every stripe-python
error sorted into the two outcomes docs/api.md §3.3 step 5 defines, the embedded UI mode's
name per API version, a session read from Stripe's object, and webhook signatures.

The errors are stripe-python's own classes, built as its requestor builds them for each HTTP
status. What the checkout does with each outcome (release or keep the hold, 502 or 503) is
tested through the stand-in in ``tests/origin/checkout/test_checkout_faults.py``; the
webhook endpoint's answers to bad signatures in ``tests/origin/orders/test_webhook_input.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import stripe

from origin.payments.stripe_client import (
    STRIPE_API_VERSION,
    CheckoutSession,
    DefinitiveFailure,
    InvalidSignature,
    PaymentProviderFailure,
    UnknownOutcome,
    classify,
    embedded_ui_mode,
    verify_webhook,
)

SECRET = "whsec_unit_secret"
PAYLOAD = b'{"id": "evt_1", "type": "checkout.session.completed"}'

# -- classification (docs/api.md §3.3 step 5) ----------------------------------------------

DEFINITIVE: dict[str, tuple[Exception, str]] = {
    "401": (stripe.AuthenticationError("Invalid API Key", http_status=401), "authentication"),
    "403": (stripe.PermissionError("restricted key", http_status=403), "permission"),
    "400": (
        stripe.InvalidRequestError("Missing line_items", "line_items", http_status=400),
        "invalid_request",
    ),
    "404": (
        stripe.InvalidRequestError("No such session", "id", "resource_missing", http_status=404),
        "invalid_request",
    ),
}

UNKNOWN: dict[str, tuple[BaseException, str]] = {
    "deadline": (TimeoutError(), "timeout"),
    "connection": (stripe.APIConnectionError("connection reset"), "connection"),
    "429": (stripe.RateLimitError("Too many requests", http_status=429), "rate_limited"),
    "idempotency": (
        stripe.IdempotencyError("Keys for idempotent requests …", http_status=400),
        "idempotency",
    ),
    "409": (stripe.APIError("lock_timeout", http_status=409), "conflict"),
    "500": (stripe.APIError("Internal error", http_status=500), "server_error"),
    "503": (stripe.APIError("Service unavailable", http_status=503), "server_error"),
    "no status": (stripe.APIError("unexpected response"), "server_error"),
}


@pytest.mark.parametrize(("error", "classification"), DEFINITIVE.values(), ids=DEFINITIVE.keys())
def test_no_session_answers_are_definitive_failures(error: Exception, classification: str) -> None:
    """Stripe guarantees nothing was created: the checkout may release the hold."""
    failure = classify(error)
    assert type(failure) is DefinitiveFailure
    assert failure.classification == classification
    assert str(failure) == str(error)


@pytest.mark.parametrize(("error", "classification"), UNKNOWN.values(), ids=UNKNOWN.keys())
def test_answers_that_may_hide_a_session_are_unknown_outcomes(
    error: BaseException, classification: str
) -> None:
    """A session may exist: the checkout keeps the hold so a retry converges on it."""
    failure = classify(error)
    assert type(failure) is UnknownOutcome
    assert failure.classification == classification


def test_an_idempotency_conflict_is_unknown_although_stripe_sends_it_as_a_400() -> None:
    """stripe-python raises ``IdempotencyError`` for a 400 of type ``idempotency_error``: it
    must not be taken for a definitive invalid request, or a live session's hold is freed."""
    assert not isinstance(stripe.IdempotencyError(), stripe.InvalidRequestError)
    failure = classify(stripe.IdempotencyError("same key, other parameters", http_status=400))
    assert isinstance(failure, UnknownOutcome)
    assert isinstance(failure, PaymentProviderFailure)


# -- the embedded UI mode ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "mode"),
    [
        ("2025-09-30.clover", "custom"),
        ("2026-03-24.basil", "custom"),
        ("2026-03-25.dahlia", "elements"),
        (STRIPE_API_VERSION, "elements"),
    ],
)
def test_embedded_ui_mode_is_called_elements_from_the_2026_03_25_api_on(
    api_version: str, mode: str
) -> None:
    assert embedded_ui_mode(api_version) == mode


def test_the_pinned_api_version_names_the_mode_elements() -> None:
    assert embedded_ui_mode() == "elements"


# -- a session as Stripe returns it --------------------------------------------------------


def test_session_is_read_from_a_stripe_object_with_open_and_unpaid_as_defaults() -> None:
    fields = {"id": "cs_1", "expires_at": 1_900_000_000, "amount_total": 6800, "currency": "usd"}
    session = CheckoutSession.from_stripe(stripe.StripeObject.construct_from(fields, "sk_x"))

    assert (session.id, session.status, session.payment_status) == ("cs_1", "open", "unpaid")
    assert int(session.expires_at.timestamp()) == 1_900_000_000
    assert session.expires_at.utcoffset() is not None  # aware, in UTC
    assert (session.amount_total, session.currency) == (6800, "usd")
    assert (session.url, session.client_secret) == (None, None)


# -- webhook signatures --------------------------------------------------------------------


def header(payload: bytes = PAYLOAD, secret: str = SECRET, timestamp: int | None = None) -> str:
    """What Stripe sends (stripe-python's own signing helper)."""
    now = int(time.time()) if timestamp is None else timestamp
    return stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, now)


@pytest.mark.parametrize("signed_with", ["whsec_old", "whsec_new"])
def test_a_signature_by_any_of_the_rotating_secrets_verifies(signed_with: str) -> None:
    verify_webhook(PAYLOAD, header(secret=signed_with), ("whsec_old", "whsec_new"))


def test_a_header_with_several_signatures_verifies_when_one_matches() -> None:
    now = int(time.time())
    other = header(secret="whsec_other", timestamp=now).split(",")[1]
    verify_webhook(PAYLOAD, f"{header(timestamp=now)},{other}", (SECRET,))


def signed() -> str:
    return header()


def stale() -> str:
    return header(timestamp=int(time.time()) - 301)


# Signatures are made when the test runs (a signature made at collection could go stale).
REFUSED: dict[str, tuple[bytes, Callable[[], str | None], tuple[str, ...], str]] = {
    "no header": (PAYLOAD, lambda: None, (SECRET,), "missing Stripe-Signature header"),
    "empty header": (PAYLOAD, lambda: "", (SECRET,), "missing Stripe-Signature header"),
    "malformed header": (PAYLOAD, lambda: "garbage", (SECRET,), "Unable to extract timestamp"),
    "no secret configured": (PAYLOAD, signed, (), "no webhook secret configured"),
    "other secret": (PAYLOAD, signed, ("whsec_else",), "No signatures found matching"),
    "stale": (PAYLOAD, stale, (SECRET,), "Timestamp outside the tolerance zone"),
    "body changed": (PAYLOAD + b" ", signed, (SECRET,), "No signatures found matching"),
    "not UTF-8": (b"\xff", signed, (SECRET,), "the body is not UTF-8 text"),
}


@pytest.mark.parametrize(("payload", "sign", "secrets", "reason"), REFUSED.values(), ids=REFUSED)
def test_a_signature_that_does_not_verify_is_refused_saying_why(
    payload: bytes, sign: Callable[[], str | None], secrets: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify_webhook(payload, sign(), secrets)
