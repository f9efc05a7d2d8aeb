"""The origin's Stripe HTTP client (origin/payments/http.py) against real servers.

Scripted asyncio servers on 127.0.0.1 (plain and TLS with a throw-away CA) for framing,
keep-alive, timeouts, caps and failures; the real Stripe stand-in with ``stripe.StripeClient``
for the calls the origin makes and for stripe-python's own retry over this client.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from origin.payments.http import StripeHTTPClient
from origin.payments.stripe_client import STRIPE_API_VERSION, CheckoutSession
from tests.conftest import StripeSim
from tests.support.processes import free_port
from tests.support.tls import make_certificates

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEADERS = {"Authorization": "Bearer sk_test_x", "Stripe-Version": STRIPE_API_VERSION}


def response(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body), b"Request-Id: req_1", *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@dataclass
class Server:
    url: str
    accepted: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed_by_client: int = 0


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """A server running ``handler`` per connection, counting connections and requests."""
    state = Server(url="")

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.accepted += 1
        state.open_now += 1
        state.most_open = max(state.most_open, state.open_now)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            state.open_now -= 1
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    state.url = f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request (head and Content-Length body); ``b""`` when the client has closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


def answering(state_holder: list[Server], *answers: bytes, then_close: bool = False) -> Handler:
    """Answer successive requests on one connection with ``answers`` (the last repeats)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = 0
        while request := await read_request(reader):
            state_holder[0].requests.append(request)
            writer.write(answers[min(index, len(answers) - 1)])
            await writer.drain()
            index += 1
            if then_close:
                return
        state_holder[0].closed_by_client += 1

    return handler


@asynccontextmanager
async def server_answering(*answers: bytes, then_close: bool = False) -> AsyncIterator[Server]:
    holder: list[Server] = []
    async with serving(answering(holder, *answers, then_close=then_close)) as state:
        holder.append(state)
        yield state


@asynccontextmanager
async def client(**options: Any) -> AsyncIterator[StripeHTTPClient]:
    http = StripeHTTPClient(timeout=options.pop("timeout", 5.0), **options)
    try:
        yield http
    finally:
        await http.close_async()


async def get(http: StripeHTTPClient, url: str) -> tuple[bytes, int, Any]:
    return await http.request_async("get", url + "/v1/checkout/sessions/cs_1", HEADERS)


# -- requests as written, keep-alive ----------------------------------------------------------


async def test_a_post_is_written_as_http_1_1_with_host_and_length() -> None:
    async with server_answering(response(b"{}")) as server, client() as http:
        await http.request_async(
            "post", server.url + "/v1/checkout/sessions?a=1", HEADERS, "mode=payment"
        )
    head, body = server.requests[0].split(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/checkout/sessions?a=1 HTTP/1.1"
    port = server.url.rsplit(":", 1)[1]
    assert set(lines[1:]) == {
        b"Host: 127.0.0.1:" + port.encode(),
        b"Authorization: Bearer sk_test_x",
        b"Stripe-Version: " + STRIPE_API_VERSION.encode(),
        b"Content-Length: 12",
    }
    assert body == b"mode=payment"


async def test_a_get_has_no_body_and_no_length() -> None:
    async with server_answering(response(b"{}")) as server, client() as http:
        await get(http, server.url)
    assert server.requests[0].startswith(b"GET /v1/checkout/sessions/cs_1 HTTP/1.1\r\n")
    assert b"content-length" not in server.requests[0].lower()
    assert server.requests[0].endswith(b"\r\n\r\n")


async def test_sequential_calls_share_one_kept_alive_connection() -> None:
    async with server_answering(response(b'{"n": 1}')) as server, client() as http:
        for _ in range(20):
            body, status, headers = await get(http, server.url)
            assert (body, status, headers["request-id"]) == (b'{"n": 1}', 200, "req_1")
    assert server.accepted == 1
    assert len(server.requests) == 20


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async with server_answering(response(b"one"), then_close=True) as server, client() as http:
        assert (await get(http, server.url))[0] == b"one"
        await asyncio.sleep(0.2)  # the server has closed its side meanwhile
        assert (await get(http, server.url))[0] == b"one"
    assert server.accepted == 2
    assert len(server.requests) == 2  # nothing was written to the closed connection


async def test_connection_close_in_the_response_opens_a_new_connection_next_time() -> None:
    answer = response(b"bye", b"Connection: close")
    async with server_answering(answer) as server, client() as http:
        assert (await get(http, server.url))[0] == b"bye"
        assert (await get(http, server.url))[0] == b"bye"
    assert server.accepted == 2


# -- response framing --------------------------------------------------------------------------


async def test_a_chunked_response_is_reassembled_and_the_connection_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b'{"id": ', b'"cs_1"', b"}"):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")

    async with serving(handler) as server, client() as http:
        for _ in range(3):
            body, status, _ = await get(http, server.url)
            assert (json.loads(body), status) == ({"id": "cs_1"}, 200)
    assert server.accepted == 1


