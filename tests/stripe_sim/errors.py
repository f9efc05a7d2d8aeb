"""Errors answered in Stripe's shape: ``{"error": {"type", "code", "message", "param"}}``.

Every failure the stand-in reports is a :class:`StripeError`; the app renders it in one place
(``app.py``). The constructors below carry Stripe's own wording where the origin or
stripe-python might look at it. ``type`` decides little in stripe-python: the HTTP status picks
the exception class, except ``idempotency_error`` which becomes ``IdempotencyError``.
"""

from collections.abc import Mapping

_SIMULATED = " (simulated by the local Stripe stand-in)"


class StripeError(Exception):
    """An error answer: HTTP status, Stripe error object and extra response headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        """The JSON body; like Stripe, absent fields are left out rather than null."""
        error: dict[str, object] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> StripeError:
    """A 400 ``invalid_request_error``."""
    return StripeError(400, message, param=param, code=code)


def missing_param(param: str) -> StripeError:
    """A required parameter is absent (or empty)."""
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def unknown_param(param: str) -> StripeError:
    """A parameter Stripe does not know at this place."""
    return invalid_request(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def invalid_integer(param: str, value: object) -> StripeError:
    """A value that should be an integer is not one."""
    return invalid_request(
        f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
    )


def unsupported(param: str, what: str) -> StripeError:
    """Real Stripe accepts this, the stand-in does not: say so instead of answering wrongly."""
    return invalid_request(f"The local Stripe stand-in does not support {what}.", param=param)


def no_such(kind: str, object_id: str, *, param: str, status: int = 404) -> StripeError:
    """An id that names nothing, e.g. ``No such checkout.session: 'cs_test_x'``."""
    return StripeError(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def api_key_missing() -> StripeError:
    """401 for a request without any key, worded as Stripe words it."""
    return StripeError(
        401,
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
        "or we can help at https://support.stripe.com/.",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def api_key_invalid(key: str) -> StripeError:
    """401 for a key that is not a test secret key; the key is masked as Stripe masks it."""
    return StripeError(
        401,
        f"Invalid API Key provided: {_mask(key)}",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def _mask(key: str) -> str:
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def idempotency_params_mismatch(key: str) -> StripeError:
    """The same idempotency key sent again with other parameters."""
    return StripeError(
        400,
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        error_type="idempotency_error",
    )


def idempotency_endpoint_mismatch(key: str, first: str, now: str) -> StripeError:
    """The same idempotency key sent again to another endpoint."""
    return StripeError(
        400,
        "Keys for idempotent requests can only be used for the same endpoint they were first "
        f"used for ('{first}' vs '{now}'). Try using a key other than '{key}' if you meant "
        "to execute a different request.",
        error_type="idempotency_error",
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    """404 for a URL the stand-in (or Stripe) does not serve."""
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def simulated_failure(status: int) -> StripeError:
    """The answer of an injected fault, shaped like Stripe's answer with that status."""
    if status == 401:
        return StripeError(
            401,
            "Invalid API Key provided: sk_test_****************************" + _SIMULATED,
            headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
        )
    if status == 403:
        return StripeError(
            403,
            "The provided key does not have the required permissions for this endpoint. "
            "Having the 'rak_checkout_session_write' permission would allow this request "
            "to continue." + _SIMULATED,
        )
    if status == 409:
        return StripeError(
            409,
            "There is currently another in-progress request using this Idempotent Key "
            "(that probably means you submitted twice, and the other request is still "
            "going through). Please try again later." + _SIMULATED,
            error_type="idempotency_error",
            code="idempotency_key_in_use",
        )
    if status == 429:
        return StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits." + _SIMULATED,
            code="rate_limit",
        )
    if status >= 500:
        return StripeError(status, "An unknown error occurred" + _SIMULATED, error_type="api_error")
    return StripeError(status, "The request could not be processed." + _SIMULATED)
