"""The hosted payment page a person clicks through."""

import json
from urllib.parse import urlsplit

import httpx
import pytest
import stripe

from tests.stripe_sim.pay_page import format_amount

from .support import IGNORE_STRIPE_HTTPX_DEPRECATION, WebhookReceiver, session_params

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION


async def _hosted(client: stripe.StripeClient, **params: object) -> stripe.checkout.Session:
    return await client.v1.checkout.sessions.create_async(params=session_params(**params))


def _path(url: str | None) -> str:
    assert url is not None
    return urlsplit(url).path


async def test_the_page_shows_line_items_total_and_both_buttons(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    session = await _hosted(client)

    page = await control.get(_path(session.url))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Headband", "Qty 2 x 34.00 USD", "68.00 USD", "Deposit", "refundable"):
        assert text in page.text
    assert "83.00 USD" in page.text  # the total
    assert f'action="/pay/{session.id}/complete"' in page.text
    assert f'action="/pay/{session.id}/cancel"' in page.text


async def test_product_names_are_escaped(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    line = {
        "quantity": 1,
        "price_data": {
            "currency": "usd",
            "unit_amount": 100,
            "product_data": {"name": "<script>alert(1)</script>"},
        },
    }
    session = await _hosted(client, line_items=[line])

    page = await control.get(_path(session.url))

    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_pay_completes_the_session_and_redirects_to_success_url(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _hosted(client)

    response = await control.post(f"/pay/{session.id}/complete")

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"https://shop.example/thank-you?session_id={session.id}"
    )
    [delivery] = receiver.deliveries
    assert json.loads(delivery.body)["type"] == "checkout.session.completed"
    paid = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")


async def test_cancel_redirects_to_cancel_url_and_leaves_the_session_open(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _hosted(client)

    response = await control.post(f"/pay/{session.id}/cancel")

    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.example/cart"
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "open"
    assert receiver.deliveries == []


async def test_a_finished_session_cannot_be_paid_again(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    session = await _hosted(client)
    await client.v1.checkout.sessions.expire_async(session.id)

    page = await control.get(f"/pay/{session.id}")
    again = await control.post(f"/pay/{session.id}/complete")

    assert "has expired" in page.text
    assert "/complete" not in page.text
    assert again.status_code == 409


async def test_sessions_without_a_hosted_page_have_none(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    session = await _hosted(
        client,
        ui_mode="elements",
        success_url=None,
        cancel_url=None,
        return_url="https://shop.example/return",
    )

    assert (await control.get(f"/pay/{session.id}")).status_code == 404
    assert (await control.get("/pay/cs_test_unknown")).status_code == 404


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [(3400, "usd", "34.00 USD"), (123456, "eur", "1,234.56 EUR"), (500, "jpy", "500 JPY"),
     (1234, "kwd", "1.234 KWD"), (0, "usd", "0.00 USD")],
)  # fmt: skip
def test_amounts_are_shown_in_the_currencys_major_unit(
    amount: int, currency: str, shown: str
) -> None:
    assert format_amount(amount, currency) == shown
