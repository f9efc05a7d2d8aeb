"""Events are delivered signed as Stripe signs them, retried, and visible in /_sim/events."""

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
import stripe

from .support import (
    FRONT_DOOR_HEADER,
    IGNORE_STRIPE_HTTPX_DEPRECATION,
    WEBHOOK_SECRET,
    Delivery,
    WebhookReceiver,
    free_port,
    session_params,
)

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION


def _verified(delivery: Delivery) -> stripe.Event:
    """What the origin will do with a delivery: verify it with stripe-python."""
    return stripe.Webhook.construct_event(
        delivery.body.decode(), delivery.headers["stripe-signature"], WEBHOOK_SECRET
    )


async def _create(client: stripe.StripeClient, **params: Any) -> stripe.checkout.Session:
    return await client.v1.checkout.sessions.create_async(params=session_params(**params))


async def _events(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await control.get("/_sim/events")).json()["data"]
    return data


async def test_paying_delivers_a_signed_completed_event(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)

    answer = (await control.post(f"/_sim/checkout/sessions/{session.id}/pay")).json()

    assert answer["webhookStatus"] == 200
    [delivery] = receiver.deliveries
    event = _verified(delivery)
    assert event.id == answer["event"]["id"]
    assert event.type == "checkout.session.completed"
    assert delivery.headers[FRONT_DOOR_HEADER[0]] == FRONT_DOOR_HEADER[1]
    assert delivery.headers["content-type"].startswith("application/json")
    paid = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert json.loads(delivery.body)["data"]["object"] == paid.to_dict()
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.payment_intent is not None


async def test_the_signature_is_bound_to_the_secret_and_the_body(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)
    await control.post(f"/_sim/checkout/sessions/{session.id}/pay")
    [delivery] = receiver.deliveries
    header = delivery.headers["stripe-signature"]

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body.decode(), header, "whsec_other")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body.decode() + " ", header, WEBHOOK_SECRET)


async def test_events_have_unique_ids_and_stripes_envelope(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    first, second = await _create(client), await _create(client)
    await control.post(f"/_sim/checkout/sessions/{first.id}/pay")
    await control.post(f"/_sim/checkout/sessions/{second.id}/expire")

    events = [json.loads(d.body) for d in receiver.deliveries]

    assert len({event["id"] for event in events}) == 2
    assert [event["type"] for event in events] == [
        "checkout.session.completed",
        "checkout.session.expired",
    ]
    for event in events:
        assert event["object"] == "event"
        assert isinstance(event["created"], int)
        assert event["livemode"] is False
        assert event["api_version"] == stripe.api_version


async def test_an_async_payment_completes_unpaid_then_settles(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    paid_later, fails = await _create(client), await _create(client)

    for session in (paid_later, fails):
        await control.post(f"/_sim/checkout/sessions/{session.id}/pay", json={"async": True})
    await control.post(f"/_sim/checkout/sessions/{paid_later.id}/async", json={"succeed": True})
    await control.post(f"/_sim/checkout/sessions/{fails.id}/async", json={"succeed": False})

    events = [_verified(d) for d in receiver.deliveries]
    assert [(e.type, e.data.object.payment_status) for e in events] == [
        ("checkout.session.completed", "unpaid"),
        ("checkout.session.completed", "unpaid"),
        ("checkout.session.async_payment_succeeded", "paid"),
        ("checkout.session.async_payment_failed", "unpaid"),
    ]


async def test_settling_a_session_without_pending_payment_is_refused(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    session = await _create(client)
    await control.post(f"/_sim/checkout/sessions/{session.id}/pay")

    response = await control.post(
        f"/_sim/checkout/sessions/{session.id}/async", json={"succeed": True}
    )

    assert response.status_code == 400


async def test_paying_an_expired_session_is_refused(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)
    await client.v1.checkout.sessions.expire_async(session.id)

    response = await control.post(f"/_sim/checkout/sessions/{session.id}/pay")

    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]


async def test_expiring_through_the_api_delivers_the_event_afterwards(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)

    expired = await client.v1.checkout.sessions.expire_async(
        session.id, options={"idempotency_key": "reap-1"}
    )

    [delivery] = await receiver.wait_for(1)
    event = _verified(delivery)
    assert event.type == "checkout.session.expired"
    assert expired.last_response is not None
    assert event.request.id == expired.last_response.request_id
    assert event.request.idempotency_key == "reap-1"


async def test_resend_delivers_the_same_event_freshly_signed(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)
    event_id = (await control.post(f"/_sim/checkout/sessions/{session.id}/pay")).json()["event"][
        "id"
    ]

    answer = (await control.post(f"/_sim/events/{event_id}/resend")).json()

    assert answer["webhookStatus"] == 200
    first, again = receiver.deliveries
    assert first.body == again.body
    assert _verified(again).id == event_id
    [listed] = await _events(control)
    assert [attempt["status"] for attempt in listed["deliveries"]] == [200, 200]


async def test_a_failing_endpoint_is_retried_until_it_answers(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)
    receiver.fail_next(2, status=503)

    answer = (await control.post(f"/_sim/checkout/sessions/{session.id}/pay")).json()

    assert answer["webhookStatus"] == 503
    deliveries = await receiver.wait_for(3)
    assert [d.status for d in deliveries] == [503, 503, 200]
    assert len({_verified(d).id for d in deliveries}) == 1
    [listed] = await _events(control)
    assert listed["delivered"] is True
    assert [attempt["attempt"] for attempt in listed["deliveries"]] == [1, 2, 3]
    assert [attempt["status"] for attempt in listed["deliveries"]] == [503, 503, 200]


async def test_retries_stop_after_the_configured_number(
    client: stripe.StripeClient, control: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    session = await _create(client)
    receiver.fail_next(10, status=500)

    await control.post(f"/_sim/checkout/sessions/{session.id}/pay")

    await receiver.wait_for(3)  # the first attempt and two retries (--webhook-retries 2)
    await asyncio.sleep(0.4)  # twice the backoff a third retry would wait
    [listed] = await _events(control)
    assert listed["delivered"] is False
    assert len(receiver.deliveries) == 3


async def test_an_unreachable_endpoint_is_retried_and_recorded(
    make_client: Any, other_sim: Any
) -> None:
    with other_sim(webhook_url=f"http://127.0.0.1:{free_port()}/hook") as sim:
        client = make_client(base=sim.url)
        session = await client.v1.checkout.sessions.create_async(params=session_params())
        async with httpx.AsyncClient(base_url=sim.url) as control:
            answer = (await control.post(f"/_sim/checkout/sessions/{session.id}/pay")).json()

            assert answer["webhookStatus"] is None

            async def attempts() -> list[dict[str, Any]]:
                [listed] = (await control.get("/_sim/events")).json()["data"]
                return list(listed["deliveries"])

            for _ in range(100):
                if len(await attempts()) == 3:
                    break
                await asyncio.sleep(0.02)
            recorded = await attempts()
            assert [a["status"] for a in recorded] == [None, None, None]
            assert all("ConnectError" in a["error"] for a in recorded)
