"""Idempotent requests behave as Stripe documents them."""

import asyncio

import httpx
import pytest
import stripe

from tests.stripe_sim.errors import StripeError
from tests.stripe_sim.idempotency import IdempotencyStore, Outcome

from .support import IGNORE_STRIPE_HTTPX_DEPRECATION, ClientFactory, session_params

pytestmark = IGNORE_STRIPE_HTTPX_DEPRECATION


async def _sessions(control: httpx.AsyncClient) -> list[dict[str, object]]:
    data: list[dict[str, object]] = (await control.get("/_sim/checkout/sessions")).json()["data"]
    return data


async def test_same_key_and_params_replay_the_first_answer(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    params = session_params()
    options: stripe.RequestOptions = {"idempotency_key": "hold-1"}

    first = await client.v1.checkout.sessions.create_async(params=params, options=options)
    second = await client.v1.checkout.sessions.create_async(params=params, options=options)

    assert second.to_dict() == first.to_dict()
    assert first.last_response is not None
    assert second.last_response is not None
    assert second.last_response.headers["idempotent-replayed"] == "true"
    assert second.last_response.headers["original-request"] == first.last_response.request_id
    assert "idempotent-replayed" not in first.last_response.headers
    assert len(await _sessions(control)) == 1


async def test_same_key_with_other_params_is_an_idempotency_error(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "hold-2"}
    await client.v1.checkout.sessions.create_async(params=session_params(), options=options)

    with pytest.raises(stripe.IdempotencyError) as raised:
        await client.v1.checkout.sessions.create_async(
            params=session_params(metadata={"shop_id": "other"}), options=options
        )

    assert raised.value.http_status == 400
    assert raised.value.json_body["error"]["type"] == "idempotency_error"
    assert len(await _sessions(control)) == 1


async def test_same_key_on_another_endpoint_is_an_idempotency_error(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "hold-3"}
    created = await client.v1.checkout.sessions.create_async(
        params=session_params(), options=options
    )

    with pytest.raises(stripe.IdempotencyError):
        await client.v1.checkout.sessions.expire_async(created.id, options=options)


async def test_a_request_that_failed_validation_is_not_saved(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "hold-4"}
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params=session_params(mode=None), options=options
        )

    session = await client.v1.checkout.sessions.create_async(
        params=session_params(), options=options
    )

    assert session.status == "open"
    assert session.last_response is not None
    assert "idempotent-replayed" not in session.last_response.headers


async def test_concurrent_creates_with_one_key_yield_one_session(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    params = session_params()
    options: stripe.RequestOptions = {"idempotency_key": "hold-5"}

    sessions = await asyncio.gather(
        *(
            client.v1.checkout.sessions.create_async(params=params, options=options)
            for _ in range(20)
        )
    )

    assert len({session.id for session in sessions}) == 1
    assert len(await _sessions(control)) == 1


async def test_keys_are_scoped_per_api_key(
    make_client: ClientFactory, control: httpx.AsyncClient
) -> None:
    params = session_params()
    options: stripe.RequestOptions = {"idempotency_key": "hold-6"}

    mine = await make_client(api_key="sk_test_mine").v1.checkout.sessions.create_async(
        params=params, options=options
    )
    theirs = await make_client(api_key="sk_test_theirs").v1.checkout.sessions.create_async(
        params=params, options=options
    )

    assert mine.id != theirs.id


async def test_overlong_keys_are_refused(
    client: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params=session_params(), options={"idempotency_key": "k" * 256}
        )


async def test_saved_answers_are_forgotten_after_24_hours() -> None:
    now = [1_000_000.0]
    store = IdempotencyStore(24 * 3600, clock=lambda: now[0])
    runs = []

    async def action() -> Outcome:
        runs.append(now[0])
        return Outcome(200, b"{}", f"req_{len(runs)}")

    async def run() -> bool:
        _, replayed = await store.run(
            api_key="sk_test_x", key="k", endpoint="POST /v1/x", params={}, action=action
        )
        return replayed

    first = await run()
    now[0] += 24 * 3600 - 1
    within_a_day = await run()
    now[0] += 1
    after_a_day = await run()

    assert (first, within_a_day, after_a_day, len(runs)) == (False, True, False, 2)


async def test_an_action_that_raises_saves_nothing() -> None:
    store = IdempotencyStore(3600)

    async def failing() -> Outcome:
        raise StripeError(400, "bad")

    async def working() -> Outcome:
        return Outcome(200, b"{}", "req_1")

    with pytest.raises(StripeError):
        await store.run(api_key="a", key="k", endpoint="e", params={}, action=failing)
    _, replayed = await store.run(api_key="a", key="k", endpoint="e", params={}, action=working)

    assert replayed is False
