"""What happens to every ``/v1`` request around its endpoint.

Pure ASGI, because a dropped connection and a lost answer cannot be expressed with a response
object. For each API request: give it a ``Request-Id``, log it (method, path, idempotency key,
decoded params, final status), and apply the next injected fault, if any (see ``faults.py``).
"""

import asyncio
import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import simulated_failure
from .faults import Fault, drop_connection
from .forms import FormError, Params, decode_form
from .ids import new_id
from .request_log import LoggedRequest
from .responses import error_response
from .simulator import Simulator

REQUEST_ID = "stripe_sim.request_id"

logger = logging.getLogger(__name__)


def simulator_of(scope: Scope) -> Simulator:
    """The simulator in the lifespan state of this request."""
    sim = scope.get("state", {}).get("sim")
    if not isinstance(sim, Simulator):
        raise RuntimeError("the stand-in's lifespan has not run: serve it with lifespan on")
    return sim


def request_id_of(scope: Scope) -> str:
    """The ``req_…`` id the edge gave this API request."""
    return str(scope[REQUEST_ID])


class ApiEdge:
    """Middleware that logs API requests, stamps ``Request-Id`` and applies faults."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        sim = simulator_of(scope)
        request_id = scope[REQUEST_ID] = new_id("req")
        body = await _read_body(receive)
        entry = sim.requests.record(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            idempotency_key=_header(scope, b"idempotency-key"),
            params=_params(scope, body),
        )
        replay = _replaying(body, receive)
        answer = _stamping(send, request_id, entry)
        fault = sim.faults.take()
        if fault is None:
            await self.app(scope, replay, answer)
            return
        entry.fault = fault.describe()
        await self._fail(fault, scope, receive, replay, answer)

    async def _fail(
        self, fault: Fault, scope: Scope, receive: Receive, replay: Receive, answer: Send
    ) -> None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.after_create:
            await self.app(scope, replay, _discard)
        elif not fault.drop and fault.answer_status is None:
            await self.app(scope, replay, answer)  # only slow, otherwise a normal answer
            return
        if fault.drop:
            logger.info("fault: dropping %s %s unanswered", scope["method"], scope["path"])
            await drop_connection(receive)
            return
        status = fault.answer_status
        assert status is not None  # no drop, so a status was chosen
        await error_response(simulated_failure(status))(scope, replay, answer)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already read body once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _stamping(send: Send, request_id: str, entry: LoggedRequest) -> Send:
    async def stamp(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Request-Id"] = request_id
            entry.status = message["status"]
            entry.replayed = headers.get("idempotent-replayed") == "true"
        await send(message)

    return stamp


async def _discard(message: Message) -> None:
    """The send of a request whose answer is lost on the way back."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _params(scope: Scope, body: bytes) -> Params | str:
    raw = body if scope["method"] == "POST" else scope["query_string"]
    try:
        return decode_form(raw)
    except FormError:
        return raw.decode("utf-8", errors="replace")