async def test_a_content_length_body_arriving_in_pieces_is_read_whole() -> None:
    payload = json.dumps({"id": "cs_1", "pad": "x" * 200_000}).encode()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        answer = response(payload)
        for start in range(0, len(answer), 65_536):
            writer.write(answer[start : start + 65_536])
            await writer.drain()
            await asyncio.sleep(0.01)
        await reader.read()

    async with serving(handler) as server, client() as http:
        body, status, _ = await get(http, server.url)
    assert (body, status) == (payload, 200)


async def test_a_body_delimited_by_the_end_of_the_connection_is_read_to_the_end() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")

    async with serving(handler) as server, client() as http:
        assert (await get(http, server.url))[:2] == (b"all of it", 200)


async def test_an_interim_response_is_skipped_and_headers_are_case_insensitive() -> None:
    answer = b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + response(
        b"{}", b"Stripe-Should-Retry: false", b"X-Seen: a", b"x-seen: b"
    )
    async with server_answering(answer) as server, client() as http:
        body, status, headers = await get(http, server.url)
    assert (body, status) == (b"{}", 200)
    assert headers["stripe-should-retry"] == headers["Stripe-Should-Retry"] == "false"
    assert "Request-Id" in headers
    assert "link" not in headers
    assert headers["X-SEEN"] == "a, b"


async def test_an_error_status_is_returned_as_a_response_not_raised() -> None:
    answer = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"
    async with server_answering(answer) as server, client() as http:
        assert (await get(http, server.url))[:2] == (b"{}", 503)


# -- failures ----------------------------------------------------------------------------------


async def connection_error(call: Awaitable[Any]) -> stripe.APIConnectionError:
    with pytest.raises(stripe.APIConnectionError) as caught:
        await call
    assert caught.value.should_retry is True  # as stripe.HTTPXClient sets it
    return caught.value


async def test_a_refused_connection_is_an_api_connection_error() -> None:
    async with client() as http:
        error = await connection_error(get(http, f"http://127.0.0.1:{free_port()}"))
    assert "ConnectFailed" in str(error)
    assert isinstance(error.__cause__.__cause__, ConnectionRefusedError)


async def test_a_stalled_server_times_out_within_the_deadline_and_loses_the_connection() -> None:
    stalled: list[asyncio.StreamReader] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if not stalled:
            stalled.append(reader)
            await reader.read()  # until the client gives up and closes
            return
        writer.write(response(b"late but fine"))
        await reader.read()

    async with serving(handler) as server, client(timeout=0.5) as http:
        started = time.monotonic()
        error = await connection_error(get(http, server.url))
        assert time.monotonic() - started < 1.5
        assert "ResponseTimedOut" in str(error)
        assert (await get(http, server.url))[0] == b"late but fine"
    assert server.accepted == 2


async def test_a_response_cut_mid_body_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)

    async with serving(handler) as server, client() as http:
        error = await connection_error(get(http, server.url))
    assert "ConnectionClosed" in str(error)


async def test_a_chunked_response_cut_before_its_last_chunk_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")

    async with serving(handler) as server, client() as http:
        await connection_error(get(http, server.url))


