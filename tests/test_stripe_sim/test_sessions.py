"""Create, retrieve and expire Checkout Sessions with the real stripe client."""

import re
import time
from typing import Any

import httpx
import pytest
import stripe

from .support import IGNORE_STRIPE_HTTPX_DEPRECATION, ClientFactory, session_params

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION


async def test_create_answers_a_stripe_shaped_hosted_session(
    client: stripe.StripeClient, control: httpx.AsyncClient, sim_url: str
) -> None:
    params = session_params()

    session = await client.v1.checkout.sessions.create_async(params=params)

    assert re.fullmatch(r"cs_test_[A-Za-z0-9]+", session.id)
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (8300, 8300, "usd")
    assert session.metadata is not None
    assert session.metadata.to_dict() == params["metadata"]
    assert session.customer_email == "buyer@example.com"
    assert session.expires_at == params["expires_at"]
    assert abs(session.created - time.time()) < 5
    assert session.ui_mode == "hosted_page"  # stripe 16.1 pins 2026-10-28.endive
    assert session.url == f"{sim_url}/pay/{session.id}"
    assert session.client_secret is None
    assert session.success_url == params["success_url"]
    assert session.return_url is None
    assert session.livemode is False


async def test_retrieve_answers_the_created_session(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())

    fetched = await client.v1.checkout.sessions.retrieve_async(created.id)

    assert fetched.to_dict() == created.to_dict()


async def test_retrieve_can_expand_line_items(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())

    fetched = await client.v1.checkout.sessions.retrieve_async(
        created.id, params={"expand": ["line_items"]}
    )

    lines = fetched.line_items
    assert lines is not None
    assert [(item.description, item.quantity, item.amount_total) for item in lines.data] == [
        ("Headband", 2, 6800),
        ("Deposit", 1, 1500),
    ]


async def test_other_expansions_are_refused(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.retrieve_async(
            created.id, params={"expand": ["payment_intent"]}
        )
    assert raised.value.param == "expand"


async def test_unknown_session_is_stripes_404(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.retrieve_async("cs_test_nothing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert "No such checkout.session: 'cs_test_nothing'" in str(raised.value)


@pytest.mark.parametrize(
    ("version", "mode_name"),
    [
        ("2025-03-31.basil", "custom"),
        ("2026-02-25.clover", "custom"),
        ("2026-03-25.dahlia", "elements"),
        ("2026-10-28.endive", "elements"),
    ],
)
async def test_embedded_components_mode_uses_the_name_of_the_pinned_version(
    make_client: ClientFactory, control: httpx.AsyncClient, version: str, mode_name: str
) -> None:
    client = make_client(stripe_version=version)
    params = session_params(
        ui_mode=mode_name,
        success_url=None,
        cancel_url=None,
        return_url="https://shop.example/return?session_id={CHECKOUT_SESSION_ID}",
    )

    session = await client.v1.checkout.sessions.create_async(params=params)

    assert session.ui_mode == mode_name
    assert session.url is None
    assert session.client_secret is not None
    assert re.fullmatch(rf"{session.id}_secret_[A-Za-z0-9]+", session.client_secret)
    assert session.return_url == params["return_url"]
    assert session.last_response is not None
    assert session.last_response.headers["stripe-version"] == version


@pytest.mark.parametrize(
    ("version", "mode_name"),
    [
        ("2025-03-31.basil", "elements"),
        ("2025-03-31.basil", "hosted_page"),
        ("2026-03-25.dahlia", "custom"),
        ("2026-03-25.dahlia", "hosted"),
        ("2026-10-28.endive", "embedded"),
        ("2026-10-28.endive", "modal"),
    ],
)
async def test_a_ui_mode_name_of_another_version_is_refused(
    make_client: ClientFactory, control: httpx.AsyncClient, version: str, mode_name: str
) -> None:
    client = make_client(stripe_version=version)
    params = session_params(ui_mode=mode_name)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.create_async(params=params)

    assert raised.value.http_status == 400
    assert raised.value.param == "ui_mode"
    assert raised.value.json_body["error"]["type"] == "invalid_request_error"


async def test_old_versions_default_to_hosted_by_its_old_name(
    make_client: ClientFactory, control: httpx.AsyncClient
) -> None:
    client = make_client(stripe_version="2025-03-31.basil")

    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert session.ui_mode == "hosted"
    fetched = await make_client().v1.checkout.sessions.retrieve_async(session.id)
    assert fetched.ui_mode == "hosted_page"  # the same session, read under a newer version


def _line(**changes: Any) -> list[dict[str, Any]]:
    line: dict[str, Any] = {
        "quantity": 1,
        "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Hat"}},
    }
    for key, value in changes.items():
        if key in ("quantity", "price"):
            line[key] = value
        elif key in ("currency", "unit_amount", "product"):
            line["price_data"][key] = value
        else:
            line["price_data"]["product_data"][key] = value
    return [{k: v for k, v in line.items() if v is not None}]


_IN_TEN_MINUTES = int(time.time()) + 600
_IN_25_HOURS = int(time.time()) + 25 * 3600


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"mode": None}, "mode", "parameter_missing"),
        ({"mode": "subscription"}, "mode", None),
        ({"mode": "barter"}, "mode", None),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"line_items": _line(quantity=0)}, "line_items[0][quantity]", None),
        ({"line_items": _line(quantity=None)}, "line_items[0][quantity]", "parameter_missing"),
        (
            {"line_items": _line(unit_amount=-1)},
            "line_items[0][price_data][unit_amount]",
            None,
        ),
        (
            {"line_items": _line(unit_amount="12.5")},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": _line(currency=None)},
            "line_items[0][price_data][currency]",
            "parameter_missing",
        ),
        (
            {"line_items": _line(name="")},
            "line_items[0][price_data][product_data][name]",
            "parameter_missing",
        ),
        ({"line_items": _line(price="price_123")}, "line_items[0][price]", "resource_missing"),
        ({"expires_at": _IN_TEN_MINUTES}, "expires_at", None),
        ({"expires_at": _IN_25_HOURS}, "expires_at", None),
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"success_url": "not a url"}, "success_url", "url_invalid"),
        ({"return_url": "https://shop.example/r"}, "return_url", None),
        ({"customer_email": "nobody"}, "customer_email", "email_invalid"),
        ({"discounts": [{"coupon": "X"}]}, "discounts", None),
        ({"succes_url": "https://shop.example/"}, "succes_url", "parameter_unknown"),
    ],
)
async def test_invalid_params_get_stripes_400_naming_the_param(
    client: stripe.StripeClient,
    control: httpx.AsyncClient,
    changes: dict[str, Any],
    param: str,
    code: str | None,
) -> None:
    params = session_params(**changes)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.create_async(params=params)

    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code
    sessions = (await control.get("/_sim/checkout/sessions")).json()["data"]
    assert sessions == []


