"""Validation of ``POST /v1/checkout/sessions`` parameters, as Stripe validates them.

Parameters fall in four groups. Those the stand-in implements (mode, line items, URLs,
``expires_at``, metadata, …). Real ones that change nothing the stand-in models (locale,
payment method options, …): accepted and ignored. Real ones that would change amounts or need
objects that do not exist here (discounts, tax, Price and Customer ids, other modes): refused
with a message that says so, rather than answered wrongly. Anything else: Stripe's
``parameter_unknown``.
"""

import re
from urllib.parse import urlsplit

from .errors import invalid_request, missing_param, no_such, unsupported
from .forms import Params
from .ids import new_id
from .params import ParamReader
from .sessions import CheckoutSession, LineItem
from .versions import ApiVersion, UiMode

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
MAX_AMOUNT = 99_999_999
MAX_LINE_ITEMS = 100

_IMPLEMENTED = {
    "mode", "line_items", "ui_mode", "success_url", "cancel_url", "return_url", "expires_at",
    "metadata", "customer_email", "client_reference_id", "currency", "expand",
    "redirect_on_completion",
}  # fmt: skip
_IGNORED = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes",
    "allowed_payment_method_types", "billing_address_collection", "branding_settings",
    "consent_collection", "custom_fields", "custom_text", "customer_creation",
    "excluded_payment_method_types", "integration_identifier", "invoice_creation", "locale",
    "name_collection", "origin_context", "payment_intent_data", "payment_method_configuration",
    "payment_method_options", "payment_method_types", "permissions", "phone_number_collection",
    "saved_payment_method_options", "shipping_address_collection", "submit_type",
    "tax_id_collection", "wallet_options",
}  # fmt: skip
_UNSUPPORTED = {
    "automatic_tax": "automatic tax",
    "customer_account": "Accounts v2 customers",
    "customer_update": "Customer objects",
    "discounts": "discounts",
    "managed_payments": "managed payments",
    "optional_items": "optional items",
    "payment_method_collection": "subscription or setup mode",
    "payment_method_data": "saved payment method data",
    "setup_intent_data": "setup mode",
    "shipping_options": "shipping rates",
    "subscription_data": "subscription mode",
}
_LINE_ITEM_KEYS = {"price", "price_data", "quantity", "metadata", "adjustable_quantity"}
_PRICE_DATA_KEYS = {
    "currency", "product", "product_data", "unit_amount", "unit_amount_decimal",
    "tax_behavior", "recurring",
}  # fmt: skip
_PRODUCT_DATA_KEYS = {"name", "description", "images", "metadata", "tax_code", "unit_label"}
_CURRENCY = re.compile(r"^[a-z]{3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def build_session(
    params: Params, *, version: ApiVersion, now: int, base_url: str
) -> CheckoutSession:
    """Validate create params and return the new session, or raise Stripe's 400."""
    top = ParamReader(params)
    top.reject_unknown(_IMPLEMENTED | _IGNORED | _UNSUPPORTED.keys())
    for name, what in _UNSUPPORTED.items():
        # automatic_tax[enabled]=false changes nothing, so it is the one harmless form.
        if name == "automatic_tax" and _tax_disabled(top):
            continue
        if top.has(name):
            raise unsupported(name, what)
    mode = top.choice("mode", ("payment", "setup", "subscription"), default="")
    if not mode:
        raise missing_param("mode")
    if mode != "payment":
        raise unsupported("mode", f"mode={mode} (only mode=payment)")

    ui_mode = version.parse_ui_mode(top.string("ui_mode") or version.ui_mode_name(UiMode.HOSTED))
    urls = _urls(top, ui_mode, version)
    line_items, currency = _line_items(top)
    if (asked := top.string("currency")) is not None and asked.lower() != currency:
        raise invalid_request(
            f"The currency {asked} does not match the currency {currency} of the line items.",
            param="currency",
        )
    session_id = new_id("cs_test", 58)
    hosted = ui_mode is UiMode.HOSTED
    return CheckoutSession(
        id=session_id,
        created=now,
        expires_at=_expires_at(top, now),
        ui_mode=ui_mode,
        currency=currency,
        line_items=line_items,
        metadata=_metadata(top),
        customer_email=_email(top),
        client_reference_id=top.string("client_reference_id"),
        success_url=urls.get("success_url"),
        cancel_url=urls.get("cancel_url"),
        return_url=urls.get("return_url"),
        url=f"{base_url.rstrip('/')}/pay/{session_id}" if hosted else None,
        client_secret=None if hosted else f"{session_id}_secret_{new_id('x', 32)[2:]}",
    )


def _tax_disabled(top: ParamReader) -> bool:
    tax = top.obj("automatic_tax")
    return tax is not None and tax.string("enabled") == "false"


