"""Time-driven behaviour, driven by a clock the test controls."""

import httpx

from tests.stripe_sim import SimConfig
from tests.stripe_sim.forms import decode_form
from tests.stripe_sim.session_params import build_session
from tests.stripe_sim.simulator import Simulator
from tests.stripe_sim.versions import parse_api_version

from .support import encode_like_stripe, session_params


async def test_open_sessions_expire_at_expires_at_with_an_event() -> None:
    now = [1_900_000_000.0]
    async with httpx.AsyncClient() as http:
        sim = Simulator(SimConfig(webhook_url=None, webhook_secret="whsec_x"), http, lambda: now[0])
        version = parse_api_version(None, sim.config.default_api_version)
        params = decode_form(encode_like_stripe(session_params(expires_at=int(now[0]) + 1800)))
        session = build_session(params, version=version, now=int(now[0]), base_url="http://sim")
        sim.add_session(session, version)

        now[0] += 1799
        assert sim.expire_overdue() == []
        now[0] += 1
        [record] = sim.expire_overdue()

        assert session.status == "expired"
        assert record.event["type"] == "checkout.session.expired"
        assert sim.expire_overdue() == []
        await sim.aclose()
