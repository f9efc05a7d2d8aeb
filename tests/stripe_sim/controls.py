"""The ``/_sim`` control API for tests and demos: JSON in, JSON out.

Session controls answer ``{event, webhookStatus}``: the event delivered and the status the
webhook endpoint answered to the first attempt (``null`` when unreachable or unconfigured).
Errors come in Stripe's shape, like everything else the stand-in answers.
"""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .errors import invalid_request, no_such
from .events import EventRecord
from .faults import parse_fault
from .responses import stripe_json
from .simulator import SimState
from .versions import parse_api_version


def routes() -> list[BaseRoute]:
    """The control routes."""
    return [
        Route("/_sim/faults", add_fault, methods=["POST"]),
        Route("/_sim/faults", list_faults, methods=["GET"]),
        Route("/_sim/faults", clear_faults, methods=["DELETE"]),
        Route("/_sim/checkout/sessions", list_sessions, methods=["GET"]),
        Route("/_sim/checkout/sessions/{session_id}/pay", pay, methods=["POST"]),
        Route("/_sim/checkout/sessions/{session_id}/async", settle, methods=["POST"]),
        Route("/_sim/checkout/sessions/{session_id}/expire", expire, methods=["POST"]),
        Route("/_sim/events", list_events, methods=["GET"]),
        Route("/_sim/events/{event_id}/resend", resend, methods=["POST"]),
        Route("/_sim/requests", list_requests, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
    ]


async def add_fault(request: Request[SimState]) -> Response:
    """``POST /_sim/faults {count, status?, delay?, drop?, afterCreate?}``."""
    sim = request.state["sim"]
    sim.faults.add(parse_fault(await _json(request)))
    return await list_faults(request)


async def list_faults(request: Request[SimState]) -> Response:
    """``GET /_sim/faults``: the faults still waiting."""
    return stripe_json({"data": [f.to_json() for f in request.state["sim"].faults.pending()]})


async def clear_faults(request: Request[SimState]) -> Response:
    """``DELETE /_sim/faults``."""
    request.state["sim"].faults.clear()
    return stripe_json({"data": []})


async def list_sessions(request: Request[SimState]) -> Response:
    """``GET /_sim/checkout/sessions``: every session, as the default API version shows it."""
    sim = request.state["sim"]
    version = parse_api_version(None, sim.config.default_api_version)
    sessions = [s.to_stripe(version) for s in sim.sessions.all()]
    return stripe_json({"data": sessions})


async def pay(request: Request[SimState]) -> Response:
    """``POST /_sim/checkout/sessions/{id}/pay {async?}``: complete, paid or pending."""
    body = await _json(request)
    paid_later = _flag(body, "async", default=False)
    record, status = await request.state["sim"].pay(
        request.path_params["session_id"], paid_later=paid_later
    )
    return _delivered(record, status)


async def settle(request: Request[SimState]) -> Response:
    """``POST /_sim/checkout/sessions/{id}/async {succeed}``: settle an async payment."""
    body = await _json(request)
    succeeded = _flag(body, "succeed", default=None)
    record, status = await request.state["sim"].settle(
        request.path_params["session_id"], succeeded=succeeded
    )
    return _delivered(record, status)


async def expire(request: Request[SimState]) -> Response:
    """``POST /_sim/checkout/sessions/{id}/expire``."""
    record, status = await request.state["sim"].expire(request.path_params["session_id"])
    return _delivered(record, status)


async def list_events(request: Request[SimState]) -> Response:
    """``GET /_sim/events``: every event with each delivery attempt."""
    return stripe_json({"data": [r.to_json() for r in request.state["sim"].events.all()]})


async def resend(request: Request[SimState]) -> Response:
    """``POST /_sim/events/{id}/resend``: the same event again, freshly signed."""
    sim = request.state["sim"]
    event_id = request.path_params["event_id"]
    record = sim.events.get(event_id)
    if record is None:
        raise no_such("event", event_id, param="event")
    return _delivered(record, await sim.webhooks.deliver(record))


async def list_requests(request: Request[SimState]) -> Response:
    """``GET /_sim/requests``: every API request received, oldest first."""
    return stripe_json({"data": [r.to_json() for r in request.state["sim"].requests.all()]})


async def reset(request: Request[SimState]) -> Response:
    """``POST /_sim/reset``: forget sessions, keys, faults, events and requests."""
    await request.state["sim"].reset()
    return stripe_json({"reset": True})


def _delivered(record: EventRecord, status: int | None) -> Response:
    return stripe_json({"event": record.event, "webhookStatus": status})


async def _json(request: Request[SimState]) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise invalid_request(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_request("The body must be a JSON object.")
    return body


def _flag(body: dict[str, Any], name: str, *, default: bool | None) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise invalid_request(f"{name} must be true or false.", param=name)
    return value
