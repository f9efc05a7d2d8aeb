"""What a webhook request must be before it is handled (docs/api.md §3.4 step 1,
:mod:`origin.orders.webhook_input`): signed over its raw bytes by one of the (rotating)
secrets, within 300 s of now in either direction — else 400 ``INVALID_SIGNATURE`` and nothing
changes; and a usable Stripe event — else 400 ``INVALID_REQUEST``, never a 500."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.conftest import WEBHOOK_SECRET, OriginClient
from tests.origin.orders.webhook_support import (
    WEBHOOK,
    Sessions,
    Shopper,
    cart_with,
    encode,
    hold_row,
    orders_of,
    processed,
    sign,
)
from tests.origin.support import HEADBAND_M


def event(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt_screen_1",
        "type": "checkout.session.expired",
        "data": {
            "object": {
                "id": "cs_screen_1",
                "object": "checkout.session",
                "metadata": {"shop_id": "testshop"},
            }
        },
    }
    body.update(changes)
    return body


async def deliver(origin: OriginClient, raw: bytes, timestamp: int | None = None) -> Any:
    headers = {"stripe-signature": sign(raw, timestamp=timestamp)}
    return await origin.request("POST", WEBHOOK, shop=None, content=raw, headers=headers)


# -- signature ----------------------------------------------------------------------------


async def test_paid_event_with_a_valid_signature_is_received(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    response = await shopper.deliver(event)

    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert len(await orders_of(sessions)) == 1


async def test_wrong_secret_or_stale_signature_is_400_invalid_signature_and_changes_nothing(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    now = int(time.time())

    for case, secret, timestamp in (
        ("wrong secret", "whsec_someone_else", now),
        ("stale: 301 s old", WEBHOOK_SECRET, now - 301),
        ("an hour old", WEBHOOK_SECRET, now - 3600),
    ):
        response = await shopper.deliver(event, secret=secret, timestamp=timestamp)
        assert response.status_code == 400, case
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE", case

    assert await orders_of(sessions) == []
    assert await processed(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"


async def test_signature_within_the_300_second_tolerance_is_accepted(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event, timestamp=int(time.time()) - 280)

    assert len(await orders_of(sessions)) == 1


async def test_missing_or_malformed_signature_header_is_400(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    payload = encode(await shopper.pay(checkout["sessionId"]))

    for signature in (None, "", "t=1700000000", "v1=abc", "garbage", "t=x,v1=abc", "t=,v1="):
        headers = {} if signature is None else {"stripe-signature": signature}
        response = await shopper.origin.request(
            "POST", WEBHOOK, shop=None, headers=headers, content=payload
        )
        assert response.status_code == 400, signature
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE", signature

    assert await orders_of(sessions) == []


async def test_tampered_body_is_400_even_with_a_signature_of_the_original(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    original = encode(event)
    tampered = original.replace(b'"amount_total": 6800', b'"amount_total": 1')
    assert tampered != original

    response = await shopper.deliver(original, body=tampered)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert await orders_of(sessions) == []


async def test_body_reformatted_after_signing_is_rejected(
    shopper: Shopper, sessions: Sessions
) -> None:
    """The signature covers the raw bytes: the same JSON re-serialised no longer matches."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    response = await shopper.deliver(
        encode(event), body=json.dumps(event, separators=(",", ":")).encode()
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_body_that_is_not_utf8_is_rejected_as_an_invalid_signature(
    shopper: Shopper, sessions: Sessions
) -> None:
    """U+FFFD signed, 0xFF sent: a lenient decode would make both the same text."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    event["data"]["object"]["metadata"]["note"] = "\ufffd"
    signed = json.dumps(event, indent=2, ensure_ascii=False).encode("utf-8")
    sent = signed.replace("\ufffd".encode(), b"\xff")

    response = await shopper.deliver(signed, body=sent)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_any_of_the_rotated_secrets_verifies(
    origin_factory: Any,
    stripe_sim: Any,
    seeded: Any,
    sim: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url,
        stripe_webhook_secret="whsec_old_secret, whsec_new_secret",
    )
    rotating = Shopper(origin, sim)
    for signed_with in ("whsec_old_secret", "whsec_new_secret"):
        checkout = await rotating.checkout(cartId=await cart_with(origin, HEADBAND_M))
        event = await rotating.pay(checkout["sessionId"])

        assert (await rotating.deliver(event, secret=WEBHOOK_SECRET)).status_code == 400
        await rotating.delivered(event, secret=signed_with)

        assert len(await orders_of(sessions, checkout["sessionId"])) == 1, signed_with


async def test_header_with_several_v1_signatures_passes_when_any_matches(
    shopper: Shopper, sessions: Sessions
) -> None:
    """Stripe signs with every active secret during a rotation on its side."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    payload = encode(event)
    now = int(time.time())
    other = sign(payload, "whsec_rolled_secret", now).split(",")[1]
    header = f"{sign(payload, WEBHOOK_SECRET, now)},{other}"

    await shopper.delivered(payload, signature=header)

    assert len(await orders_of(sessions)) == 1


