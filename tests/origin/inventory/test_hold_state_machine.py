"""A hypothesis state machine over hold / retry / release / commit / expire / reap.

After every step the conservation law of CONTRACT §3.7 must hold for every variant:
``initial stock = available + Σ active holds + Σ committed holds``; and an intent never has
two active holds. Holds are made through the real checkout endpoint (paying through the
real stand-in); release, commit and expiry go through the same domain functions the
webhook and the reaper use.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, text, update
from sqlmodel import col, select

from origin.inventory.hold_states import commit_hold, end_hold
from origin.models import InventoryHold, metadata
from origin.models.types import utcnow
from origin.reaper import reap_once
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
        self.run(self._start(pg_url, sim_url))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self, pg_url: str, sim_url: str) -> None:
        import httpx

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

    async def _checkout(self, intent: int, variant: int, quantity: int) -> int:
        sku, attributes = VARIANTS[variant]
        response = await self.origin.request(
            "POST",
            "/api/checkout-session",
            json={"items": [{"sku": sku, "quantity": quantity, "variantAttributes": attributes}]},
            headers={"Idempotency-Key": f"intent-{intent}-{variant}-{quantity}"},
        )
        assert response.status_code in (200, 201, 409), response.text
        return response.status_code

    @rule(intent=st.integers(0, 3), variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def hold(self, intent: int, variant: int, quantity: int) -> None:
        self.run(self._checkout(intent, variant, quantity))

    @rule(intent=st.integers(0, 3), variant=st.integers(0, 3), quantity=st.integers(1, 6))
    def retry(self, intent: int, variant: int, quantity: int) -> None:
        first = self.run(self._checkout(intent, variant, quantity))
        again = self.run(self._checkout(intent, variant, quantity))
        if first in (200, 201):
            assert again in (200, 201)

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