async def test_a_connection_closed_without_an_answer_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with serving(handler) as server, client() as http:
        error = await connection_error(get(http, server.url))
    assert "ConnectionClosed" in str(error)


async def test_bytes_that_are_not_http_are_an_error() -> None:
    async with server_answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as server, client() as http:
        error = await connection_error(get(http, server.url))
    assert "InvalidResponse" in str(error)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(response(b"x" * 2048), id="content-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"400\r\n" + b"x" * 1024 + b"\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 4096, id="until-close"
        ),
    ],
)  # fmt: skip
async def test_a_body_over_the_cap_is_refused(answer: bytes) -> None:
    async with server_answering(answer) as server, client(max_body=1024) as http:
        error = await connection_error(get(http, server.url))
    assert "ResponseTooLarge" in str(error)


async def test_a_head_over_64_kib_is_refused() -> None:
    answer = response(b"{}", *(b"X-Filler-%d: %s" % (i, b"y" * 1000) for i in range(80)))
    async with server_answering(answer) as server, client() as http:
        error = await connection_error(get(http, server.url))
    assert "ResponseTooLarge" in str(error)


async def test_a_header_carrying_a_line_break_is_refused_before_anything_is_sent() -> None:
    async with server_answering(response(b"{}")) as server, client() as http:
        await connection_error(
            http.request_async("get", server.url + "/v1/x", {"X-Evil": "a\r\nX-Injected: 1"})
        )
    assert server.accepted == 0


# -- concurrency and cancellation ---------------------------------------------------------------


async def slow_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await read_request(reader):
        await asyncio.sleep(0.02)
        writer.write(response(b"{}"))


async def test_fifty_concurrent_calls_through_a_pool_of_ten_all_succeed() -> None:
    async with serving(slow_answers) as server, client(max_connections=10) as http:
        results = await asyncio.gather(*(get(http, server.url) for _ in range(50)))
    assert [status for _, status, _ in results] == [200] * 50
    assert server.most_open <= 10
    assert server.accepted <= 10


async def test_a_call_waiting_for_a_busy_pool_times_out_at_its_deadline() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with serving(stall) as server, client(max_connections=1, timeout=5) as http:
        holder = asyncio.ensure_future(get(http, server.url))  # keeps the one slot
        await asyncio.sleep(0.05)
        http.pool.timeout = 0.3  # the next call's deadline; the holder keeps its 5 s
        started = time.monotonic()
        error = await connection_error(get(http, server.url))
        assert time.monotonic() - started < 1.5
        assert "PoolTimedOut" in str(error)
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
    assert server.accepted == 1


