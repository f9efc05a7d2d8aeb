"""A hypothesis state machine over hold / retry / release / commit / expire / reap, plus
"buyer B checks out the same basket" and "origin loses the Stripe answer".

After every step the conservation law of docs/api.md §3.7 must hold for every variant:
``initial stock = available + Σ active holds + Σ committed holds``; an intent never has
two active holds; every Stripe session carries the email of the buyer whose checkout made it;
and no hold the reaper expired has a session still open at Stripe (also when the origin never
learnt of that session). Holds are made through the real checkout endpoint (paying through the
real stand-in); release, commit and expiry go through the same domain functions the
webhook and the reaper use.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, text, update
from sqlmodel import col, select

from origin.checkout.reaper import reap_once
from origin.inventory.hold_states import commit_hold, end_hold
from origin.models import CheckoutIntent, InventoryHold, metadata
from origin.models.types import utcnow
from tests.conftest import load_test_catalog, origin_settings, seed, start_origin
from tests.origin.support import assert_conserved

VARIANTS = [
    ("cf-headband", {"size": "m", "color": "navy"}),
    ("cf-headband", {"size": "l", "color": "navy"}),
    ("scarce", {}),
    ("clip", {}),
]


class HoldMachine(RuleBasedStateMachine):
    def __init__(self, pg_url: str, sim_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.catalog = load_test_catalog()
        self.sim_url = sim_url
        self.lost = 0
        self.run(self._start(pg_url, sim_url))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self, pg_url: str, sim_url: str) -> None:
        self.origin, self.lifespan = await start_origin(
            origin_settings(pg_url, stripe_api_base=sim_url, stripe_max_network_retries=0)
        )
        self.state = self.origin.state
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with self.state.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await seed(self.state.sessions, self.catalog)
        async with httpx.AsyncClient(base_url=sim_url) as sim:
            (await sim.post("/_sim/reset")).raise_for_status()

    def teardown(self) -> None:
        async def stop() -> None:
            await self.origin.http.aclose()
            await self.lifespan.__aexit__(None, None, None)

        self.run(stop())
        self.loop.close()

    async def _checkout(
        self, intent: int, variant: int, quantity: int, buyer: str = "a", key: str | None = None
    ) -> httpx.Response:
        sku, attributes = VARIANTS[variant]
        response = await self.origin.request(
            "POST",
            "/api/checkout-session",
            json={
                "items": [{"sku": sku, "quantity": quantity, "variantAttributes": attributes}],
                "customerEmail": f"{buyer}@example.com",
            },
            headers={"Idempotency-Key": key or f"{buyer}-intent-{intent}-{variant}-{quantity}"},
        )
        assert response.status_code in (200, 201, 409), response.text
        return response

    @rule(intent=st.integers(0, 3), variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def hold(self, intent: int, variant: int, quantity: int) -> None:
        self.run(self._checkout(intent, variant, quantity))

    @rule(intent=st.integers(0, 3), variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def retry(self, intent: int, variant: int, quantity: int) -> None:
        first = self.run(self._checkout(intent, variant, quantity))
        again = self.run(self._checkout(intent, variant, quantity))
        if first.status_code in (200, 201):
            assert again.status_code in (200, 201)

    @rule(intent=st.integers(0, 3), variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def buyer_b_checks_out_the_same_basket(self, intent: int, variant: int, quantity: int) -> None:
        async def go() -> None:
            sku, attributes = VARIANTS[variant]
            item = {"sku": sku, "quantity": quantity, "variantAttributes": attributes}
            keyless = await self.origin.request(
                "POST", "/api/checkout-session", json={"items": [item]}
            )
            assert keyless.status_code == 400
            a = await self._checkout(intent, variant, quantity, buyer="a")
            b = await self._checkout(intent, variant, quantity, buyer="b")
            if a.status_code != 409 and b.status_code != 409:
                assert a.json()["sessionId"] != b.json()["sessionId"]
                assert a.json()["inventoryReservationId"] != b.json()["inventoryReservationId"]

        self.run(go())

    @rule(variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def origin_loses_the_stripe_answer(self, variant: int, quantity: int) -> None:
        async def go() -> None:
            self.lost += 1
            async with httpx.AsyncClient(base_url=self.sim_url) as sim:
                fault = {"count": 1, "afterCreate": True, "drop": True}
                (await sim.post("/_sim/faults", json=fault)).raise_for_status()
                try:
                    response = await self.origin.request(
                        "POST",
                        "/api/checkout-session",
                        json={"items": [{"sku": VARIANTS[variant][0], "quantity": quantity,
                                         "variantAttributes": VARIANTS[variant][1]}],
                              "customerEmail": "c@example.com"},
                        headers={"Idempotency-Key": f"lost-{self.lost}"},
                    )  # fmt: skip
                finally:
                    (await sim.delete("/_sim/faults")).raise_for_status()
            assert response.status_code in (409, 503), response.text

        self.run(go())

    async def _some_hold(self, index: int, statuses: tuple[str, ...]) -> InventoryHold | None:
        async with self.state.sessions() as session:
            holds = list(
                (
                    await session.execute(
                        select(InventoryHold)
                        .where(col(InventoryHold.status).in_(statuses))
                        .order_by(col(InventoryHold.id))
                    )
                ).scalars()
            )
        return holds[index % len(holds)] if holds else None

    @rule(index=st.integers(0, 20))
    def release(self, index: int) -> None:
        async def go() -> None:
            found = await self._some_hold(index, ("active", "committed", "released", "expired"))
            if found is None:
                return
            async with self.state.sessions() as session, session.begin():
                found = await session.get(InventoryHold, found.id)
                assert found is not None
                await end_hold(session=session, hold=found, to="released", reason="test",
                               metrics=self.state.metrics, remote_pool=None)  # fmt: skip

        self.run(go())

    @rule(index=st.integers(0, 20))
    def commit(self, index: int) -> None:
        async def go() -> None:
            found = await self._some_hold(index, ("active", "committed", "released", "expired"))
            if found is None:
                return
            async with self.state.sessions() as session, session.begin():
                found = await session.get(InventoryHold, found.id)
                assert found is not None
                await commit_hold(
                    session=session, hold=found, metrics=self.state.metrics, remote_pool=None
                )

        self.run(go())

    @rule(index=st.integers(0, 20))
    def expire(self, index: int) -> None:
        async def go() -> None:
            found = await self._some_hold(index, ("active",))
            if found is None:
                return
            async with self.state.sessions() as session, session.begin():
                await session.execute(
                    update(InventoryHold)
                    .where(col(InventoryHold.id) == found.id)
                    .values(expires_at=utcnow() - timedelta(seconds=1))
                )

        self.run(go())

    @rule()
    def reap(self) -> None:
        self.run(
            reap_once(
                sessions=self.state.sessions, payments=self.state.payments,
                metrics=self.state.metrics, remote_pool=None,
            )
        )  # fmt: skip

    @invariant()
    def stock_is_conserved(self) -> None:
        self.run(assert_conserved(self.state.sessions, self.catalog))

    async def _holds_and_sessions(self) -> list[tuple[InventoryHold, str | None, Any]]:
        async with httpx.AsyncClient(base_url=self.sim_url) as sim:
            stripe_sessions = (await sim.get("/_sim/checkout/sessions")).json()["data"]
        found = []
        async with self.state.sessions() as session:
            for stripe_session in stripe_sessions:
                held = await session.get(InventoryHold, stripe_session["metadata"]["hold_id"])
                assert held is not None
                intent = await session.get(CheckoutIntent, held.intent_id)
                assert intent is not None
                found.append((held, intent.customer_email, stripe_session))
        return found

    @invariant()
    def every_session_is_its_own_buyers(self) -> None:
        for _, email, stripe_session in self.run(self._holds_and_sessions()):
            assert stripe_session["customer_email"] == email

    @invariant()
    def no_reaped_hold_leaves_a_payable_session(self) -> None:
        for held, _, stripe_session in self.run(self._holds_and_sessions()):
            if held.status == "expired" and held.end_reason == "ttl":
                assert stripe_session["status"] != "open", (held.id, stripe_session["id"])

    @invariant()
    def one_active_hold_per_intent(self) -> None:
        async def go() -> None:
            async with self.state.sessions() as session:
                rows = await session.execute(
                    select(InventoryHold.intent_id, func.count())
                    .where(col(InventoryHold.status) == "active")
                    .group_by(col(InventoryHold.intent_id))
                )
                assert all(count == 1 for _, count in rows)

        self.run(go())


def test_conservation_holds_after_every_step(pg_url: str, stripe_sim: Any) -> None:
    run_state_machine_as_test(
        lambda: HoldMachine(pg_url, stripe_sim.url),
        settings=settings(
            max_examples=12,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