async def test_zero_total_needs_no_payment(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    params = session_params(line_items=_line(unit_amount=0))

    session = await client.v1.checkout.sessions.create_async(params=params)

    assert (session.amount_total, session.payment_status) == (0, "no_payment_required")


async def test_expire_moves_an_open_session_to_expired_once(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())

    expired = await client.v1.checkout.sessions.expire_async(created.id)
    again = await client.v1.checkout.sessions.expire_async(created.id)

    assert expired.status == "expired"
    assert expired.url is None  # no page to pay on any more
    assert again.to_dict() == expired.to_dict()


async def test_expiring_a_complete_session_is_refused(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())
    (await control.post(f"/_sim/checkout/sessions/{created.id}/pay")).raise_for_status()

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.expire_async(created.id)

    assert raised.value.http_status == 400
    fetched = await client.v1.checkout.sessions.retrieve_async(created.id)
    assert (fetched.status, fetched.payment_status) == ("complete", "paid")


@pytest.mark.parametrize("api_key", ["pk_test_publishable", "sk_live_realkey123", "sk_test_"])
async def test_a_key_that_is_no_test_secret_key_is_refused(
    make_client: ClientFactory, control: httpx.AsyncClient, api_key: str
) -> None:
    client = make_client(api_key=api_key)

    with pytest.raises(stripe.AuthenticationError) as raised:
        await client.v1.checkout.sessions.create_async(params=session_params())

    assert raised.value.http_status == 401
    assert raised.value.json_body["error"]["message"].startswith("Invalid API Key provided: ")
    assert api_key not in raised.value.json_body["error"]["message"]  # masked, as Stripe does


async def test_a_request_without_key_gets_stripes_401(control: httpx.AsyncClient) -> None:
    response = await control.post("/v1/checkout/sessions", data={"mode": "payment"})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert response.headers["www-authenticate"] == 'Basic realm="Stripe"'


async def test_basic_auth_with_the_key_as_user_is_accepted(control: httpx.AsyncClient) -> None:
    response = await control.get(
        "/v1/checkout/sessions/cs_test_missing", auth=("sk_test_stand_in", "")
    )

    assert response.status_code == 404  # authenticated, then not found


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/checkout/sessions", 400),
        ("GET", "/v1/checkout/sessions/cs_test_missing", 404),
        ("GET", "/v1/customers", 404),
        ("DELETE", "/v1/checkout/sessions", 404),
    ],
)
async def test_every_api_answer_carries_a_request_id(
    control: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await control.request(
        method, path, headers={"Authorization": "Bearer sk_test_stand_in"}
    )

    assert response.status_code == status
    assert re.fullmatch(r"req_[A-Za-z0-9]+", response.headers["request-id"])
    assert set(response.json()["error"]) >= {"type", "message"}


async def test_an_invalid_stripe_version_is_refused(control: httpx.AsyncClient) -> None:
    response = await control.get(
        "/v1/checkout/sessions/cs_test_missing",
        headers={"Authorization": "Bearer sk_test_x", "Stripe-Version": "yesterday"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid Stripe API version: yesterday"
