"""The part of Stripe's HTTP API the origin uses: create, retrieve and expire sessions.

Every endpoint authenticates (``sk_test_…`` as Bearer or Basic), reads ``Stripe-Version``
and decodes its form params before doing anything; POSTs then run through the idempotency
store. Answers carry ``Stripe-Version`` and, for idempotent requests, ``Idempotency-Key``
(plus ``Idempotent-Replayed``/``Original-Request`` on a replay), as Stripe's do.
"""

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .edge import request_id_of
from .errors import api_key_invalid, api_key_missing, invalid_request, unrecognized_url
from .forms import FormError, Params, decode_form
from .idempotency import Outcome
from .params import ParamReader
from .responses import json_bytes
from .session_params import build_session
from .simulator import SimState, Simulator
from .versions import ApiVersion, parse_api_version

_TEST_KEY = re.compile(r"^sk_test_[A-Za-z0-9_]+$")
_EXPANDABLE = {"line_items"}


@dataclass(frozen=True)
class ApiCall:
    """An authenticated API request, decoded."""

    sim: Simulator
    request_id: str
    api_key: str
    version: ApiVersion
    params: Params
    idempotency_key: str | None
    method: str
    path: str


def routes() -> list[BaseRoute]:
    """The ``/v1`` routes; anything else under ``/v1`` is Stripe's "Unrecognized request URL"."""
    return [
        Route("/v1/checkout/sessions", create_session, methods=["POST"]),
        Route("/v1/checkout/sessions/{session_id}", retrieve_session, methods=["GET"]),
        Route("/v1/checkout/sessions/{session_id}/expire", expire_session, methods=["POST"]),
        Route(
            "/v1/{rest:path}",
            unrecognized,
            methods=["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"],
        ),
    ]


async def create_session(request: Request[SimState]) -> Response:
    """``POST /v1/checkout/sessions``."""
    call = await _call(request)

    def create() -> dict[str, object]:
        expand = _expand(ParamReader(call.params))
        session = build_session(
            call.params,
            version=call.version,
            now=int(call.sim.clock()),
            base_url=str(request.base_url),
        )
        call.sim.add_session(session, call.version)
        return session.to_stripe(call.version, expand_line_items=expand)

    return await _answer(call, create)


async def retrieve_session(request: Request[SimState]) -> Response:
    """``GET /v1/checkout/sessions/{id}``."""
    call = await _call(request)
    reader = ParamReader(call.params)
    reader.reject_unknown({"expand"})
    expand = _expand(reader)
    call.sim.expire_overdue()
    session = call.sim.sessions.get(request.path_params["session_id"])
    return await _answer(call, lambda: session.to_stripe(call.version, expand_line_items=expand))


async def expire_session(request: Request[SimState]) -> Response:
    """``POST /v1/checkout/sessions/{id}/expire``: open → expired; expired stays; complete fails."""
    call = await _call(request)
    session_id = request.path_params["session_id"]

    def expire() -> dict[str, object]:
        reader = ParamReader(call.params)
        reader.reject_unknown({"expand"})
        expand = _expand(reader)
        call.sim.expire_overdue()
        session = call.sim.sessions.get(session_id)
        if session.expire():
            record = call.sim.record_event(
                "checkout.session.expired",
                session,
                request_id=call.request_id,
                idempotency_key=call.idempotency_key,
            )
            # Stripe sends events after answering; delivering inline could deadlock a
            # caller that handles its own webhook while waiting for this answer.
            call.sim.webhooks.deliver_later(record)
        return session.to_stripe(call.version, expand_line_items=expand)

    return await _answer(call, expire)


async def unrecognized(request: Request[SimState]) -> Response:
    """Any other ``/v1`` URL or method."""
    raise unrecognized_url(request.method, request.url.path)


async def _call(request: Request[SimState]) -> ApiCall:
    sim = request.state["sim"]
    api_key = _authenticate(request.headers.get("authorization"))
    version = parse_api_version(
        request.headers.get("stripe-version"), sim.config.default_api_version
    )
    raw = await request.body() if request.method == "POST" else request.scope["query_string"]
    try:
        params = decode_form(raw)
    except FormError as exc:
        raise invalid_request(str(exc), param=exc.param or None) from exc
    return ApiCall(
        sim=sim,
        request_id=request_id_of(request.scope),
        api_key=api_key,
        version=version,
        params=params,
        idempotency_key=request.headers.get("idempotency-key"),
        method=request.method,
        path=request.url.path,
    )


def _authenticate(authorization: str | None) -> str:
    """The secret key of the request; only test-mode secret keys are accepted."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic" and credentials:
        try:
            credentials = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise api_key_invalid(credentials) from None
    elif scheme.lower() != "bearer":
        credentials = ""
    if not credentials:
        raise api_key_missing()
    if not _TEST_KEY.match(credentials):
        raise api_key_invalid(credentials)
    return credentials


def _expand(reader: ParamReader) -> bool:
    """Whether ``line_items`` is expanded; other expansions are refused, not ignored."""
    for name in reader.strings("expand"):
        if name not in _EXPANDABLE:
            raise invalid_request(f"This property cannot be expanded ({name}).", param="expand")
    return "line_items" in reader.strings("expand")


async def _answer(call: ApiCall, produce: Callable[[], dict[str, object]]) -> Response:
    """Run ``produce`` (idempotently for POST) and answer its object."""

    async def action() -> Outcome:
        return Outcome(200, json_bytes(produce()), call.request_id)

    headers = {"Stripe-Version": call.version.name}
    key = call.idempotency_key
    if key is None or call.method != "POST":
        outcome = await action()
    else:
        headers["Idempotency-Key"] = key
        outcome, replayed = await call.sim.idempotency.run(
            api_key=call.api_key,
            key=key,
            endpoint=f"{call.method} {call.path}",
            params=call.params,
            action=action,
        )
        if replayed:
            headers["Idempotent-Replayed"] = "true"
            headers["Original-Request"] = outcome.request_id
    return Response(
        outcome.body, status_code=outcome.status, headers=headers, media_type="application/json"
    )
