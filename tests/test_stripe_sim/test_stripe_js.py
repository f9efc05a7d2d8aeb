"""The Stripe.js stand-in: the script, and the two calls it makes for a custom-mode session."""

import json

import httpx
import pytest
import stripe

from .support import IGNORE_STRIPE_HTTPX_DEPRECATION, WebhookReceiver, session_params

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION
RETURN_URL = "https://shop.example/thank-you/?session_id={CHECKOUT_SESSION_ID}"


async def _custom(client: stripe.StripeClient) -> stripe.checkout.Session:
    params = session_params(
        ui_mode="elements", success_url=None, cancel_url=None, return_url=RETURN_URL
    )
    return await client.v1.checkout.sessions.create_async(params=params)


async def test_the_script_defines_stripe_with_the_checkout_elements_calls(
    control: httpx.AsyncClient,
) -> None:
    script = await control.get("/js/stripe.js")

    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for name in ("window.Stripe", "initCheckoutElementsSdk", "createPaymentElement",
                 "loadActions", "confirm"):  # fmt: skip
        assert name in script.text


async def test_the_form_reads_the_session_across_origins(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    session = await _custom(client)
    assert session.client_secret is not None

    shown = await control.get(f"/js/checkout/{session.client_secret}")

    assert shown.status_code == 200
    assert shown.headers["access-control-allow-origin"] == "*"
    body = shown.json()
    assert (body["id"], body["status"], body["currency"]) == (session.id, "open", "usd")
    assert body["amountTotal"] == session.amount_total
    assert body["lineItems"][0]["name"] == "Headband"


async def test_confirm_pays_delivers_the_webhook_and_names_the_return_url(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _custom(client)

    confirmed = await control.post(f"/js/checkout/{session.client_secret}/confirm")

    assert confirmed.status_code == 200
    assert confirmed.headers["access-control-allow-origin"] == "*"
    assert confirmed.json() == {
        "returnUrl": RETURN_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    }
    (delivery,) = await receiver.wait_for(1)
    event = json.loads(delivery.body)
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["payment_status"] == "paid"
    again = await control.post(f"/js/checkout/{session.client_secret}/confirm")
    assert again.status_code == 400
    assert "complete" in again.json()["error"]["message"]


@pytest.mark.parametrize("secret_of", ["hosted", "wrong"])
async def test_a_secret_that_names_no_custom_session_is_a_404(
    client: stripe.StripeClient, control: httpx.AsyncClient, secret_of: str
) -> None:
    if secret_of == "hosted":
        hosted = await client.v1.checkout.sessions.create_async(params=session_params())
        secret = f"{hosted.id}_secret_guess"
    else:
        custom = await _custom(client)
        secret = f"{custom.id}_secret_guess"

    for answer in (
        await control.get(f"/js/checkout/{secret}"),
        await control.post(f"/js/checkout/{secret}/confirm"),
    ):
        assert answer.status_code == 404
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.json()["error"]["code"] == "resource_missing"