@pytest.mark.parametrize("offset", [301, 3600])
async def test_signature_dated_in_the_future_is_refused(
    origin: OriginClient, seeded: Any, offset: int
) -> None:
    response = await deliver(origin, json.dumps(event()).encode(), int(time.time()) + offset)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"


async def test_signature_slightly_ahead_of_our_clock_is_accepted(
    origin: OriginClient, seeded: Any
) -> None:
    response = await deliver(origin, json.dumps(event()).encode(), int(time.time()) + 200)
    assert response.status_code == 200, response.text


# -- a usable event -----------------------------------------------------------------------


BAD_EVENTS: dict[str, bytes] = {
    "20k-deep-json": b'{"id": "evt_deep", "type": "x", "data": '
    + b"[" * 20_000
    + b"]" * 20_000
    + b"}",
    "nul-in-event-id": json.dumps(event(id="evt_\x00")).encode(),
    "event-id-over-255": json.dumps(event(id="evt_" + "a" * 252)).encode(),
    "control-in-type": json.dumps(event(type="checkout.session.expired\x01")).encode(),
    "nul-in-object-id": json.dumps(
        event(data={"object": {"id": "cs_\x00", "metadata": {}}})
    ).encode(),
    "surrogate-in-metadata": json.dumps(
        event(data={"object": {"id": "cs_1", "metadata": {"shop_id": "\ud800"}}})
    ).encode(),
    "nul-in-nested-text": json.dumps(
        event(data={"object": {"id": "cs_1", "customer_details": {"name": "a\x00"}}})
    ).encode(),
}


@pytest.mark.parametrize("raw", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
async def test_signed_body_that_is_no_usable_event_is_400(
    origin: OriginClient, seeded: Any, raw: bytes
) -> None:
    response = await deliver(origin, raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


async def test_event_id_of_255_characters_is_accepted(origin: OriginClient, seeded: Any) -> None:
    response = await deliver(origin, json.dumps(event(id="e" * 255)).encode())
    assert response.status_code == 200, response.text


async def test_newlines_in_free_text_are_accepted(origin: OriginClient, seeded: Any) -> None:
    session = {"id": "cs_2", "metadata": {"shop_id": "testshop"}, "customer_details": {"a": "1\n2"}}
    body = event(data={"object": session})
    response = await deliver(origin, json.dumps(body).encode())
    assert response.status_code == 200, response.text


async def test_signed_body_that_is_not_a_stripe_event_is_400_invalid_request(
    shopper: Shopper,
) -> None:
    for body in (b'{"hello": "world"}', b"[1, 2]", b"not json", b'{"id": "evt_1"}'):
        response = await shopper.deliver(body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "INVALID_REQUEST", body
