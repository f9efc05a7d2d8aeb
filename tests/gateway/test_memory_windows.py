"""In-process windows (no Redis, and the fallback): the Redis script's semantics, exactly."""

from __future__ import annotations

from gateway.rate_limit import parse_quota
from gateway.rate_limit.memory import SWEEP_EVERY, MemoryWindows

CEILING = parse_quota("per-ip", "3/minute")
CART = parse_quota("cart", "2/minute")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_admitted_only_when_every_window_has_room_and_counted_in_each() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    shop_a = [(CEILING, "{ip}/ip"), (CART, "{ip}/cart/a")]
    shop_b = [(CEILING, "{ip}/ip"), (CART, "{ip}/cart/b")]
    assert [windows.hit(shop_a).allowed for _ in range(3)] == [True, True, False]
    refused = windows.hit(shop_a)
    assert (refused.full, refused.count) == ((1,), 2)
    # The class refusals spent nothing of the ceiling: one left for shop b, then none.
    assert [windows.hit(shop_b).allowed for _ in range(2)] == [True, False]
    refused = windows.hit(shop_b)
    assert refused.full == (0,)
    assert refused.count == 1  # shop b's own window holds its one admission
    assert refused.wait == 60.0


def test_the_window_slides_and_keeps_the_boundary() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    cart = [(CART, "{ip}/cart/a")]
    assert windows.hit(cart).allowed
    clock.now += 30
    assert windows.hit(cart).allowed
    clock.now += 30  # the first admission is exactly one window old: still inside
    assert not windows.hit(cart).allowed
    clock.now += 0.001
    state = windows.hit(cart)
    assert state.allowed
    assert abs(state.reset_after - 29.999) < 1e-6


def test_old_windows_are_swept() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    for n in range(SWEEP_EVERY - 1):
        windows.hit([(CART, f"{{10.0.{n // 256}.{n % 256}}}/cart/a")])
    clock.now += 61
    windows.hit([(CART, "{fresh}/cart/a")])  # the sweeping check
    assert len(windows._windows) == 1
