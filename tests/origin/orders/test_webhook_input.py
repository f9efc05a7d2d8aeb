"""Signed webhook bodies that are not usable Stripe events are a 400, never a 500; signatures
dated more than 300 s in the future are refused like stale ones."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import OriginClient
from tests.origin.orders.test_webhooks import WEBHOOK, sign


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
