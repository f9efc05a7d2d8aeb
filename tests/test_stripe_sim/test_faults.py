"""Injected faults surface in stripe-python exactly as the real Stripe answers would."""

import asyncio
from typing import Any

import httpx
import pytest
import stripe

from .support import (
    IGNORE_STRIPE_HTTPX_DEPRECATION,
    ClientFactory,
    session_params,
)

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION


async def _fault(control: httpx.AsyncClient, **fault: Any) -> None:
    (await control.post("/_sim/faults", json=fault)).raise_for_status()


async def _sessions(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await control.get("/_sim/checkout/sessions")).json()["data"]
    return data


async def _requests(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await control.get("/_sim/requests")).json()["data"]
    return data


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, stripe.InvalidRequestError),
        (401, stripe.AuthenticationError),
        (403, stripe.PermissionError),
        (409, stripe.APIError),
        (429, stripe.RateLimitError),
        (500, stripe.APIError),
        (502, stripe.APIError),
        (503, stripe.APIError),
    ],
)
async def test_a_status_fault_raises_what_stripe_python_raises_for_it(
    client: stripe.StripeClient,
    control: httpx.AsyncClient,
    status: int,
    error_class: type[stripe.StripeError],
) -> None:
    await _fault(control, count=1, status=status)

    with pytest.raises(error_class) as raised:
        await client.v1.checkout.sessions.create_async(params=session_params())

    assert type(raised.value) is error_class  # not a subclass standing in for it
    assert raised.value.http_status == status
    assert raised.value.request_id is not None
    assert await _sessions(control) == []  # failed before the endpoint ran


async def test_idempotency_conflicts_raise_idempotency_error(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "same"}
    await client.v1.checkout.sessions.create_async(params=session_params(), options=options)

    with pytest.raises(stripe.IdempotencyError):
        await client.v1.checkout.sessions.create_async(
            params=session_params(customer_email="other@example.com"), options=options
        )


@pytest.mark.parametrize("server", ["cli", "threaded-h11"])
async def test_drop_closes_the_connection_without_an_answer(
    make_client: ClientFactory,
    control: httpx.AsyncClient,
    other_sim: Any,
    server: str,
) -> None:
    if server == "cli":
        await _drop_once(make_client(), control)
        return
    with other_sim() as sim:
        async with httpx.AsyncClient(base_url=sim.url) as other_control:
            await _drop_once(make_client(base=sim.url), other_control)


async def _drop_once(client: stripe.StripeClient, control: httpx.AsyncClient) -> None:
    await _fault(control, count=1, drop=True)

    with pytest.raises(stripe.APIConnectionError) as raised:
        await client.v1.checkout.sessions.create_async(params=session_params())

    # httpx saw the server hang up before any status line, not a 5xx.
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert await _sessions(control) == []
    [logged] = await _requests(control)
    assert (logged["status"], logged["fault"]["drop"]) == (None, True)
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    assert session.status == "open"  # the fault was used up; the server is fine


async def test_a_delay_past_the_client_timeout_is_an_unknown_outcome(
    make_client: ClientFactory, control: httpx.AsyncClient
) -> None:
    impatient = make_client(timeout=0.2)
    options: stripe.RequestOptions = {"idempotency_key": "slow"}
    params = session_params()
    await _fault(control, count=1, delay=0.6)

    with pytest.raises(stripe.APIConnectionError) as raised:
        await impatient.v1.checkout.sessions.create_async(params=params, options=options)

    assert isinstance(raised.value.__cause__, httpx.TimeoutException)
    for _ in range(50):  # Stripe went on and created the session meanwhile
        if await _sessions(control):
            break
        await asyncio.sleep(0.05)
    [created] = await _sessions(control)
    retried = await impatient.v1.checkout.sessions.create_async(params=params, options=options)
    assert retried.id == created["id"]