async def test_a_cancelled_call_closes_its_connection_and_frees_its_slot() -> None:
    first_reader: list[asyncio.StreamReader] = []
    saw_close = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if not first_reader:
            first_reader.append(reader)
            await reader.read()
            saw_close.set()
            return
        writer.write(response(b"second"))
        await reader.read()

    async with serving(handler) as server, client(max_connections=1) as http:
        call = asyncio.ensure_future(get(http, server.url))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(saw_close.wait(), 2)
        assert (await get(http, server.url))[0] == b"second"
    assert server.accepted == 2


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA and a server certificate it signed for localhost / 127.0.0.1."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@asynccontextmanager
async def tls_server(certificates: Path, names: list[str | None]) -> AsyncIterator[Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")

    def record_sni(_obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = record_sni
    holder: list[Server] = []
    async with serving(answering(holder, response(b'{"tls": true}')), tls=context) as state:
        holder.append(state)
        yield state


async def test_tls_with_the_servers_ca_succeeds_sends_sni_and_keeps_alive(
    certificates: Path,
) -> None:
    names: list[str | None] = []
    trusted = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    async with tls_server(certificates, names) as server, client(ssl_context=trusted) as http:
        for _ in range(3):
            assert (await get(http, server.url))[:2] == (b'{"tls": true}', 200)
    assert names == ["localhost"]
    assert server.accepted == 1


async def test_tls_fails_certificate_verification_with_the_default_context(
    certificates: Path,
) -> None:
    async with tls_server(certificates, []) as server, client() as http:
        error = await connection_error(get(http, server.url))
    assert isinstance(error.__cause__.__cause__, ssl.SSLCertVerificationError)
    assert server.requests == []


def test_the_default_context_trusts_stripes_bundled_cas() -> None:
    http = StripeHTTPClient(timeout=1)
    default = http.pool.ssl_context
    assert default.verify_mode == ssl.CERT_REQUIRED
    assert default.check_hostname
    bundled = ssl.create_default_context(cafile=stripe.ca_bundle_path)
    assert default.get_ca_certs() == bundled.get_ca_certs() != []


# -- the real stripe client on the stand-in ----------------------------------------------------

SESSION = {
    "mode": "payment",
    "success_url": "https://shop.example/thanks",
    "line_items": [
        {
            "quantity": 1,
            "price_data": {
                "currency": "eur",
                "unit_amount": 1500,
                "product_data": {"name": "Headband"},
            },
        }
    ],
}


@asynccontextmanager
async def stripe_client(sim_url: str, retries: int = 0) -> AsyncIterator[stripe.StripeClient]:
    async with client(timeout=5) as http:
        yield stripe.StripeClient(
            "sk_test_checkout_edge",
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": sim_url},
            max_network_retries=retries,
            http_client=http,
        )


async def test_stripe_client_creates_retrieves_and_expires_a_session_on_the_stand_in(
    stripe_sim: StripeSim, sim: httpx.AsyncClient
) -> None:
    async with stripe_client(stripe_sim.url) as stripe_api:
        sessions = stripe_api.v1.checkout.sessions
        created = await sessions.create_async(
            params=SESSION,
            options={"idempotency_key": "attempt-1"},
        )
        assert created.last_response is not None
        assert created.last_response.request_id.startswith("req_")
        read = CheckoutSession.from_stripe(await sessions.retrieve_async(created.id))
        expired = CheckoutSession.from_stripe(await sessions.expire_async(created.id))
    assert (read.id, read.status, read.amount_total) == (created.id, "open", 1500)
    assert (expired.id, expired.status) == (created.id, "expired")
    log = (await sim.get("/_sim/requests")).json()["data"]
    assert [(e["method"], e["status"]) for e in log] == [("POST", 200), ("GET", 200), ("POST", 200)]


async def test_stripe_errors_keep_their_status_and_request_id(
    stripe_sim: StripeSim, sim: httpx.AsyncClient
) -> None:
    (await sim.post("/_sim/faults", json={"count": 1, "status": 400})).raise_for_status()
    async with stripe_client(stripe_sim.url) as stripe_api:
        with pytest.raises(stripe.InvalidRequestError) as caught:
            await stripe_api.v1.checkout.sessions.create_async(params=SESSION)
    assert caught.value.http_status == 400
    assert (caught.value.request_id or "").startswith("req_")


async def test_a_dropped_connection_is_retried_by_stripe_python_with_the_same_key(
    stripe_sim: StripeSim, sim: httpx.AsyncClient
) -> None:
    (await sim.post("/_sim/faults", json={"count": 1, "drop": True})).raise_for_status()
    async with stripe_client(stripe_sim.url, retries=1) as stripe_api:
        created = await stripe_api.v1.checkout.sessions.create_async(
            params=SESSION,
            options={"idempotency_key": "attempt-7"},
        )
    log = (await sim.get("/_sim/requests")).json()["data"]
    assert [e["idempotencyKey"] for e in log] == ["attempt-7", "attempt-7"]
    assert [e["status"] for e in log] == [None, 200]
    assert created.id.startswith("cs_")


async def test_a_dropped_connection_without_retries_is_an_api_connection_error(
    stripe_sim: StripeSim, sim: httpx.AsyncClient
) -> None:
    (await sim.post("/_sim/faults", json={"count": 1, "drop": True})).raise_for_status()
    async with stripe_client(stripe_sim.url) as stripe_api:
        await connection_error(stripe_api.v1.checkout.sessions.create_async(params=SESSION))