def _urls(top: ParamReader, ui_mode: UiMode, version: ApiVersion) -> dict[str, str]:
    name = version.ui_mode_name(ui_mode)
    if ui_mode is UiMode.HOSTED:
        top.reject_present(
            {"return_url": f"You can only specify `return_url` when `ui_mode` is "
             f"`{version.ui_mode_name(UiMode.EMBEDDED)}` or "
             f"`{version.ui_mode_name(UiMode.ELEMENTS)}`."}
        )  # fmt: skip
        required = ["success_url"]
    else:
        top.reject_present(
            {url: f"You cannot specify `{url}` when `ui_mode` is `{name}`."
             for url in ("success_url", "cancel_url")}
        )  # fmt: skip
        redirect = top.choice(
            "redirect_on_completion", ("always", "if_required", "never"), default="always"
        )
        required = [] if redirect == "never" else ["return_url"]
    urls: dict[str, str] = {}
    for param in ("success_url", "cancel_url", "return_url"):
        value = top.string(param, required=param in required)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise invalid_request("Not a valid URL", param=param, code="url_invalid")
            urls[param] = value
    return urls


def _line_items(top: ParamReader) -> tuple[list[LineItem], str]:
    readers = top.objects("line_items")
    if not readers:
        raise missing_param("line_items")
    if len(readers) > MAX_LINE_ITEMS:
        raise invalid_request(
            f"A Checkout Session in payment mode can have at most {MAX_LINE_ITEMS} line items.",
            param="line_items",
        )
    items = [_line_item(reader) for reader in readers]
    currency = items[0].currency
    for index, item in enumerate(items):
        if item.currency != currency:
            raise invalid_request(
                "All line items of a Checkout Session must use the same currency.",
                param=f"line_items[{index}][price_data][currency]",
            )
    if sum(item.amount for item in items) > MAX_AMOUNT:
        raise invalid_request(
            f"The Checkout Session's total amount must be no more than {MAX_AMOUNT} "
            f"(minor units of {currency}).",
            param="line_items",
            code="amount_too_large",
        )
    return items, currency


def _line_item(item: ParamReader) -> LineItem:
    item.reject_unknown(_LINE_ITEM_KEYS)
    if (price := item.string("price")) is not None:
        raise no_such("price", price, param=item.path("price"), status=400)
    price_data = item.obj("price_data")
    if price_data is None:
        raise missing_param(item.path("price_data"))
    price_data.reject_unknown(_PRICE_DATA_KEYS)
    if price_data.has("recurring"):
        raise invalid_request(
            "You must be in subscription mode to specify a recurring price.",
            param=price_data.path("recurring"),
        )
    if (product := price_data.string("product")) is not None:
        raise no_such("product", product, param=price_data.path("product"), status=400)
    if price_data.has("unit_amount_decimal"):
        raise unsupported(price_data.path("unit_amount_decimal"), "decimal unit amounts")
    currency = price_data.required_string("currency").lower()
    if not _CURRENCY.match(currency):
        raise invalid_request(f"Invalid currency: {currency}", param=price_data.path("currency"))
    unit_amount = price_data.integer("unit_amount", required=True, minimum=0)
    assert unit_amount is not None  # required
    if unit_amount > MAX_AMOUNT:
        raise invalid_request(
            f"This value must be less than or equal to {MAX_AMOUNT}.",
            param=price_data.path("unit_amount"),
        )
    product_data = price_data.obj("product_data")
    if product_data is None:
        raise missing_param(price_data.path("product_data"))
    product_data.reject_unknown(_PRODUCT_DATA_KEYS)
    quantity = item.integer("quantity", required=True, minimum=1)
    assert quantity is not None  # required
    return LineItem(
        name=product_data.required_string("name"),
        description=product_data.string("description"),
        unit_amount=unit_amount,
        quantity=quantity,
        currency=currency,
    )


def _expires_at(top: ParamReader, now: int) -> int:
    expires_at = top.integer("expires_at")
    if expires_at is None:
        return now + MAX_EXPIRY_SECONDS
    # Measured from creation on the stand-in's clock in whole seconds, with no leeway: a
    # caller that sends exactly now + 30 min can miss by a second, as it can at Stripe.
    if expires_at - now < MIN_EXPIRY_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            param="expires_at",
        )
    if expires_at - now > MAX_EXPIRY_SECONDS:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _metadata(top: ParamReader) -> dict[str, str]:
    metadata = top.string_map("metadata")
    if len(metadata) > 50:
        raise invalid_request("You can specify up to 50 keys in metadata.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 40:
            raise invalid_request(
                "Metadata keys can be at most 40 characters long.", param=f"metadata[{key}]"
            )
        if len(value) > 500:
            raise invalid_request(
                "Metadata values can be at most 500 characters long.", param=f"metadata[{key}]"
            )
    return metadata


def _email(top: ParamReader) -> str | None:
    email = top.string("customer_email")
    if email is not None and not _EMAIL.match(email):
        raise invalid_request(
            f"Invalid email address: {email}", param="customer_email", code="email_invalid"
        )
    return email