async def test_a_delay_within_the_client_timeout_is_only_slow(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    await _fault(control, count=1, delay=0.2)

    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert session.status == "open"


async def test_after_create_creates_the_session_and_loses_the_answer(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "hold-lost"}
    params = session_params()
    await _fault(control, count=1, afterCreate=True, status=503)

    with pytest.raises(stripe.APIError):
        await client.v1.checkout.sessions.create_async(params=params, options=options)

    [created] = await _sessions(control)
    retried = await client.v1.checkout.sessions.create_async(params=params, options=options)
    assert retried.id == created["id"]
    assert retried.last_response is not None
    assert retried.last_response.headers["idempotent-replayed"] == "true"


async def test_after_create_with_drop_also_creates_the_session(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    await _fault(control, count=1, afterCreate=True, drop=True)

    with pytest.raises(stripe.APIConnectionError):
        await client.v1.checkout.sessions.create_async(params=session_params())

    assert len(await _sessions(control)) == 1


async def test_stripe_pythons_own_retries_converge_on_one_session(
    make_client: ClientFactory, control: httpx.AsyncClient
) -> None:
    # The client generates one idempotency key and reuses it for its retries.
    retrying = make_client(retries=2)
    await _fault(control, count=2, afterCreate=True, status=500)

    session = await retrying.v1.checkout.sessions.create_async(params=session_params())

    [created] = await _sessions(control)
    assert session.id == created["id"]
    statuses = [request["status"] for request in await _requests(control)]
    assert statuses == [500, 500, 200]


async def test_count_and_queue_order_decide_which_requests_fail(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    await _fault(control, count=2, status=503)
    await _fault(control, count=1, status=429)
    outcomes = []

    for _ in range(4):
        try:
            await client.v1.checkout.sessions.create_async(params=session_params())
            outcomes.append("ok")
        except stripe.StripeError as error:
            outcomes.append(type(error).__name__)

    assert outcomes == ["APIError", "APIError", "RateLimitError", "ok"]


async def test_faults_apply_to_every_api_request(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    created = await client.v1.checkout.sessions.create_async(params=session_params())
    await _fault(control, count=1, status=500)

    with pytest.raises(stripe.APIError):
        await client.v1.checkout.sessions.retrieve_async(created.id)


async def test_clearing_faults_restores_normal_answers(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    await _fault(control, count=5, status=500)
    assert len((await control.get("/_sim/faults")).json()["data"]) == 1

    (await control.delete("/_sim/faults")).raise_for_status()

    session = await client.v1.checkout.sessions.create_async(params=session_params())
    assert session.status == "open"


async def test_control_requests_do_not_use_up_faults(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    await _fault(control, count=1, status=500)
    await control.get("/_sim/events")
    await control.get("/_sim/requests")

    with pytest.raises(stripe.APIError):
        await client.v1.checkout.sessions.create_async(params=session_params())


@pytest.mark.parametrize(
    "fault",
    [
        {"count": 0},
        {"count": 1, "status": 418},
        {"count": 1, "delay": -1},
        {"count": 1, "drop": "yes"},
        {"count": 1, "drop": True, "status": 500},
        {"count": 1, "sometimes": True},
    ],
)
async def test_malformed_faults_are_refused(
    control: httpx.AsyncClient, fault: dict[str, Any]
) -> None:
    response = await control.post("/_sim/faults", json=fault)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert (await control.get("/_sim/faults")).json()["data"] == []


async def test_the_request_log_shows_what_a_test_needs(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    params = session_params()
    await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "logged"}
    )

    [logged] = await _requests(control)

    assert (logged["method"], logged["path"]) == ("POST", "/v1/checkout/sessions")
    assert logged["idempotencyKey"] == "logged"
    assert logged["params"]["metadata"] == params["metadata"]
    assert logged["params"]["line_items"][0]["price_data"]["unit_amount"] == "3400"
    assert (logged["status"], logged["fault"], logged["replayed"]) == (200, None, False)
